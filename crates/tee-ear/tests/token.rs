//! Issue/verify round trips and every rejection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{KeyInit as _, Mac as _};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};
use tee_core::UnixTime;
use tee_ear::{
    Alg, EAR_PROFILE, EarError, EarRequest, Issuer, Jwk, Jwks, MAX_TOKEN_LEN, SignerSet,
    SigningKey, Status, Submod, TRUSTEE_PROFILE, TrustClaim, TrustVector, VerifierId,
    VerifyOptions, verify,
};

const NOW: u64 = 1_750_000_000;
const NONCE: &[u8] = b"0123456789abcdef";

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn submod() -> Submod {
    Submod::new(Status::Warning)
        .with_trust_vector(
            TrustVector::new()
                .with(TrustClaim::Hardware, 2)
                .with(TrustClaim::Executables, 33),
        )
        .with_policy_id("sha256:00")
        .with_claims(json!({"platform": "mock"}))
}

fn request() -> EarRequest {
    EarRequest::new()
        .with_nonce(NONCE)
        .unwrap()
        .with_submod("mock", submod())
        .unwrap()
}

fn issuer(alg: Alg) -> Issuer {
    Issuer::new(SignerSet::new(
        SigningKey::generate(alg)
            .unwrap()
            .with_kid(format!("k-{alg}")),
    ))
}

fn opts() -> VerifyOptions {
    VerifyOptions::new(now(), 30).expect_nonce(NONCE)
}

fn parts(token: &str) -> (Value, Value, Vec<u8>) {
    let p: Vec<&str> = token.split('.').collect();
    assert_eq!(p.len(), 3);
    let j = |s: &str| serde_json::from_slice(&B64.decode(s).unwrap()).unwrap();
    (j(p[0]), j(p[1]), B64.decode(p[2]).unwrap())
}

/// A raw EC key for forging tokens with any header.
enum Raw {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

fn raw(k: &SigningKey) -> Raw {
    let pem = k.to_pkcs8_pem().unwrap();
    match k.alg() {
        Alg::Es256 => Raw::P256(p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap()),
        _ => Raw::P384(p384::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap()),
    }
}

fn encode(header: &Value, payload: &Value) -> String {
    format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    )
}

fn forge_raw(header_json: &str, payload_json: &str, k: &Raw) -> String {
    let input = format!("{}.{}", B64.encode(header_json), B64.encode(payload_json));
    let sig = match k {
        Raw::P256(k) => {
            let s: p256::ecdsa::Signature = k.sign(input.as_bytes());
            s.to_bytes().to_vec()
        }
        Raw::P384(k) => {
            let s: p384::ecdsa::Signature = k.sign(input.as_bytes());
            s.to_bytes().to_vec()
        }
    };
    format!("{input}.{}", B64.encode(sig))
}

fn forge(header: &Value, payload: &Value, k: &Raw) -> String {
    forge_raw(&header.to_string(), &payload.to_string(), k)
}

/// A correctly signed token whose payload is `edit`ed first.
fn signed_with(edit: impl FnOnce(&mut Value)) -> (String, Jwks) {
    let iss = issuer(Alg::Es384);
    let mut payload = iss.claims(request(), now()).unwrap().to_json();
    edit(&mut payload);
    let k = iss.signers().current();
    let t = forge(
        &json!({"alg": "ES384", "typ": "JWT", "kid": k.kid()}),
        &payload,
        &raw(k),
    );
    (t, iss.signers().jwks())
}

#[test]
fn round_trip_es256_and_es384() {
    for alg in [Alg::Es256, Alg::Es384] {
        let iss = issuer(alg);
        let token = iss.issue(request(), now()).unwrap();
        let (h, p, sig) = parts(&token);
        assert_eq!(
            h,
            json!({"alg": alg.name(), "typ": "JWT", "kid": format!("k-{alg}")})
        );
        assert_eq!(sig.len(), 2 * alg.field_len(), "raw r||s");
        assert_eq!(p["eat_profile"], EAR_PROFILE);
        assert_eq!(p["iat"], NOW);
        assert_eq!(p["exp"], NOW + 300);
        assert_eq!(p["eat_nonce"], B64.encode(NONCE));
        assert_eq!(p["ear.verifier-id"]["developer"], "tee-sdk");
        assert_eq!(p["submods"]["mock"]["ear.status"], "warning");
        assert_eq!(
            p["submods"]["mock"]["ear.trustworthiness-vector"],
            json!({"executables": 33, "hardware": 2})
        );
        assert_eq!(p["submods"]["mock"]["ear.appraisal-policy-id"], "sha256:00");
        assert_eq!(p["submods"]["mock"]["tee-sdk.claims"]["platform"], "mock");

        let ear = verify(&token, &iss.signers().jwks(), &opts()).unwrap();
        assert_eq!(ear, iss.claims(request(), now()).unwrap());
        assert_eq!(ear.overall_status(), Status::Warning);
        assert_eq!(ear.submods["mock"], submod());
    }
}

