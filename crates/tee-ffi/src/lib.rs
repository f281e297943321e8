//! The C ABI of the TEE SDK's one-call verification (the `tee-verify` crate).
//!
//! Built as `libtee_ffi.so` (cdylib) and `libtee_ffi.a` (staticlib); the
//! header is `include/tee.h`, generated from this crate by cbindgen (a test
//! regenerates it and fails when the checked-in copy is stale).
//!
//! ```text
//! tee_request_new ─▶ TeeRequest* ── tee_request_set_… (evidence, collateral,
//!     policy, time, report data, options)
//!     ── tee_verify ─▶ code + TeeResult* (claims JSON, passed)
//!     ── tee_result_free, tee_request_free
//! ```
//!
//! - **Opaque handles, explicit frees.** A request owns copies of its
//!   inputs; a result owns its claims JSON, valid until it is freed.
//! - **Stable codes**: `TEE_OK` 0, `TEE_ERR_USAGE` 1, `TEE_ERR_MALFORMED` 2,
//!   `TEE_ERR_AUTHENTICITY` 3, `TEE_ERR_POLICY` 4, `TEE_ERR_UNSUPPORTED` 5
//!   (the exit codes of `teectl` for the same class), `TEE_ERR_INTERNAL`
//!   101 (a bug). A failing appraisal is `TEE_ERR_POLICY` with a result.
//!   The values never change meaning; codes may be added, so treat any
//!   nonzero code other than `TEE_ERR_POLICY` as "no verdict".
//! - **Messages**: `tee_last_error_message()`, per thread.
//! - **A failed setter fails the request**: `tee_verify` then returns that
//!   setter's code, so no input is silently missing or left over.
//! - **No undefined behaviour from NULL or sizes**: NULL pointers are
//!   `TEE_ERR_USAGE`; every length is bounded before a slice is formed.
//! - **No panic crosses the boundary**: every entry point catches unwinding
//!   (`TEE_ERR_INTERNAL`, NULL or 0); this needs the default `panic =
//!   "unwind"` profile.
//! - **No I/O, no clock**: inputs are bytes and the time is required.
//!
//! All `unsafe` is in one module (`sys`), each block with a `SAFETY` note;
//! the rest of the crate denies it.
#![deny(unsafe_code)]

mod error;
mod handle;
mod sys;
#[cfg(test)]
mod tests;

pub use error::{
    TEE_ERR_AUTHENTICITY, TEE_ERR_INTERNAL, TEE_ERR_MALFORMED, TEE_ERR_POLICY, TEE_ERR_UNSUPPORTED,
    TEE_ERR_USAGE, TEE_OK,
};
pub use handle::{TeeRequest, TeeResult};
pub use sys::{
    tee_last_error_message, tee_request_add_snp_cert, tee_request_allow_unchecked_revocation,
    tee_request_free, tee_request_new, tee_request_set_collateral, tee_request_set_evidence_json,
    tee_request_set_policy_toml, tee_request_set_report_data, tee_request_set_snp_report,
    tee_request_set_tdx_quote, tee_request_set_time_rfc3339, tee_request_set_time_unix,
    tee_request_trust_mock_root, tee_result_free, tee_result_json, tee_result_json_len,
    tee_result_passed, tee_verify, tee_version,
};
