//! End to end with the fake AMD PKI: fake firmware / fake configfs-tsm →
//! evidence → verify (test roots injected explicitly) → appraise; v2, v3
//! and v5 layouts; VCEK and VLEK; sealing; fault injection; conformance.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use tee_core::conformance::{Target, run_all};
use tee_core::evidence::endorsement;
use tee_core::platforms::SnpSigningKey;
use tee_core::{
    Authenticity, Backend, DeviceErrorKind, Error, Operation, PlatformClaims, Policy, ReportData,
    SealBinding, SealPolicy, Support, UnsealError, Verifier, appraise,
};
use tee_linux::testing::FaultOn;
use tee_sev::backend::{DirCache, StaticEndorsements};
use tee_sev::guest::{ConfigfsTsm, FirmwareReports, KeyRoot, Retry, SnpFirmware};
use tee_sev::report::Product;
use tee_sev::seal::SealKeyConfig;
use tee_sev::testing::{EBUSY, FakeFirmware, FakeKernelFs, Fault, at, fake_tsm, pki};
use tee_sev::{SevBackend, SevOptions, SnpVerifier};

fn tsm_backend(fw: Arc<FakeFirmware>) -> (SevBackend, FakeKernelFs) {
    let tsm = fake_tsm(fw.clone());
    let src = ConfigfsTsm::new(tsm.clone(), tsm.root()).with_retry(Retry::immediate(4));
    let b = SevBackend::from_parts(
        Box::new(src),
        Some(fw as Arc<dyn SnpFirmware>),
        SevOptions::default(),
    )
    .unwrap();
    (b, tsm)
}

fn device_backend(fw: Arc<FakeFirmware>, options: SevOptions) -> SevBackend {
    let src = FirmwareReports::new(fw.clone(), Retry::immediate(4));
    let vcek = match fw.signer {
        SnpSigningKey::Vcek => pki(fw.product).vcek(),
        SnpSigningKey::Vlek => pki(fw.product).vlek(),
    };
    SevBackend::from_parts(Box::new(src), Some(fw as Arc<dyn SnpFirmware>), options)
        .unwrap()
        .with_endorsements(Arc::new(StaticEndorsements(vec![(
            endorsement::SIGNING_CERT_DER.into(),
            vcek,
        )])))
}

#[test]
fn conformance_configfs_and_device() {
    for (product, version, key) in [
        (Product::Milan, 2, SnpSigningKey::Vcek),
        (Product::Milan, 3, SnpSigningKey::Vlek),
        (Product::Turin, 5, SnpSigningKey::Vcek),
    ] {
        let fw = Arc::new(FakeFirmware::new(product, version, key));
        let verifier = pki(product).verifier();
        let (backend, tsm) = tsm_backend(fw.clone());
        let target = Target {
            backend: &backend,
            verifier: &verifier,
            at: at(),
            tamper_offsets: vec![
                0x00, 0x08, 0x30, 0x50, 0x90, 0xC0, 0x180, 0x1A0, 0x29F, 0x2A0, 0x2E8,
            ],
        };
        run_all(&target);
        assert_eq!(tsm.open_reports(), 0, "report directories left behind");
        let dev = device_backend(fw.clone(), SevOptions::default());
        run_all(&Target {
            backend: &dev,
            verifier: &verifier,
            at: at(),
            tamper_offsets: vec![0x50, 0x2A0],
        });
    }
}

