//! The only place in this crate with `unsafe`: the CPUID instruction.

/// `(eax, ebx, ecx, edx)` of CPUID `leaf`, subleaf 0; `None` off x86-64 or
/// above the maximum (extended) leaf.
pub(crate) fn cpuid(leaf: u32) -> Option<[u32; 4]> {
    #[cfg(target_arch = "x86_64")]
    {
        let raw = |l: u32| {
            // SAFETY: CPUID is available on every x86-64 CPU and has no
            // memory effects. (`__cpuid` is a safe function on newer
            // toolchains; the block keeps the MSRV building.)
            #[allow(unused_unsafe)]
            let r = unsafe { core::arch::x86_64::__cpuid_count(l, 0) };
            [r.eax, r.ebx, r.ecx, r.edx]
        };
        let max = raw(leaf & 0x8000_0000)[0];
        (leaf <= max).then(|| raw(leaf))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = leaf;
        None
    }
}
