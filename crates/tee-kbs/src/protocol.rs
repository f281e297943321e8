//! KBS attestation protocol 0.4.0 (Trustee RCAR): the wire messages and the
//! runtime-data binding rule.
//!
//! Messages as kbs-types 0.18.0 defines them (written here from the protocol
//! description, not pulled in as a dependency). See `docs/kbs.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};
use tee::ReportData;

use crate::jcs;

/// The protocol version this client speaks; the KBS requires exactly this.
pub const PROTOCOL_VERSION: &str = "0.4.0";

/// The session cookie name.
pub const SESSION_COOKIE: &str = "kbs-session-id";

/// The TEE names of the protocol's `tee` member that this SDK produces or reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tee {
    /// AMD SEV-SNP (`snp`).
    Snp,
    /// Intel TDX (`tdx`).
    Tdx,
    /// Azure SEV-SNP confidential VM, attested through the paravisor's vTPM (`az-snp-vtpm`).
    AzSnpVtpm,
    /// Azure TDX confidential VM, attested through the paravisor's vTPM (`az-tdx-vtpm`).
    AzTdxVtpm,
    /// Trustee's sample TEE (`sample`); the SDK's mock uses it. NO SECURITY.
    Sample,
}

impl Tee {
    /// The protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snp => "snp",
            Self::Tdx => "tdx",
            Self::AzSnpVtpm => "az-snp-vtpm",
            Self::AzTdxVtpm => "az-tdx-vtpm",
            Self::Sample => "sample",
        }
    }

    /// The TEE of a protocol name this SDK handles.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "snp" => Some(Self::Snp),
            "tdx" => Some(Self::Tdx),
            "az-snp-vtpm" => Some(Self::AzSnpVtpm),
            "az-tdx-vtpm" => Some(Self::AzTdxVtpm),
            "sample" => Some(Self::Sample),
            _ => None,
        }
    }

    /// The Trustee TEE for an SDK platform's bare hardware evidence (never
    /// an Azure vTPM TEE: see [`Tee::for_attester`]).
    pub fn for_platform(p: tee::Platform) -> Option<Self> {
        match p {
            tee::Platform::SevSnp => Some(Self::Snp),
            tee::Platform::Tdx => Some(Self::Tdx),
            tee::Platform::Mock => Some(Self::Sample),
            _ => None,
        }
    }

    /// The Trustee TEE of an attester: `az-snp-vtpm` / `az-tdx-vtpm` for an
    /// attester whose [`tee::Attester::vtpm`] is the Azure paravisor's,
    /// else [`Tee::for_platform`] of its platform.
    pub fn for_attester(a: &dyn tee::Attester) -> Option<Self> {
        match (a.vtpm().map(|v| v.provider()), a.platform()) {
            (Some(AZURE_VTPM_PROVIDER), tee::Platform::SevSnp) => Some(Self::AzSnpVtpm),
            (Some(AZURE_VTPM_PROVIDER), tee::Platform::Tdx) => Some(Self::AzTdxVtpm),
            (Some(_), _) => None,
            (None, p) => Self::for_platform(p),
        }
    }

    /// The SDK platform of the TEE's evidence.
    pub fn platform(self) -> tee::Platform {
        match self {
            Self::Snp | Self::AzSnpVtpm => tee::Platform::SevSnp,
            Self::Tdx | Self::AzTdxVtpm => tee::Platform::Tdx,
            Self::Sample => tee::Platform::Mock,
        }
    }

    /// Whether the TEE is attested through a vTPM (the binding is then the
    /// quote's qualifying data, see [`binding_for`]).
    pub fn is_vtpm(self) -> bool {
        matches!(self, Self::AzSnpVtpm | Self::AzTdxVtpm)
    }
}

/// The vTPM provider name of Azure attesters and claims
/// (`tee::VtpmAttester::provider`, `VtpmClaims::provider`).
pub const AZURE_VTPM_PROVIDER: &str = "azure-hcl-paravisor";

