//! End-to-end tests over the fakes: fake device / configfs-tsm / tsm-mr →
//! quote signed by the test PKI → collateral → verify (test root injected
//! explicitly) → appraise.

use std::sync::Arc;

use tee_core::{
    Authenticity, Backend, DeviceErrorKind, Error, Operation, Platform, PlatformClaims, Policy,
    ReportData, RuntimeMeasurement, Support, TcbStatus, UnixTime, Verifier,
};

use tee_tdx::guest::{TdxBackend, TdxRtmr};
use tee_tdx::testing::seams::{Crash, extend_and_crash};
use tee_tdx::testing::{FAKE_MR_DIR, FakeKernel, FakeTd, TestPki};
use tee_tdx::{Collateral, TdxVerifier, danger};

fn at() -> UnixTime {
    UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap()
}

fn setup(td: FakeTd) -> (FakeKernel, TestPki, tempfile::TempDir) {
    let pki = TestPki::default();
    (
        FakeKernel::new(pki.clone(), td),
        pki,
        tempfile::tempdir().unwrap(),
    )
}

#[test]
fn ioctl_abi_numbers() {
    assert_eq!(tee_tdx::guest::sys_abi::TDX_CMD_GET_REPORT0, 0xC440_5401);
    assert_eq!(tee_tdx::guest::sys_abi::TDX_REPORT_REQ_LEN, 1088);
    assert_eq!(tee_tdx::guest::sys_abi::iowr(b'T', 1, 1088), 0xC440_5401);
    // The value some public code uses is wrong.
    assert_ne!(tee_tdx::guest::sys_abi::TDX_CMD_GET_REPORT0, 0xC040_7401);
}

