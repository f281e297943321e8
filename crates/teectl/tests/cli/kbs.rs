//! `teectl kbs get-resource` against the fake KBS on loopback, and
//! `teectl verify --evidence` on Trustee-shaped evidence.

use std::sync::Arc;

use tee::{UnixTime, Verifiers};
use tee_kbs::testing::{FakeKbs, FakeKbsServer, Faults};

use crate::common::{stderr, teectl, vectors};

fn server() -> FakeKbsServer {
    let kbs = FakeKbs::new(
        Verifiers::empty().trust_mock_root(),
        UnixTime::from_secs(1_750_000_000),
    );
    kbs.put_resource("default/key/disk", b"s3cret\n");
    kbs.put_resource("default/key/denied", b"x");
    kbs.deny("default/key/denied");
    FakeKbsServer::start(Arc::new(kbs))
}

#[test]
fn get_resource_writes_the_secret_0600() {
    use std::os::unix::fs::PermissionsExt;
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let url = srv.url();
    for rsa in [false, true] {
        let mut args = vec![
            "--backend",
            "mock",
            "kbs",
            "get-resource",
            "--url",
            &url,
            "--path",
            "default/key/disk",
            "-o",
            "secret.bin",
        ];
        if rsa {
            args.push("--rsa");
        }
        let o = teectl(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stderr(&o).contains("MOCK"), "{}", stderr(&o));
        let f = dir.path().join("secret.bin");
        assert_eq!(std::fs::read(&f).unwrap(), b"s3cret\n");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn get_resource_refusals_have_their_exit_codes() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let url = srv.url();
    let run = |path: &str| {
        let o = teectl(
            dir.path(),
            &[
                "--backend",
                "mock",
                "kbs",
                "get-resource",
                "--url",
                &url,
                "--path",
                path,
                "-o",
                "out",
            ],
        );
        (o.status.code().unwrap(), stderr(&o))
    };
    let (c, e) = run("default/key/denied");
    assert_eq!(c, 4, "{e}");
    assert!(e.contains("403"), "{e}");
    let (c, e) = run("default/key/none");
    assert_eq!(c, 2, "{e}");
    let (c, e) = run("not-a-path");
    assert_eq!(c, 1, "{e}");
    srv.kbs().set_faults(Faults {
        tamper_jwe: true,
        ..Faults::default()
    });
    let (c, e) = run("default/key/disk");
    assert_eq!(c, 3, "{e}");
    assert!(e.contains("JWE decryption failed"), "{e}");
    assert!(
        !dir.path().join("out").exists(),
        "nothing is written on failure"
    );
    // A KBS that does not trust the mock refuses the attestation.
    let strict = FakeKbsServer::start(Arc::new(FakeKbs::new(
        Verifiers::empty(),
        UnixTime::from_secs(1_750_000_000),
    )));
    let o = teectl(
        dir.path(),
        &[
            "--backend",
            "mock",
            "kbs",
            "get-resource",
            "--url",
            &strict.url(),
            "--path",
            "a/b/c",
            "-o",
            "out",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
}

#[test]
fn verify_accepts_trustee_shaped_evidence_with_the_same_claims() {
    let Some(v) = vectors() else {
        return;
    };
    let report = std::fs::read(v.join("ms-tee-av/milan_attestation_report.bin")).unwrap();
    let vcek = std::fs::read(v.join("ms-tee-av/milan_vcek.pem")).unwrap();
    let measurement = hex::encode(&report[0x90..0xC0]);
    let ev = tee_sev::evidence_from_parts(&report, Some(&vcek), &[]).unwrap();
    let (_, primary) = tee_kbs::evidence::to_trustee(&ev).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sdk.json"), ev.to_json().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("trustee.json"),
        serde_json::to_vec(&primary).unwrap(),
    )
    .unwrap();
    let attestation = serde_json::json!({"tee-evidence": {"primary_evidence": primary, "additional_evidence": ""}});
    std::fs::write(
        dir.path().join("attestation.json"),
        serde_json::to_vec(&attestation).unwrap(),
    )
    .unwrap();
    let rd = "00".repeat(64);
    let verify = |file: &str| {
        let o = teectl(
            dir.path(),
            &[
                "verify",
                "--evidence",
                file,
                "--at",
                "2026-06-01T00:00:00Z",
                "--report-data",
                &rd,
                "--allowed-measurement",
                &measurement,
                "--allow-unchecked-revocation",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr(&o));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        j["claims"].clone()
    };
    let sdk = verify("sdk.json");
    assert_eq!(sdk["platform"], "sev-snp");
    assert_eq!(verify("trustee.json"), sdk);
    assert_eq!(verify("attestation.json"), sdk);
    // A tampered Trustee report fails authenticity (exit 3).
    let mut bad = attestation;
    bad["tee-evidence"]["primary_evidence"]["attestation_report"]["guest_svn"] =
        serde_json::json!(9);
    std::fs::write(
        dir.path().join("bad.json"),
        serde_json::to_vec(&bad).unwrap(),
    )
    .unwrap();
    let o = teectl(
        dir.path(),
        &[
            "verify",
            "--evidence",
            "bad.json",
            "--at",
            "2026-06-01T00:00:00Z",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}
