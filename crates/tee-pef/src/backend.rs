//! The PEF guest backend: detection, the secret store over
//! `UV_ESMB_GET_FILE`, the owner-rooted attester.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tee_core::evidence::format::PEF_OWNER_MAC;
use tee_core::{
    Attester, Backend, DeviceErrorKind, EnvelopeSealer, Error, Evidence, Operation, Platform,
    ReportData, Result, RuntimeMeasurement, Sealer,
};
use zeroize::Zeroizing;

use crate::guest::{self, EsmbGetFile, NativeUltracalls, NoUltracalls};
use crate::seal::PefKeySource;
use crate::{abi, esm, report};

/// The sysfs file that says whether this guest is a secure VM (`1`/`0`).
pub const SVM_SYSFS: &str = "sys/devices/system/cpu/svm";

/// Why there are no runtime measurement registers.
pub const NO_RUNTIME_MEASUREMENT: &str = "PEF has no runtime measurement registers: the ultravisor checks the RTAS, \
kernel, initrd and boot-argument digests once at UV_ESM and offers no ultracall to read or extend a measurement";

/// Why a backend opened at a test root has no ultracalls.
pub const TEST_ROOT_UNSUPPORTED: &str = "opened at a test root (PefBackend::open_at): no ultracalls are issued; use PefBackend::open in a secure VM";

/// Which ESM attachments the backend uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PefConfig {
    /// The attachment holding the owner's attestation (MAC) key (≥ 32 bytes).
    pub attestation_key_file: String,
    /// The attachment holding the sealing secret (≥ 32 bytes).
    pub sealing_key_file: String,
    /// The optional attachment holding the ESM measurement (64 bytes),
    /// carried in evidence as the launch measurement.
    pub measurement_file: String,
}

impl Default for PefConfig {
    fn default() -> Self {
        Self {
            attestation_key_file: "attest-key".into(),
            sealing_key_file: "seal-key".into(),
            measurement_file: esm::MEASUREMENT_ATTACHMENT.into(),
        }
    }
}

/// Secrets read through `UV_ESMB_GET_FILE`, cached for the process's
/// lifetime (the ultravisor releases each file once per boot).
#[derive(Debug)]
pub(crate) struct SecretStore {
    uc: Arc<dyn EsmbGetFile>,
    /// `None` records an attachment the ultravisor refused (absent).
    cache: Mutex<BTreeMap<String, Option<Zeroizing<Vec<u8>>>>>,
}

impl SecretStore {
    pub(crate) fn get(&self, name: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.get_inner(name, false)?.ok_or_else(|| {
            Error::device(
                DeviceErrorKind::Firmware(abi::ESMB_FILE_NOT_FOUND as u64),
                guest::INTERFACE,
                format_args!("`{name}` is not attached (found absent earlier in this process)"),
            )
        })
    }

    /// An attachment that may be absent: the ultravisor's "not found"
    /// ([`abi::ESMB_FILE_NOT_FOUND`]) becomes `None` (and is remembered);
    /// any other refusal (read by another process, …) stays an error.
    fn get_optional(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.get_inner(name, true)
    }

