//! A bounded, thread-safe validity-window cache: the one cache behind the
//! backends' verifier caches (SEV-SNP verified chains, TDX verified
//! collateral).
//!
//! - **Keyed by a digest** ([`CacheKey`], 32 bytes) of the exact bytes an
//!   entry covers; build it with [`KeyHasher`] (SHA-256, domain-separated,
//!   every part length-prefixed, so moving bytes between parts changes it).
//! - **Used only inside its window**: every entry carries a
//!   [`ValidityWindow`] `[not_before, not_after]` (Unix seconds, both
//!   inclusive); a lookup at a time outside it is a miss, whatever is stored.
//!   The caller then runs its full verification, which reports the precise
//!   error. A cache can therefore never turn a failure into a success, as
//!   long as callers store only successes.
//! - **Bounded**: at most `capacity` entries, the least recently used one
//!   evicted; capacity 0 disables the cache (nothing stored, every lookup
//!   `None`, uncounted).
//! - **Aliases** (optional): a secondary index from another digest (e.g. of
//!   the endorsement bytes as received) to an entry's key, bounded to
//!   [`ALIASES_PER_ENTRY`] × capacity; an alias whose target was evicted is a
//!   miss. Lookups through an alias apply the same window check.
//! - **Thread-safe**: an `RwLock` (hits take the read lock only) and atomic
//!   counters; a poisoned lock is recovered (the maps hold no invariant a
//!   panicking writer could break). [`CacheStats`] are the shared counters.
//!
//! Pure data structure: no I/O, no clock (the caller passes `at`), no unsafe.
//!
//! ```
//! use std::sync::Arc;
//! use tee_core::cache::{KeyHasher, ValidityWindow, WindowCache};
//!
//! let cache: WindowCache<&str> = WindowCache::new(2);
//! let key = KeyHasher::new("example v1").part(b"cert bytes").finish();
//! cache.insert(key, ValidityWindow::new(10, 20), Arc::new("verified"));
//! assert!(cache.get(&key, 15).is_some());
//! assert!(cache.get(&key, 21).is_none()); // outside the window
//! assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
//! ```

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::sync::RwLock;

use sha2::{Digest, Sha256};

/// Digest of the exact bytes a cache entry covers.
pub type CacheKey = [u8; 32];

/// Aliases kept per entry of capacity (see [`WindowCache::alias`]).
pub const ALIASES_PER_ENTRY: usize = 4;

/// Builder of a [`CacheKey`]: SHA-256 over a domain string and
/// length-prefixed parts.
#[derive(Clone)]
pub struct KeyHasher(Sha256);

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHasher").finish_non_exhaustive()
    }
}

impl KeyHasher {
    /// A hasher for keys of one kind; `domain` separates kinds (include a version).
    pub fn new(domain: &str) -> Self {
        let mut h = Sha256::new();
        h.update((domain.len() as u64).to_be_bytes());
        h.update(domain.as_bytes());
        Self(h)
    }

    /// Add one part (its length first, so part boundaries bind).
    #[must_use]
    pub fn part(mut self, bytes: &[u8]) -> Self {
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
        self
    }

    /// Add an optional part (presence binds: `None` differs from `Some(&[])`).
    #[must_use]
    pub fn optional(mut self, bytes: Option<&[u8]>) -> Self {
        match bytes {
            None => {
                self.0.update([0]);
                self
            }
            Some(b) => {
                self.0.update([1]);
                self.part(b)
            }
        }
    }

    /// The key.
    pub fn finish(self) -> CacheKey {
        self.0.finalize().into()
    }
}

/// The times at which an entry may be used: `[not_before, not_after]`, Unix
/// seconds, both inclusive. Typically the intersection of the validity
/// periods of everything the entry covers (see [`ValidityWindow::intersect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidityWindow {
    /// First second at which the entry may be used.
    pub not_before: u64,
    /// Last second at which the entry may be used.
    pub not_after: u64,
}

impl ValidityWindow {
    /// The window `[not_before, not_after]` (empty if `not_before > not_after`).
    pub const fn new(not_before: u64, not_after: u64) -> Self {
        Self {
            not_before,
            not_after,
        }
    }

    /// The intersection of windows given as `(not_before, not_after)` pairs:
    /// the latest start and the earliest end. No window at all gives an empty
    /// window (never usable).
    pub fn intersect(windows: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut any = false;
        let mut w = Self::new(0, u64::MAX);
        for (nb, na) in windows {
            any = true;
            w.not_before = w.not_before.max(nb);
            w.not_after = w.not_after.min(na);
        }
        if any { w } else { Self::new(u64::MAX, 0) }
    }

    /// Whether the window holds no second at all.
    pub fn is_empty(&self) -> bool {
        self.not_before > self.not_after
    }

