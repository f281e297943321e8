//! The vendor-neutral collateral cache (feature `cache`).
//!
//! Verifiers need vendor artifacts (certificates, CRLs, signed TCB
//! statements) that live on rate-limited, sometimes unavailable services.
//! [`Cache`] is the machinery that keeps them at hand, whatever the vendor:
//!
//! - artifacts are keyed by a stable id (`amd/vcek-crl/Milan`,
//!   `intel/tdx-tcb-info/B0C06F000000`, ...) and described by a backend's
//!   [`Descriptor`] (id, kind, request, how to accept a `200` body);
//! - how long an artifact may be served is read **from its bytes** by the
//!   backend's [`Kinds`] ([`Validity`]: a CRL's `thisUpdate`..`nextUpdate`,
//!   a certificate's validity, a TCB info's `issueDate`..`nextUpdate`), and
//!   further bounded by a per-kind maximum age from [`FreshnessPolicy`]
//!   (set by configuration; there is no built-in age). Outside its window
//!   an artifact is **never served**: the answer is
//!   [`CacheError::Unavailable`] with a `retry_after`;
//! - **single flight**: concurrent misses of one id make one fetch; the
//!   others wait for it and share its outcome;
//! - **backoff**: after a failed fetch (transport failure, `429`/`5xx`, a
//!   body that does not parse) the id is not fetched again before the
//!   backoff ([`Backoff`]; a `Retry-After` lengthens it); meanwhile a
//!   cached artifact inside its window keeps being served;
//! - **refresh ahead**: an artifact that will leave its window within
//!   [`FreshnessPolicy::refresh_ahead`] is refreshed by the next lookup that
//!   finds no refresh in flight (the others keep being served the cached
//!   copy), or by [`Cache::refresh_due`];
//! - a **disk store** ([`DiskStore`]) that survives restarts and can be
//!   shared by replicas: one file per artifact, written to a temporary file
//!   and renamed into place, each carrying a SHA-256 over its content; a
//!   torn, corrupt or foreign file is ignored (counted in
//!   [`Metrics::store_rejected`]), never served;
//! - **bundles** ([`Bundle`]): every artifact in one portable, versioned
//!   file with fetch times and sources, for air-gapped sites and CI.
//!
//! Time is an explicit input (`now`, Unix seconds) everywhere, as in
//! verification. Nothing here trusts what it stores: the backends' verifiers
//! check every signature; the cache only decides what is fresh enough to
//! hand them.

mod bundle;
mod store;

use core::fmt;
use core::time::Duration;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

pub use bundle::{
    BUNDLE_FORMAT, BUNDLE_VERSION, Bundle, BundleError, MAX_BUNDLE_ARTIFACTS, MAX_BUNDLE_LEN,
};
pub use store::{
    ARTIFACT_FORMAT, ARTIFACT_VERSION, DiskStore, MAX_ARTIFACT_FILE_LEN, STRAY_TEMPORARY_AGE,
};

use crate::{FetchError, Request, Response, RetryPolicy, Transport};

/// Longest artifact id accepted.
pub const MAX_ID_LEN: usize = 200;

/// The bytes kept of one artifact: the body and the response headers the
/// descriptor chose to keep (e.g. Intel's issuer-chain headers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// The response body.
    pub bytes: Vec<u8>,
    /// Kept header fields `(name, value)`, in order.
    pub headers: Vec<(String, String)>,
}

impl Body {
    /// A body without headers.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            headers: Vec::new(),
        }
    }

    /// A kept header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// When an artifact may be served: `from <= now < until` (Unix seconds).
/// A CRL: `thisUpdate`..`nextUpdate`; a signed TCB statement:
/// `issueDate`..`nextUpdate`; a certificate: `notBefore`..`notAfter + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First second the artifact may be served.
    pub from: u64,
    /// First second it may no longer be served (exclusive bound).
    pub until: u64,
}

impl Validity {
    /// `from..until`.
    pub fn new(from: u64, until: u64) -> Self {
        Self { from, until }
    }

    /// Whether `now` lies inside.
    pub fn contains(&self, now: u64) -> bool {
        self.from <= now && now < self.until
    }
}

