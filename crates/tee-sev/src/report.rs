//! A checked parser for the SEV-SNP attestation report (AMD SEV-SNP ABI
//! specification 56860, `ATTESTATION_REPORT`, Table 23 in revision 1.58).
//!
//! The report is 1184 bytes (0x4A0), little-endian. Versions 2, 3 and 5 are
//! understood (4 is laid out like 3); any other version is rejected with
//! [`MalformedKind::UnsupportedVersion`] before a version-dependent field is
//! read. Every reserved byte must be zero, including the reserved tail of
//! the signature block, so the parsed view describes every byte that was
//! signed.
//!
//! Parsing does not depend on the CPU generation. Decoding a `TCB_VERSION`
//! does: call [`SnpReport::product`] (v3+) or take the product from the
//! VCEK, then [`TcbVersion::decode`].

use core::fmt;

use tee_core::platforms::{SnpGuestPolicy, SnpPlatformInfo, SnpSigningKey, SnpTcb};
use tee_core::reader::Reader;
use tee_core::{Error, MalformedKind, Result};

/// Length of a report.
pub const REPORT_LEN: usize = 0x4A0;
/// End of the signed region: the signature covers `[0, SIGNED_LEN)`.
pub const SIGNED_LEN: usize = 0x2A0;
/// `SIGNATURE_ALGO` value for ECDSA P-384 with SHA-384.
pub const SIG_ALGO_ECDSA_P384_SHA384: u32 = 1;

const WHAT: &str = "SNP report";

/// AMD EPYC product generations this SDK knows how to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// 3rd generation EPYC (Zen 3), family 19h models 00h–0Fh.
    Milan,
    /// 4th generation EPYC (Zen 4), family 19h models 10h–1Fh, A0h–AFh.
    Genoa,
    /// 5th generation EPYC (Zen 5), family 1Ah models 00h–11h.
    Turin,
}

impl Product {
    /// Every known product.
    pub const ALL: [Product; 3] = [Self::Milan, Self::Genoa, Self::Turin];

    /// Lower-case name (`milan`, `genoa`, `turin`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "milan",
            Self::Genoa => "genoa",
            Self::Turin => "turin",
        }
    }

    /// The name AMD's KDS uses in URLs (`Milan`, `Genoa`, `Turin`).
    pub fn kds_name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }

    /// Whether `TCB_VERSION` uses the Turin layout (with an FMC SPL).
    pub fn has_fmc(self) -> bool {
        matches!(self, Self::Turin)
    }

    /// Identify the product from the report's CPUID family and model.
    /// `None` for CPUs this SDK does not know (the report still parses).
    pub fn from_cpuid(family: u8, model: u8) -> Option<Self> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Self::Milan),
            (0x19, 0x10..=0x1F | 0xA0..=0xAF) => Some(Self::Genoa),
            (0x1A, 0x00..=0x11) => Some(Self::Turin),
            _ => None,
        }
    }

    /// Identify the product from a VCEK/VLEK `productName` extension such as
    /// `Milan-B0` or `Turin`.
    pub fn from_product_name(name: &str) -> Option<Self> {
        let base = name.split('-').next().unwrap_or(name);
        Self::ALL
            .into_iter()
            .find(|p| p.kds_name().eq_ignore_ascii_case(base))
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Product {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::bad_field("product", "name", format!("unknown product {s:?}")))
    }
}

/// A raw 64-bit `TCB_VERSION`; its byte layout depends on the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcbVersion(pub u64);

impl TcbVersion {
    /// Decode per generation. Milan and Genoa: `[bl, tee, 0, 0, 0, 0, snp,
    /// ucode]`; Turin: `[fmc, bl, tee, snp, 0, 0, 0, ucode]` (byte 0 first).
    pub fn decode(self, product: Product) -> SnpTcb {
        let b = self.0.to_le_bytes();
        if product.has_fmc() {
            SnpTcb::new(self.0, b[1], b[2], b[3], b[7], Some(b[0]))
        } else {
            SnpTcb::new(self.0, b[0], b[1], b[6], b[7], None)
        }
    }

    /// Whether the bytes that are reserved in the layout of `product` are zero.
    pub fn reserved_zero(self, product: Product) -> bool {
        let b = self.0.to_le_bytes();
        if product.has_fmc() {
            b[4..7] == [0; 3]
        } else {
            b[2..6] == [0; 4]
        }
    }
}

