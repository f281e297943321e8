//! The real svm-tool's blobs, keys and the real ultravisor's verdicts
//! (`../shared/vectors/pef-svm-tool/`, README there): every run in
//! `expected.json` gives the UV's verdict through the library's simulated
//! `UV_ESM`, and exactly the listed attachments are released afterwards.
//! The owner key as `svm-tool esm generate` wrote it opens svm-tool's blobs
//! and the SDK's, and a key the SDK writes is read back the same way.

use std::path::{Path, PathBuf};

use super::*;
use serde_json::Value;
use tee_pef::crypto::{KeyProtection, OwnerKeyFormat};
use tee_pef::inspect::extract_blob;

pub(crate) fn dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    tee_core::conformance::vectors_dir(&root).map(|d| d.join("pef-svm-tool"))
}

pub(crate) const OWNER_PASSPHRASE: &[u8] = b"test-only-owner-passphrase";

fn read(d: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(d.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The initrd a run boots: the vector's wrapped initrd, or (change
/// "initrd") that file with its last 1024 bytes replaced by
/// `inputs/initrd-changed.cpio`.
pub(crate) fn run_initrd(d: &Path, vector: &Value, run: &Value) -> Vec<u8> {
    let mut w = read(d, vector["wrapped_initrd"].as_str().unwrap());
    if run["change"] == "initrd" {
        let changed = read(d, "inputs/initrd-changed.cpio");
        let at = w.len() - changed.len();
        w[at..].copy_from_slice(&changed);
    }
    w
}

fn expected() -> Option<(PathBuf, Value)> {
    let d = dir()?;
    let v: Value = serde_json::from_slice(&read(&d, "expected.json")).unwrap();
    Some((d, v))
}

#[test]
fn every_vector_gives_the_ultravisors_verdict_and_releases() {
    let Some((d, exp)) = expected() else { return };
    let mut runs = 0;
    let mut accepted = 0;
    for vector in exp["vectors"].as_array().unwrap() {
        let id = vector["id"].as_str().unwrap();
        for run in vector["runs"].as_array().unwrap() {
            let what = format!("{id} {} {}", run["machine"], run["change"]);
            let machine = SimMachine::load(&d.join(run["machine"].as_str().unwrap())).unwrap();
            let kernel = read(&d, run["kernel"].as_str().unwrap());
            let bootargs =
                String::from_utf8(read(&d, run["bootargs_file"].as_str().unwrap())).unwrap();
            let initrd = run_initrd(&d, vector, run);
            let uv_spec = &run["uv"];
            let mut uv = machine.boot().unwrap();
            let o = launch(&mut uv, 5, &GuestImage::new(kernel, initrd, bootargs));
            assert_eq!(
                o.uv_rc,
                uv_spec["uv_esm_rc"].as_i64().unwrap(),
                "{what}: {:?}",
                o.failure
            );
            let refused_at = uv_spec["refused_at"].as_str();
            match (refused_at, &o.failure) {
                (None, None) => {}
                (Some(r), Some(EsmFailure::DigestMismatch(names))) => {
                    let n = r.strip_prefix("digest mismatch: ").expect(r);
                    assert_eq!(names, &vec![n], "{what}: exactly the changed check");
                }
                (Some(r), Some(EsmFailure::Unwrap(_))) => {
                    assert!(r.starts_with("lockbox-1 unwrap"), "{what}: {r}")
                }
                (Some(r), Some(EsmFailure::NoLockbox1)) => {
                    assert_eq!(r, "no lockbox-1 in the blob", "{what}")
                }
                (r, f) => panic!("{what}: UV {r:?}, SDK {f:?}"),
            }
            let uv = Arc::new(Mutex::new(uv));
            let released = uv_spec["released"].as_object().unwrap();
            if uv_spec["accept"] == true {
                accepted += 1;
                let p = SimSvmProcess::new(uv.clone(), 5, 300);
                for (name, want) in released {
                    let got = tee_pef::guest::read_file(&p, name).unwrap();
                    assert_eq!(
                        got.len() as u64,
                        want["len"].as_u64().unwrap(),
                        "{what} {name}"
                    );
                    assert_eq!(
                        hex::encode(sha256(&got)),
                        want["sha256"].as_str().unwrap(),
                        "{what} {name}"
                    );
                }
                let rc = uv
                    .lock()
                    .unwrap()
                    .uv_esmb_get_file(Caller::svm_user(5, 300), 0, &pack_regs(b"nosuch"))
                    .0;
                assert_eq!(
                    rc,
                    uv_spec["get_file_missing_name_rc"].as_i64().unwrap(),
                    "{what}: missing name"
                );
            } else {
                assert!(released.is_empty());
                for name in ["crypttab", "file-2", "esm-measurement"] {
                    let p = SimSvmProcess::new(uv.clone(), 5, 300);
                    assert!(
                        tee_pef::guest::read_file(&p, name).is_err(),
                        "{what}: nothing is released after a refusal ({name})"
                    );
                }
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 80, "10 vectors x 8 runs");
    assert_eq!(accepted, 9);
}

#[test]
fn every_blob_parses_and_inspects_as_the_ultravisor_reads_it() {
    let Some((d, exp)) = expected() else { return };
    for vector in exp["vectors"].as_array().unwrap() {
        let wrapped = read(&d, vector["wrapped_initrd"].as_str().unwrap());
        let loc = cpio::locate_esm(&wrapped).unwrap();
        assert_eq!(
            loc.measured_from as u64,
            vector["esm_cpio_len"].as_u64().unwrap(),
            "{}",
            vector["id"]
        );
        assert_eq!(
            &wrapped[loc.measured_from..],
            read(&d, "inputs/initrd.cpio")
        );
        let inner = extract_blob(&wrapped).unwrap();
        let blob = EsmBlob::parse(inner).unwrap_or_else(|e| panic!("{}: {e}", vector["id"]));
        if let Some(b) = vector["blob"].as_str() {
            assert_eq!(EsmBlob::parse(&read(&d, b)).unwrap(), blob);
        }
        assert!(blob.lockbox("origin-lockbox").is_some());
    }
}

#[test]
fn the_edge_cases_are_what_the_readme_says() {
    let Some(d) = dir() else { return };
    let b = |f: &str| EsmBlob::parse(&read(&d, f)).unwrap();
    let iv12 = b("blobs/e/iv12.dtb");
    assert_eq!(iv12.digests.as_ref().unwrap().iv.len(), 12);
    assert_eq!(iv12.digests.as_ref().unwrap().mac.len(), 16);
    let tag12 = b("blobs/e/tag12.dtb");
    assert_eq!(tag12.digests.as_ref().unwrap().iv.len(), 16);
    assert_eq!(tag12.digests.as_ref().unwrap().mac.len(), 12);
    let noc = b("blobs/e/att-nocomment.dtb");
    let c = noc
        .attachments
        .iter()
        .find(|a| a.name == "crypttab")
        .unwrap();
    assert_eq!(c.comment, None);
    assert_eq!(c.algorithm, "AES-256-GCM");
    // A lockbox-less description names the one lockbox the UV reads.
    let c2 = b("blobs/c2-b-revoke-m1.dtb");
    assert!(c2.lockbox("lockbox-1").is_none());
    assert!(c2.lockbox("lockbox-2").is_some());
    let decoy = read(&d, "blobs/e/decoy.initrd.img");
    assert_eq!(
        cpio::locate_esm(&decoy).unwrap().member,
        "opt/ibm/pef/zzz-blob.dtb"
    );
}

fn owner(d: &Path) -> RsaKeyPair {
    let pem = read(d, "keys-TEST-ONLY/owner-priv.pem");
    let (k, prot) = RsaKeyPair::from_owner_pem(&pem, Some(OWNER_PASSPHRASE), false).unwrap();
    assert_eq!(prot, KeyProtection::LegacyPem("DES-EDE3-CBC"));
    k
}

#[test]
fn svm_tools_owner_key_opens_its_blobs_and_the_sdks() {
    let Some(d) = dir() else { return };
    let k = owner(&d);
    // Its public half is exactly svm-tool's owner-pub.pem.
    assert_eq!(
        k.public_pem().unwrap(),
        read(&d, "keys-TEST-ONLY/owner-pub.pem")
    );
    let crypttab = read(&d, "inputs/crypttab");
    let file2 = read(&d, "inputs/file-2.bin");
    let want = Digests::for_slof(
        &read(&d, "inputs/kernel.bin"),
        &read(&d, "inputs/initrd.cpio"),
        core::str::from_utf8(&read(&d, "inputs/bootargs.txt")).unwrap(),
    )
    .unwrap();
    for f in [
        "blobs/b-m1m2-2att.dtb",     // svm-tool's
        "blobs/f-sdk-m1m2-2att.dtb", // the SDK's
        "blobs/e/noalg.dtb",         // another producer's
        "blobs/e/iv12.dtb",
        "blobs/e/tag12.dtb",
    ] {
        let blob = EsmBlob::parse(&read(&d, f)).unwrap();
        let key = blob.unwrap_key("origin-lockbox", &k).unwrap();
        assert_eq!(blob.open_digests(&key).unwrap(), want, "{f}");
        assert_eq!(
            blob.open_attachment("crypttab", &key).unwrap().as_slice(),
            &crypttab[..]
        );
        assert_eq!(
            blob.open_attachment("file-2", &key).unwrap().as_slice(),
            &file2[..]
        );
        // The owner key is no machine key: lockbox-1 does not open with it.
        assert!(blob.unwrap_key("lockbox-1", &k).is_err(), "{f}");
    }
    // The wrong passphrase and a missing passphrase are refused, typed.
    let pem = read(&d, "keys-TEST-ONLY/owner-priv.pem");
    assert!(matches!(
        RsaKeyPair::from_owner_pem(&pem, Some(b"wrong"), false),
        Err(Error::Authenticity(Authenticity::Mismatch { .. }))
    ));
    assert!(matches!(
        RsaKeyPair::from_owner_pem(&pem, None, true),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn an_sdk_written_owner_key_reads_back_and_opens_a_blob() {
    let Some(d) = dir() else { return };
    let k = owner(&d);
    for fmt in [OwnerKeyFormat::SvmTool, OwnerKeyFormat::Pkcs8] {
        let pem = k.to_owner_pem(b"another passphrase", fmt).unwrap();
        if fmt == OwnerKeyFormat::SvmTool {
            // The same shape as svm-tool's file: PKCS#1, DES-EDE3-CBC.
            let svm = String::from_utf8(read(&d, "keys-TEST-ONLY/owner-priv.pem")).unwrap();
            let head = |s: &str| s.lines().take(2).collect::<Vec<_>>().join("\n");
            assert_eq!(head(&pem), head(&svm));
            assert!(
                pem.lines()
                    .nth(2)
                    .unwrap()
                    .starts_with("DEK-Info: DES-EDE3-CBC,")
            );
            assert_eq!(pem.lines().count(), svm.lines().count());
        } else {
            assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        }
        let (back, _) =
            RsaKeyPair::from_owner_pem(pem.as_bytes(), Some(b"another passphrase"), false).unwrap();
        assert_eq!(back.public_pem().unwrap(), k.public_pem().unwrap());
        assert!(RsaKeyPair::from_owner_pem(pem.as_bytes(), Some(OWNER_PASSPHRASE), false).is_err());
        let blob = EsmBlob::parse(&read(&d, "blobs/a-m1-1att.dtb")).unwrap();
        let key = blob.unwrap_key("origin-lockbox", &back).unwrap();
        assert_eq!(
            blob.open_attachment("crypttab", &key).unwrap().as_slice(),
            &read(&d, "inputs/crypttab")[..]
        );
    }
    // Unencrypted keys only when allowed.
    let plain = k.to_pkcs8_pem().unwrap();
    assert!(matches!(
        RsaKeyPair::from_owner_pem(plain.as_bytes(), None, false),
        Err(Error::Misuse(_))
    ));
    assert_eq!(
        RsaKeyPair::from_owner_pem(plain.as_bytes(), None, true)
            .unwrap()
            .1,
        KeyProtection::Unencrypted
    );
    assert!(k.to_owner_pem(b"", OwnerKeyFormat::SvmTool).is_err());
    assert!(matches!(
        RsaKeyPair::from_owner_pem(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            None,
            true
        ),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn an_elf_kernel_is_refused_and_the_flat_binary_matches() {
    let Some(d) = dir() else { return };
    let elf = read(&d, "inputs/vmlinux");
    assert!(tee_pef::esm::is_elf(&elf));
    let initrd = read(&d, "inputs/initrd.cpio");
    assert!(matches!(
        Digests::for_slof(&elf, &initrd, "x"),
        Err(Error::Misuse(_))
    ));
    let flat = read(&d, "inputs/kernel.bin");
    assert!(!tee_pef::esm::is_elf(&flat));
    let dg = Digests::for_slof(&flat, &initrd, "x").unwrap();
    assert_eq!(
        hex::encode(dg.kernel),
        "103f6ba03e22475510bec17d6b22ecc2a1fc75d86dfdd09c244f9fc0569373ff8ad8dc14b5d0bf4364c7de6bf7af29fc0395964a9acf9eb367edfa536704a026"
    );
    assert_eq!(dg.kernel_size, 72);
}

/// svm-tool's `esm revoke`, `authorize` and `attach` as the SDK's editor
/// does them, judged by the vectors' ultravisor verdicts.
#[test]
fn edits_give_the_ultravisors_verdicts() {
    use tee_pef::crypto::RecipientKey;
    use tee_pef::esm::EsmBlobEditor;
    let Some(d) = dir() else { return };
    let kernel = read(&d, "inputs/kernel.bin");
    let initrd = read(&d, "inputs/initrd.cpio");
    let args = String::from_utf8(read(&d, "inputs/bootargs.txt")).unwrap();
    let m = |n: &str| SimMachine::load(&d.join("keys-TEST-ONLY").join(n)).unwrap();
    let boots = |blob: &[u8], machine: &str| -> (i64, Vec<String>) {
        let w = cpio::wrap_initrd(&initrd, blob, "edited.dtb").unwrap();
        let mut uv = m(machine).boot().unwrap();
        let o = launch(
            &mut uv,
            3,
            &GuestImage::new(kernel.clone(), w, args.clone()),
        );
        let uv = Arc::new(Mutex::new(uv));
        let mut got = Vec::new();
        for name in ["crypttab", "file-2", "extra"] {
            let p = SimSvmProcess::new(uv.clone(), 3, 1);
            if tee_pef::guest::read_file(&p, name).is_ok() {
                got.push(name.to_owned());
            }
        }
        (o.uv_rc, got)
    };
    let pem = |n: &str| read(&d, &format!("keys-TEST-ONLY/{n}/tpm-pub.pem"));
    let b = read(&d, "blobs/b-m1m2-2att.dtb");

    // Revoking m2 from b gives c: same lockboxes, same verdicts.
    let mut e = EsmBlobEditor::open(&b).unwrap();
    assert_eq!(e.revoke(&pem("m2")).unwrap(), ["lockbox-2"]);
    let c = e.to_dtb().unwrap();
    let want = EsmBlob::parse(&read(&d, "blobs/c-b-revoke-m2.dtb")).unwrap();
    assert_eq!(EsmBlob::parse(&c).unwrap().lockboxes, want.lockboxes);
    assert_eq!(
        boots(&c, "m1"),
        (0, vec!["crypttab".into(), "file-2".into()])
    );
    assert_eq!(boots(&c, "m2").0, U_PARAMETER);
    // Revoking again: nothing to revoke.
    assert!(e.revoke(&pem("m2")).is_err());

    // Revoking m1 gives c2: no lockbox-1, boots nowhere.
    let mut e = EsmBlobEditor::open(&b).unwrap();
    assert_eq!(e.revoke(&pem("m1")).unwrap(), ["lockbox-1"]);
    let c2 = e.to_dtb().unwrap();
    let want = EsmBlob::parse(&read(&d, "blobs/c2-b-revoke-m1.dtb")).unwrap();
    assert_eq!(EsmBlob::parse(&c2).unwrap().lockboxes, want.lockboxes);
    assert_eq!(e.uv_machine(), None);
    assert_eq!(boots(&c2, "m1").0, U_PARAMETER);
    assert_eq!(boots(&c2, "m2").0, U_PARAMETER);

    // Adding m2 to a (with the owner key's K): lockbox-2, which the UV
    // never reads: m1 still boots, m2 still does not.
    let a = read(&d, "blobs/a-m1-1att.dtb");
    let k = EsmBlob::parse(&a)
        .unwrap()
        .unwrap_key("origin-lockbox", &owner(&d))
        .unwrap();
    let mut e = EsmBlobEditor::open(&a).unwrap();
    let r2 = RecipientKey::from_pem(&pem("m2")).unwrap();
    assert_eq!(e.authorize(&k, &r2, "machine 2").unwrap(), "lockbox-2");
    assert!(e.authorize(&k, &r2, "again").is_err(), "already authorised");
    // Attach a second file.
    e.attach(&k, "file-2", &read(&d, "inputs/file-2.bin"), "file 2")
        .unwrap();
    assert!(e.attach(&k, "file-2", b"x", "dup").is_err());
    assert!(e.attach(&k, "bad name", b"x", "").is_err());
    let a2 = e.to_dtb().unwrap();
    let parsed = EsmBlob::parse(&a2).unwrap();
    assert_eq!(
        parsed.lockbox("lockbox-2").unwrap().fingerprint,
        r2.fingerprint().to_vec()
    );
    assert_eq!(
        boots(&a2, "m1"),
        (0, vec!["crypttab".into(), "file-2".into()])
    );
    assert_eq!(boots(&a2, "m2").0, U_PARAMETER);
    // m2's lockbox holds the same K.
    let m2key = RsaKeyPair::from_pkcs8_pem(
        &std::fs::read_to_string(d.join("keys-TEST-ONLY/m2/tpm-priv.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(*parsed.unwrap_key("lockbox-2", &m2key).unwrap(), *k);

    // Revoking m1 and authorising it again: it gets lockbox-3, not lockbox-1
    // (svm-tool numbers max+1), so the UV boots it nowhere.
    let mut e = EsmBlobEditor::open(&a2).unwrap();
    e.revoke(&pem("m1")).unwrap();
    let r1 = RecipientKey::from_pem(&pem("m1")).unwrap();
    assert_eq!(e.authorize(&k, &r1, "m1 again").unwrap(), "lockbox-3");
    assert_eq!(boots(&e.to_dtb().unwrap(), "m1").0, U_PARAMETER);
}
