//! `teectl gcp ...`: GCP specifics (the GCE vTPM's AK certificate), and
//! the GCE flags of `teectl verify` (`--gce-ak-cert`, `--gce-intermediate`,
//! `--gce-ca`): the AK certificate as optional additional evidence.

use std::path::{Path, PathBuf};

use tee::gcp::GceAkClaims;
use tee::{Evidence, Platform, UnixTime};

use crate::common::{self, CliError};
use crate::exit;

/// GCP subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Verify a GCE vTPM AK certificate chain to a root you give, and print
    /// the AK public key and the instance it names (JSON). The vTPM is
    /// host-emulated: the AK is bound to the TEE only if you bind it (see
    /// docs/cloud.md).
    AkCert {
        /// The AK certificate (DER or PEM; from vTPM NV 0x01c10000 (RSA) or
        /// 0x01c10002 (ECC)).
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Intermediate certificates (DER or PEM bundle; repeatable).
        #[arg(long = "intermediate", value_name = "FILE")]
        intermediates: Vec<PathBuf>,
        /// The trust anchor (DER or PEM), e.g. Google's "EK/AK CA Root".
        #[arg(long, value_name = "FILE")]
        root: PathBuf,
        /// Verification time (RFC 3339); default now.
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
    },
}

/// The GCE flags of `teectl verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct GceVerifyArgs {
    /// GCP: the GCE vTPM's AK certificate (DER or PEM) as additional
    /// evidence for SEV-SNP or TDX evidence of a GCP VM. Its chain is
    /// verified to --gce-ca at --at, and the evidence's report data must be
    /// `ReportData::bind(nonce, SHA-512(AK SPKI DER))` (check `gce.ak_binding`;
    /// needs --nonce). Shown as `gce_ak` in the output.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["gce_ca", "nonce"],
        conflicts_with_all = ["report_data", "user_data"]
    )]
    pub(crate) gce_ak_cert: Option<PathBuf>,
    /// GCP: intermediate certificates of the AK certificate (DER or PEM
    /// bundle; repeatable), e.g. Google's "EK/AK CA Intermediate".
    #[arg(
        long = "gce-intermediate",
        value_name = "FILE",
        requires = "gce_ak_cert"
    )]
    pub(crate) gce_intermediates: Vec<PathBuf>,
    /// GCP: the trust anchor of the AK certificate (DER or PEM, one
    /// certificate), e.g. Google's "EK/AK CA Root". This SDK pins none.
    #[arg(long, value_name = "FILE", requires = "gce_ak_cert")]
    pub(crate) gce_ca: Option<PathBuf>,
}

/// The AK certificate of `--gce-ak-cert`, verified for evidence `ev` at
/// `at`; `None` without the flag.
///
/// # Errors
/// Usage (exit 1) for evidence that is not bare SEV-SNP/TDX (or the mock,
/// for tests); the chain's errors (exit 3 authenticity, 2 malformed).
pub(crate) fn verify_ak_cert(
    a: &GceVerifyArgs,
    ev: &Evidence,
    at: UnixTime,
) -> Result<Option<GceAkClaims>, CliError> {
    let Some(cert) = &a.gce_ak_cert else {
        return Ok(None);
    };
    #[cfg(feature = "azure")]
    if tee::azure::is_azure(ev) {
        return Err(CliError::usage(
            "--gce-ak-cert: this is Azure vTPM evidence, which names its own AK; the GCE AK \
             certificate goes with SEV-SNP or TDX evidence of a GCP VM",
        ));
    }
    if !matches!(
        ev.platform,
        Platform::SevSnp | Platform::Tdx | Platform::Mock
    ) {
        return Err(CliError::usage(format!(
            "--gce-ak-cert: GCP VMs are SEV-SNP or TDX guests, not {}",
            ev.platform
        )));
    }
    let read = |p: &Path, what: &str| common::read_bounded(p, common::limit::CERTS, what);
    let ak = read(cert, "GCE AK certificate")?;
    let inter = a
        .gce_intermediates
        .iter()
        .map(|p| read(p, "GCE intermediate certificates"))
        .collect::<Result<Vec<_>, _>>()?;
    let root_path = a
        .gce_ca
        .as_deref()
        .ok_or_else(|| CliError::usage("--gce-ak-cert needs --gce-ca FILE"))?;
    let root = read(root_path, "GCE root certificate")?;
    tee::gcp::verify_ak_certificate(&ak, &inter, &root, at)
        .map(Some)
        .map_err(|e| CliError::from(e).context(format!("--gce-ak-cert {}", cert.display())))
}

/// The `gce_ak` object of the verify output: what the certificate says,
/// the binding rule, and whether the evidence's report data binds the AK.
pub(crate) fn output(c: &GceAkClaims, bound: bool) -> Result<serde_json::Value, CliError> {
    let mut v =
        serde_json::to_value(c).map_err(|e| CliError::usage(format!("JSON encoding: {e}")))?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert(
            "binding".into(),
            "report_data = ReportData::bind(nonce, SHA-512(AK SPKI DER))".into(),
        );
        m.insert("bound".into(), bound.into());
    }
    Ok(v)
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::AkCert {
            cert,
            intermediates,
            root,
            at,
        } => {
            let read =
                |p: &PathBuf, what: &str| common::read_bounded(p, common::limit::CERTS, what);
            let ak = read(&cert, "AK certificate")?;
            let inter = intermediates
                .iter()
                .map(|p| read(p, "intermediate certificates"))
                .collect::<Result<Vec<_>, _>>()?;
            let root = read(&root, "root certificate")?;
            let at = match &at {
                Some(t) => {
                    UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--at: {e}")))?
                }
                None => UnixTime::now(),
            };
            let claims = tee::gcp::verify_ak_certificate(&ak, &inter, &root, at)?;
            let text = serde_json::to_string_pretty(&claims)
                .map_err(|e| CliError::usage(format!("JSON encoding: {e}")))?;
            println!("{text}");
            Ok(exit::OK)
        }
    }
}
