//! One-call verification on the shared hardware vectors and the mock: the
//! verdicts of INDEX.md, every failure a typed class.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tee::{ErrorClass, ReportData, UnixTime};
use tee_verify::{EvidenceInput, Request, VerifyError, snp_evidence, tdx_evidence, verify};

/// The shared vectors; a loud failure under `CI` when they are missing.
fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn at(t: &str) -> UnixTime {
    UnixTime::parse_rfc3339(t).unwrap()
}

fn class(r: Result<tee_verify::Outcome, VerifyError>) -> ErrorClass {
    match r {
        Ok(o) => panic!("expected an error, got {:?}", o.to_json().unwrap()),
        Err(e) => e.class(),
    }
}

/// go-sev-guest's Milan v2 report with its VCEK: genuine, debug policy.
#[test]
fn snp_vector_verifies_and_debug_is_refused_by_default() {
    let Some(v) = vectors() else { return };
    let report = std::fs::read(v.join("go-sev-guest/attestation.bin")).unwrap();
    let vcek = std::fs::read(v.join("go-sev-guest/vcek.der")).unwrap();
    let ev = snp_evidence(&report, Some(&vcek), &[]).unwrap();
    let when = at("2025-01-01T00:00:00Z");
    let o = verify(
        &Request::for_evidence(EvidenceInput::Evidence(ev.clone()), when)
            .allowing_unchecked_revocation(),
    )
    .unwrap();
    let j = o.to_json().unwrap();
    assert_eq!(j["platform"], "sev-snp");
    assert_eq!(j["debug"], true);
    assert!(
        j["report_data"]
            .as_str()
            .unwrap()
            .starts_with("0102030405000000")
    );
    // The default policy admits no workload, and this one is a debug guest.
    assert!(!o.passed());
    assert_eq!(j["appraisal"]["passed"], false);
    // No CRL: revocation was not checked, which the request explicitly
    // allows (as `teectl verify --allow-unchecked-revocation`); without
    // that, the appraisal says so.
    let revocation = |j: &serde_json::Value| {
        j["appraisal"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "sev-snp.revocation")
            .map(|c| c["outcome"].clone())
    };
    assert_eq!(j["revocation_checked"], false);
    assert_eq!(revocation(&j), Some("passed".into()), "{j:#}");
    let strict = verify(&Request::for_evidence(
        EvidenceInput::Evidence(ev.clone()),
        when,
    ))
    .unwrap();
    assert_eq!(
        revocation(&strict.to_json().unwrap()),
        Some("failed".into())
    );

    // `allowing_unchecked_revocation` applies to the appraisal too, as
    // `teectl verify --allow-unchecked-revocation`: without it the missing
    // AMD CRL fails the revocation check.
    let check = |o: &tee_verify::Outcome| {
        o.appraisal
            .checks
            .iter()
            .find(|c| c.name == "sev-snp.revocation")
            .map(|c| c.outcome)
            .expect("a sev-snp.revocation check")
    };
    assert_eq!(check(&o), tee::Outcome::Passed);
    let strict = verify(&Request::for_evidence(
        EvidenceInput::Evidence(ev.clone()),
        when,
    ))
    .unwrap();
    assert_eq!(check(&strict), tee::Outcome::Failed);

    // A policy that allows debug, any measurement and this report data passes.
    let mut rd = [0u8; 64];
    rd[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    let policy = "allow_debug = true\nallow_any_measurement = true\n\
                  [sev-snp]\nallow_unchecked_revocation = true\n";
    let o = verify(
        &Request::for_evidence(EvidenceInput::Evidence(ev.clone()), when)
            .with_policy(policy)
            .with_report_data(ReportData::new(rd))
            .allowing_unchecked_revocation(),
    )
    .unwrap();
    assert!(o.passed(), "{:#?}", o.appraisal.checks);
    // The request's allowing_unchecked_revocation is the policy's, as
    // `teectl verify --allow-unchecked-revocation`; without it, no pass.
    let lenient = "allow_debug = true\nallow_any_measurement = true\n";
    let req = Request::for_evidence(EvidenceInput::Evidence(ev.clone()), when)
        .with_policy(lenient)
        .with_report_data(ReportData::new(rd));
    assert!(
        verify(&req.clone().allowing_unchecked_revocation())
            .unwrap()
            .passed()
    );
    let o = verify(&req).unwrap();
    assert!(
        o.appraisal.failed().any(|c| c.name == "sev-snp.revocation"),
        "{:#?}",
        o.appraisal.checks
    );

    // Other report data: the appraisal says so.
    let o = verify(
        &Request::for_evidence(EvidenceInput::Evidence(ev.clone()), when)
            .with_policy(policy)
            .with_report_data(ReportData::new([7; 64]))
            .allowing_unchecked_revocation(),
    )
    .unwrap();
    assert!(!o.passed());

    // One flipped byte of the signed region: not authentic.
    let mut bad = report.clone();
    bad[0x90] ^= 1;
    let ev = snp_evidence(&bad, Some(&vcek), &[]).unwrap();
    assert_eq!(
        class(verify(&Request::for_evidence(
            EvidenceInput::Evidence(ev),
            when
        ))),
        ErrorClass::Authenticity
    );
}

/// dcap-qvl's v4 quote with its QuoteCollateralV3: UpToDate inside the
/// window, refused after it; no collateral: refused.
#[test]
fn tdx_vector_with_collateral() {
    let Some(v) = vectors() else { return };
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let coll = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let ev = tdx_evidence(&quote, None).unwrap();
    let inside = at("2025-07-19T10:00:34Z");
    let o = verify(
        &Request::for_evidence(EvidenceInput::Evidence(ev.clone()), inside)
            .with_collateral(&coll)
            .with_policy("allow_debug = true\nallow_any_measurement = true\n"),
    )
    .unwrap();
    let j = o.to_json().unwrap();
    assert_eq!(j["platform"], "tdx");
    assert_eq!(
        j["claims"]["platform_claims"]["tdx"]["tcb_status"], "UpToDate",
        "{j:#}"
    );
    // Freshness is not established without the expected report data.
    assert!(!o.passed());
    let rd = o.claims.report_data;
    let o = verify(
        &Request::for_evidence(EvidenceInput::Evidence(ev.clone()), inside)
            .with_collateral(&coll)
            .with_policy("allow_debug = true\nallow_any_measurement = true\n")
            .with_report_data(rd),
    )
    .unwrap();
    assert!(o.passed(), "{:#?}", o.appraisal.checks);

    let after = at("2025-08-01T00:00:00Z");
    assert_eq!(
        class(verify(
            &Request::for_evidence(EvidenceInput::Evidence(ev.clone()), after)
                .with_collateral(&coll)
        )),
        ErrorClass::Authenticity
    );
    // No collateral: the TCB cannot be evaluated, so no verdict.
    let r = verify(&Request::for_evidence(
        EvidenceInput::Evidence(ev.clone()),
        inside,
    ));
    assert!(r.is_err(), "TDX without collateral must not verify");
    // Collateral that is not JSON.
    assert_eq!(
        class(verify(
            &Request::for_evidence(EvidenceInput::Evidence(ev), inside)
                .with_collateral(b"not json")
        )),
        ErrorClass::Malformed
    );
}

/// Mock evidence: refused unless the mock root is trusted, and then still
/// refused by appraisal unless the policy allows mock.
#[test]
fn mock_evidence_is_fail_closed() {
    use tee::Attester as _;
    let b = tee::mock::MockBackend::new();
    let ev = b.attest(&ReportData::new([3; 64])).unwrap();
    let json = ev.to_json().unwrap();
    let now = UnixTime::now();
    assert_eq!(
        class(verify(&Request::new(json.as_bytes(), now))),
        ErrorClass::Authenticity
    );
    let o = verify(&Request::new(json.as_bytes(), now).trusting_mock_root()).unwrap();
    assert!(!o.passed());
    let o = verify(
        &Request::new(json.as_bytes(), now)
            .trusting_mock_root()
            .with_policy("allow_mock = true\nallow_any_measurement = true\n")
            .with_report_data(ReportData::new([3; 64])),
    )
    .unwrap();
    assert!(o.passed(), "{:#?}", o.appraisal.checks);
}

#[test]
fn malformed_inputs_are_typed() {
    let now = UnixTime::now();
    assert_eq!(
        class(verify(&Request::new(b"{", now))),
        ErrorClass::Malformed
    );
    assert_eq!(
        class(verify(&Request::new(b"", now))),
        ErrorClass::Malformed
    );
    let big = vec![b' '; tee_verify::MAX_EVIDENCE_LEN + 1];
    assert_eq!(
        class(verify(&Request::new(&big, now))),
        ErrorClass::Malformed
    );
    // A policy that does not load is the caller's error, not a verdict.
    let b = tee::mock::MockBackend::new();
    use tee::Attester as _;
    let json = b
        .attest(&ReportData::new([0; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    let r = verify(
        &Request::new(json.as_bytes(), now)
            .trusting_mock_root()
            .with_policy("allow_mock = [nonsense"),
    );
    assert!(matches!(r, Err(VerifyError::Policy(_))), "{r:?}");
    assert!(snp_evidence(b"short", None, &[]).is_err());
    assert!(tdx_evidence(b"short", None).is_err());
}

/// The printed JSON has the layout `teectl verify` documents.
#[test]
fn output_layout() {
    use tee::Attester as _;
    let b = tee::mock::MockBackend::new();
    let json = b
        .attest(&ReportData::new([0; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    let o = verify(&Request::new(json.as_bytes(), UnixTime::now()).trusting_mock_root()).unwrap();
    let j = o.to_json().unwrap();
    for k in [
        "platform",
        "measurement",
        "report_data",
        "debug",
        "verified_at",
        "claims",
        "appraisal",
    ] {
        assert!(j.get(k).is_some(), "missing {k}: {j:#}");
    }
    assert_eq!(j["platform"], "mock");
    assert!(j["appraisal"]["checks"].as_array().unwrap().len() > 1);
    // In this order, whatever else is in the build (serde_json's
    // preserve_order is tee-verify's own feature).
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        &keys[..4],
        ["platform", "measurement", "report_data", "debug"]
    );
    assert_eq!(
        &keys[keys.len() - 3..],
        ["verified_at", "claims", "appraisal"]
    );
}
