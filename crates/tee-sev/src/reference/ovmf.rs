//! OVMF firmware parsing: the GUIDed footer table and the `ASEV` SEV
//! metadata (bounds-checked; never panics; unknown section types are an
//! error, never guessed).

use tee_core::reader::Reader;
use tee_core::{Error, MalformedKind, Result};

/// Largest firmware image accepted (64 MiB); checked before anything is read.
pub const MAX_OVMF_SIZE: usize = 64 << 20;

/// Page size of every SNP page update.
pub const PAGE_SIZE: usize = 0x1000;

/// The firmware is mapped to end at this guest physical address (4 GiB).
pub(super) const FOUR_GIB: u64 = 0x1_0000_0000;

const WHAT: &str = "OVMF firmware";
const WHAT_TABLE: &str = "OVMF footer table";
const WHAT_META: &str = "OVMF SEV metadata";

/// Encode a GUID string's on-disk (EFI, mixed-endian) bytes at compile time.
const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// Footer GUID `96b582de-1fb2-45f7-baea-a366c55a082d`.
pub const FOOTER_GUID: [u8; 16] = guid(
    0x96b582de,
    0x1fb2,
    0x45f7,
    [0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d],
);
/// SEV metadata offset entry `dc886566-984a-4798-a75e-5585a7bf67cc`.
pub const SEV_METADATA_GUID: [u8; 16] = guid(
    0xdc886566,
    0x984a,
    0x4798,
    [0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc],
);
/// SEV hash table entry `7255371f-3a3b-4b04-927b-1da6efa8d454`.
pub const SEV_HASH_TABLE_GUID: [u8; 16] = guid(
    0x7255371f,
    0x3a3b,
    0x4b04,
    [0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54],
);
/// SEV-ES reset block entry `00f771de-1a7e-4fcb-890e-68c77e2fb44e`.
pub const SEV_ES_RESET_BLOCK_GUID: [u8; 16] = guid(
    0x00f771de,
    0x1a7e,
    0x4fcb,
    [0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e],
);

/// The type of one SEV metadata section (edk2 `OvmfSevMetadata.asm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SectionType {
    /// `SNP_SEC_MEM` (1): pre-validated memory.
    SnpSecMem,
    /// `SNP_SECRETS` (2): the secrets page.
    SnpSecrets,
    /// `CPUID` (3): the CPUID page.
    Cpuid,
    /// `SVSM_CAA` (4): the SVSM calling area.
    SvsmCaa,
    /// `SNP_KERNEL_HASHES` (0x10): the kernel/initrd/cmdline hashes page.
    SnpKernelHashes,
}

impl SectionType {
    /// The type for a raw value; `None` for a value no reference defines.
    pub fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            1 => Self::SnpSecMem,
            2 => Self::SnpSecrets,
            3 => Self::Cpuid,
            4 => Self::SvsmCaa,
            0x10 => Self::SnpKernelHashes,
            _ => return None,
        })
    }

    /// The raw value in the metadata.
    pub fn raw(self) -> u32 {
        match self {
            Self::SnpSecMem => 1,
            Self::SnpSecrets => 2,
            Self::Cpuid => 3,
            Self::SvsmCaa => 4,
            Self::SnpKernelHashes => 0x10,
        }
    }

    /// The edk2 name.
    pub fn name(self) -> &'static str {
        match self {
            Self::SnpSecMem => "SNP_SEC_MEM",
            Self::SnpSecrets => "SNP_SECRETS",
            Self::Cpuid => "CPUID",
            Self::SvsmCaa => "SVSM_CAA",
            Self::SnpKernelHashes => "SNP_KERNEL_HASHES",
        }
    }
}

/// One SEV metadata section descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataSection {
    /// Guest physical address (page-aligned).
    pub gpa: u32,
    /// Size in bytes (a multiple of the page size for page ranges).
    pub size: u32,
    /// The section type.
    pub kind: SectionType,
}

