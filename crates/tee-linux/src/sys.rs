//! The one `unsafe` place: `close(2)` with its result.
#![allow(unsafe_code)]

use std::fs::File;

/// Close `f` and report the error `close(2)` returns. configfs binary
/// attributes (`inblob`) are committed on close, so a rejected write (e.g.
/// `EINVAL` for a wrong length) only shows up here; `File`'s drop ignores it.
#[cfg(unix)]
pub(crate) fn close_checked(f: File) -> std::io::Result<()> {
    use std::os::fd::IntoRawFd;
    let fd = f.into_raw_fd();
    // SAFETY: `fd` was just released from an owned `File` by `into_raw_fd`,
    // so it is open and owned by nobody else; it is closed exactly once here
    // and never used again.
    let rc = unsafe { libc::close(fd) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Without Unix descriptors (e.g. WebAssembly) there is no configfs: the
/// file is closed by its drop.
#[cfg(not(unix))]
pub(crate) fn close_checked(_: File) -> std::io::Result<()> {
    Ok(())
}
