//! `teectl serve`: the verification service (crate `tee-service`;
//! docs/service.md, docs/openapi.yaml).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tee::UnixTime;
use tee_ear::{Alg, Issuer, MAX_PEM_LEN, SignerSet, SigningKey};
use tee_service::{App, ChallengeKey, Config, PolicyStore, challenge};

use crate::common::{self, CliError};
use crate::exit;

/// `teectl serve` flags.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (e.g. `127.0.0.1:8443`, `[::]:8443`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Policy directory: `POLICY.toml` per name; `default.toml` when a
    /// request names none. Files are re-read when they change.
    #[arg(long, value_name = "DIR")]
    policy_dir: PathBuf,
    /// EAR signing key (PEM: PKCS#8 or SEC1, P-256 → ES256, P-384 →
    /// ES384). Without it an ephemeral P-256 (ES256) key is generated (and
    /// said so).
    #[arg(long, value_name = "PEM")]
    signing_key: Option<PathBuf>,
    /// The signing key's `kid` (default: its RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", requires = "signing_key")]
    kid: Option<String>,
    /// Challenge MAC key (a file of 32 to 1024 bytes, shared by every
    /// replica). Without it a random key is generated: challenges then
    /// verify only on this process.
    #[arg(long, value_name = "FILE")]
    challenge_key: Option<PathBuf>,
    /// Collateral from the collateral manager: an offline bundle
    /// (`teectl collateral bundle`) or a store directory (`teectl collateral
    /// fetch`), read offline. Missing or stale collateral is 503 with
    /// Retry-After. Without it, collateral comes from the evidence envelope.
    #[arg(long, value_name = "BUNDLE_OR_DIR")]
    collateral: Option<PathBuf>,
    /// With `--collateral DIR`: an online store. Misses are fetched from
    /// `--kds` / `--pccs` into DIR (created if missing; shareable by
    /// replicas) and a background task refreshes collateral ahead of its
    /// expiry every `--refresh-interval`.
    #[arg(long, requires = "collateral")]
    collateral_fetch: bool,
    /// AMD KDS base URL (or a mirror) for `--collateral-fetch`.
    #[arg(long, value_name = "URL", requires = "collateral_fetch")]
    kds: Option<String>,
    /// Intel PCCS base URL for `--collateral-fetch` (default: Intel's PCS).
    #[arg(long, value_name = "URL", requires = "collateral_fetch")]
    pccs: Option<String>,
    /// Seconds between background refresh passes of an online store.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    refresh_interval: u64,
    /// SEV-SNP with `--collateral`: verify without an AMD CRL when the
    /// store has none (the claims say `revocation_checked = false`, and the
    /// appraisal still fails unless the policy sets
    /// `[sev-snp] allow_unchecked_revocation`).
    #[arg(long, requires = "collateral")]
    allow_unchecked_revocation: bool,
    /// TLS certificate chain (PEM, leaf first).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Request body limit in bytes (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = tee_service::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Per-request timeout in seconds (503 after it).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
    /// Challenge lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    challenge_ttl: u64,
    /// Verifications at once (default: the CPU count).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Requests admitted to /attest at once (running or queued); more get
    /// 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_pending: usize,
    /// Do not remember used challenges (a challenge can then be replayed
    /// until it expires).
    #[arg(long)]
    no_replay_cache: bool,
    /// Verify evidence as of this time (RFC 3339) instead of the clock:
    /// replaying recorded vectors whose collateral has expired. NOT for
    /// production; challenges and tokens keep the clock.
    #[arg(long, value_name = "RFC3339")]
    verify_at: Option<String>,
    /// No per-request log lines on stderr.
    #[arg(long)]
    quiet: bool,
}

