use super::*;

#[test]
fn layout_names_and_fingerprints() {
    let b = built_a();
    let root = tee_pef::fdt::parse(&b.blob).unwrap();
    assert_eq!(root.prop_str("compatible"), Some("ibm,esm"));
    let names: Vec<_> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["lockboxes", "digest", "file"]);
    let lb1 = root.lookup("/lockboxes/lockbox-1").unwrap();
    assert_eq!(lb1.prop("encrypted-symkey").unwrap().len(), 256);
    assert_eq!(
        lb1.lookup("/pubkey-fingerprint")
            .unwrap()
            .prop_str("algorithm"),
        Some("SHA256")
    );
    assert_eq!(
        lb1.lookup("/pubkey-fingerprint")
            .unwrap()
            .prop("hash")
            .unwrap(),
        &sha256(&machine_a().public_pem().unwrap())[..]
    );
    let d = root.lookup("/digest/digests-fdt").unwrap();
    assert_eq!(d.prop_str("algorithm"), Some("AES256-GCM"));
    assert_eq!(d.prop("iv").unwrap().len(), 16);
    assert_eq!(d.prop("mac").unwrap().len(), 16);
    let files =
        tee_pef::fdt::parse(root.lookup("/file").unwrap().prop("files-fdt").unwrap()).unwrap();
    assert_eq!(files.prop_str("compatible"), Some("ibm,esm-file"));
    let fnames: Vec<_> = files
        .lookup("/files")
        .unwrap()
        .children
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        fnames,
        ["esm-measurement", "attest-key", "seal-key", "crypttab"]
    );
    // The public PEM ends in exactly one newline (svm-tool appends one).
    let pem = machine_a().public_pem().unwrap();
    assert!(pem.ends_with(b"-----\n") && !pem.ends_with(b"\n\n"));
}

#[test]
fn parse_inspect_and_origin_unwrap() {
    let b = built_a();
    let p = EsmBlob::parse(&b.blob).unwrap();
    let names: Vec<_> = p.lockboxes.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["origin-lockbox", "lockbox-1"]);
    assert_eq!(
        p.lockboxes[0].fingerprint,
        sha256(&origin().public_pem().unwrap())
    );
    assert_eq!(p.attachments.len(), 4);
    // The owner recovers K with the origin key and reads everything back.
    let k = p.unwrap_key("origin-lockbox", origin()).unwrap();
    assert_eq!(
        p.open_digests(&k).unwrap(),
        Digests::for_slof(KERNEL, INITRD, BOOTARGS).unwrap()
    );
    assert_eq!(&*p.open_attachment("crypttab", &k).unwrap(), CRYPTTAB);
    // Another key does not unwrap the origin lockbox.
    assert!(matches!(
        p.unwrap_key("origin-lockbox", machine_b_key()),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "lockbox",
            ..
        }))
    ));
    let text = p.describe();
    assert!(text.contains("lockbox-1 (the only lockbox the ultravisor reads)"));
    assert!(text.contains(&hex::encode(sha256(&machine_a().public_pem().unwrap()))));
    assert!(text.contains("crypttab"));
    // Never a secret.
    assert!(!text.contains("rootfs UUID"));
    assert!(!text.contains(&hex::encode(*k)));
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains(&hex::encode(*k)));
    assert!(!json.contains(&hex::encode(ATTEST_KEY)));
}

fn machine_b_key() -> &'static RsaKeyPair {
    static K: OnceLock<RsaKeyPair> = OnceLock::new();
    K.get_or_init(|| {
        RsaKeyPair::from_pkcs8_pem(&{
            let d = tempfile::tempdir().unwrap();
            machine_b().save(d.path()).unwrap();
            std::fs::read_to_string(d.path().join("tpm-priv.pem")).unwrap()
        })
        .unwrap()
    })
}

#[test]
fn strict_validation() {
    let ok = tee_pef::fdt::parse(&built_a().blob).unwrap();
    let mut extra = ok.clone();
    extra.props.push(tee_pef::fdt::Prop {
        name: "x".into(),
        value: vec![],
    });
    assert!(matches!(
        EsmBlob::parse(&extra.to_dtb()),
        Err(Error::Malformed(_))
    ));
    let mut bad_lb = ok.clone();
    bad_lb.child_mut("lockboxes").unwrap().children[1].name = "lockbox-0".into();
    assert!(EsmBlob::parse(&bad_lb.to_dtb()).is_err());
    let mut missing = ok.clone();
    missing.children.retain(|c| c.name != "digest");
    assert!(EsmBlob::parse(&missing.to_dtb()).is_err());
    let mut nl = ok.clone();
    nl.child_mut("lockboxes").unwrap().children[0].props[0].value = b"a\nb\0".to_vec();
    assert!(EsmBlob::parse(&nl.to_dtb()).is_err());
    assert!(EsmBlob::parse(&ok.to_dtb()).is_ok());
}

#[test]
fn builder_limits() {
    let mut b = EsmBlobBuilder::new(&origin().recipient().unwrap(), "c").unwrap();
    assert!(matches!(
        b.attach("big", &vec![0; 0x10000], ""),
        Err(Error::Misuse(_))
    ));
    assert!(b.attach("1bad", b"x", "").is_err());
    assert!(
        b.attach("a-name-that-is-way-too-long-for-svm-tool", b"x", "")
            .is_err()
    );
    assert!(b.attach("ok", b"x", "line\nbreak").is_err());
    assert!(b.attach("ok", b"x", "").is_ok());
    assert!(b.attach("ok", b"y", "").is_err());
    assert!(EsmBlobBuilder::new(&origin().recipient().unwrap(), "two\nlines").is_err());
    // Lockbox numbering: max + 1.
    let ra = tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap()).unwrap();
    let rb = tee_pef::crypto::RecipientKey::from_pem(&machine_b().public_pem().unwrap()).unwrap();
    assert_eq!(b.authorize(&ra, "").unwrap(), "lockbox-1");
    assert_eq!(b.authorize(&rb, "").unwrap(), "lockbox-2");
    assert!(b.authorize(&ra, "").is_err());
    // Digests FDT and bootargs rules.
    assert!(Digests::for_slof(b"k", b"i", "a\0b").is_err());
}
