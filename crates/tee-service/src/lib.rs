#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod challenge;
pub mod collateral;
pub mod crypto;
#[cfg(feature = "collateral")]
pub mod managed;
pub mod metrics;
pub mod policy;
mod pool;
mod server;
mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde::Deserialize;
use serde_json::json;
use tee::{ErrorClass, Evidence, ReportData, UnixTime};
use tee_ear::{EarRequest, Issuer, Status, Submod};
use tokio::sync::Semaphore;

pub use challenge::{ChallengeError, ChallengeKey, ReplayCache};
pub use collateral::{CollateralError, CollateralSource, CollateralStats, EnvelopeSource, Ready};
pub use crypto::Crypto;
pub use metrics::Metrics;
pub use policy::{PolicyError, PolicyStore};
pub use server::{serve, shutdown_signal};
pub use tls::{TlsError, tls_config};

/// Default request body limit (1 MiB).
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// Default challenge lifetime.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(120);
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default replay-cache capacity (unexpired challenges per replica).
pub const DEFAULT_REPLAY_CAPACITY: usize = 200_000;
/// Default interval of the background collateral refresh.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Largest `user_data` accepted (decoded).
pub const MAX_USER_DATA: usize = 4096;

/// The time source: wall-clock by default; tests substitute their own.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> UnixTime;
}

/// [`UnixTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}

/// The service configuration.
#[derive(Debug)]
#[non_exhaustive]
pub struct Config {
    /// Policies (`DIR/NAME.toml`).
    pub policies: PolicyStore,
    /// Signs the EAR tokens; its JWKS is served.
    pub issuer: Issuer,
    /// MACs the challenges.
    pub challenge_key: ChallengeKey,
    /// Verifiers and collateral.
    pub collateral: Arc<dyn CollateralSource>,
    /// Request body limit (413 above).
    pub max_body: usize,
    /// Per-request timeout (503 `timeout` after it).
    pub timeout: Duration,
    /// Challenge lifetime.
    pub challenge_ttl: Duration,
    /// How often the background task asks a refreshing collateral source
    /// ([`CollateralSource::refreshes`]) to refresh what is due.
    pub refresh_interval: Duration,
    /// Verification threads (the pool that runs verification, appraisal
    /// and token signing; never the async executor); default: CPU count.
    pub workers: usize,
    /// Requests admitted to `/attest` at once (running or queued for a
    /// worker); more are refused with 503 and `Retry-After`.
    pub max_pending: usize,
    /// Replay-cache capacity (0: replays within expiry are not detected).
    pub replay_capacity: usize,
    /// Clock for challenges and tokens.
    pub clock: Arc<dyn Clock>,
    /// Verify evidence as of this time instead of the clock (replaying
    /// recorded vectors whose collateral has expired; never in production).
    /// Challenges and tokens keep the clock.
    pub verify_at: Option<UnixTime>,
    /// Write one JSON log line per request to stderr.
    pub log: bool,
    /// The crypto implementation reported on `/healthz` and `/metrics`:
    /// the one [`Config::new`] put the issuer's key and the default
    /// collateral source on ([`Crypto::build_default`]). A collateral
    /// source set afterwards should be built with the same one
    /// ([`EnvelopeSource::with_crypto`], [`Crypto::manager`]).
    pub crypto: Crypto,
}

impl Config {
    /// A configuration with the defaults; collateral from the evidence
    /// envelope ([`EnvelopeSource`]).
    ///
    /// The issuer's signing key signs with [`Crypto::build_default`] (if
    /// that implementation refused the key, it keeps its own, and `/healthz`
    /// says which signs).
    pub fn new(policies: PolicyStore, mut issuer: Issuer, challenge_key: ChallengeKey) -> Self {
        let crypto = Crypto::build_default();
        // Only fails if the implementation refuses a key RustCrypto parsed;
        // `/healthz` reports the signer's implementation either way.
        let _ = issuer.signers_mut().set_crypto(crypto.ear());
        Self {
            policies,
            issuer,
            challenge_key,
            collateral: Arc::new(EnvelopeSource::with_crypto(crypto)),
            max_body: DEFAULT_MAX_BODY,
            timeout: DEFAULT_TIMEOUT,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            max_pending: 256,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            clock: Arc::new(SystemClock),
            verify_at: None,
            log: true,
            crypto,
        }
    }
}

