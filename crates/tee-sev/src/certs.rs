//! X.509 handling for the AMD key hierarchy: decoding (DER or PEM),
//! RSASSA-PSS/SHA-384 chain signatures, validity at an explicit time, and
//! the AMD VCEK/VLEK extensions (OID arc `1.3.6.1.4.1.3704.1`).

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Reader, SliceReader};
use tee_core::{Authenticity, Error, Result, UnixTime};
use x509_cert::Certificate;

use crate::crypto::{CryptoProvider, RsaPssPublicKey};
use crate::report::Product;

/// `id-RSASSA-PSS`.
pub const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// `id-sha384`.
pub const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// `id-mgf1`.
pub const OID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// `rsaEncryption`.
pub const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey`.
pub const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp384r1`.
pub const OID_SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// AMD extension OIDs.
pub mod oid {
    use const_oid::ObjectIdentifier;
    /// structVersion.
    pub const STRUCT_VERSION: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.1");
    /// productName (IA5String, e.g. `Milan-B0`).
    pub const PRODUCT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.2");
    /// blSPL.
    pub const BL_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.1");
    /// teeSPL.
    pub const TEE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.2");
    /// snpSPL.
    pub const SNP_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.3");
    /// ucodeSPL.
    pub const UCODE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.8");
    /// fmcSPL (Turin).
    pub const FMC_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.9");
    /// hwID (raw bytes: 64 on Milan/Genoa, 8 on Turin).
    pub const HW_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.4");
    /// cspID (VLEK).
    pub const CSP_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.5");
}

/// Largest certificate accepted (64 KiB; AMD's are under 3 KiB).
pub const MAX_CERT_LEN: usize = 64 << 10;

/// A decoded certificate together with the exact DER it came from.
#[derive(Debug, Clone)]
pub struct Cert {
    der: Vec<u8>,
    cert: Certificate,
}

/// The AMD extensions of a VCEK or VLEK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmdExtensions {
    /// structVersion.
    pub struct_version: Option<u8>,
    /// productName.
    pub product_name: Option<String>,
    /// blSPL.
    pub bl_spl: Option<u8>,
    /// teeSPL.
    pub tee_spl: Option<u8>,
    /// snpSPL.
    pub snp_spl: Option<u8>,
    /// ucodeSPL.
    pub ucode_spl: Option<u8>,
    /// fmcSPL.
    pub fmc_spl: Option<u8>,
    /// hwID.
    pub hw_id: Option<Vec<u8>>,
    /// cspID.
    pub csp_id: Option<String>,
}

fn bad_der(what: &'static str, e: impl core::fmt::Display) -> Error {
    Error::encoding(what, e)
}

