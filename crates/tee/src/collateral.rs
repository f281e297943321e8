//! Collateral that never goes stale (feature `collateral`): one manager for
//! AMD (VCEK, ASK/ASVK/ARK chains, CRLs) and Intel (TDX TCB info, QE
//! identity, PCK CRL, root CA CRL) collateral.
//!
//! The [`Manager`] turns evidence into the verification inputs it needs,
//! **before** verification (which stays pure: no I/O, explicit inputs):
//!
//! ```no_run
//! # fn demo(ev: tee::Evidence) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tee::collateral::{Config, Manager};
//! let m = Arc::new(Manager::online(
//!     tee::collateral::PlainHttp::default(), // or an HTTPS transport
//!     "/var/lib/tee/collateral",
//!     Config::default(),
//! )?);
//! let now = tee::UnixTime::now();
//! let p = m.prepare(&ev, now)?; // CollateralError::Unavailable -> 503 + Retry-After
//! let claims = p.verifiers.verify(&p.evidence, now)?;
//! # Ok(()) }
//! ```
//!
//! The generic machinery (single flight, backoff, freshness windows, the
//! disk store, bundles) is [`tee_fetch::cache`]; the backends describe
//! their artifacts (`tee_sev::kds::artifact`, `tee_tdx::pcs::artifact`);
//! this module composes them. See `docs/collateral.md`.

use core::fmt;
use core::time::Duration;
#[cfg(any(feature = "sev-snp", feature = "tdx"))]
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
#[cfg(any(feature = "sev-snp", feature = "tdx"))]
use std::sync::{Mutex, PoisonError};

pub use tee_fetch::cache::{
    Artifact, Backoff, Body, Bundle, BundleError, Cache, DiskStore, FreshnessPolicy, Kinds,
    MAX_BUNDLE_LEN, Metrics, Unavailable, Validity,
};
use tee_fetch::cache::{CacheError, Descriptor};
pub use tee_fetch::{FetchError, PlainHttp, RetryPolicy, Transport};

use crate::{Error, Evidence, Platform, UnixTime, Verifiers};

/// AMD's Key Distribution Service.
pub const AMD_KDS: &str = "https://kdsintf.amd.com";
/// Intel's Provisioning Certification Service.
pub const INTEL_PCS: &str = "https://api.trustedservices.intel.com";
/// Intel's SGX Root CA CRL.
pub const INTEL_ROOT_CRL: &str =
    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

/// How a [`Manager`] fetches and how long it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// AMD KDS base URL (or a mirror).
    pub kds_base: String,
    /// Intel PCS (or PCCS) base URL.
    pub pcs_base: String,
    /// Intel root CA CRL URL.
    pub intel_root_crl_url: String,
    /// Maximum ages per kind and refresh-ahead margin.
    pub freshness: FreshnessPolicy,
    /// Waits after failed fetches.
    pub backoff: Backoff,
    /// Retries inside one fetch (keep short; `backoff` handles outages).
    pub retry: RetryPolicy,
    /// SEV-SNP: verify without an AMD CRL when none can be had (the claims
    /// then say `revocation_checked = false`, and appraisal still fails
    /// unless the policy sets `[sev-snp] allow_unchecked_revocation`).
    /// Default `false`: no CRL is `Unavailable`.
    pub allow_unchecked_revocation: bool,
    /// SEV-SNP: also fetch and attach the `[ASK, ARK]` / `[ASVK, ARK]`
    /// chain (the verifier has AMD's pinned chains; default `false`).
    pub amd_cert_chain: bool,
    /// `retry_after` of an offline manager's misses.
    pub offline_retry_after: Duration,
}

impl Default for Config {
    /// AMD's KDS and Intel's PCS, [`FreshnessPolicy::default`] (no maximum
    /// age besides each artifact's own validity), [`Backoff::default`], two
    /// attempts per fetch, CRLs required.
    fn default() -> Self {
        Self {
            kds_base: AMD_KDS.into(),
            pcs_base: INTEL_PCS.into(),
            intel_root_crl_url: INTEL_ROOT_CRL.into(),
            freshness: FreshnessPolicy::default(),
            backoff: Backoff::default(),
            retry: RetryPolicy::new(2, Duration::from_millis(200), Duration::from_secs(1)),
            allow_unchecked_revocation: false,
            amd_cert_chain: false,
            offline_retry_after: Duration::from_secs(3600),
        }
    }
}

