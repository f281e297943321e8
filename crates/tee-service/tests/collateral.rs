//! The service over the collateral manager (`ManagerSource`): a bundle
//! made from the fake AMD PKI (NO SECURITY) — fresh collateral verifies and
//! appraises, stale or missing collateral is 503 with `Retry-After`, a
//! revoked VCEK is contraindicated — and an online store refreshed ahead of
//! expiry by the background task, with its metrics.
#![cfg(all(feature = "collateral", feature = "sev-snp", feature = "tdx"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::*;
use tee::collateral::{Bundle, Config as CollateralConfig, Manager, RetryPolicy};
use tee::sev::Product;
use tee::{Evidence, Platform, ReportData, UnixTime};
use tee_core::platforms::SnpSigningKey;
use tee_ear::Status;
use tee_fetch::Response;
use tee_fetch::testing::Scripted;
use tee_service::managed::{ManagerSource, Mode};
use tee_sev::testing::{CRL_NEXT_UPDATE, CRL_THIS_UPDATE, FakeFirmware, pki, serial};

/// Inside the fake PKI's certificates and [`Pki::crl`]'s window.
const NOW: u64 = CRL_THIS_UPDATE + 86_400;
const KDS: &str = "http://kds.test";

#[derive(Debug)]
struct FakeClock(AtomicU64);

impl tee_service::Clock for FakeClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(SeqCst))
    }
}

fn firmware() -> FakeFirmware {
    FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek)
}

/// A policy admitting the fake firmware's launch measurement.
fn snp_policy() -> String {
    format!(
        "allowed_measurements = [\"{}\"]\n",
        hex::encode(firmware().measurement)
    )
}

/// SEV-SNP evidence from the fake firmware bound to `nonce`: the bare
/// report, no VCEK (the collateral store supplies it).
fn snp_evidence(nonce: &[u8], user_data: &[u8]) -> Evidence {
    let rd: [u8; 64] = ReportData::bind(nonce, user_data)
        .as_ref()
        .try_into()
        .unwrap();
    Evidence::new(
        Platform::SevSnp,
        tee::evidence::format::SEV_SNP_REPORT,
        firmware().make_report(&rd, 0),
    )
}

/// A bundle (made at `NOW`) with the fake VCEK and `crl`.
fn bundle(dir: &Path, crl: Option<&[u8]>) -> PathBuf {
    let scratch = tempfile::tempdir().unwrap();
    let m = Manager::offline_dir(scratch.path()).unwrap();
    let report = firmware().make_report(&[0; 64], 0);
    let arts = m
        .snp_artifacts_from_files(
            &report,
            &pki(Product::Milan).vcek(),
            crl,
            "test-pki",
            UnixTime::from_secs(NOW),
        )
        .unwrap();
    assert_eq!(arts.len(), 1 + usize::from(crl.is_some()));
    let path = dir.join("site.bundle");
    Bundle::new(NOW, arts).write(&path).unwrap();
    path
}

/// The offline source over a bundle, trusting the fake PKI.
fn offline(path: &Path) -> Arc<ManagerSource> {
    let m = Manager::from_bundle(path)
        .unwrap()
        .with_snp_verifier(pki(Product::Milan).verifier())
        .trusting_mock_root();
    Arc::new(ManagerSource::new(Arc::new(m), Mode::Offline))
}

fn start_with(source: Arc<ManagerSource>, clock: Arc<FakeClock>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("default.toml"), snp_policy()).unwrap();
    std::fs::write(dir.path().join("mock.toml"), mock_policy()).unwrap();
    start_in(dir, move |c| {
        c.collateral = source;
        c.clock = clock;
        c.refresh_interval = Duration::from_millis(50);
    })
}

fn verify_at(addr: std::net::SocketAddr, token: &str, nonce: &[u8], at: u64) -> tee_ear::Ear {
    let opts = tee_ear::VerifyOptions::new(UnixTime::from_secs(at), 60).expect_nonce(nonce);
    tee_ear::verify(token, &jwks(addr), &opts).unwrap()
}

fn metric(addr: std::net::SocketAddr, name: &str) -> u64 {
    let m = String::from_utf8(get(addr, "/metrics").body).unwrap();
    m.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{m}"))
}

