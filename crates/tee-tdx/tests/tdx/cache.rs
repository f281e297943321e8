//! The verified-collateral cache: steady state gives exactly the verdicts of
//! the uncached path (and of dcap-qvl) on every vector and negative; expiry,
//! revocation, tampering, failures and capacity; concurrency.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tee_core::evidence::{endorsement, format};
use tee_core::{Authenticity, Error, Evidence, Platform, Result, UnixTime, Verifier};

use tee_tdx::testing::{FakeKernel, FakeTd, TestPki, seams};
use tee_tdx::{Collateral, OfflineDir, TdxVerifier, danger};

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn read(rel: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(vectors()?.join(rel)).unwrap())
}

/// One verification: quote, collateral JSON (in the evidence), time.
#[derive(Clone)]
struct Case {
    name: String,
    quote: Vec<u8>,
    coll: Vec<u8>,
    at: UnixTime,
}

impl Case {
    fn evidence(&self) -> Evidence {
        Evidence::new(Platform::Tdx, format::TDX_QUOTE, self.quote.clone())
            .with_endorsement(endorsement::TDX_COLLATERAL_JSON, self.coll.clone())
    }
}

/// A group of cases under one root, with a valid quote/time that fills the
/// cache for the group's collateral and PCK chain.
struct Group {
    root: Vec<u8>,
    warm: Option<Case>,
    cases: Vec<Case>,
}

/// The verdict, as compared between paths: the whole claims on success,
/// the error variant (with its static `what` where it has one) on failure.
fn verdict(r: &Result<tee_core::Verified<tee_core::Claims>>) -> String {
    match r {
        Ok(c) => format!("ok {:?}", **c),
        Err(Error::Authenticity(a)) => match a {
            Authenticity::BadSignature { what } => format!("BadSignature {what}"),
            Authenticity::Mismatch { what, .. } => format!("Mismatch {what}"),
            Authenticity::BadChain { .. } => "BadChain".into(),
            Authenticity::UntrustedRoot { .. } => "UntrustedRoot".into(),
            Authenticity::Expired { .. } => "Expired".into(),
            Authenticity::NotYetValid { .. } => "NotYetValid".into(),
            Authenticity::Revoked { .. } => "Revoked".into(),
            Authenticity::MissingEndorsement { .. } => "MissingEndorsement".into(),
            other => format!("Authenticity {other:?}"),
        },
        Err(Error::Malformed(m)) => format!("Malformed {:?}", m.kind),
        Err(Error::Policy(a)) => format!(
            "Policy {:?}",
            a.failed().map(|c| c.name.clone()).collect::<Vec<_>>()
        ),
        Err(e) => format!("other {:?}", e.class()),
    }
}

fn flips(q: &[u8], step: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < q.len() {
        let mut b = q.to_vec();
        b[off] ^= 0x01;
        out.push((format!("flip {off}"), b));
        off += step;
    }
    for n in [0, 47, 48, 631, 632, 700, q.len() / 2, q.len() - 1] {
        out.push((format!("truncate {n}"), q[..n.min(q.len())].to_vec()));
    }
    out
}

fn cases_for(quote: &[u8], coll: &[u8], times: &[UnixTime], step: usize, tag: &str) -> Vec<Case> {
    let mut v: Vec<Case> = times
        .iter()
        .map(|at| Case {
            name: format!("{tag} at {}", at.as_secs()),
            quote: quote.to_vec(),
            coll: coll.to_vec(),
            at: *at,
        })
        .collect();
    for (n, q) in flips(quote, step) {
        v.push(Case {
            name: format!("{tag} {n}"),
            quote: q,
            coll: coll.to_vec(),
            at: times[0],
        });
    }
    v
}

