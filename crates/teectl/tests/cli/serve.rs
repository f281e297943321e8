//! `teectl serve` as a process: collateral from a bundle (the shared SEV-SNP
//! and TDX vectors), stale and missing collateral (503 + Retry-After), an
//! online store filled from a fake PCCS, SIGKILL under load (a whole store
//! and no false pass after a restart), and graceful shutdown under load
//! (SIGTERM and SIGINT: in-flight requests complete, nothing partial, exit 0).

use std::io::{BufRead as _, BufReader, ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tee::{Backend as _, Evidence, Platform, ReportData, UnixTime};

use crate::common::{BIN, teectl, vectors};

fn mock_policy() -> String {
    let m = tee::mock::MockBackend::new().measurement();
    format!(
        "allow_mock = true\nallowed_measurements = [\"{}\"]\n",
        hex::encode(m.as_ref())
    )
}

/// A policy directory: `default.toml` admits the mock, `vectors.toml`
/// appraises the recorded vectors (whose report data is not our nonce).
fn policies(dir: &Path) -> PathBuf {
    let p = dir.join("policies");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("default.toml"), mock_policy()).unwrap();
    std::fs::write(
        p.join("vectors.toml"),
        "allow_any_measurement = true\n[sev-snp]\nallow_unchecked_revocation = true\n",
    )
    .unwrap();
    p
}

