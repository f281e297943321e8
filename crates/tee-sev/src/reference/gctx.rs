//! The SNP launch digest chain: one PAGE_INFO hash per page update.

use sha2::{Digest, Sha384};

/// The page type of an SNP_LAUNCH_UPDATE (SNP ABI spec, PAGE_INFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageType {
    /// A page whose contents are measured.
    Normal,
    /// A vCPU's initial save area (contents measured).
    Vmsa,
    /// A zero page (contents not hashed).
    Zero,
    /// An unmeasured page.
    Unmeasured,
    /// The secrets page.
    Secrets,
    /// The CPUID page.
    Cpuid,
}

impl PageType {
    /// The PAGE_TYPE byte.
    pub fn raw(self) -> u8 {
        match self {
            Self::Normal => 1,
            Self::Vmsa => 2,
            Self::Zero => 3,
            Self::Unmeasured => 4,
            Self::Secrets => 5,
            Self::Cpuid => 6,
        }
    }

    /// The name used in transcripts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Vmsa => "VMSA",
            Self::Zero => "ZERO",
            Self::Unmeasured => "UNMEASURED",
            Self::Secrets => "SECRETS",
            Self::Cpuid => "CPUID",
        }
    }

    /// Whether the page's contents are hashed into PAGE_INFO.
    pub fn measures_contents(self) -> bool {
        matches!(self, Self::Normal | Self::Vmsa)
    }
}

/// GPA recorded for VMSA pages: -1, page-aligned, bits 52 and up cleared.
pub const VMSA_GPA: u64 = 0x0000_FFFF_FFFF_F000;

/// One PAGE_INFO fold: `H384(ld || contents || 0x70 || type || 0 || 0,0,0,0 || gpa)`.
pub fn page_info_digest(
    ld: &[u8; 48],
    contents: &[u8; 48],
    page_type: PageType,
    gpa: u64,
) -> [u8; 48] {
    let mut pi = [0u8; 0x70];
    pi[..48].copy_from_slice(ld);
    pi[48..96].copy_from_slice(contents);
    pi[0x60..0x62].copy_from_slice(&0x70u16.to_le_bytes());
    pi[0x62] = page_type.raw();
    // IMI_PAGE, VMPL3/2/1 permissions, reserved: zero.
    pi[0x68..0x70].copy_from_slice(&gpa.to_le_bytes());
    Sha384::digest(pi).into()
}

/// SHA-384 of a byte string as an array.
pub(super) fn sha384(data: &[u8]) -> [u8; 48] {
    Sha384::digest(data).into()
}
