//! Dangerous options: trust roots other than Intel's.

use crate::TdxVerifier;

/// A verifier trusting `root_der` instead of the Intel SGX Root CA.
/// For tests with a private PKI only.
pub fn verifier_with_test_root(root_der: Vec<u8>) -> TdxVerifier {
    TdxVerifier::with_root(root_der)
}