/// The running service's state, shared by every request.
#[derive(Debug)]
pub struct App {
    cfg: Config,
    jwks: String,
    replay: ReplayCache,
    pending: Arc<Semaphore>,
    pool: pool::Pool,
    /// The counters behind `/metrics`.
    pub metrics: Metrics,
}

impl App {
    /// The state for `cfg`.
    pub fn new(cfg: Config) -> Arc<Self> {
        let jwks = cfg.issuer.signers().jwks().to_json();
        Arc::new(Self {
            replay: ReplayCache::new(cfg.replay_capacity),
            pending: Arc::new(Semaphore::new(cfg.max_pending.max(1))),
            pool: pool::Pool::new(cfg.workers),
            jwks,
            cfg,
            metrics: Metrics::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
}

/// The router: every endpoint, the limits, the request log.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/challenge", post(challenge))
        .route("/attest", post(attest))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), around))
        .with_state(app)
}

/// An error answer: status, a stable code, a human detail.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn retry(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    fn bad(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
}

/// What the request log says about a request beyond method, path, status.
#[derive(Debug, Clone, Default)]
struct LogInfo {
    error: Option<&'static str>,
    verdict: Option<&'static str>,
    platform: Option<&'static str>,
    policy: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "detail": self.detail});
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r.extensions_mut().insert(LogInfo {
            error: Some(self.code),
            ..LogInfo::default()
        });
        r
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Timeout, metrics and the request log around every request.
async fn around(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(200).collect();
    let mut resp = match tokio::time::timeout(app.cfg.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            app.metrics
                .timeouts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("no answer within {:?}", app.cfg.timeout),
            )
            .retry(1)
            .into_response()
        }
    };
    let status = resp.status().as_u16();
    app.metrics.request(&path, status);
    if path == "/attest" {
        app.metrics.attest_latency(start.elapsed());
    }
    if app.cfg.log {
        let info = resp
            .extensions_mut()
            .remove::<LogInfo>()
            .unwrap_or_default();
        let line = json!({
            "ts": app.cfg.clock.now().to_string(),
            "method": method.as_str(),
            "path": path,
            "status": status,
            "ms": (start.elapsed().as_secs_f64() * 1e3 * 1000.0).round() / 1000.0,
            "error": info.error,
            "verdict": info.verdict,
            "platform": info.platform,
            "policy": info.policy,
        });
        eprintln!("{line}");
    }
    resp
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "crypto": app.cfg.crypto.name(),
        "token_signing": app.cfg.issuer.signers().current().crypto().name(),
        "verification_threads": app.pool.threads(),
    }))
    .into_response()
}

async fn jwks(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        app.jwks.clone(),
    )
        .into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = app
        .metrics
        .render(app.cfg.collateral.stats(), app.cfg.policies.loads());
    text.push_str(&metrics::crypto_info(
        app.cfg.crypto,
        app.cfg.issuer.signers().current().crypto(),
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn challenge(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let mut nonce = [0u8; challenge::NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("random source: {e}"),
        )
    })?;
    let now = app.cfg.clock.now().as_secs();
    let expires = now.saturating_add(app.cfg.challenge_ttl.as_secs().max(1));
    let c = app.cfg.challenge_key.issue(nonce, expires);
    app.metrics
        .challenges
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(axum::Json(json!({
        "nonce": hex::encode(c.nonce),
        "challenge": c.text,
        "expires": UnixTime::from_secs(expires).to_string(),
    }))
    .into_response())
}

