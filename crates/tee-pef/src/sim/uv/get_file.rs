//! `UV_ESMB_GET_FILE` (model §8): read-once release of attachments.

use crate::abi::*;
use crate::crypto::gcm_open;
use crate::esm::files_fdt_item;

use super::{Caller, SimUltravisor, SvmState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileCtx {
    pub(super) pid: u64,
    pub(super) last_byte_read: u64,
}

impl SimUltravisor {
    /// `UV_ESMB_GET_FILE(offset, name)` → (r3, r4..r11) (model §8).
    /// No MSR check; the caller's LPID must be a secure SVM (*model
    /// choice*: `U_PERMISSION` otherwise). A name that is not attached gives
    /// [`ESMB_FILE_NOT_FOUND`] (−1, the ultravisor's `-FDT_ERR_NOTFOUND`
    /// passed through). Read-once per boot: the first call binds the file to
    /// the caller's PID; later calls need the same PID and
    /// `offset ≥ last_byte_read`, else `U_PARAMETER`.
    pub fn uv_esmb_get_file(
        &mut self,
        caller: Caller,
        offset: u64,
        name: &[u64; 8],
    ) -> (i64, [u64; 8]) {
        let zero = [0u64; 8];
        let Some(svm) = self.svms.get_mut(&caller.lpid) else {
            return (U_PERMISSION, zero);
        };
        if svm.state != SvmState::Secure {
            return (U_PERMISSION, zero);
        }
        if offset >= ESMB_MAX_OFFSET {
            // An assert in the real UV; the model refuses instead.
            return (U_PARAMETER, zero);
        }
        let raw = unpack_regs(name);
        let n = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let Ok(fname) = core::str::from_utf8(raw.get(..n).unwrap_or(&[])) else {
            return (U_PARAMETER, zero);
        };
        let (Some(files), Some(key)) = (svm.files_fdt.as_ref(), svm.key.as_ref()) else {
            return (U_PARAMETER, zero);
        };
        let Some(item) = files_fdt_item(files, fname) else {
            // svm_esmb_file_get's -FDT_ERR_NOTFOUND, returned unchanged.
            return (ESMB_FILE_NOT_FOUND, zero);
        };
        let Some(pt) = gcm_open(key, &item.iv, &item.mac, &item.ciphertext) else {
            return (U_PARAMETER, zero);
        };
        let ctx = svm.file_ctx.entry(fname.to_owned()).or_insert(FileCtx {
            pid: caller.pid,
            last_byte_read: 0,
        });
        if ctx.pid != caller.pid || offset < ctx.last_byte_read {
            return (U_PARAMETER, zero);
        }
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(pt.len());
        let chunk = pt.get(start..).unwrap_or(&[]);
        let chunk = chunk.get(..ESMB_CHUNK.min(chunk.len())).unwrap_or(&[]);
        ctx.last_byte_read = offset + chunk.len() as u64;
        (chunk.len() as i64, pack_regs(chunk))
    }
}
