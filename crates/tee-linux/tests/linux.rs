//! The configfs-tsm client and the sysfs registers against the fake kernel
//! filesystem: the happy path and every fault path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tee_core::{DeviceErrorKind, Error, Platform};
use tee_linux::testing::{FakeKernelFs, FaultOn, OutblobRequest, extend_sha384};
use tee_linux::{KernelFs, Retry, StdFs, SysfsRegisters, TsmReportClient};

const ROOT: &str = "/fake/sys/kernel/config/tsm/report";

/// An outblob that echoes the request: privlevel byte, then the inblob.
fn echo(r: &OutblobRequest<'_>) -> std::io::Result<Vec<u8>> {
    let mut v = vec![u8::try_from(r.privlevel).unwrap_or(0xFF)];
    v.extend_from_slice(r.inblob);
    Ok(v)
}

fn sev_like() -> FakeKernelFs {
    let f = FakeKernelFs::new(ROOT, "sev_guest", echo);
    f.set_privlevel_floor(Some(0));
    f.set_auxblob(Some(b"certs".to_vec()));
    f
}

fn tdx_like() -> FakeKernelFs {
    FakeKernelFs::new(ROOT, "tdx_guest", echo)
}

fn client(f: &FakeKernelFs, provider: &'static str) -> TsmReportClient<FakeKernelFs> {
    TsmReportClient::new(f.clone(), ROOT, provider, Platform::SevSnp)
        .with_retry(Retry::immediate(4))
}

/// The report succeeded and its outblob echoes `inblob` after the privlevel byte.
fn assert_echoed(r: tee_core::Result<tee_linux::TsmReport>, inblob: &[u8]) {
    let r = r.expect("report");
    assert_eq!(&r.outblob[1..], inblob);
}

fn kind(r: tee_core::Result<impl std::fmt::Debug>) -> DeviceErrorKind {
    match r {
        Err(Error::Device(d)) => d.kind,
        other => panic!("expected a device error, got {other:?}"),
    }
}

#[test]
fn report_with_privlevel_and_auxblob() {
    let f = sev_like();
    let c = client(&f, "sev_guest");
    c.probe().unwrap();
    let r = c.report(&[7; 64], Some(2)).unwrap();
    assert_eq!(r.outblob[0], 2, "privlevel reached the provider");
    assert_eq!(&r.outblob[1..], &[7; 64]);
    assert_eq!(r.auxblob.as_deref(), Some(&b"certs"[..]));
    assert_eq!(f.privlevels_written(), vec!["2".to_string()]);
    assert_eq!(f.open_reports(), 0);
    assert_eq!(f.removed().len(), 2, "probe and report directories removed");
    assert!(
        f.removed()
            .iter()
            .all(|p| p.parent() == Some(Path::new(ROOT)))
    );
}

#[test]
fn report_without_privlevel_or_auxblob() {
    let f = tdx_like();
    let c = client(&f, "tdx_guest");
    let r = c.report(&[9; 64], None).unwrap();
    assert_eq!(r.outblob[0], 0);
    assert_eq!(&r.outblob[1..], &[9; 64]);
    assert_eq!(r.auxblob, None);
    assert!(f.privlevels_written().is_empty());
    // An empty auxblob is no auxblob.
    let f = sev_like();
    f.set_auxblob(Some(Vec::new()));
    assert_eq!(
        client(&f, "sev_guest")
            .report(&[1; 64], Some(0))
            .unwrap()
            .auxblob,
        None
    );
    // Asking for a privlevel where the provider has none: the attribute is absent.
    let f = tdx_like();
    assert_eq!(
        kind(client(&f, "tdx_guest").report(&[1; 64], Some(0))),
        DeviceErrorKind::NotFound
    );
    assert_eq!(f.open_reports(), 0);
}

