//! Intel TDX DCAP quote parsing (versions 4 and 5).
//!
//! Layout (Intel TDX DCAP Quote Generation Library and Quote Verification
//! Library, "Quote Format"; see also `platform-abi.md` §3):
//!
//! ```text
//! header[48] | v4: body[584]
//!            | v5: body_type u16, body_size u32, body[body_size]
//! sig_data_len u32 | signature[64] | attestation_key[64]
//! certification data: type u16 (6), size u32,
//!     qe_report[384] | qe_report_signature[64] | qe_auth_len u16 | qe_auth[..]
//!     | inner certification data: type u16 (5 = PEM PCK chain), size u32, data
//! ```
//!
//! The signed range is the header plus the body (for v5 including
//! `body_type` and `body_size`). Bytes after the signature data are
//! tolerated (real quotes carry padding) and counted in
//! [`Quote::trailing_len`].

use tee_core::platforms::TdAttributes;
use tee_core::{Error, MalformedKind, Result};

use tee_core::reader::{Reader, field};

const WHAT: &str = "TDX quote";

/// Header length.
pub const HEADER_LEN: usize = 48;
/// TD 1.0 report body length.
pub const TD10_BODY_LEN: usize = 584;
/// TD 1.5 report body length.
pub const TD15_BODY_LEN: usize = 648;
/// SGX enclave report (QE report) length.
pub const QE_REPORT_LEN: usize = 384;
/// TEE type of TDX.
pub const TEE_TYPE_TDX: u32 = 0x81;
/// Attestation key type ECDSA-256 with P-256.
pub const ATT_KEY_TYPE_ECDSA_P256: u16 = 2;
/// Certification data type: PCK certificate chain (PEM).
pub const CERT_TYPE_PCK_CHAIN: u16 = 5;
/// Certification data type: QE report certification data.
pub const CERT_TYPE_QE_REPORT: u16 = 6;
/// Intel's QE vendor id.
pub const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
];
/// Largest quote we accept (configfs-tsm's outblob maximum).
pub const MAX_QUOTE_LEN: usize = 16 << 20;

/// The quote header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteHeader {
    /// 4 or 5.
    pub version: u16,
    /// 2 = ECDSA-256 with P-256.
    pub att_key_type: u16,
    /// 0x81 = TDX.
    pub tee_type: u32,
    /// QE SVN (reserved in v4 TDX quotes, carried as is).
    pub qe_svn: u16,
    /// PCE SVN.
    pub pce_svn: u16,
    /// QE vendor id.
    pub qe_vendor_id: [u8; 16],
    /// User data (first 16 bytes: platform identifier of the QE).
    pub user_data: [u8; 20],
}

/// The report body type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// TD report 1.0 (584 bytes), body type 2.
    Td10,
    /// TD report 1.5 (648 bytes), body type 3.
    Td15,
}

/// The TD report body of a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReportBody {
    /// TEE_TCB_SVN.
    pub tee_tcb_svn: [u8; 16],
    /// MRSEAM.
    pub mr_seam: [u8; 48],
    /// MRSIGNERSEAM.
    pub mr_signer_seam: [u8; 48],
    /// SEAMATTRIBUTES.
    pub seam_attributes: u64,
    /// TDATTRIBUTES.
    pub td_attributes: u64,
    /// XFAM.
    pub xfam: u64,
    /// MRTD.
    pub mr_td: [u8; 48],
    /// MRCONFIGID.
    pub mr_config_id: [u8; 48],
    /// MROWNER.
    pub mr_owner: [u8; 48],
    /// MROWNERCONFIG.
    pub mr_owner_config: [u8; 48],
    /// RTMR0..3.
    pub rtmr: [[u8; 48]; 4],
    /// REPORTDATA.
    pub report_data: [u8; 64],
    /// TEE_TCB_SVN2 (TD 1.5).
    pub tee_tcb_svn2: Option<[u8; 16]>,
    /// MRSERVICETD (TD 1.5).
    pub mr_servicetd: Option<[u8; 48]>,
}

