//! TDVF images: the OVMF GUIDed footer table, the TDX metadata descriptor
//! (`TDVF`) and its sections (TDVF design guide "TDVF metadata"; edk2
//! `IntelTdxMetadata.asm`; td-shim `td-shim-interface/src/metadata.rs`).
//!
//! Every offset is checked; the image size is bounded ([`MAX_TDVF_LEN`])
//! before anything is read; unknown section types, unknown attribute bits
//! and versions other than 1 are typed errors ([`Error::Malformed`]).

use core::fmt;

use tee_core::reader::Reader;
use tee_core::{Error, MalformedKind, Result};

/// Largest firmware image accepted (64 MiB; real TDVF images are 2–4 MiB).
pub const MAX_TDVF_LEN: usize = 64 << 20;

/// Largest amount of memory the sections may ask the VMM to add with
/// MEM.PAGE.ADD (256 MiB, 65 536 pages; real TDVF images add a few MiB:
/// firmware volumes, TD HOB and temporary memory). Bounds the replay's work
/// on hostile input: a section claiming gigabytes would otherwise cost
/// millions of hashes.
pub const MAX_ADDED_MEMORY: u64 = 256 << 20;

/// GUID bytes of the footer table GUID `96b582de-1fb2-45f7-baea-a366c55a082d`.
pub const FOOTER_GUID: [u8; 16] = [
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
];
/// GUID bytes of the footer entry `e47a6535-984a-4798-865e-4685a7bf8ec2`
/// (TDX metadata offset).
pub const TDX_METADATA_OFFSET_GUID: [u8; 16] = [
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
];
/// GUID bytes of the TDX metadata GUID `e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae`
/// that sits right before the `TDVF` descriptor.
pub const TDX_METADATA_GUID: [u8; 16] = [
    0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44, 0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae,
];

/// Section attribute bit 0: the content is measured with TDH.MR.EXTEND.
pub const ATTR_MR_EXTEND: u32 = 0x1;
/// Section attribute bit 1: the pages are accepted later by the guest
/// (TDH.MEM.PAGE.AUG); they do not enter MRTD.
pub const ATTR_PAGE_AUG: u32 = 0x2;

const PAGE: u64 = 0x1000;
const W_FOOTER: &str = "OVMF footer table";
const W_TDVF: &str = "TDVF metadata";

/// One entry of the OVMF footer table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FooterEntry {
    /// The entry's GUID bytes (on-disk encoding).
    pub guid: [u8; 16],
    /// The entry's data (without the length and GUID).
    pub data: Vec<u8>,
}

/// Parse the OVMF GUIDed footer table that ends 32 bytes before the end of
/// the image. `Ok(None)`: the image has no table (the footer GUID is absent).
///
/// # Errors
/// [`Error::Malformed`] for a table length or entry length that does not fit.
pub fn footer_table(image: &[u8]) -> Result<Option<Vec<FooterEntry>>> {
    let Some(end) = image.len().checked_sub(32) else {
        return Ok(None);
    };
    let Some(guid_at) = end.checked_sub(16) else {
        return Ok(None);
    };
    if image.get(guid_at..end) != Some(&FOOTER_GUID[..]) {
        return Ok(None);
    }
    let r = Reader::new(W_FOOTER, image);
    let table_len = usize::from(r.u16_at(guid_at.saturating_sub(2))?);
    if table_len < 18 || table_len > end {
        return Err(Error::bad_field(
            W_FOOTER,
            "table_len",
            format_args!("{table_len:#x} (must be 18..={end:#x})"),
        ));
    }
    let start = end - table_len;
    let mut region = image.get(start..end - 18).unwrap_or_default();
    let mut entries = Vec::new();
    while region.len() >= 18 {
        let n = region.len();
        let r = Reader::new(W_FOOTER, region);
        let guid = r.array_at::<16>(n - 16)?;
        let entry_len = usize::from(r.u16_at(n - 18)?);
        if entry_len < 18 || entry_len > n {
            return Err(Error::bad_field(
                W_FOOTER,
                "entry_len",
                format_args!("{entry_len:#x} (must be 18..={n:#x})"),
            ));
        }
        let data = r.bytes_at(n - entry_len, entry_len - 18)?.to_vec();
        entries.push(FooterEntry { guid, data });
        region = region.get(..n - entry_len).unwrap_or_default();
    }
    Ok(Some(entries))
}

