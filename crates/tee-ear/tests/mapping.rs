//! The mapping table on real appraisals: mock evidence (tee-mock) and a
//! real AMD SEV-SNP report (shared vectors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tee_core::{
    Appraisal, Backend, Claims, Evidence, Outcome, Platform, PlatformClaims, Policy, ReportData,
    UnixTime, Verified, Verifier, appraise,
};
use tee_ear::mapping::{self, RULES, UNLISTED_FAILED};
use tee_ear::{
    Alg, EarRequest, Issuer, SignerSet, SigningKey, Status, Submod, TrustClaim, VerifyOptions,
};

const NONCE: &[u8] = b"nonce of the relying party";

fn now() -> UnixTime {
    UnixTime::from_secs(1_750_000_000)
}

fn mock() -> (tee_mock::MockBackend, Verified<Claims>) {
    let backend = tee_mock::MockBackend::new();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&ReportData::bind(NONCE, b""))
        .unwrap();
    let claims = tee_mock::MockVerifier::trusting_mock_root()
        .verify(&ev, now())
        .unwrap();
    (backend, claims)
}

fn outcome(a: &Appraisal, name: &str) -> Outcome {
    a.checks.iter().find(|c| c.name == name).unwrap().outcome
}

#[test]
fn mock_evidence_is_never_affirming() {
    let (backend, claims) = mock();
    let rd = ReportData::bind(NONCE, b"");
    // Everything allowed and matching: the appraisal passes...
    let policy = Policy::new()
        .allow_mock(true)
        .allow_measurement(backend.measurement())
        .expect_report_data(rd);
    let appraisal = appraise(&claims, &policy);
    assert!(appraisal.passed());
    let s = Submod::from_appraisal(&claims, &appraisal, "p");
    // ...but the mock has no hardware and no memory protection.
    assert_eq!(s.status, Status::Contraindicated);
    assert_eq!(s.trust_vector.get(TrustClaim::Hardware), 96);
    assert_eq!(s.trust_vector.get(TrustClaim::RuntimeOpaque), 96);
    assert_eq!(s.trust_vector.get(TrustClaim::Executables), 2);
    let c = s.claims.as_ref().unwrap();
    assert_eq!(c["platform"], "mock");
    assert_eq!(c["trust-root"]["kind"], "no-security");
    assert_eq!(c["report-data"], rd.to_hex());
    assert_eq!(c["appraisal-passed"], true);
    assert_eq!(c["registers"].as_array().unwrap().len(), 4);
    assert_eq!(
        c["measurement"],
        tee_core::HexBytes(backend.measurement().to_vec()).to_hex()
    );

    // Denied mock: contraindicated, and the failed check is in the list.
    let denied = Submod::appraise(&claims, &Policy::new().expect_report_data(rd));
    assert_eq!(denied.status, Status::Contraindicated);
    let checks = denied.claims.as_ref().unwrap()["checks"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "mock" && c["outcome"] == "failed")
    );
}

#[test]
fn failing_measurement_moves_executables() {
    let (_, claims) = mock();
    let policy = Policy::new()
        .allow_mock(true)
        .allow_measurement(vec![0u8; 48])
        .expect_report_data(ReportData::bind(NONCE, b""));
    let appraisal = appraise(&claims, &policy);
    assert_eq!(outcome(&appraisal, "measurement"), Outcome::Failed);
    let v = mapping::trust_vector(&claims, &appraisal);
    assert_eq!(v.get(TrustClaim::Executables), 33);
    assert_eq!(mapping::status(&v, &appraisal), Status::Contraindicated);

    // No reference configured at all: fails the same way.
    let appraisal = appraise(
        &claims,
        &Policy::new()
            .allow_mock(true)
            .expect_report_data(ReportData::bind(NONCE, b"")),
    );
    assert_eq!(outcome(&appraisal, "measurement"), Outcome::Failed);
    assert_eq!(
        mapping::trust_vector(&claims, &appraisal).get(TrustClaim::Executables),
        33
    );
}

