//! `teectl verify --evidence FILE --nonce …` on the Azure captures of
//! attestation-rs (INDEX.md §8.1–8.2), in the peers' JSON shapes and in the
//! SDK envelope, with the derived negatives; and the fake Azure VM's
//! evidence (what `teectl report` writes there) through the CLI's own
//! library path.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;

use crate::common::{self, code, teectl};

const NONCE_HEX: &str = "6174746573746174696f6e2d746573742d66697874757265"; // "attestation-test-fixture"
const AT_SNP: &str = "2026-03-20T00:00:00Z";
const AT_TDX: &str = "2026-04-01T00:00:00Z";

fn vectors() -> Option<PathBuf> {
    common::vectors().map(|v| v.join("attestation-rs"))
}

fn verify(file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "--evidence",
        file.to_str().unwrap(),
        "--allow-any-measurement",
        "--allow-unchecked-revocation",
    ];
    args.extend_from_slice(extra);
    teectl(None, &args)
}

/// The PCS file set of attestation-rs/collateral under the names
/// `--collateral-dir` reads.
fn collateral_dir(v: &Path, dir: &Path) -> PathBuf {
    let d = dir.join("collateral");
    std::fs::create_dir_all(&d).unwrap();
    for (from, to) in [
        ("tcb_info_90c06f000000.json", "tcb_info.json"),
        ("td_qe_identity.json", "qe_identity.json"),
        ("pck_crl_platform.der", "pck_crl.der"),
        ("root_ca_crl.der", "root_crl.der"),
        ("tcb_signing_chain.pem", "tcb_info_issuer_chain.pem"),
        (
            "qe_identity_signing_chain.pem",
            "qe_identity_issuer_chain.pem",
        ),
    ] {
        std::fs::copy(v.join("collateral").join(from), d.join(to)).unwrap();
    }
    d
}

/// Write `json` with `edit` applied to the decoded evidence object.
fn edited(
    dir: &Path,
    name: &str,
    src: &Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    let mut j: serde_json::Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    let inner = if j.get("evidence").is_some() {
        &mut j["evidence"]
    } else {
        &mut j
    };
    edit(inner);
    let p = dir.join(name);
    std::fs::write(&p, j.to_string()).unwrap();
    p
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .unwrap()
}

fn flip_hex(s: &str, byte: usize) -> String {
    let mut b = hex::decode(s).unwrap();
    b[byte] ^= 0x01;
    hex::encode(b)
}