#[test]
fn another_provider_is_unsupported() {
    let f = tdx_like();
    let c = client(&f, "sev_guest");
    assert!(matches!(c.probe(), Err(Error::Unsupported(u)) if u.platform == Platform::SevSnp));
    assert!(matches!(
        c.report(&[0; 64], None),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(f.open_reports(), 0);
    assert_eq!(c.provider(), "sev_guest");
}

#[test]
fn bad_requests_are_misuse() {
    let f = sev_like();
    let c = client(&f, "sev_guest");
    assert!(matches!(c.report(&[0; 65], None), Err(Error::Misuse(_))));
    assert!(matches!(c.report(&[0; 64], Some(4)), Err(Error::Misuse(_))));
    f.set_privlevel_floor(Some(2));
    assert!(matches!(c.report(&[0; 64], Some(1)), Err(Error::Misuse(_))));
    assert_echoed(c.report(&[0; 64], Some(2)), &[0; 64]);
    assert_eq!(f.open_reports(), 0);
    // A short inblob reaches the kernel, which needs 64 bytes for a report.
    assert_eq!(kind(c.report(&[0; 32], Some(2))), DeviceErrorKind::Io);
    assert_eq!(f.open_reports(), 0);
}

#[test]
fn busy_is_retried_then_reported() {
    for on in [
        FaultOn::Any,
        FaultOn::Mkdir,
        FaultOn::Read("outblob".into()),
        FaultOn::Write("inblob".into()),
        FaultOn::Read("generation".into()),
        FaultOn::Read("auxblob".into()),
        FaultOn::Write("privlevel".into()),
        FaultOn::Close("inblob".into()),
    ] {
        let f = sev_like();
        let c = client(&f, "sev_guest");
        f.inject(on.clone(), libc::EBUSY, 3);
        assert!(
            c.report(&[1; 64], Some(0)).is_ok(),
            "{on:?}: 3 busy within 4 attempts"
        );
        f.inject(on.clone(), libc::EAGAIN, 4);
        assert_eq!(
            kind(c.report(&[1; 64], Some(0))),
            DeviceErrorKind::Busy,
            "{on:?}"
        );
        f.clear_faults();
        assert_eq!(f.open_reports(), 0, "{on:?}");
    }
    // The retry count is the policy's.
    let f = tdx_like();
    f.inject(FaultOn::Read("outblob".into()), libc::EBUSY, 5);
    let c = TsmReportClient::new(f.clone(), ROOT, "tdx_guest", Platform::Tdx)
        .with_retry(Retry::immediate(6));
    assert_echoed(c.report(&[1; 64], None), &[1; 64]);
    assert_eq!(c.retry(), Retry::immediate(6));
}

#[test]
fn errors_are_typed_and_not_retried() {
    for (errno, expect) in [
        (libc::EACCES, DeviceErrorKind::PermissionDenied),
        (libc::EPERM, DeviceErrorKind::PermissionDenied),
        (libc::ENOENT, DeviceErrorKind::NotFound),
        (libc::EIO, DeviceErrorKind::Io),
        (libc::EINVAL, DeviceErrorKind::Io),
    ] {
        for on in [
            FaultOn::Mkdir,
            FaultOn::Read("provider".into()),
            FaultOn::Read("generation".into()),
            FaultOn::Read("privlevel_floor".into()),
            FaultOn::Write("privlevel".into()),
            FaultOn::Write("inblob".into()),
            FaultOn::Close("inblob".into()),
            FaultOn::Read("outblob".into()),
            FaultOn::Read("auxblob".into()),
        ] {
            let f = sev_like();
            f.inject(on.clone(), errno, 1);
            assert_eq!(
                kind(client(&f, "sev_guest").report(&[1; 64], Some(0))),
                expect,
                "{on:?} {errno}"
            );
            // One fault, one failure: not retried, and the next request works.
            assert!(
                client(&f, "sev_guest").report(&[1; 64], Some(0)).is_ok(),
                "{on:?}"
            );
            assert_eq!(f.open_reports(), 0, "{on:?}");
        }
    }
}

#[test]
fn a_rejected_close_commits_nothing() {
    let f = sev_like();
    f.inject(FaultOn::Close("privlevel".into()), libc::EINVAL, 1);
    assert_eq!(
        kind(client(&f, "sev_guest").report(&[1; 64], Some(1))),
        DeviceErrorKind::Io
    );
    assert!(f.privlevels_written().is_empty());
}

#[test]
fn a_concurrent_writer_is_detected_retried_and_reported() {
    let f = sev_like();
    let c = client(&f, "sev_guest");
    f.inject_concurrent_writer(1);
    let r = c.report(&[3; 64], Some(0)).unwrap();
    assert_eq!(&r.outblob[1..], &[3; 64], "the retry carries our data");
    f.inject_concurrent_writer(2);
    assert!(
        c.report(&[3; 64], Some(0)).is_ok(),
        "two races within three attempts"
    );
    f.inject_concurrent_writer(u32::MAX);
    assert_eq!(
        kind(c.report(&[3; 64], Some(0))),
        DeviceErrorKind::ConcurrentUse
    );
    // Without retries the first race is reported.
    f.inject_concurrent_writer(1);
    let c1 = client(&f, "sev_guest").with_race_attempts(1);
    assert_eq!(
        kind(c1.report(&[3; 64], Some(0))),
        DeviceErrorKind::ConcurrentUse
    );
    // Also without privlevel (one write expected).
    let f = tdx_like();
    f.inject_concurrent_writer(u32::MAX);
    assert_eq!(
        kind(client(&f, "tdx_guest").report(&[3; 64], None)),
        DeviceErrorKind::ConcurrentUse
    );
    f.clear_faults();
    assert_echoed(client(&f, "tdx_guest").report(&[3; 64], None), &[3; 64]);
    assert_eq!(f.open_reports(), 0);
}

#[test]
fn leftover_directories_are_skipped_and_rmdir_failures_tolerated() {
    let f = tdx_like();
    let c = client(&f, "tdx_guest");
    f.inject(FaultOn::Mkdir, libc::EEXIST, 15);
    assert_echoed(c.report(&[1; 64], None), &[1; 64]); // 16 names tried
    f.inject(FaultOn::Mkdir, libc::EEXIST, 16);
    assert_eq!(kind(c.report(&[1; 64], None)), DeviceErrorKind::Io);
    f.clear_faults();
    // A failed rmdir does not fail the request; the directory stays.
    f.inject(FaultOn::Rmdir, libc::EBUSY, 1);
    assert_echoed(c.report(&[1; 64], None), &[1; 64]);
    assert_eq!(f.open_reports(), 1);
    assert_echoed(c.report(&[1; 64], None), &[1; 64]);
    assert_eq!(f.open_reports(), 1, "later directories removed");
}

#[test]
fn corrupt_attributes() {
    // Oversized blobs.
    let f = FakeKernelFs::new(ROOT, "tdx_guest", |_| Ok(vec![0; 40 << 10]));
    assert_eq!(
        kind(client(&f, "tdx_guest").report(&[1; 64], None)),
        DeviceErrorKind::CorruptOutput
    );
    let f = tdx_like();
    f.set_outblob_override(Some(vec![0; 100]));
    let c = client(&f, "tdx_guest").with_max_blob(99);
    assert_eq!(
        kind(c.report(&[1; 64], None)),
        DeviceErrorKind::CorruptOutput
    );
    assert_eq!(
        client(&f, "tdx_guest")
            .with_max_blob(100)
            .report(&[1; 64], None)
            .unwrap()
            .outblob,
        vec![0; 100]
    );
    let f = sev_like();
    f.set_auxblob(Some(vec![1; 101]));
    let c = client(&f, "sev_guest").with_max_blob(100);
    assert_eq!(
        kind(c.report(&[1; 64], Some(0))),
        DeviceErrorKind::CorruptOutput
    );
    assert_eq!(f.open_reports(), 0);
    // The provider's own errors reach the caller typed.
    let f = FakeKernelFs::new(ROOT, "tdx_guest", |_| {
        Err(std::io::Error::from_raw_os_error(libc::EIO))
    });
    assert_eq!(
        kind(client(&f, "tdx_guest").report(&[1; 64], None)),
        DeviceErrorKind::Io
    );
    assert_eq!(f.open_reports(), 0);
}

#[test]
fn generation_that_is_not_a_number() {
    // A generation attribute with garbage (a misbehaving filesystem).
    #[derive(Debug)]
    struct BadGen(FakeKernelFs);
    impl KernelFs for BadGen {
        fn mkdir(&self, p: &Path) -> std::io::Result<()> {
            self.0.mkdir(p)
        }
        fn rmdir(&self, p: &Path) -> std::io::Result<()> {
            self.0.rmdir(p)
        }
        fn read(&self, p: &Path) -> std::io::Result<Vec<u8>> {
            if p.ends_with("generation") {
                Ok(b"x1\n".to_vec())
            } else {
                self.0.read(p)
            }
        }
        fn write(&self, p: &Path, d: &[u8]) -> std::io::Result<()> {
            self.0.write(p, d)
        }
        fn exists(&self, p: &Path) -> bool {
            self.0.exists(p)
        }
    }
    let f = tdx_like();
    let c = TsmReportClient::new(BadGen(f.clone()), ROOT, "tdx_guest", Platform::Tdx);
    assert_eq!(
        kind(c.report(&[1; 64], None)),
        DeviceErrorKind::CorruptOutput
    );
    assert_eq!(f.open_reports(), 0);
}

#[test]
fn absent_interface() {
    let f = tdx_like();
    f.set_tsm_present(false);
    let c = client(&f, "tdx_guest");
    assert_eq!(kind(c.probe()), DeviceErrorKind::NotFound);
    assert_eq!(kind(c.report(&[1; 64], None)), DeviceErrorKind::NotFound);
    let c = TsmReportClient::new(
        StdFs,
        "/nonexistent/tsm/report",
        "sev_guest",
        Platform::SevSnp,
    );
    assert_eq!(kind(c.probe()), DeviceErrorKind::NotFound);
    assert_eq!(
        TsmReportClient::system("sev_guest", Platform::SevSnp).root(),
        Path::new(tee_linux::TSM_REPORT_ROOT)
    );
}

#[test]
fn concurrent_requests_never_mix_outputs() {
    let f = sev_like();
    let c = Arc::new(client(&f, "sev_guest"));
    let handles: Vec<_> = (0..8u8)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..20u8 {
                    let rd = [t.wrapping_mul(32).wrapping_add(i); 64];
                    let r = c.report(&rd, Some(u32::from(i % 4))).unwrap();
                    assert_eq!(r.outblob[0], i % 4);
                    assert_eq!(&r.outblob[1..], &rd);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(f.open_reports(), 0);
    assert_eq!(f.removed().len(), 160);
}

#[test]
fn std_fs_against_a_temp_tree() {
    let dir = tempfile::tempdir().unwrap();
    let attr = dir.path().join("inblob");
    std::fs::write(&attr, b"").unwrap();
    // One write at offset 0, closed with its result checked.
    StdFs.write(&attr, b"new").unwrap();
    assert_eq!(StdFs.read(&attr).unwrap(), b"new".to_vec());
    let missing = StdFs.read(&dir.path().join("outblob")).unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    let d = dir.path().join("d");
    StdFs.mkdir(&d).unwrap();
    assert!(StdFs.exists(&d));
    assert_eq!(
        StdFs.mkdir(&d).unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    StdFs.rmdir(&d).unwrap();
    assert!(!StdFs.exists(&d));
    // Writing to a full device fails at write or close, and says so.
    if Path::new("/dev/full").exists() {
        assert!(StdFs.write(Path::new("/dev/full"), &[0; 64]).is_err());
    }
    // A directory that is not configfs: mkdir works but no attributes
    // appear; the error is typed and the report directory is removed again.
    let c = TsmReportClient::new(StdFs, dir.path(), "tdx_guest", Platform::Tdx)
        .with_retry(Retry::immediate(1));
    assert_eq!(kind(c.report(&[0; 64], None)), DeviceErrorKind::NotFound);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("inblob")]);
}

const MR: &str = "/fake/sys/devices/virtual/misc/tdx_guest/measurements";

fn registers(f: &FakeKernelFs) -> SysfsRegisters<FakeKernelFs> {
    let names: Vec<String> = (0..4).map(|i| format!("rtmr{i}:sha384")).collect();
    for (i, n) in names.iter().enumerate() {
        f.add_register(
            PathBuf::from(MR).join(n),
            vec![u8::try_from(i).unwrap(); 48],
            extend_sha384,
        );
    }
    SysfsRegisters::new(f.clone(), MR, names, 48)
}

#[test]
fn registers_read_and_extend() {
    let f = tdx_like();
    let r = registers(&f);
    assert_eq!(r.count(), 4);
    assert_eq!(r.digest_len(), 48);
    assert_eq!(r.dir(), Path::new(MR));
    assert!(r.exists(3) && !r.exists(4));
    assert!(f.exists(Path::new(MR)));
    assert_eq!(r.read(2).unwrap(), vec![2; 48]);
    r.extend(3, &[9; 48]).unwrap();
    let want = extend_sha384(&[3; 48], &[9; 48]);
    assert_eq!(r.read(3).unwrap(), want);
    assert_eq!(f.register(&r.path(3).unwrap()).unwrap(), want);
    // Another process extends behind our back.
    f.extend_register(&r.path(3).unwrap(), &[1; 48]);
    assert_eq!(r.read(3).unwrap(), extend_sha384(&want, &[1; 48]));
}

#[test]
fn register_faults() {
    let f = tdx_like();
    let r = registers(&f);
    assert!(matches!(r.read(4), Err(Error::Misuse(_))));
    assert!(matches!(r.extend(4, &[0; 48]), Err(Error::Misuse(_))));
    assert!(matches!(r.extend(3, &[0; 47]), Err(Error::Misuse(_))));
    f.inject(FaultOn::Read("rtmr1:sha384".into()), libc::EACCES, 1);
    assert_eq!(kind(r.read(1)), DeviceErrorKind::PermissionDenied);
    assert_eq!(r.read(1).unwrap(), vec![1; 48]);
    f.inject(FaultOn::Write("rtmr3:sha384".into()), libc::EIO, 1);
    assert_eq!(kind(r.extend(3, &[0; 48])), DeviceErrorKind::Io);
    f.inject(FaultOn::Close("rtmr3:sha384".into()), libc::EINVAL, 1);
    assert_eq!(kind(r.extend(3, &[0; 48])), DeviceErrorKind::Io);
    assert_eq!(r.read(3).unwrap(), vec![3; 48], "nothing was extended");
    // A register of the wrong size is corrupt output.
    f.add_register(
        PathBuf::from(MR).join("rtmr0:sha384"),
        vec![0; 32],
        extend_sha384,
    );
    assert_eq!(kind(r.read(0)), DeviceErrorKind::CorruptOutput);
    // Absent (a kernel before 6.16).
    f.set_registers_present(false);
    assert!(!r.exists(3) && !f.exists(Path::new(MR)));
    assert_eq!(kind(r.read(3)), DeviceErrorKind::NotFound);
    assert_eq!(kind(r.extend(3, &[0; 48])), DeviceErrorKind::NotFound);
}
