//! `teectl verify --gce-ak-cert FILE --gce-intermediate FILE --gce-ca FILE`:
//! the GCE vTPM's AK certificate as additional evidence, with a test CA
//! chain (root → intermediate → AK, NO SECURITY). The TEE evidence is the
//! mock's (its root is trusted by the CLI and appraisal needs
//! `--allow-mock`), made with the SDK's AK binding as user data. Accepted
//! when the chain verifies and the report data binds the AK and the nonce;
//! a wrong CA and an expired AK certificate are authenticity failures (3);
//! an AK other than the one the evidence binds, or another nonce, fails the
//! `gce.ak_binding` check (4).

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use p256::ecdsa::SigningKey;
use sha2::{Digest as _, Sha512};
use tee_testpki::der::{ext, int, seq, seq_of, tlv, utf8};
use tee_testpki::p256cert::{self, cert, cn, spki};

use crate::common::{code, stderr, teectl};

const NONCE: &str = "9e0a11ce";
const AT: &str = "2026-06-01T00:00:00Z";

fn key(label: &str) -> SigningKey {
    p256cert::key("teectl gce test key (NO SECURITY) ", label)
}

fn instance_info() -> Vec<u8> {
    seq(&[
        &utf8("europe-west4-a"),
        &int(987_654_321),
        &utf8("cvm-project"),
        &int(1_234_567_890_123),
        &utf8("gce-cvm-1"),
        &tlv(
            0xa0,
            &seq_of(&[tlv(0xa0, &int(3)), tlv(0xa1, &tlv(0x01, &[0xff]))]),
        ),
    ])
}

fn pem(der: &[u8]) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// The test CA chain's files, and evidence binding AK 1.
struct Setup {
    dir: tempfile::TempDir,
    ak1_key: SigningKey,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (rk, ik, ak1, ak2) = (key("root"), key("intermediate"), key("ak1"), key("ak2"));
        let far = "491231235959Z";
        let put = |n: &str, b: &[u8]| std::fs::write(dir.path().join(n), b).unwrap();
        let root = cert(
            1,
            "EK/AK CA Root",
            &cn("EK/AK CA Root"),
            &rk,
            &rk,
            true,
            vec![],
            far,
        );
        put("root.pem", pem(&root).as_bytes());
        let inter = cert(
            2,
            "EK/AK CA Root",
            &cn("EK/AK CA Intermediate"),
            &ik,
            &rk,
            true,
            vec![],
            far,
        );
        put("inter.pem", pem(&inter).as_bytes());
        let ak_cert = |serial, k: &SigningKey, not_after| {
            // The AK certificate's subject is empty on GCE.
            cert(
                serial,
                "EK/AK CA Intermediate",
                &seq(&[]),
                k,
                &ik,
                false,
                vec![ext("1.3.6.1.4.1.11129.2.1.21", &instance_info())],
                not_after,
            )
        };
        put("ak1.pem", pem(&ak_cert(3, &ak1, far)).as_bytes());
        put("ak1.der", &ak_cert(3, &ak1, far));
        put("ak2.pem", pem(&ak_cert(4, &ak2, far)).as_bytes());
        // Expired before --at (2026-06-01).
        put(
            "ak1-expired.pem",
            pem(&ak_cert(5, &ak1, "251231235959Z")).as_bytes(),
        );
        // A root of the same name with another key, and an unrelated root.
        let ok = key("other root");
        let rogue = cert(
            1,
            "EK/AK CA Root",
            &cn("EK/AK CA Root"),
            &ok,
            &ok,
            true,
            vec![],
            far,
        );
        put("rogue-root.pem", pem(&rogue).as_bytes());
        let other = cert(9, "Someone", &cn("Someone"), &ok, &ok, true, vec![], far);
        put("other-root.pem", pem(&other).as_bytes());
        // The SDK's binding: user data = SHA-512(AK SPKI DER).
        put("ud.bin", &Sha512::digest(spki(&ak1)));
        let s = Self { dir, ak1_key: ak1 };
        let o = teectl(
            None,
            &[
                "--backend",
                "mock",
                "report",
                "--nonce",
                NONCE,
                "--user-data",
                s.p("ud.bin").to_str().unwrap(),
                "-o",
                s.p("ev.json").to_str().unwrap(),
            ],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        s
    }

    fn p(&self, n: &str) -> PathBuf {
        self.dir.path().join(n)
    }

