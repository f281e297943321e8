//! Attested TLS (interoperable RA-TLS, CCC Attestation SIG) for the TEE SDK.
//! See `docs/ratls.md`.
//!
//! - The format layer (always built, no I/O, no X.509): the X.509 evidence
//!   extension's tagged CBOR ([`encode_extension`], [`decode_extension`]),
//!   the claims buffer ([`ClaimsBuffer`]: `pubkey-hash`, `nonce`) and the
//!   binding of the certificate key into the report data
//!   ([`report_data_for`], [`check_binding`]).
//! - Feature `cert`: attested certificates. `issue` makes one from any
//!   backend's evidence (P-256 or P-384 key, self-signed or signed by a
//!   `CaIssuer`); `verify_certificate` / `RaTlsCertificate::verify`
//!   verify the evidence with `tee::Verifiers`, check the binding and appraise
//!   the claims with a `tee_core::Policy`, refusing with a typed `RaTlsError`.
//! - Feature `rustls` (default): `tls::RaTlsResolver`, a refreshing
//!   certificate resolver, and `tls::RaTlsVerifier`, a server-certificate
//!   verifier that exposes the verified peer after the handshake.
//!
//! ```text
//! extnValue (OCTET STRING) = tag( [ bstr evidence, bstr claims-buffer ] )
//! claims-buffer = { "pubkey-hash": [hash-alg-id, bstr hash-of-SPKI-DER], ? "nonce": bstr, * other }
//! report_data   = SHA-256(claims-buffer) ‖ 32 zero bytes
//! ```
#![forbid(unsafe_code)]

mod cbor;
#[cfg(feature = "cert")]
mod cert;
#[cfg(feature = "cert")]
mod error;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "cert")]
mod verify;

use sha2::{Digest, Sha256, Sha384, Sha512};
use tee_core::ReportData;

pub use cbor::CborError;
#[cfg(feature = "cert")]
pub use cert::{
    AttestedCert, AttestedExtension, CaIssuer, CertKey, CertOptions, EvidenceEncoding, KeyAlg,
    RawExtension, SDK_ENVELOPE_TAG, attest_key, build_certificate, decode_evidence,
    encode_evidence, issue,
};
#[cfg(feature = "cert")]
pub use error::RaTlsError;
#[cfg(feature = "cert")]
pub use verify::{
    AttestedPeer, MAX_CERTIFICATE, RaTlsCertificate, binding_policy, pem_certificate,
    verify_certificate,
};

/// The evidence extension (`tcg-dice-conceptual-message-wrapper`, "TCG DICE tagged evidence").
pub const OID_EVIDENCE: &str = "2.23.133.5.4.9";
/// The endorsements extension (`tcg-dice-endorsement-manifest`).
pub const OID_ENDORSEMENTS: &str = "2.23.133.5.4.2";
/// The Intel SGX SDK legacy quote extension (raw quote).
pub const OID_SGX_LEGACY_QUOTE: &str = "1.2.840.113741.1.13.1";

/// Largest extension value accepted (1 MiB).
pub const MAX_EXTENSION: usize = 1 << 20;

/// The CBOR tag of the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceTag {
    /// 60000: an Intel TEE quote (SGX and TDX ECDSA quotes) (IANA).
    IntelQuote,
    /// 60001: an Intel TEE report (TDREPORT, SGX report type 2) (IANA).
    IntelReport,
    /// `0x1A7504`: an AMD SEV-SNP report (rats-rs / rats-tls private value, not IANA).
    SevSnpReport,
    /// Another tag (carried, not interpreted).
    Other(u64),
}

impl EvidenceTag {
    /// The tag number.
    pub fn value(self) -> u64 {
        match self {
            Self::IntelQuote => 60000,
            Self::IntelReport => 60001,
            Self::SevSnpReport => 0x1A_7504,
            Self::Other(v) => v,
        }
    }

    /// The tag for a number.
    pub fn from_value(v: u64) -> Self {
        match v {
            60000 => Self::IntelQuote,
            60001 => Self::IntelReport,
            0x1A_7504 => Self::SevSnpReport,
            other => Self::Other(other),
        }
    }
}

/// A hash algorithm of `pubkey-hash` (IANA Named Information IDs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    /// sha-256 (1).
    Sha256,
    /// sha-384 (7).
    Sha384,
    /// sha-512 (8).
    Sha512,
}

impl HashAlg {
    /// The Named Information ID.
    pub fn id(self) -> u64 {
        match self {
            Self::Sha256 => 1,
            Self::Sha384 => 7,
            Self::Sha512 => 8,
        }
    }

