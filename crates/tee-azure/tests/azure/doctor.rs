//! The Azure CVM doctor on the simulated VM's fake TPM: ready on a healthy
//! SNP and TDX VM; each broken part (vTPM silent, HCL index missing or
//! malformed, runtime claims malformed, AK missing or not the HCLAkPub)
//! a `problem` naming the check, with a fix; `run_at_root` never writes to
//! a prepared tree's files.

use std::sync::Arc;

use tee_azure::doctor::{self, DoctorReport, Status, Verdict};
use tee_azure::testing::FakeAzureVm;
use tee_azure::{AK_HANDLE, HCL_REPORT_NV_INDEX, HclTee};
use tee_core::DeviceErrorKind;
use tee_linux::testing::{FakeTpm, TpmFault};
use tee_linux::tpm::Tpm;
use tee_linux::tpm::wire::RsaPublic;

fn statuses(r: &DoctorReport) -> Vec<(&'static str, Status)> {
    r.checks.iter().map(|c| (c.name, c.status)).collect()
}

fn check<'a>(r: &'a DoctorReport, name: &str) -> &'a doctor::CheckResult {
    r.checks.iter().find(|c| c.name == name).unwrap()
}

const NAMES: [&str; 3] = ["azure.vtpm", "azure.hcl_report", "azure.ak"];

fn all(s: [Status; 3]) -> Vec<(&'static str, Status)> {
    NAMES.into_iter().zip(s).collect()
}

#[test]
fn a_healthy_vm_is_ready() {
    for (vm, tee, what) in [
        (FakeAzureVm::snp(), HclTee::Snp, "SEV-SNP"),
        (FakeAzureVm::tdx(), HclTee::Tdx, "TDX"),
    ] {
        let r = doctor::run(&Tpm::new(vm.tpm.clone()));
        assert_eq!(r.verdict, Verdict::Ready, "{}", doctor::render(&r));
        assert_eq!(r.tee, Some(tee));
        assert_eq!(statuses(&r), all([Status::Ok; 3]));
        assert!(check(&r, "azure.hcl_report").detail.contains(what));
        assert!(
            check(&r, "azure.ak").detail.contains("HCLAkPub"),
            "{}",
            check(&r, "azure.ak").detail
        );
        assert!(r.checks.iter().all(|c| c.remediation.is_none()));
        let text = doctor::render(&r);
        assert!(text.contains("behind the paravisor"), "{text}");
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["verdict"], "ready");
        assert_eq!(j["checks"][0]["status"], "ok");
    }
}

/// A TPM with the VM's HCL report and, optionally, a key at the AK handle.
fn tpm_with(hcl: Option<Vec<u8>>, ak: Option<Vec<u8>>) -> FakeTpm {
    let t = FakeTpm::new();
    if let Some(h) = hcl {
        t.set_nv(HCL_REPORT_NV_INDEX, h);
    }
    if let Some(n) = ak {
        t.set_key(
            AK_HANDLE,
            RsaPublic::azure_ak(n),
            Arc::new(|_: &[u8]| vec![0; 256]),
        );
    }
    t
}

fn problem(t: FakeTpm) -> DoctorReport {
    let r = doctor::run(&Tpm::new(t));
    assert_eq!(r.verdict, Verdict::Problem, "{}", doctor::render(&r));
    for c in &r.checks {
        assert_eq!(
            c.remediation.is_some(),
            c.status == Status::Missing,
            "{c:?}"
        );
    }
    r
}

