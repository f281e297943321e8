#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Barrier;

use super::*;
use crate::testing::Scripted;

/// Test kinds: the body is `"FROM UNTIL"` in ASCII.
#[derive(Debug)]
struct Ascii;

impl Kinds for Ascii {
    fn validity(&self, kind: &str, body: &Body) -> Result<Validity, tee_core::Error> {
        if kind != "test" {
            return Err(tee_core::Error::Misuse("unknown kind".into()));
        }
        let t =
            core::str::from_utf8(&body.bytes).map_err(|e| tee_core::Error::encoding("test", e))?;
        let mut it = t.split_whitespace().map(str::parse::<u64>);
        match (it.next(), it.next()) {
            (Some(Ok(a)), Some(Ok(b))) => Ok(Validity::new(a, b)),
            _ => Err(tee_core::Error::encoding("test", "not FROM UNTIL")),
        }
    }
}

#[derive(Debug)]
struct D(&'static str);

const BASE: &str = "http://vendor.test/";

impl Descriptor for D {
    fn id(&self) -> String {
        format!("test/{}", self.0)
    }
    fn kind(&self) -> &'static str {
        "test"
    }
    fn request(&self) -> Request {
        Request::get(format!("{BASE}{}", self.0))
    }
    fn accept(&self, r: Response) -> Result<Body, tee_core::Error> {
        if r.body.starts_with(b"junk") {
            return Err(tee_core::Error::encoding("test", "junk"));
        }
        Ok(Body::new(r.body))
    }
}

fn url(p: &str) -> String {
    format!("{BASE}{p}")
}

fn online(t: &Arc<Scripted>) -> Cache {
    Cache::online(Arc::new(Ascii), t.clone(), RetryPolicy::none())
        .with_backoff(Backoff::new(
            Duration::from_secs(10),
            Duration::from_secs(80),
            Duration::from_secs(1000),
        ))
        .with_freshness(FreshnessPolicy {
            refresh_ahead: Duration::from_secs(20),
            ..FreshnessPolicy::default()
        })
}

