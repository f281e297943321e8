//! The GCE AK certificate with a test PKI (root → intermediate → AK, the
//! instance-identity extension): the happy path and every way it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use p256::ecdsa::SigningKey;
use sha2::{Digest as _, Sha256};
use tee::gcp::{self, OID_GCE_INSTANCE_INFO};
use tee::{Authenticity, Error, UnixTime};
use tee_testpki::der::{bits, ext, int, octets, oid, seq, seq_of, tlv, utc_text, utf8};
use tee_testpki::p256cert::{self, cert, cn, spki};

fn key(label: &str) -> SigningKey {
    p256cert::key("tee gcp test key (NO SECURITY) ", label)
}

const CA: bool = true;

fn instance_info(trailing: bool) -> Vec<u8> {
    let mut props = vec![tlv(0xa0, &int(2)), tlv(0xa1, &tlv(0x01, &[0xff]))];
    if trailing {
        props.push(tlv(0xa2, &tlv(0x01, &[0x00]))); // further fields: accepted
    }
    seq(&[
        &utf8("us-central1-a"),
        &int(123_456_789_012),
        &utf8("my-project"),
        &int(4_242_424_242_424_242),
        &utf8("cvm-1"),
        &tlv(0xa0, &seq_of(&props)),
    ])
}

struct Pki {
    root: Vec<u8>,
    inter: Vec<u8>,
    ak: Vec<u8>,
    ak_key: SigningKey,
}

fn pki() -> Pki {
    let (rk, ik, ak_key) = (key("root"), key("intermediate"), key("ak"));
    let root = cert(
        1,
        "EK/AK CA Root",
        &cn("EK/AK CA Root"),
        &rk,
        &rk,
        CA,
        vec![],
        "491231235959Z",
    );
    let inter = cert(
        2,
        "EK/AK CA Root",
        &cn("EK/AK CA Intermediate"),
        &ik,
        &rk,
        CA,
        vec![],
        "491231235959Z",
    );
    // The AK certificate's subject is empty on GCE.
    let ak = cert(
        3,
        "EK/AK CA Intermediate",
        &seq(&[]),
        &ak_key,
        &ik,
        false,
        vec![ext(OID_GCE_INSTANCE_INFO, &instance_info(true))],
        "491231235959Z",
    );
    Pki {
        root,
        inter,
        ak,
        ak_key,
    }
}

fn at() -> UnixTime {
    UnixTime::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

#[test]
fn a_valid_ak_certificate_gives_the_key_and_the_instance() {
    let p = pki();
    let c = gcp::verify_ak_certificate(&p.ak, &[p.inter.clone()], &p.root, at()).unwrap();
    assert_eq!(c.ak_key_algorithm, "ecdsa-p256");
    assert_eq!(c.ak_public_key, hex::encode(spki(&p.ak_key)));
    assert_eq!(
        c.chain,
        vec!["CN=EK/AK CA Intermediate", "CN=EK/AK CA Root"]
    );
    assert_eq!(c.serial, "03");
    assert_eq!(c.vtpm_trust, "hypervisor");
    let i = c.instance.unwrap();
    assert_eq!(i.zone, "us-central1-a");
    assert_eq!(i.project_number, 123_456_789_012);
    assert_eq!(i.project_id, "my-project");
    assert_eq!(i.instance_id, 4_242_424_242_424_242);
    assert_eq!(i.instance_name, "cvm-1");
    assert_eq!(i.security_version, Some(2));
    assert_eq!(i.is_production, Some(true));
    // PEM input, the chain in one bundle.
    let pem =
        |d: &[u8]| der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, d).unwrap();
    let bundle = format!("{}{}", pem(&p.inter), pem(&p.root));
    let c2 = gcp::verify_ak_certificate(
        pem(&p.ak).as_bytes(),
        &[bundle.into_bytes()],
        pem(&p.root).as_bytes(),
        at(),
    )
    .unwrap();
    assert_eq!(c2.ak_public_key, hex::encode(spki(&p.ak_key)));
    // JSON for claims output.
    let j = serde_json::to_value(&c2).unwrap();
    assert_eq!(j["instance"]["project_id"], "my-project");
}

fn is_chain_err(e: &Error) -> bool {
    matches!(e, Error::Authenticity(Authenticity::BadChain { .. }))
}

