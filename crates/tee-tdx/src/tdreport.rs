//! TDREPORT_STRUCT (1024 bytes), as returned by `TDX_CMD_GET_REPORT0`.
//!
//! Layout (Intel TDX Module ABI spec, and the kernel's
//! `drivers/virt/coco/tdx-guest/tdx-guest.c` offsets): REPORTMACSTRUCT
//! `[0, 256)`, TEE_TCB_INFO `[256, 495)`, reserved `[495, 512)`, TDINFO
//! `[512, 1024)`. The MAC can only be checked on the platform that made it
//! (TDG.MR.VERIFYREPORT); off-platform we check the two internal hashes.

use sha2::{Digest, Sha384};
use tee_core::{Authenticity, Error, MalformedKind, Result};

use tee_core::reader::{Reader, field};

/// TDREPORT length.
pub const TDREPORT_LEN: usize = 1024;
const WHAT: &str = "TDREPORT";

/// A parsed TDREPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport {
    /// REPORTTYPE: tee_type (0x81 = TDX).
    pub tee_type: u8,
    /// REPORTTYPE: subtype.
    pub subtype: u8,
    /// REPORTTYPE: version (0 = TDX 1.0, 1 = TDX 1.5).
    pub version: u8,
    /// CPUSVN.
    pub cpu_svn: [u8; 16],
    /// SHA-384 of TEE_TCB_INFO.
    pub tee_tcb_info_hash: [u8; 48],
    /// SHA-384 of TDINFO.
    pub tee_info_hash: [u8; 48],
    /// REPORTDATA.
    pub report_data: [u8; 64],
    /// MAC (checkable only on the platform).
    pub mac: [u8; 32],
    /// TEE_TCB_INFO.VALID.
    pub tcb_info_valid: [u8; 8],
    /// TEE_TCB_INFO.TEE_TCB_SVN.
    pub tee_tcb_svn: [u8; 16],
    /// TEE_TCB_INFO.MRSEAM.
    pub mr_seam: [u8; 48],
    /// TEE_TCB_INFO.MRSIGNERSEAM.
    pub mr_signer_seam: [u8; 48],
    /// TEE_TCB_INFO.ATTRIBUTES.
    pub seam_attributes: u64,
    /// TDINFO.ATTRIBUTES.
    pub td_attributes: u64,
    /// TDINFO.XFAM.
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
    /// SERVTD_HASH.
    pub servtd_hash: [u8; 48],
    /// Whether `tee_tcb_info_hash == SHA-384(TEE_TCB_INFO)`.
    pub tcb_info_hash_ok: bool,
    /// Whether `tee_info_hash == SHA-384(TDINFO)`.
    pub tee_info_hash_ok: bool,
}

