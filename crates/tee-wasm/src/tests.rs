//! The request and its verdicts, natively, on the shared vectors (the Node
//! test in tests/wasm runs the same cases through the built module).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use super::*;

/// The shared vectors; a loud failure under `CI` when they are missing.
fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// 2025-01-01T00:00:00Z
const SNP_AT: u64 = 1_735_689_600;
/// 2025-07-19T10:00:34Z
const TDX_AT: u64 = 1_752_919_234;
/// 2025-08-01T00:00:00Z
const TDX_EXPIRED: u64 = 1_754_006_400;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

fn failure(r: Result<String, Failure>) -> Failure {
    match r {
        Ok(j) => panic!("expected a failure, got {j}"),
        Err(f) => f,
    }
}

fn snp(v: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(v.join("go-sev-guest/attestation.bin")).unwrap(),
        std::fs::read(v.join("go-sev-guest/vcek.der")).unwrap(),
    )
}

fn snp_input(report: Vec<u8>, vcek: Vec<u8>) -> Input {
    let mut i = Input::new(
        Evidence::Snp {
            report,
            vcek: Some(vcek),
            chain: vec![],
        },
        SNP_AT,
    );
    i.allow_unchecked_revocation = true;
    i
}

#[test]
fn snp_vector_default_policy_is_a_policy_failure_with_the_result() {
    let Some(v) = vectors() else { return };
    let (report, vcek) = snp(&v);
    let f = failure(verify(&snp_input(report.clone(), vcek.clone())));
    assert_eq!(f.class, Class::Policy);
    assert!(f.message.starts_with("appraisal failed: "), "{}", f.message);
    let r = json(f.result.as_deref().unwrap());
    assert_eq!(r["platform"], "sev-snp");
    assert_eq!(r["debug"], true);
    assert_eq!(r["appraisal"]["passed"], false);
    // The same text as tee-verify's outcome, pretty-printed as teectl prints it.
    let ev = tee_verify::snp_evidence(&report, Some(&vcek), &[]).unwrap();
    let o = tee_verify::verify(
        &Request::for_evidence(
            EvidenceInput::Evidence(ev),
            tee::UnixTime::from_secs(SNP_AT),
        )
        .allowing_unchecked_revocation(),
    )
    .unwrap();
    assert_eq!(
        f.result.as_deref().unwrap(),
        serde_json::to_string_pretty(&o.to_json().unwrap()).unwrap()
    );
}

