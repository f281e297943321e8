//! The integration tests of `teectl`, run against the built binary: one
//! test target (`cargo test -p teectl --test cli`), one module per area,
//! the harness in [`common`]. Select an area by its module path, e.g.
//! `cargo test -p teectl --test cli -- serve::`. The simulated Azure VMs
//! (feature `simulation`) are the target `sim`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[cfg(feature = "azure")]
mod azure;
mod cli;
mod ear;
mod gce;
mod hardening;
mod kbs;
#[cfg(feature = "pef")]
mod pef_svm_tool;
mod ratls;
mod reference_snp;
mod reference_tdx;
#[cfg(all(feature = "sev-snp", feature = "tdx", unix))]
mod serve;
#[cfg(feature = "sev-snp")]
mod snp_crl;
mod tdx_policy;
