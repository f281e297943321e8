//! Hostile requests: each gets its status code, and the service keeps
//! answering (a few thousand of them; a panic in a handler would show as a
//! dropped connection, and the last health check would fail).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn each_hostile_request_gets_its_status() {
    let s = start(|c| c.max_body = 64 * 1024);
    let a = s.addr;
    // Wrong content types.
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let r = request(a, "POST", "/attest", ct, b"{}");
        assert_eq!(
            (r.status, r.error().as_str()),
            (415, "unsupported_media_type"),
            "{ct:?}"
        );
    }
    assert_eq!(
        request(
            a,
            "POST",
            "/attest",
            Some("Application/JSON; charset=utf-8"),
            b"{"
        )
        .status,
        400
    );
    // Huge body: by Content-Length, and streamed in chunks without one.
    let big = vec![b' '; 64 * 1024 + 1];
    let r = request(a, "POST", "/attest", Some("application/json"), &big);
    assert_eq!((r.status, r.error().as_str()), (413, "body_too_large"));
    let mut chunked = b"POST /attest HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(b"1000\r\n");
        chunked.extend_from_slice(&[b' '; 0x1000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = raw(a, &chunked).unwrap();
    assert_eq!((r.status, r.error().as_str()), (413, "body_too_large"));
    // Deep JSON.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = request(
        a,
        "POST",
        "/attest",
        Some("application/json"),
        &deep.as_bytes()[..60_000],
    );
    assert_eq!((r.status, r.error().as_str()), (400, "malformed_request"));
    let (nonce, ch) = challenge(a);
    let deep_ev = format!(
        "{{\"challenge\":\"{ch}\",\"evidence\":{}1{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let r = request(
        a,
        "POST",
        "/attest",
        Some("application/json"),
        deep_ev.as_bytes(),
    );
    assert_eq!((r.status, r.error().as_str()), (400, "malformed_evidence"));
    // Malformed requests, each named.
    let ev = mock_evidence(&nonce, b"");
    let ev_json: serde_json::Value = serde_json::from_str(&ev.to_json().unwrap()).unwrap();
    let cases = [
        (json!({}), 400, "malformed_request"),
        (json!({"challenge": ch}), 400, "malformed_request"),
        (
            json!({"challenge": ch, "evidence": ev_json, "extra": 1}),
            400,
            "malformed_request",
        ),
        (
            json!({"challenge": 5, "evidence": ev_json}),
            400,
            "malformed_request",
        ),
        (
            json!({"challenge": ch, "evidence": {"version": 2}}),
            400,
            "malformed_evidence",
        ),
        (
            json!({"challenge": ch, "evidence": "x"}),
            400,
            "malformed_evidence",
        ),
        (
            json!({"challenge": ch, "evidence": ev_json, "user_data": "%%%"}),
            400,
            "malformed_user_data",
        ),
        (
            json!({"challenge": ch, "evidence": ev_json, "user_data": "A".repeat(20_000)}),
            400,
            "malformed_user_data",
        ),
        (
            json!({"challenge": "", "evidence": ev_json}),
            400,
            "challenge_malformed",
        ),
        (
            json!({"challenge": "A".repeat(1000), "evidence": ev_json}),
            400,
            "challenge_malformed",
        ),
        (
            json!({"challenge": ch, "evidence": ev_json, "policy": "../../etc/passwd"}),
            400,
            "bad_policy_name",
        ),
        (
            json!({"challenge": ch, "evidence": ev_json, "policy": "/etc/passwd"}),
            400,
            "bad_policy_name",
        ),
        (
            json!({"challenge": ch, "evidence": ev_json, "policy": "missing"}),
            404,
            "unknown_policy",
        ),
    ];
    for (body, status, code) in cases {
        let r = post_json(a, "/attest", &body);
        assert_eq!((r.status, r.error().as_str()), (status, code), "{body}");
    }
    // Unknown paths and methods.
    assert_eq!(get(a, "/../../etc/passwd").status, 404);
    assert_eq!(get(a, "/nope").error(), "not_found");
    assert_eq!(get(a, "/attest").status, 405);
    assert_eq!(request(a, "DELETE", "/challenge", None, b"").status, 405);
    // Not HTTP at all: the connection is answered 400 or closed, never a panic.
    if let Some(r) = raw(a, b"\x00\x01\x02 garbage\r\n\r\n") {
        assert_eq!(r.status, 400);
    }
    assert_eq!(get(a, "/healthz").status, 200);
}

