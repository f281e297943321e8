//! The SNP launch digest (`MEASUREMENT`) from OVMF and the VMM's inputs.

use core::ops::Range;

use sha2::{Digest, Sha256};
use std::sync::OnceLock;

use tee_core::reference::{ReferenceValue, Transcript, TranscriptInput};
use tee_core::{Error, Policy, Result};

use super::gctx::{PageType, VMSA_GPA, page_info_digest, sha384};
use super::hashes::SevHashes;
use super::ovmf::{MetadataSection, Ovmf, PAGE_SIZE, SectionType};
use super::vmsa::{BSP_EIP, VcpuType, VmmType, describe_guest_features, vmsa_page};

/// Most vCPUs accepted (QEMU's q35 limit).
pub const MAX_VCPUS: u32 = 4096;

/// The default guest features: SNPActive only (hosts from Linux 6.8 on).
pub const DEFAULT_GUEST_FEATURES: u64 = 0x1;

/// A named input file (the name is only for the transcript).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInput<'a> {
    /// The name shown in transcripts (a path, or `-`).
    pub name: &'a str,
    /// The file's bytes.
    pub data: &'a [u8],
}

impl<'a> FileInput<'a> {
    /// A file named `name` with these bytes.
    pub fn new(name: &'a str, data: &'a [u8]) -> Self {
        Self { name, data }
    }

    fn describe_with(&self, sha256: &[u8]) -> String {
        format!(
            "{} ({} bytes, sha256 {})",
            self.name,
            self.data.len(),
            hex::encode(sha256)
        )
    }
}

/// The inputs of an SNP launch digest. Every one of them is chosen by the
/// host at launch; the transcript lists each.
///
/// ```
/// use tee_sev::reference::{FileInput, SnpLaunch, VcpuType, VmmType};
/// # fn f(ovmf: &[u8]) -> tee_core::Result<()> {
/// let digest = SnpLaunch::new(FileInput::new("OVMF.amdsev.fd", ovmf))
///     .vcpus(4)
///     .vcpu_type(VcpuType::parse("EPYC-Genoa")?)
///     .vmm_type(VmmType::Qemu)
///     .compute()?;
/// println!("{}", hex::encode(digest.digest));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnpLaunch<'a> {
    /// The OVMF image (`-bios`).
    pub ovmf: FileInput<'a>,
    /// The kernel (`-kernel` with `kernel-hashes=on`).
    pub kernel: Option<FileInput<'a>>,
    /// The initrd (`-initrd`), only with a kernel.
    pub initrd: Option<FileInput<'a>>,
    /// The kernel command line (`-append`), only with a kernel.
    pub append: Option<&'a str>,
    /// Number of vCPUs (`-smp`), 1..=[`MAX_VCPUS`].
    pub vcpus: u32,
    /// The vCPU type (`-cpu`); required for QEMU, ignored by EC2 and GCE.
    pub vcpu_type: Option<VcpuType>,
    /// The VMM.
    pub vmm_type: VmmType,
    /// SEV_FEATURES of every VMSA (the host's KVM decides; default 0x1).
    pub guest_features: u64,
    /// A precomputed digest of the firmware pages (`--snp-ovmf-hash`):
    /// the chain starts there and the firmware pages are not hashed again.
    pub ovmf_hash: Option<[u8; 48]>,
}

/// A group of consecutive steps (one firmware image, one metadata section,
/// one VMSA) with the digest after it: what `--explain` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepGroup {
    /// What the steps measured, e.g. `0x800000+0x9000 SNP_SEC_MEM (9 ZERO)`.
    pub label: String,
    /// The steps, as indices into the transcript.
    pub steps: Range<usize>,
    /// The launch digest after the group.
    pub digest_after: [u8; 48],
}

/// One page update of the chain, recorded compactly (typed, no strings):
/// [`LaunchDigest::transcript`] renders each as a
/// [`tee_core::reference::TranscriptStep`] only when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageUpdate {
    /// The PAGE_TYPE of the update.
    pub page_type: PageType,
    /// The GPA (VMSA pages: [`VMSA_GPA`]).
    pub gpa: u64,
    /// SHA-384 of the page contents, for the types that measure contents.
    pub contents: Option<[u8; 48]>,
    /// The launch digest after this update.
    pub digest_after: [u8; 48],
}

