//! Placeholder until the reference-value computation for this platform lands.

use crate::common::CliError;

/// Flags (none yet).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_a: Args) -> Result<u8, CliError> {
    Err(CliError::usage(
        "reference values for this platform are not implemented yet",
    ))
}
