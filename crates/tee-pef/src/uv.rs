//! A simulated ultravisor: the `UV_ESM` state machine and verification
//! algorithm (model §5.2–5.3), `UV_ESMB_GET_FILE` (§8), page sharing, the
//! caller checks of the ultracall dispatcher (§3.2) and the hypercalls the
//! UV issues to the hypervisor (§3.4).
//!
//! Where the real ultravisor is silent, the choices are marked *model
//! choice* and documented in `docs/pef.md`.

use std::collections::{BTreeMap, BTreeSet};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::abi::*;
use crate::cpio::{self, LocateError};
use crate::crypto::{MasterKey, gcm_open, sha512};
use crate::esm::{Digests, MAX_DIGESTS_FDT, MAX_FILES_FDT, UV_LOCKBOX, files_fdt_item};
use crate::fdt::{self, Node};
use crate::tpm::{SimTpm, TPM_CC_RSA_DECRYPT, TpmError, UvTpmConfig};

/// Sparse guest physical memory, as the hypervisor would page it in.
#[derive(Debug, Clone, Default)]
pub struct GuestMemory {
    regions: BTreeMap<u64, Vec<u8>>,
}

impl GuestMemory {
    /// An empty memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Place `bytes` at guest address `gpa`.
    pub fn load(&mut self, gpa: u64, bytes: Vec<u8>) {
        self.regions.insert(gpa, bytes);
    }

    /// The bytes from `gpa` to the end of the region containing it.
    pub fn tail(&self, gpa: u64) -> Option<&[u8]> {
        let (start, bytes) = self.regions.range(..=gpa).next_back()?;
        let off = usize::try_from(gpa.checked_sub(*start)?).ok()?;
        bytes.get(off..)
    }

    /// `len` bytes at `gpa`, if they lie within one loaded region.
    pub fn read(&self, gpa: u64, len: u64) -> Option<&[u8]> {
        self.tail(gpa)?.get(..usize::try_from(len).ok()?)
    }
}

/// Where the guest is loaded (what QEMU/SLOF and `prom_init` produce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLayout {
    /// Kernel base (`KERNELBASE`; the kernel is relocated back here before `UV_ESM`).
    pub kbase: u64,
    /// Flattened device tree address.
    pub fdt: u64,
    /// RTAS base.
    pub rtas_base: u64,
    /// Initrd start.
    pub initrd_start: u64,
}

impl Default for GuestLayout {
    fn default() -> Self {
        Self {
            kbase: 0xc000_0000_0000_0000,
            fdt: 0x0e00_0000,
            rtas_base: 0x0f00_0000,
            initrd_start: 0x0400_0000,
        }
    }
}

/// Where [`GuestImage::load`] places a zImage-linked ESM blob.
pub const ESM_BLOB_GPA: u64 = 0x0d00_0000;

/// A guest to boot: flat kernel binary, initrd (with the ESM cpio in
/// front), boot arguments and RTAS image.
#[derive(Debug, Clone)]
pub struct GuestImage {
    /// The flat kernel binary at `kbase`.
    pub kernel: Vec<u8>,
    /// The initrd as loaded (ESM cpio ‖ original initrd).
    pub initrd: Vec<u8>,
    /// The kernel command line (the FDT property adds the NUL).
    pub bootargs: String,
    /// The RTAS image (SLOF's 20-byte stub by default).
    pub rtas: Vec<u8>,
    /// A blob linked into the zImage and announced through
    /// `/chosen/linux,esm-blob-{start,end}` (the kernel wrapper's
    /// `prep_esm_blob`), instead of the initrd cpio.
    pub esm_blob: Option<Vec<u8>>,
}

impl GuestImage {
    /// A guest with SLOF's RTAS stub.
    pub fn new(kernel: Vec<u8>, initrd: Vec<u8>, bootargs: impl Into<String>) -> Self {
        Self {
            kernel,
            initrd,
            bootargs: bootargs.into(),
            rtas: crate::esm::SLOF_RTAS_STUB.to_vec(),
            esm_blob: None,
        }
    }

