use super::*;

fn sim_backend() -> PefBackend {
    PefBackend::with_ultracalls(
        Arc::new(SimSvmProcess::new(secure_vm(), 7, 1)),
        PefConfig::default(),
    )
}

const AT: UnixTime = UnixTime::from_secs(1_790_000_000);

#[test]
fn conformance_on_the_simulator() {
    let be = sim_backend();
    let v = PefVerifier::with_key(&ATTEST_KEY).unwrap();
    tee_core::conformance::run_all(&tee_core::conformance::Target {
        backend: &be,
        verifier: &v,
        at: AT,
        tamper_offsets: (0..208).collect(),
    });
}

#[test]
fn owner_rooted_evidence_round_trip_and_rejections() {
    let be = sim_backend();
    let rd = ReportData::bind(b"nonce", b"user");
    let ev = be.attester().unwrap().attest(&rd).unwrap();
    assert_eq!(ev.format, "pef-owner-mac-v1");
    assert_eq!(ev.report.len(), 208);
    let v = PefVerifier::with_key(&ATTEST_KEY).unwrap();
    let c = v.verify(&ev, AT).unwrap();
    assert_eq!(c.report_data, rd);
    assert_eq!(c.trust, tee_core::TrustRoot::Owner);
    assert!(!c.debug);
    assert_eq!(c.verified_at, AT);
    // The blob's ESM measurement is the launch measurement, and a relying
    // party recomputes it from the files it expects.
    let expected = Digests::for_slof(KERNEL, INITRD, BOOTARGS)
        .unwrap()
        .measurement();
    assert_eq!(c.launch_measurement.value().unwrap().0, expected.to_vec());
    match &c.platform_claims {
        tee_core::PlatformClaims::Pef(p) => {
            assert!(
                p.trust_statement
                    .starts_with("owner-rooted, not hardware-rooted")
            );
            assert_eq!(p.key_id.0, tee_pef::report::key_id(&ATTEST_KEY).to_vec());
            assert_eq!(p.version, 1);
        }
        other => panic!("{other:?}"),
    }
    // No key: MissingEndorsement explaining the key is needed.
    match PefVerifier::new().verify(&ev, AT) {
        Err(Error::Authenticity(Authenticity::MissingEndorsement { what })) => {
            assert!(
                what.contains("attestation key") && what.contains("with_key"),
                "{what}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Wrong key: untrusted.
    assert!(matches!(
        PefVerifier::with_key(&[0x33; 32]).unwrap().verify(&ev, AT),
        Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
    ));
    // MAC, report data or measurement flipped: bad signature.
    for off in [50, 120, 207] {
        let mut bad = ev.clone();
        bad.report[off] ^= 1;
        assert!(matches!(
            v.verify(&bad, AT),
            Err(Error::Authenticity(Authenticity::BadSignature {
                what: "PEF owner MAC"
            }))
        ));
    }
    // Version: rejected before anything else.
    let mut v2 = ev.clone();
    v2.report[8] = 2;
    assert!(matches!(
        v.verify(&v2, AT),
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::UnsupportedVersion(2),
            ..
        }))
    ));
    // Reserved flag bits.
    let mut fl = ev.clone();
    fl.report[13] = 1;
    assert!(matches!(
        v.verify(&fl, AT),
        Err(Error::Malformed(tee_core::Malformed {
            kind: MalformedKind::ReservedNonZero { offset: 12 },
            ..
        }))
    ));
    let mut short = ev.clone();
    short.report.truncate(100);
    assert!(matches!(v.verify(&short, AT), Err(Error::Malformed(_))));
    let mut wrong = ev.clone();
    wrong.platform = tee_core::Platform::Mock;
    assert!(matches!(v.verify(&wrong, AT), Err(Error::Misuse(_))));
    assert!(PefVerifier::with_key(&[1; 16]).is_err());
}

#[test]
fn without_a_measurement_attachment_the_measurement_is_not_applicable() {
    let origin_pub = origin().recipient().unwrap();
    let mut b = EsmBlobBuilder::new(&origin_pub, "").unwrap();
    b.authorize(
        &tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap()).unwrap(),
        "",
    )
    .unwrap();
    b.set_digests(&Digests::for_slof(KERNEL, INITRD, BOOTARGS).unwrap(), "")
        .unwrap();
    b.attach("attest-key", &ATTEST_KEY, "").unwrap();
    let w = cpio::wrap_initrd(INITRD, &b.build().unwrap(), "esmb.dtb").unwrap();
    let mut uv = machine_a().boot().unwrap();
    assert_eq!(
        launch(&mut uv, 3, &GuestImage::new(KERNEL.to_vec(), w, BOOTARGS)).uv_rc,
        U_SUCCESS
    );
    let uv = Arc::new(Mutex::new(uv));
    let be =
        PefBackend::with_ultracalls(Arc::new(SimSvmProcess::new(uv, 3, 1)), PefConfig::default());
    let rd = ReportData::bind(b"n", b"");
    let ev = be.attester().unwrap().attest(&rd).unwrap();
    assert_eq!(&ev.report[12..16], &[0, 0, 0, 0]);
    let c = PefVerifier::with_key(&ATTEST_KEY)
        .unwrap()
        .verify(&ev, AT)
        .unwrap();
    match &c.launch_measurement {
        tee_core::Claim::NotApplicable(r) => assert!(r.contains("esm-measurement")),
        other => panic!("{other:?}"),
    }
    // A second attestation uses the cached absence, not another ultracall.
    assert!(be.attester().unwrap().attest(&rd).is_ok());
    // A policy with reference measurements fails closed on it.
    let policy = tee_core::Policy::new()
        .expect_report_data(rd)
        .allow_measurement(
            Digests::for_slof(KERNEL, INITRD, BOOTARGS)
                .unwrap()
                .measurement(),
        );
    assert!(!tee_core::appraise(&c, &policy).passed());
}

