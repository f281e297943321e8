//! Claims of vTPM-mediated evidence (Azure confidential VMs): the hardware
//! report binds a paravisor's runtime-claims blob, which names the vTPM
//! attestation key, whose TPM quote carries the verifier's freshness value.
//!
//! Such evidence is weaker than a bare hardware report in two explicit ways:
//! the freshness value is in the TPM quote's qualifying data (`extraData`),
//! not in the hardware REPORT_DATA, and the trust chain includes the
//! paravisor (its vTPM signs the quote). Appraisal therefore denies it
//! unless the policy sets `allow_vtpm = true`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha384};

use crate::bytes::HexBytes;
use crate::report_data::ReportData;

/// How the attester chose the TPM quote's qualifying data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum QualifyingDataRule {
    /// The SDK's rule: SHA-384 of the 64 report-data bytes (48 bytes; the
    /// Azure vTPM takes at most 50). An expected [`ReportData`] is compared
    /// through [`QualifyingDataRule::expected`].
    Sha384OfReportData,
    /// The qualifying data is the verifier's nonce as given (Trustee,
    /// attestation-rs): an expected value is compared as raw bytes.
    Raw,
}

impl QualifyingDataRule {
    /// The qualifying data the SDK's attester derives from `rd`.
    pub fn sha384_of(rd: &ReportData) -> [u8; 48] {
        Sha384::digest(rd.as_bytes()).into()
    }

    /// The qualifying data expected for report data `rd` under this rule
    /// (`None` for [`QualifyingDataRule::Raw`], which has no report-data form).
    pub fn expected(self, rd: &ReportData) -> Option<Vec<u8>> {
        match self {
            Self::Sha384OfReportData => Some(Self::sha384_of(rd).to_vec()),
            Self::Raw => None,
        }
    }
}

/// Claims of vTPM-mediated evidence, in [`crate::Claims::vtpm`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VtpmClaims {
    /// Who runs the vTPM, e.g. `"azure-hcl-paravisor"`.
    pub provider: String,
    /// Where the verifier's freshness value is: always
    /// `"vtpm-quote-extra-data"` (the TPM quote's qualifying data), never
    /// the hardware REPORT_DATA.
    pub freshness: String,
    /// The trust chain, root first, e.g. `["AMD ARK", "AMD VCEK",
    /// "SNP report (REPORT_DATA = SHA-256(runtime claims))", "Azure HCL
    /// paravisor runtime claims", "vTPM attestation key HCLAkPub",
    /// "TPM2_Quote"]`.
    pub trust_chain: Vec<String>,
    /// The TPM quote's `extraData`, exactly as signed.
    pub qualifying_data: HexBytes,
    /// How the qualifying data was chosen (an unauthenticated hint of the
    /// evidence; it only selects how an expected value is compared).
    pub qualifying_data_rule: QualifyingDataRule,
    /// The PCR bank quoted (`"sha256"`).
    pub pcr_bank: String,
    /// SHA-256 of the attestation key's public modulus.
    pub ak_sha256: HexBytes,
    /// The `user-data` of the runtime claims (64 bytes, zero when the
    /// attester did not write it).
    pub user_data: HexBytes,
    /// Whether `user-data` is non-zero and begins with the qualifying data
    /// (the freshness value is then also covered by the hardware report).
    pub user_data_binds_qualifying_data: bool,
    /// The runtime claims' `vm-configuration` object, as given.
    pub vm_configuration: BTreeMap<String, serde_json::Value>,
    /// Checks that are not decisive and did not hold (e.g. the quote's
    /// `qualifiedSigner` differs from the one the AK template predicts).
    pub warnings: Vec<String>,
}

impl VtpmClaims {
    /// Claims with the given required fields; the rest empty.
    pub fn new(
        provider: impl Into<String>,
        trust_chain: Vec<String>,
        qualifying_data: Vec<u8>,
        qualifying_data_rule: QualifyingDataRule,
    ) -> Self {
        Self {
            provider: provider.into(),
            freshness: "vtpm-quote-extra-data".into(),
            trust_chain,
            qualifying_data: qualifying_data.into(),
            qualifying_data_rule,
            pcr_bank: "sha256".into(),
            ak_sha256: HexBytes::default(),
            user_data: HexBytes::default(),
            user_data_binds_qualifying_data: false,
            vm_configuration: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }
}
