//! The verified-collateral cache of [`crate::TdxVerifier`].
//!
//! An [`Entry`] holds what verifying a collateral set and a PCK chain
//! produced (parsed TCB info and QE identity, the PCK key and platform
//! values, the revoked serials of both CRLs) and is only created after a
//! full verification of a quote with exactly these bytes **succeeded**.
//!
//! - Keyed by SHA-256 over the pinned root, every collateral item (TCB info
//!   with its signature and issuer chain, QE identity with its signature and
//!   issuer chain, both CRLs and the PCK CRL issuer chain, any PCK chain in
//!   the collateral) and the PCK chain bytes in the quote, each
//!   length-prefixed.
//! - Valid only inside the intersection of the time windows of everything
//!   it covers (TCB info and QE identity issue/nextUpdate, CRL
//!   thisUpdate/nextUpdate — nextUpdate exclusive, as webpki treats it —,
//!   every issuer and PCK chain certificate and the pinned root); outside,
//!   the lookup misses and the full path runs and reports the precise error.
//! - Stored in the generic [`tee_core::cache::WindowCache`] (shared with
//!   tee-sev's verified-chain cache): bounded, the **least recently used**
//!   entry evicted when full, thread-safe (`RwLock`; hits take the read lock
//!   only), with the shared [`CacheStats`] counters. [`crate::TdxVerifier`]
//!   holds it in an `Arc`, so clones of a verifier share it.

use std::collections::HashSet;
use std::sync::Arc;

use tee_core::cache::{CacheKey, KeyHasher, ValidityWindow};
use tee_core::platforms::TimeWindow;
use x509_cert::Certificate;

pub use tee_core::cache::CacheStats;

use crate::collateral::Collateral;
use crate::crypto::{CryptoProvider, P256PublicKey};
use crate::pki;
use crate::verify::tcb::{Platform, QeIdentity, TcbInfo};

/// Default number of cached collateral/PCK-chain pairs.
pub const DEFAULT_CACHE_CAPACITY: usize = 64;

/// Cache key: SHA-256 of all covered bytes (see [`key`]).
pub(crate) type Key = CacheKey;

/// Verified collateral plus PCK chain.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Unix seconds (both inclusive) within which the entry may be used.
    pub(crate) window: ValidityWindow,
    /// The collateral window reported in claims (as the full path reports it).
    pub(crate) claims_window: TimeWindow,
    pub(crate) tcb_info: TcbInfo,
    pub(crate) qe_identity: QeIdentity,
    /// The provider the keys below belong to (the verifier's).
    pub(crate) crypto: &'static dyn CryptoProvider,
    /// The PCK key (verifies QE report signatures), decoded for reuse:
    /// a provider's precomputation (RustCrypto: a fixed-base table) happens
    /// on the entry's first use, not when it is filled.
    pub(crate) pck_key: Arc<dyn P256PublicKey>,
    /// The attestation key of the quote that filled the entry, decoded for
    /// reuse: quotes with the same key verify with it, others without.
    pub(crate) att_key: [u8; 64],
    pub(crate) att_vk: Arc<dyn P256PublicKey>,
    /// FMSPC, CPUSVN and PCESVN of the PCK certificate.
    pub(crate) platform: Platform,
    pub(crate) tcb_fmspc: [u8; 6],
    /// Serial of the PCK leaf and of its issuer (PCK CA).
    pub(crate) pck_serial: Vec<u8>,
    pub(crate) pck_ca_serial: Vec<u8>,
    /// Revoked serials in the PCK CRL and the root CA CRL.
    pub(crate) pck_crl_revoked: HashSet<Vec<u8>>,
    pub(crate) root_crl_revoked: HashSet<Vec<u8>>,
}

/// The key for this root, collateral and quote PCK chain bytes (the
/// collateral by its digest, computed when it was parsed).
pub(crate) fn key(root_der: &[u8], c: &Collateral, pck_chain: &[u8]) -> Key {
    KeyHasher::new("tee-tdx collateral cache v3")
        .part(root_der)
        .part(c.digest())
        .part(pck_chain)
        .finish()
}

fn validity(c: &Certificate) -> (u64, u64) {
    let v = c.tbs_certificate().validity();
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

/// What the full path computed and checked for a quote, handed to
/// [`Entry::build`] after it succeeded.
pub(crate) struct Verified<'a> {
    pub(crate) crypto: &'static dyn CryptoProvider,
    pub(crate) root_der: &'a [u8],
    pub(crate) collateral: &'a Collateral,
    pub(crate) pck_chain: &'a [Certificate],
    pub(crate) platform: Platform,
    pub(crate) attestation_key: [u8; 64],
    /// Parsed (levels in matching order) and authenticated.
    pub(crate) tcb_info: &'a TcbInfo,
    pub(crate) qe_identity: &'a QeIdentity,
    pub(crate) pck_crl_revoked: HashSet<Vec<u8>>,
    pub(crate) root_crl_revoked: HashSet<Vec<u8>>,
}

