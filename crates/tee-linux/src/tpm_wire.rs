//! TPM 2.0 wire format (TCG TPM 2.0 Library, Part 2): constants, response
//! codes, and bounded, strict parsers of the structures a verifier reads
//! (`TPMS_ATTEST` of a quote, `TPMT_PUBLIC` of an RSA key, `TPMT_SIGNATURE`,
//! `TPML_PCR_SELECTION`). Pure functions, no I/O.
//!
//! Every parser bounds each size by the bytes remaining before reading,
//! rejects trailing bytes, and rejects values it does not understand with a
//! typed error ([`WireError`]).

use std::fmt;

use sha2::{Digest, Sha256};

/// `TPM_GENERATED_VALUE`: the magic of every `TPMS_ATTEST`.
pub const TPM_GENERATED_VALUE: u32 = 0xFF54_4347;
/// `TPM_ST_ATTEST_QUOTE`.
pub const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
/// `TPM_ST_NO_SESSIONS`.
pub const TPM_ST_NO_SESSIONS: u16 = 0x8001;
/// `TPM_ST_SESSIONS`.
pub const TPM_ST_SESSIONS: u16 = 0x8002;
/// `TPM_ALG_RSA`.
pub const TPM_ALG_RSA: u16 = 0x0001;
/// `TPM_ALG_SHA1`.
pub const TPM_ALG_SHA1: u16 = 0x0004;
/// `TPM_ALG_SHA256`.
pub const TPM_ALG_SHA256: u16 = 0x000B;
/// `TPM_ALG_SHA384`.
pub const TPM_ALG_SHA384: u16 = 0x000C;
/// `TPM_ALG_SHA512`.
pub const TPM_ALG_SHA512: u16 = 0x000D;
/// `TPM_ALG_NULL`.
pub const TPM_ALG_NULL: u16 = 0x0010;
/// `TPM_ALG_RSASSA`.
pub const TPM_ALG_RSASSA: u16 = 0x0014;
/// `TPM_ALG_RSAPSS`.
pub const TPM_ALG_RSAPSS: u16 = 0x0016;
/// `TPM_ALG_ECDSA`.
pub const TPM_ALG_ECDSA: u16 = 0x0018;
/// `TPM_RH_OWNER`.
pub const TPM_RH_OWNER: u32 = 0x4000_0001;
/// `TPM_RH_ENDORSEMENT`.
pub const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;
/// `TPM_RS_PW`: the password authorization session.
pub const TPM_RS_PW: u32 = 0x4000_0009;
/// Number of PCRs of a PC-client TPM (and the Azure vTPM).
pub const PCR_COUNT: u32 = 24;
/// Largest qualifying data (`TPM2B_DATA`) any TPM accepts: `sizeof(TPMT_HA)`
/// with SHA-512 (a TPM implementing at most SHA-384, such as the Azure
/// vTPM, takes 50).
pub const MAX_QUALIFYING_DATA: usize = 66;

