//! A simulated PEF machine: a TPM wrapping key persisted in a directory,
//! booted into a [`SimUltravisor`], and guests launched through `UV_ESM`.
//!
//! Directory layout: `tpm-pub.pem` (what `tssreadpublic -ho 81800001
//! -opem` exports; give it to `build-blob --tpm-pub`) and `tpm-priv.pem`
//! (the simulated TPM's private key, PKCS#8; a real TPM never exports it).

use std::path::Path;

use tee_core::{DeviceErrorKind, Error, Result};

use crate::crypto::RsaKeyPair;
use crate::sim::tpm::SimTpm;
use crate::sim::uv::{Caller, EsmOutcome, GuestImage, GuestLayout, SimUltravisor};

/// Public key file name.
pub const TPM_PUB_PEM: &str = "tpm-pub.pem";
/// Private key file name (simulator only).
pub const TPM_PRIV_PEM: &str = "tpm-priv.pem";

fn io(path: &Path, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => DeviceErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => DeviceErrorKind::PermissionDenied,
        _ => DeviceErrorKind::Io,
    };
    Error::device(kind, path.display().to_string(), e)
}

/// Write `path` through a temporary file in the same directory created
/// with `mode` (on Unix), then rename it into place.
fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .ok_or_else(|| Error::Misuse("not a file path".into()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io(path, e))
}

/// A simulated machine (its TPM's wrapping key).
#[derive(Debug, Clone)]
pub struct SimMachine {
    key: RsaKeyPair,
}

impl SimMachine {
    /// Firmware provisions a fresh wrapping key (RSA-2048 generation).
    ///
    /// # Errors
    /// [`Error::Device`] if randomness fails.
    pub fn create() -> Result<Self> {
        Ok(Self {
            key: RsaKeyPair::generate()?,
        })
    }

    /// A machine with a given wrapping key.
    pub fn from_key(key: RsaKeyPair) -> Self {
        Self { key }
    }

    /// The TPM wrapping key's public PEM.
    ///
    /// # Errors
    /// [`Error::Misuse`] if encoding fails.
    pub fn public_pem(&self) -> Result<Vec<u8>> {
        self.key.public_pem()
    }

    /// Write `tpm-pub.pem` and `tpm-priv.pem` (mode 0600) into `dir`
    /// (created if missing), each atomically (temporary file, then rename).
    ///
    /// # Errors
    /// [`Error::Device`] for file-system failures.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let pub_path = dir.join(TPM_PUB_PEM);
        write_atomic(&pub_path, &self.public_pem()?, 0o644)?;
        let priv_path = dir.join(TPM_PRIV_PEM);
        write_atomic(&priv_path, self.key.to_pkcs8_pem()?.as_bytes(), 0o600)?;
        Ok(())
    }

    /// Read a machine written by [`SimMachine::save`].
    ///
    /// # Errors
    /// [`Error::Device`] for missing files; [`Error::Malformed`] for a bad key.
    pub fn load(dir: &Path) -> Result<Self> {
        let p = dir.join(TPM_PRIV_PEM);
        let pem = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
        Ok(Self {
            key: RsaKeyPair::from_pkcs8_pem(&pem)?,
        })
    }

    /// Power on: firmware rotates the TPM password and locks PCR16; the
    /// ultravisor starts with the `ibm,uv-tpm` properties.
    ///
    /// # Errors
    /// As [`SimTpm::firmware_boot`].
    pub fn boot(&self) -> Result<SimUltravisor> {
        SimUltravisor::boot(SimTpm::with_key(self.key.clone()))
    }
}

/// Launch `image` as partition `lpid`: the hypervisor provides its memory,
/// the guest kernel (supervisor, not yet secure) issues `sc 2` with
/// r3 = `UV_ESM`, r4 = kbase, r5 = fdt.
pub fn launch(uv: &mut SimUltravisor, lpid: u64, image: &GuestImage) -> EsmOutcome {
    let layout = GuestLayout::default();
    uv.hv_provide_memory(lpid, image.load(&layout));
    uv.uv_esm(Caller::guest_kernel(lpid), layout.kbase, layout.fdt)
}
