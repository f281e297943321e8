//! Appraisal policies from `DIR/NAME.toml`, reloaded when a file changes
//! (its modification time or length, checked on every request).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tee::Policy;

/// The policy used when a request names none.
pub const DEFAULT_POLICY: &str = "default";
/// Longest policy name.
pub const MAX_NAME_LEN: usize = 64;
/// Largest policy file read.
pub const MAX_POLICY_FILE: u64 = 1 << 20;

/// Why no policy could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The name is not `[A-Za-z0-9_-]{1,64}` (no paths, no dots).
    BadName,
    /// No such policy file.
    Unknown(String),
    /// The file exists but does not load (a server configuration error:
    /// fail closed).
    Invalid {
        /// The policy name.
        name: String,
        /// Why.
        detail: String,
    },
}

/// A loaded policy and its id.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The policy as in the file.
    pub policy: Arc<Policy>,
    /// [`tee_ear::mapping::policy_id`] of the file's policy.
    pub id: Arc<str>,
}

#[derive(Debug)]
struct Entry {
    stamp: (Option<SystemTime>, u64),
    loaded: Loaded,
}

/// The policy directory with a per-name cache.
#[derive(Debug)]
pub struct PolicyStore {
    dir: PathBuf,
    cache: Mutex<HashMap<String, Entry>>,
    reloads: std::sync::atomic::AtomicU64,
}

/// Whether `name` is an acceptable policy name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl PolicyStore {
    /// Policies under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            cache: Mutex::new(HashMap::new()),
            reloads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many times a policy file was (re)read.
    pub fn loads(&self) -> u64 {
        self.reloads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The policy `name` (default [`DEFAULT_POLICY`]), read again if its
    /// file changed since it was last read. Blocking file I/O.
    ///
    /// # Errors
    /// [`PolicyError`].
    pub fn get(&self, name: Option<&str>) -> Result<Loaded, PolicyError> {
        let name = name.unwrap_or(DEFAULT_POLICY);
        if !valid_name(name) {
            return Err(PolicyError::BadName);
        }
        let path = self.dir.join(format!("{name}.toml"));
        let invalid = |detail: String| PolicyError::Invalid {
            name: name.to_owned(),
            detail,
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Err(PolicyError::Unknown(name.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.forget(name);
                return Err(PolicyError::Unknown(name.to_owned()));
            }
            Err(e) => return Err(invalid(e.to_string())),
        };
        let stamp = (meta.modified().ok(), meta.len());
        {
            let cache = self.lock();
            if let Some(e) = cache.get(name)
                && e.stamp == stamp
            {
                return Ok(e.loaded.clone());
            }
        }
        if meta.len() > MAX_POLICY_FILE {
            return Err(invalid(format!("larger than {MAX_POLICY_FILE} bytes")));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_POLICY_FILE + 1).read_to_end(&mut bytes))
            .map_err(|e| invalid(e.to_string()))?;
        if bytes.len() as u64 > MAX_POLICY_FILE {
            return Err(invalid(format!("larger than {MAX_POLICY_FILE} bytes")));
        }
        let policy = match Policy::from_toml_bytes(&bytes) {
            Ok(p) => p,
            Err(e) => {
                self.forget(name);
                return Err(invalid(e.to_string()));
            }
        };
        self.reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let loaded = Loaded {
            id: tee_ear::mapping::policy_id(&policy).into(),
            policy: Arc::new(policy),
        };
        self.lock().insert(
            name.to_owned(),
            Entry {
                stamp,
                loaded: loaded.clone(),
            },
        );
        Ok(loaded)
    }

    fn forget(&self, name: &str) {
        self.lock().remove(name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["default", "a", "prod-1", "x_y", &"a".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            "a.b",
            "..",
            "a b",
            "é",
            &"a".repeat(65),
            "a\0",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn load_reload_unknown_invalid() {
        let d = tempfile::tempdir().unwrap();
        let s = PolicyStore::new(d.path());
        assert_eq!(
            s.get(None).unwrap_err(),
            PolicyError::Unknown("default".into())
        );
        assert_eq!(s.get(Some("../x")).unwrap_err(), PolicyError::BadName);
        std::fs::write(d.path().join("default.toml"), "allow_mock = true\n").unwrap();
        let a = s.get(None).unwrap();
        assert!(a.policy.allow_mock);
        let again = s.get(Some("default")).unwrap();
        assert_eq!(again.id, a.id);
        assert_eq!(s.loads(), 1, "unchanged file read once");
        // A change of length is seen at once.
        std::fs::write(d.path().join("default.toml"), "allow_mock = false\n").unwrap();
        let b = s.get(None).unwrap();
        assert!(!b.policy.allow_mock);
        assert_ne!(b.id, a.id);
        std::fs::write(d.path().join("default.toml"), "no_such_key = 1\n").unwrap();
        assert!(matches!(s.get(None), Err(PolicyError::Invalid { .. })));
        std::fs::remove_file(d.path().join("default.toml")).unwrap();
        assert!(matches!(s.get(None), Err(PolicyError::Unknown(_))));
        std::fs::create_dir(d.path().join("dir.toml")).unwrap();
        assert!(matches!(s.get(Some("dir")), Err(PolicyError::Unknown(_))));
    }
}
