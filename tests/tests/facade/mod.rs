//! The facade: explicit opening, dispatch by platform, fail-closed defaults.

use tee::{Authenticity, Error, Platform, Policy, ReportData, UnixTime, Verifier, appraise};
use tee_core::conformance::{self, Target};

const AT: UnixTime = UnixTime::from_secs(1_750_000_000);

#[test]
fn mock_through_the_facade_passes_conformance() {
    let backend = tee::open(Platform::Mock).unwrap();
    let verifiers = tee::Verifiers::new().trust_mock_root();
    conformance::run_all(&Target {
        backend: &*backend,
        verifier: verifiers.get(Platform::Mock),
        at: AT,
        tamper_offsets: vec![],
    });
}

#[test]
fn default_verifiers_do_not_trust_the_mock() {
    let backend = tee::open(Platform::Mock).unwrap();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&ReportData::zero())
        .unwrap();
    let err = tee::Verifiers::new().verify(&ev, AT).unwrap_err();
    assert!(
        matches!(err, Error::Authenticity(Authenticity::UntrustedRoot { .. })),
        "{err}"
    );
}

#[test]
fn dispatch_follows_the_evidence_platform() {
    let backend = tee::open(Platform::Mock).unwrap();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&ReportData::zero())
        .unwrap();
    // Relabelled evidence goes to another platform's verifier and fails there,
    // never to the mock verifier.
    for p in [Platform::SevSnp, Platform::Tdx, Platform::Pef] {
        let mut relabelled = ev.clone();
        relabelled.platform = p;
        assert!(
            tee::Verifiers::new()
                .trust_mock_root()
                .verify(&relabelled, AT)
                .is_err(),
            "{p}"
        );
    }
    // The mock verifier refuses other platforms' evidence as misuse.
    let mut other = ev;
    other.platform = Platform::Tdx;
    assert!(matches!(
        tee::mock::MockVerifier::trusting_mock_root().verify(&other, AT),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn the_empty_policy_fails_closed() {
    let backend = tee::open(Platform::Mock).unwrap();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&ReportData::zero())
        .unwrap();
    let claims = tee::Verifiers::new()
        .trust_mock_root()
        .verify(&ev, AT)
        .unwrap();
    let a = appraise(&claims, &Policy::default());
    assert!(!a.passed());
    let names: Vec<_> = a.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"mock") && names.contains(&"debug") && names.contains(&"report_data"));
    // Every check explains itself.
    assert!(a.checks.iter().all(|c| !c.detail.is_empty()));
    assert!(matches!(a.into_result(), Err(Error::Policy(_))));
}

#[test]
fn backends_not_present_say_why() {
    for p in [Platform::SevSnp, Platform::Tdx, Platform::Pef] {
        match tee::open(p) {
            Ok(_) => {} // running on such a guest
            Err(e) => {
                assert!(
                    matches!(e, Error::Unsupported(_) | Error::Device(_)),
                    "{p}: {e}"
                );
                assert!(!e.to_string().is_empty());
            }
        }
    }
}