    /// Whether `at` lies inside the window.
    pub fn contains(&self, at: u64) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

/// Counters of a verifier cache, for tests and monitoring (the same type
/// for every backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Maximum number of entries (0: caching disabled).
    pub capacity: usize,
    /// Current number of entries.
    pub entries: usize,
    /// Lookups served from an entry.
    pub hits: u64,
    /// Lookups that found no usable entry (absent, or outside its window).
    pub misses: u64,
    /// Entries evicted to stay within capacity.
    pub evictions: u64,
}

struct Slot<V> {
    value: Arc<V>,
    window: ValidityWindow,
    last_used: AtomicU64,
}

struct Maps<V> {
    entries: HashMap<CacheKey, Slot<V>>,
    aliases: HashMap<CacheKey, CacheKey>,
}

/// A bounded, thread-safe map from [`CacheKey`] to values usable only inside
/// their [`ValidityWindow`] (see the [module docs](self)).
pub struct WindowCache<V> {
    capacity: usize,
    maps: RwLock<Maps<V>>,
    clock: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl<V> fmt::Debug for WindowCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.stats();
        f.debug_struct("WindowCache")
            .field("capacity", &s.capacity)
            .field("entries", &s.entries)
            .finish_non_exhaustive()
    }
}

impl<V> WindowCache<V> {
    /// An empty cache of at most `capacity` entries (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            maps: RwLock::new(Maps {
                entries: HashMap::new(),
                aliases: HashMap::new(),
            }),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// Maximum number of entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the cache stores anything (capacity > 0).
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Current number of entries.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps<V>> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps<V>> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    fn found(&self, slot: Option<&Slot<V>>, at: u64) -> Option<Arc<V>> {
        let slot = slot.filter(|s| s.window.contains(at))?;
        slot.last_used.store(self.tick(), Ordering::Relaxed);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(Arc::clone(&slot.value))
    }

    /// The value for `key` if present **and** `at` lies inside its window.
    /// Counts a hit or a miss.
    pub fn get(&self, key: &CacheKey, at: u64) -> Option<Arc<V>> {
        if !self.enabled() {
            return None;
        }
        let v = {
            let maps = self.read();
            self.found(maps.entries.get(key), at)
        };
        if v.is_none() {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        v
    }

    /// The value of the entry `alias` points to, if that entry is still
    /// cached **and** `at` lies inside its window. Counts a hit, but not a
    /// miss (the caller falls back to [`WindowCache::get`], which counts it).
    pub fn get_aliased(&self, alias: &CacheKey, at: u64) -> Option<Arc<V>> {
        if !self.enabled() {
            return None;
        }
        let maps = self.read();
        let slot = maps.aliases.get(alias).and_then(|k| maps.entries.get(k));
        self.found(slot, at)
    }

    /// Store `value` under `key`, usable inside `window`, evicting the least
    /// recently used entry when full. An empty window stores nothing.
    pub fn insert(&self, key: CacheKey, window: ValidityWindow, value: Arc<V>) {
        if !self.enabled() || window.is_empty() {
            return;
        }
        let slot = Slot {
            value,
            window,
            last_used: AtomicU64::new(self.tick()),
        };
        let mut maps = self.write();
        let entries = &mut maps.entries;
        if !entries.contains_key(&key) && entries.len() >= self.capacity {
            let victim = entries
                .iter()
                .min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| *k);
            if let Some(v) = victim {
                entries.remove(&v);
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        entries.insert(key, slot);
    }

    /// Record that `alias` leads to the entry `key` (bounded: when full,
    /// aliases of evicted entries go first, then an arbitrary one).
    pub fn alias(&self, alias: CacheKey, key: CacheKey) {
        if !self.enabled() {
            return;
        }
        let limit = self.capacity.saturating_mul(ALIASES_PER_ENTRY);
        let mut maps = self.write();
        let Maps { entries, aliases } = &mut *maps;
        if !aliases.contains_key(&alias) && aliases.len() >= limit {
            aliases.retain(|_, k| entries.contains_key(k));
            if aliases.len() >= limit
                && let Some(k) = aliases.keys().next().copied()
            {
                aliases.remove(&k);
            }
        }
        aliases.insert(alias, key);
    }

    /// Number of aliases held.
    pub fn alias_count(&self) -> usize {
        self.read().aliases.len()
    }

    /// Drop every entry and alias (counters are kept).
    pub fn clear(&self) {
        let mut maps = self.write();
        maps.entries.clear();
        maps.aliases.clear();
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            capacity: self.capacity,
            entries: self.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u8) -> CacheKey {
        KeyHasher::new("test v1").part(&[i]).finish()
    }

    #[test]
    fn window_capacity_and_lru_eviction() {
        let c = WindowCache::new(2);
        let w = ValidityWindow::new(10, 20);
        c.insert(k(1), w, Arc::new(1));
        c.insert(k(2), w, Arc::new(2));
        // Outside the window: a miss, whatever is stored.
        assert!(c.get(&k(1), 9).is_none());
        assert!(c.get(&k(1), 21).is_none());
        assert_eq!(c.get(&k(1), 10).as_deref(), Some(&1));
        assert_eq!(c.get(&k(1), 20).as_deref(), Some(&1));
        // k(2) is now the least recently used: inserting k(3) evicts it.
        c.insert(k(3), w, Arc::new(3));
        assert!(c.get(&k(2), 15).is_none());
        assert!(c.get(&k(1), 15).is_some());
        assert!(c.get(&k(3), 15).is_some());
        let s = c.stats();
        assert_eq!(
            (s.capacity, s.entries, s.hits, s.misses, s.evictions),
            (2, 2, 4, 3, 1)
        );
        // Replacing an existing key evicts nothing.
        c.insert(k(3), w, Arc::new(33));
        assert_eq!(c.stats().evictions, 1);
        assert_eq!(c.get(&k(3), 15).as_deref(), Some(&33));
        c.clear();
        assert_eq!(c.stats().entries, 0);
        assert!(c.is_empty());
    }

    #[test]
    fn disabled_cache_stores_and_counts_nothing() {
        let c = WindowCache::new(0);
        c.insert(k(1), ValidityWindow::new(0, 1), Arc::new(()));
        c.alias(k(9), k(1));
        assert!(c.get(&k(1), 0).is_none());
        assert!(c.get_aliased(&k(9), 0).is_none());
        assert_eq!(c.stats(), CacheStats::default());
        assert_eq!(c.alias_count(), 0);
    }

    #[test]
    fn empty_windows_are_never_stored() {
        let c = WindowCache::new(4);
        c.insert(k(1), ValidityWindow::new(20, 10), Arc::new(()));
        c.insert(k(2), ValidityWindow::intersect([]), Arc::new(()));
        c.insert(
            k(3),
            ValidityWindow::intersect([(0, 10), (11, 20)]),
            Arc::new(()),
        );
        assert_eq!(c.len(), 0);
        let w = ValidityWindow::intersect([(0, 30), (5, 40), (2, 25)]);
        assert_eq!(w, ValidityWindow::new(5, 25));
        assert!(w.contains(5) && w.contains(25) && !w.contains(4) && !w.contains(26));
    }

    #[test]
    fn aliases_are_bounded_and_follow_evictions() {
        let c = WindowCache::new(1);
        let target = k(0);
        c.insert(target, ValidityWindow::new(10, 20), Arc::new(0));
        for i in 0..10 {
            c.alias(k(100 + i), target);
        }
        assert_eq!(c.alias_count(), ALIASES_PER_ENTRY);
        assert!(c.get_aliased(&k(109), 15).is_some());
        assert!(c.get_aliased(&k(109), 21).is_none(), "window still applies");
        // An alias miss is not counted; the hit is.
        assert_eq!((c.stats().hits, c.stats().misses), (1, 0));
        // The target evicted: the alias is a miss.
        c.insert(k(1), ValidityWindow::new(10, 20), Arc::new(1));
        assert!(c.get_aliased(&k(109), 15).is_none());
        c.alias(k(200), k(1));
        assert_eq!(c.get_aliased(&k(200), 15).as_deref(), Some(&1));
        // Aliases of the evicted entry were dropped first.
        assert_eq!(c.alias_count(), 1);
    }

    #[test]
    fn keys_bind_domain_parts_and_boundaries() {
        let base = KeyHasher::new("d").part(b"ab").part(b"c").finish();
        assert_ne!(base, KeyHasher::new("e").part(b"ab").part(b"c").finish());
        assert_ne!(base, KeyHasher::new("d").part(b"a").part(b"bc").finish());
        assert_ne!(base, KeyHasher::new("d").part(b"abc").finish());
        assert_ne!(base, KeyHasher::new("da").part(b"b").part(b"c").finish());
        let none = KeyHasher::new("d").optional(None).finish();
        assert_ne!(none, KeyHasher::new("d").optional(Some(b"")).finish());
        assert_ne!(none, KeyHasher::new("d").part(b"").finish());
        assert_eq!(base, KeyHasher::new("d").part(b"ab").part(b"c").finish());
    }

    #[test]
    fn shared_across_threads() {
        let c = Arc::new(WindowCache::new(8));
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let c = Arc::clone(&c);
                s.spawn(move || {
                    for i in 0..32u8 {
                        let key = k(i % 12);
                        if c.get(&key, 5).is_none() {
                            c.insert(key, ValidityWindow::new(0, 10), Arc::new(t));
                        }
                    }
                });
            }
        });
        let s = c.stats();
        assert!(s.entries <= 8);
        assert_eq!(s.hits + s.misses, 4 * 32);
    }
}
