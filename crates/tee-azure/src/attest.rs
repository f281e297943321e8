//! The Azure attester: user data to NV `0x01400002`, the regenerated HCL
//! report from NV `0x01400001`, a TPM2 quote by the AK at `0x81000003`
//! over PCRs 0–23 (SHA-256), and the VCEK (SNP) or TD quote (TDX) from the
//! platform's local endpoint ([`Imds`]).
//!
//! The SDK's qualifying data is SHA-384 of the 64 report-data bytes (48
//! bytes; the Azure vTPM takes at most 50). The same 48 bytes are written
//! as user data, so the HCL report's `user-data` (covered by the hardware
//! report) also carries them.

use std::fmt::Debug;
use std::path::Path;
use std::time::{Duration, Instant};

use tee_core::platforms::QualifyingDataRule;
use tee_core::{
    Attester, Backend, DeviceErrorKind, Error, Evidence, Operation, Platform, ReportData, Result,
    RuntimeMeasurement, Sealer, VtpmAttester,
};
use tee_linux::tpm::wire::{PcrSelection, RcKind, Signature, TPM_ALG_SHA256};
use tee_linux::tpm::{DeviceTransport, NvPublic, Tpm, TpmTransport, nv_attributes};

use crate::evidence::AzureEvidence;
use crate::hcl::{HclReport, HclTee};
use crate::runtime::RuntimeClaims;

/// NV index of the HCL report.
pub const HCL_REPORT_NV_INDEX: u32 = 0x0140_0001;
/// NV index of the user data the HCL binds into the next report.
pub const USER_DATA_NV_INDEX: u32 = 0x0140_0002;
/// Persistent handle of the vTPM attestation key.
pub const AK_HANDLE: u32 = 0x8100_0003;

/// The platform's local endpoint (Azure IMDS at `169.254.169.254`).
pub trait Imds: Send + Sync + Debug {
    /// The VCEK (DER) for this VM (THIM:
    /// `GET /metadata/THIM/amd/certification`, `vcekCert`).
    ///
    /// # Errors
    /// [`Error::Device`] when the endpoint fails; [`Error::Malformed`] for a bad answer.
    fn vcek(&self) -> Result<Vec<u8>>;

    /// The TD quote for a 1024-byte TDREPORT (`POST /acc/tdquote`).
    ///
    /// # Errors
    /// As [`Imds::vcek`].
    fn td_quote(&self, tdreport: &[u8]) -> Result<Vec<u8>>;
}

/// Options of the attester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestOptions {
    /// How long to wait for the HCL to regenerate its report after the
    /// user-data write.
    pub report_timeout: Duration,
    /// Delay between polls of the HCL report.
    pub poll_interval: Duration,
}

