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

use crate::collateral::Collateral;
use tee_core::Result;

/// Parse results held (first in, first out).
const CAPACITY: usize = 8;

type Entry = (Box<[u8]>, Arc<Collateral>);

/// Bounded memo of [`Collateral::from_json`]; thread-safe, shared by clones
/// of a verifier.
#[derive(Default)]
pub(crate) struct ParsedMemo {
    entries: RwLock<Vec<Entry>>,
}

impl std::fmt::Debug for ParsedMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.read().map_or(0, |e| e.len());
        f.debug_struct("ParsedMemo").field("entries", &n).finish()
    }
}

impl ParsedMemo {
    /// `Collateral::from_json(json)`, from the memo when these exact bytes
    /// were parsed before.
    pub(crate) fn get_or_parse(&self, json: &[u8]) -> Result<Arc<Collateral>> {
        if let Ok(entries) = self.entries.read()
            && let Some((_, c)) = entries.iter().find(|(b, _)| **b == *json)
        {
            return Ok(c.clone());
        }
        let parsed = Arc::new(Collateral::from_json(json)?);
        if let Ok(mut entries) = self.entries.write() {
            // Another thread may have parsed the same bytes meanwhile.
            if let Some((_, c)) = entries.iter().find(|(b, _)| **b == *json) {
                return Ok(c.clone());
            }
            if entries.len() >= CAPACITY {
                entries.remove(0);
            }
            entries.push((Box::from(json), parsed.clone()));
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
        let a = memo.get_or_parse(&json).unwrap();
        let b = memo.get_or_parse(&json).unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second lookup of the same bytes is a hit"
        );
        assert_eq!(*a, Collateral::from_json(&json).unwrap());
        // One byte different: parsed anew (here: a parse error, not kept).
        let mut other = json.clone();
        let i = other.iter().position(|&c| c == b'{').unwrap();
        other[i] = b'[';
        let err = memo.get_or_parse(&other).unwrap_err();
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
        let c = memo.get_or_parse(&spaced).unwrap();
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
            memo.get_or_parse(&j).unwrap();
        }
        assert_eq!(memo.len(), CAPACITY);
        // The oldest went first: the unpadded bytes are parsed anew.
        let first = memo.get_or_parse(&json).unwrap();
        let again = memo.get_or_parse(&json).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(memo.len(), CAPACITY);
    }
}