    /// Load into guest memory with the guest FDT (`/chosen`, `/rtas`).
    pub fn load(&self, layout: &GuestLayout) -> GuestMemory {
        let rtas_len = u32::try_from(self.rtas.len()).unwrap_or(u32::MAX);
        let initrd_end = layout.initrd_start.saturating_add(self.initrd.len() as u64);
        let mut chosen = Node::new("chosen")
            .with_str("bootargs", &self.bootargs)
            .with_u64("linux,initrd-start", layout.initrd_start)
            .with_u64("linux,initrd-end", initrd_end);
        if let Some(b) = &self.esm_blob {
            chosen = chosen
                .with_u64("linux,esm-blob-start", ESM_BLOB_GPA)
                .with_u64(
                    "linux,esm-blob-end",
                    ESM_BLOB_GPA.saturating_add(b.len() as u64),
                );
        }
        let fdt = Node::new("")
            .with_str("compatible", "qemu,pseries")
            .with_child(chosen)
            .with_child(
                Node::new("rtas")
                    .with_u32(
                        "linux,rtas-base",
                        u32::try_from(layout.rtas_base).unwrap_or(0),
                    )
                    // The RTAS area is larger than the stub; only slof,rtas-size is hashed.
                    .with_u32("rtas-size", rtas_len.saturating_add(0x1000))
                    .with_u32("slof,rtas-size", rtas_len),
            );
        let mut mem = GuestMemory::new();
        mem.load(layout.kbase, self.kernel.clone());
        mem.load(layout.initrd_start, self.initrd.clone());
        let mut rtas = self.rtas.clone();
        rtas.resize(self.rtas.len() + 0x1000, 0);
        mem.load(layout.rtas_base, rtas);
        mem.load(layout.fdt, fdt.to_dtb());
        if let Some(b) = &self.esm_blob {
            mem.load(ESM_BLOB_GPA, b.clone());
        }
        mem
    }
}

/// The life of an SVM (model §5.2 \[I\]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvmState {
    /// `H_SVM_INIT_START` issued; verification running.
    InitStarted,
    /// Verification passed; MSR\[S\]=1.
    Secure,
    /// Verification failed; `H_SVM_INIT_ABORT` issued.
    Aborted,
    /// `UV_SVM_TERMINATE` from the hypervisor.
    Terminated,
}

/// One digest comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCheck {
    /// `rtas`, `kernel`, `initrd` or `bootargs`.
    pub name: &'static str,
    /// Whether it matched.
    pub ok: bool,
    /// What the guest memory hashed to.
    pub actual: [u8; 64],
    /// The expected digest from the blob.
    pub expected: [u8; 64],
}

/// Why `UV_ESM` failed (before or at the digest comparison).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EsmFailure {
    /// The guest FDT or a property the UV reads from it is missing or bad.
    GuestFdt(String),
    /// No ESM blob in the initrd (or the esm-blob range).
    BlobNotFound(LocateError),
    /// The blob is not an FDT the UV can read.
    BlobUnreadable(String),
    /// The blob has no `lockbox-1` (the only lockbox the UV reads).
    NoLockbox1,
    /// The TPM's wrapping-key Name differs from the firmware's (key substitution).
    TpmNameMismatch,
    /// The TPM refused to unwrap `lockbox-1` (another machine's key, or a broken password).
    Unwrap(TpmError),
    /// The blob has no `/digest/digests-fdt`.
    NoDigests,
    /// The digests do not decrypt under K (modified blob).
    DigestsAuthentication,
    /// The decrypted digests FDT is unusable (missing property, too large).
    DigestsFdt(String),
    /// At least one digest did not match; all four were compared.
    DigestMismatch(Vec<&'static str>),
}

