#![no_main]
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = tee_tdx::ccel::CcelTable::parse(data);
    let _ = tee_tdx::ccel::EventLog::parse(data);
});
