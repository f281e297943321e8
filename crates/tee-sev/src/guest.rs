//! The guest side: obtaining reports and derived keys.
//!
//! Every kernel interface sits behind a small trait so tests run this code
//! against fakes:
//! - [`TsmFs`]: the configfs-tsm filesystem operations ([`StdFs`] is the
//!   real one; [`ConfigfsTsm`] takes any root path). The configfs-tsm client
//!   itself is the vendor-neutral one of `tee-linux`; this module supplies
//!   the SEV specifics (provider `sev_guest`, the VMPL as `privlevel`, the
//!   certificate table as `auxblob`);
//! - [`SnpFirmware`]: `/dev/sev-guest` (`MSG_REPORT_REQ`, `MSG_KEY_REQ`),
//!   implemented for the real device by [`SevGuestDevice`] through the `sev`
//!   crate.
//!
//! Busy interfaces (`EBUSY`, `EAGAIN`) are retried with exponential backoff
//! ([`Retry`]); other failures map to [`Error::Device`] with a kind a caller
//! can branch on.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

#[cfg(target_os = "linux")]
use tee_core::DeviceErrorKind;
use tee_core::{Error, Platform, Result};
use tee_linux::TsmReportClient;
use zeroize::Zeroizing;

/// The filesystem operations configfs-tsm needs (`tee_linux::KernelFs`).
pub use tee_linux::fs::KernelFs as TsmFs;
/// The real filesystem.
pub use tee_linux::fs::StdFs;
/// Retry policy for busy interfaces; mapping of I/O errors to device errors.
pub use tee_linux::retry::{Retry, io_error};

/// The SEV guest device.
pub const SEV_GUEST_DEVICE: &str = "/dev/sev-guest";
/// The configfs-tsm provider name of the SEV guest driver.
pub const TSM_PROVIDER: &str = "sev_guest";
/// Highest VMPL / privlevel.
pub const MAX_VMPL: u32 = 3;

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

/// configfs-tsm report interface (`/sys/kernel/config/tsm/report`) with
/// provider `sev_guest`: the [`tee_linux`] client with the VMPL as
/// `privlevel` and the certificate table as `auxblob`.
#[derive(Debug)]
pub struct ConfigfsTsm<F: TsmFs = StdFs> {
    client: TsmReportClient<F>,
}

impl ConfigfsTsm<StdFs> {
    /// The real interface at the default configfs-tsm root
    /// ([`tee_linux::TSM_REPORT_ROOT`]).
    pub fn system() -> Self {
        Self::new(StdFs, tee_linux::TSM_REPORT_ROOT)
    }
}

impl<F: TsmFs> ConfigfsTsm<F> {
    /// An interface rooted at `root` using `fs`.
    pub fn new(fs: F, root: impl Into<PathBuf>) -> Self {
        Self {
            client: TsmReportClient::new(fs, root, TSM_PROVIDER, Platform::SevSnp),
        }
    }

    /// Set the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.client = self.client.with_retry(retry);
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        self.client.root()
    }

    /// The filesystem.
    pub fn fs(&self) -> &F {
        self.client.fs()
    }

    /// Create a report directory, check its provider, and remove it:
    /// whether this interface serves SEV-SNP reports.
    ///
    /// # Errors
    /// [`Error::Device`] ([`tee_core::DeviceErrorKind::NotFound`]) when the
    /// root is missing; [`Error::Unsupported`] for another provider.
    pub fn probe(&self) -> Result<()> {
        self.client.probe()
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
        let r = self.client.report(report_data, Some(vmpl))?;
        Ok(RawReport {
            report: r.outblob,
            cert_table: r.auxblob,
        })
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
