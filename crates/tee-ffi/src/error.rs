//! Status codes, the thread's last error message, and the panic guard every
//! entry point runs its body in.

#[cfg(test)]
use std::cell::Cell;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use tee::ErrorClass;
use tee_verify::VerifyError;

/// Success: verified, and the appraisal passed.
pub const TEE_OK: c_int = 0;
/// Usage or I/O error: a null pointer, a missing input, an argument out of
/// range, a policy that does not load.
pub const TEE_ERR_USAGE: c_int = 1;
/// Malformed input: evidence, collateral or a certificate that does not
/// decode, or an input over its size limit.
pub const TEE_ERR_MALFORMED: c_int = 2;
/// Authenticity failure: signature, certificate chain, expired or revoked
/// collateral, collateral that cannot be served.
pub const TEE_ERR_AUTHENTICITY: c_int = 3;
/// Policy / appraisal failure: the evidence is authentic but the appraisal
/// failed; `tee_verify` still returns the result (claims and every check).
pub const TEE_ERR_POLICY: c_int = 4;
/// Unsupported: a platform this build of the library cannot verify.
pub const TEE_ERR_UNSUPPORTED: c_int = 5;
/// Internal error: a bug in the library (a Rust panic, caught at the
/// boundary); the code a Rust program exits with on a panic.
pub const TEE_ERR_INTERNAL: c_int = 101;

/// The code of an error class (the exit code `teectl` gives the same class).
pub(crate) fn code_of(class: ErrorClass) -> c_int {
    match class {
        ErrorClass::Malformed => TEE_ERR_MALFORMED,
        ErrorClass::Authenticity => TEE_ERR_AUTHENTICITY,
        ErrorClass::Policy => TEE_ERR_POLICY,
        ErrorClass::Unsupported => TEE_ERR_UNSUPPORTED,
        // Usage, Io, and any class added later: the caller's side.
        _ => TEE_ERR_USAGE,
    }
}

/// A failed call: its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: c_int,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: TEE_ERR_USAGE,
            message: message.into(),
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self {
            code: TEE_ERR_MALFORMED,
            message: message.into(),
        }
    }
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        Self {
            code: code_of(e.class()),
            message: e.to_string(),
        }
    }
}

impl From<tee::Error> for Failure {
    fn from(e: tee::Error) -> Self {
        Self {
            code: code_of(e.class()),
            message: e.to_string(),
        }
    }
}

const NO_ERROR: &CStr = c"";

thread_local! {
    /// INVARIANTS: replaced only by [`set_last_error`] / [`clear_last_error`],
    /// so a pointer handed out by [`last_error_ptr`] stays valid until the
    /// next status-returning call on this thread.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Record `message` as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // A NUL inside the message would cut it short in C: escape it.
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

/// Forget this thread's last error.
pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|e| *e.borrow_mut() = None);
}

/// This thread's last error message ("" when the last status-returning call
/// succeeded).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| {
        e.borrow()
            .as_ref()
            .map_or(NO_ERROR.as_ptr(), |c| c.as_ptr())
    })
}

/// This thread's last error message, copied (for tests).
#[cfg(test)]
pub(crate) fn last_error() -> String {
    LAST_ERROR.with(|e| {
        e.borrow()
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// Run `f`; a panic inside it returns `on_panic` (it never unwinds into C).
pub(crate) fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| {
        inject_panic();
        f()
    })) {
        Ok(v) => v,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            set_last_error(&format!("internal error (a bug in tee-ffi): {what}"));
            on_panic
        }
    }
}

/// Run a status-returning body: the thread's last error is cleared on
/// success and set on failure; a panic is [`TEE_ERR_INTERNAL`].
pub(crate) fn status(f: impl FnOnce() -> Result<(), Failure>) -> c_int {
    guard(TEE_ERR_INTERNAL, || match f() {
        Ok(()) => {
            clear_last_error();
            TEE_OK
        }
        Err(e) => {
            set_last_error(&e.message);
            e.code
        }
    })
}

#[cfg(test)]
thread_local! {
    /// Test hook: make the next guarded body panic (proves that every entry
    /// point runs inside [`guard`]).
    static INJECT_PANIC: Cell<bool> = const { Cell::new(false) };
}

#[cfg(test)]
fn inject_panic() {
    if INJECT_PANIC.with(Cell::take) {
        #[allow(clippy::panic)]
        {
            panic!("injected panic");
        }
    }
}

#[cfg(not(test))]
fn inject_panic() {}

/// Make the next guarded body on this thread panic.
#[cfg(test)]
pub(crate) fn arm_panic() {
    INJECT_PANIC.with(|c| c.set(true));
}