impl core::fmt::Display for EsmFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::GuestFdt(d) => write!(f, "guest FDT: {d}"),
            Self::BlobNotFound(e) => write!(f, "ESM blob not found: {e}"),
            Self::BlobUnreadable(d) => write!(f, "ESM blob unreadable: {d}"),
            Self::NoLockbox1 => {
                f.write_str("the blob has no lockbox-1 (the only lockbox the ultravisor reads)")
            }
            Self::TpmNameMismatch => {
                f.write_str("TPM wrapping key Name differs from the firmware's")
            }
            Self::Unwrap(e) => write!(f, "TPM could not unwrap lockbox-1: {e}"),
            Self::NoDigests => f.write_str("the blob has no /digest/digests-fdt"),
            Self::DigestsAuthentication => {
                f.write_str("digests do not authenticate under the unwrapped key")
            }
            Self::DigestsFdt(d) => write!(f, "digests FDT: {d}"),
            Self::DigestMismatch(n) => write!(f, "digest mismatch: {}", n.join(", ")),
        }
    }
}

/// The full result of one `UV_ESM` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsmOutcome {
    /// What the UV's ESM handler returned (`U_SUCCESS`, `U_PARAMETER`, `U_P2`, ...).
    pub uv_rc: i64,
    /// What the guest sees in r3 after `sc 2` (on the abort path the
    /// hypervisor returns `H_PARAMETER`). Unused on success: the guest
    /// re-enters at `kbase` instead.
    pub guest_r3: i64,
    /// The digest comparisons, when they ran.
    pub checks: Vec<DigestCheck>,
    /// The failure, if any.
    pub failure: Option<EsmFailure>,
    /// On success: the kexec-style entry (pc, r3, r4, r5, msr).
    pub entry: Option<SecureEntry>,
    /// Hypercalls the UV issued to the hypervisor, in order.
    pub hcalls: Vec<u64>,
}

/// What the UV does with a hypercall from a secure VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HcallDisposition {
    /// Reflected to the hypervisor (registers it does not need neutralised).
    Reflected,
    /// Answered by the UV with this return code.
    Returned(i64),
    /// The caller is not secure: the hcall goes to the hypervisor directly.
    NotSecure,
}

/// Where a guest resumes after a successful `UV_ESM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecureEntry {
    /// pc = kbase.
    pub pc: u64,
    /// r3 = fdt.
    pub r3: u64,
    /// r4 = kbase.
    pub r4: u64,
    /// r5 = 0.
    pub r5: u64,
    /// MSR with S=1, HV=0, EE=0.
    pub msr: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileCtx {
    pid: u64,
    last_byte_read: u64,
}

/// Page-out encryption (model §5.4): AES-128-GCM under a per-SVM key,
/// 12-byte IV = 4 random bytes ‖ 64-bit counter (NIST SP 800-38D
/// deterministic construction), 16-byte tag. Key, IV and tag stay in the
/// UV; the hypervisor only ever holds the ciphertext.
struct PageCrypt {
    key: Zeroizing<[u8; 16]>,
    fixed: [u8; 4],
    counter: u64,
    /// gfn → (iv, tag) of the page currently paged out.
    out: BTreeMap<u64, ([u8; 12], [u8; 16])>,
}

impl core::fmt::Debug for PageCrypt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PageCrypt")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl PageCrypt {
    fn new() -> Option<Self> {
        let mut key = Zeroizing::new([0u8; 16]);
        let mut fixed = [0u8; 4];
        crate::crypto::random_fill(key.as_mut()).ok()?;
        crate::crypto::random_fill(&mut fixed).ok()?;
        Some(Self {
            key,
            fixed,
            counter: 0,
            out: BTreeMap::new(),
        })
    }

    fn next_iv(&mut self) -> Option<[u8; 12]> {
        if self.counter == u64::MAX {
            // Counter wrap: re-randomise the fixed part.
            crate::crypto::random_fill(&mut self.fixed).ok()?;
            self.counter = 0;
        }
        let mut iv = [0u8; 12];
        iv[..4].copy_from_slice(&self.fixed);
        iv[4..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        Some(iv)
    }
}

