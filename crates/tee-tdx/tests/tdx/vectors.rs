//! Every TDX vector of `../shared/vectors/INDEX.md` with its expected
//! outcome, including the derived negatives (INDEX.md §3–§6).

use std::path::{Path, PathBuf};

use tee_core::evidence::{endorsement, format};
use tee_core::{
    Authenticity, Error, Evidence, MalformedKind, Platform, PlatformClaims, TcbStatus, UnixTime,
    Verifier,
};
use tee_tdx::ccel::{CcelTable, EventLog};
use tee_tdx::quote::{BodyType, Quote};
use tee_tdx::tdreport::TdReport;
use tee_tdx::{Collateral, OfflineDir, TdxVerifier};

fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn read(rel: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(vectors()?.join(rel)).unwrap())
}

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

fn tdx(c: &tee_core::Claims) -> &tee_core::platforms::TdxClaims {
    match &c.platform_claims {
        PlatformClaims::Tdx(t) => t,
        other => panic!("not TDX claims: {other:?}"),
    }
}

fn evidence(quote: Vec<u8>, collateral: Option<Vec<u8>>) -> Evidence {
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote);
    match collateral {
        Some(c) => ev.with_endorsement(endorsement::TDX_COLLATERAL_JSON, c),
        None => ev,
    }
}

const DCAP_END: &str = "2025-07-19T10:00:34Z";

#[test]
fn dcap_v4_quote_up_to_date_in_window() {
    let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_collateral.json"),
    ) else {
        return;
    };
    for at in [DCAP_END, "2025-07-01T00:00:00Z", "2025-06-19T10:32:27Z"] {
        let claims = TdxVerifier::new()
            .verify(&evidence(q.clone(), Some(c.clone())), t(at))
            .unwrap();
        let x = tdx(&claims);
        assert_eq!(x.version, 4);
        assert_eq!(x.tcb_status, TcbStatus::UpToDate, "at {at}");
        assert!(x.advisory_ids.is_empty());
        assert!(x.tcb_evaluated && x.revocation_checked);
        assert_eq!(x.fmspc.to_string(), "b0c06f000000");
        assert_eq!(&x.tee_tcb_svn.0[..3], &[6, 1, 3]);
        let w = x.collateral_window.unwrap();
        assert_eq!(w.not_before, t("2025-06-19T10:32:27Z"));
        assert_eq!(w.not_after, t("2025-07-19T10:00:35Z"));
        assert_eq!(claims.platform, Platform::Tdx);
        assert_eq!(claims.launch_measurement.value().unwrap(), &x.mr_td);
        assert_eq!(claims.host_data.value().unwrap(), &x.mr_config_id);
        assert_eq!(claims.runtime_registers.value().unwrap().len(), 4);
        assert_eq!(claims.tcb.value().unwrap().status, TcbStatus::UpToDate);
    }
}

#[test]
fn dcap_v4_quote_collateral_outside_window() {
    let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let v = TdxVerifier::new();
    match v.verify(
        &evidence(q.clone(), Some(c.clone())),
        t("2025-06-19T10:00:00Z"),
    ) {
        Err(Error::Authenticity(Authenticity::NotYetValid {
            what, not_before, ..
        })) => {
            assert_eq!(what, "TCB info");
            assert_eq!(not_before, t("2025-06-19T10:16:03Z").as_secs());
        }
        other => panic!("{other:?}"),
    }
    match v.verify(
        &evidence(q.clone(), Some(c.clone())),
        t("2025-07-19T10:00:36Z"),
    ) {
        Err(Error::Authenticity(Authenticity::Expired { not_after, .. })) => {
            assert_eq!(not_after, t("2025-07-19T10:00:35Z").as_secs());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        v.verify(&evidence(q, Some(c)), t("2030-01-01T00:00:00Z")),
        Err(Error::Authenticity(Authenticity::Expired { .. }))
    ));
}