fn unavailable(r: Result<Arc<Artifact>, CacheError>) -> (Duration, Unavailable) {
    match r {
        Err(CacheError::Unavailable {
            retry_after,
            reason,
            ..
        }) => (retry_after, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn serves_inside_the_window_and_never_outside() {
    let t = Arc::new(Scripted::new());
    t.respond(&url("a"), Response::new(200, "100 200"));
    let c = online(&t);
    assert_eq!(c.get(&D("a"), 150).unwrap().body.bytes, b"100 200");
    assert_eq!(c.get(&D("a"), 150).unwrap().fetched_at, 150);
    assert_eq!(t.hits(&url("a")), 1);
    let m = c.metrics();
    assert_eq!((m.hits, m.misses, m.fetches), (1, 1, 1));
    // The vendor goes down; at 200 (= nextUpdate) the copy is not served.
    t.respond(&url("a"), Response::new(503, ""));
    let (ra, why) = unavailable(c.get(&D("a"), 200));
    assert_eq!(ra, Duration::from_secs(10));
    assert!(matches!(why, Unavailable::FetchFailed(_)), "{why:?}");
    // Before it: still served (refresh ahead fails quietly).
    assert_eq!(c.get(&D("a"), 199).unwrap().fetched_at, 150);
    // An artifact the vendor serves already stale is not kept.
    t.respond(&url("b"), Response::new(200, "1 2"));
    let (_, why) = unavailable(c.get(&D("b"), 5));
    assert!(matches!(why, Unavailable::Rejected(_)), "{why:?}");
    assert!(c.artifacts().iter().all(|a| a.id != "test/b"));
}

#[test]
fn max_age_is_configured_per_kind() {
    let t = Arc::new(Scripted::new());
    t.respond(&url("a"), Response::new(200, "0 1000"));
    let c = online(&t)
        .with_freshness(FreshnessPolicy::default().with_max_age("test", Duration::from_secs(50)));
    c.get(&D("a"), 100).unwrap();
    assert_eq!(c.freshness().window(&c.artifacts()[0]).until, 150);
    t.respond(&url("a"), Response::new(500, ""));
    assert_eq!(c.get(&D("a"), 149).unwrap().fetched_at, 100);
    unavailable(c.get(&D("a"), 150));
    // Without a configured age, only the artifact's validity bounds it.
    assert_eq!(FreshnessPolicy::default().max_age_of("test"), None);
}

#[test]
fn backoff_and_retry_after() {
    let t = Arc::new(Scripted::new());
    t.respond(
        &url("a"),
        Response::new(429, "").with_header("Retry-After", "300"),
    );
    let c = online(&t);
    let (ra, _) = unavailable(c.get(&D("a"), 1000));
    assert_eq!(ra, Duration::from_secs(300));
    // Inside the backoff: no fetch at all.
    let (ra, why) = unavailable(c.get(&D("a"), 1100));
    assert_eq!(ra, Duration::from_secs(200));
    assert_eq!(why, Unavailable::BackingOff { failures: 1 });
    assert_eq!(t.hits(&url("a")), 1);
    // After it: one more attempt, a 500 now: backoff doubles from the base.
    t.respond(&url("a"), Response::new(500, ""));
    let (ra, _) = unavailable(c.get(&D("a"), 1300));
    assert_eq!(ra, Duration::from_secs(20));
    assert_eq!(t.hits(&url("a")), 2);
    // Truncated / junk body: rejected, backs off too.
    t.respond(&url("a"), Response::new(200, "junk"));
    let (ra, why) = unavailable(c.get(&D("a"), 1320));
    assert_eq!(ra, Duration::from_secs(40));
    assert!(matches!(why, Unavailable::Rejected(_)));
    // Recovery: the next attempt after the backoff succeeds and resets it.
    t.respond(&url("a"), Response::new(200, "0 5000"));
    assert!(c.get(&D("a"), 1360).is_ok());
    assert_eq!(c.metrics().fetch_failures, 3);
    // 404: NotFound.
    let (_, why) = unavailable(c.get(&D("zz"), 1360));
    assert!(matches!(why, Unavailable::NotFound { .. }), "{why:?}");
    // The cap on Retry-After.
    let b = Backoff::new(
        Duration::from_secs(1),
        Duration::from_secs(4),
        Duration::from_secs(60),
    );
    assert_eq!(
        b.delay(1, Some(Duration::from_secs(3600))),
        Duration::from_secs(60)
    );
    assert_eq!(b.delay(10, None), Duration::from_secs(4));
    assert_eq!(b.delay(u32::MAX, None), Duration::from_secs(4));
}

#[test]
fn refresh_ahead_of_next_update() {
    let t = Arc::new(Scripted::new());
    t.respond(&url("a"), Response::new(200, "0 100"));
    let c = online(&t);
    c.get(&D("a"), 10).unwrap();
    c.get(&D("a"), 79).unwrap();
    assert_eq!(t.hits(&url("a")), 1, "not due before 80");
    t.respond(&url("a"), Response::new(200, "50 300"));
    let a = c.get(&D("a"), 85).unwrap();
    assert_eq!((a.fetched_at, a.validity.until), (85, 300));
    assert_eq!(t.hits(&url("a")), 2);
    // refresh_due: the background path.
    t.respond(&url("a"), Response::new(200, "50 900"));
    let (ok, bad) = c.refresh_due(290, |_| Some(Box::new(D("a"))));
    assert_eq!((ok, bad), (1, 0));
    assert_eq!(c.artifacts()[0].validity.until, 900);
    assert_eq!(c.refresh_due(291, |_| Some(Box::new(D("a")))), (0, 0));
}

#[test]
fn one_fetch_per_key_under_64_concurrent_misses() {
    /// A transport that is slow, so that every thread misses while the
    /// first fetch is in flight.
    #[derive(Debug)]
    struct Slow(Scripted, Duration);
    impl Transport for Slow {
        fn get(&self, r: &Request) -> Result<Response, FetchError> {
            std::thread::sleep(self.1);
            self.0.get(r)
        }
    }
    for ok in [true, false] {
        let s = Arc::new(Slow(Scripted::new(), Duration::from_millis(200)));
        s.0.respond(
            &url("a"),
            if ok {
                Response::new(200, "0 100")
            } else {
                Response::new(503, "")
            },
        );
        let c = Arc::new(Cache::online(
            Arc::new(Ascii),
            s.clone(),
            RetryPolicy::none(),
        ));
        let gate = Arc::new(Barrier::new(64));
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let (c, gate) = (c.clone(), gate.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    c.get(&D("a"), 10).is_ok()
                })
            })
            .collect();
        let oks = threads
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|b| *b)
            .count();
        assert_eq!(s.0.hits(&url("a")), 1, "ok={ok}");
        assert_eq!(oks, if ok { 64 } else { 0 });
        assert_eq!(c.metrics().fetches, 1);
    }
}

