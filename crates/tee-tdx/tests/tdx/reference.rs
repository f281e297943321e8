//! `tee_tdx::reference`: MRTD from TDVF images (the synthetic image of the
//! fact sheet §4.3 built here byte for byte, the Debian image when given),
//! RTMRs from the real CCEL vector, MRCONFIGID from init-data, the policy
//! they make, and hostile TDVF input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sha2::{Digest, Sha256, Sha384};
use tee_core::evidence::format;
use tee_core::measurement::extend_sha384;
use tee_core::{
    Error, EventLog as CoreLog, Evidence, MalformedKind, Platform, Policy, TcbStatus, UnixTime,
    Verifier, appraise,
};
use tee_tdx::ccel::EventLog;
use tee_tdx::quote::Quote;
use tee_tdx::reference::tdvf::{MAX_TDVF_LEN, MetadataLocation};
use tee_tdx::reference::{
    EventSource, InitDataAlg, MrtdOptions, PageAddOrder, SectionType, Tdvf, TranscriptDetail,
    mr_config_id, mr_config_id_with, mrtd, policy, rtmr_reference,
};
use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};
use tee_tdx::{TdxVerifier, danger};

// ------------------------------------------------------------ synthetic ----

// The synthetic images: the recipe of `tee_tdx::reference::synth`.
use tee_tdx::reference::synth::{
    FACT_SHEET_SECTIONS as SYNTH_SECTIONS, Sec, descriptor, fact_sheet as synth,
    fact_sheet_with as synth_with,
};

const SYNTH_SHA256: &str = "537c8b128fedce09916fe963dff0bd800155ba94b16970ca385c877cf0a81e22";
const SYNTH_ONE_PASS: &str = "dd29c282a3aac954af79408f10cbbed692faad475d8437cafd87b09c6b56e91698d14bbcfb3ed9976d5be556b0745dd1";
const SYNTH_TWO_PASS: &str = "654ba50965c8506a618040c514035f232035f5b694c76381c0f9076dedb0697e0890d48dda882e0231c52773e0de3bc3";

fn one_pass() -> MrtdOptions {
    MrtdOptions::new(PageAddOrder::OnePass)
}

fn two_pass() -> MrtdOptions {
    MrtdOptions::new(PageAddOrder::TwoPass)
}

fn section_digests(rv: &tee_core::reference::ReferenceValue) -> Vec<String> {
    rv.transcript
        .steps
        .iter()
        .filter(|s| s.op == "SECTION")
        .map(|s| s.digest_after.as_ref().unwrap().to_hex())
        .collect()
}

#[test]
fn synthetic_image_is_the_fact_sheet_image() {
    let img = synth();
    assert_eq!(img.len(), 12_288);
    assert_eq!(hex::encode(Sha256::digest(&img)), SYNTH_SHA256);
    let t = Tdvf::parse(&img).unwrap();
    assert_eq!(t.location, MetadataLocation::FooterTable);
    assert_eq!(t.descriptor_offset, 0x2010);
    assert_eq!(t.firmware_gpa(), 0xFFFF_D000);
    let types: Vec<_> = t.sections.iter().map(|s| s.section_type).collect();
    assert_eq!(
        types,
        [
            SectionType::Bfv,
            SectionType::Cfv,
            SectionType::TdHob,
            SectionType::TempMem,
            SectionType::PermMem
        ]
    );
    assert!(t.sections[0].mr_extend() && !t.sections[0].page_aug());
    assert!(!t.sections[1].mr_extend());
    assert!(t.sections[4].page_aug());
    assert_eq!(t.sections[0].pages(), 2);
    assert_eq!(t.sections[0].raw_data(&img)[0], 0x22);
    assert_eq!(t.sections[0].raw_data(&img).len(), 0x2000);
    // Replaying a parsed TDVF over other bytes is a misuse, not a value.
    assert!(matches!(
        tee_tdx::reference::mrtd_of(&t, &img[..0x2000], one_pass()),
        Err(Error::Misuse(_))
    ));
    assert_eq!(
        tee_tdx::reference::mrtd_of(&t, &img, one_pass())
            .unwrap()
            .value
            .to_hex(),
        SYNTH_ONE_PASS
    );
}

