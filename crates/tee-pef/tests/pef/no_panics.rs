use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// PEM-looking owner keys with arbitrary headers and bodies.
    #[test]
    fn arbitrary_owner_pem(
        label in "(RSA PRIVATE KEY|PRIVATE KEY|ENCRYPTED PRIVATE KEY|X)",
        proc_type in proptest::option::of("4,ENCRYPTED|[ -~]{0,12}"),
        dek in proptest::option::of("(DES-EDE3-CBC|AES-128-CBC|AES-256-CBC|[A-Z-]{0,12}),[0-9A-Fa-f]{0,40}"),
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        use base64::Engine as _;
        let mut pem = format!("-----BEGIN {label}-----\n");
        if let Some(p) = proc_type { pem.push_str(&format!("Proc-Type: {p}\n")); }
        if let Some(d) = dek { pem.push_str(&format!("DEK-Info: {d}\n\n")); }
        pem.push_str(&base64::engine::general_purpose::STANDARD.encode(&body));
        pem.push_str(&format!("\n-----END {label}-----\n"));
        prop_assert!(RsaKeyPair::from_owner_pem(pem.as_bytes(), Some(b"pw"), true).is_err());
        let _ = RsaKeyPair::from_owner_pem(pem.as_bytes(), None, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = EsmBlob::parse(&bytes);
        let _ = tee_pef::fdt::parse(&bytes);
        let _ = tee_pef::fdt::parse_prefix(&bytes);
        let _ = Digests::from_fdt(&bytes);
        let _ = cpio::locate_esm(&bytes);
        let _ = tee_pef::report::parse(&bytes);
        let _ = RsaKeyPair::from_owner_pem(&bytes, Some(b"pw"), true);
        let _ = tee_pef::esm::EsmBlobEditor::open(&bytes);
        let (a, b) = bytes.split_at(bytes.len() / 2);
        prop_assert!(tee_pef::crypto::gcm_open(&[1; 32], a, b.get(..16).unwrap_or(b), b).is_none());
        let ev = tee_core::Evidence::new(tee_core::Platform::Pef, "pef-owner-mac-v1", bytes.clone());
        let _ = PefVerifier::with_key(&ATTEST_KEY).unwrap().verify(&ev, UnixTime::from_secs(0));
    }

    #[test]
    fn arbitrary_guest_memory_through_uv_esm(fdt in proptest::collection::vec(any::<u8>(), 0..512), initrd in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut uv = machine_a().boot().unwrap();
        let layout = tee_pef::uv::GuestLayout::default();
        let mut mem = tee_pef::uv::GuestMemory::new();
        mem.load(layout.fdt, fdt);
        mem.load(layout.initrd_start, initrd.clone());
        uv.hv_provide_memory(1, mem);
        let o = uv.uv_esm(Caller::guest_kernel(1), layout.kbase, layout.fdt);
        prop_assert_eq!(o.guest_r3, H_PARAMETER);
        // A well-formed guest FDT pointing at an arbitrary initrd.
        let mut img = image(built_a());
        img.initrd = initrd;
        let o = launch(&mut uv, 2, &img);
        prop_assert_eq!(o.guest_r3, H_PARAMETER);
    }

    #[test]
    fn builder_round_trip(
        files in proptest::collection::btree_map("[A-Za-z][0-9A-Za-z,._+-]{0,30}", proptest::collection::vec(any::<u8>(), 0..300), 0..5),
        bootargs in "[ -~]{0,80}",
    ) {
        let mut b = EsmBlobBuilder::new(&origin().recipient().unwrap(), "c").unwrap();
        let d = Digests::for_slof(KERNEL, INITRD, &bootargs).unwrap();
        b.set_digests(&d, "").unwrap();
        for (n, data) in &files {
            b.attach(n, data, "").unwrap();
        }
        let blob = b.build().unwrap();
        let p = EsmBlob::parse(&blob).unwrap();
        let k = p.unwrap_key("origin-lockbox", origin()).unwrap();
        prop_assert_eq!(p.open_digests(&k).unwrap(), d);
        prop_assert_eq!(p.attachments.len(), files.len());
        for (n, data) in &files {
            prop_assert_eq!(&*p.open_attachment(n, &k).unwrap(), &data[..]);
        }
    }

    #[test]
    fn mutated_real_blob(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut b = built_a().blob.clone();
        for (i, x) in flips {
            let i = i.index(b.len());
            b[i] ^= x;
        }
        let _ = EsmBlob::parse(&b);
        let _ = EsmBlob::parse(&b[..cut.index(b.len())]);
        let _ = cpio::locate_esm(&cpio::wrap_initrd(b"x", &b, "b").unwrap());
    }
}

#[test]
fn mutated_blobs_through_the_ultravisor() {
    // Ultravisor parsing of hostile guest input: a few hundred random
    // mutations of the wrapped initrd never panic.
    let b = built_a();
    let mut uv = machine_a().boot().unwrap();
    let mut seed = 0x1234_5678u64;
    for lpid in 1..200u64 {
        let mut i = b.wrapped_initrd.clone();
        for _ in 0..4 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pos = (seed >> 33) as usize % 1500.min(i.len());
            i[pos] ^= (seed >> 13) as u8 | 1;
        }
        let o = launch(
            &mut uv,
            lpid,
            &GuestImage::new(KERNEL.to_vec(), i, BOOTARGS),
        );
        assert!(o.uv_rc == U_SUCCESS || o.guest_r3 == H_PARAMETER);
    }
}