    /// The algorithm of an ID.
    pub fn from_id(id: u64) -> Option<Self> {
        match id {
            1 => Some(Self::Sha256),
            7 => Some(Self::Sha384),
            8 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// The claims buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimsBuffer {
    /// The hash algorithm of `pubkey_hash`.
    pub hash_alg: HashAlg,
    /// The hash of the certificate's DER SubjectPublicKeyInfo.
    pub pubkey_hash: Vec<u8>,
    /// The verifier's freshness nonce, if any.
    pub nonce: Option<Vec<u8>>,
}

impl ClaimsBuffer {
    /// The claims for a certificate key (`spki_der`: the DER SubjectPublicKeyInfo).
    pub fn for_key(spki_der: &[u8], hash_alg: HashAlg, nonce: Option<&[u8]>) -> Self {
        Self {
            hash_alg,
            pubkey_hash: hash_alg.digest(spki_der),
            nonce: nonce.map(<[u8]>::to_vec),
        }
    }

    /// The CBOR encoding (keys `"pubkey-hash"`, then `"nonce"` if present).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        cbor::head(&mut out, 5, if self.nonce.is_some() { 2 } else { 1 });
        cbor::text(&mut out, "pubkey-hash");
        let mut entry = Vec::new();
        cbor::head(&mut entry, 4, 2);
        cbor::head(&mut entry, 0, self.hash_alg.id());
        cbor::bytes(&mut entry, &self.pubkey_hash);
        cbor::bytes(&mut out, &entry);
        if let Some(n) = &self.nonce {
            cbor::text(&mut out, "nonce");
            cbor::bytes(&mut out, n);
        }
        out
    }

    /// Parse a claims buffer; keys other than `pubkey-hash` and `nonce` are ignored.
    ///
    /// # Errors
    /// [`CborError`] for malformed CBOR, a missing or malformed
    /// `pubkey-hash`, an unknown hash algorithm or a hash of the wrong length.
    pub fn parse(buf: &[u8]) -> Result<Self, CborError> {
        let mut r = cbor::Reader::new(buf);
        let n = r.expect(5)?;
        let mut pubkey = None;
        let mut nonce = None;
        for _ in 0..n {
            let key = r.text()?;
            match key {
                "pubkey-hash" => {
                    let v = r.bytes()?;
                    let mut e = cbor::Reader::new(v);
                    if e.expect(4)? != 2 {
                        return Err(CborError::Invalid("pubkey-hash is not [alg, hash]"));
                    }
                    let alg = e.expect(0)?;
                    let hash = e.bytes()?.to_vec();
                    e.end()?;
                    let alg = HashAlg::from_id(alg)
                        .ok_or(CborError::Invalid("unknown pubkey-hash algorithm"))?;
                    if hash.len() != alg.digest(b"").len() {
                        return Err(CborError::Invalid("pubkey-hash of the wrong length"));
                    }
                    pubkey = Some((alg, hash));
                }
                "nonce" => nonce = Some(r.bytes()?.to_vec()),
                _ => r.skip()?,
            }
        }
        r.end()?;
        let (hash_alg, pubkey_hash) = pubkey.ok_or(CborError::Invalid("no pubkey-hash"))?;
        Ok(Self {
            hash_alg,
            pubkey_hash,
            nonce,
        })
    }
}

/// The report data that binds `claims_buffer` (its encoded bytes).
pub fn report_data_for(claims_buffer: &[u8]) -> ReportData {
    let mut b = [0u8; 64];
    b[..32].copy_from_slice(&Sha256::digest(claims_buffer));
    ReportData::new(b)
}

/// The evidence extension value: `tag([bstr evidence, bstr claims-buffer])`.
pub fn encode_extension(tag: EvidenceTag, evidence: &[u8], claims_buffer: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(evidence.len() + claims_buffer.len() + 16);
    cbor::head(&mut out, 6, tag.value());
    cbor::head(&mut out, 4, 2);
    cbor::bytes(&mut out, evidence);
    cbor::bytes(&mut out, claims_buffer);
    out
}

/// A decoded evidence extension, borrowing from the extension value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvidenceExtension<'a> {
    /// The tag.
    pub tag: EvidenceTag,
    /// The evidence bytes (a quote or report).
    pub evidence: &'a [u8],
    /// The claims-buffer bytes (hashed into the report data as they are).
    pub claims_buffer: &'a [u8],
}

/// Decode an evidence extension value.
///
/// # Errors
/// [`CborError`] for anything but exactly `tag([bstr, bstr])`, or a value
/// larger than [`MAX_EXTENSION`].
pub fn decode_extension(ext: &[u8]) -> Result<EvidenceExtension<'_>, CborError> {
    if ext.len() > MAX_EXTENSION {
        return Err(CborError::TooLarge);
    }
    let mut r = cbor::Reader::new(ext);
    let tag = EvidenceTag::from_value(r.expect(6)?);
    if r.expect(4)? != 2 {
        return Err(CborError::Invalid("tagged value is not [evidence, claims]"));
    }
    let evidence = r.bytes()?;
    let claims_buffer = r.bytes()?;
    r.end()?;
    Ok(EvidenceExtension {
        tag,
        evidence,
        claims_buffer,
    })
}

/// Why the key binding does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingError {
    /// The claims buffer does not parse.
    Claims(CborError),
    /// The report data is not SHA-256(claims buffer) ‖ zeros.
    ReportData,
    /// `pubkey-hash` is not the hash of this certificate's key.
    KeyNotBound,
    /// A nonce was expected and the claims have none or another.
    Nonce,
}

impl core::fmt::Display for BindingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Claims(e) => write!(f, "claims buffer: {e}"),
            Self::ReportData => f.write_str("the report data does not bind the claims buffer"),
            Self::KeyNotBound => {
                f.write_str("the certificate key is not the one bound in the evidence")
            }
            Self::Nonce => f.write_str("the evidence does not carry the expected nonce"),
        }
    }
}

impl std::error::Error for BindingError {}

/// Check that verified `report_data` binds `claims_buffer`, whose
/// `pubkey-hash` must be the hash of `spki_der` and whose nonce must equal
/// `expected_nonce` when one is given.
///
/// # Errors
/// [`BindingError`], by the first check that fails.
pub fn check_binding(
    report_data: &ReportData,
    claims_buffer: &[u8],
    spki_der: &[u8],
    expected_nonce: Option<&[u8]>,
) -> Result<ClaimsBuffer, BindingError> {
    if *report_data != report_data_for(claims_buffer) {
        return Err(BindingError::ReportData);
    }
    let c = ClaimsBuffer::parse(claims_buffer).map_err(BindingError::Claims)?;
    if c.hash_alg.digest(spki_der) != c.pubkey_hash {
        return Err(BindingError::KeyNotBound);
    }
    if let Some(n) = expected_nonce
        && c.nonce.as_deref() != Some(n)
    {
        return Err(BindingError::Nonce);
    }
    Ok(c)
}
