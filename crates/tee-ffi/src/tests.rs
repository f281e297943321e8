//! No panic crosses the boundary: with a panic injected into its body,
//! every entry point returns its documented fallback (and the message says
//! what happened) instead of unwinding into the caller.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::{CStr, c_char};
use std::ptr;

use crate::error::{TEE_ERR_INTERNAL, TEE_OK, arm_panic, last_error};
use crate::*;

fn assert_internal(what: &str) {
    let m = last_error();
    assert!(
        m.starts_with("internal error") && m.contains("injected panic"),
        "{what}: {m:?}"
    );
}

fn message() -> String {
    let p = tee_last_error_message();
    assert!(!p.is_null());
    // SAFETY: tee_last_error_message never returns NULL and its string is
    // valid until the next status-returning call on this thread.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[test]
fn status_calls_return_internal_on_panic() {
    let req = tee_request_new();
    assert!(!req.is_null());
    let b = b"{}";
    let rd = [0u8; 64];
    let t = "2025-01-01T00:00:00Z";
    type Call<'a> = (&'a str, Box<dyn Fn() -> i32 + 'a>);
    let calls: Vec<Call<'_>> = vec![
        (
            "set_evidence_json",
            // SAFETY: `req` is live; `b` is readable for its length.
            Box::new(|| unsafe { tee_request_set_evidence_json(req, b.as_ptr(), b.len()) }),
        ),
        (
            "set_snp_report",
            // SAFETY: `req` is live; `b` is readable; no VCEK.
            Box::new(|| unsafe {
                tee_request_set_snp_report(req, b.as_ptr(), b.len(), ptr::null(), 0)
            }),
        ),
        (
            "add_snp_cert",
            // SAFETY: `req` is live; `b` is readable for its length.
            Box::new(|| unsafe { tee_request_add_snp_cert(req, b.as_ptr(), b.len()) }),
        ),
        (
            "set_tdx_quote",
            // SAFETY: `req` is live; `b` is readable; no event log.
            Box::new(|| unsafe {
                tee_request_set_tdx_quote(req, b.as_ptr(), b.len(), ptr::null(), 0)
            }),
        ),
        (
            "set_collateral",
            // SAFETY: `req` is live; `b` is readable for its length.
            Box::new(|| unsafe { tee_request_set_collateral(req, b.as_ptr(), b.len()) }),
        ),
        (
            "set_policy_toml",
            // SAFETY: `req` is live; `b` is readable for its length.
            Box::new(|| unsafe { tee_request_set_policy_toml(req, b.as_ptr(), b.len()) }),
        ),
        (
            "set_time_unix",
            // SAFETY: `req` is live.
            Box::new(|| unsafe { tee_request_set_time_unix(req, 1) }),
        ),
        (
            "set_time_rfc3339",
            // SAFETY: `req` is live; `t` is readable for its length.
            Box::new(|| unsafe {
                tee_request_set_time_rfc3339(req, t.as_ptr().cast::<c_char>(), t.len())
            }),
        ),
        (
            "set_report_data",
            // SAFETY: `req` is live; `rd` is readable for its length.
            Box::new(|| unsafe { tee_request_set_report_data(req, rd.as_ptr(), rd.len()) }),
        ),
        (
            "trust_mock_root",
            // SAFETY: `req` is live.
            Box::new(|| unsafe { tee_request_trust_mock_root(req) }),
        ),
        (
            "allow_unchecked_revocation",
            // SAFETY: `req` is live.
            Box::new(|| unsafe { tee_request_allow_unchecked_revocation(req) }),
        ),
        (
            "verify",
            Box::new(|| {
                let mut out = ptr::null_mut();
                // SAFETY: `req` is live; `out` is writable.
                let code = unsafe { tee_verify(req, &mut out) };
                assert!(out.is_null(), "no result after a panic");
                code
            }),
        ),
    ];
    for (what, call) in &calls {
        arm_panic();
        assert_eq!(call(), TEE_ERR_INTERNAL, "{what}");
        assert_internal(what);
        assert_eq!(message(), last_error());
        // Without the injected panic the same call runs normally (the
        // request is still usable after a caught panic).
        let code = call();
        assert_ne!(code, TEE_ERR_INTERNAL, "{what}: {}", last_error());
    }
    // SAFETY: `req` came from tee_request_new and is freed once.
    unsafe { tee_request_free(req) };
}

#[test]
fn pointer_and_void_calls_return_fallbacks_on_panic() {
    arm_panic();
    assert!(tee_request_new().is_null());
    assert_internal("request_new");

    // A real result to read and free.
    let req = tee_request_new();
    let result = mock_result(req);

    arm_panic();
    // SAFETY: `result` is a live result.
    assert!(unsafe { tee_result_json(result) }.is_null());
    assert_internal("result_json");
    arm_panic();
    // SAFETY: `result` is a live result.
    assert_eq!(unsafe { tee_result_json_len(result) }, 0);
    assert_internal("result_json_len");
    arm_panic();
    // SAFETY: `result` is a live result.
    assert_eq!(unsafe { tee_result_passed(result) }, 0);
    assert_internal("result_passed");
    // SAFETY: `result` is a live result.
    let passed = unsafe { tee_result_passed(result) };
    assert_eq!(passed, 1, "{}", last_error());

    // A panic in a free function leaks the handle rather than unwinding;
    // the handle stays valid, and a second call frees it.
    arm_panic();
    // SAFETY: `result` is live; the injected panic happens before it is freed.
    unsafe { tee_result_free(result) };
    assert_internal("result_free");
    // SAFETY: `result` was not freed by the panicking call; freed once here.
    unsafe { tee_result_free(result) };
    arm_panic();
    // SAFETY: `req` is live; the injected panic happens before it is freed.
    unsafe { tee_request_free(req) };
    assert_internal("request_free");
    // SAFETY: `req` was not freed by the panicking call; freed once here.
    unsafe { tee_request_free(req) };

    arm_panic();
    let p = tee_last_error_message();
    assert!(!p.is_null());
    assert_internal("last_error_message");
}

/// A passing result from mock evidence (the mock root trusted, NO SECURITY).
fn mock_result(req: *mut TeeRequest) -> *mut TeeResult {
    use tee::Attester as _;
    let ev = tee::mock::MockBackend::new()
        .attest(&tee::ReportData::new([9; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    let policy = "allow_mock = true\nallow_any_measurement = true\n";
    let rd = [9u8; 64];
    let codes = [
        // SAFETY: `req` is live; `ev` is readable for its length.
        unsafe { tee_request_set_evidence_json(req, ev.as_ptr(), ev.len()) },
        // SAFETY: `req` is live; `policy` is readable for its length.
        unsafe { tee_request_set_policy_toml(req, policy.as_ptr(), policy.len()) },
        // SAFETY: `req` is live; `rd` is readable for its length.
        unsafe { tee_request_set_report_data(req, rd.as_ptr(), rd.len()) },
        // SAFETY: `req` is live.
        unsafe { tee_request_set_time_unix(req, tee::UnixTime::now().as_secs()) },
        // SAFETY: `req` is live.
        unsafe { tee_request_trust_mock_root(req) },
    ];
    assert_eq!(codes, [TEE_OK; 5], "{}", last_error());
    let mut out = ptr::null_mut();
    // SAFETY: `req` is live; `out` is writable.
    let code = unsafe { tee_verify(req, &mut out) };
    assert_eq!(code, TEE_OK, "{}", last_error());
    assert!(!out.is_null());
    out
}
