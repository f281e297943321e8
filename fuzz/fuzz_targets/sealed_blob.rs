#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_core::{Backend, SealPolicy};

fuzz_target!(|data: &[u8]| {
    let _ = tee_core::seal::inspect(data);
    let backend = tee_mock::MockBackend::new();
    if let Ok(s) = backend.sealer() {
        let _ = s.unseal(data, &SealPolicy::measurement("fuzz"));
    }
});