#[derive(Debug)]
struct Svm {
    state: SvmState,
    pages: Option<PageCrypt>,
    key: Option<MasterKey>,
    files_fdt: Option<Vec<u8>>,
    file_ctx: BTreeMap<String, FileCtx>,
    shared: BTreeSet<u64>,
}

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
    fn is_hv(&self) -> bool {
        self.msr & (MSR_HV | MSR_PR | MSR_S) == MSR_HV
    }

    fn is_supervisor(&self) -> bool {
        self.msr & (MSR_HV | MSR_PR) == 0
    }
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

    /// `UV_ESM(kbase, fdt)` from `caller` (model §5.2).
    pub fn uv_esm(&mut self, caller: Caller, kbase: u64, fdt_addr: u64) -> EsmOutcome {
        let early = |rc: i64| EsmOutcome {
            uv_rc: rc,
            guest_r3: rc,
            checks: Vec::new(),
            failure: None,
            entry: None,
            hcalls: Vec::new(),
        };
        if kbase == 0 {
            return early(U_P2);
        }
        if fdt_addr == 0 {
            return early(U_P3);
        }
        if caller.lpid == 0 || !caller.is_supervisor() {
            return early(U_PERMISSION);
        }
        if caller.msr & MSR_S != 0 {
            // Model choice: the code does not test for it; an already
            // secure VM is rejected rather than re-verified.
            return early(U_STATE);
        }
        if self.svms.contains_key(&caller.lpid) {
            // create_svm fails for an LPID that already has an SVM.
            return early(U_RETRY);
        }
        self.svms.insert(
            caller.lpid,
            Svm {
                state: SvmState::InitStarted,
                pages: PageCrypt::new(),
                key: None,
                files_fdt: None,
                file_ctx: BTreeMap::new(),
                shared: BTreeSet::new(),
            },
        );
        let mut hcalls = Vec::new();
        self.hcall(caller.lpid, H_SVM_INIT_START, &mut hcalls);
        self.hcall(caller.lpid, H_SVM_PAGE_IN, &mut hcalls);
        let tpm_before = self.tpm.commands;
        let mem = self
            .guest_mem
            .get(&caller.lpid)
            .cloned()
            .unwrap_or_default();
        let result = self.esm_blob_chk(&mem, kbase, fdt_addr);
        for _ in tpm_before..self.tpm.commands {
            self.hcall(caller.lpid, H_SVM_TPM_COMM, &mut hcalls);
        }
        match result {
            Ok((checks, key, files_fdt)) => {
                self.hcall(caller.lpid, H_SVM_INIT_DONE, &mut hcalls);
                if let Some(s) = self.svms.get_mut(&caller.lpid) {
                    s.state = SvmState::Secure;
                    s.key = Some(key);
                    s.files_fdt = files_fdt;
                }
                EsmOutcome {
                    uv_rc: U_SUCCESS,
                    guest_r3: U_SUCCESS,
                    checks,
                    failure: None,
                    entry: Some(SecureEntry {
                        pc: kbase,
                        r3: fdt_addr,
                        r4: kbase,
                        r5: 0,
                        msr: (caller.msr | MSR_S) & !(MSR_HV | MSR_EE | MSR_PR),
                    }),
                    hcalls,
                }
            }
            Err((checks, failure)) => {
                // Not yet secure: abort; the HV terminates the SVM and the
                // guest sees H_PARAMETER after its `sc 2`.
                self.hcall(caller.lpid, H_SVM_INIT_ABORT, &mut hcalls);
                if let Some(s) = self.svms.get_mut(&caller.lpid) {
                    s.state = SvmState::Aborted;
                }
                EsmOutcome {
                    uv_rc: U_PARAMETER,
                    guest_r3: H_PARAMETER,
                    checks,
                    failure: Some(failure),
                    entry: None,
                    hcalls,
                }
            }
        }
    }

    /// Unwrap K through the TPM exactly as UV_TSS_Decrypt does (model §6.2).
    fn tpm_unwrap(&mut self, symkey: &[u8]) -> Result<MasterKey, EsmFailure> {
        let cfg = self.tpm_config.clone();
        let (_, name) = self
            .tpm
            .read_public(cfg.handle)
            .map_err(EsmFailure::Unwrap)?;
        if !bool::from(name.as_slice().ct_eq(&cfg.public_name)) {
            return Err(EsmFailure::TpmNameMismatch);
        }
        let mut s = self.tpm.start_policy_session();
        self.tpm.policy_command_code(&mut s, TPM_CC_RSA_DECRYPT);
        self.tpm.policy_auth_value(&mut s);
        self.tpm
            .policy_or(&mut s, &[cfg.policy_a, cfg.policy_b])
            .map_err(EsmFailure::Unwrap)?;
        let pw = cfg.passwd.strip_suffix(&[0]).unwrap_or(&cfg.passwd);
        self.tpm
            .rsa_decrypt(cfg.handle, symkey, &s, pw)
            .map_err(EsmFailure::Unwrap)
    }

    #[allow(clippy::type_complexity)]
    fn esm_blob_chk(
        &mut self,
        mem: &GuestMemory,
        kbase: u64,
        fdt_addr: u64,
    ) -> Result<(Vec<DigestCheck>, MasterKey, Option<Vec<u8>>), (Vec<DigestCheck>, EsmFailure)>
    {
        let fail = |f: EsmFailure| (Vec::new(), f);
        let gf = |d: &str| fail(EsmFailure::GuestFdt(d.into()));
        let fdt_bytes = mem
            .tail(fdt_addr)
            .ok_or_else(|| gf("no memory at the FDT address"))?;
        let (guest_fdt, _) = fdt::parse_prefix(fdt_bytes).map_err(|e| gf(&e.to_string()))?;
        let rtas = guest_fdt.child("rtas").ok_or_else(|| gf("/rtas missing"))?;
        let rtas_base = rtas
            .prop_uint("linux,rtas-base")
            .ok_or_else(|| gf("/rtas/linux,rtas-base missing"))?;
        rtas.prop_uint("rtas-size")
            .ok_or_else(|| gf("/rtas/rtas-size missing"))?;
        let slof_size = rtas
            .prop_uint("slof,rtas-size")
            .ok_or_else(|| gf("/rtas/slof,rtas-size missing"))?;
        let chosen = guest_fdt
            .child("chosen")
            .ok_or_else(|| gf("/chosen missing"))?;
        let initrd_start = chosen
            .prop_uint("linux,initrd-start")
            .ok_or_else(|| gf("linux,initrd-start missing"))?;
        let initrd_end = chosen
            .prop_uint("linux,initrd-end")
            .ok_or_else(|| gf("linux,initrd-end missing"))?;
        let bootargs = chosen
            .prop("bootargs")
            .ok_or_else(|| gf("/chosen/bootargs missing"))?;
        let initrd = initrd_end
            .checked_sub(initrd_start)
            .and_then(|len| mem.read(initrd_start, len))
            .ok_or_else(|| gf("initrd range not in guest memory"))?;

        // Step 1: locate the blob.
        let (blob_bytes, measured_initrd) = match (
            chosen.prop_uint("linux,esm-blob-start"),
            chosen.prop_uint("linux,esm-blob-end"),
        ) {
            (Some(s), Some(e)) => {
                let b = e
                    .checked_sub(s)
                    .and_then(|l| mem.read(s, l))
                    .ok_or_else(|| gf("esm-blob range not in memory"))?;
                (b, initrd)
            }
            _ => {
                let loc =
                    cpio::locate_esm(initrd).map_err(|e| fail(EsmFailure::BlobNotFound(e)))?;
                let b = initrd
                    .get(loc.blob_offset..loc.blob_offset.saturating_add(loc.blob_max_len))
                    .unwrap_or(&[]);
                (b, initrd.get(loc.measured_from..).unwrap_or(&[]))
            }
        };
        let (blob, _) = fdt::parse_prefix(blob_bytes)
            .map_err(|e| fail(EsmFailure::BlobUnreadable(e.to_string())))?;

        // Step 2: copy files-fdt (optional; errors ignored).
        let files_fdt = blob
            .lookup("/file")
            .and_then(|f| f.prop("files-fdt"))
            .filter(|f| f.len() <= MAX_FILES_FDT)
            .map(<[u8]>::to_vec);

        // Step 3: unwrap K from lockbox-1 only.
        let symkey = blob
            .lookup("/lockboxes")
            .and_then(|l| l.child(UV_LOCKBOX))
            .and_then(|l| l.prop("encrypted-symkey"))
            .ok_or_else(|| fail(EsmFailure::NoLockbox1))?;
        let key = self.tpm_unwrap(symkey).map_err(fail)?;

        // Step 4: decrypt the digests.
        let d = blob
            .lookup("/digest/digests-fdt")
            .ok_or_else(|| fail(EsmFailure::NoDigests))?;
        let (Some(iv), Some(mac), Some(ct)) = (d.prop("iv"), d.prop("mac"), d.prop("ciphertext"))
        else {
            return Err(fail(EsmFailure::NoDigests));
        };
        if ct.len() > MAX_DIGESTS_FDT {
            return Err(fail(EsmFailure::DigestsFdt(
                "digests FDT exceeds the 4 KiB buffer".into(),
            )));
        }
        let pt: Zeroizing<Vec<u8>> =
            gcm_open(&key, iv, mac, ct).ok_or_else(|| fail(EsmFailure::DigestsAuthentication))?;
        let expected =
            Digests::from_fdt(&pt).map_err(|e| fail(EsmFailure::DigestsFdt(e.to_string())))?;

        // Step 5: compare all four; collect every failure.
        let rtas_bytes = mem
            .read(rtas_base, slof_size)
            .ok_or_else(|| gf("RTAS range not in guest memory"))?;
        let kernel_digest = kernel_sha512(
            mem.tail(kbase).ok_or_else(|| gf("no memory at kbase"))?,
            expected.kernel_size,
        );
        let args = bootargs
            .split_last()
            .map(|(_, a)| a)
            .ok_or_else(|| gf("bootargs empty"))?;
        let checks = vec![
            check("rtas", sha512(rtas_bytes), expected.rtas),
            check("kernel", kernel_digest, expected.kernel),
            check("initrd", sha512(measured_initrd), expected.initrd),
            check("bootargs", sha512(args), expected.bootargs),
        ];
        let failed: Vec<&'static str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
        if failed.is_empty() {
            Ok((checks, key, files_fdt))
        } else {
            Err((checks, EsmFailure::DigestMismatch(failed)))
        }
    }

    /// `UV_ESMB_GET_FILE(offset, name)` → (r3, r4..r11) (model §8).
    /// No MSR check; the caller's LPID must be a secure SVM (*model
    /// choice*: `U_PERMISSION` otherwise). Read-once per boot: the first call
    /// binds the file to the caller's PID; later calls need the same PID
    /// and `offset ≥ last_byte_read`, else `U_PARAMETER`.
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
            return (U_PARAMETER, zero);
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

    /// `UV_PAGE_OUT` as the hypervisor sees it: the UV evicts a secure
    /// page and hands back only AES-128-GCM ciphertext.
    /// `None` for an SVM that is not secure.
    pub fn hv_page_out(&mut self, lpid: u64, gfn: u64, page: &[u8]) -> Option<Vec<u8>> {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let svm = self
            .svms
            .get_mut(&lpid)
            .filter(|s| s.state == SvmState::Secure)?;
        let pc = svm.pages.as_mut()?;
        let iv = pc.next_iv()?;
        let cipher = aes_gcm::Aes128Gcm::new_from_slice(pc.key.as_ref()).ok()?;
        let mut buf = page.to_vec();
        let tag = cipher
            .encrypt_inout_detached(
                &aes_gcm::Nonce::from(iv),
                &gfn.to_be_bytes(),
                buf.as_mut_slice().into(),
            )
            .ok()?;
        pc.out.insert(gfn, (iv, tag.into()));
        self.hcall_log.push((lpid, H_SVM_PAGE_OUT));
        Some(buf)
    }

    /// `UV_PAGE_IN` of a page previously paged out: the UV decrypts and
    /// authenticates it (`None` if the hypervisor modified or replayed it).
    pub fn hv_page_in(&mut self, lpid: u64, gfn: u64, ciphertext: &[u8]) -> Option<Vec<u8>> {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let svm = self
            .svms
            .get_mut(&lpid)
            .filter(|s| s.state == SvmState::Secure)?;
        let pc = svm.pages.as_mut()?;
        let (iv, tag) = pc.out.remove(&gfn)?;
        let cipher = aes_gcm::Aes128Gcm::new_from_slice(pc.key.as_ref()).ok()?;
        let mut buf = ciphertext.to_vec();
        cipher
            .decrypt_inout_detached(
                &aes_gcm::Nonce::from(iv),
                &gfn.to_be_bytes(),
                buf.as_mut_slice().into(),
                &aes_gcm::Tag::from(tag),
            )
            .ok()?;
        Some(buf)
    }

    fn uv_share_page(&mut self, caller: Caller, gfn: u64, npages: u64, share: bool) -> i64 {
        if !caller.is_supervisor() || caller.msr & MSR_S == 0 {
            return U_PERMISSION;
        }
        let Some(svm) = self
            .svms
            .get_mut(&caller.lpid)
            .filter(|s| s.state == SvmState::Secure)
        else {
            return U_PERMISSION;
        };
        if npages == 0 || gfn.checked_add(npages).is_none() {
            return U_PARAMETER;
        }
        for g in gfn..gfn + npages.min(1 << 20) {
            if share {
                svm.shared.insert(g);
            } else {
                svm.shared.remove(&g);
            }
        }
        U_SUCCESS
    }

    fn uv_unshare_all(&mut self, caller: Caller) -> i64 {
        if !caller.is_supervisor() || caller.msr & MSR_S == 0 {
            return U_PERMISSION;
        }
        match self
            .svms
            .get_mut(&caller.lpid)
            .filter(|s| s.state == SvmState::Secure)
        {
            Some(svm) => {
                svm.shared.clear();
                U_SUCCESS
            }
            None => U_PERMISSION,
        }
    }
}

