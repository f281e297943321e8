//! End to end on a simulated Azure SNP and TDX VM (fake TPM, fake AMD/Intel
//! PKIs): the attester (what `teectl report` runs) produces evidence that
//! the verifier accepts and appraisal passes with `allow_vtpm` and the
//! nonce; the conformance suite passes; the TPM's failures surface typed.

use tee_azure::testing::{FakeAzureVm, at};
use tee_azure::{AzureVerifier, HclTee, USER_DATA_NV_INDEX};
use tee_core::conformance::{self, Target};
use tee_core::platforms::QualifyingDataRule;
use tee_core::{
    Attester as _, Backend as _, DeviceErrorKind, Error, Evidence, Platform, Policy, ReportData,
    Verifier as _, appraise,
};
use tee_linux::testing::{TpmFault, tpm_rc};
use tee_linux::tpm::TpmCommand;

fn policy(rd: ReportData) -> Policy {
    Policy::new()
        .allow_vtpm(true)
        .allow_any_measurement(true)
        .expect_report_data(rd)
        .with_sev_snp(|mut p| {
            p.allow_unchecked_revocation = true;
            p
        })
}

fn round_trip(vm: &FakeAzureVm, platform: Platform) {
    let backend = vm.backend().unwrap();
    assert_eq!(backend.platform(), platform);
    let rd = ReportData::bind(b"verifier nonce", b"");
    let ev = backend.attester().unwrap().attest(&rd).unwrap();
    // Through JSON, as `teectl report` writes and `teectl verify` reads it.
    let ev = Evidence::from_json(ev.to_json().unwrap().as_bytes()).unwrap();
    let v = vm.verifier();
    let c = v.verify(&ev, at()).unwrap();
    assert_eq!(c.report_data, rd);
    let vt = c.vtpm.as_ref().unwrap();
    assert_eq!(
        vt.qualifying_data_rule,
        QualifyingDataRule::Sha384OfReportData
    );
    assert_eq!(
        &vt.qualifying_data[..],
        &QualifyingDataRule::sha384_of(&rd)[..]
    );
    assert!(vt.user_data_binds_qualifying_data);
    assert!(vt.warnings.is_empty(), "{:?}", vt.warnings);
    let a = appraise(&c, &policy(rd));
    assert!(a.passed(), "{:#?}", a.failed().collect::<Vec<_>>());
    // Another nonce, or vTPM not allowed: denied.
    assert!(!appraise(&c, &policy(ReportData::bind(b"other", b""))).passed());
    let mut p = policy(rd);
    p.allow_vtpm = false;
    assert!(!appraise(&c, &p).passed());
    // Claims naming a different report data than the quote: refused.
    let mut bad = ev.clone();
    bad.endorsements
        .iter_mut()
        .find(|e| e.kind == tee_azure::evidence::VTPM_REPORT_DATA)
        .unwrap()
        .data[0] ^= 1;
    assert!(matches!(
        v.verify(&bad, at()),
        Err(Error::Authenticity(tee_core::Authenticity::Mismatch {
            what: "vTPM report data",
            ..
        }))
    ));
    // The real (pinned-root) verifiers refuse the fake PKI.
    let real = match platform {
        Platform::SevSnp => AzureVerifier::new(tee_sev::SnpVerifier::new()),
        _ => AzureVerifier::new(tee_tdx::TdxVerifier::new().without_collateral()),
    };
    assert!(matches!(
        real.verify(&ev, at()),
        Err(Error::Authenticity(_))
    ));
}

#[test]
fn azure_snp_vm_end_to_end() {
    let vm = FakeAzureVm::snp();
    assert_eq!(vm.tee, HclTee::Snp);
    round_trip(&vm, Platform::SevSnp);
}

#[test]
fn azure_tdx_vm_end_to_end() {
    let vm = FakeAzureVm::tdx();
    round_trip(&vm, Platform::Tdx);
}

