//! Certificates: the PCK chain to the pinned root, the Intel SGX extension
//! of the PCK certificate, the collateral signers' chains, and the CRLs
//! (signature by their issuer, validity, revocation of every certificate
//! on each path, as webpki does for `dcap-qvl`: revocation status unknown
//! is an error).

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode};
use tee_core::{Authenticity, Error, Result, UnixTime};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

use crate::collateral::PckCa;
use crate::crypto::CryptoProvider;
use crate::pki;
use crate::quote::Quote;

use super::tcb::Platform;

const SGX_EXTENSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1");
const PPID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.1");
const TCB: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.2");
const PCEID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.3");
const FMSPC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.4");
const SGX_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.5");
const PCESVN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.2.17");
const CPUSVN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.2.18");

fn ext_err(detail: impl core::fmt::Display) -> Error {
    Error::bad_field("PCK certificate", "SGX extension", detail)
}

/// The `SEQUENCE OF SEQUENCE { OID, value }` entries of an SGX extension level.
fn entries(der: &[u8]) -> Result<Vec<(ObjectIdentifier, AnyRef<'_>)>> {
    let items: Vec<AnyRef<'_>> = Vec::from_der(der).map_err(ext_err)?;
    if items.len() > 32 {
        return Err(ext_err("too many entries"));
    }
    items
        .into_iter()
        .map(|item| {
            let pair: Vec<AnyRef<'_>> = item.decode_as().map_err(ext_err)?;
            let [name, value] = pair.as_slice() else {
                return Err(ext_err("entry is not an (OID, value) pair"));
            };
            let oid: ObjectIdentifier = name.decode_as().map_err(ext_err)?;
            Ok((oid, *value))
        })
        .collect()
}

fn find<'a>(e: &[(ObjectIdentifier, AnyRef<'a>)], oid: ObjectIdentifier) -> Result<AnyRef<'a>> {
    e.iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, v)| *v)
        .ok_or_else(|| ext_err(format_args!("{oid} missing")))
}

fn octets<const N: usize>(v: AnyRef<'_>, what: &str) -> Result<[u8; N]> {
    if der::Tagged::tag(&v) != der::Tag::OctetString {
        return Err(ext_err(format_args!("{what} is not an OCTET STRING")));
    }
    <[u8; N]>::try_from(v.value()).map_err(|_| ext_err(format_args!("{what} is not {N} bytes")))
}

/// FMSPC, CPUSVN, PCESVN and PCE-ID from the PCK certificate's SGX extension (which
/// must also carry the PPID, PCE-ID and SGX type).
pub(crate) fn pck_platform(leaf: &Certificate) -> Result<Platform> {
    let ext = leaf
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|x| x.extn_id == SGX_EXTENSION)
        .ok_or_else(|| ext_err("missing"))?;
    let top = entries(ext.extn_value.as_bytes())?;
    for required in [PPID, SGX_TYPE] {
        find(&top, required)?;
    }
    let pce_id = octets::<2>(find(&top, PCEID)?, "PCE-ID")?;
    let fmspc = octets::<6>(find(&top, FMSPC)?, "FMSPC")?;
    let tcb = find(&top, TCB)?;
    let tcb_der = tcb.to_der().map_err(ext_err)?;
    let tcb = entries(&tcb_der)?;
    let cpu_svn = octets::<16>(find(&tcb, CPUSVN)?, "CPUSVN")?;
    let pce_svn = match find(&tcb, PCESVN)?.value() {
        [b] => u16::from(*b),
        [a, b] => u16::from_be_bytes([*a, *b]),
        _ => return Err(ext_err("PCESVN is not a 16-bit value")),
    };
    Ok(Platform {
        fmspc,
        cpu_svn,
        pce_svn,
        pce_id,
    })
}

/// The PCK CA that issued `leaf` (by its name).
pub(crate) fn pck_ca(leaf: &Certificate) -> PckCa {
    if leaf
        .tbs_certificate()
        .issuer()
        .to_string()
        .contains("Processor")
    {
        PckCa::Processor
    } else {
        PckCa::Platform
    }
}