impl Cert {
    /// Decode one DER certificate.
    ///
    /// # Errors
    /// [`Error::Malformed`] for anything that is not exactly one certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CERT_LEN {
            return Err(Error::malformed(
                "certificate",
                tee_core::MalformedKind::BadLength {
                    expected: MAX_CERT_LEN,
                    actual: der.len(),
                },
            ));
        }
        let cert = Certificate::from_der(der).map_err(|e| bad_der("certificate", e))?;
        Ok(Self {
            der: der.to_vec(),
            cert,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded certificate.
    pub fn x509(&self) -> &Certificate {
        &self.cert
    }

    /// The exact `tbsCertificate` bytes of the received DER.
    fn tbs_bytes(&self) -> Result<&[u8]> {
        let mut r = SliceReader::new(&self.der).map_err(|e| bad_der("certificate", e))?;
        let header = der::Header::decode(&mut r).map_err(|e| bad_der("certificate", e))?;
        if header.tag() != der::Tag::Sequence {
            return Err(Error::encoding("certificate", "not a SEQUENCE"));
        }
        r.tlv_bytes().map_err(|e| bad_der("certificate", e))
    }

    /// The serial number (the DER INTEGER's content bytes).
    pub fn serial(&self) -> &[u8] {
        self.cert.tbs_certificate().serial_number().as_bytes()
    }

    /// The subject common name, if any.
    pub fn common_name(&self) -> Option<String> {
        name_cn(self.cert.tbs_certificate().subject())
    }

    /// The issuer common name, if any.
    pub fn issuer_common_name(&self) -> Option<String> {
        name_cn(self.cert.tbs_certificate().issuer())
    }

    /// Whether subject and issuer names are equal.
    pub fn is_self_issued(&self) -> bool {
        let t = self.cert.tbs_certificate();
        t.subject() == t.issuer()
    }

    /// Whether the subject key is RSA.
    pub fn is_rsa(&self) -> bool {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .algorithm
            .oid
            == OID_RSA_ENCRYPTION
    }

    /// Whether the subject key is EC.
    pub fn is_ec(&self) -> bool {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .algorithm
            .oid
            == OID_EC_PUBLIC_KEY
    }

    /// `notBefore` and `notAfter` in Unix seconds.
    pub fn validity_secs(&self) -> (u64, u64) {
        let v = self.cert.tbs_certificate().validity();
        (
            v.not_before.to_unix_duration().as_secs(),
            v.not_after.to_unix_duration().as_secs(),
        )
    }

    /// Check validity at `at`.
    ///
    /// # Errors
    /// [`Authenticity::Expired`] or [`Authenticity::NotYetValid`].
    pub fn check_validity(&self, what: &str, at: UnixTime) -> Result<()> {
        let (nb, na) = self.validity_secs();
        let t = at.as_secs();
        if t < nb {
            return Err(Authenticity::NotYetValid {
                what: what.into(),
                not_before: nb,
                at: t,
            }
            .into());
        }
        if t > na {
            return Err(Authenticity::Expired {
                what: what.into(),
                not_after: na,
                at: t,
            }
            .into());
        }
        Ok(())
    }

    /// Verify that `issuer` signed this certificate with RSASSA-PSS, SHA-384,
    /// MGF1-SHA-384, salt length 48, and that the issuer name matches, with
    /// the pure-Rust provider.
    ///
    /// # Errors
    /// [`Authenticity::BadChain`] when the algorithm, the names or the
    /// signature do not check out.
    pub fn verify_signed_by(&self, issuer: &Cert, what: &str) -> Result<()> {
        self.verify_signed_by_with(issuer, what, &crate::crypto::RUST_CRYPTO)
    }

    /// [`Cert::verify_signed_by`] with an explicit crypto provider.
    ///
    /// # Errors
    /// [`Authenticity::BadChain`] when the algorithm, the names or the
    /// signature do not check out.
    pub fn verify_signed_by_with(
        &self,
        issuer: &Cert,
        what: &str,
        crypto: &dyn CryptoProvider,
    ) -> Result<()> {
        let chain = |d: String| {
            Error::from(Authenticity::BadChain {
                detail: format!("{what}: {d}"),
            })
        };
        self.check_issued_by(issuer, what)?;
        let pkcs1 = issuer
            .rsa_pkcs1_bytes()
            .map_err(|e| chain(format!("issuer key: {e}")))?;
        let key = crypto
            .rsa_public_key(pkcs1)
            .map_err(|e| chain(format!("issuer key: {e}")))?;
        self.verify_signature_with_key(key.as_ref(), what)
    }

    /// The issuer name equals `issuer`'s subject and the signature algorithm
    /// is RSASSA-PSS with SHA-384, MGF1-SHA-384, salt length 48 (in both the
    /// outer and the TBS algorithm identifiers).
    ///
    /// # Errors
    /// [`Authenticity::BadChain`] otherwise.
    pub fn check_issued_by(&self, issuer: &Cert, what: &str) -> Result<()> {
        let chain = |d: String| {
            Error::from(Authenticity::BadChain {
                detail: format!("{what}: {d}"),
            })
        };
        if self.cert.tbs_certificate().issuer() != issuer.cert.tbs_certificate().subject() {
            return Err(chain(
                "issuer name does not match the signer's subject".into(),
            ));
        }
        let alg = self.cert.signature_algorithm();
        if alg.oid != OID_RSASSA_PSS || self.cert.tbs_certificate().signature() != alg {
            return Err(chain(format!(
                "signature algorithm {} is not RSASSA-PSS or differs from the TBS algorithm",
                alg.oid
            )));
        }
        if !pss_sha384_params(alg) {
            return Err(chain(
                "PSS parameters are not SHA-384/MGF1-SHA-384/salt 48".into(),
            ));
        }
        Ok(())
    }

    /// Verify this certificate's RSASSA-PSS/SHA-384 signature over the exact
    /// received `tbsCertificate` bytes with a prepared issuer key. Call
    /// [`Cert::check_issued_by`] first.
    ///
    /// # Errors
    /// [`Authenticity::BadChain`] when the signature does not verify.
    pub fn verify_signature_with_key(&self, key: &dyn RsaPssPublicKey, what: &str) -> Result<()> {
        let chain = |d: &str| {
            Error::from(Authenticity::BadChain {
                detail: format!("{what}: {d}"),
            })
        };
        let sig = self
            .cert
            .signature()
            .as_bytes()
            .ok_or_else(|| chain("signature bit string"))?;
        if key.verify_pss_sha384(self.tbs_bytes()?, sig) {
            Ok(())
        } else {
            Err(chain("signature does not verify"))
        }
    }

    /// The PKCS#1 `RSAPublicKey` DER inside the subject public key (ARK,
    /// ASK, ASVK), without re-encoding.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the key is not RSA.
    pub fn rsa_pkcs1_bytes(&self) -> Result<&[u8]> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != OID_RSA_ENCRYPTION {
            return Err(Error::bad_field(
                "certificate",
                "subjectPublicKeyInfo",
                "not an RSA key",
            ));
        }
        spki.subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::encoding("RSA public key", "bit string"))
    }

    /// The SEC1 point inside the subject public key (VCEK, VLEK), after
    /// checking that it is an EC key on P-384.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the key is not EC P-384.
    pub fn p384_point_bytes(&self) -> Result<&[u8]> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if spki.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_SECP384R1) {
            return Err(Error::bad_field(
                "certificate",
                "subjectPublicKeyInfo",
                "not an EC P-384 key",
            ));
        }
        spki.subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::encoding("EC public key", "bit string"))
    }

    /// The RSA public key (ARK, ASK, ASVK).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the key is not RSA or cannot be decoded.
    pub fn rsa_key(&self) -> Result<rsa::RsaPublicKey> {
        use rsa::pkcs8::DecodePublicKey as _;
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != OID_RSA_ENCRYPTION {
            return Err(Error::bad_field(
                "certificate",
                "subjectPublicKeyInfo",
                "not an RSA key",
            ));
        }
        let der = spki.to_der().map_err(|e| bad_der("RSA public key", e))?;
        rsa::RsaPublicKey::from_public_key_der(&der).map_err(|e| bad_der("RSA public key", e))
    }

    /// The P-384 public key (VCEK, VLEK).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the key is not EC P-384.
    pub fn p384_key(&self) -> Result<p384::ecdsa::VerifyingKey> {
        p384::ecdsa::VerifyingKey::from_sec1_bytes(self.p384_point_bytes()?)
            .map_err(|_| Error::encoding("EC public key", "invalid point"))
    }

    /// Decode the AMD extensions.
    ///
    /// # Errors
    /// [`Error::Malformed`] when a known AMD extension has the wrong shape or
    /// appears twice.
    pub fn amd_extensions(&self) -> Result<AmdExtensions> {
        let mut out = AmdExtensions::default();
        let Some(exts) = self.cert.tbs_certificate().extensions() else {
            return Ok(out);
        };
        for e in exts {
            let v = e.extn_value.as_bytes();
            let o = e.extn_id;
            let spl = |slot: &mut Option<u8>, name: &'static str| -> Result<()> {
                if slot.is_some() {
                    return Err(Error::bad_field("VCEK extension", name, "duplicate"));
                }
                *slot = Some(der_small_uint(v).ok_or_else(|| {
                    Error::bad_field("VCEK extension", name, "not a small INTEGER")
                })?);
                Ok(())
            };
            if o == oid::STRUCT_VERSION {
                spl(&mut out.struct_version, "structVersion")?;
            } else if o == oid::BL_SPL {
                spl(&mut out.bl_spl, "blSPL")?;
            } else if o == oid::TEE_SPL {
                spl(&mut out.tee_spl, "teeSPL")?;
            } else if o == oid::SNP_SPL {
                spl(&mut out.snp_spl, "snpSPL")?;
            } else if o == oid::UCODE_SPL {
                spl(&mut out.ucode_spl, "ucodeSPL")?;
            } else if o == oid::FMC_SPL {
                spl(&mut out.fmc_spl, "fmcSPL")?;
            } else if o == oid::PRODUCT_NAME {
                let s = der::asn1::Ia5StringRef::from_der(v).map_err(|_| {
                    Error::bad_field("VCEK extension", "productName", "not an IA5String")
                })?;
                out.product_name = Some(s.as_str().to_owned());
            } else if o == oid::CSP_ID {
                let s = der::asn1::Ia5StringRef::from_der(v)
                    .map_err(|_| Error::bad_field("VCEK extension", "cspID", "not an IA5String"))?;
                out.csp_id = Some(s.as_str().to_owned());
            } else if o == oid::HW_ID {
                out.hw_id = Some(v.to_vec());
            }
        }
        Ok(out)
    }

    /// The product named in the `productName` extension.
    pub fn product(&self) -> Option<Product> {
        self.amd_extensions()
            .ok()?
            .product_name
            .as_deref()
            .and_then(Product::from_product_name)
    }
}

