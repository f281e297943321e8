//! Attested certificates (server side): a fresh P-256 or P-384 key, the
//! claims buffer holding the hash of its SubjectPublicKeyInfo (and the
//! optional nonce), evidence from any [`Attester`] over
//! `SHA-256(claims-buffer) ‖ zeros`, and an X.509 v3 certificate carrying
//! that evidence in the RA-TLS extension, self-signed or signed by a
//! caller's CA key.

use core::fmt;
use core::str::FromStr as _;
use std::time::Duration;

use der::asn1::{BitString, Ia5String, OctetString};
use der::{Decode as _, Encode as _};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use spki::ObjectIdentifier;
use tee_core::{Attester, Evidence, Platform, UnixTime};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{AlgorithmIdentifier, SubjectPublicKeyInfo};
use zeroize::Zeroizing;

use crate::error::RaTlsError;
use crate::{ClaimsBuffer, EvidenceTag, HashAlg, OID_EVIDENCE, encode_extension, report_data_for};

/// `ecdsa-with-SHA256` (RFC 5758).
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384` (RFC 5758).
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// `id-kp-serverAuth`.
const KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

/// The CBOR tag under which the SDK carries its own evidence envelope (the
/// JSON of [`Evidence`], with its endorsements and event log), for
/// platforms without an interoperable tag (the mock, PEF) and for evidence
/// whose endorsements must travel along. A private value of this SDK
/// (ASCII `TEE1`), not registered with IANA.
pub const SDK_ENVELOPE_TAG: u64 = 0x5445_4531;

/// The curve of a certificate key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyAlg {
    /// NIST P-256, signatures ECDSA with SHA-256.
    #[default]
    P256,
    /// NIST P-384, signatures ECDSA with SHA-384.
    P384,
}

impl KeyAlg {
    /// The name (`p256`, `p384`).
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "p256",
            Self::P384 => "p384",
        }
    }
}

/// Parsing of names: `p256`/`P-256`, `p384`/`P-384`.
impl core::str::FromStr for KeyAlg {
    type Err = RaTlsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "p256" => Ok(Self::P256),
            "p384" => Ok(Self::P384),
            _ => Err(RaTlsError::Key(format!(
                "unknown key algorithm {s:?} (p256 or p384)"
            ))),
        }
    }
}

#[derive(Clone)]
enum Secret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// An ECDSA certificate key (P-256 or P-384). Its `Debug` shows the
/// algorithm only, never the secret.
#[derive(Clone)]
pub struct CertKey(Secret);

impl fmt::Debug for CertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertKey")
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

impl CertKey {
    /// A fresh random key from the system random source.
    ///
    /// # Errors
    /// [`RaTlsError::Key`] if the random source fails.
    pub fn generate(alg: KeyAlg) -> Result<Self, RaTlsError> {
        use p256::elliptic_curve::Generate as _;
        let random = |_| RaTlsError::Key("the system random source failed".into());
        Ok(Self(match alg {
            KeyAlg::P256 => Secret::P256(p256::ecdsa::SigningKey::try_generate().map_err(random)?),
            KeyAlg::P384 => Secret::P384(p384::ecdsa::SigningKey::try_generate().map_err(random)?),
        }))
    }

    /// The curve.
    pub fn alg(&self) -> KeyAlg {
        match &self.0 {
            Secret::P256(_) => KeyAlg::P256,
            Secret::P384(_) => KeyAlg::P384,
        }
    }

    /// The DER SubjectPublicKeyInfo (what `pubkey-hash` hashes).
    ///
    /// # Errors
    /// [`RaTlsError::Key`] if the key cannot be encoded (not expected).
    pub fn spki_der(&self) -> Result<Vec<u8>, RaTlsError> {
        let doc = match &self.0 {
            Secret::P256(k) => k.verifying_key().to_public_key_der(),
            Secret::P384(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(|e| RaTlsError::Key(format!("public key encoding: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// The private key as PKCS#8 DER (what rustls loads).
    ///
    /// # Errors
    /// [`RaTlsError::Key`] if the key cannot be encoded (not expected).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, RaTlsError> {
        let doc = match &self.0 {
            Secret::P256(k) => k.to_pkcs8_der(),
            Secret::P384(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| RaTlsError::Key(format!("PKCS#8 encoding: {e}")))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    ///
    /// # Errors
    /// [`RaTlsError::Key`] if the key cannot be encoded (not expected).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, RaTlsError> {
        let der = self.to_pkcs8_der()?;
        der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(|e| RaTlsError::Key(format!("PEM encoding: {e}")))
    }

    /// A key from PKCS#8 DER (P-256 or P-384).
    ///
    /// # Errors
    /// [`RaTlsError::Key`] for anything else.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, RaTlsError> {
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self(Secret::P256(k)));
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self(Secret::P384(k)));
        }
        Err(RaTlsError::Key(
            "not a PKCS#8 EC P-256 or P-384 private key".into(),
        ))
    }

    /// A key from PKCS#8 PEM (`BEGIN PRIVATE KEY`, P-256 or P-384).
    ///
    /// # Errors
    /// [`RaTlsError::Key`] for anything else (at most 16 KiB is read).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, RaTlsError> {
        if pem.len() > 16 << 10 {
            return Err(RaTlsError::Key("PEM key over 16 KiB".into()));
        }
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| RaTlsError::Key(format!("PEM: {e}")))?;
        let der = Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(RaTlsError::Key(format!(
                "PEM label {label:?} (expected PRIVATE KEY)"
            )));
        }
        Self::from_pkcs8_der(&der)
    }

    /// The signature algorithm of certificates this key signs.
    fn signature_algorithm(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier {
            oid: match self.alg() {
                KeyAlg::P256 => ECDSA_SHA256,
                KeyAlg::P384 => ECDSA_SHA384,
            },
            parameters: None,
        }
    }

    /// A DER ECDSA signature over `msg` (SHA-256 for P-256, SHA-384 for P-384).
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer as _;
        match &self.0 {
            Secret::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            Secret::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
        }
    }
}

/// A CA that signs attested certificates instead of self-signing: its key
/// and its certificate's subject (the issuer name).
#[derive(Debug, Clone)]
pub struct CaIssuer {
    key: CertKey,
    name: Name,
}

impl CaIssuer {
    /// The CA of `ca_cert_der`, whose public key must be `key`'s.
    ///
    /// # Errors
    /// [`RaTlsError::Certificate`] when the certificate does not parse;
    /// [`RaTlsError::Key`] when it is not the certificate of `key`.
    pub fn new(key: CertKey, ca_cert_der: &[u8]) -> Result<Self, RaTlsError> {
        let cert = x509_cert::Certificate::from_der(ca_cert_der)
            .map_err(|e| RaTlsError::Certificate(format!("CA certificate: {e}")))?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| RaTlsError::Certificate(format!("CA certificate key: {e}")))?;
        if spki != key.spki_der()? {
            return Err(RaTlsError::Key(
                "the CA key is not the key of the CA certificate".into(),
            ));
        }
        Ok(Self {
            key,
            name: cert.tbs_certificate().subject().clone(),
        })
    }
}

/// How evidence is put into the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EvidenceEncoding {
    /// The interoperable encoding when it loses nothing (a TDX quote or an
    /// SEV-SNP report without endorsements or event log), else the SDK
    /// envelope.
    #[default]
    Auto,
    /// Always the interoperable encoding: the raw TDX quote under tag 60000,
    /// the raw SEV-SNP report under `0x1A7504`; endorsements and event log
    /// are dropped (the verifier brings its own collateral). Other platforms
    /// fail with [`RaTlsError::NoInteroperableTag`].
    Interoperable,
    /// Always the SDK envelope ([`SDK_ENVELOPE_TAG`]), read only by this SDK.
    Envelope,
}

/// The tag and bytes for `evidence` in `encoding`.
///
/// # Errors
/// [`RaTlsError::NoInteroperableTag`] for [`EvidenceEncoding::Interoperable`]
/// of a format without a tag; [`RaTlsError::Encoding`] if the envelope
/// cannot be serialised.
pub fn encode_evidence(
    evidence: &Evidence,
    encoding: EvidenceEncoding,
) -> Result<(EvidenceTag, Vec<u8>), RaTlsError> {
    use tee_core::evidence::format;
    let raw_tag = match (evidence.platform, evidence.format.as_str()) {
        (Platform::Tdx, format::TDX_QUOTE) => Some(EvidenceTag::IntelQuote),
        (Platform::SevSnp, format::SEV_SNP_REPORT) => Some(EvidenceTag::SevSnpReport),
        _ => None,
    };
    let lossless = evidence.endorsements.is_empty() && evidence.event_log.is_none();
    match (encoding, raw_tag) {
        (EvidenceEncoding::Interoperable, Some(t)) => Ok((t, evidence.report.clone())),
        (EvidenceEncoding::Interoperable, None) => {
            Err(RaTlsError::NoInteroperableTag(evidence.platform))
        }
        (EvidenceEncoding::Auto, Some(t)) if lossless => Ok((t, evidence.report.clone())),
        _ => {
            let json = evidence
                .to_json()
                .map_err(|e| RaTlsError::Encoding(e.to_string()))?;
            Ok((EvidenceTag::from_value(SDK_ENVELOPE_TAG), json.into_bytes()))
        }
    }
}

/// The evidence of an extension: the interoperable tags as bare evidence of
/// their platform, the SDK envelope as its JSON.
///
/// # Errors
/// [`RaTlsError::UnsupportedEvidence`] for other tags;
/// [`RaTlsError::Evidence`] for an envelope that does not parse.
pub fn decode_evidence(tag: EvidenceTag, bytes: &[u8]) -> Result<Evidence, RaTlsError> {
    use tee_core::evidence::format;
    match tag {
        EvidenceTag::IntelQuote => Ok(Evidence::new(
            Platform::Tdx,
            format::TDX_QUOTE,
            bytes.to_vec(),
        )),
        EvidenceTag::SevSnpReport => Ok(Evidence::new(
            Platform::SevSnp,
            format::SEV_SNP_REPORT,
            bytes.to_vec(),
        )),
        t if t.value() == SDK_ENVELOPE_TAG => {
            Evidence::from_json(bytes).map_err(RaTlsError::Evidence)
        }
        other => Err(RaTlsError::UnsupportedEvidence(other)),
    }
}

/// Options of an attested certificate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CertOptions {
    /// The curve of the certificate key (default P-256).
    pub key_alg: KeyAlg,
    /// The hash of `pubkey-hash` (default SHA-256).
    pub hash_alg: HashAlg,
    /// How long the certificate is valid from issue (default 1 hour).
    pub lifetime: Duration,
    /// notBefore is this much before issue, for clock skew (default 60 s).
    pub backdate: Duration,
    /// The subject common name (default `RA-TLS`).
    pub common_name: String,
    /// DNS names for the subjectAltName extension (default none; needed
    /// only when a client also checks the name against a CA).
    pub dns_names: Vec<String>,
    /// The verifier's freshness nonce, put into the claims buffer.
    pub nonce: Option<Vec<u8>>,
    /// How the evidence is encoded (default [`EvidenceEncoding::Auto`]).
    pub encoding: EvidenceEncoding,
    /// The CA that signs the certificate; self-signed when `None`.
    pub issuer: Option<CaIssuer>,
}

impl Default for CertOptions {
    fn default() -> Self {
        Self {
            key_alg: KeyAlg::P256,
            hash_alg: HashAlg::Sha256,
            lifetime: Duration::from_secs(3600),
            backdate: Duration::from_secs(60),
            common_name: "RA-TLS".into(),
            dns_names: Vec::new(),
            nonce: None,
            encoding: EvidenceEncoding::Auto,
            issuer: None,
        }
    }
}

impl CertOptions {
    /// The defaults (P-256, SHA-256, 1 hour, self-signed, no nonce).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: the curve.
    #[must_use]
    pub fn key_alg(mut self, alg: KeyAlg) -> Self {
        self.key_alg = alg;
        self
    }

    /// Builder: the `pubkey-hash` algorithm.
    #[must_use]
    pub fn hash_alg(mut self, alg: HashAlg) -> Self {
        self.hash_alg = alg;
        self
    }

    /// Builder: the validity period.
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Builder: how far notBefore lies before issue.
    #[must_use]
    pub fn backdate(mut self, backdate: Duration) -> Self {
        self.backdate = backdate;
        self
    }

    /// Builder: the subject common name.
    #[must_use]
    pub fn common_name(mut self, cn: impl Into<String>) -> Self {
        self.common_name = cn.into();
        self
    }

    /// Builder: add a DNS name to subjectAltName.
    #[must_use]
    pub fn dns_name(mut self, name: impl Into<String>) -> Self {
        self.dns_names.push(name.into());
        self
    }

    /// Builder: the verifier's nonce.
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<Vec<u8>>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Builder: the evidence encoding.
    #[must_use]
    pub fn encoding(mut self, encoding: EvidenceEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Builder: sign with this CA instead of self-signing.
    #[must_use]
    pub fn issuer(mut self, issuer: CaIssuer) -> Self {
        self.issuer = Some(issuer);
        self
    }
}

/// The evidence extension made for one key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AttestedExtension {
    /// The extension value (`tag([bstr evidence, bstr claims-buffer])`).
    pub value: Vec<u8>,
    /// The evidence as the attester produced it.
    pub evidence: Evidence,
    /// The tag it was encoded under.
    pub tag: EvidenceTag,
    /// The encoded claims buffer (whose SHA-256 is the report data).
    pub claims_buffer: Vec<u8>,
}

/// Attest the key `spki_der` (a DER SubjectPublicKeyInfo): the claims
/// buffer with its hash under `opts.hash_alg` and `opts.nonce`, evidence
/// over [`report_data_for`] it, encoded by `opts.encoding`.
///
/// # Errors
/// [`RaTlsError::Attest`] when the attester fails; as [`encode_evidence`].
pub fn attest_key(
    attester: &dyn Attester,
    spki_der: &[u8],
    opts: &CertOptions,
) -> Result<AttestedExtension, RaTlsError> {
    let claims = ClaimsBuffer::for_key(spki_der, opts.hash_alg, opts.nonce.as_deref()).encode();
    let evidence = attester
        .attest(&report_data_for(&claims))
        .map_err(RaTlsError::Attest)?;
    let (tag, bytes) = encode_evidence(&evidence, opts.encoding)?;
    Ok(AttestedExtension {
        value: encode_extension(tag, &bytes, &claims),
        evidence,
        tag,
        claims_buffer: claims,
    })
}

/// One extension to put into a certificate as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawExtension {
    /// The OID (dotted).
    pub oid: String,
    /// The critical flag.
    pub critical: bool,
    /// The extnValue content.
    pub value: Vec<u8>,
}

impl RawExtension {
    /// A non-critical extension.
    pub fn new(oid: impl Into<String>, value: Vec<u8>) -> Self {
        Self {
            oid: oid.into(),
            critical: false,
            value,
        }
    }

    /// The RA-TLS evidence extension (non-critical, as OpenSSL and mbedTLS
    /// peers require).
    pub fn evidence(value: Vec<u8>) -> Self {
        Self::new(OID_EVIDENCE, value)
    }
}

/// An attested certificate and its key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AttestedCert {
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// Its private key.
    pub key: CertKey,
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
    /// The evidence extension.
    pub extension: AttestedExtension,
}

impl AttestedCert {
    /// The certificate as PEM.
    ///
    /// # Errors
    /// [`RaTlsError::Encoding`] (not expected).
    pub fn cert_pem(&self) -> Result<String, RaTlsError> {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.cert_der)
            .map_err(|e| RaTlsError::Encoding(e.to_string()))
    }
}

/// Issue an attested certificate at `now`: a fresh key of
/// `opts.key_alg`, evidence from `attester` binding it ([`attest_key`]),
/// the certificate built by [`build_certificate`].
///
/// # Errors
/// As [`CertKey::generate`], [`attest_key`] and [`build_certificate`].
pub fn issue(
    attester: &dyn Attester,
    opts: &CertOptions,
    now: UnixTime,
) -> Result<AttestedCert, RaTlsError> {
    let key = CertKey::generate(opts.key_alg)?;
    let extension = attest_key(attester, &key.spki_der()?, opts)?;
    let (cert_der, not_before, not_after) = build_certificate(
        &key,
        &[RawExtension::evidence(extension.value.clone())],
        opts,
        now,
    )?;
    Ok(AttestedCert {
        cert_der,
        key,
        not_before,
        not_after,
        extension,
    })
}

/// The TBSCertificate (RFC 5280 §4.1), encoded field by field.
#[derive(der::Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifier,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfo,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Extensions,
}

/// The Certificate (RFC 5280 §4.1).
#[derive(der::Sequence)]
struct Cert {
    tbs: Tbs,
    signature_algorithm: AlgorithmIdentifier,
    signature: BitString,
}

fn enc(what: &str) -> impl Fn(der::Error) -> RaTlsError + '_ {
    move |e| RaTlsError::Encoding(format!("{what}: {e}"))
}

fn time(t: u64) -> Result<Time, RaTlsError> {
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(t)).map_err(enc("time"))?;
    Ok(Time::from(dt))
}

/// Build and sign an X.509 v3 certificate for `key` at `now`, valid from
/// `now - opts.backdate` for `opts.lifetime`, carrying `extensions` after
/// the standard ones (basicConstraints CA:false, keyUsage
/// digitalSignature, extKeyUsage serverAuth, subjectAltName when
/// `opts.dns_names` is set). Self-signed unless `opts.issuer` is set.
/// Returns the DER with notBefore and notAfter.
///
/// [`issue`] is the usual entry; this is for callers that assemble the
/// extension themselves (and for tests of what verifiers refuse).
///
/// # Errors
/// [`RaTlsError::Encoding`] for a bad name, OID or time.
pub fn build_certificate(
    key: &CertKey,
    extensions: &[RawExtension],
    opts: &CertOptions,
    now: UnixTime,
) -> Result<(Vec<u8>, UnixTime, UnixTime), RaTlsError> {
    let not_before = now.as_secs().saturating_sub(opts.backdate.as_secs());
    let not_after = now.as_secs().saturating_add(opts.lifetime.as_secs());
    if opts.common_name.is_empty()
        || opts
            .common_name
            .chars()
            .any(|c| matches!(c, ',' | '+' | '=' | '\\' | '"' | '<' | '>' | ';') || c.is_control())
    {
        return Err(RaTlsError::Encoding(format!(
            "common name {:?}: empty or with a character that needs escaping",
            opts.common_name
        )));
    }
    let subject = Name::from_str(&format!("CN={}", opts.common_name)).map_err(enc("subject"))?;
    let (signer, issuer) = match &opts.issuer {
        Some(ca) => (&ca.key, ca.name.clone()),
        None => (key, subject.clone()),
    };
    let spki = SubjectPublicKeyInfo::from_der(&key.spki_der()?).map_err(enc("public key"))?;

    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial)
        .map_err(|_| RaTlsError::Key("the system random source failed".into()))?;
    serial[0] = (serial[0] & 0x7F) | 0x40; // positive, 16 bytes
    let serial_number = SerialNumber::new(&serial).map_err(enc("serial number"))?;

    let ext =
        |oid: ObjectIdentifier, critical: bool, v: Vec<u8>| -> Result<Extension, RaTlsError> {
            Ok(Extension {
                extn_id: oid,
                critical,
                extn_value: OctetString::new(v).map_err(enc("extension"))?,
            })
        };
    let mut exts: Extensions = vec![
        ext(
            ObjectIdentifier::new_unwrap("2.5.29.19"),
            true,
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_der()
            .map_err(enc("basicConstraints"))?,
        )?,
        ext(
            ObjectIdentifier::new_unwrap("2.5.29.15"),
            true,
            KeyUsage(KeyUsages::DigitalSignature.into())
                .to_der()
                .map_err(enc("keyUsage"))?,
        )?,
        ext(
            ObjectIdentifier::new_unwrap("2.5.29.37"),
            false,
            ExtendedKeyUsage(vec![KP_SERVER_AUTH])
                .to_der()
                .map_err(enc("extKeyUsage"))?,
        )?,
    ];
    if !opts.dns_names.is_empty() {
        let names = opts
            .dns_names
            .iter()
            .map(|n| {
                Ia5String::new(n)
                    .map(GeneralName::DnsName)
                    .map_err(enc("DNS name"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        exts.push(ext(
            ObjectIdentifier::new_unwrap("2.5.29.17"),
            false,
            SubjectAltName(names)
                .to_der()
                .map_err(enc("subjectAltName"))?,
        )?);
    }
    for e in extensions {
        let oid = ObjectIdentifier::new(&e.oid)
            .map_err(|err| RaTlsError::Encoding(format!("OID {}: {err}", e.oid)))?;
        exts.push(ext(oid, e.critical, e.value.clone())?);
    }

    let tbs = Tbs {
        version: Version::V3,
        serial_number,
        signature: signer.signature_algorithm(),
        issuer,
        validity: Validity::new(time(not_before)?, time(not_after)?),
        subject,
        subject_public_key_info: spki,
        extensions: exts,
    };
    let tbs_der = tbs.to_der().map_err(enc("TBSCertificate"))?;
    let signature = BitString::from_bytes(&signer.sign(&tbs_der)).map_err(enc("signature"))?;
    let cert = Cert {
        tbs,
        signature_algorithm: signer.signature_algorithm(),
        signature,
    }
    .to_der()
    .map_err(enc("certificate"))?;
    // What was written must read back as X.509.
    x509_cert::Certificate::from_der(&cert).map_err(enc("certificate read-back"))?;
    Ok((
        cert,
        UnixTime::from_secs(not_before),
        UnixTime::from_secs(not_after),
    ))
}
