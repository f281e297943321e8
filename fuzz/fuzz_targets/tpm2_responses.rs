//! The TPM 2.0 command layer's response parsing (`tee_linux::tpm::Tpm`):
//! each command is answered with the next response of the input, as a
//! TPM (or anything posing as `/dev/tpmrm0`) could answer. Input: one
//! byte choosing the flow, then responses, each a big-endian u16 length
//! and that many bytes. Flows: NV_ReadPublic; a whole NV index (the HCL
//! report, in chunks); Quote; ReadPublic and its TPMT_PUBLIC; PCR_Read of
//! PCRs 0-23 (several rounds); the Azure HCL probe.
#![no_main]
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use tee_core::{DeviceErrorKind, Error, Result};
use tee_linux::tpm::wire::{PcrSelection, RsaPublic, TPM_ALG_SHA256};
use tee_linux::tpm::{Tpm, TpmTransport};

/// Answers with the scripted responses in order; then "no TPM".
#[derive(Debug)]
struct Scripted(Mutex<Vec<Vec<u8>>>);

impl TpmTransport for Scripted {
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>> {
        assert!(command.len() <= tee_linux::tpm::TPM_MAX_BUFFER);
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .ok_or_else(|| {
                Error::device(DeviceErrorKind::NotFound, "fuzz TPM", "no more responses")
            })
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, mut rest)) = data.split_first() else {
        return;
    };
    let mut responses = Vec::new();
    while rest.len() >= 2 && responses.len() < 64 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let n = n.min(body.len());
        responses.push(body[..n].to_vec());
        rest = &body[n..];
    }
    responses.reverse();
    // No retry delays: a "retry" response code is retried at once.
    let tpm = Tpm::new(Scripted(Mutex::new(responses))).with_retries(2, std::time::Duration::ZERO);
    let all: Vec<u32> = (0..24).collect();
    match which % 6 {
        0 => {
            let _ = tpm.nv_read_public(0x0140_0001);
        }
        1 => {
            if let Ok(b) = tpm.nv_read_all(0x0140_0001) {
                assert!(b.len() <= tee_linux::tpm::MAX_NV_READ);
            }
        }
        2 => {
            let _ = tpm.quote(
                0x8100_0003,
                &[0x5a; 48],
                &[PcrSelection::new(TPM_ALG_SHA256, &all)],
            );
        }
        3 => {
            if let Ok(p) = tpm.read_public(0x8100_0003) {
                let _ = RsaPublic::parse(&p.public);
            }
        }
        4 => {
            if let Ok(v) = tpm.pcr_read(TPM_ALG_SHA256, &all) {
                assert!(v.values.len() <= all.len());
                assert!(v.values.iter().all(|(i, d)| *i < 24 && d.len() == 32));
            }
        }
        _ => {
            let _ = tee_azure::probe_hcl(&tpm);
        }
    }
});
