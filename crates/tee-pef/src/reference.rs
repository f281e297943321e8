//! PEF reference values: the ESM measurement a relying party expects
//! (policy `allowed_measurements`), with its transcript
//! ([`tee_core::reference::ReferenceValue`], name `pef.esm_measurement`).
//!
//! The ultravisor compares four SHA-512 digests (RTAS stub, flat kernel,
//! initrd before the ESM cpio, exact boot arguments) with the ESM blob's;
//! the SDK's PEF report carries one value naming all four
//! ([`Digests::measurement`]). This module recomputes it from the files the
//! relying party expects and records every digest, so two parties can diff
//! which input differs.
//!
//! ```
//! # fn main() -> tee_core::Result<()> {
//! let rv = tee_pef::reference::esm_measurement(None, b"kernel", b"initrd", "svm=on")?;
//! assert_eq!(rv.value.len(), 64);
//! assert_eq!(rv.transcript.steps.len(), 5);
//! let policy = tee_pef::reference::policy(tee_core::Policy::new(), &rv);
//! assert_eq!(policy.allowed_measurements, vec![rv.value.clone()]);
//! # Ok(())
//! # }
//! ```

use tee_core::reference::{ReferenceValue, Transcript};
use tee_core::{Policy, Result};

use crate::crypto::sha256;
use crate::esm::{Digests, MEASUREMENT_DOMAIN};

fn file(b: &[u8]) -> String {
    format!("{} bytes, sha256 {}", b.len(), hex::encode(sha256(b)))
}

/// The ESM measurement for these inputs. `rtas: None` is QEMU/SLOF's RTAS
/// stub (what svm-tool assumes).
///
/// # Errors
/// [`tee_core::Error::Misuse`] for a kernel over 4 GiB or boot arguments
/// containing NUL (as [`Digests::compute`]).
pub fn esm_measurement(
    rtas: Option<&[u8]>,
    kernel: &[u8],
    initrd: &[u8],
    bootargs: &str,
) -> Result<ReferenceValue> {
    let d = match rtas {
        Some(r) => Digests::compute(r, kernel, initrd, bootargs)?,
        None => Digests::for_slof(kernel, initrd, bootargs)?,
    };
    let mut t = Transcript::default();
    t.input(
        "rtas",
        match rtas {
            Some(r) => file(r),
            None => "QEMU/SLOF RTAS stub (built in)".into(),
        },
    );
    t.input("kernel", file(kernel));
    t.input("initrd", file(initrd));
    t.input(
        "bootargs",
        format!("{bootargs:?} ({} bytes, no NUL)", bootargs.len()),
    );
    t.step("SHA512(rtas)", None, hex::encode(d.rtas), None);
    t.step(
        "SHA512(kernel)",
        None,
        format!("{} (kernel-size {})", hex::encode(d.kernel), d.kernel_size),
        None,
    );
    t.step(
        "SHA512(initrd)",
        None,
        format!(
            "{} (before the ESM cpio is prepended)",
            hex::encode(d.initrd)
        ),
        None,
    );
    t.step("SHA512(bootargs)", None, hex::encode(d.bootargs), None);
    let m = d.measurement();
    t.step(
        "ESM_MEASUREMENT",
        None,
        format!(
            "SHA512({:?} || rtas || kernel || u32be(kernel-size) || initrd || bootargs)",
            String::from_utf8_lossy(MEASUREMENT_DOMAIN)
        ),
        Some(m.into()),
    );
    Ok(ReferenceValue::new("pef.esm_measurement", m, t))
}

/// `base` with the measurement added to `allowed_measurements` (once).
pub fn policy(base: Policy, measurement: &ReferenceValue) -> Policy {
    if base.allowed_measurements.contains(&measurement.value) {
        base
    } else {
        base.allow_measurement(measurement.value.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_digests_measurement_and_names_each_input() {
        let rv = esm_measurement(None, b"kernel", b"initrd", "svm=on").unwrap();
        let want = Digests::for_slof(b"kernel", b"initrd", "svm=on")
            .unwrap()
            .measurement();
        assert_eq!(rv.value.0, want.to_vec());
        assert_eq!(rv.transcript.inputs.len(), 4);
        assert_eq!(
            rv.transcript
                .steps
                .last()
                .unwrap()
                .digest_after
                .as_ref()
                .unwrap()
                .0,
            want.to_vec()
        );
        // Each input changes the value; an explicit RTAS image too.
        for other in [
            esm_measurement(None, b"kernel2", b"initrd", "svm=on").unwrap(),
            esm_measurement(None, b"kernel", b"initrd2", "svm=on").unwrap(),
            esm_measurement(None, b"kernel", b"initrd", "svm=on ").unwrap(),
            esm_measurement(Some(b"rtas"), b"kernel", b"initrd", "svm=on").unwrap(),
        ] {
            assert_ne!(other.value, rv.value);
        }
        assert!(matches!(
            esm_measurement(None, b"k", b"i", "a\0b"),
            Err(tee_core::Error::Misuse(_))
        ));
        let p = policy(policy(Policy::new(), &rv), &rv);
        assert_eq!(p.allowed_measurements, vec![rv.value.clone()]);
    }
}
