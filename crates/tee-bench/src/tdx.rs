//! Our TDX verification figures.

use std::path::Path;

use crate::Bench;

/// Nanoseconds per verification.
pub(crate) struct Tdx {
    /// Full verification with collateral checked from scratch.
    pub(crate) full: f64,
    /// Steady state: collateral and PCK chain already verified (cached by digest, within their windows).
    pub(crate) steady: f64,
}

/// Measure; `None` until wired.
pub(crate) fn ours(_b: &mut Bench, _vec: &Path) -> Option<Tdx> {
    eprintln!("  (SDK TDX verification figures: not wired yet)");
    None
}
