//! Real SEV-SNP vectors from `../shared/vectors` (see its INDEX.md §1, §2,
//! §6): every expected outcome, including the negatives. Files are read in
//! place, never copied into the repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

use tee_core::evidence::{endorsement, format};
use tee_core::platforms::SnpSigningKey;
use tee_core::{
    Authenticity, Claims, Error, Evidence, MalformedKind, Platform, PlatformClaims, Policy,
    ReportData, TcbStatus, UnixTime, Verified, Verifier, appraise,
};
use tee_sev::certs::decode_certs;
use tee_sev::report::{Product, SnpReport};
use tee_sev::roots::PINNED;
use tee_sev::{SnpVerifier, evidence_from_parts};

fn dir() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn read(rel: &str) -> Vec<u8> {
    let d = dir().unwrap();
    std::fs::read(d.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

macro_rules! need_vectors {
    () => {
        if dir().is_none() {
            return;
        }
    };
}

struct Vector {
    name: &'static str,
    report: &'static str,
    cert: &'static str,
    chain: Option<&'static str>,
    at: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector {
        name: "virtee milan v2",
        report: "virtee-sev/report_milan.hex",
        cert: "virtee-sev/vcek_milan.der",
        chain: Some("virtee-sev/cert_chain_milan.pem"),
        at: "2025-01-01T00:00:00Z",
    },
    Vector {
        name: "go-sev-guest milan v2 debug",
        report: "go-sev-guest/attestation.bin",
        cert: "go-sev-guest/vcek.der",
        chain: Some("amd-roots/milan_ask.pem"),
        at: "2025-01-01T00:00:00Z",
    },
    Vector {
        name: "trustee milan v3 vlek",
        report: "trustee/snp/test-vlek-report.bin",
        cert: "trustee/snp/test-vlek.der",
        chain: Some("amd-roots/milan_asvk_ark.pem"),
        at: "2025-06-01T00:00:00Z",
    },
    Vector {
        name: "ms milan v3",
        report: "ms-tee-av/milan_attestation_report.bin",
        cert: "ms-tee-av/milan_vcek.pem",
        chain: Some("amd-roots/milan_ask.pem"),
        at: "2026-06-01T00:00:00Z",
    },
    Vector {
        name: "ms turin v5",
        report: "ms-tee-av/turin_attestation_report.bin",
        cert: "ms-tee-av/turin_vcek.pem",
        chain: Some("amd-roots/turin_ask.pem"),
        at: "2026-06-01T00:00:00Z",
    },
];

fn evidence(v: &Vector, with_chain: bool) -> Evidence {
    let report = read(v.report);
    let cert = read(v.cert);
    let chain: Vec<Vec<u8>> = if with_chain {
        v.chain.iter().map(|c| read(c)).collect()
    } else {
        vec![]
    };
    let chain_refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    evidence_from_parts(&report, Some(&cert), &chain_refs).unwrap()
}

fn verify(ev: &Evidence, at: &str) -> tee_core::Result<Verified<Claims>> {
    SnpVerifier::new().verify(ev, t(at))
}

fn snp(c: &Claims) -> &tee_core::platforms::SnpClaims {
    match &c.platform_claims {
        PlatformClaims::SevSnp(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_vector_verifies_with_and_without_supplied_chain() {
    need_vectors!();
    for v in VECTORS {
        for with_chain in [true, false] {
            let ev = evidence(v, with_chain);
            let c = verify(&ev, v.at)
                .unwrap_or_else(|e| panic!("{} (chain {with_chain}): {e}", v.name));
            assert_eq!(c.platform, Platform::SevSnp);
            assert_eq!(c.format, format::SEV_SNP_REPORT);
            assert_eq!(c.verified_at, t(v.at));
            let tcb = c.tcb.value().unwrap();
            assert_eq!(tcb.status, TcbStatus::VersionsOnly);
            assert_eq!(
                tcb.svns["microcode"],
                u64::from(snp(&c).reported_tcb.microcode)
            );
        }
    }
}

#[test]
fn virtee_milan_fields() {
    need_vectors!();
    let c = verify(&evidence(&VECTORS[0], true), VECTORS[0].at).unwrap();
    let s = snp(&c);
    assert_eq!(s.version, 2);
    assert_eq!(s.product, "milan");
    assert_eq!(s.signing_key, SnpSigningKey::Vcek);
    assert_eq!(s.policy.raw, 0x30000);
    assert!(s.policy.smt && !s.policy.debug && !s.policy.migrate_ma);
    assert_eq!(s.vmpl, 0);
    assert_eq!(s.reported_tcb.raw, 0x7308_0000_0000_0003);
    assert_eq!(
        (
            s.reported_tcb.bootloader,
            s.reported_tcb.tee,
            s.reported_tcb.snp,
            s.reported_tcb.microcode,
            s.reported_tcb.fmc
        ),
        (3, 0, 8, 115, None)
    );
    let m = s.measurement.to_hex();
    assert!(m.starts_with("7a1e5c26") && m.ends_with("cd81841f"), "{m}");
    assert_eq!(c.launch_measurement.value().unwrap().to_hex(), m);
    assert_eq!(
        (s.current_version.as_str(), s.committed_version.as_str()),
        ("1.52.4", "1.52.4")
    );
    assert!(!c.debug);
}

#[test]
fn go_sev_guest_debug_policy() {
    need_vectors!();
    let v = &VECTORS[1];
    let c = verify(&evidence(v, true), v.at).unwrap();
    let s = snp(&c);
    assert_eq!(s.policy.raw, 0xb0000);
    assert!(s.policy.debug);
    assert!(c.debug);
    let mut rd = [0u8; 64];
    rd[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    assert_eq!(c.report_data, ReportData::new(rd));
    assert_eq!(
        (
            s.reported_tcb.bootloader,
            s.reported_tcb.snp,
            s.reported_tcb.microcode
        ),
        (2, 5, 68)
    );
    // Default appraisal rejects debug and the missing reference measurement;
    // with the report's own measurement listed, only debug fails. The vectors
    // carry no AMD CRL: unchecked revocation is allowed explicitly.
    let policy = Policy::default()
        .expect_report_data(ReportData::new(rd))
        .with_sev_snp(|s| s.allow_unchecked_revocation(true));
    let a = appraise(&c, &policy);
    let failed: Vec<_> = a.failed().map(|c| c.name.clone()).collect();
    assert_eq!(failed, ["debug", "measurement"]);
    let policy = policy.allow_measurement(s.measurement.clone());
    let a = appraise(&c, &policy);
    let failed: Vec<_> = a.failed().map(|c| c.name.clone()).collect();
    assert_eq!(failed, ["debug"]);
    assert!(matches!(a.into_result(), Err(Error::Policy(_))));
    let allow = policy.allow_debug(true);
    assert!(appraise(&c, &allow).passed());
}

#[test]
fn vlek_inside_and_outside_window() {
    need_vectors!();
    let v = &VECTORS[2];
    let ev = evidence(v, true);
    let c = verify(&ev, v.at).unwrap();
    let s = snp(&c);
    assert_eq!(s.version, 3);
    assert_eq!(s.signing_key, SnpSigningKey::Vlek);
    assert_eq!(s.vmpl, 1);
    assert!(s.chip_id.iter().all(|&b| b == 0));
    assert_eq!(
        (
            s.reported_tcb.bootloader,
            s.reported_tcb.snp,
            s.reported_tcb.microcode
        ),
        (4, 24, 217)
    );
    assert_eq!(s.cpuid, Some([0x19, 0x01, 0x01]));
    // Expired after 2025-12-10, not yet valid before 2024-12-10.
    match verify(&ev, "2026-01-01T00:00:00Z") {
        Err(Error::Authenticity(Authenticity::Expired { what, .. })) => assert_eq!(what, "VLEK"),
        other => panic!("{other:?}"),
    }
    match verify(&ev, "2024-12-01T00:00:00Z") {
        Err(Error::Authenticity(Authenticity::NotYetValid { what, .. })) => {
            assert_eq!(what, "VLEK")
        }
        other => panic!("{other:?}"),
    }
    // VMPL 1 fails the default VMPL-0 policy, passes when VMPL 1 is required.
    let mut p = Policy::new()
        .allow_any_report_data(true)
        .allow_any_measurement(true)
        .with_sev_snp(|s| s.allow_unchecked_revocation(true));
    let a = appraise(&c, &p);
    assert_eq!(
        a.failed().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["sev-snp.vmpl"]
    );
    p.sev_snp.vmpl = 1;
    assert!(appraise(&c, &p).passed());
}

#[test]
fn ms_milan_and_turin_fields() {
    need_vectors!();
    let c = verify(&evidence(&VECTORS[3], true), VECTORS[3].at).unwrap();
    let s = snp(&c);
    assert_eq!((s.version, s.product.as_str()), (3, "milan"));
    assert_eq!(
        (
            s.reported_tcb.bootloader,
            s.reported_tcb.snp,
            s.reported_tcb.microcode
        ),
        (4, 24, 219)
    );
    assert_eq!(c.report_data, ReportData::zero());
    let m = s.measurement.to_hex();
    assert!(m.starts_with("5feee30d") && m.ends_with("0c23fca1"), "{m}");

    let c = verify(&evidence(&VECTORS[4], true), VECTORS[4].at).unwrap();
    let s = snp(&c);
    assert_eq!((s.version, s.product.as_str()), (5, "turin"));
    assert_eq!(s.cpuid, Some([0x1A, 0x02, 0x01]));
    let tcb = s.reported_tcb;
    assert_eq!(tcb.raw, 0x5100_0000_0401_0101);
    assert_eq!(
        (tcb.fmc, tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode),
        (Some(1), 1, 1, 4, 81)
    );
    assert_eq!(
        (s.launch_mit_vector, s.current_mit_vector),
        (Some(63), Some(63))
    );
    assert_eq!(&s.chip_id.to_hex()[..16], "59790fb1c39f35c1");
    assert!(s.chip_id[8..].iter().all(|&b| b == 0));
    assert_eq!(c.tcb.value().unwrap().svns["fmc"], 1);
}

#[test]
fn turin_vcek_chain_and_extensions() {
    need_vectors!();
    let vcek = &decode_certs(&read("virtee-sev/vcek_turin.der")).unwrap()[0];
    let chain = decode_certs(&read("virtee-sev/cert_chain_turin.pem")).unwrap();
    assert_eq!(chain.len(), 2);
    let (ask, ark) = (&chain[0], &chain[1]);
    let pinned_ark = &decode_certs(PINNED[2].ark.as_bytes()).unwrap()[0];
    assert_eq!(ark.der(), pinned_ark.der());
    ask.verify_signed_by(ark, "ASK").unwrap();
    vcek.verify_signed_by(ask, "VCEK").unwrap();
    assert!(vcek.verify_signed_by(ark, "VCEK by ARK").is_err());
    let e = vcek.amd_extensions().unwrap();
    assert_eq!(e.struct_version, Some(1));
    assert_eq!(e.product_name.as_deref(), Some("Turin"));
    assert_eq!(
        (e.fmc_spl, e.bl_spl, e.tee_spl, e.snp_spl, e.ucode_spl),
        (Some(0), Some(0), Some(0), Some(0), Some(9))
    );
    assert_eq!(e.hw_id.as_deref().map(<[u8]>::len), Some(8));
    assert_eq!(vcek.product(), Some(Product::Turin));
    // VLEK: cspID instead of hwID.
    let vlek = &decode_certs(&read("trustee/snp/test-vlek.der")).unwrap()[0];
    let e = vlek.amd_extensions().unwrap();
    assert!(e.hw_id.is_none());
    assert_eq!(e.csp_id.as_deref(), Some("CN=cc-us-east-2.amazonaws.com"));
    assert_eq!(e.product_name.as_deref(), Some("Milan"));
}

fn expect_auth(r: tee_core::Result<Verified<Claims>>, ctx: &str) -> Authenticity {
    match r {
        Err(Error::Authenticity(a)) => a,
        other => panic!("{ctx}: expected an authenticity failure, got {other:?}"),
    }
}

#[test]
fn bit_flips_in_signed_bytes_fail() {
    need_vectors!();
    type Flip = (usize, &'static str, fn(&mut u8));
    let flips: &[Flip] = &[
        (0, "byte 21 ^ 0x80", |b| *b ^= 0x80),
        (0, "byte 42 + 1", |b| *b = b.wrapping_add(1)),
        (3, "byte 100 ^ 0xFF", |b| *b ^= 0xFF),
        (4, "byte 100 ^ 0xFF", |b| *b ^= 0xFF),
    ];
    for (i, (vi, what, f)) in flips.iter().enumerate() {
        let v = &VECTORS[*vi];
        let mut ev = evidence(v, true);
        let off: usize = what.split(' ').nth(1).unwrap().parse().unwrap();
        f(&mut ev.report[off]);
        let a = expect_auth(verify(&ev, v.at), &format!("{i}: {what}"));
        assert_eq!(
            a,
            Authenticity::BadSignature {
                what: "SNP report signature"
            },
            "{what}"
        );
    }
    // Every vector: a flip anywhere in the signed range that keeps the report parseable fails.
    for v in VECTORS {
        let ev = evidence(v, true);
        for off in (0..0x2A0).step_by(7) {
            let mut bad = ev.clone();
            bad.report[off] ^= 0x01;
            match verify(&bad, v.at) {
                Err(Error::Authenticity(_) | Error::Malformed(_) | Error::Unsupported(_)) => {}
                other => panic!("{} byte {off}: {other:?}", v.name),
            }
        }
        // R and S high bytes must be zero.
        for off in [0x2A0 + 48, 0x2A0 + 72 + 71] {
            let mut bad = ev.clone();
            bad.report[off] = 1;
            assert_eq!(
                expect_auth(verify(&bad, v.at), "high sig bytes"),
                Authenticity::BadSignature {
                    what: "SNP report signature"
                }
            );
        }
    }
}

#[test]
fn reported_tcb_flip_fails() {
    need_vectors!();
    let v = &VECTORS[0];
    let mut ev = evidence(v, true);
    ev.report[384] ^= 0x01;
    // The signature fails first (it covers reported_tcb).
    assert!(matches!(
        expect_auth(verify(&ev, v.at), "tcb"),
        Authenticity::BadSignature { .. }
    ));
    // The trustee/ms-tee-av Turin report: the same.
    let v = &VECTORS[4];
    let mut ev = evidence(v, true);
    ev.report[384] ^= 0x01;
    assert!(matches!(
        expect_auth(verify(&ev, v.at), "tcb"),
        Authenticity::BadSignature { .. }
    ));
}

#[test]
fn vcek_der_flip_fails() {
    need_vectors!();
    let v = &VECTORS[0];
    let mut cert = read(v.cert);
    cert[40] ^= 0xFF;
    let ev = Evidence::new(
        Platform::SevSnp,
        format::SEV_SNP_REPORT,
        tee_sev::verify::decode_report_file(&read(v.report)).unwrap(),
    )
    .with_endorsement(endorsement::SIGNING_CERT_DER, cert);
    match verify(&ev, v.at) {
        Err(Error::Authenticity(Authenticity::BadChain { .. })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_asks_and_roots() {
    need_vectors!();
    // Milan report with the Genoa ASK: chain error.
    let v = &VECTORS[3];
    let report = read(v.report);
    let cert = read(v.cert);
    let genoa_ask = read("amd-roots/genoa_ask.pem");
    let ev = evidence_from_parts(&report, Some(&cert), &[&genoa_ask]).unwrap();
    assert!(matches!(
        expect_auth(verify(&ev, v.at), "genoa ask"),
        Authenticity::BadChain { .. }
    ));
    // Milan report with a supplied Genoa ARK: untrusted root.
    let genoa_ark = read("amd-roots/genoa_ark.pem");
    let ev = evidence_from_parts(&report, Some(&cert), &[&genoa_ark]).unwrap();
    assert!(matches!(
        expect_auth(verify(&ev, v.at), "genoa ark"),
        Authenticity::UntrustedRoot { .. }
    ));
    // Milan ASK + Milan ARK supplied: fine.
    let ev = evidence_from_parts(
        &report,
        Some(&cert),
        &[&read("virtee-sev/cert_chain_milan.pem")],
    )
    .unwrap();
    verify(&ev, v.at).unwrap();

    // VLEK report with the VCEK ASK instead of the ASVK: chain error.
    let v = &VECTORS[2];
    let ev = evidence_from_parts(
        &read(v.report),
        Some(&read(v.cert)),
        &[&read("amd-roots/milan_ask.pem")],
    )
    .unwrap();
    assert!(matches!(
        expect_auth(verify(&ev, v.at), "vlek + ask"),
        Authenticity::BadChain { .. }
    ));
    // VLEK report with a VCEK: key mismatch.
    let ev = evidence_from_parts(
        &read(v.report),
        Some(&read("ms-tee-av/milan_vcek.pem")),
        &[],
    )
    .unwrap();
    assert!(matches!(
        expect_auth(verify(&ev, "2026-06-01T00:00:00Z"), "vlek + vcek"),
        Authenticity::Mismatch { .. }
    ));
    // A Turin report with a Milan VCEK: product mismatch.
    let v = &VECTORS[4];
    let ev = evidence_from_parts(
        &read(v.report),
        Some(&read("ms-tee-av/milan_vcek.pem")),
        &[],
    )
    .unwrap();
    assert!(matches!(
        expect_auth(verify(&ev, v.at), "turin + milan vcek"),
        Authenticity::Mismatch {
            what: "product",
            ..
        }
    ));
    // Another Milan VCEK for the virtee report: hwID / TCB mismatch or bad signature.
    let v = &VECTORS[0];
    let ev =
        evidence_from_parts(&read(v.report), Some(&read("go-sev-guest/vcek.der")), &[]).unwrap();
    expect_auth(verify(&ev, v.at), "other vcek");
}

#[test]
fn missing_endorsement_and_misuse() {
    need_vectors!();
    let v = &VECTORS[0];
    let ev = evidence_from_parts(&read(v.report), None, &[]).unwrap();
    assert_eq!(
        expect_auth(verify(&ev, v.at), "no vcek"),
        Authenticity::MissingEndorsement {
            what: "VCEK".into()
        }
    );
    let mut other = evidence(v, true);
    other.platform = Platform::Tdx;
    assert!(matches!(verify(&other, v.at), Err(Error::Misuse(_))));
}

#[test]
fn ghcb_cert_table_endorsement() {
    need_vectors!();
    use tee_sev::cert_table::{CertKind, build};
    let v = &VECTORS[3];
    let vcek = decode_certs(&read(v.cert)).unwrap().remove(0);
    let ask = decode_certs(&read("amd-roots/milan_ask.pem"))
        .unwrap()
        .remove(0);
    let ark = decode_certs(&read("amd-roots/milan_ark.pem"))
        .unwrap()
        .remove(0);
    let table = build(&[
        (CertKind::Vcek, vcek.der()),
        (CertKind::Ask, ask.der()),
        (CertKind::Ark, ark.der()),
    ]);
    let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, read(v.report))
        .with_endorsement(endorsement::GHCB_CERT_TABLE, table.clone());
    verify(&ev, v.at).unwrap();
    // A hostile table is malformed, not a panic.
    let mut bad = table;
    bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, read(v.report))
        .with_endorsement(endorsement::GHCB_CERT_TABLE, bad);
    assert!(matches!(verify(&ev, v.at), Err(Error::Malformed(_))));
}

#[test]
fn unknown_versions_and_truncation() {
    need_vectors!();
    let mut raw = read(VECTORS[3].report);
    for v in [0u32, 1, 6, 7] {
        raw[..4].copy_from_slice(&v.to_le_bytes());
        assert!(matches!(
            SnpReport::parse(&raw),
            Err(Error::Malformed(tee_core::Malformed { kind: MalformedKind::UnsupportedVersion(x), .. })) if x == v
        ));
    }
    let raw = read(VECTORS[3].report);
    for n in [0, 1, 0x2A0, raw.len() - 1] {
        assert!(matches!(
            SnpReport::parse(&raw[..n]),
            Err(Error::Malformed(_))
        ));
    }
}

/// Our parser agrees with the `sev` 8.0.0 crate on every vector it parses.
#[cfg(target_os = "linux")]
#[test]
fn differential_against_sev_crate() {
    need_vectors!();
    use sev::firmware::guest::AttestationReport;
    use sev::parser::ByteParser;
    let mut parsed_by_sev = 0;
    for v in VECTORS {
        let raw = tee_sev::verify::decode_report_file(&read(v.report)).unwrap();
        let ours = SnpReport::parse(&raw).unwrap();
        let theirs = match AttestationReport::from_bytes(&raw) {
            Ok(r) => r,
            Err(e) => {
                // sev cannot parse v2 reports with a masked chip id.
                assert!(ours.chip_id_masked(), "{}: sev failed: {e}", v.name);
                continue;
            }
        };
        parsed_by_sev += 1;
        assert_eq!(ours.version, theirs.version);
        assert_eq!(ours.guest_svn, theirs.guest_svn);
        assert_eq!(ours.policy, u64::from(theirs.policy));
        assert_eq!(ours.family_id, &theirs.family_id);
        assert_eq!(ours.image_id, &theirs.image_id);
        assert_eq!(ours.vmpl, theirs.vmpl);
        assert_eq!(ours.sig_algo, theirs.sig_algo);
        assert_eq!(ours.platform_info, u64::from(theirs.plat_info));
        assert_eq!(ours.key_info, u32::from(theirs.key_info));
        assert_eq!(ours.report_data, &theirs.report_data);
        assert_eq!(ours.measurement, &theirs.measurement);
        assert_eq!(ours.host_data, &theirs.host_data);
        assert_eq!(ours.id_key_digest, &theirs.id_key_digest);
        assert_eq!(ours.author_key_digest, &theirs.author_key_digest);
        assert_eq!(ours.report_id, &theirs.report_id);
        assert_eq!(ours.report_id_ma, &theirs.report_id_ma);
        assert_eq!(ours.chip_id, &theirs.chip_id);
        assert_eq!(ours.cpuid.map(|c| c[0]), theirs.cpuid_fam_id);
        assert_eq!(ours.cpuid.map(|c| c[1]), theirs.cpuid_mod_id);
        assert_eq!(ours.cpuid.map(|c| c[2]), theirs.cpuid_step);
        assert_eq!(ours.launch_mit_vector, theirs.launch_mit_vector);
        assert_eq!(ours.current_mit_vector, theirs.current_mit_vector);
        assert_eq!(
            (
                ours.current_version.major,
                ours.current_version.minor,
                ours.current_version.build
            ),
            (
                theirs.current.major,
                theirs.current.minor,
                theirs.current.build
            )
        );
        assert_eq!(
            (
                ours.committed_version.major,
                ours.committed_version.minor,
                ours.committed_version.build
            ),
            (
                theirs.committed.major,
                theirs.committed.minor,
                theirs.committed.build
            )
        );
        assert_eq!(ours.sig_r, theirs.signature.r());
        assert_eq!(ours.sig_s, theirs.signature.s());
        // TCB decoding per generation (the product: CPUID, else the cert).
        let product = ours
            .product()
            .or_else(|| decode_certs(&read(v.cert)).unwrap()[0].product())
            .unwrap();
        for (o, s) in [
            (ours.current_tcb, theirs.current_tcb),
            (ours.reported_tcb, theirs.reported_tcb),
            (ours.committed_tcb, theirs.committed_tcb),
            (ours.launch_tcb, theirs.launch_tcb),
        ] {
            let d = o.decode(product);
            assert_eq!(
                (d.fmc, d.bootloader, d.tee, d.snp, d.microcode),
                (s.fmc, s.bootloader, s.tee, s.snp, s.microcode),
                "{}",
                v.name
            );
        }
    }
    assert!(
        parsed_by_sev >= 4,
        "sev parsed only {parsed_by_sev} vectors"
    );
}

/// ID_KEY_DIGEST of `ms-tee-av/milan_attestation_report.bin`.
const MS_MILAN_ID_KEY: &str = "0ad79ceb0b648b0e6a90d8aa9f6ea24c33a968b6632085353145e8b19a4741a2dab9ba342e13be4fc0d225e889cc1a58";
/// ID_KEY_DIGEST of `ms-tee-av/turin_attestation_report.bin`.
const MS_TURIN_ID_KEY: &str = "4068e9ae4b315aa4b33938ce0ed01a3d5d8e80eb98eab479a0558cd7de9d4d40d6d80d328d90732688a42b13a0cd6405";

#[test]
fn finding2_id_key_pin_admits_exactly_one_vector() {
    need_vectors!();
    let milan = &VECTORS[3];
    let turin = &VECTORS[4];
    let cm = verify(&evidence(milan, true), milan.at).unwrap();
    let ct = verify(&evidence(turin, true), turin.at).unwrap();
    // Same family and image ids, different ID keys, no author key.
    for c in [&cm, &ct] {
        let s = snp(c);
        assert_eq!(s.family_id.to_hex(), "01000000000000000000000000000000");
        assert_eq!(s.image_id.to_hex(), "02000000000000000000000000000000");
        assert!(!s.author_key_en);
        assert!(s.author_key_digest.iter().all(|&b| b == 0));
        assert!(!s.revocation_checked, "the vectors carry no AMD CRL");
    }
    assert_eq!(snp(&cm).id_key_digest.to_hex(), MS_MILAN_ID_KEY);
    assert_eq!(snp(&ct).id_key_digest.to_hex(), MS_TURIN_ID_KEY);

    let base = |key: &str| {
        Policy::new()
            .expect_report_data(ReportData::zero())
            .allow_any_measurement(true)
            .with_sev_snp(|s| {
                s.allow_unchecked_revocation(true)
                    .allow_family_id(hex::decode("01000000000000000000000000000000").unwrap())
                    .allow_image_id(hex::decode("02000000000000000000000000000000").unwrap())
                    .allow_id_key_digest(hex::decode(key).unwrap())
            })
    };
    for (key, admitted, rejected) in [(MS_MILAN_ID_KEY, &cm, &ct), (MS_TURIN_ID_KEY, &ct, &cm)] {
        let p = base(key);
        let ok = appraise(admitted, &p);
        assert!(ok.passed(), "{ok:?}");
        let bad = appraise(rejected, &p);
        assert_eq!(
            bad.failed().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec!["sev-snp.id_key_digest"],
            "{bad:?}"
        );
    }
    // The family/image ids alone admit both; without a pinned key the
    // policy fails both (the ids are not worth anything unpinned).
    let ids_only = Policy::new()
        .expect_report_data(ReportData::zero())
        .allow_any_measurement(true)
        .with_sev_snp(|s| {
            s.allow_unchecked_revocation(true)
                .allow_family_id(hex::decode("01000000000000000000000000000000").unwrap())
        });
    for c in [&cm, &ct] {
        let a = appraise(c, &ids_only);
        assert_eq!(
            a.failed().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec!["sev-snp.family_id"]
        );
    }
    // An author-key pin fails both: AUTHOR_KEY_EN is 0 in each report.
    let author = Policy::new()
        .expect_report_data(ReportData::zero())
        .allow_any_measurement(true)
        .with_sev_snp(|s| {
            s.allow_unchecked_revocation(true)
                .allow_author_key_digest(hex::decode(MS_MILAN_ID_KEY).unwrap())
        });
    for c in [&cm, &ct] {
        assert!(!appraise(c, &author).passed());
    }
}

#[test]
fn finding8_vlek_csp_id_in_claims() {
    need_vectors!();
    let v = &VECTORS[2];
    let c = verify(&evidence(v, true), v.at).unwrap();
    assert_eq!(
        snp(&c).csp_id.as_deref(),
        Some("CN=cc-us-east-2.amazonaws.com")
    );
    let m = &VECTORS[3];
    let cm = verify(&evidence(m, true), m.at).unwrap();
    assert_eq!(snp(&cm).csp_id, None);
    let p = Policy::new()
        .allow_any_report_data(true)
        .allow_any_measurement(true)
        .with_sev_snp(|s| {
            s.vmpl(1)
                .allow_unchecked_revocation(true)
                .allow_csp_id("CN=cc-us-east-2.amazonaws.com")
        });
    assert!(appraise(&c, &p).passed(), "{:?}", appraise(&c, &p));
    let other = p.clone().with_sev_snp(|s| {
        let mut s = s;
        s.allowed_csp_ids = vec!["CN=other.example".into()];
        s
    });
    assert!(!appraise(&c, &other).passed());
}