impl Entry {
    /// Build an entry from collateral whose full verification just
    /// succeeded. `None` when something cannot be represented (the quote is
    /// then simply not cached).
    pub(crate) fn build(v: &Verified<'_>) -> Option<Self> {
        let dates = v.collateral.dates_ref();
        let root = pki::parse_der(v.root_der).ok()?;
        let window = ValidityWindow::intersect(
            core::iter::once(dates.cache_bounds()).chain(
                v.pck_chain
                    .iter()
                    .chain(core::iter::once(&root))
                    .map(validity),
            ),
        );
        if window.is_empty() {
            return None;
        }
        let leaf = v.pck_chain.first()?;
        // The leaf's issuer (the PCK CA), wherever it sits in the chain.
        let issuer = v
            .pck_chain
            .iter()
            .skip(1)
            .find(|c| c.tbs_certificate().subject() == leaf.tbs_certificate().issuer())?;
        let att_vk = v
            .crypto
            .p256_public_key_for_reuse(&pki::raw_key_sec1(&v.attestation_key))
            .ok()?;
        Some(Self {
            window,
            claims_window: dates.window(),
            crypto: v.crypto,
            pck_key: pki::cert_key_for_reuse(v.crypto, leaf).ok()?,
            att_key: v.attestation_key,
            att_vk,
            platform: v.platform,
            tcb_fmspc: v.tcb_info.fmspc_bytes().ok()?,
            pck_serial: leaf.tbs_certificate().serial_number().as_bytes().to_vec(),
            pck_ca_serial: issuer.tbs_certificate().serial_number().as_bytes().to_vec(),
            pck_crl_revoked: v.pck_crl_revoked.clone(),
            root_crl_revoked: v.root_crl_revoked.clone(),
            tcb_info: v.tcb_info.clone(),
            qe_identity: v.qe_identity.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tee_core::UnixTime;

    use crate::Collateral;
    use crate::danger;
    use crate::testing::{FakeKernel, FakeTd, TestPki};

    fn t(s: &str) -> UnixTime {
        UnixTime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn lru_eviction_shared_clones_and_stats() {
        let pki = TestPki::default();
        let td = FakeTd::default();
        let q = FakeKernel::new(pki.clone(), td.clone()).make_quote(&[0x42; 64]);
        let coll = |day: &str| {
            Collateral::from_json(&pki.collateral_json(
                "UpToDate",
                &td.tee_tcb_svn,
                &format!("2025-01-{day}T00:00:00Z"),
                "2025-02-01T00:00:00Z",
            ))
            .unwrap()
        };
        let (c1, c2, c3) = (coll("01"), coll("02"), coll("03"));
        let at = t("2025-01-15T00:00:00Z");
        let v = danger::verifier_with_test_root(pki.root_der.clone()).with_cache_capacity(2);
        let clone = v.clone();
        v.verify_quote(&q, Some(&c1), at).unwrap();
        v.verify_quote(&q, Some(&c2), at).unwrap();
        // Through the clone (same cache): c1 is now the most recently used.
        clone.verify_quote(&q, Some(&c1), at).unwrap();
        let s = v.cache_stats();
        assert_eq!(
            (s.capacity, s.entries, s.hits, s.misses, s.evictions),
            (2, 2, 1, 2, 0)
        );
        // c3 evicts the least recently used entry (c2), not the oldest (c1).
        v.verify_quote(&q, Some(&c3), at).unwrap();
        assert_eq!(v.cache_stats().evictions, 1);
        v.verify_quote(&q, Some(&c1), at).unwrap();
        assert_eq!(v.cache_stats().hits, 2, "c1 kept");
        v.verify_quote(&q, Some(&c2), at).unwrap();
        let s = clone.cache_stats();
        assert_eq!((s.entries, s.hits, s.misses, s.evictions), (2, 2, 4, 2));
        // Clearing through one clears both; counters stay.
        clone.clear_cache();
        assert_eq!(v.cache_stats().entries, 0);
        assert_eq!(v.cache_stats().hits, 2);
        // Disabled: nothing stored, nothing counted.
        let off = danger::verifier_with_test_root(pki.root_der.clone()).with_cache_capacity(0);
        off.verify_quote(&q, Some(&c1), at).unwrap();
        off.verify_quote(&q, Some(&c1), at).unwrap();
        assert_eq!(off.cache_stats(), tee_core::cache::CacheStats::default());
    }
}
