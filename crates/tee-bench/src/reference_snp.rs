//! SEV-SNP reference values: the launch digest of a 4 MiB OVMF with kernel
//! hashes and 64 vCPUs against its floor (SHA-384 of the same measured pages,
//! with no chaining and no transcript), and the whole `teectl reference
//! sev-snp` process against `sev-snp-measure` 0.0.13 on the same inputs.
//!
//! The firmware is Debian's `OVMF.amdsev.fd` when `tests/oracles/snp-measure.sh`
//! fetched it into `target/oracle/`, else a synthetic 4 MiB image with the
//! same metadata layout (`tee_sev::testing::SynthOvmf::amdsev_4mib`). The process comparison needs a release `teectl`
//! next to this binary (or `$TEECTL`) and the oracle (`$SEV_SNP_MEASURE` or
//! `target/oracle/venv/bin/sev-snp-measure`); it is skipped, saying so,
//! without them.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha384};
use tee::sev::reference::{FileInput, SnpLaunch, VcpuType, VmmType, vmsa_page};
use tee_sev::testing::SynthOvmf;

use crate::{Bench, paired_ratio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The inputs of the SNP figures: the firmware (Debian's when fetched, else
/// the synthetic 4 MiB image of `tee_sev::testing::SynthOvmf::amdsev_4mib`),
/// a 4 KiB kernel and initrd, `console=ttyS0`, 64 EPYC-Genoa vCPUs, QEMU.
pub(crate) struct Fixture {
    pub(crate) name: &'static str,
    pub(crate) ovmf: Vec<u8>,
    kernel: Vec<u8>,
    initrd: Vec<u8>,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let debian = root().join("target/oracle/ovmf/amdsev/usr/share/ovmf/OVMF.amdsev.fd");
        let (name, ovmf) = match std::fs::read(&debian) {
            Ok(b) => ("OVMF.amdsev.fd", b),
            Err(_) => ("synthetic 4 MiB", SynthOvmf::amdsev_4mib().build()),
        };
        Self {
            name,
            ovmf,
            kernel: vec![b'A'; 4096],
            initrd: vec![b'B'; 4096],
        }
    }

    fn launch(&self) -> SnpLaunch<'_> {
        SnpLaunch::new(FileInput::new("ovmf", &self.ovmf))
            .vcpus(64)
            .vcpu_type(VcpuType::ALL[13])
            .vmm_type(VmmType::Qemu)
            .kernel(FileInput::new("kernel", &self.kernel))
            .initrd(FileInput::new("initrd", &self.initrd))
            .append("console=ttyS0")
    }

    /// The launch digest with its full transcript (what `teectl` computes).
    fn digest(&self, l: &SnpLaunch<'_>) {
        black_box(l.compute().map(|d| d.digest).ok());
    }

    /// The floor: SHA-384 of every page the chain measures (firmware, the
    /// hashes page, 64 VMSAs) and SHA-256 of the kernel and initrd, nothing
    /// else (no chaining, no transcript).
    fn floor(&self) {
        let vmsa = vmsa_page(0xFFFF_FFF0, 1, 0x00A1_0F10, VmmType::Qemu);
        let mut acc = 0u8;
        for p in self.ovmf.chunks_exact(4096) {
            acc ^= Sha384::digest(p)[0];
        }
        acc ^= Sha384::digest(vmsa)[0];
        for _ in 0..64 {
            acc ^= Sha384::digest(vmsa)[0];
        }
        acc ^= sha2::Sha256::digest(&self.kernel)[0] ^ sha2::Sha256::digest(&self.initrd)[0];
        black_box(acc);
    }

    /// `tee-bench once snp-digest` (callgrind).
    #[inline(never)]
    pub(crate) fn digest_once(&self) {
        self.digest(&self.launch());
    }

    /// `tee-bench once snp-transcript` (callgrind): the digest, then its
    /// full transcript rendered as `teectl reference --json` does.
    #[inline(never)]
    pub(crate) fn transcript_once(&self) {
        let d = self.launch().compute().ok();
        black_box(d.and_then(|d| serde_json::to_vec(&d.reference()).ok()));
    }

    /// `tee-bench once snp-floor` (callgrind).
    #[inline(never)]
    pub(crate) fn floor_once(&self) {
        self.floor();
    }
}

