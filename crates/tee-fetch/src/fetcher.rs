//! Sans-IO fetchers and the blocking driver.

use tee_core::Result;

use crate::{FetchError, Request, Response, Transport};

/// A fetcher without I/O: it names the requests it needs and turns the
/// responses into its output. A driver performs the requests: [`fetch`]
/// (blocking, over a [`Transport`]) or `nonblocking::fetch` (async, feature
/// `tokio`). Retries belong to the transport ([`crate::Retrying`]) or the
/// async driver's [`crate::RetryPolicy`].
pub trait Fetch {
    /// What the fetcher produces.
    type Output;

    /// The requests, all independent of each other, in the order
    /// [`Fetch::finish`] expects their responses.
    fn requests(&self) -> Vec<Request>;

    /// Parse the responses (any status: the fetcher decides what a status
    /// means), one per request in order.
    ///
    /// # Errors
    /// The fetcher's typed errors (statuses, unparsable or unauthentic-looking
    /// bodies).
    fn finish(self, responses: Vec<Response>) -> Result<Self::Output>;

    /// The SDK error for a transport failure (default: the
    /// [`From<FetchError>`](FetchError) conversion).
    fn transport_error(&self, e: FetchError) -> tee_core::Error {
        e.into()
    }
}

/// Run `fetcher` over a blocking transport, one request after the other.
///
/// # Errors
/// The first transport failure (through [`Fetch::transport_error`]), or the
/// fetcher's own errors.
pub fn fetch<F: Fetch>(transport: &(impl Transport + ?Sized), fetcher: F) -> Result<F::Output> {
    let responses = fetcher
        .requests()
        .iter()
        .map(|req| transport.get(req))
        .collect();
    complete(fetcher, responses)
}

/// Hand the responses to the fetcher, or map the first transport failure.
pub(crate) fn complete<F: Fetch>(
    fetcher: F,
    responses: Result<Vec<Response>, FetchError>,
) -> Result<F::Output> {
    match responses {
        Ok(r) => fetcher.finish(r),
        Err(e) => Err(fetcher.transport_error(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use tee_core::{DeviceErrorKind, Error};

    use super::*;
    use crate::testing::Scripted;

    /// Concatenates two bodies; any non-200 is an error.
    struct Two;

    impl Fetch for Two {
        type Output = Vec<u8>;
        fn requests(&self) -> Vec<Request> {
            vec![Request::get("http://t/a"), Request::get("http://t/b")]
        }
        fn finish(self, responses: Vec<Response>) -> Result<Vec<u8>> {
            let mut out = Vec::new();
            for (r, req) in responses.into_iter().zip(self.requests()) {
                out.extend(r.ok(req.url())?.body);
            }
            Ok(out)
        }
    }

    #[test]
    fn blocking_driver_runs_requests_in_order() {
        let t = Scripted::new();
        t.respond("http://t/a", Response::new(200, b"A".to_vec()));
        t.respond("http://t/b", Response::new(200, b"B".to_vec()));
        assert_eq!(fetch(&t, Two).unwrap(), b"AB");
        assert_eq!(t.requests(), ["http://t/a", "http://t/b"]);
        // A status is the fetcher's decision; a transport failure stops the run.
        t.respond("http://t/b", Response::new(404, Vec::new()));
        assert!(matches!(
            fetch(&t, Two),
            Err(Error::Device(d)) if d.kind == DeviceErrorKind::NotFound
        ));
        t.script(
            "http://t/a",
            vec![Err(FetchError::Timeout {
                url: "http://t/a".into(),
            })],
        );
        let before = t.hits("http://t/b");
        assert!(matches!(fetch(&t, Two), Err(Error::Device(d)) if d.kind == DeviceErrorKind::Io));
        assert_eq!(t.hits("http://t/b"), before);
    }
}
