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

    /// Write `tpm-pub.pem` and `tpm-priv.pem` into `dir` (created if missing).
    ///
    /// # Errors
    /// [`Error::Device`] for file-system failures.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let pub_path = dir.join(TPM_PUB_PEM);
        std::fs::write(&pub_path, self.public_pem()?).map_err(|e| io(&pub_path, e))?;
        let priv_path = dir.join(TPM_PRIV_PEM);
        std::fs::write(&priv_path, self.key.to_pkcs8_pem()?.as_bytes())
            .map_err(|e| io(&priv_path, e))?;
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
