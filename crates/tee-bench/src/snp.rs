//! Our SEV-SNP verification figures.

use std::path::Path;

use crate::Bench;

/// Nanoseconds per verification.
pub(crate) struct Snp {
    /// Full verification, nothing cached: chain + report + extensions.
    pub(crate) cold: f64,
    /// Steady state: the chain already verified (cache keyed by the exact certificate bytes).
    pub(crate) steady: f64,
}

/// Measure; `None` until wired.
pub(crate) fn ours(_b: &mut Bench, _vec: &Path) -> Option<Snp> {
    eprintln!("  (SDK SEV-SNP verification figures: not wired yet)");
    None
}
