#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod detect;

use std::path::Path;

pub use detect::{Detection, Probe, detect, detect_with_root};
pub use tee_core::*;
pub use tee_mock as mock;
pub use {tee_pef as pef, tee_sev as sev, tee_tdx as tdx};

/// Open the backend for `platform` on this machine.
///
/// The mock is opened only when asked for by name: `open(Platform::Mock)`.
///
/// # Errors
/// [`Error::Unsupported`] or [`Error::Device`] when the platform's guest
/// interfaces are not present or the backend is not available.
pub fn open(platform: Platform) -> Result<Box<dyn Backend>> {
    match platform {
        Platform::SevSnp => Ok(Box::new(tee_sev::SevBackend::open()?)),
        Platform::Tdx => Ok(Box::new(tee_tdx::TdxBackend::open()?)),
        Platform::Pef => Ok(Box::new(tee_pef::PefBackend::open()?)),
        Platform::Mock => Ok(Box::new(tee_mock::MockBackend::new())),
        other => Err(Error::unsupported(
            other,
            Operation::Open,
            "unknown platform",
        )),
    }
}

/// Detect this machine's TEE and open its backend. Never falls back to the
/// mock.
///
/// # Errors
/// [`Error::Device`] with kind `NotFound` when no hardware TEE is detected
/// (the message lists what was probed); errors of [`open`] otherwise.
pub fn open_detected() -> Result<Box<dyn Backend>> {
    open_detected_with_root(Path::new("/"))
}

/// [`open_detected`] with the probed filesystem rooted at `root` (tests).
///
/// # Errors
/// As [`open_detected`].
pub fn open_detected_with_root(root: &Path) -> Result<Box<dyn Backend>> {
    let d = detect_with_root(root);
    match d.detected {
        Some(p) => open(p),
        None => Err(Error::device(
            DeviceErrorKind::NotFound,
            "TEE guest interfaces",
            format_args!("no hardware TEE detected ({})", d.summary()),
        )),
    }
}

/// A set of verifiers, one per platform, dispatching by the evidence's platform.
///
/// [`Verifiers::new`] uses each vendor's pinned roots and does **not** trust
/// the mock root; call [`Verifiers::trust_mock_root`] to accept mock evidence
/// at the authenticity step (appraisal still denies it unless `allow_mock`).
#[derive(Debug)]
pub struct Verifiers {
    sev_snp: Box<dyn Verifier>,
    tdx: Box<dyn Verifier>,
    pef: Box<dyn Verifier>,
    mock: Box<dyn Verifier>,
}

impl Default for Verifiers {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifiers {
    /// Verifiers with pinned vendor roots; the mock root untrusted.
    pub fn new() -> Self {
        Self {
            sev_snp: Box::new(tee_sev::SnpVerifier::new()),
            tdx: Box::new(tee_tdx::TdxVerifier::new()),
            pef: Box::new(tee_pef::PefVerifier::new()),
            mock: Box::new(tee_mock::MockVerifier::new()),
        }
    }

    /// Trust the mock root (tests and demos). **NO SECURITY.**
    #[must_use]
    pub fn trust_mock_root(mut self) -> Self {
        self.mock = Box::new(tee_mock::MockVerifier::trusting_mock_root());
        self
    }

    /// Replace the verifier for its platform (e.g. one configured with
    /// collateral, or a PEF verifier holding the owner's key).
    #[must_use]
    pub fn with(mut self, verifier: Box<dyn Verifier>) -> Self {
        match verifier.platform() {
            Platform::SevSnp => self.sev_snp = verifier,
            Platform::Tdx => self.tdx = verifier,
            Platform::Pef => self.pef = verifier,
            _ => self.mock = verifier,
        }
        self
    }

    /// The verifier for `platform`.
    pub fn get(&self, platform: Platform) -> &dyn Verifier {
        match platform {
            Platform::SevSnp => &*self.sev_snp,
            Platform::Tdx => &*self.tdx,
            Platform::Pef => &*self.pef,
            _ => &*self.mock,
        }
    }

    /// Verify evidence with the verifier for its platform.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify(&self, evidence: &Evidence, at: UnixTime) -> Result<Verified<Claims>> {
        self.get(evidence.platform).verify(evidence, at)
    }
}

/// The repository README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
