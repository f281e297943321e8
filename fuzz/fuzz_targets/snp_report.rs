#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_core::{Evidence, Platform, UnixTime, Verifier};

fuzz_target!(|data: &[u8]| {
    let _ = tee_sev::SnpReport::parse(data);
    let ev = Evidence::new(Platform::SevSnp, tee_core::evidence::format::SEV_SNP_REPORT, data.to_vec());
    let _ = tee_sev::SnpVerifier::new().verify(&ev, UnixTime::from_secs(1_750_000_000));
});
