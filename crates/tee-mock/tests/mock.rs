//! Mock backend: conformance suite, verification negatives, faults, sealing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tee_core::conformance::{self, Target};
use tee_core::{
    Authenticity, Backend, Error, Platform, Policy, ReportData, SealPolicy, UnixTime, UnsealError,
    Verifier, appraise,
};
use tee_mock::{Fault, MockBackend, MockVerifier, report};

const AT: UnixTime = UnixTime::from_secs(1_750_000_000);

#[test]
fn conformance_suite() {
    let backend = MockBackend::new();
    let verifier = MockVerifier::trusting_mock_root();
    conformance::run_all(&Target {
        backend: &backend,
        verifier: &verifier,
        at: AT,
        tamper_offsets: (0..report::LEN).step_by(7).collect(),
    });
}

#[test]
fn untrusted_by_default() {
    let ev = MockBackend::new().attest_default();
    let err = MockVerifier::new().verify(&ev, AT).unwrap_err();
    assert!(
        matches!(err, Error::Authenticity(Authenticity::UntrustedRoot { .. })),
        "{err}"
    );
}

trait AttestDefault {
    fn attest_default(&self) -> tee_core::Evidence;
}
impl AttestDefault for MockBackend {
    fn attest_default(&self) -> tee_core::Evidence {
        self.attester()
            .unwrap()
            .attest(&ReportData::zero())
            .unwrap()
    }
}

#[test]
fn claims_and_appraisal() {
    let b = MockBackend::builder()
        .measurement([7; 48])
        .host_data([9; 48])
        .build();
    b.runtime_measurement()
        .unwrap()
        .extend(3, "app", b"config")
        .unwrap();
    let rd = ReportData::bind(b"n", b"u");
    let ev = b.attester().unwrap().attest(&rd).unwrap();
    let c = MockVerifier::trusting_mock_root().verify(&ev, AT).unwrap();
    assert_eq!(c.platform, Platform::Mock);
    assert_eq!(c.report_data, rd);
    assert_eq!(c.launch_measurement.value().unwrap().0, vec![7; 48]);
    assert_eq!(c.host_data.value().unwrap().0, vec![9; 48]);
    assert!(!c.debug);
    let replay = c.event_log.as_ref().unwrap();
    assert!(replay.iter().all(|r| r.matches));
    assert_eq!(replay[3].events, 1);

    // Default policy: mock denied, report data required.
    let a = appraise(&c, &Policy::default());
    let failed: Vec<_> = a.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["mock", "report_data", "measurement"]);
    let ok = Policy::new()
        .allow_mock(true)
        .expect_report_data(rd)
        .allow_measurement([7u8; 48]);
    assert!(appraise(&c, &ok).passed());
    let wrong_rd = Policy::new()
        .allow_mock(true)
        .expect_report_data(ReportData::zero());
    assert!(!appraise(&c, &wrong_rd).passed());
    let wrong_m = Policy::new()
        .allow_mock(true)
        .expect_report_data(rd)
        .allow_measurement([8u8; 48]);
    assert_eq!(
        appraise(&c, &wrong_m).failed().next().unwrap().name,
        "measurement"
    );
    let host = ok.clone().expect_host_data([1u8; 48]);
    assert_eq!(
        appraise(&c, &host).failed().next().unwrap().name,
        "host_data"
    );
}

#[test]
fn debug_denied_by_default() {
    let b = MockBackend::builder().debug(true).build();
    let rd = ReportData::zero();
    let c = MockVerifier::trusting_mock_root()
        .verify(&b.attest_default(), AT)
        .unwrap();
    assert!(c.debug);
    let p = Policy::new()
        .allow_mock(true)
        .expect_report_data(rd)
        .allow_measurement(b.measurement());
    assert_eq!(appraise(&c, &p).failed().next().unwrap().name, "debug");
    assert!(appraise(&c, &p.allow_debug(true)).passed());
}

#[test]
fn tampered_event_log_fails_appraisal() {
    let b = MockBackend::new();
    b.runtime_measurement()
        .unwrap()
        .extend(0, "a", b"x")
        .unwrap();
    let mut ev = b.attest_default();
    let log = ev.event_log.as_mut().unwrap();
    log.events[0] = tee_core::Event::new(0, "a", b"y".to_vec());
    let c = MockVerifier::trusting_mock_root().verify(&ev, AT).unwrap();
    let p = Policy::new()
        .allow_mock(true)
        .expect_report_data(ReportData::zero())
        .allow_measurement(b.measurement());
    assert_eq!(appraise(&c, &p).failed().next().unwrap().name, "event_log");
}

/// The field and detail of a `BadField` error.
fn bad_field(e: Error) -> (&'static str, String) {
    match e {
        Error::Malformed(m) => match m.kind {
            tee_core::MalformedKind::BadField { field, detail } => (field, detail),
            k => panic!("{k:?}"),
        },
        e => panic!("{e:?}"),
    }
}

fn mock_with_events() -> tee_core::Evidence {
    let b = MockBackend::new();
    let rm = b.runtime_measurement().unwrap();
    rm.extend(0, "a", b"x").unwrap();
    rm.extend(1, "cmdline", b"security=apparmor").unwrap();
    b.attest_default()
}

#[test]
fn finding6_mock_event_data_must_match_its_digest() {
    let ev = mock_with_events();
    let v = MockVerifier::trusting_mock_root();
    let c = v.verify(&ev, AT).unwrap();
    let replay = c.event_log.as_ref().unwrap();
    assert!(
        replay
            .iter()
            .all(|r| r.matches && r.unverified_events.is_empty())
    );
    // The description's data replaced, the digest kept: the replay fails
    // naming the event.
    let mut changed = ev.clone();
    changed.event_log.as_mut().unwrap().events[1].data = Some(b"security=none".to_vec());
    let (field, detail) = bad_field(v.verify(&changed, AT).unwrap_err());
    assert_eq!(field, "digest");
    assert!(detail.starts_with("event 1 "), "{detail}");
}