/// One artifact as fetched (or loaded from a store or a bundle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The stable id.
    pub id: String,
    /// The kind, which names how its validity is read ([`Kinds`]).
    pub kind: String,
    /// Where it came from (the URL fetched).
    pub source: String,
    /// When it was fetched (Unix seconds).
    pub fetched_at: u64,
    /// The kept bytes.
    pub body: Body,
    /// Its validity, read from the bytes by [`Kinds::validity`].
    pub validity: Validity,
}

impl Artifact {
    /// SHA-256 over the id, kind, source, fetch time and kept bytes
    /// (length-prefixed): the integrity check of stored copies.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut part = |b: &[u8]| {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        };
        part(b"tee-fetch artifact v1");
        part(self.id.as_bytes());
        part(self.kind.as_bytes());
        part(self.source.as_bytes());
        part(&self.fetched_at.to_be_bytes());
        part(&self.body.bytes);
        for (k, v) in &self.body.headers {
            part(k.as_bytes());
            part(v.as_bytes());
        }
        h.finalize().into()
    }
}

/// What a backend says about one artifact it needs.
pub trait Descriptor: Send + Sync + fmt::Debug {
    /// The stable id (printable ASCII, at most [`MAX_ID_LEN`] bytes).
    fn id(&self) -> String;
    /// The kind ([`Kinds::validity`] reads validity by kind).
    fn kind(&self) -> &'static str;
    /// The request that fetches it.
    fn request(&self) -> Request;
    /// Check a `200` response and keep what is needed of it.
    ///
    /// # Errors
    /// The backend's typed error when the body is not the artifact (it is
    /// then not stored, and the id backs off like after a failed fetch).
    fn accept(&self, response: Response) -> Result<Body, tee_core::Error>;
}

/// Reads an artifact's validity from its bytes, by kind (each backend
/// provides one; a composite chains them).
pub trait Kinds: Send + Sync + fmt::Debug {
    /// The validity of `body`, an artifact of `kind`.
    ///
    /// # Errors
    /// [`tee_core::Error::Malformed`] when the bytes do not parse, or
    /// [`tee_core::Error::Unsupported`] for a kind this reader does not know.
    fn validity(&self, kind: &str, body: &Body) -> Result<Validity, tee_core::Error>;
}

/// How long artifacts may be served, besides their own validity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FreshnessPolicy {
    /// Maximum age (since fetch) per kind; an older copy is not served.
    pub max_age: BTreeMap<String, Duration>,
    /// Maximum age of kinds not in `max_age` (`None`: only the artifact's
    /// own validity bounds it).
    pub default_max_age: Option<Duration>,
    /// Refresh an artifact this long before it leaves its window.
    pub refresh_ahead: Duration,
}

impl Default for FreshnessPolicy {
    /// No maximum age (each artifact's own validity bounds it), refresh
    /// 6 hours ahead of the end of the window.
    fn default() -> Self {
        Self {
            max_age: BTreeMap::new(),
            default_max_age: None,
            refresh_ahead: Duration::from_secs(6 * 3600),
        }
    }
}

impl FreshnessPolicy {
    /// The maximum age of `kind`.
    pub fn max_age_of(&self, kind: &str) -> Option<Duration> {
        self.max_age.get(kind).copied().or(self.default_max_age)
    }

    /// Set the maximum age of `kind`.
    #[must_use]
    pub fn with_max_age(mut self, kind: impl Into<String>, age: Duration) -> Self {
        self.max_age.insert(kind.into(), age);
        self
    }

    /// The window in which `a` may be served: its validity, cut at
    /// `fetched_at + max_age`.
    pub fn window(&self, a: &Artifact) -> Validity {
        let until = match self.max_age_of(&a.kind) {
            Some(age) => a
                .validity
                .until
                .min(a.fetched_at.saturating_add(age.as_secs())),
            None => a.validity.until,
        };
        Validity::new(a.validity.from, until)
    }

    /// Whether `a` is due for a refresh at `now` (inside `refresh_ahead`
    /// of the end of its window).
    pub fn due(&self, a: &Artifact, now: u64) -> bool {
        now.saturating_add(self.refresh_ahead.as_secs()) >= self.window(a).until
    }
}

/// Waits between failed fetches of one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// Wait after the first failure; doubled after each further one.
    pub initial: Duration,
    /// Upper bound of the doubling.
    pub max: Duration,
    /// Largest `Retry-After` honoured (a longer one is cut to this).
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    /// 30 s doubling to 30 min; `Retry-After` honoured up to 6 h.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(1800),
            max_retry_after: Duration::from_secs(6 * 3600),
        }
    }
}

