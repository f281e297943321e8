//! Attested certificates (client side): take the evidence extension,
//! verify the evidence with the SDK's verifiers, check the key binding, and
//! appraise the claims with a policy.

use der::{Decode as _, Encode as _};
use sha2::{Digest as _, Sha256};
use tee::Verifiers;
use tee_core::{Appraisal, Claims, Evidence, Policy, UnixTime, Verified, appraise};

use crate::cert::decode_evidence;
use crate::error::RaTlsError;
use crate::{ClaimsBuffer, EvidenceTag, MAX_EXTENSION, OID_EVIDENCE, check_binding};

/// Largest certificate accepted (the largest extension plus 64 KiB).
pub const MAX_CERTIFICATE: usize = MAX_EXTENSION + (64 << 10);

/// What an RA-TLS certificate carries, decoded but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaTlsCertificate {
    /// The certificate's DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
    /// Whether the evidence extension is marked critical.
    pub critical: bool,
    /// The evidence tag.
    pub tag: EvidenceTag,
    /// The evidence bytes as carried.
    pub evidence: Vec<u8>,
    /// The claims-buffer bytes as carried.
    pub claims_buffer: Vec<u8>,
}

fn time_of(t: &x509_cert::time::Time) -> UnixTime {
    UnixTime::from_secs(t.to_unix_duration().as_secs())
}

impl RaTlsCertificate {
    /// Decode a DER certificate and its evidence extension.
    ///
    /// # Errors
    /// [`RaTlsError::Certificate`] for a certificate that is not X.509 v3 DER
    /// (or is over [`MAX_CERTIFICATE`]); [`RaTlsError::MissingExtension`],
    /// [`RaTlsError::DuplicateExtension`]; [`RaTlsError::Extension`] for an
    /// extension that does not decode.
    pub fn from_der(cert_der: &[u8]) -> Result<Self, RaTlsError> {
        if cert_der.len() > MAX_CERTIFICATE {
            return Err(RaTlsError::Certificate(format!(
                "{} bytes, over the {MAX_CERTIFICATE}-byte limit",
                cert_der.len()
            )));
        }
        let cert = x509_cert::Certificate::from_der(cert_der)
            .map_err(|e| RaTlsError::Certificate(format!("not DER X.509: {e}")))?;
        let tbs = cert.tbs_certificate();
        if tbs.version() != x509_cert::Version::V3 {
            return Err(RaTlsError::Certificate(
                "not an X.509 v3 certificate".into(),
            ));
        }
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| RaTlsError::Certificate(format!("public key: {e}")))?;
        let oid = spki::ObjectIdentifier::new_unwrap(OID_EVIDENCE);
        let mut found = None;
        for e in tbs.extensions().into_iter().flatten() {
            if e.extn_id == oid {
                if found.is_some() {
                    return Err(RaTlsError::DuplicateExtension);
                }
                found = Some(e);
            }
        }
        let ext = found.ok_or(RaTlsError::MissingExtension)?;
        let d =
            crate::decode_extension(ext.extn_value.as_bytes()).map_err(RaTlsError::Extension)?;
        let validity = tbs.validity();
        Ok(Self {
            spki_der,
            not_before: time_of(&validity.not_before),
            not_after: time_of(&validity.not_after),
            critical: ext.critical,
            tag: d.tag,
            evidence: d.evidence.to_vec(),
            claims_buffer: d.claims_buffer.to_vec(),
        })
    }

    /// Decode the first certificate of a PEM text.
    ///
    /// # Errors
    /// [`RaTlsError::Certificate`] when there is no PEM certificate; as
    /// [`RaTlsCertificate::from_der`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, RaTlsError> {
        Self::from_der(&pem_certificate(pem)?)
    }

    /// The evidence as an SDK envelope (see [`crate::decode_evidence`]).
    ///
    /// # Errors
    /// As [`crate::decode_evidence`].
    pub fn decoded_evidence(&self) -> Result<Evidence, RaTlsError> {
        decode_evidence(self.tag, &self.evidence)
    }

    /// Check the certificate is valid at `at`.
    ///
    /// # Errors
    /// [`RaTlsError::NotYetValid`], [`RaTlsError::Expired`].
    pub fn check_validity(&self, at: UnixTime) -> Result<(), RaTlsError> {
        if at < self.not_before {
            return Err(RaTlsError::NotYetValid {
                not_before: self.not_before,
                at,
            });
        }
        if at > self.not_after {
            return Err(RaTlsError::Expired {
                not_after: self.not_after,
                at,
            });
        }
        Ok(())
    }

    /// Verify at `at`, in this order: the validity period; the evidence's
    /// authenticity with `verifiers`; the key binding (the report data is
    /// `SHA-256(claims-buffer) ‖ zeros`, `pubkey-hash` is the hash of this
    /// certificate's key, the nonce is `expected_nonce` when given); then
    /// the appraisal with `policy`, whose expected report data is set to the
    /// binding (a `report_data` in `policy` is replaced: in RA-TLS the report
    /// data is always the binding).
    ///
    /// The certificate's own signature is not checked: a self-signed one
    /// proves nothing that the TLS handshake signature does not, and the key
    /// and the extension are bound by the evidence. (A CA's signature is
    /// checked by a chain verifier, e.g. `tls::RaTlsVerifier::with_ca`.)
    ///
    /// # Errors
    /// [`RaTlsError::NotYetValid`] / [`RaTlsError::Expired`];
    /// [`RaTlsError::Evidence`] (not parsable, not authentic, no verifier for
    /// the platform); [`RaTlsError::UnsupportedEvidence`];
    /// [`RaTlsError::Binding`]; [`RaTlsError::Appraisal`] with the claims and
    /// the checks.
    pub fn verify(
        &self,
        verifiers: &Verifiers,
        policy: &Policy,
        expected_nonce: Option<&[u8]>,
        at: UnixTime,
    ) -> Result<AttestedPeer, RaTlsError> {
        self.check_validity(at)?;
        let evidence = self.decoded_evidence()?;
        let claims = verifiers
            .verify(&evidence, at)
            .map_err(RaTlsError::Evidence)?;
        let bound = check_binding(
            &claims.report_data,
            &self.claims_buffer,
            &self.spki_der,
            expected_nonce,
        )
        .map_err(RaTlsError::Binding)?;
        let policy = binding_policy(policy, &self.claims_buffer);
        let appraisal = appraise(&claims, &policy);
        let peer = AttestedPeer {
            tag: self.tag,
            evidence,
            claims,
            appraisal,
            claims_buffer: bound,
            spki_sha256: Sha256::digest(&self.spki_der).into(),
            not_before: self.not_before,
            not_after: self.not_after,
            verified_at: at,
        };
        if peer.appraisal.passed() {
            Ok(peer)
        } else {
            Err(RaTlsError::Appraisal(Box::new(peer)))
        }
    }
}

