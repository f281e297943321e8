//! A process inside a simulated secure VM: the `UV_ESMB_GET_FILE`
//! transport over a shared [`SimUltravisor`].

use std::sync::{Arc, Mutex};

use tee_core::{DeviceErrorKind, Error, Result};

use crate::abi::UV_ESMB_GET_FILE;
use crate::guest::{EsmbGetFile, INTERFACE};
use crate::sim::uv::{Caller, SimUltravisor};

/// A process inside a simulated SVM, issuing ultracalls to a shared
/// [`SimUltravisor`].
#[derive(Debug, Clone)]
pub struct SimSvmProcess {
    uv: Arc<Mutex<SimUltravisor>>,
    caller: Caller,
}

impl SimSvmProcess {
    /// Process `pid` in partition `lpid` (user mode, MSR\[S\]=1).
    pub fn new(uv: Arc<Mutex<SimUltravisor>>, lpid: u64, pid: u64) -> Self {
        Self {
            uv,
            caller: Caller::svm_user(lpid, pid),
        }
    }
}

impl EsmbGetFile for SimSvmProcess {
    fn esmb_get_file(&self, offset: u64, name: &[u64; 8]) -> Result<(i64, [u64; 8])> {
        let mut regs = [0u64; 13];
        regs[3] = UV_ESMB_GET_FILE;
        regs[4] = offset;
        regs[5..13].copy_from_slice(name);
        let mut uv = self.uv.lock().map_err(|_| {
            Error::device(DeviceErrorKind::Io, INTERFACE, "simulator lock poisoned")
        })?;
        uv.ultracall(self.caller, &mut regs);
        let mut data = [0u64; 8];
        data.copy_from_slice(&regs[4..12]);
        Ok((regs[3] as i64, data))
    }
}
