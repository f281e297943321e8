//! No input makes any parser or the verifier panic.

use std::path::Path;

use proptest::prelude::*;
use tee_core::evidence::{endorsement, format};
use tee_core::{Evidence, Platform, UnixTime, Verifier};
use tee_tdx::ccel::{CcelTable, EventLog};
use tee_tdx::quote::Quote;
use tee_tdx::tdreport::TdReport;
use tee_tdx::{Collateral, TdxVerifier};

fn vector(rel: &str) -> Option<Vec<u8>> {
    let dir =
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))?;
    std::fs::read(dir.join(rel)).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = Quote::parse(&b);
        let _ = TdReport::parse(&b);
        let _ = EventLog::parse(&b);
        let _ = CcelTable::parse(&b);
        let _ = Collateral::from_json(&b);
        let _ = tee_tdx::guest::applog::AppLog::parse(&b);
        let _ = tee_tdx::guest::configfs::check_dcap_outblob(&b);
    }

    #[test]
    fn structured_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048), v in 4u16..=5, bt in 0u16..5) {
        // A valid-looking header then garbage, to reach deeper code.
        let mut b = Vec::new();
        b.extend_from_slice(&v.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&0x81u32.to_le_bytes());
        b.extend_from_slice(&[0u8; 40]);
        if v == 5 {
            b.extend_from_slice(&bt.to_le_bytes());
            b.extend_from_slice(&648u32.to_le_bytes());
        }
        b.extend_from_slice(&tail);
        let _ = Quote::parse(&b);
        let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, b);
        let _ = TdxVerifier::new().without_collateral().verify(&ev, UnixTime::from_secs(1_750_000_000));
        let mut log = EventLog::encode_header();
        log.extend_from_slice(&tail);
        let _ = EventLog::parse(&log);
    }

    #[test]
    fn mutated_real_quote_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let Some(q) = vector("dcap-qvl/tdx_quote") else { return Ok(()) };
        let c = vector("dcap-qvl/tdx_quote_collateral.json").unwrap();
        let mut m = q.clone();
        for (i, x) in edits {
            let n = m.len();
            m[i % n] = x;
        }
        m.truncate(cut % (q.len() + 1));
        let _ = Quote::parse(&m);
        let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, m).with_endorsement(endorsement::TDX_COLLATERAL_JSON, c);
        let r = TdxVerifier::new().verify(&ev, UnixTime::from_secs(1_752_000_000));
        // Accepted only if the quote structure is untouched: the vector ends
        // in zero padding after the signature data (`Quote::trailing_len`),
        // which is outside the signed quote, so cutting or editing only
        // padding may verify.
        let structural = q.len() - Quote::parse(&q).unwrap().trailing_len;
        prop_assert!(r.is_err() || ev.report.get(..structural) == q.get(..structural));
    }

    #[test]
    fn mutated_collateral_json_never_panics(i in any::<usize>(), x in any::<u8>()) {
        let Some(c) = vector("dcap-qvl/tdx_quote_collateral.json") else { return Ok(()) };
        let mut m = c.clone();
        let n = m.len();
        m[i % n] = x;
        let _ = Collateral::from_json(&m);
    }

    #[test]
    fn mutated_ccel_never_panics(edits in proptest::collection::vec((0usize..18200, any::<u8>()), 1..6)) {
        let Some(d) = vector("go-tdx-guest/ccel/ccel_data.dat") else { return Ok(()) };
        let mut m = d.clone();
        for (i, x) in edits {
            m[i] = x;
        }
        if let Ok(l) = EventLog::parse(&m) {
            let _ = l.replay();
            let _ = l.to_string();
        }
    }
}

fn providers() -> Vec<&'static dyn tee_tdx::crypto::CryptoProvider> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static dyn tee_tdx::crypto::CryptoProvider> =
        vec![&tee_tdx::crypto::RUST_CRYPTO];
    #[cfg(feature = "aws-lc")]
    v.push(&tee_tdx::crypto::AWS_LC);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Hostile key and signature bytes: errors or `false`, never a panic;
    /// every provider agrees on key acceptance and on every verdict, for
    /// real signatures (valid, tampered, other message) as for junk.
    #[test]
    fn crypto_providers_agree(
        key in proptest::collection::vec(any::<u8>(), 0..100),
        prefix in 0u8..8,
        seed in proptest::array::uniform32(any::<u8>()),
        msg in proptest::collection::vec(any::<u8>(), 0..300),
        tamper in proptest::option::of((0usize..64, 1u8..=255)),
        junk in proptest::array::uniform32(any::<u8>()),
    ) {
        use p256::ecdsa::signature::Signer as _;
        let mut point = vec![prefix];
        point.extend_from_slice(&key);
        let mut junk_sig = [0u8; 64];
        junk_sig[..32].copy_from_slice(&junk);
        junk_sig[32..].copy_from_slice(&junk);
        for k in [&key, &point] {
            let accepted: Vec<bool> = providers().iter().map(|c| c.p256_public_key(k).is_ok()).collect();
            prop_assert!(accepted.iter().all(|a| *a == accepted[0]), "{accepted:?}");
            for c in providers() {
                if let Ok(p) = c.p256_public_key(k) {
                    prop_assert!(!p.verify_sha256(&msg, &junk_sig));
                }
            }
        }
        let Ok(sk) = p256::ecdsa::SigningKey::from_slice(&seed) else { return Ok(()) };
        let sig: p256::ecdsa::Signature = sk.sign(&msg);
        let mut rs: [u8; 64] = sig.to_bytes().as_slice().try_into().unwrap();
        if let Some((i, x)) = tamper {
            rs[i] ^= x;
        }
        let sec1 = sk.verifying_key().to_sec1_point(prefix % 2 == 0);
        let mut other = msg.clone();
        other.push(prefix);
        for m in [&msg, &other] {
            let mut seen = Vec::new();
            for c in providers() {
                for key in [c.p256_public_key(sec1.as_bytes()).unwrap(), c.p256_public_key_for_reuse(sec1.as_bytes()).unwrap()] {
                    seen.push(key.verify_sha256(m, &rs));
                }
            }
            let expected = tamper.is_none() && m == &msg;
            prop_assert!(seen.iter().all(|s| *s == expected), "{seen:?}, expected {expected}");
        }
    }
}
