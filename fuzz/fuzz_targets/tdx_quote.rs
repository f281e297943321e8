#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_core::{Evidence, Platform, UnixTime, Verifier};

fuzz_target!(|data: &[u8]| {
    let _ = tee_tdx::quote::Quote::parse(data);
    let ev = Evidence::new(Platform::Tdx, tee_core::evidence::format::TDX_QUOTE, data.to_vec());
    let _ = tee_tdx::TdxVerifier::new().without_collateral().verify(&ev, UnixTime::from_secs(1_700_000_000));
});
