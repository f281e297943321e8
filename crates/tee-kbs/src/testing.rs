//! An in-process fake KBS (protocol 0.4.0), written from the protocol
//! description (`docs/kbs.md`), for tests and demos. NO SECURITY: its
//! tokens are random strings, not signed JWTs, and it trusts whatever
//! verifiers it is given.
//!
//! It does what the protocol says a KBS checks: exact version `0.4.0`;
//! a session cookie that expires (5 minutes of its own clock, which tests
//! advance); `runtime-data.nonce` equal to the challenge; evidence that
//! converts and verifies; report data equal to `H(JCS(runtime data))`
//! zero-padded (Azure vTPM: the quote's qualifying data equal to it and the
//! HCL user data beginning with it); an attestation policy; and per resource 404 / 403 / JWE to
//! the attested `tee-pubkey`. Faults make it misbehave on purpose
//! (tampered JWE, a JWE to another key).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use tee::{Claims, UnixTime, Verifiers};
use tee_fetch::{FetchError, Method, Request, Response, Transport};

use crate::protocol::{self, Attestation, Challenge, Tee, TeePubKey};
use crate::{evidence, jwe};

/// The default session lifetime (Trustee's `attestation.timeout`).
pub const SESSION_SECS: u64 = 300;

/// What the fake KBS does wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Flip a ciphertext byte of every resource JWE.
    pub tamper_jwe: bool,
    /// Encrypt resources to a fresh key instead of the attested one.
    pub wrong_key: bool,
    /// Answer `/auth` without a session cookie.
    pub no_cookie: bool,
}

#[derive(Debug, Clone)]
struct SessionState {
    tee: Tee,
    nonce: String,
    expires: u64,
    attested: Option<(String, TeePubKey)>,
}

type AttestationPolicy = Box<dyn Fn(&Claims) -> Result<(), String> + Send + Sync>;

/// The fake KBS.
pub struct FakeKbs {
    verifiers: Verifiers,
    at: UnixTime,
    policy: AttestationPolicy,
    clock: Mutex<u64>,
    sessions: Mutex<HashMap<String, SessionState>>,
    resources: Mutex<HashMap<String, Vec<u8>>>,
    denied: Mutex<HashSet<String>>,
    faults: Mutex<Faults>,
    attests: Mutex<Vec<Attestation>>,
}

impl core::fmt::Debug for FakeKbs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FakeKbs")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

fn problem(status: u16, name: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://github.com/confidential-containers/kbs/errors/{name}"),
        "detail": detail,
    });
    Response::new(status, serde_json::to_vec(&body).unwrap())
        .with_header("Content-Type", "application/json")
}

impl FakeKbs {
    /// A KBS verifying with `verifiers` at time `at`, admitting every
    /// verified evidence (see [`FakeKbs::with_policy`]).
    pub fn new(verifiers: Verifiers, at: UnixTime) -> Self {
        Self {
            verifiers,
            at,
            policy: Box::new(|_| Ok(())),
            clock: Mutex::new(1_000_000),
            sessions: Mutex::new(HashMap::new()),
            resources: Mutex::new(HashMap::new()),
            denied: Mutex::new(HashSet::new()),
            faults: Mutex::new(Faults::default()),
            attests: Mutex::new(Vec::new()),
        }
    }

    /// An attestation policy over the verified claims (an `Err` is a 401 `AttestationError`).
    #[must_use]
    pub fn with_policy(
        mut self,
        p: impl Fn(&Claims) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.policy = Box::new(p);
        self
    }

    /// Register a resource at `repo/type/tag`.
    pub fn put_resource(&self, path: &str, data: &[u8]) {
        self.resources
            .lock()
            .unwrap()
            .insert(path.to_owned(), data.to_vec());
    }

    /// Make the resource policy deny `path` (403).
    pub fn deny(&self, path: &str) {
        self.denied.lock().unwrap().insert(path.to_owned());
    }

    /// Set the faults.
    pub fn set_faults(&self, f: Faults) {
        *self.faults.lock().unwrap() = f;
    }

    /// Advance the KBS clock (session expiry).
    pub fn advance(&self, secs: u64) {
        *self.clock.lock().unwrap() += secs;
    }