#[test]
fn end_to_end_every_layout_and_key() {
    for product in [Product::Milan, Product::Genoa, Product::Turin] {
        for version in [2u32, 3, 4, 5] {
            for key in [SnpSigningKey::Vcek, SnpSigningKey::Vlek] {
                let fw = Arc::new(FakeFirmware::new(product, version, key));
                let (backend, tsm) = tsm_backend(fw.clone());
                let rd = ReportData::bind(b"nonce", b"e2e");
                let ev = backend.attester().unwrap().attest(&rd).unwrap();
                assert_eq!(
                    ev.endorsement(endorsement::GHCB_CERT_TABLE),
                    Some(fw.cert_table().as_slice())
                );
                let ctx = format!("{product} v{version} {key:?}");
                let claims = pki(product)
                    .verifier()
                    .verify(&ev, at())
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let PlatformClaims::SevSnp(s) = &claims.platform_claims else {
                    panic!()
                };
                assert_eq!(s.version, version, "{ctx}");
                assert_eq!(s.product, product.name(), "{ctx}");
                assert_eq!(s.signing_key, key, "{ctx}");
                assert_eq!(
                    s.reported_tcb.fmc.is_some(),
                    product == Product::Turin,
                    "{ctx}"
                );
                assert_eq!(claims.report_data, rd);
                assert_eq!(claims.launch_measurement.value().unwrap().0, vec![0x4D; 48]);
                assert_eq!(tsm.privlevels_written().as_slice(), &["0".to_string()]);
                assert_eq!(tsm.removed().len(), 1);
                assert_eq!(tsm.open_reports(), 0);
                // The fake tsm attaches no AMD CRL: opt in explicitly.
                let policy = Policy::default()
                    .expect_report_data(rd)
                    .allow_measurement([0x4D; 48])
                    .with_sev_snp(|s| s.allow_unchecked_revocation(true));
                assert!(
                    appraise(&claims, &policy).passed(),
                    "{ctx}: {:?}",
                    appraise(&claims, &policy)
                );
                // The pinned AMD roots do not trust the fake PKI.
                assert!(
                    matches!(
                        SnpVerifier::new().verify(&ev, at()),
                        Err(Error::Authenticity(_))
                    ),
                    "{ctx}"
                );
            }
        }
    }
}

#[test]
fn v2_without_product_name_unsupported_and_wrong_roots() {
    // A Milan report verified by Turin test roots: no root for Milan.
    let fw = Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek));
    let (b, _t) = tsm_backend(fw);
    let ev = b.attester().unwrap().attest(&ReportData::zero()).unwrap();
    assert!(matches!(
        pki(Product::Turin).verifier().verify(&ev, at()),
        Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
    ));
    // A rogue ARK (same name, other key) supplied in the evidence: untrusted.
    let p = pki(Product::Milan);
    let ev2 = ev.clone().with_endorsement(
        endorsement::CERT_CHAIN_PEM,
        tee_sev::verify::to_pem(&p.rogue_ark).into_bytes(),
    );
    assert!(matches!(
        p.verifier().verify(&ev2, at()),
        Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
    ));
}

#[test]
fn leaf_extension_checks() {
    use tee_sev::cert_table::{CertKind, build};
    let p = pki(Product::Milan);
    let fw = FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek);
    let rd = [7u8; 64];
    let report = fw.make_report(&rd, 0);
    let with_leaf = |leaf: Vec<u8>| {
        tee_core::Evidence::new(
            tee_core::Platform::SevSnp,
            tee_core::evidence::format::SEV_SNP_REPORT,
            report.clone(),
        )
        .with_endorsement(
            endorsement::GHCB_CERT_TABLE,
            build(&[(CertKind::Vcek, &leaf)]),
        )
    };
    // Wrong TCB in the VCEK.
    let leaf = p.leaf(
        SnpSigningKey::Vcek,
        0x7308_0000_0000_0004,
        None,
        (tee_sev::testing::NOT_BEFORE, tee_sev::testing::NOT_AFTER),
    );
    assert!(matches!(
        p.verifier().verify(&with_leaf(leaf), at()),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "reported TCB",
            ..
        }))
    ));
    // Wrong hwID.
    let leaf = p.leaf(
        SnpSigningKey::Vcek,
        p.reported_tcb,
        Some(&[9u8; 64]),
        (tee_sev::testing::NOT_BEFORE, tee_sev::testing::NOT_AFTER),
    );
    assert!(matches!(
        p.verifier().verify(&with_leaf(leaf), at()),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "chip id",
            ..
        }))
    ));
    // Expired and not yet valid.
    let leaf = p.leaf(
        SnpSigningKey::Vcek,
        p.reported_tcb,
        None,
        (tee_sev::testing::NOT_BEFORE, 1_750_000_000),
    );
    assert!(matches!(
        p.verifier().verify(&with_leaf(leaf), at()),
        Err(Error::Authenticity(Authenticity::Expired { .. }))
    ));
    let leaf = p.leaf(
        SnpSigningKey::Vcek,
        p.reported_tcb,
        None,
        (1_900_000_000, tee_sev::testing::NOT_AFTER),
    );
    assert!(matches!(
        p.verifier().verify(&with_leaf(leaf), at()),
        Err(Error::Authenticity(Authenticity::NotYetValid { .. }))
    ));
    // Turin: only the first 8 bytes of the chip id are the hwID.
    let t = pki(Product::Turin);
    let tfw = FakeFirmware::new(Product::Turin, 5, SnpSigningKey::Vcek);
    let mut report = tfw.make_report(&rd, 0);
    report[0x1A0 + 20] = 1;
    tee_sev::testing::sign_report(&mut report, &t.vcek_key);
    let ev = tee_core::Evidence::new(
        tee_core::Platform::SevSnp,
        tee_core::evidence::format::SEV_SNP_REPORT,
        report,
    )
    .with_endorsement(endorsement::SIGNING_CERT_DER, t.vcek());
    assert!(matches!(
        t.verifier().verify(&ev, at()),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "chip id",
            ..
        }))
    ));
}

