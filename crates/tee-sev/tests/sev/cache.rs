//! The verified-chain cache never changes a verdict: real vectors and the
//! fake PKI, tampering after caching, expiry after caching, other leaves,
//! failures not cached, bounds and eviction, 8 threads against the
//! sequential run, and (feature `aws-lc`) both crypto providers agreeing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop,
    missing_docs
)]

use std::path::{Path, PathBuf};

use tee_core::platforms::SnpSigningKey;
use tee_core::{Authenticity, Claims, Error, Evidence, Result, UnixTime, Verified, Verifier};
use tee_sev::cache::DEFAULT_CAPACITY;
use tee_sev::report::Product;
use tee_sev::testing::{FakeFirmware, pki, sign_report};
use tee_sev::{SnpVerifier, evidence_from_parts};

fn dir() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(dir().unwrap().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

/// (name, report, leaf, chain files, a time inside the leaf's validity).
const VECTORS: &[(&str, &str, &str, &[&str], &str)] = &[
    (
        "virtee milan v2",
        "virtee-sev/report_milan.hex",
        "virtee-sev/vcek_milan.der",
        &["virtee-sev/cert_chain_milan.pem"],
        "2025-01-01T00:00:00Z",
    ),
    (
        "go-sev-guest milan v2",
        "go-sev-guest/attestation.bin",
        "go-sev-guest/vcek.der",
        &["amd-roots/milan_ask.pem"],
        "2025-01-01T00:00:00Z",
    ),
    (
        "trustee milan v3 vlek",
        "trustee/snp/test-vlek-report.bin",
        "trustee/snp/test-vlek.der",
        &["amd-roots/milan_asvk_ark.pem"],
        "2025-06-01T00:00:00Z",
    ),
    (
        "ms milan v3",
        "ms-tee-av/milan_attestation_report.bin",
        "ms-tee-av/milan_vcek.pem",
        &["amd-roots/milan_ask.pem"],
        "2026-06-01T00:00:00Z",
    ),
    (
        "ms turin v5",
        "ms-tee-av/turin_attestation_report.bin",
        "ms-tee-av/turin_vcek.pem",
        &["amd-roots/turin_ask.pem", "amd-roots/turin_ark.pem"],
        "2026-06-01T00:00:00Z",
    ),
];

fn evidence(i: usize) -> Evidence {
    let (_, report, leaf, chain, _) = VECTORS[i];
    let chain: Vec<Vec<u8>> = chain.iter().map(|c| read(c)).collect();
    let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    evidence_from_parts(&read(report), Some(&read(leaf)), &refs).unwrap()
}

fn at(i: usize) -> UnixTime {
    t(VECTORS[i].4)
}

fn auth(r: Result<Verified<Claims>>) -> Authenticity {
    match r {
        Err(Error::Authenticity(a)) => a,
        other => panic!("expected an authenticity failure, got {other:?}"),
    }
}

fn stats(v: &SnpVerifier) -> (usize, u64, u64) {
    let s = v.cache_stats();
    (s.entries, s.hits, s.misses)
}

/// Every case of the cross-checks: each vector valid (with and without the
/// chain supplied), tampered, expired, not yet valid, with a tampered VCEK,
/// and with another vector's leaf.
fn cases() -> Vec<(String, Evidence, UnixTime)> {
    let mut out = Vec::new();
    for i in 0..VECTORS.len() {
        let name = VECTORS[i].0;
        let ev = evidence(i);
        out.push((format!("{name}: valid"), ev.clone(), at(i)));
        let mut bare = ev.clone();
        bare.endorsements
            .retain(|e| e.kind == tee_core::evidence::endorsement::SIGNING_CERT_DER);
        out.push((format!("{name}: pinned chain"), bare, at(i)));
        let mut bad = ev.clone();
        bad.report[21] ^= 0x80;
        out.push((format!("{name}: tampered report"), bad, at(i)));
        out.push((
            format!("{name}: expired"),
            ev.clone(),
            t("2034-01-01T00:00:00Z"),
        ));
        out.push((
            format!("{name}: not yet valid"),
            ev.clone(),
            t("2021-01-01T00:00:00Z"),
        ));
        let mut vcek_bad = ev.clone();
        vcek_bad.endorsements[0].data[40] ^= 0xFF;
        out.push((format!("{name}: tampered leaf"), vcek_bad, at(i)));
        let j = (i + 1) % VECTORS.len();
        let mut other = ev.clone();
        other.endorsements[0].data = evidence(j).endorsements[0].data.clone();
        out.push((format!("{name}: leaf of {}", VECTORS[j].0), other, at(i)));
    }
    out
}

fn verdict(r: &Result<Verified<Claims>>) -> String {
    format!("{r:?}")
}

#[test]
fn verifier_is_send_sync_and_cache_is_explicit() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SnpVerifier>();
    let v = SnpVerifier::new();
    let s = v.cache_stats();
    assert_eq!(
        (s.capacity, s.entries, s.hits, s.misses, s.evictions),
        (DEFAULT_CAPACITY, 0, 0, 0, 0)
    );
    assert_eq!(SnpVerifier::new().with_cache(7).cache_stats().capacity, 7);
    assert_eq!(SnpVerifier::new().without_cache().cache_stats().capacity, 0);
    assert_eq!(v.crypto().name(), "RustCrypto");
}

