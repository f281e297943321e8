//! AMD SEV-SNP backend for the TEE SDK.
//!
//! **Not implemented yet.** This crate exists so the workspace, the facade
//! and `teectl` are wired for it: [`SevBackend::open`] and [`SnpVerifier::verify`]
//! return a typed [`tee_core::Error::Unsupported`] saying so, and the
//! capabilities report every operation as unsupported.
#![deny(unsafe_code)]

use tee_core::{
    Attester, Backend, Capabilities, Claims, Error, Evidence, Operation, Platform, Result,
    RuntimeMeasurement, Sealer, Support, UnixTime, Verified, Verifier,
};

/// The reason every operation is unsupported for now.
pub const NOT_IMPLEMENTED: &str = "the AMD SEV-SNP backend is not implemented yet";

/// The AMD SEV-SNP guest backend.
#[derive(Debug)]
pub struct SevBackend {
    _private: (),
}

impl SevBackend {
    /// Open the backend on this machine.
    ///
    /// # Errors
    /// Always [`Error::Unsupported`] for now.
    pub fn open() -> Result<Self> {
        Err(Error::unsupported(
            Platform::SevSnp,
            Operation::Open,
            NOT_IMPLEMENTED,
        ))
    }
}

impl Backend for SevBackend {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::SevSnp,
            attestation: Support::Unsupported(NOT_IMPLEMENTED.into()),
            runtime_measurement: Support::Unsupported(NOT_IMPLEMENTED.into()),
            sealing: Support::Unsupported(NOT_IMPLEMENTED.into()),
        }
    }
    fn attester(&self) -> Result<&dyn Attester> {
        Err(Error::unsupported(
            Platform::SevSnp,
            Operation::Attestation,
            NOT_IMPLEMENTED,
        ))
    }
    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::SevSnp,
            Operation::RuntimeMeasurement,
            NOT_IMPLEMENTED,
        ))
    }
    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::unsupported(
            Platform::SevSnp,
            Operation::Sealing,
            NOT_IMPLEMENTED,
        ))
    }
}

/// Verifier for AMD SEV-SNP evidence.
#[derive(Debug, Default)]
pub struct SnpVerifier {
    _private: (),
}

impl SnpVerifier {
    /// A verifier with the vendor's pinned roots.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl Verifier for SnpVerifier {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }
    fn verify(&self, _evidence: &Evidence, _at: UnixTime) -> Result<Verified<Claims>> {
        Err(Error::unsupported(
            Platform::SevSnp,
            Operation::Verification,
            NOT_IMPLEMENTED,
        ))
    }
}
