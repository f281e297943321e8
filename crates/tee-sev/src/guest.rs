//! The guest side: obtaining reports and derived keys.
//!
//! Every kernel interface sits behind a small trait so tests run this code
//! against fakes:
//! - [`TsmFs`]: the configfs-tsm filesystem operations ([`StdFs`] is the
//!   real one; [`ConfigfsTsm`] takes any root path);
//! - [`SnpFirmware`]: `/dev/sev-guest` (`MSG_REPORT_REQ`, `MSG_KEY_REQ`),
//!   implemented for the real device by [`SevGuestDevice`] through the `sev`
//!   crate.
//!
//! Busy interfaces (`EBUSY`, `EAGAIN`) are retried with exponential backoff
//! ([`Retry`]); other failures map to [`Error::Device`] with a kind a caller
//! can branch on.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tee_core::{DeviceErrorKind, Error, Operation, Platform, Result};
use zeroize::Zeroizing;

/// The default configfs-tsm report directory.
pub const TSM_REPORT_ROOT: &str = "/sys/kernel/config/tsm/report";
/// The SEV guest device.
pub const SEV_GUEST_DEVICE: &str = "/dev/sev-guest";
/// The configfs-tsm provider name of the SEV guest driver.
pub const TSM_PROVIDER: &str = "sev_guest";
/// Highest VMPL / privlevel.
pub const MAX_VMPL: u32 = 3;

/// Retry policy for busy interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in total (at least 1).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(500),
        }
    }
}

