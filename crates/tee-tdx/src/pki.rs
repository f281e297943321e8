//! ECDSA P-256 checks: raw signatures (quote, QE report, collateral JSON),
//! certificate chains to the pinned root, the QE binding hash. Every
//! signature goes through the verifier's [`CryptoProvider`].

use std::sync::Arc;

use der::{Decode, Encode};
use p256::ecdsa::Signature;
use sha2::{Digest, Sha256};
use tee_core::{Authenticity, Error, Result, UnixTime};
use x509_cert::Certificate;

use crate::crypto::{CryptoProvider, P256PublicKey};

/// ECDSA-with-SHA256 OID.
const ECDSA_SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Verify a raw `r || s` P-256 signature over `msg` with a raw `x || y` key.
pub(crate) fn verify_raw(
    crypto: &dyn CryptoProvider,
    key_xy: &[u8; 64],
    msg: &[u8],
    sig_rs: &[u8; 64],
    what: &'static str,
) -> Result<()> {
    let sec1 = raw_key_sec1(key_xy);
    let vk = crypto
        .p256_public_key(&sec1)
        .map_err(|_| Error::bad_signature(what))?;
    check(vk.as_ref(), msg, sig_rs, what)
}

/// The SEC1 uncompressed encoding of a raw `x || y` key.
pub(crate) fn raw_key_sec1(key_xy: &[u8; 64]) -> [u8; 65] {
    let mut sec1 = [4u8; 65];
    sec1[1..].copy_from_slice(key_xy);
    sec1
}

fn check(vk: &dyn P256PublicKey, msg: &[u8], sig_rs: &[u8; 64], what: &'static str) -> Result<()> {
    if vk.verify_sha256(msg, sig_rs) {
        Ok(())
    } else {
        Err(Error::bad_signature(what))
    }
}

/// The SEC1 bytes of a certificate's key (the `subjectPublicKey` contents).
pub(crate) fn cert_key_bytes(cert: &Certificate) -> &[u8] {
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
}

fn not_p256() -> Error {
    Error::Authenticity(Authenticity::BadChain {
        detail: "certificate key is not an ECDSA P-256 key".into(),
    })
}

/// The P-256 key of a certificate.
pub(crate) fn cert_key(
    crypto: &dyn CryptoProvider,
    cert: &Certificate,
) -> Result<Arc<dyn P256PublicKey>> {
    crypto
        .p256_public_key(cert_key_bytes(cert))
        .map_err(|_| not_p256())
}

/// The P-256 key of a certificate, for many verifications.
pub(crate) fn cert_key_for_reuse(
    crypto: &dyn CryptoProvider,
    cert: &Certificate,
) -> Result<Arc<dyn P256PublicKey>> {
    crypto
        .p256_public_key_for_reuse(cert_key_bytes(cert))
        .map_err(|_| not_p256())
}

/// Verify a raw `r || s` signature with a certificate's key.
pub(crate) fn verify_with_cert(
    crypto: &dyn CryptoProvider,
    cert: &Certificate,
    msg: &[u8],
    sig_rs: &[u8; 64],
    what: &'static str,
) -> Result<()> {
    let vk = cert_key(crypto, cert)?;
    check(vk.as_ref(), msg, sig_rs, what)
}

/// A DER `ECDSA-Sig-Value` as `r || s` (scalars checked non-zero and below
/// the group order, as the signature parser of `p256` does).
pub(crate) fn der_signature_rs(der: &[u8]) -> Option<[u8; 64]> {
    let sig = Signature::from_der(der).ok()?;
    sig.to_bytes().as_slice().try_into().ok()
}

fn subject_cn(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// An issuer must be a CA (basicConstraints cA = TRUE).
fn check_is_ca(issuer: &Certificate) -> Result<()> {
    let bc = issuer
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::BasicConstraints>()
        .map_err(|e| Error::encoding("certificate basicConstraints", e))?;
    match bc {
        Some((_, b)) if b.ca => Ok(()),
        _ => Err(Authenticity::BadChain {
            detail: format!(
                "`{}` issues certificates but is not a CA",
                subject_cn(issuer)
            ),
        }
        .into()),
    }
}

/// Check that `cert` was issued by `issuer` (name, issuer is a CA, and
/// ECDSA-SHA256 signature).
fn check_issued_by(
    crypto: &dyn CryptoProvider,
    cert: &Certificate,
    issuer: &Certificate,
) -> Result<()> {
    check_is_ca(issuer)?;
    let bad = |d: String| Error::Authenticity(Authenticity::BadChain { detail: d });
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(bad(format!(
            "`{}` is not issued by `{}`",
            subject_cn(cert),
            subject_cn(issuer)
        )));
    }
    if cert.signature_algorithm().oid != ECDSA_SHA256 {
        return Err(bad(format!(
            "`{}` is not signed with ECDSA-SHA256",
            subject_cn(cert)
        )));
    }
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| bad(format!("cannot re-encode `{}`: {e}", subject_cn(cert))))?;
    let sig_der = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| bad("signature is not whole bytes".into()))?;
    let sig = der_signature_rs(sig_der)
        .ok_or_else(|| bad(format!("bad signature encoding on `{}`", subject_cn(cert))))?;
    if cert_key(crypto, issuer)?.verify_sha256(&tbs, &sig) {
        Ok(())
    } else {
        Err(bad(format!(
            "signature on `{}` does not verify with `{}`",
            subject_cn(cert),
            subject_cn(issuer)
        )))
    }
}