#[test]
fn dcap_v5_quote_no_matching_tcb_level() {
    let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote_outdated"),
        read("dcap-qvl/tdx_quote_outdated_collateral.json"),
    ) else {
        return;
    };
    let parsed = Quote::parse(&q).unwrap();
    assert_eq!(parsed.header.version, 5);
    assert_eq!(parsed.body_type, BodyType::Td15);
    assert_eq!(&parsed.body.tee_tcb_svn2.unwrap()[..3], &[0x0d, 1, 3]);
    let claims = TdxVerifier::new()
        .verify(
            &evidence(q.clone(), Some(c.clone())),
            t("2026-03-01T00:00:00Z"),
        )
        .unwrap();
    let x = tdx(&claims);
    assert_eq!(x.version, 5);
    assert_eq!(x.tcb_status, TcbStatus::NoMatchingTcbLevel);
    assert_eq!(x.fmspc.to_string(), "90c06f000000");
    assert_eq!(x.tee_tcb_svn2.as_ref().unwrap().0[..3], [0x0d, 1, 3]);
    assert!(x.mr_servicetd.is_some());
    // Default policy rejects it as a TCB status (exit 4), not as inauthentic.
    let pol = tee_core::Policy::new()
        .allow_any_report_data(true)
        .allow_measurement(x.mr_td.clone());
    let app = tee_core::appraise(&claims, &pol);
    let failed: Vec<_> = app.failed().map(|c| c.name.clone()).collect();
    assert_eq!(failed, vec!["tdx.tcb_status".to_string()]);
    assert!(matches!(app.into_result().unwrap_err(), Error::Policy(_)));
    // Outside its window: expired.
    assert!(matches!(
        TdxVerifier::new().verify(&evidence(q, Some(c)), t("2026-03-20T10:41:16Z")),
        Err(Error::Authenticity(Authenticity::Expired { .. }))
    ));
}

#[test]
fn spr_e4_quote_with_trailing_bytes_without_collateral() {
    let Some(q) = read("go-tdx-guest/tdx_prod_quote_SPR_E4.dat") else {
        return;
    };
    let parsed = Quote::parse(&q).unwrap();
    assert_eq!(parsed.trailing_len, 39);
    assert_eq!(
        &q[q.len() - 39..],
        b"\nextra bytes(only for testing purpose)\n"
    );
    let v = TdxVerifier::new().without_collateral();
    let claims = v
        .verify(&evidence(q.clone(), None), t("2023-07-01T01:00:00Z"))
        .unwrap();
    let x = tdx(&claims);
    assert_eq!(x.tcb_status, TcbStatus::NotEvaluated);
    assert!(!x.tcb_evaluated && !x.revocation_checked);
    assert_eq!(x.collateral_window, None);
    assert_eq!(x.fmspc.to_string(), "50806f000000");
    assert_eq!(&x.tee_tcb_svn.0[..3], &[3, 0, 4]);
    // Without the explicit mode, missing collateral is an error, not a silent downgrade.
    assert!(matches!(
        TdxVerifier::new().verify(&evidence(q.clone(), None), t("2023-07-01T01:00:00Z")),
        Err(Error::Authenticity(Authenticity::MissingEndorsement { .. }))
    ));
    // PCK validity: 2022-09-20..2029-09-20.
    assert!(matches!(
        v.verify(&evidence(q.clone(), None), t("2022-01-01T00:00:00Z")),
        Err(Error::Authenticity(Authenticity::NotYetValid { .. }))
    ));
    assert!(matches!(
        v.verify(&evidence(q, None), t("2030-01-01T00:00:00Z")),
        Err(Error::Authenticity(Authenticity::Expired { .. }))
    ));
}

