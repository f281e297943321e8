//! `teectl ratls`: attested TLS certificates (interoperable RA-TLS).
//!
//! `inspect` decodes a certificate's evidence extension, verifies the
//! evidence with the SDK's verifiers, checks that it binds the certificate
//! key (and the nonce), and appraises the claims; `cert` makes one from
//! this machine's TEE (or, with `--mock`, the software mock).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tee::{Policy, UnixTime, Verifiers};
use tee_ratls::{BindingError, CertOptions, KeyAlg, RaTlsCertificate, RaTlsError};

use crate::common::{self, CliError};
use crate::{exit, verify};

/// `teectl ratls` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Decode an RA-TLS certificate, verify its evidence, check the key
    /// binding and print the claims and the appraisal. Exit 0 accepted,
    /// 2 malformed, 3 not authentic or not bound (or expired), 4 refused by
    /// the policy (or another nonce), 5 unsupported evidence.
    Inspect(InspectArgs),
    /// Make an RA-TLS certificate and key (PEM) with this machine's TEE,
    /// or with the software mock (`--mock`, NO SECURITY).
    Cert(CertArgs),
}

/// Arguments of `teectl ratls inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The certificate (PEM, or DER).
    #[arg(value_name = "CERT")]
    cert: PathBuf,
    /// Appraisal policy (TOML); the fail-closed default without it. Its
    /// `report_data` is replaced by the key binding.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Accept mock evidence (NO SECURITY).
    #[arg(long)]
    allow_mock: bool,
    /// A reference launch measurement (hex; repeatable).
    #[arg(long = "allowed-measurement", value_name = "HEX")]
    allowed_measurements: Vec<String>,
    /// The nonce the claims buffer must carry (hex).
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// Verification time (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Print JSON (the `teectl verify` keys plus `ratls`).
    #[arg(long)]
    json: bool,
}

/// Arguments of `teectl ratls cert`.
#[derive(Debug, clap::Args)]
pub(crate) struct CertArgs {
    /// Use the software mock TEE (NO SECURITY) instead of this machine's.
    #[arg(long)]
    mock: bool,
    /// The certificate output (PEM).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: PathBuf,
    /// The private key output (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "FILE")]
    key_out: PathBuf,
    /// The key curve: p256 or p384.
    #[arg(long, value_name = "ALG", default_value = "p256")]
    key: String,
    /// Validity in seconds from now.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    lifetime: u64,
    /// A verifier nonce to put into the claims buffer (hex).
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// A DNS name for subjectAltName (repeatable).
    #[arg(long = "dns", value_name = "NAME")]
    dns: Vec<String>,
}

pub(crate) fn run(c: Cmd) -> Result<u8, CliError> {
    match c {
        Cmd::Inspect(a) => inspect(&a),
        Cmd::Cert(a) => cert(&a),
    }
}

/// The exit code of a refusal, by its kind.
fn code_of(e: &RaTlsError) -> u8 {
    match e {
        RaTlsError::Certificate(_)
        | RaTlsError::MissingExtension
        | RaTlsError::DuplicateExtension
        | RaTlsError::Extension(_) => exit::MALFORMED,
        RaTlsError::Evidence(inner) | RaTlsError::Attest(inner) => exit::of(inner),
        RaTlsError::UnsupportedEvidence(_) | RaTlsError::NoInteroperableTag(_) => exit::UNSUPPORTED,
        RaTlsError::Binding(BindingError::Claims(_)) => exit::MALFORMED,
        RaTlsError::Binding(BindingError::Nonce) | RaTlsError::Appraisal(_) => exit::POLICY,
        RaTlsError::Binding(_) | RaTlsError::NotYetValid { .. } | RaTlsError::Expired { .. } => {
            exit::AUTHENTICITY
        }
        RaTlsError::Key(_) | RaTlsError::Encoding(_) => exit::USAGE,
        _ => exit::USAGE,
    }
}

fn cli_error(e: RaTlsError) -> CliError {
    CliError {
        code: code_of(&e),
        message: e.to_string(),
        detail: Some(format!("{e:?}")),
    }
}

fn policy(a: &InspectArgs) -> Result<Policy, CliError> {
    let mut p = match &a.policy {
        Some(path) => Policy::from_toml_bytes(&common::read_bounded(
            path,
            common::limit::POLICY,
            "policy file",
        )?)
        .map_err(|e| CliError::from(e).context(path.display()))?,
        None => Policy::default(),
    };
    if a.allow_mock {
        p.allow_mock = true;
    }
    for m in &a.allowed_measurements {
        p.allowed_measurements
            .push(common::parse_hex("--allowed-measurement", m)?.into());
    }
    Ok(p)
}

fn ratls_json(c: &RaTlsCertificate, peer: &tee_ratls::AttestedPeer) -> Value {
    serde_json::json!({
        "evidence_tag": c.tag.value(),
        "extension_critical": c.critical,
        "not_before": c.not_before.to_string(),
        "not_after": c.not_after.to_string(),
        "pubkey_hash_alg": peer.claims_buffer.hash_alg.id(),
        "pubkey_hash": hex::encode(&peer.claims_buffer.pubkey_hash),
        "nonce": peer.claims_buffer.nonce.as_ref().map(hex::encode),
        "spki_sha256": hex::encode(peer.spki_sha256),
        "key_bound": true,
    })
}

