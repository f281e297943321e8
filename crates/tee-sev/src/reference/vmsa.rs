//! Initial vCPU state (VMSA pages), vCPU types and VMM types.

use tee_core::{Error, Result};

/// The VMM that launches the guest: each sets some initial vCPU registers
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum VmmType {
    /// QEMU/KVM (the default).
    #[default]
    Qemu,
    /// Amazon EC2.
    Ec2,
    /// Google Compute Engine.
    Gce,
}

impl VmmType {
    /// Every VMM type.
    pub const ALL: [VmmType; 3] = [VmmType::Qemu, VmmType::Ec2, VmmType::Gce];

    /// Parse `qemu`, `ec2` or `gce` (case-insensitive).
    ///
    /// # Errors
    /// [`Error::Misuse`] for another name.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "qemu" => Ok(Self::Qemu),
            "ec2" => Ok(Self::Ec2),
            "gce" => Ok(Self::Gce),
            _ => Err(Error::Misuse(
                format!("unknown VMM type `{s}` (expected qemu, ec2 or gce)").into(),
            )),
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Qemu => "qemu",
            Self::Ec2 => "ec2",
            Self::Gce => "gce",
        }
    }
}

/// The CPUID 0x1 EAX signature from family, model and stepping (AMD
/// CPUID specification #25481).
pub fn cpu_sig(family: u32, model: u32, stepping: u32) -> u32 {
    let (fam_lo, fam_hi) = if family > 0xF {
        (0xF, (family - 0xF) & 0xFF)
    } else {
        (family, 0)
    };
    let model_lo = model & 0xF;
    let model_hi = (model >> 4) & 0xF;
    (fam_hi << 20) | (model_hi << 16) | (fam_lo << 8) | (model_lo << 4) | (stepping & 0xF)
}

/// A guest vCPU type: a QEMU CPU model name and its CPUID signature, or a
/// signature given directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct VcpuType {
    /// The QEMU CPU model name (`None` for a signature given directly).
    pub name: Option<&'static str>,
    /// The CPUID signature QEMU places in RDX.
    pub sig: u32,
}

const fn named(name: &'static str, f: u32, m: u32, s: u32) -> VcpuType {
    let (fam_lo, fam_hi) = if f > 0xF {
        (0xF, (f - 0xF) & 0xFF)
    } else {
        (f, 0)
    };
    VcpuType {
        name: Some(name),
        sig: (fam_hi << 20)
            | (((m >> 4) & 0xF) << 16)
            | (fam_lo << 8)
            | ((m & 0xF) << 4)
            | (s & 0xF),
    }
}

impl VcpuType {
    /// Every named type (the QEMU `builtin_x86_defs` EPYC models).
    pub const ALL: [VcpuType; 16] = [
        named("EPYC", 23, 1, 2),
        named("EPYC-v1", 23, 1, 2),
        named("EPYC-v2", 23, 1, 2),
        named("EPYC-IBPB", 23, 1, 2),
        named("EPYC-v3", 23, 1, 2),
        named("EPYC-v4", 23, 1, 2),
        named("EPYC-Rome", 23, 49, 0),
        named("EPYC-Rome-v1", 23, 49, 0),
        named("EPYC-Rome-v2", 23, 49, 0),
        named("EPYC-Rome-v3", 23, 49, 0),
        named("EPYC-Milan", 25, 1, 1),
        named("EPYC-Milan-v1", 25, 1, 1),
        named("EPYC-Milan-v2", 25, 1, 1),
        named("EPYC-Genoa", 25, 17, 0),
        named("EPYC-Genoa-v1", 25, 17, 0),
        named("EPYC-Turin", 26, 0, 0),
    ];

    /// A named type, case-sensitive as QEMU spells it (`EPYC-Milan`).
    ///
    /// # Errors
    /// [`Error::Misuse`] for an unknown name (the message lists the known ones).
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|t| t.name == Some(name))
            .copied()
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().filter_map(|t| t.name).collect();
                Error::Misuse(
                    format!("unknown vCPU type `{name}` (known: {})", known.join(", ")).into(),
                )
            })
    }

    /// A type given by its CPUID signature.
    pub fn from_sig(sig: u32) -> Self {
        Self { name: None, sig }
    }

    /// A type given by family, model and stepping.
    pub fn from_family_model_stepping(family: u32, model: u32, stepping: u32) -> Self {
        Self::from_sig(cpu_sig(family, model, stepping))
    }

    /// `EPYC-Milan (sig 0x00a00f11)` or `sig 0x...`.
    pub fn describe(&self) -> String {
        match self.name {
            Some(n) => format!("{n} (CPUID signature {:#010x})", self.sig),
            None => format!("CPUID signature {:#010x}", self.sig),
        }
    }
}

