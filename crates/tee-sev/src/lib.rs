//! AMD SEV-SNP backend for the TEE SDK.
//!
//! - [`SnpVerifier`]: verifies SNP attestation reports (versions 2, 3 and 5)
//!   from Milan, Genoa and Turin, signed by a VCEK or a VLEK, against AMD
//!   roots pinned in this crate, at an explicit time. Offline, pure Rust.
//! - [`SevBackend`]: the guest side (Linux): reports through configfs-tsm
//!   (first) or `/dev/sev-guest`, derived-key sealing, no runtime
//!   measurement registers (SNP has none).
//!
//! Parsers ([`report`], [`cert_table`]) are bounds-checked and never panic.
//! Test roots can only be injected through [`danger`].
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod backend;
pub mod cert_table;
pub mod certs;
pub mod doctor;
pub mod guest;
#[cfg(feature = "kds")]
pub mod kds;
pub mod report;
pub mod roots;
pub mod seal;
#[allow(unsafe_code)]
mod sys;
pub mod verify;

pub use backend::{SevBackend, SevOptions};
pub use report::{Product, SnpReport};
pub use verify::{Endorsements, SnpVerifier, evidence_from_parts};

/// Security-dangerous but memory-safe APIs: trusting roots other than AMD's.
pub mod danger {
    use tee_core::Result;

    use crate::report::Product;
    use crate::verify::{ProductRoots, SnpVerifier};

    /// A verifier that trusts the given roots **instead of** AMD's pinned
    /// roots. For tests with a fake AMD PKI only.
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
}