#[test]
fn each_broken_part_is_named_with_a_fix() {
    let vm = FakeAzureVm::snp();
    let hcl = vm.tpm.nv(HCL_REPORT_NV_INDEX).unwrap();
    let ak = tee_azure::testing::ak_modulus();

    // No AK at 0x81000003.
    let r = problem(tpm_with(Some(hcl.clone()), None));
    assert_eq!(statuses(&r), all([Status::Ok, Status::Ok, Status::Missing]));
    assert!(check(&r, "azure.ak").detail.contains("no key"));
    assert!(
        check(&r, "azure.ak")
            .remediation
            .as_deref()
            .unwrap()
            .contains("restart")
    );

    // An AK that is not the runtime claims' HCLAkPub.
    let mut other = ak.clone();
    other[100] ^= 0x40;
    let r = problem(tpm_with(Some(hcl.clone()), Some(other)));
    assert_eq!(statuses(&r), all([Status::Ok, Status::Ok, Status::Missing]));
    assert!(check(&r, "azure.ak").detail.contains("not the HCLAkPub"));

    // No HCL report index: not a CVM size; the AK is still looked at.
    let r = problem(tpm_with(None, Some(ak.clone())));
    assert_eq!(statuses(&r), all([Status::Ok, Status::Missing, Status::Ok]));
    assert!(check(&r, "azure.hcl_report").detail.contains("not defined"));
    assert!(
        check(&r, "azure.hcl_report")
            .remediation
            .as_deref()
            .unwrap()
            .contains("ConfidentialVM")
    );
    assert_eq!(r.tee, None);

    // An NV index that is not an HCL report.
    let r = problem(tpm_with(Some(vec![0x55; 2600]), Some(ak.clone())));
    assert_eq!(check(&r, "azure.hcl_report").status, Status::Missing);
    assert!(
        check(&r, "azure.hcl_report")
            .detail
            .contains("not an HCL report")
    );

    // An HCL report whose runtime claims are not JSON.
    let mut bad = hcl.clone();
    bad[0x4D4] = b'X';
    let r = problem(tpm_with(Some(bad), Some(ak.clone())));
    assert!(
        check(&r, "azure.hcl_report")
            .detail
            .contains("runtime claims"),
        "{}",
        check(&r, "azure.hcl_report").detail
    );

    // A short answer to a read of the report: the read fails, typed.
    let t = tpm_with(Some(hcl), Some(ak));
    t.inject(
        Some(tee_linux::tpm::TpmCommand::NvRead),
        TpmFault::Truncate(12),
    );
    let r = problem(t);
    assert!(
        check(&r, "azure.hcl_report")
            .detail
            .contains("cannot be read"),
        "{}",
        check(&r, "azure.hcl_report").detail
    );
}

#[test]
fn a_silent_vtpm_skips_the_rest() {
    let vm = FakeAzureVm::snp();
    for fault in [
        TpmFault::Transport(DeviceErrorKind::PermissionDenied),
        TpmFault::Truncate(4),
    ] {
        vm.tpm.inject(None, fault);
        let r = problem(vm.tpm.clone());
        assert_eq!(
            statuses(&r),
            all([Status::Missing, Status::Skipped, Status::Skipped])
        );
        assert!(
            check(&r, "azure.vtpm")
                .remediation
                .as_deref()
                .unwrap()
                .contains("tss")
        );
    }
    // An error code is an answer: the vTPM is reachable.
    vm.tpm.inject(
        Some(tee_linux::tpm::TpmCommand::PcrRead),
        TpmFault::ResponseCode(tee_linux::testing::tpm_rc::FAILURE),
    );
    let r = doctor::run(&Tpm::new(vm.tpm.clone()));
    assert_eq!(statuses(&r), all([Status::Ok; 3]));
}

#[test]
fn run_at_root_opens_only_a_character_device() {
    // Nothing there.
    let empty = tempfile::tempdir().unwrap();
    let r = doctor::run_at_root(empty.path());
    assert_eq!(r.verdict, Verdict::Problem);
    assert!(check(&r, "azure.vtpm").detail.contains("no TPM device"));
    // A regular file (a prepared tree): reported, not opened, not written.
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("dev")).unwrap();
    let f = tree.path().join("dev/tpmrm0");
    std::fs::write(&f, "").unwrap();
    let r = doctor::run_at_root(tree.path());
    assert_eq!(
        statuses(&r),
        all([Status::Missing, Status::Skipped, Status::Skipped])
    );
    assert!(
        check(&r, "azure.vtpm")
            .detail
            .contains("not a character device"),
        "{}",
        check(&r, "azure.vtpm").detail
    );
    assert_eq!(
        r.device.as_deref(),
        Some(std::path::Path::new("/dev/tpmrm0"))
    );
    assert_eq!(std::fs::read(&f).unwrap(), b"", "the file was written to");
    // A character device that is no TPM (/dev/null: writes vanish, reads
    // are empty): opened, and it does not answer.
    let null = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(null.path().join("dev")).unwrap();
    std::os::unix::fs::symlink("/dev/null", null.path().join("dev/tpm0")).unwrap();
    let r = doctor::run_at_root(null.path());
    assert_eq!(
        statuses(&r),
        all([Status::Missing, Status::Skipped, Status::Skipped])
    );
    assert!(
        check(&r, "azure.vtpm").detail.contains("does not answer"),
        "{}",
        check(&r, "azure.vtpm").detail
    );
}