#[test]
fn fault_injection() {
    let fw = Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek));
    let (b, tsm) = tsm_backend(fw.clone());
    let att = b.attester().unwrap();
    let rd = ReportData::zero();
    // EBUSY on configfs operations is retried.
    tsm.inject(FaultOn::Any, EBUSY, 3);
    att.attest(&rd).unwrap();
    // ... up to the retry limit.
    tsm.inject(FaultOn::Any, EBUSY, 100);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Busy),
        other => panic!("{other:?}"),
    }
    tsm.clear_faults();
    // A concurrent writer: retried, then reported.
    tsm.inject_concurrent_writer(1);
    att.attest(&rd).unwrap();
    tsm.inject_concurrent_writer(100);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::ConcurrentUse),
        other => panic!("{other:?}"),
    }
    tsm.clear_faults();
    assert_eq!(tsm.open_reports(), 0, "directories removed even on failure");
    // Firmware faults through the device path.
    let dev = device_backend(fw.clone(), SevOptions::default());
    let att = dev.attester().unwrap();
    fw.inject(&[Fault::Busy, Fault::Busy]);
    att.attest(&rd).unwrap();
    fw.inject(&[Fault::Firmware(0x16)]);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Firmware(0x16)),
        other => panic!("{other:?}"),
    }
    fw.inject(&[Fault::Garbage]);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::CorruptOutput),
        other => panic!("{other:?}"),
    }
    fw.inject(&[Fault::WrongReportData]);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::CorruptOutput),
        other => panic!("{other:?}"),
    }
    assert!(fw.faults.lock().unwrap().is_empty());
}

