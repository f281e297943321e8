//! Ultracall and hypercall numbers, return codes and MSR bits (model §3,
//! from `open-power/ultravisor:include/uapi_uvcall.h`, `hvcall.h`).

/// `UV_WRITE_PATE` (HV only).
pub const UV_WRITE_PATE: u64 = 0xF104;
/// `UV_RESTRICTED_SPR_WRITE` (HV only).
pub const UV_RESTRICTED_SPR_WRITE: u64 = 0xF108;
/// `UV_RESTRICTED_SPR_READ` (HV only).
pub const UV_RESTRICTED_SPR_READ: u64 = 0xF10C;
/// `UV_ESM`: enter secure mode (guest supervisor; args kbase, fdt).
pub const UV_ESM: u64 = 0xF110;
/// `UV_READ_SCOM` (HV only).
pub const UV_READ_SCOM: u64 = 0xF114;
/// `UV_WRITE_SCOM` (HV only).
pub const UV_WRITE_SCOM: u64 = 0xF118;
/// `UV_RETURN` (HV only).
pub const UV_RETURN: u64 = 0xF11C;
/// `UV_REGISTER_MEM_SLOT` (HV only).
pub const UV_REGISTER_MEM_SLOT: u64 = 0xF120;
/// `UV_UNREGISTER_MEM_SLOT` (HV only).
pub const UV_UNREGISTER_MEM_SLOT: u64 = 0xF124;
/// `UV_PAGE_IN` (HV only).
pub const UV_PAGE_IN: u64 = 0xF128;
/// `UV_PAGE_OUT` (HV only).
pub const UV_PAGE_OUT: u64 = 0xF12C;
/// `UV_SHARE_PAGE` (SVM supervisor, MSR\[S\]=1).
pub const UV_SHARE_PAGE: u64 = 0xF130;
/// `UV_UNSHARE_PAGE` (SVM supervisor, MSR\[S\]=1).
pub const UV_UNSHARE_PAGE: u64 = 0xF134;
/// `UV_PAGE_INVAL` (HV only).
pub const UV_PAGE_INVAL: u64 = 0xF138;
/// `UV_SVM_TERMINATE` (HV only).
pub const UV_SVM_TERMINATE: u64 = 0xF13C;
/// `UV_UNSHARE_ALL_PAGES` (SVM supervisor, MSR\[S\]=1).
pub const UV_UNSHARE_ALL_PAGES: u64 = 0xF140;
/// `UV_READ_MEM` (HV / skiboot).
pub const UV_READ_MEM: u64 = 0xF144;
/// `UV_WRITE_MEM` (HV / skiboot).
pub const UV_WRITE_MEM: u64 = 0xF148;
/// `UV_ESMB_GET_FILE`: read an ESM attachment (no MSR check; SVM LPID).
pub const UV_ESMB_GET_FILE: u64 = 0xF14C;
/// `UV_SEND_SBE_COMMAND` (HV / skiboot).
pub const UV_SEND_SBE_COMMAND: u64 = 0xF150;

/// The ultracalls only the hypervisor may make.
pub const HV_ONLY: [u64; 15] = [
    UV_WRITE_PATE,
    UV_RESTRICTED_SPR_WRITE,
    UV_RESTRICTED_SPR_READ,
    UV_READ_SCOM,
    UV_WRITE_SCOM,
    UV_RETURN,
    UV_REGISTER_MEM_SLOT,
    UV_UNREGISTER_MEM_SLOT,
    UV_PAGE_IN,
    UV_PAGE_OUT,
    UV_PAGE_INVAL,
    UV_SVM_TERMINATE,
    UV_READ_MEM,
    UV_WRITE_MEM,
    UV_SEND_SBE_COMMAND,
];

/// `U_SUCCESS`.
pub const U_SUCCESS: i64 = 0;
/// `U_BUSY` as Linux defines it (`H_BUSY`); the UV's internal value collides with `U_FUNCTION`.
pub const U_BUSY: i64 = 1;
/// `U_FUNCTION`.
pub const U_FUNCTION: i64 = -2;
/// `U_PARAMETER`.
pub const U_PARAMETER: i64 = -4;
/// `U_RETRY`.
pub const U_RETRY: i64 = -5;
/// `U_PERMISSION`.
pub const U_PERMISSION: i64 = -11;
/// `U_P2`.
pub const U_P2: i64 = -55;
/// `U_P3`.
pub const U_P3: i64 = -56;
/// `U_P4`.
pub const U_P4: i64 = -57;
/// `U_P5`.
pub const U_P5: i64 = -58;
/// `U_BAD_MODE`.
pub const U_BAD_MODE: i64 = -59;
/// `U_STATE`.
pub const U_STATE: i64 = -75;

/// `H_PARAMETER`: what the guest sees from a failed `UV_ESM` (abort path).
pub const H_PARAMETER: i64 = -4;

/// `H_FUNCTION`.
pub const H_FUNCTION: i64 = -2;
/// `H_RANDOM` (PAPR hypercall 0x300).
pub const H_RANDOM: u64 = 0x300;

/// `H_SVM_PAGE_IN`.
pub const H_SVM_PAGE_IN: u64 = 0xEF00;
/// `H_SVM_PAGE_OUT`.
pub const H_SVM_PAGE_OUT: u64 = 0xEF04;
/// `H_SVM_INIT_START`.
pub const H_SVM_INIT_START: u64 = 0xEF08;
/// `H_SVM_INIT_DONE`.
pub const H_SVM_INIT_DONE: u64 = 0xEF0C;
/// `H_SVM_TPM_COMM`.
pub const H_SVM_TPM_COMM: u64 = 0xEF10;
/// `H_SVM_INIT_ABORT`.
pub const H_SVM_INIT_ABORT: u64 = 0xEF14;

/// MSR\[S\] (IBM bit 41): secure.
pub const MSR_S: u64 = 1 << 22;
/// MSR\[HV\] (IBM bit 3): hypervisor.
pub const MSR_HV: u64 = 1 << 60;
/// MSR\[PR\] (IBM bit 49): problem state (userspace).
pub const MSR_PR: u64 = 1 << 14;
/// MSR\[EE\] (IBM bit 48): external interrupts enabled.
pub const MSR_EE: u64 = 1 << 15;

/// Largest chunk `UV_ESMB_GET_FILE` returns (eight registers).
pub const ESMB_CHUNK: usize = 64;
/// `UV_ESMB_GET_FILE` offsets must be below 64 KiB.
pub const ESMB_MAX_OFFSET: u64 = 64 * 1024;
/// What `UV_ESMB_GET_FILE` returns in r3 for a name that is not attached:
/// `svm_esmb_file_get`'s `-FDT_ERR_NOTFOUND` (libfdt's error 1), which
/// `get_file_data` and `uv_esmb_get_file` pass through unchanged (it is
/// not one of the `U_*` codes; it collides with no other).
pub const ESMB_FILE_NOT_FOUND: i64 = -1;

/// Pack up to 64 bytes big-endian into eight registers, zero-padded.
pub fn pack_regs(bytes: &[u8]) -> [u64; 8] {
    let mut r = [0u64; 8];
    for (i, chunk) in bytes.chunks(8).take(8).enumerate() {
        let mut b = [0u8; 8];
        b.iter_mut().zip(chunk).for_each(|(d, s)| *d = *s);
        if let Some(slot) = r.get_mut(i) {
            *slot = u64::from_be_bytes(b);
        }
    }
    r
}

/// Unpack eight registers into 64 bytes (big-endian).
pub fn unpack_regs(r: &[u64; 8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (chunk, v) in out.chunks_exact_mut(8).zip(r) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}