#[test]
fn synthetic_mrtd_reproduces_the_worked_examples() {
    let img = synth();
    let a = mrtd(&img, one_pass()).unwrap();
    let b = mrtd(&img, two_pass()).unwrap();
    assert_eq!(a.name, "tdx.mr_td");
    assert_eq!(a.value.to_hex(), SYNTH_ONE_PASS);
    assert_eq!(b.value.to_hex(), SYNTH_TWO_PASS);
    assert_ne!(a.value, b.value, "the two page-add orders must differ");
    // Prefix digests after the BFV and the CFV (fact sheet §4.3).
    let (da, db) = (section_digests(&a), section_digests(&b));
    assert_eq!(da.len(), 5);
    assert!(
        da[0].starts_with("72865e18") && da[0].ends_with("c8f4"),
        "{}",
        da[0]
    );
    assert!(
        da[1].starts_with("c4a3fcfc") && da[1].ends_with("354f"),
        "{}",
        da[1]
    );
    assert!(
        db[0].starts_with("a0fef7e2") && db[0].ends_with("ff3b"),
        "{}",
        db[0]
    );
    assert!(
        db[1].starts_with("9bde023c") && db[1].ends_with("1813"),
        "{}",
        db[1]
    );
    // PermMem (PAGE.AUG) adds nothing: its digest equals TempMem's.
    assert_eq!(da[3], da[4]);
    assert_eq!(db[3], db[4]);
    // The transcript names the inputs and ends with the final value.
    let inputs: Vec<_> = a
        .transcript
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.value.as_str()))
        .collect();
    assert_eq!(inputs[0].0, "tdvf");
    assert!(inputs[0].1.contains(SYNTH_SHA256), "{inputs:?}");
    assert_eq!(inputs[1], ("page_add_order", "one-pass"));
    assert_eq!(b.transcript.inputs[1].value, "two-pass");
    let last = a.transcript.steps.last().unwrap();
    assert_eq!(last.op, "MR.FINALIZE");
    assert_eq!(last.digest_after.as_ref().unwrap().to_hex(), SYNTH_ONE_PASS);
    assert!(last.detail.contains("13056"), "{}", last.detail);
}

/// The one-pass MRTD from the formula written out directly: one SHA-384
/// over the concatenated 128-byte buffers and 256-byte chunks.
fn stream_one_pass(img: &[u8], secs: &[Sec]) -> (usize, String) {
    let buf = |op: &[u8], gpa: u64| {
        let mut b = [0u8; 128];
        b[..op.len()].copy_from_slice(op);
        b[16..24].copy_from_slice(&gpa.to_le_bytes());
        b
    };
    let mut stream = Vec::new();
    for &(off, _, gpa, size, _, attr) in secs {
        if attr & 2 != 0 {
            continue;
        }
        for p in 0..size / 0x1000 {
            stream.extend_from_slice(&buf(b"MEM.PAGE.ADD", gpa + p * 0x1000));
            if attr & 1 != 0 {
                for c in 0..16u64 {
                    let g = gpa + p * 0x1000 + c * 256;
                    stream.extend_from_slice(&buf(b"MR.EXTEND", g));
                    let at = (off as u64 + p * 0x1000 + c * 256) as usize;
                    stream.extend_from_slice(&img[at..at + 256]);
                }
            }
        }
    }
    (stream.len(), hex::encode(Sha384::digest(&stream)))
}

#[test]
fn synthetic_mrtd_equals_an_independent_stream_hash() {
    assert_eq!(
        stream_one_pass(&synth(), &SYNTH_SECTIONS),
        (13_056, SYNTH_ONE_PASS.to_string())
    );
}

#[test]
fn page_transcript_lists_every_operation_with_its_gpa() {
    let img = synth();
    let a = mrtd(&img, one_pass().detail(TranscriptDetail::Pages)).unwrap();
    assert_eq!(
        a.value.to_hex(),
        SYNTH_ONE_PASS,
        "detail must not change the value"
    );
    let adds: Vec<u64> = a
        .transcript
        .steps
        .iter()
        .filter(|s| s.op == "MEM.PAGE.ADD")
        .map(|s| s.gpa.unwrap())
        .collect();
    assert_eq!(
        adds,
        [
            0xFFFF_E000,
            0xFFFF_F000,
            0xFFFF_D000,
            0x80_9000,
            0x80_A000,
            0x80_0000
        ]
    );
    let ops: Vec<&str> = a.transcript.steps.iter().map(|s| s.op.as_str()).collect();
    // One-pass: ADD, EXTEND, ADD, EXTEND for the BFV.
    assert_eq!(
        &ops[..5],
        [
            "MEM.PAGE.ADD",
            "MR.EXTEND",
            "MEM.PAGE.ADD",
            "MR.EXTEND",
            "SECTION"
        ]
    );
    let b = mrtd(&img, two_pass().detail(TranscriptDetail::Pages)).unwrap();
    let ops: Vec<&str> = b.transcript.steps.iter().map(|s| s.op.as_str()).collect();
    assert_eq!(
        &ops[..5],
        [
            "MEM.PAGE.ADD",
            "MEM.PAGE.ADD",
            "MR.EXTEND",
            "MR.EXTEND",
            "SECTION"
        ]
    );
    assert_eq!(
        a.transcript.steps.iter().filter(|s| s.index == 0).count(),
        1
    );
}

