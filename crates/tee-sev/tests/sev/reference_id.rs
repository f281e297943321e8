//! SNP ID block / ID auth (`tee_sev::reference`): the fact sheet's
//! deterministic example byte for byte, the layout against
//! `snp-create-id-block` (sev-snp-measure 0.0.13), signatures verified with
//! p384, and the generated policy against reports from the fake AMD PKI.
//! Also the init-data HOST_DATA digest.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;

use p384::ecdsa::signature::Verifier as _;
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use p384::pkcs8::{EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256, Sha384};
use tee_core::platforms::SnpSigningKey;
use tee_core::{Error, Policy, ReportData, Verifier, appraise};
use tee_sev::reference::{
    IdBlockInputs, IdMaterial, InitDataAlgorithm, amd_public_key, base64, init_data_digest,
    key_digest, signing_key_from_pem,
};
use tee_sev::report::Product;
use tee_sev::testing::{FakeFirmware, at, pki, sign_report};

const D_ID: &str = "3e5f39ff346b53718769698532970ea71fcb807f669397ab9cc5eba9dd3b3a8e7fe2377a6e21c5240db97101987393ed";
const D_AUTHOR: &str = "45f1508e0d74587afd393614bc285f56bf204e40c5d266d0517b6700c03184c692bab9a463bdf38b8b2cbd170749e015";
const LD: &str = "f28285ef780e8a9bb8e8e9fc025f7f8af23c6532078753fbbb82abc2747dd414a6c7d74bfe6a492360cdba9b801708af";

fn key(d: &str) -> SigningKey {
    SigningKey::from_slice(&hex::decode(d).unwrap()).unwrap()
}

fn ld() -> [u8; 48] {
    hex::decode(LD).unwrap().try_into().unwrap()
}

/// Verify an AMD-format (LE, zero-extended) signature over `msg`.
fn verify_amd(vk: &VerifyingKey, msg: &[u8], sig: &[u8]) -> bool {
    assert_eq!(sig.len(), 0x200);
    assert!(
        sig[48..72].iter().chain(&sig[72 + 48..]).all(|b| *b == 0),
        "padding is zero"
    );
    let mut r = sig[..48].to_vec();
    let mut s = sig[72..120].to_vec();
    r.reverse();
    s.reverse();
    let Ok(sig) = Signature::from_scalars(
        <[u8; 48]>::try_from(r).unwrap(),
        <[u8; 48]>::try_from(s).unwrap(),
    ) else {
        return false;
    };
    vk.verify(msg, &sig).is_ok()
}

fn facts_material() -> IdMaterial {
    IdBlockInputs::new(ld())
        .family_id([1; 16])
        .image_id([2; 16])
        .guest_svn(7)
        .policy(0x3_0000)
        .sign(&key(D_ID), Some(&key(D_AUTHOR)))
        .unwrap()
}

