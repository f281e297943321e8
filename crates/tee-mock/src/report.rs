//! The mock report format, version 1. NO SECURITY.
//!
//! 496 bytes, integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0x000 | 8  | magic `"TEEMOCK\0"` |
//! | 0x008 | 4  | version (1) |
//! | 0x00C | 4  | flags: bit 0 = debug; other bits must be zero |
//! | 0x010 | 48 | launch measurement |
//! | 0x040 | 48 | host data |
//! | 0x070 | 64 | report data |
//! | 0x0B0 | 192 | runtime registers 0..3, 48 bytes each |
//! | 0x170 | 32 | key id: SHA-256 of the attestation key's SEC1 public key |
//! | 0x190 | 96 | ECDSA P-384 / SHA-384 signature (r ‖ s, big-endian) over bytes `[0x000, 0x190)` |
//!
//! The attestation key travels in the `mock-ak` endorsement: its SEC1
//! public key (97 bytes) followed by the mock root's signature (96 bytes)
//! over `"tee-mock/ak-endorsement/v1" ‖ public key`.

use tee_core::reader::Reader;
use tee_core::{Digest384, Error, MalformedKind, ReportData, Result};

/// Magic bytes.
pub const MAGIC: &[u8; 8] = b"TEEMOCK\0";
/// The only version.
pub const VERSION: u32 = 1;
/// Total length.
pub const LEN: usize = 0x1F0;
/// Length of the signed prefix.
pub const SIGNED_LEN: usize = 0x190;
const WHAT: &str = "mock report";

/// A parsed mock report (borrowing nothing; 496 bytes are cheap to copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockReport {
    /// Debug flag.
    pub debug: bool,
    /// Launch measurement.
    pub measurement: Digest384,
    /// Host data.
    pub host_data: Digest384,
    /// Report data.
    pub report_data: ReportData,
    /// Runtime registers.
    pub registers: [Digest384; 4],
    /// Key id.
    pub key_id: [u8; 32],
}

impl MockReport {
    /// Encode the signed prefix (everything but the signature).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(LEN);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&u32::from(self.debug).to_le_bytes());
        b.extend_from_slice(&self.measurement);
        b.extend_from_slice(&self.host_data);
        b.extend_from_slice(self.report_data.as_bytes());
        for r in &self.registers {
            b.extend_from_slice(r);
        }
        b.extend_from_slice(&self.key_id);
        b
    }

    /// Parse a report; returns it with the signed prefix and the signature.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a wrong length, magic, version or flags.
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8], &[u8])> {
        if bytes.len() != LEN {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::BadLength {
                    expected: LEN,
                    actual: bytes.len(),
                },
            ));
        }
        let r = Reader::new(WHAT, bytes);
        if r.bytes_at(0, 8)? != MAGIC {
            return Err(Error::bad_field(WHAT, "magic", "not a mock report"));
        }
        let version = r.u32_at(8)?;
        if version != VERSION {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::UnsupportedVersion(version),
            ));
        }
        let flags = r.u32_at(12)?;
        if flags & !1 != 0 {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::ReservedNonZero { offset: 12 },
            ));
        }
        let mut registers = [[0u8; 48]; 4];
        for (i, reg) in registers.iter_mut().enumerate() {
            *reg = r.array_at(0xB0 + 48 * i)?;
        }
        let report = Self {
            debug: flags & 1 == 1,
            measurement: r.array_at(0x10)?,
            host_data: r.array_at(0x40)?,
            report_data: ReportData::new(r.array_at(0x70)?),
            registers,
            key_id: r.array_at(0x170)?,
        };
        Ok((
            report,
            r.bytes_at(0, SIGNED_LEN)?,
            r.bytes_at(SIGNED_LEN, LEN - SIGNED_LEN)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MockReport {
        MockReport {
            debug: true,
            measurement: [1; 48],
            host_data: [2; 48],
            report_data: ReportData::new([3; 64]),
            registers: [[4; 48], [5; 48], [6; 48], [7; 48]],
            key_id: [8; 32],
        }
    }

    #[test]
    fn layout_offsets() {
        let body = sample().encode_body();
        assert_eq!(body.len(), SIGNED_LEN);
        assert_eq!(&body[0x10..0x40], &[1; 48]);
        assert_eq!(&body[0x70..0xB0], &[3; 64]);
        assert_eq!(&body[0x170..0x190], &[8; 32]);
        let mut full = body.clone();
        full.extend_from_slice(&[0; 96]);
        assert_eq!(MockReport::parse(&full).unwrap().0, sample());
    }

    #[test]
    fn rejects_bad_input() {
        let mut full = sample().encode_body();
        full.extend_from_slice(&[0; 96]);
        assert!(MockReport::parse(&full[..LEN - 1]).is_err());
        let mut v = full.clone();
        v[8] = 2;
        assert!(matches!(
            MockReport::parse(&v),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::UnsupportedVersion(2),
                ..
            }))
        ));
        let mut f = full.clone();
        f[12] = 2;
        assert!(matches!(
            MockReport::parse(&f),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::ReservedNonZero { offset: 12 },
                ..
            }))
        ));
        let mut m = full;
        m[0] = b'X';
        assert!(MockReport::parse(&m).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = MockReport::parse(&bytes);
        }
    }
}
