//! Endorsements: collecting the VCEK/VLEK and chain certificates from an
//! evidence envelope, and building envelopes from separately supplied parts.

use tee_core::evidence::{endorsement, format};
use tee_core::{Error, Evidence, Platform, Result};

use crate::cert_table::{self, CertKind};
use crate::certs::{Cert, decode_certs};
use crate::crl::AmdCrl;
use crate::report::REPORT_LEN;

/// The endorsements for one report, gathered from wherever they came from.
#[derive(Debug, Clone, Default)]
pub struct Endorsements {
    /// Candidate VCEKs/VLEKs in the order found; verification uses the
    /// first whose kind matches the report's `KEY_INFO` (a host may supply both).
    pub signing_certs: Vec<Cert>,
    /// Other certificates (ASK, ASVK, ARK), any order.
    pub chain: Vec<Cert>,
    /// AMD CRLs (`amd-kds-crl-der` endorsements and CRL entries of a GHCB
    /// certificate table); each must be the product ARK's and current.
    pub crls: Vec<AmdCrl>,
}

impl Endorsements {
    /// Collect endorsements from an evidence envelope.
    ///
    /// # Errors
    /// [`Error::Malformed`] when an endorsement does not decode.
    pub fn from_evidence(ev: &Evidence) -> Result<Self> {
        let mut out = Self::default();
        for e in &ev.endorsements {
            match e.kind.as_str() {
                endorsement::SIGNING_CERT_DER => {
                    out.signing_certs.push(Cert::from_der(&e.data)?);
                }
                endorsement::CERT_CHAIN_PEM => {
                    for c in decode_certs(&e.data)? {
                        if c.is_ec() {
                            out.signing_certs.push(c);
                        } else {
                            out.chain.push(c);
                        }
                    }
                }
                endorsement::GHCB_CERT_TABLE => {
                    for entry in cert_table::parse(&e.data)? {
                        match entry.kind {
                            CertKind::Vcek | CertKind::Vlek => {
                                out.signing_certs.push(Cert::from_der(entry.data)?);
                            }
                            CertKind::Ask | CertKind::Ark => {
                                out.chain.push(Cert::from_der(entry.data)?)
                            }
                            CertKind::Crl => out.crls.push(AmdCrl::from_der(entry.data)?),
                            CertKind::Other(_) => {}
                        }
                    }
                }
                endorsement::AMD_CRL_DER => out.crls.push(AmdCrl::from_der(&e.data)?),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Only the CRLs an evidence envelope carries (`amd-kds-crl-der`
/// endorsements and CRL entries of GHCB certificate tables).
///
/// # Errors
/// [`Error::Malformed`] when a CRL or certificate table does not decode.
pub(super) fn crls_of(ev: &Evidence) -> Result<Vec<AmdCrl>> {
    let mut out = Vec::new();
    for e in &ev.endorsements {
        match e.kind.as_str() {
            endorsement::AMD_CRL_DER => out.push(AmdCrl::from_der(&e.data)?),
            endorsement::GHCB_CERT_TABLE => {
                for entry in cert_table::parse(&e.data)? {
                    if entry.kind == CertKind::Crl {
                        out.push(AmdCrl::from_der(entry.data)?);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Decode a report file: raw 1184 bytes, or hex text (whitespace ignored).
///
/// # Errors
/// [`Error::Malformed`] for anything else.
pub fn decode_report_file(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() == REPORT_LEN {
        return Ok(bytes.to_vec());
    }
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if text.len() == 2 * REPORT_LEN && text.iter().all(u8::is_ascii_hexdigit) {
        return hex::decode(&text).map_err(|e| Error::encoding("SNP report (hex)", e));
    }
    Err(Error::malformed(
        "SNP report",
        tee_core::MalformedKind::BadLength {
            expected: REPORT_LEN,
            actual: bytes.len(),
        },
    ))
}

/// Build an evidence envelope from a raw report and separately supplied
/// certificates (each DER or PEM, detected): the VCEK/VLEK and any of
/// ASK/ASVK/ARK. What is missing is taken from the pinned roots when verifying.
///
/// # Errors
/// [`Error::Malformed`] for a report or certificate that does not decode.
pub fn evidence_from_parts(
    report: &[u8],
    signing_cert: Option<&[u8]>,
    chain: &[&[u8]],
) -> Result<Evidence> {
    let raw = decode_report_file(report)?;
    let mut ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, raw);
    if let Some(c) = signing_cert {
        let certs = decode_certs(c)?;
        let leaf = certs
            .first()
            .ok_or_else(|| Error::encoding("certificate", "empty"))?;
        ev = ev.with_endorsement(endorsement::SIGNING_CERT_DER, leaf.der().to_vec());
    }
    let mut pem = String::new();
    for c in chain {
        for cert in decode_certs(c)? {
            pem.push_str(&to_pem(cert.der()));
        }
    }
    if !pem.is_empty() {
        ev = ev.with_endorsement(endorsement::CERT_CHAIN_PEM, pem.into_bytes());
    }
    Ok(ev)
}

/// PEM-encode one DER certificate.
pub fn to_pem(der: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let mut buf = [0u8; 3];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    let bytes = b64.as_bytes();
    for line in bytes.chunks(64) {
        out.push_str(core::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
