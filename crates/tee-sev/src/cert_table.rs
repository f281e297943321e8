//! A bounds-checked parser for the GHCB certificate table (GHCB spec 56421,
//! "SNP Extended Guest Request"; Linux `SNP_GET_EXT_REPORT` and the
//! configfs-tsm `auxblob`).
//!
//! The table is a sequence of 24-byte entries `{ guid[16], offset: u32,
//! length: u32 }` (little-endian) terminated by an all-zero entry, followed
//! by the certificates it points into. The table comes from the host, so
//! every offset and length is checked against the buffer, entries may not
//! overlap the table itself, and a GUID may appear only once. The `sev`
//! crate's parser walks raw pointers without these checks; this one is used
//! instead.

use tee_core::reader::Reader;
use tee_core::{Error, MalformedKind, Result};

const WHAT: &str = "GHCB certificate table";

/// Largest table accepted (the kernel's `SEV_FW_BLOB_MAX_SIZE` is 16 KiB;
/// allow generous headroom).
pub const MAX_TABLE_LEN: usize = 1 << 20;
/// Largest number of entries accepted.
pub const MAX_ENTRIES: usize = 64;

/// A GUID as it appears in the table (mixed-endian per RFC 4122 in memory).
pub type Guid = [u8; 16];

const fn guid(s: &str) -> Guid {
    // Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" at compile time into the
    // little-endian in-memory layout AMD uses (first three fields swapped).
    let b = s.as_bytes();
    let mut be = [0u8; 16];
    let mut i = 0;
    let mut j = 0;
    while i < b.len() {
        if b[i] == b'-' {
            i += 1;
            continue;
        }
        be[j / 2] |= hexval(b[i]) << if j % 2 == 0 { 4 } else { 0 };
        j += 1;
        i += 1;
    }
    [
        be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6], be[8], be[9], be[10], be[11],
        be[12], be[13], be[14], be[15],
    ]
}

const fn hexval(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// ARK `c0b406a4-a803-4952-9743-3fb6014cd0ae`.
pub const GUID_ARK: Guid = guid("c0b406a4-a803-4952-9743-3fb6014cd0ae");
/// ASK (or ASVK) `4ab7b379-bbac-4fe4-a02f-05aef327c782`.
pub const GUID_ASK: Guid = guid("4ab7b379-bbac-4fe4-a02f-05aef327c782");
/// VCEK `63da758d-e664-4564-adc5-f4b93be8accd`.
pub const GUID_VCEK: Guid = guid("63da758d-e664-4564-adc5-f4b93be8accd");
/// VLEK `a8074bc2-a25a-483e-aae6-39c045a0b8a1`.
pub const GUID_VLEK: Guid = guid("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
/// CRL `92f81bc3-5811-4d3d-97ff-d19f88dc67ea`.
pub const GUID_CRL: Guid = guid("92f81bc3-5811-4d3d-97ff-d19f88dc67ea");

/// The kind of a certificate-table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKind {
    /// AMD Root Key.
    Ark,
    /// AMD SEV Key (or the ASVK for VLEKs).
    Ask,
    /// VCEK.
    Vcek,
    /// VLEK.
    Vlek,
    /// A CRL.
    Crl,
    /// An entry with another GUID.
    Other(Guid),
}

impl CertKind {
    /// The kind for a GUID.
    pub fn from_guid(g: &Guid) -> Self {
        match *g {
            GUID_ARK => Self::Ark,
            GUID_ASK => Self::Ask,
            GUID_VCEK => Self::Vcek,
            GUID_VLEK => Self::Vlek,
            GUID_CRL => Self::Crl,
            other => Self::Other(other),
        }
    }

    /// The GUID of this kind.
    pub fn guid(&self) -> Guid {
        match self {
            Self::Ark => GUID_ARK,
            Self::Ask => GUID_ASK,
            Self::Vcek => GUID_VCEK,
            Self::Vlek => GUID_VLEK,
            Self::Crl => GUID_CRL,
            Self::Other(g) => *g,
        }
    }
}

/// One entry, borrowing its data from the table buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertEntry<'a> {
    /// The kind.
    pub kind: CertKind,
    /// The certificate bytes.
    pub data: &'a [u8],
}

