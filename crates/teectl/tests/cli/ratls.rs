//! `teectl ratls cert` and `teectl ratls inspect`, run against the built
//! binary: the files written (key 0600), and the exit code of each verdict.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

use tee::Backend as _;
use tee_ratls::{CertKey, CertOptions, KeyAlg, RawExtension, attest_key, build_certificate};

use crate::common::{code, stderr, teectl};

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

fn write_pem(dir: &Path, name: &str, der: &[u8]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    std::fs::write(dir.join(name), pem).unwrap();
}

#[test]
fn cert_then_inspect() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let o = teectl(
        dir,
        &[
            "ratls",
            "cert",
            "--mock",
            "-o",
            "cert.pem",
            "--key-out",
            "key.pem",
            "--key",
            "p384",
            "--nonce",
            "a1b2",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("NO SECURITY"));
    let mode = std::fs::metadata(dir.join("key.pem"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let key = std::fs::read_to_string(dir.join("key.pem")).unwrap();
    assert_eq!(CertKey::from_pkcs8_pem(&key).unwrap().alg(), KeyAlg::P384);
    assert!(
        std::fs::read_to_string(dir.join("cert.pem"))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // The default policy denies the mock, and there is no reference value: 4.
    let o = teectl(dir, &["ratls", "inspect", "cert.pem", "--json"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["appraisal"]["passed"], false);
    assert_eq!(j["ratls"]["key_bound"], true);
    assert_eq!(j["ratls"]["nonce"], "a1b2");
    assert_eq!(j["ratls"]["pubkey_hash_alg"], 1);
    let measurement = j["measurement"].as_str().unwrap().to_string();
    let failed: Vec<_> = j["appraisal"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "failed")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed, ["mock", "measurement"]);

    // A policy that allows the mock and names its measurement: 0.
    std::fs::write(
        dir.join("ok.toml"),
        format!("allow_mock = true\nallowed_measurements = [\"{measurement}\"]\n"),
    )
    .unwrap();
    let o = teectl(
        dir,
        &[
            "ratls", "inspect", "cert.pem", "--policy", "ok.toml", "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["appraisal"]["passed"], true);
    assert_eq!(j["platform"], "mock");
    // The text form.
    let o = teectl(
        dir,
        &["ratls", "inspect", "cert.pem", "--policy", "ok.toml"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("bound to this certificate's key"), "{text}");
    assert!(text.contains("appraisal       passed"), "{text}");
    // The expected nonce, another nonce.
    let o = teectl(
        dir,
        &[
            "ratls", "inspect", "cert.pem", "--policy", "ok.toml", "--nonce", "a1b2",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = teectl(
        dir,
        &[
            "ratls", "inspect", "cert.pem", "--policy", "ok.toml", "--nonce", "ffff",
        ],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("nonce"), "{}", stderr(&o));
    // Another measurement in the policy: 4, naming the check.
    let o = teectl(
        dir,
        &[
            "ratls",
            "inspect",
            "cert.pem",
            "--allow-mock",
            "--allowed-measurement",
            &"11".repeat(48),
        ],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("appraisal failed: measurement"),
        "{}",
        stderr(&o)
    );
    // Expired at a later time: 3.
    let o = teectl(
        dir,
        &[
            "ratls",
            "inspect",
            "cert.pem",
            "--policy",
            "ok.toml",
            "--at",
            "2100-01-01T00:00:00Z",
        ],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
}

#[test]
fn inspect_refusals() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let b = tee::mock::MockBackend::new();
    std::fs::write(
        dir.join("ok.toml"),
        format!(
            "allow_mock = true\nallowed_measurements = [\"{}\"]\n",
            hex::encode(b.measurement())
        ),
    )
    .unwrap();
    let now = tee::UnixTime::now();
    let opts = CertOptions::new();
    let key = CertKey::generate(KeyAlg::P256).unwrap();
    let other = CertKey::generate(KeyAlg::P256).unwrap();
    let ext = attest_key(b.attester().unwrap(), &key.spki_der().unwrap(), &opts).unwrap();

    // Accepted as DER too.
    let (good, _, _) = build_certificate(
        &key,
        &[RawExtension::evidence(ext.value.clone())],
        &opts,
        now,
    )
    .unwrap();
    std::fs::write(dir.join("good.der"), &good).unwrap();
    let o = teectl(
        dir,
        &["ratls", "inspect", "good.der", "--policy", "ok.toml"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Evidence for another key: not bound (3).
    let (unbound, _, _) = build_certificate(
        &other,
        &[RawExtension::evidence(ext.value.clone())],
        &opts,
        now,
    )
    .unwrap();
    write_pem(dir, "unbound.pem", &unbound);
    let o = teectl(
        dir,
        &["ratls", "inspect", "unbound.pem", "--policy", "ok.toml"],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("not the one bound"), "{}", stderr(&o));
    // A flipped byte in the signed report: not authentic (3).
    let mut ev = ext.evidence.clone();
    let mid = ev.report.len() / 2;
    ev.report[mid] ^= 1;
    let (tag, bytes) =
        tee_ratls::encode_evidence(&ev, tee_ratls::EvidenceEncoding::Envelope).unwrap();
    let value = tee_ratls::encode_extension(tag, &bytes, &ext.claims_buffer);
    let (tampered, _, _) =
        build_certificate(&key, &[RawExtension::evidence(value)], &opts, now).unwrap();
    write_pem(dir, "tampered.pem", &tampered);
    let o = teectl(
        dir,
        &["ratls", "inspect", "tampered.pem", "--policy", "ok.toml"],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    // No evidence extension, garbage, no file: 2, 2, 1.
    let (bare, _, _) = build_certificate(&key, &[], &opts, now).unwrap();
    write_pem(dir, "bare.pem", &bare);
    let o = teectl(dir, &["ratls", "inspect", "bare.pem"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no RA-TLS evidence extension"),
        "{}",
        stderr(&o)
    );
    std::fs::write(dir.join("junk.pem"), "not a certificate").unwrap();
    let o = teectl(dir, &["ratls", "inspect", "junk.pem"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = teectl(dir, &["ratls", "inspect", "missing.pem"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

#[test]
fn cert_needs_a_tee_or_mock() {
    let d = tempfile::tempdir().unwrap();
    // Without a TEE and without --mock: refused, never the mock.
    if tee::detect().detected.is_none() {
        let o = teectl(
            d.path(),
            &["ratls", "cert", "-o", "c.pem", "--key-out", "k.pem"],
        );
        assert_ne!(code(&o), 0);
        assert!(stderr(&o).contains("--mock"), "{}", stderr(&o));
        assert!(!d.path().join("k.pem").exists());
    }
    let o = teectl(
        d.path(),
        &[
            "ratls",
            "cert",
            "--mock",
            "-o",
            "c.pem",
            "--key-out",
            "k.pem",
            "--key",
            "p521",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}