    fn get_inner(&self, name: &str, optional: bool) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let mut cache = self.cache.lock().map_err(|_| {
            Error::device(
                DeviceErrorKind::Io,
                guest::INTERFACE,
                "secret cache lock poisoned",
            )
        })?;
        if let Some(v) = cache.get(name) {
            return Ok(v.clone());
        }
        match guest::read_file(self.uc.as_ref(), name) {
            Ok(v) => {
                cache.insert(name.to_owned(), Some(v.clone()));
                Ok(Some(v))
            }
            Err(Error::Device(d))
                if optional
                    && d.kind == DeviceErrorKind::Firmware(abi::ESMB_FILE_NOT_FOUND as u64) =>
            {
                cache.insert(name.to_owned(), None);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The owner-rooted attester.
#[derive(Debug)]
pub struct PefAttester {
    store: Arc<SecretStore>,
    file: String,
    measurement_file: String,
}

impl Attester for PefAttester {
    fn platform(&self) -> Platform {
        Platform::Pef
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence> {
        let key = self.store.get(&self.file)?;
        if key.len() < report::MIN_KEY_LEN {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                guest::INTERFACE,
                format_args!("attachment `{}` is shorter than 32 bytes", self.file),
            ));
        }
        // Fail closed: a measurement attachment of the wrong size is an error,
        // an absent one leaves the launch measurement "not applicable".
        let m = match self.store.get_optional(&self.measurement_file)? {
            Some(m) => Some(<[u8; 64]>::try_from(m.as_slice()).map_err(|_| {
                Error::device(
                    DeviceErrorKind::CorruptOutput,
                    guest::INTERFACE,
                    format_args!("attachment `{}` is not 64 bytes", self.measurement_file),
                )
            })?),
            None => None,
        };
        let r = report::produce(&key, report_data, m.as_ref())?;
        Ok(Evidence::new(Platform::Pef, PEF_OWNER_MAC, r))
    }
}

/// The PEF guest backend.
#[derive(Debug)]
pub struct PefBackend {
    store: Arc<SecretStore>,
    attester: PefAttester,
    sealer: EnvelopeSealer<PefKeySource>,
    unavailable: Option<&'static str>,
}

impl PefBackend {
    /// Open on this machine: `/sys/devices/system/cpu/svm` must read `1`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the file is absent (not POWER, or a
    /// kernel without `CONFIG_PPC_SVM`) or reads `0` (not a secure VM);
    /// [`Error::Device`] when it cannot be read or has other contents.
    pub fn open() -> Result<Self> {
        Self::open_with(Path::new("/"), PefConfig::default(), true)
    }

    /// Open with `root` in place of `/` (for tests with a fake sysfs). A
    /// backend opened this way never issues real ultracalls: attestation,
    /// sealing and secrets report `Unsupported`.
    ///
    /// # Errors
    /// As [`PefBackend::open`].
    pub fn open_at(root: &Path, config: PefConfig) -> Result<Self> {
        Self::open_with(root, config, false)
    }

    /// [`PefBackend::open`] with the attachment names of `config`.
    ///
    /// # Errors
    /// As [`PefBackend::open`].
    pub fn open_with_config(config: PefConfig) -> Result<Self> {
        Self::open_with(Path::new("/"), config, true)
    }

    fn open_with(root: &Path, config: PefConfig, native: bool) -> Result<Self> {
        let path: PathBuf = root.join(SVM_SYSFS);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::unsupported(
                    Platform::Pef,
                    Operation::Open,
                    "not a PEF guest: /sys/devices/system/cpu/svm is absent (not IBM POWER, or a kernel without CONFIG_PPC_SVM)",
                ));
            }
            Err(e) => {
                let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    DeviceErrorKind::PermissionDenied
                } else {
                    DeviceErrorKind::Io
                };
                return Err(Error::device(kind, "/sys/devices/system/cpu/svm", e));
            }
        };
        match text.trim_end_matches('\n') {
            "1" => {}
            "0" => {
                return Err(Error::unsupported(
                    Platform::Pef,
                    Operation::Open,
                    "this POWER guest is not a secure VM (svm reads 0): boot it with svm=on and an ESM blob",
                ));
            }
            _ => {
                return Err(Error::device(
                    DeviceErrorKind::CorruptOutput,
                    "/sys/devices/system/cpu/svm",
                    "expected `0` or `1`",
                ));
            }
        }
        // The safety contract of the ultracall (`sys`): a native transport
        // exists only after the real `/sys/devices/system/cpu/svm` read `1`
        // on a build that can issue it. A test root never gets one.
        let (uc, unavailable): (Arc<dyn EsmbGetFile>, Option<&'static str>) =
            match (native, guest::NATIVE_AVAILABLE) {
                (true, true) => (Arc::new(NativeUltracalls::after_detection()), None),
                (true, false) => (
                    Arc::new(NoUltracalls(guest::NATIVE_UNSUPPORTED)),
                    Some(guest::NATIVE_UNSUPPORTED),
                ),
                (false, _) => (
                    Arc::new(NoUltracalls(TEST_ROOT_UNSUPPORTED)),
                    Some(TEST_ROOT_UNSUPPORTED),
                ),
            };
        let mut b = Self::with_ultracalls(uc, config);
        b.unavailable = unavailable;
        Ok(b)
    }

    /// A backend over any `UV_ESMB_GET_FILE` implementation (the simulator's
    /// `SimSvmProcess` (feature `sim`) in tests and `teectl pef demo`).
    pub fn with_ultracalls(uc: Arc<dyn EsmbGetFile>, config: PefConfig) -> Self {
        let store = Arc::new(SecretStore {
            uc,
            cache: Mutex::new(BTreeMap::new()),
        });
        Self {
            attester: PefAttester {
                store: store.clone(),
                file: config.attestation_key_file,
                measurement_file: config.measurement_file,
            },
            sealer: EnvelopeSealer::new(PefKeySource::new(store.clone(), config.sealing_key_file)),
            store,
            unavailable: None,
        }
    }

    /// An owner secret (ESM attachment), read once through
    /// `UV_ESMB_GET_FILE` and cached for this process.
    ///
    /// # Errors
    /// [`Error::Device`] with the `U_*` code when the ultravisor refuses
    /// (unknown name, or already read this boot by another process);
    /// [`Error::Unsupported`] without ultracalls.
    pub fn secret(&self, name: &str) -> Result<Zeroizing<Vec<u8>>> {
        if let Some(r) = self.unavailable {
            return Err(Error::unsupported(
                Platform::Pef,
                Operation::SecretProvisioning,
                r,
            ));
        }
        self.store.get(name)
    }
}

impl Backend for PefBackend {
    fn platform(&self) -> Platform {
        Platform::Pef
    }

    fn attester(&self) -> Result<&dyn Attester> {
        match self.unavailable {
            Some(r) => Err(Error::unsupported(Platform::Pef, Operation::Attestation, r)),
            None => Ok(&self.attester),
        }
    }

    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::Pef,
            Operation::RuntimeMeasurement,
            NO_RUNTIME_MEASUREMENT,
        ))
    }

    fn sealer(&self) -> Result<&dyn Sealer> {
        match self.unavailable {
            Some(r) => Err(Error::unsupported(Platform::Pef, Operation::Sealing, r)),
            None => Ok(&self.sealer),
        }
    }
}
