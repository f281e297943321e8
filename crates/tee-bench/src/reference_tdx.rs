//! MRTD over a 4 MiB TDVF against its SHA-384 floor: one SHA-384 over a
//! contiguous buffer as long as the replay's hashed stream.

use std::hint::black_box;

use sha2::{Digest, Sha384};
use tee::tdx::reference::{MrtdOptions, PageAddOrder, mrtd};

use crate::{Bench, paired_ratio};

/// The RATIO lines.
pub(crate) struct MrtdFigures {
    /// MRTD (one-pass, section transcript, file SHA-256 included) / floor.
    pub(crate) one_pass_vs_floor: f64,
    /// The same for two-pass.
    pub(crate) two_pass_vs_floor: f64,
    /// Bytes the replay hashes.
    pub(crate) stream_len: usize,
}

const LEN: usize = 4 << 20;

/// A 4 MiB TDVF laid out like Debian's `OVMF.inteltdx.ms.fd`: CFV
/// 0x84000 bytes, BFV (MR.EXTEND) the rest, descriptor at end − 0xA00,
/// TD_HOB and three TempMem sections; pseudo-random content.
pub(crate) fn image() -> Vec<u8> {
    let mut b = vec![0u8; LEN];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for c in b.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
    }
    let secs: [(u32, u32, u64, u64, u32, u32); 6] = [
        (0x84000, 0x37C000, 0xFFC8_4000, 0x37C000, 0, 1),
        (0, 0x84000, 0xFFC0_0000, 0x84000, 1, 0),
        (0, 0, 0x81_0000, 0x1_0000, 3, 0),
        (0, 0, 0x80_B000, 0x2000, 3, 0),
        (0, 0, 0x80_9000, 0x2000, 2, 0),
        (0, 0, 0x80_0000, 0x6000, 3, 0),
    ];
    let desc = LEN - 0xA00;
    let guid = [
        0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44, 0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6,
        0xae,
    ];
    b[desc - 16..desc].copy_from_slice(&guid);
    let mut d = b"TDVF".to_vec();
    for v in [16 + 32 * secs.len() as u32, 1, secs.len() as u32] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    for (off, raw, gpa, size, ty, attr) in secs {
        d.extend_from_slice(&off.to_le_bytes());
        d.extend_from_slice(&raw.to_le_bytes());
        d.extend_from_slice(&gpa.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&ty.to_le_bytes());
        d.extend_from_slice(&attr.to_le_bytes());
    }
    b[desc..desc + d.len()].copy_from_slice(&d);
    let end = LEN - 32;
    let footer = [
        0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08,
        0x2d,
    ];
    let entry = [
        0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e,
        0xc2,
    ];
    b[end - 16..end].copy_from_slice(&footer);
    b[end - 18..end - 16].copy_from_slice(&40u16.to_le_bytes());
    let e = end - 40;
    b[e..e + 4].copy_from_slice(&0xA00u32.to_le_bytes());
    b[e + 4..e + 6].copy_from_slice(&22u16.to_le_bytes());
    b[e + 6..e + 22].copy_from_slice(&entry);
    b
}

pub(crate) fn ours(b: &mut Bench) -> Option<MrtdFigures> {
    let img = image();
    let one = MrtdOptions::new(PageAddOrder::OnePass);
    let two = MrtdOptions::new(PageAddOrder::TwoPass);
    let v = match mrtd(&img, one) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tee-bench: MRTD image: {e}");
            return None;
        }
    };
    // The hashed stream length, from the transcript's last step.
    let stream_len: usize = v
        .transcript
        .steps
        .last()?
        .detail
        .split_whitespace()
        .find_map(|w| w.parse().ok())?;
    let floor_buf = vec![0x5au8; stream_len];
    b.run(
        "tdx-ref",
        "SHA-384 over the MRTD stream length (floor)",
        || {
            black_box(Sha384::digest(black_box(&floor_buf)));
        },
    );
    b.run("tdx-ref", "MRTD one-pass, 4 MiB TDVF (ours)", || {
        black_box(mrtd(black_box(&img), one).ok());
    });
    b.run("tdx-ref", "MRTD two-pass, 4 MiB TDVF (ours)", || {
        black_box(mrtd(black_box(&img), two).ok());
    });
    let floor = || {
        black_box(Sha384::digest(black_box(&floor_buf)));
    };
    let one_pass_vs_floor = paired_ratio(
        || {
            black_box(mrtd(black_box(&img), one).ok());
        },
        floor,
        4,
    );
    let two_pass_vs_floor = paired_ratio(
        || {
            black_box(mrtd(black_box(&img), two).ok());
        },
        floor,
        4,
    );
    Some(MrtdFigures {
        one_pass_vs_floor,
        two_pass_vs_floor,
        stream_len,
    })
}
