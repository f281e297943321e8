//! `teectl verify --ear-out`, `teectl ear verify`, `teectl ear jwks`.

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use tee_ear::{Alg, SigningKey};

use crate::common::{code, stderr, teectl};

const NONCE: &str = "00112233445566778899";

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Mock evidence bound to NONCE, and its measurement.
fn setup(dir: &Path) -> String {
    let o = teectl(
        dir,
        &[
            "--backend",
            "mock",
            "report",
            "--nonce",
            NONCE,
            "-o",
            "e.json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = verify_mock(dir, &["--allow-mock"]);
    json(&o)["measurement"].as_str().unwrap().to_owned()
}

/// `teectl verify --evidence e.json --nonce NONCE EXTRA...` in `dir`.
fn verify_mock(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["verify", "--evidence", "e.json", "--nonce", NONCE];
    args.extend_from_slice(extra);
    teectl(dir, &args)
}

fn ear_verify(dir: &Path, token: &str, jwks: &str, extra: &[&str]) -> Output {
    let mut args = vec!["ear", "verify", "--token", token, "--jwks", jwks];
    args.extend_from_slice(extra);
    teectl(dir, &args)
}

#[test]
fn verify_writes_a_token_signed_by_the_given_key() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let m = setup(dir);
    let key = SigningKey::generate(Alg::Es256).unwrap();
    std::fs::write(dir.join("k.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();

    let o = verify_mock(
        dir,
        &[
            "--allow-mock",
            "--allowed-measurement",
            &m,
            "--ear-out",
            "t.jwt",
            "--ear-key",
            "k.pem",
            "--ear-kid",
            "k1",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("EPHEMERAL"), "{}", stderr(&o));
    assert!(!dir.join("t.jwt.jwks.json").exists());

    let o = teectl(dir, &["ear", "jwks", "--key", "k.pem", "--kid", "k1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let jwks = json(&o);
    assert_eq!(jwks["keys"][0]["kid"], "k1");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    assert!(jwks["keys"][0].get("d").is_none());
    std::fs::write(dir.join("jwks.json"), &o.stdout).unwrap();

    // Mock evidence: verified token, but never affirming (exit 4).
    let o = ear_verify(dir, "t.jwt", "jwks.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mock is contraindicated"),
        "{}",
        stderr(&o)
    );
    let claims = json(&o);
    let sub = &claims["submods"]["mock"];
    assert_eq!(sub["ear.status"], "contraindicated");
    assert_eq!(sub["ear.trustworthiness-vector"]["hardware"], 96);
    assert_eq!(sub["ear.trustworthiness-vector"]["executables"], 2);
    assert_eq!(sub["tee-sdk.claims"]["measurement"], m.as_str());
    assert_eq!(sub["tee-sdk.claims"]["appraisal-passed"], true);
    assert!(
        sub["ear.appraisal-policy-id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Rejections and their exit codes.
    let o = ear_verify(
        dir,
        "t.jwt",
        "jwks.json",
        &["--nonce", "0011223344556677889a"],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("eat_nonce"), "{}", stderr(&o));
    let o = ear_verify(dir, "t.jwt", "jwks.json", &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--allow-any-nonce"), "{}", stderr(&o));
    let o = ear_verify(dir, "t.jwt", "jwks.json", &["--allow-any-nonce"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("freshness is NOT checked"),
        "{}",
        stderr(&o)
    );
    let o = ear_verify(
        dir,
        "t.jwt",
        "jwks.json",
        &["--nonce", NONCE, "--at", "2100-01-01T00:00:00Z"],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));

    let token = std::fs::read_to_string(dir.join("t.jwt")).unwrap();
    let mut bytes = token.trim().as_bytes().to_vec();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    std::fs::write(dir.join("bad.jwt"), &bytes).unwrap();
    let o = ear_verify(dir, "bad.jwt", "jwks.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    std::fs::write(dir.join("junk.jwt"), "not a token").unwrap();
    let o = ear_verify(dir, "junk.jwt", "jwks.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    std::fs::write(dir.join("huge.jwt"), "a".repeat(200 * 1024)).unwrap();
    let o = ear_verify(dir, "huge.jwt", "jwks.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));

    // Another key's JWKS: unknown kid (3).
    let other = SigningKey::generate(Alg::Es384).unwrap();
    std::fs::write(dir.join("o.pem"), other.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let o = teectl(dir, &["ear", "jwks", "--key", "o.pem"]);
    std::fs::write(dir.join("other.json"), &o.stdout).unwrap();
    let o = ear_verify(dir, "t.jwt", "other.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("kid `k1`"), "{}", stderr(&o));
}

#[test]
fn ephemeral_key_is_announced_and_its_jwks_written() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let m = setup(dir);
    let o = verify_mock(
        dir,
        &[
            "--allow-mock",
            "--allowed-measurement",
            &m,
            "--ear-out",
            "t.jwt",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("EPHEMERAL P-384 key"), "{err}");
    assert!(
        !err.contains("PRIVATE KEY") && !err.contains("\"d\""),
        "{err}"
    );
    let jwks: Value =
        serde_json::from_slice(&std::fs::read(dir.join("t.jwt.jwks.json")).unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES384");
    assert!(jwks["keys"][0].get("d").is_none());
    let o = ear_verify(dir, "t.jwt", "t.jwt.jwks.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert_eq!(json(&o)["eat_nonce"], "ABEiM0RVZneImQ");
}

#[test]
fn failed_appraisal_still_gets_a_contraindicated_token() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    // Mock not allowed, no reference measurement: appraisal fails (4).
    let o = verify_mock(dir, &["--ear-out", "t.jwt"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let o = ear_verify(dir, "t.jwt", "t.jwt.jwks.json", &["--nonce", NONCE]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let sub = &json(&o)["submods"]["mock"];
    assert_eq!(sub["ear.status"], "contraindicated");
    assert_eq!(sub["ear.trustworthiness-vector"]["executables"], 33);
    assert_eq!(sub["tee-sdk.claims"]["appraisal-passed"], false);
}

#[test]
fn ear_flag_errors() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let m = setup(dir);
    // A 4-byte nonce cannot be an eat_nonce (8..=64 bytes).
    let o = teectl(
        dir,
        &[
            "--backend",
            "mock",
            "report",
            "--nonce",
            "00112233",
            "-o",
            "s.json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = teectl(
        dir,
        &[
            "verify",
            "--evidence",
            "s.json",
            "--nonce",
            "00112233",
            "--allow-mock",
            "--allowed-measurement",
            &m,
            "--ear-out",
            "t.jwt",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("8 to 64 bytes"), "{}", stderr(&o));
    assert!(!dir.join("t.jwt").exists());
    // --ear-key needs --ear-out.
    let o = verify_mock(dir, &["--ear-key", "k.pem"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // A key file that is not a supported key.
    std::fs::write(
        dir.join("bad.pem"),
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n",
    )
    .unwrap();
    let o = teectl(dir, &["ear", "jwks", "--key", "bad.pem"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = verify_mock(
        dir,
        &[
            "--allow-mock",
            "--allowed-measurement",
            &m,
            "--ear-out",
            "t.jwt",
            "--ear-key",
            "bad.pem",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!dir.join("t.jwt").exists());
}
