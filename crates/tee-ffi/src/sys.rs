//! The extern "C" functions: the only module with `unsafe` (raw pointers
//! from C turned into references and slices, handles boxed and unboxed).
//!
//! Every function runs its body inside [`guard`] (no panic unwinds into C),
//! checks every pointer for null (a usage error, never undefined behaviour)
//! and bounds every length before a slice is formed.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};
use std::ptr;

use crate::error::{
    Failure, TEE_ERR_INTERNAL, TEE_ERR_USAGE, TEE_OK, clear_last_error, guard, last_error_ptr,
    set_last_error, status,
};
use crate::handle::{TeeRequest, TeeResult, bound, limit};

/// The library version, NUL-terminated.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// `len` bytes at `ptr`, after checking `ptr` for null and `len` against `max`.
///
/// # Safety
/// `ptr` is null or valid for reads of `len` bytes, not written during the call.
unsafe fn bytes<'a>(
    what: &str,
    ptr: *const u8,
    len: usize,
    max: usize,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::usage(format!("{what}: null pointer")));
    }
    // Every limit is far below isize::MAX, as `from_raw_parts` requires.
    bound(what, len, max)?;
    // SAFETY: `ptr` is non-null and, by the caller's contract, valid for
    // reads of `len` bytes and not mutated during the call; u8 has
    // alignment 1; `len <= max <= isize::MAX` (checked above).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Like [`bytes`], but `(NULL, 0)` is "not given".
///
/// # Safety
/// As [`bytes`].
unsafe fn optional_bytes<'a>(
    what: &str,
    ptr: *const u8,
    len: usize,
    max: usize,
) -> Result<Option<&'a [u8]>, Failure> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: the caller's contract is the one `bytes` needs.
    unsafe { bytes(what, ptr, len, max) }.map(Some)
}

/// The request behind `req`.
///
/// # Safety
/// `req` is null or a live handle from [`tee_request_new`], not used by
/// another thread during the call.
unsafe fn request_mut<'a>(req: *mut TeeRequest) -> Result<&'a mut TeeRequest, Failure> {
    // SAFETY: by the caller's contract `req` is null (then `as_mut` gives
    // None) or points to a live, exclusively used TeeRequest.
    unsafe { req.as_mut() }.ok_or_else(|| Failure::usage("request: null pointer"))
}

/// The version of the library, e.g. `"0.1.0"` (static; never NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tee_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The message of the last failing call on this thread, `""` if the last
/// status-returning call succeeded (never NULL). For `TEE_ERR_POLICY` it
/// lists the failed checks.
///
/// The string is valid until the next status-returning call on this thread
/// (or the next call that fails internally, `TEE_ERR_INTERNAL`).
#[unsafe(no_mangle)]
pub extern "C" fn tee_last_error_message() -> *const c_char {
    guard(c"".as_ptr(), last_error_ptr)
}

/// A new, empty request; free it with `tee_request_free`. NULL only if the
/// library failed internally.
#[unsafe(no_mangle)]
pub extern "C" fn tee_request_new() -> *mut TeeRequest {
    guard(ptr::null_mut(), || {
        Box::into_raw(Box::<TeeRequest>::default())
    })
}

/// Free a request (NULL: nothing happens).
///
/// # Safety
/// `req` is NULL or a handle from `tee_request_new` not yet freed; it is not
/// used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_free(req: *mut TeeRequest) {
    guard((), || {
        if !req.is_null() {
            // SAFETY: by the caller's contract `req` came from
            // `Box::into_raw` in `tee_request_new` and is freed only once.
            drop(unsafe { Box::from_raw(req) });
        }
    });
}

/// Evidence JSON: the SDK envelope (`teectl report`), Trustee / CoCo
/// attestation-agent evidence, or Azure vTPM evidence JSON (at most 16 MiB).
/// Replaces any evidence set before.
///
/// # Safety
/// `req` is NULL or a live request; `json` is NULL or points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_evidence_json(
    req: *mut TeeRequest,
    json: *const u8,
    len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_evidence_json", |r| {
            // SAFETY: the caller's contract for `json`/`len`.
            let b = unsafe { bytes("evidence JSON", json, len, limit::EVIDENCE_JSON) }?;
            r.set_evidence_json(b)
        })
    })
}

/// A raw SEV-SNP report (binary, or hex as `snpguest` writes it) and its
/// VCEK/VLEK certificate (DER or PEM; `vcek` NULL with `vcek_len` 0 when the
/// collateral bundle supplies it). Replaces any evidence set before; the
/// ASK/ASVK and ARK are the pinned AMD roots unless added with
/// `tee_request_add_snp_cert`.
///
/// # Safety
/// `req` is NULL or a live request; `report` and `vcek` are NULL or point to
/// `report_len` / `vcek_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_snp_report(
    req: *mut TeeRequest,
    report: *const u8,
    report_len: usize,
    vcek: *const u8,
    vcek_len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_snp_report", |r| {
            // SAFETY: the caller's contract for `report`/`report_len`.
            let rep = unsafe { bytes("SEV-SNP report", report, report_len, limit::SNP_REPORT) }?;
            // SAFETY: the caller's contract for `vcek`/`vcek_len`.
            let cert =
                unsafe { optional_bytes("VCEK/VLEK certificate", vcek, vcek_len, limit::CERT) }?;
            r.set_snp_report(rep, cert)
        })
    })
}

