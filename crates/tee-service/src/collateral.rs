//! Where the service's verifiers and their collateral come from.
//!
//! [`CollateralSource`] is the seam: for each piece of evidence it hands out
//! the verifiers (pinned roots plus whatever collateral the evidence needs),
//! or says why it cannot. [`EnvelopeSource`] works from what the evidence
//! carries in its SDK envelope (docs/evidence-format.md): the SEV-SNP VCEK/VLEK
//! (`signing-cert-der` or `ghcb-cert-table`, optional `amd-kds-crl-der`) and
//! the TDX collateral (`tdx-collateral-v3-json`). It never fetches.
//! `managed::ManagerSource` (feature `collateral`) takes collateral from
//! the collateral manager: a bundle, a store directory, or an online store.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use tee::evidence::endorsement;
use tee::{Evidence, Platform, UnixTime, Verifiers};

use crate::crypto::Crypto;

/// Why a source has no verifiers for this evidence. Neither is ever a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CollateralError {
    /// The collateral exists but cannot be had now (vendor service down,
    /// rate-limited, cache outside its validity): HTTP 503 with
    /// `Retry-After`.
    Unavailable {
        /// What was needed.
        what: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// The evidence lacks what this source needs and no retry will help
    /// (e.g. TDX evidence without collateral for a source that does not
    /// fetch): HTTP 422.
    Missing {
        /// What was needed.
        what: String,
    },
    /// The evidence does not say which collateral it needs (does not
    /// parse, masked chip id, …): HTTP 400 `malformed_evidence`.
    Evidence {
        /// Why.
        detail: String,
    },
    /// The source itself failed (store unreadable): HTTP 500.
    Source {
        /// Why.
        detail: String,
    },
}

/// Counters a source reports on `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollateralStats {
    /// Verifications answered from a verifier's cache of verified
    /// chains/collateral.
    pub cache_hits: u64,
    /// Lookups that missed those caches.
    pub cache_misses: u64,
    /// Collateral fetches made.
    pub fetches: u64,
    /// Collateral fetches that failed.
    pub fetch_failures: u64,
    /// Collateral lookups answered from the collateral manager's memory.
    pub collateral_hits: u64,
    /// Collateral lookups answered from its disk store (another replica's
    /// fetch, or a previous run's).
    pub collateral_store_hits: u64,
    /// Collateral lookups that found nothing servable in memory.
    pub collateral_misses: u64,
    /// Artifacts refreshed ahead of expiry by the background task.
    pub refreshed: u64,
    /// Background refreshes that failed or were backing off.
    pub refresh_failures: u64,
    /// Collateral artifacts held.
    pub artifacts: u64,
}

/// Evidence ready to verify: possibly with endorsements the source
/// attached (e.g. a fetched VCEK), and the verifiers to verify it with.
#[derive(Debug)]
#[non_exhaustive]
pub struct Ready {
    /// The evidence to verify.
    pub evidence: Evidence,
    /// The verifiers, collateral in place.
    pub verifiers: Arc<Verifiers>,
}

impl Ready {
    /// `evidence` with `verifiers`.
    pub fn new(evidence: Evidence, verifiers: Arc<Verifiers>) -> Self {
        Self {
            evidence,
            verifiers,
        }
    }
}

/// The verifiers (and collateral) for one piece of evidence.
pub trait CollateralSource: Send + Sync + Debug {
    /// The evidence and verifiers able to verify it at `now` (collateral
    /// in place). Called on the service's verification pool (never the
    /// async executor): may block (disk, a fetch).
    ///
    /// # Errors
    /// [`CollateralError`].
    fn prepare(&self, evidence: Evidence, now: UnixTime) -> Result<Ready, CollateralError>;

    /// Counters for `/metrics`.
    fn stats(&self) -> CollateralStats {
        CollateralStats::default()
    }

    /// Whether the service should call [`CollateralSource::refresh`]
    /// periodically (a source that fetches; default `false`).
    fn refreshes(&self) -> bool {
        false
    }

    /// Refresh what is due at `now` (collateral near the end of its
    /// validity). Called on the blocking pool by the service's background
    /// task every `Config::refresh_interval`; may block. Default: nothing.
    fn refresh(&self, now: UnixTime) {
        let _ = now;
    }
}

/// Collateral from the evidence envelope only; one long-lived verifier set
/// whose caches (verified AMD chains, verified Intel collateral) stay warm.
#[derive(Debug)]
pub struct EnvelopeSource {
    verifiers: Arc<Verifiers>,
    #[cfg(feature = "sev-snp")]
    snp: tee::sev::SnpVerifier,
    #[cfg(feature = "tdx")]
    tdx: tee::tdx::TdxVerifier,
}

impl Default for EnvelopeSource {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvelopeSource {
    /// Pinned vendor roots, and the mock root trusted (appraisal still
    /// denies mock evidence unless the policy says `allow_mock = true`);
    /// signatures checked with the build's [`Crypto::build_default`].
    pub fn new() -> Self {
        Self::with_crypto(Crypto::build_default())
    }

    /// As [`EnvelopeSource::new`], signatures checked with `crypto`.
    pub fn with_crypto(crypto: Crypto) -> Self {
        let _ = crypto;
        #[allow(unused_mut)]
        let mut v = Verifiers::new().trust_mock_root();
        #[cfg(feature = "sev-snp")]
        let snp = crypto.snp_verifier(tee::sev::SnpVerifier::new());
        #[cfg(feature = "sev-snp")]
        {
            v = v.with(Box::new(snp.clone()));
        }
        #[cfg(feature = "tdx")]
        let tdx = crypto.tdx_verifier(tee::tdx::TdxVerifier::new());
        #[cfg(feature = "tdx")]
        {
            v = v.with(Box::new(tdx.clone()));
        }
        Self {
            verifiers: Arc::new(v),
            #[cfg(feature = "sev-snp")]
            snp,
            #[cfg(feature = "tdx")]
            tdx,
        }
    }
}

/// What `evidence` must carry for a source that does not fetch.
///
/// # Errors
/// [`CollateralError::Missing`] naming the absent endorsement.
pub fn required_endorsement(evidence: &Evidence) -> Result<(), CollateralError> {
    let has = |k: &str| evidence.endorsement(k).is_some();
    match evidence.platform {
        Platform::SevSnp
            if !has(endorsement::SIGNING_CERT_DER) && !has(endorsement::GHCB_CERT_TABLE) =>
        {
            Err(CollateralError::Missing {
                what: "SEV-SNP VCEK/VLEK (endorsement `signing-cert-der` or `ghcb-cert-table`)"
                    .into(),
            })
        }
        Platform::Tdx if !has(endorsement::TDX_COLLATERAL_JSON) => Err(CollateralError::Missing {
            what: "TDX collateral (endorsement `tdx-collateral-v3-json`)".into(),
        }),
        _ => Ok(()),
    }
}

impl CollateralSource for EnvelopeSource {
    fn prepare(&self, evidence: Evidence, _now: UnixTime) -> Result<Ready, CollateralError> {
        required_endorsement(&evidence)?;
        Ok(Ready::new(evidence, self.verifiers.clone()))
    }

    fn stats(&self) -> CollateralStats {
        #[allow(unused_mut)]
        let mut s = CollateralStats::default();
        #[cfg(feature = "sev-snp")]
        {
            let c = self.snp.cache_stats();
            s.cache_hits += c.hits;
            s.cache_misses += c.misses;
        }
        #[cfg(feature = "tdx")]
        {
            let c = self.tdx.cache_stats();
            s.cache_hits += c.hits;
            s.cache_misses += c.misses;
        }
        s
    }
}