/// A parsed OVMF image: the footer entries the SNP launch digest uses and
/// the SEV metadata sections, in the order the metadata lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ovmf<'a> {
    data: &'a [u8],
    /// Whether the image has the GUIDed footer table at all.
    pub has_footer_table: bool,
    /// Data of the SEV hash table entry: (GPA, size), if present.
    pub sev_hashes_table: Option<(u32, u32)>,
    /// The SEV-ES AP reset address, if present.
    pub sev_es_reset_eip: Option<u32>,
    /// Offset of the `ASEV` header from the end of the file, if present.
    pub sev_metadata_offset: Option<u32>,
    /// The SEV metadata sections, in metadata order (empty without metadata).
    pub sections: Vec<MetadataSection>,
}

fn bad(what: &'static str, field: &'static str, detail: impl core::fmt::Display) -> Error {
    Error::bad_field(what, field, detail)
}

impl<'a> Ovmf<'a> {
    /// Parse an OVMF image.
    ///
    /// # Errors
    /// [`Error::Malformed`]: larger than [`MAX_OVMF_SIZE`], empty or not a
    /// multiple of the page size; a footer table, entry or metadata header
    /// that does not fit; a wrong `ASEV` signature or version; an unknown
    /// section type (`field = "section type"`); a section that is not page
    /// aligned; a duplicate footer entry the digest depends on.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        if data.len() > MAX_OVMF_SIZE {
            return Err(Error::malformed(
                WHAT,
                MalformedKind::BadLength {
                    expected: MAX_OVMF_SIZE,
                    actual: data.len(),
                },
            ));
        }
        if data.is_empty() || !data.len().is_multiple_of(PAGE_SIZE) {
            return Err(bad(
                WHAT,
                "size",
                format_args!("{} bytes is not a non-zero multiple of 4096", data.len()),
            ));
        }
        let mut out = Ovmf {
            data,
            has_footer_table: false,
            sev_hashes_table: None,
            sev_es_reset_eip: None,
            sev_metadata_offset: None,
            sections: Vec::new(),
        };
        out.parse_footer()?;
        out.parse_metadata()?;
        Ok(out)
    }

    /// The image bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The GPA of the first byte (the image ends at 4 GiB).
    pub fn gpa(&self) -> u64 {
        FOUR_GIB - self.data.len() as u64
    }

    /// Whether the metadata lists a section of this type.
    pub fn has_section(&self, kind: SectionType) -> bool {
        self.sections.iter().any(|s| s.kind == kind)
    }

    fn parse_footer(&mut self) -> Result<()> {
        let r = Reader::new(WHAT_TABLE, self.data);
        // At least 32 bytes of reset vector and the 18-byte footer entry.
        let Some(end) = self.data.len().checked_sub(32) else {
            return Ok(());
        };
        let Some(footer_at) = end.checked_sub(18) else {
            return Ok(());
        };
        let footer_guid: [u8; 16] = r.array_at(end - 16)?;
        if footer_guid != FOOTER_GUID {
            return Ok(());
        }
        self.has_footer_table = true;
        let table_len = usize::from(r.u16_at(footer_at)?);
        if table_len < 18 || table_len > end {
            return Err(bad(
                WHAT_TABLE,
                "table length",
                format_args!("{table_len:#x} outside 0x12..={end:#x}"),
            ));
        }
        // The entries, without the footer's own 18 bytes.
        let start = end - table_len;
        let mut region = r.bytes_at(start, table_len - 18)?;
        let mut seen: Vec<[u8; 16]> = Vec::new();
        while region.len() >= 18 {
            let rr = Reader::new(WHAT_TABLE, region);
            let tail = region.len() - 18;
            let entry_len = usize::from(rr.u16_at(tail)?);
            let g: [u8; 16] = rr.array_at(tail + 2)?;
            if entry_len < 18 || entry_len > region.len() {
                return Err(bad(
                    WHAT_TABLE,
                    "entry length",
                    format_args!(
                        "{entry_len:#x} outside 0x12..={:#x} (entry {})",
                        region.len(),
                        guid_str(&g)
                    ),
                ));
            }
            let data_start = region.len() - entry_len;
            let entry = rr.bytes_at(data_start, entry_len - 18)?;
            let known =
                g == SEV_METADATA_GUID || g == SEV_HASH_TABLE_GUID || g == SEV_ES_RESET_BLOCK_GUID;
            if known {
                if seen.contains(&g) {
                    return Err(bad(
                        WHAT_TABLE,
                        "entry",
                        format_args!("duplicate entry {}", guid_str(&g)),
                    ));
                }
                seen.push(g);
                let er = Reader::new(WHAT_TABLE, entry);
                if g == SEV_METADATA_GUID {
                    self.sev_metadata_offset = Some(er.u32_at(0)?);
                } else if g == SEV_HASH_TABLE_GUID {
                    self.sev_hashes_table = Some((er.u32_at(0)?, er.u32_at(4)?));
                } else {
                    self.sev_es_reset_eip = Some(er.u32_at(0)?);
                }
            }
            region = &region[..data_start];
        }
        Ok(())
    }

    fn parse_metadata(&mut self) -> Result<()> {
        let Some(off) = self.sev_metadata_offset else {
            return Ok(());
        };
        let off = off as usize;
        let Some(start) = self.data.len().checked_sub(off) else {
            return Err(bad(
                WHAT_META,
                "offset",
                format_args!(
                    "{off:#x} from the end is before the start of a {:#x}-byte image",
                    self.data.len()
                ),
            ));
        };
        let r = Reader::new(WHAT_META, self.data);
        let sig = r.array_at::<4>(start)?;
        if &sig != b"ASEV" {
            return Err(bad(
                WHAT_META,
                "signature",
                format_args!("{} is not ASEV", hex::encode(sig)),
            ));
        }
        let length = r.u32_at(start + 4)? as usize;
        let version = r.u32_at(start + 8)?;
        if version != 1 {
            return Err(Error::malformed(
                WHAT_META,
                MalformedKind::UnsupportedVersion(version),
            ));
        }
        let n = r.u32_at(start + 12)? as usize;
        let needed = n
            .checked_mul(12)
            .and_then(|x| x.checked_add(16))
            .ok_or_else(|| bad(WHAT_META, "section count", format_args!("{n} overflows")))?;
        if needed > length {
            return Err(bad(
                WHAT_META,
                "length",
                format_args!("{length:#x} bytes cannot hold {n} sections ({needed:#x} bytes)"),
            ));
        }
        let body = r.bytes_at(start, length)?;
        let br = Reader::new(WHAT_META, body);
        let mut sections = Vec::with_capacity(n.min(1024));
        for i in 0..n {
            let at = 16 + 12 * i;
            let gpa = br.u32_at(at)?;
            let size = br.u32_at(at + 4)?;
            let raw = br.u32_at(at + 8)?;
            let Some(kind) = SectionType::from_raw(raw) else {
                return Err(bad(
                    WHAT_META,
                    "section type",
                    format_args!("section {i} at {gpa:#x} has unknown type {raw:#x}"),
                ));
            };
            if !(gpa as usize).is_multiple_of(PAGE_SIZE) {
                return Err(bad(
                    WHAT_META,
                    "section gpa",
                    format_args!(
                        "section {i} ({}) at {gpa:#x} is not page aligned",
                        kind.name()
                    ),
                ));
            }
            let page_range = matches!(
                kind,
                SectionType::SnpSecMem | SectionType::SvsmCaa | SectionType::SnpKernelHashes
            );
            if page_range && !(size as usize).is_multiple_of(PAGE_SIZE) {
                return Err(bad(
                    WHAT_META,
                    "section size",
                    format_args!(
                        "section {i} ({}) size {size:#x} is not a multiple of 4096",
                        kind.name()
                    ),
                ));
            }
            sections.push(MetadataSection { gpa, size, kind });
        }
        self.sections = sections;
        Ok(())
    }
}

/// A GUID's on-disk bytes as the usual string.
pub fn guid_str(g: &[u8; 16]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{}-{}",
        g[3],
        g[2],
        g[1],
        g[0],
        g[5],
        g[4],
        g[7],
        g[6],
        hex::encode(&g[8..10]),
        hex::encode(&g[10..16])
    )
}