#[test]
fn wrong_report_data_moves_instance_identity() {
    let (backend, claims) = mock();
    let policy = Policy::new()
        .allow_mock(true)
        .allow_measurement(backend.measurement())
        .expect_report_data(ReportData::bind(b"another nonce", b""));
    let appraisal = appraise(&claims, &policy);
    let v = mapping::trust_vector(&claims, &appraisal);
    assert_eq!(v.get(TrustClaim::InstanceIdentity), 96);
    // Without any expected report data, explicitly allowed: a warning.
    let policy = Policy::new()
        .allow_mock(true)
        .allow_measurement(backend.measurement())
        .allow_any_report_data(true);
    let appraisal = appraise(&claims, &policy);
    assert_eq!(outcome(&appraisal, "report_data"), Outcome::Skipped);
    assert_eq!(
        mapping::trust_vector(&claims, &appraisal).get(TrustClaim::InstanceIdentity),
        32
    );
}

#[test]
fn unlisted_failed_check_is_never_invisible() {
    let (_, claims) = mock();
    let mut appraisal = Appraisal::default();
    appraisal.check("future.check", false, "x");
    let v = mapping::trust_vector(&claims, &appraisal);
    assert_eq!(v.get(UNLISTED_FAILED.0), UNLISTED_FAILED.1);
    let mut ok = Appraisal::default();
    ok.check("future.check", true, "x");
    assert_eq!(
        mapping::trust_vector(&claims, &ok).get(TrustClaim::Configuration),
        0
    );
}

#[test]
fn table_names_are_unique_and_in_the_docs() {
    let mut names: Vec<_> = RULES.iter().map(|r| r.check).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate rule");
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ear.md"))
            .unwrap();
    assert!(
        doc.contains(&mapping::rules_markdown()),
        "docs/ear.md must contain the mapping table exactly as mapping::rules_markdown() prints it:\n{}",
        mapping::rules_markdown()
    );
}

fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The Turin report (ms-tee-av), verified at 2026-06-01.
fn snp() -> Option<Verified<Claims>> {
    let v = vectors()?;
    let f = |rel: &str| std::fs::read(v.join(rel)).unwrap();
    let at = UnixTime::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
    let ev = tee_sev::evidence_from_parts(
        &f("ms-tee-av/turin_attestation_report.bin"),
        Some(&f("ms-tee-av/turin_vcek.pem")),
        &[],
    )
    .unwrap();
    Some(tee_sev::SnpVerifier::new().verify(&ev, at).unwrap())
}

fn snp_policy(c: &Claims) -> Policy {
    Policy::new()
        .expect_report_data(c.report_data)
        .with_sev_snp(|p| p.allow_unchecked_revocation(true))
}

#[test]
fn real_snp_report_without_crl_is_a_warning() {
    let Some(claims) = snp() else { return };
    let m = claims.launch_measurement.value().unwrap().clone();
    let policy = snp_policy(&claims).allow_measurement(m);
    let appraisal = appraise(&claims, &policy);
    assert!(
        appraisal.passed(),
        "{:?}",
        appraisal.failed().collect::<Vec<_>>()
    );
    let s = Submod::from_appraisal(&claims, &appraisal, mapping::policy_id(&policy));
    assert_eq!(s.trust_vector.get(TrustClaim::InstanceIdentity), 2);
    assert_eq!(s.trust_vector.get(TrustClaim::Executables), 2);
    assert_eq!(s.trust_vector.get(TrustClaim::RuntimeOpaque), 2);
    // Revocation not checked (no AMD CRL), explicitly allowed: warning.
    assert_eq!(s.trust_vector.get(TrustClaim::Hardware), 32);
    assert_eq!(s.status, Status::Warning);
    let c = s.claims.as_ref().unwrap();
    assert_eq!(c["platform"], "sev-snp");
    assert_eq!(c["trust-root"]["kind"], "hardware");
    assert_eq!(c["measurement"].as_str().unwrap().len(), 96);
    assert!(s.policy_id.as_ref().unwrap().starts_with("sha256:"));

    // The same evidence with its revocation checked (as with a CRL): affirming.
    let mut inner = claims.clone().into_inner();
    if let PlatformClaims::SevSnp(s) = &mut inner.platform_claims {
        s.revocation_checked = true;
    }
    let checked = rewrap(inner);
    let policy = Policy::new()
        .expect_report_data(checked.report_data)
        .allow_measurement(checked.launch_measurement.value().unwrap().clone());
    let s = Submod::appraise(&checked, &policy);
    assert_eq!(s.trust_vector.get(TrustClaim::Hardware), 2);
    assert_eq!(s.status, Status::Affirming);

    // Signed, verified, and the status survives the round trip.
    let issuer = Issuer::new(SignerSet::new(SigningKey::generate(Alg::Es384).unwrap()));
    let token = issuer
        .issue(EarRequest::new().with_submod("sev-snp", s).unwrap(), now())
        .unwrap();
    let ear = tee_ear::verify(
        &token,
        &issuer.signers().jwks(),
        &VerifyOptions::new(now(), 0).allow_any_nonce(true),
    )
    .unwrap();
    assert_eq!(ear.submods["sev-snp"].status, Status::Affirming);
}

