//! `teectl verify`: authenticity, then appraisal, printed as JSON.

use std::path::PathBuf;

use serde_json::{Map, Value};
use tee::{Claims, Evidence, Platform, Policy, UnixTime, Verified, Verifier, appraise};

use crate::common::{self, CliError, ReportDataArgs};
use crate::{Global, pef, sev, tdx};

/// Arguments of `teectl verify`. Platform modules read the flags that concern them.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Evidence JSON written by `teectl report` (any platform).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["platform", "report", "quote"])]
    pub(crate) evidence: Option<PathBuf>,
    /// Platform of a raw report/quote given with --report or --quote.
    #[arg(long, value_name = "PLATFORM")]
    pub(crate) platform: Option<String>,

    /// SEV-SNP: the raw attestation report (binary or hex).
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// SEV-SNP: the endorsement key certificate, VCEK or VLEK (DER or PEM).
    #[arg(long, visible_alias = "vlek", value_name = "FILE")]
    pub(crate) vcek: Option<PathBuf>,
    /// SEV-SNP: the ASK or ASVK certificate (default: pinned for the report's product).
    #[arg(long, value_name = "FILE")]
    pub(crate) ask: Option<PathBuf>,
    /// SEV-SNP: the ARK certificate (must equal the pinned ARK).
    #[arg(long, value_name = "FILE")]
    pub(crate) ark: Option<PathBuf>,
    /// SEV-SNP: a PEM bundle with ASK/ASVK and ARK.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert_chain: Option<PathBuf>,

    /// TDX: the raw quote.
    #[arg(long, value_name = "FILE")]
    pub(crate) quote: Option<PathBuf>,
    /// TDX: collateral as QuoteCollateralV3 JSON.
    #[arg(long, value_name = "FILE", conflicts_with = "collateral_dir")]
    pub(crate) collateral: Option<PathBuf>,
    /// TDX: a directory of collateral files as returned by Intel PCS/PCCS.
    #[arg(long, value_name = "DIR")]
    pub(crate) collateral_dir: Option<PathBuf>,
    /// TDX: verify without collateral (the TCB is not evaluated; the claims say so).
    #[arg(long, conflicts_with_all = ["collateral", "collateral_dir"])]
    pub(crate) no_collateral: bool,
    /// TDX: accept collateral without CRLs (revocation is then not checked; the claims say so).
    #[arg(long)]
    pub(crate) allow_unchecked_revocation: bool,
    /// TDX: TCB statuses the policy accepts (comma-separated; default UpToDate).
    #[arg(long, value_name = "S1,S2", value_delimiter = ',')]
    pub(crate) accept_tcb_status: Vec<String>,
    /// TDX: a CCEL / TCG2 event log to replay against the quote's RTMRs.
    #[arg(long, value_name = "FILE")]
    pub(crate) event_log: Option<PathBuf>,

    /// PEF: the owner's attestation key (owner-rooted evidence needs it).
    #[arg(long, value_name = "FILE")]
    pub(crate) attestation_key: Option<PathBuf>,

    /// Verification time (RFC 3339, e.g. 2025-07-01T00:00:00Z); default now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Expected report data.
    #[command(flatten)]
    pub(crate) rd: ReportDataArgs,
    /// Appraisal policy (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// Accept mock evidence (NO SECURITY).
    #[arg(long)]
    pub(crate) allow_mock: bool,
    /// Accept debug TEEs.
    #[arg(long)]
    pub(crate) allow_debug: bool,
}

fn load_evidence(a: &VerifyArgs) -> Result<Evidence, CliError> {
    if let Some(p) = &a.evidence {
        let bytes = common::read(p)?;
        return Evidence::from_json(&bytes).map_err(|e| CliError::from(e).context(p.display()));
    }
    let platform: Platform = match (&a.platform, &a.report, &a.quote) {
        (Some(p), _, _) => p
            .parse()
            .map_err(|e: tee::Error| CliError::usage(e.to_string()))?,
        (None, Some(_), None) => Platform::SevSnp,
        (None, None, Some(_)) => Platform::Tdx,
        _ => {
            return Err(CliError::usage(
                "give --evidence FILE, or --platform with --report/--quote",
            ));
        }
    };
    match platform {
        Platform::SevSnp => sev::evidence_from_args(a),
        Platform::Tdx => tdx::evidence_from_args(a),
        Platform::Pef => pef::evidence_from_args(a),
        other => Err(CliError::usage(format!(
            "raw {other} reports are not accepted; use --evidence FILE"
        ))),
    }
}