/// The figures: (ratio to the floor, process speed-up over sev-snp-measure).
pub(crate) fn ours(b: &mut Bench, lines: &mut Vec<String>) {
    let oracle_dir = root().join("target/oracle");
    let fx = Fixture::new();
    eprintln!("tee-bench: SNP launch digest on {}", fx.name);
    let l = fx.launch();
    let digest = l.compute().map(|d| d.digest);
    let Ok(digest) = digest else {
        eprintln!("tee-bench: SNP launch digest failed: {digest:?}");
        return;
    };
    let ours_ns = b.run(
        "reference",
        "SNP launch digest, 4 MiB OVMF + kernel, 64 vCPUs",
        || fx.digest(&l),
    );
    let floor_ns = b.run("reference", "SHA-384 of the same pages (floor)", || {
        fx.floor()
    });
    let ratio = paired_ratio(|| fx.digest(&l), || fx.floor(), 3);
    lines.push(format!(
        "RATIO snp_launch_digest_vs_sha384_floor {ratio:.3} ({:.2} ms vs {:.2} ms)",
        ours_ns / 1e6,
        floor_ns / 1e6
    ));
    // The transcript on demand (what --json / --explain add).
    if let Ok(d) = l.compute() {
        let render_ns = b.run(
            "reference",
            "SNP transcript rendered as JSON (on demand)",
            || {
                black_box(serde_json::to_vec(&d.reference()).ok());
            },
        );
        lines.push(format!(
            "FIGURE snp_transcript_render_ms {:.2}",
            render_ns / 1e6
        ));
    }
    let (ovmf, kernel, initrd) = (&fx.ovmf, &fx.kernel, &fx.initrd);

    // Whole process: teectl vs sev-snp-measure, same files.
    let teectl = std::env::var_os("TEECTL").map(PathBuf::from).or_else(|| {
        let p = std::env::current_exe().ok()?.with_file_name("teectl");
        p.exists().then_some(p)
    });
    let oracle = std::env::var_os("SEV_SNP_MEASURE")
        .map(PathBuf::from)
        .or_else(|| Some(oracle_dir.join("venv/bin/sev-snp-measure")).filter(|p| p.exists()));
    let (Some(teectl), Some(oracle)) = (teectl, oracle) else {
        eprintln!(
            "tee-bench: process comparison skipped (needs `cargo build --release -p teectl` and tests/oracles/snp-measure.sh)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("tee-bench-snp-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let write = |n: &str, data: &[u8]| {
        let p = dir.join(n);
        std::fs::write(&p, data).ok().map(|()| p)
    };
    let (Some(o), Some(k), Some(i)) = (
        write("ovmf.fd", ovmf),
        write("kernel", kernel),
        write("initrd", initrd),
    ) else {
        return;
    };
    let args: Vec<String> = [
        "--ovmf",
        &o.display().to_string(),
        "--kernel",
        &k.display().to_string(),
        "--initrd",
        &i.display().to_string(),
        "--append",
        "console=ttyS0",
        "--vcpus",
        "64",
        "--vcpu-type",
        "EPYC-Genoa",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let time = |cmd: &mut Command| -> Option<(f64, String)> {
        let mut samples = Vec::new();
        let mut out = String::new();
        for _ in 0..5 {
            let t = Instant::now();
            let o = cmd.output().ok()?;
            samples.push(t.elapsed().as_nanos() as f64);
            if !o.status.success() {
                return None;
            }
            out = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        }
        samples.sort_by(f64::total_cmp);
        Some((samples[2], out))
    };
    let ours = time(
        Command::new(&teectl)
            .args(["reference", "sev-snp"])
            .args(&args),
    );
    let theirs = time(Command::new(&oracle).args(["--mode", "snp"]).args(&args));
    let _ = std::fs::remove_dir_all(&dir);
    match (ours, theirs) {
        (Some((a, da)), Some((t, dt))) => {
            let want = hex::encode(digest);
            if da != want || dt != want {
                eprintln!(
                    "tee-bench: process outputs differ: teectl {da}, sev-snp-measure {dt}, library {want}"
                );
                return;
            }
            eprintln!(
                "  measured reference/teectl process {:.1} ms, sev-snp-measure {:.1} ms",
                a / 1e6,
                t / 1e6
            );
            lines.push(format!(
                "FIGURE snp_reference_process_speedup_vs_sev_snp_measure {:.1} ({:.1} ms vs {:.1} ms)",
                t / a,
                a / 1e6,
                t / 1e6
            ));
        }
        _ => eprintln!("tee-bench: process comparison failed to run"),
    }
}
