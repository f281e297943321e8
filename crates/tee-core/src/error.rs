//! The one error type of the SDK.
//!
//! Every variant of [`Error`] is a *decision* a caller can branch on:
//! reject the input as malformed, reject it as inauthentic, reject it by
//! policy, fall back because the platform cannot do it, retry or report a
//! device failure, or fix the calling code. Messages never contain secrets
//! (keys, plaintexts); they may contain public values such as offsets, sizes
//! and field names.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::appraisal::Appraisal;
use crate::platform::Platform;

/// Result alias used across the SDK.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The SDK's error type. See the module documentation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The input could not be parsed: wrong size, unknown version, bad
    /// encoding, reserved bytes set, truncated, trailing garbage.
    Malformed(Malformed),
    /// The input parsed but is not authentic: a signature, chain or
    /// collateral check failed.
    Authenticity(Authenticity),
    /// The evidence is authentic but the appraisal policy rejected it. The
    /// appraisal lists every check and why it failed.
    Policy(Appraisal),
    /// A sealed blob could not be opened. Each reason is a distinct decision.
    Unseal(UnsealError),
    /// The operation is not supported by this platform or build.
    Unsupported(Unsupported),
    /// The TEE device or a kernel interface failed.
    Device(DeviceError),
    /// The API was used incorrectly (an argument out of range, options that
    /// contradict each other).
    Misuse(Cow<'static, str>),
    /// Backend detail that fits no other variant.
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

/// Details of a parse failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What was being parsed, e.g. `"SNP report"`.
    pub what: &'static str,
    /// The specific problem.
    pub kind: MalformedKind,
}

/// Why an input was malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedKind {
    /// Input ended before a field that was needed.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A length was not the one the format requires.
    BadLength {
        /// Expected length (or maximum).
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A version this SDK does not understand; rejected before any
    /// version-dependent field was read.
    UnsupportedVersion(u32),
    /// A field had a value the format does not allow.
    BadField {
        /// Field name.
        field: &'static str,
        /// Explanation (public values only).
        detail: String,
    },
    /// Reserved bytes that must be zero were not.
    ReservedNonZero {
        /// Offset of the first non-zero reserved byte.
        offset: usize,
    },
    /// Bytes after the end of a structure where none are allowed.
    TrailingData {
        /// Number of extra bytes.
        len: usize,
    },
    /// A text encoding (JSON, TOML, hex, base64, PEM, DER) was invalid.
    Encoding(String),
}

/// Details of an authenticity failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authenticity {
    /// A signature did not verify.
    BadSignature {
        /// Which signature (e.g. `"report signature"`, `"QE report signature"`).
        what: &'static str,
    },
    /// A certificate chain did not verify to a trusted root.
    BadChain {
        /// Explanation.
        detail: String,
    },
    /// The root presented is not one this verifier trusts.
    UntrustedRoot {
        /// Explanation.
        detail: String,
    },
    /// A certificate or collateral item had expired at the verification time.
    Expired {
        /// Which item.
        what: String,
        /// End of its validity (Unix seconds).
        not_after: u64,
        /// The verification time (Unix seconds).
        at: u64,
    },
    /// A certificate or collateral item was not yet valid at the verification time.
    NotYetValid {
        /// Which item.
        what: String,
        /// Start of its validity (Unix seconds).
        not_before: u64,
        /// The verification time (Unix seconds).
        at: u64,
    },
    /// A certificate was revoked.
    Revoked {
        /// Which certificate.
        what: String,
    },
    /// A value bound by a signature or endorsement did not match (e.g. the
    /// VCEK's TCB extensions vs. the report's `reported_tcb`, or the QE
    /// report binding).
    Mismatch {
        /// What was compared.
        what: &'static str,
        /// Explanation (public values only).
        detail: String,
    },
    /// Endorsements needed to verify were missing.
    MissingEndorsement {
        /// What was missing.
        what: String,
    },
    /// Any other authenticity failure.
    Other {
        /// Explanation.
        detail: String,
    },
}

