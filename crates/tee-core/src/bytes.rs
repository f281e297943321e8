//! Byte strings with a stable text encoding in JSON and TOML.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes serialized as a lowercase hex string (measurements, digests, ids).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct HexBytes(pub Vec<u8>);

impl HexBytes {
    /// Parse hex text (an optional `0x` prefix is accepted).
    ///
    /// # Errors
    /// [`crate::Error::Malformed`] if the text is not hex.
    pub fn from_hex(s: &str) -> crate::Result<Self> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        hex::decode(s)
            .map(Self)
            .map_err(|e| crate::Error::encoding("hex string", e))
    }

    /// Hex text.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl Deref for HexBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for HexBytes {
    fn from(b: &[u8]) -> Self {
        Self(b.to_vec())
    }
}

impl<const N: usize> From<[u8; N]> for HexBytes {
    fn from(b: [u8; N]) -> Self {
        Self(b.to_vec())
    }
}

impl From<Vec<u8>> for HexBytes {
    fn from(b: Vec<u8>) -> Self {
        Self(b)
    }
}

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(&self.0))
    }
}

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(&self.0))
    }
}

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde helper: `Vec<u8>` as standard base64 (for large binary blobs such
/// as reports, quotes and certificates). Use with `#[serde(with = "tee_core::bytes::base64")]`.
pub mod base64 {
    use alloc::string::String;
    use alloc::vec::Vec;

    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    /// Deserialize.
    ///
    /// # Errors
    /// If the text is not standard base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
