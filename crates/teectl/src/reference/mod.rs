//! `teectl reference ...`: compute the reference values a relying party
//! should expect (launch digests, ID blocks, MRTD, RTMRs), explain every
//! input and step (`--explain`), and write them as a policy section
//! (`--policy-out FILE`) that `teectl verify --policy` reads as is.
//!
//! One submodule per platform, each owning its flags; this module only
//! dispatches.

#[cfg(feature = "pef")]
mod pef;
#[cfg(feature = "sev-snp")]
mod snp;
#[cfg(feature = "tdx")]
mod tdx;

use crate::common::CliError;

/// `teectl reference` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// AMD SEV-SNP: the launch digest from OVMF and the VMM's inputs; ID blocks.
    #[cfg(feature = "sev-snp")]
    #[command(name = "sev-snp")]
    SevSnp(snp::Args),
    /// Intel TDX: MRTD from a TDVF image; RTMRs from a known-good event log.
    #[cfg(feature = "tdx")]
    Tdx(tdx::Args),
    /// IBM PEF: the ESM measurement from the kernel, initrd and boot arguments.
    #[cfg(feature = "pef")]
    Pef(pef::Args),
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        #[cfg(feature = "sev-snp")]
        Cmd::SevSnp(a) => snp::run(a),
        #[cfg(feature = "tdx")]
        Cmd::Tdx(a) => tdx::run(a),
        #[cfg(feature = "pef")]
        Cmd::Pef(a) => pef::run(a),
    }
}