#[test]
fn hits_give_the_same_claims_as_cold_verification() {
    if dir().is_none() {
        return;
    }
    let cold = SnpVerifier::new().without_cache();
    let warm = SnpVerifier::new();
    for i in 0..VECTORS.len() {
        let ev = evidence(i);
        let expected = cold.verify(&ev, at(i)).unwrap();
        let (entries, hits, _) = stats(&warm);
        let first = warm.verify(&ev, at(i)).unwrap();
        assert_eq!(stats(&warm).0, entries + 1, "{}", VECTORS[i].0);
        let second = warm.verify(&ev, at(i)).unwrap();
        assert_eq!(
            stats(&warm).1,
            hits + 1,
            "{}: second call is a hit",
            VECTORS[i].0
        );
        assert_eq!(first, expected);
        assert_eq!(second, expected);
    }
    assert_eq!(stats(&cold), (0, 0, 0));
    assert_eq!(stats(&warm), (5, 5, 5));
    // One chain, presented differently (ASK/ARK supplied or taken from the
    // pinned set, GHCB table): one entry, served from it each time.
    let fresh = SnpVerifier::new();
    let ev = evidence(4);
    let mut bare = ev.clone();
    bare.endorsements.truncate(1);
    let mut reordered = ev.clone();
    reordered.endorsements.reverse();
    for e in [&ev, &bare, &reordered, &ev, &bare] {
        assert_eq!(
            fresh.verify(e, at(4)).unwrap(),
            cold.verify(e, at(4)).unwrap()
        );
    }
    assert_eq!(stats(&fresh), (1, 4, 1));
    // Selecting a provider starts a fresh cache of the same capacity.
    let switched = fresh.clone().with_crypto(&tee_sev::crypto::RUST_CRYPTO);
    assert_eq!(
        (
            switched.cache_stats().capacity,
            switched.cache_stats().entries
        ),
        (DEFAULT_CAPACITY, 0)
    );
    assert_eq!(fresh.cache_stats().entries, 1);
    // Clones share the cache; clear_cache empties it.
    let clone = warm.clone();
    clone.verify(&evidence(0), at(0)).unwrap();
    assert_eq!(stats(&warm).1, 6);
    warm.clear_cache();
    assert_eq!(clone.cache_stats().entries, 0);
}

#[test]
fn tampered_report_still_fails_after_its_chain_was_cached() {
    if dir().is_none() {
        return;
    }
    let v = SnpVerifier::new();
    for i in 0..VECTORS.len() {
        let ev = evidence(i);
        v.verify(&ev, at(i)).unwrap();
        for (off, flip) in [(21usize, 0x80u8), (42, 0x01), (100, 0xFF), (0x1A0, 0x01)] {
            let mut bad = ev.clone();
            bad.report[off] ^= flip;
            let hits = v.cache_stats().hits;
            assert_eq!(
                auth(v.verify(&bad, at(i))),
                Authenticity::BadSignature {
                    what: "SNP report signature"
                },
                "{} byte {off}",
                VECTORS[i].0
            );
            assert_eq!(v.cache_stats().hits, hits + 1, "served from the cache");
        }
        // Nonzero high bytes of R: rejected before any key is used.
        let mut bad = ev.clone();
        bad.report[0x2A0 + 50] = 1;
        assert!(matches!(
            auth(v.verify(&bad, at(i))),
            Authenticity::BadSignature { .. }
        ));
        // And the genuine report still verifies.
        v.verify(&ev, at(i)).unwrap();
    }
    assert_eq!(v.cache_stats().entries, VECTORS.len());
}

