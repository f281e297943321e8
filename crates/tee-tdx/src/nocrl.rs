//! TCB evaluation for collateral without CRLs (only reachable through
//! `TdxVerifier::dangerous_allow_collateral_without_crls`). `dcap-qvl`
//! requires CRLs, so this path verifies the TCB info and QE identity
//! signatures and chains to the pinned root itself (without revocation)
//! and matches the platform TCB level. The TDX module identity levels are
//! not evaluated on this path; the claims say revocation was not checked.

use dcap_qvl::{QeIdentity, TcbInfo, TcbStatusWithAdvisory};
use tee_core::{Authenticity, Error, Result, TcbStatus, UnixTime};

use crate::collateral::Collateral;
use crate::pki;
use crate::quote::Quote;

fn sig64(v: &[u8], what: &'static str) -> Result<[u8; 64]> {
    <[u8; 64]>::try_from(v)
        .map_err(|_| Error::bad_field("TDX collateral", what, "signature is not 64 bytes"))
}

fn signed_json(
    chain: &str,
    json: &str,
    sig: &[u8],
    root: &[u8],
    at: UnixTime,
    what: &'static str,
) -> Result<()> {
    let certs = pki::parse_pem_chain(chain.as_bytes())?;
    pki::verify_chain(&certs, root, at)?;
    let leaf = certs
        .first()
        .ok_or_else(|| Error::encoding("issuer chain", "empty"))?;
    pki::verify_with_cert(leaf, json.as_bytes(), &sig64(sig, what)?, what)
}

pub(crate) fn evaluate(
    q: &Quote,
    c: &Collateral,
    root: &[u8],
    at: UnixTime,
) -> Result<(TcbStatus, Vec<String>)> {
    let i = &c.inner;
    signed_json(
        &i.tcb_info_issuer_chain,
        &i.tcb_info,
        &i.tcb_info_signature,
        root,
        at,
        "TCB info signature",
    )?;
    signed_json(
        &i.qe_identity_issuer_chain,
        &i.qe_identity,
        &i.qe_identity_signature,
        root,
        at,
        "QE identity signature",
    )?;
    let tcb: TcbInfo =
        serde_json::from_str(&i.tcb_info).map_err(|e| Error::encoding("TCB info", e))?;
    let qe: QeIdentity =
        serde_json::from_str(&i.qe_identity).map_err(|e| Error::encoding("QE identity", e))?;

    // QE identity.
    let r = &q.qe.qe_report;
    let masked = |v: &[u8], m: &[u8]| v.iter().zip(m).map(|(a, b)| a & b).collect::<Vec<u8>>();
    if qe.mrsigner != r.mr_signer
        || qe.isvprodid != r.isv_prod_id
        || masked(&r.misc_select.to_le_bytes(), &qe.miscselect_mask)
            != masked(&qe.miscselect, &qe.miscselect_mask)
        || masked(&r.attributes, &qe.attributes_mask) != masked(&qe.attributes, &qe.attributes_mask)
    {
        return Err(Authenticity::Mismatch {
            what: "QE identity",
            detail: "QE report does not match the QE identity".into(),
        }
        .into());
    }
    let qe_level = qe
        .tcb_levels
        .iter()
        .find(|l| r.isv_svn >= l.tcb.isvsvn)
        .ok_or_else(|| Authenticity::Mismatch {
            what: "QE identity",
            detail: "QE ISVSVN below every level".into(),
        })?;

    // Platform TCB.
    let pem = q
        .pck_chain_pem()
        .ok_or_else(|| Error::encoding("PCK chain", "missing"))?;
    let certs = pki::parse_pem_chain(pem)?;
    let leaf = certs
        .first()
        .ok_or_else(|| Error::encoding("PCK chain", "empty"))?;
    let der = der::Encode::to_der(leaf).map_err(|e| Error::encoding("PCK certificate", e))?;
    let ext = dcap_qvl::intel::parse_pck_extension(&der)
        .map_err(|e| Error::bad_field("PCK certificate", "SGX extension", format_args!("{e:#}")))?;
    let fmspc = hex::decode(&tcb.fmspc).map_err(|e| Error::encoding("TCB info fmspc", e))?;
    if fmspc != ext.fmspc || tcb.id != "TDX" {
        return Err(Authenticity::Mismatch {
            what: "FMSPC",
            detail: "the TCB info is for another platform".into(),
        }
        .into());
    }
    let mut found = None;
    for level in &tcb.tcb_levels {
        let short = level
            .shortfalls(&ext.cpu_svn, ext.pce_svn, Some(&q.body.tee_tcb_svn))
            .map_err(|e| Error::bad_field("TCB info", "tcbLevels", format_args!("{e:#}")))?;
        if short.is_empty() {
            found = Some(level);
            break;
        }
    }
    let Some(level) = found else {
        return Ok((TcbStatus::NoMatchingTcbLevel, Vec::new()));
    };
    let merged = TcbStatusWithAdvisory::new(level.tcb_status, level.advisory_ids.clone()).merge(
        &TcbStatusWithAdvisory::new(qe_level.tcb_status, qe_level.advisory_ids.clone()),
    );
    let status = crate::verify::status_from_dcap(&format!("{:?}", merged.status))?;
    if status == TcbStatus::Revoked {
        return Err(Authenticity::Revoked {
            what: "platform TCB (TCB status Revoked)".into(),
        }
        .into());
    }
    Ok((status, merged.advisory_ids))
}
