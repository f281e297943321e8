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
//! Test roots can only be injected through [`danger`]. Design notes, what is
//! and is not verified, and why the VCEK is the default sealing root:
//! `docs/sev-snp.md`.
//!
//! # Verifying a report offline
//!
//! ```no_run
//! use tee_core::{Policy, ReportData, UnixTime, Verifier, appraise};
//! # fn main() -> tee_core::Result<()> {
//! let report = std::fs::read("report.bin").map_err(|e| tee_core::Error::encoding("file", e))?;
//! let vcek = std::fs::read("vcek.der").map_err(|e| tee_core::Error::encoding("file", e))?;
//! // ASK/ASVK and ARK come from the pinned roots when not supplied.
//! let evidence = tee_sev::evidence_from_parts(&report, Some(&vcek), &[])?;
//! let at = UnixTime::parse_rfc3339("2025-07-01T00:00:00Z")?;
//! let claims = tee_sev::SnpVerifier::new().verify(&evidence, at)?; // authenticity
//! let policy = Policy::default().expect_report_data(ReportData::zero());
//! appraise(&claims, &policy).into_result()?; // policy: debug denied, VMPL 0, ...
//! # Ok(())
//! # }
//! ```
//!
//! A tampered report is rejected with a typed error
//! (`Error::Authenticity(Authenticity::BadSignature { .. })`), an expired
//! VLEK with `Authenticity::Expired`, a foreign ARK with
//! `Authenticity::UntrustedRoot`.
//!
//! # Verification cost: the chain cache and crypto providers
//!
//! [`SnpVerifier::new`] keeps a bounded cache of verified certificate
//! chains (see [`cache`]): keyed by a digest of the exact ARK, ASK/ASVK and
//! VCEK/VLEK bytes, used only inside the chain's validity window, storing
//! the prepared VCEK/VLEK key and extensions. The steady state is then a
//! report parse, one P-384 verification over `[0, 0x2A0)` of the received
//! bytes, the extension checks and the claims; the cache never turns a
//! failure into a success. [`SnpVerifier::with_cache_capacity`] sizes it,
//! [`SnpVerifier::without_cache`] turns it off. An ARK or ASK/ASVK
//! byte-identical to the pinned one is trusted as pinned (no signature
//! check; its validity period is still checked).
//!
//! Signatures go through a [`crypto::CryptoProvider`] value: pure-Rust
//! [`crypto::RUST_CRYPTO`] by default; with the cargo feature `aws-lc`, the
//! value `crypto::AWS_LC` (aws-lc-rs, about 4x faster P-384) exists and is
//! used only when passed to [`SnpVerifier::with_crypto`].
//!
//! ```
//! let v = tee_sev::SnpVerifier::new()
//!     .with_crypto(&tee_sev::crypto::RUST_CRYPTO)
//!     .with_cache(4096);
//! assert_eq!(v.cache_stats().capacity, 4096);
//! ```
//!
//! Figures: `cargo run --release -p tee-bench` (add `--features aws-lc` for
//! the aws-lc-rs rows).
//!
//! # Modules
//!
//! The layout shared by every backend (`docs/ARCHITECTURE.md`, "Backend
//! module map"):
//!
//! - [`report`]: the checked report parser; [`cert_table`]: the GHCB
//!   certificate table (both on [`tee_core::reader::Reader`]); [`certs`]:
//!   X.509 and AMD extensions; [`crl`]: AMD KDS CRLs; [`roots`]: the pinned AMD certificates (PEM
//!   files under `src/roots/`); [`verify`]: the verifier (`verify/`: chain,
//!   report checks, claims, endorsements); [`cache`]: its verified-chain
//!   cache (on [`tee_core::cache::WindowCache`]); [`crypto`]: crypto
//!   providers; [`danger`]: test roots.
//! - [`guest`]: kernel interfaces behind traits (configfs-tsm, `/dev/sev-guest`);
//!   [`backend`]: [`SevBackend`]; [`seal`]: derived-key sealing.
//! - [`doctor`]: the capability doctor behind `teectl doctor`.
//! - `kds` (feature `kds`): the AMD Key Distribution Service client.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod backend;
pub mod cache;
pub mod cert_table;
pub mod certs;
pub mod crl;
pub mod crypto;
pub mod danger;
pub mod doctor;
pub mod guest;
#[cfg(feature = "kds")]
pub mod kds;
pub mod reference;
pub mod report;
pub mod roots;
pub mod seal;
#[allow(unsafe_code)]
mod sys;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

pub use backend::{SevBackend, SevOptions};
pub use cache::CacheStats;
pub use report::{Product, SnpReport};
pub use verify::{Endorsements, SnpVerifier, evidence_from_parts};