fn verifier_for(a: &VerifyArgs, platform: Platform) -> Result<Box<dyn Verifier>, CliError> {
    Ok(match platform {
        Platform::SevSnp => sev::verifier(a)?,
        Platform::Tdx => tdx::verifier(a)?,
        Platform::Pef => pef::verifier(a)?,
        // Authenticity of mock evidence is checked against the mock root;
        // appraisal then denies it unless --allow-mock.
        _ => Box::new(tee::mock::MockVerifier::trusting_mock_root()),
    })
}

/// The policy: the file (or the fail-closed default), then command-line overrides.
fn policy(a: &VerifyArgs, platform: Platform) -> Result<Policy, CliError> {
    let mut p = match &a.policy {
        Some(path) => Policy::from_toml_bytes(&common::read(path)?)
            .map_err(|e| CliError::from(e).context(path.display()))?,
        None => Policy::default(),
    };
    if a.allow_mock {
        p.allow_mock = true;
    }
    if a.allow_debug {
        p.allow_debug = true;
    }
    if let Some(rd) = a.rd.get()? {
        p.report_data = Some(rd);
    }
    match platform {
        Platform::SevSnp => sev::apply_policy(a, &mut p)?,
        Platform::Tdx => tdx::apply_policy(a, &mut p)?,
        _ => {}
    }
    Ok(p)
}

/// The JSON printed on stdout: the common keys, the platform's raw claims
/// flattened, then the full claims and the appraisal.
pub(crate) fn output(
    claims: &Verified<Claims>,
    appraisal: &tee::Appraisal,
) -> Result<Value, CliError> {
    let c: &Claims = claims;
    let mut out = Map::new();
    out.insert("platform".into(), Value::String(c.platform.name().into()));
    out.insert(
        "measurement".into(),
        c.launch_measurement
            .value()
            .map_or(Value::Null, |m| Value::String(m.to_hex())),
    );
    out.insert("report_data".into(), Value::String(c.report_data.to_hex()));
    out.insert("debug".into(), Value::Bool(c.debug));
    if let Value::Object(raw) = to_value(&c.platform_claims)? {
        for (_, inner) in raw {
            if let Value::Object(fields) = inner {
                for (k, v) in fields {
                    out.entry(k).or_insert(v);
                }
            }
        }
    }
    if let Some(log) = &c.event_log {
        out.insert("event_log".into(), to_value(log)?);
    }
    out.insert(
        "verified_at".into(),
        Value::String(c.verified_at.to_string()),
    );
    out.insert("claims".into(), to_value(claims)?);
    out.insert(
        "appraisal".into(),
        serde_json::json!({
            "passed": appraisal.passed(),
            "checks": to_value(&appraisal.checks)?,
        }),
    );
    Ok(Value::Object(out))
}

fn to_value<T: serde::Serialize + ?Sized>(v: &T) -> Result<Value, CliError> {
    serde_json::to_value(v).map_err(|e| CliError::usage(format!("JSON encoding: {e}")))
}

pub(crate) fn run(_g: &Global, a: &VerifyArgs) -> Result<u8, CliError> {
    let ev = load_evidence(a)?;
    let at = match &a.at {
        Some(t) => UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--at: {e}")))?,
        None => UnixTime::now(),
    };
    let policy = policy(a, ev.platform)?;
    let verifier = verifier_for(a, ev.platform)?;
    let claims = verifier.verify(&ev, at)?;
    let appraisal = appraise(&claims, &policy);
    let json = output(&claims, &appraisal)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json).map_err(|e| CliError::usage(e.to_string()))?
    );
    if appraisal.passed() {
        Ok(0)
    } else {
        let failed: Vec<_> = appraisal
            .failed()
            .map(|c| format!("{} ({})", c.name, c.detail))
            .collect();
        eprintln!("teectl: appraisal failed: {}", failed.join("; "));
        Ok(4)
    }
}