#[test]
fn open_on_this_machine_is_unsupported_not_a_panic() {
    if std::path::Path::new(tee_tdx::guest::DEV_TDX_GUEST).exists() {
        return;
    }
    match TdxBackend::open() {
        Err(Error::Unsupported(u)) => {
            assert_eq!(u.operation, Operation::Open);
            assert!(u.reason.contains("/dev/tdx_guest"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn conformance_on_fakes() {
    let (k, pki, dir) = setup(FakeTd::default());
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    let verifier = danger::verifier_with_test_root(pki.root_der.clone()).without_collateral();
    tee_core::conformance::run_all(&tee_core::conformance::Target {
        backend: &backend,
        verifier: &verifier,
        at: at(),
        tamper_offsets: vec![
            0,
            2,
            4,
            12,
            30,
            48,
            48 + 136,
            48 + 400,
            48 + 583,
            636,
            700,
            1100,
        ],
    });
    tee_core::conformance::run_all(&tee_core::conformance::Target {
        backend: &backend,
        verifier: &verifier,
        at: at(),
        tamper_offsets: Vec::new(),
    });
    assert_eq!(k.open_reports(), 0, "report directories are removed");
    let caps = backend.capabilities();
    match caps.sealing {
        Support::Unsupported(r) => assert!(r.contains("key broker")),
        Support::Supported => panic!("sealing claimed"),
    }
}

fn e2e(version: u16) {
    let td = FakeTd {
        quote_version: version,
        ..FakeTd::default()
    };
    let svn = td.tee_tcb_svn;
    let (k, pki, dir) = setup(td.clone());
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    let rm = backend.runtime_measurement().unwrap();
    rm.extend(3, "app config", b"config v1").unwrap();
    let rd = ReportData::bind(b"nonce", b"user");
    let ev = backend.attester().unwrap().attest(&rd).unwrap();
    let q = tee_tdx::quote::Quote::parse(&ev.report).unwrap();
    assert_eq!(q.header.version, version);
    let cj = pki.collateral_json(
        "UpToDate",
        &svn,
        "2025-01-01T00:00:00Z",
        "2025-02-01T00:00:00Z",
    );
    let v = danger::verifier_with_test_root(pki.root_der.clone())
        .with_collateral(Collateral::from_json(&cj).unwrap());
    let claims = v
        .verify(&ev, at())
        .unwrap_or_else(|e| panic!("v{version}: {e}"));
    let PlatformClaims::Tdx(x) = &claims.platform_claims else {
        panic!()
    };
    assert_eq!(x.version, version);
    assert_eq!(x.tcb_status, TcbStatus::UpToDate);
    assert!(x.tcb_evaluated && x.revocation_checked);
    assert_eq!(x.fmspc.0, pki.platform.fmspc.to_vec());
    assert_eq!(x.mr_td.0, td.mr_td.to_vec());
    assert_eq!(claims.report_data, rd);
    let replay = claims.event_log.as_ref().unwrap();
    assert!(replay.iter().all(|r| r.matches), "{replay:?}");
    let pol = Policy::default()
        .expect_report_data(rd)
        .allow_measurement(td.mr_td);
    let app = tee_core::appraise(&claims, &pol);
    assert!(app.passed(), "{app:?}");
    // The Intel root does not accept the test PKI.
    let prod = TdxVerifier::new().with_collateral(Collateral::from_json(&cj).unwrap());
    assert!(matches!(
        prod.verify(&ev, at()),
        Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
    ));
    // OutOfDate: authentic, appraisal rejects unless accepted.
    let cj = pki.collateral_json(
        "OutOfDate",
        &svn,
        "2025-01-01T00:00:00Z",
        "2025-02-01T00:00:00Z",
    );
    let v = danger::verifier_with_test_root(pki.root_der.clone())
        .with_collateral(Collateral::from_json(&cj).unwrap());
    let claims = v.verify(&ev, at()).unwrap();
    let PlatformClaims::Tdx(x) = &claims.platform_claims else {
        panic!()
    };
    assert_eq!(x.tcb_status, TcbStatus::OutOfDate);
    assert_eq!(x.advisory_ids, vec!["INTEL-SA-00000".to_string()]);
    let app = tee_core::appraise(&claims, &pol);
    assert_eq!(
        app.failed().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["tdx.tcb_status"]
    );
    let mut pol2 = pol.clone();
    pol2.tdx.accepted_tcb_statuses = vec![TcbStatus::UpToDate, TcbStatus::OutOfDate];
    assert!(tee_core::appraise(&claims, &pol2).passed());
    // Expired collateral.
    let late = UnixTime::parse_rfc3339("2025-03-01T00:00:00Z").unwrap();
    assert!(matches!(
        v.verify(&ev, late),
        Err(Error::Authenticity(Authenticity::Expired { .. }))
    ));
    // Debug TD: verified, denied by default appraisal.
    let k2 = FakeKernel::new(
        pki.clone(),
        FakeTd {
            td_attributes: (1 << 28) | 1,
            quote_version: version,
            ..FakeTd::default()
        },
    );
    let q2 = k2.make_quote(rd.as_bytes());
    let ev2 = tee_core::Evidence::new(Platform::Tdx, tee_core::evidence::format::TDX_QUOTE, q2);
    let claims = danger::verifier_with_test_root(pki.root_der.clone())
        .with_collateral(
            Collateral::from_json(&pki.collateral_json(
                "UpToDate",
                &svn,
                "2025-01-01T00:00:00Z",
                "2025-02-01T00:00:00Z",
            ))
            .unwrap(),
        )
        .verify(&ev2, at())
        .unwrap();
    assert!(claims.debug);
    let app = tee_core::appraise(&claims, &pol);
    assert_eq!(
        app.failed().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["debug"]
    );
}

#[test]
fn end_to_end_v4() {
    e2e(4);
}

#[test]
fn end_to_end_v5() {
    e2e(5);
}

#[test]
fn configfs_busy_race_cwt_and_cleanup() {
    let (k, _pki, dir) = setup(FakeTd::default());
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    let att = backend.attester().unwrap();
    let rd = ReportData::new([7; 64]);
    k.inject_busy(3);
    assert!(att.attest(&rd).is_ok(), "EBUSY retried");
    k.inject_busy(50);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Busy),
        other => panic!("{other:?}"),
    }
    k.inject_busy(0);
    k.inject_concurrent_writer(true);
    match att.attest(&rd) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::ConcurrentUse),
        other => panic!("{other:?}"),
    }
    k.inject_concurrent_writer(false);
    k.override_outblob(Some([vec![0xd2, 0x84, 0x43], vec![0; 9000]].concat()));
    match att.attest(&rd) {
        Err(Error::Unsupported(u)) => assert!(u.reason.contains("CWT"), "{}", u.reason),
        other => panic!("{other:?}"),
    }
    k.override_outblob(None);
    assert_eq!(
        k.open_reports(),
        0,
        "every report directory removed, also on errors"
    );
    // TDREPORT through the fake device.
    let r = backend.tdreport(&rd).unwrap();
    assert_eq!(r.report_data, [7; 64]);
    assert!(r.tcb_info_hash_ok && r.tee_info_hash_ok);
}

#[test]
fn interfaces_absent_are_typed_unsupported() {
    let (k, _pki, dir) = setup(FakeTd::default());
    k.set_interfaces(false, false);
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    let caps = backend.capabilities();
    assert!(!caps.attestation.is_supported() && !caps.runtime_measurement.is_supported());
    match backend.runtime_measurement() {
        Err(Error::Unsupported(u)) => assert!(u.reason.contains("6.16")),
        other => panic!("{other:?}"),
    }
    match backend.attester() {
        Err(Error::Unsupported(u)) => assert!(u.reason.contains("configfs-tsm")),
        other => panic!("{other:?}"),
    }
}

fn rtmr(k: &FakeKernel, log: &std::path::Path) -> tee_core::Result<TdxRtmr> {
    TdxRtmr::open(Arc::new(k.clone()), FAKE_MR_DIR.into(), log.to_path_buf())
}

#[test]
fn rtmr_extend_log_and_crash_recovery() {
    let (k, _pki, dir) = setup(FakeTd::default());
    let log = dir.path().join("rtmr.log");
    let r = rtmr(&k, &log).unwrap();
    assert!(matches!(r.extend(0, "x", b"y"), Err(Error::Misuse(_))));
    assert!(matches!(r.read(4), Err(Error::Misuse(_))));
    let v1 = r.extend(3, "one", b"1").unwrap();
    let v2 = r.extend(3, "two", b"2").unwrap();
    assert_ne!(v1, v2);
    let el = r.event_log().unwrap();
    assert_eq!(el.events.len(), 2);
    assert_eq!(el.events[1].description, "two");
    assert_eq!(el.replay(4).unwrap()[3], r.read(3).unwrap());
    // The log file is a TCG2 log the CCEL parser reads too.
    let tcg = tee_tdx::ccel::EventLog::parse(&std::fs::read(&log).unwrap()).unwrap();
    assert_eq!(tcg.replay().unwrap()[3], v2);

    // Crash after the pending record, before the extend: dropped on open.
    extend_and_crash(&r, 3, "lost", b"3", Crash::AfterPending).unwrap();
    drop(r);
    let r = rtmr(&k, &log).unwrap();
    assert_eq!(r.event_log().unwrap().events.len(), 2);
    assert_eq!(r.read(3).unwrap(), v2);

    // Crash after the extend, before the log write: appended on open.
    extend_and_crash(&r, 3, "kept", b"4", Crash::AfterExtend).unwrap();
    drop(r);
    let r = rtmr(&k, &log).unwrap();
    let el = r.event_log().unwrap();
    assert_eq!(el.events.len(), 3);
    assert_eq!(el.events[2].description, "kept");
    assert_eq!(el.replay(4).unwrap()[3], r.read(3).unwrap());
    assert!(!r_pending(&log));

    // A torn append (crash mid-write) with the extend done: repaired.
    extend_and_crash(&r, 3, "torn", b"5", Crash::AfterExtend).unwrap();
    let rec = tee_tdx::guest::applog::AppEvent {
        rtmr: 3,
        digest: tee_tdx::ccel::sha384(b"5"),
        description: "torn".into(),
        payload: b"5".to_vec(),
    }
    .encode();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, &rec[..rec.len() / 2]).unwrap();
    drop(f);
    drop(r);
    let r = rtmr(&k, &log).unwrap();
    let el = r.event_log().unwrap();
    assert_eq!(el.events.len(), 4);
    assert_eq!(el.replay(4).unwrap()[3], r.read(3).unwrap());

    // Someone extends RTMR3 outside the log: detected, never silently accepted.
    drop(r);
    k.extend_raw(3, &[9; 48]);
    match rtmr(&k, &log) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::CorruptOutput),
        other => panic!("{other:?}"),
    }
}