/// Fact sheet 3.5, byte for byte.
#[test]
fn facts_deterministic_example() {
    let id = key(D_ID);
    let author = key(D_AUTHOR);
    let pk = amd_public_key(id.verifying_key());
    let mut qx = pk[4..52].to_vec();
    qx.reverse();
    assert_eq!(
        hex::encode(qx),
        "736d1dadc9e4766bfb9badb08ecd0d612dc48ef899aea11593649a625ea3946d5af13c06cb84751c07865c9cf77aaed5"
    );
    assert_eq!(&pk[..4], &2u32.to_le_bytes());
    assert!(pk[52..76].iter().chain(&pk[124..]).all(|b| *b == 0));
    assert_eq!(
        hex::encode(key_digest(id.verifying_key())),
        "331b8555d67b8564f6c1d6b781d6ba9fd3a5273b959704e66738b9b72070f25294a41a27742a63bd521b4287908173f4"
    );
    assert_eq!(
        hex::encode(key_digest(author.verifying_key())),
        "7ed121a8e4d736c4fc4e7ad72236a27f8713664e700d3f3f81844b0813daa294ac61ccc623ec6d4e6d3b419e9c10e368"
    );

    let m = facts_material();
    assert_eq!(
        base64(&m.id_block),
        "8oKF73gOipu46On8Al9/ivI8ZTIHh1P7u4KrwnR91BSmx9dL/mpJI2DNupuAFwivAQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgICAgIBAAAABwAAAAAAAwAAAAAA"
    );
    let mut r = m.id_auth[0x40..0x40 + 48].to_vec();
    let mut s = m.id_auth[0x40 + 72..0x40 + 120].to_vec();
    r.reverse();
    s.reverse();
    assert_eq!(
        hex::encode(r),
        "befb92c767a02f757b155445cca9bca251d733e60549429733c645c96b5ee9b69cac95b5b15ba4b6694e2a307baad138"
    );
    assert_eq!(
        hex::encode(s),
        "cd42a1b78c3554b2c0a2e7594262a76ef5101c1a67270d8e6721f8d76720473c896d13ec39950ab8b3610d8d1f27d798"
    );
    assert_eq!(m.id_auth.len(), 4096);
    assert_eq!(
        hex::encode(Sha256::digest(&m.id_auth)),
        "3d3b995a6fa3a4a31cf6c517d8d18002f5cbaa7ece989ca9f6355ff8cb977bdb"
    );
    assert_eq!(
        hex::encode(m.id_key_digest),
        "331b8555d67b8564f6c1d6b781d6ba9fd3a5273b959704e66738b9b72070f25294a41a27742a63bd521b4287908173f4"
    );
    assert_eq!(
        hex::encode(m.author_key_digest.unwrap()),
        "7ed121a8e4d736c4fc4e7ad72236a27f8713664e700d3f3f81844b0813daa294ac61ccc623ec6d4e6d3b419e9c10e368"
    );
    // The digests are SHA-384 of the key fields inside ID_AUTH.
    assert_eq!(
        &Sha384::digest(&m.id_auth[0x240..0x644])[..],
        &m.id_key_digest
    );
    assert_eq!(
        &Sha384::digest(&m.id_auth[0x880..0xC84])[..],
        &m.author_key_digest.unwrap()
    );
    // Both signatures verify with p384; a flipped bit does not.
    assert!(verify_amd(
        id.verifying_key(),
        &m.id_block,
        &m.id_auth[0x40..0x240]
    ));
    assert!(verify_amd(
        author.verifying_key(),
        &m.id_auth[0x240..0x644],
        &m.id_auth[0x680..0x880]
    ));
    let mut bad = m.id_block;
    bad[0x54] ^= 1;
    assert!(!verify_amd(
        id.verifying_key(),
        &bad,
        &m.id_auth[0x40..0x240]
    ));
    assert!(!verify_amd(
        author.verifying_key(),
        &m.id_auth[0x240..0x644],
        &m.id_auth[0x40..0x240]
    ));
    // QEMU properties.
    let q = m.qemu_properties();
    assert!(q.starts_with("policy=0x30000,id-block=8oKF73gO"), "{q}");
    assert!(q.ends_with(",author-key-enabled=on"));
    assert!(q.contains(&format!(",id-auth={},", base64(&m.id_auth))));
    assert!(!q.contains('\n'));
}

#[test]
fn without_author_key() {
    let m = IdBlockInputs::new(ld()).sign(&key(D_ID), None).unwrap();
    assert_eq!(m.author_key_digest, None);
    assert!(
        m.id_auth[0x680..].iter().all(|b| *b == 0),
        "no ID_KEY_SIG, no AUTHOR_KEY"
    );
    assert_eq!(&m.id_auth[4..8], &[0; 4]);
    assert!(m.qemu_properties().ends_with("author-key-enabled=off"));
    // Defaults as snp-create-id-block: zero ids, SVN 0, policy 0x30000.
    assert_eq!(
        &m.id_block[0x30..0x58],
        &[&[0u8; 32][..], &1u32.to_le_bytes(), &[0; 4]].concat()[..]
    );
    assert_eq!(&m.id_block[0x58..], &0x3_0000u64.to_le_bytes());
    let p = m.policy();
    assert!(p.sev_snp.allowed_author_key_digests.is_empty());
}

#[test]
fn bad_guest_policy_and_keys_rejected() {
    for policy in [0u64, 0x1_0000, 0x3_0000 | 1 << 30, u64::MAX] {
        assert!(
            matches!(
                IdBlockInputs::new(ld())
                    .policy(policy)
                    .sign(&key(D_ID), None),
                Err(Error::Misuse(_))
            ),
            "{policy:#x}"
        );
    }
    let debug = IdBlockInputs::new(ld())
        .policy(0xB_0000)
        .sign(&key(D_ID), None)
        .unwrap();
    assert!(debug.notes.iter().any(|n| n.contains("DEBUG")));
    // PEM: PKCS#8 and SEC1 give the same key; other inputs are malformed.
    let sk = p384::SecretKey::from_slice(&hex::decode(D_ID).unwrap()).unwrap();
    let pkcs8 = sk.to_pkcs8_pem(LineEnding::LF).unwrap();
    let sec1 = sk.to_sec1_pem(LineEnding::LF).unwrap();
    for pem in [pkcs8.as_str(), sec1.as_str()] {
        let k = signing_key_from_pem(pem).unwrap();
        assert_eq!(
            key_digest(k.verifying_key()),
            key_digest(key(D_ID).verifying_key())
        );
    }
    let broken = pkcs8.replace("MI", "MX");
    for pem in [
        "",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        broken.as_str(),
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    ] {
        assert!(
            matches!(signing_key_from_pem(pem), Err(Error::Malformed(_))),
            "{pem}"
        );
    }
    let huge = "A".repeat(70_000);
    assert!(matches!(
        signing_key_from_pem(&huge),
        Err(Error::Malformed(_))
    ));
}