    fn verify(&self, ev: &Path, nonce: Option<&str>, gce: &[(&str, &str)]) -> Output {
        let mut a: Vec<String> = [
            "verify",
            "--evidence",
            ev.to_str().unwrap(),
            "--allow-mock",
            "--allow-any-measurement",
            "--at",
            AT,
        ]
        .map(String::from)
        .to_vec();
        if let Some(n) = nonce {
            a.extend(["--nonce".into(), n.into()]);
        }
        for (flag, file) in gce {
            a.extend([flag.to_string(), self.p(file).to_str().unwrap().to_owned()]);
        }
        teectl(None, &a.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

const GOOD: [(&str, &str); 3] = [
    ("--gce-ak-cert", "ak1.pem"),
    ("--gce-intermediate", "inter.pem"),
    ("--gce-ca", "root.pem"),
];

fn with(cert: &str, ca: &str) -> [(&'static str, String); 3] {
    [
        ("--gce-ak-cert", cert.to_owned()),
        ("--gce-intermediate", "inter.pem".to_owned()),
        ("--gce-ca", ca.to_owned()),
    ]
}

fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(f, s)| (*f, s.as_str())).collect()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn check<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    j["appraisal"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {j}"))
}

#[test]
fn a_bound_gce_ak_certificate_is_shown_in_the_claims() {
    let s = Setup::new();
    let ev = s.p("ev.json");
    let o = s.verify(&ev, Some(NONCE), &GOOD);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let g = &j["gce_ak"];
    assert_eq!(g["bound"], true, "{g}");
    assert_eq!(g["ak_public_key"], hex::encode(spki(&s.ak1_key)));
    assert_eq!(
        g["ak_public_key_sha512"],
        hex::encode(std::fs::read(s.p("ud.bin")).unwrap())
    );
    assert_eq!(g["ak_key_algorithm"], "ecdsa-p256");
    assert_eq!(
        g["chain"],
        serde_json::json!(["CN=EK/AK CA Intermediate", "CN=EK/AK CA Root"])
    );
    assert_eq!(g["instance"]["project_id"], "cvm-project");
    assert_eq!(g["instance"]["instance_name"], "gce-cvm-1");
    assert_eq!(g["instance"]["security_version"], 3);
    assert_eq!(g["vtpm_trust"], "hypervisor");
    assert_eq!(check(&j, "gce.ak_binding")["outcome"], "passed");
    assert_eq!(check(&j, "report_data")["outcome"], "passed");
    // A DER AK certificate works the same.
    let der = [
        ("--gce-ak-cert", "ak1.der"),
        ("--gce-intermediate", "inter.pem"),
        ("--gce-ca", "root.pem"),
    ];
    assert_eq!(code(&s.verify(&ev, Some(NONCE), &der)), 0);
    // Without the GCE flags the evidence is plain mock evidence: the
    // nonce alone is not its report data, and no gce_ak is shown.
    let o = s.verify(&ev, Some(NONCE), &[]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(json(&o).get("gce_ak").is_none());
}

#[test]
fn a_wrong_ca_or_an_expired_certificate_is_an_authenticity_failure() {
    let s = Setup::new();
    let ev = s.p("ev.json");
    // Same-named root with another key: the intermediate's signature fails.
    let o = s.verify(&ev, Some(NONCE), &refs(&with("ak1.pem", "rogue-root.pem")));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("--gce-ak-cert"), "{}", stderr(&o));
    assert!(stderr(&o).contains("signature"), "{}", stderr(&o));
    // An unrelated root: no path.
    let o = s.verify(&ev, Some(NONCE), &refs(&with("ak1.pem", "other-root.pem")));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("chain"), "{}", stderr(&o));
    // The intermediate missing: no path to the root.
    let o = s.verify(
        &ev,
        Some(NONCE),
        &[("--gce-ak-cert", "ak1.pem"), ("--gce-ca", "root.pem")],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    // The AK certificate expired before --at.
    let o = s.verify(
        &ev,
        Some(NONCE),
        &refs(&with("ak1-expired.pem", "root.pem")),
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
    // Not a certificate: malformed (2).
    std::fs::write(s.p("junk.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    let o = s.verify(&ev, Some(NONCE), &refs(&with("junk.pem", "root.pem")));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn another_ak_or_another_nonce_fails_the_binding_check() {
    let s = Setup::new();
    let ev = s.p("ev.json");
    // A valid certificate of another AK: the evidence binds AK 1.
    let o = s.verify(&ev, Some(NONCE), &refs(&with("ak2.pem", "root.pem")));
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["gce_ak"]["bound"], false);
    assert_eq!(check(&j, "gce.ak_binding")["outcome"], "failed");
    assert!(stderr(&o).contains("gce.ak_binding"), "{}", stderr(&o));
    // The right AK, another nonce.
    let o = s.verify(&ev, Some("00"), &GOOD);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert_eq!(check(&json(&o), "gce.ak_binding")["outcome"], "failed");
}

#[test]
fn the_gce_flags_are_checked() {
    let s = Setup::new();
    let ev = s.p("ev.json");
    // The binding needs the nonce; the CA is required; --report-data and
    // --user-data do not go with it.
    for (nonce, flags) in [
        (None, GOOD.to_vec()),
        (Some(NONCE), vec![("--gce-ak-cert", "ak1.pem")]),
        (Some(NONCE), vec![("--gce-ca", "root.pem")]),
        (
            Some(NONCE),
            vec![
                ("--gce-ak-cert", "ak1.pem"),
                ("--gce-ca", "root.pem"),
                ("--user-data", "ud.bin"),
            ],
        ),
    ] {
        let o = s.verify(&ev, nonce, &flags);
        assert_eq!(code(&o), 1, "{nonce:?} {flags:?}: {}", stderr(&o));
    }
    // Azure vTPM evidence names its own AK: refused before verification.
    #[cfg(feature = "azure")]
    {
        azure_evidence_is_refused(&s);
    }
}

#[cfg(feature = "azure")]
fn azure_evidence_is_refused(s: &Setup) {
    use tee::Backend as _;
    let vm = tee_azure::testing::FakeAzureVm::snp();
    let az = vm
        .backend()
        .unwrap()
        .attester()
        .unwrap()
        .attest(&tee::ReportData::zero())
        .unwrap();
    std::fs::write(s.p("az.json"), az.to_json().unwrap()).unwrap();
    let o = s.verify(&s.p("az.json"), Some(NONCE), &GOOD);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("Azure"), "{}", stderr(&o));
}