/// How the steps of a group are described in the rendered transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupKind {
    /// `firmware page i/n (file offset …)`.
    Firmware,
    /// The label, then `, page i/n` when the group has more than one page
    /// update.
    Pages,
    /// The label alone (one update).
    Single,
}

/// The computed launch digest.
///
/// The computation records typed steps ([`PageUpdate`]); the transcript
/// (strings, hex, the firmware file's SHA-256) is rendered from them when
/// asked ([`Self::reference`], [`Self::transcript`], [`Self::explain`]), so
/// computing a digest costs its page hashes and little else.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaunchDigest<'a> {
    /// The 48-byte value the report's MEASUREMENT must carry.
    pub digest: [u8; 48],
    /// What the value is (`sev-snp.measurement`, or `sev-snp.ovmf-hash`).
    pub name: &'static str,
    /// Every page update, in order.
    pub updates: Vec<PageUpdate>,
    /// The updates grouped by what they measured.
    pub groups: Vec<StepGroup>,
    /// Things the relying party should know about these inputs.
    pub notes: Vec<String>,
    /// The inputs but the firmware's (rendered with its SHA-256).
    inputs: Vec<TranscriptInput>,
    kinds: Vec<GroupKind>,
    ovmf: FileInput<'a>,
    ovmf_sha256: OnceLock<[u8; 32]>,
}

impl LaunchDigest<'_> {
    /// A policy admitting exactly this launch digest
    /// (`allowed_measurements = [digest]`).
    pub fn policy(&self) -> Policy {
        Policy::new().allow_measurement(self.digest)
    }

    /// SHA-256 of the firmware file (computed once, when first asked).
    pub fn ovmf_sha256(&self) -> [u8; 32] {
        *self
            .ovmf_sha256
            .get_or_init(|| Sha256::digest(self.ovmf.data).into())
    }

    /// Every input, in the order taken; the firmware first, named with its
    /// size and SHA-256.
    pub fn inputs(&self) -> Vec<TranscriptInput> {
        let mut t = Transcript::default();
        t.input("ovmf", self.ovmf.describe_with(&self.ovmf_sha256()));
        let mut v = t.inputs;
        v.extend(self.inputs.iter().cloned());
        v
    }

    /// The full transcript: every input and one step per page update
    /// (`PAGE_UPDATE(TYPE)`, its GPA, what it measured with the contents'
    /// SHA-384, and the launch digest after it).
    pub fn transcript(&self) -> Transcript {
        let mut t = Transcript::default();
        t.inputs = self.inputs();
        t.steps.reserve(self.updates.len());
        for (g, kind) in self.groups.iter().zip(&self.kinds) {
            let n = g.steps.len();
            for (k, i) in g.steps.clone().enumerate() {
                let Some(u) = self.updates.get(i) else { break };
                let mut detail = match kind {
                    GroupKind::Firmware => format!(
                        "firmware page {}/{n} (file offset {:#x})",
                        k + 1,
                        k * PAGE_SIZE
                    ),
                    GroupKind::Pages => format!("{}, page {}/{n}", g.label, k + 1),
                    GroupKind::Single => g.label.clone(),
                };
                if let Some(h) = &u.contents {
                    detail.push_str(", contents sha384 ");
                    detail.push_str(&hex::encode(h));
                }
                t.step(
                    format!("PAGE_UPDATE({})", u.page_type.name()),
                    Some(u.gpa),
                    detail,
                    Some(u.digest_after.into()),
                );
            }
        }
        t
    }

    /// The value with its full transcript.
    pub fn reference(&self) -> ReferenceValue {
        ReferenceValue::new(self.name, self.digest, self.transcript())
    }

    /// Human-readable explanation: inputs, notes, the digest after each group.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        s.push_str("inputs:\n");
        for i in &self.inputs() {
            s.push_str(&format!("  {:<15} {}\n", i.name, i.value));
        }
        if !self.notes.is_empty() {
            s.push_str("notes:\n");
            for n in &self.notes {
                s.push_str(&format!("  - {n}\n"));
            }
        }
        s.push_str("steps (launch digest after each):\n");
        for g in &self.groups {
            s.push_str(&format!(
                "  after {:<44} {}\n",
                g.label,
                hex::encode(g.digest_after)
            ));
        }
        s.push_str(&format!("measurement {}\n", hex::encode(self.digest)));
        s
    }
}

