//! MRTD: the replay of TDH.MEM.PAGE.ADD and TDH.MR.EXTEND over a TDVF's
//! sections, in the order the VMM issues them.
//!
//! The TDX module keeps one SHA-384 context per TD. Each TDH.MEM.PAGE.ADD
//! hashes a 128-byte buffer `"MEM.PAGE.ADD" || 4×00 || LE64 GPA || 104×00`;
//! each TDH.MR.EXTEND hashes `"MR.EXTEND" || 7×00 || LE64 GPA || 104×00`
//! followed by the 256 content bytes of the chunk at that GPA.
//! TDH.MR.FINALIZE ends the stream: MRTD is its digest.

use sha2::{Digest, Sha256, Sha384};
use tee_core::bytes::HexBytes;
use tee_core::reference::{ReferenceValue, Transcript};
use tee_core::{Error, Result};

use super::tdvf::{Tdvf, TdvfSection};

const PAGE: usize = 0x1000;
const CHUNK: usize = 256;

/// The order in which the VMM adds and extends the pages of a section.
///
/// The order is a property of the host stack, not of the firmware:
/// - upstream KVM (Linux 6.16+, `KVM_TDX_INIT_MEM_REGION` with the measure
///   flag) and QEMU 9/10 use [`PageAddOrder::OnePass`];
/// - the KVM TDX v19 / QEMU `tdx-qemu-upstream-v5` (8.2.50) patch sets and
///   Canonical's `tdx-noble-8.2.2` QEMU (Ubuntu 24.04 TDX hosts) use
///   [`PageAddOrder::TwoPass`]. dstack-mr picks two-pass for QEMU 8.x;
///   tinfoilsh/tdx-measure calls it `--two-pass-add-pages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum PageAddOrder {
    /// Per page: PAGE.ADD, then (MR.EXTEND sections) the page's 16 EXTENDs.
    #[default]
    OnePass,
    /// Per section: every PAGE.ADD of the section, then every EXTEND of it.
    TwoPass,
}

impl PageAddOrder {
    /// `one-pass` or `two-pass`.
    pub fn name(self) -> &'static str {
        match self {
            Self::OnePass => "one-pass",
            Self::TwoPass => "two-pass",
        }
    }
}

/// How much of the replay the transcript records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TranscriptDetail {
    /// One step per section, with the running digest after it.
    #[default]
    Sections,
    /// Also one step per PAGE.ADD and per page of EXTENDs (GPA and the
    /// number of bytes hashed so far).
    Pages,
}

/// Options of the MRTD computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MrtdOptions {
    /// The page-add order (an explicit choice: it depends on the host).
    pub order: PageAddOrder,
    /// How detailed the transcript is.
    pub detail: TranscriptDetail,
}

impl MrtdOptions {
    /// Options with this page-add order and section-level transcript.
    pub fn new(order: PageAddOrder) -> Self {
        Self {
            order,
            detail: TranscriptDetail::Sections,
        }
    }

    /// Builder: the transcript detail.
    #[must_use]
    pub fn detail(mut self, detail: TranscriptDetail) -> Self {
        self.detail = detail;
        self
    }
}

/// The MRTD of a TDVF image with its transcript (name `tdx.mr_td`).
///
/// # Errors
/// As [`Tdvf::parse`].
pub fn mrtd(image: &[u8], opts: MrtdOptions) -> Result<ReferenceValue> {
    Ok(Mrtd::compute(image, opts)?.reference())
}

/// The MRTD of an already parsed TDVF; `image` must be the bytes it was
/// parsed from.
///
/// # Errors
/// [`Error::Misuse`] if `image` does not have the parsed image's length.
pub fn mrtd_of(tdvf: &Tdvf, image: &[u8], opts: MrtdOptions) -> Result<ReferenceValue> {
    Ok(Mrtd::compute_of(tdvf, image, opts)?.reference())
}