/// Why a sealed blob could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsealError {
    /// The blob was sealed on another platform.
    WrongPlatform {
        /// Platform recorded in the blob.
        sealed_on: Platform,
        /// Platform trying to open it.
        opened_on: Platform,
    },
    /// The blob was sealed under a different [`crate::SealPolicy`] than the one requested.
    WrongPolicy,
    /// The key this workload derives differs from the sealing key: another
    /// measurement, machine or key root.
    KeyMismatch,
    /// The blob was modified after sealing.
    Tampered,
}

/// An operation the platform or build does not support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The platform asked.
    pub platform: Platform,
    /// The operation asked for.
    pub operation: Operation,
    /// Why, and what to do instead.
    pub reason: Cow<'static, str>,
}

/// The operations a backend may or may not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Operation {
    /// Producing evidence bound to report data.
    Attestation,
    /// Verifying evidence.
    Verification,
    /// Reading and extending runtime measurement registers.
    RuntimeMeasurement,
    /// Sealing and unsealing data.
    Sealing,
    /// Retrieving secrets provisioned by the owner at launch.
    SecretProvisioning,
    /// Opening the backend at all (e.g. compiled out or not this machine).
    Open,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Attestation => "attestation",
            Self::Verification => "verification",
            Self::RuntimeMeasurement => "runtime measurement",
            Self::Sealing => "sealing",
            Self::SecretProvisioning => "secret provisioning",
            Self::Open => "opening the backend",
        })
    }
}

/// A device or kernel-interface failure.
///
/// Equality compares kind, interface and detail; the underlying error (see
/// [`DeviceError::source`]) is carried for `std::error::Error::source` chains
/// only.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceError {
    /// Broad kind, for retry decisions.
    pub kind: DeviceErrorKind,
    /// The interface involved, e.g. `"/dev/sev-guest"`.
    pub interface: Cow<'static, str>,
    /// Explanation.
    pub detail: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl DeviceError {
    /// The underlying error (an I/O or transport error), when one was kept
    /// ([`Error::device_with_source`]).
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl PartialEq for DeviceError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.interface == other.interface && self.detail == other.detail
    }
}

impl Eq for DeviceError {}

/// Broad kind of a device failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceErrorKind {
    /// The device or interface does not exist on this machine.
    NotFound,
    /// Permission denied (usually: run as root).
    PermissionDenied,
    /// The device stayed busy after retries.
    Busy,
    /// The firmware returned an error code.
    Firmware(u64),
    /// The device returned output that failed a sanity check.
    CorruptOutput,
    /// Another writer changed the interface concurrently.
    ConcurrentUse,
    /// Any other I/O error.
    Io,
}

impl Error {
    /// Shorthand for a [`Error::Malformed`].
    pub fn malformed(what: &'static str, kind: MalformedKind) -> Self {
        Self::Malformed(Malformed { what, kind })
    }