/// SHA-512 of `kernel_size` bytes of guest memory at kbase. The UV hashes
/// whatever that memory holds; past the loaded image it reads as zero
/// pages here. Zero padding is hashed in chunks (no allocation) up to 256 MiB;
/// beyond that the digest is taken over the image alone, which then cannot
/// match a digest over `kernel_size` bytes.
fn kernel_sha512(image: &[u8], kernel_size: u32) -> [u8; 64] {
    use sha2::{Digest, Sha512};
    const MAX_PAD: usize = 256 << 20;
    let want = usize::try_from(kernel_size).unwrap_or(usize::MAX);
    let have = image.get(..want.min(image.len())).unwrap_or(image);
    let pad = want.saturating_sub(have.len());
    let mut h = Sha512::new();
    h.update(have);
    if pad > MAX_PAD {
        return h.finalize().into();
    }
    let zeros = [0u8; 4096];
    let mut left = pad;
    while left > 0 {
        let n = left.min(zeros.len());
        h.update(zeros.get(..n).unwrap_or(&[]));
        left -= n;
    }
    h.finalize().into()
}

fn check(name: &'static str, actual: [u8; 64], expected: [u8; 64]) -> DigestCheck {
    DigestCheck {
        name,
        ok: bool::from(actual.ct_eq(&expected)),
        actual,
        expected,
    }
}
