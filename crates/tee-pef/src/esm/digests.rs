//! The four digests the ultravisor compares and the ESM measurement over them.

use tee_core::{Error, Result};

use crate::crypto::sha512;
use crate::fdt::{self, Node};

use super::{ESM_COMPATIBLE, MEASUREMENT_DOMAIN, SLOF_RTAS_STUB, WHAT_DIGESTS};

/// Whether `b` starts with an ELF identification (magic, class 32/64,
/// data LE/BE, version 1).
pub fn is_elf(b: &[u8]) -> bool {
    matches!(b, [0x7f, b'E', b'L', b'F', 1 | 2, 1 | 2, 1, ..])
}

/// The four digests the ultravisor checks (model §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// SHA-512 of the RTAS stub.
    pub rtas: [u8; 64],
    /// SHA-512 of the flat kernel binary (`objcopy -O binary -S vmlinux`).
    pub kernel: [u8; 64],
    /// Length of that binary.
    pub kernel_size: u32,
    /// SHA-512 of the initrd *before* the ESM cpio is prepended.
    pub initrd: [u8; 64],
    /// SHA-512 of the exact boot arguments, without a NUL.
    pub bootargs: [u8; 64],
}

impl Digests {
    /// Compute the digests for an explicit RTAS image.
    ///
    /// `kernel` is the flat binary the ultravisor hashes at kbase
    /// (`objcopy -O binary -S vmlinux`, what svm-tool computes internally).
    /// An ELF file is refused: its digest could never match.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an ELF kernel, a kernel over 4 GiB or boot
    /// arguments containing NUL.
    pub fn compute(rtas: &[u8], kernel: &[u8], initrd: &[u8], bootargs: &str) -> Result<Self> {
        if is_elf(kernel) {
            return Err(Error::Misuse(
                "the kernel is an ELF file (vmlinux), but the ultravisor hashes the flat \
                 binary at kbase: give `objcopy -O binary -S vmlinux` output (what svm-tool \
                 computes from the ELF)"
                    .into(),
            ));
        }
        let kernel_size = u32::try_from(kernel.len())
            .map_err(|_| Error::Misuse("kernel binary over 4 GiB".into()))?;
        if bootargs.contains('\0') {
            return Err(Error::Misuse("boot arguments must not contain NUL".into()));
        }
        Ok(Self {
            rtas: sha512(rtas),
            kernel: sha512(kernel),
            kernel_size,
            initrd: sha512(initrd),
            bootargs: sha512(bootargs.as_bytes()),
        })
    }

    /// Compute the digests for QEMU/SLOF's RTAS stub (what svm-tool does).
    ///
    /// # Errors
    /// As [`Digests::compute`].
    pub fn for_slof(kernel: &[u8], initrd: &[u8], bootargs: &str) -> Result<Self> {
        Self::compute(&SLOF_RTAS_STUB, kernel, initrd, bootargs)
    }

    /// One value naming everything the ultravisor compares:
    /// `SHA-512("tee-pef/esm-measurement/v1" ‖ rtas ‖ kernel ‖ u32be(kernel_size) ‖ initrd ‖ bootargs)`.
    /// A relying party recomputes it from the kernel, initrd and boot
    /// arguments it expects ([`Digests::for_slof`]).
    pub fn measurement(&self) -> [u8; 64] {
        use sha2::{Digest, Sha512};
        Sha512::new()
            .chain_update(MEASUREMENT_DOMAIN)
            .chain_update(self.rtas)
            .chain_update(self.kernel)
            .chain_update(self.kernel_size.to_be_bytes())
            .chain_update(self.initrd)
            .chain_update(self.bootargs)
            .finalize()
            .into()
    }

    /// The digests FDT (plaintext inside `/digest/digests-fdt`).
    pub fn to_fdt(&self) -> Vec<u8> {
        Node::new("")
            .with_str("compatible", ESM_COMPATIBLE)
            .with_child(
                Node::new("digests")
                    .with_str("algorithm", "SHA512")
                    .with_prop("rtas", self.rtas.to_vec())
                    .with_prop("kernel", self.kernel.to_vec())
                    .with_u32("kernel-size", self.kernel_size)
                    .with_prop("initrd", self.initrd.to_vec())
                    .with_prop("bootargs", self.bootargs.to_vec()),
            )
            .to_dtb()
    }

    /// Parse a digests FDT. Every digest property must be present with its
    /// exact size (the UV aborts before comparing when one is missing);
    /// `algorithm` may be absent, as for the ultravisor.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the missing or bad property.
    pub fn from_fdt(bytes: &[u8]) -> Result<Self> {
        let root = fdt::parse(bytes)?;
        let d = root
            .child("digests")
            .ok_or_else(|| Error::bad_field(WHAT_DIGESTS, "/digests", "missing"))?;
        // `algorithm` ("SHA512" as svm-tool writes it) is not read: the
        // ultravisor never reads it and always compares SHA-512.
        let get = |name: &'static str| -> Result<[u8; 64]> {
            let v = d
                .prop(name)
                .ok_or_else(|| Error::bad_field(WHAT_DIGESTS, name, "missing"))?;
            v.try_into()
                .map_err(|_| Error::bad_field(WHAT_DIGESTS, name, "not 64 bytes"))
        };
        let ks = d
            .prop("kernel-size")
            .ok_or_else(|| Error::bad_field(WHAT_DIGESTS, "kernel-size", "missing"))?;
        let ks: [u8; 4] = ks
            .try_into()
            .map_err(|_| Error::bad_field(WHAT_DIGESTS, "kernel-size", "not a u32"))?;
        Ok(Self {
            rtas: get("rtas")?,
            kernel: get("kernel")?,
            kernel_size: u32::from_be_bytes(ks),
            initrd: get("initrd")?,
            bootargs: get("bootargs")?,
        })
    }
}