fn vector_groups() -> Vec<Group> {
    let mut groups = Vec::new();
    let root = tee_tdx::INTEL_SGX_ROOT_CA_DER.to_vec();
    if let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote"),
        read("dcap-qvl/tdx_quote_collateral.json"),
    ) {
        let times: Vec<UnixTime> = [
            "2025-07-19T10:00:34Z",
            "2025-07-01T00:00:00Z",
            "2025-06-19T10:32:27Z",
            "2025-06-19T10:32:26Z",
            "2025-07-19T10:00:35Z",
            "2025-07-19T10:00:36Z",
            "2025-06-19T10:00:00Z",
            "2030-01-01T00:00:00Z",
        ]
        .iter()
        .map(|s| t(s))
        .collect();
        let mut cases = cases_for(&q, &c, &times, 61, "dcap v4");
        // The SPR quote with this collateral: FMSPC mismatch.
        if let Some(spr) = read("go-tdx-guest/tdx_prod_quote_SPR_E4.dat") {
            cases.push(Case {
                name: "SPR quote, dcap collateral".into(),
                quote: spr,
                coll: c.clone(),
                at: times[0],
            });
        }
        groups.push(Group {
            root: root.clone(),
            warm: Some(cases[0].clone()),
            cases,
        });
    }
    if let (Some(q), Some(c)) = (
        read("dcap-qvl/tdx_quote_outdated"),
        read("dcap-qvl/tdx_quote_outdated_collateral.json"),
    ) {
        let times = [t("2026-03-01T00:00:00Z"), t("2026-03-20T10:41:16Z")];
        let cases = cases_for(&q, &c, &times, 149, "dcap v5");
        groups.push(Group {
            root: root.clone(),
            warm: Some(cases[0].clone()),
            cases,
        });
    }
    if let (Some(dir), Some(q)) = (vectors(), read("go-tdx-guest/tdx_prod_quote_SPR_E4.dat")) {
        let c = OfflineDir::new(dir.join("go-tdx-guest"))
            .pcs_file_set()
            .unwrap()
            .to_json()
            .unwrap();
        let times = [t("2023-07-01T00:00:00Z"), t("2053-01-01T00:00:00Z")];
        let cases = cases_for(&q, &c, &times, 173, "SPR E4");
        groups.push(Group {
            root: root.clone(),
            warm: Some(cases[0].clone()),
            cases,
        });
    }
    groups
}

const ISSUE: &str = "2025-01-01T00:00:00Z";
const NEXT: &str = "2025-02-01T00:00:00Z";

fn at() -> UnixTime {
    t("2025-01-15T00:00:00Z")
}

fn quote_for(pki: &TestPki, td: FakeTd) -> Vec<u8> {
    FakeKernel::new(pki.clone(), td).make_quote(&[0x42; 64])
}

