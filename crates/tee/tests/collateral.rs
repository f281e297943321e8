//! The collateral manager against fake vendor services (a loopback PCCS,
//! a scripted KDS) and the shared real vectors: online fetch, restart from
//! the disk store, bundles, freshness, failures, single flight.
#![cfg(all(feature = "collateral", feature = "sev-snp", feature = "tdx"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tee::collateral::{
    Backoff, Bundle, BundleError, CollateralError, Config, Manager, PlainHttp, RetryPolicy,
    Unavailable,
};
use tee::evidence::format;
use tee::{Evidence, Platform, PlatformClaims, TcbStatus, UnixTime};
use tee_fetch::testing::{Reply, Scripted, Server};
use tee_fetch::{FetchError, Request, Response, Transport};

fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn at(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

fn pccs_answers(dir: &Path) -> Vec<(&'static str, Response)> {
    tee_tdx::testing::pccs::pccs_answers(dir).unwrap()
}

fn tdx_evidence(v: &Path) -> Evidence {
    let quote = std::fs::read(v.join("go-tdx-guest/tdx_prod_quote_SPR_E4.dat")).unwrap();
    Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote)
}

fn fast_config(base: &str) -> Config {
    Config::default()
        .with_pccs(base)
        .with_retry(RetryPolicy::none())
        .with_backoff(Backoff::new(
            Duration::from_secs(30),
            Duration::from_secs(600),
            Duration::from_secs(3600),
        ))
}

