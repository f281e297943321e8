//! Load generator for the verification service, on loopback:
//! `cargo run --release -p tee-service --example load`.
//!
//! Starts the service in this process (the real vectors, collateral carried
//! in the evidence and cached by the verifiers after the first request),
//! then drives `POST /attest` over keep-alive HTTP/1.1 connections at
//! concurrency 1, 2, 8 and 64, each level bounded by a request count and a
//! time limit. Prints `FIGURE` lines: verifications per second, p50 and p99
//! latency, the ratio to (cores / one steady-state library verification),
//! and EAR token issue + verify per second; and, per platform, the CPU time
//! of each stage of a request outside the HTTP layer (`…_stage_…_cpu_us`:
//! request JSON, evidence JSON, library verification, appraisal and
//! submod, EAR claims JSON, token signature), so that what the service
//! adds over the library shows part by part.
//!
//! The wall-clock ratio assumes the cores are this process's: on a machine
//! shared with other work, a process with more runnable threads gets a
//! larger share than the single-threaded library measurement, and the ratio
//! means little. So the CPU time is reported too (Linux): the library
//! verification's (this thread's CPU clock), the service threads' per
//! answered request (`/proc/self/task/*/schedstat`; the load generator's
//! threads counted apart), and their quotient
//! `…_library_verify_cpu_over_service_cpu`, which is the same target (the
//! HTTP and token layer may cost at most a fifth) measured independently of
//! what else runs. The service's verifiers are timed as well, inside the
//! service under the load (`…_in_service_verify_cpu_share`: their part of
//! the service's CPU, measured at the same moment, so it does not drift
//! with the machine's speed between the two measurements). And
//! `…_bound_library_verify_over_verify_plus_token_sign` is the best the
//! ratio can be with one signed token per answer, whatever HTTP costs.
//!
//! Each level's clients first open their connection and get their
//! challenge, then start together; the clock runs from their start to the
//! last answer. The service signs with an ES256 key (the default of
//! `teectl serve`); the token figures are given for ES256 and ES384.
//!
//! Built with `--features aws-lc`, everything (the service, the library
//! baseline, the token figures) runs on aws-lc-rs, the build's
//! `tee_service::Crypto::build_default()`; the last line names it.
//!
//! The replay cache is off here so that each client thread reuses one
//! challenge (the vectors' report data cannot bind a fresh nonce anyway;
//! every answer is a signed `contraindicated` token after full
//! verification and appraisal, the same work as a passing one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tee::{Evidence, UnixTime, Verifier as _};
use tee_ear::{Alg, EarRequest, Issuer, SignerSet, SigningKey, Submod, VerifyOptions};
use tee_service::{App, ChallengeKey, Config, PolicyStore};

const LEVELS: [usize; 4] = [1, 2, 8, 64];
const MAX_REQUESTS: usize = 4000;
const MAX_TIME: Duration = Duration::from_secs(3);
/// Inside the Milan VCEK and the dcap-qvl TDX collateral windows.
const AT: u64 = 1_752_919_234; // 2025-07-19T10:00:34Z

fn vectors() -> PathBuf {
    let dir = std::env::var_os("TEE_TEST_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
        PathBuf::from,
    );
    assert!(
        dir.join("INDEX.md").is_file(),
        "vectors not found at {} (set TEE_TEST_VECTORS)",
        dir.display()
    );
    dir
}

fn snp_evidence(v: &std::path::Path) -> Evidence {
    let hex = std::fs::read_to_string(v.join("virtee-sev/report_milan.hex")).unwrap();
    let report = hex::decode(hex.trim()).unwrap();
    let vcek = std::fs::read(v.join("virtee-sev/vcek_milan.der")).unwrap();
    Evidence::new(
        tee::Platform::SevSnp,
        tee::evidence::format::SEV_SNP_REPORT,
        report,
    )
    .with_endorsement(tee::evidence::endorsement::SIGNING_CERT_DER, vcek)
}

fn tdx_evidence(v: &std::path::Path) -> Evidence {
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let coll = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    Evidence::new(tee::Platform::Tdx, tee::evidence::format::TDX_QUOTE, quote)
        .with_endorsement(tee::evidence::endorsement::TDX_COLLATERAL_JSON, coll)
}