#[test]
fn offline_answers_missing_and_stale() {
    let c = Cache::offline(Arc::new(Ascii)).with_offline_retry_after(Duration::from_secs(7));
    let (ra, why) = unavailable(c.get(&D("a"), 5));
    assert_eq!((ra, why), (Duration::from_secs(7), Unavailable::Missing));
    let a = Artifact {
        id: "test/a".into(),
        kind: "test".into(),
        source: "x".into(),
        fetched_at: 1,
        body: Body::new("0 10"),
        validity: Validity::new(0, 10),
    };
    assert_eq!(c.import(vec![a.clone()]).unwrap(), 1);
    assert!(c.get(&D("a"), 9).is_ok());
    let (_, why) = unavailable(c.get(&D("a"), 10));
    assert_eq!(why, Unavailable::Stale { until: 10 });
    // An artifact whose claimed validity is not its bytes' is refused.
    let lie = Artifact {
        validity: Validity::new(0, 99),
        ..a
    };
    assert!(matches!(
        c.import(vec![lie]),
        Err(BundleError::BadArtifact { .. })
    ));
    assert!(matches!(c.get(&BadId, 0), Err(CacheError::BadId { .. })));
}

#[derive(Debug)]
struct BadId;
impl Descriptor for BadId {
    fn id(&self) -> String {
        "has space".into()
    }
    fn kind(&self) -> &'static str {
        "test"
    }
    fn request(&self) -> Request {
        Request::get(BASE)
    }
    fn accept(&self, r: Response) -> Result<Body, tee_core::Error> {
        Ok(Body::new(r.body))
    }
}

#[test]
fn disk_store_survives_restart_and_ignores_torn_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::new());
    t.respond(&url("a"), Response::new(200, "0 100"));
    t.respond(&url("b"), Response::new(200, "0 100"));
    {
        let c = online(&t).with_store(DiskStore::open(dir.path()).unwrap());
        c.get(&D("a"), 1).unwrap();
        c.get(&D("b"), 1).unwrap();
    }
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')));
    // A restart: the vendor is down, the store answers.
    t.respond(&url("a"), Response::new(503, ""));
    let store = DiskStore::open(dir.path()).unwrap();
    let pb = store.path_of("test/b");
    // Tear b's file (a crash mid-write without rename) and add junk.
    let full = std::fs::read(&pb).unwrap();
    std::fs::write(&pb, &full[..full.len() / 2]).unwrap();
    std::fs::write(dir.path().join("junk.json"), b"{}").unwrap();
    std::fs::write(dir.path().join(".x.tmp"), b"partial").unwrap();
    let c = online(&t).with_store(store);
    assert_eq!(c.load_store(), 1);
    assert_eq!(c.metrics().store_rejected, 2);
    assert_eq!(c.get(&D("a"), 50).unwrap().fetched_at, 1);
    assert_eq!(t.hits(&url("a")), 1, "served from the store, no fetch");
    // b was torn: it is fetched again (never served from the torn file).
    assert_eq!(c.get(&D("b"), 50).unwrap().fetched_at, 50);
    assert_eq!(t.hits(&url("b")), 2);
    // An altered body (digest mismatch) is rejected.
    let pa = c.store().unwrap().path_of("test/a");
    let text = String::from_utf8(std::fs::read(&pa).unwrap()).unwrap();
    let altered = text.replace(&hex::encode("0 100"), &hex::encode("0 999"));
    assert_ne!(text, altered);
    std::fs::write(&pa, altered).unwrap();
    let c2 =
        Cache::offline(Arc::new(Ascii)).with_store(DiskStore::open_read_only(dir.path()).unwrap());
    unavailable(c2.get(&D("a"), 50));
    assert!(c2.get(&D("b"), 60).is_ok());
    // A file of another version is ignored.
    let pb = c2.store().unwrap().path_of("test/b");
    let text = String::from_utf8(std::fs::read(&pb).unwrap()).unwrap();
    std::fs::write(&pb, text.replace("\"version\": 1", "\"version\": 2")).unwrap();
    let c3 =
        Cache::offline(Arc::new(Ascii)).with_store(DiskStore::open_read_only(dir.path()).unwrap());
    unavailable(c3.get(&D("b"), 60));
    assert!(c3.metrics().store_rejected >= 1);
    // A read-only store refuses writes.
    assert!(c3.store().unwrap().save(&c.artifacts()[0]).is_err());
}

