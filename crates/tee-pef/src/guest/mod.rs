//! The guest side of `UV_ESMB_GET_FILE`: the ultracall behind a small
//! trait, the client loop of svm-password-agent's `esmb-get-file`, and the
//! native transport (`native`, over the crate's `sys` module). The
//! implementation over the simulated ultravisor is
//! `SimSvmProcess` (feature `sim`).

mod native;

use tee_core::{DeviceErrorKind, Error, Result};
use zeroize::Zeroizing;

use crate::abi::{
    ESMB_CHUNK, ESMB_FILE_NOT_FOUND, ESMB_MAX_OFFSET, U_PARAMETER, U_PERMISSION, pack_regs,
    unpack_regs,
};

#[cfg(feature = "sim")]
pub use crate::sim::SimSvmProcess;
pub(crate) use native::NoUltracalls;
pub use native::{NATIVE_AVAILABLE, NATIVE_UNSUPPORTED, NativeUltracalls};

/// The `UV_ESMB_GET_FILE` ultracall as a guest process issues it:
/// r4 = offset, r5..r12 = name (big-endian, zero-padded) → r3 = bytes
/// returned (0..=64) or a negative `U_*` code, r4..r11 = data.
pub trait EsmbGetFile: Send + Sync + core::fmt::Debug {
    /// Issue one call.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when ultracalls are not available in this
    /// build or on this machine; [`Error::Device`] for transport failures.
    fn esmb_get_file(&self, offset: u64, name: &[u64; 8]) -> Result<(i64, [u64; 8])>;
}

/// The interface name used in device errors.
pub const INTERFACE: &str = "UV_ESMB_GET_FILE ultracall";

/// Read a whole attachment: call with increasing offsets until 0 bytes
/// come back. **Read-once per boot**: a second read of the same name, or
/// a read from another process, fails with `U_PARAMETER`; cache the result.
///
/// # Errors
/// [`Error::Misuse`] for a name over 64 bytes or containing NUL;
/// [`Error::Device`] with [`DeviceErrorKind::Firmware`] carrying the `U_*`
/// code when the ultravisor refuses; errors of the transport.
pub fn read_file(uc: &dyn EsmbGetFile, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    if name.is_empty() || name.len() > 64 || name.contains('\0') {
        return Err(Error::Misuse(
            "ESM attachment names are 1..=64 bytes without NUL".into(),
        ));
    }
    let regs = pack_regs(name.as_bytes());
    let mut out = Zeroizing::new(Vec::new());
    loop {
        let offset = out.len() as u64;
        if offset >= ESMB_MAX_OFFSET {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                INTERFACE,
                "attachment larger than 64 KiB",
            ));
        }
        let (rc, data) = uc.esmb_get_file(offset, &regs)?;
        if rc == 0 {
            return Ok(out);
        }
        let n = usize::try_from(rc).map_err(|_| {
            let why = match rc {
                ESMB_FILE_NOT_FOUND => "-FDT_ERR_NOTFOUND: no attachment of that name in the blob",
                U_PARAMETER => "U_PARAMETER: already read this boot (read-once) or by another process, or it does not decrypt",
                U_PERMISSION => "U_PERMISSION: this partition is not a secure VM",
                _ => "ultravisor error",
            };
            Error::device(DeviceErrorKind::Firmware(rc as u64), INTERFACE, format_args!("reading `{name}`: {why} ({rc})"))
        })?;
        if n > ESMB_CHUNK {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                INTERFACE,
                "more than 64 bytes in one chunk",
            ));
        }
        let bytes = Zeroizing::new(unpack_regs(&data));
        out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
    }
}
