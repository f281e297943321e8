//! The RA-TLS encoding against the facts of the CCC format (the byte
//! prefixes seen on the rats-tls test certificate), round trips, the key
//! binding with a real (mock) attestation, and every refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tee_core::{Backend, ReportData, UnixTime, Verifier};
use tee_ratls::{
    BindingError, CborError, ClaimsBuffer, EvidenceTag, HashAlg, check_binding, decode_extension,
    encode_extension, report_data_for,
};

const SPKI: &[u8] = b"\x30\x59\x30\x13 a DER SubjectPublicKeyInfo stand-in";

#[test]
fn the_encoding_matches_the_ccc_format() {
    let claims = ClaimsBuffer::for_key(SPKI, HashAlg::Sha256, None).encode();
    // {"pubkey-hash": h'82 01 5820 <32 bytes>'}
    assert_eq!(&claims[..13], b"\xa1\x6bpubkey-hash");
    assert_eq!(&claims[13..18], &[0x58, 0x24, 0x82, 0x01, 0x58]);
    assert_eq!(claims[18], 0x20);
    // A 4734-byte quote under tag 60000: d9ea60 82 59127e …
    let quote = vec![0xAB; 4734];
    let ext = encode_extension(EvidenceTag::IntelQuote, &quote, &claims);
    assert_eq!(hex::encode(&ext[..7]), "d9ea608259127e");
    let d = decode_extension(&ext).unwrap();
    assert_eq!(
        (d.tag, d.evidence, d.claims_buffer),
        (EvidenceTag::IntelQuote, &quote[..], &claims[..])
    );
    // SNP under the rats-rs private tag.
    let ext = encode_extension(EvidenceTag::SevSnpReport, &[1; 1184], &claims);
    assert_eq!(hex::encode(&ext[..5]), "da001a7504");
    assert_eq!(
        decode_extension(&ext).unwrap().tag,
        EvidenceTag::SevSnpReport
    );
    let rd = report_data_for(&claims);
    assert_eq!(rd.as_bytes()[32..], [0u8; 32]);
}

#[test]
fn claims_round_trip_and_ignore_other_keys() {
    for alg in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
        for nonce in [None, Some(&b"fresh"[..])] {
            let c = ClaimsBuffer::for_key(SPKI, alg, nonce);
            assert_eq!(ClaimsBuffer::parse(&c.encode()).unwrap(), c);
        }
    }
    // rats-tls adds key_0, key_1; they are ignored.
    let c = ClaimsBuffer::for_key(SPKI, HashAlg::Sha384, None);
    let enc = c.encode();
    let mut with_more = vec![0xa3];
    with_more.extend_from_slice(&enc[1..]);
    with_more.extend_from_slice(b"\x65key_0\x43abc\x65key_1\x82\x01\xa1\x61x\x00");
    assert_eq!(ClaimsBuffer::parse(&with_more).unwrap(), c);
}

#[test]
fn refusals() {
    let c = ClaimsBuffer::for_key(SPKI, HashAlg::Sha256, Some(b"n"));
    let claims = c.encode();
    let ext = encode_extension(EvidenceTag::IntelQuote, b"quote", &claims);
    // Every truncation fails, never panics.
    for n in 0..ext.len() {
        assert!(decode_extension(&ext[..n]).is_err(), "{n}");
    }
    for n in 0..claims.len() {
        assert!(ClaimsBuffer::parse(&claims[..n]).is_err(), "{n}");
    }
    let mut trailing = ext.clone();
    trailing.push(0);
    assert_eq!(
        decode_extension(&trailing),
        Err(CborError::Invalid("trailing bytes"))
    );
    // Not tagged; indefinite length; a length past the end.
    assert!(decode_extension(&ext[3..]).is_err());
    assert!(decode_extension(b"\xd9\xea\x60\x9f\x40\x40\xff").is_err());
    assert!(decode_extension(b"\xd9\xea\x60\x82\x5b\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    // No pubkey-hash, an unknown algorithm, a hash of the wrong length.
    assert!(ClaimsBuffer::parse(b"\xa1\x65nonce\x41\x00").is_err());
    let mut bad = claims.clone();
    let at = bad.windows(2).position(|w| w == [0x82, 0x01]).unwrap();
    bad[at + 1] = 0x09;
    assert!(ClaimsBuffer::parse(&bad).is_err());
    // Deep nesting in an ignored value.
    let mut deep = b"\xa2\x61x".to_vec();
    deep.extend(std::iter::repeat_n(0x81, 40));
    deep.push(0);
    deep.extend_from_slice(&claims[1..]);
    assert!(ClaimsBuffer::parse(&deep).is_err());
}

#[test]
fn binding_with_a_mock_attestation() {
    let backend = tee_mock::MockBackend::new();
    let claims = ClaimsBuffer::for_key(SPKI, HashAlg::Sha256, Some(b"verifier nonce")).encode();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&report_data_for(&claims))
        .unwrap();
    let verified = tee_mock::MockVerifier::trusting_mock_root()
        .verify(&ev, UnixTime::from_secs(1_750_000_000))
        .unwrap();
    let rd = verified.report_data;
    let c = check_binding(&rd, &claims, SPKI, Some(b"verifier nonce")).unwrap();
    assert_eq!(c.nonce.as_deref(), Some(&b"verifier nonce"[..]));
    assert!(check_binding(&rd, &claims, SPKI, None).is_ok());
    // Another key: not bound.
    assert_eq!(
        check_binding(&rd, &claims, b"another SPKI", None),
        Err(BindingError::KeyNotBound)
    );
    // Another nonce.
    assert_eq!(
        check_binding(&rd, &claims, SPKI, Some(b"other")),
        Err(BindingError::Nonce)
    );
    // A tampered claims buffer (the hash no longer matches the report data).
    let mut t = claims.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert_eq!(
        check_binding(&rd, &t, SPKI, None),
        Err(BindingError::ReportData)
    );
    // Evidence over other report data.
    assert_eq!(
        check_binding(&ReportData::zero(), &claims, SPKI, None),
        Err(BindingError::ReportData)
    );
}