#[test]
fn expired_fails_even_if_cached_while_valid() {
    if dir().is_none() {
        return;
    }
    let v = SnpVerifier::new();
    // The trustee VLEK is valid 2024-12-10..2025-12-10 only.
    let ev = evidence(2);
    v.verify(&ev, t("2025-06-01T00:00:00Z")).unwrap();
    assert_eq!(stats(&v).0, 1);
    match auth(v.verify(&ev, t("2026-01-01T00:00:00Z"))) {
        Authenticity::Expired { what, at, .. } => {
            assert_eq!(what, "VLEK");
            assert_eq!(at, t("2026-01-01T00:00:00Z").as_secs());
        }
        other => panic!("{other:?}"),
    }
    match auth(v.verify(&ev, t("2024-12-01T00:00:00Z"))) {
        Authenticity::NotYetValid { what, .. } => assert_eq!(what, "VLEK"),
        other => panic!("{other:?}"),
    }
    // Inside again: a hit.
    let hits = v.cache_stats().hits;
    v.verify(&ev, t("2025-12-01T00:00:00Z")).unwrap();
    assert_eq!(v.cache_stats().hits, hits + 1);
    // The virtee VCEK (2023-04-03..2030-04-03).
    let ev = evidence(0);
    v.verify(&ev, at(0)).unwrap();
    match auth(v.verify(&ev, t("2030-04-04T00:00:00Z"))) {
        Authenticity::Expired { what, .. } => assert_eq!(what, "VCEK"),
        other => panic!("{other:?}"),
    }
    // Every vector, every time: the cached verdict equals the cold one.
    let cold = SnpVerifier::new().without_cache();
    for i in 0..VECTORS.len() {
        let ev = evidence(i);
        v.verify(&ev, at(i)).unwrap();
        for when in [
            "2019-01-01T00:00:00Z",
            "2024-12-10T00:00:00Z",
            "2025-12-11T00:00:00Z",
            "2030-04-04T00:00:00Z",
            "2033-02-06T00:00:00Z",
            "2046-01-01T00:00:00Z",
        ] {
            assert_eq!(
                verdict(&v.verify(&ev, t(when))),
                verdict(&cold.verify(&ev, t(when))),
                "{} at {when}",
                VECTORS[i].0
            );
        }
    }
}

#[test]
fn another_leaf_is_not_served_from_an_entry() {
    if dir().is_none() {
        return;
    }
    let v = SnpVerifier::new();
    let cold = SnpVerifier::new().without_cache();
    let ev = evidence(0);
    v.verify(&ev, at(0)).unwrap();
    // The virtee report with the go-sev-guest VCEK (same ASK and ARK).
    let mut other = ev.clone();
    other.endorsements[0].data = read("go-sev-guest/vcek.der");
    let r = v.verify(&other, at(0));
    assert!(r.is_err());
    assert_eq!(verdict(&r), verdict(&cold.verify(&other, at(0))));
    // A VCEK differing in one byte: a different key, verified cold, rejected.
    let mut flipped = ev.clone();
    flipped.endorsements[0].data[40] ^= 0xFF;
    assert!(matches!(
        auth(v.verify(&flipped, at(0))),
        Authenticity::BadChain { .. }
    ));

    // Fake PKI: the same VCEK bytes, reports that disagree with its extensions.
    let p = pki(Product::Genoa);
    let fv = p.verifier();
    let vcek = p.vcek();
    let fw = FakeFirmware::new(Product::Genoa, 3, SnpSigningKey::Vcek);
    let good = evidence_from_parts(&fw.make_report(&[1; 64], 0), Some(&vcek), &[]).unwrap();
    fv.verify(&good, tee_sev::testing::at()).unwrap();
    assert_eq!(stats(&fv), (1, 0, 1));
    // Another reported TCB, signed by the same VCEK key: the SPL check runs on the hit.
    let mut fw2 = FakeFirmware::new(Product::Genoa, 3, SnpSigningKey::Vcek);
    fw2.reported_tcb ^= 1;
    let tcb = evidence_from_parts(&fw2.make_report(&[1; 64], 0), Some(&vcek), &[]).unwrap();
    match auth(fv.verify(&tcb, tee_sev::testing::at())) {
        Authenticity::Mismatch { what, .. } => assert_eq!(what, "reported TCB"),
        other => panic!("{other:?}"),
    }
    // Another CHIP_ID, re-signed: the hwID check runs on the hit.
    let mut raw = fw.make_report(&[1; 64], 0);
    raw[0x1A0] ^= 0x01;
    sign_report(&mut raw, &p.vcek_key);
    let chip = evidence_from_parts(&raw, Some(&vcek), &[]).unwrap();
    match auth(fv.verify(&chip, tee_sev::testing::at())) {
        Authenticity::Mismatch { what, .. } => assert_eq!(what, "chip id"),
        other => panic!("{other:?}"),
    }
    // A report signed by another key, presented with the cached VCEK.
    let mut raw = fw.make_report(&[1; 64], 0);
    sign_report(&mut raw, &pki(Product::Milan).vcek_key);
    let forged = evidence_from_parts(&raw, Some(&vcek), &[]).unwrap();
    assert!(matches!(
        auth(fv.verify(&forged, tee_sev::testing::at())),
        Authenticity::BadSignature { .. }
    ));
    assert_eq!(stats(&fv), (1, 3, 1), "all three served from the one entry");
}

