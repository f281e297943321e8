//! Intel TDX backend for the TEE SDK.
//!
//! **Not implemented yet.** This crate exists so the workspace, the facade
//! and `teectl` are wired for it: [`TdxBackend::open`] and [`TdxVerifier::verify`]
//! return a typed [`tee_core::Error::Unsupported`] saying so, and the
//! capabilities report every operation as unsupported.
#![deny(unsafe_code)]

use tee_core::{
    Attester, Backend, Capabilities, Claims, Error, Evidence, Operation, Platform, Result,
    RuntimeMeasurement, Sealer, Support, UnixTime, Verified, Verifier,
};

/// The reason every operation is unsupported for now.
pub const NOT_IMPLEMENTED: &str = "the Intel TDX backend is not implemented yet";

/// The Intel TDX guest backend.
#[derive(Debug)]
pub struct TdxBackend {
    _private: (),
}

impl TdxBackend {
    /// Open the backend on this machine.
    ///
    /// # Errors
    /// Always [`Error::Unsupported`] for now.
    pub fn open() -> Result<Self> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Open,
            NOT_IMPLEMENTED,
        ))
    }
}

impl Backend for TdxBackend {
    fn platform(&self) -> Platform {
        Platform::Tdx
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::Tdx,
            attestation: Support::Unsupported(NOT_IMPLEMENTED.into()),
            runtime_measurement: Support::Unsupported(NOT_IMPLEMENTED.into()),
            sealing: Support::Unsupported(NOT_IMPLEMENTED.into()),
        }
    }
    fn attester(&self) -> Result<&dyn Attester> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Attestation,
            NOT_IMPLEMENTED,
        ))
    }
    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::RuntimeMeasurement,
            NOT_IMPLEMENTED,
        ))
    }
    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Sealing,
            NOT_IMPLEMENTED,
        ))
    }
}

/// Verifier for Intel TDX evidence.
#[derive(Debug, Default)]
pub struct TdxVerifier {
    _private: (),
}

impl TdxVerifier {
    /// A verifier with the vendor's pinned roots.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl Verifier for TdxVerifier {
    fn platform(&self) -> Platform {
        Platform::Tdx
    }
    fn verify(&self, _evidence: &Evidence, _at: UnixTime) -> Result<Verified<Claims>> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Verification,
            NOT_IMPLEMENTED,
        ))
    }
}
