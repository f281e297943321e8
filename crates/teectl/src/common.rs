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
    /// Whether `--backend` was given on the command line (not only through
    /// `TEE_BACKEND` or the default).
    pub(crate) backend_on_command_line: bool,
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

/// Size limits of the files teectl reads, each suited to its format and
/// checked before the file is read whole (README "Files and limits").
// Which limits are read depends on the backends compiled in (a build
// without any has no raw reports, quotes or images to read).
#[cfg_attr(
    not(all(feature = "sev-snp", feature = "tdx", feature = "pef")),
    allow(dead_code)
)]
pub(crate) mod limit {
    /// An SEV-SNP report: 1184 bytes, as hex text about 2.4 KiB.
    pub(crate) const SNP_REPORT: u64 = 4 << 10;
    /// A TDX quote or TDREPORT (binary or hex).
    pub(crate) const QUOTE: u64 = 64 << 10;
    /// A PEF owner-MAC report.
    pub(crate) const PEF_REPORT: u64 = 64 << 10;
    /// A certificate or certificate chain (DER, PEM or a certificate table).
    pub(crate) const CERTS: u64 = 64 << 10;
    /// A key file (PEM).
    pub(crate) const KEY: u64 = 64 << 10;
    /// TDX collateral JSON.
    pub(crate) const COLLATERAL: u64 = 1 << 20;
    /// An event log (CCEL / TCG2, binary or hex).
    pub(crate) const EVENT_LOG: u64 = 8 << 20;
    /// A policy file (TOML).
    pub(crate) const POLICY: u64 = 1 << 20;
    /// Evidence JSON.
    pub(crate) const EVIDENCE: u64 = 16 << 20;
    /// User data bound with a nonce, and data measured by `measure extend`.
    pub(crate) const USER_DATA: u64 = 16 << 20;
    /// A file to seal.
    pub(crate) const SEAL_INPUT: u64 = 256 << 20;
    /// A sealed blob: the largest plaintext plus the envelope header.
    pub(crate) const SEALED: u64 = SEAL_INPUT + (64 << 10);
    /// A guest image part (kernel, initrd, RTAS) or an initrd to wrap.
    pub(crate) const IMAGE: u64 = 512 << 20;
    /// A firmware image (OVMF / TDVF) for reference-value computation.
    pub(crate) const FIRMWARE: u64 = 64 << 20;
    /// An ESM blob or a file carried in one.
    pub(crate) const ESM_BLOB: u64 = 16 << 20;
}

/// A byte count for messages: `4 KiB`, `16 MiB`, or bytes.
pub(crate) fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n.is_multiple_of(1 << 30) => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

fn too_large(path: &Path, what: &str, size: Option<u64>, limit: u64) -> CliError {
    let size = match size {
        Some(s) => format!("{s} bytes"),
        None => "larger".to_string(),
    };
    CliError {
        code: exit::MALFORMED,
        message: format!(
            "{}: {what} is {size}, over the {} limit ({limit} bytes) for a {what}",
            path.display(),
            human(limit)
        ),
        detail: None,
    }
}

/// Read a whole file of at most `limit` bytes. The size is checked before
/// reading (metadata), and the read itself stops after `limit + 1` bytes, so
/// a file that grows, or reports no size (a pipe, `/proc`), cannot make the
/// read unbounded. Over the limit: exit 2 (malformed input), naming the limit.
pub(crate) fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let f = fs::File::open(path).map_err(|e| CliError::io(path, &e))?;
    let meta = f.metadata().map_err(|e| CliError::io(path, &e))?;
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(path, what, Some(meta.len()), limit));
    }
    let cap = if meta.is_file() { meta.len() } else { 0 };
    let mut out = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    f.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| CliError::io(path, &e))?;
    if out.len() as u64 > limit {
        return Err(too_large(path, what, None, limit));
    }
    Ok(out)
}

/// Write a file atomically: a temporary file in the same directory, synced,
/// then renamed over the target. A crash leaves either the old file or the
/// complete new one, never a truncated one. Not for secrets: see
/// [`write_secret_atomic`].
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CliError> {
    write_atomic_mode(path, data, None)
}

/// [`write_atomic`] for secrets and plaintext (unsealed data, private keys):
/// the temporary file is created with mode 0600 from the start (never
/// readable by others, whatever the umask), and an existing target's
/// narrower mode is kept (mode = existing & 0600), never widened.
pub(crate) fn write_secret_atomic(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let mode = match fs::metadata(path) {
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o600
        }
        Err(_) => 0o600,
    };
    write_atomic_mode(path, data, Some(mode))
}

fn write_atomic_mode(path: &Path, data: &[u8], mode: Option<u32>) -> Result<(), CliError> {
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
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            // Created with `mode` (the umask can only narrow it); set exactly
            // below, before any byte is written.
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp)?;
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
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
                Some(p) => read_bounded(p, limit::USER_DATA, "user data file")?,
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
        #[cfg(feature = "simulation")]
        BackendChoice::AzureSimSnp => return Ok(crate::simulation::open(tee::azure::HclTee::Snp)?),
        #[cfg(feature = "simulation")]
        BackendChoice::AzureSimTdx => return Ok(crate::simulation::open(tee::azure::HclTee::Tdx)?),
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

/// `teectl detect`.
#[derive(Debug, clap::Args)]
pub(crate) struct DetectArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
    /// Probe a filesystem mounted at DIR instead of `/` (a container that
    /// sees the host's /sys, /proc and /dev under a mount; prepared trees in
    /// tests).
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
}

/// `teectl detect`: exit 0 when a TEE environment is detected, 5 when none.
pub(crate) fn detect(a: &DetectArgs) -> Result<u8, CliError> {
    let d = match &a.root {
        Some(r) if !r.is_dir() => {
            return Err(CliError::usage(format!(
                "--root {}: not a directory",
                r.display()
            )));
        }
        Some(r) => tee::detect_with_root(r),
        None => tee::detect(),
    };
    let code = if d.environment.platform().is_some() {
        exit::OK
    } else {
        exit::UNSUPPORTED
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&d).map_err(|e| CliError::usage(e.to_string()))?
        );
        return Ok(code);
    }
    for p in &d.probes {
        let what = match (p.platform, p.cloud) {
            (Some(pl), _) => pl.to_string(),
            (None, Some(c)) => c.to_string(),
            (None, None) => "-".to_owned(),
        };
        println!(
            "  [{}] {:<44} ({}) {}",
            if p.found { "found" } else { "  -  " },
            p.interface,
            what,
            p.detail
        );
    }
    println!("Environment: {}.", d.environment);
    println!("Reason: {}.", d.reason);
    match d.environment {
        tee::Environment::NoTee { .. } => println!(
            "No TEE on this machine. (The mock is never selected automatically; use --backend mock.)"
        ),
        tee::Environment::AzureCvm { platform } => {
            let root = a.root.as_deref().unwrap_or(Path::new("/"));
            match tee::open_azure_with_root(root, platform) {
                Ok(_) => println!("Backend: the Azure vTPM backend opens."),
                Err(e) => println!("Backend: the Azure vTPM backend cannot be opened: {e}"),
            }
        }
        _ => {}
    }
    Ok(code)
}
