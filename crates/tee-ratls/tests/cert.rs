//! Attested certificates without TLS: what `issue` writes (X.509 fields,
//! extensions, keys), CA-signed certificates, the evidence encodings
//! (including a real TDX quote from the shared vectors), and every refusal
//! of the certificate verifier.
#![cfg(feature = "cert")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use der::{Decode as _, Encode as _};
use tee::Verifiers;
use tee_core::evidence::{endorsement, format};
use tee_core::{Backend, Error, Evidence, Platform, Policy, UnixTime};
use tee_mock::MockBackend;
use tee_ratls::{
    BindingError, CaIssuer, CborError, CertKey, CertOptions, EvidenceEncoding, EvidenceTag,
    HashAlg, KeyAlg, MAX_CERTIFICATE, OID_EVIDENCE, RaTlsCertificate, RaTlsError, RawExtension,
    SDK_ENVELOPE_TAG, attest_key, build_certificate, decode_evidence, encode_evidence,
    encode_extension, issue, pem_certificate, verify_certificate,
};

const T0: u64 = 1_750_000_000;

fn at(s: u64) -> UnixTime {
    UnixTime::from_secs(s)
}

fn mock_policy(b: &MockBackend) -> Policy {
    Policy::new()
        .allow_mock(true)
        .allow_measurement(b.measurement())
}

fn mock_verifiers() -> Verifiers {
    Verifiers::empty().trust_mock_root()
}

#[test]
fn issued_certificates_are_x509_v3_with_the_extension_non_critical() {
    let b = MockBackend::new();
    for alg in [KeyAlg::P256, KeyAlg::P384] {
        let opts = CertOptions::new()
            .key_alg(alg)
            .lifetime(Duration::from_secs(900))
            .common_name("echo.example")
            .dns_name("echo.example");
        let c = issue(b.attester().unwrap(), &opts, at(T0)).unwrap();
        assert_eq!((c.not_before, c.not_after), (at(T0 - 60), at(T0 + 900)));
        let x = x509_cert::Certificate::from_der(&c.cert_der).unwrap();
        let tbs = x.tbs_certificate();
        assert_eq!(tbs.version(), x509_cert::Version::V3);
        assert_eq!(tbs.subject().to_string(), "CN=echo.example");
        assert_eq!(tbs.issuer(), tbs.subject(), "self-signed");
        let oids: Vec<(String, bool)> = tbs
            .extensions()
            .unwrap()
            .iter()
            .map(|e| (e.extn_id.to_string(), e.critical))
            .collect();
        assert_eq!(
            oids,
            [
                ("2.5.29.19".to_string(), true),
                ("2.5.29.15".to_string(), true),
                ("2.5.29.37".to_string(), false),
                ("2.5.29.17".to_string(), false),
                (OID_EVIDENCE.to_string(), false),
            ]
        );
        let spki = tbs.subject_public_key_info().to_der().unwrap();
        assert_eq!(spki, c.key.spki_der().unwrap());
        // The decoded certificate carries exactly what was attested.
        let d = RaTlsCertificate::from_der(&c.cert_der).unwrap();
        assert_eq!(d.spki_der, spki);
        assert!(!d.critical);
        assert_eq!(d.tag.value(), SDK_ENVELOPE_TAG);
        assert_eq!(d.claims_buffer, c.extension.claims_buffer);
        assert_eq!(d.decoded_evidence().unwrap(), c.extension.evidence);
        // PEM round trip, and the key's PKCS#8 PEM.
        let pem = c.cert_pem().unwrap();
        assert_eq!(pem_certificate(pem.as_bytes()).unwrap(), c.cert_der);
        assert_eq!(RaTlsCertificate::from_pem(pem.as_bytes()).unwrap(), d);
        let k = CertKey::from_pkcs8_pem(&c.key.to_pkcs8_pem().unwrap()).unwrap();
        assert_eq!((k.alg(), k.spki_der().unwrap()), (alg, spki));
        // Verified, bound, appraised.
        let p = verify_certificate(
            &c.cert_der,
            &mock_verifiers(),
            &mock_policy(&b),
            None,
            at(T0),
        )
        .unwrap();
        assert!(p.appraisal.passed());
        assert_eq!(p.claims.platform, Platform::Mock);
    }
}

