//! The TDX doctor against fake guests and hosts: the verdict, every check's
//! status, the error a failed round trip returned and its remediation.

use std::path::Path;

use tee_tdx::doctor::{self, DoctorEnv, Role, Status, Verdict};
use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn status(r: &doctor::DoctorReport, name: &str) -> Status {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {:?}", r.checks))
        .status
}

fn check<'a>(r: &'a doctor::DoctorReport, name: &str) -> &'a doctor::CheckResult {
    r.checks.iter().find(|c| c.name == name).unwrap()
}

/// A TD guest root: the device node, the CPU flag and a 6.16 kernel.
fn guest_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "/dev/tdx_guest", b"");
    write(
        d.path(),
        "/proc/cpuinfo",
        b"vendor_id\t: GenuineIntel\nflags\t\t: fpu hypervisor tdx_guest\n",
    );
    write(d.path(), "/proc/sys/kernel/osrelease", b"6.16.3-tdx\n");
    d
}

fn guest(kernel: &FakeKernel, root: &Path) -> DoctorEnv {
    DoctorEnv::with_guest(root, &kernel.config(root.join("app.log")))
}

#[test]
fn a_working_td_guest_is_ready() {
    let root = guest_root();
    if let Some(v) =
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    {
        let ccel = v.join("go-tdx-guest/ccel");
        write(
            root.path(),
            tee_tdx::guest::CCEL_TABLE,
            &std::fs::read(ccel.join("ccel_table.dat")).unwrap(),
        );
        write(
            root.path(),
            tee_tdx::guest::CCEL_DATA,
            &std::fs::read(ccel.join("ccel_data.dat")).unwrap(),
        );
    }
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    let r = doctor::run(&guest(&k, root.path()));
    assert_eq!(r.role, Role::Guest);
    assert_eq!(r.verdict, Verdict::Ready, "{:#?}", r.checks);
    for name in [
        "dev.tdx_guest",
        "tdreport",
        "configfs-tsm",
        "configfs-tsm.provider",
        "quote",
        "rtmr.sysfs",
    ] {
        assert_eq!(
            status(&r, name),
            Status::Ok,
            "{name}: {:?}",
            check(&r, name)
        );
    }
    assert!(
        check(&r, "quote").detail.contains("v4 quote"),
        "{:?}",
        check(&r, "quote")
    );
    if root.path().join("sys/firmware/acpi/tables/CCEL").exists() {
        assert_eq!(status(&r, "ccel"), Status::Ok);
        assert!(
            check(&r, "ccel").detail.contains("43 events"),
            "{:?}",
            check(&r, "ccel")
        );
    } else {
        assert_eq!(status(&r, "ccel"), Status::Warn);
    }
    assert_eq!(k.open_reports(), 0, "the doctor left configfs-tsm entries");
    assert!(doctor::render(&r).contains("TDX: role guest"));
}

#[test]
fn a_failing_quote_is_a_problem_with_its_error_and_a_fix() {
    let root = guest_root();
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    // The host's quote service does not answer: outblob reads fail with EIO.
    k.fs().inject(
        tee_linux::testing::FaultOn::Read("outblob".into()),
        libc::EIO,
        u32::MAX,
    );
    let r = doctor::run(&guest(&k, root.path()));
    assert_eq!(r.verdict, Verdict::Problem);
    assert_eq!(status(&r, "tdreport"), Status::Ok);
    let q = check(&r, "quote");
    assert_eq!(q.status, Status::Missing);
    assert!(q.detail.contains("quote request failed"), "{}", q.detail);
    assert!(q.remediation.as_deref().unwrap().contains("qgsd"), "{q:?}");

    // A CWT instead of a DCAP quote: unsupported, said so.
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    k.override_outblob(Some(vec![0xd2; 100]));
    let r = doctor::run(&guest(&k, root.path()));
    assert_eq!(r.verdict, Verdict::Problem);
    assert!(
        check(&r, "quote").detail.contains("CWT"),
        "{:?}",
        check(&r, "quote")
    );

    // Busy: the fix says retry.
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    k.inject_busy(u32::MAX);
    let r = doctor::run(&guest(&k, root.path()));
    assert!(
        check(&r, "quote")
            .remediation
            .as_deref()
            .unwrap()
            .contains("retry")
    );
}