fn inspect(a: &InspectArgs) -> Result<u8, CliError> {
    let bytes = common::read_bounded(
        &a.cert,
        (2 * tee_ratls::MAX_CERTIFICATE) as u64,
        "certificate",
    )?;
    // DER starts with a SEQUENCE tag; anything else is read as PEM.
    let decoded = if bytes.first() == Some(&0x30) {
        RaTlsCertificate::from_der(&bytes)
    } else {
        RaTlsCertificate::from_pem(&bytes)
    }
    .map_err(|e| cli_error(e).context(a.cert.display()))?;
    let at = match &a.at {
        Some(t) => UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--at: {e}")))?,
        None => UnixTime::now(),
    };
    let nonce = a
        .nonce
        .as_deref()
        .map(|n| common::parse_hex("--nonce", n))
        .transpose()?;
    let policy = policy(a)?;
    // Every compiled-in platform with its pinned roots, and the mock root:
    // the appraisal denies mock evidence unless allowed.
    let verifiers = Verifiers::new().trust_mock_root();
    let (peer, refused) = match decoded.verify(&verifiers, &policy, nonce.as_deref(), at) {
        Ok(p) => (p, None),
        Err(RaTlsError::Appraisal(p)) => {
            let code = exit::POLICY;
            (*p, Some(code))
        }
        Err(e) => return Err(cli_error(e).context(a.cert.display())),
    };
    if a.json {
        let mut j = verify::output(&peer.claims, &peer.appraisal)?;
        if let Value::Object(m) = &mut j {
            m.insert("ratls".into(), ratls_json(&decoded, &peer));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&j).map_err(|e| CliError::usage(e.to_string()))?
        );
    } else {
        let c = &peer.claims;
        println!("platform        {}", c.platform);
        println!("evidence tag    {:#x}", decoded.tag.value());
        println!(
            "validity        {} .. {}",
            decoded.not_before, decoded.not_after
        );
        println!(
            "key binding     pubkey-hash (alg {}) = {}: bound to this certificate's key",
            peer.claims_buffer.hash_alg.id(),
            hex::encode(&peer.claims_buffer.pubkey_hash)
        );
        if let Some(n) = &peer.claims_buffer.nonce {
            println!("nonce           {}", hex::encode(n));
        }
        println!(
            "measurement     {}",
            c.launch_measurement
                .value()
                .map_or_else(|| "(none)".to_string(), |m| m.to_string())
        );
        println!("debug           {}", c.debug);
        println!(
            "appraisal       {}",
            if peer.appraisal.passed() {
                "passed"
            } else {
                "FAILED"
            }
        );
        for ch in &peer.appraisal.checks {
            println!("  {:?}\t{}\t{}", ch.outcome, ch.name, ch.detail);
        }
    }
    match refused {
        Some(code) => {
            let failed: Vec<_> = peer
                .appraisal
                .failed()
                .map(|c| format!("{} ({})", c.name, c.detail))
                .collect();
            eprintln!("teectl: appraisal failed: {}", failed.join("; "));
            Ok(code)
        }
        None => Ok(exit::OK),
    }
}

fn cert(a: &CertArgs) -> Result<u8, CliError> {
    let key: KeyAlg = a
        .key
        .parse()
        .map_err(|e: RaTlsError| CliError::usage(format!("--key: {e}")))?;
    let backend = if a.mock {
        eprintln!("teectl: NO SECURITY: the software mock TEE; anyone can forge its evidence");
        tee::open(tee::Platform::Mock)?
    } else {
        tee::open_detected().map_err(|e| {
            CliError::from(e).context("no TEE to attest the certificate (`--mock` for the mock)")
        })?
    };
    let mut opts = CertOptions::new()
        .key_alg(key)
        .lifetime(Duration::from_secs(a.lifetime));
    if let Some(n) = &a.nonce {
        opts = opts.nonce(common::parse_hex("--nonce", n)?);
    }
    for d in &a.dns {
        opts = opts.dns_name(d.clone());
    }
    let attester = backend.attester()?;
    let c = tee_ratls::issue(attester, &opts, UnixTime::now()).map_err(cli_error)?;
    let key_pem = c.key.to_pkcs8_pem().map_err(cli_error)?;
    common::write_secret_atomic(&a.key_out, key_pem.as_bytes())?;
    common::write_atomic(&a.out, c.cert_pem().map_err(cli_error)?.as_bytes())?;
    eprintln!(
        "teectl: wrote {} ({} evidence, tag {:#x}, valid until {}) and {}",
        a.out.display(),
        c.extension.evidence.platform,
        c.extension.tag.value(),
        c.not_after,
        a.key_out.display()
    );
    Ok(exit::OK)
}