/// The fake Intel PKI: TCB statuses, revocation, TD attributes, SVNs, QE.
fn fake_pki_group() -> Group {
    let pki = TestPki::default();
    let td = FakeTd::default();
    let svn = td.tee_tcb_svn;
    let good = pki.collateral_json("UpToDate", &svn, ISSUE, NEXT);
    let mut quotes: Vec<(String, Vec<u8>)> =
        vec![("default v4".into(), quote_for(&pki, td.clone()))];
    let v5 = FakeTd {
        quote_version: 5,
        ..td.clone()
    };
    quotes.push(("default v5".into(), quote_for(&pki, v5.clone())));
    for (n, attrs) in [
        ("debug", (1u64 << 28) | 1),
        ("profiling", (1 << 28) | (1 << 5)),
        ("no SEPT_VE_DISABLE", 0),
        ("migratable", (1 << 28) | (1 << 29)),
        ("reserved bit", (1 << 28) | (1 << 2)),
        ("SERVTD_EXT", (1 << 28) | (1 << 17)),
    ] {
        for base in [&td, &v5] {
            let x = FakeTd {
                td_attributes: attrs,
                ..base.clone()
            };
            quotes.push((format!("{n} v{}", base.quote_version), quote_for(&pki, x)));
        }
    }
    for (n, s) in [
        ("lower TDX SVN", [6u8, 1, 2]),
        ("module version 2", [6, 2, 3]),
        ("module isvsvn below", [5, 1, 3]),
        ("module version 0", [6, 0, 3]),
        ("higher SVN", [7, 1, 9]),
    ] {
        let mut x = td.clone();
        x.tee_tcb_svn[..3].copy_from_slice(&s);
        quotes.push((n.into(), quote_for(&pki, x)));
    }
    let body = tee_tdx::quote::Quote::parse(&quotes[0].1).unwrap();
    let raw_body = quotes[0].1[48..48 + 584].to_vec();
    assert_eq!(
        tee_tdx::quote::Quote::parse(&pki.quote(4, 2, &raw_body))
            .unwrap()
            .body,
        body.body
    );
    for attr in [0x13u8, 0x15, 0x01] {
        quotes.push((
            format!("QE attributes {attr:#x}"),
            pki.quote_with_qe_attributes(4, 2, &raw_body, attr),
        ));
    }
    // v5 quotes whose launch (TEE_TCB_SVN) and current (TEE_TCB_SVN2) TCBs differ.
    let v5_body = quote_for(&pki, v5.clone())[54..54 + 648].to_vec();
    let svn16 = |x: [u8; 3]| {
        let mut a = [0u8; 16];
        a[..3].copy_from_slice(&x);
        a
    };
    for (launch, current) in [
        ([5u8, 1, 2], [6u8, 1, 3]),
        ([6, 1, 3], [5, 1, 2]),
        ([5, 1, 2], [3, 1, 0]),
        ([5, 1, 2], [4, 1, 1]),
        ([4, 1, 1], [6, 1, 3]),
        ([6, 0, 3], [6, 1, 3]),
    ] {
        let mut b = v5_body.clone();
        b[..16].copy_from_slice(&svn16(launch));
        b[584..600].copy_from_slice(&svn16(current));
        quotes.push((
            format!("v5 launch {launch:?} current {current:?}"),
            pki.quote(5, 3, &b),
        ));
    }
    for x in [[5u8, 1, 2], [4, 1, 1], [6, 1, 2], [3, 1, 0]] {
        let mut d = td.clone();
        d.tee_tcb_svn = svn16(x);
        quotes.push((format!("v4 {x:?}"), quote_for(&pki, d)));
    }
    let mut colls: Vec<(String, Vec<u8>)> = vec![("UpToDate".into(), good.clone())];
    // Several platform and module levels: ordering, convergence, relaunch.
    let lv = |m: &[(u8, &str)], l: &[([u8; 3], &str)]| {
        let l: Vec<([u8; 16], &str)> = l.iter().map(|(x, st)| (svn16(*x), *st)).collect();
        pki.collateral_json_levels(1, m, &l, ISSUE, NEXT)
    };
    for (n, c) in [
        (
            "levels a",
            lv(
                &[(6, "UpToDate"), (5, "OutOfDate"), (4, "Revoked")],
                &[
                    ([6, 1, 3], "UpToDate"),
                    ([5, 1, 2], "OutOfDate"),
                    ([4, 1, 1], "OutOfDateConfigurationNeeded"),
                ],
            ),
        ),
        (
            "levels b (ascending JSON order)",
            lv(
                &[(4, "OutOfDate"), (6, "UpToDate")],
                &[([4, 1, 1], "OutOfDate"), ([6, 1, 3], "UpToDate")],
            ),
        ),
        (
            "levels c",
            lv(
                &[(6, "UpToDate"), (5, "OutOfDate")],
                &[
                    ([6, 1, 3], "ConfigurationNeeded"),
                    ([5, 1, 2], "SWHardeningNeeded"),
                    ([4, 1, 1], "ConfigurationAndSWHardeningNeeded"),
                ],
            ),
        ),
        (
            "levels d",
            lv(
                &[(4, "UpToDate")],
                &[([6, 1, 3], "UpToDate"), ([5, 1, 2], "Revoked")],
            ),
        ),
        (
            "levels e",
            lv(&[(7, "UpToDate")], &[([4, 1, 1], "UpToDate")]),
        ),
        (
            "levels f",
            lv(&[(6, "SWHardeningNeeded")], &[([4, 1, 1], "UpToDate")]),
        ),
    ] {
        colls.push((n.into(), c));
    }
    for st in [
        "OutOfDate",
        "SWHardeningNeeded",
        "ConfigurationNeeded",
        "OutOfDateConfigurationNeeded",
        "ConfigurationAndSWHardeningNeeded",
        "Revoked",
    ] {
        colls.push((st.into(), pki.collateral_json(st, &svn, ISSUE, NEXT)));
    }
    colls.push((
        "revoked PCK".into(),
        pki.collateral_json_revoking("UpToDate", &svn, ISSUE, NEXT, true),
    ));
    let mut cases = Vec::new();
    for (cn, c) in &colls {
        for (i, (qn, q)) in quotes.iter().enumerate() {
            // Every quote inside the window; the edges for the plain quotes.
            let edges = [
                t("2024-12-31T23:59:59Z"),
                t(NEXT),
                t("2025-02-01T00:00:01Z"),
            ];
            let times = if i < 2 { &edges[..] } else { &[] };
            for when in core::iter::once(at()).chain(times.iter().copied()) {
                cases.push(Case {
                    name: format!("fake PKI {cn} / {qn} at {}", when.as_secs()),
                    quote: q.clone(),
                    coll: c.clone(),
                    at: when,
                });
            }
        }
    }
    for (n, q) in flips(&quotes[0].1, 197) {
        cases.push(Case {
            name: format!("fake PKI {n}"),
            quote: q,
            coll: good.clone(),
            at: at(),
        });
    }
    Group {
        root: pki.root_der.clone(),
        warm: Some(Case {
            name: "warm".into(),
            quote: quotes[0].1.clone(),
            coll: good,
            at: at(),
        }),
        cases,
    }
}