/// Decode the guest policy bits.
pub fn decode_policy(raw: u64) -> SnpGuestPolicy {
    SnpGuestPolicy::from_raw(raw)
}

/// Decode PLATFORM_INFO.
pub fn decode_platform_info(raw: u64) -> SnpPlatformInfo {
    SnpPlatformInfo::from_raw(raw)
}

/// A firmware version `major.minor.build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FwVersion {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Build.
    pub build: u8,
}

impl fmt::Display for FwVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// A parsed, borrowed view of a report. Construct with [`SnpReport::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnpReport<'a> {
    bytes: &'a [u8; REPORT_LEN],
    /// `VERSION` (2, 3, 4 or 5).
    pub version: u32,
    /// `GUEST_SVN`.
    pub guest_svn: u32,
    /// `POLICY`.
    pub policy: u64,
    /// `FAMILY_ID`.
    pub family_id: &'a [u8; 16],
    /// `IMAGE_ID`.
    pub image_id: &'a [u8; 16],
    /// `VMPL`.
    pub vmpl: u32,
    /// `SIGNATURE_ALGO`.
    pub sig_algo: u32,
    /// `CURRENT_TCB`.
    pub current_tcb: TcbVersion,
    /// `PLATFORM_INFO`.
    pub platform_info: u64,
    /// `KEY_INFO` (bit 0 author key enabled, bit 1 mask chip key, bits 4:2 signing key).
    pub key_info: u32,
    /// `REPORT_DATA`.
    pub report_data: &'a [u8; 64],
    /// `MEASUREMENT`.
    pub measurement: &'a [u8; 48],
    /// `HOST_DATA`.
    pub host_data: &'a [u8; 32],
    /// `ID_KEY_DIGEST`.
    pub id_key_digest: &'a [u8; 48],
    /// `AUTHOR_KEY_DIGEST`.
    pub author_key_digest: &'a [u8; 48],
    /// `REPORT_ID`.
    pub report_id: &'a [u8; 32],
    /// `REPORT_ID_MA`.
    pub report_id_ma: &'a [u8; 32],
    /// `REPORTED_TCB`: the TCB the signing key was derived for.
    pub reported_tcb: TcbVersion,
    /// `CPUID_FAM_ID`, `CPUID_MOD_ID`, `CPUID_STEP` (version 3 and later).
    pub cpuid: Option<[u8; 3]>,
    /// `CHIP_ID` (all zero when masked).
    pub chip_id: &'a [u8; 64],
    /// `COMMITTED_TCB`.
    pub committed_tcb: TcbVersion,
    /// Current firmware version.
    pub current_version: FwVersion,
    /// Committed firmware version.
    pub committed_version: FwVersion,
    /// `LAUNCH_TCB`.
    pub launch_tcb: TcbVersion,
    /// `LAUNCH_MIT_VECTOR` (version 5 and later).
    pub launch_mit_vector: Option<u64>,
    /// `CURRENT_MIT_VECTOR` (version 5 and later).
    pub current_mit_vector: Option<u64>,
    /// Signature R, 72 bytes little-endian (zero-extended).
    pub sig_r: &'a [u8; 72],
    /// Signature S, 72 bytes little-endian (zero-extended).
    pub sig_s: &'a [u8; 72],
}

fn fw_version(r: &Reader<'_>, off: usize) -> Result<FwVersion> {
    let a = r.array_at::<4>(off)?;
    r.zeros_at(off.saturating_add(3), off.saturating_add(4))?;
    Ok(FwVersion {
        build: a[0],
        minor: a[1],
        major: a[2],
    })
}

