//! The Python binding of the TEE SDK: the extension module `tee_sdk`.
//!
//! It wraps one Rust API, [`tee_verify`]: `verify` gives the claims
//! `teectl verify` prints (as a `dict`), `appraise` the same but raises
//! `PolicyError` when the appraisal fails; the reference-value calculators
//! (SEV-SNP launch digest and OVMF hash, TDX MRTD) give what `teectl
//! reference ... --json` prints. Every error is a typed exception per error
//! class (`TeeError` and its subclasses), never a message to match.
//!
//! No I/O: evidence, endorsements, collateral, policy and time are inputs
//! (bytes and strings); the GIL is released while the SDK parses, verifies
//! and computes. Built with maturin (`crates/tee-python/pyproject.toml`);
//! the tests are the pytest suite in `crates/tee-python/tests`.
// No `unsafe` of this crate's own: PyO3's macros expand to the FFI glue.
#![deny(unsafe_code)]

mod convert;
mod errors;
mod reference;
mod verify;

use pyo3::prelude::*;

/// The module `tee_sdk`.
#[pymodule]
fn tee_sdk(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(verify::verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify::appraise, m)?)?;
    m.add_function(wrap_pyfunction!(reference::snp_launch_digest, m)?)?;
    m.add_function(wrap_pyfunction!(reference::snp_ovmf_hash, m)?)?;
    m.add_function(wrap_pyfunction!(reference::tdx_mrtd, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "__all__",
        [
            "verify",
            "appraise",
            "snp_launch_digest",
            "snp_ovmf_hash",
            "tdx_mrtd",
            "TeeError",
            "UsageError",
            "MalformedError",
            "AuthenticityError",
            "PolicyError",
            "UnsupportedError",
        ],
    )?;
    Ok(())
}
