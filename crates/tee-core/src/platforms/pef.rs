//! IBM PEF raw claims (owner-rooted evidence; see `tee-pef`).

use serde::{Deserialize, Serialize};

use crate::appraisal::Appraisal;
use crate::bytes::HexBytes;

/// Raw claims of PEF owner-rooted evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PefClaims {
    /// Always states that the evidence is owner-rooted, not hardware-rooted.
    pub trust_statement: String,
    /// Identifier of the ESM-provisioned attestation key that produced the MAC.
    pub key_id: HexBytes,
    /// Format version of the owner-rooted report.
    pub version: u32,
}

/// PEF policy section (`[pef]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PefPolicy {
    /// If non-empty, the attestation key id must be one of these.
    pub allowed_key_ids: Vec<HexBytes>,
}

pub(crate) fn appraise(c: &PefClaims, p: &PefPolicy, out: &mut Appraisal) {
    // Always visible in the appraisal: what a passing PEF verification means.
    out.check(
        "pef.trust_root",
        c.trust_statement.starts_with("owner-rooted"),
        "owner-rooted evidence: proves possession of the owner's ESM-provisioned attestation key, \
         not a hardware signature",
    );
    if p.allowed_key_ids.is_empty() {
        out.skip("pef.key_id", "no allowed key ids configured");
    } else {
        out.check(
            "pef.key_id",
            p.allowed_key_ids.contains(&c.key_id),
            format!("attestation key id {}", c.key_id),
        );
    }
}