/// The TDX quote alone: what a client sends to a service that has the
/// collateral (`teectl serve --collateral BUNDLE_OR_DIR`).
fn tdx_quote_only(v: &std::path::Path) -> Evidence {
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    Evidence::new(tee::Platform::Tdx, tee::evidence::format::TDX_QUOTE, quote)
}

/// A collateral manager holding the vector's TDX collateral, as a bundle
/// made with `teectl collateral bundle` gives it, over the (empty, read
/// only) store directory `store`.
fn tdx_store(
    v: &std::path::Path,
    store: &std::path::Path,
    at: UnixTime,
) -> Arc<tee::collateral::Manager> {
    let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
    let coll = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let coll = tee::tdx::Collateral::from_json(&coll).unwrap();
    let crypto = tee_service::Crypto::build_default();
    let m = crypto.manager(tee::collateral::Manager::offline_dir(store).unwrap());
    let arts = m
        .tdx_artifacts_from_collateral(&quote, &coll, "vectors", at)
        .unwrap();
    m.import(arts).unwrap();
    Arc::new(m)
}

fn offline(m: &Arc<tee::collateral::Manager>) -> tee_service::managed::ManagerSource {
    tee_service::managed::ManagerSource::new(m.clone(), tee_service::managed::Mode::Offline)
}

