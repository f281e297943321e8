//! Integration tests for the PEF backend: builder → simulated ultravisor,
//! the TPM model, secrets, owner-rooted evidence, sealing and detection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::{Arc, Mutex, OnceLock};

use tee_core::{
    Authenticity, Backend, Error, MalformedKind, Operation, ReportData, SealBinding, SealPolicy,
    UnixTime, Verifier,
};
use tee_pef::abi::*;
use tee_pef::crypto::{RsaKeyPair, sha256, sha512};
use tee_pef::esm::{Digests, EsmBlob, EsmBlobBuilder, SLOF_RTAS_SHA512_HEX, SLOF_RTAS_STUB};
use tee_pef::machine::{SimMachine, launch};
use tee_pef::tpm::{self, SimTpm, TpmError};
use tee_pef::uv::{Caller, EsmFailure, GuestImage, SimUltravisor, SvmState};
use tee_pef::{PefBackend, PefConfig, PefVerifier, SimSvmProcess, cpio};

// RSA generation is slow in debug builds: three keys per test binary.
fn origin() -> &'static RsaKeyPair {
    static K: OnceLock<RsaKeyPair> = OnceLock::new();
    K.get_or_init(|| RsaKeyPair::generate().unwrap())
}
fn machine_a() -> &'static SimMachine {
    static K: OnceLock<SimMachine> = OnceLock::new();
    K.get_or_init(|| SimMachine::create().unwrap())
}
fn machine_b() -> &'static SimMachine {
    static K: OnceLock<SimMachine> = OnceLock::new();
    K.get_or_init(|| SimMachine::create().unwrap())
}

const KERNEL: &[u8] = b"\x7fELF-not-really: flat kernel binary for the simulator ....";
const INITRD: &[u8] = b"070701-looking? no: the original initramfs bytes";
const BOOTARGS: &str = "root=/dev/mapper/rootfs svm=on quiet";
const ATTEST_KEY: [u8; 32] = [0x11; 32];
const SEAL_KEY: [u8; 48] = [0x22; 48];
const CRYPTTAB: &[u8] = b"rootfs UUID=1234 none luks,keyscript=/opt/ibm/pef/bin/pef_svm_keyscript -- this line is longer than one 64-byte chunk, spanning three";

struct Built {
    blob: Vec<u8>,
    wrapped_initrd: Vec<u8>,
}

fn build_for(machines: &[&SimMachine]) -> Built {
    let origin_pub = origin().recipient().unwrap();
    let mut b = EsmBlobBuilder::new(&origin_pub, "owner key").unwrap();
    for m in machines {
        let r = tee_pef::crypto::RecipientKey::from_pem(&m.public_pem().unwrap()).unwrap();
        b.authorize(&r, "machine").unwrap();
    }
    b.set_digests(
        &Digests::for_slof(KERNEL, INITRD, BOOTARGS).unwrap(),
        "digests",
    )
    .unwrap();
    b.attach_measurement().unwrap();
    b.attach("attest-key", &ATTEST_KEY, "attestation key")
        .unwrap();
    b.attach("seal-key", &SEAL_KEY, "sealing secret").unwrap();
    b.attach("crypttab", CRYPTTAB, "LUKS").unwrap();
    let blob = b.build().unwrap();
    let wrapped_initrd = cpio::wrap_initrd(INITRD, &blob, "esmb.dtb").unwrap();
    Built {
        blob,
        wrapped_initrd,
    }
}

fn built_a() -> &'static Built {
    static B: OnceLock<Built> = OnceLock::new();
    B.get_or_init(|| build_for(&[machine_a()]))
}

fn image(b: &Built) -> GuestImage {
    GuestImage::new(KERNEL.to_vec(), b.wrapped_initrd.clone(), BOOTARGS)
}

/// A secure VM on machine A, LPID 7.
fn secure_vm() -> Arc<Mutex<SimUltravisor>> {
    let mut uv = machine_a().boot().unwrap();
    let o = launch(&mut uv, 7, &image(built_a()));
    assert_eq!(o.uv_rc, U_SUCCESS, "{:?}", o.failure);
    Arc::new(Mutex::new(uv))
}

mod self_checks {
    use super::*;