fn conformance_on(vm: &FakeAzureVm) {
    let backend = vm.backend().unwrap();
    let verifier = vm.verifier();
    conformance::run_all(&Target {
        backend: &backend,
        verifier: &verifier,
        at: at(),
        // The hardware report (SNP: report data, measurement, TCB; TDX:
        // the TDREPORT's hashes, report data, MRTD) and the runtime claims.
        tamper_offsets: match vm.tee {
            HclTee::Snp => vec![
                0x20 + 0x50,
                0x20 + 0x90,
                0x20 + 0x180,
                0x4D4 + 3,
                0x4D4 + 200,
            ],
            HclTee::Tdx => vec![
                0x20 + 40,
                0x20 + 90,
                0x20 + 130,
                0x20 + 530,
                0x4D4 + 3,
                0x4D4 + 200,
            ],
        },
    });
}

#[test]
fn conformance_suite_on_the_azure_snp_backend() {
    conformance_on(&FakeAzureVm::snp());
}

#[test]
fn conformance_suite_on_the_azure_tdx_backend() {
    conformance_on(&FakeAzureVm::tdx());
}

#[test]
fn tpm_failures_are_typed_and_name_the_command() {
    let vm = FakeAzureVm::snp();
    let att = vm.attester().unwrap();
    let rd = ReportData::zero();
    // Busy: retried within the budget.
    vm.tpm.inject(Some(TpmCommand::Quote), TpmFault::Retry(2));
    att.attest(&rd).unwrap();
    // A hard error: a firmware error naming TPM2_Quote.
    vm.tpm.inject(
        Some(TpmCommand::Quote),
        TpmFault::ResponseCode(tpm_rc::FAILURE),
    );
    let e = att.attest(&rd).unwrap_err();
    assert!(
        matches!(&e, Error::Device(d) if d.kind == DeviceErrorKind::Firmware(0x101)),
        "{e}"
    );
    assert!(e.to_string().contains("TPM2_Quote"), "{e}");
    // A short response: corrupt output.
    vm.tpm
        .inject(Some(TpmCommand::NvRead), TpmFault::Truncate(12));
    let e = att.attest(&rd).unwrap_err();
    assert!(
        matches!(&e, Error::Device(d) if d.kind == DeviceErrorKind::CorruptOutput),
        "{e}"
    );
    // The user-data index exists with another size: undefined and redefined.
    vm.tpm.set_nv(USER_DATA_NV_INDEX, vec![1; 7]);
    att.attest(&rd).unwrap();
    assert_eq!(vm.tpm.nv(USER_DATA_NV_INDEX).unwrap().len(), 48);
    // A paravisor that never regenerates the report: a busy timeout.
    vm.tpm
        .set_nv_write_hook(std::sync::Arc::new(|_, _: &[u8]| Vec::new()), 0);
    let e = att.attest(&ReportData::new([9; 64])).unwrap_err();
    assert!(
        matches!(&e, Error::Device(d) if d.kind == DeviceErrorKind::Busy),
        "{e}"
    );
}

#[test]
fn a_stale_report_is_waited_for() {
    let vm = FakeAzureVm::snp();
    let att = vm.attester().unwrap();
    // Regenerated only after more reads (the Azure "stale report" case):
    // the attester polls until user-data is what it wrote.
    vm.set_stale_reads(7);
    let before = vm.tpm.log().len();
    let ev = att.attest(&ReportData::new([1; 64])).unwrap();
    let reads = vm.tpm.log()[before..]
        .iter()
        .filter(|c| **c == TpmCommand::NvRead)
        .count();
    assert!(reads >= 7, "{reads} NV reads");
    let c = vm.verifier().verify(&ev, at()).unwrap();
    assert_eq!(c.report_data, ReportData::new([1; 64]));
}

#[test]
fn not_an_azure_vm() {
    let tpm = tee_linux::testing::FakeTpm::new();
    let e = tee_azure::probe_hcl(&tee_linux::tpm::Tpm::new(tpm)).unwrap_err();
    assert!(
        matches!(&e, Error::Device(d) if d.kind == DeviceErrorKind::NotFound),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        tee_azure::open_with_root(dir.path()),
        Err(Error::Device(d)) if d.kind == DeviceErrorKind::NotFound
    ));
}
