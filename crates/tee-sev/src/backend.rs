//! [`SevBackend`]: the SEV-SNP guest backend.

use std::sync::Arc;

use tee_core::evidence::{endorsement, format};
use tee_core::{
    Attester, Backend, DeviceErrorKind, EnvelopeSealer, Error, Evidence, Operation, Platform,
    ReportData, Result, RuntimeMeasurement, Sealer,
};

#[cfg(target_os = "linux")]
use crate::guest::{ConfigfsTsm, FirmwareReports, Retry};
use crate::guest::{MAX_VMPL, ReportSource, SnpFirmware};
use crate::report::SnpReport;
use crate::seal::{SealKeyConfig, SnpKeySource};

/// Why SNP has no runtime measurement registers.
pub const NO_RTMR: &str = "SEV-SNP has no runtime measurement registers; use a vTPM (e.g. under an SVSM) \
     or bind runtime state into report data";

/// Options of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SevOptions {
    /// VMPL the reports are requested at (default 0; configfs `privlevel`).
    pub vmpl: u32,
    /// How sealing keys are derived.
    pub seal: SealKeyConfig,
}

/// Supplies endorsements (VCEK/VLEK, chain) for a fresh report when the
/// interface attached none (`/dev/sev-guest`, or a host without certificates).
pub trait EndorsementSource: Send + Sync + std::fmt::Debug {
    /// Endorsements as `(kind, bytes)` for `report`.
    ///
    /// # Errors
    /// [`Error::Device`] when the source cannot be read.
    fn endorsements(&self, report: &SnpReport<'_>) -> Result<Vec<(String, Vec<u8>)>>;
}

/// Fixed endorsements (e.g. a VCEK fetched once and stored).
#[derive(Debug, Clone, Default)]
pub struct StaticEndorsements(pub Vec<(String, Vec<u8>)>);

impl EndorsementSource for StaticEndorsements {
    fn endorsements(&self, _report: &SnpReport<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self.0.clone())
    }
}

/// An offline directory cache laid out like AMD's KDS:
/// `<dir>/<Product>/<hwid hex>/<reported_tcb as 16 hex digits>.der` for the
/// VCEK (Turin: the 8-byte hwID), and optionally `<dir>/<Product>/cert_chain.pem`.
/// Missing files are not an error: the evidence simply carries less.
#[derive(Debug, Clone)]
pub struct DirCache {
    /// The cache root.
    pub dir: std::path::PathBuf,
}

impl EndorsementSource for DirCache {
    fn endorsements(&self, report: &SnpReport<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        let Some(product) = report.product() else {
            return Ok(out);
        };
        let base = self.dir.join(product.kds_name());
        let hwid = if product.has_fmc() {
            report.chip_id.get(..8).unwrap_or(&[])
        } else {
            &report.chip_id[..]
        };
        let vcek = base
            .join(hex::encode(hwid))
            .join(format!("{:016x}.der", report.reported_tcb.0));
        let read = |p: &std::path::Path| match std::fs::read(p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(crate::guest::io_error(&p.display().to_string(), "read", &e)),
        };
        if let Some(b) = read(&vcek)? {
            out.push((endorsement::SIGNING_CERT_DER.to_owned(), b));
        }
        if let Some(b) = read(&base.join("cert_chain.pem"))? {
            out.push((endorsement::CERT_CHAIN_PEM.to_owned(), b));
        }
        Ok(out)
    }
}

/// Produces SNP evidence from a [`ReportSource`].
#[derive(Debug)]
pub struct SevAttester {
    source: Box<dyn ReportSource>,
    vmpl: u32,
    extra: Option<Arc<dyn EndorsementSource>>,
}

impl SevAttester {
    /// An attester over `source` at `vmpl`.
    pub fn new(source: Box<dyn ReportSource>, vmpl: u32) -> Self {
        Self {
            source,
            vmpl,
            extra: None,
        }
    }
}

impl Attester for SevAttester {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence> {
        let raw = self.source.get_report(report_data.as_bytes(), self.vmpl)?;
        // Sanity-check what the interface returned before handing it out.
        let corrupt = |d: String| {
            Error::device(
                DeviceErrorKind::CorruptOutput,
                self.source.interface().to_owned(),
                d,
            )
        };
        let r = SnpReport::parse(&raw.report)
            .map_err(|e| corrupt(format!("report does not parse: {e}")))?;
        if r.report_data != report_data.as_bytes() {
            return Err(corrupt(
                "report does not echo the requested report data".into(),
            ));
        }
        if r.vmpl != self.vmpl {
            return Err(corrupt(format!(
                "report VMPL {} differs from the requested {}",
                r.vmpl, self.vmpl
            )));
        }
        if let Some(t) = &raw.cert_table {
            crate::cert_table::parse(t).map_err(|e| corrupt(format!("certificate table: {e}")))?;
        }
        let extra = match (&raw.cert_table, &self.extra) {
            (None, Some(src)) => src.endorsements(&r)?,
            _ => Vec::new(),
        };
        let mut ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, raw.report.clone());
        if let Some(t) = raw.cert_table {
            ev = ev.with_endorsement(endorsement::GHCB_CERT_TABLE, t);
        }
        for (kind, data) in extra {
            ev = ev.with_endorsement(kind, data);
        }
        Ok(ev)
    }
}