impl<'a> SnpReport<'a> {
    /// Parse exactly one report.
    ///
    /// # Errors
    /// [`Error::Malformed`]: wrong length ([`MalformedKind::BadLength`]),
    /// an unknown version ([`MalformedKind::UnsupportedVersion`], checked
    /// first), non-zero reserved bytes or reserved key-info bits.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let b: &'a [u8; REPORT_LEN] = bytes.try_into().map_err(|_| {
            Error::malformed(
                WHAT,
                MalformedKind::BadLength {
                    expected: REPORT_LEN,
                    actual: bytes.len(),
                },
            )
        })?;
        let rd = Reader::new(WHAT, b);
        let version = rd.u32_at(0x00)?;
        if !matches!(version, 2..=5) {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::UnsupportedVersion(version),
            ));
        }
        let key_info = rd.u32_at(0x48)?;
        if key_info >> 5 != 0 {
            return Err(Error::bad_field(
                WHAT,
                "key_info",
                format!("reserved bits set ({key_info:#x})"),
            ));
        }
        rd.zeros_at(0x4C, 0x50)?;
        let cpuid = if version >= 3 {
            rd.zeros_at(0x18B, 0x1A0)?;
            Some(rd.array_at::<3>(0x188)?)
        } else {
            rd.zeros_at(0x188, 0x1A0)?;
            None
        };
        let (launch_mit_vector, current_mit_vector) = if version >= 5 {
            rd.zeros_at(0x208, SIGNED_LEN)?;
            (Some(rd.u64_at(0x1F8)?), Some(rd.u64_at(0x200)?))
        } else {
            rd.zeros_at(0x1F8, SIGNED_LEN)?;
            (None, None)
        };
        rd.zeros_at(SIGNED_LEN + 144, REPORT_LEN)?;
        Ok(Self {
            bytes: b,
            version,
            guest_svn: rd.u32_at(0x04)?,
            policy: rd.u64_at(0x08)?,
            family_id: rd.array_ref_at(0x10)?,
            image_id: rd.array_ref_at(0x20)?,
            vmpl: rd.u32_at(0x30)?,
            sig_algo: rd.u32_at(0x34)?,
            current_tcb: TcbVersion(rd.u64_at(0x38)?),
            platform_info: rd.u64_at(0x40)?,
            key_info,
            report_data: rd.array_ref_at(0x50)?,
            measurement: rd.array_ref_at(0x90)?,
            host_data: rd.array_ref_at(0xC0)?,
            id_key_digest: rd.array_ref_at(0xE0)?,
            author_key_digest: rd.array_ref_at(0x110)?,
            report_id: rd.array_ref_at(0x140)?,
            report_id_ma: rd.array_ref_at(0x160)?,
            reported_tcb: TcbVersion(rd.u64_at(0x180)?),
            cpuid,
            chip_id: rd.array_ref_at(0x1A0)?,
            committed_tcb: TcbVersion(rd.u64_at(0x1E0)?),
            current_version: fw_version(&rd, 0x1E8)?,
            committed_version: fw_version(&rd, 0x1EC)?,
            launch_tcb: TcbVersion(rd.u64_at(0x1F0)?),
            launch_mit_vector,
            current_mit_vector,
            sig_r: rd.array_ref_at(SIGNED_LEN)?,
            sig_s: rd.array_ref_at(SIGNED_LEN + 72)?,
        })
    }

    /// The bytes this view was parsed from.
    pub fn bytes(&self) -> &'a [u8; REPORT_LEN] {
        self.bytes
    }

    /// The signed bytes `[0, 0x2A0)` of the received buffer.
    pub fn signed_bytes(&self) -> &'a [u8] {
        let b: &'a [u8; REPORT_LEN] = self.bytes;
        let (signed, _) = b.split_at(SIGNED_LEN);
        signed
    }

    /// The signing key named in `KEY_INFO` bits 4:2.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a value other than 0 (VCEK) or 1 (VLEK); 7
    /// (no key, unsigned report) included.
    pub fn signing_key(&self) -> Result<SnpSigningKey> {
        match self.key_info >> 2 & 0b111 {
            0 => Ok(SnpSigningKey::Vcek),
            1 => Ok(SnpSigningKey::Vlek),
            7 => Err(Error::bad_field(
                WHAT,
                "key_info.signing_key",
                "report is not signed (no key)",
            )),
            k => Err(Error::bad_field(
                WHAT,
                "key_info.signing_key",
                format!("unknown signing key {k}"),
            )),
        }
    }

    /// `KEY_INFO.AUTHOR_KEY_EN` (bit 0): the launch's ID block carried an
    /// author key, whose digest is `AUTHOR_KEY_DIGEST`.
    pub fn author_key_en(&self) -> bool {
        self.key_info & 1 == 1
    }

    /// `KEY_INFO.MASK_CHIP_KEY`: the firmware did not sign the report.
    pub fn mask_chip_key(&self) -> bool {
        self.key_info >> 1 & 1 == 1
    }

    /// Whether `CHIP_ID` is all zero (masked by the guest's launch configuration).
    pub fn chip_id_masked(&self) -> bool {
        self.chip_id.iter().all(|&b| b == 0)
    }

    /// The product from the CPUID fields (version 3 and later; `None` for
    /// version 2 or an unknown CPU).
    pub fn product(&self) -> Option<Product> {
        self.cpuid
            .and_then(|[fam, model, _]| Product::from_cpuid(fam, model))
    }

    /// The decoded guest policy.
    pub fn guest_policy(&self) -> SnpGuestPolicy {
        decode_policy(self.policy)
    }

    /// The decoded platform info.
    pub fn platform_info_decoded(&self) -> SnpPlatformInfo {
        decode_platform_info(self.platform_info)
    }
}