/// The quote's embedded PCK chain (certification data type 5).
pub(crate) fn quote_pck_chain(q: &Quote) -> Result<Vec<Certificate>> {
    pki::parse_pem_chain(quote_pck_pem(q)?)
}

/// The PEM PCK chain the quote carries.
fn quote_pck_pem(q: &Quote) -> Result<&[u8]> {
    q.pck_chain_pem().ok_or_else(|| {
        Error::Authenticity(Authenticity::MissingEndorsement {
            what: format!(
                "PCK certificate chain (quote carries certification data type {}; type 5 needed without a PCK chain in the collateral)",
                q.qe.pck_cert_type
            ),
        })
    })
}

/// FMSPC and PCK CA of the quote's embedded PCK certificate (the leaf
/// alone is parsed; verification parses and checks the whole chain).
pub(crate) fn pck_identity(q: &Quote) -> Result<([u8; 6], PckCa)> {
    let leaf = pki::parse_pem_leaf(quote_pck_pem(q)?)?;
    Ok((pck_platform(&leaf)?.fmspc, pck_ca(&leaf)))
}

fn bad_chain(detail: String) -> Error {
    Authenticity::BadChain { detail }.into()
}

/// A CRL of the collateral, parsed.
pub(crate) struct Crl {
    list: CertificateList,
    what: &'static str,
}

impl Crl {
    /// Parse a DER CRL.
    pub(crate) fn parse(der: &[u8], what: &'static str) -> Result<Self> {
        let list = CertificateList::from_der(der).map_err(|e| Error::encoding(what, e))?;
        Ok(Self { list, what })
    }

    /// Issued (named and signed) by `issuer`, and not expired at `at`
    /// (nextUpdate exclusive, as webpki treats it).
    pub(crate) fn verify(
        &self,
        crypto: &dyn CryptoProvider,
        issuer: &Certificate,
        at: UnixTime,
    ) -> Result<()> {
        let tbs = &self.list.tbs_cert_list;
        if tbs.issuer != *issuer.tbs_certificate().subject() {
            return Err(bad_chain(format!(
                "{} is not issued by `{}`",
                self.what,
                issuer.tbs_certificate().subject()
            )));
        }
        let bad = || {
            bad_chain(format!(
                "{} signature does not verify with its issuer",
                self.what
            ))
        };
        let msg = tbs.to_der().map_err(|e| Error::encoding(self.what, e))?;
        let sig = self.list.signature.as_bytes().ok_or_else(bad)?;
        let sig = pki::der_signature_rs(sig).ok_or_else(bad)?;
        if !pki::cert_key(crypto, issuer)?.verify_sha256(&msg, &sig) {
            return Err(bad());
        }
        if let Some(next) = tbs.next_update {
            let next = next.to_unix_duration().as_secs();
            if at.as_secs() >= next {
                return Err(Authenticity::Expired {
                    what: self.what.into(),
                    not_after: next,
                    at: at.as_secs(),
                }
                .into());
            }
        }
        Ok(())
    }

    fn is_authority_for(&self, cert: &Certificate) -> bool {
        self.list.tbs_cert_list.issuer == *cert.tbs_certificate().issuer()
    }

    /// Whether `cert`'s serial is listed.
    pub(crate) fn lists(&self, cert: &Certificate) -> bool {
        let serial = cert.tbs_certificate().serial_number().as_bytes();
        self.list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .any(|r| r.serial_number.as_bytes() == serial)
    }

    /// The revoked serials.
    pub(crate) fn revoked_serials(&self) -> std::collections::HashSet<Vec<u8>> {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect()
    }
}

/// The root CA CRL (verified with the pinned root when constructed) and
/// the PCK CRL (verified with its issuer when first used).
pub(crate) struct Crls<'r> {
    crypto: &'r dyn CryptoProvider,
    pub(crate) root: &'r Certificate,
    pub(crate) root_crl: Crl,
    pub(crate) pck_crl: Crl,
    pck_crl_verified: bool,
}