    #[test]
    fn rtas_constant_is_sha512_of_slof_stub() {
        assert_eq!(hex::encode(sha512(&SLOF_RTAS_STUB)), SLOF_RTAS_SHA512_HEX);
        assert_eq!(
            hex::encode(SLOF_RTAS_STUB),
            "7c641b783c6000006063f000440000224e800020"
        );
    }

    #[test]
    fn policy_digests_equal_firmware_constants() {
        assert_eq!(hex::encode(tpm::policy::a()), tpm::POLICY_A_HEX);
        assert_eq!(hex::encode(tpm::policy::b()), tpm::POLICY_B_HEX);
        assert_eq!(
            hex::encode(tpm::policy::auth_policy()),
            tpm::AUTH_POLICY_HEX
        );
        assert_eq!(
            tpm::POLICY_A_HEX,
            "8dbd2aa10f701b1eda230fa8a38803d342f3b48c2ffcbed56c04674c79dff00f"
        );
        assert_eq!(
            tpm::POLICY_B_HEX,
            "9795d78f53de94401899cc2d5ba76007b3d4dad85bf95cabeeba04d0f98b502e"
        );
        assert_eq!(
            tpm::AUTH_POLICY_HEX,
            "e86c7354251aa8e6ce27fddc541946f48120ff95c3d7a4d343f463321bd3e55c"
        );
    }

    #[test]
    fn call_numbers_and_codes() {
        assert_eq!(
            [
                UV_WRITE_PATE,
                UV_RESTRICTED_SPR_WRITE,
                UV_RESTRICTED_SPR_READ,
                UV_ESM,
                UV_READ_SCOM,
                UV_WRITE_SCOM,
                UV_RETURN
            ],
            [0xF104, 0xF108, 0xF10C, 0xF110, 0xF114, 0xF118, 0xF11C]
        );
        assert_eq!(
            [
                UV_REGISTER_MEM_SLOT,
                UV_UNREGISTER_MEM_SLOT,
                UV_PAGE_IN,
                UV_PAGE_OUT,
                UV_SHARE_PAGE,
                UV_UNSHARE_PAGE
            ],
            [0xF120, 0xF124, 0xF128, 0xF12C, 0xF130, 0xF134]
        );
        assert_eq!(
            [
                UV_PAGE_INVAL,
                UV_SVM_TERMINATE,
                UV_UNSHARE_ALL_PAGES,
                UV_READ_MEM,
                UV_WRITE_MEM,
                UV_ESMB_GET_FILE,
                UV_SEND_SBE_COMMAND
            ],
            [0xF138, 0xF13C, 0xF140, 0xF144, 0xF148, 0xF14C, 0xF150]
        );
        assert_eq!(
            [
                H_SVM_PAGE_IN,
                H_SVM_PAGE_OUT,
                H_SVM_INIT_START,
                H_SVM_INIT_DONE,
                H_SVM_TPM_COMM,
                H_SVM_INIT_ABORT
            ],
            [0xEF00, 0xEF04, 0xEF08, 0xEF0C, 0xEF10, 0xEF14]
        );
        assert_eq!(
            [
                U_SUCCESS,
                U_FUNCTION,
                U_PARAMETER,
                U_RETRY,
                U_PERMISSION,
                U_P2,
                U_P3,
                U_P4,
                U_P5,
                U_BAD_MODE,
                U_STATE,
                U_BUSY
            ],
            [0, -2, -4, -5, -11, -55, -56, -57, -58, -59, -75, 1]
        );
        assert_eq!(H_PARAMETER, -4);
        assert_eq!(MSR_S, 1 << 22);
        assert_eq!(tpm::WRAPPING_KEY_HANDLE, 0x8180_0001);
        assert_eq!(tpm::PARENT_HANDLE, 0x8180_0000);
    }

    #[test]
    fn register_packing_is_big_endian() {
        let r = pack_regs(b"crypttab");
        assert_eq!(r[0], u64::from_be_bytes(*b"crypttab"));
        assert_eq!(r[1..], [0; 7]);
        assert_eq!(&unpack_regs(&r)[..8], b"crypttab");
    }
}

