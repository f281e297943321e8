//! The kernel log, read without blocking (`/dev/kmsg`), for diagnostics
//! (`teectl doctor` looks for the TDX host driver's lines there).
//!
//! Each `read(2)` of `/dev/kmsg` returns one record
//! (`prio,seq,usec,flags;message`, then optional continuation lines); the
//! end of the buffer is `EAGAIN` on a non-blocking descriptor. Reading needs
//! the permission `dmesg` needs (root, or `kernel.dmesg_restrict = 0`).

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

/// Default bound of the text collected (the kernel's ring buffer is
/// normally well under this).
pub const DEFAULT_MAX_KERNEL_LOG: usize = 4 << 20;

/// Longest single record (`/dev/kmsg` records are at most 8 KiB with the
/// dictionary; a larger buffer is never needed).
const RECORD_BUF: usize = 16 << 10;

/// Read the kernel log at `path` (normally `/dev/kmsg`) up to `max` bytes of
/// text: the messages only (the `prio,seq,usec,flags;` prefix and the
/// continuation lines removed), one per line.
///
/// # Errors
/// The OS error of `open(2)` or `read(2)` (e.g. `EPERM` without privilege),
/// other than the `EAGAIN` that ends the log and the `EPIPE` of a record
/// overwritten while reading (skipped); [`io::ErrorKind::Unsupported`] on
/// a target without Unix descriptors (e.g. WebAssembly).
pub fn read_kernel_log(path: &Path, max: usize) -> io::Result<String> {
    let mut f = open_nonblocking(path)?;
    let mut out = String::new();
    let mut buf = vec![0u8; RECORD_BUF];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // One record per read from /dev/kmsg; a plain file (a saved
                // log) gives many at once. Continuation lines start with a
                // space and are dropped.
                let chunk = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                for line in chunk.lines().filter(|l| !l.starts_with(' ')) {
                    let msg = line.split_once(';').map_or(line, |(_, m)| m);
                    if out.len().saturating_add(msg.len()) >= max {
                        return Ok(out);
                    }
                    out.push_str(msg);
                    out.push('\n');
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(_: &Path) -> io::Result<File> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_as_one_record_and_bounded() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kmsg");
        std::fs::write(
            &p,
            "6,1,2,-;virt/tdx: module initialized\n SUBSYSTEM=x\n6,2,3,-;second\n",
        )
        .unwrap();
        let log = read_kernel_log(&p, 1024).unwrap();
        assert_eq!(log, "virt/tdx: module initialized\nsecond\n");
        assert_eq!(read_kernel_log(&p, 8).unwrap(), "");
        assert!(read_kernel_log(&d.path().join("absent"), 10).is_err());
    }
}
