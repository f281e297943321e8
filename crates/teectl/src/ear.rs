//! `teectl verify --ear-out`, `teectl ear verify`, `teectl ear jwks`: EAR
//! attestation-result tokens (docs/ear.md) through the `tee-ear` crate.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use tee::{Appraisal, Claims, Platform, Policy, UnixTime, Verified};
use tee_ear::{
    Alg, EarError, EarRequest, Issuer, Jwks, MAX_JWKS_LEN, MAX_PEM_LEN, MAX_TOKEN_LEN, SignerSet,
    SigningKey, Status, Submod, VerifyOptions,
};

use crate::common::{self, CliError};
use crate::exit;

/// `teectl verify` flags for writing an EAR token.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct EarOutArgs {
    /// Also write an EAR attestation-result token (JWT) for the appraisal.
    /// Its `eat_nonce` is --nonce (8 to 64 bytes) when given.
    #[arg(long, value_name = "FILE")]
    ear_out: Option<PathBuf>,
    /// The EAR signing key (PEM: PKCS#8 or SEC1, P-256 → ES256, P-384 →
    /// ES384). Without it an ephemeral P-384 key signs, and its public JWKS
    /// is written to FILE.jwks.json (or --ear-jwks-out).
    #[arg(long, value_name = "PEM", requires = "ear_out")]
    ear_key: Option<PathBuf>,
    /// The signing key's `kid` (default: its RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", requires = "ear_out")]
    ear_kid: Option<String>,
    /// Write the signing key's public JWKS here.
    #[arg(long, value_name = "FILE", requires = "ear_out")]
    ear_jwks_out: Option<PathBuf>,
}

/// `teectl ear` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Verify an EAR token against a JWKS and print its claims as JSON.
    /// Exit 0 when every submod is `affirming`, 4 when the token is valid
    /// but a submod is not, 2 for a malformed token, 3 for a bad signature,
    /// unknown key, algorithm mismatch, expiry, nonce or profile.
    Verify(VerifyArgs),
    /// Print the JWKS (public key set) of a signing key.
    Jwks {
        /// The signing key (PEM: PKCS#8 or SEC1, P-256 or P-384).
        #[arg(long, value_name = "PEM")]
        key: PathBuf,
        /// Its `kid` (default: its RFC 7638 thumbprint).
        #[arg(long, value_name = "KID")]
        kid: Option<String>,
    },
}

/// `teectl ear verify` flags.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The token (JWS compact serialization; surrounding whitespace ignored).
    #[arg(long, value_name = "FILE")]
    token: PathBuf,
    /// The issuer's JWKS (`{"keys": [...]}`) or a single JWK.
    #[arg(long, value_name = "FILE")]
    jwks: PathBuf,
    /// The nonce `eat_nonce` must carry (hex).
    #[arg(long, value_name = "HEX", conflicts_with = "allow_any_nonce")]
    nonce: Option<String>,
    /// Accept the token whatever its nonce, or without one (no freshness).
    #[arg(long)]
    allow_any_nonce: bool,
    /// Verification time (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Clock skew tolerated on `iat` and `exp`, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    leeway: u64,
    /// Also accept this `eat_profile` (dotted claim names only, e.g.
    /// Trustee's `tag:github.com,2024:confidential-containers/Trustee`).
    #[arg(long = "accept-profile", value_name = "PROFILE")]
    accept_profiles: Vec<String>,
}

fn ear_error(e: EarError) -> CliError {
    CliError::from(tee::Error::from(e))
}

/// Read at most `max` bytes (a larger file is refused before it is read whole).
fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, CliError> {
    let f = std::fs::File::open(path).map_err(|e| CliError::io(path, &e))?;
    let mut buf = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io(path, &e))?;
    if buf.len() > max {
        return Err(ear_error(EarError::TooLarge {
            len: buf.len(),
            max,
        })
        .context(path.display()));
    }
    Ok(buf)
}

fn load_key(path: &Path, kid: Option<&str>) -> Result<SigningKey, CliError> {
    let pem = read_bounded(path, MAX_PEM_LEN)?;
    let pem = String::from_utf8(pem)
        .map_err(|_| CliError::usage(format!("{}: not a PEM text file", path.display())))?;
    let key = SigningKey::from_pem(&pem).map_err(|e| ear_error(e).context(path.display()))?;
    Ok(match kid {
        Some(k) => key.with_kid(k),
        None => key,
    })
}

fn json_text(v: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(v).map_err(|e| CliError::usage(format!("JSON encoding: {e}")))
}

/// Print a line on stdout; a closed pipe is an error, never a panic.
fn print_line(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::usage(format!("stdout: {e}")))
}

