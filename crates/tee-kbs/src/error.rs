//! The one error type of this crate.

use core::fmt;

use tee_fetch::FetchError;

/// The protocol step an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// `POST /kbs/v0/auth` (Request → Challenge).
    Auth,
    /// `POST /kbs/v0/attest` (Attestation → token).
    Attest,
    /// `GET /kbs/v0/resource/…` (→ JWE).
    Resource,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auth => "auth",
            Self::Attest => "attest",
            Self::Resource => "resource",
        })
    }
}

/// Why a JWE could not be opened. Each variant is a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JweError {
    /// Not a well-formed flattened JWE (missing member, bad base64url,
    /// bad header JSON, wrong IV or tag length).
    Malformed(&'static str),
    /// The header names a key-management (`alg`) or content (`enc`)
    /// algorithm this client does not accept, or one that does not fit the
    /// key (e.g. `RSA1_5`, deprecated and never requested by this client).
    UnsupportedAlgorithm(String),
    /// The content-encryption key did not unwrap, or the AEAD tag did not
    /// verify: the JWE was tampered with or encrypted to another key.
    Decryption,
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed JWE: {what}"),
            Self::UnsupportedAlgorithm(a) => write!(f, "unsupported JWE algorithm {a:?}"),
            Self::Decryption => {
                f.write_str("JWE decryption failed (tampered, or encrypted to another key)")
            }
        }
    }
}

impl std::error::Error for JweError {}

/// Why a KBS exchange failed. Each variant is a distinct decision; match on
/// the variant, never on the message.
#[derive(Debug)]
#[non_exhaustive]
pub enum KbsError {
    /// The transport failed (connect, timeout, too large, bad URL scheme).
    Transport(FetchError),
    /// The KBS refused authentication or the session (`401`): an unknown or
    /// expired session cookie, a protocol-version mismatch, or evidence it
    /// did not accept.
    Unauthorized {
        /// The step.
        step: Step,
        /// The RFC 7807 error name the KBS gave (e.g. `AttestationError`), if any.
        problem: Option<String>,
    },
    /// The resource policy denied the resource (`403`).
    PolicyDenied {
        /// The RFC 7807 error name, if any.
        problem: Option<String>,
    },
    /// No such resource (`404`).
    NotFound {
        /// The resource path asked for.
        path: String,
    },
    /// Any other non-200 status.
    Status {
        /// The step.
        step: Step,
        /// The HTTP status.
        status: u16,
        /// The RFC 7807 error name, if any.
        problem: Option<String>,
    },
    /// A KBS message that does not follow protocol 0.4.0 (bad JSON, a
    /// missing member, a nonce that is not base64, no session cookie).
    Protocol {
        /// The step.
        step: Step,
        /// What was wrong.
        detail: String,
    },
    /// A caller argument is not usable (e.g. a resource path that is not
    /// `repository/type/tag`, a base URL that is not http(s)).
    InvalidArgument(String),
    /// Producing or converting the evidence failed (attester error, an
    /// evidence format without a Trustee shape).
    Evidence(tee::Error),
    /// The resource JWE could not be opened.
    Jwe(JweError),
    /// The OS random source failed (ephemeral key generation).
    Random,
}

impl fmt::Display for KbsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = |p: &Option<String>| match p {
            Some(p) => format!(" ({p})"),
            None => String::new(),
        };
        match self {
            Self::Transport(e) => write!(f, "KBS transport: {e}"),
            Self::Unauthorized { step, problem: p } => {
                write!(f, "KBS {step}: unauthorized (401){}", problem(p))
            }
            Self::PolicyDenied { problem: p } => {
                write!(f, "KBS resource: denied by policy (403){}", problem(p))
            }
            Self::NotFound { path } => write!(f, "KBS resource {path:?}: not found (404)"),
            Self::Status {
                step,
                status,
                problem: p,
            } => write!(f, "KBS {step}: HTTP {status}{}", problem(p)),
            Self::Protocol { step, detail } => write!(f, "KBS {step}: protocol error: {detail}"),
            Self::InvalidArgument(d) => write!(f, "invalid argument: {d}"),
            Self::Evidence(e) => write!(f, "evidence: {e}"),
            Self::Jwe(e) => write!(f, "resource: {e}"),
            Self::Random => f.write_str("the OS random source failed"),
        }
    }
}

impl std::error::Error for KbsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport(e) => Some(e),
            Self::Evidence(e) => Some(e),
            Self::Jwe(e) => Some(e),
            _ => None,
        }
    }
}

impl From<FetchError> for KbsError {
    fn from(e: FetchError) -> Self {
        Self::Transport(e)
    }
}

impl From<tee::Error> for KbsError {
    fn from(e: tee::Error) -> Self {
        Self::Evidence(e)
    }
}

impl From<JweError> for KbsError {
    fn from(e: JweError) -> Self {
        Self::Jwe(e)
    }
}
