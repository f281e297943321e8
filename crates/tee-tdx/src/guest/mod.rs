//! The guest side: TDREPORT (`/dev/tdx_guest`), quotes (configfs-tsm),
//! RTMRs (tsm-mr sysfs) with a crash-safe TCG2 event log.
//!
//! Every kernel interface sits behind a small trait ([`TdxGuestDevice`],
//! [`KernelFs`]) with configurable paths ([`GuestConfig`]), so the real
//! backend code runs against fakes in tests (`tee_tdx::testing`, feature `testing`).
//! configfs-tsm and the tsm-mr registers are the vendor-neutral clients of
//! `tee-linux` ([`KernelFs`] and [`RealFs`] are its `KernelFs` and `StdFs`);
//! this module keeps the TDX specifics.

mod sys;

/// The `/dev/tdx_guest` ioctl ABI numbers (asserted at compile time and in tests).
pub mod sys_abi {
    pub use super::sys::{TDX_CMD_GET_REPORT0, TDX_REPORT_REQ_LEN, iowr};
}

pub mod applog;
pub mod configfs;
pub mod rtmr;

use std::fmt::Debug;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tee_core::evidence::{endorsement, format};
use tee_core::{
    Attester, Backend, DeviceErrorKind, Error, Evidence, Operation, Platform, ReportData, Result,
    RuntimeMeasurement, Sealer,
};

use crate::tdreport::{TDREPORT_LEN, TdReport};

pub use configfs::ConfigfsTsm;
pub use rtmr::TdxRtmr;

/// Why TDX cannot seal.
pub const SEALING_UNSUPPORTED: &str = "TDX gives guests no sealing key (TDG.MR.KEY.GET is not provided by the TDX \
     module or Linux); use a key broker that releases a key after verifying this TD's attestation";

/// Default device node.
pub const DEV_TDX_GUEST: &str = "/dev/tdx_guest";
/// Default tsm-mr measurements directory (Linux 6.16+).
pub const TSM_MR_DIR: &str = "/sys/devices/virtual/misc/tdx_guest/measurements";
/// Default location of the firmware CCEL log area.
pub const CCEL_DATA: &str = "/sys/firmware/acpi/tables/data/CCEL";
/// Default location of the firmware CCEL ACPI table.
pub const CCEL_TABLE: &str = "/sys/firmware/acpi/tables/CCEL";
/// Default application event log.
pub const APP_EVENT_LOG: &str = "/run/tee-sdk/tdx-rtmr.log";

/// `TDX_CMD_GET_REPORT0`: report data in, TDREPORT out.
pub trait TdxGuestDevice: Send + Sync + Debug {
    /// Get a TDREPORT binding `report_data`.
    ///
    /// # Errors
    /// [`Error::Device`] when the device or the TDCALL fails.
    fn get_report0(&self, report_data: &[u8; 64]) -> Result<[u8; TDREPORT_LEN]>;
}

/// The real `/dev/tdx_guest` (opened per call).
#[derive(Debug, Clone)]
pub struct LinuxTdxGuest {
    path: PathBuf,
}

impl LinuxTdxGuest {
    /// The device at `path` (normally [`DEV_TDX_GUEST`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

fn io_error(interface: &Path, op: &str, e: &std::io::Error) -> Error {
    tee_linux::io_error(&interface.display().to_string(), op, e)
}

impl TdxGuestDevice for LinuxTdxGuest {
    fn get_report0(&self, report_data: &[u8; 64]) -> Result<[u8; TDREPORT_LEN]> {
        let f = File::options()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| io_error(&self.path, "open", &e))?;
        let mut req = sys::TdxReportReq {
            reportdata: *report_data,
            tdreport: [0; TDREPORT_LEN],
        };
        sys::get_report0(&f, &mut req)
            .map_err(|e| io_error(&self.path, "TDX_CMD_GET_REPORT0", &e))?;
        Ok(req.tdreport)
    }
}

/// The file operations the configfs-tsm and tsm-mr code needs
/// (`tee_linux::KernelFs`; a fake models the kernel).
pub use tee_linux::fs::KernelFs;
/// `std::fs`, with `close(2)` errors checked (`tee_linux::StdFs`).
pub use tee_linux::fs::StdFs as RealFs;

/// Where the guest interfaces are, and how to reach them.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    /// The TDREPORT device.
    pub device: Arc<dyn TdxGuestDevice>,
    /// Filesystem operations for configfs-tsm and tsm-mr.
    pub fs: Arc<dyn KernelFs>,
    /// configfs-tsm report directory.
    pub tsm_report_root: PathBuf,
    /// tsm-mr measurements directory.
    pub measurements_dir: PathBuf,
    /// The application event log file (a real file).
    pub event_log: PathBuf,
    /// The firmware CCEL log area, attached to evidence when readable.
    pub ccel_data: Option<PathBuf>,
    /// `EBUSY` retries for configfs-tsm.
    pub busy_retries: u32,
    /// First backoff (doubles per retry).
    pub backoff: Duration,
}

impl GuestConfig {
    /// The Linux defaults.
    pub fn linux() -> Self {
        Self {
            device: Arc::new(LinuxTdxGuest::new(DEV_TDX_GUEST)),
            fs: Arc::new(RealFs),
            tsm_report_root: tee_linux::TSM_REPORT_ROOT.into(),
            measurements_dir: TSM_MR_DIR.into(),
            event_log: APP_EVENT_LOG.into(),
            ccel_data: Some(CCEL_DATA.into()),
            busy_retries: 8,
            backoff: Duration::from_millis(50),
        }
    }
}

/// Produces quotes through configfs-tsm.
#[derive(Debug)]
pub struct TdxAttester {
    tsm: ConfigfsTsm,
    rtmr: Option<Arc<TdxRtmr>>,
    ccel_data: Option<PathBuf>,
}

