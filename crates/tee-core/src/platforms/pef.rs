//! IBM PEF raw claims (owner-rooted evidence; see `tee-pef`).

use serde::{Deserialize, Serialize};

use crate::appraisal::Appraisal;
use crate::bytes::HexBytes;
use crate::claims::TrustRoot;

/// Raw claims of PEF owner-rooted evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PefClaims {
    /// Always states that the evidence is owner-rooted, not hardware-rooted.
    pub trust_statement: String,
    /// Identifier of the ESM-provisioned attestation key that produced the MAC.
    pub key_id: HexBytes,
    /// Format version of the owner-rooted report.
    pub version: u32,
}

impl PefClaims {
    /// Raw PEF claims.
    pub fn new(
        trust_statement: impl Into<String>,
        key_id: impl Into<HexBytes>,
        version: u32,
    ) -> Self {
        Self {
            trust_statement: trust_statement.into(),
            key_id: key_id.into(),
            version,
        }
    }
}

/// PEF policy section (`[pef]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PefPolicy {
    /// If non-empty, the attestation key id must be one of these.
    pub allowed_key_ids: Vec<HexBytes>,
}

impl PefPolicy {
    /// Builder: add an allowed attestation key id (`allowed_key_ids`).
    #[must_use]
    pub fn allow_key_id(mut self, id: impl Into<HexBytes>) -> Self {
        self.allowed_key_ids.push(id.into());
        self
    }
}

pub(crate) fn appraise(trust: &TrustRoot, c: &PefClaims, p: &PefPolicy, out: &mut Appraisal) {
    // Always visible in the appraisal: what a passing PEF verification means.
    // Typed: PEF evidence can only be owner-rooted, so PEF claims with any
    // other trust root are inconsistent and fail.
    let owner = matches!(trust, TrustRoot::Owner);
    out.check(
        "pef.trust_root",
        owner,
        if owner {
            "owner-rooted evidence: proves possession of the owner's ESM-provisioned attestation key, \
             not a hardware signature"
        } else {
            "PEF claims must be owner-rooted (TrustRoot::Owner); these name another trust root"
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appraisal::Outcome;

    fn claims() -> PefClaims {
        PefClaims {
            trust_statement: String::new(),
            key_id: HexBytes(vec![7; 32]),
            version: 1,
        }
    }

    fn trust_root_outcome(trust: &TrustRoot) -> Outcome {
        let mut out = Appraisal::default();
        appraise(trust, &claims(), &PefPolicy::default(), &mut out);
        out.checks
            .iter()
            .find(|c| c.name == "pef.trust_root")
            .map(|c| c.outcome)
            .unwrap_or(Outcome::Skipped)
    }

    #[test]
    fn trust_root_is_the_typed_claim_not_the_statement_text() {
        // The statement text is ignored (empty here); the typed root decides.
        assert_eq!(trust_root_outcome(&TrustRoot::Owner), Outcome::Passed);
        let hw = TrustRoot::Hardware {
            vendor: "IBM".into(),
        };
        assert_eq!(trust_root_outcome(&hw), Outcome::Failed);
        assert_eq!(trust_root_outcome(&TrustRoot::NoSecurity), Outcome::Failed);
    }
}