#[test]
fn configfs_provider_privlevel_and_hostile_auxblob() {
    let fw = Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek));
    // Another provider.
    let t = fake_tsm(fw.clone());
    t.set_provider("tdx_guest");
    let src = ConfigfsTsm::new(t.clone(), t.root());
    assert!(matches!(src.probe(), Err(Error::Unsupported(_))));
    let b = SevBackend::from_parts(Box::new(src), None, SevOptions::default()).unwrap();
    assert!(matches!(
        b.attester().unwrap().attest(&ReportData::zero()),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(t.open_reports(), 0);
    // Missing root.
    let src = ConfigfsTsm::new(tee_sev::guest::StdFs, "/nonexistent/tsm/report");
    match src.probe() {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    // privlevel floor above the requested VMPL.
    let t = fake_tsm(fw.clone());
    t.set_privlevel_floor(Some(2));
    let b = SevBackend::from_parts(
        Box::new(ConfigfsTsm::new(t.clone(), t.root())),
        None,
        SevOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        b.attester().unwrap().attest(&ReportData::zero()),
        Err(Error::Misuse(_))
    ));
    // VMPL 2 explicitly: written as privlevel and echoed.
    let b = SevBackend::from_parts(
        Box::new(ConfigfsTsm::new(t.clone(), t.root())),
        None,
        SevOptions {
            vmpl: 2,
            ..SevOptions::default()
        },
    )
    .unwrap();
    let ev = b.attester().unwrap().attest(&ReportData::zero()).unwrap();
    assert_eq!(&ev.report[0x30..0x34], &2u32.to_le_bytes());
    assert_eq!(t.privlevels_written().as_slice(), &["2".to_string()]);
    assert!(
        SevBackend::from_parts(
            Box::new(ConfigfsTsm::new(t.clone(), t.root())),
            None,
            SevOptions {
                vmpl: 4,
                ..SevOptions::default()
            }
        )
        .is_err()
    );
    // A hostile certificate table from the host.
    let t = fake_tsm(fw.clone());
    let mut aux = fw.cert_table();
    aux[16..20].copy_from_slice(&0xFFFF_0000u32.to_le_bytes());
    t.set_auxblob(Some(aux));
    let b = SevBackend::from_parts(
        Box::new(ConfigfsTsm::new(t.clone(), t.root())),
        None,
        SevOptions::default(),
    )
    .unwrap();
    match b.attester().unwrap().attest(&ReportData::zero()) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::CorruptOutput),
        other => panic!("{other:?}"),
    }
    // No auxblob: evidence without endorsements, verification needs the VCEK.
    let t = fake_tsm(fw.clone());
    t.set_auxblob(None);
    let b = SevBackend::from_parts(
        Box::new(ConfigfsTsm::new(t.clone(), t.root())),
        None,
        SevOptions::default(),
    )
    .unwrap();
    let ev = b.attester().unwrap().attest(&ReportData::zero()).unwrap();
    assert!(ev.endorsements.is_empty());
    assert!(matches!(
        pki(Product::Milan).verifier().verify(&ev, at()),
        Err(Error::Authenticity(Authenticity::MissingEndorsement { .. }))
    ));
    // Without firmware: sealing unsupported with a reason; never runtime measurement.
    let caps = b.capabilities();
    assert!(matches!(caps.sealing, Support::Unsupported(ref r) if r.contains("/dev/sev-guest")));
    assert!(matches!(b.sealer(), Err(Error::Unsupported(u)) if u.operation == Operation::Sealing));
    assert!(
        matches!(b.runtime_measurement(), Err(Error::Unsupported(u)) if u.reason.contains("no runtime measurement"))
    );
}

fn sealer_backend(fw: FakeFirmware, seal: SealKeyConfig) -> SevBackend {
    device_backend(Arc::new(fw), SevOptions { vmpl: 0, seal })
}