/// A structure that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The input ended before a field.
    Truncated {
        /// The structure.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A field had a value the format (or this parser) does not allow.
    BadField {
        /// The structure.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Explanation (public values).
        detail: String,
    },
    /// Bytes after the end of the structure.
    TrailingData {
        /// The structure.
        what: &'static str,
        /// Number of extra bytes.
        len: usize,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "{what}: truncated (need {needed} bytes, have {available})"
            ),
            Self::BadField {
                what,
                field,
                detail,
            } => write!(f, "{what}: field {field}: {detail}"),
            Self::TrailingData { what, len } => write!(f, "{what}: {len} trailing bytes"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<WireError> for tee_core::Error {
    fn from(e: WireError) -> Self {
        use tee_core::MalformedKind;
        match e {
            WireError::Truncated {
                what,
                needed,
                available,
            } => tee_core::Error::truncated(what, needed, available),
            WireError::BadField {
                what,
                field,
                detail,
            } => tee_core::Error::bad_field(what, field, detail),
            WireError::TrailingData { what, len } => {
                tee_core::Error::malformed(what, MalformedKind::TrailingData { len })
            }
        }
    }
}

/// A bounded big-endian reader over a TPM structure.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of structure `what` over `buf`.
    pub fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Self { what, buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`WireError::Truncated`] when fewer are left.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Truncated {
                what: self.what,
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A fixed-size array.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// A `u8`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian `u16`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `u32`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u64`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `TPM2B`: a `u16` size, then at most `max` bytes.
    ///
    /// # Errors
    /// [`WireError::Truncated`]; [`WireError::BadField`] when the size is over `max`.
    pub fn tpm2b(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], WireError> {
        let n = usize::from(self.u16()?);
        if n > max {
            return Err(self.bad(field, format!("size {n} over the maximum {max}")));
        }
        self.bytes(n)
    }

    /// A [`WireError::BadField`] of this structure.
    pub fn bad(&self, field: &'static str, detail: impl Into<String>) -> WireError {
        WireError::BadField {
            what: self.what,
            field,
            detail: detail.into(),
        }
    }

    /// Require that nothing is left.
    ///
    /// # Errors
    /// [`WireError::TrailingData`].
    pub fn finish(&self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            len => Err(WireError::TrailingData {
                what: self.what,
                len,
            }),
        }
    }
}

/// Digest size of a TPM hash algorithm, `None` for one this crate does not know.
pub fn digest_size(alg: u16) -> Option<usize> {
    match alg {
        TPM_ALG_SHA1 => Some(20),
        TPM_ALG_SHA256 => Some(32),
        TPM_ALG_SHA384 => Some(48),
        TPM_ALG_SHA512 => Some(64),
        _ => None,
    }
}

/// One bank of a `TPML_PCR_SELECTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSelection {
    /// The bank's hash algorithm.
    pub hash: u16,
    /// The bitmap (`pcrSelect`; bit `i` of byte `j` selects PCR `8j+i`).
    pub select: Vec<u8>,
}

impl PcrSelection {
    /// A selection of `pcrs` (each below 8 × `size_of_select`) in bank `hash`,
    /// with the usual 3-byte bitmap for PCRs 0–23.
    pub fn new(hash: u16, pcrs: &[u32]) -> Self {
        let max = pcrs.iter().copied().max().unwrap_or(0);
        let len = usize::try_from(max / 8 + 1).unwrap_or(1).max(3);
        let mut select = vec![0u8; len];
        for &p in pcrs {
            if let Some(b) = select.get_mut(p as usize / 8) {
                *b |= 1 << (p % 8);
            }
        }
        Self { hash, select }
    }

    /// The selected PCR indices, ascending.
    pub fn pcrs(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (j, b) in self.select.iter().enumerate() {
            for i in 0..8 {
                if b & (1 << i) != 0 {
                    out.push(j as u32 * 8 + i);
                }
            }
        }
        out
    }

    /// Marshal as `TPMS_PCR_SELECTION`.
    pub fn marshal(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_be_bytes());
        out.push(self.select.len() as u8);
        out.extend_from_slice(&self.select);
    }
}

/// Largest `sizeofSelect` accepted (PCR bitmaps of real TPMs are 3 bytes; 8
/// covers 64 PCRs).
const MAX_SIZE_OF_SELECT: usize = 8;
/// Largest number of banks in a `TPML_PCR_SELECTION` (`HASH_COUNT` of real TPMs is at most 5).
const MAX_BANKS: u32 = 8;

/// Parse a `TPML_PCR_SELECTION`.
///
/// # Errors
/// [`WireError`] for a count over 8 banks, a bitmap over 8 bytes, or truncation.
pub fn parse_pcr_selection(r: &mut Reader<'_>) -> Result<Vec<PcrSelection>, WireError> {
    let count = r.u32()?;
    if count > MAX_BANKS {
        return Err(r.bad("pcrSelections.count", format!("{count} banks")));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let hash = r.u16()?;
        let size = usize::from(r.u8()?);
        if size > MAX_SIZE_OF_SELECT {
            return Err(r.bad("sizeofSelect", format!("{size} bytes")));
        }
        out.push(PcrSelection {
            hash,
            select: r.bytes(size)?.to_vec(),
        });
    }
    Ok(out)
}

