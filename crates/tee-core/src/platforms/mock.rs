//! Mock raw claims. **NO SECURITY.**

use serde::{Deserialize, Serialize};

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
