//! MRTD over a 4 MiB TDVF against its SHA-384 floor: one SHA-384 over a
//! contiguous buffer as long as the replay's hashed stream.

use std::hint::black_box;

use sha2::{Digest, Sha384};
use tee_tdx::reference::{Mrtd, MrtdOptions, PageAddOrder};

use crate::{Bench, paired_ratio};

/// The RATIO lines.
pub(crate) struct MrtdFigures {
    /// MRTD (one-pass, section steps; the image SHA-256 of the rendered
    /// transcript is not included: see `with_transcript_ms`) / floor.
    pub(crate) one_pass_vs_floor: f64,
    /// The same for two-pass.
    pub(crate) two_pass_vs_floor: f64,
    /// One-pass MRTD with its rendered transcript (image SHA-256), ms.
    pub(crate) with_transcript_ms: f64,
    /// Bytes the replay hashes.
    pub(crate) stream_len: usize,
}

/// A 4 MiB TDVF laid out like Debian's `OVMF.inteltdx.ms.fd`
/// (`tee_tdx::reference::synth::inteltdx_4mib`).
pub(crate) fn image() -> Vec<u8> {
    tee_tdx::reference::synth::inteltdx_4mib()
}

/// Bytes the MRTD replay hashes: 128 per added page, 16 × (128 + 256) per
/// extended page (PAGE.AUG sections are not in MRTD).
fn stream_len(img: &[u8]) -> Option<usize> {
    let t = tee_tdx::reference::Tdvf::parse(img).ok()?;
    let mut n = 0u64;
    for s in t.sections.iter().filter(|s| !s.page_aug()) {
        n += s.pages() * 128;
        if s.mr_extend() {
            n += s.pages() * 16 * (128 + 256);
        }
    }
    usize::try_from(n).ok()
}

/// `tee-bench once mrtd-one|mrtd-two` (callgrind).
#[inline(never)]
pub(crate) fn mrtd_once(img: &[u8], two_pass: bool) {
    let order = if two_pass {
        PageAddOrder::TwoPass
    } else {
        PageAddOrder::OnePass
    };
    black_box(Mrtd::compute(black_box(img), MrtdOptions::new(order)).ok());
}

/// `tee-bench once mrtd-floor` (callgrind).
#[inline(never)]
pub(crate) fn floor_once(img: &[u8]) {
    let buf = vec![0x5au8; stream_len(img).unwrap_or(0)];
    black_box(Sha384::digest(black_box(&buf)));
}

pub(crate) fn ours(b: &mut Bench) -> Option<MrtdFigures> {
    let img = image();
    let one = MrtdOptions::new(PageAddOrder::OnePass);
    let two = MrtdOptions::new(PageAddOrder::TwoPass);
    let v = match Mrtd::compute(&img, one) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tee-bench: MRTD image: {e}");
            return None;
        }
    };
    let stream_len = stream_len(&img)?;
    // The replay's own count of hashed bytes must agree.
    if v.hashed != stream_len as u64 {
        eprintln!("tee-bench: MRTD stream length {stream_len} not in the transcript");
        return None;
    }
    let floor_buf = vec![0x5au8; stream_len];
    b.run(
        "tdx-ref",
        "SHA-384 over the MRTD stream length (floor)",
        || {
            black_box(Sha384::digest(black_box(&floor_buf)));
        },
    );
    b.run("tdx-ref", "MRTD one-pass, 4 MiB TDVF (ours)", || {
        black_box(Mrtd::compute(black_box(&img), one).ok());
    });
    b.run("tdx-ref", "MRTD two-pass, 4 MiB TDVF (ours)", || {
        black_box(Mrtd::compute(black_box(&img), two).ok());
    });
    // The transcript on demand: the image's SHA-256 and the section steps.
    let render_ns = b.run(
        "tdx-ref",
        "MRTD transcript rendered (image SHA-256, on demand)",
        || {
            black_box(
                Mrtd::compute(black_box(&img), one)
                    .map(|m| m.reference())
                    .ok(),
            );
        },
    );
    let floor = || {
        black_box(Sha384::digest(black_box(&floor_buf)));
    };
    let one_pass_vs_floor = paired_ratio(
        || {
            black_box(Mrtd::compute(black_box(&img), one).ok());
        },
        floor,
        4,
    );
    let two_pass_vs_floor = paired_ratio(
        || {
            black_box(Mrtd::compute(black_box(&img), two).ok());
        },
        floor,
        4,
    );
    Some(MrtdFigures {
        with_transcript_ms: render_ns / 1e6,
        one_pass_vs_floor,
        two_pass_vs_floor,
        stream_len,
    })
}