/// A replayed MRTD: the value and the replay's steps, with the transcript's
/// inputs (the image's SHA-256 among them) rendered only when asked
/// ([`Self::reference`]), so that computing the value costs the replay's
/// hashing and little else.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mrtd<'a> {
    /// The MRTD.
    pub value: [u8; 48],
    /// The options it was replayed with.
    pub opts: MrtdOptions,
    /// The replay's steps (per section, or per page with
    /// [`TranscriptDetail::Pages`]), then `MR.FINALIZE`.
    pub steps: Transcript,
    /// Bytes the replay hashed.
    pub hashed: u64,
    image: &'a [u8],
    metadata: String,
    sha256: std::sync::OnceLock<[u8; 32]>,
}

impl<'a> Mrtd<'a> {
    /// Parse `image` and replay it.
    ///
    /// # Errors
    /// As [`Tdvf::parse`].
    pub fn compute(image: &'a [u8], opts: MrtdOptions) -> Result<Self> {
        let tdvf = Tdvf::parse(image)?;
        Self::compute_of(&tdvf, image, opts)
    }

    /// Replay an already parsed TDVF; `image` must be the bytes it was
    /// parsed from.
    ///
    /// # Errors
    /// [`Error::Misuse`] if `image` does not have the parsed image's length.
    pub fn compute_of(tdvf: &Tdvf, image: &'a [u8], opts: MrtdOptions) -> Result<Self> {
        if image.len() != tdvf.image_len {
            return Err(Error::Misuse(
                format!(
                    "mrtd_of: the image has {} bytes, the parsed TDVF {}",
                    image.len(),
                    tdvf.image_len
                )
                .into(),
            ));
        }
        let (value, steps, hashed) = replay(tdvf, image, opts);
        Ok(Self {
            value,
            opts,
            steps,
            hashed,
            image,
            metadata: format!(
                "descriptor at file offset {:#x} ({:?}), {} sections",
                tdvf.descriptor_offset,
                tdvf.location,
                tdvf.sections.len()
            ),
            sha256: std::sync::OnceLock::new(),
        })
    }

    /// SHA-256 of the image (computed once, when first asked).
    pub fn image_sha256(&self) -> [u8; 32] {
        *self
            .sha256
            .get_or_init(|| Sha256::digest(self.image).into())
    }

    /// The value with its transcript: the inputs (image size and SHA-256,
    /// page-add order, metadata), then the replay's steps.
    pub fn reference(&self) -> ReferenceValue {
        let mut t = Transcript::default();
        t.input(
            "tdvf",
            format!(
                "{} bytes, sha256 {}",
                self.image.len(),
                hex::encode(self.image_sha256())
            ),
        );
        t.input("page_add_order", self.opts.order.name());
        t.input("tdx_metadata", self.metadata.clone());
        t.steps = self.steps.steps.clone();
        ReferenceValue::new("tdx.mr_td", self.value, t)
    }
}

/// What recomputing MRTD says about a quote's MRTD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MrtdDiagnosis {
    /// The image and order give the quote's value: they are what the host
    /// launched; the policy's reference value is stale.
    InputsMatch,
    /// The image gives the quote's value in the other page-add order: the
    /// host's VMM/KVM stack uses this order.
    OtherOrder(PageAddOrder),
    /// Neither order gives the quote's value: the firmware image differs
    /// from what the host launched.
    NoMatch,
}