/// An ASK/ASVK or ARK certificate (DER or PEM) for the SEV-SNP report set
/// with `tee_request_set_snp_report` (at most 4).
///
/// # Safety
/// `req` is NULL or a live request; `cert` is NULL or points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_add_snp_cert(
    req: *mut TeeRequest,
    cert: *const u8,
    len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_add_snp_cert", |r| {
            // SAFETY: the caller's contract for `cert`/`len`.
            let c = unsafe { bytes("SEV-SNP chain certificate", cert, len, limit::CERT) }?;
            r.add_snp_cert(c)
        })
    })
}

/// A raw TDX quote (v4/v5) and optionally its CCEL event log (`event_log`
/// NULL with `event_log_len` 0: none), replayed against RTMR0-2. Replaces
/// any evidence set before. TDX needs collateral (`tee_request_set_collateral`).
///
/// # Safety
/// `req` is NULL or a live request; `quote` and `event_log` are NULL or
/// point to `quote_len` / `event_log_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_tdx_quote(
    req: *mut TeeRequest,
    quote: *const u8,
    quote_len: usize,
    event_log: *const u8,
    event_log_len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_tdx_quote", |r| {
            // SAFETY: the caller's contract for `quote`/`quote_len`.
            let q = unsafe { bytes("TDX quote", quote, quote_len, limit::TDX_QUOTE) }?;
            // SAFETY: the caller's contract for `event_log`/`event_log_len`.
            let log =
                unsafe { optional_bytes("event log", event_log, event_log_len, limit::EVENT_LOG) }?;
            r.set_tdx_quote(q, log)
        })
    })
}

/// Collateral: a bundle (`teectl collateral bundle`) or a TDX
/// QuoteCollateralV3 JSON document (at most 64 MiB).
///
/// # Safety
/// `req` is NULL or a live request; `data` is NULL or points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_collateral(
    req: *mut TeeRequest,
    data: *const u8,
    len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_collateral", |r| {
            // SAFETY: the caller's contract for `data`/`len`.
            let b = unsafe { bytes("collateral", data, len, limit::COLLATERAL) }?;
            r.set_collateral(b)
        })
    })
}

/// The appraisal policy (TOML, UTF-8, at most 1 MiB); without one the
/// default policy applies, which admits no workload. It is parsed by
/// `tee_verify` (a policy that does not load is `TEE_ERR_USAGE` there).
///
/// # Safety
/// `req` is NULL or a live request; `toml` is NULL or points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_policy_toml(
    req: *mut TeeRequest,
    toml: *const u8,
    len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_policy_toml", |r| {
            // SAFETY: the caller's contract for `toml`/`len`.
            let b = unsafe { bytes("policy", toml, len, limit::POLICY) }?;
            r.set_policy_toml(b)
        })
    })
}

/// The verification time, in seconds since the Unix epoch (required: the
/// library reads no clock).
///
/// # Safety
/// `req` is NULL or a live request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_time_unix(req: *mut TeeRequest, secs: u64) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_time_unix", |r| {
            r.set_time_unix(secs);
            Ok(())
        })
    })
}

/// The verification time as RFC 3339 text (e.g. `2025-01-01T00:00:00Z`;
/// `len` bytes, no NUL needed, at most 64).
///
/// # Safety
/// `req` is NULL or a live request; `text` is NULL or points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_time_rfc3339(
    req: *mut TeeRequest,
    text: *const c_char,
    len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_time_rfc3339", |r| {
            // SAFETY: the caller's contract for `text`/`len`.
            let b = unsafe { bytes("time", text.cast::<u8>(), len, limit::TIME) }?;
            r.set_time_rfc3339(b)
        })
    })
}

/// The expected report data: exactly 64 bytes (`len` must be 64); it
/// overrides the policy's.
///
/// # Safety
/// `req` is NULL or a live request; `data` is NULL or points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_set_report_data(
    req: *mut TeeRequest,
    data: *const u8,
    len: usize,
) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_set_report_data", |r| {
            if len != limit::REPORT_DATA {
                return Err(Failure::usage(format!(
                    "report data: {len} bytes, expected exactly {}",
                    limit::REPORT_DATA
                )));
            }
            // SAFETY: the caller's contract for `data`/`len`.
            let b = unsafe { bytes("report data", data, len, limit::REPORT_DATA) }?;
            r.set_report_data(b)
        })
    })
}

