//! `teectl measure read|extend`.

use std::path::PathBuf;

use crate::Global;
use crate::common::{self, CliError};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum MeasureCmd {
    /// Print the runtime measurement registers (all, or one with --index).
    Read {
        /// Register index.
        #[arg(long)]
        index: Option<u32>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Extend a register with SHA-384 of the event data, and log the event.
    Extend {
        /// Register index.
        #[arg(long)]
        index: u32,
        /// Event data from a file.
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "text",
            required_unless_present = "text"
        )]
        data: Option<PathBuf>,
        /// Event data as text.
        #[arg(long)]
        text: Option<String>,
        /// Event description recorded in the log.
        #[arg(long, default_value = "teectl extend")]
        description: String,
    },
}

pub(crate) fn run(g: &Global, cmd: MeasureCmd) -> Result<u8, CliError> {
    let backend = common::open_backend(g)?;
    let rm = backend.runtime_measurement()?;
    match cmd {
        MeasureCmd::Read { index, json } => {
            let idx: Vec<u32> = match index {
                Some(i) => vec![i],
                None => (0..rm.register_count()).collect(),
            };
            let mut regs = Vec::new();
            for i in idx {
                regs.push((i, hex::encode(rm.read(i)?)));
            }
            if json {
                let v: Vec<_> = regs
                    .iter()
                    .map(|(i, h)| serde_json::json!({"index": i, "value": h}))
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for (i, h) in regs {
                    println!("register {i}: {h}");
                }
            }
        }
        MeasureCmd::Extend {
            index,
            data,
            text,
            description,
        } => {
            let bytes = match (data, text) {
                (Some(p), _) => common::read_bounded(&p, common::limit::USER_DATA, "data file")?,
                (None, Some(t)) => t.into_bytes(),
                (None, None) => return Err(CliError::usage("give --data FILE or --text STRING")),
            };
            if !rm.extendable(index) {
                return Err(CliError::usage(format!(
                    "register {index} cannot be extended on {}",
                    backend.platform()
                )));
            }
            let new = rm.extend(index, &description, &bytes)?;
            println!("register {index}: {}", hex::encode(new));
        }
    }
    Ok(0)
}
