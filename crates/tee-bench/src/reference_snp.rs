//! SEV-SNP reference values: the launch digest of a 4 MiB OVMF with kernel
//! hashes and 64 vCPUs against its floor (SHA-384 of the same measured pages,
//! with no chaining and no transcript), and the whole `teectl reference
//! sev-snp` process against `sev-snp-measure` 0.0.13 on the same inputs.
//!
//! The firmware is Debian's `OVMF.amdsev.fd` when `tests/oracles/snp-measure.sh`
//! fetched it into `target/oracle/`, else a synthetic 4 MiB image with the
//! same metadata layout. The process comparison needs a release `teectl`
//! next to this binary (or `$TEECTL`) and the oracle (`$SEV_SNP_MEASURE` or
//! `target/oracle/venv/bin/sev-snp-measure`); it is skipped, saying so,
//! without them.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha384};
use tee::sev::reference::{FileInput, SnpLaunch, VcpuType, VmmType, vmsa_page};

use crate::{Bench, paired_ratio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Vec<u8> {
    [
        &d1.to_le_bytes()[..],
        &d2.to_le_bytes(),
        &d3.to_le_bytes(),
        &d4,
    ]
    .concat()
}

/// A 4 MiB image with the layout of Debian's OVMF.amdsev.fd (7 sections, kernel hashes at 0x810000).
fn synthetic() -> Vec<u8> {
    let size = 4 << 20;
    let mut f: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let secs = [
        (0x80_0000u32, 0x9000u32, 1u32),
        (0x80_A000, 0x3000, 1),
        (0x80_D000, 0x1000, 2),
        (0x80_E000, 0x1000, 3),
        (0x80_F000, 0x1000, 4),
        (0x81_1000, 0x1F000, 1),
        (0x81_0000, 0x1000, 0x10),
    ];
    let meta_at = size - 0x1000;
    let mut m = b"ASEV".to_vec();
    m.extend((16 + 12 * secs.len() as u32).to_le_bytes());
    m.extend(1u32.to_le_bytes());
    m.extend((secs.len() as u32).to_le_bytes());
    for (g, s, t) in secs {
        m.extend(g.to_le_bytes());
        m.extend(s.to_le_bytes());
        m.extend(t.to_le_bytes());
    }
    f[meta_at..meta_at + m.len()].copy_from_slice(&m);
    let mut t = Vec::new();
    for (data, g) in [
        (
            0x1000u32.to_le_bytes().to_vec(),
            guid(
                0xdc886566,
                0x984a,
                0x4798,
                [0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc],
            ),
        ),
        (
            [0x81_0C00u32.to_le_bytes(), 0x400u32.to_le_bytes()].concat(),
            guid(
                0x7255371f,
                0x3a3b,
                0x4b04,
                [0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54],
            ),
        ),
        (
            0x0080_B004u32.to_le_bytes().to_vec(),
            guid(
                0x00f771de,
                0x1a7e,
                0x4fcb,
                [0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e],
            ),
        ),
    ] {
        t.extend(&data);
        t.extend(((data.len() + 18) as u16).to_le_bytes());
        t.extend(g);
    }
    t.extend(((t.len() + 18) as u16).to_le_bytes());
    t.extend(guid(
        0x96b582de,
        0x1fb2,
        0x45f7,
        [0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d],
    ));
    let end = size - 32;
    f[end - t.len()..end].copy_from_slice(&t);
    f[end..].fill(0);
    f
}

/// The figures: (ratio to the floor, process speed-up over sev-snp-measure).
pub(crate) fn ours(b: &mut Bench, lines: &mut Vec<String>) {
    let oracle_dir = root().join("target/oracle");
    let debian = oracle_dir.join("ovmf/amdsev/usr/share/ovmf/OVMF.amdsev.fd");
    let (name, ovmf) = match std::fs::read(&debian) {
        Ok(b) => ("OVMF.amdsev.fd", b),
        Err(_) => ("synthetic 4 MiB", synthetic()),
    };
    eprintln!("tee-bench: SNP launch digest on {name}");
    let kernel = vec![b'A'; 4096];
    let initrd = vec![b'B'; 4096];
    let launch = || {
        SnpLaunch::new(FileInput::new("ovmf", &ovmf))
            .vcpus(64)
            .vcpu_type(VcpuType::ALL[13])
            .vmm_type(VmmType::Qemu)
            .kernel(FileInput::new("kernel", &kernel))
            .initrd(FileInput::new("initrd", &initrd))
            .append("console=ttyS0")
    };
    let l = launch();
    let digest = l.compute().map(|d| d.digest);
    let Ok(digest) = digest else {
        eprintln!("tee-bench: SNP launch digest failed: {digest:?}");
        return;
    };
    // The floor: SHA-384 of every page the chain measures (firmware, the
    // hashes page, 64 VMSAs) and SHA-256 of the kernel and initrd, nothing else.
    let vmsa = vmsa_page(0xFFFF_FFF0, 1, 0x00A1_0F10, VmmType::Qemu);
    let floor = || {
        let mut acc = 0u8;
        for p in ovmf.chunks_exact(4096) {
            acc ^= Sha384::digest(p)[0];
        }
        acc ^= Sha384::digest(vmsa)[0];
        for _ in 0..64 {
            acc ^= Sha384::digest(vmsa)[0];
        }
        acc ^= sha2::Sha256::digest(&kernel)[0] ^ sha2::Sha256::digest(&initrd)[0];
        black_box(acc);
    };
    let ours_ns = b.run(
        "reference",
        "SNP launch digest, 4 MiB OVMF + kernel, 64 vCPUs",
        || {
            black_box(l.compute().map(|d| d.digest).ok());
        },
    );
    let floor_ns = b.run("reference", "SHA-384 of the same pages (floor)", floor);
    let ratio = paired_ratio(
        || {
            black_box(l.compute().map(|d| d.digest).ok());
        },
        floor,
        3,
    );
    lines.push(format!(
        "RATIO snp_launch_digest_vs_sha384_floor {ratio:.3} ({:.2} ms vs {:.2} ms)",
        ours_ns / 1e6,
        floor_ns / 1e6
    ));

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
        write("ovmf.fd", &ovmf),
        write("kernel", &kernel),
        write("initrd", &initrd),
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
