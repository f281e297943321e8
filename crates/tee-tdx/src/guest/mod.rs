//! The guest side (placeholder while the verifier lands).

use tee_core::{
    Attester, Backend, Capabilities, Error, Operation, Platform, Result, RuntimeMeasurement,
    Sealer, Support,
};

/// Why TDX cannot seal.
pub const SEALING_UNSUPPORTED: &str = "TDX has no guest sealing key (TDG.MR.KEY.GET is not available to guests); \
     use a key broker that releases a key after verifying this TD's attestation";

/// The Intel TDX guest backend.
#[derive(Debug)]
pub struct TdxBackend {
    _private: (),
}

impl TdxBackend {
    /// Open the backend on this machine.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when no TDX guest interface exists.
    pub fn open() -> Result<Self> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Open,
            "not a TDX guest",
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
            attestation: Support::Unsupported("".into()),
            runtime_measurement: Support::Unsupported("".into()),
            sealing: Support::Unsupported(SEALING_UNSUPPORTED.into()),
        }
    }
    fn attester(&self) -> Result<&dyn Attester> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Attestation,
            "",
        ))
    }
    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::RuntimeMeasurement,
            "",
        ))
    }
    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::unsupported(
            Platform::Tdx,
            Operation::Sealing,
            SEALING_UNSUPPORTED,
        ))
    }
}
