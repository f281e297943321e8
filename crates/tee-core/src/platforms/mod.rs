//! Typed per-platform raw claims and per-platform appraisal policy.
//!
//! Each platform has one file holding its raw claims, its policy section and
//! the appraisal checks over them, so that a backend's verifier and the
//! core appraisal agree on one typed vocabulary.

mod mock;
mod pef;
mod snp;
mod tdx;
mod vtpm;

pub use mock::MockClaims;
pub use pef::{PefClaims, PefPolicy};
pub use snp::{
    SnpClaims, SnpGuestPolicy, SnpMinTcb, SnpMinTcbByProduct, SnpPlatformInfo, SnpPolicy,
    SnpSigningKey, SnpTcb,
};
pub use tdx::{
    CollateralOrigin, TdAttributes, TdxClaims, TdxPolicy, TdxTcbLevel, TimeWindow,
    parse_policy_date,
};

pub use vtpm::{QualifyingDataRule, VtpmClaims};

pub(crate) use pef::appraise as appraise_pef;
pub(crate) use snp::appraise as appraise_snp;
pub(crate) use tdx::appraise as appraise_tdx;

/// The platform policy key that pins the workload when the policy lists no
/// reference launch measurement (SEV-SNP ID or author key digests, TDX RTMR
/// values), if one is configured for the evidence's platform.
pub(crate) fn workload_pin(
    claims: &crate::claims::PlatformClaims,
    policy: &crate::appraisal::Policy,
) -> Option<&'static str> {
    use crate::claims::PlatformClaims;
    match claims {
        PlatformClaims::SevSnp(_) => {
            let p = &policy.sev_snp;
            if !p.allowed_id_key_digests.is_empty() {
                Some("[sev-snp] allowed_id_key_digests")
            } else if !p.allowed_author_key_digests.is_empty() {
                Some("[sev-snp] allowed_author_key_digests")
            } else {
                None
            }
        }
        PlatformClaims::Tdx(_) => {
            let p = &policy.tdx;
            [
                (&p.allowed_rtmr0, "[tdx] allowed_rtmr0"),
                (&p.allowed_rtmr1, "[tdx] allowed_rtmr1"),
                (&p.allowed_rtmr2, "[tdx] allowed_rtmr2"),
                (&p.allowed_rtmr3, "[tdx] allowed_rtmr3"),
            ]
            .into_iter()
            .find(|(l, _)| !l.is_empty())
            .map(|(_, k)| k)
        }
        _ => None,
    }
}