#[test]
fn every_broken_chain_is_rejected_with_its_reason() {
    let p = pki();
    // No intermediate: the chain does not reach the root.
    let e = gcp::verify_ak_certificate(&p.ak, &[], &p.root, at()).unwrap_err();
    assert!(is_chain_err(&e), "{e}");
    // Another root of the same name: the signature fails.
    let ok = key("other root");
    let other = cert(
        1,
        "EK/AK CA Root",
        &cn("EK/AK CA Root"),
        &ok,
        &ok,
        CA,
        vec![],
        "491231235959Z",
    );
    let e = gcp::verify_ak_certificate(&p.ak, &[p.inter.clone()], &other, at()).unwrap_err();
    assert!(
        matches!(e, Error::Authenticity(Authenticity::BadSignature { .. })),
        "{e}"
    );
    // The intermediate given as the trust anchor: the caller's anchor
    // decides, so the path ends there.
    let c = gcp::verify_ak_certificate(&p.ak, &[], &p.inter, at()).unwrap();
    assert_eq!(c.chain, vec!["CN=EK/AK CA Intermediate"]);
    // A root of another name.
    let unrelated = cert(
        9,
        "Someone",
        &cn("Someone"),
        &ok,
        &ok,
        CA,
        vec![],
        "491231235959Z",
    );
    let e = gcp::verify_ak_certificate(&p.ak, &[p.inter.clone()], &unrelated, at()).unwrap_err();
    assert!(is_chain_err(&e), "{e}");
    // One flipped byte in the AK certificate's signed part.
    let mut bad = p.ak.clone();
    let i = bad.len() / 2;
    bad[i] ^= 1;
    assert!(gcp::verify_ak_certificate(&bad, &[p.inter.clone()], &p.root, at()).is_err());
    // An intermediate that is not a CA.
    let rk = key("root");
    let ik = key("intermediate");
    let not_ca = cert(
        2,
        "EK/AK CA Root",
        &cn("EK/AK CA Intermediate"),
        &ik,
        &rk,
        false,
        vec![],
        "491231235959Z",
    );
    let e = gcp::verify_ak_certificate(&p.ak, &[not_ca], &p.root, at()).unwrap_err();
    assert!(is_chain_err(&e), "{e}");
    // Time: before and after validity.
    let early = UnixTime::parse_rfc3339("2021-01-01T00:00:00Z").unwrap();
    assert!(matches!(
        gcp::verify_ak_certificate(&p.ak, &[p.inter.clone()], &p.root, early),
        Err(Error::Authenticity(Authenticity::NotYetValid { .. }))
    ));
    let expired = cert(
        3,
        "EK/AK CA Intermediate",
        &seq(&[]),
        &p.ak_key,
        &ik,
        false,
        vec![],
        "250101000000Z",
    );
    assert!(matches!(
        gcp::verify_ak_certificate(&expired, &[p.inter.clone()], &p.root, at()),
        Err(Error::Authenticity(Authenticity::Expired { .. }))
    ));
    // Two roots given: ambiguous, refused.
    let mut two = p.root.clone();
    two.extend_from_slice(&p.root);
    assert!(gcp::verify_ak_certificate(&p.ak, &[p.inter.clone()], &two, at()).is_err());
    // Garbage and oversized input: malformed, no panic.
    assert!(matches!(
        gcp::verify_ak_certificate(b"junk", &[], &p.root, at()),
        Err(Error::Malformed(_))
    ));
    let big = vec![0x30; gcp::MAX_CERT_FILE + 1];
    assert!(matches!(
        gcp::verify_ak_certificate(&big, &[], &p.root, at()),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn the_instance_extension_is_parsed_strictly_and_bounded() {
    let ok = gcp::parse_instance_info(&instance_info(false)).unwrap();
    assert_eq!(ok.instance_name, "cvm-1");
    // Without security properties.
    let bare = seq(&[&utf8("z"), &int(1), &utf8("p"), &int(2), &utf8("n")]);
    let b = gcp::parse_instance_info(&bare).unwrap();
    assert_eq!((b.security_version, b.is_production), (None, None));
    // A field of the wrong type, a negative number, truncation: malformed.
    let wrong = seq(&[&int(1), &int(1), &utf8("p"), &int(2), &utf8("n")]);
    assert!(matches!(
        gcp::parse_instance_info(&wrong),
        Err(Error::Malformed(_))
    ));
    let neg = seq(&[
        &utf8("z"),
        &tlv(0x02, &[0xff]),
        &utf8("p"),
        &int(2),
        &utf8("n"),
    ]);
    assert!(matches!(
        gcp::parse_instance_info(&neg),
        Err(Error::Malformed(_))
    ));
    let full = instance_info(true);
    for n in 0..full.len() {
        assert!(gcp::parse_instance_info(&full[..n]).is_err(), "prefix {n}");
    }
}

/// An RSA chain (as Google's CAs are): root and intermediate RSA, PKCS #1
/// v1.5 with SHA-256, the AK an EC key; a flipped signature byte fails.
#[test]
fn an_rsa_chain_verifies_and_a_bad_rsa_signature_does_not() {
    use rand::SeedableRng as _;
    use rsa::pkcs8::EncodePublicKey as _;
    use rsa::{Pkcs1v15Sign, RsaPrivateKey};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6c0d);
    let rk = RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let ik = RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let ak_key = key("rsa-chain ak");
    let alg = seq(&[&oid("1.2.840.113549.1.1.11"), &[0x05, 0x00]]);
    let prefix: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let sign = |k: &RsaPrivateKey, tbs: &[u8]| {
        let h = Sha256::digest(tbs);
        let scheme = Pkcs1v15Sign {
            hash_len: Some(32),
            prefix: prefix.into(),
        };
        k.sign(scheme, &h).unwrap()
    };
    let ca_ext = seq(&[
        &oid("2.5.29.19"),
        &tlv(0x01, &[0xff]),
        &octets(&seq(&[&tlv(0x01, &[0xff])])),
    ]);
    let mk = |serial: u64,
              issuer: &str,
              subject: &[u8],
              spki: &[u8],
              signer: &RsaPrivateKey,
              exts: Vec<Vec<u8>>| {
        let tbs = seq(&[
            &tlv(0xa0, &int(2)),
            &int(serial),
            &alg,
            &cn(issuer),
            &seq(&[&utc_text("220101000000Z"), &utc_text("491231235959Z")]),
            subject,
            spki,
            &tlv(0xa3, &seq_of(&exts)),
        ]);
        let sig = sign(signer, &tbs);
        seq(&[&tbs, &alg, &bits(&sig)])
    };
    let rsa_spki = |k: &RsaPrivateKey| {
        k.to_public_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec()
    };
    let root = mk(
        1,
        "EK/AK CA Root",
        &cn("EK/AK CA Root"),
        &rsa_spki(&rk),
        &rk,
        vec![ca_ext.clone()],
    );
    let inter = mk(
        2,
        "EK/AK CA Root",
        &cn("EK/AK CA Intermediate"),
        &rsa_spki(&ik),
        &rk,
        vec![ca_ext],
    );
    let ak = mk(
        3,
        "EK/AK CA Intermediate",
        &seq(&[]),
        &spki(&ak_key),
        &ik,
        vec![ext(OID_GCE_INSTANCE_INFO, &instance_info(false))],
    );
    let c = gcp::verify_ak_certificate(&ak, &[inter.clone()], &root, at()).unwrap();
    assert_eq!(c.chain.len(), 2);
    assert_eq!(c.instance.unwrap().project_id, "my-project");
    let mut bad = ak.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(
        gcp::verify_ak_certificate(&bad, &[inter], &root, at()),
        Err(Error::Authenticity(Authenticity::BadSignature { .. }))
    ));
}

#[test]
fn the_ak_binding_rule_binds_this_ak_and_this_nonce_only() {
    use sha2::Sha512;
    let p = pki();
    let c = gcp::verify_ak_certificate(&p.ak, &[p.inter.clone()], &p.root, at()).unwrap();
    let ak_spki = spki(&p.ak_key);
    assert_eq!(c.ak_spki_der(), &ak_spki[..]);
    let h = Sha512::digest(&ak_spki);
    assert_eq!(c.ak_public_key_sha512, hex::encode(h));
    let nonce = b"verifier nonce";
    let rd = tee::ReportData::bind(nonce, &h);
    assert_eq!(gcp::ak_report_data(nonce, &ak_spki), rd);
    assert_eq!(c.bound_report_data(nonce), rd);
    assert!(c.binds(&rd, nonce));
    // Another nonce, the nonce alone, or another AK: not bound.
    assert!(!c.binds(&rd, b"other nonce"));
    assert!(!c.binds(&tee::ReportData::bind(nonce, b""), nonce));
    let other = spki(&key("another ak"));
    assert!(!c.binds(&gcp::ak_report_data(nonce, &other), nonce));
    // The SPKI itself is not in the JSON twice; its hash is.
    let j = serde_json::to_value(&c).unwrap();
    assert_eq!(j["ak_public_key_sha512"], hex::encode(h));
    assert!(j.get("ak_spki").is_none());
}