#[test]
fn a_ca_signed_certificate_names_its_issuer_and_verifies() {
    let b = MockBackend::new();
    let ca_key = CertKey::generate(KeyAlg::P384).unwrap();
    let (ca_der, _, _) = build_certificate(
        &ca_key,
        &[],
        &CertOptions::new().common_name("Test CA"),
        at(T0),
    )
    .unwrap();
    let issuer = CaIssuer::new(ca_key.clone(), &ca_der).unwrap();
    let c = issue(
        b.attester().unwrap(),
        &CertOptions::new().issuer(issuer),
        at(T0),
    )
    .unwrap();
    let x = x509_cert::Certificate::from_der(&c.cert_der).unwrap();
    assert_eq!(x.tbs_certificate().issuer().to_string(), "CN=Test CA");
    assert_eq!(
        x.signature_algorithm().oid.to_string(),
        "1.2.840.10045.4.3.3",
        "signed by the P-384 CA key"
    );
    assert!(
        verify_certificate(
            &c.cert_der,
            &mock_verifiers(),
            &mock_policy(&b),
            None,
            at(T0)
        )
        .is_ok()
    );
    // A CA key that is not the CA certificate's.
    let other = CertKey::generate(KeyAlg::P384).unwrap();
    assert!(matches!(
        CaIssuer::new(other, &ca_der),
        Err(RaTlsError::Key(_))
    ));
    assert!(matches!(
        CaIssuer::new(ca_key, b"not a certificate"),
        Err(RaTlsError::Certificate(_))
    ));
}

#[test]
fn evidence_encodings() {
    let b = MockBackend::new();
    let mock = b
        .attester()
        .unwrap()
        .attest(&tee_core::ReportData::zero())
        .unwrap();
    // The mock has no interoperable tag.
    assert!(matches!(
        encode_evidence(&mock, EvidenceEncoding::Interoperable),
        Err(RaTlsError::NoInteroperableTag(Platform::Mock))
    ));
    let (tag, bytes) = encode_evidence(&mock, EvidenceEncoding::Auto).unwrap();
    assert_eq!(tag.value(), SDK_ENVELOPE_TAG);
    assert_eq!(decode_evidence(tag, &bytes).unwrap(), mock);
    // A bare TDX quote: tag 60000, the quote as is; with an endorsement the
    // automatic choice keeps it in the envelope.
    let q = Evidence::new(Platform::Tdx, format::TDX_QUOTE, vec![4, 0, 2, 0]);
    assert_eq!(
        encode_evidence(&q, EvidenceEncoding::Auto).unwrap(),
        (EvidenceTag::IntelQuote, vec![4, 0, 2, 0])
    );
    let with = q
        .clone()
        .with_endorsement(endorsement::TDX_COLLATERAL_JSON, b"{}".to_vec());
    assert_eq!(
        encode_evidence(&with, EvidenceEncoding::Auto)
            .unwrap()
            .0
            .value(),
        SDK_ENVELOPE_TAG
    );
    assert_eq!(
        encode_evidence(&with, EvidenceEncoding::Interoperable).unwrap(),
        (EvidenceTag::IntelQuote, vec![4, 0, 2, 0])
    );
    assert_eq!(
        decode_evidence(EvidenceTag::IntelQuote, &[4, 0, 2, 0]).unwrap(),
        q
    );
    let snp = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, vec![7; 8]);
    assert_eq!(
        encode_evidence(&snp, EvidenceEncoding::Auto).unwrap().0,
        EvidenceTag::SevSnpReport
    );
    assert_eq!(
        decode_evidence(EvidenceTag::SevSnpReport, &[7; 8]).unwrap(),
        snp
    );
    // Tags this SDK does not verify; an envelope that is not JSON.
    for t in [EvidenceTag::IntelReport, EvidenceTag::Other(0xC0C000)] {
        assert!(matches!(
            decode_evidence(t, b"x"),
            Err(RaTlsError::UnsupportedEvidence(u)) if u == t
        ));
    }
    assert!(matches!(
        decode_evidence(EvidenceTag::from_value(SDK_ENVELOPE_TAG), b"{"),
        Err(RaTlsError::Evidence(Error::Malformed(_)))
    ));
}

