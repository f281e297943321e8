//! Intel TDX backend for the TEE SDK.
//!
//! - [`TdxVerifier`] verifies DCAP quotes (v4/v5) against the pinned Intel
//!   SGX Root CA at an explicit time, with collateral chosen explicitly
//!   ([`CollateralSource`]): PCK chain, CRLs, collateral signatures, QE
//!   report and TCB levels checked by our own evaluator (signatures through
//!   a [`crypto::CryptoProvider`] value: pure-Rust RustCrypto by default,
//!   aws-lc-rs with the feature `aws-lc` when passed to
//!   [`TdxVerifier::with_crypto`]; `dcap-qvl` serves only as the test
//!   oracle), or, only when asked for,
//!   without collateral (TCB `NotEvaluated`). `verify` does no I/O:
//!   collateral is fetched first ([`fetch_collateral`], which may block on
//!   whatever the [`CollateralProvider`] does) and attached to the evidence
//!   ([`attach_collateral`]) or given to the verifier. TD attribute rules
//!   (SEPT_VE_DISABLE, migratable, reserved bits) are decided by appraisal.
//!   It caches verified collateral and PCK chains (bounded, keyed by their
//!   SHA-256, used only inside all their validity windows), so a steady
//!   stream of quotes from known platforms costs the per-quote checks only
//!   ([`TdxVerifier::with_cache_capacity`], [`TdxVerifier::cache_stats`],
//!   least recently used entry evicted when full).
//! - [`quote::Quote`], [`tdreport::TdReport`] and [`ccel`] are checked
//!   parsers for the quote, the TDREPORT and the CCEL/TCG2 event log.
//! - [`TdxBackend`] is the guest side: TDREPORT through `/dev/tdx_guest`,
//!   quotes through configfs-tsm, RTMRs through the tsm-mr sysfs files with
//!   a crash-safe TCG2 event log. Every kernel interface sits behind a
//!   trait or a configurable root, so tests run it against fakes.
//!
//! Module map (the backend layout of `docs/ARCHITECTURE.md`):
//! [`quote`], [`tdreport`], [`ccel`] (parsers on `tee_core::reader`),
//! `verify/` ([`TdxVerifier`]: chain, QE, TCB evaluation, claims),
//! [`roots`] (the pinned Intel SGX Root CA as a DER file), [`danger`]
//! (other roots, for tests), `cache` (verified collateral on
//! `tee_core::cache`), [`crypto`] (signature providers), [`collateral`] and `fetch` (collateral and its
//! fetching; `pcs` behind a feature), [`guest`] (kernel interfaces, `sys`
//! ioctls), [`evidence`], `testing` (fakes, feature `testing`).
//!
//! TDX has no guest sealing key: sealing is reported unsupported; use a key
//! broker that releases a key after attestation.
//!
//! Verifying a quote with collateral (offline, at an explicit time):
//!
//! ```no_run
//! use tee_core::{Evidence, Platform, Policy, ReportData, UnixTime, Verifier, appraise};
//! use tee_core::evidence::format;
//! use tee_tdx::{Collateral, TdxVerifier};
//!
//! # fn main() -> tee_core::Result<()> {
//! let quote = std::fs::read("quote.dat").expect("quote");
//! let collateral = Collateral::from_json(&std::fs::read("collateral.json").expect("collateral"))?;
//! let verifier = TdxVerifier::new().with_collateral(collateral);
//! let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote);
//! let claims = verifier.verify(&ev, UnixTime::parse_rfc3339("2025-07-01T00:00:00Z")?)?;
//! let nonce_binding = ReportData::bind(b"nonce", b"");
//! appraise(&claims, &Policy::default().expect_report_data(nonce_binding)).into_result()?;
//! # Ok(())
//! # }
//! ```
//!
//! Anything that is not a quote is rejected as malformed, never a panic, and
//! missing collateral is never silently skipped:
//!
//! ```
//! use tee_core::{Error, Evidence, Platform, UnixTime, Verifier};
//! use tee_core::evidence::format;
//!
//! let at = UnixTime::from_secs(1_750_000_000);
//! let junk = Evidence::new(Platform::Tdx, format::TDX_QUOTE, vec![4, 0, 2, 0, 0x81, 0, 0, 0]);
//! let v = tee_tdx::TdxVerifier::new().without_collateral();
//! assert!(matches!(v.verify(&junk, at), Err(Error::Malformed(_))));
//! ```
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod cache;
pub mod ccel;
pub mod collateral;
pub mod crypto;
pub mod danger;
pub mod doctor;
pub mod evidence;
mod fastverify;
mod fetch;
pub mod guest;
#[cfg(any(test, feature = "pcs"))]
pub mod pcs;
mod pki;
pub mod quote;
pub mod reference;
pub mod roots;
pub mod tdreport;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod verify;

pub use cache::{CacheStats, DEFAULT_CACHE_CAPACITY};
pub use collateral::{Collateral, CollateralProvider, OfflineDir, PckCa, PcsFiles};
pub use fetch::{attach_collateral, fetch_collateral, pck_identity};
pub use guest::TdxBackend;
pub use roots::INTEL_SGX_ROOT_CA_DER;
pub use verify::qe::INTEL_TD_QE_MRSIGNER;
pub use verify::{CollateralSource, TdxVerifier};
