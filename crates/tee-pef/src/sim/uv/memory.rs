//! Sparse guest memory and the guest image the hypervisor loads.

use std::collections::BTreeMap;

use crate::fdt::Node;

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
    /// Kernel base, guest-physical (the kernel is relocated back here before `UV_ESM`).
    pub kbase: u64,
    /// Flattened device tree address.
    pub fdt: u64,
    /// RTAS base.
    pub rtas_base: u64,
    /// Initrd start.
    pub initrd_start: u64,
}

/// The default layout is the one the vectors' ultravisor harness used
/// (`uvh`): guest-physical addresses, kernel at 0x40_0000, initrd at
/// 0x200_0000, RTAS at 0x600_0000. `prom_init` passes `UV_ESM` the kernel's
/// real (guest-physical) base after relocating it, never a virtual address.
impl Default for GuestLayout {
    fn default() -> Self {
        Self {
            kbase: 0x0040_0000,
            fdt: 0x0e00_0000,
            rtas_base: 0x0600_0000,
            initrd_start: 0x0200_0000,
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
