//! The facade: explicit opening, dispatch by platform, fail-closed defaults.

use std::sync::{Arc, Mutex};

use tee::evidence::format;
use tee::{
    Authenticity, Claims, Error, Evidence, Platform, Policy, ReportData, UnixTime, Verifier,
    appraise,
};
use tee_core::conformance::{self, Target};

const AT: UnixTime = UnixTime::from_secs(1_750_000_000);

#[test]
fn mock_through_the_facade_passes_conformance() {
    let backend = tee::open(Platform::Mock).unwrap();
    let verifiers = tee::Verifiers::new().trust_mock_root();
    conformance::run_all(&Target {
        backend: &*backend,
        verifier: verifiers.get(Platform::Mock).unwrap(),
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

/// A verifier that records that it was asked, then refuses.
#[derive(Debug)]
struct Recording {
    platform: Platform,
    asked: Arc<Mutex<Vec<Platform>>>,
}

impl Verifier for Recording {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn check_authenticity(&self, _: &Evidence, _: UnixTime) -> tee::Result<Claims> {
        self.asked.lock().unwrap().push(self.platform);
        Err(Error::Misuse("recording verifier".into()))
    }
}

#[test]
fn dispatch_follows_the_evidence_platform() {
    let backend = tee::open(Platform::Mock).unwrap();
    let ev = backend
        .attester()
        .unwrap()
        .attest(&ReportData::zero())
        .unwrap();
    // Every platform's evidence reaches exactly its own verifier.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let mut recording = tee::Verifiers::empty();
    for p in Platform::ALL {
        recording = recording.with(Box::new(Recording {
            platform: p,
            asked: asked.clone(),
        }));
    }
    for p in Platform::ALL {
        asked.lock().unwrap().clear();
        let mut relabelled = ev.clone();
        relabelled.platform = p;
        assert!(recording.verify(&relabelled, AT).is_err());
        assert_eq!(*asked.lock().unwrap(), vec![p], "evidence of {p}");
    }
    // With the real verifiers: mock evidence verifies at the mock verifier;
    // relabelled (platform and format), it reaches the other platform's
    // verifier, which rejects the bytes as that platform's malformed or
    // unauthentic evidence; the mock verifier (which answers `Misuse` for
    // another platform's evidence) is never asked.
    let real = tee::Verifiers::new().trust_mock_root();
    assert!(real.verify(&ev, AT).is_ok());
    for (p, f) in [
        (Platform::SevSnp, format::SEV_SNP_REPORT),
        (Platform::Tdx, format::TDX_QUOTE),
        (Platform::Pef, format::PEF_OWNER_MAC),
    ] {
        let mut relabelled = ev.clone();
        relabelled.platform = p;
        relabelled.format = f.into();
        let err = real.verify(&relabelled, AT).unwrap_err();
        assert!(
            matches!(err, Error::Malformed(_) | Error::Authenticity(_)),
            "{p}: {err}"
        );
    }
    // A platform without a verifier is Unsupported, never the mock's.
    asked.lock().unwrap().clear();
    let only_mock = tee::Verifiers::empty().with(Box::new(Recording {
        platform: Platform::Mock,
        asked: asked.clone(),
    }));
    for p in [Platform::SevSnp, Platform::Tdx, Platform::Pef] {
        let mut relabelled = ev.clone();
        relabelled.platform = p;
        let err = only_mock.verify(&relabelled, AT).unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported(u) if u.platform == p),
            "{p}: {err}"
        );
    }
    assert!(
        asked.lock().unwrap().is_empty(),
        "the mock verifier was asked"
    );
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