#[test]
fn certificate_refusals() {
    let b = MockBackend::new();
    let key = CertKey::generate(KeyAlg::P256).unwrap();
    let opts = CertOptions::new();
    let ext = attest_key(b.attester().unwrap(), &key.spki_der().unwrap(), &opts).unwrap();
    let cert = |exts: &[RawExtension]| build_certificate(&key, exts, &opts, at(T0)).unwrap().0;
    let parse = |der: &[u8]| RaTlsCertificate::from_der(der).map(|_| ());

    assert!(matches!(
        parse(b"\x30\x03\x02\x01\x00"),
        Err(RaTlsError::Certificate(_))
    ));
    assert!(matches!(
        parse(&vec![0x30; MAX_CERTIFICATE + 1]),
        Err(RaTlsError::Certificate(_))
    ));
    let good = cert(&[RawExtension::evidence(ext.value.clone())]);
    for n in [0, 1, good.len() / 2, good.len() - 1] {
        assert!(
            matches!(parse(&good[..n]), Err(RaTlsError::Certificate(_))),
            "{n}"
        );
    }
    assert!(matches!(
        parse(&cert(&[])),
        Err(RaTlsError::MissingExtension)
    ));
    // Another OID is not the evidence.
    assert!(matches!(
        parse(&cert(&[RawExtension::new(
            "1.2.840.113741.1.13.1",
            ext.value.clone()
        )])),
        Err(RaTlsError::MissingExtension)
    ));
    assert!(matches!(
        parse(&cert(&[
            RawExtension::evidence(ext.value.clone()),
            RawExtension::evidence(ext.value.clone())
        ])),
        Err(RaTlsError::DuplicateExtension)
    ));
    assert!(matches!(
        parse(&cert(&[RawExtension::evidence(
            ext.value[..ext.value.len() - 1].to_vec()
        )])),
        Err(RaTlsError::Extension(CborError::Truncated))
    ));
    // Validity: before notBefore, after notAfter.
    let d = RaTlsCertificate::from_der(&good).unwrap();
    let v = mock_verifiers();
    let p = mock_policy(&b);
    assert!(matches!(
        d.verify(&v, &p, None, at(T0 - 61)),
        Err(RaTlsError::NotYetValid { .. })
    ));
    assert!(matches!(
        d.verify(&v, &p, None, at(T0 + 3601)),
        Err(RaTlsError::Expired { .. })
    ));
    assert!(d.verify(&v, &p, None, at(T0 + 3600)).is_ok());
    // No verifier for the platform (mock root not trusted): unsupported,
    // never handed to another verifier.
    assert!(matches!(
        d.verify(&Verifiers::empty(), &p, None, at(T0)),
        Err(RaTlsError::Evidence(Error::Unsupported(_)))
    ));
    // The default mock verifier does not trust the mock root.
    assert!(matches!(
        d.verify(&Verifiers::new(), &p, None, at(T0)),
        Err(RaTlsError::Evidence(Error::Authenticity(_)))
    ));
    // A claims buffer that does not parse, bound by the report data.
    let claims = b"\xa1\x65nonce\x41\x00".to_vec();
    let ev = b
        .attester()
        .unwrap()
        .attest(&tee_ratls::report_data_for(&claims))
        .unwrap();
    let (tag, bytes) = encode_evidence(&ev, EvidenceEncoding::Auto).unwrap();
    let bad = cert(&[RawExtension::evidence(encode_extension(
        tag, &bytes, &claims,
    ))]);
    assert!(matches!(
        verify_certificate(&bad, &v, &p, None, at(T0)),
        Err(RaTlsError::Binding(BindingError::Claims(_)))
    ));
    // A policy's own report_data is replaced by the binding.
    let with_rd = mock_policy(&b).expect_report_data(tee_core::ReportData::zero());
    assert!(d.verify(&v, &with_rd, None, at(T0)).is_ok());
    // Bad options.
    assert!(matches!(
        build_certificate(&key, &[], &CertOptions::new().common_name("a,b"), at(T0)),
        Err(RaTlsError::Encoding(_))
    ));
    assert!(matches!(
        build_certificate(
            &key,
            &[RawExtension::new("not an oid", vec![])],
            &opts,
            at(T0)
        ),
        Err(RaTlsError::Encoding(_))
    ));
    assert!(matches!(
        pem_certificate(b"no pem here"),
        Err(RaTlsError::Certificate(_))
    ));
    assert!(matches!("p521".parse::<KeyAlg>(), Err(RaTlsError::Key(_))));
    assert!(matches!(
        CertKey::from_pkcs8_pem("garbage"),
        Err(RaTlsError::Key(_))
    ));
    assert!(matches!(
        CertKey::from_pkcs8_der(b"garbage"),
        Err(RaTlsError::Key(_))
    ));
}

