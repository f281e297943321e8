//! Mock raw claims. **NO SECURITY.**

use serde::{Deserialize, Serialize};

use crate::bytes::HexBytes;

/// Raw claims of mock evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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

impl MockClaims {
    /// Raw mock claims.
    pub fn new(
        security: impl Into<String>,
        version: u32,
        measurement: impl Into<HexBytes>,
        host_data: impl Into<HexBytes>,
        registers: Vec<HexBytes>,
        key_id: impl Into<HexBytes>,
    ) -> Self {
        Self {
            security: security.into(),
            version,
            measurement: measurement.into(),
            host_data: host_data.into(),
            registers,
            key_id: key_id.into(),
        }
    }
}