/// Marshal a `TPML_PCR_SELECTION`.
pub fn marshal_pcr_selection(sel: &[PcrSelection], out: &mut Vec<u8>) {
    out.extend_from_slice(&(sel.len() as u32).to_be_bytes());
    for s in sel {
        s.marshal(out);
    }
}

/// `TPMS_CLOCK_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockInfo {
    /// Milliseconds the TPM has been powered (obfuscation does not apply).
    pub clock: u64,
    /// `resetCount` (obfuscated for keys outside the endorsement/platform hierarchies).
    pub reset_count: u32,
    /// `restartCount` (obfuscated likewise).
    pub restart_count: u32,
    /// `safe`.
    pub safe: bool,
}

/// A parsed `TPMS_ATTEST` of type `TPM_ST_ATTEST_QUOTE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteAttest {
    /// `qualifiedSigner` (a `TPM2B_NAME`: nameAlg ‖ digest).
    pub qualified_signer: Vec<u8>,
    /// `extraData`: the qualifying data (nonce) exactly as given, unpadded.
    pub extra_data: Vec<u8>,
    /// `clockInfo`.
    pub clock_info: ClockInfo,
    /// `firmwareVersion`.
    pub firmware_version: u64,
    /// `pcrSelect`.
    pub pcr_select: Vec<PcrSelection>,
    /// `pcrDigest`.
    pub pcr_digest: Vec<u8>,
}

/// Largest `TPMS_ATTEST` accepted (`TPM2B_ATTEST` capacity of common TPMs is
/// about 1 KiB; a quote is ~150 bytes).
pub const MAX_ATTEST: usize = 2048;

impl QuoteAttest {
    /// Parse a quote's `TPMS_ATTEST` strictly: magic, type, bounded fields,
    /// no trailing bytes.
    ///
    /// # Errors
    /// [`WireError`] naming the field.
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        const WHAT: &str = "TPMS_ATTEST";
        if buf.len() > MAX_ATTEST {
            return Err(WireError::BadField {
                what: WHAT,
                field: "size",
                detail: format!("{} bytes, over {MAX_ATTEST}", buf.len()),
            });
        }
        let mut r = Reader::new(WHAT, buf);
        let magic = r.u32()?;
        if magic != TPM_GENERATED_VALUE {
            return Err(r.bad(
                "magic",
                format!("{magic:#010x}, expected {TPM_GENERATED_VALUE:#010x}"),
            ));
        }
        let ty = r.u16()?;
        if ty != TPM_ST_ATTEST_QUOTE {
            return Err(r.bad(
                "type",
                format!("{ty:#06x}, expected TPM_ST_ATTEST_QUOTE {TPM_ST_ATTEST_QUOTE:#06x}"),
            ));
        }
        let qualified_signer = r.tpm2b("qualifiedSigner", 2 + 64)?.to_vec();
        let extra_data = r.tpm2b("extraData", MAX_QUALIFYING_DATA)?.to_vec();
        let clock_info = ClockInfo {
            clock: r.u64()?,
            reset_count: r.u32()?,
            restart_count: r.u32()?,
            safe: match r.u8()? {
                0 => false,
                1 => true,
                v => return Err(r.bad("clockInfo.safe", format!("{v} (a TPMI_YES_NO is 0 or 1)"))),
            },
        };
        let firmware_version = r.u64()?;
        let pcr_select = parse_pcr_selection(&mut r)?;
        let pcr_digest = r.tpm2b("pcrDigest", 64)?.to_vec();
        r.finish()?;
        Ok(Self {
            qualified_signer,
            extra_data,
            clock_info,
            firmware_version,
            pcr_select,
            pcr_digest,
        })
    }

    /// Marshal (the inverse of [`QuoteAttest::parse`]; used by fakes and tests).
    pub fn marshal(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(&TPM_GENERATED_VALUE.to_be_bytes());
        out.extend_from_slice(&TPM_ST_ATTEST_QUOTE.to_be_bytes());
        put_tpm2b(&mut out, &self.qualified_signer);
        put_tpm2b(&mut out, &self.extra_data);
        out.extend_from_slice(&self.clock_info.clock.to_be_bytes());
        out.extend_from_slice(&self.clock_info.reset_count.to_be_bytes());
        out.extend_from_slice(&self.clock_info.restart_count.to_be_bytes());
        out.push(u8::from(self.clock_info.safe));
        out.extend_from_slice(&self.firmware_version.to_be_bytes());
        marshal_pcr_selection(&self.pcr_select, &mut out);
        put_tpm2b(&mut out, &self.pcr_digest);
        out
    }
}

