//! The parsed collateral of recent evidence, by its exact JSON bytes.
//!
//! Evidence that carries its collateral (`tdx-collateral-v3-json`) brings
//! the same bytes with every quote of a platform; parsing them (the JSON,
//! the CRLs, the issuer chains' dates) costs more than the steady-state
//! signature checks. [`ParsedMemo`] keeps the last few parse results, keyed
//! by the **whole byte string** (compared in full, no hash), so a hit is
//! exactly what parsing these bytes gives. Only successful parses are kept;
//! the parse is deterministic, so nothing about trust is cached here (the
//! verified-collateral cache in `crate::cache` decides that).

use std::sync::{Arc, RwLock};

use crate::collateral::{Collateral, PckCa};
use tee_core::Result;

/// Parse results held (first in, first out).
const CAPACITY: usize = 8;

/// Bounded memo of a deterministic parse of byte strings, keyed by the
/// whole bytes (compared in full); thread-safe, shared by clones of a
/// verifier. Only successful parses are kept.
pub(crate) struct BytesMemo<T> {
    entries: RwLock<Vec<(Box<[u8]>, T)>>,
}

impl<T> Default for BytesMemo<T> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(Vec::new()),
        }
    }
}

impl<T> std::fmt::Debug for BytesMemo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.read().map_or(0, |e| e.len());
        f.debug_struct("BytesMemo").field("entries", &n).finish()
    }
}

impl<T: Clone> BytesMemo<T> {
    /// `parse(bytes)`, from the memo when these exact bytes were parsed
    /// before.
    pub(crate) fn get_or_parse(
        &self,
        bytes: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        if let Ok(entries) = self.entries.read()
            && let Some((_, v)) = entries.iter().find(|(b, _)| **b == *bytes)
        {
            return Ok(v.clone());
        }
        let parsed = parse(bytes)?;
        if let Ok(mut entries) = self.entries.write() {
            // Another thread may have parsed the same bytes meanwhile.
            if let Some((_, v)) = entries.iter().find(|(b, _)| **b == *bytes) {
                return Ok(v.clone());
            }
            if entries.len() >= CAPACITY {
                entries.remove(0);
            }
            entries.push((Box::from(bytes), parsed.clone()));
        }
        Ok(parsed)
    }

    /// Forget every entry.
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }
}

/// [`Collateral::from_json`] by the JSON's bytes.
pub(crate) type ParsedMemo = BytesMemo<Arc<Collateral>>;

impl ParsedMemo {
    /// `Collateral::from_json(json)`, memoized.
    pub(crate) fn collateral(&self, json: &[u8]) -> Result<Arc<Collateral>> {
        self.get_or_parse(json, |j| Collateral::from_json(j).map(Arc::new))
    }
}

/// The FMSPC and PCK CA of a PCK chain, by the chain's PEM bytes.
pub(crate) type IdentityMemo = BytesMemo<([u8; 6], PckCa)>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vector() -> Option<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = tee_core::conformance::vectors_dir(&root)?;
        Some(std::fs::read(dir.join("dcap-qvl/tdx_quote_collateral.json")).unwrap())
    }

    #[test]
    fn a_hit_is_the_parse_of_the_same_bytes() {
        let Some(json) = vector() else { return };
        let memo = ParsedMemo::default();
        let a = memo.collateral(&json).unwrap();
        let b = memo.collateral(&json).unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second lookup of the same bytes is a hit"
        );
        assert_eq!(*a, Collateral::from_json(&json).unwrap());
        // One byte different: parsed anew (here: a parse error, not kept).
        let mut other = json.clone();
        let i = other.iter().position(|&c| c == b'{').unwrap();
        other[i] = b'[';
        let err = memo.collateral(&other).unwrap_err();
        assert!(
            matches!(
                &err,
                tee_core::Error::Malformed(tee_core::error::Malformed {
                    what: "TDX collateral JSON",
                    kind: tee_core::MalformedKind::Encoding(_),
                })
            ),
            "{err:?}"
        );
        assert_eq!(memo.len(), 1, "failed parses are not kept");
        // Whitespace appended: other bytes, same meaning, another entry.
        let mut spaced = json.clone();
        spaced.push(b' ');
        let c = memo.collateral(&spaced).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(memo.len(), 2);
        memo.clear();
        assert_eq!(memo.len(), 0);
    }

    #[test]
    fn bounded() {
        let Some(json) = vector() else { return };
        let memo = ParsedMemo::default();
        for n in 0..(CAPACITY + 5) {
            let mut j = json.clone();
            j.extend(std::iter::repeat_n(b' ', n));
            memo.collateral(&j).unwrap();
        }
        assert_eq!(memo.len(), CAPACITY);
        // The oldest went first: the unpadded bytes are parsed anew.
        let first = memo.collateral(&json).unwrap();
        let again = memo.collateral(&json).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(memo.len(), CAPACITY);
    }
}

#[cfg(test)]
mod identity_tests {
    #![allow(clippy::unwrap_used)]

    use crate::TdxVerifier;

    fn quote() -> Option<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = tee_core::conformance::vectors_dir(&root)?;
        Some(std::fs::read(dir.join("dcap-qvl/tdx_quote")).unwrap())
    }

    #[test]
    fn identity_is_the_uncached_one_and_remembered_by_chain_bytes() {
        let Some(q) = quote() else { return };
        let v = TdxVerifier::new();
        let want = crate::pck_identity(&q).unwrap();
        assert_eq!(v.pck_identity(&q).unwrap(), want);
        assert_eq!(v.identities.len(), 1);
        // Another quote of the same platform (other report data): the same
        // chain bytes, the same entry.
        let mut other = q.clone();
        other[600] ^= 0xff;
        assert_eq!(v.pck_identity(&other).unwrap(), want);
        assert_eq!(v.identities.len(), 1);
        // Clones share the memo; clear_cache empties it.
        let c = v.clone();
        assert_eq!(c.identities.len(), 1);
        c.clear_cache();
        assert_eq!(v.identities.len(), 0);
        // A quote that does not parse is refused as before, and not kept.
        assert_eq!(
            v.pck_identity(&q[..100]).unwrap_err().class(),
            crate::pck_identity(&q[..100]).unwrap_err().class()
        );
        assert_eq!(v.identities.len(), 0);
    }
}