struct Chain {
    ld: [u8; 48],
    updates: Vec<PageUpdate>,
    groups: Vec<StepGroup>,
    kinds: Vec<GroupKind>,
    group_start: usize,
    /// The kind of the open group: `Pages` once `pages` ran in it.
    open_kind: GroupKind,
}

impl Chain {
    fn new(seed: [u8; 48], pages: usize) -> Self {
        Self {
            ld: seed,
            updates: Vec::with_capacity(pages),
            groups: Vec::new(),
            kinds: Vec::new(),
            group_start: 0,
            open_kind: GroupKind::Single,
        }
    }

    fn update(&mut self, page_type: PageType, gpa: u64, contents: Option<&[u8]>) {
        let h = match contents {
            Some(c) if page_type.measures_contents() => Some(sha384(c)),
            _ => None,
        };
        self.ld = page_info_digest(&self.ld, &h.unwrap_or([0u8; 48]), page_type, gpa);
        self.updates.push(PageUpdate {
            page_type,
            gpa,
            contents: h,
            digest_after: self.ld,
        });
    }

    fn pages(&mut self, page_type: PageType, gpa: u64, size: u64) {
        self.open_kind = GroupKind::Pages;
        for k in 0..size / PAGE_SIZE as u64 {
            self.update(page_type, gpa + k * PAGE_SIZE as u64, None);
        }
    }

    fn close(&mut self, label: String) {
        self.close_as(label, self.open_kind);
    }

    fn close_as(&mut self, label: String, kind: GroupKind) {
        let end = self.updates.len();
        self.groups.push(StepGroup {
            label,
            steps: self.group_start..end,
            digest_after: self.ld,
        });
        self.kinds.push(kind);
        self.group_start = end;
        self.open_kind = GroupKind::Single;
    }

    fn finish<'a>(
        self,
        name: &'static str,
        ovmf: FileInput<'a>,
        inputs: Vec<TranscriptInput>,
        notes: Vec<String>,
    ) -> LaunchDigest<'a> {
        LaunchDigest {
            digest: self.ld,
            name,
            updates: self.updates,
            groups: self.groups,
            notes,
            inputs,
            kinds: self.kinds,
            ovmf,
            ovmf_sha256: OnceLock::new(),
        }
    }
}

fn firmware_pages(chain: &mut Chain, ovmf: &Ovmf<'_>) {
    let base = ovmf.gpa();
    let data = ovmf.data();
    let n = data.len() / PAGE_SIZE;
    for (i, page) in data.chunks_exact(PAGE_SIZE).enumerate() {
        chain.update(PageType::Normal, base + (i * PAGE_SIZE) as u64, Some(page));
    }
    chain.close_as(
        format!("{n} firmware pages at {base:#x}"),
        GroupKind::Firmware,
    );
}