impl Retry {
    /// No waiting between attempts (tests).
    pub fn immediate(attempts: u32) -> Self {
        Self {
            attempts,
            initial_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// Run `f` until it succeeds or fails with something other than
    /// [`DeviceErrorKind::Busy`], at most `attempts` times.
    ///
    /// # Errors
    /// The last error of `f`.
    pub fn run<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut delay = self.initial_delay;
        let mut attempt = 1;
        loop {
            match f() {
                Err(Error::Device(d))
                    if d.kind == DeviceErrorKind::Busy && attempt < self.attempts.max(1) =>
                {
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    delay = delay.saturating_mul(2).min(self.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Map an I/O error on `interface` to a device error.
pub fn io_error(interface: &str, op: &str, e: &io::Error) -> Error {
    const EBUSY: i32 = 16;
    const EAGAIN: i32 = 11;
    const EINTR: i32 = 4;
    let kind = match (e.kind(), e.raw_os_error()) {
        (_, Some(EBUSY | EAGAIN | EINTR)) => DeviceErrorKind::Busy,
        (
            io::ErrorKind::ResourceBusy | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted,
            _,
        ) => DeviceErrorKind::Busy,
        (io::ErrorKind::NotFound, _) => DeviceErrorKind::NotFound,
        (io::ErrorKind::PermissionDenied, _) => DeviceErrorKind::PermissionDenied,
        _ => DeviceErrorKind::Io,
    };
    Error::device(kind, interface.to_owned(), format!("{op}: {e}"))
}

/// The filesystem operations configfs-tsm needs.
pub trait TsmFs: Send + Sync + Debug {
    /// `mkdir`.
    ///
    /// # Errors
    /// As the kernel.
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// `rmdir`.
    ///
    /// # Errors
    /// As the kernel.
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
    /// Read a whole attribute.
    ///
    /// # Errors
    /// As the kernel.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Write a whole attribute in one `write`.
    ///
    /// # Errors
    /// As the kernel.
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Whether a path exists.
    fn exists(&self, path: &Path) -> bool;
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFs;

impl TsmFs for StdFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        let n = f.write(data)?;
        if n != data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// A report plus the certificate table the host attached, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReport {
    /// The report bytes exactly as received.
    pub report: Vec<u8>,
    /// The GHCB certificate table (`auxblob` / extended report), if non-empty.
    pub cert_table: Option<Vec<u8>>,
}

/// Something that produces SNP reports.
pub trait ReportSource: Send + Sync + Debug {
    /// The interface name for messages.
    fn interface(&self) -> &str;
    /// Request a report binding `report_data` at `vmpl`.
    ///
    /// # Errors
    /// [`Error::Device`] on interface failures, [`Error::Misuse`] for a VMPL
    /// out of range.
    fn get_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<RawReport>;
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// configfs-tsm report interface (`/sys/kernel/config/tsm/report`).
#[derive(Debug)]
pub struct ConfigfsTsm<F: TsmFs = StdFs> {
    fs: F,
    root: PathBuf,
    retry: Retry,
}

impl ConfigfsTsm<StdFs> {
    /// The real interface at [`TSM_REPORT_ROOT`].
    pub fn system() -> Self {
        Self::new(StdFs, TSM_REPORT_ROOT)
    }
}

/// Removes a report directory when dropped.
struct DirGuard<'a, F: TsmFs> {
    fs: &'a F,
    path: PathBuf,
}

impl<F: TsmFs> Drop for DirGuard<'_, F> {
    fn drop(&mut self) {
        // Best effort: nothing useful can be done with a failure here.
        let _ = self.fs.remove_dir(&self.path);
    }
}

impl<F: TsmFs> ConfigfsTsm<F> {
    /// An interface rooted at `root` using `fs`.
    pub fn new(fs: F, root: impl Into<PathBuf>) -> Self {
        Self {
            fs,
            root: root.into(),
            retry: Retry::default(),
        }
    }

    /// Set the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
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

    fn iface(&self) -> String {
        self.root.display().to_string()
    }

    fn read_attr(&self, dir: &Path, name: &str) -> Result<Vec<u8>> {
        self.fs
            .read(&dir.join(name))
            .map_err(|e| io_error(&self.iface(), &format!("read {name}"), &e))
    }

    fn read_u64(&self, dir: &Path, name: &str) -> Result<u64> {
        let raw = self.read_attr(dir, name)?;
        String::from_utf8_lossy(&raw)
            .trim()
            .parse::<u64>()
            .map_err(|_| {
                Error::device(
                    DeviceErrorKind::CorruptOutput,
                    self.iface(),
                    format!("{name} is not a number"),
                )
            })
    }

    fn write_attr(&self, dir: &Path, name: &str, data: &[u8]) -> Result<()> {
        self.fs
            .write(&dir.join(name), data)
            .map_err(|e| io_error(&self.iface(), &format!("write {name}"), &e))
    }

    /// Create a report directory, check its provider, and remove it:
    /// whether this interface serves SEV-SNP reports.
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
        let name = format!(
            "tee-sdk-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.root.join(name);
        self.retry.run(|| {
            self.fs
                .create_dir(&path)
                .map_err(|e| io_error(&self.iface(), "mkdir report", &e))
        })?;
        Ok(DirGuard { fs: &self.fs, path })
    }

    fn check_provider(&self, dir: &Path) -> Result<()> {
        let provider = self.read_attr(dir, "provider")?;
        let provider = String::from_utf8_lossy(&provider).trim().to_owned();
        if provider != TSM_PROVIDER {
            return Err(Error::unsupported(
                Platform::SevSnp,
                Operation::Attestation,
                format!("configfs-tsm provider is {provider:?}, not {TSM_PROVIDER:?}"),
            ));
        }
        Ok(())
    }

    fn one_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<RawReport> {
        let guard = self.make_dir()?;
        let dir = guard.path.as_path();
        self.check_provider(dir)?;
        let floor_path = dir.join("privlevel_floor");
        if self.fs.exists(&floor_path) {
            let floor = self.read_u64(dir, "privlevel_floor")?;
            if u64::from(vmpl) < floor {
                return Err(Error::Misuse(
                    format!(
                        "VMPL {vmpl} is below the privlevel floor {floor} (running under an SVSM?)"
                    )
                    .into(),
                ));
            }
        }
        let g0 = self.read_u64(dir, "generation")?;
        self.retry
            .run(|| self.write_attr(dir, "privlevel", vmpl.to_string().as_bytes()))?;
        self.retry
            .run(|| self.write_attr(dir, "inblob", report_data))?;
        let report = self.retry.run(|| self.read_attr(dir, "outblob"))?;
        let aux = if self.fs.exists(&dir.join("auxblob")) {
            self.retry.run(|| self.read_attr(dir, "auxblob"))?
        } else {
            Vec::new()
        };
        let g1 = self.read_u64(dir, "generation")?;
        let expected = g0.wrapping_add(2);
        if g1 != expected {
            return Err(Error::device(
                DeviceErrorKind::ConcurrentUse,
                self.iface(),
                format!(
                    "generation moved from {g0} to {g1} (expected {expected}): another writer used the report"
                ),
            ));
        }
        drop(guard);
        Ok(RawReport {
            report,
            cert_table: (!aux.is_empty()).then_some(aux),
        })
    }
}

impl<F: TsmFs> ReportSource for ConfigfsTsm<F> {
    fn interface(&self) -> &str {
        "configfs-tsm"
    }

    fn get_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<RawReport> {
        if vmpl > MAX_VMPL {
            return Err(Error::Misuse(
                format!("VMPL {vmpl} out of range 0..=3").into(),
            ));
        }
        // A concurrent writer is retried like a busy device, a few times.
        let mut last = None;
        for _ in 0..3 {
            match self.one_report(report_data, vmpl) {
                Err(Error::Device(d)) if d.kind == DeviceErrorKind::ConcurrentUse => {
                    last = Some(Error::Device(d))
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
}

/// Which key the firmware derives from (`ROOT_KEY_SELECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRoot {
    /// The VCEK: bound to this chip and its TCB; survives a relaunch. The default.
    Vcek,
    /// The VM root key: random per launch, so keys do not survive a relaunch
    /// (and migrate with a migration agent).
    Vmrk,
}

/// `GUEST_FIELD_SELECT` bits: what the firmware mixes into a derived key.
pub mod field {
    /// Guest policy.
    pub const GUEST_POLICY: u64 = 1 << 0;
    /// Image id.
    pub const IMAGE_ID: u64 = 1 << 1;
    /// Family id.
    pub const FAMILY_ID: u64 = 1 << 2;
    /// Launch measurement.
    pub const MEASUREMENT: u64 = 1 << 3;
    /// Guest SVN (the value in the request).
    pub const GUEST_SVN: u64 = 1 << 4;
    /// TCB version (the value in the request).
    pub const TCB_VERSION: u64 = 1 << 5;
    /// Every bit defined for message version 1.
    pub const ALL_V1: u64 = 0x3F;
}

/// A `MSG_KEY_REQ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DerivedKeyRequest {
    /// Root key.
    pub root: KeyRoot,
    /// `GUEST_FIELD_SELECT` (see [`field`]).
    pub field_select: u64,
    /// VMPL mixed in (must be ≥ the caller's VMPL).
    pub vmpl: u32,
    /// Guest SVN mixed in when selected (≤ the ID block's SVN).
    pub guest_svn: u32,
    /// TCB version mixed in when selected (≤ the committed TCB).
    pub tcb_version: u64,
}

/// The SEV guest firmware interface (`/dev/sev-guest`).
pub trait SnpFirmware: Send + Sync + Debug {
    /// `MSG_REPORT_REQ`: the raw 1184-byte report.
    ///
    /// # Errors
    /// [`Error::Device`].
    fn get_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<Vec<u8>>;
    /// `MSG_KEY_REQ`: a 32-byte derived key.
    ///
    /// # Errors
    /// [`Error::Device`].
    fn get_derived_key(&self, req: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>>;
}

/// Reports through [`SnpFirmware`] (no certificate table: the `sev` crate's
/// extended-report parser is not bounds-checked, so it is not used).
#[derive(Debug)]
pub struct FirmwareReports {
    fw: std::sync::Arc<dyn SnpFirmware>,
    retry: Retry,
}

impl FirmwareReports {
    /// Wrap a firmware interface.
    pub fn new(fw: std::sync::Arc<dyn SnpFirmware>, retry: Retry) -> Self {
        Self { fw, retry }
    }
}

impl ReportSource for FirmwareReports {
    fn interface(&self) -> &str {
        SEV_GUEST_DEVICE
    }

    fn get_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<RawReport> {
        if vmpl > MAX_VMPL {
            return Err(Error::Misuse(
                format!("VMPL {vmpl} out of range 0..=3").into(),
            ));
        }
        let report = self.retry.run(|| self.fw.get_report(report_data, vmpl))?;
        Ok(RawReport {
            report,
            cert_table: None,
        })
    }
}

/// The real `/dev/sev-guest`, through the `sev` crate.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub struct SevGuestDevice {
    fw: std::sync::Mutex<sev::firmware::guest::Firmware>,
}

#[cfg(target_os = "linux")]
impl SevGuestDevice {
    /// Open `/dev/sev-guest`.
    ///
    /// # Errors
    /// [`Error::Device`] when it cannot be opened.
    pub fn open() -> Result<Self> {
        let fw = sev::firmware::guest::Firmware::open()
            .map_err(|e| io_error(SEV_GUEST_DEVICE, "open", &e))?;
        Ok(Self {
            fw: std::sync::Mutex::new(fw),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(
            &mut sev::firmware::guest::Firmware,
        ) -> std::result::Result<T, sev::error::UserApiError>,
    ) -> Result<T> {
        let mut fw = self.fw.lock().map_err(|_| {
            Error::device(
                DeviceErrorKind::Io,
                SEV_GUEST_DEVICE,
                "device lock poisoned",
            )
        })?;
        f(&mut fw).map_err(map_user_api_error)
    }
}

#[cfg(target_os = "linux")]
fn map_user_api_error(e: sev::error::UserApiError) -> Error {
    use sev::error::{FirmwareError, UserApiError};
    match e {
        UserApiError::IOError(io) => io_error(SEV_GUEST_DEVICE, "ioctl", &io),
        UserApiError::FirmwareError(FirmwareError::IoError(io)) => {
            io_error(SEV_GUEST_DEVICE, "ioctl", &io)
        }
        UserApiError::FirmwareError(fe) => {
            let detail = fe.to_string();
            let code = i32::from(fe);
            Error::device(
                DeviceErrorKind::Firmware(u64::from(code.unsigned_abs())),
                SEV_GUEST_DEVICE,
                detail,
            )
        }
        UserApiError::VmplError => Error::Misuse("VMPL out of range".into()),
        other => Error::device(DeviceErrorKind::Io, SEV_GUEST_DEVICE, other.to_string()),
    }
}

#[cfg(target_os = "linux")]
impl SnpFirmware for SevGuestDevice {
    fn get_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<Vec<u8>> {
        // Message version 1 and an explicit VMPL (the crate defaults to VMPL 1).
        self.with(|fw| fw.get_report(Some(1), Some(*report_data), Some(vmpl)))
    }

    fn get_derived_key(&self, req: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>> {
        use sev::firmware::guest::{DerivedKey, GuestFieldSelect};
        if req.field_select & !field::ALL_V1 != 0 {
            return Err(Error::Misuse("unsupported guest field select bits".into()));
        }
        let mut gfs = GuestFieldSelect::default();
        gfs.set_guest_policy(req.field_select & field::GUEST_POLICY != 0);
        gfs.set_image_id(req.field_select & field::IMAGE_ID != 0);
        gfs.set_family_id(req.field_select & field::FAMILY_ID != 0);
        gfs.set_measurement(req.field_select & field::MEASUREMENT != 0);
        gfs.set_svn(req.field_select & field::GUEST_SVN != 0);
        gfs.set_tcb_version(req.field_select & field::TCB_VERSION != 0);
        let dk = DerivedKey::new(
            req.root == KeyRoot::Vmrk,
            gfs,
            req.vmpl,
            req.guest_svn,
            req.tcb_version,
            None,
        );
        // Message version 1: the upstream kernel's request struct has no
        // launch mitigation vector (see platform-abi.md §1.1).
        self.with(|fw| fw.get_derived_key(Some(1), dk))
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_decisions() {
        let k = |e: io::Error| match io_error("x", "op", &e) {
            Error::Device(d) => d.kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(k(io::Error::from_raw_os_error(16)), DeviceErrorKind::Busy); // EBUSY
        assert_eq!(k(io::Error::from_raw_os_error(11)), DeviceErrorKind::Busy); // EAGAIN
        assert_eq!(k(io::Error::from_raw_os_error(4)), DeviceErrorKind::Busy); // EINTR
        assert_eq!(
            k(io::Error::from_raw_os_error(2)),
            DeviceErrorKind::NotFound
        ); // ENOENT
        assert_eq!(
            k(io::Error::from_raw_os_error(13)),
            DeviceErrorKind::PermissionDenied
        ); // EACCES
        assert_eq!(k(io::Error::from_raw_os_error(5)), DeviceErrorKind::Io); // EIO
    }

    #[test]
    fn retry_backs_off_and_gives_up() {
        let busy = || Err::<(), _>(Error::device(DeviceErrorKind::Busy, "x", "busy"));
        let r = Retry {
            attempts: 3,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(3),
        };
        let mut n = 0;
        let t = std::time::Instant::now();
        let out = r.run(|| {
            n += 1;
            if n < 3 { busy() } else { Ok(()) }
        });
        assert!(out.is_ok());
        assert_eq!(n, 3);
        assert!(
            t.elapsed() >= Duration::from_millis(5),
            "2 ms then 3 ms (capped)"
        );
        let mut n = 0;
        assert!(matches!(
            Retry::immediate(4).run(|| {
                n += 1;
                busy()
            }),
            Err(Error::Device(_))
        ));
        assert_eq!(n, 4);
        // Other errors are not retried.
        let mut n = 0;
        let e = Retry::immediate(4).run(|| -> Result<()> {
            n += 1;
            Err(Error::device(DeviceErrorKind::Firmware(1), "x", "fw"))
        });
        assert!(e.is_err());
        assert_eq!(n, 1);
        // A huge initial delay never overflows.
        let r = Retry {
            attempts: 1,
            initial_delay: Duration::MAX,
            max_delay: Duration::MAX,
        };
        assert!(r.run(busy).is_err());
    }
}
