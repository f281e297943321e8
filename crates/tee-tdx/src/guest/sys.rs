//! The one `unsafe` place: the `TDX_CMD_GET_REPORT0` ioctl on `/dev/tdx_guest`
//! and the event-log file lock (`close(2)` with its result is `tee-linux`'s).
//!
//! `include/uapi/linux/tdx-guest.h`:
//! `struct tdx_report_req { __u8 reportdata[64]; __u8 tdreport[1024]; }` and
//! `#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)`.
#![allow(unsafe_code)]

use std::fs::File;
#[cfg(unix)]
use std::os::fd::AsRawFd;

/// `struct tdx_report_req`.
#[repr(C)]
pub(crate) struct TdxReportReq {
    /// In: report data.
    pub(crate) reportdata: [u8; 64],
    /// Out: TDREPORT_STRUCT.
    pub(crate) tdreport: [u8; 1024],
}

/// Size of `struct tdx_report_req`.
pub const TDX_REPORT_REQ_LEN: usize = 1088;
const _: () = assert!(size_of::<TdxReportReq>() == TDX_REPORT_REQ_LEN);
const _: () = assert!(align_of::<TdxReportReq>() == 1);

/// `_IOWR(type, nr, size)` of the generic Linux ioctl encoding (x86).
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u64 {
    (3u64 << 30) | ((size as u64 & 0x3fff) << 16) | ((ty as u64) << 8) | nr as u64
}

/// `TDX_CMD_GET_REPORT0` = `_IOWR('T', 1, 1088)`.
pub const TDX_CMD_GET_REPORT0: u64 = iowr(b'T', 1, TDX_REPORT_REQ_LEN);
const _: () = assert!(TDX_CMD_GET_REPORT0 == 0xC440_5401);

/// Issue `TDX_CMD_GET_REPORT0` on an open `/dev/tdx_guest`.
#[cfg(unix)]
pub(crate) fn get_report0(dev: &File, req: &mut TdxReportReq) -> std::io::Result<()> {
    let fd = dev.as_raw_fd();
    let ptr: *mut TdxReportReq = req;
    // SAFETY: `fd` is a valid open descriptor borrowed from `dev` for the
    // duration of the call; `ptr` points to a live, exclusively borrowed
    // `TdxReportReq` whose layout (`repr(C)`, 1088 bytes, alignment 1) is
    // exactly the kernel's `struct tdx_report_req`, which the kernel reads
    // (reportdata) and writes (tdreport) within those 1088 bytes only.
    let rc = unsafe { libc::ioctl(fd, TDX_CMD_GET_REPORT0 as _, ptr) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// An exclusive advisory lock (`flock(LOCK_EX)`) held until the file is
/// closed; serializes event-log writers across processes.
#[cfg(unix)]
pub(crate) fn lock_exclusive(f: &File) -> std::io::Result<()> {
    let fd = f.as_raw_fd();
    loop {
        // SAFETY: `fd` is a valid open descriptor borrowed from `f` for the
        // duration of the call; `flock` takes no pointers and only changes
        // the lock state of that open file description.
        let rc = unsafe { libc::flock(fd, libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Without Unix descriptors (e.g. WebAssembly) there is no TDX guest device.
#[cfg(not(unix))]
pub(crate) fn get_report0(_: &File, _: &mut TdxReportReq) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Without Unix descriptors (e.g. WebAssembly) there is no file lock.
#[cfg(not(unix))]
pub(crate) fn lock_exclusive(_: &File) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}
