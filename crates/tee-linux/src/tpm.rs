//! TPM 2.0 access for confidential-VM guests (the vTPM of a paravisor).
//!
//! A TPM 2.0 is driven by command buffers (TPM 2.0 Part 3): the caller
//! marshals a command, the transport delivers it and returns the response
//! buffer, the caller unmarshals it. On Linux the resource-managed device
//! `/dev/tpmrm0` carries exactly one command per `write(2)` and its response
//! per `read(2)`.
//!
//! - [`TpmTransport`]: the seam (one command in, one response out);
//!   [`DeviceTransport`] is `/dev/tpmrm0` (or `/dev/tpm0`) with plain `std`
//!   file I/O;
//! - [`Tpm`]: the command layer (PCR read, ReadPublic, NV read/write/define,
//!   Quote), pure-Rust marshalling, typed errors naming the command and the
//!   decoded response code ([`TpmError`]);
//! - [`wire`]: the structures a verifier parses (`TPMS_ATTEST`,
//!   `TPMT_PUBLIC`, `TPMT_SIGNATURE`, PCR selections), bounded and strict;
//! - `testing::FakeTpm` (feature `testing`): a TPM in memory that answers
//!   like one, with busy/retry codes, errors and short responses on request.
//!
//! No TSS library is used.

use std::fmt::Debug;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tee_core::{DeviceErrorKind, Error, Result};

#[path = "tpm_client.rs"]
mod client;
#[path = "tpm_wire.rs"]
pub mod wire;

pub use client::{
    MAX_NV_READ, NV_CHUNK, NvPublic, ObjectPublic, PcrValues, Quote, Tpm, TpmCommand, TpmError,
    nv_attributes,
};

/// Largest TPM 2.0 command or response buffer (`TPM_MAX_COMMAND_SIZE` of
/// common implementations, and the Linux driver's `TPM_BUFSIZE`).
pub const TPM_MAX_BUFFER: usize = 4096;

/// The resource-managed TPM device.
pub const TPM_RM_DEVICE: &str = "/dev/tpmrm0";

/// A TPM command transport: one command buffer in, one response buffer out.
pub trait TpmTransport: Send + Sync + Debug {
    /// Send `command` (a marshalled TPM 2.0 command, at most
    /// [`TPM_MAX_BUFFER`] bytes) and return the response buffer exactly as
    /// received. The transport does not interpret either; a TPM error is a
    /// response code in the response, not an `Err`.
    ///
    /// # Errors
    /// [`tee_core::Error::Device`] when the command cannot be delivered or
    /// no response can be read (kinds as [`crate::io_error`] maps them);
    /// [`tee_core::Error::Misuse`] for a command over [`TPM_MAX_BUFFER`].
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>>;
}

impl<T: TpmTransport + ?Sized> TpmTransport for &T {
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit(command)
    }
}

impl<T: TpmTransport + ?Sized> TpmTransport for Box<T> {
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit(command)
    }
}

impl<T: TpmTransport + ?Sized> TpmTransport for std::sync::Arc<T> {
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit(command)
    }
}

/// The TPM character device (`/dev/tpmrm0`): one `write(2)` of the whole
/// command, one `read(2)` of the whole response, serialized by a mutex (the
/// kernel keeps one command in flight per open file).
#[derive(Debug)]
pub struct DeviceTransport {
    path: PathBuf,
    file: Mutex<File>,
}

impl DeviceTransport {
    /// Open [`TPM_RM_DEVICE`].
    ///
    /// # Errors
    /// [`Error::Device`] (`NotFound` without a TPM, `PermissionDenied`
    /// without access to the device).
    pub fn open_default() -> Result<Self> {
        Self::open(Path::new(TPM_RM_DEVICE))
    }

    /// Open the TPM device at `path` for reading and writing.
    ///
    /// # Errors
    /// As [`DeviceTransport::open_default`].
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| crate::io_error(&name, "open", &e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TpmTransport for DeviceTransport {
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>> {
        if command.len() > TPM_MAX_BUFFER {
            return Err(Error::Misuse(
                format!(
                    "TPM command of {} bytes is over {TPM_MAX_BUFFER}",
                    command.len()
                )
                .into(),
            ));
        }
        let name = self.path.display().to_string();
        let mut f = self
            .file
            .lock()
            .map_err(|_| Error::device(DeviceErrorKind::Io, name.clone(), "TPM lock poisoned"))?;
        let n = f
            .write(command)
            .map_err(|e| crate::io_error(&name, "write", &e))?;
        if n != command.len() {
            return Err(Error::device(
                DeviceErrorKind::Io,
                name,
                format_args!("short write: {n} of {} bytes", command.len()),
            ));
        }
        let mut buf = vec![0u8; TPM_MAX_BUFFER];
        let n = f
            .read(&mut buf)
            .map_err(|e| crate::io_error(&name, "read", &e))?;
        buf.truncate(n);
        Ok(buf)
    }
}
