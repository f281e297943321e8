//! The evidence envelope: a versioned, self-describing container for the
//! raw report or quote exactly as the TEE produced it, plus what a verifier
//! needs alongside it. See `docs/evidence-format.md`.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{Error, MalformedKind, Result};
use crate::measurement::EventLog;
use crate::platform::Platform;

/// The envelope version this SDK writes and the only one it reads.
pub const EVIDENCE_VERSION: u32 = 1;

/// Largest evidence JSON accepted by [`Evidence::from_json`] (64 MiB).
pub const MAX_EVIDENCE_JSON: usize = 64 << 20;

/// Stable format identifiers for [`Evidence::format`].
pub mod format {
    /// An AMD SEV-SNP attestation report (1184 bytes, ABI spec 56860).
    pub const SEV_SNP_REPORT: &str = "sev-snp-report";
    /// An Intel TDX DCAP quote (v4 or v5).
    pub const TDX_QUOTE: &str = "tdx-dcap-quote";
    /// The PEF owner-rooted MAC report (see `tee-pef`).
    pub const PEF_OWNER_MAC: &str = "pef-owner-mac-v1";
    /// The mock report (see `tee-mock`). NO SECURITY.
    pub const MOCK_REPORT: &str = "mock-report-v1";
}

/// Stable endorsement kinds for [`Endorsement::kind`].
pub mod endorsement {
    /// A DER X.509 certificate of the key that signed the report (VCEK, VLEK, PCK leaf).
    pub const SIGNING_CERT_DER: &str = "signing-cert-der";
    /// A PEM bundle of certificates (leaf first or any order; the backend sorts it out).
    pub const CERT_CHAIN_PEM: &str = "cert-chain-pem";
    /// An AMD GHCB certificate table (extended report / configfs `auxblob`).
    pub const GHCB_CERT_TABLE: &str = "ghcb-cert-table";
    /// An AMD KDS certificate revocation list (DER X.509 CRL issued by the
    /// product's ARK), e.g. from `https://kdsintf.amd.com/vcek/v1/{product}/crl`.
    pub const AMD_CRL_DER: &str = "amd-kds-crl-der";
    /// Intel DCAP collateral as `QuoteCollateralV3` JSON.
    pub const TDX_COLLATERAL_JSON: &str = "tdx-collateral-v3-json";
    /// A TCG2 crypto-agile event log (binary), e.g. the CCEL log area.
    pub const TCG2_EVENT_LOG: &str = "tcg2-event-log";
    /// The mock attestation-key endorsement (see `tee-mock`).
    pub const MOCK_AK: &str = "mock-ak";
}

/// One endorsement carried with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Endorsement {
    /// What it is; see [`endorsement`] for the known kinds.
    pub kind: String,
    /// The bytes, base64 in JSON.
    #[serde(with = "crate::bytes::base64")]
    pub data: Vec<u8>,
}

/// A versioned, self-describing evidence envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Evidence {
    /// Envelope version ([`EVIDENCE_VERSION`]).
    pub version: u32,
    /// The platform that produced it.
    pub platform: Platform,
    /// Stable format identifier of [`Evidence::report`]; see [`format`](mod@format).
    pub format: String,
    /// The raw report or quote, exactly as produced (base64 in JSON).
    /// Verification runs over these bytes, never over a re-encoding.
    #[serde(with = "crate::bytes::base64")]
    pub report: Vec<u8>,
    /// Endorsements (certificates, collateral) carried along.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endorsements: Vec<Endorsement>,
    /// The runtime-measurement event log, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_log: Option<EventLog>,
}

impl Evidence {
    /// A new envelope at the current version.
    pub fn new(platform: Platform, format: impl Into<String>, report: Vec<u8>) -> Self {
        Self {
            version: EVIDENCE_VERSION,
            platform,
            format: format.into(),
            report,
            endorsements: Vec::new(),
            event_log: None,
        }
    }

    /// Add an endorsement (builder style).
    #[must_use]
    pub fn with_endorsement(mut self, kind: impl Into<String>, data: Vec<u8>) -> Self {
        self.endorsements.push(Endorsement {
            kind: kind.into(),
            data,
        });
        self
    }

    /// The first endorsement of `kind`.
    pub fn endorsement(&self, kind: &str) -> Option<&[u8]> {
        self.endorsements
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.data.as_slice())
    }

    /// Stable JSON encoding (pretty-printed).
    ///
    /// # Errors
    /// Never in practice; serialization of these types cannot fail.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::encoding("evidence JSON", e))
    }

    /// Parse the JSON encoding, rejecting unknown versions and fields.
    ///
    /// # Errors
    /// [`Error::Malformed`]: invalid JSON, unknown fields, an unsupported
    /// envelope version, or input over [`MAX_EVIDENCE_JSON`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_EVIDENCE_JSON {
            return Err(Error::malformed(
                "evidence JSON",
                MalformedKind::BadLength {
                    expected: MAX_EVIDENCE_JSON,
                    actual: bytes.len(),
                },
            ));
        }
        // Check the version before interpreting anything else.
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly =
            serde_json::from_slice(bytes).map_err(|e| Error::encoding("evidence JSON", e))?;
        if v.version != EVIDENCE_VERSION {
            return Err(Error::malformed(
                "evidence JSON",
                MalformedKind::UnsupportedVersion(v.version),
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| Error::encoding("evidence JSON", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::{Event, EventLog};

    fn sample() -> Evidence {
        let mut ev = Evidence::new(Platform::Mock, format::MOCK_REPORT, vec![1, 2, 3, 255])
            .with_endorsement(endorsement::MOCK_AK, vec![9; 10]);
        ev.event_log = Some(EventLog {
            events: vec![Event::new(3, "app", b"hello".to_vec())],
        });
        ev
    }

    #[test]
    fn json_round_trip() {
        let ev = sample();
        let j = ev.to_json().unwrap();
        assert_eq!(Evidence::from_json(j.as_bytes()).unwrap(), ev);
        assert!(j.contains("\"platform\": \"mock\""));
        assert!(j.contains("\"report\": \"AQID/w==\""));
    }

    #[test]
    fn rejects_unknown_version_and_fields() {
        let j = sample().to_json().unwrap();
        let v2 = j.replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            Evidence::from_json(v2.as_bytes()),
            Err(Error::Malformed(crate::Malformed {
                kind: MalformedKind::UnsupportedVersion(2),
                ..
            }))
        ));
        let extra = j.replacen('{', "{\"surprise\": 1,", 1);
        assert!(Evidence::from_json(extra.as_bytes()).is_err());
        assert!(Evidence::from_json(b"").is_err());
        assert!(Evidence::from_json(&j.as_bytes()[..j.len() / 2]).is_err());
    }
}
