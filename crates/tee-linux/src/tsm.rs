//! The configfs-tsm report client
//! (`Documentation/ABI/testing/configfs-tsm-report`).
//!
//! One request: `mkdir $root/$name` (a fresh name; an existing one is
//! skipped), check `provider` is the expected one (e.g. `sev_guest`,
//! `tdx_guest`), check `privlevel_floor` and write `privlevel` when a
//! privilege level is requested (SEV VMPL), read `generation`, write the
//! `inblob` (at most [`TSM_INBLOB_MAX`] bytes), read `outblob` and, when the
//! provider offers it, `auxblob` (both at most the configured bound), re-read
//! `generation`: it must have advanced by exactly the number of writes made,
//! else another writer used the directory in between and the outblob may
//! answer someone else's inblob ([`DeviceErrorKind::ConcurrentUse`]).
//! The directory is removed on every path (a drop guard).
//!
//! Transient errors (`EBUSY`, `EAGAIN`, `EINTR`) are retried per operation
//! with one [`Retry`] policy; a race is retried with a fresh directory a few
//! times ([`TsmReportClient::with_race_attempts`]). Every failure is a typed
//! [`tee_core::Error`]: `Device` with kind `NotFound`, `PermissionDenied`,
//! `Busy`, `ConcurrentUse`, `CorruptOutput` or `Io`; `Unsupported` for
//! another provider; `Misuse` for a bad request.
//!
//! Vendor checks of the outblob (report sizes, DCAP quote headers,
//! certificate tables) stay in the backends.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tee_core::{DeviceErrorKind, Error, Operation, Platform, Result};

use crate::fs::{KernelFs, StdFs};
use crate::retry::{Retry, io_error};

/// The default configfs-tsm report directory.
pub const TSM_REPORT_ROOT: &str = "/sys/kernel/config/tsm/report";
/// Largest `inblob` the kernel accepts (`TSM_REPORT_INBLOB_MAX`).
pub const TSM_INBLOB_MAX: usize = 64;
/// Largest `privlevel` the kernel accepts (`TSM_PRIVLEVEL_MAX`).
pub const TSM_PRIVLEVEL_MAX: u32 = 3;
/// Default bound of `outblob` and `auxblob` (the kernel's
/// `TSM_REPORT_OUTBLOB_MAX`, 32 KiB); larger blobs are corrupt output.
pub const DEFAULT_MAX_BLOB: usize = 32 << 10;
/// How many fresh names are tried when a report directory already exists
/// (left by a crashed process with a recycled pid).
const MKDIR_ATTEMPTS: u32 = 16;

/// The blobs of one report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsmReport {
    /// `outblob`: the report or quote exactly as received.
    pub outblob: Vec<u8>,
    /// `auxblob` when the provider offers one and it is non-empty (SEV: the
    /// GHCB certificate table).
    pub auxblob: Option<Vec<u8>>,
}

/// configfs-tsm report client.
#[derive(Debug, Clone)]
pub struct TsmReportClient<F: KernelFs = StdFs> {
    fs: F,
    root: PathBuf,
    provider: Cow<'static, str>,
    platform: Platform,
    retry: Retry,
    race_attempts: u32,
    max_blob: usize,
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// Removes a report directory when dropped.
struct DirGuard<'a, F: KernelFs> {
    fs: &'a F,
    path: PathBuf,
}

impl<F: KernelFs> Drop for DirGuard<'_, F> {
    fn drop(&mut self) {
        // Best effort: a failed rmdir leaves an entry the kernel frees at
        // unmount; there is nothing better to do in a destructor.
        let _ = self.fs.rmdir(&self.path);
    }
}

impl TsmReportClient<StdFs> {
    /// The real interface at [`TSM_REPORT_ROOT`] expecting `provider`.
    pub fn system(provider: &'static str, platform: Platform) -> Self {
        Self::new(StdFs, TSM_REPORT_ROOT, provider, platform)
    }
}

impl<F: KernelFs> TsmReportClient<F> {
    /// A client for the report directory `root` using `fs`, accepting only
    /// `provider` (e.g. `"sev_guest"`); `platform` names the platform in
    /// [`Error::Unsupported`].
    pub fn new(
        fs: F,
        root: impl Into<PathBuf>,
        provider: impl Into<Cow<'static, str>>,
        platform: Platform,
    ) -> Self {
        Self {
            fs,
            root: root.into(),
            provider: provider.into(),
            platform,
            retry: Retry::default(),
            race_attempts: 3,
            max_blob: DEFAULT_MAX_BLOB,
        }
    }

    /// Set the retry policy for transient errors.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Requests made in total when another writer races us (at least 1;
    /// default 3).
    #[must_use]
    pub fn with_race_attempts(mut self, attempts: u32) -> Self {
        self.race_attempts = attempts.max(1);
        self
    }

