//! Intel TDX backend for the TEE SDK.
//!
//! - [`TdxVerifier`] verifies DCAP quotes (v4/v5) against the pinned Intel
//!   SGX Root CA at an explicit time, with collateral chosen explicitly
//!   ([`CollateralSource`]): evaluated by `dcap-qvl` 0.7.1 (pure RustCrypto
//!   build), or, only when asked for, without collateral (TCB `NotEvaluated`).
//! - [`quote::Quote`], [`tdreport::TdReport`] and [`ccel`] are checked
//!   parsers for the quote, the TDREPORT and the CCEL/TCG2 event log.
//! - [`TdxBackend`] is the guest side: TDREPORT through `/dev/tdx_guest`,
//!   quotes through configfs-tsm, RTMRs through the tsm-mr sysfs files with
//!   a crash-safe TCG2 event log. Every kernel interface sits behind a
//!   trait or a configurable root, so tests run it against fakes.
//!
//! TDX has no guest sealing key: sealing is reported unsupported; use a key
//! broker that releases a key after attestation.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod reader;

pub mod ccel;
pub mod collateral;
pub mod guest;
mod nocrl;
#[cfg(any(test, feature = "pcs"))]
pub mod pcs;
mod pki;
pub mod quote;
pub mod tdreport;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests_e2e;
mod verify;

pub use collateral::{Collateral, CollateralProvider, OfflineDir, PckCa, PcsFiles};
pub use guest::TdxBackend;
pub use verify::{CollateralSource, INTEL_SGX_ROOT_CA_DER, TdxVerifier, danger};