#[test]
fn missing_interfaces_are_each_named() {
    let root = guest_root();
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    k.set_interfaces(false, false);
    let r = doctor::run(&guest(&k, root.path()));
    assert_eq!(r.verdict, Verdict::Problem);
    assert_eq!(status(&r, "configfs-tsm"), Status::Missing);
    assert_eq!(status(&r, "quote"), Status::Missing);
    assert_eq!(status(&r, "rtmr.sysfs"), Status::Warn);
    assert!(
        check(&r, "rtmr.sysfs")
            .remediation
            .as_deref()
            .unwrap()
            .contains("6.16")
    );
    assert_eq!(status(&r, "tdreport"), Status::Ok);

    // Another provider behind configfs-tsm.
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    k.fs().set_provider("sev_guest");
    let r = doctor::run(&guest(&k, root.path()));
    assert_eq!(status(&r, "configfs-tsm.provider"), Status::Missing);
    assert_eq!(r.verdict, Verdict::Problem);

    // An old kernel: no configfs-tsm at all, named by the kernel check.
    write(root.path(), "/proc/sys/kernel/osrelease", b"6.5.0\n");
    let k = FakeKernel::new(TestPki::default(), FakeTd::default());
    let r = doctor::run(&guest(&k, root.path()));
    assert_eq!(status(&r, "kernel"), Status::Missing);
    assert_eq!(r.verdict, Verdict::Problem);

    // The device node without a working ioctl (a plain file): the error shown.
    let plain = guest_root();
    let r = doctor::run(&DoctorEnv::at_root(plain.path()));
    assert_eq!(r.verdict, Verdict::Problem);
    let t = check(&r, "tdreport");
    assert_eq!(t.status, Status::Missing);
    assert!(
        t.detail.contains("TDX_CMD_GET_REPORT0 failed"),
        "{}",
        t.detail
    );
}

#[test]
fn hosts_ready_or_not() {
    let h = tempfile::tempdir().unwrap();
    write(
        h.path(),
        "/proc/cpuinfo",
        b"vendor_id : GenuineIntel\nflags : fpu vmx tdx_host_platform\n",
    );
    write(h.path(), "/sys/module/kvm_intel/parameters/tdx", b"Y\n");
    write(h.path(), "/dev/kvm", b"");
    let env = DoctorEnv::at_root(h.path()).with_kernel_log(Some(
        "virt/tdx: BIOS enabled: private KeyID range [16, 64)\nvirt/tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20240129, build_num 698\nvirt/tdx: module initialized\n".into(),
    ));
    let r = doctor::run(&env);
    assert_eq!(r.role, Role::Host);
    // No quote generation service: not ready.
    assert_eq!(r.verdict, Verdict::Problem);
    assert_eq!(status(&r, "qgs"), Status::Missing);
    assert!(
        check(&r, "tdx-module.version")
            .detail
            .contains("minor_version 5")
    );
    assert_eq!(status(&r, "kernel-log.tdx"), Status::Ok);
    write(h.path(), doctor::QGS_SOCKET, b"");
    let r = doctor::run(&env);
    assert_eq!(r.verdict, Verdict::Ready, "{:#?}", r.checks);

    // Module initialisation failed in the kernel log: a problem.
    let bad = env
        .clone()
        .with_kernel_log(Some("virt/tdx: module initialization failed (-5)\n".into()));
    let r = doctor::run(&bad);
    assert_eq!(r.verdict, Verdict::Problem);
    assert_eq!(status(&r, "kernel-log.tdx"), Status::Missing);

    // KVM without TDX.
    write(h.path(), "/sys/module/kvm_intel/parameters/tdx", b"N\n");
    let r = doctor::run(&env);
    assert_eq!(status(&r, "kvm_intel.tdx"), Status::Missing);
    assert!(
        check(&r, "kvm_intel.tdx")
            .remediation
            .as_deref()
            .unwrap()
            .contains("tdx=Y")
    );
}

#[test]
fn no_tdx_is_no_capability() {
    let empty = tempfile::tempdir().unwrap();
    let r = doctor::run(&DoctorEnv::at_root(empty.path()));
    assert_eq!(r.role, Role::None);
    assert_eq!(r.verdict, Verdict::NoCapability);
    assert!(r.checks.iter().all(|c| c.status != Status::Missing));
    // An AMD VM (this kind of machine): no TDX either.
    write(
        empty.path(),
        "/proc/cpuinfo",
        b"vendor_id : AuthenticAMD\nflags : fpu hypervisor\n",
    );
    assert_eq!(
        doctor::run(&DoctorEnv::at_root(empty.path())).verdict,
        Verdict::NoCapability
    );
    assert_eq!(doctor::kernel_version("6.16.3-tdx"), Some((6, 16)));
    assert_eq!(doctor::kernel_version("junk"), None);
}
