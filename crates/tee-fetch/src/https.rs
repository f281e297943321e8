//! The HTTPS transport (feature `https`).

use std::time::Duration;

use crate::{DEFAULT_TIMEOUT, FetchError, Headers, Request, Response, Transport};

/// An HTTPS (and HTTP) transport: `ureq` with rustls and the Mozilla root
/// store (feature `https`; builds C code via `ring`, so it is not in the
/// default, pure-Rust build). Same contract as [`crate::PlainHttp`]: every
/// status is a response, bodies are bounded by [`Request::max_body`], and
/// the timeout bounds each request as a whole. Vendor material fetched over
/// it is still verified against pinned roots: TLS adds availability, not trust.
#[derive(Debug, Clone)]
pub struct Https {
    agent: ureq::Agent,
}

impl Https {
    /// A transport with an overall per-request timeout.
    pub fn new(timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent }
    }
}

impl Default for Https {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT)
    }
}

fn map_error(url: &str, limit: usize, e: ureq::Error) -> FetchError {
    let url = url.to_owned();
    match e {
        ureq::Error::Timeout(_) => FetchError::Timeout { url },
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            FetchError::Timeout { url }
        }
        ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge { url, limit },
        ureq::Error::BadUri(_) => FetchError::UnsupportedScheme { url },
        ureq::Error::Protocol(_) | ureq::Error::Http(_) => FetchError::Malformed {
            url,
            detail: "not a well-formed HTTP response",
        },
        other => FetchError::Connect {
            url,
            detail: other.to_string(),
        },
    }
}

impl Transport for Https {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        let url = req.url();
        let scheme_ok = ["https://", "http://"].iter().any(|p| {
            url.get(..p.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(p))
        });
        if !scheme_ok {
            return Err(FetchError::UnsupportedScheme {
                url: url.to_owned(),
            });
        }
        let limit = req.max_body();
        let result = match req.method() {
            crate::Method::Post => {
                let mut call = self.agent.post(url);
                for (k, v) in req.headers().iter() {
                    call = call.header(k, v);
                }
                call.send(req.body())
            }
            _ => {
                let mut call = self.agent.get(url);
                for (k, v) in req.headers().iter() {
                    call = call.header(k, v);
                }
                call.call()
            }
        };
        let mut resp = result.map_err(|e| map_error(url, limit, e))?;
        let headers: Headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
            .map_err(|e| map_error(url, limit, e))?;
        Ok(Response {
            status: resp.status().as_u16(),
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::testing::Server;

    /// The HTTPS transport speaks plain HTTP too, so it is tested against a
    /// loopback server (no network here).
    #[test]
    fn https_transport_against_a_loopback_server() {
        for srv in [Server::start(), Server::start_chunked()] {
            srv.replies(
                "/x",
                vec![crate::testing::Reply::Response(
                    Response::new(200, b"hello".to_vec())
                        .with_header("TCB-Info-Issuer-Chain", "abc"),
                )],
            );
            let t = Https::default();
            let r = t
                .get(&Request::get(srv.url("/x")).header("X-Req", "1"))
                .unwrap();
            assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
            assert_eq!(r.header("tcb-info-issuer-chain"), Some("abc"));
            assert!(
                srv.last_request_headers()
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case("x-req: 1"))
            );
            assert_eq!(t.get(&Request::get(srv.url("/none"))).unwrap().status, 404);
            srv.route("/busy", 429, Vec::new());
            assert_eq!(t.get(&Request::get(srv.url("/busy"))).unwrap().status, 429);
            assert!(matches!(
                t.get(&Request::get(srv.url("/x")).with_max_body(4)),
                Err(FetchError::TooLarge { limit: 4, .. })
            ));
        }
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = Https::default().get(&Request::get(format!("https://127.0.0.1:{closed}/")));
        assert!(r.as_ref().is_err_and(FetchError::is_transient), "{r:?}");
        assert!(matches!(
            Https::default().get(&Request::get("ftp://127.0.0.1/")),
            Err(FetchError::UnsupportedScheme { .. })
        ));
    }
}