#[test]
fn failures_are_never_cached() {
    if dir().is_none() {
        return;
    }
    let v = SnpVerifier::new();
    let ev = evidence(0);
    let mut flipped = ev.clone();
    flipped.endorsements[0].data[40] ^= 0xFF;
    for _ in 0..2 {
        assert!(matches!(
            auth(v.verify(&flipped, at(0))),
            Authenticity::BadChain { .. }
        ));
    }
    // Expired on a fresh verifier: nothing stored.
    assert!(matches!(
        auth(v.verify(&ev, t("2031-01-01T00:00:00Z"))),
        Authenticity::Expired { .. }
    ));
    // A Milan report with the Genoa ASK.
    let wrong_ask = evidence_from_parts(
        &read("ms-tee-av/milan_attestation_report.bin"),
        Some(&read("ms-tee-av/milan_vcek.pem")),
        &[&read("amd-roots/genoa_ask.pem")],
    )
    .unwrap();
    for _ in 0..2 {
        assert!(matches!(
            auth(v.verify(&wrong_ask, at(3))),
            Authenticity::BadChain { .. }
        ));
    }
    assert_eq!(stats(&v), (0, 0, 5));

    // Fake PKI: a rogue ARK, and a leaf signed by the wrong intermediate.
    let p = pki(Product::Milan);
    let fv = p.verifier();
    let fw = FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek);
    let raw = fw.make_report(&[2; 64], 0);
    let rogue = evidence_from_parts(&raw, Some(&p.vcek()), &[&p.rogue_ark]).unwrap();
    assert!(matches!(
        auth(fv.verify(&rogue, tee_sev::testing::at())),
        Authenticity::UntrustedRoot { .. }
    ));
    let via_asvk = evidence_from_parts(&raw, Some(&p.vcek()), &[&p.asvk]).unwrap();
    assert!(matches!(
        auth(fv.verify(&via_asvk, tee_sev::testing::at())),
        Authenticity::BadChain { .. }
    ));
    assert_eq!(fv.cache_stats().entries, 0);
}

#[test]
fn bounded_with_lru_eviction() {
    if dir().is_none() {
        return;
    }
    let v = SnpVerifier::new().with_cache(2);
    for round in 0..2 {
        for i in 0..VECTORS.len() {
            v.verify(&evidence(i), at(i))
                .unwrap_or_else(|e| panic!("round {round} {}: {e}", VECTORS[i].0));
            assert!(v.cache_stats().entries <= 2);
        }
    }
    let s = v.cache_stats();
    assert_eq!((s.entries, s.evictions, s.hits), (2, 8, 0));
    // The two most recent stay.
    v.verify(&evidence(4), at(4)).unwrap();
    v.verify(&evidence(3), at(3)).unwrap();
    assert_eq!(v.cache_stats().hits, 2);

    let none = SnpVerifier::new().without_cache();
    for _ in 0..2 {
        none.verify(&evidence(0), at(0)).unwrap();
    }
    assert_eq!(stats(&none), (0, 0, 0));
}