/// The generated policy admits a report (fake AMD PKI) that carries the ID
/// block's digests, and its TOML reads back; a report with another ID key
/// or another author key is not admitted.
#[test]
fn generated_policy_admits_the_launch() {
    let product = Product::Genoa;
    let mut fw = FakeFirmware::new(product, 3, SnpSigningKey::Vcek);
    let measurement = ld();
    fw.measurement = measurement;
    let m = IdBlockInputs::new(measurement)
        .family_id(fw.family_id)
        .image_id([0x1D; 16]) // the fake firmware's IMAGE_ID
        .guest_svn(fw.guest_svn)
        .sign(&key(D_ID), Some(&key(D_AUTHOR)))
        .unwrap();
    let p = pki(product);
    let report = |id_digest: &[u8; 48], author: Option<&[u8; 48]>| {
        let mut r = fw.make_report(&[7; 64], 0);
        r[0xE0..0x110].copy_from_slice(id_digest);
        if let Some(a) = author {
            r[0x110..0x140].copy_from_slice(a);
            r[0x48] |= 1; // AUTHOR_KEY_EN
        }
        sign_report(&mut r, &p.vcek_key);
        let ev = tee_sev::evidence_from_parts(&r, Some(&p.vcek()), &[]).unwrap();
        p.verifier().verify(&ev, at()).unwrap()
    };
    let text = m.policy().to_toml().unwrap();
    let policy = Policy::from_toml(&text)
        .unwrap()
        .expect_report_data(ReportData::from_slice(&[7; 64]).unwrap())
        // The fake firmware attaches no AMD CRL (not under test here).
        .with_sev_snp(|s| s.allow_unchecked_revocation(true));
    assert_eq!(policy.allowed_measurements.len(), 1);
    assert_eq!(policy.sev_snp.allowed_id_key_digests[0].0, m.id_key_digest);

    let good = report(&m.id_key_digest, m.author_key_digest.as_ref());
    let a = appraise(&good, &policy);
    assert!(a.passed(), "{a:#?}");

    // Another ID key (same measurement), another author key.
    let other = IdBlockInputs::new(measurement)
        .sign(&key(D_AUTHOR), Some(&key(D_ID)))
        .unwrap();
    for (what, claims) in [
        (
            "id key",
            report(&other.id_key_digest, m.author_key_digest.as_ref()),
        ),
        (
            "author key",
            report(&m.id_key_digest, other.author_key_digest.as_ref()),
        ),
        ("no author key", report(&m.id_key_digest, None)),
    ] {
        let sev = match &claims.platform_claims {
            tee_core::PlatformClaims::SevSnp(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        let admitted = policy
            .sev_snp
            .allowed_id_key_digests
            .contains(&sev.id_key_digest)
            && policy
                .sev_snp
                .allowed_author_key_digests
                .contains(&sev.author_key_digest);
        assert!(
            !admitted,
            "{what}: the digests the report carries are not in the policy"
        );
        let a = appraise(&claims, &policy);
        let failed: Vec<_> = a.failed().map(|c| c.name.as_str()).collect();
        assert!(
            !failed.is_empty() && failed.iter().all(|n| n.contains("key_digest")),
            "{what}: only a key digest check fails: {a:#?}"
        );
    }
}

/// Layout against `snp-create-id-block` (random-k signatures: compare every
/// byte outside the signatures, and verify the oracle's signatures).
#[test]
fn differential_snp_create_id_block() {
    let script = std::env::var_os("SEV_SNP_MEASURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::reference::oracle_dir().join("venv/bin/sev-snp-measure"))
        .with_file_name("snp-create-id-block");
    if !script.exists() {
        assert!(
            !super::reference::in_ci(),
            "{} missing (run tests/oracles/snp-measure.sh, or set SEV_SNP_MEASURE / SNP_ORACLE_DIR)",
            script.display()
        );
        eprintln!("SKIPPED: {} missing", script.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, d: &str| {
        let sk = p384::SecretKey::from_slice(&hex::decode(d).unwrap()).unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, sk.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
        p
    };
    let idp = write("id.pem", D_ID);
    let ap = write("author.pem", D_AUTHOR);
    let out = Command::new(&script)
        .args(["--measurement", &base64(&ld()), "--idkey"])
        .arg(&idp)
        .arg("--authorkey")
        .arg(&ap)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |k: &str| {
        text.split(['\n', ','])
            .find_map(|l| l.trim().strip_prefix(k))
            .unwrap()
            .trim()
            .to_owned()
    };
    let ours = IdBlockInputs::new(ld())
        .sign(
            &signing_key_from_pem(&std::fs::read_to_string(&idp).unwrap()).unwrap(),
            Some(&signing_key_from_pem(&std::fs::read_to_string(&ap).unwrap()).unwrap()),
        )
        .unwrap();
    assert_eq!(field("id-block="), base64(&ours.id_block));
    assert_eq!(field("id_key_hash:"), base64(&ours.id_key_digest));
    assert_eq!(
        field("author_key:"),
        base64(&ours.author_key_digest.unwrap())
    );
    let theirs = decode_b64(&field("id-auth="));
    assert_eq!(theirs.len(), 4096);
    for (a, b) in [(0, 0x40), (0x240, 0x680), (0x880, 0x1000)] {
        assert_eq!(&theirs[a..b], &ours.id_auth[a..b], "{a:#x}..{b:#x}");
    }
    assert!(verify_amd(
        key(D_ID).verifying_key(),
        &ours.id_block,
        &theirs[0x40..0x240]
    ));
    assert!(verify_amd(
        key(D_AUTHOR).verifying_key(),
        &theirs[0x240..0x644],
        &theirs[0x680..0x880]
    ));
}

fn decode_b64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | A.iter().position(|x| *x == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn base64_matches_a_decoder() {
    for n in 0..40usize {
        let data: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
        let e = base64(&data);
        assert_eq!(e.len(), n.div_ceil(3) * 4);
        assert_eq!(decode_b64(&e), data);
    }
    assert_eq!(base64(b"foob"), "Zm9vYg==");
}

// ---------------------------------------------------------------- host data

const INIT_DATA: &str = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n\n[data]\n\"aa.toml\" = '''\n[token_configs]\n'''\n";

#[test]
fn init_data_host_data() {
    let h = init_data_digest("initdata.toml", INIT_DATA.as_bytes()).unwrap();
    assert_eq!(h.algorithm, InitDataAlgorithm::Sha384);
    let full = Sha384::digest(INIT_DATA.as_bytes());
    assert_eq!(h.full_digest, full.to_vec());
    assert_eq!(
        &h.host_data[..],
        &full[..32],
        "sha384 truncated to the 32 bytes of HOST_DATA"
    );
    assert_eq!(h.reference.value.0, h.host_data.to_vec());
    assert!(h.qemu_property().starts_with("host-data="));
    // The policy reads back and the appraisal compares it with the report's HOST_DATA.
    let p = Policy::from_toml(&h.policy().to_toml().unwrap()).unwrap();
    assert_eq!(p.host_data.as_ref().unwrap().0, h.host_data.to_vec());

    let sha256 = INIT_DATA.replace("sha384", "sha256");
    let h = init_data_digest("x", sha256.as_bytes()).unwrap();
    assert_eq!(&h.host_data[..], &Sha256::digest(sha256.as_bytes())[..]);
    let sha512 = INIT_DATA.replace("sha384", "sha512");
    let h = init_data_digest("x", sha512.as_bytes()).unwrap();
    assert_eq!(
        &h.host_data[..],
        &sha2::Sha512::digest(sha512.as_bytes())[..32]
    );

    for bad in [
        INIT_DATA.replace("sha384", "md5"),
        INIT_DATA.replace("algorithm = \"sha384\"\n", ""),
        INIT_DATA.replace("version = \"0.1.0\"\n", ""),
        "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\nx = 3\n".into(),
        "not toml [".into(),
    ] {
        assert!(
            matches!(
                init_data_digest("x", bad.as_bytes()),
                Err(Error::Malformed(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        init_data_digest("x", &[0xFF, 0xFE]),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        init_data_digest("x", &vec![b' '; (1 << 20) + 1]),
        Err(Error::Malformed(_))
    ));
}