#[test]
fn tampered_payload_and_signature_rejected() {
    let iss = issuer(Alg::Es384);
    let jwks = iss.signers().jwks();
    let token = iss.issue(request(), now()).unwrap();
    let p: Vec<&str> = token.split('.').collect();

    // Payload changed to claim `affirming`, signature kept.
    let (_, mut payload, _) = parts(&token);
    payload["submods"]["mock"]["ear.status"] = "contraindicated".into();
    let t = format!("{}.{}.{}", p[0], B64.encode(payload.to_string()), p[2]);
    assert_eq!(verify(&t, &jwks, &opts()), Err(EarError::BadSignature));

    // One signature bit flipped.
    let mut sig = B64.decode(p[2]).unwrap();
    sig[10] ^= 1;
    let t = format!("{}.{}.{}", p[0], p[1], B64.encode(&sig));
    assert_eq!(verify(&t, &jwks, &opts()), Err(EarError::BadSignature));
    // Truncated, doubled, empty signatures.
    for s in [&sig[..95], &[sig.as_slice(), &sig].concat()[..], &[][..]] {
        let t = format!("{}.{}.{}", p[0], p[1], B64.encode(s));
        assert_eq!(verify(&t, &jwks, &opts()), Err(EarError::BadSignature));
    }
    // The header changed (kid kept): the signature covers it.
    let t = format!(
        "{}.{}.{}",
        B64.encode(json!({"alg": "ES384", "kid": "k-ES384"}).to_string()),
        p[1],
        p[2]
    );
    assert_eq!(verify(&t, &jwks, &opts()), Err(EarError::BadSignature));
    // Signed by another key under the same kid.
    let other = issuer(Alg::Es384).issue(request(), now()).unwrap();
    assert_eq!(verify(&other, &jwks, &opts()), Err(EarError::BadSignature));
}

#[test]
fn kid_lookup() {
    let a = SigningKey::generate(Alg::Es256).unwrap().with_kid("a");
    let b = SigningKey::generate(Alg::Es384).unwrap().with_kid("b");
    let iss = Issuer::new(SignerSet::new(a.clone()));
    let token = iss.issue(request(), now()).unwrap();
    let only_b = Jwks::new().with_key(b.public_jwk()).unwrap();
    assert_eq!(
        verify(&token, &only_b, &opts()),
        Err(EarError::UnknownKey {
            kid: Some("a".into())
        })
    );
    // No kid: fine with exactly one key, refused with two.
    let payload = iss.claims(request(), now()).unwrap().to_json();
    let t = forge(&json!({"alg": "ES256"}), &payload, &raw(&a));
    let only_a = Jwks::new().with_key(a.public_jwk()).unwrap();
    assert!(verify(&t, &only_a, &opts()).is_ok_and(|e| e.iat == NOW));
    let both = only_a.clone().with_key(b.public_jwk()).unwrap();
    assert_eq!(
        verify(&t, &both, &opts()),
        Err(EarError::UnknownKey { kid: None })
    );
    assert_eq!(
        verify(&token, &Jwks::new(), &opts()),
        Err(EarError::UnknownKey {
            kid: Some("a".into())
        })
    );
    // A non-string kid is malformed.
    let t = forge(&json!({"alg": "ES256", "kid": 1}), &payload, &raw(&a));
    assert!(matches!(
        verify(&t, &both, &opts()),
        Err(EarError::Malformed { .. })
    ));
}

