//! `teectl pef` against the real svm-tool's blobs and keys
//! (`../shared/vectors/pef-svm-tool/`): every run in `expected.json` gives
//! the real ultravisor's verdict through `teectl pef check` and releases
//! exactly the listed attachments; svm-tool's owner key works with the SDK's
//! blobs and edits; an ELF kernel is refused.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{self, code, stderr, stdout};

fn dir() -> Option<PathBuf> {
    common::vectors().map(|d| d.join("pef-svm-tool"))
}

const PASSPHRASE: &str = "test-only-owner-passphrase";

/// teectl in `d`: (exit code, stdout, stderr).
fn teectl(d: &Path, args: &[&str]) -> (u8, String, String) {
    let o = common::teectl(d, args);
    (code(&o) as u8, stdout(&o), stderr(&o))
}

fn check_json(
    d: &Path,
    machine: &str,
    kernel: &str,
    initrd: &str,
    bootargs: &str,
    names: &[&str],
) -> (u8, Value) {
    let mut args = vec![
        "pef",
        "check",
        "--json",
        "--machine",
        machine,
        "--kernel",
        kernel,
        "--initrd",
        initrd,
        "--bootargs",
        bootargs,
    ];
    for n in names {
        args.extend(["--get-file", n]);
    }
    let (code, out, err) = teectl(d, &args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    assert_eq!(v["exit_code"], code);
    (code, v)
}

#[test]
fn every_vector_gives_the_ultravisors_verdict_through_teectl_check() {
    let Some(d) = dir() else { return };
    let exp: Value =
        serde_json::from_slice(&std::fs::read(d.join("expected.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for vector in exp["vectors"].as_array().unwrap() {
        let id = vector["id"].as_str().unwrap();
        let wrapped = vector["wrapped_initrd"].as_str().unwrap();
        // The changed-initrd input: last 1024 bytes replaced.
        let mut w = std::fs::read(d.join(wrapped)).unwrap();
        let changed = std::fs::read(d.join("inputs/initrd-changed.cpio")).unwrap();
        let at = w.len() - changed.len();
        w[at..].copy_from_slice(&changed);
        let changed_path = tmp.path().join(format!("{}.changed", id.replace('/', "_")));
        std::fs::write(&changed_path, &w).unwrap();
        for run in vector["runs"].as_array().unwrap() {
            let what = format!("{id} {} {}", run["machine"], run["change"]);
            let initrd = if run["change"] == "initrd" {
                changed_path.to_str().unwrap().to_owned()
            } else {
                wrapped.to_owned()
            };
            let bootargs =
                std::fs::read_to_string(d.join(run["bootargs_file"].as_str().unwrap())).unwrap();
            let uv = &run["uv"];
            let released = uv["released"].as_object().unwrap();
            let mut names: Vec<&str> = released.keys().map(String::as_str).collect();
            names.push("nosuch");
            let (code, v) = check_json(
                &d,
                run["machine"].as_str().unwrap(),
                run["kernel"].as_str().unwrap(),
                &initrd,
                &bootargs,
                &names,
            );
            assert_eq!(v["uv_rc"], uv["uv_esm_rc"], "{what}: {v}");
            let want_code = match uv["refused_at"].as_str() {
                None => 0,
                Some(r) if r.starts_with("digest mismatch: ") => {
                    let n = r.trim_start_matches("digest mismatch: ");
                    assert_eq!(v["failed_checks"], serde_json::json!([n]), "{what}");
                    4
                }
                Some(r) if r.contains("lockbox-1") => 3,
                Some(r) => panic!("{what}: unexpected refusal {r}"),
            };
            assert_eq!(code, want_code, "{what}: {v}");
            assert_eq!(v["secure"], uv["accept"], "{what}");
            let got = v["get_file"].as_object().unwrap();
            for (n, want) in released {
                assert_eq!(got[n]["len"], want["len"], "{what} {n}");
                assert_eq!(got[n]["sha256"], want["sha256"], "{what} {n}");
            }
            if uv["accept"] == true {
                assert_eq!(
                    got["nosuch"]["rc"], uv["get_file_missing_name_rc"],
                    "{what}"
                );
            } else {
                assert!(released.is_empty());
                assert!(got.values().all(|g| g.get("len").is_none()), "{what}: {v}");
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 80);
}

#[test]
fn every_blob_and_wrapped_initrd_inspects() {
    let Some(d) = dir() else { return };
    let exp: Value =
        serde_json::from_slice(&std::fs::read(d.join("expected.json")).unwrap()).unwrap();
    for vector in exp["vectors"].as_array().unwrap() {
        for key in ["blob", "wrapped_initrd"] {
            if let Some(f) = vector[key].as_str() {
                let (code, out, err) = teectl(&d, &["pef", "inspect", f]);
                assert_eq!(code, 0, "{f}: {out}{err}");
                assert!(out.contains("origin-lockbox"), "{f}");
            }
        }
    }
    let (_, out, _) = teectl(&d, &["pef", "inspect", "blobs/e/att-nocomment.dtb"]);
    assert!(
        out.contains("crypttab: AES-256-GCM") && out.contains("comment (none)"),
        "{out}"
    );
    let (_, out, _) = teectl(&d, &["pef", "inspect", "blobs/e/iv12.dtb"]);
    assert!(out.contains("nonce 12 / tag 16 bytes"), "{out}");
}

#[test]
fn owner_keys_cross_between_svm_tool_and_the_sdk() {
    let Some(d) = dir() else { return };
    let t = tempfile::tempdir().unwrap();
    let p = |n: &str| t.path().join(n).to_str().unwrap().to_owned();
    std::fs::write(p("pw"), format!("{PASSPHRASE}\n")).unwrap();
    std::fs::write(p("wrong"), "wrong\n").unwrap();
    let args = std::fs::read_to_string(d.join("inputs/bootargs.txt")).unwrap();
    let build = |extra: &[&str], out: &str| {
        let mut a = vec![
            "pef",
            "build-blob",
            "--tpm-pub",
            "keys-TEST-ONLY/m1/tpm-pub.pem",
            "--kernel",
            "inputs/kernel.bin",
            "--initrd",
            "inputs/initrd.cpio",
            "--bootargs",
            &args,
            "--attach",
            "crypttab=inputs/crypttab",
        ];
        a.extend_from_slice(extra);
        a.extend(["-o", out]);
        teectl(&d, &a)
    };
    // svm-tool's encrypted owner key as --origin-key, with its passphrase.
    let (code, _, err) = build(
        &[
            "--origin-key",
            "keys-TEST-ONLY/owner-priv.pem",
            "--passphrase-file",
            &p("pw"),
        ],
        &p("sdk.dtb"),
    );
    assert_eq!(code, 0, "{err}");
    // Wrong passphrase: authenticity (3); none and no terminal: usage (1).
    let (code, _, err) = build(
        &[
            "--origin-key",
            "keys-TEST-ONLY/owner-priv.pem",
            "--passphrase-file",
            &p("wrong"),
        ],
        &p("x.dtb"),
    );
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = build(
        &["--origin-key", "keys-TEST-ONLY/owner-priv.pem"],
        &p("x.dtb"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--passphrase-file"), "{err}");
    // The SDK blob's origin lockbox is svm-tool's owner fingerprint.
    let (_, out, _) = teectl(&d, &["pef", "inspect", "--json", &p("sdk.dtb")]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["lockboxes"][0]["fingerprint"],
        "318cc01cc177ec705679ba5f1da16027ee1d577473a3ccfb8a6f0df54868a5b9"
    );
    // svm-tool's owner key edits the SDK's blob: attach file-2, then boot on m1.
    let (code, _, err) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "attach",
            "--blob",
            &p("sdk.dtb"),
            "--name",
            "file-2",
            "--file",
            "inputs/file-2.bin",
            "--owner-key",
            "keys-TEST-ONLY/owner-priv.pem",
            "--passphrase-file",
            &p("pw"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = teectl(
        &d,
        &[
            "pef",
            "wrap-initrd",
            "--blob",
            &p("sdk.dtb"),
            "--initrd",
            "inputs/initrd.cpio",
            "-o",
            &p("sdk.img"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, v) = check_json(
        &d,
        "keys-TEST-ONLY/m1",
        "inputs/kernel.bin",
        &p("sdk.img"),
        &args,
        &["file-2", "crypttab"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["get_file"]["file-2"]["sha256"],
        "252847ae1a703762834f8628d94b442687dfb550174f18031fd5ce76757506ca"
    );
    assert_eq!(
        v["get_file"]["crypttab"]["sha256"],
        "4caa24412b2c1946d12daa4ab6afad3f50b4c09b7968138d5950274956bf3a4e"
    );

    // A key the SDK generates (svm-tool's format by default) edits svm-tool's... own
    // blob type: build with a generated key, then add m2 with it.
    let (code, _, err) = build(&["--passphrase-file", &p("pw")], &p("gen.dtb"));
    assert_eq!(code, 0, "{err}");
    let key = std::fs::read_to_string(p("gen.dtb.origin-key.pem")).unwrap();
    assert!(key.starts_with(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,"
    ));
    let (code, out, err) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "add-machine",
            "--blob",
            &p("gen.dtb"),
            "--tpm-pub",
            "keys-TEST-ONLY/m2/tpm-pub.pem",
            "--owner-key",
            &p("gen.dtb.origin-key.pem"),
            "--passphrase-file",
            &p("pw"),
            "-o",
            &p("gen2.dtb"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added lockbox-2"), "{out}");
    // svm-tool's owner key does not open a blob it is not the origin of.
    let (code, _, _) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "add-machine",
            "--blob",
            &p("gen.dtb"),
            "--tpm-pub",
            "keys-TEST-ONLY/m2/tpm-pub.pem",
            "--owner-key",
            "keys-TEST-ONLY/owner-priv.pem",
            "--passphrase-file",
            &p("pw"),
            "-o",
            &p("x.dtb"),
        ],
    );
    assert_eq!(code, 3);
    // An unencrypted owner key only with --allow-unencrypted-key.
    std::fs::copy(d.join("keys-TEST-ONLY/m1/tpm-priv.pem"), p("plain.pem")).unwrap();
    let (code, _, err) = build(&["--origin-key", &p("plain.pem")], &p("x.dtb"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--allow-unencrypted-key"), "{err}");
    let (code, _, err) = build(
        &["--origin-key", &p("plain.pem"), "--allow-unencrypted-key"],
        &p("x.dtb"),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn edits_match_the_ultravisors_verdicts() {
    let Some(d) = dir() else { return };
    let t = tempfile::tempdir().unwrap();
    let p = |n: &str| t.path().join(n).to_str().unwrap().to_owned();
    std::fs::write(p("pw"), PASSPHRASE).unwrap();
    let args = std::fs::read_to_string(d.join("inputs/bootargs.txt")).unwrap();
    let boot = |blob: &str, m: &str| -> (u8, Value) {
        let img = format!("{blob}.img");
        let (code, _, err) = teectl(
            &d,
            &[
                "pef",
                "wrap-initrd",
                "--blob",
                blob,
                "--initrd",
                "inputs/initrd.cpio",
                "-o",
                &img,
            ],
        );
        assert_eq!(code, 0, "{err}");
        check_json(
            &d,
            m,
            "inputs/kernel.bin",
            &img,
            &args,
            &["crypttab", "file-2"],
        )
    };
    // revoke m2 from b = c: m1 boots and gets both files, m2 does not.
    let (code, _, err) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "revoke-machine",
            "--blob",
            "blobs/b-m1m2-2att.dtb",
            "--tpm-pub",
            "keys-TEST-ONLY/m2/tpm-pub.pem",
            "-o",
            &p("c.dtb"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, v) = boot(&p("c.dtb"), "keys-TEST-ONLY/m1");
    assert_eq!(code, 0);
    assert_eq!(v["get_file"]["file-2"]["len"], 1000);
    assert_eq!(boot(&p("c.dtb"), "keys-TEST-ONLY/m2").0, 3);
    // revoke m1 from b = c2: boots nowhere, and teectl says so.
    let (code, out, err) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "revoke-machine",
            "--blob",
            "blobs/b-m1m2-2att.dtb",
            "--tpm-pub",
            "keys-TEST-ONLY/m1/tpm-pub.pem",
            "-o",
            &p("c2.dtb"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no lockbox-1"), "{out}");
    let (code, v) = boot(&p("c2.dtb"), "keys-TEST-ONLY/m1");
    assert_eq!(code, 3);
    assert_eq!(v["uv_rc"], -4);
    assert_eq!(boot(&p("c2.dtb"), "keys-TEST-ONLY/m2").0, 3);
    // Revoking a machine that has no lockbox: usage error, blob untouched.
    let (code, _, _) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "revoke-machine",
            "--blob",
            &p("c.dtb"),
            "--tpm-pub",
            "keys-TEST-ONLY/m2/tpm-pub.pem",
        ],
    );
    assert_eq!(code, 1);
    // a + m2 (lockbox-2) + file-2, with svm-tool's owner key: m1 boots and
    // gets both files; m2 is refused (the UV reads only lockbox-1).
    std::fs::copy(d.join("blobs/a-m1-1att.dtb"), p("a.dtb")).unwrap();
    let (code, _, err) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "add-machine",
            "--blob",
            &p("a.dtb"),
            "--tpm-pub",
            "keys-TEST-ONLY/m2/tpm-pub.pem",
            "--owner-key",
            "keys-TEST-ONLY/owner-priv.pem",
            "--passphrase-file",
            &p("pw"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = teectl(
        &d,
        &[
            "pef",
            "edit",
            "attach",
            "--blob",
            &p("a.dtb"),
            "--name",
            "file-2",
            "--file",
            "inputs/file-2.bin",
            "--owner-key",
            "keys-TEST-ONLY/owner-priv.pem",
            "--passphrase-file",
            &p("pw"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, v) = boot(&p("a.dtb"), "keys-TEST-ONLY/m1");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["get_file"]["crypttab"]["len"], 80);
    assert_eq!(v["get_file"]["file-2"]["len"], 1000);
    let (code, v) = boot(&p("a.dtb"), "keys-TEST-ONLY/m2");
    assert_eq!(code, 3);
    assert!(v["note"].as_str().unwrap().contains("lockbox-2"), "{v}");
}

#[test]
fn build_blob_refuses_an_elf_kernel() {
    let Some(d) = dir() else { return };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("x.dtb");
    let (code, _, err) = teectl(
        &d,
        &[
            "pef",
            "build-blob",
            "--tpm-pub",
            "keys-TEST-ONLY/m1/tpm-pub.pem",
            "--kernel",
            "inputs/vmlinux",
            "--initrd",
            "inputs/initrd.cpio",
            "--bootargs",
            "x",
            "--origin-key",
            "keys-TEST-ONLY/owner-pub.pem",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("objcopy -O binary -S vmlinux"), "{err}");
    assert!(!out.exists());
    let (code, _, _) = teectl(
        &d,
        &[
            "pef",
            "measurement",
            "--kernel",
            "inputs/vmlinux",
            "--initrd",
            "inputs/initrd.cpio",
            "--bootargs",
            "x",
        ],
    );
    assert_eq!(code, 1);
}
