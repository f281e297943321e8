//! The Azure HCL report parser (`tee_azure::HclReport::parse`) and, on
//! what parses, the variable data's digest and the runtime-claims parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = tee_azure::HclReport::parse(data) {
        let d = h.variable_data_digest();
        assert!(matches!(d.len(), 32 | 48 | 64));
        assert!(h.variable_data.len() <= data.len());
        let _ = tee_azure::runtime::RuntimeClaims::parse(h.variable_data);
    }
});
