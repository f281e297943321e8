//! Synthetic OVMF images for reference-value tests and benchmarks: the
//! fact sheet's `snp-synth.bin` and images laid out like Debian's
//! `OVMF.amdsev.fd`, built from a recipe (never committed binaries).

use crate::reference::{
    FOOTER_GUID, PAGE_SIZE, SEV_ES_RESET_BLOCK_GUID, SEV_HASH_TABLE_GUID, SEV_METADATA_GUID,
};

/// A synthetic OVMF image: page 0 filled with `fill`, page `p ≥ 2` with the
/// byte `p` (but its last 64 bytes), the `ASEV` metadata at page 1, and the
/// footer GUID table ending 32 bytes before the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOvmf {
    /// Image size in pages (at least 2).
    pub pages: usize,
    /// The byte page 0 is filled with.
    pub fill: u8,
    /// Metadata sections as (GPA, size, raw section type).
    pub sections: Vec<(u32, u32, u32)>,
    /// The SEV hash table footer entry (GPA, size), if any.
    pub hash_table: Option<(u32, u32)>,
    /// The SEV-ES reset block footer entry (AP reset EIP), if any.
    pub reset: Option<u32>,
    /// Whether the image has the SEV metadata footer entry and `ASEV` block.
    pub metadata: bool,
}

impl SynthOvmf {
    /// The fact sheet's `snp-synth.bin` (8192 bytes, every metadata type,
    /// kernel hashes at 0x810000).
    pub fn facts() -> Self {
        Self {
            pages: 2,
            fill: 0x5A,
            sections: vec![
                (0x80_0000, 0x2000, 1),
                (0x80_2000, 0x1000, 2),
                (0x80_3000, 0x1000, 3),
                (0x80_4000, 0x1000, 4),
                (0x81_0000, 0x1000, 0x10),
                (0x81_1000, 0x1000, 1),
            ],
            hash_table: Some((0x81_0C00, 0x400)),
            reset: Some(0x0080_B004),
            metadata: true,
        }
    }

    /// [`Self::facts`] without the SNP_KERNEL_HASHES section (the hash
    /// table footer entry stays, as in the fact sheet's `-nokh` variant).
    pub fn facts_without_kernel_hashes() -> Self {
        let mut s = Self::facts();
        s.sections.retain(|x| x.2 != 0x10);
        s
    }

    /// A 4 MiB image with the metadata layout of Debian's `OVMF.amdsev.fd`
    /// (seven sections, kernel hashes at 0x810000): the benchmark input.
    pub fn amdsev_4mib() -> Self {
        Self {
            pages: 1024,
            fill: 0x5A,
            sections: vec![
                (0x80_0000, 0x9000, 1),
                (0x80_A000, 0x3000, 1),
                (0x80_D000, 0x1000, 2),
                (0x80_E000, 0x1000, 3),
                (0x80_F000, 0x1000, 4),
                (0x81_1000, 0x1F000, 1),
                (0x81_0000, 0x1000, 0x10),
            ],
            hash_table: Some((0x81_0C00, 0x400)),
            reset: Some(0x0080_B004),
            metadata: true,
        }
    }

    /// The image bytes.
    ///
    /// # Panics
    /// If `pages < 2` or the metadata does not fit page 1 (a broken recipe).
    pub fn build(&self) -> Vec<u8> {
        assert!(self.pages >= 2, "a synthetic OVMF needs two pages");
        let size = self.pages * PAGE_SIZE;
        let mut f = vec![0u8; size];
        f[..PAGE_SIZE].fill(self.fill);
        for p in 2..self.pages {
            f[p * PAGE_SIZE..(p + 1) * PAGE_SIZE - 64].fill(p as u8);
        }
        let meta_at = PAGE_SIZE;
        if self.metadata {
            let n = u32::try_from(self.sections.len()).expect("section count");
            let mut m = b"ASEV".to_vec();
            m.extend((16 + 12 * n).to_le_bytes());
            m.extend(1u32.to_le_bytes());
            m.extend(n.to_le_bytes());
            for (gpa, sz, ty) in &self.sections {
                m.extend(gpa.to_le_bytes());
                m.extend(sz.to_le_bytes());
                m.extend(ty.to_le_bytes());
            }
            f[meta_at..meta_at + m.len()].copy_from_slice(&m);
        }
        let mut table = Vec::new();
        let entry = |t: &mut Vec<u8>, data: &[u8], guid: &[u8; 16]| {
            t.extend_from_slice(data);
            t.extend(((data.len() + 18) as u16).to_le_bytes());
            t.extend_from_slice(guid);
        };
        if self.metadata {
            let off = u32::try_from(size - meta_at).expect("image size");
            entry(&mut table, &off.to_le_bytes(), &SEV_METADATA_GUID);
        }
        if let Some((gpa, sz)) = self.hash_table {
            let mut d = gpa.to_le_bytes().to_vec();
            d.extend(sz.to_le_bytes());
            entry(&mut table, &d, &SEV_HASH_TABLE_GUID);
        }
        if let Some(eip) = self.reset {
            entry(&mut table, &eip.to_le_bytes(), &SEV_ES_RESET_BLOCK_GUID);
        }
        table.extend(((table.len() + 18) as u16).to_le_bytes());
        table.extend_from_slice(&FOOTER_GUID);
        let end = size - 32;
        f[end - table.len()..end].copy_from_slice(&table);
        f
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::SynthOvmf;
    use crate::reference::{FileInput, Ovmf, SectionType, SnpLaunch, VcpuType};

    #[test]
    fn recipes_parse_as_they_say() {
        let facts = SynthOvmf::facts().build();
        assert_eq!(facts.len(), 8192);
        assert!(hex::encode(Sha256::digest(&facts)).starts_with("33f3eb79"));
        let o = Ovmf::parse(&facts).unwrap();
        assert_eq!(o.sections.len(), 6);
        assert!(o.has_section(SectionType::SnpKernelHashes));
        let nokh = SynthOvmf::facts_without_kernel_hashes().build();
        assert!(
            !Ovmf::parse(&nokh)
                .unwrap()
                .has_section(SectionType::SnpKernelHashes)
        );
        let big = SynthOvmf::amdsev_4mib().build();
        assert_eq!(big.len(), 4 << 20);
        let o = Ovmf::parse(&big).unwrap();
        assert_eq!(o.sections.len(), 7);
        let d = SnpLaunch::new(FileInput::new("x", &big))
            .vcpus(2)
            .vcpu_type(VcpuType::parse("EPYC-Genoa").unwrap())
            .compute()
            .unwrap();
        assert_ne!(d.digest, [0; 48]);
    }
}