/// A human-readable dump of an [`SnpReport`], from [`SnpReport::dump`].
///
/// The TCB layout of a version 2 report depends on the product, which such a
/// report does not name; `product` (e.g. from the VCEK) names it then.
#[derive(Debug, Clone, Copy)]
pub struct ReportDump<'r, 'a> {
    report: &'r SnpReport<'a>,
    product: Option<Product>,
}

impl<'a> SnpReport<'a> {
    /// A human-readable dump; `fallback_product` is used when the report does
    /// not name its product (version 2). The report is **not** verified.
    pub fn dump(&self, fallback_product: Option<Product>) -> ReportDump<'_, 'a> {
        ReportDump {
            report: self,
            product: self.product().or(fallback_product),
        }
    }
}

/// The same as [`SnpReport::dump`] with no fallback product.
impl fmt::Display for SnpReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.dump(None).fmt(f)
    }
}

impl fmt::Display for ReportDump<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn yn(b: bool) -> &'static str {
            if b { "yes" } else { "no" }
        }
        let r = self.report;
        let h = |b: &[u8]| hex::encode(b);
        writeln!(
            f,
            "SEV-SNP attestation report (NOT verified; use `teectl verify`)"
        )?;
        writeln!(f, "  version:            {}", r.version)?;
        match (self.product, r.product()) {
            (Some(p), Some(_)) => writeln!(f, "  product:            {}", p.name())?,
            (Some(p), None) => writeln!(
                f,
                "  product:            {} (from the VCEK/VLEK; the report does not name it)",
                p.name()
            )?,
            (None, _) => writeln!(
                f,
                "  product:            unknown (version 2 does not name it; pass --vcek to name it)"
            )?,
        }
        if let Some([fam, model, step]) = r.cpuid {
            writeln!(
                f,
                "  cpuid:              family {fam:#04x} model {model:#04x} stepping {step}"
            )?;
        }
        match r.signing_key() {
            Ok(SnpSigningKey::Vcek) => writeln!(f, "  signing key:        VCEK")?,
            Ok(SnpSigningKey::Vlek) => writeln!(f, "  signing key:        VLEK")?,
            Err(e) => writeln!(f, "  signing key:        invalid ({e})")?,
        }
        writeln!(
            f,
            "  key info:           {:#x} (author key enabled {}, mask chip key {}, signing key {})",
            r.key_info,
            yn(r.author_key_en()),
            yn(r.mask_chip_key()),
            match r.key_info >> 2 & 0b111 {
                0 => "VCEK",
                1 => "VLEK",
                7 => "none",
                _ => "reserved",
            }
        )?;
        writeln!(f, "  signature algo:     {}", r.sig_algo)?;
        let p = r.guest_policy();
        writeln!(
            f,
            "  policy:             {:#x} (ABI {}.{}, SMT {}, reserved bit 17 {}, migration agent {}, debug {}, single socket {}, CXL {}, AES-256-XTS {}, RAPL disabled {}, ciphertext hiding {}, page swap disabled {})",
            p.raw,
            p.abi_major,
            p.abi_minor,
            yn(p.smt),
            yn(p.raw >> 17 & 1 == 1),
            yn(p.migrate_ma),
            yn(p.debug),
            yn(p.single_socket),
            yn(p.cxl_allow),
            yn(p.mem_aes_256_xts),
            yn(p.rapl_dis),
            yn(p.ciphertext_hiding),
            yn(p.page_swap_disable)
        )?;
        writeln!(f, "  vmpl:               {}", r.vmpl)?;
        writeln!(f, "  guest svn:          {}", r.guest_svn)?;
        writeln!(f, "  family id:          {}", h(r.family_id))?;
        writeln!(f, "  image id:           {}", h(r.image_id))?;
        writeln!(f, "  measurement:        {}", h(r.measurement))?;
        writeln!(f, "  report data:        {}", h(r.report_data))?;
        writeln!(f, "  host data:          {}", h(r.host_data))?;
        writeln!(f, "  id key digest:      {}", h(r.id_key_digest))?;
        writeln!(f, "  author key digest:  {}", h(r.author_key_digest))?;
        writeln!(f, "  report id:          {}", h(r.report_id))?;
        writeln!(f, "  report id (MA):     {}", h(r.report_id_ma))?;
        writeln!(
            f,
            "  chip id:            {}{}",
            h(r.chip_id),
            if r.chip_id_masked() { " (masked)" } else { "" }
        )?;
        let pi = r.platform_info_decoded();
        writeln!(
            f,
            "  platform info:      {:#x} (SMT {}, TSME {}, ECC {}, RAPL disabled {}, ciphertext hiding {}, alias check complete {}, SEV-TIO {})",
            pi.raw,
            yn(pi.smt_enabled),
            yn(pi.tsme_enabled),
            yn(pi.ecc_enabled),
            yn(pi.rapl_disabled),
            yn(pi.ciphertext_hiding_enabled),
            yn(pi.alias_check_complete),
            yn(pi.sev_tio_enabled)
        )?;
        for (name, t) in [
            ("current tcb:", r.current_tcb),
            ("reported tcb:", r.reported_tcb),
            ("committed tcb:", r.committed_tcb),
            ("launch tcb:", r.launch_tcb),
        ] {
            write!(f, "  {name:<19} {:#018x} (", t.0)?;
            // A version 2 report does not name its product: Milan and
            // Genoa share one layout and Turin (FMC) reports are version 3+,
            // so the Milan/Genoa layout is shown, marked as inferred.
            let (layout, inferred) = match self.product {
                Some(p) => (p, false),
                None => (Product::Milan, true),
            };
            let d = t.decode(layout);
            if let Some(fmc) = d.fmc {
                write!(f, "fmc {fmc}, ")?;
            }
            write!(
                f,
                "bootloader {}, tee {}, snp {}, microcode {}",
                d.bootloader, d.tee, d.snp, d.microcode
            )?;
            if inferred {
                f.write_str("; Milan/Genoa layout, product inferred")?;
            }
            writeln!(f, ")")?;
        }
        writeln!(
            f,
            "  firmware:           current {}, committed {}",
            r.current_version, r.committed_version
        )?;
        if let (Some(l), Some(c)) = (r.launch_mit_vector, r.current_mit_vector) {
            writeln!(f, "  mitigation vectors: launch {l:#x}, current {c:#x}")?;
        }
        writeln!(f, "  signature r:        {}", h(r.sig_r))?;
        writeln!(f, "  signature s:        {}", h(r.sig_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(version: u32) -> Vec<u8> {
        let mut v = vec![0u8; REPORT_LEN];
        v[..4].copy_from_slice(&version.to_le_bytes());
        v
    }

    #[test]
    fn versions() {
        for v in [2, 3, 4, 5] {
            let b = blank(v);
            let r = SnpReport::parse(&b).unwrap();
            assert_eq!(r.version, v);
            assert_eq!(r.cpuid.is_some(), v >= 3);
            assert_eq!(r.launch_mit_vector.is_some(), v >= 5);
        }
        for v in [0, 1, 6, 0xFFFF_FFFF] {
            let mut b = blank(v);
            b[0x188] = 0xFF; // a version-dependent field: must not matter
            assert!(matches!(
                SnpReport::parse(&b),
                Err(Error::Malformed(tee_core::Malformed { kind: MalformedKind::UnsupportedVersion(x), .. })) if x == v
            ));
        }
    }

    #[test]
    fn lengths() {
        for n in [0, 4, REPORT_LEN - 1, REPORT_LEN + 1] {
            let mut b = blank(2);
            b.resize(n, 0);
            assert!(matches!(
                SnpReport::parse(&b),
                Err(Error::Malformed(tee_core::Malformed {
                    kind: MalformedKind::BadLength {
                        expected: REPORT_LEN,
                        ..
                    },
                    ..
                }))
            ));
        }
    }

    #[test]
    fn reserved_per_version() {
        // 0x188..0x18B is cpuid in v3+, reserved in v2.
        let mut b = blank(2);
        b[0x189] = 1;
        assert!(matches!(
            SnpReport::parse(&b),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::ReservedNonZero { offset: 0x189 },
                ..
            }))
        ));
        b[..4].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(SnpReport::parse(&b).unwrap().cpuid, Some([0, 1, 0]));
        // 0x1F8 is the launch mit vector in v5, reserved before.
        let mut b = blank(3);
        b[0x1F8] = 63;
        assert!(SnpReport::parse(&b).is_err());
        b[..4].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(SnpReport::parse(&b).unwrap().launch_mit_vector, Some(63));
        for off in [0x4C, 0x18B, 0x19F, 0x1EB, 0x1EF, 0x208, 0x29F, 0x330, 0x49F] {
            let mut b = blank(5);
            b[off] = 0x80;
            assert!(
                matches!(
                    SnpReport::parse(&b),
                    Err(Error::Malformed(tee_core::Malformed { kind: MalformedKind::ReservedNonZero { offset }, .. })) if offset == off
                ),
                "{off:#x}"
            );
        }
        let mut b = blank(5);
        b[0x48] = 0x20;
        assert!(SnpReport::parse(&b).is_err());
    }

    #[test]
    fn tcb_layouts() {
        let milan = TcbVersion(0x7308_0000_0000_0003).decode(Product::Milan);
        assert_eq!(
            (
                milan.bootloader,
                milan.tee,
                milan.snp,
                milan.microcode,
                milan.fmc
            ),
            (3, 0, 8, 115, None)
        );
        let turin = TcbVersion(0x5100_0000_0401_0101).decode(Product::Turin);
        assert_eq!(
            (
                turin.fmc,
                turin.bootloader,
                turin.tee,
                turin.snp,
                turin.microcode
            ),
            (Some(1), 1, 1, 4, 81)
        );
        assert!(TcbVersion(0x5100_0000_0401_0101).reserved_zero(Product::Turin));
        assert!(!TcbVersion(0x5100_0000_0401_0101).reserved_zero(Product::Milan));
    }

    #[test]
    fn products() {
        assert_eq!(Product::from_cpuid(0x19, 0x01), Some(Product::Milan));
        assert_eq!(Product::from_cpuid(0x19, 0x11), Some(Product::Genoa));
        assert_eq!(Product::from_cpuid(0x19, 0xA0), Some(Product::Genoa));
        assert_eq!(Product::from_cpuid(0x1A, 0x02), Some(Product::Turin));
        assert_eq!(Product::from_cpuid(0x1A, 0x20), None);
        assert_eq!(Product::from_product_name("Milan-B0"), Some(Product::Milan));
        assert_eq!(Product::from_product_name("Turin"), Some(Product::Turin));
        assert_eq!(Product::from_product_name("Venice"), None);
    }

    #[test]
    fn policy_bits() {
        let p = decode_policy(0xb_0000);
        assert!(p.smt && p.debug && !p.migrate_ma && !p.single_socket);
        let p = decode_policy(0x3_001F);
        assert!(p.smt && !p.debug);
        assert_eq!(p.abi_minor, 0x1F);
    }

    #[test]
    fn finding13_dump_decodes_every_field() {
        let mut b = blank(2);
        b[0x08..0x10].copy_from_slice(&0x03FF_0000u64.to_le_bytes());
        b[0x40..0x48].copy_from_slice(&0xBFu64.to_le_bytes());
        b[0x48..0x4C].copy_from_slice(&0b0_0111u32.to_le_bytes());
        b[0x180..0x188].copy_from_slice(&0x7308_0000_0000_0003u64.to_le_bytes());
        let r = SnpReport::parse(&b).unwrap();
        let text = r.to_string();
        for want in [
            "product:            unknown (version 2 does not name it",
            "key info:           0x7 (author key enabled yes, mask chip key yes, signing key VLEK)",
            "SMT yes, reserved bit 17 yes, migration agent yes, debug yes, single socket yes, CXL yes, AES-256-XTS yes, RAPL disabled yes, ciphertext hiding yes, page swap disabled yes",
            "(SMT yes, TSME yes, ECC yes, RAPL disabled yes, ciphertext hiding yes, alias check complete yes, SEV-TIO yes)",
            "reported tcb:       0x7308000000000003 (bootloader 3, tee 0, snp 8, microcode 115; Milan/Genoa layout, product inferred)",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        let named = r.dump(Some(Product::Genoa)).to_string();
        assert!(
            named.contains("product:            genoa (from the VCEK/VLEK"),
            "{named}"
        );
        assert!(!named.contains("inferred"), "{named}");
        let mut b = blank(2);
        b[0x48..0x4C].copy_from_slice(&0u32.to_le_bytes());
        let text = SnpReport::parse(&b).unwrap().to_string();
        assert!(text.contains("author key enabled no, mask chip key no, signing key VCEK"));
        assert!(text.contains("alias check complete no, SEV-TIO no"));
    }
}
