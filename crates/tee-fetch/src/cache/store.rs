//! The disk store: one file per artifact, written atomically, checked on read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{Artifact, Body, Kinds, Validity, check_artifact, valid_id};

/// `format` of an artifact file.
pub const ARTIFACT_FORMAT: &str = "tee-collateral-artifact";
/// The artifact file version written and read.
pub const ARTIFACT_VERSION: u32 = 1;
/// Largest artifact file read (8 MiB: bodies are bounded by the fetch layer at 4 MiB, hex doubles them).
pub const MAX_ARTIFACT_FILE_LEN: u64 = 9 << 20;

/// One artifact as JSON (in a store file and in a bundle).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArtifactJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u32>,
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) source: String,
    pub(crate) fetched_at: u64,
    pub(crate) valid_from: u64,
    pub(crate) valid_until: u64,
    #[serde(default)]
    pub(crate) headers: Vec<(String, String)>,
    /// The body, hex.
    pub(crate) body: String,
    /// SHA-256 ([`Artifact::digest`]), hex.
    pub(crate) sha256: String,
}

impl ArtifactJson {
    pub(crate) fn from_artifact(a: &Artifact, header: bool) -> Self {
        Self {
            format: header.then(|| ARTIFACT_FORMAT.to_owned()),
            version: header.then_some(ARTIFACT_VERSION),
            id: a.id.clone(),
            kind: a.kind.clone(),
            source: a.source.clone(),
            fetched_at: a.fetched_at,
            valid_from: a.validity.from,
            valid_until: a.validity.until,
            headers: a.body.headers.clone(),
            body: hex::encode(&a.body.bytes),
            sha256: hex::encode(a.digest()),
        }
    }

    /// The artifact, with its digest and (by kind) validity checked.
    pub(crate) fn into_artifact(self, kinds: &dyn Kinds) -> Result<Artifact, String> {
        let bytes = hex::decode(&self.body).map_err(|e| format!("body: {e}"))?;
        let a = Artifact {
            id: self.id,
            kind: self.kind,
            source: self.source,
            fetched_at: self.fetched_at,
            body: Body {
                bytes,
                headers: self.headers,
            },
            validity: Validity::new(self.valid_from, self.valid_until),
        };
        if hex::encode(a.digest()) != self.sha256.to_ascii_lowercase() {
            return Err("SHA-256 does not match the content (torn or altered)".into());
        }
        check_artifact(kinds, &a)?;
        Ok(a)
    }
}

/// A directory of artifact files, shareable between processes and
/// replicas (e.g. on a shared volume).
///
/// Each artifact is `DIR/<name>.json` (the name derived from the id).
/// Writes go to a unique temporary file in `DIR`, are flushed to disk and
/// renamed over the old file, so a reader sees the old or the new file,
/// never a mix, and a crash leaves at most a stray temporary file (never
/// read; the next writable [`DiskStore::open`] removes it once it is
/// [`STRAY_TEMPORARY_AGE`] old).
/// Every file carries its format, version and a SHA-256 over its content;
/// a file that fails any check (truncated, corrupt, another id, unknown
/// version, validity not matching its bytes) is ignored and counted.
#[derive(Debug)]
pub struct DiskStore {
    dir: PathBuf,
    read_only: bool,
    rejected: AtomicU64,
}