// -------------------------------------------------------------- hostile ----

fn malformed(r: tee_core::Result<Tdvf>) -> MalformedKind {
    match r {
        Err(Error::Malformed(m)) => m.kind,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn bad_field(r: tee_core::Result<Tdvf>) -> (&'static str, String) {
    match malformed(r) {
        MalformedKind::BadField { field, detail } => (field, detail),
        other => panic!("expected BadField, got {other:?}"),
    }
}

fn with_section(i: usize, edit: impl FnOnce(&mut Sec)) -> Vec<u8> {
    let mut s = SYNTH_SECTIONS;
    edit(&mut s[i]);
    synth_with(&descriptor(1, &s))
}

#[test]
fn oversized_image_is_rejected_before_parsing() {
    let big = vec![0u8; MAX_TDVF_LEN + 1];
    assert_eq!(
        malformed(Tdvf::parse(&big)),
        MalformedKind::BadLength {
            expected: MAX_TDVF_LEN,
            actual: MAX_TDVF_LEN + 1
        }
    );
}

#[test]
fn unknown_version_and_types_are_typed_errors() {
    let v2 = synth_with(&descriptor(2, &SYNTH_SECTIONS));
    assert_eq!(
        malformed(Tdvf::parse(&v2)),
        MalformedKind::UnsupportedVersion(2)
    );
    for ty in [7, 8, 9, 0xFFFF_FFFF] {
        let (f, d) = bad_field(Tdvf::parse(&with_section(2, |s| s.4 = ty)));
        assert_eq!(f, "Type");
        assert!(d.contains(&format!("unsupported section type {ty}")), "{d}");
    }
    let (f, d) = bad_field(Tdvf::parse(&with_section(1, |s| s.5 = 0x4)));
    assert_eq!(f, "Attributes");
    assert!(d.contains("unknown attribute bits"), "{d}");
    let (f, _) = bad_field(Tdvf::parse(&with_section(0, |s| s.5 = 0x3)));
    assert_eq!(f, "Attributes");
}

#[test]
fn section_geometry_is_validated() {
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            with_section(2, |s| s.2 = 0x80_9800),
            "MemoryAddress",
            "not 4 KiB aligned",
        ),
        (
            with_section(2, |s| s.3 = 0x2001),
            "MemoryDataSize",
            "not a 4 KiB multiple",
        ),
        (
            with_section(1, |s| s.1 = 0x2000),
            "RawDataSize",
            "exceeds MemoryDataSize",
        ),
        (
            with_section(1, |s| s.0 = 0x2800),
            "DataOffset",
            "ends past the image",
        ),
        (
            with_section(0, |s| s.3 = 0x3000),
            "RawDataSize",
            "MR.EXTEND section needs RawDataSize = MemoryDataSize",
        ),
        (
            with_section(2, |s| s.2 = !0xFFFu64),
            "MemoryDataSize",
            "overflows",
        ),
        (
            with_section(3, |s| s.3 = 1 << 40),
            "MemoryDataSize",
            "more than",
        ),
    ];
    for (img, field, needle) in cases {
        let (f, d) = bad_field(Tdvf::parse(&img));
        assert_eq!(f, field, "{d}");
        assert!(d.contains(needle), "{field}: {d}");
    }
    // The huge section is refused, not replayed: a PAGE.AUG one is fine
    // and adds nothing (the value differs from SYNTH_ONE_PASS only because
    // the BFV measures the changed descriptor bytes).
    let mut secs = SYNTH_SECTIONS;
    secs[4].3 = 1 << 40;
    let aug = synth_with(&descriptor(1, &secs));
    let got = mrtd(&aug, one_pass()).unwrap().value.to_hex();
    assert_eq!(got, stream_one_pass(&aug, &secs).1);
    assert_ne!(got, SYNTH_ONE_PASS);
}