/// A running `teectl serve`; killed on drop if still running.
struct Serve {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::try_start(dir, extra).unwrap_or_else(|e| panic!("teectl serve did not start: {e}"))
    }

    /// Start and wait for "listening on"; the stderr lines so far on failure.
    fn try_start(dir: &Path, extra: &[&str]) -> Result<Self, String> {
        let pol = policies(dir);
        let mut args = vec![
            "serve".to_owned(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--policy-dir".into(),
            pol.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut child = Command::new(BIN)
            .args(&args)
            .current_dir(dir)
            .env_remove("TEE_BACKEND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        let log2 = log.clone();
        // Drain stderr for the whole life of the process (the request log
        // must never block the server).
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("teectl serve: listening on http://") {
                    let a: SocketAddr = rest.split(' ').next().unwrap().parse().unwrap();
                    let _ = tx.send(a);
                }
                log2.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => Ok(Self { child, addr, log }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                std::thread::sleep(Duration::from_millis(100));
                Err(format!("{status}: {}", log.lock().unwrap().join("\n")))
            }
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill {sig}");
    }

    /// Wait for the process to exit (at most `limit`).
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(t.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A complete HTTP answer.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What came back on a connection.
#[derive(Debug)]
enum Outcome {
    /// A whole response (headers and `Content-Length` bytes of body).
    Full(Resp),
    /// Not one byte of an answer: the connection was refused, reset or
    /// closed (a clean error for the client: nothing to misread).
    NoAnswer(ErrorKind),
    /// Some bytes of an answer, then the connection ended: never allowed.
    Partial(Vec<u8>),
}

fn request_bytes(method: &str, path: &str, body: Option<&[u8]>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
    if let Some(b) = body {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    } else {
        r.push_str("Content-Length: 0\r\n");
    }
    r.push_str("\r\n");
    let mut v = r.into_bytes();
    v.extend_from_slice(body.unwrap_or_default());
    v
}

/// Read one response from `s`.
fn read_response(s: &mut TcpStream) -> Outcome {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        match s.read(&mut buf) {
            Ok(0) if got.is_empty() => return Outcome::NoAnswer(ErrorKind::UnexpectedEof),
            Ok(0) => return Outcome::Partial(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if got.is_empty() => return Outcome::NoAnswer(e.kind()),
            Err(_) => return Outcome::Partial(got),
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no content-length in {head:?}"));
    let mut body = got[head_end + 4..].to_vec();
    while body.len() < len {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => {
                got.truncate(head_end + 4);
                got.extend_from_slice(&body);
                return Outcome::Partial(got);
            }
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(body.len(), len, "more body than Content-Length");
    Outcome::Full(Resp {
        status,
        headers,
        body,
    })
}

/// One request on a fresh connection.
fn exchange(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>) -> Outcome {
    let mut s = match TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => return Outcome::NoAnswer(e.kind()),
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    if let Err(e) = s.write_all(&request_bytes(method, path, body)) {
        return Outcome::NoAnswer(e.kind());
    }
    read_response(&mut s)
}

fn full(o: Outcome) -> Resp {
    match o {
        Outcome::Full(r) => r,
        other => panic!("no complete answer: {other:?}"),
    }
}

fn challenge(addr: SocketAddr) -> (Vec<u8>, String) {
    let r = full(exchange(addr, "POST", "/challenge", None));
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    (
        hex::decode(j["nonce"].as_str().unwrap()).unwrap(),
        j["challenge"].as_str().unwrap().to_owned(),
    )
}

fn attest_body(ch: &str, ev: &Evidence, ud: &[u8], policy: Option<&str>) -> Vec<u8> {
    let mut v = json!({
        "challenge": ch,
        "evidence": serde_json::from_str::<Value>(&ev.to_json().unwrap()).unwrap(),
        "user_data": base64::engine::general_purpose::STANDARD.encode(ud),
    });
    if let Some(p) = policy {
        v["policy"] = p.into();
    }
    v.to_string().into_bytes()
}

fn mock_evidence(nonce: &[u8], ud: &[u8]) -> Evidence {
    tee::mock::MockBackend::new()
        .attester()
        .unwrap()
        .attest(&ReportData::bind(nonce, ud))
        .unwrap()
}

fn jwks(addr: SocketAddr) -> tee_ear::Jwks {
    let r = full(exchange(addr, "GET", "/.well-known/jwks.json", None));
    assert_eq!(r.status, 200);
    tee_ear::Jwks::from_json(&r.body).unwrap()
}

fn check_token(jwks: &tee_ear::Jwks, token: &str, nonce: &[u8]) -> tee_ear::Ear {
    let opts = tee_ear::VerifyOptions::new(UnixTime::now(), 60).expect_nonce(nonce);
    tee_ear::verify(token, jwks, &opts).unwrap_or_else(|e| panic!("token does not verify: {e}"))
}

/// Attest `ev` (built for the challenge's nonce by `make`) under `policy`.
fn attest(
    addr: SocketAddr,
    make: impl Fn(&[u8]) -> Evidence,
    policy: Option<&str>,
) -> (Vec<u8>, Resp) {
    let (nonce, ch) = challenge(addr);
    let ev = make(&nonce);
    let r = full(exchange(
        addr,
        "POST",
        "/attest",
        Some(&attest_body(&ch, &ev, b"ud", policy)),
    ));
    (nonce, r)
}

fn metric(addr: SocketAddr, name: &str) -> u64 {
    let r = full(exchange(addr, "GET", "/metrics", None));
    let m = r.text();
    m.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{m}"))
}

/// The failed checks of a token's one submod, and whether it carries
/// claims (only verified evidence does).
fn failed_checks(ear: &tee_ear::Ear, submod: &str) -> Vec<String> {
    let j = ear.to_json();
    let c = &j["submods"][submod]["tee-sdk.claims"];
    assert!(c.is_object(), "no claims: verification failed: {j}");
    c["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "failed")
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn snp_report(v: &Path) -> Vec<u8> {
    std::fs::read(v.join("ms-tee-av/milan_attestation_report.bin")).unwrap()
}

fn tdx_quote(v: &Path) -> Vec<u8> {
    std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap()
}

/// A bundle of the ms-tee-av Milan VCEK and the dcap-qvl TDX collateral.
fn vector_bundle(dir: &Path, v: &Path) -> PathBuf {
    let out = dir.join("vectors.bundle");
    let o = teectl(
        dir,
        &[
            "collateral",
            "bundle",
            "--out",
            out.to_str().unwrap(),
            "--snp-report",
            v.join("ms-tee-av/milan_attestation_report.bin")
                .to_str()
                .unwrap(),
            "--vcek",
            v.join("ms-tee-av/milan_vcek.pem").to_str().unwrap(),
            "--tdx-quote",
            v.join("dcap-qvl/tdx_quote").to_str().unwrap(),
            "--tdx-collateral",
            v.join("dcap-qvl/tdx_quote_collateral.json")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn serve_with_a_bundle_answers_the_shared_vectors_and_503_when_stale_or_missing() {
    let Some(v) = vectors() else { return };
    let dir = tempfile::tempdir().unwrap();
    let b = vector_bundle(dir.path(), &v);
    let bs = b.to_str().unwrap();
    let tdx = |_: &[u8]| {
        Evidence::new(
            Platform::Tdx,
            tee::evidence::format::TDX_QUOTE,
            tdx_quote(&v),
        )
    };
    let snp = |_: &[u8]| {
        Evidence::new(
            Platform::SevSnp,
            tee::evidence::format::SEV_SNP_REPORT,
            snp_report(&v),
        )
    };

    // TDX as of inside the dcap-qvl collateral's window: the quote alone is
    // verified with the bundle's collateral (only the report data, which is
    // the recorder's, fails the appraisal).
    let s = Serve::start(
        dir.path(),
        &["--collateral", bs, "--verify-at", "2025-07-19T10:00:34Z"],
    );
    assert!(s.log().contains("collateral: bundle"), "{}", s.log());
    let keys = jwks(s.addr);
    let (nonce, r) = attest(s.addr, tdx, Some("vectors"));
    assert_eq!(r.status, 200, "{}", r.text());
    let ear = check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(
        failed_checks(&ear, "tdx"),
        ["report_data"],
        "{}",
        ear.to_json()
    );
    assert_eq!(
        ear.to_json()["submods"]["tdx"]["tee-sdk.claims"]["tcb"]["status"],
        "UpToDate",
        "{}",
        ear.to_json()
    );
    // The mock flow passes through the same service.
    let (nonce, r) = attest(s.addr, |n| mock_evidence(n, b"ud"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let ear = check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(
        ear.to_json()["submods"]["mock"]["tee-sdk.claims"]["appraisal-passed"],
        true
    );
    assert_eq!(metric(s.addr, "tee_service_collateral_artifacts"), 5);
    assert!(metric(s.addr, "tee_service_collateral_cache_hits_total") >= 4);
    drop(s);

    // Now (2026 and later): the SEV-SNP report is verified with the
    // bundle's VCEK (no AMD CRL in the bundle: explicitly allowed, and the
    // policy allows it too); the TDX collateral is stale: 503, never a pass.
    let s = Serve::start(
        dir.path(),
        &["--collateral", bs, "--allow-unchecked-revocation"],
    );
    let keys = jwks(s.addr);
    let (nonce, r) = attest(s.addr, snp, Some("vectors"));
    assert_eq!(r.status, 200, "{}", r.text());
    let ear = check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(
        failed_checks(&ear, "sev-snp"),
        ["report_data"],
        "{}",
        ear.to_json()
    );
    let (_, r) = attest(s.addr, tdx, Some("vectors"));
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"], "collateral_unavailable");
    assert_eq!(r.header("retry-after"), Some("3600"));
    drop(s);

    // Without the allowance: no CRL is no verification.
    let s = Serve::start(dir.path(), &["--collateral", bs]);
    let (_, r) = attest(s.addr, snp, Some("vectors"));
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("amd/vcek-crl/Milan")
    );
    assert!(r.header("retry-after").is_some());
}

#[test]
fn serve_refuses_bad_collateral_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.bundle");
    let err = Serve::try_start(dir.path(), &["--collateral", missing.to_str().unwrap()])
        .err()
        .expect("a missing bundle must not start");
    assert!(err.contains("nope.bundle"), "{err}");
    let junk = dir.path().join("junk.bundle");
    std::fs::write(&junk, b"{\"format\": \"something else\"}").unwrap();
    let err = Serve::try_start(dir.path(), &["--collateral", junk.to_str().unwrap()])
        .err()
        .expect("a malformed bundle must not start");
    assert!(err.contains("exit status: 1"), "{err}");
    let err = Serve::try_start(
        dir.path(),
        &["--collateral", junk.to_str().unwrap(), "--collateral-fetch"],
    )
    .err()
    .expect("an online store is a directory");
    assert!(err.contains("directory"), "{err}");
    if !cfg!(feature = "https") {
        let store = dir.path().join("store");
        let err = Serve::try_start(
            dir.path(),
            &[
                "--collateral",
                store.to_str().unwrap(),
                "--collateral-fetch",
            ],
        )
        .err()
        .expect("https:// vendors need the https feature");
        assert!(
            err.contains("exit status: 5") && err.contains("http://"),
            "{err}"
        );
    }
}

fn enc(b: &[u8]) -> String {
    b.iter()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                (*c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// A fake PCCS answering the go-tdx-guest sample's four collateral
/// requests (TCB info, QE identity, PCK CRL, root CRL); the paths it serves.
fn fake_pccs(g: &Path) -> (tee_fetch::testing::Server, Vec<&'static str>) {
    use tee_fetch::Response;
    use tee_fetch::testing::{Reply, Server};
    let f = |n: &str| std::fs::read(g.join(n)).unwrap();
    let pccs = Server::start();
    let answers = [
        (
            "/tdx/certification/v4/tcb?fmspc=50806F000000",
            Response::new(200, f("sample_tcbInfo_response")).with_header(
                "TCB-Info-Issuer-Chain",
                enc(&f("tcb_info_issuer_chain.pem")),
            ),
        ),
        (
            "/tdx/certification/v4/qe/identity",
            Response::new(200, f("sample_qeIdentity_response")).with_header(
                "SGX-Enclave-Identity-Issuer-Chain",
                enc(&f("tcb_info_issuer_chain.pem")),
            ),
        ),
        (
            "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
            Response::new(200, f("pckcrl.der")).with_header(
                "SGX-PCK-CRL-Issuer-Chain",
                enc(&f("pck_crl_issuer_chain.pem")),
            ),
        ),
        (
            "/sgx/certification/v4/rootcacrl",
            Response::new(200, hex::encode(f("rootcrl.der")).into_bytes()),
        ),
    ];
    for (p, r) in &answers {
        pccs.replies(p, vec![Reply::Response(r.clone())]);
    }
    (pccs, answers.iter().map(|(p, _)| *p).collect())
}

/// `teectl serve` arguments for an online store in `store` fetching from
/// `base`, judged when the go-tdx-guest sample's collateral is valid.
fn online_store_args(store: &Path, base: &str) -> Vec<String> {
    [
        "--collateral",
        store.to_str().unwrap(),
        "--collateral-fetch",
        "--pccs",
        base,
        "--kds",
        base,
        "--verify-at",
        "2023-07-01T00:00:00Z",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn tdx_sample_evidence(g: &Path) -> Evidence {
    let quote = std::fs::read(g.join("tdx_prod_quote_SPR_E4.dat")).unwrap();
    Evidence::new(Platform::Tdx, tee::evidence::format::TDX_QUOTE, quote)
}

/// The go-tdx-guest sample's token: verified, report data not ours, no TCB
/// level matches: never a pass.
fn assert_sample_verdict(ear: &tee_ear::Ear) {
    let failed = failed_checks(ear, "tdx");
    assert!(failed.contains(&"report_data".to_owned()), "{failed:?}");
    let j = ear.to_json();
    assert_eq!(
        j["submods"]["tdx"]["tee-sdk.claims"]["tcb"]["status"],
        "NoMatchingTcbLevel"
    );
    assert_eq!(
        j["submods"]["tdx"]["tee-sdk.claims"]["appraisal-passed"],
        false
    );
    assert_ne!(j["submods"]["tdx"]["ear.status"], "affirming", "{j}");
}

#[test]
fn serve_with_an_online_store_fetches_once_and_restarts_from_the_store() {
    let Some(v) = vectors() else { return };
    let g = v.join("go-tdx-guest");
    let (pccs, paths) = fake_pccs(&g);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let ev = |_: &[u8]| tdx_sample_evidence(&g);
    let args = online_store_args(&store, pccs.base());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Serve::start(dir.path(), &args);
    assert!(s.log().contains("online store"), "{}", s.log());
    let keys = jwks(s.addr);
    for _ in 0..3 {
        let (nonce, r) = attest(s.addr, ev, Some("vectors"));
        assert_eq!(r.status, 200, "{}", r.text());
        let ear = check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
        assert_sample_verdict(&ear);
    }
    assert_eq!(metric(s.addr, "tee_service_collateral_fetches_total"), 4);
    for p in &paths {
        assert_eq!(pccs.hits(p), 1, "{p}: one fetch for three requests");
    }
    drop(s);
    assert_eq!(std::fs::read_dir(&store).unwrap().count(), 4);
    // Restart with the vendor gone: answered from the store.
    drop(pccs);
    let s = Serve::start(dir.path(), &args);
    let (_, r) = attest(s.addr, ev, Some("vectors"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(metric(s.addr, "tee_service_collateral_fetches_total"), 0);
}

/// What `teectl collateral inspect --json` says of a store directory, and
/// the artifact files in it (temporary files left out).
fn inspect_store(store: &Path) -> (Value, usize) {
    let out = Command::new(BIN)
        .args(["collateral", "inspect", "--json", store.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = std::fs::read_dir(store)
        .unwrap()
        .filter(|e| {
            let n = e.as_ref().unwrap().file_name();
            let n = n.to_string_lossy();
            !n.starts_with('.') && n.ends_with(".json")
        })
        .count();
    (serde_json::from_slice(&out.stdout).unwrap(), files)
}

#[test]
fn inspect_counts_the_files_a_store_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    // Not an artifact file, and one cut short: neither is ever served.
    std::fs::write(store.join("junk.json"), b"{}").unwrap();
    std::fs::write(
        store.join("intel_tdx-qe-identity.0a0b0c0d.json"),
        b"{\"format\": \"tee-",
    )
    .unwrap();
    let (inspect, files) = inspect_store(store);
    assert_eq!(files, 2);
    assert_eq!(inspect["rejected_files"], 2, "{inspect}");
    assert_eq!(inspect["artifacts"].as_array().unwrap().len(), 0);
    let out = Command::new(BIN)
        .args(["collateral", "inspect", store.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WARNING") && err.contains("2 file(s) rejected"),
        "{err}"
    );
}

/// SIGKILL (no drain, nothing flushed) at staggered moments while 4
/// clients keep the service fetching, storing and answering, then a
/// restart: after every kill the store holds only whole files (inspect
/// rejects none), every complete answer before a kill is the sample's
/// failing verdict or a contraindicated token for tampered evidence (never
/// a pass), and the last restart answers from the store with the vendor
/// gone.
#[test]
fn sigkill_during_load_leaves_a_whole_store_and_no_false_pass() {
    let Some(v) = vectors() else { return };
    let g = v.join("go-tdx-guest");
    let (pccs, _) = fake_pccs(&g);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let args = online_store_args(&store, pccs.base());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let genuine = tdx_sample_evidence(&g);
    let mut tampered = genuine.clone();
    // A byte of the TD report's REPORTDATA (quote header 48 + 520): the
    // quote no longer matches its signature.
    tampered.report[48 + 520] ^= 1;
    let answered = Arc::new(AtomicUsize::new(0));
    for (cycle, kill_after_ms) in [0u64, 2, 5, 8, 12, 20, 60, 200].into_iter().enumerate() {
        let mut s = Serve::start(dir.path(), &args);
        let keys = Arc::new(jwks(s.addr));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let (keys, stop, answered) = (keys.clone(), stop.clone(), answered.clone());
                let (addr, ev) = (
                    s.addr,
                    if i % 2 == 0 {
                        genuine.clone()
                    } else {
                        tampered.clone()
                    },
                );
                let is_tampered = i % 2 == 1;
                std::thread::spawn(move || {
                    while !stop.load(SeqCst) {
                        let Outcome::Full(c) = exchange(addr, "POST", "/challenge", None) else {
                            break;
                        };
                        let j = c.json();
                        let nonce = hex::decode(j["nonce"].as_str().unwrap()).unwrap();
                        let body = attest_body(
                            j["challenge"].as_str().unwrap(),
                            &ev,
                            b"ud",
                            Some("vectors"),
                        );
                        let Outcome::Full(r) = exchange(addr, "POST", "/attest", Some(&body))
                        else {
                            break;
                        };
                        assert_eq!(r.status, 200, "{}", r.text());
                        let ear = check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
                        if is_tampered {
                            assert_eq!(ear.overall_status(), tee_ear::Status::Contraindicated);
                            assert!(ear.to_json()["submods"]["tdx"]["tee-sdk.claims"].is_null());
                        } else {
                            assert_sample_verdict(&ear);
                        }
                        answered.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        s.signal("-KILL");
        let status = s.wait(Duration::from_secs(10));
        stop.store(true, SeqCst);
        for c in clients {
            c.join().unwrap();
        }
        assert_eq!(status.code(), None, "cycle {cycle}: killed by a signal");
        let (inspect, files) = inspect_store(&store);
        assert_eq!(inspect["rejected_files"], 0, "cycle {cycle}: {inspect}");
        assert_eq!(
            inspect["artifacts"].as_array().unwrap().len(),
            files,
            "cycle {cycle}: every artifact file is whole: {inspect}"
        );
        eprintln!(
            "cycle {cycle}: killed after {kill_after_ms} ms, {files} artifact file(s), \
             {} answers so far",
            answered.load(SeqCst)
        );
    }
    assert!(answered.load(SeqCst) > 0, "no answer in any cycle");
    // The vendor gone: the restarted service answers from what was stored.
    drop(pccs);
    let (inspect, _) = inspect_store(&store);
    assert_eq!(
        inspect["artifacts"].as_array().unwrap().len(),
        4,
        "{inspect}"
    );
    let s = Serve::start(dir.path(), &args);
    assert!(
        s.log().contains("4 artifacts held, 0 files rejected"),
        "{}",
        s.log()
    );
    let keys = jwks(s.addr);
    let (nonce, r) = attest(s.addr, |_: &[u8]| genuine.clone(), Some("vectors"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_sample_verdict(&check_token(
        &keys,
        r.json()["token"].as_str().unwrap(),
        &nonce,
    ));
    let (nonce, r) = attest(s.addr, |_: &[u8]| tampered.clone(), Some("vectors"));
    assert_eq!(r.status, 200, "{}", r.text());
    let ear = check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
    assert_eq!(ear.overall_status(), tee_ear::Status::Contraindicated);
    assert_eq!(metric(s.addr, "tee_service_collateral_fetches_total"), 0);
}

/// Kill the service with `sig` while 8 clients keep it busy, and one
/// request is in flight (headers and half its body sent) at the signal.
fn shutdown_under_load(sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("challenge.key");
    std::fs::write(&ck, [3u8; 32]).unwrap();
    let mut s = Serve::start(
        dir.path(),
        &["--quiet", "--challenge-key", ck.to_str().unwrap()],
    );
    let addr = s.addr;
    let keys = Arc::new(jwks(addr));
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let clean = Arc::new(AtomicUsize::new(0));
    let partial = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (keys, stop, ok, clean, partial) = (
                keys.clone(),
                stop.clone(),
                ok.clone(),
                clean.clone(),
                partial.clone(),
            );
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(SeqCst) && Instant::now() < deadline {
                    let (nonce, ch) = match exchange(addr, "POST", "/challenge", None) {
                        Outcome::Full(r) if r.status == 200 => {
                            let j = r.json();
                            (
                                hex::decode(j["nonce"].as_str().unwrap()).unwrap(),
                                j["challenge"].as_str().unwrap().to_owned(),
                            )
                        }
                        Outcome::Full(r) => panic!("challenge: {} {}", r.status, r.text()),
                        Outcome::NoAnswer(ErrorKind::ConnectionRefused) => break,
                        Outcome::NoAnswer(_) => {
                            clean.fetch_add(1, SeqCst);
                            continue;
                        }
                        Outcome::Partial(b) => {
                            partial.lock().unwrap().push(b);
                            continue;
                        }
                    };
                    let body = attest_body(&ch, &mock_evidence(&nonce, b"ud"), b"ud", None);
                    match exchange(addr, "POST", "/attest", Some(&body)) {
                        Outcome::Full(r) if r.status == 200 => {
                            let ear =
                                check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
                            let j = ear.to_json();
                            assert_eq!(
                                j["submods"]["mock"]["tee-sdk.claims"]["appraisal-passed"],
                                true
                            );
                            ok.fetch_add(1, SeqCst);
                        }
                        // A clean refusal (e.g. the drain) is a JSON error.
                        Outcome::Full(r) if r.status == 503 => {
                            assert!(r.json()["error"].is_string(), "{}", r.text());
                            clean.fetch_add(1, SeqCst);
                        }
                        Outcome::Full(r) => panic!("attest: {} {}", r.status, r.text()),
                        Outcome::NoAnswer(ErrorKind::ConnectionRefused) => break,
                        Outcome::NoAnswer(_) => {
                            clean.fetch_add(1, SeqCst);
                        }
                        Outcome::Partial(b) => partial.lock().unwrap().push(b),
                    }
                }
            })
        })
        .collect();
    // Let the load run, then start a request and stop half way into its body.
    let t = Instant::now();
    while ok.load(SeqCst) < 40 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no load: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (nonce, ch) = challenge(addr);
    let body = attest_body(&ch, &mock_evidence(&nonce, b"ud"), b"ud", None);
    let req = request_bytes("POST", "/attest", Some(&body));
    let half = req.len() - body.len() / 2;
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.write_all(&req[..half]).unwrap();
    // An idle keep-alive connection, too: it must be closed, not answered.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = ok.load(SeqCst);
    s.signal(sig);
    // The listener closes; new connections are refused.
    let t = Instant::now();
    while TcpStream::connect(addr).is_ok() {
        assert!(t.elapsed() < Duration::from_secs(10), "still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The in-flight request completes with a whole, valid token.
    slow.write_all(&req[half..]).unwrap();
    let r = full(read_response(&mut slow));
    assert_eq!(r.status, 200, "{}", r.text());
    check_token(&keys, r.json()["token"].as_str().unwrap(), &nonce);
    let mut b = [0u8; 16];
    assert_eq!(
        idle.read(&mut b).unwrap_or(0),
        0,
        "idle connection answered"
    );
    let status = s.wait(Duration::from_secs(30));
    stop.store(true, SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(status.code(), Some(0), "{sig}: {status}; {}", s.log());
    std::thread::sleep(Duration::from_millis(100));
    assert!(s.log().contains("teectl serve: shut down"), "{}", s.log());
    let partial = partial.lock().unwrap();
    assert!(
        partial.is_empty(),
        "{} partial answers, e.g. {:?}",
        partial.len(),
        String::from_utf8_lossy(&partial[0])
    );
    eprintln!(
        "{sig}: {} tokens ({before} before the signal), {} clean refusals",
        ok.load(SeqCst),
        clean.load(SeqCst)
    );
}

#[test]
fn sigterm_during_load_drains_and_exits_0() {
    shutdown_under_load("-TERM");
}

#[test]
fn sigint_during_load_drains_and_exits_0() {
    shutdown_under_load("-INT");
}
