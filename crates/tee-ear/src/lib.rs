#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod ar4si;
mod error;
mod json;
mod key;
pub mod mapping;
mod token;

pub use ar4si::{Status, TrustClaim, TrustVector};
pub use error::EarError;
pub use key::{Alg, Crypto, Jwk, Jwks, MAX_JWKS_LEN, MAX_PEM_LEN, SignerSet, SigningKey};
pub use token::{
    DEFAULT_VALIDITY_SECS, Ear, EarRequest, Issuer, Submod, VerifierId, VerifyOptions, verify,
};

/// The `eat_profile` this crate issues: draft-ietf-rats-ear -02, whose JSON
/// uses the dotted claim names (`ear.status`, `ear.trustworthiness-vector`,
/// `ear.verifier-id`, `ear.appraisal-policy-id`) that Trustee (rust-ear
/// 0.5) and Veraison consume. The naming is this choice: the underscore
/// names of -03/-04 (rust-ear 0.6) are neither issued nor read.
pub const EAR_PROFILE: &str = "tag:ietf.org,2025-07:ear";
/// Trustee's attestation-service profile (dotted names); verification
/// accepts it only when asked ([`VerifyOptions::accept_profile`]).
pub const TRUSTEE_PROFILE: &str = "tag:github.com,2024:confidential-containers/Trustee";
/// Veraison's original profile (draft -00, dotted names); accepted only
/// when asked.
pub const VERAISON_PROFILE: &str = "tag:github.com,2023:veraison/ear";
/// The media type of the tokens.
pub const MEDIA_TYPE: &str = "application/eat-jwt; eat_profile=\"tag:ietf.org,2025-07:ear\"";

/// The submod member holding this SDK's normalized claims (measurement,
/// TCB, report data, host data, registers, platform, checks): a private,
/// collision-resistant extension name.
pub const CLAIMS_KEY: &str = "tee-sdk.claims";

/// Largest token accepted (64 KiB); longer input is rejected before any
/// parsing.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

pub(crate) const K_STATUS: &str = "ear.status";
pub(crate) const K_TRUST_VECTOR: &str = "ear.trustworthiness-vector";
pub(crate) const K_POLICY_ID: &str = "ear.appraisal-policy-id";
pub(crate) const K_VERIFIER_ID: &str = "ear.verifier-id";