fn run_concurrently(v: &SnpVerifier, cases: &[(String, Evidence, UnixTime)]) -> Vec<Vec<String>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|thread| {
                s.spawn(move || {
                    let mut out = vec![String::new(); cases.len()];
                    for round in 0..2 {
                        // Each thread walks the cases in its own order
                        // (strides coprime with the number of cases).
                        const STRIDES: [usize; 8] = [1, 2, 3, 4, 6, 8, 9, 11];
                        for k in 0..cases.len() {
                            let idx = (k * STRIDES[thread] + thread + round) % cases.len();
                            let (_, ev, when) = &cases[idx];
                            let r = verdict(&v.verify(ev, *when));
                            if round == 0 {
                                out[idx] = r;
                            } else {
                                assert_eq!(out[idx], r);
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn eight_threads_match_the_sequential_run() {
    if dir().is_none() {
        return;
    }
    let cases = cases();
    // 35 cases: the strides above visit every case once per round.
    assert_eq!(cases.len(), 35);
    let sequential: Vec<String> = {
        let v = SnpVerifier::new().without_cache();
        cases
            .iter()
            .map(|(_, ev, at)| verdict(&v.verify(ev, *at)))
            .collect()
    };
    assert_eq!(
        sequential.iter().filter(|r| r.starts_with("Ok")).count(),
        10,
        "valid with and without a supplied chain"
    );
    for (shared, capacity) in [
        (SnpVerifier::new(), DEFAULT_CAPACITY),
        (SnpVerifier::new().with_cache(2), 2),
    ] {
        for (thread, results) in run_concurrently(&shared, &cases).into_iter().enumerate() {
            for (k, r) in results.iter().enumerate() {
                assert_eq!(
                    r, &sequential[k],
                    "capacity {capacity}, thread {thread}: {}",
                    cases[k].0
                );
            }
        }
        assert!(shared.cache_stats().entries <= capacity);
        assert!(shared.cache_stats().hits > 0);
    }
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_gives_the_same_verdicts() {
    use tee_sev::crypto::AWS_LC;
    if dir().is_none() {
        return;
    }
    let rc = SnpVerifier::new().without_cache();
    let lc_cold = SnpVerifier::new().with_crypto(&AWS_LC).without_cache();
    let lc_warm = SnpVerifier::new().with_crypto(&AWS_LC);
    assert_eq!(lc_warm.crypto().name(), "aws-lc-rs");
    for (name, ev, when) in cases() {
        let expected = verdict(&rc.verify(&ev, when));
        assert_eq!(verdict(&lc_cold.verify(&ev, when)), expected, "{name}");
        assert_eq!(verdict(&lc_warm.verify(&ev, when)), expected, "{name}");
        assert_eq!(
            verdict(&lc_warm.verify(&ev, when)),
            expected,
            "{name} (cached)"
        );
    }
    // The fake PKI (2048-bit RSA roots), every product, VCEK and VLEK.
    for product in Product::ALL {
        let p = pki(product);
        for signer in [SnpSigningKey::Vcek, SnpSigningKey::Vlek] {
            let fw = FakeFirmware::new(product, 3, signer);
            let leaf = match signer {
                SnpSigningKey::Vcek => p.vcek(),
                SnpSigningKey::Vlek => p.vlek(),
            };
            let good = fw.make_report(&[3; 64], 0);
            let mut bad = good.clone();
            bad[0x90] ^= 1;
            for raw in [good, bad] {
                let ev = evidence_from_parts(&raw, Some(&leaf), &[]).unwrap();
                let a = p.verifier().verify(&ev, tee_sev::testing::at());
                let b = p
                    .verifier()
                    .with_crypto(&AWS_LC)
                    .verify(&ev, tee_sev::testing::at());
                assert_eq!(verdict(&a), verdict(&b), "{product} {signer:?}");
            }
        }
    }
}

#[test]
fn pinned_intermediates_skip_signatures_only_when_checked() {
    // Test roots whose ASK was not issued by the test ARK: a chain through
    // it fails, even though the ASK is "pinned" in the root set.
    let milan = pki(Product::Milan);
    let genoa = pki(Product::Genoa);
    let roots =
        tee_sev::danger::test_roots(Product::Genoa, &milan.ark, Some(&genoa.ask), None).unwrap();
    let v = tee_sev::danger::with_test_roots(vec![roots]);
    let fw = FakeFirmware::new(Product::Genoa, 3, SnpSigningKey::Vcek);
    let ev = evidence_from_parts(&fw.make_report(&[4; 64], 0), Some(&genoa.vcek()), &[]).unwrap();
    assert!(matches!(
        auth(v.verify(&ev, tee_sev::testing::at())),
        Authenticity::BadChain { .. }
    ));
    assert_eq!(v.cache_stats().entries, 0);
    // The consistent test roots: accepted.
    genoa
        .verifier()
        .verify(&ev, tee_sev::testing::at())
        .unwrap();
}
