//! The exceptions: one class per SDK error class, under `TeeError`.
//!
//! Each class carries `exit_code`, the code `teectl` exits with for that
//! class (1 usage, 2 malformed, 3 authenticity, 4 policy, 5 unsupported),
//! and `error_class`, the class's name. Callers branch on the class, never
//! on the message.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;
use tee::ErrorClass;

create_exception!(
    tee_sdk,
    TeeError,
    PyException,
    "Base class of the TEE SDK's errors: no verdict was reached. Device or I/O \
     failures (which the module's pure functions do not perform) have this class itself."
);
create_exception!(
    tee_sdk,
    UsageError,
    TeeError,
    "The call itself is wrong: conflicting or missing arguments, a policy that does \
     not load, a time or report data that does not parse (teectl exit code 1)."
);
create_exception!(
    tee_sdk,
    MalformedError,
    TeeError,
    "The evidence, an endorsement, the collateral or a firmware image does not \
     decode, or is larger than its limit (teectl exit code 2)."
);
create_exception!(
    tee_sdk,
    AuthenticityError,
    TeeError,
    "The evidence is not authentic: a signature, a certificate chain, a revoked or \
     expired certificate or collateral, or collateral that cannot be served \
     (teectl exit code 3)."
);
create_exception!(
    tee_sdk,
    PolicyError,
    TeeError,
    "The evidence is authentic but the appraisal failed (raised by `appraise`; \
     `verify` returns the result with appraisal.passed False instead). `result` is \
     the claims dict as `verify` returns it, `failed` the failed checks as \
     (name, detail) tuples (teectl exit code 4)."
);
create_exception!(
    tee_sdk,
    UnsupportedError,
    TeeError,
    "The platform or operation is not supported by this build (teectl exit code 5)."
);

/// Add the exception classes to the module, each with its `exit_code` and
/// `error_class`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes: [(&str, Bound<'_, PyType>, u8, &str); 6] = [
        ("TeeError", py.get_type::<TeeError>(), 1, "error"),
        ("UsageError", py.get_type::<UsageError>(), 1, "usage"),
        (
            "MalformedError",
            py.get_type::<MalformedError>(),
            2,
            "malformed",
        ),
        (
            "AuthenticityError",
            py.get_type::<AuthenticityError>(),
            3,
            "authenticity",
        ),
        ("PolicyError", py.get_type::<PolicyError>(), 4, "policy"),
        (
            "UnsupportedError",
            py.get_type::<UnsupportedError>(),
            5,
            "unsupported",
        ),
    ];
    for (name, ty, code, class) in classes {
        ty.setattr("exit_code", code)?;
        ty.setattr("error_class", class)?;
        m.add(name, ty)?;
    }
    Ok(())
}

/// The exception of an SDK error class with this message.
pub(crate) fn of_class(class: ErrorClass, message: String) -> PyErr {
    match class {
        ErrorClass::Usage => UsageError::new_err(message),
        ErrorClass::Malformed => MalformedError::new_err(message),
        ErrorClass::Authenticity => AuthenticityError::new_err(message),
        ErrorClass::Policy => PolicyError::new_err(message),
        ErrorClass::Unsupported => UnsupportedError::new_err(message),
        // Device / I/O, and any class a later SDK adds: the base class.
        _ => TeeError::new_err(message),
    }
}

/// The exception of an SDK error.
pub(crate) fn sdk(e: &tee::Error) -> PyErr {
    of_class(e.class(), e.to_string())
}

/// A usage error with this message.
pub(crate) fn usage(message: impl Into<String>) -> PyErr {
    UsageError::new_err(message.into())
}

/// Input larger than its limit: malformed, as `teectl` says of an
/// oversized file (exit code 2).
pub(crate) fn too_large(what: &str, len: usize, max: usize) -> PyErr {
    MalformedError::new_err(format!(
        "{what}: {len} bytes, more than the limit of {max} bytes"
    ))
}