mod blob {
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
        let ra =
            tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap()).unwrap();
        let rb =
            tee_pef::crypto::RecipientKey::from_pem(&machine_b().public_pem().unwrap()).unwrap();
        assert_eq!(b.authorize(&ra, "").unwrap(), "lockbox-1");
        assert_eq!(b.authorize(&rb, "").unwrap(), "lockbox-2");
        assert!(b.authorize(&ra, "").is_err());
        // Digests FDT and bootargs rules.
        assert!(Digests::for_slof(b"k", b"i", "a\0b").is_err());
    }
}

mod ultravisor {
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
        // Already secure: rejected (model choice).
        assert_eq!(
            uv.uv_esm(Caller::svm_kernel(8), layout.kbase, layout.fdt)
                .uv_rc,
            U_STATE
        );
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
}

mod pages {
    use super::*;

    #[test]
    fn page_out_gives_the_hv_only_authenticated_ciphertext() {
        let uv = secure_vm();
        let mut uv = uv.lock().unwrap();
        let page = vec![0x5a; 4096];
        let ct1 = uv.hv_page_out(7, 0x40, &page).unwrap();
        assert_ne!(ct1, page);
        assert_eq!(ct1.len(), page.len());
        let ct2 = uv.hv_page_out(7, 0x41, &page).unwrap();
        assert_ne!(ct1, ct2, "fresh IV per page-out");
        assert_eq!(uv.hv_page_in(7, 0x40, &ct1).unwrap(), page);
        // Replay of an already paged-in page, or a modified page: refused.
        assert!(uv.hv_page_in(7, 0x40, &ct1).is_none());
        let mut bad = ct2.clone();
        bad[0] ^= 1;
        assert!(uv.hv_page_in(7, 0x41, &bad).is_none());
        // Not a secure SVM.
        assert!(uv.hv_page_out(8, 0x40, &page).is_none());
    }
}

mod hcalls {
    use super::*;
    use tee_pef::uv::HcallDisposition;

    #[test]
    fn h_random_from_an_svm_is_h_function_as_in_the_code() {
        let uv = secure_vm();
        let mut uv = uv.lock().unwrap();
        assert_eq!(
            uv.svm_hcall(Caller::svm_kernel(7), H_RANDOM),
            HcallDisposition::Returned(H_FUNCTION)
        );
        assert_eq!(
            uv.svm_hcall(Caller::svm_kernel(7), 0x04),
            HcallDisposition::Reflected
        );
        assert_eq!(
            uv.svm_hcall(Caller::guest_kernel(9), H_RANDOM),
            HcallDisposition::NotSecure
        );
    }
}

mod tpm_model {
    use super::*;

    fn tpm_a() -> SimTpm {
        let d = tempfile::tempdir().unwrap();
        machine_a().save(d.path()).unwrap();
        SimTpm::with_key(
            RsaKeyPair::from_pkcs8_pem(
                &std::fs::read_to_string(d.path().join("tpm-priv.pem")).unwrap(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn firmware_rotates_password_and_locks_pcr16() {
        let mut t = tpm_a();
        let c1 = t.firmware_boot().unwrap();
        assert!(t.pcr16_locked());
        assert_eq!(c1.passwd.len(), 17);
        assert_eq!(c1.passwd[16], 0);
        assert!(c1.passwd[..16].iter().all(|&b| b != 0));
        assert_eq!(c1.handle, 0x8180_0001);
        assert_eq!(c1.policy_a, tpm::policy::a());
        assert_eq!(c1.public_name.len(), 34);
        assert_eq!(&c1.public_name[..2], &[0x00, 0x0b]);
        let c2 = t.firmware_boot().unwrap();
        assert_ne!(c1.passwd, c2.passwd, "fresh password every boot");
        assert_eq!(c1.public_name, c2.public_name);
    }

    #[test]
    fn policy_a_needs_the_password_and_policy_b_is_closed_after_firmware() {
        let mut t = tpm_a();
        let cfg = t.firmware_boot().unwrap();
        let ct = tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap())
            .unwrap()
            .wrap(&[7; 32])
            .unwrap();
        let session_a = |t: &mut SimTpm| {
            let mut s = t.start_policy_session();
            t.policy_command_code(&mut s, tpm::TPM_CC_RSA_DECRYPT);
            t.policy_auth_value(&mut s);
            t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
                .unwrap();
            s
        };
        let s = session_a(&mut t);
        assert_eq!(
            *t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, &cfg.passwd[..16])
                .unwrap(),
            [7; 32]
        );
        let s = session_a(&mut t);
        assert_eq!(
            t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, b"guessed password")
                .unwrap_err(),
            TpmError::AuthFail
        );
        // Policy B is unusable after firmware: PCR16 is no longer zero and cannot be reset.
        let mut s = t.start_policy_session();
        t.policy_command_code(&mut s, tpm::TPM_CC_OBJECT_CHANGE_AUTH);
        t.policy_pcr16(&mut s, &[0; 32]);
        t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
            .unwrap();
        assert_eq!(
            t.object_change_auth(&s, b"host-chosen").unwrap_err(),
            TpmError::PcrMismatch
        );
        assert_eq!(t.pcr16_reset().unwrap_err(), TpmError::Locked);
        // A policy-B session cannot decrypt.
        assert_eq!(
            t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, b"")
                .unwrap_err(),
            TpmError::Session
        );
        // Unknown policy branch.
        let mut s = t.start_policy_session();
        t.policy_auth_value(&mut s);
        assert_eq!(
            t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
                .unwrap_err(),
            TpmError::PolicyFail
        );
    }

