//! A simulated ultravisor: the `UV_ESM` state machine and verification
//! algorithm (model §5.2–5.3), `UV_ESMB_GET_FILE` (§8), page sharing, the
//! caller checks of the ultracall dispatcher (§3.2) and the hypercalls the
//! UV issues to the hypervisor (§3.4).
//!
//! Where the real ultravisor is silent, the choices are marked *model
//! choice* and documented in `docs/pef.md`.
//!
//! Modules by concern: `memory` (guest memory and the image a guest
//! boots), `outcome` (what `UV_ESM` reports), `caller` (who issues an
//! ultracall), `esm` (the `UV_ESM` verification), `get_file`
//! (`UV_ESMB_GET_FILE`), `pages` (page-out encryption and sharing).

mod caller;
mod esm;
mod get_file;
mod memory;
mod outcome;
mod pages;

pub use caller::Caller;
pub use memory::{ESM_BLOB_GPA, GuestImage, GuestLayout, GuestMemory};
pub use outcome::{DigestCheck, EsmFailure, EsmOutcome, HcallDisposition, SecureEntry, SvmState};

use std::collections::{BTreeMap, BTreeSet};

use crate::abi::*;
use crate::crypto::MasterKey;
use crate::sim::tpm::{SimTpm, UvTpmConfig};

use get_file::FileCtx;
use pages::PageCrypt;

#[derive(Debug)]
struct Svm {
    state: SvmState,
    pages: Option<PageCrypt>,
    key: Option<MasterKey>,
    files_fdt: Option<Vec<u8>>,
    file_ctx: BTreeMap<String, FileCtx>,
    shared: BTreeSet<u64>,
}

/// The simulated ultravisor.
#[derive(Debug)]
pub struct SimUltravisor {
    tpm: SimTpm,
    tpm_config: UvTpmConfig,
    svms: BTreeMap<u64, Svm>,
    guest_mem: BTreeMap<u64, GuestMemory>,
    /// Every hypercall issued to the hypervisor, with the LPID.
    pub hcall_log: Vec<(u64, u64)>,
}

impl SimUltravisor {
    /// Boot: the UV receives the TPM and the `ibm,uv-tpm` properties from firmware.
    pub fn new(tpm: SimTpm, tpm_config: UvTpmConfig) -> Self {
        Self {
            tpm,
            tpm_config,
            svms: BTreeMap::new(),
            guest_mem: BTreeMap::new(),
            hcall_log: Vec::new(),
        }
    }

    /// Boot a machine: run firmware on `tpm` (password rotation, PCR16
    /// lock) and start the UV with what firmware handed over.
    ///
    /// # Errors
    /// As [`SimTpm::firmware_boot`].
    pub fn boot(mut tpm: SimTpm) -> tee_core::Result<Self> {
        let cfg = tpm.firmware_boot()?;
        Ok(Self::new(tpm, cfg))
    }

    /// The TPM (for tests that probe the PCR16 assumption).
    pub fn tpm_mut(&mut self) -> &mut SimTpm {
        &mut self.tpm
    }

    /// The hypervisor makes a guest's memory available (what
    /// `H_SVM_PAGE_IN`/`UV_PAGE_IN` would deliver page by page).
    pub fn hv_provide_memory(&mut self, lpid: u64, mem: GuestMemory) {
        self.guest_mem.insert(lpid, mem);
    }

    /// The state of an SVM.
    pub fn state(&self, lpid: u64) -> Option<SvmState> {
        self.svms.get(&lpid).map(|s| s.state)
    }

    /// Pages an SVM has shared with the hypervisor.
    pub fn shared_pages(&self, lpid: u64) -> Vec<u64> {
        self.svms
            .get(&lpid)
            .map(|s| s.shared.iter().copied().collect())
            .unwrap_or_default()
    }

    fn hcall(&mut self, lpid: u64, h: u64, out: &mut Vec<u64>) {
        self.hcall_log.push((lpid, h));
        out.push(h);
    }

    /// The register-level dispatcher: r3 = function, r4.. = arguments;
    /// on return r3 = status and r4.. = outputs. `regs[i]` is `ri`.
    pub fn ultracall(&mut self, caller: Caller, regs: &mut [u64; 13]) {
        let f = regs[3];
        let rc: i64 = if HV_ONLY.contains(&f) {
            if !caller.is_hv() {
                U_PERMISSION
            } else if f == UV_SVM_TERMINATE {
                self.uv_svm_terminate(regs[4])
            } else {
                // Model choice: the remaining HV calls (page tables, SCOM,
                // memory slots) are outside the model.
                U_FUNCTION
            }
        } else {
            match f {
                UV_ESM => {
                    let o = self.uv_esm(caller, regs[4], regs[5]);
                    if let Some(e) = o.entry {
                        regs[3] = e.r3;
                        regs[4] = e.r4;
                        regs[5] = e.r5;
                        return;
                    }
                    o.guest_r3
                }
                UV_ESMB_GET_FILE => {
                    let mut name = [0u64; 8];
                    name.copy_from_slice(&regs[5..13]);
                    let (rc, data) = self.uv_esmb_get_file(caller, regs[4], &name);
                    regs[4..12].copy_from_slice(&data);
                    rc
                }
                UV_SHARE_PAGE => self.uv_share_page(caller, regs[4], regs[5], true),
                UV_UNSHARE_PAGE => self.uv_share_page(caller, regs[4], regs[5], false),
                UV_UNSHARE_ALL_PAGES => self.uv_unshare_all(caller),
                _ => U_FUNCTION,
            }
        };
        regs[3] = rc as u64;
    }

    /// A hypercall (`sc 1`) from a secure VM: the UV reflects it to the
    /// hypervisor (`Reflected`), except `H_RANDOM`, which the code answers
    /// with `H_FUNCTION` (the documentation says the UV handles it; the
    /// code marks this a security `@todo`). Never trust the hypervisor for
    /// randomness.
    pub fn svm_hcall(&mut self, caller: Caller, nr: u64) -> HcallDisposition {
        if caller.msr & MSR_S == 0 {
            return HcallDisposition::NotSecure;
        }
        if nr == H_RANDOM {
            return HcallDisposition::Returned(H_FUNCTION);
        }
        self.hcall_log.push((caller.lpid, nr));
        HcallDisposition::Reflected
    }

    /// `UV_SVM_TERMINATE(lpid)` (from the hypervisor).
    pub fn uv_svm_terminate(&mut self, lpid: u64) -> i64 {
        match self.svms.get_mut(&lpid) {
            Some(s) => {
                s.state = SvmState::Terminated;
                s.pages = None;
                s.key = None;
                s.files_fdt = None;
                s.file_ctx.clear();
                s.shared.clear();
                U_SUCCESS
            }
            None => U_PARAMETER,
        }
    }
}
