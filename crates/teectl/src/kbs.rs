//! `teectl kbs`: the Trustee key broker client (KBS protocol 0.4.0).

use std::path::PathBuf;

use tee_kbs::{KbsClient, KbsError, ResourcePath};

use crate::common::{self, CliError, Global};
use crate::exit;

/// `teectl kbs` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Attest to the KBS with this TEE's evidence (`--backend`) and write the
    /// decrypted resource to a file (mode 0600, written atomically).
    GetResource {
        /// KBS base URL, `http://host[:port]` (`https://` with the `https`
        /// feature); `/kbs/v0` is added.
        #[arg(long, value_name = "URL")]
        url: String,
        /// Resource path `repository/type/tag`.
        #[arg(long, value_name = "PATH")]
        path: String,
        /// Output file for the resource (0600).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: PathBuf,
        /// Use an RSA (RSA-OAEP-256) ephemeral key instead of EC P-256.
        #[arg(long)]
        rsa: bool,
    },
}

fn kbs_error(e: KbsError) -> CliError {
    let code = match &e {
        KbsError::Evidence(inner) => return CliError::from(inner.clone()).context("kbs"),
        KbsError::InvalidArgument(_) | KbsError::Transport(_) | KbsError::Random => exit::USAGE,
        KbsError::Protocol { .. } | KbsError::Status { .. } | KbsError::NotFound { .. } => {
            exit::MALFORMED
        }
        // The KBS did not accept the evidence, or the resource did not open.
        KbsError::Unauthorized { .. } | KbsError::Jwe(_) => exit::AUTHENTICITY,
        KbsError::PolicyDenied { .. } => exit::POLICY,
        _ => exit::USAGE,
    };
    CliError {
        code,
        message: e.to_string(),
        detail: Some(format!("{e:?}")),
    }
}

pub(crate) fn run(g: &Global, cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::GetResource {
            url,
            path,
            output,
            rsa,
        } => {
            let path = ResourcePath::parse(&path).map_err(kbs_error)?;
            let backend = common::open_backend(g)?;
            if backend.platform() == tee::Platform::Mock {
                eprintln!("teectl: using the MOCK backend: NO SECURITY");
            }
            #[cfg(feature = "https")]
            let transport = tee_fetch::Https::default();
            #[cfg(not(feature = "https"))]
            let transport = tee_fetch::PlainHttp::default();
            let key = if rsa {
                tee_kbs::TeeKey::generate_rsa(3072)
            } else {
                tee_kbs::TeeKey::generate_ec()
            }
            .map_err(kbs_error)?;
            let client = KbsClient::with_key(&url, transport, key).map_err(kbs_error)?;
            let secret = client
                .fetch_resource(backend.attester()?, &path)
                .map_err(kbs_error)?;
            common::write_secret_atomic(&output, &secret)?;
            eprintln!(
                "teectl: wrote {} bytes of {path} to {}",
                secret.len(),
                output.display()
            );
            Ok(exit::OK)
        }
    }
}
