//! `teectl seal` / `teectl unseal`: file in, file out (written atomically).

use std::path::PathBuf;

use tee::{SealBinding, SealPolicy};

use crate::Global;
use crate::common::{self, CliError};

#[derive(Debug, clap::Args)]
pub(crate) struct SealArgs {
    /// Input file.
    #[arg(long = "in", value_name = "FILE")]
    pub(crate) input: PathBuf,
    /// Output file (written atomically; must differ from the input).
    #[arg(short, long = "out", value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Purpose label: keys are separated by purpose.
    #[arg(long, default_value = "teectl")]
    pub(crate) purpose: String,
    /// What the key is bound to.
    #[arg(long, value_enum, default_value = "measurement")]
    pub(crate) binding: Binding,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Binding {
    /// Same launch measurement on the same TEE instance.
    Measurement,
    /// Same image family.
    Family,
    /// Any workload on the same TEE instance.
    Instance,
}

impl SealArgs {
    fn policy(&self) -> SealPolicy {
        SealPolicy::new(
            self.purpose.clone(),
            match self.binding {
                Binding::Measurement => SealBinding::Measurement,
                Binding::Family => SealBinding::Family,
                Binding::Instance => SealBinding::Instance,
            },
        )
    }

    fn check_paths(&self) -> Result<(), CliError> {
        let same = match (
            std::fs::canonicalize(&self.input),
            std::fs::canonicalize(&self.output),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.input == self.output,
        };
        if same {
            return Err(CliError::usage(
                "--out must differ from --in (the input is never overwritten)",
            ));
        }
        Ok(())
    }
}

pub(crate) fn seal(g: &Global, a: &SealArgs) -> Result<u8, CliError> {
    a.check_paths()?;
    let data = common::read(&a.input)?;
    let backend = common::open_backend(g)?;
    let blob = backend.sealer()?.seal(&data, &a.policy())?;
    common::write_atomic(&a.output, &blob)?;
    eprintln!(
        "sealed {} bytes to {} ({})",
        data.len(),
        a.output.display(),
        backend.platform()
    );
    Ok(0)
}

pub(crate) fn unseal(g: &Global, a: &SealArgs) -> Result<u8, CliError> {
    a.check_paths()?;
    let blob = common::read(&a.input)?;
    let backend = common::open_backend(g)?;
    let data = backend.sealer()?.unseal(&blob, &a.policy())?;
    common::write_atomic(&a.output, &data)?;
    eprintln!("unsealed {} bytes to {}", data.len(), a.output.display());
    Ok(0)
}