impl Config {
    /// A PCCS or mirror at `base` for Intel collateral, with the PCCS-style
    /// root CRL URL (`{base}/sgx/certification/v4/rootcacrl`).
    #[must_use]
    pub fn with_pccs(mut self, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        self.pcs_base = base.into();
        self.intel_root_crl_url = format!("{base}/sgx/certification/v4/rootcacrl");
        self
    }

    /// A KDS mirror at `base`.
    #[must_use]
    pub fn with_kds(mut self, base: &str) -> Self {
        self.kds_base = base.trim_end_matches('/').into();
        self
    }

    /// Set [`Config::allow_unchecked_revocation`].
    #[must_use]
    pub fn allowing_unchecked_revocation(mut self, allow: bool) -> Self {
        self.allow_unchecked_revocation = allow;
        self
    }

    /// Set the freshness policy.
    #[must_use]
    pub fn with_freshness(mut self, f: FreshnessPolicy) -> Self {
        self.freshness = f;
        self
    }

    /// Set the backoff.
    #[must_use]
    pub fn with_backoff(mut self, b: Backoff) -> Self {
        self.backoff = b;
        self
    }

    /// Set the per-fetch retry policy.
    #[must_use]
    pub fn with_retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }
}

/// Why a manager produced no verification inputs. Each variant is a decision.
#[derive(Debug)]
#[non_exhaustive]
pub enum CollateralError {
    /// Collateral the evidence needs cannot be served now (missing, past its
    /// `nextUpdate` / maximum age, fetch failing or backing off): ask again
    /// after `retry_after` (a service answers 503 with `Retry-After`).
    /// Never a reason to accept the evidence.
    Unavailable {
        /// The artifact id (e.g. `amd/vcek-crl/Milan`).
        artifact: String,
        /// When asking again may help.
        retry_after: Duration,
        /// Why.
        reason: Unavailable,
    },
    /// The evidence does not say which collateral it needs (it does not
    /// parse, its chip id is masked, it is signed by a VLEK it does not
    /// carry): a client error.
    Evidence(Error),
    /// The disk store cannot be opened.
    Store {
        /// The directory.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A bundle cannot be read (I/O, malformed, unknown version, bad artifact).
    Bundle(BundleError),
}

impl CollateralError {
    /// The `retry_after` of [`CollateralError::Unavailable`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl fmt::Display for CollateralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable {
                artifact,
                retry_after,
                reason,
            } => write!(
                f,
                "collateral {artifact} unavailable ({reason}); retry after {} s",
                retry_after.as_secs()
            ),
            Self::Evidence(e) => write!(f, "cannot tell the evidence's collateral: {e}"),
            Self::Store { path, detail } => {
                write!(f, "collateral store {}: {detail}", path.display())
            }
            Self::Bundle(e) => write!(f, "collateral bundle: {e}"),
        }
    }
}

impl std::error::Error for CollateralError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Evidence(e) => Some(e),
            Self::Bundle(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CacheError> for CollateralError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Unavailable {
                id,
                retry_after,
                reason,
            } => Self::Unavailable {
                artifact: id,
                retry_after,
                reason,
            },
            CacheError::BadId { id } => {
                Self::Evidence(Error::encoding("collateral artifact id", id))
            }
            other => Self::Evidence(Error::encoding("collateral", other)),
        }
    }
}

impl From<BundleError> for CollateralError {
    fn from(e: BundleError) -> Self {
        Self::Bundle(e)
    }
}

/// Evidence and the verifiers to verify it with, collateral included.
#[derive(Debug)]
#[non_exhaustive]
pub struct Prepared {
    /// The evidence with fetched endorsements attached (SEV-SNP: the VCEK
    /// when it did not carry one, and the chain when configured).
    pub evidence: Evidence,
    /// The verifiers, the evidence platform's configured with its
    /// collateral (SEV-SNP: the AMD CRL; TDX: the Intel collateral).
    pub verifiers: Verifiers,
    /// The ids of the artifacts used.
    pub artifacts: Vec<String>,
}

/// Reads every artifact kind the compiled-in backends know.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllKinds;