fn all_groups() -> Vec<Group> {
    let mut g = vector_groups();
    g.push(fake_pki_group());
    g
}

fn uncached(root: &[u8]) -> TdxVerifier {
    danger::verifier_with_test_root(root.to_vec()).with_cache_capacity(0)
}

/// dcap-qvl's own verdict (the test oracle), with debug and service TDs
/// allowed (appraisal judges those).
fn dcap_verdict(root: &[u8], c: &Case) -> std::result::Result<(String, Vec<String>), String> {
    Collateral::from_json(&c.coll).map_err(|e| e.to_string())?;
    let coll: dcap_qvl::QuoteCollateralV3 =
        serde_json::from_slice(&c.coll).map_err(|e| e.to_string())?;
    dcap_qvl::verify::QuoteVerifier::new(root.to_vec())
        .allow_debug(true)
        .allow_service_td(true)
        .verify(&c.quote, &coll, c.at.as_secs())
        .map(|r| (r.status, r.advisory_ids))
        .map_err(|e| format!("{e:#}"))
}

/// dcap-qvl's status name as a claims status (TD 1.5 "relaunch advised"
/// statuses are reported as the corresponding out-of-date status).
fn status_from_dcap(s: &str) -> tee_core::TcbStatus {
    match s {
        "TDRelaunchAdvised" => tee_core::TcbStatus::OutOfDate,
        "TDRelaunchAdvisedConfigurationNeeded" => tee_core::TcbStatus::OutOfDateConfigurationNeeded,
        _ => tee_core::TcbStatus::from_name(s).unwrap(),
    }
}

/// dcap-qvl's TD attribute rejections (with debug and service TDs
/// allowed), and the appraisal check that now fails for each instead.
fn dcap_attribute_rejection(e: &str) -> Option<&'static str> {
    match e {
        "Reserved bits in TD attributes are set" => Some("tdx.td_attributes_reserved"),
        "TD migration is enabled" => Some("tdx.migratable"),
        "SERVTD_EXT is enabled" => Some("tdx.servtd_ext"),
        "SEPT_VE_DISABLE is not enabled" => Some("tdx.sept_ve_disable"),
        _ => None,
    }
}

