use super::*;

#[test]
fn accepts_the_built_guest() {
    let mut uv = machine_a().boot().unwrap();
    let o = launch(&mut uv, 7, &image(built_a()));
    assert_eq!(o.uv_rc, U_SUCCESS);
    assert_eq!(o.failure, None);
    assert_eq!(
        o.checks.iter().map(|c| (c.name, c.ok)).collect::<Vec<_>>(),
        [
            ("rtas", true),
            ("kernel", true),
            ("initrd", true),
            ("bootargs", true)
        ]
    );
    let e = o.entry.unwrap();
    let layout = tee_pef::uv::GuestLayout::default();
    assert_eq!(
        (e.pc, e.r3, e.r4, e.r5),
        (layout.kbase, layout.fdt, layout.kbase, 0)
    );
    assert_eq!(e.msr & MSR_S, MSR_S);
    assert_eq!(e.msr & (MSR_HV | MSR_EE | MSR_PR), 0);
    assert_eq!(o.hcalls.first(), Some(&H_SVM_INIT_START));
    assert_eq!(o.hcalls.last(), Some(&H_SVM_INIT_DONE));
    assert!(
        o.hcalls.iter().filter(|&&h| h == H_SVM_TPM_COMM).count() >= 5,
        "TPM traffic goes through the HV"
    );
    assert!(!o.hcalls.contains(&H_SVM_INIT_ABORT));
    assert_eq!(uv.state(7), Some(SvmState::Secure));
    // The RTAS digest checked is the SLOF constant.
    assert_eq!(hex::encode(o.checks[0].expected), SLOF_RTAS_SHA512_HEX);
    // A second UV_ESM from the same LPID: create_svm fails.
    assert_eq!(
        uv.uv_esm(Caller::guest_kernel(7), layout.kbase, layout.fdt)
            .uv_rc,
        U_RETRY
    );
    // From the VM that is already secure (MSR[S]=1): create_svm fails too.
    assert_eq!(
        uv.uv_esm(Caller::svm_kernel(7), layout.kbase, layout.fdt)
            .uv_rc,
        U_RETRY
    );
    assert_eq!(uv.state(7), Some(SvmState::Secure), "still secure");
    // The caller check comes first, then kbase, fdt and the LPID.
    assert_eq!(uv.uv_esm(Caller::svm_user(9, 1), 0, 0).uv_rc, U_PERMISSION);
    assert_eq!(uv.uv_esm(Caller::guest_kernel(9), 0, 0).uv_rc, U_P2);
    assert_eq!(
        uv.uv_esm(Caller::guest_kernel(9), layout.kbase, 0).uv_rc,
        U_P3
    );
    assert_eq!(
        uv.uv_esm(Caller::guest_kernel(0), layout.kbase, layout.fdt)
            .uv_rc,
        U_PERMISSION
    );
    // The default kbase is guest-physical (the harness's 0x40_0000).
    assert_eq!(layout.kbase, 0x40_0000);
}

fn expect_exactly(img: GuestImage, name: &'static str) {
    let mut uv = machine_a().boot().unwrap();
    let o = launch(&mut uv, 9, &img);
    assert_eq!(o.uv_rc, U_PARAMETER);
    assert_eq!(o.guest_r3, H_PARAMETER);
    assert_eq!(o.failure, Some(EsmFailure::DigestMismatch(vec![name])));
    let failed: Vec<_> = o.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    assert_eq!(failed, [name]);
    assert_eq!(o.checks.len(), 4, "every check runs");
    assert_eq!(o.hcalls.last(), Some(&H_SVM_INIT_ABORT));
    assert!(o.entry.is_none());
    assert_eq!(uv.state(9), Some(SvmState::Aborted));
}