impl Kinds for AllKinds {
    fn validity(&self, kind: &str, body: &Body) -> crate::Result<Validity> {
        #[cfg(feature = "sev-snp")]
        if let Some(v) = tee_sev::kds::artifact::validity(kind, body) {
            return v;
        }
        #[cfg(feature = "tdx")]
        if let Some(v) = tee_tdx::pcs::artifact::validity(kind, body) {
            return v;
        }
        let _ = body;
        Err(Error::unsupported(
            Platform::Mock,
            crate::Operation::Verification,
            format!("collateral kind {kind} is not known to this build"),
        ))
    }
}

#[cfg(feature = "sev-snp")]
type SnpMemo = HashMap<String, (Arc<Artifact>, tee_sev::SnpVerifier)>;
#[cfg(feature = "tdx")]
type TdxMemo = HashMap<String, ([Arc<Artifact>; 4], tee_tdx::Collateral)>;

/// The collateral manager: `Send + Sync`, share it in an [`Arc`].
///
/// Construct it [`Manager::online`] (fetching, with a disk store),
/// [`Manager::offline_dir`] (a store directory, read only) or
/// [`Manager::from_bundle`]; then [`Manager::prepare`] each evidence.
pub struct Manager {
    cache: Cache,
    config: Config,
    trust_mock_root: bool,
    #[cfg(feature = "sev-snp")]
    snp: tee_sev::SnpVerifier,
    #[cfg(feature = "sev-snp")]
    snp_memo: Mutex<SnpMemo>,
    #[cfg(feature = "tdx")]
    tdx: tee_tdx::TdxVerifier,
    #[cfg(feature = "tdx")]
    tdx_memo: Mutex<TdxMemo>,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("cache", &self.cache)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(any(feature = "sev-snp", feature = "tdx"))]
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(any(feature = "sev-snp", feature = "tdx"))]
fn evidence_err(e: Error) -> CollateralError {
    CollateralError::Evidence(e)
}

impl Manager {
    fn with_cache(cache: Cache, config: Config) -> Self {
        let cache = cache
            .with_freshness(config.freshness.clone())
            .with_backoff(config.backoff)
            .with_offline_retry_after(config.offline_retry_after);
        Self {
            cache,
            config,
            trust_mock_root: false,
            #[cfg(feature = "sev-snp")]
            snp: tee_sev::SnpVerifier::new(),
            #[cfg(feature = "sev-snp")]
            snp_memo: Mutex::new(HashMap::new()),
            #[cfg(feature = "tdx")]
            tdx: tee_tdx::TdxVerifier::new(),
            #[cfg(feature = "tdx")]
            tdx_memo: Mutex::new(HashMap::new()),
        }
    }

