//! The SEV hashes table QEMU writes for a measured direct boot
//! (`kernel-hashes=on`): SHA-256 of the kernel, initrd and command line.

use sha2::{Digest, Sha256};

use super::ovmf::{PAGE_SIZE, guid_str};

const fn g(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// Table header GUID `9438d606-4f22-4cc9-b479-a793d411fd21`.
pub(super) const TABLE_GUID: [u8; 16] = g(
    0x9438d606,
    0x4f22,
    0x4cc9,
    [0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21],
);
/// Kernel entry GUID `4de79437-abd2-427f-b835-d5b172d2045b`.
pub(super) const KERNEL_GUID: [u8; 16] = g(
    0x4de79437,
    0xabd2,
    0x427f,
    [0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b],
);
/// Initrd entry GUID `44baf731-3a2f-4bd7-9af1-41e29169781d`.
pub(super) const INITRD_GUID: [u8; 16] = g(
    0x44baf731,
    0x3a2f,
    0x4bd7,
    [0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d],
);
/// Command-line entry GUID `97d02dd8-bd20-4c94-aa78-e7714d36ab2a`.
pub(super) const CMDLINE_GUID: [u8; 16] = g(
    0x97d02dd8,
    0xbd20,
    0x4c94,
    [0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a],
);

/// Length of the table without padding.
pub(super) const TABLE_LEN: usize = 16 + 2 + 3 * 50;
/// Length of the table padded to 16 bytes.
pub(super) const PADDED_LEN: usize = (TABLE_LEN + 15) & !15;

/// The three SHA-256 digests of a measured direct boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SevHashes {
    /// SHA-256 of the kernel file.
    pub kernel: [u8; 32],
    /// SHA-256 of the initrd file (of the empty string without one).
    pub initrd: [u8; 32],
    /// SHA-256 of the command line with its terminating NUL (a lone NUL without one).
    pub cmdline: [u8; 32],
}

impl SevHashes {
    /// The hashes of these inputs, exactly as QEMU computes them.
    pub fn new(kernel: &[u8], initrd: Option<&[u8]>, cmdline: Option<&str>) -> Self {
        let mut c = Sha256::new();
        c.update(cmdline.unwrap_or("").as_bytes());
        c.update([0u8]);
        Self {
            kernel: Sha256::digest(kernel).into(),
            initrd: Sha256::digest(initrd.unwrap_or(&[])).into(),
            cmdline: c.finalize().into(),
        }
    }

    /// The 176-byte padded table.
    pub fn table(&self) -> [u8; PADDED_LEN] {
        let mut t = [0u8; PADDED_LEN];
        t[..16].copy_from_slice(&TABLE_GUID);
        t[16..18].copy_from_slice(&(TABLE_LEN as u16).to_le_bytes());
        let entries = [
            (CMDLINE_GUID, &self.cmdline),
            (INITRD_GUID, &self.initrd),
            (KERNEL_GUID, &self.kernel),
        ];
        for (i, (guid, hash)) in entries.iter().enumerate() {
            let o = 18 + 50 * i;
            t[o..o + 16].copy_from_slice(guid);
            t[o + 16..o + 18].copy_from_slice(&50u16.to_le_bytes());
            t[o + 18..o + 50].copy_from_slice(*hash);
        }
        t
    }

    /// The page holding the table at `offset` (`None` if it does not fit).
    pub fn page(&self, offset: usize) -> Option<[u8; PAGE_SIZE]> {
        let end = offset.checked_add(PADDED_LEN)?;
        if end > PAGE_SIZE {
            return None;
        }
        let mut p = [0u8; PAGE_SIZE];
        p[offset..end].copy_from_slice(&self.table());
        Some(p)
    }

    /// The table's GUID, for transcripts.
    pub fn table_guid() -> String {
        guid_str(&TABLE_GUID)
    }
}
