//! The one error type of this crate.

use core::fmt;

use tee_core::{Authenticity, Error};

/// Why an EAR token could not be issued or verified. Each variant is a
/// distinct decision; match on the variant, never on the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EarError {
    /// The token is larger than [`crate::MAX_TOKEN_LEN`]; it was not parsed.
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The token (or a JWK / JWKS / key file) is not well formed: wrong
    /// number of parts, invalid base64url, invalid JSON, a duplicate
    /// member, a member of the wrong type.
    Malformed {
        /// Which part (e.g. `"JOSE header"`, `"payload"`, `"JWKS"`).
        part: &'static str,
        /// The problem (public values only).
        detail: String,
    },
    /// A claim is missing or has a value the EAR profile does not allow.
    BadClaim {
        /// The claim name (e.g. `"iat"`, `"submods"`).
        claim: &'static str,
        /// The problem.
        detail: String,
    },
    /// The header names an algorithm this verifier never accepts
    /// (`none`, `HS256`, `RS256`, …). Only ES256 and ES384 are accepted,
    /// and only with a key of that algorithm.
    UnsupportedAlgorithm {
        /// The header's `alg`.
        alg: String,
    },
    /// The header's `alg` is not the algorithm of the key it selects
    /// (e.g. `ES256` for a P-384 key). The algorithm comes from the key.
    AlgorithmMismatch {
        /// The header's `alg`.
        header: String,
        /// The key's algorithm.
        key: crate::Alg,
    },
    /// No key in the JWKS has the token's `kid` (or the token has no `kid`
    /// and the JWKS has more than one key).
    UnknownKey {
        /// The header's `kid`, if any.
        kid: Option<String>,
    },
    /// The signature does not verify with the selected key.
    BadSignature,
    /// A header parameter this verifier must understand but does not
    /// (`crit`), or a `typ` other than `JWT`.
    UnsupportedHeader {
        /// The parameter.
        parameter: &'static str,
        /// The problem.
        detail: String,
    },
    /// `exp` has passed at the verification time (beyond the leeway).
    Expired {
        /// The token's `exp` (Unix seconds).
        exp: u64,
        /// The verification time.
        at: u64,
        /// The leeway allowed (seconds).
        leeway: u64,
    },
    /// `iat` is in the future at the verification time (beyond the leeway).
    NotYetValid {
        /// The token's `iat` (Unix seconds).
        iat: u64,
        /// The verification time.
        at: u64,
        /// The leeway allowed (seconds).
        leeway: u64,
    },
    /// A nonce was expected but the token has no `eat_nonce`.
    MissingNonce,
    /// The token's `eat_nonce` is not the expected nonce.
    NonceMismatch,
    /// The verifier was not told which nonce to expect and was not told
    /// that any nonce (no freshness) is acceptable
    /// ([`crate::VerifyOptions::allow_any_nonce`]).
    NonceNotConfigured,
    /// A nonce to issue is outside 8..=64 bytes (RFC 9711 `eat_nonce`).
    BadNonce {
        /// Its length in bytes.
        len: usize,
    },
    /// The token's `eat_profile` is not one this verifier accepts.
    UnsupportedProfile {
        /// The token's profile.
        profile: String,
    },
    /// `ear.verifier-id` is not the pinned verifier identity.
    VerifierIdMismatch {
        /// The token's developer / build, as found.
        found: String,
    },
    /// A key (PEM, JWK) is invalid or of an unsupported type.
    BadKey {
        /// The problem.
        detail: String,
    },
    /// The system random source failed while generating a key (or, with
    /// aws-lc-rs, a signature).
    Random,
    /// The API was used incorrectly (a duplicate `kid` or submod name, no
    /// submod).
    Misuse {
        /// What was wrong.
        detail: String,
    },
}