/// Check a certificate's validity period at `at`.
pub(crate) fn check_validity(cert: &Certificate, at: UnixTime) -> Result<()> {
    let v = cert.tbs_certificate().validity();
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    if at.as_secs() < nb {
        return Err(Authenticity::NotYetValid {
            what: subject_cn(cert),
            not_before: nb,
            at: at.as_secs(),
        }
        .into());
    }
    if at.as_secs() > na {
        return Err(Authenticity::Expired {
            what: subject_cn(cert),
            not_after: na,
            at: at.as_secs(),
        }
        .into());
    }
    Ok(())
}

/// Parse a PEM bundle.
/// Each `-----BEGIN CERTIFICATE-----` block is decoded on its own; bytes
/// outside blocks (real quotes pad the chain with NULs) are ignored.
pub(crate) fn parse_pem_chain(pem: &[u8]) -> Result<Vec<Certificate>> {
    parse_pem_certs(pem, usize::MAX)
}

/// The first certificate of a PEM chain (the leaf), the others left
/// unparsed: what picking collateral for a quote needs.
pub(crate) fn parse_pem_leaf(pem: &[u8]) -> Result<Certificate> {
    let mut certs = parse_pem_certs(pem, 1)?;
    // Never empty: `parse_pem_certs` refuses a chain without certificates.
    certs
        .pop()
        .ok_or_else(|| Error::encoding("PEM certificate chain", "no certificates"))
}

/// Up to `limit` certificates of a PEM chain, in order.
fn parse_pem_certs(pem: &[u8], limit: usize) -> Result<Vec<Certificate>> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |h: &[u8], n: &[u8]| h.windows(n.len()).position(|w| w == n);
    let mut certs = Vec::new();
    let mut rest = pem;
    while let Some(b) = find(rest, BEGIN) {
        let from = rest.get(b..).unwrap_or_default();
        let Some(e) = find(from, END) else {
            return Err(Error::encoding(
                "PEM certificate chain",
                "unterminated certificate",
            ));
        };
        let end = e + END.len();
        let block = from.get(..end).unwrap_or_default();
        let (_, der) =
            der::pem::decode_vec(block).map_err(|e| Error::encoding("PEM certificate chain", e))?;
        certs.push(parse_der(&der)?);
        if certs.len() > 8 {
            return Err(Error::encoding(
                "PEM certificate chain",
                "more than 8 certificates",
            ));
        }
        if certs.len() >= limit {
            break;
        }
        rest = from.get(end..).unwrap_or_default();
    }
    if certs.is_empty() {
        return Err(Error::encoding("PEM certificate chain", "no certificates"));
    }
    Ok(certs)
}

/// Parse a DER certificate.
pub(crate) fn parse_der(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::encoding("DER certificate", e))
}

/// Verify `leaf` up through `intermediates` to the pinned `root` (DER) at
/// `at`, without revocation checks. The chain presented may include a copy
/// of the root; it must then be byte-identical to the pinned one.
pub(crate) fn verify_chain(
    crypto: &dyn CryptoProvider,
    certs: &[Certificate],
    root_der: &[u8],
    at: UnixTime,
) -> Result<()> {
    let root = parse_der(root_der)?;
    let [leaf, rest @ ..] = certs else {
        return Err(Authenticity::BadChain {
            detail: "empty certificate chain".into(),
        }
        .into());
    };
    // Drop a presented root (it must be the pinned root, byte for byte).
    let mut inter: Vec<&Certificate> = Vec::new();
    for c in rest {
        if c.tbs_certificate().subject() == c.tbs_certificate().issuer() {
            let der = c.to_der().map_err(|e| Error::encoding("certificate", e))?;
            if der != root_der {
                return Err(Authenticity::UntrustedRoot {
                    detail: format!(
                        "chain ends in `{}`, which is not the pinned root",
                        subject_cn(c)
                    ),
                }
                .into());
            }
        } else {
            inter.push(c);
        }
    }
    if inter.len() > 3 {
        return Err(Authenticity::BadChain {
            detail: "too many intermediate certificates".into(),
        }
        .into());
    }
    check_validity(&root, at)?;
    let mut cur = leaf;
    for used in 0..=inter.len() {
        check_validity(cur, at)?;
        if cur.tbs_certificate().issuer() == root.tbs_certificate().subject() {
            check_issued_by(crypto, cur, &root)?;
            // Every presented certificate must be on the path: a chain with
            // extra (possibly altered) certificates is not the chain the
            // platform sent.
            if used != inter.len() {
                return Err(Authenticity::BadChain {
                    detail: format!(
                        "{} presented certificate(s) are not on the path",
                        inter.len() - used
                    ),
                }
                .into());
            }
            return Ok(());
        }
        let Some(next) = inter
            .iter()
            .find(|c| c.tbs_certificate().subject() == cur.tbs_certificate().issuer())
        else {
            return Err(Authenticity::UntrustedRoot {
                detail: format!(
                    "no issuer found for `{}` up to the pinned root",
                    subject_cn(cur)
                ),
            }
            .into());
        };
        check_issued_by(crypto, cur, next)?;
        cur = next;
    }
    Err(Authenticity::BadChain {
        detail: "certificate chain does not reach the pinned root".into(),
    }
    .into())
}

