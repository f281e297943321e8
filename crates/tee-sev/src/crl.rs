//! AMD KDS certificate revocation lists.
//!
//! AMD publishes one CRL per product and key kind
//! (`https://kdsintf.amd.com/vcek/v1/{product}/crl`, `…/vlek/v1/{product}/crl`).
//! It is issued and signed by the product's ARK (RSASSA-PSS, SHA-384,
//! MGF1-SHA-384, salt 48) and lists revoked intermediates (ASK, ASVK).
//! AMD does not revoke individual VCEKs: a chip whose firmware was updated
//! gets a VCEK for the new TCB, and relying parties require a minimum TCB
//! (`[sev-snp] min_tcb`) to stop accepting the old ones. The verifier
//! still rejects a VCEK/VLEK whose serial a CRL lists.
//!
//! A CRL is accepted only when its issuer name is the ARK's subject, its
//! signature verifies with the pinned ARK key over the exact received
//! `tbsCertList` bytes, and `thisUpdate <= at < nextUpdate` (a CRL without
//! `nextUpdate` is refused: its freshness cannot be established).

use der::{Decode, Reader, SliceReader};
use tee_core::{Authenticity, Error, Result, UnixTime};
use x509_cert::crl::CertificateList;

use crate::cache::Serials;
use crate::certs::{Cert, pss_sha384_params};
use crate::crypto::CryptoProvider;

/// Largest CRL accepted (1 MiB; AMD's are a few KiB).
pub const MAX_CRL_LEN: usize = 1 << 20;

/// A decoded CRL together with the exact DER it came from.
#[derive(Debug, Clone)]
pub struct AmdCrl {
    der: Vec<u8>,
    list: CertificateList,
}

fn bad_chain(detail: String) -> Error {
    Authenticity::BadChain { detail }.into()
}

