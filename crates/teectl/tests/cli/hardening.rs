//! CLI hardening checks (issue 10): file modes of secrets, bounded reads,
//! the mock backend only by explicit choice for sealing, event-log data.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{BIN, code, run, stderr, teectl};

/// teectl with `TEE_BACKEND=mock` in the environment.
fn teectl_env_mock(dir: &Path, args: &[&str]) -> Output {
    run(dir, &[("TEE_BACKEND", "mock")], args)
}

/// teectl under `umask 022` (the common default), through the shell.
fn teectl_umask022(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = String::from("umask 022 && exec \"$0\"");
    for i in 0..args.len() {
        cmd.push_str(&format!(" \"${}\"", i + 1));
    }
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("TEE_BACKEND")
        .output()
        .expect("run teectl")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn vectors() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    std::env::var_os("TEE_TEST_VECTORS").map_or(p, PathBuf::from)
}

/// Seal `plain.txt` to `blob.bin` with the explicit mock backend.
fn seal_with_mock(dir: &Path) {
    std::fs::write(dir.join("plain.txt"), b"the secret").unwrap();
    let o = teectl_umask022(
        dir,
        &[
            "--backend",
            "mock",
            "seal",
            "--in",
            "plain.txt",
            "-o",
            "blob.bin",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

// ---------- finding 5: plaintext is created 0600 ----------

#[test]
fn finding5_unseal_output_is_0600() {
    let d = tempfile::tempdir().unwrap();
    seal_with_mock(d.path());
    let o = teectl_umask022(
        d.path(),
        &[
            "--backend",
            "mock",
            "unseal",
            "--in",
            "blob.bin",
            "-o",
            "out.txt",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = d.path().join("out.txt");
    assert_eq!(std::fs::read(&out).unwrap(), b"the secret");
    assert_eq!(mode(&out), 0o600, "unsealed plaintext must be 0600");
    // The sealed blob is not secret: it follows the umask as before.
    assert_eq!(mode(&d.path().join("blob.bin")), 0o644);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn finding5_unseal_never_widens_an_existing_mode() {
    let d = tempfile::tempdir().unwrap();
    seal_with_mock(d.path());
    let unseal_to = |name: &str| {
        let o = teectl_umask022(
            d.path(),
            &[
                "--backend",
                "mock",
                "unseal",
                "--in",
                "blob.bin",
                "-o",
                name,
            ],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        std::fs::read(d.path().join(name)).unwrap()
    };
    // An existing, narrower target keeps its mode.
    let narrow = d.path().join("narrow.txt");
    std::fs::write(&narrow, b"old").unwrap();
    std::fs::set_permissions(&narrow, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(unseal_to("narrow.txt"), b"the secret");
    assert_eq!(mode(&narrow), 0o400);
    // An existing, world-readable target is narrowed to 0600, not kept 0644.
    let wide = d.path().join("wide.txt");
    std::fs::write(&wide, b"old").unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(unseal_to("wide.txt"), b"the secret");
    assert_eq!(mode(&wide), 0o600);
}

// ---------- finding 10: bounded inputs ----------

/// A sparse file of `len` bytes (no disk blocks, no memory).
fn sparse(dir: &Path, name: &str, len: u64) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
    p
}

/// Run teectl on a 1 GiB sparse file: exit 2, quickly, naming the limit.
fn assert_rejected_quickly(dir: &Path, args: &[&str], limit: &str) {
    let t = Instant::now();
    let o = teectl(dir, args);
    let took = t.elapsed();
    assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("over the {limit} limit")),
        "{args:?}: the message must name the limit {limit}: {e}"
    );
    assert!(e.contains("1073741824 bytes"), "{args:?}: {e}");
    // Reading 1 GiB took tens of seconds and gigabytes before; a size check
    // before the read answers at once.
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
}

#[test]
fn finding10_one_gib_sparse_files_are_exit_2_quickly() {
    let d = tempfile::tempdir().unwrap();
    sparse(d.path(), "big", 1 << 30);
    assert_rejected_quickly(d.path(), &["verify", "--evidence", "big"], "16 MiB");
    assert_rejected_quickly(
        d.path(),
        &["verify", "--platform", "sev-snp", "--report", "big"],
        "4 KiB",
    );
    assert_rejected_quickly(d.path(), &["sev-snp", "show", "big"], "16 MiB");
    assert_rejected_quickly(d.path(), &["tdx", "show", "big"], "64 KiB");
    assert_rejected_quickly(d.path(), &["tdx", "eventlog", "big"], "8 MiB");
    assert_rejected_quickly(
        d.path(),
        &[
            "--backend",
            "mock",
            "seal",
            "--in",
            "big",
            "-o",
            "big.sealed",
        ],
        "256 MiB",
    );
    assert!(!d.path().join("big.sealed").exists());
    if cfg!(feature = "pef") {
        assert_rejected_quickly(d.path(), &["pef", "show", "big"], "16 MiB");
    }
}

#[test]
fn finding10_limit_is_exact() {
    let d = tempfile::tempdir().unwrap();
    // A policy file one byte over 1 MiB is refused before parsing...
    sparse(d.path(), "over.toml", (1 << 20) + 1);
    let ev = teectl(
        d.path(),
        &[
            "--backend",
            "mock",
            "report",
            "--nonce",
            "00112233",
            "-o",
            "e.json",
        ],
    );
    assert_eq!(code(&ev), 0, "{}", stderr(&ev));
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112233",
            "--allow-mock",
            "--policy",
            "over.toml",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("over the 1 MiB limit"),
        "{}",
        stderr(&o)
    );
    // ...while one of exactly 1 MiB is read and parsed (trailing spaces are
    // valid TOML).
    let mut at = b"allow_any_measurement = true\n".to_vec();
    at.resize(1 << 20, b' ');
    std::fs::write(d.path().join("at.toml"), at).unwrap();
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112233",
            "--allow-mock",
            "--policy",
            "at.toml",
        ],
    );
    assert!(!stderr(&o).contains("limit"), "{}", stderr(&o));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

// ---------- finding 11: the mock seals only by explicit choice ----------

#[test]
fn finding11_tee_backend_mock_alone_does_not_seal() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("plain.txt"), b"the secret").unwrap();
    let o = teectl_env_mock(d.path(), &["seal", "--in", "plain.txt", "-o", "blob.bin"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("TEE_BACKEND"), "{e}");
    assert!(e.contains("--backend mock"), "{e}");
    assert!(e.contains("NO SECURITY"), "{e}");
    assert!(!d.path().join("blob.bin").exists());

    // Unsealing likewise.
    seal_with_mock(d.path());
    let o = teectl_env_mock(d.path(), &["unseal", "--in", "blob.bin", "-o", "out.txt"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--backend mock"), "{}", stderr(&o));
    assert!(!d.path().join("out.txt").exists());

    // Other commands keep honouring the environment variable (report on the mock).
    let o = teectl_env_mock(d.path(), &["report", "--nonce", "00", "-o", "e.json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("NO SECURITY"), "{}", stderr(&o));
}

#[test]
fn finding11_explicit_backend_mock_seals_and_says_no_security() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("plain.txt"), b"the secret").unwrap();
    // Before the subcommand, with the environment variable set too.
    let o = teectl_env_mock(
        d.path(),
        &[
            "--backend",
            "mock",
            "seal",
            "--in",
            "plain.txt",
            "-o",
            "blob.bin",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("NO SECURITY"), "{}", stderr(&o));
    // After the subcommand (a global flag), without the environment variable.
    let o = teectl(
        d.path(),
        &[
            "unseal",
            "--backend",
            "mock",
            "--in",
            "blob.bin",
            "-o",
            "out.txt",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("NO SECURITY"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(d.path().join("out.txt")).unwrap(),
        b"the secret"
    );
}

// ---------- finding 6: event data must match its digest ----------

/// Byte offset of event `index`'s data in a TCG2 SHA-384 log.
fn event_data_offset(b: &[u8], index: usize) -> usize {
    let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let mut o = 32 + le32(28);
    for _ in 0..index {
        o += 66 + le32(o + 62);
    }
    o + 66
}

#[test]
fn finding6_tdx_eventlog_tampered_cmdline_fails_with_its_index() {
    let Ok(log) = std::fs::read(vectors().join("go-tdx-guest/ccel/ccel_data.dat")) else {
        assert!(std::env::var_os("CI").is_none(), "vectors missing");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("log.bin"), &log).unwrap();
    let o = teectl(d.path(), &["tdx", "eventlog", "log.bin"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("EV_EFI_BOOT_SERVICES_APPLICATION: image at 0xbcb5c018, 0xe1c10 bytes [unverified: description only]"),
        "{out}"
    );
    assert!(
        out.contains("event data: 31 verified, 12 unverified"),
        "{out}"
    );
    // One byte of the kernel command line (event 40) changed.
    let mut bad = log.clone();
    let at = event_data_offset(&bad, 40);
    assert_eq!(&bad[at..at + 16], b"kernel_cmdline: ");
    bad[at + 30] ^= 0x01;
    std::fs::write(d.path().join("bad.bin"), &bad).unwrap();
    let o = teectl(d.path(), &["tdx", "eventlog", "bad.bin"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("event 40 (EV_IPL)"), "{e}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("DATA DOES NOT MATCH ITS DIGEST"),
        "listing marks the event"
    );
}
