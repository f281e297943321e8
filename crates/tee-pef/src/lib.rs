//! IBM PEF (Protected Execution Facility, POWER9 ultravisor) backend.
//!
//! PEF has **no vendor-signed attestation report, no runtime measurement
//! registers and no sealing key**. Trust comes from the ESM blob: the owner
//! encrypts the expected digests of the RTAS stub, kernel, initrd and boot
//! arguments, plus secret attachments, under a master key wrapped to the
//! platform TPM's key; the ultravisor unwraps it, checks every digest
//! before the VM becomes secure, and afterwards releases the attachments
//! to the secure VM through `UV_ESMB_GET_FILE`.
//!
//! What this crate offers, and against which document (the spec is
//! `pef-model.md`; see `docs/pef.md`):
//!
//! | part | status |
//! |---|---|
//! | [`esm`]: ESM blob builder, parser, inspector (svm-tool layout) | implemented; FDT bytes identical to `dtc` for the same tree (golden test); no real svm-tool blob was available |
//! | [`cpio`]: initrd wrapping and the UV's cpio skip | implemented |
//! | [`tpm`]: simulated TPM, policies A/B, PCR16 assumption | modelled |
//! | [`uv`]: simulated ultravisor (`UV_ESM`, `UV_ESMB_GET_FILE`, sharing, page-out) | modelled |
//! | [`PefBackend`]: detection via `/sys/devices/system/cpu/svm` | implemented |
//! | secrets via `UV_ESMB_GET_FILE` | trait [`guest::EsmbGetFile`]: native `sc 2` on ppc64le Linux (untested on hardware), `Unsupported` elsewhere; the simulator implements it |
//! | attestation | owner-rooted MAC ([`report`]) carrying the blob's ESM measurement, **not hardware-rooted**; [`PefVerifier`] needs the owner's key |
//! | sealing | envelope under a key derived from an ESM attachment |
//! | runtime measurement | `Unsupported` |
//!
//! # Example: build a blob, let the simulated ultravisor check a guest
//!
//! ```
//! use tee_pef::esm::{Digests, EsmBlobBuilder};
//! use tee_pef::machine::{SimMachine, launch};
//! use tee_pef::uv::{EsmFailure, GuestImage};
//! use tee_pef::{abi, cpio, crypto};
//!
//! # fn main() -> tee_core::Result<()> {
//! let machine = SimMachine::create()?; // the TPM wrapping key
//! let owner = crypto::RsaKeyPair::generate()?; // the origin key
//! let (kernel, initrd, args) = (b"kernel".to_vec(), b"initrd".to_vec(), "svm=on");
//!
//! let mut b = EsmBlobBuilder::new(&owner.recipient()?, "owner")?;
//! b.authorize(&crypto::RecipientKey::from_pem(&machine.public_pem()?)?, "machine")?;
//! b.set_digests(&Digests::for_slof(&kernel, &initrd, args)?, "digests")?;
//! b.attach("crypttab", b"passphrase", "LUKS")?;
//! let wrapped = cpio::wrap_initrd(&initrd, &b.build()?, "esmb.dtb")?;
//!
//! let mut uv = machine.boot()?;
//! let ok = launch(&mut uv, 1, &GuestImage::new(kernel.clone(), wrapped.clone(), args));
//! assert_eq!(ok.uv_rc, abi::U_SUCCESS);
//!
//! // One extra space in the boot arguments: refused, the guest sees H_PARAMETER.
//! let bad = launch(&mut uv, 2, &GuestImage::new(kernel, wrapped, "svm=on "));
//! assert_eq!(bad.failure, Some(EsmFailure::DigestMismatch(vec!["bootargs"])));
//! assert_eq!(bad.guest_r3, abi::H_PARAMETER);
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

pub mod abi;
pub mod cpio;
pub mod crypto;
pub mod esm;
pub mod fdt;
pub mod guest;
pub mod inspect;
pub mod machine;
pub mod report;
#[cfg(all(
    target_arch = "powerpc64",
    target_endian = "little",
    target_os = "linux"
))]
#[allow(unsafe_code)]
mod sys;
pub mod tpm;
pub mod uv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use tee_core::evidence::format::PEF_OWNER_MAC;
use tee_core::{
    Attester, Backend, Capabilities, DeviceErrorKind, EnvelopeSealer, Error, Evidence, Operation,
    Platform, ReportData, Result, RuntimeMeasurement, SealBinding, Sealer, SealingKeySource,
    Support,
};
use zeroize::Zeroizing;

