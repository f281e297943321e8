//! Why an attested certificate could not be made or was refused.

use core::fmt;

use tee_core::{Platform, UnixTime};

use crate::verify::AttestedPeer;
use crate::{BindingError, CborError, EvidenceTag};

/// Why an attested certificate could not be made (server side) or was
/// refused (client side). Each variant is one decision; a handshake refused
/// by `tls::RaTlsVerifier` (feature `rustls`) carries one of these (see
/// `tls::rejection`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RaTlsError {
    /// The certificate is not DER X.509 v3, or is larger than
    /// [`crate::MAX_CERTIFICATE`].
    Certificate(String),
    /// The certificate has no evidence extension (`2.23.133.5.4.9`).
    MissingExtension,
    /// The certificate has more than one evidence extension.
    DuplicateExtension,
    /// The evidence extension does not decode (`tag([bstr, bstr])`).
    Extension(CborError),
    /// Evidence under a tag this SDK does not verify (e.g. an SGX report).
    UnsupportedEvidence(EvidenceTag),
    /// [`crate::EvidenceEncoding::Interoperable`] was asked for evidence
    /// that has no interoperable tag (the mock, PEF, other formats).
    NoInteroperableTag(Platform),
    /// The evidence does not parse or is not authentic (the SDK verifier's
    /// error: [`tee_core::Error::Malformed`], [`tee_core::Error::Authenticity`],
    /// [`tee_core::Error::Unsupported`] for a platform without a verifier).
    Evidence(tee_core::Error),
    /// The evidence does not bind this certificate's key (or the nonce).
    Binding(BindingError),
    /// The evidence is authentic and bound, but the appraisal policy
    /// refused it; the peer's claims and every check are kept.
    Appraisal(Box<AttestedPeer>),
    /// The certificate is not valid yet at the verification time.
    NotYetValid {
        /// The certificate's notBefore.
        not_before: UnixTime,
        /// The verification time.
        at: UnixTime,
    },
    /// The certificate has expired at the verification time.
    Expired {
        /// The certificate's notAfter.
        not_after: UnixTime,
        /// The verification time.
        at: UnixTime,
    },
    /// The attester failed to produce evidence (server side).
    Attest(tee_core::Error),
    /// The key could not be generated, encoded or read.
    Key(String),
    /// The certificate could not be encoded (a name, a time, a length).
    Encoding(String),
}

impl RaTlsError {
    /// The appraisal when this is [`RaTlsError::Appraisal`].
    pub fn appraisal(&self) -> Option<&tee_core::Appraisal> {
        match self {
            Self::Appraisal(p) => Some(&p.appraisal),
            _ => None,
        }
    }
}

impl fmt::Display for RaTlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate(d) => write!(f, "RA-TLS certificate: {d}"),
            Self::MissingExtension => write!(
                f,
                "the certificate carries no RA-TLS evidence extension ({})",
                crate::OID_EVIDENCE
            ),
            Self::DuplicateExtension => {
                f.write_str("the certificate carries more than one RA-TLS evidence extension")
            }
            Self::Extension(e) => write!(f, "RA-TLS evidence extension: {e}"),
            Self::UnsupportedEvidence(t) => write!(
                f,
                "RA-TLS evidence under CBOR tag {:#x} is not supported",
                t.value()
            ),
            Self::NoInteroperableTag(p) => write!(
                f,
                "{p} evidence has no interoperable RA-TLS tag (use the SDK envelope encoding)"
            ),
            Self::Evidence(e) => write!(f, "RA-TLS evidence: {e}"),
            Self::Binding(e) => write!(f, "RA-TLS key binding: {e}"),
            Self::Appraisal(p) => {
                let failed: Vec<String> = p
                    .appraisal
                    .failed()
                    .map(|c| format!("{} ({})", c.name, c.detail))
                    .collect();
                write!(f, "RA-TLS appraisal failed: {}", failed.join("; "))
            }
            Self::NotYetValid { not_before, at } => write!(
                f,
                "the RA-TLS certificate is not valid before {not_before} (now {at})"
            ),
            Self::Expired { not_after, at } => write!(
                f,
                "the RA-TLS certificate expired at {not_after} (now {at})"
            ),
            Self::Attest(e) => write!(f, "attestation for the RA-TLS certificate: {e}"),
            Self::Key(d) => write!(f, "RA-TLS key: {d}"),
            Self::Encoding(d) => write!(f, "RA-TLS certificate encoding: {d}"),
        }
    }
}

impl std::error::Error for RaTlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Extension(e) => Some(e),
            Self::Evidence(e) | Self::Attest(e) => Some(e),
            Self::Binding(e) => Some(e),
            _ => None,
        }
    }
}