fn signing_key(a: &ServeArgs) -> Result<SigningKey, CliError> {
    let key = match &a.signing_key {
        Some(p) => {
            let pem = common::read_bounded(p, MAX_PEM_LEN as u64, "signing key")?;
            let pem = String::from_utf8(pem)
                .map_err(|_| CliError::usage(format!("{}: not a PEM text file", p.display())))?;
            SigningKey::from_pem(&pem)
                .map_err(|e| CliError::from(tee::Error::from(e)).context(p.display()))?
        }
        None => {
            let k = SigningKey::generate(Alg::Es256)
                .map_err(|e| CliError::from(tee::Error::from(e)))?;
            eprintln!(
                "teectl serve: no --signing-key: generated an ephemeral ES256 key (kid {}); \
                 its tokens stop verifying when this process exits, and replicas do not share it",
                k.kid()
            );
            k
        }
    };
    Ok(match &a.kid {
        Some(k) => key.with_kid(k.clone()),
        None => key,
    })
}

fn challenge_key(a: &ServeArgs) -> Result<ChallengeKey, CliError> {
    match &a.challenge_key {
        Some(p) => {
            let bytes = common::read_bounded(p, challenge::MAX_KEY_LEN as u64, "challenge key")?;
            ChallengeKey::from_bytes(&bytes)
                .map_err(|e| CliError::usage(format!("{}: {e}", p.display())))
        }
        None => {
            eprintln!(
                "teectl serve: no --challenge-key: generated a random one; challenges verify \
                 only on this process (give every replica the same --challenge-key)"
            );
            ChallengeKey::generate().map_err(CliError::usage)
        }
    }
}

pub(crate) fn run(a: &ServeArgs) -> Result<u8, CliError> {
    if !a.policy_dir.is_dir() {
        return Err(CliError::usage(format!(
            "--policy-dir {}: not a directory",
            a.policy_dir.display()
        )));
    }
    let collateral = collateral_source(a)?;
    let key = signing_key(a)?;
    let ck = challenge_key(a)?;
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => {
            Some(tee_service::tls_config(c, k).map_err(|e| CliError::usage(e.to_string()))?)
        }
        _ => None,
    };
    let mut cfg = Config::new(
        PolicyStore::new(&a.policy_dir),
        Issuer::new(SignerSet::new(key)),
        ck,
    );
    cfg.max_body = a.max_body;
    cfg.timeout = Duration::from_secs(a.timeout.max(1));
    cfg.challenge_ttl = Duration::from_secs(a.challenge_ttl.max(1));
    if let Some(w) = a.workers {
        cfg.workers = w.max(1);
    }
    cfg.max_pending = a.max_pending.max(1);
    if a.no_replay_cache {
        cfg.replay_capacity = 0;
    }
    if let Some(t) = &a.verify_at {
        let at =
            UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--verify-at: {e}")))?;
        eprintln!(
            "teectl serve: WARNING: --verify-at {at}: evidence is verified as of that time, not now (testing only)"
        );
        cfg.verify_at = Some(at);
    }
    if let Some((src, what)) = collateral {
        eprintln!("teectl serve: collateral: {what}");
        cfg.collateral = src;
    }
    cfg.refresh_interval = Duration::from_secs(a.refresh_interval.max(1));
    cfg.log = !a.quiet;
    let workers = cfg.workers;
    eprintln!(
        "teectl serve: crypto: {} (SEV-SNP and TDX signatures), {} (token signing)",
        cfg.crypto,
        cfg.issuer.signers().current().crypto()
    );
    let app = App::new(cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("tokio runtime: {e}")))?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| CliError::usage(format!("--listen {}: {e}", a.listen)))?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::usage(format!("--listen {}: {e}", a.listen)))?;
        eprintln!(
            "teectl serve: listening on {}://{local} (policies {}, {workers} workers)",
            if tls.is_some() { "https" } else { "http" },
            a.policy_dir.display()
        );
        tee_service::serve(
            listener,
            Arc::clone(&app),
            tls,
            tee_service::shutdown_signal(),
        )
        .await
        .map_err(|e| CliError::usage(format!("serve: {e}")))?;
        eprintln!("teectl serve: shut down");
        Ok::<(), CliError>(())
    })?;
    Ok(exit::OK)
}