    /// Shorthand for a truncated-input [`Error::Malformed`].
    pub fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        Self::malformed(what, MalformedKind::Truncated { needed, available })
    }

    /// Shorthand for an encoding [`Error::Malformed`].
    pub fn encoding(what: &'static str, detail: impl fmt::Display) -> Self {
        Self::malformed(what, MalformedKind::Encoding(detail.to_string()))
    }

    /// Shorthand for a bad-field [`Error::Malformed`].
    pub fn bad_field(what: &'static str, field: &'static str, detail: impl fmt::Display) -> Self {
        Self::malformed(
            what,
            MalformedKind::BadField {
                field,
                detail: detail.to_string(),
            },
        )
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(
        platform: Platform,
        operation: Operation,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Unsupported(Unsupported {
            platform,
            operation,
            reason: reason.into(),
        })
    }

    /// Shorthand for [`Error::Device`].
    pub fn device(
        kind: DeviceErrorKind,
        interface: impl Into<Cow<'static, str>>,
        detail: impl fmt::Display,
    ) -> Self {
        Self::Device(DeviceError {
            kind,
            interface: interface.into(),
            detail: detail.to_string(),
            source: None,
        })
    }

    /// An [`Error::Device`] that keeps the underlying error (an
    /// `std::io::Error`, a transport error) as its
    /// [`source`](std::error::Error::source); `detail` explains it.
    pub fn device_with_source(
        kind: DeviceErrorKind,
        interface: impl Into<Cow<'static, str>>,
        detail: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Device(DeviceError {
            kind,
            interface: interface.into(),
            detail: detail.to_string(),
            source: Some(Arc::new(source)),
        })
    }

    /// Shorthand for a signature [`Error::Authenticity`].
    pub fn bad_signature(what: &'static str) -> Self {
        Self::Authenticity(Authenticity::BadSignature { what })
    }

    /// The broad class of this error (e.g. for logs and metrics). Callers
    /// that decide something match on the variant itself.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Malformed(_) => ErrorClass::Malformed,
            Self::Authenticity(_) => ErrorClass::Authenticity,
            Self::Policy(_) => ErrorClass::Policy,
            Self::Unseal(UnsealError::WrongPolicy) => ErrorClass::Policy,
            Self::Unseal(UnsealError::WrongPlatform { .. }) => ErrorClass::Unsupported,
            Self::Unseal(UnsealError::KeyMismatch | UnsealError::Tampered) => {
                ErrorClass::Authenticity
            }
            Self::Unsupported(_) => ErrorClass::Unsupported,
            Self::Device(_) | Self::Other(_) => ErrorClass::Io,
            Self::Misuse(_) => ErrorClass::Usage,
        }
    }
}

/// Broad error classes, from [`Error::class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The API was used incorrectly.
    Usage,
    /// Device or I/O failure.
    Io,
    /// Malformed input.
    Malformed,
    /// Authenticity failure (including a sealed blob that does not open
    /// under this key, or was modified).
    Authenticity,
    /// Policy / appraisal failure (including a seal-policy mismatch).
    Policy,
    /// Unsupported on this platform or build (including a blob sealed on
    /// another platform).
    Unsupported,
}

impl fmt::Display for MalformedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(f, "truncated: need {needed} bytes, have {available}")
            }
            Self::BadLength { expected, actual } => {
                write!(f, "wrong length: expected {expected} bytes, got {actual}")
            }
            Self::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            Self::BadField { field, detail } => write!(f, "bad field `{field}`: {detail}"),
            Self::ReservedNonZero { offset } => {
                write!(f, "reserved bytes are not zero (offset {offset:#x})")
            }
            Self::TrailingData { len } => write!(f, "{len} unexpected trailing bytes"),
            Self::Encoding(d) => write!(f, "invalid encoding: {d}"),
        }
    }
}

impl fmt::Display for Authenticity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSignature { what } => write!(f, "{what} does not verify"),
            Self::BadChain { detail } => write!(f, "certificate chain invalid: {detail}"),
            Self::UntrustedRoot { detail } => write!(f, "untrusted root: {detail}"),
            Self::Expired {
                what,
                not_after,
                at,
            } => write!(
                f,
                "{what} expired (valid until {}, verification time {})",
                crate::time::UnixTime::from_secs(*not_after),
                crate::time::UnixTime::from_secs(*at)
            ),
            Self::NotYetValid {
                what,
                not_before,
                at,
            } => write!(
                f,
                "{what} not yet valid (valid from {}, verification time {})",
                crate::time::UnixTime::from_secs(*not_before),
                crate::time::UnixTime::from_secs(*at)
            ),
            Self::Revoked { what } => write!(f, "{what} is revoked"),
            Self::Mismatch { what, detail } => write!(f, "{what} mismatch: {detail}"),
            Self::MissingEndorsement { what } => write!(f, "missing endorsement: {what}"),
            Self::Other { detail } => f.write_str(detail),
        }
    }
}

