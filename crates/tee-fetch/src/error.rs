//! Typed fetch failures.

use core::fmt;
use core::time::Duration;

use tee_core::{DeviceErrorKind, Error};

/// Why a fetch failed. Each variant is a decision: retry later
/// ([`FetchError::is_transient`]), treat as missing or refused (a status),
/// reject the answer (too large, malformed), or fix the configuration
/// (unsupported scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// Could not connect, or the connection broke before a complete
    /// response (transient).
    Connect {
        /// The URL.
        url: String,
        /// What failed (public values only).
        detail: String,
    },
    /// The server did not answer in time (transient).
    Timeout {
        /// The URL.
        url: String,
    },
    /// The server answered with a status the caller does not accept.
    Status {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's `Retry-After`, in seconds form.
        retry_after: Option<Duration>,
    },
    /// The body exceeded the request's bound.
    TooLarge {
        /// The URL.
        url: String,
        /// The bound, in bytes.
        limit: usize,
    },
    /// The answer was not a well-formed HTTP/1.x response.
    Malformed {
        /// The URL.
        url: String,
        /// What was wrong.
        detail: &'static str,
    },
    /// The transport does not speak this URL's scheme (e.g. `https://` to
    /// [`crate::PlainHttp`]), or the URL is not an absolute `http(s)` URL.
    UnsupportedScheme {
        /// The URL.
        url: String,
    },
}

impl FetchError {
    /// Whether trying again later may succeed: connection failures,
    /// timeouts, and the statuses `408`, `429` and `5xx`.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } => true,
            Self::Status { status, .. } => retryable_status(*status),
            Self::TooLarge { .. } | Self::Malformed { .. } | Self::UnsupportedScheme { .. } => {
                false
            }
        }
    }

    /// The URL that failed.
    pub fn url(&self) -> &str {
        match self {
            Self::Connect { url, .. }
            | Self::Timeout { url }
            | Self::Status { url, .. }
            | Self::TooLarge { url, .. }
            | Self::Malformed { url, .. }
            | Self::UnsupportedScheme { url } => url,
        }
    }

    /// The HTTP status, for [`FetchError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Statuses worth retrying: `408`, `429` and `5xx`.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect { url, detail } => write!(f, "{url}: connection failed: {detail}"),
            Self::Timeout { url } => write!(f, "{url}: timed out"),
            Self::Status { url, status, .. } => write!(f, "{url}: HTTP {status}"),
            Self::TooLarge { url, limit } => {
                write!(f, "{url}: response larger than {limit} bytes")
            }
            Self::Malformed { url, detail } => write!(f, "{url}: malformed response: {detail}"),
            Self::UnsupportedScheme { url } => write!(
                f,
                "{url}: scheme not supported by this transport (PlainHttp speaks only http://; \
                 use an HTTPS transport such as tee_fetch::Https)"
            ),
        }
    }
}

impl std::error::Error for FetchError {}

/// The SDK error for a fetch failure, by variant:
///
/// | fetch error | SDK error |
/// |---|---|
/// | `Connect`, `Timeout` | `Device(Io)` |
/// | `Status` 404 | `Device(NotFound)` |
/// | `Status` 429, 503 | `Device(Busy)` (still busy after retries) |
/// | other `Status` | `Device(Io)` |
/// | `TooLarge`, `Malformed` | `Device(CorruptOutput)` |
/// | `UnsupportedScheme` | `Misuse` (plug in a transport that speaks it) |
///
/// The device interface is the URL. Fetchers with a more specific meaning
/// (Intel PCS: 404 = missing collateral) map [`FetchError::Status`] themselves.
impl From<FetchError> for Error {
    fn from(e: FetchError) -> Self {
        let kind = match &e {
            FetchError::UnsupportedScheme { .. } => return Error::Misuse(e.to_string().into()),
            FetchError::Status { status: 404, .. } => DeviceErrorKind::NotFound,
            FetchError::Status {
                status: 429 | 503, ..
            } => DeviceErrorKind::Busy,
            FetchError::Connect { .. } | FetchError::Timeout { .. } | FetchError::Status { .. } => {
                DeviceErrorKind::Io
            }
            FetchError::TooLarge { .. } | FetchError::Malformed { .. } => {
                DeviceErrorKind::CorruptOutput
            }
        };
        Error::device_with_source(kind, e.url().to_owned(), &e, e.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> FetchError {
        FetchError::Status {
            url: "u".into(),
            status: s,
            retry_after: None,
        }
    }

    fn kind(e: FetchError) -> Option<DeviceErrorKind> {
        match Error::from(e) {
            Error::Device(d) => Some(d.kind),
            _ => None,
        }
    }

    #[test]
    fn core_error_keeps_the_fetch_error_as_source() {
        use std::error::Error as _;
        let e = Error::from(status(503));
        let src = e.source().and_then(|s| s.downcast_ref::<FetchError>());
        assert_eq!(src, Some(&status(503)));
    }

    #[test]
    fn transient_classification() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 410] {
            assert!(!status(s).is_transient(), "{s}");
        }
        assert!(
            FetchError::Timeout { url: "u".into() }.is_transient()
                && FetchError::Connect {
                    url: "u".into(),
                    detail: "refused".into()
                }
                .is_transient()
        );
        assert!(
            !FetchError::TooLarge {
                url: "u".into(),
                limit: 1
            }
            .is_transient()
        );
        assert!(
            !FetchError::Malformed {
                url: "u".into(),
                detail: "x"
            }
            .is_transient()
        );
        assert!(!FetchError::UnsupportedScheme { url: "u".into() }.is_transient());
    }

    #[test]
    fn conversion_is_by_variant() {
        assert_eq!(kind(status(404)), Some(DeviceErrorKind::NotFound));
        assert_eq!(kind(status(429)), Some(DeviceErrorKind::Busy));
        assert_eq!(kind(status(503)), Some(DeviceErrorKind::Busy));
        assert_eq!(kind(status(500)), Some(DeviceErrorKind::Io));
        assert_eq!(
            kind(FetchError::Timeout { url: "u".into() }),
            Some(DeviceErrorKind::Io)
        );
        assert_eq!(
            kind(FetchError::TooLarge {
                url: "u".into(),
                limit: 1
            }),
            Some(DeviceErrorKind::CorruptOutput)
        );
        assert_eq!(
            kind(FetchError::Malformed {
                url: "u".into(),
                detail: "x"
            }),
            Some(DeviceErrorKind::CorruptOutput)
        );
        assert!(matches!(
            Error::from(FetchError::UnsupportedScheme {
                url: "https://x/".into()
            }),
            Error::Misuse(_)
        ));
        match Error::from(status(404)) {
            Error::Device(d) => assert_eq!(d.interface, "u"),
            other => panic!("{other:?}"),
        }
        assert_eq!(status(418).status(), Some(418));
        assert_eq!(FetchError::Timeout { url: "v".into() }.url(), "v");
    }
}