#[test]
fn each_input_change_fails_exactly_its_check() {
    let b = built_a();
    let mut k = KERNEL.to_vec();
    k[3] ^= 1;
    expect_exactly(
        GuestImage::new(k, b.wrapped_initrd.clone(), BOOTARGS),
        "kernel",
    );

    let mut i = b.wrapped_initrd.clone();
    let last = i.len() - 1;
    i[last] ^= 1;
    expect_exactly(GuestImage::new(KERNEL.to_vec(), i, BOOTARGS), "initrd");

    expect_exactly(
        GuestImage::new(
            KERNEL.to_vec(),
            b.wrapped_initrd.clone(),
            format!("{BOOTARGS} "),
        ),
        "bootargs",
    );

    let mut img = image(b);
    img.rtas[0] ^= 1;
    expect_exactly(img, "rtas");
}

#[test]
fn all_failures_are_collected() {
    let b = built_a();
    let other_kernel: Vec<u8> = KERNEL.iter().rev().copied().collect();
    let mut img = GuestImage::new(other_kernel, b.wrapped_initrd.clone(), "svm=on");
    img.rtas = b"different RTAS stub!".to_vec();
    let mut wrapped = b.wrapped_initrd.clone();
    wrapped.push(0);
    img.initrd = wrapped;
    let mut uv = machine_a().boot().unwrap();
    let o = launch(&mut uv, 3, &img);
    assert_eq!(
        o.failure,
        Some(EsmFailure::DigestMismatch(vec![
            "rtas", "kernel", "initrd", "bootargs"
        ]))
    );
}

#[test]
fn kernel_beyond_kernel_size_is_not_measured() {
    // The UV hashes exactly kernel-size bytes at kbase.
    let mut k = KERNEL.to_vec();
    k.extend_from_slice(b"trailing bss garbage");
    let mut uv = machine_a().boot().unwrap();
    let o = launch(
        &mut uv,
        4,
        &GuestImage::new(k, built_a().wrapped_initrd.clone(), BOOTARGS),
    );
    assert_eq!(o.uv_rc, U_SUCCESS);
}

#[test]
fn memory_past_the_image_reads_as_zero() {
    // The owner measured a kernel whose last 100 bytes are zero; the
    // guest loads it without them: the UV hashes kernel-size bytes of
    // memory, which read as zero pages.
    let mut full = KERNEL.to_vec();
    full.extend_from_slice(&[0; 100]);
    let mut b = EsmBlobBuilder::new(&origin().recipient().unwrap(), "").unwrap();
    b.authorize(
        &tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap()).unwrap(),
        "",
    )
    .unwrap();
    b.set_digests(&Digests::for_slof(&full, INITRD, BOOTARGS).unwrap(), "")
        .unwrap();
    let w = cpio::wrap_initrd(INITRD, &b.build().unwrap(), "esmb.dtb").unwrap();
    let mut uv = machine_a().boot().unwrap();
    assert_eq!(
        launch(&mut uv, 4, &GuestImage::new(KERNEL.to_vec(), w, BOOTARGS)).uv_rc,
        U_SUCCESS
    );
}

#[test]
fn a_short_kernel_is_a_kernel_mismatch() {
    let mut uv = machine_a().boot().unwrap();
    let o = launch(
        &mut uv,
        4,
        &GuestImage::new(
            KERNEL[..10].to_vec(),
            built_a().wrapped_initrd.clone(),
            BOOTARGS,
        ),
    );
    assert_eq!(o.failure, Some(EsmFailure::DigestMismatch(vec!["kernel"])));
}

#[test]
fn another_machines_blob_fails_the_unwrap() {
    let mut uv = machine_b().boot().unwrap();
    let o = launch(&mut uv, 5, &image(built_a()));
    assert_eq!(o.failure, Some(EsmFailure::Unwrap(TpmError::Value)));
    assert!(o.checks.is_empty());
    assert_eq!(o.guest_r3, H_PARAMETER);
    assert_eq!(uv.state(5), Some(SvmState::Aborted));
}