#[test]
fn steady_state_matches_full_verification_on_every_vector() {
    let mut compared = 0;
    let mut hits = 0;
    let mut stricter = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut attribute_judgements = 0;
    for g in all_groups() {
        let cached = danger::verifier_with_test_root(g.root.clone());
        if let Some(w) = &g.warm {
            let r = cached.verify(&w.evidence(), w.at);
            assert!(r.is_ok(), "warm-up {}: {r:?}", w.name);
            assert_eq!(cached.cache_stats().entries, 1, "{}", w.name);
        }
        let plain = uncached(&g.root);
        for c in &g.cases {
            let ev = c.evidence();
            let before = cached.cache_stats().hits;
            let full = plain.verify(&ev, c.at);
            let steady = cached.verify(&ev, c.at);
            hits += cached.cache_stats().hits - before;
            assert_eq!(verdict(&steady), verdict(&full), "{}", c.name);
            kinds.insert(match &full {
                Ok(claims) => format!("ok {:?}", claims.tcb.value().map(|t| t.status)),
                Err(_) => verdict(&full),
            });
            // And as dcap-qvl, where it applies: our successes are its
            // successes with the same status and advisories (or its
            // "no matching TCB level"); where it rejects, so do we.
            let d = dcap_verdict(&g.root, c);
            match (&full, &d) {
                (Ok(claims), Ok((status, adv))) => {
                    let x = match &claims.platform_claims {
                        tee_core::PlatformClaims::Tdx(x) => x,
                        _ => unreachable!(),
                    };
                    assert_eq!(x.tcb_status, status_from_dcap(status), "{}", c.name);
                    assert_eq!(&x.advisory_ids, adv, "{}", c.name);
                }
                (Ok(claims), Err(e)) if dcap_attribute_rejection(e).is_some() => {
                    // An attribute judgement: verify reports the attributes,
                    // default appraisal rejects them with the named check.
                    let check = dcap_attribute_rejection(e).unwrap();
                    let a = tee_core::appraise(claims, &tee_core::Policy::default());
                    assert!(
                        a.failed().any(|c| c.name == check),
                        "{}: {e}: default appraisal does not fail {check}: {a:?}",
                        c.name
                    );
                    attribute_judgements += 1;
                }
                (Ok(claims), Err(e)) => {
                    assert!(
                        e == "No matching TCB level found"
                            || e == "Failed to evaluate the current TDX TCB (TEE_TCB_SVN2): \
                                     No matching TCB level found",
                        "{}: {e}",
                        c.name
                    );
                    assert_eq!(
                        claims.tcb.value().unwrap().status,
                        tee_core::TcbStatus::NoMatchingTcbLevel
                    );
                }
                (Err(ours), Ok(_)) => {
                    // Only where our own checks are stricter than dcap-qvl's:
                    // our PEM/DER parsing of the PCK chain, our chain rules,
                    // the full 64-byte QE report binding, every collateral
                    // item's window.
                    let v = verdict(&full);
                    assert!(
                        v.starts_with("Malformed")
                            || v == "BadChain"
                            || v == "UntrustedRoot"
                            || v == "Mismatch QE report binding"
                            || v == "Expired"
                            || v == "NotYetValid",
                        "{}: dcap-qvl accepts, we reject: {ours:?}",
                        c.name
                    );
                    stricter.push(format!("{}: {v}", c.name));
                }
                (Err(_), Err(_)) => {}
            }
            compared += 1;
        }
        assert_eq!(plain.cache_stats().entries, 0);
    }
    eprintln!("stricter than dcap-qvl: {stricter:#?}");
    eprintln!("{hits} cache hits of {compared} cases; verdicts: {kinds:#?}");
    eprintln!("{attribute_judgements} TD attribute rejections of dcap-qvl left to appraisal");
    assert!(attribute_judgements > 0);
    // The steady-state path answered a large share of them (the rest are
    // outside the window, have another PCK chain, or collateral that failed).
    assert!(
        compared > 200 && hits * 3 > compared,
        "{hits} of {compared}"
    );
}

#[test]
fn steady_state_is_the_same_from_eight_threads() {
    let groups = all_groups();
    for g in &groups {
        let shared = danger::verifier_with_test_root(g.root.clone());
        // A sample of the group (the full set runs in the test above).
        let sample: Vec<Case> = g
            .warm
            .iter()
            .cloned()
            .chain(g.cases.iter().step_by(7).cloned())
            .collect();
        let sequential: Vec<String> = {
            let v = danger::verifier_with_test_root(g.root.clone());
            sample
                .iter()
                .map(|c| verdict(&v.verify(&c.evidence(), c.at)))
                .collect()
        };
        let cases = Arc::new(sample);
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let v = shared.clone();
                let cases = Arc::clone(&cases);
                std::thread::spawn(move || {
                    // Each thread starts at a different case, so cache fills
                    // and lookups interleave.
                    let n = cases.len();
                    let mut out = vec![String::new(); n];
                    for k in 0..n {
                        let j = (k + i * n / 8) % n;
                        out[j] = verdict(&v.verify(&cases[j].evidence(), cases[j].at));
                    }
                    out
                })
            })
            .collect();
        for th in threads {
            assert_eq!(th.join().unwrap(), sequential);
        }
        assert!(shared.cache_stats().entries <= tee_tdx::DEFAULT_CACHE_CAPACITY);
    }
}

#[test]
fn expired_collateral_fails_even_when_cached_while_valid() {
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let c = Collateral::from_json(&pki.collateral_json("UpToDate", &td.tee_tcb_svn, ISSUE, NEXT))
        .unwrap();
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    v.verify_quote(&q, Some(&c), at()).unwrap();
    assert_eq!(v.cache_stats().entries, 1);
    // Inside the window: answered from the cache.
    v.verify_quote(&q, Some(&c), t("2025-01-31T00:00:00Z"))
        .unwrap();
    assert_eq!(v.cache_stats().hits, 1);
    // After nextUpdate (TCB info, QE identity) and the CRLs' nextUpdate.
    for late in ["2025-02-01T00:00:01Z", "2025-06-01T00:00:00Z"] {
        match v.verify_quote(&q, Some(&c), t(late)) {
            Err(Error::Authenticity(Authenticity::Expired { not_after, .. })) => {
                assert_eq!(not_after, t(NEXT).as_secs())
            }
            other => panic!("{late}: {other:?}"),
        }
    }
    // Exactly at nextUpdate the CRLs have expired for webpki (exclusive):
    // not from the cache, and the same verdict as uncached.
    let r = v.verify_quote(&q, Some(&c), t(NEXT));
    let u = uncached(&pki.root_der).verify_quote(&q, Some(&c), t(NEXT));
    assert_eq!(format!("{r:?}"), format!("{u:?}"));
    assert!(r.is_err());
    // Before the window.
    assert!(matches!(
        v.verify_quote(&q, Some(&c), t("2024-12-31T23:59:59Z")),
        Err(Error::Authenticity(Authenticity::NotYetValid { .. }))
    ));
    assert_eq!(v.cache_stats().hits, 1, "no lookup outside the window hit");
}

