//! The async adapter (feature `tokio`).
//!
//! The SDK is blocking (see the crate docs for what blocks where). Async
//! programs (attestation agents, verification services) use it without
//! blocking their executor threads:
//!
//! - [`attest`], [`verify`] and [`run_blocking`] run the blocking work on
//!   tokio's blocking pool (`spawn_blocking`) and await it;
//! - [`AsyncTransport`] is the async twin of [`Transport`]; [`fetch`] drives
//!   any sans-IO [`Fetch`]er over it with a [`RetryPolicy`] whose waits are
//!   `tokio::time::sleep`, not thread sleeps;
//! - [`OnBlockingPool`] turns any blocking [`Transport`] (e.g. `Https`) into
//!   an [`AsyncTransport`] by running each request on the blocking pool.
//!
//! The runtime needs tokio's `rt` and `time` drivers (`enable_time`).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use tee_core::{
    Attester, Claims, Error, Evidence, ReportData, Result, UnixTime, Verified, Verifier,
};

use crate::{Fetch, FetchError, Request, Response, RetryPolicy, Transport};

/// A boxed, `Send` future (what [`AsyncTransport::get`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An async HTTP GET transport: the contract of [`Transport`], awaited.
pub trait AsyncTransport: Send + Sync + fmt::Debug {
    /// Perform `req`; every status is a response.
    ///
    /// # Errors
    /// As [`Transport::get`].
    fn get<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, FetchError>>;
}

impl<T: AsyncTransport + ?Sized> AsyncTransport for Arc<T> {
    fn get<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, FetchError>> {
        (**self).get(req)
    }
}

/// A blocking transport run on tokio's blocking pool, one task per request.
#[derive(Debug, Clone)]
pub struct OnBlockingPool<T>(pub Arc<T>);

impl<T: Transport + 'static> OnBlockingPool<T> {
    /// Wrap `transport`.
    pub fn new(transport: T) -> Self {
        Self(Arc::new(transport))
    }
}

impl<T: Transport + 'static> AsyncTransport for OnBlockingPool<T> {
    fn get<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, FetchError>> {
        let t = self.0.clone();
        let owned = req.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || t.get(&owned)).await {
                Ok(r) => r,
                Err(e) => Err(FetchError::Connect {
                    url: req.url().to_owned(),
                    detail: TaskFailed::from(e).to_string(),
                }),
            }
        })
    }
}

/// A blocking task ended without a result: it panicked or was cancelled
/// (carried in [`Error::Other`]; downcast to tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskFailed {
    /// The closure panicked.
    Panicked,
    /// The runtime shut down before the task ran to completion.
    Cancelled,
}

impl From<tokio::task::JoinError> for TaskFailed {
    fn from(e: tokio::task::JoinError) -> Self {
        if e.is_panic() {
            Self::Panicked
        } else {
            Self::Cancelled
        }
    }
}

impl fmt::Display for TaskFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Panicked => "the blocking task panicked",
            Self::Cancelled => "the blocking task was cancelled",
        })
    }
}

impl std::error::Error for TaskFailed {}

/// Run `f` on tokio's blocking pool and await its result.
///
/// # Errors
/// `f`'s error, or [`Error::Other`] carrying a [`TaskFailed`].
pub async fn run_blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Error::Other(Arc::new(TaskFailed::from(e)))),
    }
}

/// [`Attester::attest`] on the blocking pool (device I/O blocks).
///
/// # Errors
/// As [`Attester::attest`], or [`TaskFailed`] in [`Error::Other`].
pub async fn attest(attester: Arc<dyn Attester>, report_data: ReportData) -> Result<Evidence> {
    run_blocking(move || attester.attest(&report_data)).await
}

/// [`Verifier::verify`] on the blocking pool (CPU-bound signature and chain checks).
///
/// # Errors
/// As [`Verifier::verify`], or [`TaskFailed`] in [`Error::Other`].
pub async fn verify(
    verifier: Arc<dyn Verifier>,
    evidence: Evidence,
    at: UnixTime,
) -> Result<Verified<Claims>> {
    run_blocking(move || verifier.verify(&evidence, at)).await
}

