//! `include/tee.h` is what cbindgen generates from the crate today (run with
//! `TEE_FFI_BLESS=1` to rewrite it after changing the ABI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = dir.join("include/tee.h");
    if std::env::var_os("TEE_FFI_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/tee.h is stale: regenerate it with \
         `TEE_FFI_BLESS=1 cargo test -p tee-ffi --test header` and commit it"
    );
    // The functions and codes a C caller needs are all there.
    for name in [
        "tee_request_new",
        "tee_request_free",
        "tee_request_set_evidence_json",
        "tee_request_set_snp_report",
        "tee_request_add_snp_cert",
        "tee_request_set_tdx_quote",
        "tee_request_set_collateral",
        "tee_request_set_policy_toml",
        "tee_request_set_time_unix",
        "tee_request_set_time_rfc3339",
        "tee_request_set_report_data",
        "tee_request_trust_mock_root",
        "tee_request_allow_unchecked_revocation",
        "tee_verify",
        "tee_result_json",
        "tee_result_json_len",
        "tee_result_passed",
        "tee_result_free",
        "tee_last_error_message",
        "tee_version",
        "typedef struct TeeRequest TeeRequest;",
        "typedef struct TeeResult TeeResult;",
        "#define TEE_OK 0",
        "#define TEE_ERR_USAGE 1",
        "#define TEE_ERR_MALFORMED 2",
        "#define TEE_ERR_AUTHENTICITY 3",
        "#define TEE_ERR_POLICY 4",
        "#define TEE_ERR_UNSUPPORTED 5",
        "#define TEE_ERR_INTERNAL 101",
    ] {
        assert!(generated.contains(name), "{name} missing from the header");
    }
}
