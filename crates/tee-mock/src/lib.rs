//! # tee-mock: a complete software TEE. **NO SECURITY.**
//!
//! `tee-mock` implements every trait of `tee-core` in software so code
//! written against the SDK can be tested without hardware:
//!
//! - a configurable launch measurement, host data and debug flag;
//! - evidence in a documented mock report format ([`report`]) signed with
//!   ECDSA P-384 by a deterministic *mock attestation key*, itself endorsed
//!   by a deterministic *mock root*;
//! - a verifier ([`MockVerifier`]) that trusts the mock root **only when
//!   asked** ([`MockVerifier::trusting_mock_root`]) and whose claims say
//!   `TrustRoot::NoSecurity`, which the default appraisal policy denies;
//! - four software runtime registers (SHA-384) with an event log;
//! - sealing bound to the measurement and the seal policy;
//! - fault injection ([`Fault`]): device busy, device error, corrupted output.
//!
//! The keys are derived from public labels: anyone can forge mock evidence.
//! That is the point of a mock and the reason it is never chosen implicitly.
//!
//! ```
//! use tee_core::{Backend, Policy, ReportData, UnixTime, Verifier, appraise};
//! use tee_mock::{MockBackend, MockVerifier};
//!
//! let backend = MockBackend::new();
//! let rd = ReportData::bind(b"nonce from the verifier", b"");
//! let evidence = backend.attester()?.attest(&rd)?;
//! let claims = MockVerifier::trusting_mock_root().verify(&evidence, UnixTime::now())?;
//! // The default policy denies mock evidence...
//! assert!(!appraise(&claims, &Policy::default().expect_report_data(rd)).passed());
//! // ...unless explicitly allowed, with the workload's reference measurement.
//! let policy = Policy::new()
//!     .allow_mock(true)
//!     .expect_report_data(rd)
//!     .allow_measurement(backend.measurement());
//! assert!(appraise(&claims, &policy).passed());
//! # Ok::<(), tee_core::Error>(())
//! ```
#![forbid(unsafe_code)]

mod backend;
mod keys;
pub mod reference;
pub mod report;
mod verifier;

pub use backend::{Fault, MockBackend, MockBackendBuilder, MockKeySource};
pub use verifier::MockVerifier;

/// The text every mock claim carries.
pub const NO_SECURITY: &str = "NO SECURITY: software mock";

/// Number of mock runtime registers.
pub const REGISTER_COUNT: u32 = 4;