#[test]
fn the_attester_failing_is_an_attest_error() {
    let b = MockBackend::new();
    b.inject_fault(tee_mock::Fault::Busy);
    assert!(matches!(
        issue(b.attester().unwrap(), &CertOptions::new(), at(T0)),
        Err(RaTlsError::Attest(Error::Device(_)))
    ));
}

/// A real TDX quote (dcap-qvl, with its collateral) in an RA-TLS
/// certificate: its evidence is authentic, but its report data is not the
/// binding of this certificate's claims, so it is refused at the binding,
/// in both encodings.
#[test]
fn a_real_tdx_quote_is_authentic_but_not_bound() {
    let Some(v) =
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    else {
        return;
    };
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let collateral = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let when = UnixTime::parse_rfc3339("2025-07-01T00:00:00Z").unwrap();
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote.clone())
        .with_endorsement(endorsement::TDX_COLLATERAL_JSON, collateral.clone());
    let key = CertKey::generate(KeyAlg::P256).unwrap();
    let claims =
        tee_ratls::ClaimsBuffer::for_key(&key.spki_der().unwrap(), HashAlg::Sha256, None).encode();
    let opts = CertOptions::new().lifetime(Duration::from_secs(86_400));
    for (encoding, verifiers) in [
        (
            EvidenceEncoding::Auto,
            Verifiers::empty().with(Box::new(tee::tdx::TdxVerifier::new())),
        ),
        (
            EvidenceEncoding::Interoperable,
            Verifiers::empty()
                .with(Box::new(tee::tdx::TdxVerifier::new().with_collateral(
                    tee::tdx::Collateral::from_json(&collateral).unwrap(),
                ))),
        ),
    ] {
        let (tag, bytes) = encode_evidence(&ev, encoding).unwrap();
        let value = encode_extension(tag, &bytes, &claims);
        if encoding == EvidenceEncoding::Interoperable {
            assert_eq!(tag, EvidenceTag::IntelQuote);
            assert_eq!(bytes, quote);
            assert_eq!(&value[..3], b"\xd9\xea\x60");
        }
        let (der, _, _) =
            build_certificate(&key, &[RawExtension::evidence(value)], &opts, when).unwrap();
        let policy = Policy::new().allow_any_measurement(true);
        let r = verify_certificate(&der, &verifiers, &policy, None, when);
        assert!(
            matches!(r, Err(RaTlsError::Binding(BindingError::ReportData))),
            "{encoding:?}: {r:?}"
        );
        // Without collateral the raw quote is not verified.
        if encoding == EvidenceEncoding::Interoperable {
            let none = Verifiers::empty().with(Box::new(tee::tdx::TdxVerifier::new()));
            let r = verify_certificate(&der, &none, &policy, None, when);
            assert!(matches!(r, Err(RaTlsError::Evidence(_))), "{r:?}");
        }
    }
}

/// Every single-byte change of a certificate is refused or harmless, never
/// a panic; inside the key or the evidence extension every one is refused.
#[test]
fn every_flipped_byte_of_the_key_or_extension_is_refused() {
    let b = MockBackend::new();
    let c = issue(b.attester().unwrap(), &CertOptions::new(), at(T0)).unwrap();
    let spki = c.key.spki_der().unwrap();
    let find = |needle: &[u8]| {
        let start = c
            .cert_der
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        start..start + needle.len()
    };
    let (key_range, ext_range) = (find(&spki), find(&c.extension.value));
    let (v, p) = (mock_verifiers(), mock_policy(&b));
    let mut refused = 0;
    for i in 0..c.cert_der.len() {
        let mut m = c.cert_der.clone();
        m[i] ^= 0xFF;
        let r = verify_certificate(&m, &v, &p, None, at(T0));
        if key_range.contains(&i) || ext_range.contains(&i) {
            assert!(r.is_err(), "byte {i} flipped was accepted");
        }
        refused += usize::from(r.is_err());
    }
    assert!(refused >= key_range.len() + ext_range.len());
}