#[test]
fn appraisal_names_the_owner_root() {
    let be = sim_backend();
    let rd = ReportData::bind(b"n", b"");
    let ev = be.attester().unwrap().attest(&rd).unwrap();
    let claims = PefVerifier::with_key(&ATTEST_KEY)
        .unwrap()
        .verify(&ev, AT)
        .unwrap();
    let mut policy = tee_core::Policy::new().expect_report_data(rd);
    // No reference measurement: fails closed on the measurement check only.
    let failed: Vec<_> = tee_core::appraise(&claims, &policy)
        .failed()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(failed, ["measurement"]);
    let m = claims
        .launch_measurement
        .value()
        .expect("PEF claims carry a measurement")
        .clone();
    policy = policy.allow_measurement(m);
    let a = tee_core::appraise(&claims, &policy);
    assert!(a.passed(), "{a:?}");
    let c = a
        .checks
        .iter()
        .find(|c| c.name == "pef.trust_root")
        .unwrap();
    assert_eq!(c.outcome, tee_core::Outcome::Passed);
    assert!(c.detail.contains("not a hardware signature"));
    policy.pef.allowed_key_ids = vec![tee_core::HexBytes::from([0u8; 32])];
    assert!(!tee_core::appraise(&claims, &policy).passed());
    policy.pef.allowed_key_ids = vec![tee_core::HexBytes::from(tee_pef::report::key_id(
        &ATTEST_KEY,
    ))];
    assert!(tee_core::appraise(&claims, &policy).passed());
}

#[test]
fn sealing_is_bound_to_the_provisioned_secret() {
    let be = sim_backend();
    let pol = SealPolicy::measurement("db");
    let blob = be.sealer().unwrap().seal(b"data", &pol).unwrap();
    assert_eq!(&*be.sealer().unwrap().unseal(&blob, &pol).unwrap(), b"data");
    // Another owner secret (a VM admitted by another blob) cannot open it.
    let cfg = PefConfig {
        attestation_key_file: "attest-key".into(),
        sealing_key_file: "attest-key".into(),
        ..PefConfig::default()
    };
    let other = PefBackend::with_ultracalls(Arc::new(SimSvmProcess::new(secure_vm(), 7, 1)), cfg);
    assert!(matches!(
        other.sealer().unwrap().unseal(&blob, &pol),
        Err(Error::Unseal(tee_core::UnsealError::KeyMismatch))
    ));
    let inst = SealPolicy::new("x", SealBinding::Instance);
    assert!(matches!(
        be.sealer().unwrap().seal(b"d", &inst),
        Err(Error::Unsupported(_))
    ));
    assert!(
        matches!(be.runtime_measurement(), Err(Error::Unsupported(u)) if u.operation == Operation::RuntimeMeasurement && u.reason.contains("no runtime measurement"))
    );
}

#[test]
fn detection_with_a_fake_sysfs() {
    let d = tempfile::tempdir().unwrap();
    match PefBackend::open_at(d.path(), PefConfig::default()) {
        Err(Error::Unsupported(u)) => {
            assert_eq!(u.operation, Operation::Open);
            assert!(u.reason.contains("/sys/devices/system/cpu/svm"));
        }
        other => panic!("{other:?}"),
    }
    let f = d.path().join("sys/devices/system/cpu");
    std::fs::create_dir_all(&f).unwrap();
    std::fs::write(f.join("svm"), "0\n").unwrap();
    assert!(
        matches!(PefBackend::open_at(d.path(), PefConfig::default()), Err(Error::Unsupported(u)) if u.reason.contains("svm=on"))
    );
    std::fs::write(f.join("svm"), "banana\n").unwrap();
    assert!(matches!(
        PefBackend::open_at(d.path(), PefConfig::default()),
        Err(Error::Device(_))
    ));
    std::fs::write(f.join("svm"), "1\n").unwrap();
    let be = PefBackend::open_at(d.path(), PefConfig::default()).unwrap();
    let caps = be.capabilities();
    assert!(!caps.attestation.is_supported());
    assert!(!caps.sealing.is_supported());
    assert!(
        matches!(be.attester(), Err(Error::Unsupported(u)) if u.operation == Operation::Attestation)
    );
    assert!(
        matches!(be.secret("crypttab"), Err(Error::Unsupported(u)) if u.operation == Operation::SecretProvisioning)
    );
    tee_core::conformance::run_all(&tee_core::conformance::Target {
        backend: &be,
        verifier: &PefVerifier::new(),
        at: AT,
        tamper_offsets: vec![],
    });
    // The real root on this (non-PEF) host.
    assert!(PefBackend::open().is_err());
}

#[test]
fn machine_directory_round_trip() {
    let d = tempfile::tempdir().unwrap();
    machine_a().save(d.path()).unwrap();
    let pem = std::fs::read(d.path().join("tpm-pub.pem")).unwrap();
    assert_eq!(pem, machine_a().public_pem().unwrap());
    let m = SimMachine::load(d.path()).unwrap();
    let mut uv = m.boot().unwrap();
    assert_eq!(launch(&mut uv, 1, &image(built_a())).uv_rc, U_SUCCESS);
    assert!(SimMachine::load(&d.path().join("missing")).is_err());
}