/// The AMD SEV-SNP guest backend.
#[derive(Debug)]
pub struct SevBackend {
    attester: SevAttester,
    sealer: std::result::Result<EnvelopeSealer<SnpKeySource>, String>,
}

impl SevBackend {
    /// Open the backend on this machine: reports through configfs-tsm when
    /// it has the `sev_guest` provider, else through `/dev/sev-guest`;
    /// sealing through `/dev/sev-guest`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when neither interface exists (not an SNP
    /// guest); [`Error::Device`] when one exists but cannot be used.
    pub fn open() -> Result<Self> {
        Self::open_with(SevOptions::default())
    }

    /// [`SevBackend::open`] with options.
    ///
    /// # Errors
    /// As [`SevBackend::open`], plus [`Error::Misuse`] for a VMPL above 3.
    pub fn open_with(options: SevOptions) -> Result<Self> {
        #[cfg(target_os = "linux")]
        {
            // A device that exists but cannot be opened (permissions) is
            // reported only if nothing else works.
            let (device, device_err): (Option<Arc<dyn SnpFirmware>>, Option<Error>) =
                if std::path::Path::new(crate::guest::SEV_GUEST_DEVICE).exists() {
                    match crate::guest::SevGuestDevice::open() {
                        Ok(d) => (Some(Arc::new(d)), None),
                        Err(e) => (None, Some(e)),
                    }
                } else {
                    (None, None)
                };
            let tsm = ConfigfsTsm::system();
            let reports: Box<dyn ReportSource> = match tsm.probe() {
                Ok(()) => Box::new(tsm),
                Err(tsm_err) => match &device {
                    Some(d) => Box::new(FirmwareReports::new(d.clone(), Retry::default())),
                    None => {
                        if let Some(e) = device_err {
                            return Err(e);
                        }
                        return Err(match tsm_err {
                            Error::Unsupported(u) => Error::Unsupported(u),
                            _ => Error::unsupported(
                                Platform::SevSnp,
                                Operation::Open,
                                "not an SEV-SNP guest: no configfs-tsm report interface with provider sev_guest \
                                 and no /dev/sev-guest",
                            ),
                        });
                    }
                },
            };
            Self::from_parts(reports, device, options)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = options;
            Err(Error::unsupported(
                Platform::SevSnp,
                Operation::Open,
                "the SEV-SNP guest backend needs Linux",
            ))
        }
    }

    /// A backend over explicit interfaces (fakes in tests, or a custom
    /// configfs root). Without `firmware` sealing is unsupported.
    ///
    /// # Errors
    /// [`Error::Misuse`] for a VMPL above 3.
    pub fn from_parts(
        reports: Box<dyn ReportSource>,
        firmware: Option<Arc<dyn SnpFirmware>>,
        options: SevOptions,
    ) -> Result<Self> {
        if options.vmpl > MAX_VMPL || options.seal.vmpl > MAX_VMPL {
            return Err(Error::Misuse("VMPL out of range 0..=3".into()));
        }
        let sealer = match firmware {
            Some(fw) => Ok(EnvelopeSealer::new(SnpKeySource::new(fw, options.seal))),
            None => Err(
                "sealing needs derived keys from /dev/sev-guest (MSG_KEY_REQ has no configfs-tsm \
                         equivalent), which is absent"
                    .to_owned(),
            ),
        };
        Ok(Self {
            attester: SevAttester::new(reports, options.vmpl),
            sealer,
        })
    }

    /// Attach endorsements from `source` to evidence whose interface
    /// supplied no certificate table.
    #[must_use]
    pub fn with_endorsements(mut self, source: Arc<dyn EndorsementSource>) -> Self {
        self.attester.extra = Some(source);
        self
    }
}

impl Backend for SevBackend {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    fn attester(&self) -> Result<&dyn Attester> {
        Ok(&self.attester)
    }

    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::SevSnp,
            Operation::RuntimeMeasurement,
            NO_RTMR,
        ))
    }

    fn sealer(&self) -> Result<&dyn Sealer> {
        match &self.sealer {
            Ok(s) => Ok(s),
            Err(r) => Err(Error::unsupported(
                Platform::SevSnp,
                Operation::Sealing,
                r.clone(),
            )),
        }
    }
}
