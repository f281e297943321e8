//! Shared plumbing: errors with exit codes, file I/O, report-data arguments,
//! backend selection, `detect` and `report`. Imports no platform module.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tee::{Backend, DeviceErrorKind, Error, Platform, ReportData};

use crate::{BackendChoice, exit};

/// Global options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Global {
    pub(crate) backend: BackendChoice,
}

/// An error with its exit code: one clear line, optional detail for `-v`.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) message: String,
    pub(crate) detail: Option<String>,
}

impl CliError {
    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        Self {
            code: exit::USAGE,
            message: msg.into(),
            detail: None,
        }
    }

    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        Self {
            code: exit::USAGE,
            message: format!("{}: {e}", path.display()),
            detail: None,
        }
    }

    /// Prefix the message with context (e.g. the file name).
    pub(crate) fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self {
            code: exit::of(&e),
            message: e.to_string(),
            // An unsupported operation's message is its whole reason.
            detail: (!matches!(e, Error::Unsupported(_))).then(|| format!("{e:?}")),
        }
    }
}

/// Read a whole file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    fs::read(path).map_err(|e| CliError::io(path, &e))
}

/// Write a file atomically: a temporary file in the same directory, synced,
/// then renamed over the target. A crash leaves either the old file or the
/// complete new one, never a truncated one.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| CliError::usage(format!("{}: not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        CliError::io(path, &e)
    })
}

/// Parse hex (whitespace and an optional 0x prefix tolerated).
pub(crate) fn parse_hex(what: &str, s: &str) -> Result<Vec<u8>, CliError> {
    let t: String = s.split_whitespace().collect();
    let t = t.strip_prefix("0x").unwrap_or(&t);
    hex::decode(t).map_err(|e| CliError::usage(format!("{what}: not hex ({e})")))
}

/// `--report-data HEX128 | --nonce HEX [--user-data FILE]`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReportDataArgs {
    /// The 64 bytes of report data, as 128 hex digits.
    #[arg(long, value_name = "HEX128", conflicts_with_all = ["nonce", "user_data"])]
    pub(crate) report_data: Option<String>,
    /// A verifier nonce (hex); report data = ReportData::bind(nonce, user data).
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: Option<String>,
    /// A file of user data bound with the nonce.
    #[arg(long, value_name = "FILE", requires = "nonce")]
    pub(crate) user_data: Option<PathBuf>,
}

impl ReportDataArgs {
    /// The report data, if any was given.
    pub(crate) fn get(&self) -> Result<Option<ReportData>, CliError> {
        if let Some(h) = &self.report_data {
            let b = parse_hex("--report-data", h)?;
            return ReportData::from_slice(&b).map(Some).map_err(|_| {
                CliError::usage(format!(
                    "--report-data must be exactly 64 bytes (128 hex digits), got {} bytes",
                    b.len()
                ))
            });
        }
        if let Some(n) = &self.nonce {
            let nonce = parse_hex("--nonce", n)?;
            let user = match &self.user_data {
                Some(p) => read(p)?,
                None => Vec::new(),
            };
            return Ok(Some(ReportData::bind(&nonce, &user)));
        }
        Ok(None)
    }
}

/// `teectl report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) rd: ReportDataArgs,
    /// Where to write the evidence JSON.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
}

/// Open the backend chosen by `--backend` (auto: [`tee::open_detected`],
/// never the mock).
pub(crate) fn open_backend(g: &Global) -> Result<Box<dyn Backend>, CliError> {
    let platform = match g.backend {
        BackendChoice::Mock => Platform::Mock,
        BackendChoice::SevSnp => Platform::SevSnp,
        BackendChoice::Tdx => Platform::Tdx,
        BackendChoice::Pef => Platform::Pef,
        BackendChoice::Auto => {
            return tee::open_detected().map_err(|e| match e {
                // No TEE here: the operation is unsupported on this machine.
                Error::Device(d) if d.kind == DeviceErrorKind::NotFound => CliError {
                    code: exit::UNSUPPORTED,
                    message: format!(
                        "{}; use --backend mock for the software mock (NO SECURITY)",
                        d.detail
                    ),
                    detail: None,
                },
                e => e.into(),
            });
        }
    };
    Ok(tee::open(platform)?)
}

pub(crate) fn report(g: &Global, a: &ReportArgs) -> Result<u8, CliError> {
    let rd =
        a.rd.get()?
            .ok_or_else(|| CliError::usage("give --report-data HEX128 or --nonce HEX"))?;
    let backend = open_backend(g)?;
    if backend.platform() == Platform::Mock {
        eprintln!("teectl: using the MOCK backend: NO SECURITY");
    }
    let ev = backend.attester()?.attest(&rd)?;
    write_atomic(&a.output, ev.to_json()?.as_bytes())?;
    eprintln!("wrote {} evidence to {}", ev.platform, a.output.display());
    Ok(exit::OK)
}

pub(crate) fn detect(json: bool) -> Result<u8, CliError> {
    let d = tee::detect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&d).map_err(|e| CliError::usage(e.to_string()))?
        );
        return Ok(exit::OK);
    }
    for p in &d.probes {
        println!(
            "  [{}] {:<38} ({}) {}",
            if p.found { "found" } else { "  -  " },
            p.interface,
            p.platform,
            p.detail
        );
    }
    match d.detected {
        Some(p) => println!("Detected: {p} guest."),
        None => println!(
            "No hardware TEE found on this machine. (The mock is never selected automatically; use --backend mock.)"
        ),
    }
    Ok(exit::OK)
}