/// Append a `TPM2B` (u16 size ‖ bytes). Callers keep `data` under 64 KiB.
pub fn put_tpm2b(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// `TPMA_OBJECT` bits of an attestation key that matter to a verifier.
pub mod object_attributes {
    /// `fixedTPM`.
    pub const FIXED_TPM: u32 = 1 << 1;
    /// `fixedParent`.
    pub const FIXED_PARENT: u32 = 1 << 4;
    /// `sensitiveDataOrigin`.
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    /// `userWithAuth`.
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    /// `noDA`.
    pub const NO_DA: u32 = 1 << 10;
    /// `restricted`.
    pub const RESTRICTED: u32 = 1 << 16;
    /// `decrypt`.
    pub const DECRYPT: u32 = 1 << 17;
    /// `sign`.
    pub const SIGN: u32 = 1 << 18;
    /// The Azure vTPM AK's attributes (`0x00050472`).
    pub const AZURE_AK: u32 = FIXED_TPM
        | FIXED_PARENT
        | SENSITIVE_DATA_ORIGIN
        | USER_WITH_AUTH
        | NO_DA
        | RESTRICTED
        | SIGN;
}

/// A parsed RSA `TPMT_PUBLIC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublic {
    /// `nameAlg`.
    pub name_alg: u16,
    /// `objectAttributes`.
    pub attributes: u32,
    /// `authPolicy`.
    pub auth_policy: Vec<u8>,
    /// `scheme` (`TPM_ALG_NULL`, `TPM_ALG_RSASSA`, `TPM_ALG_RSAPSS`) and its hash.
    pub scheme: (u16, Option<u16>),
    /// `keyBits`.
    pub key_bits: u16,
    /// `exponent` as stored (0 means 65537).
    pub exponent: u32,
    /// `unique`: the modulus, big-endian.
    pub modulus: Vec<u8>,
}

impl RsaPublic {
    /// An Azure-vTPM-shaped AK (RSASSA/SHA-256, attributes `0x00050472`,
    /// empty policy, exponent 65537 stored as 0) with `modulus`.
    pub fn azure_ak(modulus: Vec<u8>) -> Self {
        Self {
            name_alg: TPM_ALG_SHA256,
            attributes: object_attributes::AZURE_AK,
            auth_policy: Vec::new(),
            scheme: (TPM_ALG_RSASSA, Some(TPM_ALG_SHA256)),
            key_bits: (modulus.len() * 8) as u16,
            exponent: 0,
            modulus,
        }
    }

    /// The exponent (0 → 65537).
    pub fn effective_exponent(&self) -> u32 {
        if self.exponent == 0 {
            65537
        } else {
            self.exponent
        }
    }

