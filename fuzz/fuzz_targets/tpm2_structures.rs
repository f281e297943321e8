//! The TPM 2.0 structures a verifier parses (`tee_linux::tpm::wire`):
//! `TPMS_ATTEST` of a quote, RSA `TPMT_PUBLIC`, `TPMS_NV_PUBLIC`,
//! `TPMT_SIGNATURE`, `TPML_PCR_SELECTION`. The first byte picks the
//! structure. The parsers are strict (no trailing bytes), so whatever
//! parses must marshal back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tee_linux::tpm::NvPublic;
use tee_linux::tpm::wire::{self, QuoteAttest, Reader, RsaPublic, Signature};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(a) = QuoteAttest::parse(rest) {
                assert_eq!(a.marshal(), rest, "TPMS_ATTEST round trip");
            }
        }
        1 => {
            if let Ok(p) = RsaPublic::parse(rest) {
                assert_eq!(p.marshal(), rest, "TPMT_PUBLIC round trip");
                let _ = p.name();
                let _ = p.qualified_name_as_primary(wire::TPM_RH_ENDORSEMENT);
            }
        }
        2 => {
            if let Ok(p) = NvPublic::parse(rest) {
                assert_eq!(p.marshal(), rest, "TPMS_NV_PUBLIC round trip");
            }
        }
        3 => {
            let mut r = Reader::new("fuzz", rest);
            if let Ok(s) = Signature::parse_from(&mut r) {
                let used = rest.len() - r.remaining();
                assert_eq!(s.marshal(), &rest[..used], "TPMT_SIGNATURE round trip");
            }
        }
        _ => {
            let mut r = Reader::new("fuzz", rest);
            if let Ok(sel) = wire::parse_pcr_selection(&mut r) {
                let used = rest.len() - r.remaining();
                let mut out = Vec::new();
                wire::marshal_pcr_selection(&sel, &mut out);
                assert_eq!(out, &rest[..used], "TPML_PCR_SELECTION round trip");
                assert!(sel.iter().all(|s| s.pcrs().iter().all(|&p| p < 64)));
            }
        }
    }
});