#[test]
fn sealing_bindings() {
    let pol = SealPolicy::measurement("db");
    let fam = SealPolicy::new("db", SealBinding::Family);
    let base = || FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek);
    let b = sealer_backend(base(), SealKeyConfig::default());
    let s = b.sealer().unwrap();
    let blob = s.seal(b"secret", &pol).unwrap();
    let fblob = s.seal(b"family secret", &fam).unwrap();
    assert_eq!(&*s.unseal(&blob, &pol).unwrap(), b"secret");
    // key_params record root, field select (policy | measurement | tcb), vmpl, svn, tcb.
    let h = tee_core::seal::inspect(&blob).unwrap();
    let req = tee_sev::guest::DerivedKeyRequest::from_params(&h.key_params).unwrap();
    assert_eq!(req.root, KeyRoot::Vcek);
    assert_eq!(req.field_select, 0b10_1001);
    assert_eq!(req.tcb_version, 0x7308_0000_0000_0003);

    // Same chip, relaunched with another measurement: measurement-bound blob
    // refused, family-bound blob opens.
    let mut other = base();
    other.measurement = [0x99; 48];
    other.vmrk = [0x72; 32];
    let b2 = sealer_backend(other, SealKeyConfig::default());
    let s2 = b2.sealer().unwrap();
    assert!(matches!(
        s2.unseal(&blob, &pol),
        Err(Error::Unseal(UnsealError::KeyMismatch))
    ));
    assert_eq!(&*s2.unseal(&fblob, &fam).unwrap(), b"family secret");

    // Another chip: refused.
    let mut chip = base();
    chip.chip_secret = [0xC2; 32];
    let b3 = sealer_backend(chip, SealKeyConfig::default());
    assert!(matches!(
        b3.sealer().unwrap().unseal(&blob, &pol),
        Err(Error::Unseal(UnsealError::KeyMismatch))
    ));

    // A TCB update (higher reported and committed TCB): the recorded older
    // TCB is still derivable, so the blob opens.
    let mut upd = base();
    upd.reported_tcb = 0x7408_0000_0000_0003;
    upd.committed_tcb = 0x7408_0000_0000_0003;
    let b4 = sealer_backend(upd, SealKeyConfig::default());
    assert_eq!(
        &*b4.sealer().unwrap().unseal(&blob, &pol).unwrap(),
        b"secret"
    );
    // A rollback below the recorded TCB: firmware refuses.
    let mut down = base();
    down.reported_tcb = 0x7208_0000_0000_0003;
    down.committed_tcb = 0x7208_0000_0000_0003;
    let b5 = sealer_backend(down, SealKeyConfig::default());
    match b5.sealer().unwrap().unseal(&blob, &pol) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Firmware(0x16)),
        other => panic!("{other:?}"),
    }

    // VMRK: does not survive a relaunch (new VMRK).
    let vmrk = SealKeyConfig {
        root: KeyRoot::Vmrk,
        ..SealKeyConfig::default()
    };
    let b6 = sealer_backend(base(), vmrk);
    let vblob = b6.sealer().unwrap().seal(b"ephemeral", &pol).unwrap();
    assert_eq!(
        &*b6.sealer().unwrap().unseal(&vblob, &pol).unwrap(),
        b"ephemeral"
    );
    let mut relaunch = base();
    relaunch.vmrk = [0x73; 32];
    let b7 = sealer_backend(relaunch, vmrk);
    assert!(matches!(
        b7.sealer().unwrap().unseal(&vblob, &pol),
        Err(Error::Unseal(UnsealError::KeyMismatch))
    ));

    // A blob whose key_params claim another binding's fields is refused.
    let iblob = s
        .seal(b"x", &SealPolicy::new("db", SealBinding::Instance))
        .unwrap();
    assert!(
        s.unseal(&iblob, &SealPolicy::new("db", SealBinding::Instance))
            .is_ok()
    );

    // Busy key requests are retried; firmware errors are typed.
    let fw = Arc::new(base());
    let b8 = device_backend(fw.clone(), SevOptions::default());
    let blob8 = b8.sealer().unwrap().seal(b"retry", &pol).unwrap();
    fw.inject(&[Fault::Busy, Fault::Busy]);
    assert_eq!(
        &*b8.sealer().unwrap().unseal(&blob8, &pol).unwrap(),
        b"retry"
    );
    fw.inject(&[Fault::Firmware(0x27)]);
    match b8.sealer().unwrap().unseal(&blob8, &pol) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Firmware(0x27)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dir_cache_endorsements() {
    let fw = Arc::new(FakeFirmware::new(Product::Turin, 5, SnpSigningKey::Vcek));
    let p = pki(Product::Turin);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("Turin");
    let hw = base.join(hex::encode(&p.chip_id[..8]));
    std::fs::create_dir_all(&hw).unwrap();
    std::fs::write(hw.join(format!("{:016x}.der", p.reported_tcb)), p.vcek()).unwrap();
    let src = FirmwareReports::new(fw.clone(), Retry::immediate(1));
    let b = SevBackend::from_parts(Box::new(src), None, SevOptions::default())
        .unwrap()
        .with_endorsements(Arc::new(DirCache {
            dir: dir.path().to_path_buf(),
        }));
    let ev = b.attester().unwrap().attest(&ReportData::zero()).unwrap();
    assert_eq!(ev.endorsements.len(), 1);
    p.verifier().verify(&ev, at()).unwrap();
    // An empty cache: no endorsements, no error.
    let src = FirmwareReports::new(fw, Retry::immediate(1));
    let empty = tempfile::tempdir().unwrap();
    let b = SevBackend::from_parts(Box::new(src), None, SevOptions::default())
        .unwrap()
        .with_endorsements(Arc::new(DirCache {
            dir: empty.path().to_path_buf(),
        }));
    assert!(
        b.attester()
            .unwrap()
            .attest(&ReportData::zero())
            .unwrap()
            .endorsements
            .is_empty()
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn signed() -> &'static (Vec<u8>, Vec<u8>) {
        static S: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
        S.get_or_init(|| {
            let fw = FakeFirmware::new(Product::Turin, 5, SnpSigningKey::Vcek);
            (fw.make_report(&[3; 64], 0), fw.cert_table())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any change to a genuine, signed report or its certificate table is
        /// rejected with a typed error, never a panic.
        #[test]
        fn mutated_evidence_rejected(edits in prop::collection::vec((0usize..0x4A0, any::<u8>()), 1..4),
                                     tedits in prop::collection::vec((0usize..4096, any::<u8>()), 0..3)) {
            let (report, table) = signed();
            let mut r = report.clone();
            for (o, v) in &edits {
                r[*o] = *v;
            }
            let mut t = table.clone();
            for (o, v) in &tedits {
                let i = o % t.len();
                t[i] = *v;
            }
            let ev = tee_core::Evidence::new(tee_core::Platform::SevSnp, tee_core::evidence::format::SEV_SNP_REPORT, r.clone())
                .with_endorsement(endorsement::GHCB_CERT_TABLE, t.clone());
            let res = pki(Product::Turin).verifier().verify(&ev, at());
            if r == *report && t == *table {
                prop_assert!(res.is_ok());
            } else if r != *report {
                prop_assert!(matches!(res, Err(Error::Authenticity(_) | Error::Malformed(_) | Error::Unsupported(_))));
            }
        }

        /// Hostile auxblobs never panic the attester.
        #[test]
        fn hostile_auxblob(aux in prop::collection::vec(any::<u8>(), 0..200)) {
            let fw = Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek));
            let t = fake_tsm(fw);
            t.set_auxblob(Some(aux));
            let b = SevBackend::from_parts(Box::new(ConfigfsTsm::new(t.clone(), t.root())), None, SevOptions::default()).unwrap();
            let _ = b.attester().unwrap().attest(&ReportData::zero());
            prop_assert_eq!(t.open_reports(), 0);
        }
    }
}