    /// The `Attestation` messages received, in order.
    pub fn attestations(&self) -> Vec<Attestation> {
        self.attests.lock().unwrap().clone()
    }

    fn now(&self) -> u64 {
        *self.clock.lock().unwrap()
    }

    fn session<'a>(&self, cookie: Option<&'a str>) -> Option<(&'a str, SessionState)> {
        let id = cookie?;
        let s = self.sessions.lock().unwrap().get(id).cloned()?;
        (s.expires > self.now()).then_some((id, s))
    }

    /// Answer one request (`path` is the URL path, e.g. `/kbs/v0/auth`).
    pub fn handle(
        &self,
        method: Method,
        path: &str,
        headers: &tee_fetch::Headers,
        body: &[u8],
    ) -> Response {
        let cookie = headers.get_all("cookie").find_map(|c| {
            c.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == protocol::SESSION_COOKIE).then_some(v)
            })
        });
        let bearer = headers
            .get("authorization")
            .and_then(|a| a.strip_prefix("Bearer "));
        match (method, path) {
            (Method::Post, "/kbs/v0/auth") => self.auth(body),
            (Method::Post, "/kbs/v0/attest") => self.attest(cookie, body),
            (Method::Get, p) if p.starts_with("/kbs/v0/resource/") => {
                self.resource(cookie, bearer, &p["/kbs/v0/resource/".len()..])
            }
            _ => problem(404, "InvalidRequestPath", "no such endpoint"),
        }
    }

    fn auth(&self, body: &[u8]) -> Response {
        let Ok(req) = serde_json::from_slice::<protocol::Request>(body) else {
            return problem(400, "ParseError", "bad Request");
        };
        if req.version != protocol::PROTOCOL_VERSION {
            return problem(401, "ProtocolVersion", "version must be =0.4.0");
        }
        let Some(tee) = Tee::from_name(&req.tee) else {
            return problem(401, "UnsupportedTee", "tee");
        };
        let mut n = [0u8; 32];
        getrandom::fill(&mut n).unwrap();
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).unwrap();
        let id = hex::encode(id);
        let nonce = B64.encode(n);
        self.sessions.lock().unwrap().insert(
            id.clone(),
            SessionState {
                tee,
                nonce: nonce.clone(),
                expires: self.now() + SESSION_SECS,
                attested: None,
            },
        );
        let ch = Challenge {
            nonce,
            extra_params: serde_json::Value::String(String::new()),
        };
        let mut r = Response::new(200, serde_json::to_vec(&ch).unwrap())
            .with_header("Content-Type", "application/json");
        if !self.faults.lock().unwrap().no_cookie {
            r = r.with_header(
                "Set-Cookie",
                format!("{}={id}; Max-Age={SESSION_SECS}", protocol::SESSION_COOKIE),
            );
        }
        r
    }

    fn attest(&self, cookie: Option<&str>, body: &[u8]) -> Response {
        let Some((id, s)) = self.session(cookie) else {
            return problem(
                401,
                "UnAuthenticated",
                "no valid session (unknown or expired cookie)",
            );
        };
        let Ok(att) = serde_json::from_slice::<Attestation>(body) else {
            return problem(400, "ParseError", "bad Attestation");
        };
        self.attests.lock().unwrap().push(att.clone());
        if let Some((token, _)) = &s.attested {
            return self.token_response(id, token);
        }
        if att.runtime_data.nonce != s.nonce {
            return problem(
                401,
                "AttestationError",
                "runtime-data nonce differs from the challenge",
            );
        }
        let ev = match evidence::from_trustee(s.tee, &att.tee_evidence.primary_evidence) {
            Ok(ev) => ev,
            Err(e) => return problem(401, "AttestationError", &format!("evidence: {e}")),
        };
        let claims = match self.verifiers.verify(&ev, self.at) {
            Ok(c) => c.into_inner(),
            Err(e) => return problem(401, "AttestationError", &format!("verification: {e}")),
        };
        let digest = protocol::runtime_data_digest(
            &att.runtime_data,
            &att.tee_evidence.additional_evidence,
            protocol::HashAlg::Sha384,
        );
        if !protocol::claims_bind(s.tee, &claims, &digest) {
            return problem(
                401,
                "AttestationError",
                "report data does not bind the runtime data",
            );
        }
        if let Err(e) = (self.policy)(&claims) {
            return problem(401, "AttestationError", &format!("policy: {e}"));
        }
        let mut t = [0u8; 24];
        getrandom::fill(&mut t).unwrap();
        let token = format!("fake.{}.token", B64URL.encode(t));
        if let Some(st) = self.sessions.lock().unwrap().get_mut(id) {
            st.attested = Some((token.clone(), att.runtime_data.tee_pubkey.clone()));
        }
        self.token_response(id, &token)
    }

    fn token_response(&self, id: &str, token: &str) -> Response {
        let body = serde_json::json!({"token": token});
        Response::new(200, serde_json::to_vec(&body).unwrap())
            .with_header("Set-Cookie", format!("{}={id}", protocol::SESSION_COOKIE))
            .with_header("Content-Type", "application/json")
    }

    fn resource(&self, cookie: Option<&str>, bearer: Option<&str>, path: &str) -> Response {
        let key = match self.session(cookie) {
            Some((
                _,
                SessionState {
                    attested: Some((_, k)),
                    ..
                },
            )) => Some(k),
            _ => bearer.and_then(|b| {
                let now = self.now();
                self.sessions
                    .lock()
                    .unwrap()
                    .values()
                    .find_map(|s| match &s.attested {
                        Some((t, k)) if t == b && s.expires > now => Some(k.clone()),
                        _ => None,
                    })
            }),
        };
        let Some(key) = key else {
            return problem(401, "TokenNotFound", "no attested session");
        };
        let Some(data) = self.resources.lock().unwrap().get(path).cloned() else {
            return problem(404, "ResourceNotFound", "no such resource");
        };
        if self.denied.lock().unwrap().contains(path) {
            return problem(403, "PolicyDeny", "resource policy denied");
        }
        let f = *self.faults.lock().unwrap();
        let to = if f.wrong_key {
            jwe::TeeKey::generate_ec().unwrap().public_jwk()
        } else {
            key
        };
        let mut j = jwe::encrypt(&to, &data).unwrap();
        if f.tamper_jwe {
            let mut ct = B64URL.decode(&j.ciphertext).unwrap();
            if let Some(b) = ct.first_mut() {
                *b ^= 1;
            }
            j.ciphertext = B64URL.encode(ct);
        }
        Response::new(200, serde_json::to_vec(&j).unwrap())
            .with_header("Content-Type", "application/jwe")
    }
}

fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

impl Transport for FakeKbs {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        Ok(self.handle(req.method(), url_path(req.url()), req.headers(), req.body()))
    }
}

/// The fake KBS behind a loopback HTTP/1.1 server (127.0.0.1, an ephemeral
/// port), one thread per connection, `Connection: close`. Stops when dropped.
#[derive(Debug)]
pub struct FakeKbsServer {
    kbs: Arc<FakeKbs>,
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
}

impl FakeKbsServer {
    /// Serve `kbs`.
    pub fn start(kbs: Arc<FakeKbs>) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (k, st) = (kbs.clone(), stop.clone());
        std::thread::spawn(move || {
            for (n, s) in l.incoming().enumerate() {
                if st.load(Ordering::SeqCst) || n > 10_000 {
                    break;
                }
                if let Ok(s) = s {
                    let k = k.clone();
                    std::thread::spawn(move || serve(&k, s));
                }
            }
        });
        Self { kbs, addr, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The KBS.
    pub fn kbs(&self) -> &FakeKbs {
        &self.kbs
    }
}

impl Drop for FakeKbsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(kbs: &FakeKbs, s: TcpStream) {
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = match parts.next() {
        Some("POST") => Method::Post,
        _ => Method::Get,
    };
    let path = parts.next().unwrap_or("/").to_owned();
    let mut headers = tee_fetch::Headers::new();
    let mut len = 0usize;
    for _ in 0..100 {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push(k.trim(), v.trim());
        }
    }
    let mut body = vec![0u8; len.min(16 << 20)];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let resp = kbs.handle(method, &path, &headers, &body);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in resp.headers.iter() {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut s = s;
    let _ = s.write_all(out.as_bytes());
    let _ = s.write_all(&resp.body);
}