#[test]
fn descriptor_and_footer_are_validated() {
    // Length disagrees with N.
    let mut d = descriptor(1, &SYNTH_SECTIONS);
    d[4] = 0xB1;
    assert!(matches!(
        malformed(Tdvf::parse(&synth_with(&d))),
        MalformedKind::BadLength {
            expected: 0xB0,
            actual: 0xB1
        }
    ));
    // N = 0; N too large for the image.
    let (f, _) = bad_field(Tdvf::parse(&synth_with(&descriptor(1, &[]))));
    assert_eq!(f, "NumberOfSectionEntry");
    let mut d = descriptor(1, &SYNTH_SECTIONS);
    d[12..16].copy_from_slice(&0x1000_0000u32.to_le_bytes());
    let (f, _) = bad_field(Tdvf::parse(&synth_with(&d)));
    assert_eq!(f, "NumberOfSectionEntry");
    // Bad signature where the footer points.
    let mut img = synth();
    img[0x2010] = b'X';
    let (f, _) = bad_field(Tdvf::parse(&img));
    assert_eq!(f, "Signature");
    // Footer table length larger than the image.
    let mut img = synth();
    let end = 0x3000 - 32;
    img[end - 18..end - 16].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let (f, _) = bad_field(Tdvf::parse(&img));
    assert_eq!(f, "table_len");
    // Entry length larger than the table.
    let mut img = synth();
    img[end - 18 - 18..end - 18 - 16].copy_from_slice(&0x100u16.to_le_bytes());
    let (f, _) = bad_field(Tdvf::parse(&img));
    assert_eq!(f, "entry_len");
    // Offset pointing before the image.
    let mut img = synth();
    img[end - 40..end - 36].copy_from_slice(&0x1_0000u32.to_le_bytes());
    let (f, _) = bad_field(Tdvf::parse(&img));
    assert_eq!(f, "TDX metadata offset");
    // No footer GUID and no td-shim pointer: no TDX metadata.
    let mut img = synth();
    img[end - 1] ^= 1;
    let (f, d) = bad_field(Tdvf::parse(&img));
    assert_eq!(f, "location", "{d}");
}

#[test]
fn td_shim_pointer_is_used_when_the_guid_and_signature_check_out() {
    let mut img = synth();
    let end = 0x3000 - 32;
    img[end - 40..end].fill(0); // no footer table
    img[0x3000 - 0x20..0x3000 - 0x1C].copy_from_slice(&0x2010u32.to_le_bytes());
    let t = Tdvf::parse(&img).unwrap();
    assert_eq!(t.location, MetadataLocation::TdShimPointer);
    assert_eq!(t.descriptor_offset, 0x2010);
    // The footer area is zero in both images and outside every measured
    // page except the CFV's and BFV's raw data: the BFV covers file
    // 0x1000..0x3000, so the value differs from the original.
    assert_ne!(
        mrtd(&img, one_pass()).unwrap().value.to_hex(),
        SYNTH_ONE_PASS
    );
    // A pointer to a place without the GUID is not followed.
    img[0x3000 - 0x20..0x3000 - 0x1C].copy_from_slice(&0x1000u32.to_le_bytes());
    let (f, _) = bad_field(Tdvf::parse(&img));
    assert_eq!(f, "location");
}