impl Backoff {
    /// `initial` doubling to `max`, `Retry-After` honoured up to `max_retry_after`.
    pub fn new(initial: Duration, max: Duration, max_retry_after: Duration) -> Self {
        Self {
            initial,
            max,
            max_retry_after,
        }
    }

    /// The wait after `failures` consecutive failures (at least 1), the
    /// last one carrying `retry_after`.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let shift = failures.saturating_sub(1).min(31);
        let d = self.initial.saturating_mul(1u32 << shift).min(self.max);
        match retry_after {
            Some(ra) => d.max(ra.min(self.max_retry_after)),
            None => d,
        }
    }
}

/// Why an artifact is unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailable {
    /// Not in the cache, store or bundle, and nothing to fetch it with.
    Missing,
    /// Held, but outside its window (past `nextUpdate`, expired, or older
    /// than its maximum age), and nothing to fetch a fresh one with.
    Stale {
        /// The end of the window it had.
        until: u64,
    },
    /// The fetch failed.
    FetchFailed(FetchError),
    /// The vendor service answered `404`: it has no such artifact.
    NotFound {
        /// The URL.
        url: String,
    },
    /// The vendor answered `200` with something that is not the artifact.
    Rejected(String),
    /// The id is backing off after failures; no fetch was made.
    BackingOff {
        /// Consecutive failures so far.
        failures: u32,
    },
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("not held and no way to fetch it"),
            Self::Stale { until } => write!(
                f,
                "held copy left its window at {until} and no way to fetch a fresh one"
            ),
            Self::FetchFailed(e) => write!(f, "fetch failed: {e}"),
            Self::NotFound { url } => write!(f, "{url}: 404 Not Found"),
            Self::Rejected(d) => write!(f, "the vendor's answer was rejected: {d}"),
            Self::BackingOff { failures } => {
                write!(f, "backing off after {failures} failed fetch(es)")
            }
        }
    }
}

/// Why a lookup gave no artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheError {
    /// No artifact fresh enough can be served now; ask again after
    /// `retry_after`. Never a reason to accept evidence.
    Unavailable {
        /// The artifact id.
        id: String,
        /// When asking again may help.
        retry_after: Duration,
        /// Why.
        reason: Unavailable,
    },
    /// The descriptor's id is not acceptable (empty, too long, not printable ASCII).
    BadId {
        /// The id.
        id: String,
    },
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable {
                id,
                retry_after,
                reason,
            } => write!(
                f,
                "collateral {id} unavailable ({reason}); retry after {} s",
                retry_after.as_secs()
            ),
            Self::BadId { id } => write!(f, "bad artifact id {id:?}"),
        }
    }
}

impl std::error::Error for CacheError {}

/// Whether `id` is acceptable: printable ASCII without spaces, 1..=[`MAX_ID_LEN`] bytes.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A snapshot of the cache's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that found nothing servable in memory.
    pub misses: u64,
    /// Misses answered from the disk store (another replica or a previous run).
    pub store_hits: u64,
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed (transport, status, rejected body).
    pub fetch_failures: u64,
    /// Lookups answered `Unavailable`.
    pub unavailable: u64,
    /// Stored files ignored as torn, corrupt, foreign or of an unknown version.
    pub store_rejected: u64,
    /// Failed writes to the disk store (the artifact is still served from memory).
    pub store_write_failures: u64,
    /// Artifacts held in memory.
    pub entries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    store_hits: AtomicU64,
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
    unavailable: AtomicU64,
    store_write_failures: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Per-id fetch state, behind the id's single-flight lock.
#[derive(Debug, Default)]
struct KeyState {
    failures: u32,
    /// No fetch before this second.
    next_attempt: u64,
    /// The last failure.
    last: Option<Unavailable>,
}

/// Where a [`Cache`] gets artifacts it does not hold.
#[derive(Debug, Clone)]
enum Source {
    /// Nothing: only what was loaded (a bundle) or is in the store.
    Offline,
    /// A transport (with its per-fetch retry policy).
    Online {
        transport: Arc<dyn Transport>,
        retry: RetryPolicy,
    },
}

