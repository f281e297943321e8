//! The owner-rooted evidence format `pef-owner-mac-v1` and its verifier.
//!
//! PEF has no vendor-signed report. What a secure VM *can* prove is that it
//! holds a secret the ultravisor released to it: the owner puts an
//! attestation key in the ESM blob as an attachment; the UV releases it
//! only to a VM on an authorised machine (its TPM unwrapped `lockbox-1`)
//! whose RTAS, kernel, initrd and boot arguments matched the owner's
//! digests. A MAC under that key over the report data therefore says
//! "some VM the owner's blob admitted produced this" — **rooted in the
//! owner's key, not in hardware**. Anyone holding the key (the owner, and
//! every admitted VM) can produce such reports.
//!
//! Layout (208 bytes, integers little-endian):
//!
//! ```text
//! 0    magic            8   "PEFOMAC\0"
//! 8    version          4   1
//! 12   flags            4   bit 0: esm_measurement present; other bits reserved (zero)
//! 16   key_id           32  SHA-256("tee-pef/attestation-key-id/v1" || key)
//! 48   report_data      64
//! 112  esm_measurement  64  Digests::measurement() of the blob (zero if absent)
//! 176  mac              32  HMAC-SHA256(key, "tee-pef/owner-mac/v1" || bytes[0..176])
//! ```
//!
//! The ESM measurement comes from the blob's `esm-measurement` attachment
//! ([`crate::esm::MEASUREMENT_ATTACHMENT`]): a digest over the RTAS,
//! kernel, initrd and boot-argument digests the ultravisor compared. It is
//! exactly as trustworthy as the MAC: it says which digests the owner's
//! blob pinned, not what hardware measured.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tee_core::reader::Reader;
use tee_core::{Error, MalformedKind, ReportData, Result};

/// Report magic.
pub const MAGIC: &[u8; 8] = b"PEFOMAC\0";
/// The only version written and read.
pub const VERSION: u32 = 1;
/// Report length.
pub const REPORT_LEN: usize = 208;
/// Length of the MAC-covered body.
pub const BODY_LEN: usize = 176;
/// Flag: the ESM measurement field is present.
pub const FLAG_MEASUREMENT: u32 = 1;
/// Minimum attestation key length.
pub const MIN_KEY_LEN: usize = 32;
const MAC_DOMAIN: &[u8] = b"tee-pef/owner-mac/v1";
const KEY_ID_DOMAIN: &[u8] = b"tee-pef/attestation-key-id/v1";
pub(crate) const WHAT: &str = "PEF owner-MAC report";

/// The statement every PEF claim carries.
pub const TRUST_STATEMENT: &str = "owner-rooted, not hardware-rooted: a MAC under an attestation key the workload owner \
provisioned in the ESM blob; the IBM ultravisor released that key only after its TPM unwrapped lockbox-1 and the RTAS, \
kernel, initrd and boot-argument digests matched, but no vendor key signs anything and anyone holding the owner's key \
can produce this evidence";

/// The public identifier of an attestation key.
pub fn key_id(key: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(KEY_ID_DOMAIN)
        .chain_update(key)
        .finalize()
        .into()
}

pub(crate) fn mac(key: &[u8], body: &[u8]) -> Result<[u8; 32]> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| Error::Misuse("HMAC key".into()))?;
    m.update(MAC_DOMAIN);
    m.update(body);
    Ok(m.finalize().into_bytes().into())
}

/// Produce a report (the guest side).
///
/// # Errors
/// [`Error::Misuse`] for a key shorter than [`MIN_KEY_LEN`].
pub fn produce(
    key: &[u8],
    report_data: &ReportData,
    esm_measurement: Option<&[u8; 64]>,
) -> Result<Vec<u8>> {
    if key.len() < MIN_KEY_LEN {
        return Err(Error::Misuse(
            "PEF attestation keys must be at least 32 bytes".into(),
        ));
    }
    let mut out = Vec::with_capacity(REPORT_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    let flags = if esm_measurement.is_some() {
        FLAG_MEASUREMENT
    } else {
        0
    };
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&key_id(key));
    out.extend_from_slice(report_data.as_bytes());
    out.extend_from_slice(esm_measurement.unwrap_or(&[0u8; 64]));
    let m = mac(key, &out)?;
    out.extend_from_slice(&m);
    Ok(out)
}

/// The parsed fields of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerMacReport<'a> {
    /// Format version.
    pub version: u32,
    /// Key id.
    pub key_id: [u8; 32],
    /// Report data.
    pub report_data: ReportData,
    /// The ESM measurement, when the flag says it is present.
    pub esm_measurement: Option<[u8; 64]>,
    /// Signed range `[0, 176)`.
    pub body: &'a [u8],
    /// The MAC.
    pub mac: &'a [u8],
}

/// Parse a report (no authentication).
///
/// # Errors
/// [`Error::Malformed`]: wrong magic, unknown version (checked before any
/// other field), wrong length.
pub fn parse(bytes: &[u8]) -> Result<OwnerMacReport<'_>> {
    let r = Reader::new(WHAT, bytes);
    // Shorter than magic + version: truncated at the end of the version.
    let magic = r
        .bytes_at(0, 8)
        .map_err(|_| Error::truncated(WHAT, 12, bytes.len()))?;
    if magic != MAGIC {
        return Err(Error::bad_field(WHAT, "magic", "not \"PEFOMAC\\0\""));
    }
    let version = r.u32_at(8)?;
    if version != VERSION {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::UnsupportedVersion(version),
        ));
    }
    if bytes.len() != REPORT_LEN {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::BadLength {
                expected: REPORT_LEN,
                actual: bytes.len(),
            },
        ));
    }
    let flags = r.u32_at(12)?;
    if flags & !FLAG_MEASUREMENT != 0 {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::ReservedNonZero { offset: 12 },
        ));
    }
    let m: [u8; 64] = r.array_at(112)?;
    let esm_measurement = if flags & FLAG_MEASUREMENT != 0 {
        Some(m)
    } else if m.iter().any(|&b| b != 0) {
        // The field's offset (not the first non-zero byte's).
        return Err(Error::malformed(
            WHAT,
            MalformedKind::ReservedNonZero { offset: 112 },
        ));
    } else {
        None
    };
    Ok(OwnerMacReport {
        version,
        key_id: r.array_at(16)?,
        report_data: ReportData::from_slice(r.bytes_at(48, 64)?)?,
        esm_measurement,
        body: r.bytes_at(0, BODY_LEN)?,
        mac: r.bytes_at(BODY_LEN, REPORT_LEN - BODY_LEN)?,
    })
}

pub use crate::verify::PefVerifier;