impl EarError {
    pub(crate) fn malformed(part: &'static str, detail: impl fmt::Display) -> Self {
        Self::Malformed {
            part,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn claim(claim: &'static str, detail: impl fmt::Display) -> Self {
        Self::BadClaim {
            claim,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn key(detail: impl fmt::Display) -> Self {
        Self::BadKey {
            detail: detail.to_string(),
        }
    }

    pub(crate) fn misuse(detail: impl fmt::Display) -> Self {
        Self::Misuse {
            detail: detail.to_string(),
        }
    }
}

impl fmt::Display for EarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(f, "EAR token of {len} bytes exceeds the {max}-byte limit")
            }
            Self::Malformed { part, detail } => write!(f, "malformed {part}: {detail}"),
            Self::BadClaim { claim, detail } => write!(f, "EAR claim `{claim}`: {detail}"),
            Self::UnsupportedAlgorithm { alg } => write!(
                f,
                "JWS algorithm `{alg}` is not accepted (only ES256 and ES384, by the key)"
            ),
            Self::AlgorithmMismatch { header, key } => write!(
                f,
                "header algorithm `{header}` is not the key's algorithm {key}"
            ),
            Self::UnknownKey { kid: Some(k) } => write!(f, "no key with kid `{k}` in the JWKS"),
            Self::UnknownKey { kid: None } => write!(
                f,
                "the token has no kid and the JWKS does not hold exactly one key"
            ),
            Self::BadSignature => f.write_str("EAR token signature does not verify"),
            Self::UnsupportedHeader { parameter, detail } => {
                write!(f, "JOSE header `{parameter}`: {detail}")
            }
            Self::Expired { exp, at, leeway } => write!(
                f,
                "EAR token expired: exp {exp}, verification time {at}, leeway {leeway} s"
            ),
            Self::NotYetValid { iat, at, leeway } => write!(
                f,
                "EAR token issued in the future: iat {iat}, verification time {at}, leeway {leeway} s"
            ),
            Self::MissingNonce => {
                f.write_str("a nonce was expected but the token has no eat_nonce")
            }
            Self::NonceMismatch => f.write_str("eat_nonce is not the expected nonce"),
            Self::NonceNotConfigured => f.write_str(
                "no expected nonce given: set one, or accept any nonce explicitly (no freshness)",
            ),
            Self::BadNonce { len } => {
                write!(f, "a nonce must be 8 to 64 bytes, this one has {len}")
            }
            Self::UnsupportedProfile { profile } => {
                write!(f, "eat_profile `{profile}` is not accepted")
            }
            Self::VerifierIdMismatch { found } => {
                write!(f, "ear.verifier-id {found} is not the pinned verifier")
            }
            Self::BadKey { detail } => write!(f, "key: {detail}"),
            Self::Random => f.write_str("the system random source failed"),
            Self::Misuse { detail } => f.write_str(detail),
        }
    }
}

impl std::error::Error for EarError {}

/// Into the SDK's error, by variant: parse problems are
/// [`Error::Malformed`], signature/key/time/nonce/profile problems
/// [`Error::Authenticity`], API misuse [`Error::Misuse`].
impl From<EarError> for Error {
    fn from(e: EarError) -> Self {
        match e {
            EarError::TooLarge { len, max } => Error::malformed(
                "EAR token",
                tee_core::MalformedKind::BadLength {
                    expected: max,
                    actual: len,
                },
            ),
            EarError::Malformed { .. } | EarError::BadClaim { .. } => {
                Error::encoding("EAR token", &e)
            }
            EarError::BadKey { .. } => Error::encoding("EAR key", &e),
            EarError::BadSignature => Error::bad_signature("EAR token signature"),
            EarError::Expired { exp, at, .. } => Authenticity::Expired {
                what: "EAR token".into(),
                not_after: exp,
                at,
            }
            .into(),
            EarError::NotYetValid { iat, at, .. } => Authenticity::NotYetValid {
                what: "EAR token".into(),
                not_before: iat,
                at,
            }
            .into(),
            EarError::NonceMismatch | EarError::MissingNonce => Authenticity::Mismatch {
                what: "EAR eat_nonce",
                detail: e.to_string(),
            }
            .into(),
            EarError::VerifierIdMismatch { .. } => Authenticity::Mismatch {
                what: "EAR verifier id",
                detail: e.to_string(),
            }
            .into(),
            EarError::UnsupportedAlgorithm { .. }
            | EarError::AlgorithmMismatch { .. }
            | EarError::UnknownKey { .. }
            | EarError::UnsupportedHeader { .. }
            | EarError::UnsupportedProfile { .. } => Authenticity::Other {
                detail: e.to_string(),
            }
            .into(),
            EarError::Random => Error::Other(std::sync::Arc::new(e)),
            EarError::NonceNotConfigured | EarError::BadNonce { .. } | EarError::Misuse { .. } => {
                Error::Misuse(e.to_string().into())
            }
        }
    }
}
