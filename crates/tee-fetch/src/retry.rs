//! Retries with backoff: the policy (sans-IO) and a blocking decorator.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use crate::error::retryable_status;
use crate::{FetchError, Request, Response, Transport};

/// When and how long to wait before trying a request again.
///
/// Retried: transient failures ([`FetchError::is_transient`]) and responses
/// with status `408`, `429` or `5xx`. Nothing else (a `404` is an answer).
/// The wait before retry `n` (1-based) is `initial_delay * 2^(n-1)`, at most
/// `max_delay`; a `Retry-After` (seconds) from the server lengthens it, but
/// a server asking for more than `max_retry_after` is not retried at all
/// (its last answer is returned), so a caller never sleeps longer than it
/// chose to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of a backoff wait.
    pub max_delay: Duration,
    /// Largest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 1 s doubling to at most 8 s, `Retry-After` up to 30 s
    /// (vendor services rate-limit with `429`).
    fn default() -> Self {
        Self {
            attempts: 4,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy with `attempts`, waits from `initial_delay` doubling to at most
    /// `max_delay`, and `Retry-After` honoured up to `max_delay`.
    pub fn new(attempts: u32, initial_delay: Duration, max_delay: Duration) -> Self {
        Self {
            attempts,
            initial_delay,
            max_delay,
            max_retry_after: max_delay,
        }
    }

    /// One attempt, no retry.
    pub fn none() -> Self {
        Self::immediate(1)
    }

    /// `attempts` attempts without waiting (tests); `Retry-After` is not honoured.
    pub fn immediate(attempts: u32) -> Self {
        Self::new(attempts, Duration::ZERO, Duration::ZERO)
    }

    /// Honour `Retry-After` up to `cap`.
    #[must_use]
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// After attempt number `attempt` (1-based) ended with `outcome`: how long to
    /// wait before the next attempt, or `None` to return `outcome` as is.
    pub fn decide(&self, attempt: u32, outcome: &Result<Response, FetchError>) -> Option<Duration> {
        if attempt >= self.attempts.max(1) {
            return None;
        }
        let retry_after = match outcome {
            Ok(r) if retryable_status(r.status) => r.retry_after(),
            Ok(_) => return None,
            Err(e) if e.is_transient() => match e {
                FetchError::Status { retry_after, .. } => *retry_after,
                _ => None,
            },
            Err(_) => return None,
        };
        let shift = attempt.saturating_sub(1).min(31);
        let backoff = self
            .initial_delay
            .saturating_mul(1u32 << shift)
            .min(self.max_delay);
        match retry_after {
            Some(ra) if ra > self.max_retry_after => None,
            Some(ra) => Some(backoff.max(ra)),
            None => Some(backoff),
        }
    }
}

/// How a blocking [`Retrying`] waits.
type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// A transport that retries `inner` by a [`RetryPolicy`] (blocking waits).
#[derive(Clone)]
pub struct Retrying<T> {
    inner: T,
    policy: RetryPolicy,
    sleep: Sleeper,
}

impl<T: fmt::Debug> fmt::Debug for Retrying<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrying")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Retrying<T> {
    /// Retry `inner` by `policy`, sleeping the thread between attempts.
    pub fn new(inner: T, policy: RetryPolicy) -> Self {
        Self {
            inner,
            policy,
            sleep: Arc::new(std::thread::sleep),
        }
    }

    /// Wait with `sleep` instead of `std::thread::sleep` (tests record the waits).
    #[must_use]
    pub fn with_sleeper(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleep = Arc::new(sleep);
        self
    }

    /// The policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: Transport> Transport for Retrying<T> {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        let mut attempt = 1;
        loop {
            let outcome = self.inner.get(req);
            match self.policy.decide(attempt, &outcome) {
                Some(wait) => {
                    if !wait.is_zero() {
                        (self.sleep)(wait);
                    }
                    attempt += 1;
                }
                None => return outcome,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::sync::Mutex;

    use super::*;
    use crate::testing::Scripted;

    fn recorder() -> (Arc<Mutex<Vec<Duration>>>, impl Fn(Duration) + Send + Sync) {
        let waits = Arc::new(Mutex::new(Vec::new()));
        let w = waits.clone();
        (waits, move |d| w.lock().unwrap().push(d))
    }

    const U: &str = "http://kds.test/x";

    #[test]
    fn retries_transient_and_retryable_statuses_with_backoff() {
        let t = Scripted::new();
        t.script(
            U,
            vec![
                Err(FetchError::Timeout { url: U.into() }),
                Ok(Response::new(503, Vec::new())),
                Ok(Response::new(500, Vec::new())),
                Ok(Response::new(200, b"ok".to_vec())),
            ],
        );
        let (waits, sleep) = recorder();
        let policy = RetryPolicy::new(5, Duration::from_secs(1), Duration::from_secs(3));
        let r = Retrying::new(&t, policy).with_sleeper(sleep);
        assert_eq!(r.get(&Request::get(U)).unwrap().body, b"ok");
        assert_eq!(t.hits(U), 4);
        assert_eq!(
            *waits.lock().unwrap(),
            [1, 2, 3].map(Duration::from_secs).to_vec()
        );
    }

    #[test]
    fn gives_up_after_attempts_with_the_last_answer() {
        let t = Scripted::new();
        t.respond(U, Response::new(429, Vec::new()));
        let r = Retrying::new(&t, RetryPolicy::immediate(3));
        assert_eq!(r.get(&Request::get(U)).unwrap().status, 429);
        assert_eq!(t.hits(U), 3);
        let refused = FetchError::Connect {
            url: U.into(),
            detail: "refused".into(),
        };
        t.script(U, vec![Err(refused.clone())]);
        assert_eq!(r.get(&Request::get(U)), Err(refused));
        assert_eq!(t.hits(U), 6);
    }

    #[test]
    fn answers_and_permanent_failures_are_not_retried() {
        let t = Scripted::new();
        let r = Retrying::new(&t, RetryPolicy::immediate(5));
        for (i, status) in [404u16, 400, 403, 200].into_iter().enumerate() {
            t.respond(U, Response::new(status, Vec::new()));
            assert_eq!(r.get(&Request::get(U)).unwrap().status, status);
            assert_eq!(t.hits(U), i + 1);
        }
        let big = FetchError::TooLarge {
            url: U.into(),
            limit: 1,
        };
        t.script(U, vec![Err(big.clone())]);
        assert_eq!(r.get(&Request::get(U)), Err(big));
        assert_eq!(t.hits(U), 5);
        let scheme = FetchError::UnsupportedScheme { url: U.into() };
        t.script(U, vec![Err(scheme.clone())]);
        assert_eq!(r.get(&Request::get(U)), Err(scheme));
        assert_eq!(t.hits(U), 6);
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let t = Scripted::new();
        t.script(
            U,
            vec![
                Ok(Response::new(429, Vec::new()).with_header("Retry-After", "5")),
                Ok(Response::new(200, b"ok".to_vec())),
            ],
        );
        let (waits, sleep) = recorder();
        let policy = RetryPolicy::new(3, Duration::from_secs(1), Duration::from_secs(2))
            .with_max_retry_after(Duration::from_secs(10));
        let r = Retrying::new(&t, policy).with_sleeper(sleep);
        assert_eq!(r.get(&Request::get(U)).unwrap().status, 200);
        assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(5)]);

        // Asked to wait longer than the cap: the 429 is returned at once.
        t.script(
            U,
            vec![
                Ok(Response::new(429, Vec::new()).with_header("Retry-After", "3600")),
                Ok(Response::new(200, Vec::new())),
            ],
        );
        let before = t.hits(U);
        assert_eq!(r.get(&Request::get(U)).unwrap().status, 429);
        assert_eq!(t.hits(U), before + 1);
        assert_eq!(waits.lock().unwrap().len(), 1);
    }

    #[test]
    fn decide_is_bounded() {
        let p = RetryPolicy::default();
        let busy: Result<Response, FetchError> = Ok(Response::new(503, Vec::new()));
        assert_eq!(p.decide(1, &busy), Some(Duration::from_secs(1)));
        assert_eq!(p.decide(3, &busy), Some(Duration::from_secs(4)));
        assert_eq!(p.decide(4, &busy), None);
        let huge = RetryPolicy::new(u32::MAX, Duration::from_secs(1), Duration::from_secs(8));
        assert_eq!(huge.decide(100, &busy), Some(Duration::from_secs(8)));
        assert_eq!(RetryPolicy::none().decide(1, &busy), None);
        let status = Err(FetchError::Status {
            url: U.into(),
            status: 503,
            retry_after: Some(Duration::from_secs(2)),
        });
        assert_eq!(p.decide(1, &status), Some(Duration::from_secs(2)));
    }
}
