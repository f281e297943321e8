//! Requests, responses and headers.

use core::time::Duration;

use crate::FetchError;

/// Default bound of a response body (4 MiB).
pub const DEFAULT_MAX_BODY: usize = 4 << 20;
/// No transport accepts a body larger than this (16 MiB), whatever a request asks.
pub const HARD_MAX_BODY: usize = 16 << 20;

/// A small list of header fields; names compare case-insensitively and keep
/// the spelling they were given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Append a field (a repeated name keeps every value).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// The HTTP method of a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Method {
    /// `GET` (the default; every fetcher of vendor material).
    #[default]
    Get,
    /// `POST` with a body (protocols such as the Trustee KBS attestation flow).
    Post,
}

impl Method {
    /// The method token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// A request: `GET`, or `POST` with a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    url: String,
    headers: Headers,
    body: Vec<u8>,
    max_body: usize,
}

impl Request {
    /// GET `url`, accepting bodies up to [`DEFAULT_MAX_BODY`].
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            url: url.into(),
            headers: Headers::new(),
            body: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// POST `body` to `url` (sent with `Content-Length`), accepting response
    /// bodies up to [`DEFAULT_MAX_BODY`]. Set `Content-Type` with [`Request::header`].
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: Method::Post,
            body: body.into(),
            ..Self::get(url)
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The request body (empty for `GET`).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Add a request header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Accept bodies up to `limit` bytes (clamped to [`HARD_MAX_BODY`]).
    #[must_use]
    pub fn with_max_body(mut self, limit: usize) -> Self {
        self.max_body = limit.min(HARD_MAX_BODY);
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The largest body accepted.
    pub fn max_body(&self) -> usize {
        self.max_body
    }
}

/// A complete HTTP response (any status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Headers,
    /// Body (already de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// A response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Headers::new(),
            body: body.into(),
        }
    }

    /// Add a header field.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// `Retry-After` in delay-seconds form (an HTTP date is ignored).
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// The response if its status is 200, else [`FetchError::Status`].
    ///
    /// # Errors
    /// [`FetchError::Status`] for any other status.
    pub fn ok(self, url: &str) -> Result<Self, FetchError> {
        if self.status == 200 {
            Ok(self)
        } else {
            Err(FetchError::Status {
                url: url.to_owned(),
                status: self.status,
                retry_after: self.retry_after(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_keep_order() {
        let mut h: Headers = [("Content-Type", "a")].into_iter().collect();
        h.push("X-Two", "1");
        h.push("x-two", "2");
        assert_eq!(h.get("content-type"), Some("a"));
        assert_eq!(h.get_all("X-TWO").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 3);
        assert_eq!(h.iter().next(), Some(("Content-Type", "a")));
    }

    #[test]
    fn request_limits_are_clamped() {
        let r = Request::get("http://x/").with_max_body(usize::MAX);
        assert_eq!(r.max_body(), HARD_MAX_BODY);
        assert_eq!(Request::get("u").max_body(), DEFAULT_MAX_BODY);
        let r = Request::get("u").header("Accept", "x").with_max_body(5);
        assert_eq!((r.max_body(), r.headers().get("accept")), (5, Some("x")));
        assert_eq!((r.method(), r.body()), (Method::Get, &b""[..]));
        let p = Request::post("u", b"{}".to_vec());
        assert_eq!((p.method().as_str(), p.body()), ("POST", &b"{}"[..]));
        assert_eq!(p.max_body(), DEFAULT_MAX_BODY);
    }

    #[test]
    fn ok_and_retry_after() {
        assert_eq!(
            Response::new(200, b"x".to_vec()).ok("u").unwrap().body,
            b"x"
        );
        let r = Response::new(429, Vec::new()).with_header("Retry-After", " 7 ");
        assert_eq!(r.retry_after(), Some(Duration::from_secs(7)));
        match r.ok("u") {
            Err(FetchError::Status {
                status: 429,
                retry_after: Some(d),
                ..
            }) => assert_eq!(d, Duration::from_secs(7)),
            other => panic!("{other:?}"),
        }
        let date = Response::new(503, Vec::new())
            .with_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(date.retry_after(), None);
        assert!(matches!(
            Response::new(204, Vec::new()).ok("u"),
            Err(FetchError::Status { status: 204, .. })
        ));
    }
}
