//! The one call into the C library: the default action for `SIGPIPE`.
//!
//! Rust programs start with `SIGPIPE` ignored, so `teectl verify | head`
//! would see `EPIPE` on its next write and `println!` would panic. A
//! command-line tool whose reader went away should end quietly, as `cat`
//! does: with the default action the kernel ends the process on that write.
//! Not for `teectl serve`: a server keeps `SIGPIPE` ignored (its sockets
//! report `EPIPE` as an error to the connection).

/// Restore the default `SIGPIPE` action (Unix; nothing elsewhere).
#[cfg(unix)]
pub(crate) fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler (no code runs in
    // signal context); it is called once, from `main` before any other
    // thread exists, and its only effect is the process's SIGPIPE action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Restore the default `SIGPIPE` action (Unix; nothing elsewhere).
#[cfg(not(unix))]
pub(crate) fn default_sigpipe() {}