impl TdReportBody {
    /// Parse a TD 1.0 or 1.5 body (offsets relative to the body).
    pub(crate) fn parse(body: &[u8], ty: BodyType) -> Result<Self> {
        let want = match ty {
            BodyType::Td10 => TD10_BODY_LEN,
            BodyType::Td15 => TD15_BODY_LEN,
        };
        if body.len() != want {
            return Err(Error::malformed(
                "TD report body",
                MalformedKind::BadLength {
                    expected: want,
                    actual: body.len(),
                },
            ));
        }
        let w = "TD report body";
        let r = Reader::new(w, body);
        let u64_at = |off| r.u64_at(off);
        Ok(Self {
            tee_tcb_svn: field(w, body, 0)?,
            mr_seam: field(w, body, 16)?,
            mr_signer_seam: field(w, body, 64)?,
            seam_attributes: u64_at(112)?,
            td_attributes: u64_at(120)?,
            xfam: u64_at(128)?,
            mr_td: field(w, body, 136)?,
            mr_config_id: field(w, body, 184)?,
            mr_owner: field(w, body, 232)?,
            mr_owner_config: field(w, body, 280)?,
            rtmr: [
                field(w, body, 328)?,
                field(w, body, 376)?,
                field(w, body, 424)?,
                field(w, body, 472)?,
            ],
            report_data: field(w, body, 520)?,
            tee_tcb_svn2: match ty {
                BodyType::Td15 => Some(field(w, body, 584)?),
                BodyType::Td10 => None,
            },
            mr_servicetd: match ty {
                BodyType::Td15 => Some(field(w, body, 600)?),
                BodyType::Td10 => None,
            },
        })
    }

    /// Decoded TD attributes.
    pub fn attributes(&self) -> TdAttributes {
        decode_td_attributes(self.td_attributes)
    }
}

/// The QE's SGX enclave report (384 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeReport {
    /// CPUSVN.
    pub cpu_svn: [u8; 16],
    /// MISCSELECT.
    pub misc_select: u32,
    /// ATTRIBUTES.
    pub attributes: [u8; 16],
    /// MRENCLAVE.
    pub mr_enclave: [u8; 32],
    /// MRSIGNER.
    pub mr_signer: [u8; 32],
    /// ISVPRODID.
    pub isv_prod_id: u16,
    /// ISVSVN.
    pub isv_svn: u16,
    /// REPORTDATA: SHA-256(attestation key || QE auth data) then 32 zero bytes.
    pub report_data: [u8; 64],
}

impl QeReport {
    fn parse(b: &[u8; QE_REPORT_LEN]) -> Result<Self> {
        let w = "QE report";
        let r = Reader::new(w, b);
        Ok(Self {
            cpu_svn: field(w, b, 0)?,
            misc_select: r.u32_at(16)?,
            attributes: field(w, b, 48)?,
            mr_enclave: field(w, b, 64)?,
            mr_signer: field(w, b, 128)?,
            isv_prod_id: r.u16_at(256)?,
            isv_svn: r.u16_at(258)?,
            report_data: field(w, b, 320)?,
        })
    }
}

/// Certification data of type 6: the QE report, its PCK signature, the QE
/// auth data and the inner certification data (normally type 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeCertificationData {
    /// The raw QE report (the bytes the PCK signed).
    pub qe_report_raw: Vec<u8>,
    /// The parsed QE report.
    pub qe_report: QeReport,
    /// ECDSA P-256 signature (r || s) over the QE report by the PCK key.
    pub qe_report_signature: [u8; 64],
    /// QE authentication data.
    pub qe_auth_data: Vec<u8>,
    /// Inner certification data type (5 = PEM PCK chain).
    pub pck_cert_type: u16,
    /// Inner certification data.
    pub pck_cert_data: Vec<u8>,
}

/// A parsed TDX quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Header.
    pub header: QuoteHeader,
    /// Body type.
    pub body_type: BodyType,
    /// Body.
    pub body: TdReportBody,
    /// Length of the signed prefix (header + body, incl. v5 body descriptor).
    pub signed_len: usize,
    /// ECDSA P-256 quote signature (r || s).
    pub signature: [u8; 64],
    /// Attestation public key (x || y).
    pub attestation_key: [u8; 64],
    /// The QE certification data.
    pub qe: QeCertificationData,
    /// Bytes after the signature data (tolerated, not interpreted).
    pub trailing_len: usize,
}