#[test]
fn every_truncation_of_the_synthetic_image_is_an_error_not_a_panic() {
    let img = synth();
    for n in 0..img.len() {
        assert!(
            matches!(Tdvf::parse(&img[..n]), Err(Error::Malformed(_))),
            "prefix of {n} bytes"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let r = mrtd(&b, one_pass());
        prop_assert!(matches!(r, Err(Error::Malformed(_))));
    }

    #[test]
    fn mutated_synthetic_images_never_panic(
        edits in proptest::collection::vec((0usize..0x3000, any::<u8>()), 1..8),
        two in any::<bool>(),
    ) {
        let mut img = synth();
        for (at, v) in edits {
            img[at] = v;
        }
        let opts = if two { two_pass() } else { one_pass() };
        match mrtd(&img, opts) {
            Ok(v) => prop_assert_eq!(v.value.len(), 48),
            Err(e) => prop_assert!(matches!(e, Error::Malformed(_)), "{e:?}"),
        }
    }

    #[test]
    fn mutated_descriptors_never_panic(
        secs in proptest::collection::vec(
            (0u32..0x4000, 0u32..0x4000, any::<u64>(), 0u64..0x10_0000, 0u32..10, 0u32..4), 1..6),
    ) {
        let img = synth_with(&descriptor(1, &secs));
        match mrtd(&img, one_pass()) {
            Ok(v) => prop_assert_eq!(v.value.len(), 48),
            Err(e) => prop_assert!(matches!(e, Error::Malformed(_)), "{e:?}"),
        }
    }
}

// ------------------------------------------------------ Debian TDVF ----

/// Debian `ovmf-inteltdx` 2026.08+ds-2 `usr/share/ovmf/OVMF.inteltdx.ms.fd`
/// (fact sheet §4.3, §5.1): given by path in `$TEE_OVMF_INTELTDX` (fetch it
/// with `apt-get download ovmf-inteltdx` from forky/sid and `dpkg -x`).
const DEBIAN_TDX_SHA256: &str = "a265075b4147a096109e501e76196df1ec8a18659c26f7401492c597ec88f312";

#[test]
fn debian_inteltdx_image_matches_the_fact_sheet() {
    let Some(path) = std::env::var_os("TEE_OVMF_INTELTDX") else {
        eprintln!(
            "SKIPPED: set TEE_OVMF_INTELTDX to Debian ovmf-inteltdx 2026.08+ds-2 \
             usr/share/ovmf/OVMF.inteltdx.ms.fd (sha256 {DEBIAN_TDX_SHA256})"
        );
        return;
    };
    let img = std::fs::read(&path).unwrap();
    let sha = hex::encode(Sha256::digest(&img));
    assert_eq!(
        sha, DEBIAN_TDX_SHA256,
        "{path:?} is not the 2026.08+ds-2 build (the pinned forky/sid version may be gone from the mirror)"
    );
    let t = Tdvf::parse(&img).unwrap();
    assert_eq!(t.descriptor_offset, img.len() - 0xA00);
    let got: Vec<_> = t
        .sections
        .iter()
        .map(|s| {
            (
                s.section_type,
                s.memory_address,
                s.memory_data_size,
                s.attributes,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (SectionType::Bfv, 0xFFC8_4000, 0x37_C000, 1),
            (SectionType::Cfv, 0xFFC0_0000, 0x8_4000, 0),
            (SectionType::TempMem, 0x81_0000, 0x1_0000, 0),
            (SectionType::TempMem, 0x80_B000, 0x2000, 0),
            (SectionType::TdHob, 0x80_9000, 0x2000, 0),
            (SectionType::TempMem, 0x80_0000, 0x6000, 0),
        ]
    );
    assert_eq!(
        hex::encode(Sha384::digest(t.sections[1].raw_data(&img))),
        "327d4a91229b3993a7f6f64740d94ff689d44b45edada6e255596d4c7aa287576a92fb1f5c350c287caf60670a5bad5a"
    );
    let a = mrtd(&img, one_pass()).unwrap();
    let b = mrtd(&img, two_pass()).unwrap();
    assert_eq!(
        a.value.to_hex(),
        "a7a1f751abc454f9cbab198ca8d2edb2821935df525c74182b5e776cb0929e8c59aefecce725b0d08a5e9d3d3183bd08"
    );
    assert_eq!(
        b.value.to_hex(),
        "b90b236113eb4c0d4df4ef590568c14e6028a3a31d7e8ac63dee9845df5008d3ebf82d4f5974e933798f65d7a279b9a9"
    );
    assert!(
        a.transcript
            .steps
            .last()
            .unwrap()
            .detail
            .contains("5614848")
    );
}

// ---------------------------------------------------------------- RTMRs ----

fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn read(rel: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(vectors()?.join(rel)).unwrap())
}

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

#[test]
fn rtmrs_from_the_real_ccel_equal_the_quote() {
    let (Some(data), Some(q)) = (
        read("go-tdx-guest/ccel/ccel_data.dat"),
        read("go-tdx-guest/ccel/cos-113-tdx-quote.dat"),
    ) else {
        return;
    };
    let r = rtmr_reference(&data, None).unwrap();
    let quote = Quote::parse(&q).unwrap();
    assert_eq!(r.values(), quote.body.rtmr);
    assert_eq!(r.values()[3], [0; 48]);
    let per: Vec<usize> = (0..4).map(|i| r.events_for(i).count()).collect();
    let log = EventLog::parse(&data).unwrap();
    let no_action = log.events.iter().filter(|e| e.event_type == 3).count();
    assert_eq!(r.skipped, no_action);
    assert_eq!(per.iter().sum::<usize>() + no_action, 43);
    assert_eq!(per[3], 0);
    // Fact sheet §4.4: 16 / 7 / 20 records in RTMR0 / 1 / 2 (EV_NO_ACTION
    // records included in that count).
    let raw: Vec<usize> = (1..=3)
        .map(|m| log.events.iter().filter(|e| e.mr_index == m).count())
        .collect();
    assert_eq!(raw, [16, 7, 20]);
    // Each event names its register, type and digest; the last event of a
    // register carries the register's final value.
    for (i, rv) in r.rtmrs.iter().enumerate() {
        assert_eq!(rv.name, format!("tdx.rtmr{i}"));
        if let Some(last) = r.events_for(i as u32).last() {
            assert_eq!(last.rtmr_after, rv.value);
        }
        let steps: Vec<_> = rv
            .transcript
            .steps
            .iter()
            .filter(|s| s.op.starts_with("EXTEND"))
            .collect();
        assert_eq!(steps.len(), per[i]);
    }
    let cfv = r
        .events
        .iter()
        .find(|e| e.type_name == "EV_EFI_PLATFORM_FIRMWARE_BLOB2")
        .unwrap();
    assert_eq!(
        (cfv.rtmr, cfv.source, cfv.event_type),
        (0, EventSource::Ccel, Some(0x8000_000A))
    );
    assert!(r.events.iter().all(|e| e.description.chars().count() <= 96));
    assert!(
        r.events
            .iter()
            .any(|e| e.type_name == "EV_IPL" && e.rtmr == 2)
    );
}

fn app_log() -> CoreLog {
    CoreLog::new(vec![
        tee_core::Event::new(3, "app: config", b"config v1".to_vec()),
        tee_core::Event::new(3, "app: image", b"image sha".to_vec()),
    ])
}

#[test]
fn app_log_extends_rtmr3_on_top_of_the_ccel() {
    let Some(data) = read("go-tdx-guest/ccel/ccel_data.dat") else {
        return;
    };
    let base = rtmr_reference(&data, None).unwrap();
    let r = rtmr_reference(&data, Some(&app_log())).unwrap();
    assert_eq!(r.values()[..3], base.values()[..3]);
    let want = extend_sha384(
        &extend_sha384(&[0; 48], &Sha384::digest(b"config v1").into()),
        &Sha384::digest(b"image sha").into(),
    );
    assert_eq!(r.values()[3], want);
    let app: Vec<_> = r.events_for(3).collect();
    assert_eq!(app.len(), 2);
    assert_eq!((app[1].source, app[1].index), (EventSource::AppLog, 1));
    assert_eq!(app[1].description, "app: image");
    // Recorded data that does not hash to the digest; register 4; a digest
    // of the wrong size.
    let mut bad = app_log();
    bad.events[1].data = Some(b"other".to_vec());
    assert!(matches!(
        rtmr_reference(&data, Some(&bad)),
        Err(Error::Malformed(_))
    ));
    let mut bad = app_log();
    bad.events[0].register = 4;
    assert!(matches!(
        rtmr_reference(&data, Some(&bad)),
        Err(Error::Malformed(_))
    ));
    let mut bad = app_log();
    bad.events[0].digest.0.pop();
    bad.events[0].data = None;
    assert!(matches!(
        rtmr_reference(&data, Some(&bad)),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn a_log_that_extends_mrtd_is_refused() {
    let mut log = EventLog::encode_header();
    log.extend(EventLog::encode_event(1, 4, &[1; 48], b""));
    log.extend(EventLog::encode_event(0, 4, &[2; 48], b""));
    match rtmr_reference(&log, None) {
        Err(Error::Malformed(m)) => match m.kind {
            MalformedKind::BadField { field, detail } => {
                assert_eq!(field, "mr_index");
                assert!(detail.contains("event 1 names MR index 0"), "{detail}");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // A synthetic log replays by the formula.
    let mut log = EventLog::encode_header();
    log.extend(EventLog::encode_event(1, 4, &[1; 48], b""));
    log.extend(EventLog::encode_event(4, 6, &[2; 48], b"x"));
    log.extend(EventLog::encode_event(2, 3, &[3; 48], b""));
    let r = rtmr_reference(&log, None).unwrap();
    assert_eq!(r.values()[0], extend_sha384(&[0; 48], &[1; 48]));
    assert_eq!(r.values()[3], extend_sha384(&[0; 48], &[2; 48]));
    assert_eq!(r.values()[1], [0; 48]);
    assert_eq!(r.skipped, 1);
}

#[test]
fn rtmr_policy_passes_the_matching_quote_and_fails_another() {
    let (Some(data), Some(q), Some(other)) = (
        read("go-tdx-guest/ccel/ccel_data.dat"),
        read("go-tdx-guest/ccel/cos-113-tdx-quote.dat"),
        read("go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
    ) else {
        return;
    };
    let r = rtmr_reference(&data, None).unwrap();
    let base = Policy::new()
        .allow_any_report_data(true)
        .with_tdx(|t| t.accept_tcb_statuses([TcbStatus::NotEvaluated]));
    // Through TOML, as `teectl reference tdx --policy-out` writes it.
    let p = Policy::from_toml(&policy(base, None, Some(&r), None).to_toml().unwrap()).unwrap();
    assert_eq!(p.tdx.allowed_rtmr0.len(), 1);
    assert_eq!(
        p.tdx.allowed_rtmr3,
        vec![tee_core::bytes::HexBytes(vec![0; 48])]
    );
    let v = TdxVerifier::new().without_collateral();
    let at = t("2025-01-01T00:00:00Z");
    let good = v
        .verify(&Evidence::new(Platform::Tdx, format::TDX_QUOTE, q), at)
        .unwrap();
    let a = appraise(&good, &p);
    assert!(a.passed(), "{:?}", a.failed().collect::<Vec<_>>());
    for name in ["tdx.rtmr0", "tdx.rtmr1", "tdx.rtmr2", "tdx.rtmr3"] {
        let c = a.checks.iter().find(|c| c.name == name).unwrap();
        assert_eq!(c.outcome, tee_core::Outcome::Passed, "{name}");
    }
    let bad = v
        .verify(
            &Evidence::new(Platform::Tdx, format::TDX_QUOTE, other),
            t("2023-07-01T01:00:00Z"),
        )
        .unwrap();
    let failed: Vec<String> = appraise(&bad, &p)
        .failed()
        .map(|c| c.name.clone())
        .collect();
    assert!(failed.contains(&"tdx.rtmr0".to_string()), "{failed:?}");
    assert!(failed.contains(&"tdx.rtmr1".to_string()), "{failed:?}");
}

// ------------------------------------------- MRTD + MRCONFIGID policy ----

const INIT_DATA: &str = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n\n[data]\n\"aa.toml\" = '''\n[token_configs]\n'''\n";

#[test]
fn mr_config_id_follows_the_kata_rule() {
    let v = mr_config_id(INIT_DATA.as_bytes()).unwrap();
    assert_eq!(v.name, "tdx.mr_config_id");
    assert_eq!(v.value.0, Sha384::digest(INIT_DATA.as_bytes()).to_vec());
    let s = INIT_DATA.replace("sha384", "sha256");
    let v = mr_config_id(s.as_bytes()).unwrap();
    let mut want = Sha256::digest(s.as_bytes()).to_vec();
    want.extend_from_slice(&[0; 16]);
    assert_eq!(v.value.0, want);
    assert!(
        v.transcript.steps[0]
            .detail
            .contains("zero-padded from 32 to 48")
    );
    let s = init_data_sha512();
    let v = mr_config_id(s.as_bytes()).unwrap();
    assert_eq!(v.value.0, sha2::Sha512::digest(s.as_bytes())[..48].to_vec());
    // The algorithm is the document's; an explicit one bypasses it.
    let v = mr_config_id_with(b"anything", InitDataAlg::Sha384);
    assert_eq!(v.value.0, Sha384::digest(b"anything").to_vec());
    for bad in [
        "version = \"0.1.0\"\n[data]\nalgorithm = \"sha384\"\n",
        "algorithm = \"md5\"\n",
        "algorithm = sha384\n",
        "algorithm = \"sha384\"\nalgorithm = \"sha256\"\n",
    ] {
        assert!(
            matches!(mr_config_id(bad.as_bytes()), Err(Error::Malformed(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        mr_config_id(&[0xff, 0xfe]),
        Err(Error::Malformed(_))
    ));
}

fn init_data_sha512() -> String {
    INIT_DATA.replace("sha384", "sha512")
}

#[test]
fn mrtd_and_mr_config_id_policy_on_a_fake_quote() {
    let img = synth();
    let m = mrtd(&img, one_pass()).unwrap();
    let c = mr_config_id(INIT_DATA.as_bytes()).unwrap();
    let base = Policy::new()
        .allow_any_report_data(true)
        .with_tdx(|t| t.accept_tcb_statuses([TcbStatus::NotEvaluated]));
    let p = Policy::from_toml(
        &policy(base.clone(), Some(&m), None, Some(&c))
            .to_toml()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(p.allowed_measurements, vec![m.value.clone()]);
    assert_eq!(p.host_data.as_ref(), Some(&c.value));
    let pki = TestPki::default();
    let quote_for = |mr_td: [u8; 48], cfg: [u8; 48]| {
        let td = FakeTd {
            mr_td,
            mr_config_id: cfg,
            ..FakeTd::default()
        };
        FakeKernel::new(pki.clone(), td).make_quote(&[0; 64])
    };
    let v = danger::verifier_with_test_root(pki.root_der.clone()).without_collateral();
    let at = t("2025-01-15T00:00:00Z");
    let mr: [u8; 48] = m.value.0.clone().try_into().unwrap();
    let cfg: [u8; 48] = c.value.0.clone().try_into().unwrap();
    let claims = |q| {
        v.verify(&Evidence::new(Platform::Tdx, format::TDX_QUOTE, q), at)
            .unwrap()
    };
    let ok = appraise(&claims(quote_for(mr, cfg)), &p);
    assert!(ok.passed(), "{:?}", ok.failed().collect::<Vec<_>>());
    // The two-pass MRTD of the same image is another TD: measurement fails.
    let two: [u8; 48] = mrtd(&img, two_pass()).unwrap().value.0.try_into().unwrap();
    let a = appraise(&claims(quote_for(two, cfg)), &p);
    let failed: Vec<_> = a.failed().collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].name, "measurement");
    assert!(
        failed[0].detail.contains(SYNTH_TWO_PASS),
        "{}",
        failed[0].detail
    );
    // Other init-data: host_data fails.
    let a = appraise(&claims(quote_for(mr, [0xc0; 48])), &p);
    let failed: Vec<_> = a.failed().map(|c| c.name.clone()).collect();
    assert_eq!(failed, ["host_data"]);
    // Policy helper does not duplicate a measurement already listed.
    let p2 = policy(p.clone(), Some(&m), None, None);
    assert_eq!(p2.allowed_measurements.len(), 1);
}

/// Regression: a mutated TempMem size of a few GiB made the property test
/// run for minutes (one MEM.PAGE.ADD hash per claimed page). A section set
/// adding more than `MAX_ADDED_MEMORY` is refused before any replay; one
/// just inside the bound still measures.
#[test]
fn huge_added_memory_is_refused_before_the_replay() {
    use tee_tdx::reference::tdvf::MAX_ADDED_MEMORY;
    let img = with_section(3, |s| s.3 = 3 << 30);
    let started = std::time::Instant::now();
    let (_, detail) = bad_field(Tdvf::parse(&img));
    assert!(detail.contains("more than"), "{detail}");
    assert!(matches!(mrtd(&img, one_pass()), Err(Error::Malformed(_))));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The bound itself: the other sections add 0x5000 bytes.
    // TempMem moved to 256 MiB so that it overlaps no other section.
    let ok = with_section(3, |s| {
        s.2 = 0x1000_0000;
        s.3 = MAX_ADDED_MEMORY - 0x5000;
    });
    assert_eq!(Tdvf::parse(&ok).unwrap().sections.len(), 5);
    let over = with_section(3, |s| {
        s.2 = 0x1000_0000;
        s.3 = MAX_ADDED_MEMORY - 0x4000;
    });
    assert!(matches!(Tdvf::parse(&over), Err(Error::Malformed(_))));
}

/// Regression: a PAGE.AUG section (PermMem) claiming nearly all of the
/// address space made the one-pass replay walk 2^52 pages doing nothing
/// (the property test hung about one run in three). AUG sections are not
/// walked: the replay ends at once, hashing only the other sections' pages.
#[test]
fn huge_page_aug_section_is_not_walked() {
    let img = with_section(4, |s| s.3 = 0xFFFF_0000_0000_0000);
    let small = mrtd(&synth(), one_pass()).unwrap();
    let started = std::time::Instant::now();
    for opts in [one_pass(), two_pass()] {
        let v = mrtd(&img, opts).unwrap();
        let perm = &v.transcript.steps[4];
        assert!(perm.detail.contains("PAGE.AUG: not in MRTD"), "{perm:?}");
        // Same number of hashed bytes as with the one-page PermMem (the
        // descriptor bytes differ, and the BFV covers them, so the values do).
        assert_eq!(
            v.transcript.steps.last().unwrap().detail,
            small.transcript.steps.last().unwrap().detail
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