#[test]
fn spr_e4_with_pcs_file_set_no_matching_level() {
    let (Some(dir), Some(q)) = (vectors(), read("go-tdx-guest/tdx_prod_quote_SPR_E4.dat")) else {
        return;
    };
    // Fetch first (the provider reads the PCS file set), then verify.
    let provider = OfflineDir::new(dir.join("go-tdx-guest"));
    let coll = tee_tdx::fetch_collateral(&provider, &q).unwrap();
    let ev = tee_tdx::attach_collateral(evidence(q.clone(), None), &coll).unwrap();
    let v = TdxVerifier::new();
    let claims = v.verify(&ev, t("2023-07-01T00:00:00Z")).unwrap();
    let x = tdx(&claims);
    assert_eq!(x.tcb_status, TcbStatus::NoMatchingTcbLevel);
    assert!(x.tcb_evaluated && x.revocation_checked);
    // At 2053 the collateral has expired.
    match v.verify(&ev, t("2053-01-01T00:00:00Z")) {
        Err(Error::Authenticity(Authenticity::Expired { .. })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn spr_e4_pcs_collateral_round_trips_through_json() {
    let Some(dir) = vectors() else { return };
    let d = dir.join("go-tdx-guest");
    let files = tee_tdx::PcsFiles {
        tcb_info_response: std::fs::read(d.join("sample_tcbInfo_response")).unwrap(),
        qe_identity_response: std::fs::read(d.join("sample_qeIdentity_response")).unwrap(),
        pck_crl: std::fs::read(d.join("pckcrl.der")).unwrap(),
        root_ca_crl: std::fs::read(d.join("rootcrl.der")).unwrap(),
        tcb_info_issuer_chain: std::fs::read(d.join("tcb_info_issuer_chain.pem")).unwrap(),
        pck_crl_issuer_chain: std::fs::read(d.join("pck_crl_issuer_chain.pem")).unwrap(),
        qe_identity_issuer_chain: None,
    };
    let c = Collateral::from_pcs(&files).unwrap();
    assert_eq!(c.fmspc().unwrap(), [0x50, 0x80, 0x6f, 0, 0, 0]);
    assert!(c.has_crls());
    let w = c.window().unwrap();
    assert_eq!(w.not_before, t("2023-06-18T08:42:58Z"));
    assert_eq!(w.not_after, t("2023-07-08T07:24:59Z").min(w.not_after));
    let again = Collateral::from_json(&c.to_json().unwrap()).unwrap();
    assert_eq!(again, c);
}

fn flip(q: &[u8], off: usize) -> Vec<u8> {
    let mut b = q.to_vec();
    b[off] ^= 0x01;
    b
}

#[test]
fn dcap_quote_bit_flips_are_rejected() {
    let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let p = Quote::parse(&q).unwrap();
    let sig_data = p.signed_len + 4;
    let qe_report = sig_data + 128 + 6;
    let auth = qe_report + 384 + 64 + 2;
    let with = TdxVerifier::new();
    let without = TdxVerifier::new().without_collateral();
    let at = t(DCAP_END);
    // Header (user data) and body bytes: quote signature.
    for off in [30, 48, 48 + 136, 48 + 520, 48 + 583] {
        for v in [&with, &without] {
            let r = v.verify(&evidence(flip(&q, off), Some(c.clone())), at);
            assert!(
                matches!(
                    r,
                    Err(Error::Authenticity(Authenticity::BadSignature {
                        what: "quote signature"
                    }))
                ),
                "byte {off}: {r:?}"
            );
        }
    }
    // Signature itself.
    assert!(matches!(
        without.verify(&evidence(flip(&q, sig_data + 3), None), at),
        Err(Error::Authenticity(Authenticity::BadSignature {
            what: "quote signature"
        }))
    ));
    // QE report: QE report signature.
    for off in [qe_report, qe_report + 100, qe_report + 383] {
        for v in [&with, &without] {
            let r = v.verify(&evidence(flip(&q, off), Some(c.clone())), at);
            assert!(
                matches!(
                    r,
                    Err(Error::Authenticity(Authenticity::BadSignature {
                        what: "QE report signature"
                    }))
                ),
                "byte {off}: {r:?}"
            );
        }
    }
    // QE auth data: binding.
    for v in [&with, &without] {
        let r = v.verify(&evidence(flip(&q, auth), Some(c.clone())), at);
        assert!(
            matches!(
                r,
                Err(Error::Authenticity(Authenticity::Mismatch {
                    what: "QE report binding",
                    ..
                }))
            ),
            "{r:?}"
        );
    }
    // Version: unsupported, before anything else.
    let mut v3 = q.clone();
    v3[0] = 3;
    assert!(matches!(
        with.verify(&evidence(v3, Some(c.clone())), at),
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::UnsupportedVersion(3),
            ..
        }))
    ));
    // Truncations never verify and never panic.
    for n in [0, 10, 47, 48, 631, 632, 700, 1000, q.len() - 80] {
        assert!(
            with.verify(&evidence(q[..n].to_vec(), Some(c.clone())), at)
                .is_err(),
            "len {n}"
        );
    }
}