impl Quote {
    /// Parse a quote. Unknown versions, TEE types, attestation key types,
    /// body types and certification data types are rejected with typed
    /// errors before any field that depends on them is read.
    ///
    /// # Errors
    /// [`Error::Malformed`] for anything that is not a well-formed TDX v4/v5 quote.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_QUOTE_LEN {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::BadLength {
                    expected: MAX_QUOTE_LEN,
                    actual: bytes.len(),
                },
            ));
        }
        let mut r = Reader::new(WHAT, bytes);
        let version = r.u16()?;
        if version != 4 && version != 5 {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::UnsupportedVersion(u32::from(version)),
            ));
        }
        let att_key_type = r.u16()?;
        if att_key_type != ATT_KEY_TYPE_ECDSA_P256 {
            return Err(Error::bad_field(
                WHAT,
                "att_key_type",
                format_args!(
                    "attestation key type {att_key_type} is not supported (only 2 = ECDSA-P256)"
                ),
            ));
        }
        let tee_type = r.u32()?;
        if tee_type != TEE_TYPE_TDX {
            return Err(Error::bad_field(
                WHAT,
                "tee_type",
                format_args!("TEE type {tee_type:#x} is not TDX (0x81)"),
            ));
        }
        let header = QuoteHeader {
            version,
            att_key_type,
            tee_type,
            qe_svn: r.u16()?,
            pce_svn: r.u16()?,
            qe_vendor_id: r.array()?,
            user_data: r.array()?,
        };
        let (body_type, body_bytes) = if version == 4 {
            (BodyType::Td10, r.take(TD10_BODY_LEN)?)
        } else {
            let ty = r.u16()?;
            let size = r.u32()? as usize;
            let body_type = match ty {
                2 => BodyType::Td10,
                3 => BodyType::Td15,
                other => {
                    return Err(Error::bad_field(
                        WHAT,
                        "body_type",
                        format_args!("body type {other} is not supported (2 = TD 1.0, 3 = TD 1.5)"),
                    ));
                }
            };
            (body_type, r.take(size)?)
        };
        let body = TdReportBody::parse(body_bytes, body_type)?;
        let signed_len = r.offset();
        let sig_len = r.u32()? as usize;
        let sig_data = r.take(sig_len)?;
        let trailing_len = r.rest().len();

        let mut s = Reader::new("TDX quote signature data", sig_data);
        let signature = s.array::<64>()?;
        let attestation_key = s.array::<64>()?;
        let cert_type = s.u16()?;
        let cert_size = s.u32()? as usize;
        let cert = s.take(cert_size)?;
        if !s.rest().is_empty() {
            return Err(Error::malformed(
                "TDX quote signature data",
                MalformedKind::TrailingData {
                    len: s.rest().len(),
                },
            ));
        }
        if cert_type != CERT_TYPE_QE_REPORT {
            return Err(Error::bad_field(
                "TDX quote signature data",
                "certification_data_type",
                format_args!(
                    "certification data type {cert_type} is not supported (expected 6, QE report)"
                ),
            ));
        }
        let qe = parse_qe_cert_data(cert)?;
        Ok(Self {
            header,
            body_type,
            body,
            signed_len,
            signature,
            attestation_key,
            qe,
            trailing_len,
        })
    }

    /// The signed bytes of `raw` (the buffer this quote was parsed from).
    pub fn signed_bytes<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        raw.get(..self.signed_len)
    }

    /// The PEM PCK chain, when the inner certification data is type 5.
    pub fn pck_chain_pem(&self) -> Option<&[u8]> {
        (self.qe.pck_cert_type == CERT_TYPE_PCK_CHAIN).then_some(self.qe.pck_cert_data.as_slice())
    }
}

fn parse_qe_cert_data(cert: &[u8]) -> Result<QeCertificationData> {
    let w = "QE certification data";
    let mut c = Reader::new(w, cert);
    let qe_report_arr = c.array::<QE_REPORT_LEN>()?;
    let qe_report = QeReport::parse(&qe_report_arr)?;
    let qe_report_signature = c.array::<64>()?;
    let auth_len = c.u16()? as usize;
    let qe_auth_data = c.take(auth_len)?.to_vec();
    let pck_cert_type = c.u16()?;
    let pck_size = c.u32()? as usize;
    let pck_cert_data = c.take(pck_size)?.to_vec();
    if !c.rest().is_empty() {
        return Err(Error::malformed(
            w,
            MalformedKind::TrailingData {
                len: c.rest().len(),
            },
        ));
    }
    if !(1..=7).contains(&pck_cert_type) {
        return Err(Error::bad_field(
            w,
            "pck_cert_type",
            format_args!("inner certification data type {pck_cert_type} is unknown"),
        ));
    }
    Ok(QeCertificationData {
        qe_report_raw: qe_report_arr.to_vec(),
        qe_report,
        qe_report_signature,
        qe_auth_data,
        pck_cert_type,
        pck_cert_data,
    })
}

/// Decode the TD attributes (TDX module ABI, TDINFO_STRUCT.ATTRIBUTES).
pub fn decode_td_attributes(raw: u64) -> TdAttributes {
    TdAttributes::from_raw(raw)
}

/// Names of the set TD attribute bits, for display.
pub fn td_attribute_names(raw: u64) -> Vec<String> {
    let known: [(u32, &str); 10] = [
        (0, "DEBUG"),
        (4, "HGS_PLUS_PROF"),
        (5, "PERF_PROF"),
        (6, "PMT_PROF"),
        (27, "LASS"),
        (28, "SEPT_VE_DISABLE"),
        (29, "MIGRATABLE"),
        (30, "PKS"),
        (31, "KL"),
        (63, "PERFMON"),
    ];
    bit_names(raw, &known)
}

