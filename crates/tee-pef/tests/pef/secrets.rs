use super::*;

fn get(
    uv: &Arc<Mutex<SimUltravisor>>,
    lpid: u64,
    pid: u64,
    off: u64,
    name: &str,
) -> (i64, Vec<u8>) {
    let mut g = uv.lock().unwrap();
    let (rc, d) = g.uv_esmb_get_file(
        Caller::svm_user(lpid, pid),
        off,
        &pack_regs(name.as_bytes()),
    );
    (rc, unpack_regs(&d)[..rc.clamp(0, 64) as usize].to_vec())
}

#[test]
fn chunks_of_64_and_read_once() {
    let uv = secure_vm();
    assert!(CRYPTTAB.len() > 128 && CRYPTTAB.len() < 192);
    let (rc, d) = get(&uv, 7, 100, 0, "crypttab");
    assert_eq!((rc, &d[..]), (64, &CRYPTTAB[..64]));
    // Another process: bound to pid 100.
    assert_eq!(get(&uv, 7, 101, 64, "crypttab").0, U_PARAMETER);
    let (rc, d) = get(&uv, 7, 100, 64, "crypttab");
    assert_eq!((rc, &d[..]), (64, &CRYPTTAB[64..128]));
    // Going back is refused.
    assert_eq!(get(&uv, 7, 100, 0, "crypttab").0, U_PARAMETER);
    let (rc, d) = get(&uv, 7, 100, 128, "crypttab");
    assert_eq!(
        (rc as usize, &d[..]),
        (CRYPTTAB.len() - 128, &CRYPTTAB[128..])
    );
    assert_eq!(get(&uv, 7, 100, CRYPTTAB.len() as u64, "crypttab").0, 0);
    // Read once per boot: a second full read fails.
    assert_eq!(get(&uv, 7, 100, 0, "crypttab").0, U_PARAMETER);
    // Unknown names, the 64 KiB limit, non-SVM partitions.
    // Not attached: the UV passes svm_esmb_file_get's -FDT_ERR_NOTFOUND through.
    assert_eq!(get(&uv, 7, 100, 0, "nope").0, ESMB_FILE_NOT_FOUND);
    assert_eq!(ESMB_FILE_NOT_FOUND, -1);
    assert_eq!(get(&uv, 7, 100, 0x10000, "seal-key").0, U_PARAMETER);
    assert_eq!(get(&uv, 8, 100, 0, "seal-key").0, U_PERMISSION);
    // Terminated: nothing more.
    uv.lock().unwrap().uv_svm_terminate(7);
    assert_eq!(get(&uv, 7, 100, 0, "seal-key").0, U_PERMISSION);
}

#[test]
fn backend_reads_once_and_caches() {
    let uv = secure_vm();
    let be = PefBackend::with_ultracalls(
        Arc::new(SimSvmProcess::new(uv.clone(), 7, 42)),
        PefConfig::default(),
    );
    assert_eq!(&*be.secret("crypttab").unwrap(), CRYPTTAB);
    assert_eq!(
        &*be.secret("crypttab").unwrap(),
        CRYPTTAB,
        "served from the per-process cache"
    );
    // A second process (new backend, other pid) is refused by the UV.
    let other = PefBackend::with_ultracalls(
        Arc::new(SimSvmProcess::new(uv.clone(), 7, 43)),
        PefConfig::default(),
    );
    match other.secret("crypttab") {
        Err(Error::Device(d)) => {
            assert_eq!(
                d.kind,
                tee_core::DeviceErrorKind::Firmware(U_PARAMETER as u64)
            );
            assert!(d.detail.contains("read-once"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(be.secret(""), Err(Error::Misuse(_))));
    assert!(matches!(be.secret(&"x".repeat(65)), Err(Error::Misuse(_))));
}
