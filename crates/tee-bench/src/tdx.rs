//! Our TDX verification figures.

use std::hint::black_box;
use std::path::Path;

use tee::UnixTime;
use tee::tdx::{Collateral, TdxVerifier};

use crate::Bench;
use crate::peers::DCAP_AT;

/// The RATIO lines, each measured in interleaved batches against the peer.
pub(crate) struct Tdx {
    /// Full verification / dcap-qvl's verify, interleaved batches.
    pub(crate) full_vs_dcap_qvl: f64,
    /// Steady state / dcap-qvl's verify, interleaved batches.
    pub(crate) steady_vs_dcap_qvl: f64,
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
    // Full: cache disabled, so every call verifies the collateral and PCK
    // chain from scratch.
    let cold = TdxVerifier::new()
        .with_collateral(coll.clone())
        .with_cache_capacity(0);
    // Steady: one verifier whose cache holds this collateral and PCK chain.
    let warm = TdxVerifier::new().with_collateral(coll.clone());
    for v in [&cold, &warm] {
        match v.verify_quote(&quote, Some(&coll), at) {
            Ok(c) => eprintln!(
                "  TdxVerifier verdict on the vector: {}",
                c.tcb
                    .value()
                    .map(|t| format!("{:?}", t.status))
                    .unwrap_or_default()
            ),
            Err(e) => {
                eprintln!("tee-bench: TdxVerifier rejects the dcap-qvl vector: {e}");
                return None;
            }
        }
    }
    if warm.cache_stats().entries != 1 || cold.cache_stats().entries != 0 {
        eprintln!("tee-bench: unexpected TDX cache state");
        return None;
    }
    b.run(
        "tdx",
        "TdxVerifier full verification, no cache (ours)",
        || {
            let _ = black_box(cold.verify_quote(black_box(&quote), Some(&coll), at));
        },
    );
    // For information: a full verification that also fills the cache.
    let filling = TdxVerifier::new().with_collateral(coll.clone());
    b.run(
        "tdx",
        "TdxVerifier full verification + cache fill (ours)",
        || {
            filling.clear_cache();
            let _ = black_box(filling.verify_quote(black_box(&quote), Some(&coll), at));
        },
    );
    b.run(
        "tdx",
        "TdxVerifier steady state, collateral + PCK chain cached (ours)",
        || {
            let _ = black_box(warm.verify_quote(black_box(&quote), Some(&coll), at));
        },
    );
    // For information: the steady state through the `Verifier` trait with
    // the collateral JSON carried in the evidence (parsed per call).
    let ev = tee::Evidence::new(
        tee::Platform::Tdx,
        tee::evidence::format::TDX_QUOTE,
        quote.clone(),
    )
    .with_endorsement(
        tee::evidence::endorsement::TDX_COLLATERAL_JSON,
        json.clone(),
    );
    let via_evidence = TdxVerifier::new();
    if tee::Verifier::verify(&via_evidence, &ev, at).is_ok() {
        b.run(
            "tdx",
            "TdxVerifier steady state, collateral JSON in the evidence (ours)",
            || {
                let _ = black_box(tee::Verifier::verify(&via_evidence, black_box(&ev), at));
            },
        );
    }
    // The RATIO lines: each side measured back to back against the peer.
    let full_vs_dcap_qvl = crate::paired_ratio(
        || {
            let _ = black_box(cold.verify_quote(black_box(&quote), Some(&coll), at));
        },
        crate::peers::dcap_qvl_verify(vec),
        5,
    );
    let steady_vs_dcap_qvl = crate::paired_ratio(
        || {
            let _ = black_box(warm.verify_quote(black_box(&quote), Some(&coll), at));
        },
        crate::peers::dcap_qvl_verify(vec),
        5,
    );
    Some(Tdx {
        full_vs_dcap_qvl,
        steady_vs_dcap_qvl,
    })
}