/// `policy` with its expected report data set to the binding of
/// `claims_buffer` (what [`RaTlsCertificate::verify`] appraises with).
pub fn binding_policy(policy: &Policy, claims_buffer: &[u8]) -> Policy {
    let mut p = policy.clone();
    p.report_data = Some(crate::report_data_for(claims_buffer));
    p
}

/// The DER of the first `CERTIFICATE` block of a PEM text.
///
/// # Errors
/// [`RaTlsError::Certificate`] when there is none or it does not decode.
pub fn pem_certificate(pem: &[u8]) -> Result<Vec<u8>, RaTlsError> {
    if pem.len() > 2 * MAX_CERTIFICATE {
        return Err(RaTlsError::Certificate(format!(
            "PEM of {} bytes, over the {}-byte limit",
            pem.len(),
            2 * MAX_CERTIFICATE
        )));
    }
    let text = core::str::from_utf8(pem)
        .map_err(|_| RaTlsError::Certificate("PEM is not UTF-8".into()))?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = text
        .find(BEGIN)
        .ok_or_else(|| RaTlsError::Certificate("no PEM CERTIFICATE block".into()))?;
    let end = text[start..]
        .find(END)
        .map(|e| start + e + END.len())
        .ok_or_else(|| RaTlsError::Certificate("unterminated PEM CERTIFICATE block".into()))?;
    let (label, der) = der::pem::decode_vec(&text.as_bytes()[start..end])
        .map_err(|e| RaTlsError::Certificate(format!("PEM: {e}")))?;
    if label != "CERTIFICATE" {
        return Err(RaTlsError::Certificate(format!("PEM label {label:?}")));
    }
    Ok(der)
}

/// Verify a DER RA-TLS certificate (see [`RaTlsCertificate::verify`]).
///
/// # Errors
/// As [`RaTlsCertificate::from_der`] and [`RaTlsCertificate::verify`].
pub fn verify_certificate(
    cert_der: &[u8],
    verifiers: &Verifiers,
    policy: &Policy,
    expected_nonce: Option<&[u8]>,
    at: UnixTime,
) -> Result<AttestedPeer, RaTlsError> {
    RaTlsCertificate::from_der(cert_der)?.verify(verifiers, policy, expected_nonce, at)
}

/// A verified, bound and appraised RA-TLS peer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AttestedPeer {
    /// The evidence tag of the extension.
    pub tag: EvidenceTag,
    /// The evidence (decoded from the extension).
    pub evidence: Evidence,
    /// The verified claims.
    pub claims: Verified<Claims>,
    /// The appraisal (every check; passed unless inside
    /// [`RaTlsError::Appraisal`]).
    pub appraisal: Appraisal,
    /// The claims buffer (hash of the certificate key, nonce).
    pub claims_buffer: ClaimsBuffer,
    /// SHA-256 of the certificate's DER SubjectPublicKeyInfo.
    pub spki_sha256: [u8; 32],
    /// The certificate's notBefore.
    pub not_before: UnixTime,
    /// The certificate's notAfter.
    pub not_after: UnixTime,
    /// The verification time.
    pub verified_at: UnixTime,
}
