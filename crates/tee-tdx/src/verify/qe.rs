//! The quoting enclave: vendor, QE report (signed by the PCK, not in debug
//! mode, binding the attestation key), and the quote signature by the
//! attestation key.

use tee_core::{Authenticity, Error, Result};
use x509_cert::Certificate;

use crate::crypto::CryptoProvider;
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
pub(crate) fn check_report_signature(
    crypto: &dyn CryptoProvider,
    q: &Quote,
    pck_leaf: &Certificate,
) -> Result<()> {
    pki::verify_with_cert(
        crypto,
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

/// MRSIGNER of Intel's TD quoting enclave (every `TD_QE` identity Intel
/// publishes names it).
pub const INTEL_TD_QE_MRSIGNER: [u8; 32] = [
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
];
/// ISVPRODID of Intel's TD QE.
pub(crate) const INTEL_TD_QE_ISVPRODID: u16 = 2;
/// MISCSELECT of Intel's TD QE identity, and its mask.
pub(crate) const INTEL_TD_QE_MISCSELECT: (u32, u32) = (0, 0xffff_ffff);
/// ATTRIBUTES of Intel's TD QE identity (`11000000…`), and its mask
/// (`FBFFFFFFFFFFFFFF0000000000000000`): INIT and MODE64BIT set, DEBUG
/// clear, PROVISIONKEY ignored, XFRM ignored.
pub(crate) const INTEL_TD_QE_ATTRIBUTES: ([u8; 16], [u8; 16]) = (
    [0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [
        0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
    ],
);

fn not_intel_td_qe(detail: String) -> Error {
    Authenticity::Mismatch {
        what: "QE identity (Intel TD QE)",
        detail,
    }
    .into()
}

/// The QE report is that of Intel's TD quoting enclave: MRSIGNER
/// [`INTEL_TD_QE_MRSIGNER`], ISVPRODID 2, MISCSELECT and ATTRIBUTES under
/// the masks of Intel's TD QE identity. Runs in every mode (with and
/// without collateral, with and without CRLs, cached): Intel's PCE
/// certifies the report of *any* local enclave with the PROVISION_KEY
/// attribute, so the PCK signature alone does not prove that Intel's QE
/// signed the quote.
pub(crate) fn check_intel_td_qe(q: &Quote) -> Result<()> {
    let r = &q.qe.qe_report;
    if r.mr_signer != INTEL_TD_QE_MRSIGNER {
        return Err(not_intel_td_qe(format!(
            "QE MRSIGNER {} is not Intel's TD QE signer (expected {})",
            hex::encode_upper(r.mr_signer),
            hex::encode_upper(INTEL_TD_QE_MRSIGNER)
        )));
    }
    if r.isv_prod_id != INTEL_TD_QE_ISVPRODID {
        return Err(not_intel_td_qe(format!(
            "QE ISVPRODID {} is not Intel's TD QE (expected {INTEL_TD_QE_ISVPRODID})",
            r.isv_prod_id
        )));
    }
    let (misc, misc_mask) = INTEL_TD_QE_MISCSELECT;
    if r.misc_select & misc_mask != misc & misc_mask {
        return Err(not_intel_td_qe(format!(
            "QE MISCSELECT {:#010x} differs from Intel's TD QE ({misc:#010x} under mask {misc_mask:#010x})",
            r.misc_select
        )));
    }
    let (attrs, mask) = INTEL_TD_QE_ATTRIBUTES;
    let ok = attrs
        .iter()
        .zip(&mask)
        .zip(&r.attributes)
        .all(|((e, m), a)| e & m == a & m);
    if !ok {
        return Err(not_intel_td_qe(format!(
            "QE ATTRIBUTES {} differ from Intel's TD QE ({} under mask {})",
            hex::encode_upper(r.attributes),
            hex::encode_upper(attrs),
            hex::encode_upper(mask)
        )));
    }
    Ok(())
}

/// The quote (header and body) is signed by the attestation key.
pub(crate) fn check_quote_signature(
    crypto: &dyn CryptoProvider,
    raw: &[u8],
    q: &Quote,
) -> Result<()> {
    let signed = q
        .signed_bytes(raw)
        .ok_or_else(|| Error::truncated("TDX quote", q.signed_len, raw.len()))?;
    pki::verify_raw(
        crypto,
        &q.attestation_key,
        signed,
        &q.signature,
        "quote signature",
    )
}