/// The type of a TDVF section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum SectionType {
    /// 0: boot firmware volume (code).
    Bfv,
    /// 1: configuration firmware volume (UEFI variables).
    Cfv,
    /// 2: the TD HOB the VMM writes.
    TdHob,
    /// 3: temporary memory (stacks, heap, mailbox, page tables).
    TempMem,
    /// 4: permanent memory (td-shim).
    PermMem,
    /// 5: the payload (td-shim kernel).
    Payload,
    /// 6: the payload parameters (td-shim command line).
    PayloadParam,
}

impl SectionType {
    /// The type of a raw `Type` value.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a type this SDK does not know (QEMU refuses
    /// them too: "TDVF contains unsupported section type").
    pub fn from_raw(t: u32) -> Result<Self> {
        Ok(match t {
            0 => Self::Bfv,
            1 => Self::Cfv,
            2 => Self::TdHob,
            3 => Self::TempMem,
            4 => Self::PermMem,
            5 => Self::Payload,
            6 => Self::PayloadParam,
            other => {
                return Err(Error::bad_field(
                    W_TDVF,
                    "Type",
                    format_args!("unsupported section type {other}"),
                ));
            }
        })
    }

    /// The raw `Type` value.
    pub fn raw(self) -> u32 {
        match self {
            Self::Bfv => 0,
            Self::Cfv => 1,
            Self::TdHob => 2,
            Self::TempMem => 3,
            Self::PermMem => 4,
            Self::Payload => 5,
            Self::PayloadParam => 6,
        }
    }

    /// The short name (`BFV`, `CFV`, `TD_HOB`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bfv => "BFV",
            Self::Cfv => "CFV",
            Self::TdHob => "TD_HOB",
            Self::TempMem => "TempMem",
            Self::PermMem => "PermMem",
            Self::Payload => "Payload",
            Self::PayloadParam => "PayloadParam",
        }
    }
}

impl fmt::Display for SectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One TDVF section descriptor (32 bytes), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TdvfSection {
    /// File offset of the raw data.
    pub data_offset: u32,
    /// Bytes of raw data in the file.
    pub raw_data_size: u32,
    /// Guest physical address (4 KiB aligned).
    pub memory_address: u64,
    /// Bytes in memory (a 4 KiB multiple).
    pub memory_data_size: u64,
    /// Section type.
    pub section_type: SectionType,
    /// Attributes ([`ATTR_MR_EXTEND`], [`ATTR_PAGE_AUG`]).
    pub attributes: u32,
}

impl TdvfSection {
    /// Whether the content is measured with TDH.MR.EXTEND.
    pub fn mr_extend(&self) -> bool {
        self.attributes & ATTR_MR_EXTEND != 0
    }

    /// Whether the pages are added later by the guest (not in MRTD).
    pub fn page_aug(&self) -> bool {
        self.attributes & ATTR_PAGE_AUG != 0
    }

    /// Number of 4 KiB pages in memory.
    pub fn pages(&self) -> u64 {
        self.memory_data_size / PAGE
    }

    /// The raw data of this section in `image` (bounds checked at parse).
    pub fn raw_data<'a>(&self, image: &'a [u8]) -> &'a [u8] {
        let start = self.data_offset as usize;
        image
            .get(start..start.saturating_add(self.raw_data_size as usize))
            .unwrap_or_default()
    }
}

/// How the TDX metadata was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum MetadataLocation {
    /// Through the `e47a6535…` entry of the OVMF footer table.
    FooterTable,
    /// Through the td-shim pointer (LE32 at `len − 0x20`).
    TdShimPointer,
}

/// A parsed TDVF image (the metadata; the image bytes stay with the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tdvf {
    /// Image length in bytes.
    pub image_len: usize,
    /// File offset of the `TDVF` descriptor.
    pub descriptor_offset: usize,
    /// How the descriptor was found.
    pub location: MetadataLocation,
    /// The sections, in descriptor order (the order the VMM adds them).
    pub sections: Vec<TdvfSection>,
}

