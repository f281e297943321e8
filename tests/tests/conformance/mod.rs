//! The backend conformance suite (`tee_core::conformance::run_all`, which
//! includes the concurrent-attestation scenario) on every backend that can
//! run without hardware: the mock, fake SEV-SNP (fake firmware behind the
//! fake configfs-tsm), fake TDX (the `tee-tdx` `testing` fakes) and the PEF
//! simulator (the `tee-pef` `sim` feature).

use std::sync::{Arc, Mutex};

use tee_core::conformance::{Target, run_all};
use tee_core::{Backend, UnixTime};

#[test]
fn conformance_on_the_mock() {
    let backend = tee_mock::MockBackend::new();
    let verifier = tee_mock::MockVerifier::trusting_mock_root();
    run_all(&Target {
        backend: &backend,
        verifier: &verifier,
        at: UnixTime::from_secs(1_750_000_000),
        tamper_offsets: Vec::new(),
    });
}

#[test]
fn conformance_on_fake_sev_snp() {
    use tee_core::platforms::SnpSigningKey;
    use tee_sev::guest::{ConfigfsTsm, Retry, SnpFirmware};
    use tee_sev::report::Product;
    use tee_sev::testing::{FakeFirmware, at, fake_tsm, pki};
    for (product, version, key) in [
        (Product::Milan, 3, SnpSigningKey::Vcek),
        (Product::Genoa, 3, SnpSigningKey::Vlek),
    ] {
        let fw = Arc::new(FakeFirmware::new(product, version, key));
        let tsm = fake_tsm(fw.clone());
        let src = ConfigfsTsm::new(tsm.clone(), tsm.root()).with_retry(Retry::immediate(4));
        let backend = tee_sev::SevBackend::from_parts(
            Box::new(src),
            Some(fw as Arc<dyn SnpFirmware>),
            tee_sev::SevOptions::default(),
        )
        .unwrap();
        let verifier = pki(product).verifier();
        run_all(&Target {
            backend: &backend,
            verifier: &verifier,
            at: at(),
            tamper_offsets: Vec::new(),
        });
        assert_eq!(tsm.open_reports(), 0, "report directories left behind");
    }
}

#[test]
fn conformance_on_fake_tdx() {
    use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};
    let pki = TestPki::default();
    let kernel = FakeKernel::new(pki.clone(), FakeTd::default());
    let dir = tempfile::tempdir().unwrap();
    let backend = tee_tdx::TdxBackend::with_config(kernel.config(dir.path().join("log"))).unwrap();
    let verifier =
        tee_tdx::danger::verifier_with_test_root(pki.root_der.clone()).without_collateral();
    run_all(&Target {
        backend: &backend,
        verifier: &verifier,
        at: UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap(),
        tamper_offsets: Vec::new(),
    });
    assert_eq!(kernel.open_reports(), 0, "report directories are removed");
}

#[test]
fn conformance_on_the_pef_simulator() {
    use tee_pef::esm::{Digests, EsmBlobBuilder};
    use tee_pef::machine::{SimMachine, launch};
    use tee_pef::uv::GuestImage;
    const KERNEL: &[u8] = b"conformance kernel";
    const INITRD: &[u8] = b"conformance initramfs";
    const BOOTARGS: &str = "root=/dev/vda svm=on";
    const ATTEST_KEY: [u8; 32] = [0x5A; 32];

    let origin = tee_pef::crypto::RsaKeyPair::generate().unwrap();
    let machine = SimMachine::create().unwrap();
    let mut b = EsmBlobBuilder::new(&origin.recipient().unwrap(), "owner key").unwrap();
    let m = tee_pef::crypto::RecipientKey::from_pem(&machine.public_pem().unwrap()).unwrap();
    b.authorize(&m, "machine").unwrap();
    b.set_digests(
        &Digests::for_slof(KERNEL, INITRD, BOOTARGS).unwrap(),
        "digests",
    )
    .unwrap();
    b.attach_measurement().unwrap();
    b.attach("attest-key", &ATTEST_KEY, "attestation key")
        .unwrap();
    b.attach("seal-key", &[0x6B; 48], "sealing secret").unwrap();
    let blob = b.build().unwrap();
    let initrd = tee_pef::cpio::wrap_initrd(INITRD, &blob, "esmb.dtb").unwrap();
    let mut uv = machine.boot().unwrap();
    let o = launch(
        &mut uv,
        7,
        &GuestImage::new(KERNEL.to_vec(), initrd, BOOTARGS),
    );
    assert_eq!(o.uv_rc, tee_pef::abi::U_SUCCESS, "{:?}", o.failure);
    let backend = tee_pef::PefBackend::with_ultracalls(
        Arc::new(tee_pef::SimSvmProcess::new(Arc::new(Mutex::new(uv)), 7, 1)),
        tee_pef::PefConfig::default(),
    );
    assert_eq!(backend.platform(), tee_core::Platform::Pef);
    let verifier = tee_pef::PefVerifier::with_key(&ATTEST_KEY).unwrap();
    run_all(&Target {
        backend: &backend,
        verifier: &verifier,
        at: UnixTime::from_secs(1_790_000_000),
        tamper_offsets: (0..208).collect(),
    });
}
