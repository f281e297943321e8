//! The seam for a TPM device (vTPM in a confidential VM).
//!
//! A TPM 2.0 is driven by command buffers (TPM 2.0 Part 3): the caller
//! marshals a command, the transport delivers it and returns the response
//! buffer, the caller unmarshals it. On Linux the resource-managed device
//! `/dev/tpmrm0` carries exactly one command per `write(2)` and its response
//! per `read(2)`.
//!
//! What is here: the [`TpmTransport`] trait, so code that talks to a TPM can
//! be written and tested against a fake now. What comes with the TPM issue:
//! a `/dev/tpmrm0` transport, command marshalling (quote, PCR read, NV read
//! of endorsement certificates) and a fake TPM in `testing`. Nothing in
//! this crate claims to talk to a TPM yet.

use std::fmt::Debug;

use tee_core::Result;

/// Largest TPM 2.0 command or response buffer (`TPM_MAX_COMMAND_SIZE` of
/// common implementations, and the Linux driver's `TPM_BUFSIZE`).
pub const TPM_MAX_BUFFER: usize = 4096;

/// A TPM command transport: one command buffer in, one response buffer out.
pub trait TpmTransport: Send + Sync + Debug {
    /// Send `command` (a marshalled TPM 2.0 command, at most
    /// [`TPM_MAX_BUFFER`] bytes) and return the response buffer exactly as
    /// received. The transport does not interpret either; a TPM error is a
    /// response code in the response, not an `Err`.
    ///
    /// # Errors
    /// [`tee_core::Error::Device`] when the command cannot be delivered or
    /// no response can be read (kinds as [`crate::io_error`] maps them);
    /// [`tee_core::Error::Misuse`] for a command over [`TPM_MAX_BUFFER`].
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>>;
}
