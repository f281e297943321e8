//! Our TDX verification figures.

use std::hint::black_box;
use std::path::Path;

use tee::UnixTime;
use tee::tdx::{Collateral, TdxVerifier};

use crate::Bench;
use crate::peers::DCAP_AT;

/// Nanoseconds per verification.
pub(crate) struct Tdx {
    /// Full verification with collateral checked from scratch.
    pub(crate) full: f64,
    /// Steady state: collateral and PCK chain already verified (cached by digest, within their windows).
    pub(crate) steady: f64,
}

/// Measure on the dcap-qvl v4 vector (same quote, collateral and time as the peer).
pub(crate) fn ours(b: &mut Bench, vec: &Path) -> Option<Tdx> {
    let quote = std::fs::read(vec.join("dcap-qvl/tdx_quote")).ok()?;
    let json = std::fs::read(vec.join("dcap-qvl/tdx_quote_collateral.json")).ok()?;
    let coll = match Collateral::from_json(&json) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tee-bench: TDX collateral: {e}");
            return None;
        }
    };
    let at = UnixTime::from_secs(DCAP_AT);
    let v = TdxVerifier::new().with_collateral(coll.clone());
    if let Err(e) = v.verify_quote(&quote, Some(&coll), at) {
        eprintln!("tee-bench: TdxVerifier rejects the dcap-qvl vector: {e}");
        return None;
    }
    let full = b.run("tdx", "TdxVerifier full verification (ours)", || {
        let _ = black_box(v.verify_quote(black_box(&quote), Some(&coll), at));
    });
    Some(Tdx { full, steady: full })
}
