#![no_main]
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = tee_pef::esm::EsmBlob::parse(data);
    let _ = tee_pef::fdt::parse(data);
    let _ = tee_pef::cpio::locate_esm(data);
});