    /// Parse an RSA `TPMT_PUBLIC` (no `TPM2B` size prefix) strictly.
    ///
    /// # Errors
    /// [`WireError`] for another key type, a symmetric algorithm (AKs have
    /// none), an unknown scheme, a modulus whose size differs from `keyBits`,
    /// truncation or trailing bytes.
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new("TPMT_PUBLIC", buf);
        let ty = r.u16()?;
        if ty != TPM_ALG_RSA {
            return Err(r.bad("type", format!("{ty:#06x}, expected TPM_ALG_RSA")));
        }
        let name_alg = r.u16()?;
        if digest_size(name_alg).is_none() {
            return Err(r.bad("nameAlg", format!("unknown hash {name_alg:#06x}")));
        }
        let attributes = r.u32()?;
        let auth_policy = r.tpm2b("authPolicy", 64)?.to_vec();
        let sym = r.u16()?;
        if sym != TPM_ALG_NULL {
            return Err(r.bad(
                "parameters.symmetric",
                format!("{sym:#06x}: a signing key has TPM_ALG_NULL"),
            ));
        }
        let scheme_alg = r.u16()?;
        let scheme = match scheme_alg {
            TPM_ALG_NULL => (TPM_ALG_NULL, None),
            TPM_ALG_RSASSA | TPM_ALG_RSAPSS => (scheme_alg, Some(r.u16()?)),
            other => return Err(r.bad("parameters.scheme", format!("{other:#06x}"))),
        };
        let key_bits = r.u16()?;
        let exponent = r.u32()?;
        let modulus = r.tpm2b("unique", 512)?.to_vec();
        if modulus.len() * 8 != usize::from(key_bits) {
            return Err(r.bad(
                "unique",
                format!("{} bytes for a {key_bits}-bit key", modulus.len()),
            ));
        }
        r.finish()?;
        Ok(Self {
            name_alg,
            attributes,
            auth_policy,
            scheme,
            key_bits,
            exponent,
            modulus,
        })
    }

    /// Marshal as `TPMT_PUBLIC` (no size prefix).
    pub fn marshal(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(300);
        out.extend_from_slice(&TPM_ALG_RSA.to_be_bytes());
        out.extend_from_slice(&self.name_alg.to_be_bytes());
        out.extend_from_slice(&self.attributes.to_be_bytes());
        put_tpm2b(&mut out, &self.auth_policy);
        out.extend_from_slice(&TPM_ALG_NULL.to_be_bytes());
        out.extend_from_slice(&self.scheme.0.to_be_bytes());
        if let Some(h) = self.scheme.1 {
            out.extend_from_slice(&h.to_be_bytes());
        }
        out.extend_from_slice(&self.key_bits.to_be_bytes());
        out.extend_from_slice(&self.exponent.to_be_bytes());
        put_tpm2b(&mut out, &self.modulus);
        out
    }

    /// The key's Name (`nameAlg ‖ H(TPMT_PUBLIC)`), for SHA-256 name algorithms.
    /// `None` for another name algorithm.
    pub fn name(&self) -> Option<Vec<u8>> {
        (self.name_alg == TPM_ALG_SHA256).then(|| {
            let mut n = TPM_ALG_SHA256.to_be_bytes().to_vec();
            n.extend_from_slice(&Sha256::digest(self.marshal()));
            n
        })
    }

    /// The qualified name of this key as a primary of `hierarchy`
    /// (`nameAlg ‖ H(hierarchy handle ‖ Name)`), what a quote's
    /// `qualifiedSigner` holds. SHA-256 name algorithms only.
    pub fn qualified_name_as_primary(&self, hierarchy: u32) -> Option<Vec<u8>> {
        let name = self.name()?;
        let mut h = Sha256::new();
        h.update(hierarchy.to_be_bytes());
        h.update(&name);
        let mut q = TPM_ALG_SHA256.to_be_bytes().to_vec();
        q.extend_from_slice(&h.finalize());
        Some(q)
    }
}

/// A parsed `TPMT_SIGNATURE` (RSA schemes only; ECDSA as raw r, s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// RSASSA-PKCS1-v1.5.
    RsaSsa {
        /// Hash algorithm.
        hash: u16,
        /// The signature bytes.
        sig: Vec<u8>,
    },
    /// RSASSA-PSS.
    RsaPss {
        /// Hash algorithm.
        hash: u16,
        /// The signature bytes.
        sig: Vec<u8>,
    },
    /// ECDSA.
    Ecdsa {
        /// Hash algorithm.
        hash: u16,
        /// r, big-endian.
        r: Vec<u8>,
        /// s, big-endian.
        s: Vec<u8>,
    },
}

