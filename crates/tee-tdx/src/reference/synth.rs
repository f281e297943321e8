//! Synthetic TDVF images for reference-value tests and benchmarks (feature
//! `testing`): the fact sheet's `tdx-synth.bin` (§4.3) and a 4 MiB image
//! laid out like Debian's `OVMF.inteltdx.ms.fd`, built from a recipe.

use super::tdvf::TDX_METADATA_GUID;

/// One section as (DataOffset, RawDataSize, MemoryAddress, MemoryDataSize, Type, Attributes).
pub type Sec = (u32, u32, u64, u64, u32, u32);

/// The fact sheet's sections (§4.3): BFV (extended), CFV, TD_HOB, TempMem, PermMem (PAGE.AUG).
pub const FACT_SHEET_SECTIONS: [Sec; 5] = [
    (0x1000, 0x2000, 0xFFFF_E000, 0x2000, 0, 0x1),
    (0, 0x1000, 0xFFFF_D000, 0x1000, 1, 0),
    (0, 0, 0x80_9000, 0x2000, 2, 0),
    (0, 0, 0x80_0000, 0x1000, 3, 0),
    (0, 0, 0x90_0000, 0x1000, 4, 0x2),
];

/// The footer GUID table's terminating GUID.
pub const FOOTER_GUID: [u8; 16] = [
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
];

/// The footer entry giving the TDX metadata offset (from the end).
pub const TDX_OFFSET_GUID: [u8; 16] = [
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
];

/// The descriptor bytes (signature, Length, Version, N, sections).
pub fn descriptor(version: u32, secs: &[Sec]) -> Vec<u8> {
    let mut d = b"TDVF".to_vec();
    let n = u32::try_from(secs.len()).unwrap_or(u32::MAX);
    d.extend_from_slice(&(16u32.saturating_add(n.saturating_mul(32))).to_le_bytes());
    d.extend_from_slice(&version.to_le_bytes());
    d.extend_from_slice(&n.to_le_bytes());
    for &(off, raw, gpa, size, ty, attr) in secs {
        d.extend_from_slice(&off.to_le_bytes());
        d.extend_from_slice(&raw.to_le_bytes());
        d.extend_from_slice(&gpa.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&ty.to_le_bytes());
        d.extend_from_slice(&attr.to_le_bytes());
    }
    d
}

/// Write the footer table of a `len`-byte image: the TDX metadata offset
/// entry pointing `desc_from_end` bytes before the end.
fn footer(b: &mut [u8], desc_from_end: u32) {
    let end = b.len() - 32;
    b[end - 16..end].copy_from_slice(&FOOTER_GUID);
    b[end - 18..end - 16].copy_from_slice(&0x28u16.to_le_bytes());
    let e = end - 40;
    b[e..e + 4].copy_from_slice(&desc_from_end.to_le_bytes());
    b[e + 4..e + 6].copy_from_slice(&22u16.to_le_bytes());
    b[e + 6..e + 22].copy_from_slice(&TDX_OFFSET_GUID);
}

/// `tdx-synth.bin` of the fact sheet §4.3 (12 288 bytes) with the given
/// descriptor at 0x2010 (the metadata GUID at 0x2000) and the footer table
/// pointing at it (written over the descriptor's tail if that is longer).
///
/// # Panics
/// If the descriptor is longer than the 0xFF0 bytes after 0x2010.
pub fn fact_sheet_with(desc: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 0x3000];
    b[..0x1000].fill(0x11);
    b[0x1000..0x2000].fill(0x22);
    b[0x2000..0x2010].copy_from_slice(&TDX_METADATA_GUID);
    b[0x2010..0x2010 + desc.len()].copy_from_slice(desc);
    footer(&mut b, 0xFF0);
    b
}

/// `tdx-synth.bin` of the fact sheet §4.3 (sha256 537c8b12…).
pub fn fact_sheet() -> Vec<u8> {
    fact_sheet_with(&descriptor(1, &FACT_SHEET_SECTIONS))
}

/// A 4 MiB TDVF laid out like Debian's `OVMF.inteltdx.ms.fd`: CFV
/// 0x84000 bytes, BFV (MR.EXTEND) the rest, descriptor at end − 0xA00,
/// TD_HOB and three TempMem sections; pseudo-random content.
pub fn inteltdx_4mib() -> Vec<u8> {
    const LEN: usize = 4 << 20;
    let mut b = vec![0u8; LEN];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for c in b.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
    }
    let secs: [Sec; 6] = [
        (0x84000, 0x37C000, 0xFFC8_4000, 0x37C000, 0, 1),
        (0, 0x84000, 0xFFC0_0000, 0x84000, 1, 0),
        (0, 0, 0x81_0000, 0x1_0000, 3, 0),
        (0, 0, 0x80_B000, 0x2000, 3, 0),
        (0, 0, 0x80_9000, 0x2000, 2, 0),
        (0, 0, 0x80_0000, 0x6000, 3, 0),
    ];
    let desc = LEN - 0xA00;
    b[desc - 16..desc].copy_from_slice(&TDX_METADATA_GUID);
    let d = descriptor(1, &secs);
    b[desc..desc + d.len()].copy_from_slice(&d);
    footer(&mut b, 0xA00);
    b
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::{fact_sheet, inteltdx_4mib};
    use crate::reference::{MrtdOptions, PageAddOrder, Tdvf, mrtd};

    #[test]
    fn recipes_parse() {
        let f = fact_sheet();
        assert_eq!(
            hex::encode(Sha256::digest(&f)),
            "537c8b128fedce09916fe963dff0bd800155ba94b16970ca385c877cf0a81e22"
        );
        let big = inteltdx_4mib();
        assert_eq!(Tdvf::parse(&big).unwrap().sections.len(), 6);
        assert!(mrtd(&big, MrtdOptions::new(PageAddOrder::OnePass)).is_ok());
    }
}