#[test]
fn wrong_fmspc_collateral_is_a_mismatch() {
    let (Some(q), Some(c)) = (
        read("go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
        read("dcap-qvl/tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let r = TdxVerifier::new().verify(&evidence(q, Some(c)), t(DCAP_END));
    assert!(
        matches!(
            r,
            Err(Error::Authenticity(Authenticity::Mismatch {
                what: "FMSPC",
                ..
            }))
        ),
        "{r:?}"
    );
    // And the other way round: the dcap-qvl quote with the SPR PCS set.
    let (Some(dir), Some(q2)) = (vectors(), read("dcap-qvl/tdx_quote")) else {
        return;
    };
    // The fetch step finds no collateral for the quote's FMSPC.
    let r = tee_tdx::fetch_collateral(&OfflineDir::new(dir.join("go-tdx-guest")), &q2);
    assert!(
        matches!(
            r,
            Err(Error::Authenticity(Authenticity::MissingEndorsement { .. }))
        ),
        "{r:?}"
    );
}

#[test]
fn wrong_root_is_rejected() {
    let (Some(q), Some(c), Some(other_root)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_collateral.json"),
        read("amd-roots/milan_ark.pem"),
    ) else {
        return;
    };
    // A P-384/RSA AMD root is not Intel's: both modes refuse.
    let pem = String::from_utf8(other_root).unwrap();
    let der = base64_der(&pem);
    let v = tee_tdx::danger::verifier_with_test_root(der.clone());
    let r = v.verify(&evidence(q.clone(), Some(c)), t(DCAP_END));
    assert!(
        matches!(
            r,
            Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
        ),
        "{r:?}"
    );
    let v = tee_tdx::danger::verifier_with_test_root(der).without_collateral();
    assert!(matches!(
        v.verify(&evidence(q, None), t(DCAP_END)),
        Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
    ));
}

fn base64_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn collateral_without_crls_needs_the_dangerous_option() {
    let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let mut j: serde_json::Value = serde_json::from_slice(&c).unwrap();
    j["pck_crl"] = "".into();
    j["root_ca_crl"] = "".into();
    let c = Collateral::from_json(&serde_json::to_vec(&j).unwrap()).unwrap();
    assert!(!c.has_crls());
    let r = TdxVerifier::new()
        .with_collateral(c.clone())
        .verify(&evidence(q.clone(), None), t("2025-07-01T00:00:00Z"));
    assert!(
        matches!(
            r,
            Err(Error::Authenticity(Authenticity::MissingEndorsement { .. }))
        ),
        "{r:?}"
    );
    let claims = TdxVerifier::new()
        .with_collateral(c)
        .dangerous_allow_collateral_without_crls()
        .verify(&evidence(q, None), t("2025-07-01T00:00:00Z"))
        .unwrap();
    let x = tdx(&claims);
    assert_eq!(x.tcb_status, TcbStatus::UpToDate);
    assert!(x.tcb_evaluated);
    assert!(!x.revocation_checked);
}

#[test]
fn our_parse_agrees_with_dcap_qvl_on_every_quote() {
    for rel in [
        "dcap-qvl/tdx_quote",
        "dcap-qvl/tdx_quote_outdated",
        "go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
        "go-tdx-guest/ccel/cos-113-tdx-quote.dat",
    ] {
        let Some(raw) = read(rel) else { return };
        let ours = Quote::parse(&raw).unwrap();
        let theirs = dcap_qvl::quote::Quote::parse(&raw).unwrap();
        assert_eq!(ours.header.version, theirs.header.version, "{rel}");
        assert_eq!(ours.header.tee_type, theirs.header.tee_type);
        assert_eq!(ours.header.att_key_type, theirs.header.attestation_key_type);
        assert_eq!(ours.header.pce_svn, theirs.header.pce_svn);
        assert_eq!(ours.header.qe_vendor_id, theirs.header.qe_vendor_id);
        assert_eq!(ours.header.user_data, theirs.header.user_data);
        assert_eq!(ours.signed_len, theirs.signed_length(), "{rel}");
        let td = theirs.report.as_td10().unwrap();
        let b = &ours.body;
        assert_eq!(b.tee_tcb_svn, td.tee_tcb_svn);
        assert_eq!(b.mr_seam, td.mr_seam);
        assert_eq!(b.mr_signer_seam, td.mr_signer_seam);
        assert_eq!(b.seam_attributes.to_le_bytes(), td.seam_attributes);
        assert_eq!(b.td_attributes.to_le_bytes(), td.td_attributes);
        assert_eq!(b.xfam.to_le_bytes(), td.xfam);
        assert_eq!(b.mr_td, td.mr_td);
        assert_eq!(b.mr_config_id, td.mr_config_id);
        assert_eq!(b.mr_owner, td.mr_owner);
        assert_eq!(b.mr_owner_config, td.mr_owner_config);
        assert_eq!(b.rtmr, [td.rt_mr0, td.rt_mr1, td.rt_mr2, td.rt_mr3]);
        assert_eq!(b.report_data, td.report_data);
        if let Some(td15) = theirs.report.as_td15() {
            assert_eq!(b.tee_tcb_svn2, Some(td15.tee_tcb_svn2));
            assert_eq!(b.mr_servicetd, Some(td15.mr_service_td));
        } else {
            assert_eq!(b.tee_tcb_svn2, None);
        }
        let a = theirs.auth_data.clone().into_v3();
        assert_eq!(ours.signature[..], a.ecdsa_signature[..]);
        assert_eq!(ours.attestation_key[..], a.ecdsa_attestation_key[..]);
        assert_eq!(ours.qe.qe_report_raw[..], a.qe_report[..]);
        assert_eq!(ours.qe.qe_report_signature[..], a.qe_report_signature[..]);
        assert_eq!(ours.qe.qe_auth_data, a.qe_auth_data.data);
        assert_eq!(ours.qe.pck_cert_type, a.certification_data.cert_type);
        assert_eq!(ours.qe.pck_cert_data, a.certification_data.body.data);
        let attrs = tee_tdx::quote::decode_td_attributes(b.td_attributes);
        let theirs_attrs = dcap_qvl::quote::TDAttributes::parse(td.td_attributes).unwrap();
        assert_eq!(attrs.debug, theirs_attrs.tud & 1 != 0);
        assert_eq!(attrs.sept_ve_disable, theirs_attrs.sec.sept_ve_disable);
        assert_eq!(attrs.pks, theirs_attrs.sec.pks);
        assert_eq!(attrs.kl, theirs_attrs.sec.kl);
        assert_eq!(attrs.perfmon, theirs_attrs.other.perfmon);
    }
}

#[test]
fn tdreport_vector_fields_and_hashes() {
    let Some(b) = read("guest-components/tdx_report_1.bin") else {
        return;
    };
    let r = TdReport::parse(&b).unwrap();
    assert_eq!((r.tee_type, r.subtype, r.version), (0x81, 0, 1));
    assert_eq!(hex::encode(&r.cpu_svn[..8]), "0202181a03ff0006");
    assert_eq!(hex::encode(&r.mac[..4]), "4259f772");
    assert_eq!(hex::encode(r.tcb_info_valid), "ff01030000000000");
    assert_eq!(&r.tee_tcb_svn[..3], &[5, 1, 2]);
    assert!(r.tcb_info_hash_ok && r.tee_info_hash_ok);
    r.check_hashes().unwrap();
    assert_eq!(
        hex::encode(r.rtmr[0]),
        "f4ec1a04670fe7926cd5de4aef9aaa7689ab4ceaa132d7c5242b47f67dfaaea64c372a17ad68fef9a6ac99aabbddabdc"
    );
    assert_eq!(
        hex::encode(r.rtmr[1]),
        "4e5f8826653198ab4bc5156fbe4bc99db054c0b8239a16c4b59249fb427f4acc50eed1b46a85c7d526c4e1e47621b14c"
    );
    assert_eq!(r.rtmr[2], [0; 48]);
    assert_eq!(r.rtmr[3], [0; 48]);
    assert!(
        hex::encode(r.mr_td).starts_with("98bbc39e") && hex::encode(r.mr_td).ends_with("a37b8ab5")
    );
    assert_eq!(r.report_data, [0; 64]);
    // Tampering with TDINFO or TEE_TCB_INFO breaks the hashes.
    let mut bad = b.clone();
    bad[720] ^= 1;
    let e = TdReport::parse(&bad).unwrap().check_hashes().unwrap_err();
    assert!(matches!(
        e,
        Error::Authenticity(Authenticity::Mismatch {
            what: "TDREPORT tee_info_hash",
            ..
        })
    ));
    let mut bad = b.clone();
    bad[264] ^= 1;
    let e = TdReport::parse(&bad).unwrap().check_hashes().unwrap_err();
    assert!(matches!(
        e,
        Error::Authenticity(Authenticity::Mismatch {
            what: "TDREPORT tee_tcb_info_hash",
            ..
        })
    ));
    let mut bad = b.clone();
    bad[0] = 0;
    assert!(matches!(TdReport::parse(&bad), Err(Error::Malformed(_))));
    assert!(matches!(
        TdReport::parse(&b[..1023]),
        Err(Error::Malformed(_))
    ));
    for off in [3usize, 10, 200, 500, 1000] {
        let mut bad = b.clone();
        bad[off] = 1;
        assert!(
            matches!(
                TdReport::parse(&bad),
                Err(Error::Malformed(tee_core::Malformed { kind: MalformedKind::ReservedNonZero { offset }, .. })) if offset == off
            ),
            "{off}"
        );
    }
    let mut v2 = b.clone();
    v2[2] = 2;
    assert!(matches!(
        TdReport::parse(&v2),
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::UnsupportedVersion(2),
            ..
        }))
    ));
}