impl<'r> Crls<'r> {
    /// Verify the root CA CRL with the pinned root, and the root against it.
    pub(crate) fn new(
        crypto: &'r dyn CryptoProvider,
        root: &'r Certificate,
        root_crl: Crl,
        pck_crl: Crl,
        at: UnixTime,
    ) -> Result<Self> {
        root_crl.verify(crypto, root, at)?;
        let crls = Self {
            crypto,
            root,
            root_crl,
            pck_crl,
            pck_crl_verified: false,
        };
        if crls.root_crl.lists(root) {
            return Err(Authenticity::Revoked {
                what: format!(
                    "certificate `{}` (in the root CA CRL)",
                    root.tbs_certificate().subject()
                ),
            }
            .into());
        }
        Ok(crls)
    }

    /// `cert` (issued by `issuer`) is covered by one of the CRLs and not listed.
    fn check(&mut self, cert: &Certificate, issuer: &Certificate, at: UnixTime) -> Result<()> {
        let crl = if self.root_crl.is_authority_for(cert) {
            &self.root_crl
        } else if self.pck_crl.is_authority_for(cert) {
            if !self.pck_crl_verified {
                self.pck_crl.verify(self.crypto, issuer, at)?;
                self.pck_crl_verified = true;
            }
            &self.pck_crl
        } else {
            return Err(bad_chain(format!(
                "no CRL from `{}`: the revocation status of `{}` is unknown",
                cert.tbs_certificate().issuer(),
                cert.tbs_certificate().subject()
            )));
        };
        if crl.lists(cert) {
            return Err(Authenticity::Revoked {
                what: format!(
                    "certificate `{}` (in the {})",
                    cert.tbs_certificate().subject(),
                    crl.what
                ),
            }
            .into());
        }
        Ok(())
    }

    /// Every certificate of a verified chain (leaf first; a presented root
    /// is skipped) is covered by a CRL and not revoked.
    pub(crate) fn check_path(&mut self, certs: &[Certificate], at: UnixTime) -> Result<()> {
        let root = self.root;
        for (cert, issuer) in path(certs, root) {
            self.check(cert, issuer, at)?;
        }
        Ok(())
    }
}

/// The (certificate, issuer) pairs from the leaf up to the root, following
/// issuer names through `certs` (a chain [`pki::verify_chain`] accepted).
pub(crate) fn path<'a>(
    certs: &'a [Certificate],
    root: &'a Certificate,
) -> Vec<(&'a Certificate, &'a Certificate)> {
    let mut out = Vec::new();
    let Some(mut cur) = certs.first() else {
        return out;
    };
    for _ in 0..=certs.len() {
        let issuer_name = cur.tbs_certificate().issuer();
        if issuer_name == root.tbs_certificate().subject() {
            out.push((cur, root));
            break;
        }
        let Some(next) = certs
            .iter()
            .find(|c| c.tbs_certificate().subject() == issuer_name && !core::ptr::eq(*c, cur))
        else {
            break;
        };
        out.push((cur, next));
        cur = next;
    }
    out
}

/// A collateral signer's chain (TCB info or QE identity issuer chain):
/// to the pinned root, the signer issued directly by the root. Returns the
/// signer certificate.
pub(crate) fn verify_signer_chain(
    crypto: &dyn CryptoProvider,
    pem: &str,
    root_der: &[u8],
    at: UnixTime,
    what: &'static str,
) -> Result<Vec<Certificate>> {
    let certs = pki::parse_pem_chain(pem.as_bytes())?;
    pki::verify_chain(crypto, &certs, root_der, at)?;
    let root = pki::parse_der(root_der)?;
    if path(&certs, &root).len() != 1 {
        return Err(bad_chain(format!(
            "the {what} signer must be issued directly by the root CA"
        )));
    }
    Ok(certs)
}

/// A raw `r || s` signature over signed collateral JSON by the signer.
pub(crate) fn verify_signed_json(
    crypto: &dyn CryptoProvider,
    signer: &[Certificate],
    json: &str,
    sig: &[u8],
    what: &'static str,
) -> Result<()> {
    let leaf = signer
        .first()
        .ok_or_else(|| Error::encoding("issuer chain", "empty"))?;
    let sig = <[u8; 64]>::try_from(sig)
        .map_err(|_| Error::bad_field("TDX collateral", what, "signature is not 64 bytes"))?;
    pki::verify_with_cert(crypto, leaf, json.as_bytes(), &sig, what)
}