    #[test]
    fn if_pcr16_were_resettable_the_host_could_decrypt() {
        // The caveat of the model (§6.2): documents why the assumption matters.
        let mut t = tpm_a();
        t.firmware_boot().unwrap();
        t.danger_unlock_pcr16();
        t.pcr16_reset().unwrap();
        let mut s = t.start_policy_session();
        t.policy_command_code(&mut s, tpm::TPM_CC_OBJECT_CHANGE_AUTH);
        t.policy_pcr16(&mut s, &[0; 32]);
        t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
            .unwrap();
        t.object_change_auth(&s, b"host-chosen").unwrap();
        let ct = tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap())
            .unwrap()
            .wrap(&[9; 32])
            .unwrap();
        let mut s = t.start_policy_session();
        t.policy_command_code(&mut s, tpm::TPM_CC_RSA_DECRYPT);
        t.policy_auth_value(&mut s);
        t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
            .unwrap();
        assert_eq!(
            *t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, b"host-chosen")
                .unwrap(),
            [9; 32]
        );
    }
}

mod secrets {
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
        assert_eq!(get(&uv, 7, 100, 0, "nope").0, U_PARAMETER);
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
}

mod backend {
    use super::*;

    fn sim_backend() -> PefBackend {
        PefBackend::with_ultracalls(
            Arc::new(SimSvmProcess::new(secure_vm(), 7, 1)),
            PefConfig::default(),
        )
    }

    const AT: UnixTime = UnixTime::from_secs(1_790_000_000);

    #[test]
    fn conformance_on_the_simulator() {
        let be = sim_backend();
        let v = PefVerifier::with_key(&ATTEST_KEY).unwrap();
        tee_core::conformance::run_all(&tee_core::conformance::Target {
            backend: &be,
            verifier: &v,
            at: AT,
            tamper_offsets: (0..208).collect(),
        });
    }