#[test]
fn az_snp_vectors_through_the_cli() {
    let Some(v) = vectors() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let live = v.join("az_snp/live-evidence.json");
    let at = ["--at", AT_SNP];
    // Valid with its nonce and --allow-vtpm.
    let o = verify(
        &live,
        &[&at[..], &["--allow-vtpm", "--nonce", NONCE_HEX]].concat(),
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["platform"], "sev-snp");
    assert_eq!(j["vtpm"]["freshness"], "vtpm-quote-extra-data");
    assert_eq!(j["vtpm"]["qualifying_data"], NONCE_HEX);
    assert_eq!(
        j["claims"]["runtime_registers"]["value"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
    // Same with --report-data as raw bytes.
    assert_eq!(
        code(&verify(
            &live,
            &[&at[..], &["--allow-vtpm", "--report-data", NONCE_HEX]].concat()
        )),
        0
    );
    // Without --allow-vtpm: denied by policy.
    let o = verify(&live, &[&at[..], &["--nonce", NONCE_HEX]].concat());
    assert_eq!(code(&o), 4);
    assert!(String::from_utf8_lossy(&o.stderr).contains("allow_vtpm"));
    // A different nonce, and the zero-padded one.
    let padded = format!("{NONCE_HEX}{}", "00".repeat(40));
    for n in [
        "00",
        &padded,
        "6174746573746174696f6e2d746573742d66697874757266",
    ] {
        assert_eq!(
            code(&verify(
                &live,
                &[&at[..], &["--allow-vtpm", "--nonce", n]].concat()
            )),
            4,
            "{n}"
        );
    }
    // One byte of the runtime claims, of the TPM message, of the signature.
    let hcl = edited(tmp.path(), "hcl.json", &live, |e| {
        let mut b = b64(e["hcl_report"].as_str().unwrap());
        b[0x4D4 + 3] ^= 1;
        e["hcl_report"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(b)
            .into();
    });
    let msg = edited(tmp.path(), "msg.json", &live, |e| {
        let m = flip_hex(e["tpm_quote"]["message"].as_str().unwrap(), 44);
        e["tpm_quote"]["message"] = m.into();
    });
    let sig = edited(tmp.path(), "sig.json", &live, |e| {
        let s = flip_hex(e["tpm_quote"]["signature"].as_str().unwrap(), 9);
        e["tpm_quote"]["signature"] = s.into();
    });
    let other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v.join("az_snp/milan-v3-attestation.json")).unwrap())
            .unwrap();
    let vcek = edited(tmp.path(), "vcek.json", &live, |e| {
        e["vcek"] = other["evidence"]["vcek"].clone();
    });
    for (f, what) in [
        (&hcl, "runtime claims"),
        (&msg, "TPM message"),
        (&sig, "signature"),
        (&vcek, "VCEK of another chip"),
    ] {
        let o = verify(
            f,
            &[&at[..], &["--allow-vtpm", "--nonce", NONCE_HEX]].concat(),
        );
        assert_eq!(
            code(&o),
            3,
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // The empty nonce of milan-v3.
    let m = v.join("az_snp/milan-v3-attestation.json");
    assert_eq!(
        code(&verify(
            &m,
            &[&at[..], &["--allow-vtpm", "--report-data", ""]].concat()
        )),
        0
    );
    assert_eq!(
        code(&verify(
            &m,
            &[&at[..], &["--allow-vtpm", "--nonce", NONCE_HEX]].concat()
        )),
        4
    );
}

#[test]
fn the_sdk_envelope_of_a_converted_vector_verifies_the_same() {
    let Some(v) = vectors() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = collateral_dir(&v, tmp.path());
    let dir = dir.to_str().unwrap();
    for (rel, extra) in [
        ("az_snp/live-evidence.json", vec!["--at", AT_SNP]),
        (
            "az_tdx/live-evidence.json",
            vec!["--at", AT_TDX, "--collateral-dir", dir],
        ),
    ] {
        let ev = tee::azure::from_peer_json(&std::fs::read(v.join(rel)).unwrap()).unwrap();
        let p = tmp.path().join("sdk.json");
        std::fs::write(&p, ev.to_json().unwrap()).unwrap();
        let ok = verify(
            &p,
            &[&extra[..], &["--allow-vtpm", "--nonce", NONCE_HEX]].concat(),
        );
        assert_eq!(code(&ok), 0, "{}", String::from_utf8_lossy(&ok.stderr));
        assert_eq!(
            code(&verify(
                &p,
                &[&extra[..], &["--allow-vtpm", "--nonce", "00"]].concat()
            )),
            4
        );
        // The Trustee v2 shape too.
        let t = tmp.path().join("trustee.json");
        std::fs::write(
            &t,
            tee::azure::evidence::to_trustee_json(&ev)
                .unwrap()
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            code(&verify(
                &t,
                &[&extra[..], &["--allow-vtpm", "--nonce", NONCE_HEX]].concat()
            )),
            0
        );
    }
}

#[test]
fn az_tdx_vector_through_the_cli() {
    let Some(v) = vectors() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = collateral_dir(&v, tmp.path());
    let f = v.join("az_tdx/live-evidence.json");
    let args = |n: &'static str, at: &'static str| -> Vec<String> {
        [
            "--at",
            at,
            "--allow-vtpm",
            "--collateral-dir",
            dir.to_str().unwrap(),
            "--nonce",
            n,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |a: Vec<String>| verify(&f, &a.iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(args(NONCE_HEX, AT_TDX));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["platform"], "tdx");
    assert_eq!(j["claims"]["tcb"]["value"]["status"], "UpToDate");
    assert_eq!(code(&run(args("00", AT_TDX))), 4);
    // After the collateral expired.
    assert_eq!(code(&run(args(NONCE_HEX, "2026-04-20T00:00:00Z"))), 3);
    // One byte of the TPM message.
    let msg = edited(tmp.path(), "msg.json", &f, |e| {
        let m = flip_hex(e["tpm_quote"]["message"].as_str().unwrap(), 44);
        e["tpm_quote"]["message"] = m.into();
    });
    let mut a = args(NONCE_HEX, AT_TDX);
    a.insert(0, msg.to_str().unwrap().to_string());
    a.insert(0, "--evidence".into());
    a.insert(0, "verify".into());
    let o = teectl(None, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
}

/// What `teectl report` writes on a (simulated) Azure VM, then what `teectl
/// verify` does with it: a default build trusts only the pinned vendor
/// roots, so the fake PKI's evidence fails closed there (exit 3), and passes
/// through the same library path with verifiers that trust the fake roots.
/// Through the binary end to end: `azure_sim.rs` (feature `simulation`).
#[test]
fn simulated_azure_vms_report_then_verify() {
    use tee::{Backend as _, Policy, ReportData, Verifiers, appraise};
    use tee_azure::testing::{FakeAzureVm, at};
    let tmp = tempfile::tempdir().unwrap();
    for vm in [FakeAzureVm::snp(), FakeAzureVm::tdx()] {
        let nonce = [0x11u8; 32];
        let rd = ReportData::bind(&nonce, b"");
        let backend = vm.backend().unwrap();
        let ev = backend.attester().unwrap().attest(&rd).unwrap();
        let p = tmp.path().join("ev.json");
        std::fs::write(&p, ev.to_json().unwrap()).unwrap();
        // The binary: the fake roots are not trusted.
        let o = verify(
            &p,
            &[
                "--allow-vtpm",
                "--nonce",
                &hex::encode(nonce),
                "--no-collateral",
            ][..if vm.tee == tee_azure::HclTee::Tdx {
                4
            } else {
                3
            }],
        );
        assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
        // The library path `teectl verify` takes, with the fake roots.
        let read = tee::azure::parse_any(&std::fs::read(&p).unwrap())
            .unwrap()
            .0;
        let vs = Verifiers::empty().with(vm.hardware_verifier());
        let claims = vs.verify(&read, at()).unwrap();
        let mut policy = Policy::new()
            .allow_vtpm(true)
            .allow_any_measurement(true)
            .expect_report_data(rd);
        policy.sev_snp.allow_unchecked_revocation = true;
        let a = appraise(&claims, &policy);
        assert!(a.passed(), "{:#?}", a.failed().collect::<Vec<_>>());
        assert!(!appraise(&claims, &policy.clone().allow_vtpm(false)).passed());
        assert!(
            !appraise(
                &claims,
                &policy.expect_report_data(ReportData::bind(b"x", b""))
            )
            .passed()
        );
    }
}
