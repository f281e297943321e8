//! The quoting enclave: vendor, QE report (signed by the PCK, not in debug
//! mode, binding the attestation key), and the quote signature by the
//! attestation key.

use tee_core::{Authenticity, Error, Result};
use x509_cert::Certificate;

use crate::pki;
use crate::quote::{INTEL_QE_VENDOR_ID, Quote};

/// The quote comes from Intel's QE.
pub(crate) fn check_vendor(q: &Quote) -> Result<()> {
    if q.header.qe_vendor_id != INTEL_QE_VENDOR_ID {
        return Err(Authenticity::Mismatch {
            what: "QE vendor id",
            detail: "not Intel's QE".into(),
        }
        .into());
    }
    Ok(())
}

/// The QE report is signed by the PCK certificate.
pub(crate) fn check_report_signature(q: &Quote, pck_leaf: &Certificate) -> Result<()> {
    pki::verify_with_cert(
        pck_leaf,
        &q.qe.qe_report_raw,
        &q.qe.qe_report_signature,
        "QE report signature",
    )
}

/// The QE is not in debug mode and its report binds the attestation key
/// (all 64 bytes: the hash, then zeros).
pub(crate) fn check_report(q: &Quote) -> Result<()> {
    // A debug-mode QE's memory is readable by the host: its signature proves nothing.
    if q.qe.qe_report.attributes[0] & 0x02 != 0 {
        return Err(Authenticity::Mismatch {
            what: "QE report attributes",
            detail: "the quoting enclave runs in debug mode".into(),
        }
        .into());
    }
    let h = pki::qe_binding_hash(&q.attestation_key, &q.qe.qe_auth_data);
    if q.qe.qe_report.report_data[..32] != h || q.qe.qe_report.report_data[32..] != [0u8; 32] {
        return Err(Authenticity::Mismatch {
            what: "QE report binding",
            detail: "QE report data != SHA-256(attestation key || QE auth data) || zeros".into(),
        }
        .into());
    }
    Ok(())
}

/// The quote (header and body) is signed by the attestation key.
pub(crate) fn check_quote_signature(raw: &[u8], q: &Quote) -> Result<()> {
    let signed = q
        .signed_bytes(raw)
        .ok_or_else(|| Error::truncated("TDX quote", q.signed_len, raw.len()))?;
    pki::verify_raw(&q.attestation_key, signed, &q.signature, "quote signature")
}