#[test]
fn thousands_of_random_requests_never_break_the_service() {
    let s = start(|c| c.max_body = 16 * 1024);
    let a = s.addr;
    let (nonce, ch) = challenge(a);
    let ev = mock_evidence(&nonce, b"");
    let good = attest_body(&ch, &ev, None, None).to_string().into_bytes();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let n = 3000;
    for i in 0..n {
        let kind = rng.next() % 6;
        let resp = match kind {
            // Random bytes on the wire.
            0 => {
                let len = (rng.next() % 512) as usize;
                raw(a, &rng.bytes(len))
            }
            // Random body, JSON content type.
            1 => {
                let len = (rng.next() % 2048) as usize;
                Some(request(
                    a,
                    "POST",
                    "/attest",
                    Some("application/json"),
                    &rng.bytes(len),
                ))
            }
            // The good body with bytes flipped.
            2 => {
                let mut b = good.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let p = (rng.next() as usize) % b.len();
                    b[p] = rng.next() as u8;
                }
                Some(request(a, "POST", "/attest", Some("application/json"), &b))
            }
            // The good body truncated.
            3 => {
                let cut = (rng.next() as usize) % good.len();
                Some(request(
                    a,
                    "POST",
                    "/attest",
                    Some("application/json"),
                    &good[..cut],
                ))
            }
            // A random path.
            4 => {
                let p: String = (0..rng.next() % 40)
                    .map(|_| (b'!' + (rng.next() % 90) as u8) as char)
                    .collect();
                raw(
                    a,
                    format!("GET /{p} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
                )
            }
            // Replays of the one good request.
            _ => Some(request(
                a,
                "POST",
                "/attest",
                Some("application/json"),
                &good,
            )),
        };
        if let Some(r) = resp {
            assert!(
                matches!(
                    r.status,
                    200 | 400 | 403 | 404 | 405 | 409 | 413 | 414 | 415 | 422 | 431
                ),
                "request {i} (kind {kind}): status {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            *statuses.entry(r.status).or_insert(0) += 1;
        }
        if i % 500 == 0 {
            assert_eq!(get(a, "/healthz").status, 200, "after {i} requests");
        }
    }
    eprintln!("statuses: {statuses:?}");
    // Exactly one request used the challenge; replays were refused.
    assert!(statuses.get(&200).copied().unwrap_or(0) >= 1);
    assert!(statuses.get(&409).copied().unwrap_or(0) >= 1);
    assert!(statuses.get(&400).copied().unwrap_or(0) >= 100);
    // And the service still does its job.
    let (nonce, ch) = challenge(a);
    let r = post_json(
        a,
        "/attest",
        &attest_body(&ch, &mock_evidence(&nonce, b""), None, None),
    );
    assert_eq!(r.status, 200);
    check_token(a, r.json()["token"].as_str().unwrap(), &nonce);
}

#[test]
fn overload_is_503_with_retry_after() {
    // One admission slot, held by a slow client that never finishes its body.
    let s = start(|c| {
        c.max_pending = 1;
        c.timeout = std::time::Duration::from_secs(3);
    });
    let a = s.addr;
    use std::io::Write as _;
    let mut slow = std::net::TcpStream::connect(a).unwrap();
    slow.write_all(b"POST /attest HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = request(a, "POST", "/attest", Some("application/json"), b"{}");
    assert_eq!((r.status, r.error().as_str()), (503, "overloaded"));
    assert_eq!(r.header("retry-after"), Some("1"));
    // The slow request runs into the per-request timeout, freeing the slot.
    let mut buf = Vec::new();
    use std::io::Read as _;
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let _ = slow.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("\"timeout\""), "{text}");
    assert_eq!(
        request(a, "POST", "/attest", Some("application/json"), b"{}").status,
        400
    );
}

/// A collateral source whose first answer takes `delay` (a slow store),
/// counting the evidence it was asked about.
#[derive(Debug)]
struct SlowFirst {
    inner: tee_service::EnvelopeSource,
    delay: std::time::Duration,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl tee_service::CollateralSource for SlowFirst {
    fn prepare(
        &self,
        evidence: tee::Evidence,
        now: tee::UnixTime,
    ) -> Result<tee_service::Ready, tee_service::CollateralError> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            std::thread::sleep(self.delay);
        }
        self.inner.prepare(evidence, now)
    }
}

fn metric(a: std::net::SocketAddr, name: &str) -> u64 {
    let m = String::from_utf8(get(a, "/metrics").body).unwrap();
    m.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in {m}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn timed_out_requests_leave_the_in_flight_gauge_and_the_queue() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = calls.clone();
    let s = start(move |c| {
        c.workers = 1;
        c.timeout = std::time::Duration::from_millis(400);
        c.collateral = std::sync::Arc::new(SlowFirst {
            inner: tee_service::EnvelopeSource::new(),
            delay: std::time::Duration::from_millis(2000),
            calls: c2,
        });
    });
    let a = s.addr;
    assert_eq!(get(a, "/healthz").json()["verification_threads"], 1);
    let attest = move || {
        let (nonce, ch) = challenge(a);
        post_json(
            a,
            "/attest",
            &attest_body(&ch, &mock_evidence(&nonce, b""), None, None),
        )
    };
    // The first request holds the one verification thread in the slow
    // source; the second waits in the queue behind it. Both time out.
    let first = std::thread::spawn(attest);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let second = std::thread::spawn(attest);
    for r in [first.join().unwrap(), second.join().unwrap()] {
        assert_eq!((r.status, r.error().as_str()), (503, "timeout"));
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    // Neither is counted as in flight any longer, though the first is still
    // running in the source.
    assert_eq!(metric(a, "tee_service_in_flight"), 0);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Once the thread is free the service answers again; the queued request
    // whose client had gone was dropped unverified (the source saw the first
    // and this one only).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = attest();
        if r.status == 200 {
            assert!(r.json()["token"].is_string());
            break;
        }
        assert_eq!((r.status, r.error().as_str()), (503, "timeout"));
        assert!(
            std::time::Instant::now() < deadline,
            "no answer after the slow source"
        );
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(metric(a, "tee_service_in_flight"), 0);
}