/// The `/attest` request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestBody {
    challenge: String,
    evidence: Box<serde_json::value::RawValue>,
    #[serde(default)]
    user_data: Option<String>,
    #[serde(default)]
    policy: Option<String>,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Read at most `max` bytes of body (413 beyond).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body over {max} bytes"),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max as u64
    {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(e) => Err(ApiError::bad("body_unreadable", e.to_string())),
    }
}

fn challenge_error(app: &App, e: &ChallengeError) -> ApiError {
    match e {
        ChallengeError::Malformed(why) => {
            ApiError::bad("challenge_malformed", format!("challenge: {why}"))
        }
        ChallengeError::BadMac => ApiError::new(
            StatusCode::FORBIDDEN,
            "challenge_invalid",
            "challenge not issued by this service (MAC does not verify)",
        ),
        ChallengeError::Expired { expires, now } => ApiError::new(
            StatusCode::FORBIDDEN,
            "challenge_expired",
            format!(
                "challenge expired at {} (now {})",
                UnixTime::from_secs(*expires),
                UnixTime::from_secs(*now)
            ),
        ),
        ChallengeError::Replayed => {
            app.metrics
                .replays
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::new(
                StatusCode::CONFLICT,
                "challenge_replayed",
                "challenge already used; request a new one",
            )
        }
        ChallengeError::ReplayCacheFull { retry_after } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "replay_cache_full",
            "too many unexpired challenges in use",
        )
        .retry(*retry_after),
    }
}

/// One `/attest` in verification, on the `in_flight` gauge until dropped
/// (also when the request is dropped at its timeout).
struct InFlight<'a>(&'a Metrics);

impl<'a> InFlight<'a> {
    fn new(m: &'a Metrics) -> Self {
        m.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(m)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The answer of the blocking part.
struct Verdict {
    token: String,
    status: Status,
    platform: &'static str,
}

async fn attest(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !is_json(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ));
    }
    // Back-pressure: admitted (running or queued) or refused at once.
    let Ok(admitted) = app.pending.clone().try_acquire_owned() else {
        app.metrics
            .overloaded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests in progress",
        )
        .retry(1));
    };
    let bytes = read_body(&headers, body, app.cfg.max_body).await?;
    let req: AttestBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad("malformed_request", format!("request JSON: {e}")))?;
    let user_data = match &req.user_data {
        None => Vec::new(),
        Some(s) => {
            if s.len() > MAX_USER_DATA * 2 {
                return Err(ApiError::bad("malformed_user_data", "user_data too long"));
            }
            let d = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| {
                    ApiError::bad(
                        "malformed_user_data",
                        format!("user_data: not base64 ({e})"),
                    )
                })?;
            if d.len() > MAX_USER_DATA {
                return Err(ApiError::bad(
                    "malformed_user_data",
                    format!("user_data over {MAX_USER_DATA} bytes"),
                ));
            }
            d
        }
    };
    if let Some(p) = &req.policy
        && !policy::valid_name(p)
    {
        return Err(ApiError::bad(
            "bad_policy_name",
            "policy name must be 1 to 64 of [A-Za-z0-9_-]",
        ));
    }
    let evidence = Evidence::from_json(req.evidence.get().as_bytes())
        .map_err(|e| ApiError::bad("malformed_evidence", e.to_string()))?;
    let now = app.cfg.clock.now();
    let ch = app
        .cfg
        .challenge_key
        .check(&req.challenge, now.as_secs())
        .map_err(|e| challenge_error(&app, &e))?;
    app.replay
        .claim(&ch.nonce, ch.expires, now.as_secs())
        .map_err(|e| challenge_error(&app, &e))?;
    let in_flight = InFlight::new(&app.metrics);
    let app2 = app.clone();
    let policy_name = req.policy.clone();
    let nonce = ch.nonce;
    let result = app
        .pool
        .run(move || decide(&app2, evidence, &nonce, &user_data, policy_name.as_deref()))
        .await;
    drop(in_flight);
    drop(admitted);
    let result = match result {
        Ok(r) => r,
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            match e {
                pool::PoolError::Panicked => "verification task failed",
                pool::PoolError::NoThreads => "no verification thread runs",
            },
        )),
    };
    match result {
        Ok(v) => {
            app.metrics.verdict(v.status);
            let mut r = axum::Json(json!({"token": v.token})).into_response();
            r.extensions_mut().insert(LogInfo {
                error: None,
                verdict: Some(v.status.name()),
                platform: Some(v.platform),
                policy: Some(req.policy.unwrap_or_else(|| policy::DEFAULT_POLICY.into())),
            });
            Ok(r)
        }
        Err(e) => {
            // An answer the client cannot use as a verdict: the challenge
            // may be tried again.
            if e.status == StatusCode::SERVICE_UNAVAILABLE || e.status.is_server_error() {
                app.replay.release(&nonce);
            }
            Err(e)
        }
    }
}