    #[test]
    fn owner_rooted_evidence_round_trip_and_rejections() {
        let be = sim_backend();
        let rd = ReportData::bind(b"nonce", b"user");
        let ev = be.attester().unwrap().attest(&rd).unwrap();
        assert_eq!(ev.format, "pef-owner-mac-v1");
        assert_eq!(ev.report.len(), 208);
        let v = PefVerifier::with_key(&ATTEST_KEY).unwrap();
        let c = v.verify(&ev, AT).unwrap();
        assert_eq!(c.report_data, rd);
        assert_eq!(c.trust, tee_core::TrustRoot::Owner);
        assert!(!c.debug);
        assert_eq!(c.verified_at, AT);
        // The blob's ESM measurement is the launch measurement, and a relying
        // party recomputes it from the files it expects.
        let expected = Digests::for_slof(KERNEL, INITRD, BOOTARGS)
            .unwrap()
            .measurement();
        assert_eq!(c.launch_measurement.value().unwrap().0, expected.to_vec());
        match &c.platform_claims {
            tee_core::PlatformClaims::Pef(p) => {
                assert!(
                    p.trust_statement
                        .starts_with("owner-rooted, not hardware-rooted")
                );
                assert_eq!(p.key_id.0, tee_pef::report::key_id(&ATTEST_KEY).to_vec());
                assert_eq!(p.version, 1);
            }
            other => panic!("{other:?}"),
        }
        // No key: MissingEndorsement explaining the key is needed.
        match PefVerifier::new().verify(&ev, AT) {
            Err(Error::Authenticity(Authenticity::MissingEndorsement { what })) => {
                assert!(
                    what.contains("attestation key") && what.contains("with_key"),
                    "{what}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Wrong key: untrusted.
        assert!(matches!(
            PefVerifier::with_key(&[0x33; 32]).unwrap().verify(&ev, AT),
            Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
        ));
        // MAC, report data or measurement flipped: bad signature.
        for off in [50, 120, 207] {
            let mut bad = ev.clone();
            bad.report[off] ^= 1;
            assert!(matches!(
                v.verify(&bad, AT),
                Err(Error::Authenticity(Authenticity::BadSignature {
                    what: "PEF owner MAC"
                }))
            ));
        }
        // Version: rejected before anything else.
        let mut v2 = ev.clone();
        v2.report[8] = 2;
        assert!(matches!(
            v.verify(&v2, AT),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::UnsupportedVersion(2),
                ..
            }))
        ));
        // Reserved flag bits.
        let mut fl = ev.clone();
        fl.report[13] = 1;
        assert!(matches!(
            v.verify(&fl, AT),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::ReservedNonZero { offset: 12 },
                ..
            }))
        ));
        let mut short = ev.clone();
        short.report.truncate(100);
        assert!(matches!(v.verify(&short, AT), Err(Error::Malformed(_))));
        let mut wrong = ev.clone();
        wrong.platform = tee_core::Platform::Mock;
        assert!(matches!(v.verify(&wrong, AT), Err(Error::Misuse(_))));
        assert!(PefVerifier::with_key(&[1; 16]).is_err());
    }

    #[test]
    fn without_a_measurement_attachment_the_measurement_is_not_applicable() {
        let origin_pub = origin().recipient().unwrap();
        let mut b = EsmBlobBuilder::new(&origin_pub, "").unwrap();
        b.authorize(
            &tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap()).unwrap(),
            "",
        )
        .unwrap();
        b.set_digests(&Digests::for_slof(KERNEL, INITRD, BOOTARGS).unwrap(), "")
            .unwrap();
        b.attach("attest-key", &ATTEST_KEY, "").unwrap();
        let w = cpio::wrap_initrd(INITRD, &b.build().unwrap(), "esmb.dtb").unwrap();
        let mut uv = machine_a().boot().unwrap();
        assert_eq!(
            launch(&mut uv, 3, &GuestImage::new(KERNEL.to_vec(), w, BOOTARGS)).uv_rc,
            U_SUCCESS
        );
        let uv = Arc::new(Mutex::new(uv));
        let be = PefBackend::with_ultracalls(
            Arc::new(SimSvmProcess::new(uv, 3, 1)),
            PefConfig::default(),
        );
        let rd = ReportData::bind(b"n", b"");
        let ev = be.attester().unwrap().attest(&rd).unwrap();
        assert_eq!(&ev.report[12..16], &[0, 0, 0, 0]);
        let c = PefVerifier::with_key(&ATTEST_KEY)
            .unwrap()
            .verify(&ev, AT)
            .unwrap();
        match &c.launch_measurement {
            tee_core::Claim::NotApplicable(r) => assert!(r.contains("esm-measurement")),
            other => panic!("{other:?}"),
        }
        // A second attestation uses the cached absence, not another ultracall.
        assert!(be.attester().unwrap().attest(&rd).is_ok());
        // A policy with reference measurements fails closed on it.
        let policy = tee_core::Policy {
            report_data: Some(rd),
            allowed_measurements: vec![tee_core::HexBytes::from(
                Digests::for_slof(KERNEL, INITRD, BOOTARGS)
                    .unwrap()
                    .measurement(),
            )],
            ..Default::default()
        };
        assert!(!tee_core::appraise(&c, &policy).passed());
    }

    #[test]
    fn appraisal_names_the_owner_root() {
        let be = sim_backend();
        let rd = ReportData::bind(b"n", b"");
        let ev = be.attester().unwrap().attest(&rd).unwrap();
        let claims = PefVerifier::with_key(&ATTEST_KEY)
            .unwrap()
            .verify(&ev, AT)
            .unwrap();
        let mut policy = tee_core::Policy {
            report_data: Some(rd),
            ..Default::default()
        };
        let a = tee_core::appraise(&claims, &policy);
        assert!(a.passed(), "{a:?}");
        let c = a
            .checks
            .iter()
            .find(|c| c.name == "pef.trust_root")
            .unwrap();
        assert_eq!(c.outcome, tee_core::Outcome::Passed);
        assert!(c.detail.contains("not a hardware signature"));
        policy.pef.allowed_key_ids = vec![tee_core::HexBytes::from([0u8; 32])];
        assert!(!tee_core::appraise(&claims, &policy).passed());
        policy.pef.allowed_key_ids = vec![tee_core::HexBytes::from(tee_pef::report::key_id(
            &ATTEST_KEY,
        ))];
        assert!(tee_core::appraise(&claims, &policy).passed());
    }

    #[test]
    fn sealing_is_bound_to_the_provisioned_secret() {
        let be = sim_backend();
        let pol = SealPolicy::measurement("db");
        let blob = be.sealer().unwrap().seal(b"data", &pol).unwrap();
        assert_eq!(&*be.sealer().unwrap().unseal(&blob, &pol).unwrap(), b"data");
        // Another owner secret (a VM admitted by another blob) cannot open it.
        let cfg = PefConfig {
            attestation_key_file: "attest-key".into(),
            sealing_key_file: "attest-key".into(),
            ..PefConfig::default()
        };
        let other =
            PefBackend::with_ultracalls(Arc::new(SimSvmProcess::new(secure_vm(), 7, 1)), cfg);
        assert!(matches!(
            other.sealer().unwrap().unseal(&blob, &pol),
            Err(Error::Unseal(tee_core::UnsealError::KeyMismatch))
        ));
        let inst = SealPolicy {
            purpose: "x".into(),
            binding: SealBinding::Instance,
        };
        assert!(matches!(
            be.sealer().unwrap().seal(b"d", &inst),
            Err(Error::Unsupported(_))
        ));
        assert!(
            matches!(be.runtime_measurement(), Err(Error::Unsupported(u)) if u.operation == Operation::RuntimeMeasurement && u.reason.contains("no runtime measurement"))
        );
    }

    #[test]
    fn detection_with_a_fake_sysfs() {
        let d = tempfile::tempdir().unwrap();
        match PefBackend::open_at(d.path(), PefConfig::default()) {
            Err(Error::Unsupported(u)) => {
                assert_eq!(u.operation, Operation::Open);
                assert!(u.reason.contains("/sys/devices/system/cpu/svm"));
            }
            other => panic!("{other:?}"),
        }
        let f = d.path().join("sys/devices/system/cpu");
        std::fs::create_dir_all(&f).unwrap();
        std::fs::write(f.join("svm"), "0\n").unwrap();
        assert!(
            matches!(PefBackend::open_at(d.path(), PefConfig::default()), Err(Error::Unsupported(u)) if u.reason.contains("svm=on"))
        );
        std::fs::write(f.join("svm"), "banana\n").unwrap();
        assert!(matches!(
            PefBackend::open_at(d.path(), PefConfig::default()),
            Err(Error::Device(_))
        ));
        std::fs::write(f.join("svm"), "1\n").unwrap();
        let be = PefBackend::open_at(d.path(), PefConfig::default()).unwrap();
        let caps = be.capabilities();
        assert!(!caps.attestation.is_supported());
        assert!(!caps.sealing.is_supported());
        assert!(
            matches!(be.attester(), Err(Error::Unsupported(u)) if u.operation == Operation::Attestation)
        );
        assert!(
            matches!(be.secret("crypttab"), Err(Error::Unsupported(u)) if u.operation == Operation::SecretProvisioning)
        );
        tee_core::conformance::run_all(&tee_core::conformance::Target {
            backend: &be,
            verifier: &PefVerifier::new(),
            at: AT,
            tamper_offsets: vec![],
        });
        // The real root on this (non-PEF) host.
        assert!(PefBackend::open().is_err());
    }

    #[test]
    fn machine_directory_round_trip() {
        let d = tempfile::tempdir().unwrap();
        machine_a().save(d.path()).unwrap();
        let pem = std::fs::read(d.path().join("tpm-pub.pem")).unwrap();
        assert_eq!(pem, machine_a().public_pem().unwrap());
        let m = SimMachine::load(d.path()).unwrap();
        let mut uv = m.boot().unwrap();
        assert_eq!(launch(&mut uv, 1, &image(built_a())).uv_rc, U_SUCCESS);
        assert!(SimMachine::load(&d.path().join("missing")).is_err());
    }
}