/// Names of the set XFAM bits (XSAVE feature components), for display.
pub fn xfam_names(raw: u64) -> Vec<String> {
    let known: [(u32, &str); 17] = [
        (0, "FP"),
        (1, "SSE"),
        (2, "AVX"),
        (3, "MPX_BNDREGS"),
        (4, "MPX_BNDCSR"),
        (5, "AVX512_OPMASK"),
        (6, "AVX512_ZMM_HI256"),
        (7, "AVX512_HI16_ZMM"),
        (8, "PT"),
        (9, "PKRU"),
        (10, "PASID"),
        (11, "CET_U"),
        (12, "CET_S"),
        (13, "HDC"),
        (14, "UINTR"),
        (15, "LBR"),
        (16, "HWP"),
    ];
    let mut v = bit_names(raw & !(0b11 << 17), &known);
    if raw & (0b11 << 17) != 0 {
        v.push("AMX".into());
    }
    v
}

fn bit_names(raw: u64, known: &[(u32, &str)]) -> Vec<String> {
    (0..64u32)
        .filter(|b| raw & (1u64 << b) != 0)
        .map(|b| {
            known
                .iter()
                .find(|(k, _)| *k == b)
                .map_or_else(|| format!("bit{b}"), |(_, n)| (*n).to_string())
        })
        .collect()
}

impl core::fmt::Display for Quote {
    /// A human-readable dump (`teectl tdx show`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let h = &self.header;
        let b = &self.body;
        writeln!(
            f,
            "TDX DCAP quote v{} ({:?} body)",
            h.version, self.body_type
        )?;
        writeln!(f, "  att_key_type      {} (ECDSA-P256)", h.att_key_type)?;
        writeln!(f, "  tee_type          {:#x}", h.tee_type)?;
        writeln!(f, "  qe_svn / pce_svn  {} / {}", h.qe_svn, h.pce_svn)?;
        writeln!(f, "  qe_vendor_id      {}", hex::encode(h.qe_vendor_id))?;
        writeln!(f, "  user_data         {}", hex::encode(h.user_data))?;
        writeln!(f, "  tee_tcb_svn       {}", hex::encode(b.tee_tcb_svn))?;
        if let Some(s) = &b.tee_tcb_svn2 {
            writeln!(f, "  tee_tcb_svn2      {}", hex::encode(s))?;
        }
        writeln!(f, "  mr_seam           {}", hex::encode(b.mr_seam))?;
        writeln!(f, "  mr_signer_seam    {}", hex::encode(b.mr_signer_seam))?;
        writeln!(f, "  seam_attributes   {:#018x}", b.seam_attributes)?;
        writeln!(
            f,
            "  td_attributes     {:#018x} [{}]",
            b.td_attributes,
            td_attribute_names(b.td_attributes).join(" ")
        )?;
        writeln!(
            f,
            "  xfam              {:#018x} [{}]",
            b.xfam,
            xfam_names(b.xfam).join(" ")
        )?;
        writeln!(f, "  mr_td             {}", hex::encode(b.mr_td))?;
        writeln!(f, "  mr_config_id      {}", hex::encode(b.mr_config_id))?;
        writeln!(f, "  mr_owner          {}", hex::encode(b.mr_owner))?;
        writeln!(f, "  mr_owner_config   {}", hex::encode(b.mr_owner_config))?;
        for (i, r) in b.rtmr.iter().enumerate() {
            writeln!(f, "  rtmr{i}             {}", hex::encode(r))?;
        }
        if let Some(s) = &b.mr_servicetd {
            writeln!(f, "  mr_servicetd      {}", hex::encode(s))?;
        }
        writeln!(f, "  report_data       {}", hex::encode(b.report_data))?;
        writeln!(f, "  signed bytes      {}", self.signed_len)?;
        writeln!(
            f,
            "  attestation_key   {}",
            hex::encode(self.attestation_key)
        )?;
        let q = &self.qe.qe_report;
        writeln!(f, "  QE report: mr_enclave {}", hex::encode(q.mr_enclave))?;
        writeln!(f, "             mr_signer  {}", hex::encode(q.mr_signer))?;
        writeln!(
            f,
            "             isv_prod_id {} isv_svn {}",
            q.isv_prod_id, q.isv_svn
        )?;
        writeln!(
            f,
            "  QE auth data      {} bytes",
            self.qe.qe_auth_data.len()
        )?;
        writeln!(
            f,
            "  certification     type {} ({} bytes){}",
            self.qe.pck_cert_type,
            self.qe.pck_cert_data.len(),
            if self.qe.pck_cert_type == CERT_TYPE_PCK_CHAIN {
                ", PEM PCK chain"
            } else {
                ""
            }
        )?;
        write!(f, "  trailing bytes    {}", self.trailing_len)
    }
}
