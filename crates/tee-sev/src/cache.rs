//! The verified-chain cache of [`crate::SnpVerifier`].
//!
//! An entry says: "the chain ARK → ASK/ASVK → VCEK/VLEK with exactly these
//! certificate bytes was verified by this verifier (pinned roots, signatures,
//! issuer names)". It is keyed by a SHA-256 digest over the DER of the three
//! certificates (length-prefixed, domain-separated), records the
//! intersection of the certificates' validity periods and is used only for
//! verification times inside it, and stores what cold verification derived:
//! the prepared VCEK/VLEK public key and its AMD extensions.
//!
//! What a hit skips: the RSA chain signatures, certificate validity
//! re-computation, key and extension decoding. What always runs: report
//! parsing, the report signature, extension-vs-report checks (SPL, hwID,
//! product), and every other per-report check. Only successes are stored.
//!
//! [`crate::SnpVerifier`]'s `Verifier::verify` also keeps a small index from
//! a digest of the exact endorsement bytes as received (with the report's
//! key kind and CPUID product) to the chain digest they selected, so that a
//! repeated presentation is served without parsing any certificate. Chain
//! selection is a pure function of those inputs; the entry found through the
//! index is the same verified-chain entry, with the same window check.
//!
//! The storage is the generic [`tee_core::cache::WindowCache`]: bounded
//! (least recently used entry evicted; the index holds at most
//! [`tee_core::cache::ALIASES_PER_ENTRY`] presentations per entry),
//! thread-safe (`RwLock`; hits take the read lock only), with the shared
//! [`CacheStats`] counters.

use std::sync::Arc;

use tee_core::cache::{CacheKey, KeyHasher, ValidityWindow, WindowCache};
use tee_core::platforms::SnpSigningKey;

pub use tee_core::cache::CacheStats;

use crate::certs::AmdExtensions;
use crate::crypto::P384PublicKey;
use crate::report::Product;

/// Default capacity of [`crate::SnpVerifier::new`]'s cache (distinct chains,
/// i.e. distinct chips/VLEKs and TCB versions).
pub const DEFAULT_CAPACITY: usize = 1024;

/// Digest of the exact bytes of one chain.
pub(crate) type ChainKey = CacheKey;

/// Key for the chain `ark` → `inter` → `leaf`.
pub(crate) fn chain_key(ark: &[u8], inter: &[u8], leaf: &[u8]) -> ChainKey {
    KeyHasher::new("tee-sev chain cache v1")
        .part(ark)
        .part(inter)
        .part(leaf)
        .finish()
}

/// Key of the presentation index: the report's signing-key kind and
/// product (from CPUID, when known) and the exact bytes of every
/// endorsement as received (kind and data, in order). Chain selection is a
/// pure function of these (and the verifier's roots), so equal keys select
/// the same chain.
pub(crate) fn presentation_key<'a>(
    key: SnpSigningKey,
    report_product: Option<Product>,
    endorsements: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> PresentationKey {
    let mut h = KeyHasher::new("tee-sev presented endorsements v1").part(&[
        match key {
            SnpSigningKey::Vcek => 1,
            SnpSigningKey::Vlek => 2,
        },
        match report_product {
            None => 0,
            Some(Product::Milan) => 1,
            Some(Product::Genoa) => 2,
            Some(Product::Turin) => 3,
        },
    ]);
    for (kind, data) in endorsements {
        h = h.part(kind.as_bytes()).part(data);
    }
    PresentationKey(h.finish())
}

/// Digest of presented endorsements (see [`presentation_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PresentationKey(CacheKey);

/// What cold verification derived from a verified chain.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The product whose pinned ARK the chain reaches.
    pub(crate) product: Product,
    /// Latest `notBefore` to earliest `notAfter` of the three certificates
    /// (Unix seconds): the window in which the entry is used.
    pub(crate) window: ValidityWindow,
    /// The VCEK/VLEK public key, prepared by the verifier's provider.
    pub(crate) key: Arc<dyn P384PublicKey>,
    /// The VCEK/VLEK AMD extensions.
    pub(crate) exts: AmdExtensions,
    /// Serial numbers (DER INTEGER content bytes) of the intermediate
    /// (ASK/ASVK) and the leaf (VCEK/VLEK), for the CRL check.
    pub(crate) serials: Serials,
}

/// The serial numbers a CRL is searched for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Serials {
    /// `ASK` or `ASVK`.
    pub(crate) inter_name: &'static str,
    /// The intermediate's serial.
    pub(crate) inter: Vec<u8>,
    /// `VCEK` or `VLEK`.
    pub(crate) leaf_name: &'static str,
    /// The leaf's serial.
    pub(crate) leaf: Vec<u8>,
}

impl Entry {
    pub(crate) fn new(
        product: Product,
        window: ValidityWindow,
        key: Arc<dyn P384PublicKey>,
        exts: AmdExtensions,
    ) -> Self {
        Self {
            product,
            window,
            key,
            exts,
            serials: Serials::default(),
        }
    }

    /// This entry with the chain's serial numbers.
    pub(crate) fn with_serials(mut self, serials: Serials) -> Self {
        self.serials = serials;
        self
    }
}

/// A bounded, thread-safe map from chain digest to verified-chain entry,
/// with an index from presented endorsement bytes to chain digest.
#[derive(Debug)]
pub(crate) struct ChainCache(WindowCache<Entry>);

