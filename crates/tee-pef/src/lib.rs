//! IBM PEF backend for the TEE SDK.
//!
//! **Not implemented yet.** This crate exists so the workspace, the facade
//! and `teectl` are wired for it: [`PefBackend::open`] and [`PefVerifier::verify`]
//! return a typed [`tee_core::Error::Unsupported`] saying so, and the
//! capabilities report every operation as unsupported.
#![deny(unsafe_code)]

use tee_core::{
    Attester, Backend, Capabilities, Claims, Error, Evidence, Operation, Platform, Result,
    RuntimeMeasurement, Sealer, Support, UnixTime, Verified, Verifier,
};

/// The reason every operation is unsupported for now.
pub const NOT_IMPLEMENTED: &str = "the IBM PEF backend is not implemented yet";

/// The IBM PEF guest backend.
#[derive(Debug)]
pub struct PefBackend {
    _private: (),
}

impl PefBackend {
    /// Open the backend on this machine.
    ///
    /// # Errors
    /// Always [`Error::Unsupported`] for now.
    pub fn open() -> Result<Self> {
        Err(Error::unsupported(
            Platform::Pef,
            Operation::Open,
            NOT_IMPLEMENTED,
        ))
    }
}

impl Backend for PefBackend {
    fn platform(&self) -> Platform {
        Platform::Pef
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::Pef,
            attestation: Support::Unsupported(NOT_IMPLEMENTED.into()),
            runtime_measurement: Support::Unsupported(NOT_IMPLEMENTED.into()),
            sealing: Support::Unsupported(NOT_IMPLEMENTED.into()),
        }
    }
    fn attester(&self) -> Result<&dyn Attester> {
        Err(Error::unsupported(
            Platform::Pef,
            Operation::Attestation,
            NOT_IMPLEMENTED,
        ))
    }
    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::Pef,
            Operation::RuntimeMeasurement,
            NOT_IMPLEMENTED,
        ))
    }
    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::unsupported(
            Platform::Pef,
            Operation::Sealing,
            NOT_IMPLEMENTED,
        ))
    }
}

/// Verifier for IBM PEF evidence.
#[derive(Debug, Default)]
pub struct PefVerifier {
    _private: (),
}

impl PefVerifier {
    /// A verifier with the vendor's pinned roots.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl Verifier for PefVerifier {
    fn platform(&self) -> Platform {
        Platform::Pef
    }
    fn verify(&self, _evidence: &Evidence, _at: UnixTime) -> Result<Verified<Claims>> {
        Err(Error::unsupported(
            Platform::Pef,
            Operation::Verification,
            NOT_IMPLEMENTED,
        ))
    }
}
