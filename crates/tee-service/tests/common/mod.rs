//! Test support: a service on loopback and a raw HTTP/1.1 client.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tee::{Evidence, ReportData};
use tee_ear::{Alg, Issuer, SignerSet, SigningKey};
use tee_service::{App, ChallengeKey, Config, PolicyStore};

/// A running service.
pub struct Server {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Stop and wait for the accept loop to return.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread panicked");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The mock backend the tests attest with and its measurement.
pub fn mock() -> tee::mock::MockBackend {
    tee::mock::MockBackend::new()
}

/// A policy admitting the mock's measurement with `allow_mock`.
pub fn mock_policy() -> String {
    let m = mock().measurement();
    format!(
        "allow_mock = true\nallowed_measurements = [\"{}\"]\n",
        hex::encode(m.as_ref())
    )
}

/// Start a service with `default.toml` = [`mock_policy`], editing the config with `edit`.
pub fn start(edit: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("default.toml"), mock_policy()).unwrap();
    start_in(dir, edit)
}

pub fn start_in(dir: tempfile::TempDir, edit: impl FnOnce(&mut Config)) -> Server {
    let key = SigningKey::generate(Alg::Es384).unwrap();
    let mut cfg = Config::new(
        PolicyStore::new(dir.path()),
        Issuer::new(SignerSet::new(key)),
        ChallengeKey::from_bytes(&[9u8; 32]).unwrap(),
    );
    cfg.log = std::env::var_os("TEE_SERVICE_TEST_LOG").is_some();
    edit(&mut cfg);
    let app = App::new(cfg);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (atx, arx) = std::sync::mpsc::channel();
    let app2 = app.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            atx.send(l.local_addr().unwrap()).unwrap();
            tee_service::serve(l, app2, None, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = arx.recv_timeout(Duration::from_secs(20)).unwrap();
    Server {
        addr,
        app,
        stop: Some(tx),
        thread: Some(thread),
        dir,
    }
}

/// A response: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// Send raw bytes, read the answer (the connection is closed by us after
/// writing a `Connection: close` request, or by the server).
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse(&out)
}

fn parse(out: &[u8]) -> Option<Resp> {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&out[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = out[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..p]).unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[p + 2 + n + 2..];
    }
    out
}

/// A request with a body and content type.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ctype: Option<&str>,
    body: &[u8],
) -> Resp {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = ctype {
        r.push_str(&format!("Content-Type: {c}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes).expect("no HTTP answer")
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, None, b"")
}

pub fn post_json(addr: SocketAddr, path: &str, v: &serde_json::Value) -> Resp {
    request(
        addr,
        "POST",
        path,
        Some("application/json"),
        v.to_string().as_bytes(),
    )
}

/// A fresh challenge: (nonce bytes, challenge text).
pub fn challenge(addr: SocketAddr) -> (Vec<u8>, String) {
    let r = request(addr, "POST", "/challenge", None, b"");
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    (
        hex::decode(j["nonce"].as_str().unwrap()).unwrap(),
        j["challenge"].as_str().unwrap().to_owned(),
    )
}

/// Mock evidence bound to `nonce` and `user_data`.
pub fn mock_evidence(nonce: &[u8], user_data: &[u8]) -> Evidence {
    use tee::Backend as _;
    let b = mock();
    b.attester()
        .unwrap()
        .attest(&ReportData::bind(nonce, user_data))
        .unwrap()
}

pub fn attest_body(
    challenge: &str,
    ev: &Evidence,
    user_data: Option<&[u8]>,
    policy: Option<&str>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "challenge": challenge,
        "evidence": serde_json::from_str::<serde_json::Value>(&ev.to_json().unwrap()).unwrap(),
    });
    if let Some(u) = user_data {
        v["user_data"] = base64::engine::general_purpose::STANDARD.encode(u).into();
    }
    if let Some(p) = policy {
        v["policy"] = p.into();
    }
    v
}

/// The service's JWKS.
pub fn jwks(addr: SocketAddr) -> tee_ear::Jwks {
    let r = get(addr, "/.well-known/jwks.json");
    assert_eq!(r.status, 200);
    tee_ear::Jwks::from_json(&r.body).unwrap()
}

/// Verify a token against the served JWKS, expecting `nonce`.
pub fn check_token(addr: SocketAddr, token: &str, nonce: &[u8]) -> tee_ear::Ear {
    let opts = tee_ear::VerifyOptions::new(tee::UnixTime::now(), 60).expect_nonce(nonce);
    tee_ear::verify(token, &jwks(addr), &opts).unwrap()
}

pub fn vectors() -> Option<std::path::PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}