/// Parse a certificate table.
///
/// # Errors
/// [`Error::Malformed`]: a missing terminator, an entry pointing outside
/// the buffer or into the table, a zero-length entry, a duplicate GUID, or
/// more than [`MAX_ENTRIES`] entries.
pub fn parse(buf: &[u8]) -> Result<Vec<CertEntry<'_>>> {
    if buf.len() > MAX_TABLE_LEN {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::BadLength {
                expected: MAX_TABLE_LEN,
                actual: buf.len(),
            },
        ));
    }
    let mut raw = Vec::new();
    let mut rd = Reader::new(WHAT, buf);
    loop {
        // One 24-byte entry (truncation reports the entry's end offset).
        let mut entry = rd.sub(WHAT, 24)?;
        let gid: Guid = entry.array()?;
        let offset = entry.u32()? as usize;
        let length = entry.u32()? as usize;
        if gid == [0; 16] {
            // The terminator; its offset and length must be zero too.
            if offset != 0 || length != 0 {
                return Err(Error::bad_field(
                    WHAT,
                    "terminator",
                    "non-zero offset or length",
                ));
            }
            break;
        }
        if raw.len() == MAX_ENTRIES {
            return Err(Error::bad_field(
                WHAT,
                "entries",
                format!("more than {MAX_ENTRIES} entries"),
            ));
        }
        raw.push((gid, offset, length));
    }
    let table_end = rd.offset();
    let mut out = Vec::with_capacity(raw.len());
    for (i, (gid, offset, length)) in raw.iter().enumerate() {
        if raw[..i].iter().any(|(g, _, _)| g == gid) {
            return Err(Error::bad_field(WHAT, "guid", "duplicate entry"));
        }
        if *length == 0 {
            return Err(Error::bad_field(WHAT, "length", "zero-length entry"));
        }
        if *offset < table_end {
            return Err(Error::bad_field(
                WHAT,
                "offset",
                format!("entry {i} points into the table"),
            ));
        }
        offset
            .checked_add(*length)
            .ok_or_else(|| Error::bad_field(WHAT, "length", "overflow"))?;
        let data = rd.bytes_at(*offset, *length)?;
        out.push(CertEntry {
            kind: CertKind::from_guid(gid),
            data,
        });
    }
    Ok(out)
}

/// Build a table (for fakes and tests): entries in order, data packed after
/// the table.
pub fn build(entries: &[(CertKind, &[u8])]) -> Vec<u8> {
    let table_len = (entries.len() + 1) * 24;
    let mut table = Vec::with_capacity(table_len);
    let mut data = Vec::new();
    for (kind, bytes) in entries {
        table.extend_from_slice(&kind.guid());
        let off = table_len + data.len();
        table.extend_from_slice(&u32::try_from(off).unwrap_or(u32::MAX).to_le_bytes());
        table.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
        data.extend_from_slice(bytes);
    }
    table.extend_from_slice(&[0u8; 24]);
    table.extend_from_slice(&data);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_layout() {
        // go-sev-guest / sev crate store the GUID in its mixed-endian memory layout.
        assert_eq!(&GUID_VCEK[..4], &[0x8d, 0x75, 0xda, 0x63]);
        assert_eq!(&GUID_VCEK[4..8], &[0x64, 0xe6, 0x64, 0x45]);
        assert_eq!(
            &GUID_VCEK[8..],
            &[0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd]
        );
    }

    #[test]
    fn round_trip() {
        let t = build(&[
            (CertKind::Vcek, b"vcek"),
            (CertKind::Ask, b"askask"),
            (CertKind::Ark, b"a"),
        ]);
        let e = parse(&t).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(
            e[0],
            CertEntry {
                kind: CertKind::Vcek,
                data: b"vcek"
            }
        );
        assert_eq!(e[1].data, b"askask");
        assert_eq!(e[2].kind, CertKind::Ark);
        // Trailing padding after the data is fine (page-sized buffers).
        let mut padded = t.clone();
        padded.resize(4096, 0);
        assert_eq!(parse(&padded).unwrap(), e);
        assert_eq!(parse(&[0u8; 24]).unwrap(), vec![]);
    }

    #[test]
    fn hostile() {
        let good = build(&[(CertKind::Vcek, b"vcek")]);
        // No terminator.
        assert!(parse(&good[..24]).is_err());
        // Truncation names the end of the entry being read, in absolute bytes.
        assert!(matches!(
            parse(&good[..30]),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::Truncated {
                    needed: 48,
                    available: 30
                },
                ..
            }))
        ));
        assert!(parse(&[]).is_err());
        // Offset beyond the buffer.
        let mut t = good.clone();
        t[16..20].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(parse(&t).is_err());
        // Length overflowing.
        let mut t = good.clone();
        t[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&t).is_err());
        // Pointing into the table.
        let mut t = good.clone();
        t[16..20].copy_from_slice(&0u32.to_le_bytes());
        assert!(parse(&t).is_err());
        // Zero length.
        let mut t = good.clone();
        t[20..24].copy_from_slice(&0u32.to_le_bytes());
        assert!(parse(&t).is_err());
        // Duplicate GUID.
        assert!(parse(&build(&[(CertKind::Vcek, b"a"), (CertKind::Vcek, b"b")])).is_err());
        // Non-zero terminator fields.
        let mut t = good.clone();
        t[24 + 16] = 1;
        assert!(parse(&t).is_err());
        // Too many entries.
        let many: Vec<(CertKind, &[u8])> = (0..=MAX_ENTRIES as u8)
            .map(|i| (CertKind::Other([i + 1; 16]), &b"x"[..]))
            .collect();
        assert!(parse(&build(&many)).is_err());
    }
}