fn unavailable<T: std::fmt::Debug>(
    r: Result<T, CollateralError>,
) -> (String, Duration, Unavailable) {
    match r {
        Err(CollateralError::Unavailable {
            artifact,
            retry_after,
            reason,
        }) => (artifact, retry_after, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tdx_fetch_verify_restart_and_never_stale() {
    let Some(v) = vectors() else { return };
    let srv = Server::start();
    for (path, r) in pccs_answers(&v.join("go-tdx-guest")) {
        srv.replies(path, vec![Reply::Response(r)]);
    }
    let store = tempfile::tempdir().unwrap();
    let ev = tdx_evidence(&v);
    let now = at("2023-07-01T00:00:00Z");
    {
        let m =
            Manager::online(PlainHttp::default(), store.path(), fast_config(srv.base())).unwrap();
        let p = m.prepare(&ev, now).unwrap();
        assert_eq!(
            p.artifacts,
            [
                "intel/tdx-tcb-info/50806F000000",
                "intel/tdx-qe-identity",
                "intel/pck-crl/platform",
                "intel/root-crl"
            ]
        );
        let claims = p.verifiers.verify(&p.evidence, now).unwrap();
        let PlatformClaims::Tdx(x) = &claims.platform_claims else {
            panic!()
        };
        // The sample's documented outcome (INDEX.md §3.2).
        assert_eq!(x.tcb_status, TcbStatus::NoMatchingTcbLevel);
        assert!(x.revocation_checked);
        assert_eq!(m.metrics().fetches, 4);
        // Steady state: no more fetches.
        for _ in 0..10 {
            m.verifiers_for(&ev, now).unwrap();
        }
        let mt = m.metrics();
        assert_eq!((mt.fetches, mt.fetch_failures), (4, 0));
        assert!(mt.hits >= 40, "{mt:?}");
    }
    // Restart with the vendor gone: the store answers.
    drop(srv);
    let dead = Config::default()
        .with_pccs("http://127.0.0.1:9")
        .with_retry(RetryPolicy::none());
    let m = Manager::online(
        PlainHttp::new(Duration::from_secs(2)),
        store.path(),
        dead.clone(),
    )
    .unwrap();
    assert_eq!(m.artifacts().len(), 4);
    let p = m.prepare(&ev, now).unwrap();
    assert!(p.verifiers.verify(&p.evidence, now).is_ok());
    assert_eq!(m.metrics().fetches, 0);
    // Past the QE identity's nextUpdate (2023-07-08): never served, and the
    // vendor is down: Unavailable with a retry-after.
    let later = at("2023-07-10T00:00:00Z");
    let (id, retry, why) = unavailable(m.prepare(&ev, later));
    assert_eq!(id, "intel/tdx-qe-identity");
    assert!(retry >= Duration::from_secs(1));
    assert!(matches!(why, Unavailable::FetchFailed(_)), "{why:?}");
    // Offline over the same directory: the same answers, never a stale one.
    let off = Manager::offline_dir(store.path()).unwrap();
    assert!(off.prepare(&ev, now).is_ok());
    let (_, _, why) = unavailable(off.prepare(&ev, later));
    assert!(matches!(why, Unavailable::Stale { .. }), "{why:?}");
    // Another FMSPC is simply not there.
    let (id, _, why) =
        unavailable(off.fetch_tdx([1, 2, 3, 4, 5, 6], tee::tdx::PckCa::Platform, now));
    assert_eq!(
        (id.as_str(), why),
        ("intel/tdx-tcb-info/010203040506", Unavailable::Missing)
    );
}

/// A transport in front of a scripted one that can be slowed down.
#[derive(Debug)]
struct Slow {
    inner: Scripted,
    delay: Duration,
}

impl Transport for Slow {
    fn get(&self, r: &Request) -> Result<Response, FetchError> {
        std::thread::sleep(self.delay);
        self.inner.get(r)
    }
}

#[test]
fn fake_pccs_failures_single_flight_and_recovery() {
    let Some(v) = vectors() else { return };
    let base = "http://pccs.test";
    let answers = pccs_answers(&v.join("go-tdx-guest"));
    let t = Arc::new(Slow {
        inner: Scripted::new(),
        delay: Duration::from_millis(150),
    });
    let url = |p: &str| format!("{base}{p}");
    for (p, r) in &answers {
        t.inner.respond(&url(p), r.clone());
    }
    let tcb = url(answers[0].0);
    // Truncated body first, then a rate limit, then a 500, then recovery.
    let mut truncated = answers[0].1.clone();
    truncated.body.truncate(truncated.body.len() / 2);
    t.inner.script(
        &tcb,
        vec![
            Ok(truncated),
            Ok(Response::new(429, "").with_header("Retry-After", "120")),
            Ok(Response::new(500, "")),
            Ok(answers[0].1.clone()),
        ],
    );
    let m = Arc::new(Manager::online_in_memory(t.clone(), fast_config(base)));
    let ev = tdx_evidence(&v);
    let now = at("2023-07-01T00:00:00Z").as_secs();
    let t0 = UnixTime::from_secs(now);
    // 64 concurrent misses: one fetch of the TCB info (truncated: rejected).
    let run64 = |when: UnixTime| {
        let gate = Arc::new(Barrier::new(64));
        let hs: Vec<_> = (0..64)
            .map(|_| {
                let (m, ev, gate) = (m.clone(), ev.clone(), gate.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    m.prepare(&ev, when).map(|_| ())
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    };
    let r = run64(t0);
    assert_eq!(t.inner.hits(&tcb), 1);
    assert!(
        r.iter()
            .all(|x| matches!(x, Err(CollateralError::Unavailable { .. })))
    );
    let (_, retry, why) = unavailable(m.prepare(&ev, t0));
    assert!(
        matches!(why, Unavailable::BackingOff { failures: 1 }),
        "{why:?}"
    );
    assert_eq!(retry, Duration::from_secs(30));
    assert_eq!(t.inner.hits(&tcb), 1, "no fetch while backing off");
    // After the backoff: 429 with Retry-After 120 s.
    let t1 = UnixTime::from_secs(now + 30);
    let (_, retry, _) = unavailable(m.prepare(&ev, t1));
    assert_eq!(retry, Duration::from_secs(120));
    // After it: a 500 (third failure: 30 s doubled twice).
    let t2 = UnixTime::from_secs(now + 150);
    let (_, retry, _) = unavailable(m.prepare(&ev, t2));
    assert_eq!(retry, Duration::from_secs(120));
    // The fake recovers: 64 concurrent requests, one fetch, all answered.
    let t3 = UnixTime::from_secs(now + 270);
    let r = run64(t3);
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    assert_eq!(t.inner.hits(&tcb), 4);
    for (p, _) in &answers[1..] {
        assert_eq!(t.inner.hits(&url(p)), 1, "{p}");
    }
    let mt = m.metrics();
    assert_eq!((mt.fetches, mt.fetch_failures), (7, 3));
    // An outage: answers from cache inside validity, Unavailable outside.
    for (p, _) in &answers {
        t.inner.respond(&url(p), Response::new(503, ""));
    }
    assert!(m.prepare(&ev, UnixTime::from_secs(now + 3600)).is_ok());
    unavailable(m.prepare(&ev, at("2023-07-09T00:00:00Z")));
}

/// The KDS URL of the ms-tee-av Milan report's VCEK, derived like the KDS client.
fn milan(v: &Path) -> (Vec<u8>, Vec<u8>) {
    let report = std::fs::read(v.join("ms-tee-av/milan_attestation_report.bin")).unwrap();
    let pem = std::fs::read(v.join("ms-tee-av/milan_vcek.pem")).unwrap();
    let der = tee::sev::certs::decode_certs(&pem).unwrap()[0]
        .der()
        .to_vec();
    (report, der)
}

#[test]
fn snp_vcek_fetched_and_crl_required() {
    let Some(v) = vectors() else { return };
    let (report, vcek) = milan(&v);
    let r = tee::sev::SnpReport::parse(&report).unwrap();
    let base = "http://kds.test";
    let vcek_url = tee::sev::kds::vcek_url(base, &r, None).unwrap();
    let t = Arc::new(Scripted::new());
    t.respond(&vcek_url, Response::new(200, vcek.clone()));
    let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, report.clone());
    let now = at("2026-06-01T00:00:00Z");
    let cfg = Config::default()
        .with_kds(base)
        .with_retry(RetryPolicy::none());
    // No CRL at the KDS (404): Unavailable, never a pass.
    let m = Manager::online_in_memory(t.clone(), cfg.clone());
    let (id, _, why) = unavailable(m.prepare(&ev, now));
    assert_eq!(id, "amd/vcek-crl/Milan");
    assert!(matches!(why, Unavailable::NotFound { .. }), "{why:?}");
    // Explicitly allowed: verified with the fetched VCEK, and the claims say
    // revocation was not checked.
    let m = Manager::online_in_memory(t.clone(), cfg.allowing_unchecked_revocation(true));
    let p = m.prepare(&ev, now).unwrap();
    assert!(
        p.artifacts[0].starts_with("amd/vcek/Milan/"),
        "{:?}",
        p.artifacts
    );
    let claims = p.verifiers.verify(&p.evidence, now).unwrap();
    let PlatformClaims::SevSnp(s) = &claims.platform_claims else {
        panic!()
    };
    assert!(!s.revocation_checked);
    // One fetch per manager.
    assert_eq!(t.hits(&vcek_url), 2);
    // A body that is not a certificate is rejected, not stored.
    let t2 = Arc::new(Scripted::new());
    t2.respond(&vcek_url, Response::new(200, b"<html>busy</html>".to_vec()));
    let m = Manager::online_in_memory(
        t2,
        Config::default()
            .with_kds(base)
            .allowing_unchecked_revocation(true),
    );
    let (_, _, why) = unavailable(m.prepare(&ev, now));
    assert!(matches!(why, Unavailable::Rejected(_)), "{why:?}");
    assert!(m.artifacts().is_empty());
    // Evidence that cannot name its collateral is the client's error.
    let bad = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, vec![0; 10]);
    assert!(matches!(
        m.prepare(&bad, now),
        Err(CollateralError::Evidence(_))
    ));
    let bad = Evidence::new(Platform::Tdx, format::TDX_QUOTE, vec![0; 10]);
    assert!(matches!(
        m.prepare(&bad, now),
        Err(CollateralError::Evidence(_))
    ));
}

/// The CI fixture: a bundle of the shared real vectors' collateral (TDX
/// quotes with their collateral, an SNP report's VCEK) verifies them offline.
#[test]
fn bundle_of_the_shared_vectors_verifies_them_offline() {
    let Some(v) = vectors() else { return };
    let made = at("2026-01-01T00:00:00Z");
    let m = Manager::offline_dir(tempfile::tempdir().unwrap().path()).unwrap();
    let mut artifacts = Vec::new();
    let dq = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let dc = tee::tdx::Collateral::from_json(
        &std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap(),
    )
    .unwrap();
    artifacts.extend(
        m.tdx_artifacts_from_collateral(&dq, &dc, "file:dcap-qvl", made)
            .unwrap(),
    );
    let gq = std::fs::read(v.join("go-tdx-guest/tdx_prod_quote_SPR_E4.dat")).unwrap();
    let gc = tee::tdx::OfflineDir::new(v.join("go-tdx-guest"))
        .pcs_file_set()
        .unwrap();
    // The two platforms share the QE identity and root CRL ids: only one
    // copy each can be in a bundle; the go-tdx-guest set goes to its own.
    let go = m
        .tdx_artifacts_from_collateral(&gq, &gc, "file:go-tdx-guest", made)
        .unwrap();
    let (report, vcek) = milan(&v);
    artifacts.extend(
        m.snp_artifacts_from_files(&report, &vcek, None, "file:ms-tee-av", made)
            .unwrap(),
    );
    // The wrong collateral for a quote is refused.
    assert!(matches!(
        m.tdx_artifacts_from_collateral(&dq, &gc, "x", made),
        Err(CollateralError::Evidence(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    Bundle::new(made.as_secs(), artifacts).write(&path).unwrap();
    let b = Manager::from_bundle_with(&path, Config::default().allowing_unchecked_revocation(true))
        .unwrap();
    assert_eq!(b.artifacts().len(), 5);
    // dcap-qvl: UpToDate inside its window.
    let when = at("2025-07-19T10:00:34Z");
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, dq.clone());
    let p = b.prepare(&ev, when).unwrap();
    let c = p.verifiers.verify(&p.evidence, when).unwrap();
    let PlatformClaims::Tdx(x) = &c.platform_claims else {
        panic!()
    };
    assert_eq!(x.tcb_status, TcbStatus::UpToDate);
    // Past nextUpdate: not served.
    unavailable(b.prepare(&ev, at("2025-07-19T10:00:36Z")));
    // The same bundle as bytes (no filesystem: bindings, WebAssembly).
    let bytes = std::fs::read(&path).unwrap();
    let mb = Manager::from_bundle_bytes(
        &bytes,
        Config::default().allowing_unchecked_revocation(true),
    )
    .unwrap();
    assert_eq!(mb.artifacts().len(), 5);
    let p = mb.prepare(&ev, when).unwrap();
    assert!(p.verifiers.verify(&p.evidence, when).is_ok());
    unavailable(mb.prepare(&ev, at("2025-07-19T10:00:36Z")));
    assert!(matches!(
        Manager::from_bundle_bytes(&bytes[..bytes.len() / 2], Config::default()),
        Err(CollateralError::Bundle(BundleError::Malformed { .. }))
    ));
    // SEV-SNP from the bundle's VCEK.
    let now = at("2026-06-01T00:00:00Z");
    let ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, report);
    let p = b.prepare(&ev, now).unwrap();
    assert!(p.verifiers.verify(&p.evidence, now).is_ok());
    // The same bundle without the allowance: no CRL is Unavailable.
    let strict = Manager::from_bundle(&path).unwrap();
    let (id, _, why) = unavailable(strict.prepare(&ev, now));
    assert_eq!(
        (id.as_str(), why),
        ("amd/vcek-crl/Milan", Unavailable::Missing)
    );
    // go-tdx-guest from its own bundle.
    let gpath = dir.path().join("go.json");
    Bundle::new(made.as_secs(), go).write(&gpath).unwrap();
    let g = Manager::from_bundle(&gpath).unwrap();
    let when = at("2023-07-01T00:00:00Z");
    let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, gq);
    let p = g.prepare(&ev, when).unwrap();
    assert!(p.verifiers.verify(&p.evidence, when).is_ok());
    // A tampered or future bundle is refused with a typed error.
    let text = std::fs::read_to_string(&path).unwrap();
    let v2 = dir.path().join("v2.json");
    std::fs::write(&v2, text.replacen("\"version\": 1", "\"version\": 7", 1)).unwrap();
    assert!(matches!(
        Manager::from_bundle(&v2),
        Err(CollateralError::Bundle(BundleError::UnsupportedVersion {
            version: 7
        }))
    ));
    let bad = dir.path().join("bad.json");
    let i = text.find("\"body\": \"").unwrap() + 12;
    let mut bytes = text.into_bytes();
    bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
    std::fs::write(&bad, bytes).unwrap();
    assert!(matches!(
        Manager::from_bundle(&bad),
        Err(CollateralError::Bundle(BundleError::BadArtifact { .. }))
    ));
}

#[test]
fn replicas_share_a_store_and_it_is_never_torn() {
    let Some(v) = vectors() else { return };
    let srv = Server::start();
    for (path, r) in pccs_answers(&v.join("go-tdx-guest")) {
        srv.replies(path, vec![Reply::Response(r)]);
    }
    let store = tempfile::tempdir().unwrap();
    let ev = tdx_evidence(&v);
    let now = at("2023-07-01T00:00:00Z");
    // Four replicas on one store directory, each refreshing repeatedly
    // (every refresh rewrites the files) while the others read.
    let hs: Vec<_> = (0..4)
        .map(|i| {
            let (dir, base, ev) = (store.path().to_owned(), srv.base().to_owned(), ev.clone());
            std::thread::spawn(move || {
                let m = Manager::online(PlainHttp::default(), &dir, fast_config(&base)).unwrap();
                for k in 0..5u64 {
                    let when = UnixTime::from_secs(now.as_secs() + k * 60 + i);
                    m.prepare(&ev, when).unwrap();
                    // Far inside refresh-ahead of the QE identity (7 days left
                    // at most): force a refresh pass.
                    m.refresh_due(UnixTime::from_secs(
                        at("2023-07-07T20:00:00Z").as_secs() + k,
                    ));
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let names: Vec<String> = std::fs::read_dir(store.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let m = Manager::offline_dir(store.path()).unwrap();
    assert_eq!(m.artifacts().len(), 4);
    assert_eq!(m.metrics().store_rejected, 0);
    assert!(m.prepare(&ev, now).is_ok());
}
