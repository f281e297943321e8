//! The simulators (feature `sim`): a platform TPM holding the ESM wrapping
//! key ([`tpm`]), the ultravisor ([`uv`]), a machine that persists its TPM
//! key and launches guests ([`machine`]), and a guest process that issues
//! `UV_ESMB_GET_FILE` to the simulated ultravisor ([`SimSvmProcess`]).
//!
//! They model the documents in `pef-model.md` for tests, `teectl pef demo`
//! and the cross-backend conformance suite; production code never needs
//! them, so they are not compiled in by default.

pub mod machine;
mod process;
pub mod tpm;
pub mod uv;

pub use process::SimSvmProcess;
