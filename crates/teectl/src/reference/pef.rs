//! `teectl reference pef`: the ESM measurement a PEF guest's report must
//! carry, from the kernel, initrd and boot arguments the relying party
//! expects (and the RTAS stub: QEMU/SLOF's unless `--rtas`). `--explain`
//! prints each digest, `--json` the reference value, `--policy-out FILE` a
//! policy with the measurement in `allowed_measurements` (atomic write,
//! read by `teectl verify --policy` as is).

use std::path::PathBuf;

use tee::Policy;
use tee::pef::reference as r;

use crate::common::{self, CliError};
use crate::exit;

/// Flags of `teectl reference pef`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The flat kernel binary (`objcopy -O binary -S vmlinux`).
    #[arg(long, value_name = "FILE")]
    kernel: PathBuf,
    /// The initrd, before the ESM cpio is prepended.
    #[arg(long, value_name = "FILE")]
    initrd: PathBuf,
    /// The exact boot arguments.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    bootargs: String,
    /// The RTAS image (default: QEMU/SLOF's stub, as svm-tool assumes).
    #[arg(long, value_name = "FILE")]
    rtas: Option<PathBuf>,
    /// Print the reference value as JSON.
    #[arg(long)]
    json: bool,
    /// Print every input and digest.
    #[arg(long)]
    explain: bool,
    /// Write a policy pinning the measurement (TOML).
    #[arg(long, value_name = "FILE")]
    policy_out: Option<PathBuf>,
}

pub(crate) fn run(a: Args) -> Result<u8, CliError> {
    let image =
        |p: &std::path::Path, what: &str| common::read_bounded(p, common::limit::IMAGE, what);
    let kernel = image(&a.kernel, "kernel")?;
    let initrd = image(&a.initrd, "initrd")?;
    let rtas = a
        .rtas
        .as_deref()
        .map(|p| image(p, "RTAS image"))
        .transpose()?;
    let v = r::esm_measurement(rtas.as_deref(), &kernel, &initrd, &a.bootargs)?;
    if let Some(p) = &a.policy_out {
        let mut s = String::from(
            "# Written by `teectl reference pef`: allowed_measurements = the ESM measurement of\n",
        );
        for i in &v.transcript.inputs {
            s.push_str(&format!("#   {}: {}\n", i.name, i.value));
        }
        s.push_str(&r::policy(Policy::new(), &v).to_toml()?);
        common::write_atomic(p, s.as_bytes())?;
    }
    let text = if a.json {
        serde_json::to_string_pretty(&v)
            .map_err(|e| CliError::usage(format!("JSON encoding: {e}")))?
    } else if a.explain {
        let mut s = format!("{} = {}\n", v.name, v.value);
        for i in &v.transcript.inputs {
            s.push_str(&format!("  input {}: {}\n", i.name, i.value));
        }
        for st in &v.transcript.steps {
            s.push_str(&format!("  {} {}: {}\n", st.index, st.op, st.detail));
        }
        s
    } else {
        format!("{}\n", v.value)
    };
    use std::io::Write as _;
    let _ = write!(std::io::stdout().lock(), "{text}");
    Ok(exit::OK)
}
