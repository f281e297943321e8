//! One retry/backoff policy for transient kernel errors, and the one
//! mapping from `std::io::Error` to a typed device error.

use std::io;
use std::time::Duration;

use tee_core::{DeviceErrorKind, Error, Result};

/// Retry policy for busy interfaces (`EBUSY`, `EAGAIN`, `EINTR`, i.e.
/// [`DeviceErrorKind::Busy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in total (at least 1).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(500),
        }
    }
}

impl Retry {
    /// No waiting between attempts (tests).
    pub fn immediate(attempts: u32) -> Self {
        Self {
            attempts,
            initial_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// Run `f` until it succeeds or fails with something other than
    /// [`DeviceErrorKind::Busy`], at most `attempts` times.
    ///
    /// # Errors
    /// The last error of `f`.
    pub fn run<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut delay = self.initial_delay;
        let mut attempt = 1;
        loop {
            match f() {
                Err(Error::Device(d))
                    if d.kind == DeviceErrorKind::Busy && attempt < self.attempts.max(1) =>
                {
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    delay = delay.saturating_mul(2).min(self.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Map an I/O error of `op` on `interface` to a device error whose kind a
/// caller can branch on: `EBUSY`/`EAGAIN`/`EINTR` → [`DeviceErrorKind::Busy`],
/// `ENOENT` → `NotFound`, `EACCES`/`EPERM` → `PermissionDenied`, else `Io`.
pub fn io_error(interface: &str, op: &str, e: &io::Error) -> Error {
    let kind = match (e.kind(), e.raw_os_error()) {
        #[cfg(unix)]
        (_, Some(libc::EBUSY | libc::EAGAIN | libc::EINTR)) => DeviceErrorKind::Busy,
        (
            io::ErrorKind::ResourceBusy | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted,
            _,
        ) => DeviceErrorKind::Busy,
        (io::ErrorKind::NotFound, _) => DeviceErrorKind::NotFound,
        (io::ErrorKind::PermissionDenied, _) => DeviceErrorKind::PermissionDenied,
        _ => DeviceErrorKind::Io,
    };
    // The source keeps the kind and errno (io::Error is not Clone).
    let source = match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    };
    Error::device_with_source(kind, interface.to_owned(), format!("{op}: {e}"), source)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn io_error_keeps_the_io_error_as_source() {
        use std::error::Error as _;
        let e = io_error(
            "/dev/x",
            "open",
            &io::Error::from_raw_os_error(libc::EACCES),
        );
        let src = e.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(src.map(io::Error::raw_os_error), Some(Some(libc::EACCES)));
        let e = io_error(
            "/dev/x",
            "read",
            &io::Error::new(io::ErrorKind::UnexpectedEof, "eof"),
        );
        let src = e.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(src.map(io::Error::kind), Some(io::ErrorKind::UnexpectedEof));
    }

    #[test]
    fn io_errors_map_to_decisions() {
        let k = |e: io::Error| match io_error("x", "op", &e) {
            Error::Device(d) => d.kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EBUSY)),
            DeviceErrorKind::Busy
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EAGAIN)),
            DeviceErrorKind::Busy
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EINTR)),
            DeviceErrorKind::Busy
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::ENOENT)),
            DeviceErrorKind::NotFound
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EACCES)),
            DeviceErrorKind::PermissionDenied
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EPERM)),
            DeviceErrorKind::PermissionDenied
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EIO)),
            DeviceErrorKind::Io
        );
        assert_eq!(
            k(io::Error::from_raw_os_error(libc::EINVAL)),
            DeviceErrorKind::Io
        );
    }

    #[test]
    fn retry_backs_off_and_gives_up() {
        let busy = || Err::<(), _>(Error::device(DeviceErrorKind::Busy, "x", "busy"));
        let r = Retry {
            attempts: 3,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(3),
        };
        let mut n = 0;
        let t = std::time::Instant::now();
        let out = r.run(|| {
            n += 1;
            if n < 3 { busy() } else { Ok(()) }
        });
        assert!(out.is_ok());
        assert_eq!(n, 3);
        assert!(
            t.elapsed() >= Duration::from_millis(5),
            "2 ms then 3 ms (capped)"
        );
        let mut n = 0;
        assert!(matches!(
            Retry::immediate(4).run(|| {
                n += 1;
                busy()
            }),
            Err(Error::Device(_))
        ));
        assert_eq!(n, 4);
        // Zero attempts still runs once.
        let mut n = 0;
        assert!(
            Retry::immediate(0)
                .run(|| {
                    n += 1;
                    busy()
                })
                .is_err()
        );
        assert_eq!(n, 1);
        // Other errors are not retried.
        let mut n = 0;
        let e = Retry::immediate(4).run(|| -> Result<()> {
            n += 1;
            Err(Error::device(DeviceErrorKind::Firmware(1), "x", "fw"))
        });
        assert!(e.is_err());
        assert_eq!(n, 1);
        // A huge initial delay never overflows.
        let r = Retry {
            attempts: 1,
            initial_delay: Duration::MAX,
            max_delay: Duration::MAX,
        };
        assert!(r.run(busy).is_err());
    }
}