/// The `sev` 8.0.0 parser agrees with ours on fake reports of every layout.
#[cfg(target_os = "linux")]
#[test]
fn differential_fake_reports() {
    use sev::firmware::guest::AttestationReport;
    use sev::parser::ByteParser;
    use tee_sev::report::SnpReport;
    for product in Product::ALL {
        for version in [2u32, 3, 5] {
            let raw =
                FakeFirmware::new(product, version, SnpSigningKey::Vcek).make_report(&[9; 64], 0);
            let ours = SnpReport::parse(&raw).unwrap();
            let theirs = AttestationReport::from_bytes(&raw).unwrap();
            assert_eq!(ours.version, theirs.version);
            assert_eq!(ours.policy, u64::from(theirs.policy));
            assert_eq!(ours.chip_id, &theirs.chip_id);
            assert_eq!(ours.measurement, &theirs.measurement);
            assert_eq!(ours.launch_mit_vector, theirs.launch_mit_vector);
            let d = ours.reported_tcb.decode(product);
            let s = theirs.reported_tcb;
            assert_eq!(
                (d.fmc, d.bootloader, d.tee, d.snp, d.microcode),
                (s.fmc, s.bootloader, s.tee, s.snp, s.microcode),
                "{product} v{version}"
            );
            assert_eq!(ours.sig_r, theirs.signature.r());
        }
    }
}