/// Trust the mock root: mock evidence then verifies. **NO SECURITY**; the
/// appraisal still refuses mock evidence unless the policy has
/// `allow_mock = true`.
///
/// # Safety
/// `req` is NULL or a live request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_trust_mock_root(req: *mut TeeRequest) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_trust_mock_root", |r| {
            r.trust_mock_root();
            Ok(())
        })
    })
}

/// Accept TDX collateral without CRLs and a SEV-SNP report checked against
/// no AMD CRL (revocation is then not checked; the claims and the appraisal
/// say so), as `teectl verify --allow-unchecked-revocation`.
///
/// # Safety
/// `req` is NULL or a live request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_request_allow_unchecked_revocation(req: *mut TeeRequest) -> c_int {
    status(|| {
        // SAFETY: the caller's contract for `req`.
        let r = unsafe { request_mut(req) }?;
        r.update("tee_request_allow_unchecked_revocation", |r| {
            r.allow_unchecked_revocation();
            Ok(())
        })
    })
}

/// Verify (authenticity) and appraise (policy) the request.
///
/// Returns `TEE_OK` (passed) or `TEE_ERR_POLICY` (authentic, appraisal
/// failed) with `*out` set to a result to free with `tee_result_free`;
/// any other code with `*out` set to NULL and the reason in
/// `tee_last_error_message()`. The request is not changed and may be
/// verified again.
///
/// Fail closed: if any setter on this request failed, `tee_verify`
/// returns that setter's code (never a verdict), so a caller that does not
/// check every setter still cannot verify without an input it meant to
/// give or to replace.
///
/// # Safety
/// `req` is NULL or a live request (it may be shared with other threads
/// that only call `tee_verify` on it); `out` is NULL or valid for writing
/// one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_verify(req: *const TeeRequest, out: *mut *mut TeeResult) -> c_int {
    guard(TEE_ERR_INTERNAL, || {
        if out.is_null() {
            set_last_error("out: null pointer");
            return TEE_ERR_USAGE;
        }
        // SAFETY: `out` is non-null and, by the caller's contract, valid
        // for writing one pointer.
        unsafe { out.write(ptr::null_mut()) };
        // SAFETY: by the caller's contract `req` is null (None) or points
        // to a live TeeRequest that no one mutates during the call.
        let Some(r) = (unsafe { req.as_ref() }) else {
            set_last_error("request: null pointer");
            return TEE_ERR_USAGE;
        };
        match r.verify() {
            Ok((code, result)) => {
                if code == TEE_OK {
                    clear_last_error();
                } else {
                    set_last_error(&result.failure_message());
                }
                let handle = Box::into_raw(Box::new(result));
                // SAFETY: as the first write to `out` above.
                unsafe { out.write(handle) };
                code
            }
            Err(f) => {
                set_last_error(&f.message);
                f.code
            }
        }
    })
}

/// The claims JSON of a result: what `teectl verify` prints for the same
/// inputs, byte for byte (pretty-printed UTF-8, without the final newline;
/// NUL-terminated). Valid until `tee_result_free`; NULL when `res` is NULL.
///
/// # Safety
/// `res` is NULL or a live result from `tee_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_result_json(res: *const TeeResult) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: by the caller's contract `res` is null (None) or a live
        // TeeResult; the JSON it owns is never changed before it is freed.
        unsafe { res.as_ref() }.map_or(ptr::null(), |r| r.json().as_ptr())
    })
}

/// The length in bytes of `tee_result_json(res)` (without the NUL); 0 when
/// `res` is NULL.
///
/// # Safety
/// `res` is NULL or a live result from `tee_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_result_json_len(res: *const TeeResult) -> usize {
    guard(0, || {
        // SAFETY: by the caller's contract `res` is null (None) or a live
        // TeeResult.
        unsafe { res.as_ref() }.map_or(0, |r| r.json().count_bytes())
    })
}

/// 1 if the appraisal passed, 0 if it failed or `res` is NULL.
///
/// # Safety
/// `res` is NULL or a live result from `tee_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_result_passed(res: *const TeeResult) -> c_int {
    guard(0, || {
        // SAFETY: by the caller's contract `res` is null (None) or a live
        // TeeResult.
        c_int::from(unsafe { res.as_ref() }.is_some_and(TeeResult::passed))
    })
}

/// Free a result (NULL: nothing happens); the pointer of `tee_result_json`
/// is invalid afterwards.
///
/// # Safety
/// `res` is NULL or a result from `tee_verify` not yet freed; it is not
/// used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tee_result_free(res: *mut TeeResult) {
    guard((), || {
        if !res.is_null() {
            // SAFETY: by the caller's contract `res` came from
            // `Box::into_raw` in `tee_verify` and is freed only once.
            drop(unsafe { Box::from_raw(res) });
        }
    });
}