impl ChainCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self(WindowCache::new(capacity))
    }

    pub(crate) fn enabled(&self) -> bool {
        self.0.enabled()
    }

    /// The entry for `key` if present **and** `at` lies inside its window.
    pub(crate) fn get(&self, key: &ChainKey, at: u64) -> Option<Arc<Entry>> {
        self.0.get(key, at)
    }

    /// The entry of the chain these presented endorsements selected before,
    /// if still cached and `at` lies inside its window. A miss here is not
    /// counted (the caller falls back to [`ChainCache::get`]).
    pub(crate) fn get_presented(&self, key: &PresentationKey, at: u64) -> Option<Arc<Entry>> {
        self.0.get_aliased(&key.0, at)
    }

    /// Record that `presented` selected the (verified, cached) chain `chain`.
    pub(crate) fn index(&self, presented: PresentationKey, chain: ChainKey) {
        self.0.alias(presented.0, chain);
    }

    /// Store a verified chain, evicting the least recently used entry when full.
    pub(crate) fn insert(&self, key: ChainKey, entry: Arc<Entry>) {
        let window = entry.window;
        self.0.insert(key, window, entry);
    }

    pub(crate) fn clear(&self) {
        self.0.clear();
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.0.stats()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::{CryptoProvider, RUST_CRYPTO};

    fn key() -> Arc<dyn P384PublicKey> {
        // The P-384 generator point, uncompressed.
        let g = hex::decode(concat!(
            "04",
            "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
            "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"
        ))
        .unwrap();
        RUST_CRYPTO.p384_public_key(&g).unwrap()
    }

    /// A Milan entry valid in [10, 20].
    fn entry() -> Arc<Entry> {
        Arc::new(Entry::new(
            Product::Milan,
            ValidityWindow::new(10, 20),
            key(),
            AmdExtensions::default(),
        ))
    }

    #[test]
    fn window_capacity_and_lru_eviction() {
        let c = ChainCache::new(2);
        let k = |i: u8| chain_key(&[i], b"ask", b"vcek");
        c.insert(k(1), entry());
        c.insert(k(2), entry());
        // Outside the window: a miss, whatever is stored.
        assert!(c.get(&k(1), 9).is_none());
        assert!(c.get(&k(1), 21).is_none());
        assert!(c.get(&k(1), 10).is_some());
        assert!(c.get(&k(1), 20).is_some());
        // k(2) is now the least recently used: inserting k(3) evicts it.
        c.insert(k(3), entry());
        assert!(c.get(&k(2), 15).is_none());
        assert!(c.get(&k(1), 15).is_some());
        assert!(c.get(&k(3), 15).is_some());
        let s = c.stats();
        assert_eq!(
            (s.capacity, s.entries, s.hits, s.misses, s.evictions),
            (2, 2, 4, 3, 1)
        );
        c.clear();
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn presentation_index_is_bounded_and_follows_evictions() {
        let c = ChainCache::new(1);
        let pk = |i: u8| {
            presentation_key(
                SnpSigningKey::Vcek,
                Some(Product::Genoa),
                [("signing-cert-der", &[i][..])].into_iter(),
            )
        };
        let ck = chain_key(b"ark", b"ask", b"vcek");
        c.insert(
            ck,
            Arc::new(Entry::new(
                Product::Genoa,
                ValidityWindow::new(10, 20),
                key(),
                AmdExtensions::default(),
            )),
        );
        for i in 0..10 {
            c.index(pk(i), ck);
        }
        assert_eq!(c.0.alias_count(), tee_core::cache::ALIASES_PER_ENTRY);
        assert!(c.get_presented(&pk(9), 15).is_some());
        assert!(
            c.get_presented(&pk(9), 21).is_none(),
            "window still applies"
        );
        // The chain evicted: the index entry is a miss.
        let other = chain_key(b"ark", b"ask", b"other");
        c.insert(
            other,
            Arc::new(Entry::new(
                Product::Genoa,
                ValidityWindow::new(10, 20),
                key(),
                AmdExtensions::default(),
            )),
        );
        assert!(c.get_presented(&pk(9), 15).is_none());
        c.index(pk(100), other);
        assert!(c.get_presented(&pk(100), 15).is_some());
        // Key kind, product and endorsement boundaries all bind.
        let base = presentation_key(SnpSigningKey::Vcek, None, [("a", &b"bc"[..])].into_iter());
        assert_ne!(
            base,
            presentation_key(SnpSigningKey::Vlek, None, [("a", &b"bc"[..])].into_iter())
        );
        assert_ne!(
            base,
            presentation_key(
                SnpSigningKey::Vcek,
                Some(Product::Milan),
                [("a", &b"bc"[..])].into_iter()
            )
        );
        assert_ne!(
            base,
            presentation_key(SnpSigningKey::Vcek, None, [("ab", &b"c"[..])].into_iter())
        );
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let c = ChainCache::new(0);
        c.insert(
            chain_key(b"a", b"b", b"c"),
            Arc::new(Entry::new(
                Product::Milan,
                ValidityWindow::new(0, 1),
                key(),
                AmdExtensions::default(),
            )),
        );
        assert!(c.get(&chain_key(b"a", b"b", b"c"), 0).is_none());
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn key_binds_every_certificate_and_boundaries() {
        let base = chain_key(b"ark", b"ask", b"vcek");
        assert_ne!(base, chain_key(b"ark", b"ask", b"vcel"));
        assert_ne!(base, chain_key(b"ark", b"asl", b"vcek"));
        assert_ne!(base, chain_key(b"arl", b"ask", b"vcek"));
        // Moving bytes between certificates changes the key.
        assert_ne!(base, chain_key(b"arka", b"sk", b"vcek"));
    }
}
