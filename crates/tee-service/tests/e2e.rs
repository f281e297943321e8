//! End to end over loopback: challenge → attest → EAR token checked against
//! the served JWKS; tampered evidence; policies; metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use tee_ear::Status;

fn submod_status(ear: &tee_ear::Ear, name: &str) -> Status {
    let j = ear.to_json();
    Status::from_name(j["submods"][name]["ear.status"].as_str().unwrap()).unwrap()
}

#[test]
fn mock_flow_gives_a_token_the_jwks_verifies() {
    let s = start(|_| {});
    let (nonce, ch) = challenge(s.addr);
    assert_eq!(nonce.len(), 32);
    let ud = b"session key 1";
    let ev = mock_evidence(&nonce, ud);
    let r = post_json(s.addr, "/attest", &attest_body(&ch, &ev, Some(ud), None));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "exactly {{\"token\"}}: {body}"
    );
    let ear = check_token(s.addr, body["token"].as_str().unwrap(), &nonce);
    // Mock evidence is never affirming (hardware 96), but the appraisal
    // passed: every check in the claims passed or was allowed.
    let j = ear.to_json();
    let claims = &j["submods"]["mock"]["tee-sdk.claims"];
    assert_eq!(claims["appraisal-passed"], true, "{j}");
    assert_eq!(
        claims["report-data"],
        tee::ReportData::bind(&nonce, ud).to_hex()
    );
    assert_eq!(submod_status(&ear, "mock"), Status::Contraindicated);
    // A token from another key does not verify against this JWKS.
    let other = start(|_| {});
    let opts = tee_ear::VerifyOptions::new(tee::UnixTime::now(), 60).expect_nonce(&nonce);
    assert!(tee_ear::verify(body["token"].as_str().unwrap(), &jwks(other.addr), &opts).is_err());
    // Metrics counted it.
    let m = String::from_utf8(get(s.addr, "/metrics").body).unwrap();
    assert!(
        m.contains("tee_service_requests_total{endpoint=\"/attest\",code=\"200\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tee_service_verdicts_total{status=\"contraindicated\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tee_service_attest_duration_seconds_count 1"),
        "{m}"
    );
    assert!(m.contains("tee_service_challenges_total 1"), "{m}");
    // The build's crypto implementation, for verifying and for signing.
    let name = tee_service::Crypto::build_default().name();
    #[cfg(feature = "aws-lc")]
    assert_eq!(name, "aws-lc-rs");
    #[cfg(not(feature = "aws-lc"))]
    assert_eq!(name, "RustCrypto");
    assert!(
        m.contains(&format!(
            "tee_service_crypto_info{{verify=\"{name}\",sign=\"{name}\"}} 1"
        )),
        "{m}"
    );
    let h = get(s.addr, "/healthz").json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["crypto"], name);
    assert_eq!(h["token_signing"], name);
}