/// Recompute MRTD from `image` in `opts.order` and diagnose the quote's
/// `mr_td` against it (trying the other page-add order on a mismatch).
///
/// # Errors
/// As [`Tdvf::parse`].
pub fn diagnose_mrtd<'a>(
    image: &'a [u8],
    opts: MrtdOptions,
    mr_td: &[u8],
) -> Result<(Mrtd<'a>, MrtdDiagnosis)> {
    let tdvf = Tdvf::parse(image)?;
    let m = Mrtd::compute_of(&tdvf, image, opts)?;
    if m.value[..] == *mr_td {
        return Ok((m, MrtdDiagnosis::InputsMatch));
    }
    let other = match opts.order {
        PageAddOrder::OnePass => PageAddOrder::TwoPass,
        PageAddOrder::TwoPass => PageAddOrder::OnePass,
    };
    let o = Mrtd::compute_of(
        &tdvf,
        image,
        MrtdOptions {
            order: other,
            ..opts
        },
    )?;
    let d = if o.value[..] == *mr_td {
        MrtdDiagnosis::OtherOrder(other)
    } else {
        MrtdDiagnosis::NoMatch
    };
    Ok((m, d))
}

/// The replay: the MRTD and the transcript steps.
fn replay(tdvf: &Tdvf, image: &[u8], opts: MrtdOptions) -> ([u8; 48], Transcript, u64) {
    let t = Transcript::default();
    let mut r = Replay {
        h: Sha384::new(),
        hashed: 0,
        detail: opts.detail,
        t,
        scratch: [0u8; EXTEND_PAGE_BYTES],
    };
    for (i, s) in tdvf.sections.iter().enumerate() {
        let data = s.raw_data(image);
        // A PAGE.AUG section is accepted by the guest later: no page of it
        // is added or extended, so it is not walked at all (its size is
        // not bounded by `MAX_ADDED_MEMORY` and may be the whole RAM).
        if !s.page_aug() {
            match opts.order {
                PageAddOrder::OnePass => {
                    for p in 0..pages(s) {
                        r.page_add(s, p);
                        if s.mr_extend() {
                            r.extend_page(s, data, p);
                        }
                    }
                }
                PageAddOrder::TwoPass => {
                    for p in 0..pages(s) {
                        r.page_add(s, p);
                    }
                    if s.mr_extend() {
                        for p in 0..pages(s) {
                            r.extend_page(s, data, p);
                        }
                    }
                }
            }
        }
        let what = match (s.page_aug(), s.mr_extend()) {
            (true, _) => "PAGE.AUG: not in MRTD",
            (false, true) => "added and extended",
            (false, false) => "added, not extended",
        };
        let after: [u8; 48] = r.h.clone().finalize().into();
        let detail = format!(
            "section {} {}: {} pages at {:#x}, raw data {:#x}+{:#x}, attributes {:#x} ({what}); stream {} bytes",
            i + 1,
            s.section_type,
            s.pages(),
            s.memory_address,
            s.data_offset,
            s.raw_data_size,
            s.attributes,
            r.hashed
        );
        r.t.step(
            "SECTION",
            Some(s.memory_address),
            detail,
            Some(HexBytes(after.to_vec())),
        );
    }
    let value: [u8; 48] = r.h.finalize().into();
    r.t.step(
        "MR.FINALIZE",
        None,
        format!("MRTD over {} hashed bytes", r.hashed),
        Some(HexBytes(value.to_vec())),
    );
    (value, r.t, r.hashed)
}

fn pages(s: &TdvfSection) -> usize {
    usize::try_from(s.pages()).unwrap_or(0)
}

struct Replay {
    h: Sha384,
    hashed: u64,
    detail: TranscriptDetail,
    t: Transcript,
    /// One page of EXTEND input (16 × (buffer + chunk)), hashed in one
    /// update so that SHA-384 runs over long contiguous input.
    scratch: [u8; EXTEND_PAGE_BYTES],
}

/// Bytes one page of TDH.MR.EXTEND hashes.
const EXTEND_PAGE_BYTES: usize = (PAGE / CHUNK) * (128 + CHUNK);

impl Replay {
    fn page_add(&mut self, s: &TdvfSection, page: usize) {
        let gpa = s.memory_address + (page * PAGE) as u64;
        self.h.update(buffer(b"MEM.PAGE.ADD", gpa));
        self.hashed += 128;
        if self.detail == TranscriptDetail::Pages {
            self.t.step(
                "MEM.PAGE.ADD",
                Some(gpa),
                format!(
                    "{} page {page}; stream {} bytes",
                    s.section_type, self.hashed
                ),
                None,
            );
        }
    }