/// The SEV_FEATURES bits a guest may request; 11, 13 and 63:16 are reserved.
pub const GUEST_FEATURE_BITS: [(u32, &str); 14] = [
    (0, "SNPActive"),
    (1, "vTOM"),
    (2, "ReflectVC"),
    (3, "RestrictedInjection"),
    (4, "AlternateInjection"),
    (5, "DebugSwap"),
    (6, "PreventHostIBS"),
    (7, "BTBIsolation"),
    (8, "VmplSSS"),
    (9, "SecureTSC"),
    (10, "VmgexitParameter"),
    (12, "IbsVirtualization"),
    (14, "VmsaRegProt"),
    (15, "SmtProtection"),
];

/// Check guest features and name their bits.
///
/// # Errors
/// [`Error::Misuse`] if a reserved bit is set or SNPActive (bit 0) is clear.
pub fn describe_guest_features(features: u64) -> Result<String> {
    let known: u64 = GUEST_FEATURE_BITS.iter().map(|(b, _)| 1u64 << b).sum();
    if features & !known != 0 {
        return Err(Error::Misuse(
            format!(
                "guest features {features:#x} set reserved bits {:#x}",
                features & !known
            )
            .into(),
        ));
    }
    if features & 1 == 0 {
        return Err(Error::Misuse(
            format!("guest features {features:#x} lack SNPActive (bit 0), required for SNP").into(),
        ));
    }
    let names: Vec<&str> = GUEST_FEATURE_BITS
        .iter()
        .filter(|(b, _)| features & (1 << b) != 0)
        .map(|(_, n)| *n)
        .collect();
    Ok(format!("{features:#x} ({})", names.join(" + ")))
}

/// The reset address of the bootstrap processor.
pub(super) const BSP_EIP: u32 = 0xFFFF_FFF0;

fn seg(page: &mut [u8; 4096], off: usize, selector: u16, attrib: u16, limit: u32, base: u64) {
    page[off..off + 2].copy_from_slice(&selector.to_le_bytes());
    page[off + 2..off + 4].copy_from_slice(&attrib.to_le_bytes());
    page[off + 4..off + 8].copy_from_slice(&limit.to_le_bytes());
    page[off + 8..off + 16].copy_from_slice(&base.to_le_bytes());
}

fn put64(page: &mut [u8; 4096], off: usize, v: u64) {
    page[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// The 4096-byte VMSA a vCPU starting at `eip` has under `vmm`.
pub fn vmsa_page(eip: u32, sev_features: u64, vcpu_sig: u32, vmm: VmmType) -> [u8; 4096] {
    let mut p = [0u8; 4096];
    let bsp = eip == BSP_EIP;
    let (cs_attr, ss_attr, tr_attr, rdx, mxcsr, fcw, g_pat) = match vmm {
        VmmType::Qemu => (
            0x9B,
            0x93,
            0x8B,
            u64::from(vcpu_sig),
            0x1F80u32,
            0x037Fu16,
            0x0007_0406_0007_0406u64,
        ),
        VmmType::Ec2 => (
            if bsp { 0x9A } else { 0x9B },
            0x92,
            0x83,
            0x600,
            0,
            0,
            0x0007_0406_0007_0406,
        ),
        VmmType::Gce => (0x9B, 0x93, 0x8B, 0x600, 0, 0, 0x0007_0106),
    };
    seg(&mut p, 0x00, 0, 0x93, 0xFFFF, 0); // ES
    seg(
        &mut p,
        0x10,
        0xF000,
        cs_attr,
        0xFFFF,
        u64::from(eip & 0xFFFF_0000),
    ); // CS
    seg(&mut p, 0x20, 0, ss_attr, 0xFFFF, 0); // SS
    seg(&mut p, 0x30, 0, 0x93, 0xFFFF, 0); // DS
    seg(&mut p, 0x40, 0, 0x93, 0xFFFF, 0); // FS
    seg(&mut p, 0x50, 0, 0x93, 0xFFFF, 0); // GS
    seg(&mut p, 0x60, 0, 0, 0xFFFF, 0); // GDTR
    seg(&mut p, 0x70, 0, 0x82, 0xFFFF, 0); // LDTR
    seg(&mut p, 0x80, 0, 0, 0xFFFF, 0); // IDTR
    seg(&mut p, 0x90, 0, tr_attr, 0xFFFF, 0); // TR
    put64(&mut p, 0xD0, 0x1000); // EFER.SVME
    put64(&mut p, 0x148, 0x40); // CR4.MCE
    put64(&mut p, 0x158, 0x10); // CR0
    put64(&mut p, 0x160, 0x400); // DR7
    put64(&mut p, 0x168, 0xFFFF_0FF0); // DR6
    put64(&mut p, 0x170, 0x2); // RFLAGS
    put64(&mut p, 0x178, u64::from(eip & 0xFFFF)); // RIP
    put64(&mut p, 0x268, g_pat); // G_PAT
    put64(&mut p, 0x310, rdx); // RDX
    put64(&mut p, 0x3B0, sev_features); // SEV_FEATURES
    put64(&mut p, 0x3E8, 0x1); // XCR0
    p[0x408..0x40C].copy_from_slice(&mxcsr.to_le_bytes()); // MXCSR
    p[0x410..0x412].copy_from_slice(&fcw.to_le_bytes()); // x87 FCW
    p
}
