//! What `UV_ESM` and the hypercall filter report.

use crate::cpio::LocateError;
use crate::sim::tpm::TpmError;

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