/// `SHA-256(attestation_key || qe_auth_data)`.
pub(crate) fn qe_binding_hash(att_key: &[u8; 64], auth: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(att_key);
    h.update(auth);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::testing::{TestPki, cert, key};

    fn at() -> UnixTime {
        UnixTime::parse_rfc3339("2025-01-01T00:00:00Z").unwrap()
    }

    fn pem(der: &[u8]) -> String {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
    }

    #[test]
    fn pem_leaf_parses_the_first_certificate_only() {
        let pki = TestPki::default();
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let chain = format!("{}{garbage}", pem(&pki.pck_der));
        // The whole chain does not parse; its leaf does, and is the PCK.
        assert!(matches!(
            parse_pem_chain(chain.as_bytes()),
            Err(Error::Malformed { .. })
        ));
        let leaf = parse_pem_leaf(chain.as_bytes()).unwrap();
        assert_eq!(leaf, parse_der(&pki.pck_der).unwrap());
        let two = format!("{}{}", pem(&pki.pck_der), pem(&pki.pck_ca_der));
        assert_eq!(parse_pem_chain(two.as_bytes()).unwrap().len(), 2);
        assert_eq!(parse_pem_leaf(two.as_bytes()).unwrap(), leaf);
        // Nothing, or a broken first block: refused as before.
        for bad in ["", "no pem here", garbage] {
            assert!(
                matches!(parse_pem_leaf(bad.as_bytes()), Err(Error::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn chain_rules() {
        for c in crate::crypto::providers() {
            chain_rules_with(c);
        }
    }

    fn chain_rules_with(c: &dyn CryptoProvider) {
        let pki = TestPki::default();
        let leaf = parse_der(&pki.pck_der).unwrap();
        let ca = parse_der(&pki.pck_ca_der).unwrap();
        let root = parse_der(&pki.root_der).unwrap();
        verify_chain(
            c,
            &[leaf.clone(), ca.clone(), root.clone()],
            &pki.root_der,
            at(),
        )
        .unwrap();
        verify_chain(c, &[leaf.clone(), ca.clone()], &pki.root_der, at()).unwrap();
        // A certificate "issued" by the PCK leaf (not a CA) is refused.
        let rogue_der = cert(
            9,
            "Intel SGX PCK Certificate (TEST)",
            "rogue",
            &key("rogue"),
            &key("pck"),
            Vec::new(),
        );
        let rogue = parse_der(&rogue_der).unwrap();
        match verify_chain(c, &[rogue, leaf.clone(), ca.clone()], &pki.root_der, at()) {
            Err(Error::Authenticity(Authenticity::BadChain { detail })) => {
                assert!(detail.contains("not a CA"))
            }
            other => panic!("{other:?}"),
        }
        // An extra certificate that is not on the path is refused.
        let other_ca = parse_der(&cert(
            8,
            "Intel SGX Root CA (TEST)",
            "other CA",
            &key("x"),
            &key("root"),
            Vec::new(),
        ))
        .unwrap();
        assert!(matches!(
            verify_chain(
                c,
                &[leaf.clone(), ca.clone(), other_ca],
                &pki.root_der,
                at()
            ),
            Err(Error::Authenticity(Authenticity::BadChain { .. }))
        ));
        // Missing intermediate: no issuer up to the root.
        assert!(matches!(
            verify_chain(c, std::slice::from_ref(&leaf), &pki.root_der, at()),
            Err(Error::Authenticity(Authenticity::UntrustedRoot { .. }))
        ));
        // Outside the validity period.
        let late = UnixTime::parse_rfc3339("2050-06-01T00:00:00Z").unwrap();
        assert!(matches!(
            verify_chain(c, &[leaf.clone(), ca.clone()], &pki.root_der, late),
            Err(Error::Authenticity(Authenticity::Expired { .. }))
        ));
        let early = UnixTime::parse_rfc3339("2019-06-01T00:00:00Z").unwrap();
        assert!(matches!(
            verify_chain(c, &[leaf, ca], &pki.root_der, early),
            Err(Error::Authenticity(Authenticity::NotYetValid { .. }))
        ));
    }
}