#[test]
fn only_lockbox_1_is_consulted() {
    // Authorised for B then A: A's key is in lockbox-2, which the UV ignores.
    let b = build_for(&[machine_b(), machine_a()]);
    let mut on_a = machine_a().boot().unwrap();
    assert_eq!(
        launch(&mut on_a, 1, &image(&b)).failure,
        Some(EsmFailure::Unwrap(TpmError::Value))
    );
    let mut on_b = machine_b().boot().unwrap();
    assert_eq!(launch(&mut on_b, 1, &image(&b)).uv_rc, U_SUCCESS);
    // A blob with only the origin lockbox.
    let none = build_for(&[]);
    let mut uv = machine_a().boot().unwrap();
    assert_eq!(
        launch(&mut uv, 1, &image(&none)).failure,
        Some(EsmFailure::NoLockbox1)
    );
}

#[test]
fn blob_announced_in_chosen_instead_of_the_initrd() {
    // The zImage wrapper path: the blob range comes from
    // /chosen/linux,esm-blob-{start,end}; the initrd is measured whole.
    let mut img = GuestImage::new(KERNEL.to_vec(), INITRD.to_vec(), BOOTARGS);
    img.esm_blob = Some(built_a().blob.clone());
    let mut uv = machine_a().boot().unwrap();
    assert_eq!(launch(&mut uv, 2, &img).uv_rc, U_SUCCESS);
    // With the wrapped initrd instead, the cpio is not skipped on this path.
    let mut img = image(built_a());
    img.esm_blob = Some(built_a().blob.clone());
    let mut uv = machine_a().boot().unwrap();
    assert_eq!(
        launch(&mut uv, 2, &img).failure,
        Some(EsmFailure::DigestMismatch(vec!["initrd"]))
    );
}

#[test]
fn blob_location_failures() {
    let mut uv = machine_a().boot().unwrap();
    let o = launch(
        &mut uv,
        2,
        &GuestImage::new(KERNEL.to_vec(), INITRD.to_vec(), BOOTARGS),
    );
    assert!(
        matches!(o.failure, Some(EsmFailure::BlobNotFound(_))),
        "{:?}",
        o.failure
    );
    // Tampered digests ciphertext: GCM fails under the right K.
    let b = built_a();
    let mut root = tee_pef::fdt::parse(&b.blob).unwrap();
    let d = root
        .child_mut("digest")
        .unwrap()
        .child_mut("digests-fdt")
        .unwrap();
    d.props
        .iter_mut()
        .find(|p| p.name == "ciphertext")
        .unwrap()
        .value[0] ^= 1;
    let wrapped = cpio::wrap_initrd(INITRD, &root.to_dtb(), "esmb.dtb").unwrap();
    let mut uv = machine_a().boot().unwrap();
    let o = launch(
        &mut uv,
        2,
        &GuestImage::new(KERNEL.to_vec(), wrapped, BOOTARGS),
    );
    assert_eq!(o.failure, Some(EsmFailure::DigestsAuthentication));
}

#[test]
fn tpm_name_substitution_is_detected() {
    let mut t = SimTpm::with_key(
        RsaKeyPair::from_pkcs8_pem(&{
            let d = tempfile::tempdir().unwrap();
            machine_a().save(d.path()).unwrap();
            std::fs::read_to_string(d.path().join("tpm-priv.pem")).unwrap()
        })
        .unwrap(),
    );
    let mut cfg = t.firmware_boot().unwrap();
    cfg.public_name[5] ^= 1;
    let mut uv = SimUltravisor::new(t, cfg);
    assert_eq!(
        launch(&mut uv, 1, &image(built_a())).failure,
        Some(EsmFailure::TpmNameMismatch)
    );
}

