//! Quotes through configfs-tsm (`Documentation/ABI/testing/configfs-tsm-report`).
//!
//! `mkdir $root/$name`, check `provider` is `tdx_guest`, read `generation`,
//! write exactly 64 bytes to `inblob`, read `outblob` (retrying `EBUSY`
//! with exponential backoff), re-read `generation` (it must have advanced
//! by exactly one, else another writer raced us), `rmdir` on drop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tee_core::{DeviceErrorKind, Error, Operation, Platform, Result};

use super::{KernelFs, io_error};

/// Largest DCAP quote the kernel's GetQuote buffer carries; larger outblobs
/// are CBOR Web Tokens (DICE-based TDX attestation).
pub const MAX_DCAP_OUTBLOB: usize = 8 << 10;

/// configfs-tsm report client.
#[derive(Debug, Clone)]
pub struct ConfigfsTsm {
    fs: Arc<dyn KernelFs>,
    root: PathBuf,
    retries: u32,
    backoff: Duration,
}

/// Removes the report directory on drop.
struct ReportDir<'a> {
    fs: &'a dyn KernelFs,
    path: PathBuf,
}

impl Drop for ReportDir<'_> {
    fn drop(&mut self) {
        // Best effort: a failed rmdir leaves an entry the kernel frees at
        // unmount; there is nothing better to do in a destructor.
        let _ = self.fs.rmdir(&self.path);
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn parse_u64(b: &[u8], what: &'static str) -> Result<u64> {
    core::str::from_utf8(b)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::device(DeviceErrorKind::CorruptOutput, what, "not a decimal number"))
}

impl ConfigfsTsm {
    /// A client for the report directory `root`.
    pub fn new(fs: Arc<dyn KernelFs>, root: PathBuf, retries: u32, backoff: Duration) -> Self {
        Self {
            fs,
            root,
            retries,
            backoff,
        }
    }

    fn retry<T>(&self, p: &Path, mut f: impl FnMut() -> std::io::Result<T>) -> Result<T> {
        let mut delay = self.backoff;
        let mut tries = 0;
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < self.retries => {
                    tries += 1;
                    std::thread::sleep(delay);
                    delay = delay.saturating_mul(2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(io_error(p, &e)),
            }
        }
    }

    /// Get a quote binding exactly 64 bytes of report data.
    ///
    /// # Errors
    /// [`Error::Unsupported`] if the provider is not `tdx_guest` or the
    /// outblob is not a DCAP quote (e.g. a CWT); [`Error::Device`] on I/O
    /// failure, persistent `EBUSY`, or a concurrent writer.
    pub fn quote(&self, inblob: &[u8; 64]) -> Result<Vec<u8>> {
        let fs = &*self.fs;
        // A directory left by a crashed process with a recycled pid may
        // exist: try further names.
        let mut attempt = 0;
        let dir = loop {
            let dir = self.root.join(format!(
                "tee-sdk-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match fs.mkdir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1
                }
                Err(e) => return Err(io_error(&dir, &e)),
            }
        };
        let guard = ReportDir { fs, path: dir };
        let p = |a: &str| guard.path.join(a);
        let provider = fs
            .read(&p("provider"))
            .map_err(|e| io_error(&p("provider"), &e))?;
        let provider = String::from_utf8_lossy(&provider).trim().to_string();
        if provider != "tdx_guest" {
            return Err(Error::unsupported(
                Platform::Tdx,
                Operation::Attestation,
                format!("configfs-tsm provider is `{provider}`, not `tdx_guest`"),
            ));
        }
        let gen_path = p("generation");
        let g0 = parse_u64(
            &self.retry(&gen_path, || fs.read(&gen_path))?,
            "configfs-tsm generation",
        )?;
        let inb = p("inblob");
        self.retry(&inb, || fs.write(&inb, inblob))?;
        let outp = p("outblob");
        let out = self.retry(&outp, || fs.read(&outp))?;
        let g1 = parse_u64(
            &self.retry(&gen_path, || fs.read(&gen_path))?,
            "configfs-tsm generation",
        )?;
        if g1 != g0.wrapping_add(1) {
            return Err(Error::device(
                DeviceErrorKind::ConcurrentUse,
                guard.path.display().to_string(),
                format!("generation went from {g0} to {g1}: another writer used this report"),
            ));
        }
        check_dcap_outblob(&out)?;
        drop(guard);
        Ok(out)
    }
}

/// Recognise a DCAP quote; anything else (a CBOR Web Token, quotes over
/// 8 KiB) is an unsupported format rather than something to misparse.
///
/// # Errors
/// [`Error::Unsupported`] for anything but a DCAP v4/v5 TDX quote.
pub fn check_dcap_outblob(out: &[u8]) -> Result<()> {
    let head = out.get(..8);
    let is_dcap = matches!(head, Some([4 | 5, 0, 2, 0, 0x81, 0, 0, 0]));
    if out.len() > MAX_DCAP_OUTBLOB || !is_dcap {
        let what = if out
            .first()
            .is_some_and(|b| b >> 5 == 6 || *b == 0xd2 || *b == 0x84)
        {
            "a CBOR/COSE (CWT) token"
        } else {
            "not a DCAP v4/v5 TDX quote"
        };
        return Err(Error::unsupported(
            Platform::Tdx,
            Operation::Attestation,
            format!(
                "configfs-tsm returned {} bytes that are {what} (DICE-based TDX attestation is not supported)",
                out.len()
            ),
        ));
    }
    Ok(())
}
