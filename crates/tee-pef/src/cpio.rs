//! The `newc` cpio archive that carries an ESM blob in front of an initrd
//! (svm-tool `svm add`), and the ultravisor's way of finding and skipping
//! it (UVESM `svm_esm_blob_chk`, model §5.3 step 1b and §7.5).
//!
//! Arithmetic: a header is 110 bytes; the name follows immediately; file
//! data starts at `ALIGN4(hdr + 110 + namesize)`; the next header is at
//! `ALIGN4(data + filesize)`; the archive ends after the `TRAILER!!!`
//! entry, rounded up to 512 bytes. Offsets are relative to the start of the
//! initrd, which the guest loads at a 4-byte (in practice page) aligned
//! address.

use tee_core::{Error, Result};

/// The `newc` magic.
pub const NEWC_MAGIC: &[u8; 6] = b"070701";
/// A `newc` header is 110 bytes.
pub const HEADER_LEN: usize = 110;
/// The archive is padded to this alignment (`cpio` block size).
pub const ARCHIVE_ALIGN: usize = 512;
/// The directory the ESM blob lives in.
pub const ESM_DIR: &str = "opt/ibm/pef";
/// The trailer entry name.
pub const TRAILER: &str = "TRAILER!!!";

/// Round up to a multiple of 4.
pub fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|v| v & !3)
}

/// Round up to a multiple of 512.
pub fn align512(x: usize) -> Option<usize> {
    x.checked_add(ARCHIVE_ALIGN - 1)
        .map(|v| v & !(ARCHIVE_ALIGN - 1))
}

fn push_entry(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    nlink: u32,
    name: &str,
    data: &[u8],
) -> Result<()> {
    let namesize =
        u32::try_from(name.len() + 1).map_err(|_| Error::Misuse("cpio name too long".into()))?;
    let filesize =
        u32::try_from(data.len()).map_err(|_| Error::Misuse("cpio member over 4 GiB".into()))?;
    out.extend_from_slice(NEWC_MAGIC);
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
    // rdevmajor, rdevminor, namesize, check. mtime 0 keeps output reproducible.
    for v in [ino, mode, 0, 0, nlink, 0, filesize, 0, 0, 0, 0, namesize, 0] {
        out.extend_from_slice(format!("{v:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    Ok(())
}

/// Build the ESM cpio: directory entries `opt`, `opt/ibm`, `opt/ibm/pef`
/// (size 0) first, then `opt/ibm/pef/<blob_name>`, then the trailer,
/// padded with zeros to 512 bytes.
///
/// # Errors
/// [`Error::Misuse`] for a blob name that is empty or contains `/` or NUL.
pub fn esm_cpio(blob_name: &str, blob: &[u8]) -> Result<Vec<u8>> {
    if blob_name.is_empty() || blob_name.contains(['/', '\0']) || blob_name.len() > 255 {
        return Err(Error::Misuse(
            "ESM blob file name must be 1..=255 bytes without '/' or NUL".into(),
        ));
    }
    let mut out = Vec::with_capacity(blob.len() + 1024);
    push_entry(&mut out, 1, 0o040755, 2, "opt", &[])?;
    push_entry(&mut out, 2, 0o040755, 2, "opt/ibm", &[])?;
    push_entry(&mut out, 3, 0o040755, 2, ESM_DIR, &[])?;
    push_entry(
        &mut out,
        4,
        0o100644,
        1,
        &format!("{ESM_DIR}/{blob_name}"),
        blob,
    )?;
    push_entry(&mut out, 0, 0, 1, TRAILER, &[])?;
    out.resize(align512(out.len()).unwrap_or(out.len()), 0);
    Ok(out)
}

/// Wrap an initrd: ESM cpio ‖ initrd (svm-tool prepends, although its
/// documentation says "appended").
///
/// # Errors
/// As [`esm_cpio`].
pub fn wrap_initrd(initrd: &[u8], blob: &[u8], blob_name: &str) -> Result<Vec<u8>> {
    let mut out = esm_cpio(blob_name, blob)?;
    out.extend_from_slice(initrd);
    Ok(out)
}

/// Why the ultravisor could not find an ESM blob in an initrd.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocateError {
    /// A header did not start with `070701` (or was truncated) at this offset.
    NotNewc {
        /// Offset of the bad header.
        offset: usize,
    },
    /// The first member with data was not under `opt/ibm/pef` (the UV's ENOENT).
    NoEsmMember {
        /// Name of the first non-empty member, if any.
        first: Option<String>,
    },
    /// No member under `opt/ibm/pef` contains a word with the FDT magic.
    NoFdtMagic,
    /// The archive has no `TRAILER!!!` entry inside the initrd.
    NoTrailer,
}

impl core::fmt::Display for LocateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotNewc { offset } => {
                write!(f, "no newc cpio header at initrd offset {offset:#x}")
            }
            Self::NoEsmMember { first: Some(n) } => {
                write!(
                    f,
                    "first non-empty cpio member `{n}` is not under {ESM_DIR} (ENOENT)"
                )
            }
            Self::NoEsmMember { first: None } => {
                write!(f, "no non-empty cpio member under {ESM_DIR} (ENOENT)")
            }
            Self::NoFdtMagic => f.write_str("no ESM cpio member contains the FDT magic"),
            Self::NoTrailer => f.write_str("ESM cpio has no TRAILER!!! entry"),
        }
    }
}

