//! `teectl`: try, script and diagnose the TEE SDK from the command line.
//!
//! Exit codes (every subcommand): 0 ok, 1 usage or I/O error, 2 malformed
//! input, 3 authenticity failure, 4 policy/appraisal failure, 5 unsupported
//! on this platform.

mod common;
mod demo;
mod measure;
mod pef;
mod seal;
mod sev;
mod tdx;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub(crate) use common::{CliError, Global};

const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  usage or I/O error
  2  malformed input
  3  authenticity failure (signature, chain, expired or revoked collateral)
  4  policy / appraisal failure
  5  unsupported on this platform";

/// Command-line tool of the TEE SDK.
#[derive(Debug, Parser)]
#[command(name = "teectl", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// Backend to use: auto detects this machine's TEE (never the mock).
    #[arg(long, global = true, env = "TEE_BACKEND", default_value = "auto")]
    backend: BackendChoice,
    /// More detail on errors.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

/// `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BackendChoice {
    /// Detect the hardware TEE (never falls back to the mock).
    Auto,
    /// AMD SEV-SNP.
    SevSnp,
    /// Intel TDX.
    Tdx,
    /// IBM PEF.
    Pef,
    /// The software mock (NO SECURITY).
    Mock,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Probe this machine for TEE guest interfaces and explain each probe.
    Detect {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Obtain evidence bound to report data and write it as evidence JSON.
    Report(common::ReportArgs),
    /// Verify evidence (authenticity), appraise it (policy), print JSON.
    Verify(Box<verify::VerifyArgs>),
    /// Read or extend runtime measurement registers.
    #[command(subcommand)]
    Measure(measure::MeasureCmd),
    /// Seal a file to this TEE.
    Seal(seal::SealArgs),
    /// Unseal a file sealed by `teectl seal`.
    Unseal(seal::SealArgs),
    /// Run the whole flow: detect, attest, verify, appraise, seal, measure.
    Demo,
    /// Check this machine's SEV capabilities (host or guest) with remediation hints.
    Doctor {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// SEV-SNP tools.
    #[command(name = "sev-snp", subcommand)]
    SevSnp(sev::Cmd),
    /// TDX tools.
    #[command(subcommand)]
    Tdx(tdx::Cmd),
    /// IBM PEF tools (ESM blobs and the simulated ultravisor).
    #[command(subcommand)]
    Pef(pef::Cmd),
}

fn run(cli: Cli) -> Result<u8, CliError> {
    let g = Global {
        backend: cli.backend,
        verbose: cli.verbose,
    };
    match cli.cmd {
        Cmd::Detect { json } => common::detect(json),
        Cmd::Report(a) => common::report(&g, &a),
        Cmd::Verify(a) => verify::run(&g, &a),
        Cmd::Measure(m) => measure::run(&g, m),
        Cmd::Seal(a) => seal::seal(&g, &a),
        Cmd::Unseal(a) => seal::unseal(&g, &a),
        Cmd::Demo => demo::run(&g),
        Cmd::Doctor { json } => sev::doctor(&g, json),
        Cmd::SevSnp(c) => sev::run(&g, c),
        Cmd::Tdx(c) => tdx::run(&g, c),
        Cmd::Pef(c) => pef::run(&g, c),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 1,
                _ => 1,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let verbose = cli.verbose;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("teectl: error: {}", e.message);
            if verbose > 0 {
                if let Some(d) = &e.detail {
                    eprintln!("  detail: {d}");
                }
            } else if e.detail.is_some() {
                eprintln!("  (run with -v for detail)");
            }
            ExitCode::from(e.code)
        }
    }
}