mod no_panics {
    use proptest::prelude::*;

    use super::*;

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
}

mod hardware {
    use super::*;

    /// Run inside a PEF secure VM whose ESM blob carries `attest-key`
    /// (`cargo test -p tee-pef -- --ignored`); set `TEE_PEF_ATTEST_KEY_HEX`
    /// to the owner's key to check the MAC.
    #[test]
    #[ignore = "needs a PEF secure VM with an ESM blob"]
    fn secure_vm_attests_with_the_provisioned_key() {
        let be = PefBackend::open().expect("a PEF secure VM");
        assert!(be.capabilities().attestation.is_supported());
        let rd = ReportData::bind(b"hardware", b"");
        let ev = be.attester().unwrap().attest(&rd).unwrap();
        assert_eq!(ev.report.len(), 208);
        assert_eq!(&ev.report[48..112], rd.as_bytes());
        if let Ok(k) = std::env::var("TEE_PEF_ATTEST_KEY_HEX") {
            let key = hex::decode(k.trim()).unwrap();
            let c = PefVerifier::with_key(&key)
                .unwrap()
                .verify(&ev, UnixTime::now())
                .unwrap();
            assert_eq!(c.report_data, rd);
        }
        // Read-once: the second attest is served from the process cache.
        assert!(be.attester().unwrap().attest(&rd).is_ok());
    }
}

