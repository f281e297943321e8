//! Typed per-platform raw claims and per-platform appraisal policy.
//!
//! Each platform has one file holding its raw claims, its policy section and
//! the appraisal checks over them, so that a backend's verifier and the
//! core appraisal agree on one typed vocabulary.

mod mock;
mod pef;
mod snp;
mod tdx;

pub use mock::MockClaims;
pub use pef::{PefClaims, PefPolicy};
pub use snp::{
    SnpClaims, SnpGuestPolicy, SnpMinTcb, SnpPlatformInfo, SnpPolicy, SnpSigningKey, SnpTcb,
};
pub use tdx::{
    CollateralOrigin, TdAttributes, TdxClaims, TdxPolicy, TdxTcbLevel, TimeWindow,
    parse_policy_date,
};

pub(crate) use pef::appraise as appraise_pef;
pub(crate) use snp::appraise as appraise_snp;
pub(crate) use tdx::appraise as appraise_tdx;
