//! The 64 bytes of caller data bound into evidence.

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha512};

use crate::error::{Error, MalformedKind, Result};

/// Exactly 64 bytes of caller data that a TEE binds into its evidence.
///
/// Constructors are fallible and never pad or truncate. To bind a
/// verifier's nonce and optional user data, use [`ReportData::bind`], the
/// SDK's one documented recipe, which a relying party recomputes from the
/// nonce it issued.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportData([u8; 64]);

/// Domain separator of [`ReportData::bind`].
pub const BIND_DOMAIN: &[u8] = b"tee-sdk/report-data/v1";

impl ReportData {
    /// The length of report data.
    pub const LEN: usize = 64;

    /// Wrap exactly 64 bytes.
    pub const fn new(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// All zero (for tests and platforms that ignore it).
    pub const fn zero() -> Self {
        Self([0; 64])
    }

    /// From a slice that must be exactly 64 bytes long.
    ///
    /// # Errors
    /// [`Error::Malformed`] with [`MalformedKind::BadLength`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 64]>::try_from(bytes).map(Self).map_err(|_| {
            Error::malformed(
                "report data",
                MalformedKind::BadLength {
                    expected: 64,
                    actual: bytes.len(),
                },
            )
        })
    }

    /// From exactly 128 hex digits.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the text is not hex or not 64 bytes.
    pub fn from_hex(s: &str) -> Result<Self> {
        let b = crate::HexBytes::from_hex(s)?;
        Self::from_slice(&b)
    }

    /// The SDK's binding recipe:
    ///
    /// ```text
    /// SHA-512( "tee-sdk/report-data/v1"
    ///          || u64_le(len(nonce))     || nonce
    ///          || u64_le(len(user_data)) || user_data )
    /// ```
    ///
    /// Length prefixes make the encoding injective, so no two different
    /// `(nonce, user_data)` pairs produce the same input. A relying party
    /// that issued `nonce` recomputes this value and compares it with the
    /// verified claims.
    pub fn bind(nonce: &[u8], user_data: &[u8]) -> Self {
        let mut h = Sha512::new();
        h.update(BIND_DOMAIN);
        h.update((nonce.len() as u64).to_le_bytes());
        h.update(nonce);
        h.update((user_data.len() as u64).to_le_bytes());
        h.update(user_data);
        let mut out = [0u8; 64];
        out.copy_from_slice(&h.finalize());
        Self(out)
    }

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// Hex text (128 digits).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl AsRef<[u8]> for ReportData {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ReportData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReportData({})", hex::encode(self.0))
    }
}

impl fmt::Display for ReportData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for ReportData {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for ReportData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_only() {
        assert_eq!(
            ReportData::from_slice(&[7; 64]).unwrap().as_bytes(),
            &[7u8; 64]
        );
        for n in [0, 1, 32, 63, 65, 128] {
            let e = ReportData::from_slice(&vec![0; n]).unwrap_err();
            assert!(matches!(
                e,
                Error::Malformed(crate::Malformed { kind: MalformedKind::BadLength { expected: 64, actual }, .. }) if actual == n
            ));
        }
        assert_eq!(
            ReportData::from_hex(&"ab".repeat(64)).unwrap().as_bytes(),
            &[0xab; 64]
        );
        assert!(ReportData::from_hex(&"ab".repeat(63)).is_err());
        assert!(ReportData::from_hex(&"zz".repeat(64)).is_err());
    }

    #[test]
    fn bind_is_injective_on_the_split() {
        // Same concatenation, different split: must differ.
        let a = ReportData::bind(b"ab", b"c");
        let b = ReportData::bind(b"a", b"bc");
        assert_ne!(a, b);
        assert_eq!(ReportData::bind(b"n", b"u"), ReportData::bind(b"n", b"u"));
        assert_ne!(ReportData::bind(b"n", b""), ReportData::bind(b"n", b"\0"));
    }

    #[test]
    fn bind_known_answer() {
        // Recomputed independently: sha512(b"tee-sdk/report-data/v1" + le64(4) + 00112233 + le64(0)).
        let rd = ReportData::bind(&[0x00, 0x11, 0x22, 0x33], b"");
        let mut h = Sha512::new();
        h.update(b"tee-sdk/report-data/v1");
        h.update([4, 0, 0, 0, 0, 0, 0, 0]);
        h.update([0x00, 0x11, 0x22, 0x33]);
        h.update([0u8; 8]);
        assert_eq!(rd.as_bytes()[..], h.finalize()[..]);
    }
}