/// `teectl verify --ear-out`: sign an EAR token for this appraisal (also
/// when it failed: the token then says `contraindicated`).
pub(crate) fn write_token(
    a: &EarOutArgs,
    claims: &Verified<Claims>,
    appraisal: &Appraisal,
    policy: &Policy,
    nonce_hex: Option<&str>,
) -> Result<(), CliError> {
    let Some(out) = &a.ear_out else {
        return Ok(());
    };
    let (key, ephemeral) = match &a.ear_key {
        Some(p) => (load_key(p, a.ear_kid.as_deref())?, false),
        None => {
            let k = SigningKey::generate(Alg::Es384).map_err(ear_error)?;
            let k = match &a.ear_kid {
                Some(kid) => k.with_kid(kid.clone()),
                None => k,
            };
            (k, true)
        }
    };
    let mut request = EarRequest::new();
    if let Some(n) = nonce_hex {
        let nonce = common::parse_hex("--nonce", n)?;
        request = request
            .with_nonce(&nonce)
            .map_err(|e| CliError::usage(format!("--ear-out: eat_nonce from --nonce: {e}")))?;
    }
    let platform: Platform = claims.platform;
    let submod = Submod::from_appraisal(claims, appraisal, tee_ear::mapping::policy_id(policy));
    let status = submod.status;
    request = request
        .with_submod(platform.name(), submod)
        .map_err(ear_error)?;
    let issuer = Issuer::new(SignerSet::new(key));
    let token = issuer.issue(request, UnixTime::now()).map_err(ear_error)?;
    common::write_atomic(out, format!("{token}\n").as_bytes())?;
    let kid = issuer.signers().current().kid().to_owned();
    let jwks_out = match (&a.ear_jwks_out, ephemeral) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => {
            let mut p = out.clone().into_os_string();
            p.push(".jwks.json");
            Some(PathBuf::from(p))
        }
        (None, false) => None,
    };
    if let Some(p) = &jwks_out {
        common::write_atomic(p, issuer.signers().jwks().to_json().as_bytes())?;
    }
    if ephemeral {
        eprintln!(
            "teectl: EAR token signed with an EPHEMERAL P-384 key (kid {kid}), not kept: \
             only the public JWKS written beside it can verify it; give --ear-key PEM for a lasting key"
        );
    }
    eprintln!(
        "teectl: wrote EAR token ({} {status}) to {}{}",
        platform.name(),
        out.display(),
        jwks_out
            .map(|p| format!(", JWKS to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::Verify(a) => verify(&a),
        Cmd::Jwks { key, kid } => {
            let k = load_key(&key, kid.as_deref())?;
            print_line(&SignerSet::new(k).jwks().to_json())?;
            Ok(exit::OK)
        }
    }
}

fn verify(a: &VerifyArgs) -> Result<u8, CliError> {
    // Room for surrounding whitespace; the library bounds the token itself.
    let raw = read_bounded(&a.token, MAX_TOKEN_LEN + 1024)?;
    let token = std::str::from_utf8(&raw)
        .map_err(|_| {
            ear_error(EarError::Malformed {
                part: "JWS",
                detail: "not UTF-8 text".into(),
            })
        })?
        .trim();
    let jwks = Jwks::from_json(&read_bounded(&a.jwks, MAX_JWKS_LEN)?)
        .map_err(|e| ear_error(e).context(a.jwks.display()))?;
    let at = match &a.at {
        Some(t) => UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--at: {e}")))?,
        None => UnixTime::now(),
    };
    let mut opts = VerifyOptions::new(at, a.leeway);
    match (&a.nonce, a.allow_any_nonce) {
        (Some(n), _) => opts = opts.expect_nonce(&common::parse_hex("--nonce", n)?),
        (None, true) => {
            eprintln!("teectl: WARNING: --allow-any-nonce: the token's freshness is NOT checked");
            opts = opts.allow_any_nonce(true);
        }
        (None, false) => {
            return Err(CliError::usage(
                "give --nonce HEX (the nonce the token must carry), or --allow-any-nonce",
            ));
        }
    }
    for p in &a.accept_profiles {
        opts = opts.accept_profile(p.clone());
    }
    let ear = tee_ear::verify(token, &jwks, &opts)
        .map_err(|e| ear_error(e).context(a.token.display()))?;
    print_line(&json_text(&ear.to_json())?)?;
    let not_affirming: Vec<String> = ear
        .submods
        .iter()
        .filter(|(_, s)| s.status != Status::Affirming)
        .map(|(n, s)| format!("{n} is {}", s.status))
        .collect();
    if not_affirming.is_empty() {
        Ok(exit::OK)
    } else {
        eprintln!(
            "teectl: EAR token verified, but not affirming: {}",
            not_affirming.join(", ")
        );
        Ok(exit::POLICY)
    }
}