mod golden {
    use super::*;
    use tee_pef::fdt::Node;

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(name),
        )
        .unwrap()
    }

    fn skeleton() -> Node {
        let lockbox = |name: &str, comment: &str, key: &[u8], hash: &[u8]| {
            Node::new(name)
                .with_str("untrusted-comment", comment)
                .with_prop("encrypted-symkey", key.to_vec())
                .with_child(
                    Node::new("pubkey-fingerprint")
                        .with_str("algorithm", "SHA256")
                        .with_prop("hash", hash.to_vec()),
                )
        };
        Node::new("")
            .with_str("compatible", "ibm,esm")
            .with_child(
                Node::new("lockboxes")
                    .with_child(lockbox(
                        "origin-lockbox",
                        "owner",
                        &[1, 2, 3, 4, 5],
                        &[0xaa, 0xbb, 0xcc, 0xdd],
                    ))
                    .with_child(lockbox("lockbox-1", "tpm", &[6, 7, 8], &[0xee, 0xff])),
            )
            .with_child(
                Node::new("digest").with_child(
                    Node::new("digests-fdt")
                        .with_str("algorithm", "AES256-GCM")
                        .with_str("untrusted-comment", "digests")
                        .with_prop("ciphertext", vec![0x10, 0x11, 0x12])
                        .with_prop("iv", (0u8..16).collect::<Vec<_>>())
                        .with_prop("mac", (0xf0u8..=0xff).collect::<Vec<_>>()),
                ),
            )
            .with_child(Node::new("file").with_prop("files-fdt", vec![0xd0, 0x0d, 0xfe, 0xed]))
    }

    #[test]
    fn dtc_output_is_byte_identical() {
        let dtb = data("esm.dtb");
        assert_eq!(
            skeleton().to_dtb(),
            dtb,
            "the FDT writer's layout differs from dtc's"
        );
        assert_eq!(tee_pef::fdt::parse(&dtb).unwrap(), skeleton());
    }

    #[test]
    fn gnu_cpio_archive_is_skipped_like_the_ultravisor_does() {
        let initrd = data("gnu-cpio-wrapped-initrd.bin");
        let loc = cpio::locate_esm(&initrd).unwrap();
        assert_eq!(loc.member, "opt/ibm/pef/esmb.dtb");
        assert_eq!(loc.measured_from % 512, 0);
        assert_eq!(&initrd[loc.measured_from..], b"ORIGINAL-INITRD");
        let dtb = data("esm.dtb");
        assert_eq!(
            &initrd[loc.blob_offset..loc.blob_offset + dtb.len()],
            &dtb[..]
        );
        // Our own archive for the same blob ends at the same 512-byte boundary.
        assert_eq!(
            cpio::esm_cpio("esmb.dtb", &dtb).unwrap().len(),
            loc.measured_from
        );
    }
}

