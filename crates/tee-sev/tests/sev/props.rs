//! No input makes a parser or the verifier panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proptest::prelude::*;
use tee_core::evidence::{endorsement, format};
use tee_core::{Evidence, Platform, UnixTime, Verifier};
use tee_sev::report::{REPORT_LEN, SnpReport};
use tee_sev::{SnpVerifier, cert_table, certs};

fn report_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u8>(), REPORT_LEN..=REPORT_LEN),
        0u32..8,
        prop::collection::vec(0usize..REPORT_LEN, 0..4),
    )
        .prop_map(|(mut b, v, zeros)| {
            // Mostly-valid shapes reach deeper code: a plausible version and
            // zeroed reserved areas.
            b[..4].copy_from_slice(&v.to_le_bytes());
            for r in [0x4C..0x50, 0x18B..0x1A0, 0x208..0x2A0, 0x330..REPORT_LEN] {
                b[r].fill(0);
            }
            b[0x48..0x4C].copy_from_slice(&0u32.to_le_bytes());
            b[0x34..0x38].copy_from_slice(&1u32.to_le_bytes());
            for z in zeros {
                b[z] = 0;
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn report_parser_never_panics(b in prop::collection::vec(any::<u8>(), 0..1300)) {
        let _ = SnpReport::parse(&b);
    }

    #[test]
    fn report_parser_structured(b in report_like()) {
        if let Ok(r) = SnpReport::parse(&b) {
            prop_assert!(matches!(r.version, 2..=5));
            let _ = r.signing_key();
            let _ = r.product();
        }
    }

    #[test]
    fn cert_table_never_panics(b in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = cert_table::parse(&b);
    }

    #[test]
    fn cert_table_structured(entries in prop::collection::vec((any::<[u8; 16]>(), any::<u32>(), any::<u32>()), 0..5), tail in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut b = Vec::new();
        for (g, o, l) in &entries {
            b.extend_from_slice(g);
            b.extend_from_slice(&(o % 400).to_le_bytes());
            b.extend_from_slice(&(l % 400).to_le_bytes());
        }
        b.extend_from_slice(&[0; 24]);
        b.extend_from_slice(&tail);
        if let Ok(parsed) = cert_table::parse(&b) {
            for e in parsed {
                prop_assert!(!e.data.is_empty());
            }
        }
    }

    #[test]
    fn cert_decoder_never_panics(b in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(cs) = certs::decode_certs(&b) {
            for c in cs {
                let _ = c.amd_extensions();
                let _ = c.p384_key();
                let _ = c.rsa_key();
            }
        }
        let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        pem.extend_from_slice(&b);
        let _ = certs::decode_certs(&pem);
    }

    #[test]
    fn verifier_never_panics(report in report_like(), cert in prop::collection::vec(any::<u8>(), 0..300), table in prop::collection::vec(any::<u8>(), 0..300)) {
        let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, report)
            .with_endorsement(endorsement::SIGNING_CERT_DER, cert)
            .with_endorsement(endorsement::GHCB_CERT_TABLE, table);
        prop_assert!(SnpVerifier::new().verify(&ev, UnixTime::from_secs(1_750_000_000)).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Arbitrary evidence JSON (bytes near the real shape) never panics.
    #[test]
    fn evidence_json_never_panics(report in prop::collection::vec(any::<u8>(), 0..1300), kinds in prop::collection::vec(0usize..4, 0..3), data in prop::collection::vec(any::<u8>(), 0..100)) {
        let names = [endorsement::SIGNING_CERT_DER, endorsement::CERT_CHAIN_PEM, endorsement::GHCB_CERT_TABLE, "unknown"];
        let mut ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, report);
        for k in kinds {
            ev = ev.with_endorsement(names[k], data.clone());
        }
        let json = ev.to_json().unwrap();
        let back = Evidence::from_json(json.as_bytes()).unwrap();
        prop_assert!(SnpVerifier::new().verify(&back, UnixTime::from_secs(1_750_000_000)).is_err());
    }
}

fn providers() -> Vec<&'static dyn tee_sev::crypto::CryptoProvider> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static dyn tee_sev::crypto::CryptoProvider> =
        vec![&tee_sev::crypto::RUST_CRYPTO];
    #[cfg(feature = "aws-lc")]
    v.push(&tee_sev::crypto::AWS_LC);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Hostile key and signature bytes: errors or `false`, never a panic,
    /// never an acceptance; every provider agrees on key acceptance.
    #[test]
    fn crypto_providers_never_panic(
        key in prop::collection::vec(any::<u8>(), 0..600),
        sig in prop::collection::vec(any::<u8>(), 0..600),
        r in prop::array::uniform32(any::<u8>()),
        prefix in any::<u8>(),
    ) {
        let mut point = vec![prefix];
        point.extend_from_slice(&key);
        let mut rs = [0u8; 48];
        rs[..32].copy_from_slice(&r);
        for c in providers() {
            for k in [&key, &point] {
                if let Ok(p) = c.p384_public_key(k) {
                    prop_assert!(!p.verify_sha384(&sig, &rs, &rs));
                }
                if let Ok(p) = c.rsa_public_key(k) {
                    prop_assert!(!p.verify_pss_sha384(&key, &sig));
                }
            }
        }
    }
}
