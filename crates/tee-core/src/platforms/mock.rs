//! Mock raw claims. **NO SECURITY.**

use serde::{Deserialize, Serialize};

use crate::appraisal::Appraisal;
use crate::bytes::HexBytes;

/// Raw claims of mock evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockClaims {
    /// Always `"NO SECURITY: software mock"`.
    pub security: String,
    /// Mock report version.
    pub version: u32,
    /// Configured launch measurement.
    pub measurement: HexBytes,
    /// Configured host data.
    pub host_data: HexBytes,
    /// The four software registers.
    pub registers: Vec<HexBytes>,
    /// Identifier of the mock attestation key (SHA-256 of its SEC1 public key).
    pub key_id: HexBytes,
}

/// Mock policy section (`[mock]`). Nothing to configure beyond the common
/// `allow_mock` switch; present so every platform has a section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockPolicy {}

pub(crate) fn appraise(_c: &MockClaims, _p: &MockPolicy, _out: &mut Appraisal) {}
