//! `teectl`: try, script and diagnose the TEE SDK from the command line.
//!
//! Exit codes (every subcommand, see [`exit`]): 0 ok, 1 usage or I/O error,
//! 2 malformed input, 3 authenticity failure, 4 policy/appraisal failure,
//! 5 unsupported on this platform or by this build.
//!
//! Modules: `common` (errors, files, report data, backend selection) and
//! `exit` import no other module; each platform module (`sev`, `tdx`, `pef`,
//! one cargo feature each) owns its subcommands and its `verify` flags;
//! `verify` calls into the platform modules, never the other way round.

#[cfg(all(feature = "sev-snp", feature = "tdx"))]
mod collateral;
mod common;
mod demo;
mod doctor;
mod ear;
mod exit;
mod gcp;
mod kbs;
mod measure;
#[cfg(feature = "pef")]
mod pef;
mod ratls;
mod reference;
mod seal;
mod serve;
#[cfg(feature = "sev-snp")]
mod sev;
#[cfg(feature = "simulation")]
mod simulation;
mod sys;
#[cfg(feature = "tdx")]
mod tdx;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

pub(crate) use common::{CliError, Global};

/// Command-line tool of the TEE SDK.
#[derive(Debug, Parser)]
#[command(name = "teectl", version, about, after_help = exit::HELP)]
struct Cli {
    /// Backend to use: auto detects this machine's TEE (never the mock).
    #[arg(long, global = true, env = "TEE_BACKEND", default_value = "auto")]
    backend: BackendChoice,
    /// Whether `--backend` came from the command line (not `TEE_BACKEND` or
    /// the default); set from the parsed matches.
    #[arg(skip)]
    backend_on_command_line: bool,
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
    /// A simulated Azure SEV-SNP VM: fake vTPM and fake AMD PKI (build
    /// feature `simulation`; NO SECURITY).
    #[cfg(feature = "simulation")]
    AzureSimSnp,
    /// A simulated Azure TDX VM: fake vTPM and fake Intel PKI (build
    /// feature `simulation`; NO SECURITY).
    #[cfg(feature = "simulation")]
    AzureSimTdx,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Name this machine's environment (bare-metal guest, Azure CVM, GCP,
    /// AWS, no TEE) and explain each probe. Exit 0 when a TEE is detected,
    /// 5 when none.
    Detect(common::DetectArgs),
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
    /// EAR attestation-result tokens: verify one, print a key's JWKS.
    #[command(subcommand)]
    Ear(ear::Cmd),
    /// Collateral: fetch into a store, write a portable bundle, inspect one.
    #[cfg(all(feature = "sev-snp", feature = "tdx"))]
    #[command(subcommand)]
    Collateral(collateral::Cmd),
    /// Compute reference values (launch digests, MRTD, RTMRs) and policy.
    #[command(subcommand)]
    Reference(reference::Cmd),
    /// Check this machine's TEE capabilities (SEV-SNP, TDX; guest or host;
    /// Azure CVMs) with remediation hints. Exit 0 ready, 4 a check failed,
    /// 5 no TEE capability.
    #[command(after_help = doctor::EXIT_HELP)]
    Doctor(doctor::DoctorArgs),
    /// GCP tools (the GCE vTPM's AK certificate).
    #[command(subcommand)]
    Gcp(gcp::Cmd),
    /// Trustee key broker (KBS protocol 0.4.0): attest and fetch a resource.
    #[command(subcommand)]
    Kbs(kbs::Cmd),
    /// Attested TLS (RA-TLS) certificates: inspect one, make one.
    #[command(subcommand)]
    Ratls(ratls::Cmd),
    /// Run the verification service (challenge, attest, EAR tokens, JWKS, metrics).
    Serve(Box<serve::ServeArgs>),
    /// SEV-SNP tools.
    #[cfg(feature = "sev-snp")]
    #[command(name = "sev-snp", subcommand)]
    SevSnp(sev::Cmd),
    /// TDX tools.
    #[cfg(feature = "tdx")]
    #[command(subcommand)]
    Tdx(tdx::Cmd),
    /// IBM PEF tools (ESM blobs and the simulated ultravisor).
    #[cfg(feature = "pef")]
    #[command(subcommand)]
    Pef(pef::Cmd),
}

fn run(cli: Cli) -> Result<u8, CliError> {
    let g = Global {
        backend: cli.backend,
        backend_on_command_line: cli.backend_on_command_line,
    };
    match cli.cmd {
        Cmd::Detect(a) => common::detect(&a),
        Cmd::Report(a) => common::report(&g, &a),
        Cmd::Verify(a) => verify::run(&a),
        Cmd::Measure(m) => measure::run(&g, m),
        Cmd::Seal(a) => seal::seal(&g, &a),
        Cmd::Unseal(a) => seal::unseal(&g, &a),
        Cmd::Demo => demo::run(&g),
        Cmd::Ear(c) => ear::run(c),
        Cmd::Reference(c) => reference::run(c),
        Cmd::Doctor(a) => doctor::run(&a),
        Cmd::Gcp(c) => gcp::run(c),
        Cmd::Kbs(c) => kbs::run(&g, c),
        Cmd::Ratls(c) => ratls::run(c),
        Cmd::Serve(a) => serve::run(&a),
        #[cfg(all(feature = "sev-snp", feature = "tdx"))]
        Cmd::Collateral(c) => collateral::run(c),
        #[cfg(feature = "sev-snp")]
        Cmd::SevSnp(c) => sev::run(c),
        #[cfg(feature = "tdx")]
        Cmd::Tdx(c) => tdx::run(c),
        #[cfg(feature = "pef")]
        Cmd::Pef(c) => pef::run(c),
    }
}

fn main() -> ExitCode {
    // Parsed through `ArgMatches` to know where `--backend` came from: an
    // environment variable alone must not select the mock for sealing.
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let cli = match parsed {
        Ok((mut c, m)) => {
            c.backend_on_command_line =
                m.value_source("backend") == Some(clap::parser::ValueSource::CommandLine);
            c
        }
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => exit::OK,
                _ => exit::USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // `teectl verify | head`: end quietly when the reader goes away (not
    // for the server, whose sockets keep EPIPE an error).
    if !matches!(cli.cmd, Cmd::Serve(_)) {
        sys::default_sigpipe();
    }
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