impl DiskStore {
    /// A store in `dir` (created if missing); temporary files crashed writers
    /// left there more than [`STRAY_TEMPORARY_AGE`] ago are removed.
    ///
    /// # Errors
    /// The I/O error when the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        sweep_stray_temporaries(&dir, STRAY_TEMPORARY_AGE);
        Ok(Self::new(dir, false))
    }

    /// A store in an existing `dir` that is only read (offline use).
    ///
    /// # Errors
    /// `NotFound` when `dir` is not a directory.
    pub fn open_read_only(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: not a directory", dir.display()),
            ));
        }
        Ok(Self::new(dir, true))
    }

    fn new(dir: PathBuf, read_only: bool) -> Self {
        Self {
            dir,
            read_only,
            rejected: AtomicU64::new(0),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// The file of `id`: the id with every byte outside `[A-Za-z0-9._-]`
    /// replaced by `_`, plus 8 hex digits of its SHA-256 (distinct ids never
    /// share a file).
    pub fn path_of(&self, id: &str) -> PathBuf {
        use sha2::Digest;
        let clean: String = id
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                    b as char
                } else {
                    '_'
                }
            })
            .collect();
        let h = sha2::Sha256::digest(id.as_bytes());
        self.dir
            .join(format!("{clean}.{}.json", hex::encode(&h[..4])))
    }

    /// Write `a` atomically (temporary file, fsync, rename).
    ///
    /// # Errors
    /// The I/O error (or `PermissionDenied` for a read-only store).
    pub fn save(&self, a: &Artifact) -> std::io::Result<()> {
        if self.read_only {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "read-only collateral store",
            ));
        }
        let json = serde_json::to_vec_pretty(&ArtifactJson::from_artifact(a, true))
            .map_err(std::io::Error::other)?;
        let path = self.path_of(&a.id);
        write_atomic(&path, &json)
    }

    /// Read the artifact `id`, or `None` when absent or rejected.
    pub fn load(&self, id: &str, kinds: &dyn Kinds) -> Option<Artifact> {
        let path = self.path_of(id);
        let bytes = match read_bounded(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(_) => {
                self.reject();
                return None;
            }
        };
        match parse_file(&bytes, kinds) {
            Ok(a) if a.id == id => Some(a),
            _ => {
                self.reject();
                None
            }
        }
    }

    /// Every acceptable artifact in the directory (temporary files and
    /// other names skipped, rejected files counted).
    pub fn load_all(&self, kinds: &dyn Kinds) -> Vec<Artifact> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let parsed = read_bounded(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_file(&b, kinds));
            match parsed {
                // The file must be where its id says it is.
                Ok(a) if self.path_of(&a.id) == p => out.push(a),
                _ => self.reject(),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    fn reject(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }
}

fn parse_file(bytes: &[u8], kinds: &dyn Kinds) -> Result<Artifact, String> {
    let j: ArtifactJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if j.format.as_deref() != Some(ARTIFACT_FORMAT) {
        return Err("not an artifact file".into());
    }
    if j.version != Some(ARTIFACT_VERSION) {
        return Err(format!("unknown artifact file version {:?}", j.version));
    }
    if !valid_id(&j.id) {
        return Err("bad id".into());
    }
    j.into_artifact(kinds)
}

fn read_bounded(p: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(p)?;
    let mut out = Vec::new();
    f.take(MAX_ARTIFACT_FILE_LEN + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_ARTIFACT_FILE_LEN {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "artifact file too large",
        ));
    }
    Ok(out)
}

/// A temporary file untouched for this long is a crashed writer's (a write
/// takes milliseconds, also on a shared volume): [`DiskStore::open`]
/// removes it. Younger ones may be another replica's write in progress.
pub const STRAY_TEMPORARY_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Whether `name` is one of [`write_atomic`]'s temporary files.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Remove the temporary files in `dir` last modified more than `age` ago
/// (a process killed between create and rename leaves one behind; they are
/// never read, but would pile up over crashes). Best effort: a file that
/// cannot be judged or removed stays. Returns how many were removed.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn sweep_stray_temporaries(dir: &Path, age: std::time::Duration) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for e in rd.flatten() {
        if !is_temporary(&e.file_name().to_string_lossy()) {
            continue;
        }
        let old = e
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d > age);
        if old && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// No file system, no clock (see `write_atomic`): nothing to sweep.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) fn sweep_stray_temporaries(_: &Path, _: std::time::Duration) -> usize {
    0
}

/// Temporary-file names unique within the process (with the pid: across processes).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `bytes` to `path` through a unique temporary file in the same
/// directory: write, fsync, rename (then fsync the directory, best effort).
/// Only a temporary file this call created is ever removed.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.{}.{n}.{nanos}.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    drop(f);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    result
}

/// `wasm32-unknown-unknown` has no file system, clock or process id: nothing
/// is written, and (unlike the temporary-file name above) no clock is read,
/// so a WebAssembly build links no `SystemTime::now`.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) fn write_atomic(_: &Path, _: &[u8]) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}
