//! `teectl reference tdx` / `teectl reference pef` against the built
//! binary: the fact sheet's synthetic TDVF (§4.3), the real CCEL vector,
//! and `--policy-out` read back by `teectl verify --policy`.

use std::path::Path;
use std::process::Output;

use crate::common::{code, stderr, stdout, teectl, vectors};

const ONE_PASS: &str = "dd29c282a3aac954af79408f10cbbed692faad475d8437cafd87b09c6b56e91698d14bbcfb3ed9976d5be556b0745dd1";
const TWO_PASS: &str = "654ba50965c8506a618040c514035f232035f5b694c76381c0f9076dedb0697e0890d48dda882e0231c52773e0de3bc3";
const COS_RTMR0: &str = "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6";

/// `tdx-synth.bin` of the fact sheet §4.3 (sha256 537c8b12…; `tee_tdx::reference::synth`).
fn synth() -> Vec<u8> {
    tee_tdx::reference::synth::fact_sheet()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn check<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    j["appraisal"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

#[test]
fn tdvf_mrtd_both_orders_text_json_and_explain() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("tdx-synth.bin"), synth()).unwrap();
    let o = teectl(d.path(), &["reference", "tdx", "--tdvf", "tdx-synth.bin"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), format!("MRTD (one-pass): {ONE_PASS}"));
    let o = teectl(
        d.path(),
        &[
            "reference",
            "tdx",
            "--tdvf",
            "tdx-synth.bin",
            "--two-pass",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["page_add_order"], "two-pass");
    assert_eq!(j["mr_td"]["value"], TWO_PASS);
    assert_eq!(j["mr_td"]["name"], "tdx.mr_td");
    let inputs = j["mr_td"]["transcript"]["inputs"].as_array().unwrap();
    assert_eq!(inputs[0]["value"], "tdx-synth.bin");
    assert!(
        inputs[1]["value"]
            .as_str()
            .unwrap()
            .contains("537c8b128fedce09916fe963dff0bd800155ba94b16970ca385c877cf0a81e22")
    );
    // --explain: the running digest after the BFV and the CFV.
    let o = teectl(
        d.path(),
        &["reference", "tdx", "--tdvf", "tdx-synth.bin", "--explain"],
    );
    let s = stdout(&o);
    assert!(s.contains("page_add_order: one-pass"), "{s}");
    assert!(
        s.contains("-> 72865e18") && s.contains("-> c4a3fcfc"),
        "{s}"
    );
    assert!(!s.contains("MEM.PAGE.ADD 0x"), "{s}");
    let o = teectl(
        d.path(),
        &[
            "reference",
            "tdx",
            "--tdvf",
            "tdx-synth.bin",
            "--explain",
            "--explain-pages",
        ],
    );
    let s = stdout(&o);
    assert!(
        s.contains("MEM.PAGE.ADD 0xffffe000") && s.contains("MR.EXTEND 0xfffff000"),
        "{s}"
    );
}

#[test]
fn bad_input_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("junk.fd"), vec![0x5a; 8192]).unwrap();
    let o = teectl(d.path(), &["reference", "tdx", "--tdvf", "junk.fd"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("junk.fd") && stderr(&o).contains("no TDX metadata"),
        "{}",
        stderr(&o)
    );
    let mut img = synth();
    img[0x2018] = 2; // descriptor version 2
    std::fs::write(d.path().join("v2.fd"), img).unwrap();
    let o = teectl(d.path(), &["reference", "tdx", "--tdvf", "v2.fd"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unsupported version 2"),
        "{}",
        stderr(&o)
    );
    // No input at all; --two-pass without --tdvf; a missing file.
    assert_eq!(code(&teectl(d.path(), &["reference", "tdx"])), 1);
    assert_eq!(
        code(&teectl(
            d.path(),
            &["reference", "tdx", "--two-pass", "--init-data", "x"]
        )),
        1
    );
    assert_eq!(
        code(&teectl(
            d.path(),
            &["reference", "tdx", "--tdvf", "missing.fd"]
        )),
        1
    );
    // Nothing is written when the computation fails.
    let o = teectl(
        d.path(),
        &[
            "reference",
            "tdx",
            "--tdvf",
            "junk.fd",
            "--policy-out",
            "p.toml",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(!d.path().join("p.toml").exists());
}

fn verify_cos(dir: &Path, v: &Path, policy: &str, extra: &[&str]) -> Output {
    let q = v.join("go-tdx-guest/ccel/cos-113-tdx-quote.dat");
    let mut args = vec![
        "verify",
        "--platform",
        "tdx",
        "--quote",
        q.to_str().unwrap(),
        "--no-collateral",
        "--accept-tcb-status",
        "NotEvaluated",
        "--report-data",
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "--at",
        "2025-01-01T00:00:00Z",
        "--policy",
        policy,
    ];
    args.extend_from_slice(extra);
    teectl(dir, &args)
}

#[test]
fn rtmr_policy_out_round_trips_through_verify() {
    let Some(v) = vectors() else { return };
    let d = tempfile::tempdir().unwrap();
    let ccel = v.join("go-tdx-guest/ccel/ccel_data.dat");
    let o = teectl(
        d.path(),
        &[
            "reference",
            "tdx",
            "--event-log",
            ccel.to_str().unwrap(),
            "--policy-out",
            "rtmr.toml",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("RTMR0: {COS_RTMR0} (16 events)")),
        "{}",
        stdout(&o)
    );
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["rtmr.toml"], "no temporary file is left behind");
    let text = std::fs::read_to_string(d.path().join("rtmr.toml")).unwrap();
    assert!(
        text.contains(&format!("allowed_rtmr0 = [\"{COS_RTMR0}\"]")),
        "{text}"
    );

    // The matching quote passes, with the CCEL given as the event log too.
    let o = verify_cos(
        d.path(),
        &v,
        "rtmr.toml",
        &["--event-log", ccel.to_str().unwrap()],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["appraisal"]["passed"], true);
    for i in 0..4 {
        assert_eq!(check(&j, &format!("tdx.rtmr{i}"))["outcome"], "passed");
    }

    // Another TD's quote fails on the RTMRs, naming the values it carries.
    let other = v.join("go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
    let o = teectl(
        d.path(),
        &[
            "verify",
            "--platform",
            "tdx",
            "--quote",
            other.to_str().unwrap(),
            "--no-collateral",
            "--accept-tcb-status",
            "NotEvaluated",
            "--at",
            "2023-07-01T01:00:00Z",
            "--policy",
            "rtmr.toml",
        ],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let j = json(&o);
    let c = check(&j, "tdx.rtmr0");
    assert_eq!(c["outcome"], "failed");
    assert_eq!(c["detail"], j["rtmr0"]);
    assert!(stderr(&o).contains("tdx.rtmr0 ("), "{}", stderr(&o));
}

#[test]
fn mrtd_policy_out_names_the_mismatch() {
    let Some(v) = vectors() else { return };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("tdx-synth.bin"), synth()).unwrap();
    std::fs::write(
        d.path().join("init.toml"),
        "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n",
    )
    .unwrap();
    let ccel = v.join("go-tdx-guest/ccel/ccel_data.dat");
    let o = teectl(
        d.path(),
        &[
            "reference",
            "tdx",
            "--tdvf",
            "tdx-synth.bin",
            "--event-log",
            ccel.to_str().unwrap(),
            "--init-data",
            "init.toml",
            "--policy-out",
            "all.toml",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let cfg = j["mr_config_id"]["value"].as_str().unwrap().to_string();
    assert!(
        cfg.ends_with(&"0".repeat(32)),
        "sha256 zero-padded to 48 bytes: {cfg}"
    );
    assert_eq!(j["events"].as_array().unwrap().len(), 43);
    let p =
        tee_core::Policy::from_toml(&std::fs::read_to_string(d.path().join("all.toml")).unwrap())
            .unwrap();
    assert_eq!(p.allowed_measurements[0].to_hex(), ONE_PASS);
    assert_eq!(p.host_data.as_ref().unwrap().to_hex(), cfg);
    // The COS quote has the right RTMRs but another MRTD and MRCONFIGID.
    let o = verify_cos(d.path(), &v, "all.toml", &[]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let j = json(&o);
    let m = check(&j, "measurement");
    assert_eq!(m["outcome"], "failed");
    assert!(
        m["detail"].as_str().unwrap().starts_with(&format!(
            "launch measurement {} is not one of",
            j["mr_td"].as_str().unwrap()
        )),
        "{}",
        m["detail"]
    );
    assert_eq!(check(&j, "host_data")["outcome"], "failed");
    assert_eq!(check(&j, "tdx.rtmr2")["outcome"], "passed");
}

#[test]
fn init_data_mr_config_id() {
    let d = tempfile::tempdir().unwrap();
    let doc = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n";
    std::fs::write(d.path().join("init.toml"), doc).unwrap();
    let o = teectl(d.path(), &["reference", "tdx", "--init-data", "init.toml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let want = hex::encode(tee_core::measurement::event_digest(doc.as_bytes()));
    assert_eq!(stdout(&o).trim(), format!("MRCONFIGID: {want}"));
    std::fs::write(d.path().join("bad.toml"), "algorithm = \"md5\"\n").unwrap();
    let o = teectl(d.path(), &["reference", "tdx", "--init-data", "bad.toml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[cfg(feature = "pef")]
#[test]
fn pef_reference_matches_pef_measurement() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("k"), b"kernel").unwrap();
    std::fs::write(d.path().join("i"), b"initrd").unwrap();
    let base = [
        "--kernel",
        "k",
        "--initrd",
        "i",
        "--bootargs",
        "svm=on quiet",
    ];
    let mut a = vec!["pef", "measurement"];
    a.extend_from_slice(&base);
    let o = teectl(d.path(), &a);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let want = stdout(&o).trim().to_string();
    assert_eq!(want.len(), 128);
    let mut a = vec!["reference", "pef"];
    a.extend_from_slice(&base);
    a.extend_from_slice(&["--policy-out", "pef.toml", "--json"]);
    let o = teectl(d.path(), &a);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["value"], want.as_str());
    assert_eq!(j["name"], "pef.esm_measurement");
    let p =
        tee_core::Policy::from_toml(&std::fs::read_to_string(d.path().join("pef.toml")).unwrap())
            .unwrap();
    assert_eq!(p.allowed_measurements[0].to_hex(), want);
    // Other boot arguments: another value.
    let o = teectl(
        d.path(),
        &[
            "reference",
            "pef",
            "--kernel",
            "k",
            "--initrd",
            "i",
            "--bootargs",
            "svm=on",
        ],
    );
    assert_ne!(stdout(&o).trim(), want);
}

/// `--explain-measurement --reference-inputs` on a real quote: the JSON of
/// `teectl reference tdx --json` is read back, MRTD recomputed in both
/// orders, and neither is the quote's (another firmware): the verdict says
/// so and the exit stays 4. (Every verdict on fake-PKI quotes: the unit
/// tests of `teectl::reference`.)
#[test]
fn explain_measurement_recomputes_from_reference_inputs() {
    let Some(v) = vectors() else { return };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("tdx-synth.bin"), synth()).unwrap();
    let o = teectl(
        d.path(),
        &[
            "reference",
            "tdx",
            "--tdvf",
            "tdx-synth.bin",
            "--json",
            "--policy-out",
            "p.toml",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["reference_inputs"]["platform"], "tdx");
    assert_eq!(j["reference_inputs"]["page_add_order"], "one-pass");
    assert!(Path::new(j["reference_inputs"]["tdvf"].as_str().unwrap()).is_absolute());
    std::fs::write(d.path().join("ref.json"), &o.stdout).unwrap();
    let o = verify_cos(
        d.path(),
        &v,
        "p.toml",
        &["--explain-measurement", "--reference-inputs", "ref.json"],
    );
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("recomputed from the reference inputs"), "{e}");
    assert!(e.contains(&format!("tdx.mr_td = {ONE_PASS}")), "{e}");
    assert!(e.contains("in both page-add orders"), "{e}");
    // The flag needs --explain-measurement; inputs of another platform are refused.
    let o = verify_cos(d.path(), &v, "p.toml", &["--reference-inputs", "ref.json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    std::fs::write(
        d.path().join("snp.json"),
        r#"{"platform": "sev-snp", "ovmf": "x", "vcpus": 1}"#,
    )
    .unwrap();
    let o = verify_cos(
        d.path(),
        &v,
        "p.toml",
        &["--explain-measurement", "--reference-inputs", "snp.json"],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("the evidence is tdx"), "{}", stderr(&o));
}
