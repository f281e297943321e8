//! The acceptance checks of `teectl`, run against the built binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn teectl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_teectl"))
        .args(args)
        .current_dir(dir)
        .env_remove("TEE_BACKEND")
        .output()
        .expect("run teectl")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mock_evidence(dir: &Path) -> serde_json::Value {
    let o = teectl(
        dir,
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
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_slice(&std::fs::read(dir.join("e.json")).unwrap()).unwrap()
}

#[test]
fn report_then_verify_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let ev = mock_evidence(d.path());
    assert_eq!(ev["platform"], "mock");

    // Genuine (mock allowed) and fresh, but no reference value: the
    // measurement check fails closed (4) and says what would configure it.
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112233",
            "--allow-mock",
        ],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("measurement (no reference measurement configured"),
        "{err}"
    );
    assert!(err.contains("--allowed-measurement HEX"), "{err}");
    assert!(err.contains("--allow-any-measurement"), "{err}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let measurement = j["measurement"].as_str().unwrap().to_owned();

    // Any workload explicitly accepted: passes, loudly.
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112233",
            "--allow-mock",
            "--allow-any-measurement",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("WARNING"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ANY WORKLOAD ACCEPTED"),
        "{}",
        stderr(&o)
    );

    // Another reference value: 4.
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112233",
            "--allow-mock",
            "--allowed-measurement",
            &"ab".repeat(48),
            "--explain-measurement",
        ],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("is not one of the 1 reference value(s)"),
        "{err}"
    );
    // --explain-measurement: both values side by side, and where they differ.
    assert!(err.contains(&format!("evidence   {measurement}")), "{err}");
    let first = measurement
        .as_bytes()
        .chunks(2)
        .position(|b| b != b"ab")
        .unwrap();
    assert!(
        err.contains(&format!(
            "reference  {}  (first differs at byte {first})",
            "ab".repeat(48)
        )),
        "{err}"
    );

    // The workload's own reference value: passes.
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112233",
            "--allow-mock",
            "--allowed-measurement",
            &measurement,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("WARNING"), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["platform"], "mock");
    assert_eq!(j["debug"], false);
    assert_eq!(j["measurement"].as_str().unwrap().len(), 96);
    assert_eq!(j["report_data"].as_str().unwrap().len(), 128);
    assert_eq!(j["appraisal"]["passed"], true);

    // Without --allow-mock: policy failure.
    let o = teectl(
        d.path(),
        &["verify", "--evidence", "e.json", "--nonce", "00112233"],
    );
    assert_eq!(code(&o), 4);
    assert!(stderr(&o).contains("mock"), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["appraisal"]["passed"], false);

    // Another nonce: policy failure on report_data.
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "e.json",
            "--nonce",
            "00112234",
            "--allow-mock",
        ],
    );
    assert_eq!(code(&o), 4);
    assert!(stderr(&o).contains("report_data"));

    // No expected report data at all: fails closed.
    let o = teectl(
        d.path(),
        &["verify", "--evidence", "e.json", "--allow-mock"],
    );
    assert_eq!(code(&o), 4);
}

#[test]
fn every_flipped_report_byte_is_exit_3() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let d = tempfile::tempdir().unwrap();
    let ev = mock_evidence(d.path());
    let report = b64.decode(ev["report"].as_str().unwrap()).unwrap();
    // Every 5th byte keeps the test fast; the library test covers every byte.
    for i in (0..report.len()).step_by(5).chain([report.len() - 1]) {
        let mut bad = report.clone();
        bad[i] ^= 0x80;
        let mut e = ev.clone();
        e["report"] = serde_json::Value::String(b64.encode(&bad));
        std::fs::write(d.path().join("t.json"), serde_json::to_vec(&e).unwrap()).unwrap();
        let o = teectl(
            d.path(),
            &[
                "verify",
                "--evidence",
                "t.json",
                "--nonce",
                "00112233",
                "--allow-mock",
            ],
        );
        assert_eq!(code(&o), 3, "byte {i}: {}", stderr(&o));
    }
}

