//! Azure vTPM evidence: the SDK envelope and the peers' JSON shapes
//! (`tee_azure::parse_any`), then verification steps 2 and 4-12 (HCL
//! report, runtime-claims binding, AK, quote parsing and RSA signature,
//! PCR digest, user-data rule) over a stand-in hardware verifier that
//! takes the SNP report's REPORT_DATA without checking its signature (the
//! real verifiers have their own targets), so fuzzed HCL reports reach
//! the later steps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_core::platforms::MockClaims;
use tee_core::{
    Claims, Error, Evidence, Platform, PlatformClaims, ReportData, Result, TrustRoot, UnixTime,
    Verifier,
};

/// "Verifies" an SNP report by reading its REPORT_DATA (NO SECURITY).
#[derive(Debug)]
struct ReportDataOnly;

impl Verifier for ReportDataOnly {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    fn check_authenticity(&self, ev: &Evidence, at: UnixTime) -> Result<Claims> {
        let rd = ev
            .report
            .get(0x50..0x90)
            .ok_or_else(|| Error::truncated("fuzz SNP report", 0x90, ev.report.len()))?;
        Ok(Claims::new(
            Platform::SevSnp,
            ev.format.clone(),
            TrustRoot::NoSecurity,
            ReportData::from_slice(rd)?,
            false,
            at,
            PlatformClaims::Mock(MockClaims::new(
                "fuzz",
                0,
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            )),
        ))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok((ev, _azure)) = tee_azure::parse_any(data) else {
        return;
    };
    if !tee_azure::is_azure(&ev) {
        return;
    }
    let _ = tee_azure::AzureEvidence::from_evidence(&ev);
    // The TDX path needs verified TDX claims (the quote body): SNP only.
    if ev.platform != Platform::SevSnp {
        return;
    }
    if let Ok(c) = tee_azure::verify::verify(&ev, UnixTime::from_secs(0), &ReportDataOnly) {
        assert!(c.vtpm.is_some());
    }
});
