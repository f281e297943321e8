//! The caller of an ultracall (partition, process, MSR).

use crate::abi::*;

/// The caller of an ultracall: its partition, process and MSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// LPID (0 is the hypervisor's own partition).
    pub lpid: u64,
    /// PIDR of the calling process.
    pub pid: u64,
    /// MSR at the time of `sc 2`.
    pub msr: u64,
}

impl Caller {
    /// The hypervisor (HV=1, PR=0).
    pub fn hypervisor() -> Self {
        Self {
            lpid: 0,
            pid: 0,
            msr: MSR_HV,
        }
    }

    /// A guest kernel (supervisor) before secure mode.
    pub fn guest_kernel(lpid: u64) -> Self {
        Self {
            lpid,
            pid: 0,
            msr: 0,
        }
    }

    /// A secure guest kernel (S=1, supervisor).
    pub fn svm_kernel(lpid: u64) -> Self {
        Self {
            lpid,
            pid: 0,
            msr: MSR_S,
        }
    }

    /// A process in a secure guest (S=1, PR=1).
    pub fn svm_user(lpid: u64, pid: u64) -> Self {
        Self {
            lpid,
            pid,
            msr: MSR_S | MSR_PR,
        }
    }

    /// The hypervisor: HV=1, PR=0, S=0 (S=1 with HV=1 is the ultravisor itself).
    pub(super) fn is_hv(&self) -> bool {
        self.msr & (MSR_HV | MSR_PR | MSR_S) == MSR_HV
    }

    pub(super) fn is_supervisor(&self) -> bool {
        self.msr & (MSR_HV | MSR_PR) == 0
    }
}