/// Whether `alg` is RSASSA-PSS with SHA-384, MGF1-SHA-384 and salt length
/// 48 (AMD's certificates and CRLs).
pub(crate) fn pss_sha384_params(alg: &spki::AlgorithmIdentifierOwned) -> bool {
    if alg.oid != OID_RSASSA_PSS {
        return false;
    }
    let Some(params) = alg.parameters.as_ref() else {
        return false;
    };
    match params.decode_as::<rsa::pkcs1::RsaPssParamsOwned>() {
        Ok(p) => {
            let mgf_hash = p.mask_gen.parameters.as_ref().map(|h| h.oid);
            p.hash.oid == OID_SHA384
                && p.mask_gen.oid == OID_MGF1
                && mgf_hash == Some(OID_SHA384)
                && p.salt_len == 48
        }
        Err(_) => false,
    }
}

/// Decode a DER INTEGER in `0..=255`.
fn der_small_uint(v: &[u8]) -> Option<u8> {
    let i = der::asn1::UintRef::from_der(v).ok()?;
    match i.as_bytes() {
        [] => Some(0),
        [b] => Some(*b),
        _ => None,
    }
}

fn name_cn(name: &x509_cert::name::Name) -> Option<String> {
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    for atv in name.iter() {
        if atv.oid == CN {
            if let Ok(s) = atv.value.decode_as::<der::asn1::Utf8StringRef<'_>>() {
                return Some(s.as_str().to_owned());
            }
            if let Ok(s) = atv.value.decode_as::<der::asn1::PrintableStringRef<'_>>() {
                return Some(s.as_str().to_owned());
            }
        }
    }
    None
}

