//! Appraisal of vTPM-mediated evidence: denied unless `allow_vtpm`; the
//! freshness value is the quote's qualifying data, compared raw or through
//! the SDK's SHA-384 rule; each way fails closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tee_core::platforms::{QualifyingDataRule, SnpClaims, SnpSigningKey, VtpmClaims};
use tee_core::{
    Claims, Evidence, HexBytes, Outcome, Platform, PlatformClaims, Policy, ReportData, Result,
    TrustRoot, UnixTime, Verified, appraise,
};

#[derive(Debug)]
struct Given(Claims);

impl tee_core::Verifier for Given {
    fn platform(&self) -> Platform {
        self.0.platform
    }
    fn check_authenticity(&self, _: &Evidence, _: UnixTime) -> Result<Claims> {
        Ok(self.0.clone())
    }
}

fn claims(qd: &[u8], rule: QualifyingDataRule) -> Verified<Claims> {
    let mut c = Claims::new(
        Platform::SevSnp,
        "azure-vtpm-snp",
        TrustRoot::Hardware {
            vendor: "AMD".into(),
        },
        ReportData::new([3; 64]),
        false,
        UnixTime::from_secs(1),
        PlatformClaims::SevSnp(SnpClaims::new(3, "milan", SnpSigningKey::Vcek)),
    );
    c.vtpm = Some(VtpmClaims::new(
        "azure-hcl-paravisor",
        vec![],
        qd.to_vec(),
        rule,
    ));
    tee_core::Verifier::verify(
        &Given(c),
        &Evidence::new(Platform::SevSnp, "azure-vtpm-snp", vec![]),
        UnixTime::from_secs(1),
    )
    .unwrap()
}

fn outcome(a: &tee_core::Appraisal, name: &str) -> Outcome {
    a.checks.iter().find(|c| c.name == name).unwrap().outcome
}

#[test]
fn vtpm_evidence_is_denied_unless_allowed() {
    let c = claims(b"attestation-test-fixture", QualifyingDataRule::Raw);
    let base = Policy::new()
        .allow_any_measurement(true)
        .expect_qualifying_data(b"attestation-test-fixture".to_vec());
    let a = appraise(&c, &base);
    assert_eq!(outcome(&a, "vtpm"), Outcome::Failed);
    assert!(!a.passed());
    assert!(a.checks.iter().any(|c| c.detail.contains("--allow-vtpm")));
    let a = appraise(&c, &base.clone().allow_vtpm(true));
    assert_eq!(outcome(&a, "vtpm"), Outcome::Passed);
    assert_eq!(outcome(&a, "report_data"), Outcome::Passed);
    // The policy key loads from TOML, and unknown spellings do not.
    let p = Policy::from_toml("allow_vtpm = true\nqualifying_data = \"00ff\"\n").unwrap();
    assert!(p.allow_vtpm);
    assert_eq!(p.qualifying_data, Some(HexBytes(vec![0, 0xff])));
    assert!(Policy::from_toml("allow_vTPM = true\n").is_err());
}

#[test]
fn raw_qualifying_data_must_match_exactly() {
    let c = claims(b"attestation-test-fixture", QualifyingDataRule::Raw);
    let p = |q: &[u8]| {
        Policy::new()
            .allow_vtpm(true)
            .allow_any_measurement(true)
            .expect_qualifying_data(q.to_vec())
    };
    let mut padded = b"attestation-test-fixture".to_vec();
    padded.resize(64, 0);
    for bad in [
        &b"attestation-test-fixturE"[..],
        &padded,
        b"",
        b"attestation-test-fixtur",
    ] {
        assert_eq!(
            outcome(&appraise(&c, &p(bad)), "report_data"),
            Outcome::Failed
        );
    }
    // A 64-byte report data cannot stand for a raw nonce.
    let a = appraise(
        &c,
        &Policy::new()
            .allow_vtpm(true)
            .allow_any_measurement(true)
            .expect_report_data(ReportData::zero()),
    );
    assert_eq!(outcome(&a, "report_data"), Outcome::Failed);
    // Nothing expected: fails unless any is allowed.
    let none = Policy::new().allow_vtpm(true).allow_any_measurement(true);
    assert_eq!(
        outcome(&appraise(&c, &none), "report_data"),
        Outcome::Failed
    );
    assert_eq!(
        outcome(
            &appraise(&c, &none.allow_any_report_data(true)),
            "report_data"
        ),
        Outcome::Skipped
    );
}

#[test]
fn the_sdk_rule_compares_sha384_of_the_report_data() {
    let rd = ReportData::bind(b"nonce", b"");
    let qd = QualifyingDataRule::sha384_of(&rd);
    let c = claims(&qd, QualifyingDataRule::Sha384OfReportData);
    let p = Policy::new().allow_vtpm(true).allow_any_measurement(true);
    assert_eq!(
        outcome(
            &appraise(&c, &p.clone().expect_report_data(rd)),
            "report_data"
        ),
        Outcome::Passed
    );
    assert_eq!(
        outcome(
            &appraise(
                &c,
                &p.clone()
                    .expect_report_data(ReportData::bind(b"other", b""))
            ),
            "report_data"
        ),
        Outcome::Failed
    );
    // The same 48 bytes given raw also match.
    assert_eq!(
        outcome(
            &appraise(&c, &p.expect_qualifying_data(qd.to_vec())),
            "report_data"
        ),
        Outcome::Passed
    );
}