fn r_pending(log: &std::path::Path) -> bool {
    let mut p = log.as_os_str().to_owned();
    p.push(".pending");
    std::path::Path::new(&p).exists()
}

#[test]
fn sealing_is_unsupported_with_alternative() {
    let (k, _pki, dir) = setup(FakeTd::default());
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    match backend.sealer() {
        Err(Error::Unsupported(u)) => {
            assert_eq!(u.platform, Platform::Tdx);
            assert_eq!(u.operation, Operation::Sealing);
            assert!(u.reason.contains("key broker"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn profiling_bits_count_as_debug() {
    let pki = TestPki::default();
    for (attrs, debug) in [
        (1u64 << 28, false),
        ((1 << 28) | (1 << 5), true),
        ((1 << 28) | 1, true),
    ] {
        let k = FakeKernel::new(
            pki.clone(),
            FakeTd {
                td_attributes: attrs,
                ..FakeTd::default()
            },
        );
        let ev = tee_core::Evidence::new(
            Platform::Tdx,
            tee_core::evidence::format::TDX_QUOTE,
            k.make_quote(&[0; 64]),
        );
        let c = danger::verifier_with_test_root(pki.root_der.clone())
            .without_collateral()
            .verify(&ev, at())
            .unwrap();
        assert_eq!(c.debug, debug, "{attrs:#x}");
        let PlatformClaims::Tdx(x) = &c.platform_claims else {
            panic!()
        };
        assert_eq!(x.td_attributes.debug, attrs & 1 != 0);
    }
}

#[test]
fn two_writers_share_one_log() {
    let (k, _pki, dir) = setup(FakeTd::default());
    let log = dir.path().join("shared.log");
    let a = rtmr(&k, &log).unwrap();
    let b = rtmr(&k, &log).unwrap();
    for i in 0..4u8 {
        let w = if i % 2 == 0 { &a } else { &b };
        w.extend(3, "interleaved", &[i]).unwrap();
    }
    let el = a.event_log().unwrap();
    assert_eq!(el.events.len(), 4);
    assert_eq!(el.replay(4).unwrap()[3], b.read(3).unwrap());
    assert!(dir.path().join("shared.log.lock").exists());
}

#[test]
fn registers_from_a_fresh_tdreport() {
    let td = FakeTd::default();
    let (k, _pki, dir) = setup(td.clone());
    k.set_interfaces(false, true);
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    let m = backend.measurements().unwrap();
    assert_eq!(m.mr_td, td.mr_td);
    assert_eq!(m.mr_config_id, td.mr_config_id);
    assert_eq!(m.rtmr, td.rtmr);
}

#[test]
fn revoked_pck_tcb_and_debug_qe() {
    let td = FakeTd::default();
    let (k, pki, _dir) = setup(td.clone());
    let ev = tee_core::Evidence::new(
        Platform::Tdx,
        tee_core::evidence::format::TDX_QUOTE,
        k.make_quote(&[0; 64]),
    );
    let v = |json: Vec<u8>| {
        danger::verifier_with_test_root(pki.root_der.clone())
            .with_collateral(Collateral::from_json(&json).unwrap())
    };
    let (i, n) = ("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z");
    // The PCK in the PCK CRL.
    let r =
        v(pki.collateral_json_revoking("UpToDate", &td.tee_tcb_svn, i, n, true)).verify(&ev, at());
    assert!(
        matches!(r, Err(Error::Authenticity(Authenticity::Revoked { .. }))),
        "{r:?}"
    );
    // A TCB level with status Revoked.
    let r = v(pki.collateral_json("Revoked", &td.tee_tcb_svn, i, n)).verify(&ev, at());
    assert!(
        matches!(r, Err(Error::Authenticity(Authenticity::Revoked { .. }))),
        "{r:?}"
    );
    // SWHardeningNeeded with its advisory surfaces as a status.
    let c = v(pki.collateral_json("SWHardeningNeeded", &td.tee_tcb_svn, i, n))
        .verify(&ev, at())
        .unwrap();
    let PlatformClaims::Tdx(x) = &c.platform_claims else {
        panic!()
    };
    assert_eq!(x.tcb_status, TcbStatus::SwHardeningNeeded);
    assert_eq!(x.advisory_ids, vec!["INTEL-SA-00000".to_string()]);
    // A debug-mode QE is refused in every mode.
    let body = tee_tdx::quote::Quote::parse(&ev.report).unwrap();
    let raw = pki.quote_with_qe_attributes(4, 2, &ev.report[48..48 + 584], 0x13);
    assert_eq!(tee_tdx::quote::Quote::parse(&raw).unwrap().body, body.body);
    let dbg = tee_core::Evidence::new(Platform::Tdx, tee_core::evidence::format::TDX_QUOTE, raw);
    for verifier in [
        danger::verifier_with_test_root(pki.root_der.clone()).without_collateral(),
        v(pki.collateral_json("UpToDate", &td.tee_tcb_svn, i, n)),
    ] {
        let r = verifier.verify(&dbg, at());
        assert!(
            matches!(
                r,
                Err(Error::Authenticity(Authenticity::Mismatch {
                    what: "QE report attributes",
                    ..
                }))
            ),
            "{r:?}"
        );
    }
}

#[test]
fn real_fs_against_a_temp_tree() {
    use tee_tdx::guest::{ConfigfsTsm, KernelFs, RealFs};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("attr");
    std::fs::write(&f, b"").unwrap();
    RealFs.write(&f, &[7; 48]).unwrap();
    assert_eq!(RealFs.read(&f).unwrap(), vec![7; 48]);
    assert_eq!(
        RealFs
            .write(&dir.path().join("missing"), b"x")
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::NotFound
    );
    // A directory that is not configfs: mkdir works but no attributes appear;
    // the error is typed and the report directory is removed again.
    let tsm = ConfigfsTsm::new(
        Arc::new(RealFs),
        dir.path().to_path_buf(),
        1,
        std::time::Duration::from_millis(1),
    );
    match tsm.quote(&[0; 64]) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("attr")]);
}

#[test]
fn concurrent_quote_requests_never_mix_outputs() {
    // Many threads request quotes through one backend over one fake
    // configfs-tsm tree at once: each gets its own report directory, and
    // every quote carries exactly its own report data.
    let (k, pki, dir) = setup(FakeTd::default());
    let backend = TdxBackend::with_config(k.config(dir.path().join("log"))).unwrap();
    let verifier = danger::verifier_with_test_root(pki.root_der.clone()).without_collateral();
    // 8 threads, 6 quotes each.
    tee_core::conformance::concurrent_attestations_never_mix(
        &tee_core::conformance::Target {
            backend: &backend,
            verifier: &verifier,
            at: at(),
            tamper_offsets: Vec::new(),
        },
        8,
    );
    assert_eq!(k.open_reports(), 0, "report directories are removed");
}
