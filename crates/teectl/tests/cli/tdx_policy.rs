//! `teectl verify` TDX policy flags (issue 10, findings 7 and 15) on the
//! shared dcap-qvl vector: TCB info eval #17, matched level tcbDate
//! 2024-03-13, UpToDate without advisories.

use crate::common::{code, stderr, stdout, teectl, vectors};

fn run(extra: &[&str]) -> (i32, String) {
    let v = vectors().expect("vectors");
    let q = v.join("dcap-qvl/tdx_quote").display().to_string();
    let c = v
        .join("dcap-qvl/tdx_quote_collateral.json")
        .display()
        .to_string();
    let raw = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let rd = hex::encode(&raw[48 + 520..48 + 584]);
    // The quote's own MRTD as the reference value (not under test here).
    let mrtd = hex::encode(&raw[48 + 136..48 + 184]);
    let mut args = vec![
        "verify",
        "--platform",
        "tdx",
        "--quote",
        &q,
        "--report-data",
        &rd,
        "--allowed-measurement",
        &mrtd,
        "--at",
        "2025-07-19T10:00:34Z",
    ];
    if !extra.contains(&"--no-collateral") {
        args.extend(["--collateral", &c]);
    }
    args.extend(extra);
    let o = teectl(None, &args);
    let text = format!("{}{}", stdout(&o), stderr(&o));
    (code(&o), text)
}

#[test]
fn finding15_min_tcb_date_and_advisory_flags() {
    if vectors().is_none() {
        return;
    }
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["--min-tcb-date", "2024-03-13"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["--min-tcb-date", "2024-06-01"]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("tdx.min_tcb_date"), "{out}");
    assert!(out.contains("2024-03-13"), "{out}");
    let (code, out) = run(&["--min-tcb-date", "June"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--min-tcb-date"), "{out}");
    // No advisories apply to this quote: an allow-list passes, a deny-list too.
    let (code, out) = run(&[
        "--allow-advisory",
        "INTEL-SA-00000",
        "--deny-advisory",
        "INTEL-SA-00001",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no advisories apply"), "{out}");
    let (code, out) = run(&["--out-of-date-grace-days", "30"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn finding7_evaluation_data_number_and_collateral_source_flags() {
    if vectors().is_none() {
        return;
    }
    let (code, out) = run(&["--min-tcb-evaluation-data-number", "17"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["--min-tcb-evaluation-data-number", "18"]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("tdx.tcb_evaluation_data_number"), "{out}");
    // --collateral is the verifier's own source.
    let (code, out) = run(&["--require-verifier-collateral"]);
    assert_eq!(code, 0, "{out}");
    // Without collateral there is none from the verifier.
    let (code, out) = run(&[
        "--no-collateral",
        "--accept-tcb-status",
        "NotEvaluated",
        "--require-verifier-collateral",
    ]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("tdx.collateral_source"), "{out}");
}
