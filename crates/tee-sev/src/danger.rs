//! Security-dangerous but memory-safe APIs: trusting roots other than AMD's.

use tee_core::Result;

use crate::report::Product;
use crate::verify::{ProductRoots, SnpVerifier};

/// A verifier that trusts the given roots **instead of** AMD's pinned
/// roots. For tests with a fake AMD PKI only. A given ASK/ASVK is trusted
/// without per-report signature checks only if the given ARK signed it
/// (checked here, once); otherwise chains through it are verified and fail.
pub fn with_test_roots(roots: Vec<ProductRoots>) -> SnpVerifier {
    SnpVerifier::with_roots(roots)
}

/// Test roots from DER/PEM certificates.
///
/// # Errors
/// [`tee_core::Error::Malformed`] if a certificate does not decode.
pub fn test_roots(
    product: Product,
    ark: &[u8],
    ask: Option<&[u8]>,
    asvk: Option<&[u8]>,
) -> Result<ProductRoots> {
    ProductRoots::from_certs(product, ark, ask, asvk)
}