/// The digest of the firmware pages alone, chained from zero
/// (`sev-snp-measure --mode snp:ovmf-hash`): a seed for [`SnpLaunch::ovmf_hash`].
///
/// # Errors
/// [`Error::Malformed`] if the image does not parse (see [`Ovmf::parse`]).
pub fn snp_ovmf_hash(ovmf: FileInput<'_>) -> Result<LaunchDigest<'_>> {
    let parsed = Ovmf::parse(ovmf.data)?;
    let mut chain = Chain::new([0; 48], ovmf.data.len() / PAGE_SIZE);
    firmware_pages(&mut chain, &parsed);
    let mut t = Transcript::default();
    t.input("mode", "firmware pages only (seed for --snp-ovmf-hash)");
    Ok(chain.finish("sev-snp.ovmf-hash", ovmf, t.inputs, Vec::new()))
}

fn section_label(i: usize, s: &MetadataSection, what: &str) -> String {
    format!(
        "#{} {:#x}+{:#x} {} ({what})",
        i + 1,
        s.gpa,
        s.size,
        s.kind.name()
    )
}

impl<'a> SnpLaunch<'a> {
    /// Inputs for `ovmf`, with 1 vCPU, no vCPU type yet, QEMU, guest
    /// features 0x1, no kernel.
    pub fn new(ovmf: FileInput<'a>) -> Self {
        Self {
            ovmf,
            kernel: None,
            initrd: None,
            append: None,
            vcpus: 1,
            vcpu_type: None,
            vmm_type: VmmType::Qemu,
            guest_features: DEFAULT_GUEST_FEATURES,
            ovmf_hash: None,
        }
    }

    /// Builder: measured direct boot of this kernel.
    #[must_use]
    pub fn kernel(mut self, kernel: FileInput<'a>) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// Builder: this initrd (needs a kernel).
    #[must_use]
    pub fn initrd(mut self, initrd: FileInput<'a>) -> Self {
        self.initrd = Some(initrd);
        self
    }

    /// Builder: this kernel command line (needs a kernel).
    #[must_use]
    pub fn append(mut self, cmdline: &'a str) -> Self {
        self.append = Some(cmdline);
        self
    }

    /// Builder: number of vCPUs.
    #[must_use]
    pub fn vcpus(mut self, n: u32) -> Self {
        self.vcpus = n;
        self
    }

    /// Builder: the vCPU type.
    #[must_use]
    pub fn vcpu_type(mut self, t: VcpuType) -> Self {
        self.vcpu_type = Some(t);
        self
    }

    /// Builder: the VMM type.
    #[must_use]
    pub fn vmm_type(mut self, v: VmmType) -> Self {
        self.vmm_type = v;
        self
    }

    /// Builder: SEV_FEATURES.
    #[must_use]
    pub fn guest_features(mut self, f: u64) -> Self {
        self.guest_features = f;
        self
    }

    /// Builder: start from a precomputed firmware digest.
    #[must_use]
    pub fn ovmf_hash(mut self, seed: [u8; 48]) -> Self {
        self.ovmf_hash = Some(seed);
        self
    }

    /// Compute the launch digest.
    ///
    /// # Errors
    /// - [`Error::Misuse`]: vCPU count outside 1..=[`MAX_VCPUS`]; no vCPU
    ///   type for QEMU (or signature 0); reserved guest-feature bits or
    ///   SNPActive clear; an initrd or command line without a kernel; a
    ///   kernel with firmware that has no SNP_KERNEL_HASHES section.
    /// - [`Error::Malformed`]: the image does not parse ([`Ovmf::parse`]);
    ///   it has no SEV metadata (QEMU refuses to launch it) or no SEV-ES
    ///   reset block; a kernel-hashes section or hash-table entry that
    ///   cannot hold the table.
    pub fn compute(&self) -> Result<LaunchDigest<'a>> {
        let misuse = |m: String| Error::Misuse(m.into());
        if self.vcpus == 0 || self.vcpus > MAX_VCPUS {
            return Err(misuse(format!(
                "vCPU count {} outside 1..={MAX_VCPUS}",
                self.vcpus
            )));
        }
        let features = describe_guest_features(self.guest_features)?;
        let sig = match (self.vmm_type, self.vcpu_type) {
            (VmmType::Qemu, None) => {
                return Err(misuse("QEMU needs a vCPU type (or signature)".into()));
            }
            (VmmType::Qemu, Some(t)) if t.sig == 0 => {
                return Err(misuse("vCPU signature 0 is not a CPU".into()));
            }
            (_, t) => t.map_or(0, |t| t.sig),
        };
        if self.kernel.is_none() && (self.initrd.is_some() || self.append.is_some()) {
            return Err(misuse("an initrd or command line needs a kernel".into()));
        }
        let ovmf = Ovmf::parse(self.ovmf.data)?;
        if ovmf.sections.is_empty() {
            return Err(Error::bad_field(
                "OVMF firmware",
                "SEV metadata",
                "no SEV metadata (footer entry dc886566-984a-4798-a75e-5585a7bf67cc missing or empty): \
                 not an SNP-capable image, QEMU refuses to launch it",
            ));
        }
        let Some(ap_eip) = ovmf.sev_es_reset_eip else {
            return Err(Error::bad_field(
                "OVMF firmware",
                "SEV-ES reset block",
                "no SEV-ES reset block (footer entry 00f771de-1a7e-4fcb-890e-68c77e2fb44e)",
            ));
        };
        if ap_eip == 0 && self.vcpus > 1 {
            return Err(Error::bad_field(
                "OVMF firmware",
                "SEV-ES reset block",
                "the AP reset address is 0, so APs cannot start",
            ));
        }
        let hashes = self
            .kernel
            .map(|k| SevHashes::new(k.data, self.initrd.map(|i| i.data), self.append));
        let mut hashes_page = None;
        if let Some(h) = &hashes {
            if !ovmf.has_section(SectionType::SnpKernelHashes) {
                return Err(misuse(
                    "kernel specified but the OVMF metadata has no SNP_KERNEL_HASHES section \
                     (this firmware cannot measure a -kernel boot)"
                        .into(),
                ));
            }
            let table_gpa = match ovmf.sev_hashes_table {
                Some((gpa, _)) if gpa != 0 => gpa,
                _ => {
                    return Err(Error::bad_field(
                        "OVMF firmware",
                        "SEV hash table",
                        "SNP_KERNEL_HASHES section without a SEV hash table entry (or GPA 0)",
                    ));
                }
            };
            for s in ovmf
                .sections
                .iter()
                .filter(|s| s.kind == SectionType::SnpKernelHashes)
            {
                if s.size as usize != PAGE_SIZE {
                    return Err(Error::bad_field(
                        "OVMF firmware",
                        "SNP_KERNEL_HASHES size",
                        format!("{:#x} bytes, must be one page with a kernel", s.size),
                    ));
                }
            }
            hashes_page = Some(
                h.page(table_gpa as usize & (PAGE_SIZE - 1))
                    .ok_or_else(|| {
                        Error::bad_field(
                            "OVMF firmware",
                            "SEV hash table",
                            format!("table at {table_gpa:#x} crosses its page"),
                        )
                    })?,
            );
        }

        // ---- inputs (the firmware's own, with its SHA-256, is rendered
        // first when the transcript is asked for)
        let mut t = Transcript::default();
        match self.ovmf_hash {
            Some(seed) => t.input(
                "ovmf_hash",
                format!(
                    "{} (precomputed seed: firmware pages not rehashed)",
                    hex::encode(seed)
                ),
            ),
            None => t.input("ovmf_hash", "none (firmware pages hashed)"),
        }
        t.input(
            "sev_metadata",
            ovmf.sections
                .iter()
                .map(|s| format!("{:#x}+{:#x} {}", s.gpa, s.size, s.kind.name()))
                .collect::<Vec<_>>()
                .join(", "),
        );
        t.input("ap_reset_eip", format!("{ap_eip:#010x}"));
        match (&self.kernel, &hashes) {
            (Some(k), Some(h)) => {
                t.input("kernel", k.describe_with(&h.kernel));
                t.input(
                    "initrd",
                    match self.initrd {
                        Some(i) => i.describe_with(&h.initrd),
                        None => format!("none (sha256 of empty: {})", hex::encode(h.initrd)),
                    },
                );
                t.input(
                    "append",
                    format!(
                        "{:?} (sha256 of it with NUL: {})",
                        self.append.unwrap_or(""),
                        hex::encode(h.cmdline)
                    ),
                );
                if let Some((gpa, size)) = ovmf.sev_hashes_table {
                    t.input("hashes_table", format!("{gpa:#x}/{size:#x}"));
                }
            }
            _ => t.input("kernel", "none (kernel-hashes page measured as ZERO)"),
        }
        t.input("vcpus", self.vcpus.to_string());
        t.input(
            "vcpu_type",
            match (self.vmm_type, self.vcpu_type) {
                (VmmType::Qemu, Some(v)) => v.describe(),
                (_, _) => format!("ignored under {} (RDX = 0x600)", self.vmm_type.name()),
            },
        );
        t.input("vmm_type", self.vmm_type.name());
        t.input("guest_features", features);
        t.input(
            "host_kernel",
            match self.vmm_type {
                VmmType::Qemu => "Linux 6.9+ KVM (VMSA MXCSR 0x1f80, FCW 0x37f)",
                _ => "VMSA MXCSR 0, FCW 0 (this VMM's convention)",
            },
        );

        // ---- steps
        let pages = ovmf.data().len() / PAGE_SIZE + 64 + self.vcpus as usize;
        let mut chain = Chain::new(self.ovmf_hash.unwrap_or([0; 48]), pages);
        match self.ovmf_hash {
            Some(_) => chain.close("precomputed firmware digest (seed)".into()),
            None => firmware_pages(&mut chain, &ovmf),
        }
        let gce = self.vmm_type == VmmType::Gce;
        let ec2 = self.vmm_type == VmmType::Ec2;
        for (i, s) in ovmf.sections.iter().enumerate() {
            let gpa = u64::from(s.gpa);
            let size = u64::from(s.size);
            let label = match s.kind {
                SectionType::SnpSecMem => {
                    let pt = if gce {
                        PageType::Unmeasured
                    } else {
                        PageType::Zero
                    };
                    let l = section_label(i, s, &format!("{} {}", size / 4096, pt.name()));
                    chain.pages(pt, gpa, size);
                    l
                }
                SectionType::SnpSecrets => {
                    let l = section_label(i, s, "SECRETS page");
                    chain.update(PageType::Secrets, gpa, None);
                    l
                }
                SectionType::Cpuid if ec2 => continue,
                SectionType::Cpuid => {
                    let l = section_label(i, s, "CPUID page");
                    chain.update(PageType::Cpuid, gpa, None);
                    l
                }
                SectionType::SvsmCaa => {
                    let l = section_label(i, s, &format!("{} ZERO", size / 4096));
                    chain.pages(PageType::Zero, gpa, size);
                    l
                }
                SectionType::SnpKernelHashes => match &hashes_page {
                    Some(page) => {
                        let l = section_label(i, s, "NORMAL, hashes table");
                        chain.update(PageType::Normal, gpa, Some(page));
                        l
                    }
                    None => {
                        let l = section_label(i, s, &format!("{} ZERO, no kernel", size / 4096));
                        chain.pages(PageType::Zero, gpa, size);
                        l
                    }
                },
            };
            chain.close(label);
        }
        if ec2 {
            for (i, s) in ovmf.sections.iter().enumerate() {
                if s.kind == SectionType::Cpuid {
                    let l = section_label(i, s, "CPUID page, deferred for EC2");
                    chain.update(PageType::Cpuid, u64::from(s.gpa), None);
                    chain.close(l);
                }
            }
        }
        let bsp = vmsa_page(BSP_EIP, self.guest_features, sig, self.vmm_type);
        let ap =
            (self.vcpus > 1).then(|| vmsa_page(ap_eip, self.guest_features, sig, self.vmm_type));
        for cpu in 0..self.vcpus {
            let (page, what) = match &ap {
                Some(ap) if cpu > 0 => (ap, "AP"),
                _ => (&bsp, "BSP"),
            };
            let l = format!("VMSA {cpu} ({what})");
            chain.update(PageType::Vmsa, VMSA_GPA, Some(page));
            chain.close(l);
        }

        let mut notes = vec![format!(
            "host-chosen inputs: vCPU count {}, vCPU type, VMM type {}, guest features, host kernel generation (MXCSR/FCW): each changes the digest",
            self.vcpus,
            self.vmm_type.name()
        )];
        if self.kernel.is_none() && ovmf.has_section(SectionType::SnpKernelHashes) {
            notes.push(
                "no kernel: the kernel-hashes page is measured as ZERO. A -kernel launch with \
                 kernel-hashes=off gives this same digest and its kernel is NOT verified"
                    .into(),
            );
        }
        if ec2 {
            notes.push(
                "EC2: RDX = 0x600 as sev-snp-measure 0.0.13; the sev crate / snpguest use 0 and get another digest"
                    .into(),
            );
        }
        if self.vmm_type != VmmType::Qemu && self.vcpu_type.is_some() {
            notes.push(format!(
                "the vCPU type has no effect under {}",
                self.vmm_type.name()
            ));
        }
        Ok(chain.finish("sev-snp.measurement", self.ovmf, t.inputs, notes))
    }
}