/// Where the ESM blob and the end of the ESM cpio are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsmLocation {
    /// Name of the cpio member holding the blob.
    pub member: String,
    /// Offset of the blob (FDT magic) from the initrd start.
    pub blob_offset: usize,
    /// Length of the member data from `blob_offset` on.
    pub blob_max_len: usize,
    /// End of the archive rounded up to 512: the measured initrd starts here.
    pub measured_from: usize,
}

fn hex8(b: &[u8], off: usize) -> Option<usize> {
    let s = b.get(off..off.checked_add(8)?)?;
    let t = core::str::from_utf8(s).ok()?;
    usize::from_str_radix(t, 16)
        .ok()
        .filter(|_| t.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// The ultravisor's scan (model §5.3 step 1b): walk `newc` headers from the
/// start of the initrd; members with data must be under `opt/ibm/pef`
/// until the blob is found; inside such a member the blob starts at the
/// first 4-byte word equal to the FDT magic, and a member without the magic
/// is passed over (the scan goes on with the next member, as the
/// ultravisor's does); the archive ends at `TRAILER!!!`, rounded up to 512.
///
/// # Errors
/// A [`LocateError`] saying which step failed.
pub fn locate_esm(initrd: &[u8]) -> core::result::Result<EsmLocation, LocateError> {
    let mut hdr = 0usize;
    let mut found: Option<(String, usize, usize)> = None;
    let mut magicless = false;
    loop {
        let bad = LocateError::NotNewc { offset: hdr };
        if initrd.get(hdr..hdr.checked_add(6).ok_or(LocateError::NoTrailer)?)
            != Some(&NEWC_MAGIC[..])
        {
            return Err(if hdr >= initrd.len() {
                LocateError::NoTrailer
            } else {
                bad
            });
        }
        let filesize = hex8(initrd, hdr + 6 + 6 * 8).ok_or(bad.clone())?;
        let namesize = hex8(initrd, hdr + 6 + 11 * 8).ok_or(bad.clone())?;
        let name_start = hdr + HEADER_LEN;
        let name_end = name_start.checked_add(namesize).ok_or(bad.clone())?;
        let raw_name = initrd.get(name_start..name_end).ok_or(bad.clone())?;
        let name_bytes = raw_name.split(|&b| b == 0).next().unwrap_or(&[]);
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let data = align4(name_end).ok_or(bad.clone())?;
        let data_end = data.checked_add(filesize).ok_or(bad.clone())?;
        if name == TRAILER {
            let end = align4(data_end).and_then(align512).ok_or(bad)?;
            return match found {
                Some((member, blob_offset, blob_max_len)) => Ok(EsmLocation {
                    member,
                    blob_offset,
                    blob_max_len,
                    measured_from: end,
                }),
                None if magicless => Err(LocateError::NoFdtMagic),
                None => Err(LocateError::NoEsmMember { first: None }),
            };
        }
        if filesize > 0 && found.is_none() {
            if !name.starts_with(ESM_DIR) {
                return Err(LocateError::NoEsmMember { first: Some(name) });
            }
            let member = initrd.get(data..data_end).ok_or(bad.clone())?;
            match member
                .chunks_exact(4)
                .position(|w| w == crate::fdt::FDT_MAGIC.to_be_bytes())
            {
                Some(word) => {
                    let off = word * 4;
                    found = Some((name, data + off, filesize - off));
                }
                None => magicless = true,
            }
        }
        hdr = align4(data_end).ok_or(bad)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_newc_arithmetic() {
        let blob = crate::fdt::Node::new("")
            .with_str("compatible", "ibm,esm")
            .to_dtb();
        let c = esm_cpio("esmb.dtb", &blob).unwrap();
        assert_eq!(c.len() % 512, 0);
        // Entry 1: "opt" namesize 4 -> data at align4(110+4)=116, next at 116.
        assert_eq!(&c[..6], b"070701");
        assert_eq!(&c[110..114], b"opt\0");
        assert_eq!(&c[116..122], b"070701");
        // Entry 2: "opt/ibm" namesize 8 -> 116+110+8=234 -> align 236.
        assert_eq!(&c[116 + 110..116 + 118], b"opt/ibm\0");
        assert_eq!(&c[236..242], b"070701");
        // Entry 3: "opt/ibm/pef" namesize 12 -> 236+122=358 -> 360.
        assert_eq!(&c[360..366], b"070701");
        // Entry 4: "opt/ibm/pef/esmb.dtb" namesize 21 -> 360+131=491 -> data at 492.
        let loc = locate_esm(&c).unwrap();
        assert_eq!(loc.member, "opt/ibm/pef/esmb.dtb");
        assert_eq!(loc.blob_offset, 492);
        assert_eq!(&c[492..492 + blob.len()], &blob[..]);
        assert_eq!(loc.measured_from, c.len());
        let trailer_hdr = align4(492 + blob.len()).unwrap();
        assert_eq!(&c[trailer_hdr..trailer_hdr + 6], b"070701");
        assert_eq!(
            loc.measured_from,
            align512(align4(trailer_hdr + 110 + 11).unwrap()).unwrap()
        );

        let wrapped = wrap_initrd(b"INITRD", &blob, "esmb.dtb").unwrap();
        let loc = locate_esm(&wrapped).unwrap();
        assert_eq!(&wrapped[loc.measured_from..], b"INITRD");
    }

    #[test]
    fn first_data_member_must_be_esm() {
        let mut c = Vec::new();
        push_entry(&mut c, 1, 0o100644, 1, "init", b"#!/bin/sh").unwrap();
        push_entry(&mut c, 0, 0, 1, TRAILER, &[]).unwrap();
        assert_eq!(
            locate_esm(&c),
            Err(LocateError::NoEsmMember {
                first: Some("init".into())
            })
        );
        assert_eq!(
            locate_esm(b"not a cpio"),
            Err(LocateError::NotNewc { offset: 0 })
        );
        let mut d = Vec::new();
        push_entry(&mut d, 1, 0o100644, 1, "opt/ibm/pef/x", b"no magic here").unwrap();
        let mut decoy = d.clone();
        push_entry(&mut d, 0, 0, 1, TRAILER, &[]).unwrap();
        assert_eq!(locate_esm(&d), Err(LocateError::NoFdtMagic));
        // A magic-less member is passed over; the next one holds the blob.
        let blob = crate::fdt::Node::new("").to_dtb();
        push_entry(&mut decoy, 2, 0o100644, 1, "opt/ibm/pef/zzz.dtb", &blob).unwrap();
        let mut after = decoy.clone();
        push_entry(&mut decoy, 0, 0, 1, TRAILER, &[]).unwrap();
        let loc = locate_esm(&decoy).unwrap();
        assert_eq!(loc.member, "opt/ibm/pef/zzz.dtb");
        assert_eq!(
            &decoy[loc.blob_offset..loc.blob_offset + blob.len()],
            &blob[..]
        );
        // Members after the blob are not looked at; a non-ESM member with
        // data before the blob still ends the scan.
        push_entry(&mut after, 3, 0o100644, 1, "init", b"#!/bin/sh").unwrap();
        push_entry(&mut after, 0, 0, 1, TRAILER, &[]).unwrap();
        assert_eq!(locate_esm(&after).unwrap().member, "opt/ibm/pef/zzz.dtb");
        let mut early = Vec::new();
        push_entry(&mut early, 1, 0o100644, 1, "opt/ibm/pef/a", b"no magic").unwrap();
        push_entry(&mut early, 2, 0o100644, 1, "init", b"#!/bin/sh").unwrap();
        push_entry(&mut early, 3, 0o100644, 1, "opt/ibm/pef/b", &blob).unwrap();
        push_entry(&mut early, 0, 0, 1, TRAILER, &[]).unwrap();
        assert_eq!(
            locate_esm(&early),
            Err(LocateError::NoEsmMember {
                first: Some("init".into())
            })
        );
        let e = esm_cpio("b", &crate::fdt::Node::new("").to_dtb()).unwrap();
        assert_eq!(
            locate_esm(&e[..200]),
            Err(LocateError::NotNewc { offset: 116 })
        );
        assert!(esm_cpio("a/b", b"x").is_err());
    }
}