/// Timeout of one collateral fetch (the request timeout answers 503 first).
#[cfg(all(feature = "sev-snp", feature = "tdx"))]
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

type Source = (Arc<dyn tee_service::CollateralSource>, String);

/// The collateral manager behind `--collateral`, and what to say about it.
#[cfg(all(feature = "sev-snp", feature = "tdx"))]
fn collateral_source(a: &ServeArgs) -> Result<Option<Source>, CliError> {
    use tee::collateral::{Config as CollateralConfig, Manager};
    use tee_service::managed::{ManagerSource, Mode};

    let Some(path) = &a.collateral else {
        return Ok(None);
    };
    if !a.collateral_fetch {
        let m = crate::collateral::offline(path, a.allow_unchecked_revocation)?;
        let what = format!(
            "{} {} read offline ({} artifacts{}; nothing is fetched)",
            if path.is_dir() {
                "store directory"
            } else {
                "bundle"
            },
            path.display(),
            m.artifacts().len(),
            match m.metrics().store_rejected {
                0 => String::new(),
                n => format!(", {n} files rejected"),
            }
        );
        let m = tee_service::Crypto::build_default().manager(m);
        let src = ManagerSource::new(Arc::new(m), Mode::Offline);
        return Ok(Some((Arc::new(src), what)));
    }
    if path.exists() && !path.is_dir() {
        return Err(CliError::usage(format!(
            "--collateral {} --collateral-fetch: an online store is a directory",
            path.display()
        )));
    }
    let mut cfg =
        CollateralConfig::default().allowing_unchecked_revocation(a.allow_unchecked_revocation);
    if let Some(k) = &a.kds {
        cfg = cfg.with_kds(k);
    }
    if let Some(p) = &a.pccs {
        cfg = cfg.with_pccs(p);
    }
    let urls = [&cfg.kds_base, &cfg.pcs_base, &cfg.intel_root_crl_url];
    #[cfg(feature = "https")]
    let transport = {
        let _ = urls;
        tee_fetch::Https::new(FETCH_TIMEOUT)
    };
    #[cfg(not(feature = "https"))]
    let transport = {
        if let Some(u) = urls.iter().find(|u| !u.starts_with("http://")) {
            return Err(CliError {
                code: exit::UNSUPPORTED,
                message: format!(
                    "--collateral-fetch: {u}: this build fetches over plain http:// only \
                     (build teectl with feature `https`, or give http:// mirrors with \
                     --kds and --pccs)"
                ),
                detail: None,
            });
        }
        tee::collateral::PlainHttp::new(FETCH_TIMEOUT)
    };
    let m = Manager::online(transport, path, cfg.clone())
        .map(Manager::trusting_mock_root)
        .map_err(|e| crate::collateral::cli_error(e).context(path.display()))?;
    let what = format!(
        "online store {} ({} artifacts held, {} files rejected; fetching from {} and {}; refresh every {} s)",
        path.display(),
        m.artifacts().len(),
        m.metrics().store_rejected,
        cfg.kds_base,
        cfg.pcs_base,
        a.refresh_interval.max(1)
    );
    let m = tee_service::Crypto::build_default().manager(m);
    let src = ManagerSource::new(Arc::new(m), Mode::Online);
    Ok(Some((Arc::new(src), what)))
}

/// Builds without both SEV-SNP and TDX have no collateral manager.
#[cfg(not(all(feature = "sev-snp", feature = "tdx")))]
fn collateral_source(a: &ServeArgs) -> Result<Option<Source>, CliError> {
    match &a.collateral {
        None => Ok(None),
        Some(c) => Err(CliError {
            code: exit::UNSUPPORTED,
            message: format!(
                "--collateral {}: the collateral manager is only in builds with both \
                 SEV-SNP and TDX; evidence must carry its collateral (docs/service.md)",
                c.display()
            ),
            detail: None,
        }),
    }
}