#[test]
fn ccel_table_and_replay_match_cos_quote() {
    let (Some(table), Some(data), Some(q)) = (
        read("go-tdx-guest/ccel/ccel_table.dat"),
        read("go-tdx-guest/ccel/ccel_data.dat"),
        read("go-tdx-guest/ccel/cos-113-tdx-quote.dat"),
    ) else {
        return;
    };
    let t_ = CcelTable::parse(&table).unwrap();
    assert_eq!((t_.revision, t_.cc_type, t_.cc_subtype), (1, 2, 0));
    assert_eq!(t_.laml, 0x40000);
    assert_eq!(t_.lasa, 0xbedbf000);
    let log = EventLog::parse(&data).unwrap();
    assert_eq!(log.len, 18101);
    assert_eq!(log.events.len(), 43);
    let regs = log.replay().unwrap();
    let quote = Quote::parse(&q).unwrap();
    assert_eq!(quote.trailing_len, 3065);
    assert_eq!(quote.header.version, 4);
    assert_eq!(regs, quote.body.rtmr);
    assert!(hex::encode(regs[0]).starts_with("3fa2f61f"));
    assert!(hex::encode(regs[1]).starts_with("f62dbc07"));
    assert!(hex::encode(regs[2]).starts_with("4969684d"));
    assert_eq!(regs[3], [0; 48]);
    let dump = log.to_string();
    for needle in [
        "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        "EV_EFI_HANDOFF_TABLES2",
        "EV_EFI_VARIABLE_DRIVER_CONFIG",
        "EV_EFI_VARIABLE_BOOT",
        "EV_EFI_GPT_EVENT",
        "EV_EFI_BOOT_SERVICES_APPLICATION",
        "EV_IPL",
        "EV_SEPARATOR",
        "variable SecureBoot",
    ] {
        assert!(dump.contains(needle), "dump lacks {needle}:\n{dump}");
    }
    // Through the verifier: quote + CCEL endorsement, no collateral.
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, q.clone())
        .with_endorsement(endorsement::TCG2_EVENT_LOG, data.clone());
    let claims = TdxVerifier::new()
        .without_collateral()
        .verify(&ev, t("2025-01-01T00:00:00Z"))
        .unwrap();
    let replay = claims.event_log.as_ref().unwrap();
    assert_eq!(replay.len(), 4);
    assert!(replay.iter().all(|r| r.matches), "{replay:?}");
    assert_eq!(
        replay[0].events + replay[1].events + replay[2].events,
        43 - log.events.iter().filter(|e| e.event_type == 3).count()
    );
    // A modified event digest breaks the replay (appraisal fails on event_log).
    let mut bad = data.clone();
    let first_rec = 32 + u32::from_le_bytes(bad[28..32].try_into().unwrap()) as usize;
    bad[first_rec + 14 + 5] ^= 1;
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, q)
        .with_endorsement(endorsement::TCG2_EVENT_LOG, bad);
    let claims = TdxVerifier::new()
        .without_collateral()
        .verify(&ev, t("2025-01-01T00:00:00Z"))
        .unwrap();
    assert!(
        claims
            .event_log
            .as_ref()
            .unwrap()
            .iter()
            .any(|r| !r.matches)
    );
    let pol = tee_core::Policy::new()
        .allow_any_report_data(true)
        .allow_any_measurement(true)
        .with_tdx(|t| t.accept_tcb_statuses([TcbStatus::NotEvaluated]));
    let failed: Vec<_> = tee_core::appraise(&claims, &pol)
        .failed()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(failed, vec!["event_log".to_string()]);
}

