//! The endorsement/collateral fetch layer of the TEE SDK.
//!
//! Verifiers need material that lives on vendor servers (AMD KDS: VCEKs,
//! certificate chains, CRLs; Intel PCS or a PCCS: TCB info, QE identity,
//! CRLs). This crate is the one way the SDK fetches it:
//!
//! - [`Transport`]: one blocking request ([`Request`]: a GET, or a POST with a
//!   body; URL and headers) returning
//!   a [`Response`] (status, case-insensitive [`Headers`], body) with a hard
//!   bound on the body size ([`Request::max_body`], never above
//!   [`HARD_MAX_BODY`]). Any HTTP status is a response; turning a status into
//!   an error is the caller's decision ([`Response::ok`]).
//! - [`FetchError`]: typed failures whose variants are decisions (transient
//!   network failure, HTTP status, too large, malformed, unsupported scheme),
//!   convertible into [`tee_core::Error`] by type.
//! - [`Retrying`]: a decorator that retries transient failures and
//!   `429`/`5xx` answers with backoff, honouring `Retry-After` within a cap
//!   ([`RetryPolicy`]).
//! - [`PlainHttp`]: a small HTTP/1.1 client for `http://` URLs only (a local
//!   mirror or caching proxy, and loopback test servers); it handles
//!   `Content-Length`, chunked and read-to-close bodies and refuses
//!   `https://` with [`FetchError::UnsupportedScheme`].
//! - `Https` (feature `https`): ureq + rustls with the Mozilla roots, the same
//!   timeouts and limits.
//! - [`Fetch`]: the sans-IO shape of a fetcher. A fetcher says which requests
//!   it needs and parses the responses; a driver does the I/O. [`fetch`]
//!   is the blocking driver; `nonblocking::fetch` (feature `tokio`) the async one.
//! - `cache` (feature `cache`): the vendor-neutral collateral cache
//!   (single flight per artifact, backoff after failures and `429`,
//!   freshness windows read from the artifacts' bytes, refresh ahead, an
//!   atomic disk store, portable bundles). The backends describe their
//!   artifacts; the `tee` facade's `collateral::Manager` composes them.
//! - `testing` (feature `testing`): a scripted in-memory transport and a
//!   loopback HTTP/1.1 server for tests. NO SECURITY.
//!
//! Nothing fetched is trusted because of how it was fetched: the backends
//! verify every certificate and collateral item against pinned vendor roots.
//! TLS adds availability and privacy, not trust.
//!
//! # What blocks
//!
//! The SDK's APIs are blocking, and each blocks for a different reason:
//!
//! | step | blocks on | async runtimes |
//! |---|---|---|
//! | `Attester::attest` | device I/O (ioctl, configfs-tsm), firmware retries | run on the blocking pool (`nonblocking::attest`) |
//! | fetching endorsements/collateral | network I/O ([`Transport::get`], retry sleeps) | an `nonblocking::AsyncTransport` with `nonblocking::fetch`, or a blocking transport on the blocking pool (`nonblocking::OnBlockingPool`) |
//! | `Verifier::verify` | nothing but the CPU (signatures, chains; milliseconds) | run on the blocking pool (`nonblocking::verify`) so executor threads stay responsive |
//! | appraisal, parsing | nothing (microseconds) | call directly |
//!
//! (The `nonblocking` module needs feature `tokio`.)
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "cache")]
pub mod cache;
mod error;
mod fetcher;
#[cfg(feature = "https")]
mod https;
mod message;
#[cfg(feature = "tokio")]
pub mod nonblocking;
mod plain;
mod retry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::FetchError;
pub use fetcher::{Fetch, fetch};
#[cfg(feature = "https")]
pub use https::Https;
pub use message::{DEFAULT_MAX_BODY, HARD_MAX_BODY, Headers, Method, Request, Response};
pub use plain::PlainHttp;
pub use retry::{RetryPolicy, Retrying};

/// Default connect/read/write timeout of the built-in transports.
pub const DEFAULT_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(30);

/// A blocking HTTP transport (GET, and POST with a body).
///
/// Implementations return every HTTP status as a [`Response`]; they fail
/// only when no complete response within [`Request::max_body`] was received.
pub trait Transport: Send + Sync + core::fmt::Debug {
    /// Perform `req`.
    ///
    /// # Errors
    /// [`FetchError::Connect`] / [`FetchError::Timeout`] (transient),
    /// [`FetchError::TooLarge`], [`FetchError::Malformed`] and
    /// [`FetchError::UnsupportedScheme`].
    fn get(&self, req: &Request) -> Result<Response, FetchError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        (**self).get(req)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        (**self).get(req)
    }
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        (**self).get(req)
    }
}