#[test]
fn caller_checks_and_register_interface() {
    let mut uv = machine_a().boot().unwrap();
    let layout = tee_pef::uv::GuestLayout::default();
    uv.hv_provide_memory(6, image(built_a()).load(&layout));
    assert_eq!(
        uv.uv_esm(Caller::guest_kernel(6), 0, layout.fdt).uv_rc,
        U_P2
    );
    assert_eq!(
        uv.uv_esm(Caller::guest_kernel(6), layout.kbase, 0).uv_rc,
        U_P3
    );
    assert_eq!(
        uv.uv_esm(Caller::guest_kernel(0), layout.kbase, layout.fdt)
            .uv_rc,
        U_PERMISSION
    );
    assert_eq!(
        uv.uv_esm(
            Caller {
                lpid: 6,
                pid: 1,
                msr: MSR_PR
            },
            layout.kbase,
            layout.fdt
        )
        .uv_rc,
        U_PERMISSION
    );
    assert_eq!(uv.state(6), None, "no SVM created by rejected calls");

    // HV-only calls from a guest: U_PERMISSION.
    for f in HV_ONLY {
        let mut r = [0u64; 13];
        r[3] = f;
        uv.ultracall(Caller::guest_kernel(6), &mut r);
        assert_eq!(r[3] as i64, U_PERMISSION, "{f:#x}");
    }
    let mut r = [0u64; 13];
    r[3] = 0xF1FC;
    uv.ultracall(Caller::guest_kernel(6), &mut r);
    assert_eq!(r[3] as i64, U_FUNCTION);

    // Sharing before secure mode: refused.
    let mut r = [0u64; 13];
    r[3] = UV_SHARE_PAGE;
    r[4] = 0x100;
    r[5] = 2;
    uv.ultracall(Caller::guest_kernel(6), &mut r);
    assert_eq!(r[3] as i64, U_PERMISSION);

    // UV_ESM through the registers: kexec-style return.
    let mut r = [0u64; 13];
    r[3] = UV_ESM;
    r[4] = layout.kbase;
    r[5] = layout.fdt;
    uv.ultracall(Caller::guest_kernel(6), &mut r);
    assert_eq!((r[3], r[4], r[5]), (layout.fdt, layout.kbase, 0));
    assert_eq!(uv.state(6), Some(SvmState::Secure));

    // Share / unshare with S=1 supervisor.
    let call = |uv: &mut SimUltravisor, c: Caller, f: u64, a: u64, b: u64| {
        let mut r = [0u64; 13];
        r[3] = f;
        r[4] = a;
        r[5] = b;
        uv.ultracall(c, &mut r);
        r[3] as i64
    };
    assert_eq!(
        call(&mut uv, Caller::svm_kernel(6), UV_SHARE_PAGE, 0x100, 3),
        U_SUCCESS
    );
    assert_eq!(uv.shared_pages(6), [0x100, 0x101, 0x102]);
    assert_eq!(
        call(&mut uv, Caller::svm_kernel(6), UV_UNSHARE_PAGE, 0x101, 1),
        U_SUCCESS
    );
    assert_eq!(uv.shared_pages(6), [0x100, 0x102]);
    assert_eq!(
        call(&mut uv, Caller::svm_user(6, 1), UV_SHARE_PAGE, 0x200, 1),
        U_PERMISSION
    );
    assert_eq!(
        call(&mut uv, Caller::svm_kernel(6), UV_SHARE_PAGE, 0x200, 0),
        U_PARAMETER
    );
    assert_eq!(
        call(&mut uv, Caller::svm_kernel(99), UV_SHARE_PAGE, 0x200, 1),
        U_PERMISSION
    );
    assert_eq!(
        call(&mut uv, Caller::svm_kernel(6), UV_UNSHARE_ALL_PAGES, 0, 0),
        U_SUCCESS
    );
    assert!(uv.shared_pages(6).is_empty());

    // The hypervisor terminates it.
    assert_eq!(
        call(&mut uv, Caller::hypervisor(), UV_SVM_TERMINATE, 6, 0),
        U_SUCCESS
    );
    assert_eq!(uv.state(6), Some(SvmState::Terminated));
    assert_eq!(
        call(&mut uv, Caller::hypervisor(), UV_PAGE_IN, 6, 0),
        U_FUNCTION
    );
}