impl core::fmt::Display for Tee {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Request` (client → `POST /kbs/v0/auth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Request {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: String,
    /// TEE name (see [`Tee`]).
    pub tee: String,
    /// Free JSON; this client sends the hash algorithms it supports.
    #[serde(rename = "extra-params", default)]
    pub extra_params: Value,
}

impl Request {
    /// A request for `tee` at [`PROTOCOL_VERSION`], naming the supported hashes.
    pub fn new(tee: Tee) -> Self {
        Self {
            version: PROTOCOL_VERSION.to_owned(),
            tee: tee.as_str().to_owned(),
            extra_params: serde_json::json!({
                "supported-hash-algorithms": ["sha256", "sha384", "sha512"]
            }),
        }
    }
}

/// `Challenge` (KBS → client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Challenge {
    /// The nonce: base64 standard (with padding) of 32 random bytes, used as a string.
    pub nonce: String,
    /// Free JSON (Trustee's CoCo AS answers `""`).
    #[serde(rename = "extra-params", default)]
    pub extra_params: Value,
}

/// Init-data (`init-data` member of [`Attestation`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InitData {
    /// The format (`toml`).
    pub format: String,
    /// The init-data text.
    pub body: String,
}

/// A JWK public key as the protocol's `tee-pubkey` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeePubKey {
    /// `EC` or `RSA`.
    pub kty: String,
    /// `ECDH-ES+A256KW` (EC) or `RSA-OAEP-256` (RSA).
    pub alg: String,
    /// EC curve (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate (base64url, no padding, fixed length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus (base64url, no padding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// `runtime-data` of [`Attestation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuntimeData {
    /// The challenge nonce, as received.
    pub nonce: String,
    /// The ephemeral key the resource is encrypted to.
    #[serde(rename = "tee-pubkey")]
    pub tee_pubkey: TeePubKey,
}

/// `tee-evidence` of [`Attestation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeeEvidence {
    /// The primary attester's evidence JSON (see [`crate::evidence`]).
    pub primary_evidence: Value,
    /// A JSON *string* encoding `{"<tee>": evidence, …}` for devices, or `""`.
    #[serde(default)]
    pub additional_evidence: String,
}

/// `Attestation` (client → `POST /kbs/v0/attest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attestation {
    /// Optional init-data.
    #[serde(rename = "init-data", default, skip_serializing_if = "Option::is_none")]
    pub init_data: Option<InitData>,
    /// Nonce and ephemeral key.
    #[serde(rename = "runtime-data")]
    pub runtime_data: RuntimeData,
    /// The evidence.
    #[serde(rename = "tee-evidence")]
    pub tee_evidence: TeeEvidence,
}

/// The `/kbs/v0/attest` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttestationToken {
    /// The attestation token (a JWT; EAR with Trustee's CoCo AS).
    pub token: String,
}

/// A flattened JWE, the resource answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwe {
    /// base64url of the protected header JSON; its ASCII is the AEAD AAD.
    pub protected: String,
    /// base64url of the wrapped content-encryption key.
    pub encrypted_key: String,
    /// base64url of the 12-byte IV.
    pub iv: String,
    /// base64url of the ciphertext.
    pub ciphertext: String,
    /// base64url of the 16-byte tag.
    pub tag: String,
    /// Additional AAD text (RFC 7516 §7.2.1); Trustee omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

/// The hash of the runtime-data binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384 (the default for every TEE but `se`).
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The protocol name (`sha384`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

/// The hash the KBS selected: `extra-params."selected-hash-algorithm"` when
/// the challenge's extra params are an object naming one, else SHA-384.
///
/// # Errors
/// The named algorithm, when the challenge selects one this client does not
/// support (`sm3`, or anything else): the binding would not match.
pub fn selected_hash(extra_params: &Value) -> Result<HashAlg, String> {
    match extra_params.get("selected-hash-algorithm") {
        None => Ok(HashAlg::Sha384),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "sha256" => Ok(HashAlg::Sha256),
            "sha384" => Ok(HashAlg::Sha384),
            "sha512" => Ok(HashAlg::Sha512),
            _ => Err(s.clone()),
        },
        Some(other) => Err(other.to_string()),
    }
}