/// Verification, appraisal and token: the blocking part.
fn decide(
    app: &App,
    evidence: Evidence,
    nonce: &[u8; challenge::NONCE_LEN],
    user_data: &[u8],
    policy_name: Option<&str>,
) -> Result<Verdict, ApiError> {
    let loaded = app.cfg.policies.get(policy_name).map_err(|e| match e {
        PolicyError::BadName => ApiError::bad(
            "bad_policy_name",
            "policy name must be 1 to 64 of [A-Za-z0-9_-]",
        ),
        PolicyError::Unknown(n) => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_policy",
            format!("no policy named {n:?}"),
        ),
        PolicyError::Invalid { name, detail } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "policy_invalid",
            format!("policy {name:?} does not load: {detail}"),
        ),
    })?;
    let verify_at = app.cfg.verify_at.unwrap_or_else(|| app.cfg.clock.now());
    let Ready {
        evidence,
        verifiers,
    } = app
        .cfg
        .collateral
        .prepare(evidence, verify_at)
        .map_err(|e| match e {
            CollateralError::Unavailable { what, retry_after } => {
                app.metrics
                    .collateral_unavailable
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "collateral_unavailable",
                    format!("collateral unavailable: {what}"),
                )
                .retry(retry_after.as_secs())
            }
            CollateralError::Missing { what } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "collateral_missing",
                format!("the evidence lacks {what}"),
            ),
            CollateralError::Evidence { detail } => ApiError::bad(
                "malformed_evidence",
                format!("cannot tell the evidence's collateral: {detail}"),
            ),
            CollateralError::Source { detail } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "collateral_error",
                detail,
            ),
        })?;
    let platform = evidence.platform;
    let submod = match verifiers.verify(&evidence, verify_at) {
        Ok(claims) => {
            let mut policy = (*loaded.policy).clone();
            policy.report_data = Some(ReportData::bind(nonce, user_data));
            let appraisal = tee::appraise(&claims, &policy);
            Submod::from_appraisal(&claims, &appraisal, &*loaded.id)
        }
        Err(e) => match e.class() {
            ErrorClass::Malformed => {
                return Err(ApiError::bad("malformed_evidence", e.to_string()));
            }
            ErrorClass::Unsupported => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unsupported_evidence",
                    e.to_string(),
                ));
            }
            // Not authentic: a token that says so.
            ErrorClass::Authenticity | ErrorClass::Policy => {
                Submod::verification_failed().with_policy_id(&*loaded.id)
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "verification_error",
                    e.to_string(),
                ));
            }
        },
    };
    let request = EarRequest::new()
        .with_nonce(nonce)
        .and_then(|r| r.with_submod(platform.name(), submod))
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "token_error",
                e.to_string(),
            )
        })?;
    let ear = app
        .cfg
        .issuer
        .claims(request, app.cfg.clock.now())
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "token_error",
                e.to_string(),
            )
        })?;
    let status = ear.overall_status();
    let token = app.cfg.issuer.sign(&ear).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "token_error",
            e.to_string(),
        )
    })?;
    Ok(Verdict {
        token,
        status,
        platform: platform_name(platform),
    })
}

fn platform_name(p: tee::Platform) -> &'static str {
    p.name()
}