mod transport {
    use super::*;
    use tee_core::DeviceErrorKind;
    use tee_pef::EsmbGetFile;

    /// A misbehaving ultravisor: returns `rc` every time.
    #[derive(Debug)]
    struct Fake(i64);

    impl EsmbGetFile for Fake {
        fn esmb_get_file(
            &self,
            _offset: u64,
            _name: &[u64; 8],
        ) -> tee_core::Result<(i64, [u64; 8])> {
            Ok((self.0, [u64::from_be_bytes(*b"ABCDEFGH"); 8]))
        }
    }

    fn kind(e: Error) -> DeviceErrorKind {
        match e {
            Error::Device(d) => d.kind,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostile_or_broken_ultracall_results_are_typed_errors() {
        assert_eq!(
            kind(tee_pef::guest::read_file(&Fake(65), "x").unwrap_err()),
            DeviceErrorKind::CorruptOutput
        );
        assert_eq!(
            kind(tee_pef::guest::read_file(&Fake(-7), "x").unwrap_err()),
            DeviceErrorKind::Firmware(-7i64 as u64)
        );
        // A UV that never says "end of file": stopped at the 64 KiB limit.
        assert_eq!(
            kind(tee_pef::guest::read_file(&Fake(64), "x").unwrap_err()),
            DeviceErrorKind::CorruptOutput
        );
        let ok = tee_pef::guest::read_file(&Fake(0), "x").unwrap();
        assert!(ok.is_empty());
        // Through the backend: the attester reports the device error, never panics.
        let be = PefBackend::with_ultracalls(Arc::new(Fake(-11)), PefConfig::default());
        assert!(matches!(
            be.attester().unwrap().attest(&ReportData::zero()),
            Err(Error::Device(_))
        ));
        assert!(matches!(
            be.sealer()
                .unwrap()
                .seal(b"x", &SealPolicy::measurement("p")),
            Err(Error::Device(_))
        ));
    }

    #[test]
    fn short_secrets_are_refused() {
        #[derive(Debug)]
        struct Short;
        impl EsmbGetFile for Short {
            fn esmb_get_file(
                &self,
                offset: u64,
                _name: &[u64; 8],
            ) -> tee_core::Result<(i64, [u64; 8])> {
                Ok(if offset == 0 {
                    (8, [1; 8])
                } else {
                    (0, [0; 8])
                })
            }
        }
        let be = PefBackend::with_ultracalls(Arc::new(Short), PefConfig::default());
        assert_eq!(
            kind(
                be.attester()
                    .unwrap()
                    .attest(&ReportData::zero())
                    .unwrap_err()
            ),
            DeviceErrorKind::CorruptOutput
        );
        assert_eq!(
            kind(
                be.sealer()
                    .unwrap()
                    .seal(b"x", &SealPolicy::measurement("p"))
                    .unwrap_err()
            ),
            DeviceErrorKind::CorruptOutput
        );
    }

    #[test]
    fn sysfs_that_is_not_a_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sys/devices/system/cpu/svm")).unwrap();
        assert!(matches!(
            PefBackend::open_at(d.path(), PefConfig::default()),
            Err(Error::Device(_))
        ));
    }
}