/// Decode certificates from DER (one) or PEM (one or more), detected.
///
/// # Errors
/// [`Error::Malformed`] for invalid DER, PEM or base64, or no certificate.
pub fn decode_certs(bytes: &[u8]) -> Result<Vec<Cert>> {
    let trimmed = trim_ascii_start(bytes);
    if trimmed.starts_with(b"-----BEGIN") {
        let text = core::str::from_utf8(bytes).map_err(|_| Error::encoding("PEM", "not UTF-8"))?;
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let body_start = start + "-----BEGIN CERTIFICATE-----".len();
            let after = rest.get(body_start..).unwrap_or("");
            let end = after
                .find("-----END CERTIFICATE-----")
                .ok_or_else(|| Error::encoding("PEM", "missing END line"))?;
            let b64: String = after
                .get(..end)
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = base64_decode(&b64)?;
            out.push(Cert::from_der(&der)?);
            rest = after
                .get(end + "-----END CERTIFICATE-----".len()..)
                .unwrap_or("");
        }
        if out.is_empty() {
            return Err(Error::encoding("PEM", "no CERTIFICATE block"));
        }
        Ok(out)
    } else {
        Ok(vec![Cert::from_der(bytes)?])
    }
}

fn trim_ascii_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or(&[])
}

fn base64_decode(s: &str) -> Result<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = s.trim_end_matches('=').as_bytes();
    if !s.len().is_multiple_of(4) || s.len() - bytes.len() > 2 {
        return Err(Error::encoding("PEM", "invalid base64 length"));
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = val(c).ok_or_else(|| Error::encoding("PEM", "invalid base64 character"))?;
            acc |= v << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return Err(Error::encoding("PEM", "invalid base64 length")),
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("AQID/w==").unwrap(), vec![1, 2, 3, 255]);
        assert_eq!(base64_decode("AQID").unwrap(), vec![1, 2, 3]);
        assert!(base64_decode("AQI").is_err());
        assert!(base64_decode("AQ!D").is_err());
        assert!(base64_decode("A===").is_err());
    }

    #[test]
    fn small_uint() {
        assert_eq!(der_small_uint(&[2, 1, 0x73]), Some(115));
        assert_eq!(der_small_uint(&[2, 2, 0, 0xD9]), Some(217));
        assert_eq!(der_small_uint(&[2, 1, 0]), Some(0));
        assert_eq!(der_small_uint(&[2, 2, 1, 0]), None);
        assert_eq!(der_small_uint(&[4, 1, 0]), None);
    }
}
