//! The facade, backends and verifiers are `Send + Sync`: verifying real
//! evidence and sealing from 8 threads at once gives exactly the results of
//! the sequential run.

use std::path::Path;
use std::sync::Arc;

use tee::{Backend, Evidence, Platform, SealPolicy, UnixTime, Verifier};

fn assert_send_sync<T: Send + Sync + ?Sized>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<tee::Verifiers>();
    assert_send_sync::<dyn Backend>();
    assert_send_sync::<dyn Verifier>();
    assert_send_sync::<tee_sev::SnpVerifier>();
    assert_send_sync::<tee_tdx::TdxVerifier>();
    assert_send_sync::<tee::pef::PefVerifier>();
    assert_send_sync::<tee::mock::MockBackend>();
}

/// (name, verifier, evidence, time), with outcomes printed as one string so
/// runs can be compared exactly.
type Case = (&'static str, Arc<dyn Verifier>, Evidence, UnixTime);

fn cases(vec: &Path) -> Vec<Case> {
    let read = |p: &str| std::fs::read(vec.join(p)).unwrap();
    let mut out: Vec<Case> = Vec::new();

    // SEV-SNP: valid Milan report, and the same with a flipped byte.
    let snp = tee_sev::evidence_from_parts(
        &read("virtee-sev/report_milan.hex"),
        Some(&read("virtee-sev/vcek_milan.der")),
        &[],
    )
    .unwrap();
    let snp_at = UnixTime::parse_rfc3339("2025-01-01T00:00:00Z").unwrap();
    let snp_verifier: Arc<dyn Verifier> = Arc::new(tee_sev::SnpVerifier::new());
    let mut snp_bad = snp.clone();
    snp_bad.report[21] ^= 0x80;
    out.push(("snp ok", snp_verifier.clone(), snp, snp_at));
    out.push(("snp tampered", snp_verifier, snp_bad, snp_at));

    // TDX: v4 quote with collateral, inside and outside its window.
    let coll = tee_tdx::Collateral::from_json(&read("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let tdx_verifier: Arc<dyn Verifier> =
        Arc::new(tee_tdx::TdxVerifier::new().with_collateral(coll));
    let quote = Evidence::new(
        Platform::Tdx,
        tee::evidence::format::TDX_QUOTE,
        read("dcap-qvl/tdx_quote"),
    );
    out.push((
        "tdx ok",
        tdx_verifier.clone(),
        quote.clone(),
        UnixTime::parse_rfc3339("2025-07-19T10:00:34Z").unwrap(),
    ));
    out.push((
        "tdx expired",
        tdx_verifier,
        quote,
        UnixTime::parse_rfc3339("2025-08-01T00:00:00Z").unwrap(),
    ));

    // Mock.
    let mock = tee::mock::MockBackend::new();
    let ev = mock
        .attester()
        .unwrap()
        .attest(&tee::ReportData::bind(b"n", b""))
        .unwrap();
    out.push((
        "mock",
        Arc::new(tee::mock::MockVerifier::trusting_mock_root()),
        ev,
        UnixTime::from_secs(1_750_000_000),
    ));
    out
}

fn outcome(v: &dyn Verifier, ev: &Evidence, at: UnixTime) -> String {
    match v.verify(ev, at) {
        Ok(c) => format!(
            "ok {} {} {:?}",
            c.platform, c.report_data, c.launch_measurement
        ),
        Err(e) => format!("err {e}"),
    }
}

#[test]
fn eight_threads_match_the_sequential_run() {
    let Some(vec) =
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
    else {
        return;
    };
    let cases = Arc::new(cases(&vec));
    let sequential: Vec<String> = cases
        .iter()
        .map(|(_, v, e, at)| outcome(&**v, e, *at))
        .collect();
    assert!(sequential[0].starts_with("ok sev-snp"), "{}", sequential[0]);
    assert!(sequential[1].starts_with("err "), "{}", sequential[1]);
    assert!(sequential[2].starts_with("ok tdx"), "{}", sequential[2]);
    assert!(sequential[3].starts_with("err "), "{}", sequential[3]);

    let backend = Arc::new(tee::mock::MockBackend::new());
    let handles: Vec<_> = (0..8u8)
        .map(|t| {
            let cases = cases.clone();
            let backend = backend.clone();
            std::thread::spawn(move || {
                let mut results = Vec::new();
                for round in 0..3 {
                    // Each thread walks the cases from a different start.
                    for i in 0..cases.len() {
                        let (_, v, e, at) = &cases[(i + t as usize + round) % cases.len()];
                        results.push((
                            (i + t as usize + round) % cases.len(),
                            outcome(&**v, e, *at),
                        ));
                    }
                    let pol = SealPolicy::measurement(format!("thread-{t}"));
                    let data = vec![t; 1000 + t as usize];
                    let blob = backend.sealer().unwrap().seal(&data, &pol).unwrap();
                    let back = backend.sealer().unwrap().unseal(&blob, &pol).unwrap();
                    assert_eq!(back.as_slice(), &data[..]);
                }
                results
            })
        })
        .collect();
    for h in handles {
        for (i, r) in h.join().unwrap() {
            assert_eq!(
                r, sequential[i],
                "case {} differs under concurrency",
                cases[i].0
            );
        }
    }
}