impl Tdvf {
    /// Parse and validate the TDX metadata of a TDVF image.
    ///
    /// Validation (dstack-mr, tdx-measure, td-shim, stricter where they
    /// leave page content undefined): `TDVF` signature, version 1, length
    /// `16 + 32·N`, known types and attribute bits, 4 KiB aligned address
    /// and size, raw data inside the file and not larger than the memory,
    /// MR.EXTEND sections fully backed by raw data, MR.EXTEND and PAGE.AUG
    /// not both set, no address overflow, at most [`MAX_ADDED_MEMORY`]
    /// added.
    ///
    /// # Errors
    /// [`Error::Malformed`]: [`MalformedKind::BadLength`] for an image over
    /// [`MAX_TDVF_LEN`], [`MalformedKind::UnsupportedVersion`] for a
    /// descriptor version other than 1, [`MalformedKind::BadField`] naming
    /// the field otherwise (including an image without TDX metadata).
    pub fn parse(image: &[u8]) -> Result<Self> {
        if image.len() > MAX_TDVF_LEN {
            return Err(Error::malformed(
                W_TDVF,
                MalformedKind::BadLength {
                    expected: MAX_TDVF_LEN,
                    actual: image.len(),
                },
            ));
        }
        let (desc, location) = locate(image)?;
        let sections = parse_descriptor(image, desc)?;
        Ok(Self {
            image_len: image.len(),
            descriptor_offset: desc,
            location,
            sections,
        })
    }

    /// The GPA the image is mapped at (it ends at 4 GiB).
    pub fn firmware_gpa(&self) -> u64 {
        (1u64 << 32).saturating_sub(self.image_len as u64)
    }
}

/// Find the descriptor: the footer table first, then the td-shim pointer
/// (only when the GUID and signature check out there).
fn locate(image: &[u8]) -> Result<(usize, MetadataLocation)> {
    let entries = footer_table(image)?;
    if let Some(e) = entries
        .iter()
        .flatten()
        .find(|e| e.guid == TDX_METADATA_OFFSET_GUID)
    {
        let r = Reader::new(W_FOOTER, &e.data);
        let off = r.u32_at(0)? as usize;
        let desc = image
            .len()
            .checked_sub(off)
            .filter(|d| *d >= 16)
            .ok_or_else(|| {
                Error::bad_field(
                    W_FOOTER,
                    "TDX metadata offset",
                    format_args!("{off:#x} does not point inside the image"),
                )
            })?;
        if !guid_and_signature_at(image, desc) {
            return Err(Error::bad_field(
                W_TDVF,
                "Signature",
                format_args!("no TDX metadata GUID and `TDVF` signature at file offset {desc:#x}"),
            ));
        }
        return Ok((desc, MetadataLocation::FooterTable));
    }
    if let Some(ptr) = image.len().checked_sub(0x20) {
        let r = Reader::new(W_TDVF, image);
        let off = r.u32_at(ptr)? as usize;
        // The pointer names the descriptor (the GUID right before it) or,
        // in some td-shim builds, the GUID: accept either when both the
        // GUID and the signature check out.
        for desc in [Some(off), off.checked_add(16)].into_iter().flatten() {
            if guid_and_signature_at(image, desc) {
                return Ok((desc, MetadataLocation::TdShimPointer));
            }
        }
    }
    Err(Error::bad_field(
        W_TDVF,
        "location",
        "no TDX metadata: neither the footer table entry nor the td-shim pointer names a TDVF descriptor",
    ))
}

fn guid_and_signature_at(image: &[u8], desc: usize) -> bool {
    let Some(g) = desc.checked_sub(16) else {
        return false;
    };
    image.get(g..desc) == Some(&TDX_METADATA_GUID[..])
        && image.get(desc..desc.saturating_add(4)) == Some(&b"TDVF"[..])
}