    /// Bound of `outblob` and `auxblob` (default [`DEFAULT_MAX_BLOB`]).
    #[must_use]
    pub fn with_max_blob(mut self, max: usize) -> Self {
        self.max_blob = max;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The filesystem.
    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// The expected provider.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The retry policy.
    pub fn retry(&self) -> Retry {
        self.retry
    }

    fn iface(&self) -> String {
        self.root.display().to_string()
    }

    fn read_attr(&self, dir: &Path, name: &str) -> Result<Vec<u8>> {
        let p = dir.join(name);
        self.retry.run(|| {
            self.fs
                .read(&p)
                .map_err(|e| io_error(&self.iface(), &format!("read {name}"), &e))
        })
    }

    fn read_blob(&self, dir: &Path, name: &str) -> Result<Vec<u8>> {
        let b = self.read_attr(dir, name)?;
        if b.len() > self.max_blob {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                self.iface(),
                format!("{name} has {} bytes, more than {}", b.len(), self.max_blob),
            ));
        }
        Ok(b)
    }

    fn read_u64(&self, dir: &Path, name: &str) -> Result<u64> {
        let raw = self.read_attr(dir, name)?;
        core::str::from_utf8(&raw)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Error::device(
                    DeviceErrorKind::CorruptOutput,
                    self.iface(),
                    format!("{name} is not a decimal number"),
                )
            })
    }

    fn write_attr(&self, dir: &Path, name: &str, data: &[u8]) -> Result<()> {
        let p = dir.join(name);
        self.retry.run(|| {
            self.fs
                .write(&p, data)
                .map_err(|e| io_error(&self.iface(), &format!("write {name}"), &e))
        })
    }

    /// Create a report directory, check its provider, and remove it:
    /// whether this interface serves the expected provider.
    ///
    /// # Errors
    /// [`Error::Device`] ([`DeviceErrorKind::NotFound`]) when the root is
    /// missing; [`Error::Unsupported`] for another provider.
    pub fn probe(&self) -> Result<()> {
        if !self.fs.exists(&self.root) {
            return Err(Error::device(
                DeviceErrorKind::NotFound,
                self.iface(),
                "configfs-tsm report directory absent",
            ));
        }
        let guard = self.make_dir()?;
        self.check_provider(&guard.path)
    }

    fn make_dir(&self) -> Result<DirGuard<'_, F>> {
        let mut attempt = 1;
        loop {
            let path = self.root.join(format!(
                "tee-sdk-{}-{}",
                std::process::id(),
                NEXT_DIR.fetch_add(1, Ordering::Relaxed)
            ));
            let mut exists = false;
            let made = self.retry.run(|| {
                self.fs.mkdir(&path).map_err(|e| {
                    exists = e.kind() == std::io::ErrorKind::AlreadyExists;
                    io_error(&self.iface(), "mkdir report", &e)
                })
            });
            match made {
                Ok(()) => return Ok(DirGuard { fs: &self.fs, path }),
                // A leftover directory with this name: try the next name.
                Err(_) if exists && attempt < MKDIR_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn check_provider(&self, dir: &Path) -> Result<()> {
        let provider = self.read_attr(dir, "provider")?;
        let provider = String::from_utf8_lossy(&provider).trim().to_owned();
        if provider != self.provider {
            return Err(Error::unsupported(
                self.platform,
                Operation::Attestation,
                format!(
                    "configfs-tsm provider is {provider:?}, not {:?}",
                    self.provider
                ),
            ));
        }
        Ok(())
    }

    /// One report: `inblob` in (at most [`TSM_INBLOB_MAX`] bytes), `outblob`
    /// and `auxblob` out; `privlevel` is written when given.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an inblob over 64 bytes, a privlevel over
    /// [`TSM_PRIVLEVEL_MAX`] or below the kernel's `privlevel_floor`;
    /// [`Error::Unsupported`] for another provider; [`Error::Device`] on I/O
    /// failure, persistent busy errors, a concurrent writer, or an
    /// unreadable or oversized attribute.
    pub fn report(&self, inblob: &[u8], privlevel: Option<u32>) -> Result<TsmReport> {
        if inblob.len() > TSM_INBLOB_MAX {
            return Err(Error::Misuse(
                format!(
                    "configfs-tsm inblob has {} bytes, at most {TSM_INBLOB_MAX}",
                    inblob.len()
                )
                .into(),
            ));
        }
        if let Some(p) = privlevel
            && p > TSM_PRIVLEVEL_MAX
        {
            return Err(Error::Misuse(
                format!("privlevel {p} out of range 0..={TSM_PRIVLEVEL_MAX}").into(),
            ));
        }
        let mut last = None;
        for _ in 0..self.race_attempts.max(1) {
            match self.one_report(inblob, privlevel) {
                Err(Error::Device(d)) if d.kind == DeviceErrorKind::ConcurrentUse => {
                    last = Some(Error::Device(d));
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::device(
                DeviceErrorKind::ConcurrentUse,
                self.iface(),
                "concurrent use",
            )
        }))
    }

    fn one_report(&self, inblob: &[u8], privlevel: Option<u32>) -> Result<TsmReport> {
        let guard = self.make_dir()?;
        let dir = guard.path.as_path();
        self.check_provider(dir)?;
        let mut writes: u64 = 0;
        if let Some(level) = privlevel
            && self.fs.exists(&dir.join("privlevel_floor"))
        {
            let floor = self.read_u64(dir, "privlevel_floor")?;
            if u64::from(level) < floor {
                return Err(Error::Misuse(
                    format!(
                        "privlevel {level} is below the privlevel floor {floor} (running under an SVSM?)"
                    )
                    .into(),
                ));
            }
        }
        let g0 = self.read_u64(dir, "generation")?;
        if let Some(level) = privlevel {
            self.write_attr(dir, "privlevel", level.to_string().as_bytes())?;
            writes += 1;
        }
        self.write_attr(dir, "inblob", inblob)?;
        writes += 1;
        let outblob = self.read_blob(dir, "outblob")?;
        let auxblob = if self.fs.exists(&dir.join("auxblob")) {
            self.read_blob(dir, "auxblob")?
        } else {
            Vec::new()
        };
        let g1 = self.read_u64(dir, "generation")?;
        let expected = g0.wrapping_add(writes);
        if g1 != expected {
            return Err(Error::device(
                DeviceErrorKind::ConcurrentUse,
                guard.path.display().to_string(),
                format!(
                    "generation moved from {g0} to {g1} (expected {expected}): another writer used the report"
                ),
            ));
        }
        drop(guard);
        Ok(TsmReport {
            outblob,
            auxblob: (!auxblob.is_empty()).then_some(auxblob),
        })
    }
}