    /// A manager fetching over `transport` into the disk store `store_dir`
    /// (created if missing; what it holds is loaded now, so a restart
    /// starts warm; replicas may share it).
    ///
    /// # Errors
    /// [`CollateralError::Store`] when the directory cannot be created.
    pub fn online(
        transport: impl Transport + 'static,
        store_dir: impl Into<PathBuf>,
        config: Config,
    ) -> Result<Self, CollateralError> {
        let dir = store_dir.into();
        let store = DiskStore::open(&dir).map_err(|e| CollateralError::Store {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        let cache =
            Cache::online(Arc::new(AllKinds), Arc::new(transport), config.retry).with_store(store);
        let m = Self::with_cache(cache, config);
        m.cache.load_store();
        Ok(m)
    }

    /// A manager fetching over `transport` with no disk store (memory only).
    pub fn online_in_memory(transport: impl Transport + 'static, config: Config) -> Self {
        let cache = Cache::online(Arc::new(AllKinds), Arc::new(transport), config.retry);
        Self::with_cache(cache, config)
    }

    /// An offline manager over a store directory (written by an online
    /// manager or `teectl collateral fetch`), read only, re-read on misses.
    ///
    /// # Errors
    /// [`CollateralError::Store`] when `dir` is not a directory.
    pub fn offline_dir(dir: impl AsRef<Path>) -> Result<Self, CollateralError> {
        Self::offline_dir_with(dir, Config::default())
    }

    /// [`Manager::offline_dir`] with a configuration (freshness, CRL rules).
    ///
    /// # Errors
    /// As [`Manager::offline_dir`].
    pub fn offline_dir_with(
        dir: impl AsRef<Path>,
        config: Config,
    ) -> Result<Self, CollateralError> {
        let dir = dir.as_ref();
        let store = DiskStore::open_read_only(dir).map_err(|e| CollateralError::Store {
            path: dir.to_owned(),
            detail: e.to_string(),
        })?;
        let m = Self::with_cache(Cache::offline(Arc::new(AllKinds)).with_store(store), config);
        m.cache.load_store();
        Ok(m)
    }

    /// An offline manager holding a bundle's artifacts.
    ///
    /// # Errors
    /// [`CollateralError::Bundle`] (I/O, malformed, unknown version, an
    /// artifact failing its checks).
    pub fn from_bundle(path: impl AsRef<Path>) -> Result<Self, CollateralError> {
        Self::from_bundle_with(path, Config::default())
    }

    /// [`Manager::from_bundle`] with a configuration.
    ///
    /// # Errors
    /// As [`Manager::from_bundle`].
    pub fn from_bundle_with(
        path: impl AsRef<Path>,
        config: Config,
    ) -> Result<Self, CollateralError> {
        let b = Bundle::read(path.as_ref(), &AllKinds)?;
        let m = Self::with_cache(Cache::offline(Arc::new(AllKinds)), config);
        m.cache.import(b.artifacts)?;
        Ok(m)
    }

    /// An offline manager holding the artifacts of a bundle given as bytes
    /// (its JSON, as [`Manager::from_bundle`] reads from a file): for
    /// callers without a filesystem (bindings, WebAssembly).
    ///
    /// # Errors
    /// [`CollateralError::Bundle`] (too large, malformed, unknown version,
    /// an artifact failing its checks).
    pub fn from_bundle_bytes(bytes: &[u8], config: Config) -> Result<Self, CollateralError> {
        let b = Bundle::from_json(bytes, &AllKinds)?;
        let m = Self::with_cache(Cache::offline(Arc::new(AllKinds)), config);
        m.cache.import(b.artifacts)?;
        Ok(m)
    }

    /// A bundle file or a store directory, offline.
    ///
    /// # Errors
    /// As [`Manager::from_bundle`] or [`Manager::offline_dir`].
    pub fn open_offline(path: impl AsRef<Path>, config: Config) -> Result<Self, CollateralError> {
        let p = path.as_ref();
        if p.is_dir() {
            Self::offline_dir_with(p, config)
        } else {
            Self::from_bundle_with(p, config)
        }
    }

    /// Trust the mock root in the verifiers handed out (tests and demos;
    /// appraisal still denies mock evidence unless `allow_mock`). **NO SECURITY.**
    #[must_use]
    pub fn trusting_mock_root(mut self) -> Self {
        self.trust_mock_root = true;
        self
    }

    /// The SEV-SNP verifier the handed-out verifiers derive from (crypto
    /// provider, cache size); its verified-chain cache is shared by all.
    #[cfg(feature = "sev-snp")]
    #[must_use]
    pub fn with_snp_verifier(mut self, v: tee_sev::SnpVerifier) -> Self {
        self.snp = v;
        lock(&self.snp_memo).clear();
        self
    }

    /// The TDX verifier the handed-out verifiers derive from.
    #[cfg(feature = "tdx")]
    #[must_use]
    pub fn with_tdx_verifier(mut self, v: tee_tdx::TdxVerifier) -> Self {
        self.tdx = v;
        self
    }

    /// The SEV-SNP verifier the handed-out verifiers derive from (its
    /// clones share its verified-chain cache: `cache_stats` counts them all).
    #[cfg(feature = "sev-snp")]
    pub fn snp_verifier(&self) -> &tee_sev::SnpVerifier {
        &self.snp
    }

    /// The TDX verifier the handed-out verifiers derive from (its clones
    /// share its verified-collateral cache).
    #[cfg(feature = "tdx")]
    pub fn tdx_verifier(&self) -> &tee_tdx::TdxVerifier {
        &self.tdx
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters (cache hits, fetches, fetch failures, ...).
    pub fn metrics(&self) -> Metrics {
        self.cache.metrics()
    }

    /// Every artifact held, by id.
    pub fn artifacts(&self) -> Vec<Arc<Artifact>> {
        self.cache.artifacts()
    }

    /// Everything held, as a bundle made at `now`.
    pub fn bundle(&self, now: UnixTime) -> Bundle {
        Bundle::new(
            now.as_secs(),
            self.artifacts().iter().map(|a| (**a).clone()).collect(),
        )
    }

    /// The verifiers without any collateral (platforms that need none).
    fn base_verifiers(&self) -> Verifiers {
        #[allow(unused_mut)]
        let mut v = Verifiers::empty();
        #[cfg(feature = "sev-snp")]
        {
            v = v.with(Box::new(self.snp.clone()));
        }
        #[cfg(feature = "tdx")]
        {
            v = v.with(Box::new(self.tdx.clone()));
        }
        #[cfg(feature = "pef")]
        {
            v = v.with(Box::new(tee_pef::PefVerifier::new()));
        }
        #[cfg(feature = "mock")]
        {
            v = if self.trust_mock_root {
                v.with(Box::new(tee_mock::MockVerifier::trusting_mock_root()))
            } else {
                v.with(Box::new(tee_mock::MockVerifier::new()))
            };
        }
        v
    }

    /// The verifiers for `evidence` at `now`, its platform's configured
    /// with the collateral it needs. For SEV-SNP evidence that does not
    /// carry its VCEK, verify [`Manager::prepare`]'s evidence instead (the
    /// VCEK is an endorsement of the evidence, not a verifier setting).
    ///
    /// # Errors
    /// As [`Manager::prepare`].
    pub fn verifiers_for(
        &self,
        evidence: &Evidence,
        now: UnixTime,
    ) -> Result<Verifiers, CollateralError> {
        self.prepare(evidence, now).map(|p| p.verifiers)
    }

    /// The evidence (with fetched endorsements) and verifiers for it at `now`.
    ///
    /// # Errors
    /// [`CollateralError::Unavailable`] when needed collateral cannot be
    /// served now; [`CollateralError::Evidence`] when the evidence does not
    /// say which collateral it needs.
    pub fn prepare(&self, evidence: &Evidence, now: UnixTime) -> Result<Prepared, CollateralError> {
        let _ = now; // read by the SEV-SNP and TDX arms only
        match evidence.platform {
            #[cfg(feature = "sev-snp")]
            Platform::SevSnp => self.prepare_snp(evidence, now),
            #[cfg(feature = "tdx")]
            Platform::Tdx => self.prepare_tdx(evidence, now),
            _ => Ok(Prepared {
                evidence: evidence.clone(),
                verifiers: self.base_verifiers(),
                artifacts: Vec::new(),
            }),
        }
    }

    /// Fetch (or find) every artifact `evidence` needs; their ids.
    ///
    /// # Errors
    /// As [`Manager::prepare`].
    pub fn fetch_for(
        &self,
        evidence: &Evidence,
        now: UnixTime,
    ) -> Result<Vec<String>, CollateralError> {
        self.prepare(evidence, now).map(|p| p.artifacts)
    }

    /// Refresh every held artifact due at `now` (a service's background
    /// task calls this, e.g. every minute). Returns `(refreshed, failed)`.
    pub fn refresh_due(&self, now: UnixTime) -> (usize, usize) {
        self.cache
            .refresh_due(now.as_secs(), |a| self.describe(&a.id))
    }

    /// The descriptor of a held artifact, from its id.
    fn describe(&self, id: &str) -> Option<Box<dyn Descriptor>> {
        let parts: Vec<&str> = id.split('/').collect();
        match parts.as_slice() {
            #[cfg(feature = "sev-snp")]
            ["amd", ..] => self.describe_amd(&parts[1..]),
            #[cfg(feature = "tdx")]
            ["intel", ..] => self.describe_intel(&parts[1..]),
            _ => None,
        }
    }
}

/// An artifact from local bytes, its validity read by kind.
#[cfg(any(feature = "sev-snp", feature = "tdx"))]
fn artifact_of(
    d: &dyn Descriptor,
    body: Body,
    source: &str,
    now: UnixTime,
) -> Result<Artifact, CollateralError> {
    let validity = AllKinds.validity(d.kind(), &body).map_err(evidence_err)?;
    Ok(Artifact {
        id: d.id(),
        kind: d.kind().to_owned(),
        source: source.to_owned(),
        fetched_at: now.as_secs(),
        body,
        validity,
    })
}

impl Manager {
    /// Add artifacts (built from local files, or another manager's); a
    /// held copy is replaced only by a later one. How many were taken.
    ///
    /// # Errors
    /// [`CollateralError::Bundle`] (`BadArtifact`) when an artifact's
    /// validity does not match its bytes.
    pub fn import(&self, artifacts: Vec<Artifact>) -> Result<usize, CollateralError> {
        Ok(self.cache.import(artifacts)?)
    }
}

#[cfg(feature = "sev-snp")]
mod snp;
#[cfg(feature = "tdx")]
mod tdx;
