#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_core::{Evidence, Platform, UnixTime, Verifier};

fuzz_target!(|data: &[u8]| {
    let _ = tee_mock::report::MockReport::parse(data);
    let ev = Evidence::new(Platform::Mock, tee_core::evidence::format::MOCK_REPORT, data.to_vec());
    let _ = tee_mock::MockVerifier::trusting_mock_root().verify(&ev, UnixTime::from_secs(0));
});