    fn extend_page(&mut self, s: &TdvfSection, data: &[u8], page: usize) {
        let gpa = s.memory_address + (page * PAGE) as u64;
        let content = data.get(page * PAGE..).unwrap_or_default();
        for (c, out) in self.scratch.chunks_exact_mut(128 + CHUNK).enumerate() {
            let (head, body) = out.split_at_mut(128);
            head.copy_from_slice(&buffer(b"MR.EXTEND", gpa + (c * CHUNK) as u64));
            // MR.EXTEND sections are fully backed by raw data (checked at
            // parse); the zero fill below is never reached for them.
            match content.get(c * CHUNK..(c + 1) * CHUNK) {
                Some(chunk) => body.copy_from_slice(chunk),
                None => body.fill(0),
            }
        }
        self.h.update(self.scratch);
        self.hashed += EXTEND_PAGE_BYTES as u64;
        if self.detail == TranscriptDetail::Pages {
            self.t.step(
                "MR.EXTEND",
                Some(gpa),
                format!(
                    "{} page {page}: 16 chunks of 256 bytes; stream {} bytes",
                    s.section_type, self.hashed
                ),
                None,
            );
        }
    }
}

/// The 128-byte MEM.PAGE.ADD / MR.EXTEND buffer.
fn buffer(op: &[u8], gpa: u64) -> [u8; 128] {
    let mut b = [0u8; 128];
    if let Some(dst) = b.get_mut(..op.len()) {
        dst.copy_from_slice(op);
    }
    if let Some(dst) = b.get_mut(16..24) {
        dst.copy_from_slice(&gpa.to_le_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::buffer;

    #[test]
    fn buffers_match_the_fact_sheet() {
        let add = buffer(b"MEM.PAGE.ADD", 0xFFFF_E000);
        assert_eq!(
            hex::encode(&add[..24]),
            "4d454d2e504147452e41444400000000\
             00e0ffff00000000"
        );
        assert!(add[24..].iter().all(|b| *b == 0));
        let ext = buffer(b"MR.EXTEND", 0xFFFF_E100);
        assert_eq!(
            hex::encode(&ext[..24]),
            "4d522e455854454e4400000000000000\
             00e1ffff00000000"
        );
        assert!(ext[24..].iter().all(|b| *b == 0));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod diagnose_tests {
    use super::{MrtdDiagnosis, MrtdOptions, PageAddOrder, diagnose_mrtd, mrtd};
    use crate::reference::synth::fact_sheet;

    #[test]
    fn each_outcome() {
        let img = fact_sheet();
        let one = MrtdOptions::new(PageAddOrder::OnePass);
        let two = MrtdOptions::new(PageAddOrder::TwoPass);
        let v1 = mrtd(&img, one).unwrap().value.0;
        let v2 = mrtd(&img, two).unwrap().value.0;
        let (m, d) = diagnose_mrtd(&img, one, &v1).unwrap();
        assert_eq!(
            (m.value.to_vec(), d),
            (v1.clone(), MrtdDiagnosis::InputsMatch)
        );
        let (m, d) = diagnose_mrtd(&img, one, &v2).unwrap();
        assert_eq!(m.value.to_vec(), v1);
        assert_eq!(d, MrtdDiagnosis::OtherOrder(PageAddOrder::TwoPass));
        let (_, d) = diagnose_mrtd(&img, two, &v1).unwrap();
        assert_eq!(d, MrtdDiagnosis::OtherOrder(PageAddOrder::OnePass));
        let (_, d) = diagnose_mrtd(&img, one, &[0x11; 48]).unwrap();
        assert_eq!(d, MrtdDiagnosis::NoMatch);
        assert!(diagnose_mrtd(&img[..4096], one, &v1).is_err());
    }
}