impl Attester for TdxAttester {
    fn platform(&self) -> Platform {
        Platform::Tdx
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence> {
        let quote = self.tsm.quote(report_data.as_bytes())?;
        let mut ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote);
        if let Some(p) = &self.ccel_data
            && let Ok(log) = std::fs::read(p)
        {
            ev = ev.with_endorsement(endorsement::TCG2_EVENT_LOG, log);
        }
        if let Some(r) = &self.rtmr {
            ev.event_log = Some(r.event_log()?);
        }
        Ok(ev)
    }
}

/// The TD's measurement registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurements {
    /// MRTD (build-time measurement).
    pub mr_td: [u8; 48],
    /// MRCONFIGID.
    pub mr_config_id: [u8; 48],
    /// MROWNER.
    pub mr_owner: [u8; 48],
    /// MROWNERCONFIG.
    pub mr_owner_config: [u8; 48],
    /// RTMR0..3.
    pub rtmr: [[u8; 48]; 4],
}

/// The Intel TDX guest backend.
#[derive(Debug)]
pub struct TdxBackend {
    device: Arc<dyn TdxGuestDevice>,
    attester: Result<TdxAttester, String>,
    rtmr: Result<Arc<TdxRtmr>, String>,
}

impl TdxBackend {
    /// Open the backend on this Linux machine: probes `/dev/tdx_guest`,
    /// configfs-tsm (provider `tdx_guest`) and the tsm-mr files.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when `/dev/tdx_guest` is absent (not a TDX guest).
    pub fn open() -> Result<Self> {
        if !Path::new(DEV_TDX_GUEST).exists() {
            return Err(Error::unsupported(
                Platform::Tdx,
                Operation::Open,
                "not a TDX guest: /dev/tdx_guest is absent (needs the tdx_guest driver, Linux 6.2+)",
            ));
        }
        Self::with_config(GuestConfig::linux())
    }

    /// Open with explicit interfaces (used by tests with fakes, and for
    /// non-default mount points).
    ///
    /// # Errors
    /// [`Error::Device`] when the application event log disagrees with
    /// the register and cannot be recovered.
    pub fn with_config(cfg: GuestConfig) -> Result<Self> {
        let rtmr = if cfg.fs.exists(&cfg.measurements_dir.join("rtmr3:sha384")) {
            Ok(Arc::new(TdxRtmr::open(
                cfg.fs.clone(),
                cfg.measurements_dir.clone(),
                cfg.event_log.clone(),
            )?))
        } else {
            Err(format!(
                "RTMR extension needs the tsm-mr sysfs files (Linux 6.16+); {} is absent",
                cfg.measurements_dir.display()
            ))
        };
        let attester = if cfg.fs.exists(&cfg.tsm_report_root) {
            Ok(TdxAttester {
                tsm: ConfigfsTsm::new(
                    cfg.fs.clone(),
                    cfg.tsm_report_root.clone(),
                    cfg.busy_retries,
                    cfg.backoff,
                ),
                rtmr: rtmr.as_ref().ok().cloned(),
                ccel_data: cfg.ccel_data.clone(),
            })
        } else {
            Err(format!(
                "quotes need configfs-tsm (Linux 6.7+, configfs mounted); {} is absent",
                cfg.tsm_report_root.display()
            ))
        };
        Ok(Self {
            device: cfg.device,
            attester,
            rtmr,
        })
    }

    /// A fresh TDREPORT binding `report_data` (parsed; its internal hashes
    /// are checked).
    ///
    /// # Errors
    /// [`Error::Device`] on device failure, [`Error::Malformed`] /
    /// [`Error::Authenticity`] if the device returns an inconsistent report.
    pub fn tdreport(&self, report_data: &ReportData) -> Result<TdReport> {
        let raw = self.device.get_report0(report_data.as_bytes())?;
        let r = TdReport::parse(&raw)?;
        r.check_hashes()?;
        if r.report_data != *report_data.as_bytes() {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                "TDREPORT",
                "report data not echoed",
            ));
        }
        Ok(r)
    }

    /// MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG and RTMR0..3 from a fresh
    /// TDREPORT (works on kernels without the tsm-mr files).
    ///
    /// # Errors
    /// As [`TdxBackend::tdreport`].
    pub fn measurements(&self) -> Result<Measurements> {
        let r = self.tdreport(&ReportData::zero())?;
        Ok(Measurements {
            mr_td: r.mr_td,
            mr_config_id: r.mr_config_id,
            mr_owner: r.mr_owner,
            mr_owner_config: r.mr_owner_config,
            rtmr: r.rtmr,
        })
    }

    /// The raw TDREPORT bytes.
    ///
    /// # Errors
    /// [`Error::Device`] on device failure.
    pub fn tdreport_raw(&self, report_data: &ReportData) -> Result<[u8; TDREPORT_LEN]> {
        self.device.get_report0(report_data.as_bytes())
    }
}

impl Backend for TdxBackend {
    fn platform(&self) -> Platform {
        Platform::Tdx
    }

    fn attester(&self) -> Result<&dyn Attester> {
        match &self.attester {
            Ok(a) => Ok(a),
            Err(e) => Err(Error::unsupported(
                Platform::Tdx,
                Operation::Attestation,
                e.clone(),
            )),
        }
    }

    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        match &self.rtmr {
            Ok(r) => Ok(&**r),
            Err(e) => Err(Error::unsupported(
                Platform::Tdx,
                Operation::RuntimeMeasurement,
                e.clone(),
            )),
        }
    }

    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Sealing,
            SEALING_UNSUPPORTED,
        ))
    }
}