#[test]
fn store_is_shared_between_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::new());
    t.respond(&url("a"), Response::new(200, "0 100"));
    let r1 = online(&t).with_store(DiskStore::open(dir.path()).unwrap());
    let r2 = online(&t).with_store(DiskStore::open(dir.path()).unwrap());
    r1.get(&D("a"), 1).unwrap();
    let a = r2.get(&D("a"), 2).unwrap();
    assert_eq!(a.fetched_at, 1);
    assert_eq!(t.hits(&url("a")), 1);
    assert_eq!(r2.metrics().store_hits, 1);
}

#[test]
fn bundle_round_trip_and_versions() {
    let a = Artifact {
        id: "test/a".into(),
        kind: "test".into(),
        source: "http://vendor.test/a".into(),
        fetched_at: 3,
        body: Body {
            bytes: b"0 10".to_vec(),
            headers: vec![("X-Chain".into(), "abc".into())],
        },
        validity: Validity::new(0, 10),
    };
    let b = Bundle::new(4, vec![a.clone(), a.clone()]);
    assert_eq!(b.artifacts.len(), 1);
    let json = b.to_json();
    assert!(Bundle::sniff(&json));
    assert_eq!(Bundle::from_json(&json, &Ascii).unwrap(), b);
    let text = String::from_utf8(json.clone()).unwrap();
    let v2 = text.replacen("\"version\": 1", "\"version\": 2", 1);
    assert_eq!(
        Bundle::from_json(v2.as_bytes(), &Ascii),
        Err(BundleError::UnsupportedVersion { version: 2 })
    );
    let other = text.replace(BUNDLE_FORMAT, "something-else");
    assert!(matches!(
        Bundle::from_json(other.as_bytes(), &Ascii),
        Err(BundleError::Malformed { .. })
    ));
    assert!(!Bundle::sniff(other.as_bytes()));
    let altered = text.replace("abc", "abd");
    assert!(matches!(
        Bundle::from_json(altered.as_bytes(), &Ascii),
        Err(BundleError::BadArtifact { .. })
    ));
    assert!(matches!(
        Bundle::from_json(&json[..json.len() - 5], &Ascii),
        Err(BundleError::Malformed { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.json");
    b.write(&p).unwrap();
    assert_eq!(Bundle::read(&p, &Ascii).unwrap(), b);
    assert!(matches!(
        Bundle::read(&dir.path().join("none"), &Ascii),
        Err(BundleError::Io { .. })
    ));
}

#[test]
fn opening_a_store_removes_only_old_stray_temporaries() {
    use std::time::{Duration, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let touch = |name: &str, age: Duration| {
        let p = d.join(name);
        std::fs::write(&p, b"partial").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
        p
    };
    let hour = Duration::from_secs(3600);
    // A crashed writer's file, an hour old: removed.
    let stray = touch(".test_a.0a0b0c0d.json.4242.0.17.tmp", hour);
    // Another replica's write in progress (just now): kept.
    let fresh = touch(".test_b.0a0b0c0d.json.4343.0.18.tmp", Duration::ZERO);
    // Old files that are not temporaries (an artifact, another dot file,
    // a directory named like a temporary): never touched.
    let artifact = touch("test_c.0a0b0c0d.json", hour);
    let other = touch(".keep", hour);
    let sub = d.join(".sub.tmp");
    std::fs::create_dir(&sub).unwrap();
    let store = DiskStore::open(d).unwrap();
    assert!(!stray.exists(), "an old temporary stays");
    assert!(fresh.exists() && artifact.exists() && other.exists() && sub.is_dir());
    // A read-only store changes nothing, whatever the age.
    touch(".test_d.0a0b0c0d.json.1.0.1.tmp", hour);
    drop(store);
    let _ro = DiskStore::open_read_only(d).unwrap();
    assert!(d.join(".test_d.0a0b0c0d.json.1.0.1.tmp").exists());
    assert_eq!(store::sweep_stray_temporaries(d, STRAY_TEMPORARY_AGE), 1);
    assert_eq!(
        store::sweep_stray_temporaries(d, Duration::ZERO),
        1,
        "with age 0 the fresh one goes too"
    );
    assert!(!fresh.exists());
}
