//! Measurement registers exposed as sysfs files (Linux tsm-mr, 6.16+;
//! e.g. `Documentation/ABI/testing/sysfs-devices-virtual-misc-tdx_guest`).
//!
//! Each register is one file in a directory: reading it returns the
//! register value (exactly `digest_len` bytes); writing exactly
//! `digest_len` bytes at offset 0 extends it (the kernel computes
//! `R = H(R || data)`). The directory, the file names and the digest size
//! are the vendor's (TDX: `rtmr0:sha384` .. `rtmr3:sha384`, 48 bytes).
//! Which registers a caller may extend is the backend's decision.

use std::path::{Path, PathBuf};

use tee_core::{DeviceErrorKind, Error, Result};

use crate::fs::{KernelFs, StdFs};
use crate::retry::io_error;

/// A bank of sysfs measurement registers.
#[derive(Debug, Clone)]
pub struct SysfsRegisters<F: KernelFs = StdFs> {
    fs: F,
    dir: PathBuf,
    names: Vec<String>,
    digest_len: usize,
}

impl<F: KernelFs> SysfsRegisters<F> {
    /// Registers `names[i]` (index `i`) in `dir`, each `digest_len` bytes.
    pub fn new(fs: F, dir: impl Into<PathBuf>, names: Vec<String>, digest_len: usize) -> Self {
        Self {
            fs,
            dir: dir.into(),
            names,
            digest_len,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of registers.
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// Size of a register in bytes.
    pub fn digest_len(&self) -> usize {
        self.digest_len
    }

    /// The file of register `index`, if it is one of this bank's.
    pub fn path(&self, index: usize) -> Option<PathBuf> {
        self.names.get(index).map(|n| self.dir.join(n))
    }

    /// Whether the file of register `index` exists.
    pub fn exists(&self, index: usize) -> bool {
        self.path(index).is_some_and(|p| self.fs.exists(&p))
    }

    fn checked_path(&self, index: usize) -> Result<PathBuf> {
        self.path(index).ok_or_else(|| {
            Error::Misuse(
                format!("register {index} does not exist (0..{})", self.names.len()).into(),
            )
        })
    }

    /// Read register `index`.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an index out of range; [`Error::Device`] on
    /// I/O failure, or `CorruptOutput` when the file does not hold exactly
    /// `digest_len` bytes.
    pub fn read(&self, index: usize) -> Result<Vec<u8>> {
        let p = self.checked_path(index)?;
        let iface = p.display().to_string();
        let b = self.fs.read(&p).map_err(|e| io_error(&iface, "read", &e))?;
        if b.len() != self.digest_len {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                iface,
                format!("read {} bytes, expected {}", b.len(), self.digest_len),
            ));
        }
        Ok(b)
    }

    /// Extend register `index` with `digest` (exactly `digest_len` bytes).
    ///
    /// # Errors
    /// [`Error::Misuse`] for an index out of range or a digest of another
    /// size; [`Error::Device`] when the kernel refuses the write.
    pub fn extend(&self, index: usize, digest: &[u8]) -> Result<()> {
        let p = self.checked_path(index)?;
        if digest.len() != self.digest_len {
            return Err(Error::Misuse(
                format!(
                    "a {}-byte digest for a {}-byte register",
                    digest.len(),
                    self.digest_len
                )
                .into(),
            ));
        }
        self.fs
            .write(&p, digest)
            .map_err(|e| io_error(&p.display().to_string(), "extend", &e))
    }
}
