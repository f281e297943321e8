#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tee_core::{Evidence, Platform, UnixTime, Verifier};

fn verifier() -> &'static tee_sev::SnpVerifier {
    static V: OnceLock<tee_sev::SnpVerifier> = OnceLock::new();
    V.get_or_init(tee_sev::SnpVerifier::new)
}

fuzz_target!(|data: &[u8]| {
    let _ = tee_sev::SnpReport::parse(data);
    let ev = Evidence::new(Platform::SevSnp, tee_core::evidence::format::SEV_SNP_REPORT, data.to_vec());
    let _ = verifier().verify(&ev, UnixTime::from_secs(1_750_000_000));
});