#[test]
fn revoked_pck_is_not_hidden_by_a_cached_chain() {
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let ok = Collateral::from_json(&pki.collateral_json("UpToDate", &td.tee_tcb_svn, ISSUE, NEXT))
        .unwrap();
    let revoking = Collateral::from_json(&pki.collateral_json_revoking(
        "UpToDate",
        &td.tee_tcb_svn,
        ISSUE,
        NEXT,
        true,
    ))
    .unwrap();
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    v.verify_quote(&q, Some(&ok), at()).unwrap();
    v.verify_quote(&q, Some(&ok), at()).unwrap();
    assert_eq!((v.cache_stats().entries, v.cache_stats().hits), (1, 1));
    // Same PCK chain, new CRL listing the PCK: revoked.
    for _ in 0..2 {
        assert!(matches!(
            v.verify_quote(&q, Some(&revoking), at()),
            Err(Error::Authenticity(Authenticity::Revoked { .. }))
        ));
    }
    assert_eq!(v.cache_stats().entries, 1, "the failure was not cached");
    assert_eq!(v.cache_stats().hits, 1);
}

#[test]
fn cached_entry_checks_revocation_per_quote() {
    // The per-quote revocation check under the cached CRL is live: an entry
    // whose CRL lists the PCK (which a full verification never caches)
    // rejects every quote.
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let ok = Collateral::from_json(&pki.collateral_json("UpToDate", &td.tee_tcb_svn, ISSUE, NEXT))
        .unwrap();
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    v.verify_quote(&q, Some(&ok), at()).unwrap();
    assert!(seams::revoke_pck_in_cached_entry(
        &v,
        &pki.root_der,
        &q,
        &ok,
        at()
    ));
    assert!(matches!(
        v.verify_quote(&q, Some(&ok), at()),
        Err(Error::Authenticity(Authenticity::Revoked { .. }))
    ));
}

#[test]
fn tampered_quote_fails_after_its_collateral_was_cached() {
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let c = Collateral::from_json(&pki.collateral_json("UpToDate", &td.tee_tcb_svn, ISSUE, NEXT))
        .unwrap();
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    v.verify_quote(&q, Some(&c), at()).unwrap();
    let p = tee_tdx::quote::Quote::parse(&q).unwrap();
    let sig_data = p.signed_len + 4;
    let qe_report = sig_data + 128 + 6;
    let auth = qe_report + 384 + 64 + 2;
    let expect: &[(usize, &str)] = &[
        (30, "BadSignature quote signature"),
        (48 + 100, "BadSignature quote signature"),
        (sig_data + 3, "BadSignature quote signature"),
        // The attestation key is bound by the QE report: binding first.
        (sig_data + 64 + 5, "Mismatch QE report binding"),
        (qe_report + 10, "BadSignature QE report signature"),
        (qe_report + 383, "BadSignature QE report signature"),
        (qe_report + 384 + 7, "BadSignature QE report signature"),
        (auth, "Mismatch QE report binding"),
    ];
    for (off, want) in expect {
        let mut b = q.clone();
        b[*off] ^= 1;
        let before = v.cache_stats().hits;
        let r = v.verify_quote(&b, Some(&c), at());
        assert_eq!(
            v.cache_stats().hits,
            before + 1,
            "byte {off} answered from the cache"
        );
        let got = match &r {
            Err(Error::Authenticity(Authenticity::BadSignature { what })) => {
                format!("BadSignature {what}")
            }
            Err(Error::Authenticity(Authenticity::Mismatch { what, .. })) => {
                format!("Mismatch {what}")
            }
            other => format!("{other:?}"),
        };
        assert_eq!(&got, want, "byte {off}");
    }
    // A debug-mode QE, signed by the same PCK: still refused.
    let dbg = pki.quote_with_qe_attributes(4, 2, &q[48..48 + 584], 0x13);
    assert!(matches!(
        v.verify_quote(&dbg, Some(&c), at()),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "QE report attributes",
            ..
        }))
    ));
    assert_eq!(v.cache_stats().entries, 1);
}

