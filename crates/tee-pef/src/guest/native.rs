//! The native `UV_ESMB_GET_FILE` transport over [`crate::sys`].

use tee_core::Result;

use super::EsmbGetFile;

/// Whether this build can issue real ultracalls (ppc64le Linux).
pub const NATIVE_AVAILABLE: bool = cfg!(all(
    target_arch = "powerpc64",
    target_endian = "little",
    target_os = "linux"
));

/// Why native ultracalls are unavailable in this build.
pub const NATIVE_UNSUPPORTED: &str = "ultracalls exist only on ppc64le Linux (IBM POWER9 PEF); this build cannot issue UV_ESMB_GET_FILE";

/// The native `UV_ESMB_GET_FILE` ultracall (`sc 2`, see the `sys` module).
///
/// There is no public constructor: only [`crate::PefBackend::open`] (and
/// [`crate::PefBackend::open_with_config`]) create it, after
/// `/sys/devices/system/cpu/svm` at the real root read `1`. That upholds
/// the safety contract of the ultracall: on a machine that is not a secure
/// VM the instruction goes to the hypervisor or traps.
#[derive(Debug)]
pub struct NativeUltracalls {
    _private: (),
}

impl NativeUltracalls {
    /// Only after detection at the real root (the `sys` safety contract).
    pub(crate) fn after_detection() -> Self {
        Self { _private: () }
    }
}

impl EsmbGetFile for NativeUltracalls {
    #[cfg(all(
        target_arch = "powerpc64",
        target_endian = "little",
        target_os = "linux"
    ))]
    #[allow(unsafe_code)]
    fn esmb_get_file(&self, offset: u64, name: &[u64; 8]) -> Result<(i64, [u64; 8])> {
        // SAFETY: a `NativeUltracalls` exists only after `PefBackend::open`
        // read `1` from `/sys/devices/system/cpu/svm` at the real root
        // (`after_detection` is crate-private and called from nowhere
        // else), so this process runs in a secure VM, as
        // `sys::esmb_get_file` requires.
        Ok(unsafe { crate::sys::esmb_get_file(offset, name) })
    }

    #[cfg(not(all(
        target_arch = "powerpc64",
        target_endian = "little",
        target_os = "linux"
    )))]
    fn esmb_get_file(&self, _offset: u64, _name: &[u64; 8]) -> Result<(i64, [u64; 8])> {
        Err(tee_core::Error::unsupported(
            tee_core::Platform::Pef,
            tee_core::Operation::SecretProvisioning,
            NATIVE_UNSUPPORTED,
        ))
    }
}

/// The transport of a backend opened at a test root
/// ([`crate::PefBackend::open_at`]): it never issues an ultracall.
#[derive(Debug)]
pub(crate) struct NoUltracalls(pub(crate) &'static str);

impl EsmbGetFile for NoUltracalls {
    fn esmb_get_file(&self, _offset: u64, _name: &[u64; 8]) -> Result<(i64, [u64; 8])> {
        Err(tee_core::Error::unsupported(
            tee_core::Platform::Pef,
            tee_core::Operation::SecretProvisioning,
            self.0,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::pack_regs;

    fn operation_of(uc: &dyn EsmbGetFile) -> Option<tee_core::Operation> {
        match uc.esmb_get_file(0, &pack_regs(b"attest-key")) {
            Err(tee_core::Error::Unsupported(u)) => Some(u.operation),
            _ => None,
        }
    }

    #[test]
    fn a_test_root_transport_never_issues_an_ultracall() {
        let uc = NoUltracalls(crate::backend::TEST_ROOT_UNSUPPORTED);
        assert_eq!(
            operation_of(&uc),
            Some(tee_core::Operation::SecretProvisioning)
        );
    }

    #[cfg(not(all(
        target_arch = "powerpc64",
        target_endian = "little",
        target_os = "linux"
    )))]
    #[test]
    fn the_native_transport_is_unsupported_off_ppc64le() {
        const { assert!(!NATIVE_AVAILABLE) };
        let uc = NativeUltracalls::after_detection();
        assert_eq!(
            operation_of(&uc),
            Some(tee_core::Operation::SecretProvisioning)
        );
    }
}