impl Signature {
    /// Parse a `TPMT_SIGNATURE` from `r` (the reader continues after it).
    ///
    /// # Errors
    /// [`WireError`] for an unknown algorithm or truncation.
    pub fn parse_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let alg = r.u16()?;
        match alg {
            TPM_ALG_RSASSA | TPM_ALG_RSAPSS => {
                let hash = r.u16()?;
                let sig = r.tpm2b("signature.sig", 512)?.to_vec();
                Ok(if alg == TPM_ALG_RSASSA {
                    Self::RsaSsa { hash, sig }
                } else {
                    Self::RsaPss { hash, sig }
                })
            }
            TPM_ALG_ECDSA => {
                let hash = r.u16()?;
                let rr = r.tpm2b("signature.r", 66)?.to_vec();
                let s = r.tpm2b("signature.s", 66)?.to_vec();
                Ok(Self::Ecdsa { hash, r: rr, s })
            }
            other => Err(r.bad("sigAlg", format!("{other:#06x}"))),
        }
    }

    /// Marshal as `TPMT_SIGNATURE`.
    pub fn marshal(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::RsaSsa { hash, sig } | Self::RsaPss { hash, sig } => {
                let alg = if matches!(self, Self::RsaSsa { .. }) {
                    TPM_ALG_RSASSA
                } else {
                    TPM_ALG_RSAPSS
                };
                out.extend_from_slice(&alg.to_be_bytes());
                out.extend_from_slice(&hash.to_be_bytes());
                put_tpm2b(&mut out, sig);
            }
            Self::Ecdsa { hash, r, s } => {
                out.extend_from_slice(&TPM_ALG_ECDSA.to_be_bytes());
                out.extend_from_slice(&hash.to_be_bytes());
                put_tpm2b(&mut out, r);
                put_tpm2b(&mut out, s);
            }
        }
        out
    }
}

/// Recompute a quote's `pcrDigest`: H(the selected PCR values in selection
/// order, PCRs ascending). `values` are the PCR values in that same order.
/// Only SHA-256 is computed here (the hash of every supported AK scheme).
pub fn pcr_digest_sha256(values: &[Vec<u8>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for v in values {
        h.update(v);
    }
    h.finalize().into()
}

/// A TPM response code (TCG Part 2 §6.6), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseCode(pub u32);

/// What a response code means, as far as a caller decides anything on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RcKind {
    /// `TPM_RC_SUCCESS`.
    Success,
    /// `TPM_RC_HANDLE`: the handle is not loaded / the NV index is not defined.
    Handle,
    /// `TPM_RC_SIZE`: a size was wrong (e.g. qualifying data over the TPM's capacity).
    Size,
    /// `TPM_RC_VALUE`.
    Value,
    /// `TPM_RC_NV_DEFINED`: the NV index already exists.
    NvDefined,
    /// `TPM_RC_NV_UNINITIALIZED`: the NV index was never written.
    NvUninitialized,
    /// `TPM_RC_NV_RANGE`: offset/size outside the index.
    NvRange,
    /// `TPM_RC_NV_LOCKED`.
    NvLocked,
    /// `TPM_RC_NV_AUTHORIZATION`: the index does not allow this authorization.
    NvAuthorization,
    /// `TPM_RC_NV_SPACE`: no room for another index.
    NvSpace,
    /// `TPM_RC_AUTH_FAIL` / `TPM_RC_BAD_AUTH`: wrong authorization value.
    AuthFail,
    /// `TPM_RC_SCHEME` / `TPM_RC_KEY` etc.: the key cannot do this.
    Key,
    /// `TPM_RC_COMMAND_CODE`: the TPM does not implement the command.
    CommandCode,
    /// `TPM_RC_RETRY`, `TPM_RC_YIELDED`, `TPM_RC_TESTING`, `TPM_RC_NV_RATE`,
    /// `TPM_RC_NV_UNAVAILABLE`: transient; the command may be sent again.
    Retry,
    /// Any other code.
    Other,
}

