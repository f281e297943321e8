//! The kernel-filesystem operations the guest interfaces need.
//!
//! configfs and sysfs attributes are read whole and written whole, in one
//! `write` at offset 0. [`StdFs`] does that with `std::fs` and checks the
//! `close(2)` result, because configfs reports a rejected binary attribute
//! only at close time. Tests substitute a fake (`tee_linux::testing`).

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// The file operations configfs-tsm and sysfs registers need.
pub trait KernelFs: Send + Sync + Debug {
    /// Create a directory (`mkdir`).
    ///
    /// # Errors
    /// The OS error.
    fn mkdir(&self, p: &Path) -> io::Result<()>;
    /// Remove an (attribute-only) directory (`rmdir`).
    ///
    /// # Errors
    /// The OS error.
    fn rmdir(&self, p: &Path) -> io::Result<()>;
    /// Read a whole attribute.
    ///
    /// # Errors
    /// The OS error (e.g. `EBUSY`).
    fn read(&self, p: &Path) -> io::Result<Vec<u8>>;
    /// Write a whole attribute at offset 0 in one `write`, and close it,
    /// reporting the errors of both.
    ///
    /// # Errors
    /// The OS error (e.g. `EINVAL`, `EBUSY`), from `write(2)` or `close(2)`.
    fn write(&self, p: &Path, data: &[u8]) -> io::Result<()>;
    /// Whether a path exists.
    fn exists(&self, p: &Path) -> bool;
}

impl<T: KernelFs + ?Sized> KernelFs for Arc<T> {
    fn mkdir(&self, p: &Path) -> io::Result<()> {
        (**self).mkdir(p)
    }
    fn rmdir(&self, p: &Path) -> io::Result<()> {
        (**self).rmdir(p)
    }
    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        (**self).read(p)
    }
    fn write(&self, p: &Path, data: &[u8]) -> io::Result<()> {
        (**self).write(p, data)
    }
    fn exists(&self, p: &Path) -> bool {
        (**self).exists(p)
    }
}

/// The real filesystem (`std::fs`, close errors checked).
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFs;

impl KernelFs for StdFs {
    fn mkdir(&self, p: &Path) -> io::Result<()> {
        std::fs::create_dir(p)
    }
    fn rmdir(&self, p: &Path) -> io::Result<()> {
        std::fs::remove_dir(p)
    }
    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(p)
    }
    fn write(&self, p: &Path, data: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().write(true).open(p)?;
        let n = f.write(data)?;
        if n != data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        // `File` has no user-space buffer; configfs binary attributes commit
        // on close, so the close result is the write's result.
        crate::sys::close_checked(f)
    }
    fn exists(&self, p: &Path) -> bool {
        p.exists()
    }
}
