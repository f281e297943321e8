//! The Azure HCL report ("HCLA"): the paravisor's wrapper around the
//! hardware report and the runtime-claims blob it binds (facts:
//! cloud-and-interop §1.4). All fields little-endian `u32`.
//!
//! The header (0x00–0x1F) is outside the signed hardware report and is
//! never trusted; only its signature and the sizes needed to find the
//! parts are read, and they are checked against each other.

use tee_core::{Error, MalformedKind, Result};

/// `"HCLA"` read as a little-endian `u32`.
pub const HCL_SIGNATURE: u32 = 0x414C_4348;
/// Offset of the hardware report.
pub const HW_REPORT_OFFSET: usize = 0x20;
/// Size of the hardware report area (an SNP report; a TDREPORT uses 1024 of it).
pub const HW_REPORT_AREA: usize = 1184;
/// Offset of the IGVM request data (`data_size` …).
pub const REQUEST_DATA_OFFSET: usize = 0x4C0;
/// Offset of the variable data (runtime claims).
pub const VARIABLE_DATA_OFFSET: usize = 0x4D4;
/// Largest HCL report accepted (the NV index is 2600 bytes on Azure).
pub const MAX_HCL_REPORT: usize = 16 * 1024;
/// Size of a TDREPORT.
pub const TDREPORT_LEN: usize = 1024;

/// The TEE inside the HCL report (`report_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HclTee {
    /// 2: an AMD SEV-SNP report.
    Snp,
    /// 4: an Intel TDX TDREPORT.
    Tdx,
}

/// The hash that binds the variable data into REPORT_DATA (`report_data_hash_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HclHash {
    /// 1: SHA-256 (every capture seen).
    Sha256,
    /// 2: SHA-384.
    Sha384,
    /// 3: SHA-512.
    Sha512,
}

/// A parsed HCL report, borrowing the buffer.
#[derive(Debug, Clone, Copy)]
pub struct HclReport<'a> {
    /// The header's `version` (informational, untrusted).
    pub version: u32,
    /// The TEE.
    pub tee: HclTee,
    /// The binding hash.
    pub hash: HclHash,
    /// The hardware report: 1184 bytes (SNP) or the 1024-byte TDREPORT (TDX).
    pub hw_report: &'a [u8],
    /// The variable data (runtime-claims JSON), exactly `variable_data_size` bytes.
    pub variable_data: &'a [u8],
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

const WHAT: &str = "HCL report";