impl Default for AttestOptions {
    fn default() -> Self {
        Self {
            report_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// The Azure vTPM attester over a TPM transport and an IMDS client.
#[derive(Debug)]
pub struct AzureAttester<T: TpmTransport, I: Imds> {
    tpm: Tpm<T>,
    imds: I,
    tee: HclTee,
    options: AttestOptions,
    /// One attestation at a time: the user-data index is shared.
    lock: std::sync::Mutex<()>,
}

/// Which Azure CVM the TPM's HCL report says this is.
///
/// # Errors
/// [`Error::Device`] when NV `0x01400001` cannot be read (`NotFound` when
/// it is not defined: not an Azure CVM); [`Error::Malformed`] when it is
/// not an HCL report.
pub fn probe_hcl<T: TpmTransport>(tpm: &Tpm<T>) -> Result<HclTee> {
    let raw = tpm.nv_read_all(HCL_REPORT_NV_INDEX).map_err(|e| {
        if e.rc_kind() == Some(RcKind::Handle) {
            Error::device(
                DeviceErrorKind::NotFound,
                "TPM NV 0x01400001",
                "no HCL report index: not an Azure confidential VM",
            )
        } else {
            e.into()
        }
    })?;
    Ok(HclReport::parse(&raw)?.tee)
}

impl<T: TpmTransport, I: Imds> AzureAttester<T, I> {
    /// An attester; the TEE is read from the current HCL report.
    ///
    /// # Errors
    /// As [`probe_hcl`].
    pub fn new(tpm: Tpm<T>, imds: I) -> Result<Self> {
        let tee = probe_hcl(&tpm)?;
        Ok(Self {
            tpm,
            imds,
            tee,
            options: AttestOptions::default(),
            lock: std::sync::Mutex::new(()),
        })
    }

    /// Set the options.
    #[must_use]
    pub fn with_options(mut self, options: AttestOptions) -> Self {
        self.options = options;
        self
    }

    /// The TEE.
    pub fn tee(&self) -> HclTee {
        self.tee
    }

    /// Write `data` to NV `0x01400002`, (re)defining it with exactly that size.
    fn write_user_data(&self, data: &[u8]) -> Result<()> {
        match self.tpm.nv_read_public(USER_DATA_NV_INDEX) {
            Ok(p) if usize::from(p.data_size) == data.len() => {}
            Ok(_) => {
                self.tpm.nv_undefine_space(USER_DATA_NV_INDEX)?;
                self.define(data.len())?;
            }
            Err(e) if e.rc_kind() == Some(RcKind::Handle) => self.define(data.len())?,
            Err(e) => return Err(e.into()),
        }
        Ok(self.tpm.nv_write(USER_DATA_NV_INDEX, data)?)
    }

    fn define(&self, len: usize) -> Result<()> {
        Ok(self.tpm.nv_define_space(&NvPublic {
            index: USER_DATA_NV_INDEX,
            name_alg: TPM_ALG_SHA256,
            attributes: nv_attributes::OWNERREAD | nv_attributes::OWNERWRITE,
            auth_policy: Vec::new(),
            data_size: len as u16,
        })?)
    }

    /// Read the HCL report until its `user-data` is `want` (zero-padded),
    /// within the timeout.
    fn fresh_report(&self, want: &[u8; 64]) -> Result<Vec<u8>> {
        let start = Instant::now();
        loop {
            let raw = self.tpm.nv_read_all(HCL_REPORT_NV_INDEX)?;
            let hcl = HclReport::parse(&raw)?;
            if hcl.tee != self.tee {
                return Err(Error::device(
                    DeviceErrorKind::CorruptOutput,
                    "TPM NV 0x01400001",
                    "the HCL report changed TEE type",
                ));
            }
            let rc = RuntimeClaims::parse(hcl.variable_data)?;
            // A read that straddles the paravisor's rewrite (the index is
            // read in chunks) mixes two reports: accept only a report whose
            // hardware REPORT_DATA binds its own runtime claims.
            let rd_off = match self.tee {
                HclTee::Snp => 0x50,
                HclTee::Tdx => 128,
            };
            let digest = hcl.variable_data_digest();
            let consistent = hcl.hw_report.get(rd_off..rd_off + digest.len()) == Some(&digest[..]);
            if &rc.user_data == want && consistent {
                return Ok(raw);
            }
            if start.elapsed() >= self.options.report_timeout {
                return Err(Error::device(
                    DeviceErrorKind::Busy,
                    "TPM NV 0x01400001",
                    format_args!(
                        "the HCL report still carries old user data after {:?}",
                        self.options.report_timeout
                    ),
                ));
            }
            std::thread::sleep(self.options.poll_interval);
        }
    }

    /// Attest with raw qualifying data (≤ 50 bytes on Azure; also written
    /// as user data), labelled with `rule`.
    ///
    /// # Errors
    /// [`Error::Device`] for TPM or endpoint failures (the TPM errors name
    /// the command and response code); [`Error::Misuse`] for more than 64 bytes.
    pub fn attest_qualifying_data(&self, qd: &[u8], rule: QualifyingDataRule) -> Result<Evidence> {
        if qd.len() > 64 {
            return Err(Error::Misuse("qualifying data over 64 bytes".into()));
        }
        // The user-data index is shared: one attestation at a time in this
        // process (other processes writing it make the poll below time out).
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut want = [0u8; 64];
        want[..qd.len()].copy_from_slice(qd);
        self.write_user_data(qd)?;
        let hcl_report = self.fresh_report(&want)?;
        let all: Vec<u32> = (0..24).collect();
        let q = self
            .tpm
            .quote(AK_HANDLE, qd, &[PcrSelection::new(TPM_ALG_SHA256, &all)])?;
        let signature = match q.signature {
            Signature::RsaSsa {
                hash: TPM_ALG_SHA256,
                sig,
            } => sig,
            _ => {
                return Err(Error::device(
                    DeviceErrorKind::CorruptOutput,
                    "TPM2_Quote",
                    "the AK did not sign with RSASSA/SHA-256",
                ));
            }
        };
        let pcrs = self.tpm.pcr_read(TPM_ALG_SHA256, &all)?;
        let hcl = HclReport::parse(&hcl_report)?;
        let (vcek_der, td_quote) = match self.tee {
            HclTee::Snp => (Some(self.imds.vcek()?), None),
            HclTee::Tdx => (None, Some(self.imds.td_quote(hcl.hw_report)?)),
        };
        Ok(AzureEvidence {
            tee: self.tee,
            hcl_report,
            attest: q.attest,
            signature,
            pcrs: pcrs.values.into_iter().map(|(_, v)| v).collect(),
            vcek_der,
            td_quote,
            rule,
            report_data: None,
        }
        .into_evidence())
    }
}

impl<T: TpmTransport, I: Imds> Attester for AzureAttester<T, I> {
    fn platform(&self) -> Platform {
        match self.tee {
            HclTee::Snp => Platform::SevSnp,
            HclTee::Tdx => Platform::Tdx,
        }
    }

    /// The qualifying data is SHA-384 of the report data (48 bytes); the
    /// report data travels along so the verifier can report it.
    fn attest(&self, report_data: &ReportData) -> Result<Evidence> {
        let ev = self.attest_qualifying_data(
            &QualifyingDataRule::sha384_of(report_data),
            QualifyingDataRule::Sha384OfReportData,
        )?;
        Ok(ev.with_endorsement(
            crate::evidence::VTPM_REPORT_DATA,
            report_data.as_bytes().to_vec(),
        ))
    }

    fn vtpm(&self) -> Option<&dyn VtpmAttester> {
        Some(self)
    }
}

/// The largest qualifying data the Azure vTPM takes: a `TPM2B_DATA` holds
/// at most `sizeof(TPMT_HA)` of its largest hash, SHA-384 (48 + 2 bytes).
pub const MAX_QUALIFYING_DATA: usize = 50;

impl<T: TpmTransport, I: Imds> VtpmAttester for AzureAttester<T, I> {
    fn provider(&self) -> &'static str {
        crate::verify::PROVIDER
    }

    fn max_qualifying_data(&self) -> usize {
        MAX_QUALIFYING_DATA
    }

    /// The qualifying data as given, also written as user data (Trustee's
    /// `az-snp-vtpm` / `az-tdx-vtpm` binding).
    fn attest_raw(&self, qualifying_data: &[u8]) -> Result<Evidence> {
        if qualifying_data.len() > MAX_QUALIFYING_DATA {
            return Err(Error::Misuse(
                format!(
                    "{} bytes of qualifying data; the Azure vTPM takes at most {MAX_QUALIFYING_DATA}",
                    qualifying_data.len()
                )
                .into(),
            ));
        }
        self.attest_qualifying_data(qualifying_data, QualifyingDataRule::Raw)
    }
}

/// The Azure CVM backend: attestation through the vTPM; no runtime
/// measurement registers of its own (PCRs are in the evidence) and no sealing.
#[derive(Debug)]
pub struct AzureBackend<T: TpmTransport, I: Imds> {
    attester: AzureAttester<T, I>,
}

impl<T: TpmTransport, I: Imds> AzureBackend<T, I> {
    /// The backend over an attester.
    pub fn new(attester: AzureAttester<T, I>) -> Self {
        Self { attester }
    }

    /// The attester.
    pub fn azure_attester(&self) -> &AzureAttester<T, I> {
        &self.attester
    }
}

/// The backend on a real Azure CVM: `/dev/tpmrm0` under `root` and the
/// IMDS at `169.254.169.254` (what detection opens).
///
/// # Errors
/// As [`probe_hcl`]; [`Error::Device`] `NotFound` without a TPM device.
pub fn open_with_root(
    root: &Path,
) -> Result<AzureBackend<DeviceTransport, crate::imds::LocalImds>> {
    let dev = root.join("dev/tpmrm0");
    let tpm = Tpm::new(DeviceTransport::open(&dev)?);
    Ok(AzureBackend::new(AzureAttester::new(
        tpm,
        crate::imds::LocalImds::default(),
    )?))
}

impl<T: TpmTransport, I: Imds> Backend for AzureBackend<T, I> {
    fn platform(&self) -> Platform {
        self.attester.platform()
    }

    fn attester(&self) -> Result<&dyn Attester> {
        Ok(&self.attester)
    }

    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            self.platform(),
            Operation::RuntimeMeasurement,
            "on Azure the paravisor measures into the vTPM PCRs (quoted in the evidence); \
             the guest has no TEE runtime registers",
        ))
    }

    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::unsupported(
            self.platform(),
            Operation::Sealing,
            "the Azure paravisor exposes no TEE key derivation to the guest",
        ))
    }
}