/// The JSON the primary attester binds:
/// `{"tee-pubkey": <JWK>, "nonce": <nonce>, "additional-evidence": <string>}`.
pub fn runtime_data_value(rd: &RuntimeData, additional_evidence: &str) -> Value {
    serde_json::json!({
        "tee-pubkey": rd.tee_pubkey,
        "nonce": rd.nonce,
        "additional-evidence": additional_evidence,
    })
}

/// `H(JCS(runtime data))`, the digest bound into the primary evidence.
pub fn runtime_data_digest(rd: &RuntimeData, additional_evidence: &str, alg: HashAlg) -> Vec<u8> {
    let v = runtime_data_value(rd, additional_evidence);
    // The value holds strings and objects only, which JCS always accepts.
    let text = jcs::canonicalize(&v).unwrap_or_default();
    alg.digest(text.as_bytes())
}

/// The report data for `digest` on `tee`: the digest zero-padded to 64 bytes
/// (`snp`, `tdx` and `sample`); a digest longer than 64 bytes is truncated.
/// For the Azure vTPM TEEs this is the HCL report's `user-data` the
/// binding produces (the digest written to NV `0x01400002`, zero-padded);
/// the evidence binds the digest through [`binding_for`].
pub fn report_data_for(_tee: Tee, digest: &[u8]) -> ReportData {
    let mut b = [0u8; 64];
    let n = digest.len().min(64);
    b[..n].copy_from_slice(&digest[..n]);
    ReportData::new(b)
}

/// Where the primary evidence of a TEE carries the runtime-data digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// The hardware REPORT_DATA ([`report_data_for`]): `snp`, `tdx`, `sample`.
    ReportData(ReportData),
    /// The vTPM quote's qualifying data (`extraData`), exactly these bytes
    /// (the digest, unpadded), which the attester also writes as the
    /// paravisor's user data (`user-data` = the digest zero-padded to 64):
    /// `az-snp-vtpm`, `az-tdx-vtpm`. Trustee's verifier requires
    /// `extraData == digest` and `user-data[..len] == digest`.
    QualifyingData(Vec<u8>),
}

/// The binding of `digest` (`H(JCS(runtime data))`) on `tee`.
pub fn binding_for(tee: Tee, digest: &[u8]) -> Binding {
    if tee.is_vtpm() {
        Binding::QualifyingData(digest.to_vec())
    } else {
        Binding::ReportData(report_data_for(tee, digest))
    }
}