#[test]
fn algorithm_comes_from_the_key() {
    let k384 = SigningKey::generate(Alg::Es384).unwrap().with_kid("k");
    let k256 = SigningKey::generate(Alg::Es256).unwrap().with_kid("k");
    let payload = issuer(Alg::Es384)
        .claims(request(), now())
        .unwrap()
        .to_json();

    // Header ES256 on a P-384 key (signed with that key): rejected before
    // the signature is looked at.
    let t = forge(&json!({"alg": "ES256", "kid": "k"}), &payload, &raw(&k384));
    let jwks384 = Jwks::new().with_key(k384.public_jwk()).unwrap();
    assert_eq!(
        verify(&t, &jwks384, &opts()),
        Err(EarError::AlgorithmMismatch {
            header: "ES256".into(),
            key: Alg::Es384
        })
    );
    // And the reverse.
    let t = forge(&json!({"alg": "ES384", "kid": "k"}), &payload, &raw(&k256));
    let jwks256 = Jwks::new().with_key(k256.public_jwk()).unwrap();
    assert_eq!(
        verify(&t, &jwks256, &opts()),
        Err(EarError::AlgorithmMismatch {
            header: "ES384".into(),
            key: Alg::Es256
        })
    );

    // alg none, with and without a signature.
    for sig in ["", "AAAA"] {
        let t = format!(
            "{}.{sig}",
            encode(&json!({"alg": "none", "kid": "k"}), &payload)
        );
        assert_eq!(
            verify(&t, &jwks384, &opts()),
            Err(EarError::UnsupportedAlgorithm { alg: "none".into() })
        );
    }

    // HS256 with the public key (JWK JSON, and its x coordinate) as the secret.
    let public = serde_json::to_string(&k384.public_jwk()).unwrap();
    for secret in [
        public.as_bytes().to_vec(),
        B64.decode(&k384.public_jwk().x).unwrap(),
    ] {
        let input = encode(&json!({"alg": "HS256", "kid": "k"}), &payload);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(input.as_bytes());
        let t = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(
            verify(&t, &jwks384, &opts()),
            Err(EarError::UnsupportedAlgorithm {
                alg: "HS256".into()
            })
        );
    }
    for alg in ["RS256", "PS384", "EdDSA", "es384", "ES512", ""] {
        let t = forge(&json!({"alg": alg, "kid": "k"}), &payload, &raw(&k384));
        assert_eq!(
            verify(&t, &jwks384, &opts()),
            Err(EarError::UnsupportedAlgorithm { alg: alg.into() }),
            "{alg}"
        );
    }
    // A missing or non-string alg is malformed.
    for h in [json!({"kid": "k"}), json!({"alg": ["ES384"], "kid": "k"})] {
        let t = forge(&h, &payload, &raw(&k384));
        assert!(matches!(
            verify(&t, &jwks384, &opts()),
            Err(EarError::Malformed {
                part: "JOSE header",
                ..
            })
        ));
    }
    // A JWKS entry whose alg contradicts its curve is refused when loaded.
    let mut bad = k384.public_jwk();
    bad.alg = Some("ES256".into());
    assert!(matches!(
        Jwks::new().with_key(bad),
        Err(EarError::BadKey { .. })
    ));
}

#[test]
fn header_jwk_is_never_trusted() {
    // An attacker's key, offered in the header: the JWKS decides.
    let ours = SigningKey::generate(Alg::Es256).unwrap().with_kid("k");
    let theirs = SigningKey::generate(Alg::Es256).unwrap().with_kid("k");
    let payload = issuer(Alg::Es256)
        .claims(request(), now())
        .unwrap()
        .to_json();
    let jwk = serde_json::to_value(theirs.public_jwk()).unwrap();
    let t = forge(
        &json!({"alg": "ES256", "kid": "k", "jwk": jwk}),
        &payload,
        &raw(&theirs),
    );
    let jwks = Jwks::new().with_key(ours.public_jwk()).unwrap();
    assert_eq!(verify(&t, &jwks, &opts()), Err(EarError::BadSignature));
}

#[test]
fn crit_and_typ() {
    let k = SigningKey::generate(Alg::Es256).unwrap().with_kid("k");
    let jwks = Jwks::new().with_key(k.public_jwk()).unwrap();
    let payload = issuer(Alg::Es256)
        .claims(request(), now())
        .unwrap()
        .to_json();
    let t = forge(
        &json!({"alg": "ES256", "kid": "k", "crit": ["exp"], "exp": 1}),
        &payload,
        &raw(&k),
    );
    assert!(matches!(
        verify(&t, &jwks, &opts()),
        Err(EarError::UnsupportedHeader {
            parameter: "crit",
            ..
        })
    ));
    let t = forge(
        &json!({"alg": "ES256", "kid": "k", "typ": "at+jwt"}),
        &payload,
        &raw(&k),
    );
    assert!(matches!(
        verify(&t, &jwks, &opts()),
        Err(EarError::UnsupportedHeader {
            parameter: "typ",
            ..
        })
    ));
    let t = forge(
        &json!({"alg": "ES256", "kid": "k", "typ": "jwt"}),
        &payload,
        &raw(&k),
    );
    assert!(verify(&t, &jwks, &opts()).is_ok_and(|e| e.exp == NOW + 300));
}

#[test]
fn time_checks_with_explicit_leeway() {
    let iss = issuer(Alg::Es256);
    let jwks = iss.signers().jwks();
    let token = iss.issue(request(), now()).unwrap();
    let exp = NOW + 300;
    let at = |t: u64, leeway: u64| {
        VerifyOptions::new(UnixTime::from_secs(t), leeway).expect_nonce(NONCE)
    };

    assert!(verify(&token, &jwks, &at(exp - 1, 0)).is_ok_and(|e| e.exp == exp));
    assert_eq!(
        verify(&token, &jwks, &at(exp, 0)),
        Err(EarError::Expired {
            exp,
            at: exp,
            leeway: 0
        })
    );
    assert!(verify(&token, &jwks, &at(exp + 59, 60)).is_ok_and(|e| e.exp == exp));
    assert!(matches!(
        verify(&token, &jwks, &at(exp + 60, 60)),
        Err(EarError::Expired { .. })
    ));

    assert!(verify(&token, &jwks, &at(NOW, 0)).is_ok_and(|e| e.iat == NOW));
    assert_eq!(
        verify(&token, &jwks, &at(NOW - 1, 0)),
        Err(EarError::NotYetValid {
            iat: NOW,
            at: NOW - 1,
            leeway: 0
        })
    );
    assert!(verify(&token, &jwks, &at(NOW - 60, 60)).is_ok_and(|e| e.iat == NOW));
    assert!(matches!(
        verify(&token, &jwks, &at(NOW - 61, 60)),
        Err(EarError::NotYetValid { .. })
    ));
}