/// The collateral cache: memory, an optional disk store, an optional
/// transport. `Send + Sync`; share it in an `Arc`.
#[derive(Debug)]
pub struct Cache {
    mem: RwLock<HashMap<String, Arc<Artifact>>>,
    keys: Mutex<HashMap<String, Arc<Mutex<KeyState>>>>,
    store: Option<DiskStore>,
    source: Source,
    kinds: Arc<dyn Kinds>,
    freshness: FreshnessPolicy,
    backoff: Backoff,
    /// Answer for offline misses.
    offline_retry_after: Duration,
    counters: Counters,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Cache {
    /// An offline cache holding nothing yet (load a [`Bundle`] with
    /// [`Cache::import`], or attach a read-only store).
    pub fn offline(kinds: Arc<dyn Kinds>) -> Self {
        Self {
            mem: RwLock::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            store: None,
            source: Source::Offline,
            kinds,
            freshness: FreshnessPolicy::default(),
            backoff: Backoff::default(),
            offline_retry_after: Duration::from_secs(3600),
            counters: Counters::default(),
        }
    }

    /// A cache fetching over `transport` (each fetch retried by `retry`
    /// inside the call; keep it short, the cache's [`Backoff`] handles
    /// longer outages).
    pub fn online(
        kinds: Arc<dyn Kinds>,
        transport: Arc<dyn Transport>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            source: Source::Online { transport, retry },
            ..Self::offline(kinds)
        }
    }

