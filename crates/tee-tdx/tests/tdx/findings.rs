//! Issue 10 (TDX parts): each finding of the security review with a test
//! named after it, over quotes and collateral of the fake Intel PKI.

use tee_core::evidence::{endorsement, format};
use tee_core::platforms::{CollateralOrigin, TdxClaims, TdxPolicy};
use tee_core::{
    Appraisal, Authenticity, Claims, Error, Evidence, Outcome, Platform, PlatformClaims, Policy,
    ReportData, TcbStatus, UnixTime, Verified, Verifier,
};
use tee_tdx::testing::{TestPki, TestPlatform};
use tee_tdx::{Collateral, INTEL_TD_QE_MRSIGNER, danger};

const ISSUE: &str = "2025-01-01T00:00:00Z";
const NEXT: &str = "2025-02-01T00:00:00Z";
const SEPT_VE_DISABLE: u64 = 1 << 28;
const MIGRATABLE: u64 = 1 << 29;

fn at() -> UnixTime {
    UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap()
}

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

/// The fixed report data of every quote here.
fn rd() -> ReportData {
    ReportData::bind(b"nonce", b"findings")
}

/// The TEE_TCB_SVN of the quotes: module SVN 6, module version 1, then 3.
fn svn() -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..3].copy_from_slice(&[6, 1, 3]);
    s
}

/// A TD 1.0 body with these values (everything else zero).
fn body(tee_tcb_svn: [u8; 16], mr_signer_seam: [u8; 48], td_attributes: u64) -> Vec<u8> {
    let mut b = vec![0u8; 584];
    b[0..16].copy_from_slice(&tee_tcb_svn);
    b[16..64].copy_from_slice(&[0x5e; 48]);
    b[64..112].copy_from_slice(&mr_signer_seam);
    b[120..128].copy_from_slice(&td_attributes.to_le_bytes());
    b[128..136].copy_from_slice(&0x61ae7u64.to_le_bytes());
    b[136..184].copy_from_slice(&[0x7d; 48]);
    b[520..584].copy_from_slice(rd().as_ref());
    b
}

fn good_body() -> Vec<u8> {
    body(svn(), [0; 48], SEPT_VE_DISABLE)
}

fn without_crls(cj: &[u8]) -> Collateral {
    let mut j: serde_json::Value = serde_json::from_slice(cj).unwrap();
    j["pck_crl"] = "".into();
    j["root_ca_crl"] = "".into();
    let c = Collateral::from_json(&serde_json::to_vec(&j).unwrap()).unwrap();
    assert!(!c.has_crls());
    c
}

fn ev(quote: &[u8]) -> Evidence {
    Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote.to_vec())
}

fn tdx(c: &Claims) -> &TdxClaims {
    match &c.platform_claims {
        PlatformClaims::Tdx(t) => t,
        other => panic!("not TDX claims: {other:?}"),
    }
}

/// The three verification modes over the same quote and collateral JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    NoCollateral,
    NoCrl,
    Full,
}

fn verify(
    pki: &TestPki,
    mode: Mode,
    quote: &[u8],
    cj: &[u8],
) -> tee_core::Result<Verified<Claims>> {
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    let v = match mode {
        Mode::NoCollateral => v.without_collateral(),
        Mode::NoCrl => v
            .with_collateral(without_crls(cj))
            .dangerous_allow_collateral_without_crls(),
        Mode::Full => v.with_collateral(Collateral::from_json(cj).unwrap()),
    };
    v.verify(&ev(quote), at())
}

/// A policy that accepts this workload (fresh report data, any
/// measurement), so that only the check under test decides.
fn policy() -> Policy {
    Policy::new()
        .expect_report_data(rd())
        .allow_any_measurement(true)
}

fn appraise(c: &Verified<Claims>, p: &Policy) -> Appraisal {
    tee_core::appraise(c, p)
}

fn failed(a: &Appraisal) -> Vec<String> {
    a.failed().map(|c| c.name.clone()).collect()
}

fn check<'a>(a: &'a Appraisal, name: &str) -> &'a tee_core::Check {
    a.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {a:?}"))
}