#[test]
fn wrong_report_data_or_measurement_is_contraindicated_and_says_why() {
    let s = start(|_| {});
    // Evidence bound to another nonce.
    let (nonce, ch) = challenge(s.addr);
    let ev = mock_evidence(b"some other nonce", b"");
    let r = post_json(s.addr, "/attest", &attest_body(&ch, &ev, None, None));
    assert_eq!(r.status, 200);
    let ear = check_token(s.addr, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(submod_status(&ear, "mock"), Status::Contraindicated);
    let j = ear.to_json();
    let checks = j["submods"]["mock"]["tee-sdk.claims"]["checks"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "report_data" && c["outcome"] == "failed"),
        "{checks:?}"
    );
    // user_data given but not bound.
    let (nonce, ch) = challenge(s.addr);
    let ev = mock_evidence(&nonce, b"");
    let r = post_json(
        s.addr,
        "/attest",
        &attest_body(&ch, &ev, Some(b"extra"), None),
    );
    let ear = check_token(s.addr, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(
        ear.to_json()["submods"]["mock"]["tee-sdk.claims"]["appraisal-passed"],
        false
    );
    // A policy without the mock's measurement.
    std::fs::write(
        s.dir.path().join("strict.toml"),
        "allow_mock = true\nallowed_measurements = [\"00\"]\n",
    )
    .unwrap();
    let (nonce, ch) = challenge(s.addr);
    let ev = mock_evidence(&nonce, b"");
    let r = post_json(
        s.addr,
        "/attest",
        &attest_body(&ch, &ev, None, Some("strict")),
    );
    assert_eq!(r.status, 200);
    let ear = check_token(s.addr, r.json()["token"].as_str().unwrap(), &nonce);
    let j = ear.to_json();
    assert_eq!(
        j["submods"]["mock"]["tee-sdk.claims"]["appraisal-passed"],
        false
    );
    assert_eq!(submod_status(&ear, "mock"), Status::Contraindicated);
}

#[test]
fn tampered_evidence_is_never_affirming() {
    let s = start(|_| {});
    let (nonce, _) = challenge(s.addr);
    let good = mock_evidence(&nonce, b"");
    let mut seen_token = 0;
    for i in (0..good.report.len()).step_by(7) {
        let (nonce, ch) = challenge(s.addr);
        let mut ev = mock_evidence(&nonce, b"");
        ev.report[i] ^= 0x40;
        let r = post_json(s.addr, "/attest", &attest_body(&ch, &ev, None, None));
        match r.status {
            200 => {
                seen_token += 1;
                let ear = check_token(s.addr, r.json()["token"].as_str().unwrap(), &nonce);
                assert_eq!(ear.overall_status(), Status::Contraindicated, "byte {i}");
                assert_ne!(ear.overall_status(), Status::Affirming);
            }
            400 => assert_eq!(r.error(), "malformed_evidence", "byte {i}"),
            other => panic!(
                "byte {i}: status {other}: {}",
                String::from_utf8_lossy(&r.body)
            ),
        }
    }
    assert!(
        seen_token > 0,
        "some tampering must reach the signature check"
    );
}

#[test]
fn policies_reload_and_names_are_checked() {
    let s = start(|_| {});
    let attest = |policy: Option<&str>| {
        let (nonce, ch) = challenge(s.addr);
        let ev = mock_evidence(&nonce, b"");
        (
            nonce,
            post_json(s.addr, "/attest", &attest_body(&ch, &ev, None, policy)),
        )
    };
    let (_, r) = attest(Some("nope"));
    assert_eq!((r.status, r.error().as_str()), (404, "unknown_policy"));
    for bad in ["../default", "a/b", "default.toml", "", "x y"] {
        let (_, r) = attest(Some(bad));
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "bad_policy_name"),
            "{bad:?}"
        );
    }
    // A new file is picked up at once; a change is seen on the next request.
    std::fs::write(s.dir.path().join("p1.toml"), "allow_mock = false\n").unwrap();
    let (nonce, r) = attest(Some("p1"));
    let ear = check_token(s.addr, r.json()["token"].as_str().unwrap(), &nonce);
    let id1 = ear.to_json()["submods"]["mock"]["ear.appraisal-policy-id"].clone();
    assert_eq!(
        ear.to_json()["submods"]["mock"]["tee-sdk.claims"]["appraisal-passed"],
        false
    );
    std::fs::write(s.dir.path().join("p1.toml"), mock_policy()).unwrap();
    let (nonce, r) = attest(Some("p1"));
    let ear = check_token(s.addr, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(
        ear.to_json()["submods"]["mock"]["tee-sdk.claims"]["appraisal-passed"],
        true
    );
    assert_ne!(
        ear.to_json()["submods"]["mock"]["ear.appraisal-policy-id"],
        id1
    );
    // A broken file fails closed (500), never the old policy.
    std::fs::write(s.dir.path().join("p1.toml"), "allow_mock = \"yes\"\n").unwrap();
    let (_, r) = attest(Some("p1"));
    assert_eq!((r.status, r.error().as_str()), (500, "policy_invalid"));
}

#[derive(Debug)]
struct FakeClock(std::sync::atomic::AtomicU64);