#[test]
fn time_claims_must_be_integers() {
    for (edit, claim) in [
        (json!({"iat": 1_750_000_000.5}), "iat"),
        (json!({"iat": 1.75e9}), "iat"),
        (json!({"iat": "1750000000"}), "iat"),
        (json!({"iat": -1}), "iat"),
        (json!({"exp": 1_750_000_300.0}), "exp"),
        (json!({"exp": NOW}), "exp"),
        (json!({"exp": null}), "exp"),
    ] {
        let (t, jwks) = signed_with(|p| {
            for (k, v) in edit.as_object().unwrap() {
                p[k] = v.clone();
            }
        });
        let e = verify(&t, &jwks, &opts()).unwrap_err();
        assert!(
            matches!(&e, EarError::BadClaim { claim: c, .. } if *c == claim),
            "{edit}: {e:?}"
        );
    }
    let (t, jwks) = signed_with(|p| {
        p.as_object_mut().unwrap().remove("exp");
    });
    assert!(matches!(
        verify(&t, &jwks, &opts()),
        Err(EarError::BadClaim { claim: "exp", .. })
    ));
}

#[test]
fn nonce_checks() {
    let iss = issuer(Alg::Es256);
    let jwks = iss.signers().jwks();
    let token = iss.issue(request(), now()).unwrap();
    let base = VerifyOptions::new(now(), 0);
    assert_eq!(
        verify(
            &token,
            &jwks,
            &base.clone().expect_nonce(b"another nonce!!!")
        ),
        Err(EarError::NonceMismatch)
    );
    assert_eq!(
        verify(&token, &jwks, &base.clone().expect_nonce(&NONCE[..15])),
        Err(EarError::NonceMismatch)
    );
    assert_eq!(
        verify(&token, &jwks, &base),
        Err(EarError::NonceNotConfigured)
    );
    assert!(
        verify(&token, &jwks, &base.clone().allow_any_nonce(true))
            .is_ok_and(|e| e.nonce.as_deref() == Some(NONCE))
    );

    let no_nonce = iss
        .issue(
            EarRequest::new().with_submod("mock", submod()).unwrap(),
            now(),
        )
        .unwrap();
    assert_eq!(
        verify(&no_nonce, &jwks, &opts()),
        Err(EarError::MissingNonce)
    );
    assert!(
        verify(&no_nonce, &jwks, &base.clone().allow_any_nonce(true))
            .is_ok_and(|e| e.nonce.is_none())
    );

    assert_eq!(
        EarRequest::new().with_nonce(b"short").unwrap_err(),
        EarError::BadNonce { len: 5 }
    );
    assert_eq!(
        EarRequest::new().with_nonce(&[0; 65]).unwrap_err(),
        EarError::BadNonce { len: 65 }
    );
    for bad in [json!(12345678), json!("AAAA"), json!("not base64!")] {
        let (t, jwks) = signed_with(|p| p["eat_nonce"] = bad.clone());
        assert!(
            matches!(
                verify(&t, &jwks, &opts()),
                Err(EarError::BadClaim {
                    claim: "eat_nonce",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn profile_checks() {
    let (t, jwks) = signed_with(|p| p["eat_profile"] = "tag:ietf.org,2026:rats/ear#04".into());
    assert_eq!(
        verify(&t, &jwks, &opts()),
        Err(EarError::UnsupportedProfile {
            profile: "tag:ietf.org,2026:rats/ear#04".into()
        })
    );
    // Even when asked for: the underscore vocabulary is not read.
    assert!(matches!(
        verify(
            &t,
            &jwks,
            &opts().accept_profile("tag:ietf.org,2026:rats/ear#04")
        ),
        Err(EarError::UnsupportedProfile { .. })
    ));
    let (t, jwks) = signed_with(|p| p["eat_profile"] = TRUSTEE_PROFILE.into());
    assert!(matches!(
        verify(&t, &jwks, &opts()),
        Err(EarError::UnsupportedProfile { .. })
    ));
    assert!(
        verify(&t, &jwks, &opts().accept_profile(TRUSTEE_PROFILE))
            .is_ok_and(|e| e.profile == TRUSTEE_PROFILE)
    );
    let (t, jwks) = signed_with(|p| {
        p.as_object_mut().unwrap().remove("eat_profile");
    });
    assert!(matches!(
        verify(&t, &jwks, &opts()),
        Err(EarError::BadClaim {
            claim: "eat_profile",
            ..
        })
    ));
}

#[test]
fn verifier_id_pin() {
    let iss = issuer(Alg::Es256).with_verifier_id(VerifierId::new("example.org", "v1"));
    let token = iss.issue(request(), now()).unwrap();
    let jwks = iss.signers().jwks();
    assert!(
        verify(
            &token,
            &jwks,
            &opts().expect_verifier_id(VerifierId::new("example.org", "v1"))
        )
        .is_ok_and(|e| e.verifier_id.build == "v1")
    );
    assert!(matches!(
        verify(
            &token,
            &jwks,
            &opts().expect_verifier_id(VerifierId::new("example.org", "v2"))
        ),
        Err(EarError::VerifierIdMismatch { .. })
    ));
}

#[test]
fn oversized_rejected_before_parsing() {
    let iss = issuer(Alg::Es256);
    let jwks = iss.signers().jwks();
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        verify(&huge, &jwks, &opts()),
        Err(EarError::TooLarge {
            len: MAX_TOKEN_LEN + 1,
            max: MAX_TOKEN_LEN
        })
    );
    // A validly signed but oversized token too.
    let (t, jwks) = signed_with(|p| {
        p["submods"]["mock"]["tee-sdk.claims"]["pad"] = "x".repeat(MAX_TOKEN_LEN).into();
    });
    assert!(matches!(
        verify(&t, &jwks, &opts()),
        Err(EarError::TooLarge { .. })
    ));
    // And the issuer refuses to make one.
    let big = submod().with_claims(json!({"pad": "x".repeat(MAX_TOKEN_LEN)}));
    let req = EarRequest::new().with_submod("mock", big).unwrap();
    assert!(matches!(
        iss.issue(req, now()),
        Err(EarError::TooLarge { .. })
    ));
}

#[test]
fn malformed_input_rejected() {
    let iss = issuer(Alg::Es256);
    let jwks = iss.signers().jwks();
    let token = iss.issue(request(), now()).unwrap();
    let p: Vec<&str> = token.split('.').collect();
    let bad = [
        String::new(),
        "a.b".into(),
        format!("{}.{}", p[0], p[1]),
        format!("{token}.x"),
        format!("{}=.{}.{}", p[0], p[1], p[2]),
        format!("{}.{}.{}=", p[0], p[1], p[2]),
        format!("{} .{}.{}", p[0], p[1], p[2]),
        format!("{token}\n"),
        format!("{}.{}.{}", B64.encode("not json"), p[1], p[2]),
        format!("{}.{}.{}", B64.encode("[1,2]"), p[1], p[2]),
        format!(
            "{}.{}.{}",
            B64.encode(r#"{"alg":"ES256","alg":"ES256","kid":"k-ES256"}"#),
            p[1],
            p[2]
        ),
        "\u{1F600}.\u{1F600}.\u{1F600}".into(),
    ];
    for t in &bad {
        let e = verify(t, &jwks, &opts()).unwrap_err();
        assert!(matches!(e, EarError::Malformed { .. }), "{t:?}: {e:?}");
    }

    // The signature is checked before the payload is decoded: a payload
    // changed in any way (here: not base64url) fails the signature.
    let t = format!("{}.{}+.{}", p[0], p[1], p[2]);
    assert_eq!(verify(&t, &jwks, &opts()), Err(EarError::BadSignature));

    // Validly signed, bad payload JSON.
    let k = raw(iss.signers().current());
    let h = r#"{"alg":"ES256","kid":"k-ES256"}"#;
    let payload = iss.claims(request(), now()).unwrap().to_json().to_string();
    let dup = payload.replacen('{', r#"{"iat":1,"#, 1);
    for body in ["not json", "[]", "{}x", dup.as_str()] {
        let t = forge_raw(h, body, &k);
        let e = verify(&t, &jwks, &opts()).unwrap_err();
        assert!(
            matches!(
                e,
                EarError::Malformed {
                    part: "payload",
                    ..
                }
            ),
            "{body}: {e:?}"
        );
    }
}

#[test]
fn submod_checks() {
    for (edit, claim) in [
        (json!({}), "submods"),
        (json!({"mock": 1}), "submods"),
        (json!({"mock": {}}), "ear.status"),
        (json!({"mock": {"ear.status": "fine"}}), "ear.status"),
        (json!({"mock": {"ear.status": 2}}), "ear.status"),
        // Better than its vector allows.
        (
            json!({"mock": {"ear.status": "affirming", "ear.trustworthiness-vector": {"hardware": 96}}}),
            "ear.status",
        ),
        (
            json!({"mock": {"ear.status": "affirming", "ear.trustworthiness-vector": {"hw": 2}}}),
            "ear.trustworthiness-vector",
        ),
        (
            json!({"mock": {"ear.status": "affirming", "ear.appraisal-policy-id": ["a"]}}),
            "ear.appraisal-policy-id",
        ),
        (
            json!({"mock": {"ear.status": "affirming", "ear.veraison.x": "not a map"}}),
            "submods",
        ),
    ] {
        let (t, jwks) = signed_with(|p| p["submods"] = edit.clone());
        let e = verify(&t, &jwks, &opts()).unwrap_err();
        assert!(
            matches!(&e, EarError::BadClaim { claim: c, .. } if *c == claim),
            "{edit}: {e:?}"
        );
    }
    // Extensions that are maps are kept.
    let (t, jwks) = signed_with(|p| {
        p["submods"]["mock"]["ear.veraison.annotated-evidence"] = json!({"a": 1});
    });
    let ear = verify(&t, &jwks, &opts()).unwrap();
    assert_eq!(
        ear.submods["mock"].extensions["ear.veraison.annotated-evidence"],
        json!({"a": 1})
    );
    // Issuing needs a submod, with unique non-empty names.
    let iss = issuer(Alg::Es256);
    assert!(matches!(
        iss.issue(EarRequest::new(), now()),
        Err(EarError::Misuse { .. })
    ));
    let r = EarRequest::new().with_submod("tdx", submod()).unwrap();
    assert!(matches!(
        r.with_submod("tdx", submod()),
        Err(EarError::Misuse { .. })
    ));
    assert!(matches!(
        EarRequest::new().with_submod("", submod()),
        Err(EarError::Misuse { .. })
    ));
}

#[test]
fn key_rotation_by_kid() {
    let a = SigningKey::generate(Alg::Es384)
        .unwrap()
        .with_kid("2025-01");
    let b = SigningKey::generate(Alg::Es256)
        .unwrap()
        .with_kid("2025-02");
    let mut iss = Issuer::new(SignerSet::new(a));
    let old = iss.issue(request(), now()).unwrap();
    iss.signers_mut().rotate(b).unwrap();
    let new = iss.issue(request(), now()).unwrap();
    let jwks = iss.signers().jwks();
    let kids: Vec<_> = jwks.keys.iter().map(|k| k.kid.clone().unwrap()).collect();
    assert_eq!(kids, ["2025-02", "2025-01"], "current key first");
    assert_eq!(parts(&new).0["kid"], "2025-02");
    assert_eq!(parts(&new).0["alg"], "ES256");
    assert!(verify(&old, &jwks, &opts()).is_ok_and(|e| e.iat == NOW));
    assert!(verify(&new, &jwks, &opts()).is_ok_and(|e| e.iat == NOW));
    // A kid cannot be reused.
    let again = SigningKey::generate(Alg::Es256)
        .unwrap()
        .with_kid("2025-01");
    assert!(matches!(
        iss.signers_mut().rotate(again),
        Err(EarError::Misuse { .. })
    ));
    // Retired keys are dropped once their tokens have expired.
    assert!(iss.signers_mut().drop_retired("2025-01"));
    assert!(!iss.signers_mut().drop_retired("2025-01"));
    let jwks = iss.signers().jwks();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(
        verify(&old, &jwks, &opts()),
        Err(EarError::UnknownKey {
            kid: Some("2025-01".into())
        })
    );
}

#[test]
fn jwks_json_round_trip_and_rejections() {
    let a = SigningKey::generate(Alg::Es384).unwrap();
    let set = SignerSet::new(a.clone())
        .with_retired(
            SigningKey::generate(Alg::Es256)
                .unwrap()
                .with_kid("old")
                .public_jwk(),
        )
        .unwrap();
    let json = set.jwks().to_json();
    let v: Value = serde_json::from_str(&json).unwrap();
    let k0 = &v["keys"][0];
    assert_eq!(k0["kty"], "EC");
    assert_eq!(k0["crv"], "P-384");
    assert_eq!(k0["alg"], "ES384");
    assert_eq!(k0["use"], "sig");
    assert_eq!(k0["kid"], a.kid());
    assert_eq!(B64.decode(k0["x"].as_str().unwrap()).unwrap().len(), 48);
    assert!(k0.get("d").is_none());
    // The default kid is the RFC 7638 thumbprint.
    assert_eq!(a.kid(), a.public_jwk().thumbprint());
    assert_eq!(Jwks::from_json(json.as_bytes()).unwrap(), set.jwks());

    let jwk = serde_json::to_value(a.public_jwk()).unwrap();
    let with = |k: &str, v: Value| {
        let mut j = jwk.clone();
        j[k] = v;
        json!({"keys": [j]}).to_string()
    };
    let x = jwk["x"].as_str().unwrap();
    let mut off_curve = B64.decode(jwk["y"].as_str().unwrap()).unwrap();
    off_curve[47] ^= 1;
    for (doc, what) in [
        (with("d", "AAAA".into()), "private key"),
        (with("alg", "ES256".into()), "alg/crv mismatch"),
        (with("crv", "P-521".into()), "curve"),
        (with("use", "enc".into()), "use"),
        (with("key_ops", json!(["sign"])), "key_ops"),
        (with("y", B64.encode(off_curve).into()), "off curve"),
        (with("x", x[..x.len() - 2].into()), "short x"),
        (with("x", 5.into()), "x type"),
        (json!({"keys": [jwk, jwk]}).to_string(), "duplicate kid"),
        (json!({"keys": 1}).to_string(), "keys type"),
        (json!({"nope": []}).to_string(), "no keys"),
        ("{".into(), "json"),
    ] {
        let e = Jwks::from_json(doc.as_bytes()).unwrap_err();
        assert!(
            matches!(
                e,
                EarError::BadKey { .. } | EarError::Malformed { .. } | EarError::Misuse { .. }
            ),
            "{what}: {e:?}"
        );
    }
    // Keys of other types are left out; a lone JWK is a set of one.
    let mixed = json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}, {"kty": "oct", "k": "c2VjcmV0"}, jwk]});
    assert_eq!(
        Jwks::from_json(mixed.to_string().as_bytes())
            .unwrap()
            .keys
            .len(),
        1
    );
    assert_eq!(
        Jwks::from_json(jwk.to_string().as_bytes())
            .unwrap()
            .keys
            .len(),
        1
    );
    assert!(matches!(
        Jwks::from_json(&vec![b' '; tee_ear::MAX_JWKS_LEN + 1]),
        Err(EarError::TooLarge { .. })
    ));
}

#[test]
fn pem_keys() {
    for alg in [Alg::Es256, Alg::Es384] {
        let k = SigningKey::generate(alg).unwrap();
        let pem = k.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(back.alg(), alg);
        assert_eq!(back.public_jwk(), k.public_jwk());
        // Debug never shows the secret.
        let dbg = format!("{k:?}");
        assert!(
            dbg.contains(k.kid()) && !dbg.contains(&pem[30..60]),
            "{dbg}"
        );
    }
    // SEC1 (`openssl ecparam -genkey`): a P-256 key made here with p256.
    let sec1 = p256::SecretKey::from_bytes(&[7u8; 32].into())
        .unwrap()
        .to_sec1_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    assert_eq!(SigningKey::from_pem(&sec1).unwrap().alg(), Alg::Es256);
    for bad in [
        "",
        "garbage",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    ] {
        assert!(
            matches!(SigningKey::from_pem(bad), Err(EarError::BadKey { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        SigningKey::from_pem(&"A".repeat(tee_ear::MAX_PEM_LEN + 1)),
        Err(EarError::BadKey { .. })
    ));
}

#[test]
fn errors_convert_by_variant() {
    use tee_core::{Authenticity, Error};
    let e: Error = EarError::BadSignature.into();
    assert!(matches!(
        e,
        Error::Authenticity(Authenticity::BadSignature { .. })
    ));
    let e: Error = EarError::Expired {
        exp: 1,
        at: 2,
        leeway: 0,
    }
    .into();
    assert!(matches!(
        e,
        Error::Authenticity(Authenticity::Expired {
            not_after: 1,
            at: 2,
            ..
        })
    ));
    let e: Error = EarError::NonceMismatch.into();
    assert!(matches!(
        e,
        Error::Authenticity(Authenticity::Mismatch { .. })
    ));
    let e: Error = EarError::TooLarge { len: 2, max: 1 }.into();
    assert!(matches!(e, Error::Malformed(_)));
    let e: Error = EarError::NonceNotConfigured.into();
    assert!(matches!(e, Error::Misuse(_)));
    let e: Error = EarError::UnsupportedAlgorithm { alg: "none".into() }.into();
    assert!(matches!(e, Error::Authenticity(Authenticity::Other { .. })));
    // std Error.
    let boxed: Box<dyn std::error::Error> = Box::new(EarError::MissingNonce);
    assert!(boxed.to_string().contains("eat_nonce"));
}

#[test]
fn jwk_struct_is_usable() {
    let k = SigningKey::generate(Alg::Es256).unwrap();
    let j: Jwk = k.public_jwk();
    assert_eq!(j.algorithm().unwrap(), Alg::Es256);
}

fn cryptos() -> Vec<tee_ear::Crypto> {
    #[allow(unused_mut)]
    let mut v = vec![tee_ear::Crypto::RustCrypto];
    #[cfg(feature = "aws-lc")]
    v.push(tee_ear::Crypto::AwsLc);
    v
}

/// Every implementation signs tokens every implementation verifies (same
/// JWS bytes format), and every implementation rejects the same forgeries:
/// tampered payload, flipped signature bits, `r`/`s` zero or not below the
/// group order, `s` and `r` swapped, another key.
#[test]
fn every_crypto_signs_and_verifies_for_every_other() {
    for alg in [Alg::Es256, Alg::Es384] {
        let n = alg.field_len();
        for signer in cryptos() {
            let key = SigningKey::generate(alg)
                .unwrap()
                .with_kid("k")
                .with_crypto(signer)
                .unwrap();
            assert_eq!(key.crypto(), signer);
            let iss = Issuer::new(SignerSet::new(key));
            let jwks = iss.signers().jwks();
            let token = iss.issue(request(), now()).unwrap();
            let p: Vec<&str> = token.split('.').collect();
            let (_, _, sig) = parts(&token);
            assert_eq!(sig.len(), 2 * n, "{signer}: raw r||s");
            let mut forged = Vec::new();
            let (_, mut payload, _) = parts(&token);
            payload["submods"]["mock"]["ear.status"] = "affirming".into();
            forged.push(format!(
                "{}.{}.{}",
                p[0],
                B64.encode(payload.to_string()),
                p[2]
            ));
            let with_sig = |s: &[u8]| format!("{}.{}.{}", p[0], p[1], B64.encode(s));
            for i in [0, n - 1, n, 2 * n - 1] {
                let mut s = sig.clone();
                s[i] ^= 0x01;
                forged.push(with_sig(&s));
            }
            let mut swapped = sig[n..].to_vec();
            swapped.extend_from_slice(&sig[..n]);
            forged.push(with_sig(&swapped));
            for (lo, hi) in [(0, n), (n, 2 * n)] {
                for fill in [0x00, 0xff] {
                    let mut s = sig.clone();
                    s[lo..hi].fill(fill);
                    forged.push(with_sig(&s));
                }
            }
            forged.push(
                Issuer::new(SignerSet::new(
                    SigningKey::generate(alg).unwrap().with_kid("k"),
                ))
                .issue(request(), now())
                .unwrap(),
            );
            for verifier in cryptos() {
                let o = opts().with_crypto(verifier);
                let ear = verify(&token, &jwks, &o).unwrap();
                assert_eq!(ear, iss.claims(request(), now()).unwrap());
                for (i, f) in forged.iter().enumerate() {
                    assert_eq!(
                        verify(f, &jwks, &o),
                        Err(EarError::BadSignature),
                        "{alg} signed by {signer}, verified by {verifier}, forgery {i}"
                    );
                }
            }
        }
    }
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_keys_keep_their_identity() {
    let pem = SigningKey::generate(Alg::Es256)
        .unwrap()
        .to_pkcs8_pem()
        .unwrap();
    let rc = SigningKey::from_pem(&pem).unwrap();
    let lc = SigningKey::from_pem(&pem)
        .unwrap()
        .with_crypto(tee_ear::Crypto::AwsLc)
        .unwrap();
    assert_eq!(lc.kid(), rc.kid());
    assert_eq!(lc.public_jwk(), rc.public_jwk());
    assert_eq!(*lc.to_pkcs8_pem().unwrap(), *pem);
    assert!(format!("{lc:?}").contains("AwsLc"));
    let back = lc.with_crypto(tee_ear::Crypto::RustCrypto).unwrap();
    assert_eq!(back.crypto(), tee_ear::Crypto::RustCrypto);
}

#[test]
fn payload_is_the_claims_set_and_no_member_is_written_twice() {
    // Extensions named like the submod's own members: the members win, and
    // the payload never carries a key twice (a parser would pick either).
    let mut sm = submod();
    for k in [
        "ear.status",
        "ear.trustworthiness-vector",
        "ear.appraisal-policy-id",
        "tee-sdk.claims",
    ] {
        sm.extensions.insert(k.into(), json!({"forged": true}));
    }
    sm.extensions.insert("x-ext".into(), json!({"kept": 1}));
    let req = EarRequest::new()
        .with_nonce(NONCE)
        .unwrap()
        .with_submod("mock", sm)
        .unwrap();
    let iss = issuer(Alg::Es256);
    let ear = iss.claims(req, now()).unwrap();
    let token = iss.sign(&ear).unwrap();
    let payload = B64.decode(token.split('.').nth(1).unwrap()).unwrap();
    let text = String::from_utf8(payload).unwrap();
    for k in [
        "\"ear.status\"",
        "\"ear.trustworthiness-vector\"",
        "\"ear.appraisal-policy-id\"",
        "\"tee-sdk.claims\"",
        "\"x-ext\"",
    ] {
        assert_eq!(text.matches(k).count(), 1, "{k} in {text}");
    }
    assert!(!text.contains("forged"), "{text}");
    // The signed bytes are the claims set `to_json` gives.
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p, ear.to_json());
    assert_eq!(p["submods"]["mock"]["x-ext"], json!({"kept": 1}));
    assert_eq!(p["submods"]["mock"]["ear.status"], "warning");

    // Without a policy id or claims, extensions of those names are kept
    // (nothing takes their place).
    let mut bare = Submod::new(Status::Affirming);
    bare.extensions
        .insert("tee-sdk.claims".into(), json!({"from": "ext"}));
    let req = EarRequest::new().with_submod("mock", bare).unwrap();
    let j = iss.claims(req, now()).unwrap().to_json();
    assert_eq!(
        j["submods"]["mock"]["tee-sdk.claims"],
        json!({"from": "ext"})
    );
    assert!(j.get("eat_nonce").is_none());
}
