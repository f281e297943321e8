//! tee-sev integration tests, one binary with a module per concern:
//! `backend` (fake firmware and configfs-tsm end to end, conformance),
//! `cache` (the verified-chain cache never changes a verdict), `kds`
//! (feature `kds`: the KDS client against a local server), `props` (no
//! input panics) and `vectors` (every real SEV-SNP vector). The fakes are
//! the crate's `testing` feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backend;
mod cache;
#[cfg(feature = "kds")]
mod kds;
mod props;
mod reference;
mod reference_id;
mod revocation;
mod vectors;