fn parse_descriptor(image: &[u8], desc: usize) -> Result<Vec<TdvfSection>> {
    let body = image.get(desc..).unwrap_or_default();
    let r = Reader::new(W_TDVF, body);
    let length = r.u32_at(4)? as usize;
    let version = r.u32_at(8)?;
    if version != 1 {
        return Err(Error::malformed(
            W_TDVF,
            MalformedKind::UnsupportedVersion(version),
        ));
    }
    let n = r.u32_at(12)? as usize;
    if n == 0 {
        return Err(Error::bad_field(
            W_TDVF,
            "NumberOfSectionEntry",
            "0 (nothing to measure)",
        ));
    }
    let expected = n
        .checked_mul(32)
        .and_then(|x| x.checked_add(16))
        .filter(|x| *x <= body.len())
        .ok_or_else(|| {
            Error::bad_field(
                W_TDVF,
                "NumberOfSectionEntry",
                format_args!("{n} sections do not fit in the image"),
            )
        })?;
    if length != expected {
        return Err(Error::malformed(
            W_TDVF,
            MalformedKind::BadLength {
                expected,
                actual: length,
            },
        ));
    }
    let mut sections = Vec::with_capacity(n);
    let mut added: u64 = 0;
    for i in 0..n {
        let at = 16 + 32 * i;
        let s = TdvfSection {
            data_offset: r.u32_at(at)?,
            raw_data_size: r.u32_at(at + 4)?,
            memory_address: r.u64_at(at + 8)?,
            memory_data_size: r.u64_at(at + 16)?,
            section_type: SectionType::from_raw(r.u32_at(at + 24)?)?,
            attributes: r.u32_at(at + 28)?,
        };
        validate(&s, image.len())?;
        if !s.page_aug() {
            added = added.saturating_add(s.memory_data_size);
            if added > MAX_ADDED_MEMORY {
                return Err(Error::bad_field(
                    W_TDVF,
                    "MemoryDataSize",
                    format_args!(
                        "the sections add more than {MAX_ADDED_MEMORY:#x} bytes of memory"
                    ),
                ));
            }
        }
        sections.push(s);
    }
    Ok(sections)
}

fn validate(s: &TdvfSection, image_len: usize) -> Result<()> {
    let bad = |field, detail: String| Err(Error::bad_field(W_TDVF, field, detail));
    let ty = s.section_type;
    if s.attributes & !(ATTR_MR_EXTEND | ATTR_PAGE_AUG) != 0 {
        return bad(
            "Attributes",
            format!("{ty}: unknown attribute bits {:#x}", s.attributes),
        );
    }
    if s.mr_extend() && s.page_aug() {
        return bad(
            "Attributes",
            format!("{ty}: MR.EXTEND and PAGE.AUG together (an augmented page cannot be extended)"),
        );
    }
    if !s.memory_address.is_multiple_of(PAGE) {
        return bad(
            "MemoryAddress",
            format!("{ty}: {:#x} is not 4 KiB aligned", s.memory_address),
        );
    }
    if !s.memory_data_size.is_multiple_of(PAGE) {
        return bad(
            "MemoryDataSize",
            format!("{ty}: {:#x} is not a 4 KiB multiple", s.memory_data_size),
        );
    }
    if s.memory_address.checked_add(s.memory_data_size).is_none() {
        return bad(
            "MemoryDataSize",
            format!(
                "{ty}: {:#x} + {:#x} overflows",
                s.memory_address, s.memory_data_size
            ),
        );
    }
    if u64::from(s.raw_data_size) > s.memory_data_size {
        return bad(
            "RawDataSize",
            format!(
                "{ty}: {:#x} exceeds MemoryDataSize {:#x}",
                s.raw_data_size, s.memory_data_size
            ),
        );
    }
    let end = u64::from(s.data_offset) + u64::from(s.raw_data_size);
    if end > image_len as u64 {
        return bad(
            "DataOffset",
            format!(
                "{ty}: raw data {:#x}+{:#x} ends past the image ({image_len:#x} bytes)",
                s.data_offset, s.raw_data_size
            ),
        );
    }
    if s.mr_extend() && u64::from(s.raw_data_size) != s.memory_data_size {
        return bad(
            "RawDataSize",
            format!(
                "{ty}: an MR.EXTEND section needs RawDataSize = MemoryDataSize ({:#x} != {:#x})",
                s.raw_data_size, s.memory_data_size
            ),
        );
    }
    Ok(())
}