/// Whether verified `claims` bind `digest` as `tee` places it
/// ([`binding_for`]): the report data equal to the padded digest, or (vTPM
/// TEEs) Azure vTPM claims whose qualifying data is the digest and whose
/// `user-data` is the digest followed by zeros.
pub fn claims_bind(tee: Tee, claims: &tee::Claims, digest: &[u8]) -> bool {
    match binding_for(tee, digest) {
        Binding::ReportData(rd) => claims.report_data == rd,
        Binding::QualifyingData(qd) => claims.vtpm.as_ref().is_some_and(|v| {
            v.provider == AZURE_VTPM_PROVIDER
                && v.qualifying_data[..] == qd[..]
                && v.user_data_binds_qualifying_data
                && v.user_data.get(..qd.len()) == Some(&qd[..])
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rd() -> RuntimeData {
        RuntimeData {
            nonce: "bm9uY2U=".into(),
            tee_pubkey: TeePubKey {
                kty: "EC".into(),
                alg: "ECDH-ES+A256KW".into(),
                crv: Some("P-256".into()),
                x: Some("AAAA".into()),
                y: Some("BBBB".into()),
                n: None,
                e: None,
            },
        }
    }

    #[test]
    fn the_worked_example_of_the_binding_rule() {
        let v = runtime_data_value(&rd(), "");
        assert_eq!(
            jcs::canonicalize(&v).unwrap(),
            r#"{"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}}"#
        );
        assert_eq!(
            hex::encode(runtime_data_digest(&rd(), "", HashAlg::Sha384)),
            "d20490d30e5f16cba693abc1ca3c31ed977d2722d0adf01a980972d16913dc38f103c1f12abf477df0523af2b12e4b43"
        );
        // The additional evidence and the nonce change the digest.
        assert_ne!(
            runtime_data_digest(&rd(), "{}", HashAlg::Sha384),
            runtime_data_digest(&rd(), "", HashAlg::Sha384)
        );
        let rdata = report_data_for(Tee::Snp, &runtime_data_digest(&rd(), "", HashAlg::Sha384));
        assert_eq!(rdata.as_bytes()[48..], [0u8; 16]);
        assert_eq!(hex::encode(&rdata.as_bytes()[..4]), "d20490d3");
        // Azure: the 48 bytes unpadded as the vTPM qualifying data.
        let d = runtime_data_digest(&rd(), "", HashAlg::Sha384);
        for t in [Tee::AzSnpVtpm, Tee::AzTdxVtpm] {
            assert_eq!(binding_for(t, &d), Binding::QualifyingData(d.clone()));
            assert!(t.is_vtpm());
        }
        for t in [Tee::Snp, Tee::Tdx, Tee::Sample] {
            assert_eq!(binding_for(t, &d), Binding::ReportData(rdata));
            assert!(!t.is_vtpm());
        }
    }

    #[test]
    fn hash_selection() {
        assert_eq!(
            selected_hash(&Value::String(String::new())),
            Ok(HashAlg::Sha384)
        );
        assert_eq!(selected_hash(&Value::Null), Ok(HashAlg::Sha384));
        assert_eq!(
            selected_hash(&serde_json::json!({"selected-hash-algorithm": "sha512"})),
            Ok(HashAlg::Sha512)
        );
        assert_eq!(
            selected_hash(&serde_json::json!({"selected-hash-algorithm": "sm3"})),
            Err("sm3".to_owned())
        );
        assert!(selected_hash(&serde_json::json!({"selected-hash-algorithm": 5})).is_err());
    }

    #[test]
    fn messages_use_the_protocol_names() {
        let r = serde_json::to_value(Request::new(Tee::Tdx)).unwrap();
        assert_eq!(r["version"], "0.4.0");
        assert_eq!(r["tee"], "tdx");
        assert!(r["extra-params"]["supported-hash-algorithms"].is_array());
        let c: Challenge = serde_json::from_str(r#"{"nonce":"abc=","extra-params":""}"#).unwrap();
        assert_eq!(c.extra_params, Value::String(String::new()));
        let a = Attestation {
            init_data: None,
            runtime_data: rd(),
            tee_evidence: TeeEvidence {
                primary_evidence: serde_json::json!({"quote": "x"}),
                additional_evidence: String::new(),
            },
        };
        let j = serde_json::to_value(&a).unwrap();
        assert!(j.get("init-data").is_none());
        assert_eq!(j["runtime-data"]["tee-pubkey"]["crv"], "P-256");
        assert!(j["runtime-data"]["tee-pubkey"].get("n").is_none());
        assert_eq!(j["tee-evidence"]["additional_evidence"], "");
        for t in [
            Tee::Snp,
            Tee::Tdx,
            Tee::AzSnpVtpm,
            Tee::AzTdxVtpm,
            Tee::Sample,
        ] {
            assert_eq!(Tee::from_name(t.as_str()), Some(t));
        }
        assert_eq!(Tee::from_name("az-snp"), None);
        assert_eq!(Tee::from_name("tpm"), None);
    }
}
