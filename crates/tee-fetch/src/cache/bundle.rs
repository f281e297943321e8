//! Bundles: every artifact in one portable, versioned file.

use core::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::store::{ArtifactJson, write_atomic};
use super::{Artifact, Kinds};

/// `format` of a bundle.
pub const BUNDLE_FORMAT: &str = "tee-collateral-bundle";
/// The bundle version written and read.
pub const BUNDLE_VERSION: u32 = 1;
/// Largest bundle read (64 MiB).
pub const MAX_BUNDLE_LEN: u64 = 64 << 20;
/// Most artifacts in a bundle.
pub const MAX_BUNDLE_ARTIFACTS: usize = 10_000;

/// Why a bundle cannot be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// Reading or writing the file failed.
    Io {
        /// The path.
        path: String,
        /// What failed.
        detail: String,
    },
    /// Not a bundle (not JSON, another `format`, a missing field, too large).
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// A bundle of a version this build does not read.
    UnsupportedVersion {
        /// The version found.
        version: u32,
    },
    /// An artifact failed its checks (digest, validity re-read from its
    /// bytes, id).
    BadArtifact {
        /// The artifact id.
        id: String,
        /// What failed.
        detail: String,
    },
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, detail } => write!(f, "{path}: {detail}"),
            Self::Malformed { detail } => write!(f, "not a collateral bundle: {detail}"),
            Self::UnsupportedVersion { version } => write!(
                f,
                "collateral bundle version {version} is not supported (this build reads version {BUNDLE_VERSION})"
            ),
            Self::BadArtifact { id, detail } => write!(f, "bundle artifact {id}: {detail}"),
        }
    }
}

impl std::error::Error for BundleError {}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleJson {
    format: String,
    version: u32,
    created_at: u64,
    artifacts: Vec<ArtifactJson>,
}

/// A set of artifacts with their fetch times and sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    /// When the bundle was made (Unix seconds).
    pub created_at: u64,
    /// The artifacts, by id.
    pub artifacts: Vec<Artifact>,
}

impl Bundle {
    /// A bundle of `artifacts` made at `created_at` (sorted by id).
    pub fn new(created_at: u64, mut artifacts: Vec<Artifact>) -> Self {
        artifacts.sort_by(|a, b| a.id.cmp(&b.id));
        artifacts.dedup_by(|a, b| a.id == b.id);
        Self {
            created_at,
            artifacts,
        }
    }

    /// The JSON encoding (see `docs/collateral.md`).
    pub fn to_json(&self) -> Vec<u8> {
        let j = BundleJson {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            created_at: self.created_at,
            artifacts: self
                .artifacts
                .iter()
                .map(|a| ArtifactJson::from_artifact(a, false))
                .collect(),
        };
        serde_json::to_vec_pretty(&j).unwrap_or_default()
    }

    /// Parse a bundle; every artifact's digest and validity (re-read from
    /// its bytes by `kinds`) are checked.
    ///
    /// # Errors
    /// [`BundleError::Malformed`], [`BundleError::UnsupportedVersion`],
    /// [`BundleError::BadArtifact`].
    pub fn from_json(bytes: &[u8], kinds: &dyn Kinds) -> Result<Self, BundleError> {
        let malformed = |detail: String| BundleError::Malformed { detail };
        if bytes.len() as u64 > MAX_BUNDLE_LEN {
            return Err(malformed(format!("larger than {MAX_BUNDLE_LEN} bytes")));
        }
        // The header first: an unknown version is named as such, whatever
        // the rest looks like.
        let h: Header = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if h.format != BUNDLE_FORMAT {
            return Err(malformed(format!("format is {:?}", h.format)));
        }
        if h.version != BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion { version: h.version });
        }
        let j: BundleJson = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if j.artifacts.len() > MAX_BUNDLE_ARTIFACTS {
            return Err(malformed(format!(
                "more than {MAX_BUNDLE_ARTIFACTS} artifacts"
            )));
        }
        let mut artifacts = Vec::with_capacity(j.artifacts.len());
        for a in j.artifacts {
            let id = a.id.clone();
            artifacts.push(
                a.into_artifact(kinds)
                    .map_err(|detail| BundleError::BadArtifact { id, detail })?,
            );
        }
        Ok(Self::new(j.created_at, artifacts))
    }

    /// Read a bundle file.
    ///
    /// # Errors
    /// [`BundleError::Io`], then as [`Bundle::from_json`].
    pub fn read(path: &Path, kinds: &dyn Kinds) -> Result<Self, BundleError> {
        use std::io::Read;
        let io = |e: std::io::Error| BundleError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let f = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        f.take(MAX_BUNDLE_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::from_json(&bytes, kinds)
    }

    /// Write the bundle atomically (temporary file, fsync, rename).
    ///
    /// # Errors
    /// [`BundleError::Io`].
    pub fn write(&self, path: &Path) -> Result<(), BundleError> {
        write_atomic(path, &self.to_json()).map_err(|e| BundleError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// Whether `bytes` look like a bundle (its `format` field).
    pub fn sniff(bytes: &[u8]) -> bool {
        serde_json::from_slice::<Header>(bytes).is_ok_and(|h| h.format == BUNDLE_FORMAT)
    }
}