impl TdReport {
    /// Parse exactly 1024 bytes. REPORTTYPE.tee_type must be 0x81 and the
    /// version 0 or 1; other values are rejected before reading further.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a wrong length, TEE type or version.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() != TDREPORT_LEN {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::BadLength {
                    expected: TDREPORT_LEN,
                    actual: b.len(),
                },
            ));
        }
        let rt: [u8; 4] = field(WHAT, b, 0)?;
        if rt[0] != 0x81 {
            return Err(Error::bad_field(
                WHAT,
                "tee_type",
                format_args!("{:#x} is not TDX (0x81)", rt[0]),
            ));
        }
        if rt[2] > 1 {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::UnsupportedVersion(u32::from(rt[2])),
            ));
        }
        // Reserved fields of REPORTMACSTRUCT, the gap after TEE_TCB_INFO and
        // the end of TDINFO must be zero for report versions 0 and 1.
        let r = Reader::new(WHAT, b);
        for (from, to) in [
            (3usize, 4usize),
            (4, 16),
            (192, 224),
            (495, 512),
            (960, 1024),
        ] {
            r.zeros_at(from, to)?;
        }
        let tcb_info = r.bytes_at(256, 495 - 256)?;
        let td_info = r.bytes_at(512, 1024 - 512)?;
        let tee_tcb_info_hash: [u8; 48] = r.array_at(32)?;
        let tee_info_hash: [u8; 48] = r.array_at(80)?;
        let u64_at = |off| r.u64_at(off);
        Ok(Self {
            tee_type: rt[0],
            subtype: rt[1],
            version: rt[2],
            cpu_svn: field(WHAT, b, 16)?,
            tcb_info_hash_ok: Sha384::digest(tcb_info)[..] == tee_tcb_info_hash[..],
            tee_info_hash_ok: Sha384::digest(td_info)[..] == tee_info_hash[..],
            tee_tcb_info_hash,
            tee_info_hash,
            report_data: field(WHAT, b, 128)?,
            mac: field(WHAT, b, 224)?,
            tcb_info_valid: field(WHAT, b, 256)?,
            tee_tcb_svn: field(WHAT, b, 264)?,
            mr_seam: field(WHAT, b, 280)?,
            mr_signer_seam: field(WHAT, b, 328)?,
            seam_attributes: u64_at(376)?,
            td_attributes: u64_at(512)?,
            xfam: u64_at(520)?,
            mr_td: field(WHAT, b, 528)?,
            mr_config_id: field(WHAT, b, 576)?,
            mr_owner: field(WHAT, b, 624)?,
            mr_owner_config: field(WHAT, b, 672)?,
            rtmr: [
                field(WHAT, b, 720)?,
                field(WHAT, b, 768)?,
                field(WHAT, b, 816)?,
                field(WHAT, b, 864)?,
            ],
            servtd_hash: field(WHAT, b, 912)?,
        })
    }

    /// Check the internal hashes (the only integrity check possible off the
    /// platform; the MAC needs TDG.MR.VERIFYREPORT on the same machine).
    ///
    /// # Errors
    /// [`Error::Authenticity`] (`Mismatch`) naming the hash that differs.
    pub fn check_hashes(&self) -> Result<()> {
        if !self.tcb_info_hash_ok {
            return Err(Authenticity::Mismatch {
                what: "TDREPORT tee_tcb_info_hash",
                detail: "differs from SHA-384(TEE_TCB_INFO)".into(),
            }
            .into());
        }
        if !self.tee_info_hash_ok {
            return Err(Authenticity::Mismatch {
                what: "TDREPORT tee_info_hash",
                detail: "differs from SHA-384(TDINFO)".into(),
            }
            .into());
        }
        Ok(())
    }
}

impl core::fmt::Display for TdReport {
    /// A human-readable dump (`teectl tdx show`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ok = |b: bool| if b { "ok" } else { "MISMATCH" };
        writeln!(
            f,
            "TDREPORT (type {:#x}, subtype {}, version {})",
            self.tee_type, self.subtype, self.version
        )?;
        writeln!(f, "  cpu_svn             {}", hex::encode(self.cpu_svn))?;
        writeln!(
            f,
            "  tee_tcb_info_hash   {} ({})",
            hex::encode(self.tee_tcb_info_hash),
            ok(self.tcb_info_hash_ok)
        )?;
        writeln!(
            f,
            "  tee_info_hash       {} ({})",
            hex::encode(self.tee_info_hash),
            ok(self.tee_info_hash_ok)
        )?;
        writeln!(f, "  report_data         {}", hex::encode(self.report_data))?;
        writeln!(
            f,
            "  mac                 {} (checkable only on the platform)",
            hex::encode(self.mac)
        )?;
        writeln!(
            f,
            "  tcb_info.valid      {}",
            hex::encode(self.tcb_info_valid)
        )?;
        writeln!(f, "  tee_tcb_svn         {}", hex::encode(self.tee_tcb_svn))?;
        writeln!(f, "  mr_seam             {}", hex::encode(self.mr_seam))?;
        writeln!(
            f,
            "  mr_signer_seam      {}",
            hex::encode(self.mr_signer_seam)
        )?;
        writeln!(
            f,
            "  td_attributes       {:#018x} [{}]",
            self.td_attributes,
            crate::quote::td_attribute_names(self.td_attributes).join(" ")
        )?;
        writeln!(
            f,
            "  xfam                {:#018x} [{}]",
            self.xfam,
            crate::quote::xfam_names(self.xfam).join(" ")
        )?;
        writeln!(f, "  mr_td               {}", hex::encode(self.mr_td))?;
        writeln!(
            f,
            "  mr_config_id        {}",
            hex::encode(self.mr_config_id)
        )?;
        writeln!(f, "  mr_owner            {}", hex::encode(self.mr_owner))?;
        writeln!(
            f,
            "  mr_owner_config     {}",
            hex::encode(self.mr_owner_config)
        )?;
        for (i, r) in self.rtmr.iter().enumerate() {
            writeln!(f, "  rtmr{i}               {}", hex::encode(r))?;
        }
        write!(f, "  servtd_hash         {}", hex::encode(self.servtd_hash))
    }
}
