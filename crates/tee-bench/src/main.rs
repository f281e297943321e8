//! `cargo run --release -p tee-bench`: the SDK's verification, sealing and
//! round-trip costs beside its peers, measured in one process and run.
//!
//! Prints a human table, then one machine-readable line per figure:
//! `RATIO name X` (ours / theirs; lower is better) and `FIGURE name X`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod peers;
mod reference_snp;
mod reference_tdx;
mod snp;
mod tdx;

/// Median nanoseconds per call over several timed batches.
fn measure(mut f: impl FnMut()) -> f64 {
    // Warm up and size a batch to roughly 50 ms.
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(50) {
        f();
        n += 1;
    }
    let batch = n.max(1);
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Median over interleaved batches of time(ours) / time(theirs). Both sides
/// run back to back in every sample, so load that changes during the run (the
/// machine may be shared) moves both alike; the RATIO lines use this.
pub(crate) fn paired_ratio(mut ours: impl FnMut(), mut theirs: impl FnMut(), batch: u32) -> f64 {
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        t.elapsed().as_nanos() as f64
    };
    let mut ratios: Vec<f64> = (0..15)
        .map(|_| {
            let a = time(&mut ours);
            let b = time(&mut theirs);
            a / b
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

pub(crate) struct Row {
    pub(crate) group: &'static str,
    pub(crate) name: &'static str,
    pub(crate) ns: f64,
}

pub(crate) struct Bench {
    rows: Vec<Row>,
}

impl Bench {
    pub(crate) fn run(&mut self, group: &'static str, name: &'static str, f: impl FnMut()) -> f64 {
        let ns = measure(f);
        eprintln!("  measured {group}/{name}: {}", human(ns));
        self.rows.push(Row { group, name, ns });
        ns
    }
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

pub(crate) fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("TEE_TEST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    dir.join("INDEX.md").is_file().then_some(dir)
}

/// One computation of `what` on the benchmark's inputs (all inputs are built
/// first in every mode, so `once X` minus `once none` is the cost of X).
fn once(what: &str) -> bool {
    let snp = reference_snp::Fixture::new();
    let tdvf = reference_tdx::image();
    match what {
        "none" => {}
        "snp-digest" => snp.digest_once(),
        "snp-floor" => snp.floor_once(),
        "snp-transcript" => snp.transcript_once(),
        "mrtd-one" => reference_tdx::mrtd_once(&tdvf, false),
        "mrtd-two" => reference_tdx::mrtd_once(&tdvf, true),
        "mrtd-floor" => reference_tdx::floor_once(&tdvf),
        _ => return false,
    }
    true
}

fn main() {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: debug build; run `cargo run --release -p tee-bench` for meaningful figures"
        );
    }
    let mut b = Bench { rows: Vec::new() };
    let mut lines: Vec<String> = Vec::new();

    // `tee-bench once WHAT`: one computation and nothing else, for
    // `valgrind --tool=callgrind` (instruction counts; see README.md).
    if std::env::args().nth(1).as_deref() == Some("once") {
        let what = std::env::args().nth(2).unwrap_or_default();
        if !once(&what) {
            eprintln!(
                "tee-bench once: WHAT is one of none, snp-digest, snp-floor, snp-transcript, mrtd-one, mrtd-two, mrtd-floor"
            );
            std::process::exit(2);
        }
        return;
    }
    // `tee-bench snp`: only the SNP reference-value figures (no vectors needed).
    if std::env::args().nth(1).as_deref() == Some("snp") {
        reference_snp::ours(&mut b, &mut lines);
        for l in lines {
            println!("{l}");
        }
        return;
    }
    // `tee-bench mrtd`: only the MRTD figures (no vectors needed).
    if std::env::args().nth(1).as_deref() == Some("mrtd") {
        if let Some(m) = reference_tdx::ours(&mut b) {
            println!(
                "RATIO tdx_mrtd_one_pass_4mib_vs_sha384_floor {:.3}",
                m.one_pass_vs_floor
            );
            println!(
                "RATIO tdx_mrtd_two_pass_4mib_vs_sha384_floor {:.3}",
                m.two_pass_vs_floor
            );
            println!("FIGURE tdx_mrtd_stream_bytes {}", m.stream_len);
            println!(
                "FIGURE tdx_mrtd_one_pass_with_transcript_ms {:.2}",
                m.with_transcript_ms
            );
        }
        return;
    }

    let Some(vec) = vectors() else {
        eprintln!(
            "tee-bench: test vectors not found (set TEE_TEST_VECTORS); SNP and TDX figures need them"
        );
        std::process::exit(1);
    };

    // ---- SEV-SNP
    let p384_floor = b.run(
        "sev-snp",
        "raw ECDSA P-384 verify (floor)",
        peers::p384_floor(),
    );
    b.run(
        "sev-snp",
        "sev 8.0.0 crate: full verification (peer)",
        peers::sev_crate_full(&vec),
    );

    // ---- TDX
    let p256_floor = b.run("tdx", "raw ECDSA P-256 verify (floor)", peers::p256_floor());
    b.run(
        "tdx",
        "dcap-qvl 0.7.1 verify with collateral (peer)",
        peers::dcap_qvl_verify(&vec),
    );

    // ---- Ours
    let snp = snp::ours(&mut b, &vec);
    let tdx = tdx::ours(&mut b, &vec);
    reference_snp::ours(&mut b, &mut lines);
    let mrtd = reference_tdx::ours(&mut b);

    // ---- Sealing and mock round trips
    let (seal_4k, seal_1m) = peers::sealing(&mut b);
    let rt = b.run(
        "mock",
        "attest + verify round trip",
        peers::mock_round_trip(),
    );

    println!("\n{:<10} {:<58} {:>12}", "group", "benchmark", "time/op");
    for r in &b.rows {
        println!("{:<10} {:<58} {:>12}", r.group, r.name, human(r.ns));
    }
    println!();
    let mb_s = |bytes: f64, ns: f64| bytes / (ns / 1e9) / 1e6;
    println!(
        "sealing 4 KiB: {:.0} MB/s; 1 MiB: {:.0} MB/s",
        mb_s(4096.0, seal_4k),
        mb_s(1048576.0, seal_1m)
    );
    println!(
        "P-384 floor {} / P-256 floor {}",
        human(p384_floor),
        human(p256_floor)
    );
    println!();

    if let Some(o) = snp {
        lines.push(format!(
            "RATIO snp_cold_vs_sev_crate {:.3}",
            o.cold_vs_sev_crate
        ));
        lines.push(format!(
            "RATIO snp_steady_vs_p384_floor {:.3}",
            o.steady_vs_p384_floor
        ));
        if let Some(x) = o.aws_lc_p384_speedup {
            lines.push(format!("FIGURE p384_aws_lc_speedup_vs_rustcrypto {x:.2}"));
        }
    }
    if let Some(o) = tdx {
        lines.push(format!(
            "RATIO tdx_full_vs_dcap_qvl {:.3}",
            o.full_vs_dcap_qvl
        ));
        lines.push(format!(
            "RATIO tdx_steady_vs_dcap_qvl {:.3}",
            o.steady_vs_dcap_qvl
        ));
    }
    if let Some(m) = mrtd {
        lines.push(format!(
            "RATIO tdx_mrtd_one_pass_4mib_vs_sha384_floor {:.3}",
            m.one_pass_vs_floor
        ));
        lines.push(format!(
            "RATIO tdx_mrtd_two_pass_4mib_vs_sha384_floor {:.3}",
            m.two_pass_vs_floor
        ));
        lines.push(format!("FIGURE tdx_mrtd_stream_bytes {}", m.stream_len));
        lines.push(format!(
            "FIGURE tdx_mrtd_one_pass_with_transcript_ms {:.2}",
            m.with_transcript_ms
        ));
    }
    lines.push(format!(
        "FIGURE seal_1mib_mb_per_s {:.0}",
        mb_s(1048576.0, seal_1m)
    ));
    lines.push(format!(
        "FIGURE seal_4kib_mb_per_s {:.0}",
        mb_s(4096.0, seal_4k)
    ));
    lines.push(format!("FIGURE mock_roundtrips_per_s {:.0}", 1e9 / rt));
    for l in lines {
        println!("{l}");
    }
}