#[test]
fn allow_any_measurement_is_a_warning() {
    let Some(claims) = snp() else { return };
    let mut inner = claims.into_inner();
    if let PlatformClaims::SevSnp(s) = &mut inner.platform_claims {
        s.revocation_checked = true;
    }
    let claims = rewrap(inner);
    let policy = Policy::new()
        .expect_report_data(claims.report_data)
        .allow_any_measurement(true);
    let appraisal = appraise(&claims, &policy);
    assert!(appraisal.passed());
    assert_eq!(outcome(&appraisal, "measurement"), Outcome::Skipped);
    let s = Submod::from_appraisal(&claims, &appraisal, "p");
    assert_eq!(s.trust_vector.get(TrustClaim::Executables), 33);
    assert_eq!(s.status, Status::Warning);

    // Pinned by an ID key instead (a wrong one here): the pin check fails
    // and moves executables, the skipped measurement check does not.
    let policy = Policy::new()
        .expect_report_data(claims.report_data)
        .with_sev_snp(|p| p.allow_id_key_digest(vec![1u8; 48]));
    let appraisal = appraise(&claims, &policy);
    assert_eq!(outcome(&appraisal, "measurement"), Outcome::Skipped);
    let s = Submod::from_appraisal(&claims, &appraisal, "p");
    assert_eq!(s.trust_vector.get(TrustClaim::Executables), 33);
    assert_eq!(s.status, Status::Contraindicated);
}

#[test]
fn debug_allowed_is_contraindicated() {
    let backend = tee_mock::MockBackend::builder().debug(true).build();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&ReportData::bind(NONCE, b""))
        .unwrap();
    let claims = tee_mock::MockVerifier::trusting_mock_root()
        .verify(&ev, now())
        .unwrap();
    assert!(claims.debug);
    let policy = Policy::new()
        .allow_mock(true)
        .allow_debug(true)
        .allow_measurement(backend.measurement())
        .expect_report_data(ReportData::bind(NONCE, b""));
    let appraisal = appraise(&claims, &policy);
    assert!(appraisal.passed());
    let v = mapping::trust_vector(&claims, &appraisal);
    assert_eq!(v.get(TrustClaim::RuntimeOpaque), 96);
}

#[test]
fn verification_failure_is_99_everywhere() {
    let s = Submod::verification_failed();
    assert_eq!(s.status, Status::Contraindicated);
    for c in TrustClaim::ALL {
        assert_eq!(s.trust_vector.get(c), 99);
    }
}

#[test]
fn policy_id_is_stable_and_distinct() {
    let a = Policy::new().allow_mock(true);
    assert_eq!(mapping::policy_id(&a), mapping::policy_id(&a.clone()));
    assert_ne!(mapping::policy_id(&a), mapping::policy_id(&Policy::new()));
    assert_eq!(mapping::policy_id(&a).len(), "sha256:".len() + 64);
}

/// Claims edited by the test, marked verified again through a test
/// verifier (the only way to obtain `Verified` claims).
fn rewrap(claims: Claims) -> Verified<Claims> {
    #[derive(Debug)]
    struct Given(Claims);
    impl Verifier for Given {
        fn platform(&self) -> Platform {
            self.0.platform
        }
        fn check_authenticity(&self, _: &Evidence, _: UnixTime) -> tee_core::Result<Claims> {
            Ok(self.0.clone())
        }
    }
    let platform = claims.platform;
    Verifier::verify(
        &Given(claims),
        &Evidence::new(platform, "test", vec![]),
        UnixTime::from_secs(0),
    )
    .unwrap()
}
