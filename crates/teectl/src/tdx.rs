//! `teectl` commands for TDX.
//!
//! CONTRACT (the backend owner fills this module in; `main.rs` and
//! `verify.rs` call exactly these items, so keep their signatures):
//! - `pub(crate) enum Cmd` (clap `Subcommand`): the platform's own subcommands
//!   (`teectl sev-snp ...`, `teectl tdx ...`, `teectl pef ...`), run by
//!   `pub(crate) fn run(g: &Global, cmd: Cmd) -> Result<u8, CliError>` returning the exit code.
//! - `pub(crate) fn evidence_from_args(a: &VerifyArgs) -> Result<Evidence, CliError>`: build
//!   an evidence envelope from the raw-file flags of `teectl verify` (see `verify::VerifyArgs`).
//! - `pub(crate) fn verifier(a: &VerifyArgs) -> Result<Box<dyn Verifier>, CliError>`: the
//!   verifier configured by those flags (pinned roots; collateral; keys).
//! - `pub(crate) fn apply_policy(a: &VerifyArgs, p: &mut Policy) -> Result<(), CliError>`:
//!   platform-specific policy flags (e.g. `--accept-tcb-status`).
//! - sev.rs only: `pub(crate) fn doctor(g: &Global, json: bool) -> Result<u8, CliError>`.
//!
//! Errors: `CliError::from(tee::Error)` maps to the documented exit codes
//! (2 malformed, 3 authenticity, 4 policy, 5 unsupported); `CliError::usage` is 1.
//! Helpers: `common::{read, write_atomic, parse_hex}`; JSON output of verification is
//! generic (`verify::output`): raw claim fields are flattened into the top level.
#![allow(dead_code, unused_variables)]

use tee::{Evidence, Platform, Policy, Verifier};

use crate::Global;
use crate::common::CliError;
use crate::verify::VerifyArgs;

fn not_yet() -> CliError {
    CliError::from(tee::Error::unsupported(
        Platform::Tdx,
        tee::Operation::Verification,
        "the TDX commands of teectl are not implemented yet",
    ))
}

/// TDX subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Print a human-readable dump of a report or quote.
    Show {
        /// The file.
        file: std::path::PathBuf,
    },
}

pub(crate) fn run(g: &Global, cmd: Cmd) -> Result<u8, CliError> {
    Err(not_yet())
}

pub(crate) fn evidence_from_args(a: &VerifyArgs) -> Result<Evidence, CliError> {
    Err(not_yet())
}

pub(crate) fn verifier(a: &VerifyArgs) -> Result<Box<dyn Verifier>, CliError> {
    Err(not_yet())
}

pub(crate) fn apply_policy(a: &VerifyArgs, p: &mut Policy) -> Result<(), CliError> {
    Ok(())
}