#[test]
fn finding6_mock_event_without_data_is_refused() {
    let mut ev = mock_with_events();
    ev.event_log.as_mut().unwrap().events[1].data = None;
    let (field, detail) = bad_field(
        MockVerifier::trusting_mock_root()
            .verify(&ev, AT)
            .unwrap_err(),
    );
    assert_eq!(field, "data");
    assert!(detail.starts_with("event 1 "), "{detail}");
}

#[test]
fn endorsement_tampering() {
    let ev = MockBackend::new().attest_default();
    let v = MockVerifier::trusting_mock_root();
    let mut no_ak = ev.clone();
    no_ak.endorsements.clear();
    assert!(matches!(
        v.verify(&no_ak, AT),
        Err(Error::Authenticity(Authenticity::MissingEndorsement { .. }))
    ));
    let mut bad = ev.clone();
    bad.endorsements[0].data[100] ^= 1;
    assert!(matches!(v.verify(&bad, AT), Err(Error::Authenticity(_))));
    let mut short = ev;
    short.endorsements[0].data.pop();
    assert!(matches!(v.verify(&short, AT), Err(Error::Malformed(_))));
}

#[test]
fn faults() {
    let b = MockBackend::new();
    b.inject_fault(Fault::Busy);
    b.inject_fault(Fault::DeviceError(0x16));
    b.inject_fault(Fault::CorruptOutput);
    let a = b.attester().unwrap();
    assert!(
        matches!(a.attest(&ReportData::zero()), Err(Error::Device(d)) if d.kind == tee_core::DeviceErrorKind::Busy)
    );
    assert!(matches!(
        a.attest(&ReportData::zero()),
        Err(Error::Device(d)) if d.kind == tee_core::DeviceErrorKind::Firmware(0x16)
    ));
    let corrupt = a.attest(&ReportData::zero()).unwrap();
    assert!(matches!(
        MockVerifier::trusting_mock_root().verify(&corrupt, AT),
        Err(Error::Authenticity(Authenticity::BadSignature { .. }))
    ));
    // Faults are consumed: the next call works.
    assert!(
        MockVerifier::trusting_mock_root()
            .verify(&b.attest_default(), AT)
            .is_ok()
    );
    b.inject_fault(Fault::Busy);
    assert!(
        b.runtime_measurement()
            .unwrap()
            .extend(0, "x", b"x")
            .is_err()
    );
    assert_eq!(
        b.runtime_measurement().unwrap().read(0).unwrap(),
        [0; 48],
        "failed extend must not change the register"
    );
    assert!(
        b.runtime_measurement()
            .unwrap()
            .event_log()
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn sealing_bound_to_measurement_and_machine() {
    let a = MockBackend::builder().measurement([1; 48]).build();
    let same = MockBackend::builder().measurement([1; 48]).build();
    let other_m = MockBackend::builder().measurement([2; 48]).build();
    let other_machine = MockBackend::builder()
        .measurement([1; 48])
        .instance_secret([5; 32])
        .build();
    let pol = SealPolicy::measurement("k");
    let blob = a.sealer().unwrap().seal(b"s3cret", &pol).unwrap();
    assert_eq!(
        &*same.sealer().unwrap().unseal(&blob, &pol).unwrap(),
        b"s3cret"
    );
    for b in [&other_m, &other_machine] {
        assert!(matches!(
            b.sealer().unwrap().unseal(&blob, &pol),
            Err(Error::Unseal(UnsealError::KeyMismatch))
        ));
    }
    // Instance binding survives a measurement change but not a machine change.
    let inst = SealPolicy::new("k", tee_core::SealBinding::Instance);
    let blob = a.sealer().unwrap().seal(b"s3cret", &inst).unwrap();
    assert_eq!(
        &*other_m.sealer().unwrap().unseal(&blob, &inst).unwrap(),
        b"s3cret"
    );
    assert!(
        other_machine
            .sealer()
            .unwrap()
            .unseal(&blob, &inst)
            .is_err()
    );
}

#[test]
fn concurrent_use_matches_sequential() {
    let b = std::sync::Arc::new(MockBackend::new());
    let v = MockVerifier::trusting_mock_root();
    let pol = SealPolicy::measurement("t");
    let handles: Vec<_> = (0..8u8)
        .map(|i| {
            let b = b.clone();
            let v = v.clone();
            let pol = pol.clone();
            std::thread::spawn(move || {
                let rd = ReportData::new([i; 64]);
                let ev = b.attester().unwrap().attest(&rd).unwrap();
                let c = v.verify(&ev, AT).unwrap();
                let blob = b.sealer().unwrap().seal(&[i; 100], &pol).unwrap();
                (
                    c.report_data,
                    b.sealer().unwrap().unseal(&blob, &pol).unwrap().to_vec(),
                )
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (rd, pt) = h.join().unwrap();
        assert_eq!(rd, ReportData::new([i as u8; 64]));
        assert_eq!(pt, vec![i as u8; 100]);
    }
}

#[test]
fn every_byte_flip_is_an_authenticity_failure() {
    let ev = MockBackend::new().attest_default();
    let v = MockVerifier::trusting_mock_root();
    for i in 0..ev.report.len() {
        let mut bad = ev.clone();
        bad.report[i] ^= 0x01;
        let err = v.verify(&bad, AT).unwrap_err();
        assert!(matches!(err, Error::Authenticity(_)), "byte {i}: {err}");
    }
}
