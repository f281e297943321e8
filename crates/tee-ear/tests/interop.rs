//! Interop with independent JOSE implementations from PyPI (PyJWT with
//! `cryptography`, and jwcrypto), driven by `tests/interop/ear_interop.py`:
//! they verify our ES256 and ES384 tokens against our JWKS, and our verifier
//! accepts tokens they sign, with their own JWK export. With the feature
//! `aws-lc`, both directions run with each crypto implementation (aws-lc-rs
//! signing and verifying as well as RustCrypto).
//!
//! Python comes from `TEE_EAR_PYTHON` (`.ci/run` makes a venv with pinned
//! versions and sets it), else `target/ear-venv/bin/python` if present.
//! Without it the tests skip with a reason; with `CI` set they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tee_core::UnixTime;
use tee_ear::{
    Alg, Crypto, EarError, EarRequest, Issuer, Jwks, SignerSet, SigningKey, Status, Submod,
    TrustClaim, TrustVector, VerifyOptions, verify,
};

const NONCE: &[u8] = b"interop nonce 0123456789";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ear_interop.py")
}

/// The Python with PyJWT and jwcrypto, or `None` (skip) outside CI.
fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TEE_EAR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ear-venv/bin/python")
        });
    let usable = Command::new(&candidate)
        .args(["-c", "import jwt, jwcrypto, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if usable {
        return Some(candidate);
    }
    let why = format!(
        "no Python with PyJWT, jwcrypto and cryptography at {} (set TEE_EAR_PYTHON; .ci/run makes target/ear-venv)",
        candidate.display()
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}; CI must not skip the EAR interop tests"
    );
    eprintln!("skipping EAR interop: {why}");
    None
}

fn run(py: &Path, args: &[&str]) -> String {
    let out = Command::new(py).arg(script()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ear_interop.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cryptos() -> Vec<Crypto> {
    #[allow(unused_mut)]
    let mut v = vec![Crypto::RustCrypto];
    #[cfg(feature = "aws-lc")]
    v.push(Crypto::AwsLc);
    v
}

fn request() -> EarRequest {
    let s = Submod::new(Status::Affirming)
        .with_trust_vector(TrustVector::new().with(TrustClaim::Hardware, 2))
        .with_policy_id("sha256:ab")
        .with_claims(json!({"platform": "sev-snp", "measurement": "00"}));
    EarRequest::new()
        .with_nonce(NONCE)
        .unwrap()
        .with_submod("sev-snp", s)
        .unwrap()
}

#[test]
fn pyjwt_and_jwcrypto_verify_our_tokens() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let now = UnixTime::now();
    for (alg, crypto) in [Alg::Es256, Alg::Es384]
        .into_iter()
        .flat_map(|a| cryptos().into_iter().map(move |c| (a, c)))
    {
        // A rotated set: the token is signed by the current key, the JWKS
        // also holds the retired one.
        let mut issuer = Issuer::new(SignerSet::new(SigningKey::generate(alg).unwrap()));
        issuer
            .signers_mut()
            .rotate(
                SigningKey::generate(alg)
                    .unwrap()
                    .with_kid(format!("current-{alg}"))
                    .with_crypto(crypto)
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(issuer.signers().current().crypto(), crypto);
        let token = issuer.issue(request(), now).unwrap();
        let t = dir.path().join(format!("token-{alg}-{crypto}"));
        let j = dir.path().join(format!("jwks-{alg}-{crypto}.json"));
        std::fs::write(&t, &token).unwrap();
        std::fs::write(&j, issuer.signers().jwks().to_json()).unwrap();
        let out = run(
            &py,
            &[
                "verify",
                "--token",
                t.to_str().unwrap(),
                "--jwks",
                j.to_str().unwrap(),
                "--nonce",
                &B64.encode(NONCE),
                "--at",
                &now.as_secs().to_string(),
            ],
        );
        let claims: Value = serde_json::from_str(&out).unwrap();
        let ours = issuer.claims(request(), now).unwrap().to_json();
        assert_eq!(
            claims, ours,
            "{alg} ({crypto}): PyJWT reads the claims we signed"
        );
        assert_eq!(claims["submods"]["sev-snp"]["ear.status"], "affirming");
    }
}

#[test]
fn we_verify_tokens_signed_by_pyjwt_and_jwcrypto() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let now = UnixTime::now();
    for lib in ["pyjwt", "jwcrypto"] {
        for alg in [Alg::Es256, Alg::Es384] {
            let t = dir.path().join(format!("{lib}-{alg}.jwt"));
            let j = dir.path().join(format!("{lib}-{alg}.jwks"));
            run(
                &py,
                &[
                    "sign",
                    "--lib",
                    lib,
                    "--alg",
                    alg.name(),
                    "--nonce",
                    &B64.encode(NONCE),
                    "--iat",
                    &now.as_secs().to_string(),
                    "--token-out",
                    t.to_str().unwrap(),
                    "--jwks-out",
                    j.to_str().unwrap(),
                ],
            );
            let token = std::fs::read_to_string(&t).unwrap();
            let jwks = Jwks::from_json(&std::fs::read(&j).unwrap()).unwrap();
            for crypto in cryptos() {
                let opts = VerifyOptions::new(now, 5)
                    .expect_nonce(NONCE)
                    .with_crypto(crypto);
                let ear = verify(&token, &jwks, &opts).unwrap();
                assert_eq!(ear.verifier_id.developer, "interop-test");
                assert_eq!(ear.verifier_id.build, lib);
                assert_eq!(ear.iat, now.as_secs());
                assert_eq!(ear.exp, now.as_secs() + 300);
                let s = &ear.submods["tdx"];
                assert_eq!(s.status, Status::Warning);
                assert_eq!(s.trust_vector.get(TrustClaim::Executables), 33);
                assert_eq!(s.trust_vector.get(TrustClaim::Hardware), 2);
                assert_eq!(s.policy_id.as_deref(), Some("interop"));
                assert_eq!(s.claims.as_ref().unwrap()["platform"], "tdx");

                // Their tokens get the same rejections as ours.
                let other = VerifyOptions::new(now, 5)
                    .expect_nonce(b"another nonce 01")
                    .with_crypto(crypto);
                assert_eq!(verify(&token, &jwks, &other), Err(EarError::NonceMismatch));
                let late = VerifyOptions::new(UnixTime::from_secs(now.as_secs() + 400), 5)
                    .expect_nonce(NONCE)
                    .with_crypto(crypto);
                assert!(matches!(
                    verify(&token, &jwks, &late),
                    Err(EarError::Expired { .. })
                ));
                let p: Vec<&str> = token.split('.').collect();
                let mut sig = B64.decode(p[2]).unwrap();
                sig[0] ^= 0x80;
                let bad = format!("{}.{}.{}", p[0], p[1], B64.encode(sig));
                assert_eq!(verify(&bad, &jwks, &opts), Err(EarError::BadSignature));
            }
        }
    }
}