fn mismatch(r: tee_core::Result<Verified<Claims>>) -> (&'static str, String) {
    match r {
        Err(Error::Authenticity(Authenticity::Mismatch { what, detail })) => (what, detail),
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

// ------------------------------------------------------------ finding 1 --

#[test]
fn finding1_rogue_qe_rejected_in_every_mode() {
    let intel = TestPki::default();
    let cj = intel.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let q = intel.quote(4, 2, &good_body());
    for mode in [Mode::NoCollateral, Mode::NoCrl, Mode::Full] {
        let c = verify(&intel, mode, &q, &cj).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(tdx(&c).report_data.0, rd().as_ref().to_vec());
    }
    // A "QE" of another signer, certified by the (test) PCE like Intel's
    // PCE certifies any enclave with PROVISION_KEY.
    let rogue = TestPki::default().with_qe_mr_signer([0x42; 32]);
    let q = rogue.quote(4, 2, &good_body());
    // Even when the collateral's (test-root-signed) QE identity names the
    // rogue signer, the pin to Intel's TD QE rejects it.
    let mut named = TestPki::default().with_qe_mr_signer([0x42; 32]);
    named.qe_identity.2 = [0x42; 32];
    let cj_rogue_identity = named.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    for (mode, cj) in [
        (Mode::NoCollateral, &cj),
        (Mode::NoCrl, &cj),
        (Mode::Full, &cj),
        (Mode::NoCrl, &cj_rogue_identity),
        (Mode::Full, &cj_rogue_identity),
    ] {
        let (what, detail) = mismatch(verify(&rogue, mode, &q, cj));
        assert_eq!(what, "QE identity (Intel TD QE)", "{mode:?}");
        assert!(
            detail.contains(&hex::encode_upper(INTEL_TD_QE_MRSIGNER)) && detail.contains("4242"),
            "{mode:?}: {detail}"
        );
    }
    // The cached steady state pins it too: fill the cache with the genuine
    // quote, then present the rogue one under the same collateral.
    let v = danger::verifier_with_test_root(intel.root_der.clone())
        .with_collateral(Collateral::from_json(&cj).unwrap());
    v.verify(&ev(&intel.quote(4, 2, &good_body())), at())
        .unwrap();
    v.verify(&ev(&intel.quote(4, 2, &good_body())), at())
        .unwrap();
    assert!(v.cache_stats().hits >= 1, "{:?}", v.cache_stats());
    let (what, _) = mismatch(v.verify(&ev(&q), at()));
    assert_eq!(what, "QE identity (Intel TD QE)");
}

// ------------------------------------------------------------ finding 4 --

#[test]
fn finding4_no_crl_path_checks_everything_but_revocation() {
    let pki = TestPki::default();
    let cj = pki.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let q = pki.quote(4, 2, &good_body());
    // The same verdict on both paths; only revocation_checked differs.
    let full = verify(&pki, Mode::Full, &q, &cj).unwrap();
    let nocrl = verify(&pki, Mode::NoCrl, &q, &cj).unwrap();
    let (mut a, b) = (tdx(&full).clone(), tdx(&nocrl).clone());
    assert!(a.revocation_checked && !b.revocation_checked);
    a.revocation_checked = false;
    assert_eq!(a, b);
    assert_eq!(b.tcb_status, TcbStatus::UpToDate);

    // Negatives, through both paths.
    // 1. A foreign TDX module signer.
    let q = pki.quote(4, 2, &body(svn(), [0x66; 48], SEPT_VE_DISABLE));
    for mode in [Mode::Full, Mode::NoCrl] {
        let (what, detail) = mismatch(verify(&pki, mode, &q, &cj));
        assert_eq!(what, "TDX module signer", "{mode:?}");
        assert!(detail.contains(&"66".repeat(48)), "{detail}");
    }
    // 2. Module SVN (tee_tcb_svn[0]) below the module's TCB levels.
    let levels =
        pki.collateral_json_levels(1, &[(7, "UpToDate")], &[(svn(), "UpToDate")], ISSUE, NEXT);
    let q = pki.quote(4, 2, &good_body());
    for mode in [Mode::Full, Mode::NoCrl] {
        let (what, detail) = mismatch(verify(&pki, mode, &q, &levels));
        assert_eq!(what, "TDX module identity", "{mode:?}");
        assert!(
            detail.contains("tee_tcb_svn[0]) 6") && detail.contains("lowest 7"),
            "{detail}"
        );
    }
    //    ... and an out-of-date module level converges into the status.
    let levels = pki.collateral_json_levels(
        1,
        &[(7, "UpToDate"), (6, "OutOfDate")],
        &[(svn(), "UpToDate")],
        ISSUE,
        NEXT,
    );
    for mode in [Mode::Full, Mode::NoCrl] {
        let c = verify(&pki, mode, &q, &levels).unwrap();
        assert_eq!(tdx(&c).tcb_status, TcbStatus::OutOfDate, "{mode:?}");
    }
    // 3. TEE_TCB_SVN2 (TD 1.5) below every level: no matching level.
    let mut b15 = good_body();
    b15.resize(648, 0);
    let mut low = svn();
    low[2] = 1;
    b15[584..600].copy_from_slice(&low);
    let q15 = pki.quote(5, 3, &b15);
    for mode in [Mode::Full, Mode::NoCrl] {
        let c = verify(&pki, mode, &q15, &cj).unwrap();
        assert_eq!(
            tdx(&c).tcb_status,
            TcbStatus::NoMatchingTcbLevel,
            "{mode:?}"
        );
    }
    // 4. A migratable TD without SEPT_VE_DISABLE: the attribute rules fail
    //    in appraisal on every path, the no-collateral one included.
    let q = pki.quote(4, 2, &body(svn(), [0; 48], MIGRATABLE));
    let pol = policy().with_tdx(|t| {
        t.allow_unchecked_revocation(true)
            .accept_tcb_statuses([TcbStatus::UpToDate, TcbStatus::NotEvaluated])
    });
    for mode in [Mode::Full, Mode::NoCrl, Mode::NoCollateral] {
        let c = verify(&pki, mode, &q, &cj).unwrap();
        assert_eq!(
            failed(&appraise(&c, &pol)),
            vec!["tdx.sept_ve_disable", "tdx.migratable"],
            "{mode:?}"
        );
    }
    let q = pki.quote(4, 2, &good_body());
    for mode in [Mode::Full, Mode::NoCrl, Mode::NoCollateral] {
        let c = verify(&pki, mode, &q, &cj).unwrap();
        assert!(failed(&appraise(&c, &pol)).is_empty(), "{mode:?}");
    }
    // The no-CRL claims fail appraisal unless unchecked revocation is allowed.
    let c = verify(&pki, Mode::NoCrl, &q, &cj).unwrap();
    assert_eq!(failed(&appraise(&c, &policy())), vec!["tdx.revocation"]);
}

// ------------------------------------------------------------ finding 7 --

#[test]
fn finding7_collateral_freshness_and_source_are_the_relying_partys_choice() {
    let mut pki = TestPki::default();
    pki.tcb_evaluation_data_numbers = (17, 16);
    let cj = pki.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let q = pki.quote(4, 2, &good_body());
    // Collateral in the evidence: the attester chose it.
    let from_ev = danger::verifier_with_test_root(pki.root_der.clone())
        .verify(
            &ev(&q).with_endorsement(endorsement::TDX_COLLATERAL_JSON, cj.clone()),
            at(),
        )
        .unwrap();
    let x = tdx(&from_ev);
    assert_eq!(x.collateral_source, Some(CollateralOrigin::Evidence));
    assert_eq!(x.tcb_evaluation_data_number, Some(17));
    assert_eq!(x.qe_tcb_evaluation_data_number, Some(16));
    assert_eq!(x.tcb_info_issue_date, Some(t(ISSUE)));
    assert_eq!(x.tcb_date, Some(t("2024-03-13T00:00:00Z")));
    assert_eq!(x.tdx_module_tcb_date, Some(t("2024-03-13T00:00:00Z")));
    // Serialized as the documented names.
    let json = serde_json::to_value(x).unwrap();
    assert_eq!(json["collateral_source"], "evidence");
    assert_eq!(json["tcb_evaluation_data_number"], 17);
    // The verifier's own collateral.
    let own = verify(&pki, Mode::Full, &q, &cj).unwrap();
    assert_eq!(
        tdx(&own).collateral_source,
        Some(CollateralOrigin::Verifier)
    );
    assert_eq!(
        serde_json::to_value(tdx(&own)).unwrap()["collateral_source"],
        "verifier"
    );
    // Without collateral there is no source and no numbers.
    let none = verify(&pki, Mode::NoCollateral, &q, &cj).unwrap();
    assert_eq!(tdx(&none).collateral_source, None);
    assert_eq!(tdx(&none).tcb_evaluation_data_number, None);

    let p = policy().with_tdx(|t| t.require_verifier_collateral(true));
    assert_eq!(
        failed(&appraise(&from_ev, &p)),
        vec!["tdx.collateral_source"]
    );
    assert!(
        check(&appraise(&from_ev, &p), "tdx.collateral_source")
            .detail
            .contains("collateral from evidence")
    );
    assert!(failed(&appraise(&own, &p)).is_empty());
    // Default: any source, reported as skipped with the key that sets it.
    let c = check(&appraise(&from_ev, &policy()), "tdx.collateral_source").clone();
    assert_eq!(c.outcome, Outcome::Skipped);
    assert!(
        c.detail.contains("[tdx] require_verifier_collateral"),
        "{}",
        c.detail
    );

    // min_tcb_evaluation_data_number applies to both numbers.
    let p = policy().with_tdx(|t| t.min_tcb_evaluation_data_number(17));
    let a = appraise(&own, &p);
    assert_eq!(failed(&a), vec!["tdx.tcb_evaluation_data_number"]);
    assert!(
        check(&a, "tdx.tcb_evaluation_data_number")
            .detail
            .contains("QE identity 16")
    );
    let p = policy().with_tdx(|t| t.min_tcb_evaluation_data_number(16));
    assert!(failed(&appraise(&own, &p)).is_empty());
    // No collateral: a configured minimum fails closed.
    let p = policy().with_tdx(|t| {
        t.min_tcb_evaluation_data_number(1)
            .accept_tcb_status(TcbStatus::NotEvaluated)
    });
    assert_eq!(
        failed(&appraise(&none, &p)),
        vec!["tdx.tcb_evaluation_data_number"]
    );
    // The same policy from TOML.
    let p = Policy::from_toml(
        "[tdx]\nmin_tcb_evaluation_data_number = 17\nrequire_verifier_collateral = true\n",
    )
    .unwrap();
    assert_eq!(p.tdx.min_tcb_evaluation_data_number, Some(17));
    assert!(p.tdx.require_verifier_collateral);
}

// ----------------------------------------------------------- finding 12 --

#[test]
fn finding12_pceid_module_signer_and_expected_identity_in_errors() {
    // PCK PCE-ID differs from the TCB info's pceId.
    let pki = TestPki::new(TestPlatform {
        pce_id: [0, 1],
        ..TestPlatform::default()
    });
    let cj = pki.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let q = pki.quote(4, 2, &good_body());
    for mode in [Mode::Full, Mode::NoCrl] {
        let (what, detail) = mismatch(verify(&pki, mode, &q, &cj));
        assert_eq!(what, "PCE-ID", "{mode:?}");
        assert!(
            detail.contains("PCE-ID 0001") && detail.contains("pceId 0000"),
            "{detail}"
        );
    }
    let mut pki2 = TestPki::default();
    pki2.tcb_info_pce_id = "0001".into();
    let cj = pki2.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let (what, _) = mismatch(verify(
        &pki2,
        Mode::Full,
        &pki2.quote(4, 2, &good_body()),
        &cj,
    ));
    assert_eq!(what, "PCE-ID");

    // A TDX module signer mismatch is reported as such.
    let pki = TestPki::default();
    let cj = pki.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let q = pki.quote(4, 2, &body(svn(), [0x66; 48], SEPT_VE_DISABLE));
    let (what, detail) = mismatch(verify(&pki, Mode::Full, &q, &cj));
    assert_eq!(what, "TDX module signer");
    assert!(!detail.contains("QE"), "{detail}");
    assert!(
        Error::from(Authenticity::Mismatch { what, detail })
            .to_string()
            .contains("TDX module signer")
    );

    // An SGX QE identity (id QE) for a TD quote says so and names the expected one.
    let mut sgx = TestPki::default();
    sgx.qe_identity.0 = "QE".into();
    let cj = sgx.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let (what, detail) = mismatch(verify(
        &sgx,
        Mode::Full,
        &sgx.quote(4, 2, &good_body()),
        &cj,
    ));
    assert_eq!(what, "QE identity");
    assert!(
        detail.contains("an SGX QE identity (id QE, version 2)"),
        "{detail}"
    );
    assert!(
        detail.contains("needs a TD_QE identity (id TD_QE, version 2 or 3)"),
        "{detail}"
    );
    // A TD_QE identity of an unknown version.
    let mut v9 = TestPki::default();
    v9.qe_identity.1 = 9;
    let cj = v9.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let (_, detail) = mismatch(verify(&v9, Mode::Full, &v9.quote(4, 2, &good_body()), &cj));
    assert!(
        detail.contains("TD_QE identity of unsupported version 9"),
        "{detail}"
    );
}

// ----------------------------------------------------------- finding 15 --

/// A platform one TDX component short of the newest level.
fn aged_collateral(pki: &TestPki) -> Vec<u8> {
    let mut newest = svn();
    newest[2] = 5;
    let mut middle = svn();
    middle[2] = 4;
    pki.collateral_json_dated_levels(
        1,
        &[(6, "UpToDate", "2024-03-13T00:00:00Z")],
        &[
            (newest, "UpToDate", "2024-12-11T00:00:00Z"),
            (middle, "OutOfDate", "2024-08-14T00:00:00Z"),
            (svn(), "OutOfDate", "2024-03-13T00:00:00Z"),
        ],
        ISSUE,
        NEXT,
    )
}

#[test]
fn finding15_tcb_age_grace_and_advisories() {
    let pki = TestPki::default();
    let cj = aged_collateral(&pki);
    let q = pki.quote(4, 2, &good_body());
    let c = verify(&pki, Mode::Full, &q, &cj).unwrap();
    let x = tdx(&c);
    assert_eq!(x.tcb_status, TcbStatus::OutOfDate);
    assert_eq!(x.tcb_date, Some(t("2024-03-13T00:00:00Z")));
    assert_eq!(x.advisory_ids, vec!["INTEL-SA-10002"]);
    // Newer platform levels, the closest first, with what is short.
    let newer: Vec<_> = x
        .newer_tcb_levels
        .iter()
        .map(|l| {
            (
                l.component.as_str(),
                l.tcb_date,
                l.tcb_status,
                l.short.clone(),
            )
        })
        .collect();
    assert_eq!(
        newer,
        vec![
            (
                "platform",
                t("2024-08-14T00:00:00Z"),
                TcbStatus::OutOfDate,
                vec!["tdxtcbcomponents[2] (tee_tcb_svn[2]) 3 < 4".to_string()]
            ),
            (
                "platform",
                t("2024-12-11T00:00:00Z"),
                TcbStatus::UpToDate,
                vec!["tdxtcbcomponents[2] (tee_tcb_svn[2]) 3 < 5".to_string()]
            ),
        ]
    );

    // The failed TCB check says how far behind the platform is.
    let a = appraise(&c, &policy());
    assert_eq!(failed(&a), vec!["tdx.tcb_status"]);
    let d = &check(&a, "tdx.tcb_status").detail;
    assert!(
        d.contains("matched platform TCB level of 2024-03-13 (TCB status OutOfDate)"),
        "{d}"
    );
    assert!(
        d.contains("first platform level that would pass: 2024-12-11 (UpToDate, 273 days newer), short: tdxtcbcomponents[2] (tee_tcb_svn[2]) 3 < 5"),
        "{d}"
    );

    // Grace: the newer level of 2024-08-14 is 154 days before at().
    let p = |days| policy().with_tdx(|t| t.out_of_date_grace_days(days));
    assert!(failed(&appraise(&c, &p(155))).is_empty());
    let a = appraise(&c, &p(154));
    assert_eq!(failed(&a), vec!["tdx.tcb_status"]);
    assert!(
        check(&a, "tdx.tcb_status")
            .detail
            .contains("past the 154-day grace")
    );
    // min_tcb_date on the matched level's tcbDate.
    let accept_ood = |t: TdxPolicy| t.accept_tcb_status(TcbStatus::OutOfDate);
    let pol = policy().with_tdx(|p| accept_ood(p).min_tcb_date(t("2024-03-13T00:00:00Z")));
    assert!(failed(&appraise(&c, &pol)).is_empty());
    let pol = policy().with_tdx(|p| accept_ood(p).min_tcb_date(t("2024-06-01T00:00:00Z")));
    let a = appraise(&c, &pol);
    assert_eq!(failed(&a), vec!["tdx.min_tcb_date"]);
    let d = &check(&a, "tdx.min_tcb_date").detail;
    assert!(
        d.contains("matched TCB level date 2024-03-13, minimum 2024-06-01"),
        "{d}"
    );
    assert!(
        d.contains("first platform level that would pass: 2024-08-14 (OutOfDate"),
        "{d}"
    );
    let p = Policy::from_toml("[tdx]\nmin_tcb_date = \"2024-06-01\"\n").unwrap();
    assert_eq!(p.tdx.min_tcb_date, Some(t("2024-06-01T00:00:00Z")));
    assert_eq!(Policy::from_toml(&p.to_toml().unwrap()).unwrap().tdx, p.tdx);
    assert!(Policy::from_toml("[tdx]\nmin_tcb_date = \"June\"\n").is_err());

    // Advisories.
    let base = |t: TdxPolicy| accept_ood(t);
    let pol = policy().with_tdx(|t| base(t).deny_advisory("intel-sa-10002"));
    let a = appraise(&c, &pol);
    assert_eq!(failed(&a), vec!["tdx.advisories"]);
    assert!(
        check(&a, "tdx.advisories")
            .detail
            .contains("denied: INTEL-SA-10002")
    );
    let pol = policy().with_tdx(|t| base(t).deny_advisory("INTEL-SA-99999"));
    assert!(failed(&appraise(&c, &pol)).is_empty());
    let pol = policy().with_tdx(|t| base(t).allow_advisory("INTEL-SA-99999"));
    let a = appraise(&c, &pol);
    assert_eq!(failed(&a), vec!["tdx.advisories"]);
    assert!(
        check(&a, "tdx.advisories")
            .detail
            .contains("not in [tdx] allowed_advisories: INTEL-SA-10002")
    );
    let pol = policy().with_tdx(|t| base(t).allow_advisory("INTEL-SA-10002"));
    assert!(failed(&appraise(&c, &pol)).is_empty());
    let p = Policy::from_toml(
        "[tdx]\nout_of_date_grace_days = 30\ndenied_advisories = [\"INTEL-SA-1\"]\nallowed_advisories = [\"INTEL-SA-2\"]\n",
    )
    .unwrap();
    assert_eq!(p.tdx.out_of_date_grace_days, Some(30));
    assert_eq!(p.tdx.denied_advisories, vec!["INTEL-SA-1"]);
    assert_eq!(p.tdx.allowed_advisories, vec!["INTEL-SA-2"]);

    // No matching level: every level is listed, the lowest first.
    let mut up = svn();
    up[2] = 4;
    let cj = pki.collateral_json_dated_levels(
        1,
        &[(6, "UpToDate", "2024-03-13T00:00:00Z")],
        &[(up, "UpToDate", "2024-08-14T00:00:00Z")],
        ISSUE,
        NEXT,
    );
    let c = verify(&pki, Mode::Full, &q, &cj).unwrap();
    assert_eq!(tdx(&c).tcb_status, TcbStatus::NoMatchingTcbLevel);
    assert_eq!(tdx(&c).tcb_date, None);
    let d = check(&appraise(&c, &policy()), "tdx.tcb_status")
        .detail
        .clone();
    assert!(d.contains("no platform TCB level matched"), "{d}");
    assert!(
        d.contains("2024-08-14 (UpToDate), short: tdxtcbcomponents[2] (tee_tcb_svn[2]) 3 < 4"),
        "{d}"
    );
}

// ------------------------------------------------------------ finding 3 --

#[test]
fn finding3_every_skipped_tdx_check_names_its_policy_key() {
    let pki = TestPki::default();
    let cj = pki.collateral_json("UpToDate", &svn(), ISSUE, NEXT);
    let q = pki.quote(4, 2, &good_body());
    let c = verify(&pki, Mode::Full, &q, &cj).unwrap();
    let a = appraise(&c, &policy());
    let skipped: Vec<_> = a
        .checks
        .iter()
        .filter(|c| c.name.starts_with("tdx.") && c.outcome == Outcome::Skipped)
        .collect();
    for name in [
        "tdx.rtmr0",
        "tdx.rtmr1",
        "tdx.rtmr2",
        "tdx.rtmr3",
        "tdx.mr_owner",
        "tdx.mr_owner_config",
        "tdx.min_tee_tcb_svn",
        "tdx.xfam",
        "tdx.td_attributes",
        "tdx.min_tcb_date",
        "tdx.advisories",
        "tdx.tcb_evaluation_data_number",
        "tdx.collateral_source",
    ] {
        let c = skipped
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} not skipped: {a:?}"));
        assert!(c.detail.contains("[tdx] "), "{name}: {}", c.detail);
    }
    assert!(
        check(&a, "tdx.rtmr1")
            .detail
            .contains("set [tdx] allowed_rtmr1")
    );
    for c in &skipped {
        assert!(
            c.detail.contains("[tdx] ")
                || c.detail.contains("collateral")
                || c.detail.contains("nothing to configure"),
            "{}: {}",
            c.name,
            c.detail
        );
    }
}
