//! The HCL runtime-claims JSON (`HCLAkPub`, `vm-configuration`, `user-data`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rc) = tee_azure::runtime::RuntimeClaims::parse(data) {
        let bits = rc.ak_modulus.len() * 8;
        assert!(
            (tee_azure::runtime::MIN_AK_BITS..=tee_azure::runtime::MAX_AK_BITS).contains(&bits)
        );
        assert!(!rc.ak_exponent.is_empty() && rc.ak_exponent.len() <= 8);
        let _ = rc.exponent_u64();
    }
});