impl ResponseCode {
    /// The raw value.
    pub fn raw(self) -> u32 {
        self.0
    }

    /// Format-1 codes carry a handle/parameter/session number; this is the
    /// code without it.
    fn base(self) -> u32 {
        if self.0 & 0x080 != 0 {
            0x080 | (self.0 & 0x03F)
        } else {
            self.0 & 0xFFF
        }
    }

    /// The decoded meaning.
    pub fn kind(self) -> RcKind {
        match self.base() {
            0x000 => RcKind::Success,
            0x08B => RcKind::Handle,
            0x095 => RcKind::Size,
            0x084 => RcKind::Value,
            0x08E | 0x0A2 => RcKind::AuthFail,
            0x092 | 0x09C | 0x081 => RcKind::Key,
            0x14C => RcKind::NvDefined,
            0x14A => RcKind::NvUninitialized,
            0x146 => RcKind::NvRange,
            0x148 => RcKind::NvLocked,
            0x149 => RcKind::NvAuthorization,
            0x14B => RcKind::NvSpace,
            0x143 => RcKind::CommandCode,
            0x922 | 0x908 | 0x90A | 0x920 | 0x923 => RcKind::Retry,
            _ => RcKind::Other,
        }
    }

    /// The TCG name of the base code, when known.
    pub fn name(self) -> &'static str {
        match self.base() {
            0x000 => "TPM_RC_SUCCESS",
            0x08B => "TPM_RC_HANDLE",
            0x095 => "TPM_RC_SIZE",
            0x084 => "TPM_RC_VALUE",
            0x08E => "TPM_RC_AUTH_FAIL",
            0x0A2 => "TPM_RC_BAD_AUTH",
            0x092 => "TPM_RC_SCHEME",
            0x09C => "TPM_RC_KEY",
            0x081 => "TPM_RC_ASYMMETRIC",
            0x14C => "TPM_RC_NV_DEFINED",
            0x14A => "TPM_RC_NV_UNINITIALIZED",
            0x146 => "TPM_RC_NV_RANGE",
            0x148 => "TPM_RC_NV_LOCKED",
            0x149 => "TPM_RC_NV_AUTHORIZATION",
            0x14B => "TPM_RC_NV_SPACE",
            0x143 => "TPM_RC_COMMAND_CODE",
            0x922 => "TPM_RC_RETRY",
            0x908 => "TPM_RC_YIELDED",
            0x90A => "TPM_RC_TESTING",
            0x920 => "TPM_RC_NV_RATE",
            0x923 => "TPM_RC_NV_UNAVAILABLE",
            0x101 => "TPM_RC_FAILURE",
            0x100 => "TPM_RC_INITIALIZE",
            _ => "TPM_RC (unnamed)",
        }
    }

    /// For a format-1 code: which handle, parameter or session it refers to.
    pub fn subject(self) -> Option<(&'static str, u32)> {
        if self.0 & 0x080 == 0 {
            return None;
        }
        let n = (self.0 >> 8) & 0xF;
        if self.0 & 0x040 != 0 {
            Some(("parameter", n))
        } else if n & 0x8 != 0 {
            Some(("session", n & 0x7))
        } else if n != 0 {
            Some(("handle", n))
        } else {
            None
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#05x}", self.name(), self.0)?;
        if let Some((what, n)) = self.subject() {
            write!(f, ", {what} {n}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn sample_attest(nonce: &[u8]) -> QuoteAttest {
        QuoteAttest {
            qualified_signer: [vec![0, 0x0b], vec![7; 32]].concat(),
            extra_data: nonce.to_vec(),
            clock_info: ClockInfo {
                clock: 1,
                reset_count: 2,
                restart_count: 3,
                safe: true,
            },
            firmware_version: 0x2020_0312_0012_0003,
            pcr_select: vec![PcrSelection::new(
                TPM_ALG_SHA256,
                &(0..24).collect::<Vec<_>>(),
            )],
            pcr_digest: vec![9; 32],
        }
    }

    #[test]
    fn attest_round_trip_and_azure_length() {
        let a = sample_attest(b"challenge");
        let m = a.marshal();
        // Azure quote length = 113 + nonce length.
        assert_eq!(m.len(), 113 + 9);
        assert_eq!(QuoteAttest::parse(&m).unwrap(), a);
        assert_eq!(a.pcr_select[0].select, vec![0xff, 0xff, 0xff]);
        assert_eq!(a.pcr_select[0].pcrs().len(), 24);
    }

    #[test]
    fn attest_rejects_every_truncation_and_trailing_bytes() {
        let m = sample_attest(b"n").marshal();
        for n in 0..m.len() {
            assert!(QuoteAttest::parse(&m[..n]).is_err(), "prefix {n}");
        }
        let mut long = m.clone();
        long.push(0);
        assert_eq!(
            QuoteAttest::parse(&long),
            Err(WireError::TrailingData {
                what: "TPMS_ATTEST",
                len: 1
            })
        );
        let mut bad = m.clone();
        bad[0] ^= 1;
        assert!(matches!(
            QuoteAttest::parse(&bad),
            Err(WireError::BadField { field: "magic", .. })
        ));
        let mut bad = m.clone();
        bad[5] = 0x17; // TPM_ST_ATTEST_CERTIFY
        assert!(matches!(
            QuoteAttest::parse(&bad),
            Err(WireError::BadField { field: "type", .. })
        ));
        // extraData size over the TPM2B_DATA capacity.
        let mut bad = m;
        bad[42] = 0;
        bad[43] = 67;
        assert!(QuoteAttest::parse(&bad).is_err());
    }

    #[test]
    fn rsa_public_round_trip_size_and_name() {
        let p = RsaPublic::azure_ak(vec![0xab; 256]);
        let m = p.marshal();
        assert_eq!(m.len(), 280);
        assert_eq!(RsaPublic::parse(&m).unwrap(), p);
        assert_eq!(p.name().unwrap().len(), 34);
        assert_ne!(
            p.qualified_name_as_primary(TPM_RH_ENDORSEMENT),
            p.qualified_name_as_primary(TPM_RH_OWNER)
        );
        for n in 0..m.len() {
            assert!(RsaPublic::parse(&m[..n]).is_err());
        }
        let mut bad = m.clone();
        bad[1] = 0x23; // ECC
        assert!(RsaPublic::parse(&bad).is_err());
    }

    #[test]
    fn response_codes_decode() {
        let rc = ResponseCode(0x1D5);
        assert_eq!(rc.kind(), RcKind::Size);
        assert_eq!(rc.subject(), Some(("parameter", 1)));
        assert_eq!(rc.to_string(), "TPM_RC_SIZE (0x1d5, parameter 1)");
        assert_eq!(ResponseCode(0x18B).kind(), RcKind::Handle);
        assert_eq!(ResponseCode(0x18B).subject(), Some(("handle", 1)));
        assert_eq!(ResponseCode(0x28B).subject(), Some(("handle", 2)));
        assert_eq!(ResponseCode(0x98E).subject(), Some(("session", 1)));
        assert_eq!(ResponseCode(0x922).kind(), RcKind::Retry);
        assert_eq!(ResponseCode(0x14C).kind(), RcKind::NvDefined);
        assert_eq!(ResponseCode(0x101).kind(), RcKind::Other);
        assert_eq!(ResponseCode(0).kind(), RcKind::Success);
    }

    #[test]
    fn signature_round_trip() {
        let s = Signature::RsaSsa {
            hash: TPM_ALG_SHA256,
            sig: vec![1; 256],
        };
        let m = s.marshal();
        assert_eq!(m.len(), 262);
        let mut r = Reader::new("sig", &m);
        assert_eq!(Signature::parse_from(&mut r).unwrap(), s);
        r.finish().unwrap();
        let mut r = Reader::new("sig", &[0, 0x10, 0, 0]);
        assert!(Signature::parse_from(&mut r).is_err());
    }
}