fn bad_field(r: tee_core::Result<Quote>) -> &'static str {
    match r {
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::BadField { field, .. },
            ..
        })) => field,
        other => panic!("expected BadField, got {other:?}"),
    }
}

#[test]
fn quote_header_variants_rejected_with_typed_errors() {
    let (Some(q4), Some(q5)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_outdated"),
    ) else {
        return;
    };
    for v in [0u16, 1, 2, 3, 6, 0xffff] {
        let mut b = q4.clone();
        b[..2].copy_from_slice(&v.to_le_bytes());
        assert!(matches!(
            Quote::parse(&b),
            Err(Error::Malformed(tee_core::Malformed { kind: MalformedKind::UnsupportedVersion(x), .. })) if x == u32::from(v)
        ));
    }
    let mut b = q4.clone();
    b[2] = 3;
    assert_eq!(bad_field(Quote::parse(&b)), "att_key_type");
    let mut b = q4.clone();
    b[4] = 0; // SGX
    assert_eq!(bad_field(Quote::parse(&b)), "tee_type");
    for bt in [0u16, 1, 4, 9] {
        let mut b = q5.clone();
        b[48..50].copy_from_slice(&bt.to_le_bytes());
        assert_eq!(bad_field(Quote::parse(&b)), "body_type", "{bt}");
    }
    // v5 body size must match the body type.
    let mut b = q5.clone();
    b[50..54].copy_from_slice(&584u32.to_le_bytes());
    assert!(matches!(
        Quote::parse(&b),
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::BadLength {
                expected: 648,
                actual: 584
            },
            ..
        }))
    ));
    // Outer certification data type must be 6 (QE report).
    let p = Quote::parse(&q4).unwrap();
    let cert_type_off = p.signed_len + 4 + 128;
    let mut b = q4.clone();
    b[cert_type_off] = 5;
    assert_eq!(bad_field(Quote::parse(&b)), "certification_data_type");
    // Signature data length larger than the quote: truncated.
    let mut b = q4.clone();
    b[p.signed_len..p.signed_len + 4].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(
        Quote::parse(&b),
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::Truncated { .. },
            ..
        }))
    ));
    // Trailing bytes after the signature data are tolerated and counted.
    let mut b = q4.clone();
    b.extend_from_slice(&[0xAB; 10]);
    assert_eq!(Quote::parse(&b).unwrap().trailing_len, p.trailing_len + 10);
    assert_eq!(p.trailing_len, 70);
    // TD attributes and XFAM decoding.
    let a = tee_tdx::quote::decode_td_attributes((1 << 63) | (1 << 31) | (1 << 30) | (1 << 28) | 1);
    assert!(a.debug && a.sept_ve_disable && a.pks && a.kl && a.perfmon);
    assert_eq!(
        tee_tdx::quote::td_attribute_names(1 << 28),
        vec!["SEPT_VE_DISABLE"]
    );
    assert_eq!(
        tee_tdx::quote::xfam_names(0x618e7),
        vec![
            "FP",
            "SSE",
            "AVX",
            "AVX512_OPMASK",
            "AVX512_ZMM_HI256",
            "AVX512_HI16_ZMM",
            "CET_U",
            "CET_S",
            "AMX"
        ]
    );
}

#[test]
fn evidence_of_another_platform_is_misuse() {
    let Some(q) = read("dcap-qvl/tdx_quote") else {
        return;
    };
    let ev = Evidence::new(Platform::SevSnp, format::TDX_QUOTE, q.clone());
    assert!(matches!(
        TdxVerifier::new()
            .without_collateral()
            .verify(&ev, t(DCAP_END)),
        Err(Error::Misuse(_))
    ));
    let ev = Evidence::new(Platform::Tdx, format::SEV_SNP_REPORT, q);
    assert!(matches!(
        TdxVerifier::new()
            .without_collateral()
            .verify(&ev, t(DCAP_END)),
        Err(Error::Misuse(_))
    ));
}