impl tee_service::Clock for FakeClock {
    fn now(&self) -> tee::UnixTime {
        tee::UnixTime::from_secs(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[test]
fn challenges_expire_and_replays_are_refused() {
    let clock = std::sync::Arc::new(FakeClock(tee::UnixTime::now().as_secs().into()));
    let c2 = clock.clone();
    let s = start(move |c| {
        c.challenge_ttl = std::time::Duration::from_secs(60);
        c.clock = c2;
    });
    let (nonce, ch) = challenge(s.addr);
    let ev = mock_evidence(&nonce, b"");
    let body = attest_body(&ch, &ev, None, None);
    assert_eq!(post_json(s.addr, "/attest", &body).status, 200);
    let r = post_json(s.addr, "/attest", &body);
    assert_eq!((r.status, r.error().as_str()), (409, "challenge_replayed"));
    let (nonce, ch) = challenge(s.addr);
    let ev = mock_evidence(&nonce, b"");
    clock.0.fetch_add(59, std::sync::atomic::Ordering::SeqCst);
    let (n2, ch2) = challenge(s.addr);
    clock.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let r = post_json(s.addr, "/attest", &attest_body(&ch, &ev, None, None));
    assert_eq!((r.status, r.error().as_str()), (403, "challenge_expired"));
    // One issued later is still good (tokens are checked at the real clock,
    // so only the status is looked at).
    let r = post_json(
        s.addr,
        "/attest",
        &attest_body(&ch2, &mock_evidence(&n2, b""), None, None),
    );
    assert_eq!(r.status, 200);
    // Another service's challenge (other key).
    let other = tee_service::ChallengeKey::from_bytes(&[1u8; 32])
        .unwrap()
        .issue([0; 32], u64::MAX);
    let r = post_json(
        s.addr,
        "/attest",
        &attest_body(&other.text, &ev, None, None),
    );
    assert_eq!((r.status, r.error().as_str()), (403, "challenge_invalid"));
    let m = String::from_utf8(get(s.addr, "/metrics").body).unwrap();
    assert!(m.contains("tee_service_replays_total 1"), "{m}");
}

#[test]
fn without_a_replay_cache_a_challenge_is_reusable_until_it_expires() {
    let s = start(|c| c.replay_capacity = 0);
    let (nonce, ch) = challenge(s.addr);
    let body = attest_body(&ch, &mock_evidence(&nonce, b""), None, None);
    assert_eq!(post_json(s.addr, "/attest", &body).status, 200);
    assert_eq!(post_json(s.addr, "/attest", &body).status, 200);
}

#[test]
fn a_replica_with_the_same_challenge_key_accepts_the_challenge() {
    let a = start(|_| {});
    let b = start(|_| {});
    let (nonce, ch) = challenge(a.addr);
    let r = post_json(
        b.addr,
        "/attest",
        &attest_body(&ch, &mock_evidence(&nonce, b""), None, None),
    );
    assert_eq!(r.status, 200);
    check_token(b.addr, r.json()["token"].as_str().unwrap(), &nonce);
}

#[derive(Debug)]
struct Down;

impl tee_service::CollateralSource for Down {
    fn prepare(
        &self,
        _: tee::Evidence,
        _: tee::UnixTime,
    ) -> Result<tee_service::Ready, tee_service::CollateralError> {
        Err(tee_service::CollateralError::Unavailable {
            what: "VCEK".into(),
            retry_after: std::time::Duration::from_secs(30),
        })
    }
}

#[test]
fn collateral_unavailable_is_503_with_retry_after_and_the_challenge_stays_usable() {
    let s = start(|c| c.collateral = std::sync::Arc::new(Down));
    let (nonce, ch) = challenge(s.addr);
    let body = attest_body(&ch, &mock_evidence(&nonce, b""), None, None);
    for _ in 0..2 {
        let r = post_json(s.addr, "/attest", &body);
        assert_eq!(
            (r.status, r.error().as_str()),
            (503, "collateral_unavailable")
        );
        assert_eq!(r.header("retry-after"), Some("30"));
    }
    let m = String::from_utf8(get(s.addr, "/metrics").body).unwrap();
    assert!(
        m.contains("tee_service_collateral_unavailable_total 2"),
        "{m}"
    );
}

#[test]
fn tdx_evidence_without_collateral_is_422_never_a_pass() {
    let Some(v) = vectors() else { return };
    let s = start(|_| {});
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let ev = tee::Evidence::new(tee::Platform::Tdx, tee::evidence::format::TDX_QUOTE, quote);
    let (_, ch) = challenge(s.addr);
    let r = post_json(s.addr, "/attest", &attest_body(&ch, &ev, None, None));
    assert_eq!(
        (r.status, r.error().as_str()),
        (422, "collateral_missing"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

#[test]
fn graceful_shutdown_finishes_and_stops_listening() {
    let s = start(|_| {});
    let addr = s.addr;
    assert_eq!(get(addr, "/healthz").status, 200);
    s.stop();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening after shutdown"
    );
}

#[test]
fn jwks_is_served_with_its_media_type() {
    let s = start(|_| {});
    let r = get(s.addr, "/.well-known/jwks.json");
    assert_eq!(r.header("content-type"), Some("application/jwk-set+json"));
    let j = r.json();
    assert_eq!(j["keys"][0]["crv"], "P-384");
    assert_eq!(j["keys"][0]["alg"], "ES384");
    let _ = json!({});
}