impl fmt::Display for UnsealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongPlatform {
                sealed_on,
                opened_on,
            } => write!(
                f,
                "blob was sealed on {sealed_on}, cannot be opened on {opened_on}"
            ),
            Self::WrongPolicy => f.write_str("blob was sealed under a different seal policy"),
            Self::KeyMismatch => f.write_str(
                "sealing key differs: sealed by another workload measurement, machine or key root",
            ),
            Self::Tampered => f.write_str("sealed blob was modified (authentication failed)"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed {}: {}", m.what, m.kind),
            Self::Authenticity(a) => write!(f, "authenticity check failed: {a}"),
            Self::Policy(app) => {
                let failed: Vec<_> = app.failed().map(|c| c.name.as_str()).collect();
                write!(f, "appraisal failed: {}", failed.join(", "))
            }
            Self::Unseal(u) => write!(f, "cannot unseal: {u}"),
            Self::Unsupported(u) => write!(
                f,
                "{} is not supported on {}: {}",
                u.operation, u.platform, u.reason
            ),
            Self::Device(d) => write!(f, "device error on {}: {}", d.interface, d.detail),
            Self::Misuse(m) => write!(f, "API misuse: {m}"),
            Self::Other(e) => write!(f, "{e}"),
        }
    }
}

/// `source()` is the wrapped error where there is one: the inner error of
/// [`Error::Other`], and the underlying I/O or transport error of an
/// [`Error::Device`] built with [`Error::device_with_source`]. The other
/// variants are the SDK's own decisions and have no source.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Other(e) => Some(&**e),
            Self::Device(d) => match &d.source {
                Some(e) => Some(&**e),
                None => None,
            },
            _ => None,
        }
    }
}

impl From<Authenticity> for Error {
    fn from(a: Authenticity) -> Self {
        Self::Authenticity(a)
    }
}

impl From<UnsealError> for Error {
    fn from(u: UnsealError) -> Self {
        Self::Unseal(u)
    }
}

impl From<Unsupported> for Error {
    fn from(u: Unsupported) -> Self {
        Self::Unsupported(u)
    }
}

use alloc::string::ToString;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::error::Error as StdError;

    #[derive(Debug)]
    struct Inner;

    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner failure")
        }
    }

    impl StdError for Inner {}

    #[derive(Debug)]
    struct Outer(Inner);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failure")
        }
    }

    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    fn chain(e: &Error) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur: Option<&(dyn StdError + 'static)> = e.source();
        while let Some(s) = cur {
            out.push(s.to_string());
            cur = s.source();
        }
        out
    }

    #[test]
    fn other_exposes_the_wrapped_error_and_its_chain() {
        let e = Error::Other(Arc::new(Outer(Inner)));
        assert_eq!(chain(&e), ["outer failure", "inner failure"]);
        assert!(e.source().unwrap().downcast_ref::<Outer>().is_some());
    }

    #[test]
    fn device_with_source_keeps_the_io_error() {
        let io = std::io::Error::from_raw_os_error(16);
        let e = Error::device_with_source(DeviceErrorKind::Busy, "/dev/x", "open: busy", io);
        let src = e.source().unwrap();
        let io = src.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io.raw_os_error(), Some(16));
        let Error::Device(d) = &e else {
            panic!("{e:?}")
        };
        assert!(d.source().is_some());
        // Equality ignores the source: the decision fields are the same.
        assert_eq!(
            e.to_string(),
            Error::device(DeviceErrorKind::Busy, "/dev/x", "open: busy").to_string()
        );
        let Error::Device(plain) = Error::device(DeviceErrorKind::Busy, "/dev/x", "open: busy")
        else {
            panic!()
        };
        assert_eq!(*d, plain);
        assert!(plain.source().is_none());
    }

    #[test]
    fn sdk_decisions_have_no_source() {
        let plain = [
            Error::truncated("x", 2, 1),
            Error::bad_signature("report signature"),
            Error::Unseal(UnsealError::Tampered),
            Error::unsupported(Platform::Tdx, Operation::Sealing, "no"),
            Error::device(DeviceErrorKind::Io, "/dev/x", "failed"),
            Error::Misuse("bad".into()),
            Error::Policy(Appraisal::default()),
        ];
        for e in plain {
            assert!(e.source().is_none(), "{e:?}");
        }
    }
}