    /// Back the cache with a disk store (read on misses, written after fetches).
    #[must_use]
    pub fn with_store(mut self, store: DiskStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Set the freshness policy.
    #[must_use]
    pub fn with_freshness(mut self, f: FreshnessPolicy) -> Self {
        self.freshness = f;
        self
    }

    /// Set the backoff after failures.
    #[must_use]
    pub fn with_backoff(mut self, b: Backoff) -> Self {
        self.backoff = b;
        self
    }

    /// The `retry_after` of offline misses (default 1 h).
    #[must_use]
    pub fn with_offline_retry_after(mut self, d: Duration) -> Self {
        self.offline_retry_after = d;
        self
    }

    /// The freshness policy.
    pub fn freshness(&self) -> &FreshnessPolicy {
        &self.freshness
    }

    /// The disk store, if any.
    pub fn store(&self) -> Option<&DiskStore> {
        self.store.as_ref()
    }

    /// Whether the cache can fetch.
    pub fn is_online(&self) -> bool {
        matches!(self.source, Source::Online { .. })
    }

    /// The counters.
    pub fn metrics(&self) -> Metrics {
        let c = &self.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Metrics {
            hits: g(&c.hits),
            misses: g(&c.misses),
            store_hits: g(&c.store_hits),
            fetches: g(&c.fetches),
            fetch_failures: g(&c.fetch_failures),
            unavailable: g(&c.unavailable),
            store_rejected: self.store.as_ref().map_or(0, DiskStore::rejected),
            store_write_failures: g(&c.store_write_failures),
            entries: read(&self.mem).len() as u64,
        }
    }

    /// Every artifact held in memory, by id.
    pub fn artifacts(&self) -> Vec<Arc<Artifact>> {
        let mut v: Vec<_> = read(&self.mem).values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Load every artifact of the disk store into memory (a restart);
    /// returns how many were loaded. Rejected files are counted, not loaded.
    pub fn load_store(&self) -> usize {
        let Some(store) = &self.store else { return 0 };
        let mut n = 0;
        for a in store.load_all(self.kinds.as_ref()) {
            self.put_mem(Arc::new(a));
            n += 1;
        }
        n
    }

    /// Add artifacts (from a [`Bundle`]); a held copy is replaced only by
    /// one fetched later. Returns how many were taken.
    ///
    /// # Errors
    /// [`BundleError::BadArtifact`] when an artifact's bytes do not give
    /// the validity it claims (re-read by kind) or its id is bad; nothing
    /// is imported then.
    pub fn import(&self, artifacts: Vec<Artifact>) -> Result<usize, BundleError> {
        for a in &artifacts {
            check_artifact(self.kinds.as_ref(), a).map_err(|detail| BundleError::BadArtifact {
                id: a.id.clone(),
                detail,
            })?;
        }
        let n = artifacts.len();
        for a in artifacts {
            self.put_mem(Arc::new(a));
        }
        Ok(n)
    }

    fn put_mem(&self, a: Arc<Artifact>) {
        let mut m = write(&self.mem);
        match m.get(&a.id) {
            Some(old) if old.fetched_at > a.fetched_at => {}
            _ => {
                m.insert(a.id.clone(), a);
            }
        }
    }

    fn key_state(&self, id: &str) -> Arc<Mutex<KeyState>> {
        lock(&self.keys).entry(id.to_owned()).or_default().clone()
    }

    /// The artifact `d` describes, servable at `now`: from memory, the
    /// disk store, or one fetch (single flight per id, with backoff).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when nothing inside its window can be
    /// had now; [`CacheError::BadId`] for a bad descriptor id.
    pub fn get(&self, d: &dyn Descriptor, now: u64) -> Result<Arc<Artifact>, CacheError> {
        let id = d.id();
        if !valid_id(&id) {
            return Err(CacheError::BadId { id });
        }
        let held = read(&self.mem).get(&id).cloned();
        if let Some(a) = held.filter(|a| self.freshness.window(a).contains(now)) {
            bump(&self.counters.hits);
            if self.is_online() && self.freshness.due(&a, now) {
                return Ok(self.refresh_ahead(d, &id, a, now));
            }
            return Ok(a);
        }
        bump(&self.counters.misses);
        let state = self.key_state(&id);
        // Single flight: one thread per id past this point; the others
        // wait and find its result.
        let mut st = lock(&state);
        let held = read(&self.mem).get(&id).cloned();
        if let Some(a) = &held
            && self.freshness.window(a).contains(now)
        {
            return Ok(a.clone());
        }
        if let Some(a) = self.load_from_store(&id, now) {
            return Ok(a);
        }
        let stale_until = held.as_ref().map(|a| self.freshness.window(a).until);
        let Source::Online { .. } = &self.source else {
            bump(&self.counters.unavailable);
            return Err(CacheError::Unavailable {
                id,
                retry_after: self.offline_retry_after,
                reason: match stale_until {
                    Some(until) => Unavailable::Stale { until },
                    None => Unavailable::Missing,
                },
            });
        };
        if now < st.next_attempt {
            bump(&self.counters.unavailable);
            return Err(CacheError::Unavailable {
                id,
                retry_after: Duration::from_secs(st.next_attempt - now),
                reason: Unavailable::BackingOff {
                    failures: st.failures,
                },
            });
        }
        match self.fetch(d, &id, now) {
            Ok(a) => {
                *st = KeyState::default();
                Ok(a)
            }
            Err((reason, retry_after)) => {
                let wait = self.fail(&mut st, now, &reason, retry_after);
                bump(&self.counters.unavailable);
                Err(CacheError::Unavailable {
                    id,
                    retry_after: wait,
                    reason,
                })
            }
        }
    }

    /// A held copy is due: refresh it if no other thread is and the id is
    /// not backing off; serve the cached copy on any failure.
    fn refresh_ahead(
        &self,
        d: &dyn Descriptor,
        id: &str,
        held: Arc<Artifact>,
        now: u64,
    ) -> Arc<Artifact> {
        let state = self.key_state(id);
        let Ok(mut st) = state.try_lock() else {
            return held;
        };
        // Another thread may have refreshed while we looked.
        if let Some(a) = read(&self.mem).get(id)
            && !self.freshness.due(a, now)
        {
            return a.clone();
        }
        if now < st.next_attempt {
            return held;
        }
        match self.fetch(d, id, now) {
            Ok(a) => {
                *st = KeyState::default();
                a
            }
            Err((reason, retry_after)) => {
                self.fail(&mut st, now, &reason, retry_after);
                held
            }
        }
    }

    /// Record a failure; the wait before the next attempt.
    fn fail(
        &self,
        st: &mut KeyState,
        now: u64,
        reason: &Unavailable,
        retry_after: Option<Duration>,
    ) -> Duration {
        st.failures = st.failures.saturating_add(1);
        let wait = self.backoff.delay(st.failures, retry_after);
        st.next_attempt = now.saturating_add(wait.as_secs().max(1));
        st.last = Some(reason.clone());
        wait.max(Duration::from_secs(1))
    }

    fn load_from_store(&self, id: &str, now: u64) -> Option<Arc<Artifact>> {
        let a = self.store.as_ref()?.load(id, self.kinds.as_ref())?;
        if !self.freshness.window(&a).contains(now) {
            return None;
        }
        let a = Arc::new(a);
        self.put_mem(a.clone());
        bump(&self.counters.store_hits);
        // The newest copy wins (a replica may have stored an older one).
        read(&self.mem).get(id).cloned()
    }

    /// One fetch of `d` (the caller holds the id's lock).
    #[allow(clippy::type_complexity)]
    fn fetch(
        &self,
        d: &dyn Descriptor,
        id: &str,
        now: u64,
    ) -> Result<Arc<Artifact>, (Unavailable, Option<Duration>)> {
        let Source::Online { transport, retry } = &self.source else {
            return Err((Unavailable::Missing, None));
        };
        bump(&self.counters.fetches);
        let req = d.request();
        let failed = |e: (Unavailable, Option<Duration>)| {
            bump(&self.counters.fetch_failures);
            e
        };
        let resp = crate::Retrying::new(transport.as_ref(), *retry)
            .get(&req)
            .map_err(|e| {
                let ra = match &e {
                    FetchError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                failed((Unavailable::FetchFailed(e), ra))
            })?;
        match resp.status {
            200 => {}
            404 => {
                return Err(failed((
                    Unavailable::NotFound {
                        url: req.url().to_owned(),
                    },
                    None,
                )));
            }
            s => {
                let ra = resp.retry_after();
                return Err(failed((
                    Unavailable::FetchFailed(FetchError::Status {
                        url: req.url().to_owned(),
                        status: s,
                        retry_after: ra,
                    }),
                    ra,
                )));
            }
        }
        let body = d
            .accept(resp)
            .map_err(|e| failed((Unavailable::Rejected(e.to_string()), None)))?;
        let validity = self
            .kinds
            .validity(d.kind(), &body)
            .map_err(|e| failed((Unavailable::Rejected(e.to_string()), None)))?;
        let a = Artifact {
            id: id.to_owned(),
            kind: d.kind().to_owned(),
            source: req.url().to_owned(),
            fetched_at: now,
            body,
            validity,
        };
        if !self.freshness.window(&a).contains(now) {
            // A vendor serving an already-stale artifact: keep nothing.
            return Err(failed((
                Unavailable::Rejected(format!(
                    "fetched {id} is outside its validity window ({}..{}) at {now}",
                    a.validity.from, a.validity.until
                )),
                None,
            )));
        }
        if let Some(store) = &self.store
            && store.save(&a).is_err()
        {
            bump(&self.counters.store_write_failures);
        }
        let a = Arc::new(a);
        write(&self.mem).insert(id.to_owned(), a.clone());
        Ok(a)
    }

    /// Refresh every held artifact due at `now` for which `describe`
    /// gives a descriptor (a background task calls this periodically).
    /// Returns `(refreshed, failed)`.
    pub fn refresh_due(
        &self,
        now: u64,
        describe: impl Fn(&Artifact) -> Option<Box<dyn Descriptor>>,
    ) -> (usize, usize) {
        let (mut ok, mut bad) = (0, 0);
        for a in self.artifacts() {
            if !self.freshness.due(&a, now) {
                continue;
            }
            let Some(d) = describe(&a) else { continue };
            let state = self.key_state(&a.id);
            let mut st = lock(&state);
            if now < st.next_attempt {
                bad += 1;
                continue;
            }
            match self.fetch(d.as_ref(), &a.id, now) {
                Ok(_) => {
                    *st = KeyState::default();
                    ok += 1;
                }
                Err((reason, ra)) => {
                    self.fail(&mut st, now, &reason, ra);
                    bad += 1;
                }
            }
        }
        (ok, bad)
    }
}

/// Re-read an artifact's validity from its bytes; the claimed one must match.
fn check_artifact(kinds: &dyn Kinds, a: &Artifact) -> Result<(), String> {
    if !valid_id(&a.id) {
        return Err("bad id".into());
    }
    let v = kinds
        .validity(&a.kind, &a.body)
        .map_err(|e| e.to_string())?;
    if v != a.validity {
        return Err(format!(
            "recorded validity {}..{} differs from the bytes' {}..{}",
            a.validity.from, a.validity.until, v.from, v.until
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
