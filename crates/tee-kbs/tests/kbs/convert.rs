//! Contract tests of the Trustee evidence converters (KBS protocol 0.4.0):
//! every shared SNP report and TDX quote round-trips SDK envelope → Trustee
//! JSON → SDK envelope byte for byte, the JSON has the documented members
//! and types, the attestation-rs capture is read and verifies, and converted
//! evidence verifies to the same claims as the original.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use tee::{Evidence, Platform, UnixTime, Verifier, evidence::endorsement, evidence::format};
use tee_kbs::Tee;
use tee_kbs::evidence::{evidence_from_any_json, from_trustee, to_trustee};

use crate::common::{through_json, vectors};

const SNP_REPORTS: [&str; 5] = [
    "trustee/snp/test-vlek-report.bin",
    "ms-tee-av/milan_attestation_report.bin",
    "ms-tee-av/turin_attestation_report.bin",
    "attestation-rs/snp/live-report-v5-genoa.bin",
    "go-sev-guest/attestation.bin",
];

const TDX_QUOTES: [&str; 4] = [
    "dcap-qvl/tdx_quote",
    "dcap-qvl/tdx_quote_outdated",
    "go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
    "attestation-rs/tdx_quote_live.dat",
];

#[test]
fn every_shared_snp_report_round_trips() {
    let Some(v) = vectors() else { return };
    for rel in SNP_REPORTS {
        let raw = std::fs::read(v.join(rel)).unwrap();
        let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, raw.clone());
        let (tee, j) = to_trustee(&ev).unwrap();
        assert_eq!(tee, Tee::Snp);
        let r = &j["attestation_report"];
        // The documented shape: byte arrays as number arrays, TCBs as objects.
        assert_eq!(r["measurement"].as_array().unwrap().len(), 48, "{rel}");
        assert_eq!(r["report_data"].as_array().unwrap().len(), 64);
        assert_eq!(r["signature"]["r"].as_array().unwrap().len(), 72);
        assert!(r["reported_tcb"]["microcode"].is_u64());
        assert!(r["policy"].is_u64() && r["plat_info"].is_u64() && r["key_info"].is_u64());
        assert_eq!(
            r["version"].as_u64().unwrap(),
            u64::from(u32::from_le_bytes(raw[..4].try_into().unwrap()))
        );
        assert!(j["cert_chain"].is_null());
        let back = through_json(Tee::Snp, &j);
        assert_eq!(
            back.report, raw,
            "{rel}: the report re-encodes byte for byte"
        );
        assert_eq!(to_trustee(&back).unwrap().1, j);
    }
    // Turin: the FMC SPL is a number; Milan: null.
    let turin = std::fs::read(v.join("ms-tee-av/turin_attestation_report.bin")).unwrap();
    let (_, j) = to_trustee(&Evidence::new(
        Platform::SevSnp,
        format::SEV_SNP_REPORT,
        turin,
    ))
    .unwrap();
    assert_eq!(j["attestation_report"]["reported_tcb"]["fmc"], 1);
    assert_eq!(j["attestation_report"]["launch_mit_vector"], 63);
    let milan = std::fs::read(v.join("ms-tee-av/milan_attestation_report.bin")).unwrap();
    let (_, j) = to_trustee(&Evidence::new(
        Platform::SevSnp,
        format::SEV_SNP_REPORT,
        milan,
    ))
    .unwrap();
    assert!(j["attestation_report"]["reported_tcb"]["fmc"].is_null());
    assert_eq!(j["attestation_report"]["cpuid_fam_id"], 0x19);
}

#[test]
fn converted_snp_evidence_verifies_to_the_same_claims() {
    let Some(v) = vectors() else { return };
    let f = |rel: &str| std::fs::read(v.join(rel)).unwrap();
    let at = UnixTime::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
    let ev = tee_sev::evidence_from_parts(
        &f("ms-tee-av/milan_attestation_report.bin"),
        Some(&f("ms-tee-av/milan_vcek.pem")),
        &[],
    )
    .unwrap();
    let direct = tee_sev::SnpVerifier::new().verify(&ev, at).unwrap();
    let (_, j) = to_trustee(&ev).unwrap();
    let chain = j["cert_chain"].as_array().unwrap();
    assert_eq!(chain[0]["cert_type"], "VCEK");
    let back = through_json(Tee::Snp, &j);
    assert!(back.endorsement(endorsement::GHCB_CERT_TABLE).is_some());
    let converted = tee_sev::SnpVerifier::new().verify(&back, at).unwrap();
    assert_eq!(*direct, *converted);
    // A changed report field breaks the signature.
    let mut t = j.clone();
    t["attestation_report"]["guest_svn"] = Value::from(7);
    let tampered = through_json(Tee::Snp, &t);
    assert!(tee_sev::SnpVerifier::new().verify(&tampered, at).is_err());
    // A changed cert byte breaks the chain.
    let mut t = j;
    t["cert_chain"][0]["data"][300] = Value::from(0);
    let tampered = from_trustee(Tee::Snp, &t).unwrap();
    assert!(tee_sev::SnpVerifier::new().verify(&tampered, at).is_err());
}

#[test]
fn the_attestation_rs_capture_is_read_and_verifies() {
    let Some(v) = vectors() else { return };
    let bytes = std::fs::read(v.join("attestation-rs/snp/live-evidence-genoa.json")).unwrap();
    let ev = evidence_from_any_json(&bytes).unwrap();
    assert_eq!(ev.platform, Platform::SevSnp);
    let at = UnixTime::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
    let claims = tee_sev::SnpVerifier::new().verify(&ev, at).unwrap();
    assert!(
        claims
            .report_data
            .as_bytes()
            .starts_with(b"genoa-test-fixture\0")
    );
    // And it round-trips through the Trustee (guest-components) shape.
    let (_, j) = to_trustee(&ev).unwrap();
    let back = through_json(Tee::Snp, &j);
    assert_eq!(back.report, ev.report);
    assert_eq!(
        *tee_sev::SnpVerifier::new().verify(&back, at).unwrap(),
        *claims
    );
}

