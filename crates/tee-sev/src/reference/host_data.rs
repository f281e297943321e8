//! HOST_DATA from a Confidential Containers init-data document, as kata
//! computes it: the declared hash of the raw TOML text, truncated (or
//! zero-padded) to the 32 bytes of SNP HOST_DATA.

use sha2::{Digest, Sha256, Sha384, Sha512};
use tee_core::reference::{ReferenceValue, Transcript};
use tee_core::{Error, MalformedKind, Policy, Result};

use super::base64;

/// Largest init-data document accepted (1 MiB).
pub const MAX_INIT_DATA: usize = 1 << 20;

/// The hash an init-data document declares (`algorithm = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InitDataAlgorithm {
    /// `sha256`.
    Sha256,
    /// `sha384`.
    Sha384,
    /// `sha512`.
    Sha512,
}

impl InitDataAlgorithm {
    /// The name in the document.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// The HOST_DATA a launch with this init-data carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostData {
    /// The declared algorithm.
    pub algorithm: InitDataAlgorithm,
    /// The full digest of the document.
    pub full_digest: Vec<u8>,
    /// The 32 bytes of HOST_DATA (truncated or zero-padded digest).
    pub host_data: [u8; 32],
    /// The value with its transcript (`sev-snp.host_data`).
    pub reference: ReferenceValue,
}

impl HostData {
    /// QEMU's `host-data=` (base64 of the 32 bytes).
    pub fn qemu_property(&self) -> String {
        format!("host-data={}", base64(&self.host_data))
    }

    /// A policy expecting this host data (`host_data`).
    pub fn policy(&self) -> Policy {
        Policy::new().expect_host_data(self.host_data)
    }
}

#[derive(serde::Deserialize)]
struct Doc {
    version: String,
    algorithm: String,
    #[allow(dead_code)]
    #[serde(default)]
    data: std::collections::BTreeMap<String, String>,
}

/// The HOST_DATA for an init-data TOML document.
///
/// # Errors
/// [`Error::Malformed`]: larger than [`MAX_INIT_DATA`], not UTF-8 TOML,
/// no `version` / `algorithm` string, `[data]` values that are not strings,
/// an algorithm other than sha256, sha384 or sha512.
pub fn init_data_digest(name: &str, doc: &[u8]) -> Result<HostData> {
    const WHAT: &str = "init-data";
    if doc.len() > MAX_INIT_DATA {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::BadLength {
                expected: MAX_INIT_DATA,
                actual: doc.len(),
            },
        ));
    }
    let text = core::str::from_utf8(doc).map_err(|e| Error::encoding(WHAT, e))?;
    let parsed: Doc = toml::from_str(text).map_err(|e| Error::encoding(WHAT, e.message()))?;
    let algorithm = match parsed.algorithm.as_str() {
        "sha256" => InitDataAlgorithm::Sha256,
        "sha384" => InitDataAlgorithm::Sha384,
        "sha512" => InitDataAlgorithm::Sha512,
        other => {
            return Err(Error::bad_field(
                WHAT,
                "algorithm",
                format!("`{other}` is not sha256, sha384 or sha512"),
            ));
        }
    };
    let full = algorithm.digest(doc);
    let mut host_data = [0u8; 32];
    let n = full.len().min(32);
    host_data[..n].copy_from_slice(&full[..n]);
    let mut t = Transcript::default();
    t.input(
        "init_data",
        format!(
            "{name} ({} bytes, version {:?}, sha256 {})",
            doc.len(),
            parsed.version,
            hex::encode(Sha256::digest(doc))
        ),
    );
    t.input("algorithm", algorithm.name());
    t.input(
        "lengths",
        format!(
            "digest {} bytes -> HOST_DATA 32 bytes (truncated, kata init-data rule)",
            full.len()
        ),
    );
    t.step(
        format!("{}(raw TOML text)", algorithm.name().to_uppercase()),
        None,
        format!("full digest {}", hex::encode(&full)),
        Some(host_data.into()),
    );
    Ok(HostData {
        algorithm,
        full_digest: full,
        host_data,
        reference: ReferenceValue::new("sev-snp.host_data", host_data, t),
    })
}