#[test]
fn failures_are_never_cached() {
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let coll = |st: &str| {
        Collateral::from_json(&pki.collateral_json(st, &td.tee_tcb_svn, ISSUE, NEXT)).unwrap()
    };
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    let good = coll("UpToDate");
    let mut tampered = q.clone();
    tampered[100] ^= 1;
    // Tampered quote, expired, not yet valid, revoked TCB, revoked PCK, wrong root.
    assert!(v.verify_quote(&tampered, Some(&good), at()).is_err());
    assert!(
        v.verify_quote(&q, Some(&good), t("2025-03-01T00:00:00Z"))
            .is_err()
    );
    assert!(
        v.verify_quote(&q, Some(&good), t("2024-12-01T00:00:00Z"))
            .is_err()
    );
    assert!(v.verify_quote(&q, Some(&coll("Revoked")), at()).is_err());
    let revoking = Collateral::from_json(&pki.collateral_json_revoking(
        "UpToDate",
        &td.tee_tcb_svn,
        ISSUE,
        NEXT,
        true,
    ))
    .unwrap();
    assert!(v.verify_quote(&q, Some(&revoking), at()).is_err());
    assert_eq!(v.cache_stats().entries, 0);
    assert_eq!(v.cache_stats().hits, 0);
    // A wrong root never caches either.
    let prod = TdxVerifier::new();
    assert!(prod.verify_quote(&q, Some(&good), at()).is_err());
    assert_eq!(prod.cache_stats().entries, 0);
    // The tampered quote after a success: still fails, and the entry is
    // the successful one only.
    v.verify_quote(&q, Some(&good), at()).unwrap();
    assert!(v.verify_quote(&tampered, Some(&good), at()).is_err());
    assert_eq!(v.cache_stats().entries, 1);
}

#[test]
fn cache_is_bounded_and_can_be_disabled() {
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let v = danger::verifier_with_test_root(pki.root_der.clone()).with_cache_capacity(2);
    let off = danger::verifier_with_test_root(pki.root_der.clone()).with_cache_capacity(0);
    // Three distinct collateral sets (different issue dates).
    for day in ["01", "02", "03"] {
        let c = Collateral::from_json(&pki.collateral_json(
            "UpToDate",
            &td.tee_tcb_svn,
            &format!("2025-01-{day}T00:00:00Z"),
            NEXT,
        ))
        .unwrap();
        v.verify_quote(&q, Some(&c), at()).unwrap();
        off.verify_quote(&q, Some(&c), at()).unwrap();
        assert!(v.cache_stats().entries <= 2);
    }
    assert_eq!(v.cache_stats().entries, 2);
    assert_eq!(off.cache_stats().entries, 0);
    v.clear_cache();
    assert_eq!(v.cache_stats().entries, 0);
    assert_eq!(
        tee_tdx::DEFAULT_CACHE_CAPACITY,
        seams::cache_capacity(&TdxVerifier::new())
    );
}

#[test]
fn another_attestation_key_under_a_cached_pck() {
    // The entry memoizes the attestation key of the quote that filled it; a
    // quote from the same platform with another key is still answered from
    // the cache, verified with that key.
    let pki = TestPki::default();
    let td = FakeTd::default();
    let q = quote_for(&pki, td.clone());
    let other = pki.clone().with_attestation_key("attestation 2");
    let q2 = quote_for(&other, td.clone());
    let c = Collateral::from_json(&pki.collateral_json("UpToDate", &td.tee_tcb_svn, ISSUE, NEXT))
        .unwrap();
    let v = danger::verifier_with_test_root(pki.root_der.clone());
    v.verify_quote(&q, Some(&c), at()).unwrap();
    let steady = v.verify_quote(&q2, Some(&c), at()).unwrap();
    assert_eq!(v.cache_stats().hits, 1);
    let full = uncached(&pki.root_der)
        .verify_quote(&q2, Some(&c), at())
        .unwrap();
    assert_eq!(steady, full);
    // Its quote signature is checked: the signature of the first key's quote
    // does not verify under the second key.
    let p = tee_tdx::quote::Quote::parse(&q2).unwrap();
    let mut mixed = q2.clone();
    let sig = p.signed_len + 4;
    mixed[sig..sig + 64].copy_from_slice(&q[sig..sig + 64]);
    assert!(matches!(
        v.verify_quote(&mixed, Some(&c), at()),
        Err(Error::Authenticity(Authenticity::BadSignature {
            what: "quote signature"
        }))
    ));
    assert_eq!(v.cache_stats().hits, 2);
}

