//! Prometheus text exposition (format 0.0.4) of the service's counters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::collateral::CollateralStats;

/// Upper bounds (seconds) of the `/attest` latency histogram.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The endpoints requests are counted under (anything else is `other`, so
/// hostile paths cannot grow the label set).
pub const ENDPOINTS: [&str; 6] = [
    "/challenge",
    "/attest",
    "/.well-known/jwks.json",
    "/healthz",
    "/metrics",
    "other",
];

/// The `tee_service_crypto_info` gauge: the crypto implementation of the
/// verifiers and of the token signer (value 1).
pub fn crypto_info(verify: crate::Crypto, sign: tee_ear::Crypto) -> String {
    format!(
        "# HELP tee_service_crypto_info The crypto implementation verifying signatures and signing tokens.\n\
         # TYPE tee_service_crypto_info gauge\n\
         tee_service_crypto_info{{verify=\"{}\",sign=\"{}\"}} 1\n",
        verify.name(),
        sign.name()
    )
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    verdicts: Mutex<BTreeMap<&'static str, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) overloaded: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) challenges: AtomicU64,
    pub(crate) replays: AtomicU64,
    pub(crate) collateral_unavailable: AtomicU64,
}

/// The endpoint label of a request path.
pub fn endpoint(path: &str) -> &'static str {
    ENDPOINTS
        .iter()
        .copied()
        .find(|e| *e == path)
        .unwrap_or("other")
}

impl Metrics {
    /// Count one request.
    pub fn request(&self, path: &str, status: u16) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry((endpoint(path), status)).or_insert(0) += 1;
    }

    /// Count one issued token by its overall status.
    pub fn verdict(&self, status: tee_ear::Status) {
        let mut m = self
            .verdicts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(status.name()).or_insert(0) += 1;
    }

    /// Record one `/attest` latency.
    pub fn attest_latency(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// How many requests of `endpoint` got `status`.
    pub fn requests_of(&self, endpoint: &str, status: u16) -> u64 {
        let m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.iter()
            .filter(|((e, s), _)| *e == endpoint && *s == status)
            .map(|(_, n)| *n)
            .sum()
    }

    /// The exposition text.
    pub fn render(&self, c: CollateralStats, policy_loads: u64) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP tee_service_requests_total HTTP requests by endpoint and status code."
        );
        let _ = writeln!(o, "# TYPE tee_service_requests_total counter");
        for ((e, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                o,
                "tee_service_requests_total{{endpoint=\"{e}\",code=\"{s}\"}} {n}"
            );
        }
        let _ = writeln!(
            o,
            "# HELP tee_service_verdicts_total Tokens issued by overall EAR status."
        );
        let _ = writeln!(o, "# TYPE tee_service_verdicts_total counter");
        let verdicts = self
            .verdicts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for s in ["affirming", "warning", "contraindicated", "none"] {
            let n = verdicts.get(s).copied().unwrap_or(0);
            let _ = writeln!(o, "tee_service_verdicts_total{{status=\"{s}\"}} {n}");
        }
        drop(verdicts);
        let _ = writeln!(
            o,
            "# HELP tee_service_attest_duration_seconds Time to answer POST /attest."
        );
        let _ = writeln!(o, "# TYPE tee_service_attest_duration_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "tee_service_attest_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            o,
            "tee_service_attest_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            o,
            "tee_service_attest_duration_seconds_sum {}",
            self.latency_sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "tee_service_attest_duration_seconds_count {count}");
        let counters: [(&str, &str, u64); 17] = [
            (
                "tee_service_cache_hits_total",
                "Verifications answered from a verified chain/collateral cache.",
                c.cache_hits,
            ),
            (
                "tee_service_cache_misses_total",
                "Verified chain/collateral cache misses.",
                c.cache_misses,
            ),
            (
                "tee_service_collateral_fetches_total",
                "Collateral fetches.",
                c.fetches,
            ),
            (
                "tee_service_collateral_fetch_failures_total",
                "Collateral fetches that failed.",
                c.fetch_failures,
            ),
            (
                "tee_service_collateral_cache_hits_total",
                "Collateral lookups answered from the collateral manager's memory.",
                c.collateral_hits,
            ),
            (
                "tee_service_collateral_store_hits_total",
                "Collateral lookups answered from the collateral disk store.",
                c.collateral_store_hits,
            ),
            (
                "tee_service_collateral_cache_misses_total",
                "Collateral lookups with nothing servable in memory.",
                c.collateral_misses,
            ),
            (
                "tee_service_collateral_refreshes_total",
                "Collateral artifacts refreshed ahead of expiry in the background.",
                c.refreshed,
            ),
            (
                "tee_service_collateral_refresh_failures_total",
                "Background collateral refreshes that failed or were backing off.",
                c.refresh_failures,
            ),
            (
                "tee_service_collateral_artifacts",
                "Collateral artifacts held.",
                c.artifacts,
            ),
            (
                "tee_service_collateral_unavailable_total",
                "Requests answered 503 for want of collateral.",
                self.collateral_unavailable.load(Relaxed),
            ),
            (
                "tee_service_overloaded_total",
                "Requests refused with 503 by the concurrency limit.",
                self.overloaded.load(Relaxed),
            ),
            (
                "tee_service_timeouts_total",
                "Requests that ran past the per-request timeout.",
                self.timeouts.load(Relaxed),
            ),
            (
                "tee_service_challenges_total",
                "Challenges issued.",
                self.challenges.load(Relaxed),
            ),
            (
                "tee_service_replays_total",
                "Challenges refused as replayed.",
                self.replays.load(Relaxed),
            ),
            (
                "tee_service_policy_loads_total",
                "Policy files (re)loaded.",
                policy_loads,
            ),
            (
                "tee_service_in_flight",
                "Requests being verified or queued for verification.",
                self.in_flight.load(Relaxed),
            ),
        ];
        for (name, help, v) in counters {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(o, "# HELP {name} {help}");
            let _ = writeln!(o, "# TYPE {name} {kind}");
            let _ = writeln!(o, "{name} {v}");
        }
        o
    }
}