/// One keep-alive connection.
struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Self {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    fn post(&mut self, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.w.write_all(head.as_bytes()).unwrap();
        self.w.write_all(body).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0usize;
        loop {
            line.clear();
            self.r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut b = vec![0u8; len];
        self.r.read_exact(&mut b).unwrap();
        (status, b)
    }
}

/// The service's token algorithm: ES256 (`teectl serve`'s default), or
/// ES384 with `TEE_LOAD_ALG=es384`.
fn service_alg() -> Alg {
    match std::env::var("TEE_LOAD_ALG").as_deref() {
        Ok("es384" | "ES384") => Alg::Es384,
        Ok("es256" | "ES256") | Err(_) => Alg::Es256,
        Ok(other) => panic!("TEE_LOAD_ALG={other}: expected es256 or es384"),
    }
}

/// A verifier that adds the CPU time of each verification to a counter:
/// the library's part of the service's CPU, measured inside the service,
/// under the load, at the same time as the service's own.
#[derive(Debug)]
struct Timed {
    inner: Box<dyn tee::Verifier>,
    ns: Arc<AtomicU64>,
}

impl tee::Verifier for Timed {
    fn platform(&self) -> tee::Platform {
        self.inner.platform()
    }

    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> tee::Result<tee::Claims> {
        let a = thread_cpu_ns();
        let r = self.inner.check_authenticity(evidence, at);
        if let (Some(a), Some(b)) = (a, thread_cpu_ns()) {
            self.ns.fetch_add(b.saturating_sub(a), Ordering::Relaxed);
        }
        r
    }
}

/// The service's collateral source: the envelope's collateral, as
/// `teectl serve` without `--collateral`, with every verification timed.
#[derive(Debug)]
struct TimedSource {
    verifiers: Arc<tee::Verifiers>,
    /// For TDX evidence without its collateral.
    store: tee_service::managed::ManagerSource,
}

impl TimedSource {
    fn new(ns: &Arc<AtomicU64>, store: tee_service::managed::ManagerSource) -> Self {
        let crypto = tee_service::Crypto::build_default();
        let timed = |v: Box<dyn tee::Verifier>| -> Box<dyn tee::Verifier> {
            Box::new(Timed {
                inner: v,
                ns: ns.clone(),
            })
        };
        let verifiers = tee::Verifiers::new()
            .trust_mock_root()
            .with(timed(Box::new(
                crypto.snp_verifier(tee::sev::SnpVerifier::new()),
            )))
            .with(timed(Box::new(
                crypto.tdx_verifier(tee::tdx::TdxVerifier::new()),
            )));
        Self {
            verifiers: Arc::new(verifiers),
            store,
        }
    }
}

impl tee_service::CollateralSource for TimedSource {
    fn prepare(
        &self,
        evidence: Evidence,
        now: UnixTime,
    ) -> Result<tee_service::Ready, tee_service::CollateralError> {
        if evidence.platform == tee::Platform::Tdx
            && evidence
                .endorsement(tee::evidence::endorsement::TDX_COLLATERAL_JSON)
                .is_none()
        {
            return self.store.prepare(evidence, now);
        }
        tee_service::collateral::required_endorsement(&evidence)?;
        Ok(tee_service::Ready::new(evidence, self.verifiers.clone()))
    }
}

fn start(
    dir: &std::path::Path,
    verify_ns: &Arc<AtomicU64>,
    store: tee_service::managed::ManagerSource,
) -> (SocketAddr, Arc<App>, tokio::runtime::Runtime) {
    std::fs::write(
        dir.join("default.toml"),
        "allow_any_measurement = true\n[sev-snp]\nallow_unchecked_revocation = true\n",
    )
    .unwrap();
    let mut cfg = Config::new(
        PolicyStore::new(dir),
        Issuer::new(SignerSet::new(SigningKey::generate(service_alg()).unwrap())),
        ChallengeKey::from_bytes(&[7; 32]).unwrap(),
    );
    cfg.log = false;
    cfg.replay_capacity = 0;
    cfg.verify_at = Some(UnixTime::from_secs(AT));
    cfg.max_pending = 1024;
    cfg.collateral = Arc::new(TimedSource::new(verify_ns, store));
    let app = App::new(cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let l = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = l.local_addr().unwrap();
    rt.spawn(tee_service::serve(
        l,
        app.clone(),
        None,
        std::future::pending(),
    ));
    (addr, app, rt)
}

fn body(addr: SocketAddr, ev: &Evidence) -> Vec<u8> {
    let (_, c) = Conn::new(addr).post("/challenge", b"");
    let c: serde_json::Value = serde_json::from_slice(&c).unwrap();
    serde_json::json!({
        "challenge": c["challenge"],
        "evidence": serde_json::from_str::<serde_json::Value>(&ev.to_json().unwrap()).unwrap(),
        "user_data": base64::engine::general_purpose::STANDARD.encode(b"bench"),
    })
    .to_string()
    .into_bytes()
}

struct Level {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time of the service's threads per answered request.
    service_cpu_us: Option<f64>,
    /// CPU time of the load generator's threads per answered request.
    client_cpu_us: Option<f64>,
    /// CPU time inside the library's verification per answered request
    /// (part of `service_cpu_us`).
    verify_cpu_us: f64,
}

/// CPU time (ns) this thread has run: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`,
/// exact to the call (the scheduler statistics in `/proc` advance only at
/// ticks and switches, too coarse for one verification).
fn thread_cpu_ns() -> Option<u64> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u64::try_from(t.tv_nsec).ok()?;
    Some(secs * 1_000_000_000 + nanos)
}

/// CPU time (ns) of every live thread of this process but the calling one,
/// by thread id.
fn other_threads_cpu_ns() -> Option<std::collections::HashMap<u64, u64>> {
    let me = std::fs::read_link("/proc/thread-self").ok()?;
    let me: u64 = me.file_name()?.to_str()?.parse().ok()?;
    let mut out = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc/self/task").ok()? {
        let e = e.ok()?;
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u64>().ok()) else {
            continue;
        };
        if tid == me {
            continue;
        }
        // A thread may exit between the listing and the read.
        if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat"))
            && let Some(ns) = s.split_whitespace().next().and_then(|n| n.parse().ok())
        {
            out.insert(tid, ns);
        }
    }
    Some(out)
}