/// Collateral JSON with one byte flipped every `step` bytes (signatures,
/// certificates, CRLs and signed JSON of the collateral).
#[cfg(feature = "aws-lc")]
fn collateral_flips(c: &Case, step: usize) -> Vec<Case> {
    (0..c.coll.len())
        .step_by(step)
        .map(|off| {
            let mut coll = c.coll.clone();
            coll[off] ^= 0x01;
            Case {
                name: format!("{} collateral flip {off}", c.name),
                coll,
                ..c.clone()
            }
        })
        .collect()
}

/// The aws-lc-rs provider gives the verdicts of the default one: on every
/// case of every group (vectors and fake PKI, valid and tampered quotes,
/// tampered collateral), uncached, cold and from its cache; and without
/// collateral on the production quotes.
#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_gives_the_same_verdicts() {
    use tee_tdx::crypto::AWS_LC;
    let mut compared = 0;
    let mut ok = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for g in all_groups() {
        let rc = uncached(&g.root);
        let lc_cold = uncached(&g.root).with_crypto(&AWS_LC);
        let lc_warm = danger::verifier_with_test_root(g.root.clone()).with_crypto(&AWS_LC);
        assert_eq!(lc_warm.crypto().name(), "aws-lc-rs");
        assert_eq!(rc.crypto().name(), "RustCrypto");
        let mut cases: Vec<Case> = g.warm.iter().cloned().chain(g.cases.clone()).collect();
        if let Some(w) = &g.warm {
            cases.extend(collateral_flips(w, w.coll.len() / 97 + 1));
        }
        for c in &cases {
            let ev = c.evidence();
            let expected = verdict(&rc.verify(&ev, c.at));
            assert_eq!(verdict(&lc_cold.verify(&ev, c.at)), expected, "{}", c.name);
            assert_eq!(verdict(&lc_warm.verify(&ev, c.at)), expected, "{}", c.name);
            assert_eq!(
                verdict(&lc_warm.verify(&ev, c.at)),
                expected,
                "{} (again)",
                c.name
            );
            ok += usize::from(expected.starts_with("ok "));
            kinds.insert(if expected.starts_with("ok ") {
                "ok".to_string()
            } else {
                expected
            });
            compared += 1;
        }
        assert!(lc_warm.cache_stats().hits > 0);
    }
    // Without collateral: the production quotes and their bit flips.
    let plain = |v: TdxVerifier| v.without_collateral();
    for (rel, when) in [
        (
            "go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
            "2023-07-01T01:00:00Z",
        ),
        (
            "go-tdx-guest/ccel/cos-113-tdx-quote.dat",
            "2025-01-01T00:00:00Z",
        ),
        ("dcap-qvl/tdx_quote", "2025-07-01T00:00:00Z"),
        ("dcap-qvl/tdx_quote_outdated", "2026-03-01T00:00:00Z"),
    ] {
        let Some(q) = read(rel) else { continue };
        let mut quotes = vec![("as is".to_string(), q.clone())];
        quotes.extend(flips(&q, 131));
        for (n, q) in quotes {
            let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, q);
            let expected = verdict(&plain(TdxVerifier::new()).verify(&ev, t(when)));
            let got = verdict(&plain(TdxVerifier::new().with_crypto(&AWS_LC)).verify(&ev, t(when)));
            assert_eq!(got, expected, "{rel} {n} without collateral");
            ok += usize::from(expected.starts_with("ok "));
            compared += 1;
        }
    }
    eprintln!("{compared} verdicts compared, {ok} ok; kinds {kinds:#?}");
    if vectors().is_some() {
        assert!(compared > 1000 && ok > 100, "{compared} {ok}");
        for k in [
            "BadSignature quote signature",
            "BadSignature QE report signature",
            "BadSignature TCB info signature",
            "BadSignature QE identity signature",
            "BadChain",
            "Revoked",
        ] {
            assert!(kinds.contains(k), "no case gave {k}: {kinds:#?}");
        }
    }
}
