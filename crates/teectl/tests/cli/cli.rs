//! The acceptance checks of `teectl`, run against the built binary.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{BIN, code, stderr, teectl};

/// `teectl verify --evidence e.json --nonce 00112233 EXTRA...` in `dir`.
fn verify_mock(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["verify", "--evidence", "e.json", "--nonce", "00112233"];
    args.extend_from_slice(extra);
    teectl(dir, &args)
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
    let o = verify_mock(d.path(), &["--allow-mock"]);
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
    let o = verify_mock(d.path(), &["--allow-mock", "--allow-any-measurement"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("WARNING"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ANY WORKLOAD ACCEPTED"),
        "{}",
        stderr(&o)
    );

    // Another reference value: 4.
    let o = verify_mock(
        d.path(),
        &[
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
    let o = verify_mock(
        d.path(),
        &["--allow-mock", "--allowed-measurement", &measurement],
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

/// A broken `--reference-inputs` file is refused before any verdict is
/// printed: nothing on stdout, one clear line, the exit code of its class.
#[test]
fn broken_reference_inputs_refused_before_output() {
    let d = tempfile::tempdir().unwrap();
    mock_evidence(d.path());
    std::fs::write(d.path().join("broken.json"), b"{\"platform\": ").unwrap();
    std::fs::write(d.path().join("other.json"), br#"{"platform": "tdx"}"#).unwrap();
    for (f, want) in [("broken.json", 2), ("other.json", 1), ("absent.json", 1)] {
        let o = verify_mock(
            d.path(),
            &[
                "--allow-mock",
                "--explain-measurement",
                "--reference-inputs",
                f,
            ],
        );
        assert_eq!(code(&o), want, "{f}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{f}: printed a verdict first");
        assert!(stderr(&o).contains(f), "{f}: {}", stderr(&o));
    }
}

/// `teectl … | head`: a reader that went away ends teectl quietly (the
/// default SIGPIPE action), never with a panic message.
#[cfg(unix)]
#[test]
fn closed_stdout_is_no_panic() {
    use std::os::unix::process::ExitStatusExt as _;
    let d = tempfile::tempdir().unwrap();
    mock_evidence(d.path());
    for args in [
        &["demo"][..],
        &["verify", "--evidence", "e.json", "--allow-mock"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // every write to stdout now fails with EPIPE
        let o = Command::new(BIN)
            .args(args)
            .current_dir(d.path())
            .env_remove("TEE_BACKEND")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(
            o.status.signal(),
            Some(13),
            "{args:?}: {:?} {err}",
            o.status
        );
    }
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

/// A prepared machine: files (`path`, content); paths ending in `/` are directories.
fn fake_root(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, content) in files {
        let full = d.path().join(p.trim_start_matches('/'));
        if p.ends_with('/') {
            std::fs::create_dir_all(&full).unwrap();
        } else {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
    }
    d
}

const AZURE_TAG: &str = "7783-7084-3265-9085-8269-3286-77\n";
const AMD_VM: &str = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu hypervisor\n";
const INTEL_VM: &str = "vendor_id\t: GenuineIntel\nflags\t\t: fpu hypervisor\n";
const TD: &str = "vendor_id\t: GenuineIntel\nflags\t\t: fpu hypervisor tdx_guest\n";

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn detect_on(root: &Path) -> (i32, serde_json::Value, String) {
    let r = root.display().to_string();
    let j = teectl(root, &["detect", "--json", "--root", &r]);
    let t = teectl(root, &["detect", "--root", &r]);
    assert_eq!(code(&j), code(&t));
    (
        code(&j),
        json_of(&j),
        String::from_utf8_lossy(&t.stdout).into_owned(),
    )
}

fn doctor_on(root: &Path) -> (i32, serde_json::Value, String) {
    let r = root.display().to_string();
    let j = teectl(root, &["doctor", "--json", "--root", &r]);
    let t = teectl(root, &["doctor", "--root", &r]);
    assert_eq!(code(&j), code(&t), "{}", stderr(&t));
    let v = json_of(&j);
    assert_eq!(v["exit_code"].as_i64().unwrap(), i64::from(code(&j)));
    (code(&j), v, String::from_utf8_lossy(&t.stdout).into_owned())
}

#[test]
fn detect_and_doctor_on_fake_clouds() {
    // Azure SNP and TDX CVMs: named, the bare backend not chosen, the
    // backend hook named; doctor exit 4: the tree's /dev/tpmrm0 is a file,
    // not a vTPM (the Azure checks on a fake vTPM: src/doctor.rs tests).
    for (cpu, name) in [
        (AMD_VM, "Azure CVM (SEV-SNP behind the paravisor)"),
        (INTEL_VM, "Azure CVM (TDX behind the paravisor)"),
    ] {
        let root = fake_root(&[
            ("/sys/class/dmi/id/chassis_asset_tag", AZURE_TAG),
            ("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n"),
            ("/sys/bus/vmbus/", ""),
            ("/dev/tpmrm0", ""),
            ("/proc/cpuinfo", cpu),
        ]);
        let (c, j, text) = detect_on(root.path());
        assert_eq!(c, 0, "{text}");
        assert_eq!(j["environment"]["kind"], "azure-cvm");
        assert_eq!(j["detected"], serde_json::Value::Null);
        assert!(text.contains(name), "{text}");
        assert!(text.contains("Azure vTPM backend"), "{text}");
        for p in j["probes"].as_array().unwrap() {
            assert!(!p["detail"].as_str().unwrap().is_empty());
        }
        let (c, j, text) = doctor_on(root.path());
        assert_eq!(c, 4, "{text}");
        assert_eq!(j["environment"], name);
        let azure = j["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "azure")
            .unwrap();
        assert_eq!(azure["verdict"], "problem");
        if cfg!(feature = "azure") {
            let checks = azure["report"]["checks"].as_array().unwrap();
            let names: Vec<_> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["azure.vtpm", "azure.hcl_report", "azure.ak"]);
            assert_eq!(checks[0]["status"], "missing");
            assert!(checks[0]["remediation"].as_str().unwrap().contains("tss"));
            assert_eq!(checks[1]["status"], "skipped");
            assert!(text.contains("MISSING] azure.vtpm"), "{text}");
            assert!(text.contains("not a character device"), "{text}");
            assert!(text.contains("fix:"), "{text}");
        } else {
            assert!(text.contains("azure.backend"), "{text}");
        }
    }

    // GCP TDX (configfs-tsm and the CPU flag), GCP SNP, AWS SNP: the bare
    // interfaces, the cloud named.
    let gcp_tdx = fake_root(&[
        ("/sys/class/dmi/id/product_name", "Google Compute Engine\n"),
        ("/sys/class/dmi/id/board_vendor", "Google\n"),
        ("/sys/kernel/config/tsm/report/", ""),
        ("/proc/cpuinfo", TD),
    ]);
    let (c, j, text) = detect_on(gcp_tdx.path());
    assert_eq!((c, j["detected"].as_str()), (0, Some("tdx")), "{text}");
    assert!(text.contains("GCP confidential VM (TDX)"), "{text}");
    // Doctor: a TD whose TDREPORT and quote fail here (no real device, an
    // empty configfs directory): exit 4, the TDX checks named.
    let (c, j, text) = doctor_on(gcp_tdx.path());
    assert_eq!(c, 4, "{text}");
    let tdx = j["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "tdx")
        .unwrap();
    assert_eq!(tdx["report"]["role"], "guest");
    let names: Vec<_> = tdx["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    for n in [
        "dev.tdx_guest",
        "configfs-tsm",
        "configfs-tsm.provider",
        "rtmr.sysfs",
        "ccel",
        "kernel",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing in {names:?}");
    }
    assert!(text.contains("MISSING"), "{text}");
    assert!(text.contains("fix:"), "{text}");

    let gcp_snp = fake_root(&[
        ("/sys/class/dmi/id/product_name", "Google Compute Engine\n"),
        ("/dev/sev-guest", ""),
        ("/proc/cpuinfo", AMD_VM),
    ]);
    let (c, _, text) = detect_on(gcp_snp.path());
    assert_eq!(c, 0);
    assert!(text.contains("GCP confidential VM (SEV-SNP)"), "{text}");
    // SEV-SNP doctor on the files alone: /dev/sev-guest present (reports
    // through its ioctls): a working guest, exit 0.
    let (c, j, text) = doctor_on(gcp_snp.path());
    assert_eq!(c, 0, "{text}");
    let sev = j["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "sev-snp")
        .unwrap();
    assert_eq!(sev["verdict"], "ready");
    assert!(text.contains("Verdict: ready"), "{text}");
    // configfs-tsm whose provider cannot be read (an empty directory), no
    // guest device, CPUID not consulted (--root): a possible SEV guest that
    // does not work -> 4, with the provider check named.
    let odd = fake_root(&[
        ("/sys/kernel/config/tsm/report/", ""),
        ("/proc/cpuinfo", AMD_VM),
    ]);
    let (c, _, text) = doctor_on(odd.path());
    assert_eq!(c, 4, "{text}");
    assert!(text.contains("configfs-tsm.provider"), "{text}");

    let aws = fake_root(&[
        (
            "/sys/hypervisor/uuid",
            "ec2e1916-7c08-4a43-a4fb-1e0f6bd5fd4c\n",
        ),
        ("/dev/sev-guest", ""),
        ("/sys/kernel/config/tsm/report/", ""),
        ("/proc/cpuinfo", AMD_VM),
    ]);
    let (c, j, text) = detect_on(aws.path());
    assert_eq!(c, 0);
    assert_eq!(j["environment"]["cloud"], "aws");
    assert!(text.contains("AWS EC2 SEV-SNP guest"), "{text}");

    // A bare-metal TD guest root.
    let td = fake_root(&[("/dev/tdx_guest", ""), ("/proc/cpuinfo", TD)]);
    let (c, _, text) = detect_on(td.path());
    assert_eq!(c, 0);
    assert!(text.contains("bare-metal TDX guest"), "{text}");
    let (c, _, text) = doctor_on(td.path());
    assert_eq!(c, 4, "{text}");
    assert!(text.contains("TDX_CMD_GET_REPORT0 failed"), "{text}");
}

#[test]
fn detect_and_doctor_on_nothing_say_no_tee_and_exit_5() {
    for files in [
        &[][..],
        &[("/proc/cpuinfo", AMD_VM)][..],
        &[("/sys/class/dmi/id/product_name", "Google Compute Engine\n")][..],
    ] {
        let root = fake_root(files);
        let (c, j, text) = detect_on(root.path());
        assert_eq!(c, 5, "{text}");
        assert_eq!(j["environment"]["kind"], "no-tee");
        assert!(text.contains("No TEE on this machine"), "{text}");
        let (c, j, text) = doctor_on(root.path());
        assert_eq!(c, 5, "{text}");
        assert_eq!(j["verdict"], "no-capability");
        assert!(text.contains("no TEE capability"), "{text}");
    }
    // This machine has no TEE: doctor says so with 5.
    if tee::detect().environment.platform().is_none() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(code(&teectl(d.path(), &["doctor"])), 5);
    }
    let d = tempfile::tempdir().unwrap();
    let o = teectl(d.path(), &["doctor", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for line in [
        "0  a working TEE guest",
        "4  a TEE capability is present",
        "5  no TEE capability",
    ] {
        assert!(help.contains(line), "{help}");
    }
    assert_eq!(
        code(&teectl(d.path(), &["doctor", "--root", "/no/such/dir"])),
        1
    );
}

#[test]
fn gcp_ak_cert_rejects_bad_input_with_its_exit_code() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("junk.der"), b"not a certificate").unwrap();
    let o = teectl(
        d.path(),
        &["gcp", "ak-cert", "--cert", "junk.der", "--root", "junk.der"],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = teectl(
        d.path(),
        &[
            "gcp",
            "ak-cert",
            "--cert",
            "missing.der",
            "--root",
            "junk.der",
        ],
    );
    assert_eq!(code(&o), 1);
}