pub use guest::{EsmbGetFile, NativeUltracalls, SimSvmProcess};
pub use report::PefVerifier;

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
struct SecretStore {
    uc: Arc<dyn EsmbGetFile>,
    /// `None` records an attachment the ultravisor refused (absent).
    cache: Mutex<BTreeMap<String, Option<Zeroizing<Vec<u8>>>>>,
}

impl SecretStore {
    fn get(&self, name: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.get_inner(name, false)?.ok_or_else(|| {
            Error::device(
                DeviceErrorKind::Firmware(abi::U_PARAMETER as u64),
                guest::INTERFACE,
                format_args!("`{name}` was refused earlier in this process (absent, or read by another process)"),
            )
        })
    }

    /// An attachment that may be absent: `U_PARAMETER` from the ultravisor
    /// becomes `None` (and is remembered).
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
                if optional && d.kind == DeviceErrorKind::Firmware(abi::U_PARAMETER as u64) =>
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

/// Sealing keys derived from an ESM-provisioned secret:
/// `HKDF-SHA256(salt = "tee-pef/seal/v1", ikm = secret, info = binding ‖ key_params)`,
/// with `key_params` = a public id of the secret. Bound to the owner's blob
/// (any VM admitted by a blob carrying the same secret derives the same
/// key), not to a measurement; lasts as long as the blob stays authorised.
#[derive(Debug)]
pub struct PefKeySource {
    store: Arc<SecretStore>,
    file: String,
}

const SEAL_SALT: &[u8] = b"tee-pef/seal/v1";

impl PefKeySource {
    fn secret(&self) -> Result<Zeroizing<Vec<u8>>> {
        let s = self.store.get(&self.file)?;
        if s.len() < 32 {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                guest::INTERFACE,
                format_args!("attachment `{}` is shorter than 32 bytes", self.file),
            ));
        }
        Ok(s)
    }
}

impl SealingKeySource for PefKeySource {
    fn platform(&self) -> Platform {
        Platform::Pef
    }

    fn key_params(&self, binding: SealBinding) -> Result<Vec<u8>> {
        if binding == SealBinding::Instance {
            return Err(Error::unsupported(
                Platform::Pef,
                Operation::Sealing,
                "PEF cannot bind a key to a machine instance: the sealing secret comes from the owner's ESM blob, \
                 which may authorise several machines",
            ));
        }
        let s = self.secret()?;
        Ok(Sha256::new()
            .chain_update(b"tee-pef/seal-key-id/v1")
            .chain_update(&*s)
            .finalize()
            .to_vec())
    }

    fn derive_key(&self, binding: SealBinding, key_params: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        if key_params.len() != 32 {
            return Err(Error::bad_field(
                "PEF seal key parameters",
                "key_params",
                "not 32 bytes",
            ));
        }
        let s = self.secret()?;
        let hk = Hkdf::<Sha256>::new(Some(SEAL_SALT), &s);
        let code = match binding {
            SealBinding::Measurement => [1u8],
            SealBinding::Family => [2u8],
            _ => [3u8],
        };
        let mut k = Zeroizing::new([0u8; 32]);
        hk.expand_multi_info(&[&code, key_params], k.as_mut())
            .map_err(|_| Error::Misuse("HKDF output length".into()))?;
        Ok(k)
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
        let mut b = Self::with_ultracalls(Arc::new(NativeUltracalls::after_detection()), config);
        b.unavailable = match (native, guest::NATIVE_AVAILABLE) {
            (true, true) => None,
            (true, false) => Some(guest::NATIVE_UNSUPPORTED),
            (false, _) => Some(TEST_ROOT_UNSUPPORTED),
        };
        Ok(b)
    }

    /// A backend over any `UV_ESMB_GET_FILE` implementation (the simulator's
    /// [`SimSvmProcess`] in tests and `teectl pef demo`).
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
            sealer: EnvelopeSealer::new(PefKeySource {
                store: store.clone(),
                file: config.sealing_key_file,
            }),
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

    fn capabilities(&self) -> Capabilities {
        let gated = || match self.unavailable {
            Some(r) => Support::Unsupported(r.into()),
            None => Support::Supported,
        };
        Capabilities {
            platform: Platform::Pef,
            attestation: gated(),
            runtime_measurement: Support::Unsupported(NO_RUNTIME_MEASUREMENT.into()),
            sealing: gated(),
        }
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