fn run_level(addr: SocketAddr, ev: &Evidence, conc: usize, verify_ns: &AtomicU64) -> Level {
    let per_thread = MAX_REQUESTS.div_ceil(conc).max(1);
    // Connections and challenges first; then every client starts at once.
    let gate = Arc::new(std::sync::Barrier::new(conc + 1));
    let handles: Vec<_> = (0..conc)
        .map(|_| {
            let b = body(addr, ev);
            let mut c = Conn::new(addr);
            let gate = gate.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(per_thread);
                gate.wait();
                let cpu0 = thread_cpu_ns();
                let deadline = Instant::now() + MAX_TIME;
                for _ in 0..per_thread {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    let (s, resp) = c.post("/attest", &b);
                    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&resp));
                    lat.push(t.elapsed());
                }
                let cpu = thread_cpu_ns().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
                (lat, cpu)
            })
        })
        .collect();
    gate.wait();
    let t0 = Instant::now();
    // Every live thread now: the service's and the clients'; the clients
    // have exited when the level ends, so they drop out of the difference.
    let before = other_threads_cpu_ns();
    let verify0 = verify_ns.load(Ordering::Relaxed);
    let mut lat: Vec<Duration> = Vec::new();
    let mut client_ns = Some(0u64);
    for h in handles {
        let (l, cpu) = h.join().unwrap();
        lat.extend(l);
        client_ns = client_ns.zip(cpu).map(|(a, b)| a + b);
    }
    let wall = t0.elapsed();
    let after = other_threads_cpu_ns();
    let verify = verify_ns.load(Ordering::Relaxed) - verify0;
    let service_ns = before.zip(after).map(|(b, a)| {
        a.iter()
            .map(|(tid, ns)| ns.saturating_sub(b.get(tid).copied().unwrap_or(0)))
            .sum::<u64>()
    });
    lat.sort();
    let n = lat.len() as f64;
    let q = |p: f64| lat[((n * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    Level {
        per_s: n / wall.as_secs_f64(),
        p50_ms: q(0.50),
        p99_ms: q(0.99),
        service_cpu_us: service_ns.map(|ns| ns as f64 / 1e3 / n),
        client_cpu_us: client_ns.map(|ns| ns as f64 / 1e3 / n),
        verify_cpu_us: verify as f64 / 1e3 / n,
    }
}

/// Median CPU seconds per call of `f` on this thread, or `None` where the
/// platform does not say. Each of the 7 batches runs at least 20 ms of CPU
/// time.
fn cpu_per_call(f: &mut dyn FnMut()) -> Option<f64> {
    let mut samples = Vec::new();
    for _ in 0..7 {
        let a = thread_cpu_ns()?;
        let mut n = 0u32;
        let mut b = a;
        while b - a < 20_000_000 || n < 10 {
            f();
            n += 1;
            b = thread_cpu_ns()?;
        }
        samples.push((b - a) as f64 / 1e9 / f64::from(n));
    }
    samples.sort_by(f64::total_cmp);
    Some(samples[3])
}

/// The service's per-request work outside the HTTP layer, stage by stage
/// (CPU µs per call on this thread): where the cost over the library
/// verification goes.
fn stages(
    name: &str,
    ev: &Evidence,
    verify: &mut dyn FnMut() -> tee::Result<tee::Verified<tee::Claims>>,
) -> Option<f64> {
    let body = serde_json::json!({
        "challenge": "x",
        "evidence": serde_json::from_str::<serde_json::Value>(&ev.to_json().unwrap()).unwrap(),
    })
    .to_string();
    let ev_json = ev.to_json().unwrap();
    let at = UnixTime::from_secs(AT);
    let claims = verify().unwrap();
    let policy = tee::Policy::default();
    // Signed as the service signs: the build's crypto implementation.
    let issuer = Issuer::new(SignerSet::new(
        SigningKey::generate(service_alg())
            .unwrap()
            .with_crypto(tee_service::Crypto::build_default().ear())
            .unwrap(),
    ));
    let nonce = [5u8; 32];
    // As the service does it: the loaded policy (its id computed once, at
    // load) with this request's report data, appraised, then the submod.
    let policy_id = tee_ear::mapping::policy_id(&policy);
    let req = || {
        let mut p = policy.clone();
        p.report_data = Some(tee::ReportData::bind(&nonce, b"bench"));
        let appraisal = tee::appraise(&claims, &p);
        EarRequest::new()
            .with_nonce(&nonce)
            .unwrap()
            .with_submod(
                name,
                Submod::from_appraisal(&claims, &appraisal, &*policy_id),
            )
            .unwrap()
    };
    let ear = issuer.claims(req(), at).unwrap();
    let figures: [(&str, &mut dyn FnMut()); 6] = [
        ("request_json_parse", &mut || {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct B<'a> {
                challenge: &'a str,
                evidence: Box<serde_json::value::RawValue>,
            }
            std::hint::black_box(serde_json::from_str::<B<'_>>(&body).unwrap());
        }),
        ("evidence_from_json", &mut || {
            std::hint::black_box(Evidence::from_json(ev_json.as_bytes()).unwrap());
        }),
        ("library_verify", &mut || {
            let _ = std::hint::black_box(verify());
        }),
        ("appraise_and_submod", &mut || {
            std::hint::black_box(req());
        }),
        ("ear_claims_to_json", &mut || {
            std::hint::black_box(serde_json::to_vec(&ear).unwrap());
        }),
        ("token_sign", &mut || {
            std::hint::black_box(issuer.sign(&ear).unwrap());
        }),
    ];
    let mut sign = None;
    for (stage, f) in figures {
        if let Some(c) = cpu_per_call(f) {
            println!("FIGURE service_{name}_stage_{stage}_cpu_us {:.1}", c * 1e6);
            if stage == "token_sign" {
                sign = Some(c);
            }
        }
    }
    sign
}

/// Median seconds per call of `f` over a few batches.
fn per_call(mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..50 {
                f();
            }
            t.elapsed().as_secs_f64() / 50.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[3]
}

fn main() {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use --release for meaningful figures");
    }
    let v = vectors();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let dir = tempfile::tempdir().unwrap();
    let verify_ns = Arc::new(AtomicU64::new(0));
    let at = UnixTime::from_secs(AT);
    let store_dir = tempfile::tempdir().unwrap();
    let manager = tdx_store(&v, store_dir.path(), at);
    let (addr, app, _rt) = start(dir.path(), &verify_ns, offline(&manager));
    let store = offline(&manager);
    let cases = [
        ("snp", snp_evidence(&v), None),
        ("tdx", tdx_evidence(&v), None),
        ("tdx_store", tdx_quote_only(&v), Some(&store)),
    ];
    // `TEE_LOAD_CASES=tdx,tdx_store` runs only those (profiling one).
    let only = std::env::var("TEE_LOAD_CASES").ok();
    for (name, ev, store) in cases {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|c| c.trim() == name))
        {
            continue;
        }
        // The library's steady state: with the envelope's collateral, the
        // verifiers' caches warm (verified chain / collateral), one
        // `verify`; with a store, `prepare` (the collateral for this
        // evidence, from the manager's memory) and `verify`, as a library
        // caller with a collateral manager does per evidence.
        let lib = tee_service::EnvelopeSource::new();
        let verifiers = match store {
            None => Some(
                tee_service::CollateralSource::prepare(&lib, ev.clone(), at)
                    .unwrap()
                    .verifiers,
            ),
            Some(_) => None,
        };
        let mut lib_verify = || match (&verifiers, store) {
            (Some(v), _) => v.verify(std::hint::black_box(&ev), at),
            (None, Some(src)) => {
                let r = tee_service::CollateralSource::prepare(src, ev.clone(), at).unwrap();
                r.verifiers.verify(&r.evidence, at)
            }
            (None, None) => unreachable!(),
        };
        lib_verify().unwrap();
        let t_lib = per_call(|| {
            let _ = std::hint::black_box(lib_verify());
        });
        let t_lib_cpu = cpu_per_call(&mut || {
            let _ = std::hint::black_box(lib_verify());
        });
        let ideal = cores as f64 / t_lib;
        let t_sign = stages(name, &ev, &mut lib_verify);
        // Warm the service's caches.
        let b = body(addr, &ev);
        assert_eq!(Conn::new(addr).post("/attest", &b).0, 200);
        println!(
            "FIGURE service_{name}_library_steady_verify_us {:.1}",
            t_lib * 1e6
        );
        if let Some(c) = t_lib_cpu {
            println!(
                "FIGURE service_{name}_library_steady_verify_cpu_us {:.1}",
                c * 1e6
            );
        }
        let mut last = None;
        for conc in LEVELS {
            let l = run_level(addr, &ev, conc, &verify_ns);
            println!(
                "FIGURE service_{name}_c{conc}_verifications_per_s {:.0}",
                l.per_s
            );
            println!("FIGURE service_{name}_c{conc}_p50_ms {:.2}", l.p50_ms);
            println!("FIGURE service_{name}_c{conc}_p99_ms {:.2}", l.p99_ms);
            if let (Some(svc), Some(cli)) = (l.service_cpu_us, l.client_cpu_us) {
                println!("FIGURE service_{name}_c{conc}_service_cpu_us_per_request {svc:.1}");
                println!(
                    "FIGURE service_{name}_c{conc}_load_generator_cpu_us_per_request {cli:.1}"
                );
                // The store's verifiers are the manager's, not timed.
                if store.is_none() {
                    println!(
                        "FIGURE service_{name}_c{conc}_in_service_verify_cpu_us_per_request {:.1}",
                        l.verify_cpu_us
                    );
                    println!(
                        "FIGURE service_{name}_c{conc}_in_service_verify_cpu_share {:.3}",
                        l.verify_cpu_us / svc
                    );
                }
            }
            last = Some(l);
        }
        let last = last.unwrap();
        println!(
            "FIGURE service_{name}_c64_vs_cores_over_library_verify {:.3}",
            last.per_s / ideal
        );
        if let (Some(lib), Some(svc)) = (t_lib_cpu, last.service_cpu_us) {
            println!(
                "FIGURE service_{name}_c64_library_verify_cpu_over_service_cpu {:.3}",
                lib * 1e6 / svc
            );
        }
        // The best that ratio can be with one signed token per answer,
        // whatever the HTTP layer costs: the library's verification over
        // it plus the token's claims JSON and signature.
        if let (Some(lib), Some(sign)) = (t_lib_cpu, t_sign) {
            println!(
                "FIGURE service_{name}_bound_library_verify_over_verify_plus_token_sign {:.3}",
                lib / (lib + sign)
            );
        }
    }
    // Token issue (what the service adds per answer) and issue + verify.
    let ev = snp_evidence(&v);
    let claims = tee::sev::SnpVerifier::new().verify(&ev, at).unwrap();
    let policy = tee::Policy::default();
    let nonce = [5u8; 32];
    let now = UnixTime::now();
    let request = || {
        EarRequest::new()
            .with_nonce(&nonce)
            .unwrap()
            .with_submod("sev-snp", Submod::appraise(&claims, &policy))
            .unwrap()
    };
    for (alg, name, suffix) in [(Alg::Es256, "es256", ""), (Alg::Es384, "es384", "_es384")] {
        let crypto = tee_service::Crypto::build_default();
        let key = SigningKey::generate(alg)
            .unwrap()
            .with_crypto(crypto.ear())
            .unwrap();
        let issuer = Issuer::new(SignerSet::new(key));
        let jwks = issuer.signers().jwks();
        let t_issue = per_call(|| {
            std::hint::black_box(issuer.issue(request(), now).unwrap());
        });
        println!("FIGURE ear_{name}_token_issue_us {:.1}", t_issue * 1e6);
        let t_tok = per_call(|| {
            let tok = issuer.issue(request(), now).unwrap();
            tee_ear::verify(
                &tok,
                &jwks,
                &VerifyOptions::new(now, 60)
                    .expect_nonce(&nonce)
                    .with_crypto(crypto.ear()),
            )
            .unwrap();
        });
        println!(
            "FIGURE ear_token_issue_plus_verify_per_s{suffix} {:.0}",
            1.0 / t_tok
        );
    }
    let m = app.metrics.render(
        tee_service::CollateralSource::stats(&tee_service::EnvelopeSource::new()),
        0,
    );
    let attests = m
        .lines()
        .find(|l| l.starts_with("tee_service_attest_duration_seconds_count"))
        .unwrap_or_default()
        .to_owned();
    eprintln!(
        "{attests}; cores {cores}; service key {}; crypto {}",
        service_alg(),
        app.config().crypto
    );
}
