//! `teectl seal` / `teectl unseal`: file in, file out (written atomically;
//! unsealed plaintext created with mode 0600). The mock backend seals only
//! when `--backend mock` is given on the command line.

use std::path::PathBuf;

use tee::{Backend, Platform, SealBinding, SealPolicy};

use crate::common::{self, CliError};
use crate::{BackendChoice, Global};

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

/// The backend for sealing. The mock's sealing key is public, so the mock
/// is used only when `--backend mock` is on the command line: `TEE_BACKEND=mock`
/// alone (say, left in a shell profile) is a usage error, never a silent
/// fallback to a key everyone has.
fn sealing_backend(g: &Global, op: &str) -> Result<Box<dyn Backend>, CliError> {
    if g.backend == BackendChoice::Mock && !g.backend_on_command_line {
        return Err(CliError::usage(format!(
            "refusing to {op} with the mock backend chosen by TEE_BACKEND alone: the mock's \
             sealing key is public (NO SECURITY); pass --backend mock on the command line \
             to {op} with it anyway"
        )));
    }
    let backend = common::open_backend(g)?;
    if backend.platform() == Platform::Mock {
        eprintln!(
            "teectl: using the MOCK backend: NO SECURITY (its sealing key is public: anyone can unseal what it seals)"
        );
    }
    Ok(backend)
}

pub(crate) fn seal(g: &Global, a: &SealArgs) -> Result<u8, CliError> {
    a.check_paths()?;
    let backend = sealing_backend(g, "seal")?;
    let data = common::read_bounded(&a.input, common::limit::SEAL_INPUT, "file to seal")?;
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
    let backend = sealing_backend(g, "unseal")?;
    let blob = common::read_bounded(&a.input, common::limit::SEALED, "sealed blob")?;
    let data = backend.sealer()?.unseal(&blob, &a.policy())?;
    // Plaintext: created 0600, an existing target's narrower mode kept.
    common::write_secret_atomic(&a.output, &data)?;
    eprintln!("unsealed {} bytes to {}", data.len(), a.output.display());
    Ok(0)
}
