#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_tdx::reference::{MrtdOptions, PageAddOrder, Tdvf, mrtd_of};
fuzz_target!(|data: &[u8]| {
    // Parse, then replay in both orders: no input may panic, and a parsed
    // image always yields a 48-byte MRTD.
    if let Ok(t) = Tdvf::parse(data) {
        for order in [PageAddOrder::OnePass, PageAddOrder::TwoPass] {
            let v = mrtd_of(&t, data, MrtdOptions::new(order));
            assert!(matches!(v, Ok(ref v) if v.value.len() == 48));
        }
    }
});