#[test]
fn garbage_and_truncated_are_exit_2_with_one_clear_line() {
    let d = tempfile::tempdir().unwrap();
    mock_evidence(d.path());
    let full = std::fs::read(d.path().join("e.json")).unwrap();
    std::fs::write(d.path().join("trunc.json"), &full[..full.len() / 2]).unwrap();
    std::fs::write(d.path().join("garbage.json"), b"\x00\xffnot json").unwrap();
    std::fs::write(d.path().join("empty.json"), b"").unwrap();
    for f in ["trunc.json", "garbage.json", "empty.json"] {
        let o = teectl(d.path(), &["verify", "--evidence", f, "--allow-mock"]);
        assert_eq!(code(&o), 2, "{f}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("teectl: error: ") && err.contains(f),
            "{err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
    }
    let o = teectl(d.path(), &["verify", "--evidence", "missing.json"]);
    assert_eq!(code(&o), 1);
    let o = teectl(d.path(), &["verify", "--no-such-flag"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn detect_reports_each_probe_and_never_the_mock() {
    let d = tempfile::tempdir().unwrap();
    let o = teectl(d.path(), &["detect", "--json"]);
    // 0 when this machine is a TEE guest, 5 when it has none.
    let tee_here = tee::detect().environment.platform().is_some();
    assert_eq!(code(&o), if tee_here { 0 } else { 5 });
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let probes = j["probes"].as_array().unwrap();
    assert!(probes.len() >= 4);
    assert!(
        probes
            .iter()
            .all(|p| p["platform"] != "mock" && !p["detail"].as_str().unwrap().is_empty())
    );
    assert_ne!(j["detected"], "mock");
}

#[test]
fn seal_unseal_files_atomically() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("plain.txt"), b"top secret").unwrap();
    let o = teectl(
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
    let blob = std::fs::read(d.path().join("blob.bin")).unwrap();
    assert!(blob.starts_with(b"TEESEAL\0"));
    let o = teectl(
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
    assert_eq!(
        std::fs::read(d.path().join("out.txt")).unwrap(),
        b"top secret"
    );

    // Another purpose is a policy mismatch (exit 4); a tampered blob is exit 3.
    let o = teectl(
        d.path(),
        &[
            "--backend",
            "mock",
            "unseal",
            "--in",
            "blob.bin",
            "-o",
            "x.txt",
            "--purpose",
            "other",
        ],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let mut t = blob.clone();
    let n = t.len() - 1;
    t[n] ^= 1;
    std::fs::write(d.path().join("t.bin"), &t).unwrap();
    let o = teectl(
        d.path(),
        &[
            "--backend",
            "mock",
            "unseal",
            "--in",
            "t.bin",
            "-o",
            "x.txt",
        ],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(!d.path().join("x.txt").exists(), "no output on failure");
    // Never overwrite the input.
    let o = teectl(
        d.path(),
        &[
            "--backend",
            "mock",
            "seal",
            "--in",
            "plain.txt",
            "-o",
            "plain.txt",
        ],
    );
    assert_eq!(code(&o), 1);
    assert_eq!(
        std::fs::read(d.path().join("plain.txt")).unwrap(),
        b"top secret"
    );
    // No leftover temporary files.
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().contains(".tmp-")),
        "{names:?}"
    );
}

#[test]
fn demo_runs_every_step_on_the_mock() {
    let d = tempfile::tempdir().unwrap();
    let o = teectl(d.path(), &["demo"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "[1/6]",
        "[6/6]",
        "NO SECURITY",
        "no hardware TEE found",
        "ACCEPTED",
        "reference value",
        "passed   measurement",
        "round trip OK",
        "tampered blob refused",
        "matches the evidence",
        "Done",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn measure_through_the_mock() {
    let d = tempfile::tempdir().unwrap();
    let o = teectl(
        d.path(),
        &[
            "--backend",
            "mock",
            "measure",
            "extend",
            "--index",
            "2",
            "--text",
            "hello",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("register 2: "));
    let o = teectl(
        d.path(),
        &["--backend", "mock", "measure", "read", "--json"],
    );
    assert_eq!(code(&o), 0);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 4);
    let o = teectl(
        d.path(),
        &[
            "--backend",
            "mock",
            "measure",
            "extend",
            "--index",
            "9",
            "--text",
            "x",
        ],
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn no_tee_is_unsupported_not_mock() {
    let d = tempfile::tempdir().unwrap();
    if tee::detect().detected.is_some() {
        return; // running on a TEE guest: auto selection is legitimate there
    }
    let o = teectl(d.path(), &["report", "--nonce", "00", "-o", "e.json"]);
    assert_eq!(code(&o), 5);
    assert!(stderr(&o).contains("--backend mock"));
    assert!(!d.path().join("e.json").exists());
}

/// Evidence of a platform without a verifier in this build is `Unsupported`:
/// exit 5 with a one-line reason, never handed to another verifier. In the
/// default build every platform has one, so the PEF-labelled evidence
/// reaches the PEF verifier; `.ci/run` also runs this test in a build
/// without the `pef` feature (`cargo test -p teectl --no-default-features
/// --features sev-snp,tdx --test cli`), where it is exit 5.
#[test]
fn verify_without_a_verifier_for_the_platform_is_exit_5() {
    let d = tempfile::tempdir().unwrap();
    let mut ev = mock_evidence(d.path());
    ev["platform"] = serde_json::Value::String("pef".into());
    std::fs::write(d.path().join("pef.json"), serde_json::to_vec(&ev).unwrap()).unwrap();
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--evidence",
            "pef.json",
            "--nonce",
            "00112233",
            "--allow-mock",
        ],
    );
    let err = stderr(&o);
    if cfg!(feature = "pef") {
        // The PEF verifier answered (a mock report is not in its format);
        // the mock verifier would have refused it as misuse (exit 1).
        assert_eq!(code(&o), 2, "{err}");
        assert!(err.contains("pef-owner-mac-v1"), "{err}");
    } else {
        assert_eq!(code(&o), 5, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("teectl: error: ") && err.contains("pef") && err.contains("feature"),
            "{err}"
        );
        assert!(o.stdout.is_empty());
        // Raw PEF input too, before any file is read.
        let o = teectl(
            d.path(),
            &["verify", "--platform", "pef", "--report", "missing.bin"],
        );
        assert_eq!(code(&o), 5, "{}", stderr(&o));
    }
}