#[test]
fn every_shared_tdx_quote_round_trips() {
    let Some(v) = vectors() else { return };
    let ccel = std::fs::read(v.join("attestation-rs/tdx_ccel_live.bin")).unwrap();
    for rel in TDX_QUOTES {
        let q = std::fs::read(v.join(rel)).unwrap();
        for log in [None, Some(ccel.clone())] {
            let mut ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, q.clone());
            if let Some(l) = &log {
                ev = ev.with_endorsement(endorsement::TCG2_EVENT_LOG, l.clone());
            }
            let (tee, j) = to_trustee(&ev).unwrap();
            assert_eq!(tee, Tee::Tdx);
            assert_eq!(
                B64.decode(j["quote"].as_str().unwrap()).unwrap(),
                q,
                "{rel}"
            );
            assert_eq!(j["cc_eventlog"].is_null(), log.is_none());
            let back = through_json(Tee::Tdx, &j);
            assert_eq!(back, ev, "{rel}");
        }
    }
}

#[test]
fn converted_tdx_evidence_verifies_to_the_same_claims() {
    let Some(v) = vectors() else { return };
    let q = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let c = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let at = UnixTime::parse_rfc3339("2025-07-01T00:00:00Z").unwrap();
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, q)
        .with_endorsement(endorsement::TDX_COLLATERAL_JSON, c.clone());
    let direct = tee_tdx::TdxVerifier::new().verify(&ev, at).unwrap();
    let (_, j) = to_trustee(&ev).unwrap();
    // Trustee's shape has no collateral; the relying party attaches its own.
    assert_eq!(j.as_object().unwrap().len(), 2);
    let back = through_json(Tee::Tdx, &j).with_endorsement(endorsement::TDX_COLLATERAL_JSON, c);
    assert_eq!(
        *tee_tdx::TdxVerifier::new().verify(&back, at).unwrap(),
        *direct
    );
}

#[test]
fn mock_evidence_round_trips_as_sample() {
    use tee::Backend;
    let b = tee_mock::MockBackend::new();
    let ev = b
        .attester()
        .unwrap()
        .attest(&tee::ReportData::bind(b"n", b"u"))
        .unwrap();
    let (tee, j) = to_trustee(&ev).unwrap();
    assert_eq!(tee, Tee::Sample);
    assert_eq!(j["svn"], "1");
    assert_eq!(
        B64.decode(j["report_data"].as_str().unwrap()).unwrap(),
        tee::ReportData::bind(b"n", b"u").as_bytes()
    );
    assert_eq!(through_json(Tee::Sample, &j), ev);
    // The outer report data must match the signed one.
    let mut t = j.clone();
    t["report_data"] = Value::from(B64.encode([0u8; 64]));
    assert!(from_trustee(Tee::Sample, &t).is_err());
    // Real Trustee sample evidence signs nothing: unsupported, never accepted.
    let plain = serde_json::json!({"svn": "1", "report_data": B64.encode([0u8; 64])});
    assert!(matches!(
        from_trustee(Tee::Sample, &plain),
        Err(tee::Error::Unsupported(_))
    ));
}

#[test]
fn every_accepted_wrapping_and_the_refusals() {
    let Some(v) = vectors() else { return };
    let raw = std::fs::read(v.join("ms-tee-av/milan_attestation_report.bin")).unwrap();
    let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, raw);
    let (_, pe) = to_trustee(&ev).unwrap();
    let wrappings = [
        pe.clone(),
        serde_json::json!({"tee": "snp", "evidence": pe}),
        serde_json::json!({"tee-evidence": {"primary_evidence": pe, "additional_evidence": ""}, "runtime-data": {}}),
        serde_json::json!({"tee-evidence": {"primary_evidence": serde_json::to_string(&pe).unwrap()}}),
    ];
    for w in wrappings {
        let got = evidence_from_any_json(&serde_json::to_vec(&w).unwrap()).unwrap();
        assert_eq!(got.report, ev.report);
    }
    assert_eq!(
        evidence_from_any_json(ev.to_json().unwrap().as_bytes()).unwrap(),
        ev
    );
    for bad in [
        serde_json::json!({"tee": "az-snp-vtpm", "evidence": {}}),
        serde_json::json!({"something": 1}),
        serde_json::json!({"quote": 5}),
        serde_json::json!({"quote": "!!"}),
        serde_json::json!({"attestation_report": "AAAA"}),
        serde_json::json!({"attestation_report": {"version": 9}}),
        serde_json::json!({"attestation_report": {"version": 3}}),
    ] {
        assert!(
            evidence_from_any_json(&serde_json::to_vec(&bad).unwrap()).is_err(),
            "{bad}"
        );
    }
    let mut t = pe.clone();
    t["attestation_report"]["measurement"][0] = Value::from(256);
    assert!(from_trustee(Tee::Snp, &t).is_err());
    let mut t = pe.clone();
    t["attestation_report"]["chip_id"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(from_trustee(Tee::Snp, &t).is_err());
    let mut t = pe;
    t["cert_chain"] = serde_json::json!([{"cert_type": "XYZ", "data": [1]}]);
    assert!(from_trustee(Tee::Snp, &t).is_err());
    // PEF has no Trustee shape.
    let pef = Evidence::new(Platform::Pef, format::PEF_OWNER_MAC, vec![0; 10]);
    assert!(matches!(to_trustee(&pef), Err(tee::Error::Unsupported(_))));
}