impl<'a> HclReport<'a> {
    /// Parse and cross-check the sizes (facts §1.4 parser rules).
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the field: signature, sizes, report type,
    /// hash type, non-zero TDX padding.
    pub fn parse(b: &'a [u8]) -> Result<Self> {
        if b.len() > MAX_HCL_REPORT {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::BadLength {
                    expected: MAX_HCL_REPORT,
                    actual: b.len(),
                },
            ));
        }
        if b.len() < VARIABLE_DATA_OFFSET {
            return Err(Error::truncated(WHAT, VARIABLE_DATA_OFFSET, b.len()));
        }
        let sig = u32_at(b, 0);
        if sig != HCL_SIGNATURE {
            return Err(Error::bad_field(
                WHAT,
                "signature",
                format_args!("{sig:#010x}, expected \"HCLA\""),
            ));
        }
        let version = u32_at(b, 4);
        let report_size = u32_at(b, 8) as usize;
        let data_size = u32_at(b, REQUEST_DATA_OFFSET) as usize;
        let report_type = u32_at(b, REQUEST_DATA_OFFSET + 8);
        let hash_type = u32_at(b, REQUEST_DATA_OFFSET + 12);
        let var_size = u32_at(b, REQUEST_DATA_OFFSET + 16) as usize;
        if data_size != 20usize.saturating_add(var_size) {
            return Err(Error::bad_field(
                WHAT,
                "data_size",
                format_args!("{data_size}, expected 20 + variable_data_size {var_size}"),
            ));
        }
        let end = VARIABLE_DATA_OFFSET.saturating_add(var_size);
        if end > b.len() {
            return Err(Error::truncated(WHAT, end, b.len()));
        }
        if report_size > b.len() || report_size != REQUEST_DATA_OFFSET + data_size {
            return Err(Error::bad_field(
                WHAT,
                "report_size",
                format_args!(
                    "{report_size}, expected {} (0x4C0 + data_size) within {} bytes",
                    REQUEST_DATA_OFFSET + data_size,
                    b.len()
                ),
            ));
        }
        let tee = match report_type {
            2 => HclTee::Snp,
            4 => HclTee::Tdx,
            t => {
                return Err(Error::bad_field(
                    WHAT,
                    "report_type",
                    format_args!("{t} (2 = SNP, 4 = TDX)"),
                ));
            }
        };
        let hash = match hash_type {
            1 => HclHash::Sha256,
            2 => HclHash::Sha384,
            3 => HclHash::Sha512,
            t => {
                return Err(Error::bad_field(
                    WHAT,
                    "report_data_hash_type",
                    format_args!("{t} (1 = SHA-256, 2 = SHA-384, 3 = SHA-512)"),
                ));
            }
        };
        let area = &b[HW_REPORT_OFFSET..HW_REPORT_OFFSET + HW_REPORT_AREA];
        let hw_report = match tee {
            HclTee::Snp => area,
            HclTee::Tdx => {
                if let Some(i) = area[TDREPORT_LEN..].iter().position(|&x| x != 0) {
                    return Err(Error::malformed(
                        WHAT,
                        MalformedKind::ReservedNonZero {
                            offset: HW_REPORT_OFFSET + TDREPORT_LEN + i,
                        },
                    ));
                }
                &area[..TDREPORT_LEN]
            }
        };
        Ok(Self {
            version,
            tee,
            hash,
            hw_report,
            variable_data: &b[VARIABLE_DATA_OFFSET..end],
        })
    }

    /// The digest of the variable data under [`HclReport::hash`]: what
    /// REPORT_DATA must begin with (the rest zero).
    pub fn variable_data_digest(&self) -> Vec<u8> {
        use sha2::Digest;
        match self.hash {
            HclHash::Sha256 => sha2::Sha256::digest(self.variable_data).to_vec(),
            HclHash::Sha384 => sha2::Sha384::digest(self.variable_data).to_vec(),
            HclHash::Sha512 => sha2::Sha512::digest(self.variable_data).to_vec(),
        }
    }
}

/// Build an HCL report (what the paravisor writes to NV `0x01400001`):
/// header version 1 (SNP) or 2 (TDX), SHA-256 binding, zero padding to
/// `nv_size` (at least the bytes in use). For fakes and tests.
pub fn build(tee: HclTee, hw_report: &[u8], variable_data: &[u8], nv_size: usize) -> Vec<u8> {
    let var = variable_data.len();
    let data_size = 20 + var;
    let used = REQUEST_DATA_OFFSET + data_size;
    let mut b = vec![0u8; used.max(nv_size)];
    let put =
        |b: &mut Vec<u8>, off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    put(&mut b, 0, HCL_SIGNATURE);
    put(&mut b, 4, if tee == HclTee::Snp { 1 } else { 2 });
    put(&mut b, 8, used as u32);
    put(&mut b, 12, 2);
    let n = hw_report.len().min(HW_REPORT_AREA);
    b[HW_REPORT_OFFSET..HW_REPORT_OFFSET + n].copy_from_slice(&hw_report[..n]);
    put(&mut b, REQUEST_DATA_OFFSET, data_size as u32);
    put(&mut b, REQUEST_DATA_OFFSET + 4, 1);
    put(
        &mut b,
        REQUEST_DATA_OFFSET + 8,
        if tee == HclTee::Snp { 2 } else { 4 },
    );
    put(&mut b, REQUEST_DATA_OFFSET + 12, 1);
    put(&mut b, REQUEST_DATA_OFFSET + 16, var as u32);
    b[VARIABLE_DATA_OFFSET..VARIABLE_DATA_OFFSET + var].copy_from_slice(variable_data);
    b
}