/// One SEV-SNP attestation at the service's (fake) time.
fn attest_snp(s: &Server) -> (Vec<u8>, Resp) {
    let (nonce, ch) = challenge(s.addr);
    let ev = snp_evidence(&nonce, b"ud");
    let r = post_json(s.addr, "/attest", &attest_body(&ch, &ev, Some(b"ud"), None));
    (nonce, r)
}

#[test]
fn fresh_collateral_from_a_bundle_passes_and_stale_is_503_never_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let crl = pki(Product::Milan).crl(&[]);
    let src = offline(&bundle(dir.path(), Some(&crl)));
    let clock = Arc::new(FakeClock(AtomicU64::new(NOW)));
    let s = start_with(src, clock.clone());

    // Fresh: verified with the bundle's VCEK and CRL, appraisal passes.
    let (nonce, r) = attest_snp(&s);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let ear = verify_at(s.addr, r.json()["token"].as_str().unwrap(), &nonce, NOW);
    let j = ear.to_json();
    let sub = &j["submods"]["sev-snp"];
    assert_eq!(sub["tee-sdk.claims"]["appraisal-passed"], true, "{j}");
    assert_eq!(sub["ear.status"], "affirming", "{j}");
    assert_eq!(ear.overall_status(), Status::Affirming);
    assert_eq!(
        sub["tee-sdk.claims"]["report-data"],
        ReportData::bind(&nonce, b"ud").to_hex()
    );
    assert_eq!(metric(s.addr, "tee_service_collateral_artifacts"), 2);
    assert!(metric(s.addr, "tee_service_collateral_cache_hits_total") >= 2);
    assert_eq!(metric(s.addr, "tee_service_collateral_fetches_total"), 0);

    // Mock evidence (needs no collateral) still works with its policy.
    let (n2, ch) = challenge(s.addr);
    let r = post_json(
        s.addr,
        "/attest",
        &attest_body(&ch, &mock_evidence(&n2, b""), None, Some("mock")),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // Past the CRL's nextUpdate: the bundle cannot serve it; 503 with
    // Retry-After, and the challenge stays usable.
    clock.0.store(CRL_NEXT_UPDATE, SeqCst);
    let (nonce, ch) = challenge(s.addr);
    let body = attest_body(&ch, &snp_evidence(&nonce, b""), None, None);
    for _ in 0..2 {
        let r = post_json(s.addr, "/attest", &body);
        assert_eq!(
            (r.status, r.error().as_str()),
            (503, "collateral_unavailable"),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            r.json()["detail"]
                .as_str()
                .unwrap()
                .contains("amd/vcek-crl/Milan")
        );
        assert_eq!(r.header("retry-after"), Some("3600"));
    }
    assert_eq!(
        metric(s.addr, "tee_service_collateral_unavailable_total"),
        2
    );
    assert_eq!(
        metric(s.addr, "tee_service_verdicts_total{status=\"affirming\"}"),
        1
    );
}

#[test]
fn a_bundle_without_a_crl_is_503_and_a_revoked_vcek_is_contraindicated() {
    let clock = Arc::new(FakeClock(AtomicU64::new(NOW)));
    // No CRL: revocation cannot be checked, so nothing is verified.
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(offline(&bundle(dir.path(), None)), clock.clone());
    let (_, r) = attest_snp(&s);
    assert_eq!(
        (r.status, r.error().as_str()),
        (503, "collateral_unavailable")
    );
    assert!(r.header("retry-after").is_some());
    drop(s);

    // A CRL revoking the VCEK: authentic-looking evidence, never a pass.
    let dir = tempfile::tempdir().unwrap();
    let crl = pki(Product::Milan).crl(&[serial::VCEK]);
    let s = start_with(offline(&bundle(dir.path(), Some(&crl))), clock);
    let (nonce, r) = attest_snp(&s);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let ear = verify_at(s.addr, r.json()["token"].as_str().unwrap(), &nonce, NOW);
    assert_eq!(ear.overall_status(), Status::Contraindicated);

    // Evidence that does not parse is the client's error.
    let (_, ch) = challenge(s.addr);
    let bad = Evidence::new(
        Platform::SevSnp,
        tee::evidence::format::SEV_SNP_REPORT,
        vec![2; 40],
    );
    let r = post_json(s.addr, "/attest", &attest_body(&ch, &bad, None, None));
    assert_eq!((r.status, r.error().as_str()), (400, "malformed_evidence"));
}