#[test]
fn snp_vector_passes_its_policy_and_a_flipped_byte_is_not_authentic() {
    let Some(v) = vectors() else { return };
    let (report, vcek) = snp(&v);
    let mut i = snp_input(report.clone(), vcek.clone());
    i.policy = Some("allow_debug = true\nallow_any_measurement = true\n".into());
    let mut rd = vec![0u8; 64];
    rd[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    i.report_data = Some(rd);
    let j = json(&verify(&i).unwrap());
    assert_eq!(j["appraisal"]["passed"], true);
    assert!(j["report_data"].as_str().unwrap().starts_with("0102030405"));

    // Other report data: a policy failure.
    i.report_data = Some(vec![7; 64]);
    assert_eq!(failure(verify(&i)).class, Class::Policy);
    // Report data of the wrong length: the caller's error.
    i.report_data = Some(vec![1; 63]);
    assert_eq!(failure(verify(&i)).class, Class::Usage);

    let mut bad = report;
    bad[0x90] ^= 1;
    let f = failure(verify(&snp_input(bad, vcek.clone())));
    assert_eq!(f.class, Class::Authenticity, "{}", f.message);
    assert_eq!(f.result, None);

    // Without the VCEK the report cannot be checked: no pass.
    let (report, _) = snp(&v);
    let mut i = snp_input(report, vcek);
    if let Evidence::Snp { vcek, .. } = &mut i.evidence {
        *vcek = None;
    }
    assert_ne!(failure(verify(&i)).class, Class::Policy);
}

#[test]
fn tdx_vector_with_collateral_inside_and_after_its_window() {
    let Some(v) = vectors() else { return };
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let coll = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let tdx = |at| {
        let mut i = Input::new(
            Evidence::Tdx {
                quote: quote.clone(),
                ccel: None,
            },
            at,
        );
        i.collateral = Some(coll.clone());
        i
    };
    // Default policy: verified, appraisal fails.
    let f = failure(verify(&tdx(TDX_AT)));
    assert_eq!(f.class, Class::Policy);
    let r = json(f.result.as_deref().unwrap());
    assert_eq!(r["platform"], "tdx");
    assert_eq!(
        r["claims"]["platform_claims"]["tdx"]["tcb_status"],
        "UpToDate"
    );
    // With the quote's report data and a policy that accepts it: passes.
    let rd = hex_bytes(r["report_data"].as_str().unwrap());
    let mut i = tdx(TDX_AT);
    i.policy = Some("allow_debug = true\nallow_any_measurement = true\n".into());
    i.report_data = Some(rd);
    assert_eq!(json(&verify(&i).unwrap())["appraisal"]["passed"], true);

    // After the collateral's window: not authentic.
    assert_eq!(
        failure(verify(&tdx(TDX_EXPIRED))).class,
        Class::Authenticity
    );
    // No collateral: no verdict.
    let mut i = tdx(TDX_AT);
    i.collateral = None;
    assert_ne!(failure(verify(&i)).class, Class::Policy);
    // Collateral that is not JSON.
    let mut i = tdx(TDX_AT);
    i.collateral = Some(b"not json".to_vec());
    assert_eq!(failure(verify(&i)).class, Class::Malformed);
    // A truncated quote.
    let i = Input::new(
        Evidence::Tdx {
            quote: quote[..100].to_vec(),
            ccel: None,
        },
        TDX_AT,
    );
    assert_eq!(failure(verify(&i)).class, Class::Malformed);
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn inputs_are_bounded_before_use() {
    let over = |n: usize| vec![b' '; n + 1];
    let f = failure(verify(&Input::new(
        Evidence::Json(over(MAX_EVIDENCE_JSON)),
        0,
    )));
    assert_eq!(f.class, Class::Malformed);
    let f = failure(verify(&Input::new(
        Evidence::Snp {
            report: over(MAX_SNP_REPORT),
            vcek: None,
            chain: vec![],
        },
        0,
    )));
    assert_eq!(f.class, Class::Malformed);
    let f = failure(verify(&Input::new(
        Evidence::Snp {
            report: vec![0; 1184],
            vcek: Some(over(MAX_CERT)),
            chain: vec![],
        },
        0,
    )));
    assert_eq!(f.class, Class::Malformed);
    let f = failure(verify(&Input::new(
        Evidence::Snp {
            report: vec![0; 1184],
            vcek: None,
            chain: vec![vec![0; 10]; MAX_CHAIN_CERTS + 1],
        },
        0,
    )));
    assert_eq!(f.class, Class::Usage);
    let f = failure(verify(&Input::new(
        Evidence::Tdx {
            quote: over(MAX_QUOTE),
            ccel: None,
        },
        0,
    )));
    assert_eq!(f.class, Class::Malformed);
    let mut i = Input::new(Evidence::Json(b"{}".to_vec()), 0);
    i.collateral = Some(over(MAX_COLLATERAL));
    assert_eq!(failure(verify(&i)).class, Class::Malformed);
}

#[test]
fn malformed_evidence_and_policy_are_typed() {
    for bad in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"platform\":\"nope\"}",
        &[0xff; 8],
    ] {
        let f = failure(verify(&Input::new(Evidence::Json(bad.to_vec()), 0)));
        assert_eq!(f.class, Class::Malformed, "{bad:?}: {}", f.message);
    }
    let f = failure(verify(&Input::new(
        Evidence::Snp {
            report: b"short".to_vec(),
            vcek: None,
            chain: vec![],
        },
        0,
    )));
    assert_eq!(f.class, Class::Malformed);
}

/// Mock evidence: refused unless the mock root is trusted, then refused by
/// the appraisal unless the policy allows mock; a policy that does not load
/// is the caller's error.
#[test]
fn mock_evidence_is_fail_closed() {
    use tee::Attester as _;
    let ev = tee::mock::MockBackend::new()
        .attest(&tee::ReportData::new([3; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    let at = 1_750_000_000;
    let mut i = Input::new(Evidence::Json(ev.into_bytes()), at);
    assert_eq!(failure(verify(&i)).class, Class::Authenticity);
    i.trust_mock_root = true;
    assert_eq!(failure(verify(&i)).class, Class::Policy);
    i.policy = Some("allow_mock = true\nallow_any_measurement = true\n".into());
    i.report_data = Some(vec![3; 64]);
    let j = json(&verify(&i).unwrap());
    assert_eq!(j["platform"], "mock");
    assert_eq!(j["appraisal"]["passed"], true);
    i.policy = Some("allow_mock = [nonsense".into());
    assert_eq!(failure(verify(&i)).class, Class::Usage);
    i.policy = Some(" ".repeat(MAX_POLICY + 1));
    assert_eq!(failure(verify(&i)).class, Class::Malformed);
}

#[test]
fn classes_have_the_cli_names_and_exit_codes() {
    let all = [
        (Class::Usage, "usage", 1),
        (Class::Io, "io", 1),
        (Class::Malformed, "malformed", 2),
        (Class::Authenticity, "authenticity", 3),
        (Class::Policy, "policy", 4),
        (Class::Unsupported, "unsupported", 5),
    ];
    for (c, name, code) in all {
        assert_eq!((c.name(), c.exit_code()), (name, code));
    }
    use tee::ErrorClass as E;
    for (e, c) in [
        (E::Usage, Class::Usage),
        (E::Io, Class::Io),
        (E::Malformed, Class::Malformed),
        (E::Authenticity, Class::Authenticity),
        (E::Policy, Class::Policy),
        (E::Unsupported, Class::Unsupported),
    ] {
        assert_eq!(Class::of(e), c);
    }
}
