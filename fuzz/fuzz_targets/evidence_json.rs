#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_core::{Evidence, UnixTime, Verifier};

fuzz_target!(|data: &[u8]| {
    if let Ok(ev) = Evidence::from_json(data) {
        let _ = tee_mock::MockVerifier::trusting_mock_root().verify(&ev, UnixTime::from_secs(0));
        let _ = ev.to_json();
    }
});