/// Perform `req` over `transport`, retrying by `policy` with async waits.
///
/// # Errors
/// The last transport failure.
pub async fn get_with_retry(
    transport: &(impl AsyncTransport + ?Sized),
    policy: &RetryPolicy,
    req: &Request,
) -> Result<Response, FetchError> {
    let mut attempt = 1;
    loop {
        let outcome = transport.get(req).await;
        match policy.decide(attempt, &outcome) {
            Some(wait) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                attempt += 1;
            }
            None => return outcome,
        }
    }
}

/// Run `fetcher` over an async transport, retrying each request by `policy`
/// (the async twin of [`crate::fetch`]).
///
/// # Errors
/// The first transport failure (through [`Fetch::transport_error`]), or the
/// fetcher's own errors.
pub async fn fetch<F: Fetch>(
    transport: &(impl AsyncTransport + ?Sized),
    policy: &RetryPolicy,
    fetcher: F,
) -> Result<F::Output> {
    let requests = fetcher.requests();
    let responses = async {
        let mut out = Vec::with_capacity(requests.len());
        for req in &requests {
            out.push(get_with_retry(transport, policy, req).await?);
        }
        Ok(out)
    }
    .await;
    crate::fetcher::complete(fetcher, responses)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::time::Duration;

    use tee_core::DeviceErrorKind;

    use super::*;
    use crate::testing::{Scripted, Server};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    /// The blocking closure waits for a message that only another task on
    /// the same (single-threaded) executor sends: it arrives only if the
    /// closure does not occupy the executor thread.
    #[test]
    fn run_blocking_keeps_the_current_thread_executor_free() {
        rt().block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<u32>();
            let work = tokio::spawn(run_blocking(move || {
                rx.recv_timeout(Duration::from_secs(5))
                    .map_err(|_| Error::Misuse("the executor was blocked".into()))
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.send(42).unwrap();
            assert_eq!(work.await.unwrap().unwrap(), 42);
        });
    }

    #[test]
    fn a_panicking_closure_is_a_typed_error() {
        let r = rt().block_on(run_blocking(|| -> Result<()> { panic!("boom") }));
        match r {
            Err(Error::Other(e)) => {
                assert_eq!(e.downcast_ref::<TaskFailed>(), Some(&TaskFailed::Panicked))
            }
            other => panic!("{other:?}"),
        }
    }

    /// A fake async transport over the scripted one, yielding once per request.
    #[derive(Debug)]
    struct Yielding(Scripted);

    impl AsyncTransport for Yielding {
        fn get<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, FetchError>> {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.0.get(req)
            })
        }
    }

    struct Body(&'static str);

    impl Fetch for Body {
        type Output = Vec<u8>;
        fn requests(&self) -> Vec<Request> {
            vec![Request::get(self.0)]
        }
        fn finish(self, responses: Vec<Response>) -> Result<Vec<u8>> {
            let r = responses
                .into_iter()
                .next()
                .ok_or(Error::Misuse("no response".into()))?;
            Ok(r.ok(self.0)?.body)
        }
    }

    #[test]
    fn async_fetch_retries_with_async_waits() {
        let t = Yielding(Scripted::new());
        t.0.script(
            "http://t/a",
            vec![
                Ok(Response::new(503, Vec::new())),
                Ok(Response::new(200, b"A".to_vec())),
            ],
        );
        let policy = RetryPolicy::new(3, Duration::from_millis(5), Duration::from_millis(5));
        let out = rt()
            .block_on(fetch(&t, &policy, Body("http://t/a")))
            .unwrap();
        assert_eq!((out, t.0.hits("http://t/a")), (b"A".to_vec(), 2));
        t.0.respond("http://t/a", Response::new(429, Vec::new()));
        let r = rt().block_on(fetch(&t, &policy, Body("http://t/a")));
        assert!(matches!(r, Err(Error::Device(d)) if d.kind == DeviceErrorKind::Busy));
        assert_eq!(t.0.hits("http://t/a"), 5);
    }

    #[test]
    fn a_blocking_transport_on_the_pool() {
        let srv = Server::start_chunked();
        srv.route("/c", 200, b"chunked".to_vec());
        let t = OnBlockingPool::new(crate::PlainHttp::default());
        let url = srv.url("/c");
        let out = rt()
            .block_on(fetch(&t, &RetryPolicy::none(), Body(url.leak())))
            .unwrap();
        assert_eq!(out, b"chunked");
    }
}