impl AmdCrl {
    /// Decode one DER CRL.
    ///
    /// # Errors
    /// [`Error::Malformed`] for anything that is not exactly one CRL of at
    /// most [`MAX_CRL_LEN`] bytes.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CRL_LEN {
            return Err(Error::malformed(
                "AMD CRL",
                tee_core::MalformedKind::BadLength {
                    expected: MAX_CRL_LEN,
                    actual: der.len(),
                },
            ));
        }
        let list = CertificateList::from_der(der).map_err(|e| Error::encoding("AMD CRL", e))?;
        Ok(Self {
            der: der.to_vec(),
            list,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// `thisUpdate` in Unix seconds.
    pub fn this_update(&self) -> u64 {
        self.list
            .tbs_cert_list
            .this_update
            .to_unix_duration()
            .as_secs()
    }

    /// `nextUpdate` in Unix seconds, if present.
    pub fn next_update(&self) -> Option<u64> {
        self.list
            .tbs_cert_list
            .next_update
            .map(|t| t.to_unix_duration().as_secs())
    }

    /// Whether the CRL names `ark` as its issuer.
    pub fn named_by(&self, ark: &Cert) -> bool {
        self.list.tbs_cert_list.issuer == *ark.x509().tbs_certificate().subject()
    }

    /// Whether a certificate with this serial (DER INTEGER content bytes)
    /// is listed.
    pub fn lists(&self, serial: &[u8]) -> bool {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .any(|r| r.serial_number.as_bytes() == serial)
    }

    /// The exact `tbsCertList` bytes of the received DER.
    fn tbs_bytes(&self) -> Result<&[u8]> {
        let mut r = SliceReader::new(&self.der).map_err(|e| Error::encoding("AMD CRL", e))?;
        let header = der::Header::decode(&mut r).map_err(|e| Error::encoding("AMD CRL", e))?;
        if header.tag() != der::Tag::Sequence {
            return Err(Error::encoding("AMD CRL", "not a SEQUENCE"));
        }
        r.tlv_bytes().map_err(|e| Error::encoding("AMD CRL", e))
    }

    /// Check that `ark` issued this CRL and that it is current at `at`.
    ///
    /// # Errors
    /// [`Authenticity::BadChain`] for another issuer, another algorithm or a
    /// bad signature; [`Authenticity::NotYetValid`] before `thisUpdate`;
    /// [`Authenticity::Expired`] at or after `nextUpdate` (or without one).
    pub fn verify(&self, ark: &Cert, at: UnixTime, crypto: &dyn CryptoProvider) -> Result<()> {
        let ark_name = ark.common_name().unwrap_or_default();
        if !self.named_by(ark) {
            return Err(bad_chain(format!(
                "AMD CRL is issued by `{}`, not by {ark_name}",
                self.list.tbs_cert_list.issuer
            )));
        }
        let alg = &self.list.signature_algorithm;
        if !pss_sha384_params(alg) || self.list.tbs_cert_list.signature != *alg {
            return Err(bad_chain(format!(
                "AMD CRL signature algorithm {} is not RSASSA-PSS SHA-384/salt 48 or differs from the TBS algorithm",
                alg.oid
            )));
        }
        let key = crypto
            .rsa_public_key(ark.rsa_pkcs1_bytes()?)
            .map_err(|e| bad_chain(format!("AMD CRL issuer key: {e}")))?;
        let sig = self
            .list
            .signature
            .as_bytes()
            .ok_or_else(|| bad_chain("AMD CRL signature bit string".into()))?;
        if !key.verify_pss_sha384(self.tbs_bytes()?, sig) {
            return Err(bad_chain(format!(
                "AMD CRL signature does not verify with {ark_name}"
            )));
        }
        let t = at.as_secs();
        let this = self.this_update();
        if t < this {
            return Err(Authenticity::NotYetValid {
                what: "AMD CRL (thisUpdate)".into(),
                not_before: this,
                at: t,
            }
            .into());
        }
        let next = self.next_update().unwrap_or(0);
        if t >= next {
            return Err(Authenticity::Expired {
                what: if self.next_update().is_some() {
                    "AMD CRL (nextUpdate)".into()
                } else {
                    "AMD CRL (no nextUpdate)".into()
                },
                not_after: next,
                at: t,
            }
            .into());
        }
        Ok(())
    }
}

/// Where a CRL came from, which decides what a CRL of another issuer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrlSource {
    /// Carried in the evidence: it must be the ARK's.
    Evidence,
    /// Configured on the verifier (may hold every product's CRL).
    Verifier,
}

/// Check the chain's serials against every applicable CRL. Returns whether
/// at least one verified CRL was consulted (`revocation_checked`).
///
/// Every CRL from the evidence must be the product ARK's, verify and be
/// current; a verifier-configured CRL of another issuer is ignored (it
/// belongs to another product), one named by this ARK must verify.
///
/// # Errors
/// As [`AmdCrl::verify`]; [`Authenticity::Revoked`] when a serial is listed.
pub(crate) fn check<'a>(
    crls: impl IntoIterator<Item = (CrlSource, &'a AmdCrl)>,
    ark: &Cert,
    serials: &Serials,
    at: UnixTime,
    crypto: &dyn CryptoProvider,
) -> Result<bool> {
    let mut checked = false;
    for (source, crl) in crls {
        if source == CrlSource::Verifier && !crl.named_by(ark) {
            continue;
        }
        crl.verify(ark, at, crypto)?;
        for (name, serial) in [
            (serials.inter_name, &serials.inter),
            (serials.leaf_name, &serials.leaf),
        ] {
            if !serial.is_empty() && crl.lists(serial) {
                return Err(Authenticity::Revoked {
                    what: format!(
                        "{name} serial {} (listed in the {} CRL)",
                        hex::encode(serial),
                        ark.common_name().unwrap_or_default()
                    ),
                }
                .into());
            }
        }
        checked = true;
    }
    Ok(checked)
}
