//! `teectl gcp ...`: GCP specifics (the GCE vTPM's AK certificate).

use std::path::PathBuf;

use tee::UnixTime;

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