/// On a machine without SEV-SNP guest interfaces, `open` says so with a typed error.
#[test]
fn open_on_this_machine() {
    let has_tsm = std::path::Path::new(tee_linux::TSM_REPORT_ROOT).exists();
    let has_dev = std::path::Path::new(tee_sev::guest::SEV_GUEST_DEVICE).exists();
    match SevBackend::open() {
        Ok(b) => assert!(has_tsm || has_dev, "opened without interfaces: {b:?}"),
        Err(Error::Unsupported(u)) => {
            assert_eq!(u.operation, Operation::Open);
            assert!(
                u.reason.contains("sev_guest") || u.reason.contains("not an SEV-SNP guest"),
                "{}",
                u.reason
            );
        }
        Err(Error::Device(d)) => assert!(has_tsm || has_dev, "{d:?}"),
        Err(e) => panic!("{e}"),
    }
}

/// On SEV-SNP hardware: `cargo test -p tee-sev --test backend -- --ignored`.
#[test]
#[ignore = "needs an SEV-SNP guest (root)"]
fn hardware_attest_verify_seal() {
    let b = SevBackend::open().expect("open");
    let rd = ReportData::bind(b"hardware", b"test");
    let ev = b.attester().unwrap().attest(&rd).unwrap();
    assert_eq!(&ev.report[0x50..0x90], rd.as_bytes());
    assert_eq!(
        &ev.report[0x30..0x34],
        &0u32.to_le_bytes(),
        "VMPL 0 requested explicitly"
    );
    let report = tee_sev::SnpReport::parse(&ev.report).unwrap();
    eprintln!(
        "version {} product {:?} tcb {:#x}",
        report.version,
        report.product(),
        report.reported_tcb.0
    );
    // With host-provided certificates (auxblob) the pinned roots verify it.
    if ev.endorsement(endorsement::GHCB_CERT_TABLE).is_some() {
        let c = SnpVerifier::new()
            .verify(&ev, tee_core::UnixTime::now())
            .unwrap();
        assert_eq!(c.report_data, rd);
    }
    if let Ok(s) = b.sealer() {
        let pol = SealPolicy::measurement("hardware-test");
        let blob = s.seal(b"hello", &pol).unwrap();
        assert_eq!(&*s.unseal(&blob, &pol).unwrap(), b"hello");
    }
}

/// A host table carrying both a VCEK and a VLEK: the report's KEY_INFO picks.
#[test]
fn table_with_both_leaves() {
    use tee_sev::cert_table::{CertKind, build};
    let p = pki(Product::Genoa);
    for key in [SnpSigningKey::Vcek, SnpSigningKey::Vlek] {
        let fw = FakeFirmware::new(Product::Genoa, 3, key);
        let table = build(&[
            (CertKind::Vcek, &p.vcek()),
            (CertKind::Vlek, &p.vlek()),
            (CertKind::Ark, &p.ark),
        ]);
        let ev = tee_core::Evidence::new(
            tee_core::Platform::SevSnp,
            tee_core::evidence::format::SEV_SNP_REPORT,
            fw.make_report(&[1; 64], 0),
        )
        .with_endorsement(endorsement::GHCB_CERT_TABLE, table);
        let c = p.verifier().verify(&ev, at()).unwrap();
        let PlatformClaims::SevSnp(s) = &c.platform_claims else {
            panic!()
        };
        assert_eq!(s.signing_key, key);
    }
}

#[test]
fn concurrent_report_requests_never_mix_outputs() {
    // Many threads request reports through one backend over one fake
    // configfs-tsm tree at the same time: each gets its own report
    // directory, and every report carries exactly its own report data.
    let fw = Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek));
    let (b, tsm) = tsm_backend(fw);
    let verifier = pki(Product::Milan).verifier();
    // 14 threads, 6 reports each (84, the old copy asked for 80).
    tee_core::conformance::concurrent_attestations_never_mix(
        &Target {
            backend: &b,
            verifier: &verifier,
            at: at(),
            tamper_offsets: Vec::new(),
        },
        14,
    );
    assert_eq!(tsm.open_reports(), 0, "every report directory removed");
}
