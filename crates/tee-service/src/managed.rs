//! Collateral from the collateral manager (`tee::collateral::Manager`,
//! docs/collateral.md): an offline bundle, a store directory read offline,
//! or an online store that fetches misses and refreshes ahead of expiry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tee::collateral::{CollateralError as ManagerError, Manager};
use tee::{ErrorClass, Evidence, UnixTime};

use crate::collateral::{CollateralError, CollateralSource, CollateralStats, Ready};

/// Whether the manager fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// A bundle or a store directory: nothing is fetched, nothing is
    /// refreshed; what is missing or stale is `Unavailable` (503).
    Offline,
    /// A store that fetches its misses; the service's background task calls
    /// [`Manager::refresh_due`] every `Config::refresh_interval`.
    Online,
}

/// A [`CollateralSource`] over a [`Manager`]: evidence that does not carry
/// its collateral gets it from the manager's store; collateral the manager
/// cannot serve fresh is [`CollateralError::Unavailable`] (503 with
/// `Retry-After`), never a pass.
#[derive(Debug)]
pub struct ManagerSource {
    manager: Arc<Manager>,
    mode: Mode,
    refreshed: AtomicU64,
    refresh_failures: AtomicU64,
}

impl ManagerSource {
    /// The source over `manager` in `mode` (`Online` only for a manager
    /// made with `Manager::online`).
    pub fn new(manager: Arc<Manager>, mode: Mode) -> Self {
        Self {
            manager,
            mode,
            refreshed: AtomicU64::new(0),
            refresh_failures: AtomicU64::new(0),
        }
    }

    /// The manager.
    pub fn manager(&self) -> &Arc<Manager> {
        &self.manager
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// The service's answer to a manager error.
pub fn map_error(e: ManagerError) -> CollateralError {
    match e {
        ManagerError::Unavailable {
            artifact,
            retry_after,
            reason,
        } => CollateralError::Unavailable {
            what: format!("{artifact} ({reason})"),
            retry_after,
        },
        // The evidence does not parse: the client's error. Anything else
        // (a masked chip id without its VCEK, a VLEK the evidence does not
        // carry): the evidence lacks what no retry will bring.
        ManagerError::Evidence(e) if e.class() == ErrorClass::Malformed => {
            CollateralError::Evidence {
                detail: e.to_string(),
            }
        }
        ManagerError::Evidence(e) => CollateralError::Missing {
            what: e.to_string(),
        },
        other => CollateralError::Source {
            detail: other.to_string(),
        },
    }
}

impl CollateralSource for ManagerSource {
    fn prepare(&self, evidence: Evidence, now: UnixTime) -> Result<Ready, CollateralError> {
        let p = self.manager.prepare(&evidence, now).map_err(map_error)?;
        Ok(Ready::new(p.evidence, Arc::new(p.verifiers)))
    }

    fn refreshes(&self) -> bool {
        self.mode == Mode::Online
    }

    fn refresh(&self, now: UnixTime) {
        if self.mode != Mode::Online {
            return;
        }
        let (ok, bad) = self.manager.refresh_due(now);
        self.refreshed.fetch_add(ok as u64, Relaxed);
        self.refresh_failures.fetch_add(bad as u64, Relaxed);
    }

    fn stats(&self) -> CollateralStats {
        let m = self.manager.metrics();
        #[allow(unused_mut)]
        let mut s = CollateralStats {
            fetches: m.fetches,
            fetch_failures: m.fetch_failures,
            collateral_hits: m.hits,
            collateral_store_hits: m.store_hits,
            collateral_misses: m.misses,
            refreshed: self.refreshed.load(Relaxed),
            refresh_failures: self.refresh_failures.load(Relaxed),
            artifacts: m.entries,
            ..CollateralStats::default()
        };
        #[cfg(feature = "sev-snp")]
        {
            let c = self.manager.snp_verifier().cache_stats();
            s.cache_hits += c.hits;
            s.cache_misses += c.misses;
        }
        #[cfg(feature = "tdx")]
        {
            let c = self.manager.tdx_verifier().cache_stats();
            s.cache_hits += c.hits;
            s.cache_misses += c.misses;
        }
        s
    }
}