/// Wait until `cond` holds (the background task runs every 50 ms).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_online_store_is_refreshed_ahead_of_expiry_in_the_background() {
    let p = pki(Product::Milan);
    // A CRL ending an hour after NOW (inside the 6 h refresh-ahead margin),
    // then a fresh one.
    let old = p.crl_at(&[], NOW - 86_400, Some(NOW + 3600));
    let new = p.crl_at(&[], NOW, Some(NOW + 30 * 86_400));
    let probe = snp_evidence(&[0; 32], b"");
    let report = tee::sev::SnpReport::parse(&probe.report).unwrap();
    let vcek_url = tee::sev::kds::vcek_url(KDS, &report, None).unwrap();
    let crl_url = format!("{KDS}/vcek/v1/Milan/crl");
    let t = Arc::new(Scripted::new());
    t.respond(&vcek_url, Response::new(200, p.vcek()));
    t.script(
        &crl_url,
        vec![
            Ok(Response::new(200, old)),
            Ok(Response::new(500, Vec::new())),
        ],
    );
    let store = tempfile::tempdir().unwrap();
    let cfg = CollateralConfig::default()
        .with_kds(KDS)
        .with_retry(RetryPolicy::none());
    let m = Manager::online(t.clone(), store.path(), cfg)
        .unwrap()
        .with_snp_verifier(p.verifier());
    // Fill the store before the service starts: one fetch each.
    m.prepare(&probe, UnixTime::from_secs(NOW)).unwrap();
    assert_eq!((t.hits(&vcek_url), t.hits(&crl_url)), (1, 1));
    let src = Arc::new(ManagerSource::new(Arc::new(m), Mode::Online));
    let clock = Arc::new(FakeClock(AtomicU64::new(NOW)));
    let s = start_with(src.clone(), clock.clone());

    // The background task tries to refresh the CRL; the vendor answers 500:
    // counted, and the held copy is still served inside its window.
    eventually("a failed refresh", || {
        metric(s.addr, "tee_service_collateral_refresh_failures_total") >= 1
    });
    assert_eq!(t.hits(&crl_url), 2, "one refresh fetch, then backoff");
    let (_, r) = attest_snp(&s);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(metric(s.addr, "tee_service_collateral_fetch_failures_total") >= 1);

    // Past the old CRL's nextUpdate with the vendor still failing: 503.
    clock.0.store(NOW + 7200, SeqCst);
    let (_, r) = attest_snp(&s);
    assert_eq!(
        (r.status, r.error().as_str()),
        (503, "collateral_unavailable"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(r.header("retry-after").is_some());

    // The vendor recovers: after the backoff the background task (or the
    // next lookup) fetches the new CRL, and the service answers again.
    t.respond(&crl_url, Response::new(200, new));
    clock.0.store(NOW + 7200 + 3600, SeqCst);
    eventually("a successful refresh or fetch", || {
        let (nonce, r) = attest_snp(&s);
        if r.status != 200 {
            return false;
        }
        let ear = verify_at(
            s.addr,
            r.json()["token"].as_str().unwrap(),
            &nonce,
            NOW + 7200 + 3600,
        );
        assert_eq!(ear.overall_status(), Status::Affirming);
        true
    });
    assert_eq!(t.hits(&vcek_url), 1, "the VCEK came from the store");
    assert!(metric(s.addr, "tee_service_collateral_fetches_total") >= 3);
    // The store on disk holds the new CRL for the next start.
    let again = Manager::offline_dir(store.path()).unwrap();
    assert_eq!(again.artifacts().len(), 2);
    let crl = again
        .artifacts()
        .into_iter()
        .find(|a| a.id == "amd/vcek-crl/Milan")
        .unwrap();
    assert_eq!(crl.validity.until, NOW + 30 * 86_400);
}

#[test]
fn an_offline_source_never_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let crl = pki(Product::Milan).crl(&[]);
    let src = offline(&bundle(dir.path(), Some(&crl)));
    let clock = Arc::new(FakeClock(AtomicU64::new(CRL_NEXT_UPDATE - 60)));
    let s = start_with(src, clock);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(metric(s.addr, "tee_service_collateral_refreshes_total"), 0);
    assert_eq!(
        metric(s.addr, "tee_service_collateral_refresh_failures_total"),
        0
    );
    assert_eq!(metric(s.addr, "tee_service_collateral_fetches_total"), 0);
}
