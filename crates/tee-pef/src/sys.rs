//! The one piece of `unsafe`: issuing the `UV_ESMB_GET_FILE` ultracall with
//! `sc 2` on ppc64le Linux (model §3.1, §8; svm-password-agent `ucall.S`
//! does the same from userspace, and the ultravisor's dispatcher does not
//! check MSR\[PR\] for this call).
//!
//! Not reachable from outside the crate: only [`crate::guest::NativeUltracalls`]
//! calls it, and only [`crate::PefBackend::open`] creates that, after
//! detection (see the `# Safety` section below).

use crate::abi::UV_ESMB_GET_FILE;

/// Issue `UV_ESMB_GET_FILE(offset, name)`; returns r3 and r4..r11.
///
/// # Safety
///
/// Call this only from a process of a **secure VM** on ppc64le Linux, that
/// is after `/sys/devices/system/cpu/svm` (at the real root `/`) read `1`.
/// In a secure VM the ultravisor handles the call, returns everything in
/// registers and writes no memory of this process. Anywhere else `sc 2` is
/// not an ultracall: with PEF disabled it is redirected to the hypervisor,
/// which may handle it in ways this function does not model (model §3.1),
/// or it raises an interrupt the process cannot survive; the register
/// contract below then does not hold.
pub(crate) unsafe fn esmb_get_file(offset: u64, name: &[u64; 8]) -> (i64, [u64; 8]) {
    let [n0, n1, n2, n3, n4, n5, n6, n7] = *name;
    let (mut r3, mut r4, mut r5, mut r6, mut r7, mut r8, mut r9, mut r10, mut r11) =
        (UV_ESMB_GET_FILE, offset, n0, n1, n2, n3, n4, n5, n6);
    // SAFETY: `.long 0x44000042` is `sc 2` (sc with LEV=2; spelled as a word
    // because assemblers disagree on `sc 2`), the ultracall instruction. The
    // caller guarantees a secure VM (this function's contract), so the
    // ultravisor answers it. The UV_ESMB_GET_FILE ABI takes r3 (function),
    // r4 (offset) and r5..r12 (name) and returns r3 (count or error) and
    // r4..r11 (data); it returns everything in registers and writes no
    // memory of this process, so no memory operands are needed (`nostack`:
    // the stack is not touched). Every other volatile register the call may
    // change is declared clobbered.
    unsafe {
        core::arch::asm!(
            ".long 0x44000042",
            inout("r3") r3,
            inout("r4") r4,
            inout("r5") r5,
            inout("r6") r6,
            inout("r7") r7,
            inout("r8") r8,
            inout("r9") r9,
            inout("r10") r10,
            inout("r11") r11,
            inout("r12") n7 => _,
            out("r0") _,
            out("ctr") _,
            out("xer") _,
            out("cr0") _,
            options(nostack),
        );
    }
    (r3 as i64, [r4, r5, r6, r7, r8, r9, r10, r11])
}
