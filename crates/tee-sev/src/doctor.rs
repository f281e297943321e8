//! The SEV capability doctor (`teectl doctor`): decode CPUID Fn8000_001F,
//! tell host from guest, and run only the checks that apply, each with a
//! one-line remediation. A machine without SEV is an answer, not an error.
//!
//! Every probe reads through a configurable filesystem root and a [`Cpuid`]
//! trait, so tests run the real logic against fake trees and register values.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// CPUID access.
pub trait Cpuid {
    /// `(eax, ebx, ecx, edx)` of `leaf` (subleaf 0), or `None` when not x86
    /// or the leaf is above the maximum.
    fn cpuid(&self, leaf: u32) -> Option<[u32; 4]>;
}

/// This CPU.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostCpuid;

impl Cpuid for HostCpuid {
    fn cpuid(&self, leaf: u32) -> Option<[u32; 4]> {
        crate::sys::cpuid(leaf)
    }
}

/// Names of the Fn8000_001F EAX feature bits (AMD APM vol. 3, appendix E.4.17).
pub const EAX_BITS: [(u32, &str); 32] = [
    (0, "SME"),
    (1, "SEV"),
    (2, "page flush MSR"),
    (3, "SEV-ES"),
    (4, "SEV-SNP"),
    (5, "VMPL"),
    (6, "RMPQUERY"),
    (7, "VMPL supervisor shadow stack"),
    (8, "Secure TSC"),
    (9, "TSC_AUX virtualization"),
    (10, "hardware cache coherency across encryption domains"),
    (11, "64-bit host only"),
    (12, "restricted injection"),
    (13, "alternate injection"),
    (14, "debug state swap"),
    (15, "prevent host IBS"),
    (16, "VTE"),
    (17, "VMGEXIT parameter"),
    (18, "virtual TOM MSR"),
    (19, "IBS virtualization"),
    (20, "PMC virtualization"),
    (21, "RMPREAD"),
    (22, "guest intercept control"),
    (23, "segmented RMP"),
    (24, "VMSA register protection"),
    (25, "SMT protection"),
    (26, "Secure AVIC"),
    (27, "allowed SEV features"),
    (28, "SVSM communication page MSR"),
    (29, "nested virtualization SNP MSR"),
    (30, "HV in-use write allowed"),
    (31, "IBPB on entry"),
];

/// A decoded CPUID Fn8000_001F.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SevCpuid {
    /// Raw registers.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
    /// Names of the EAX features present.
    pub present: Vec<&'static str>,
    /// Names of the EAX features absent.
    pub absent: Vec<&'static str>,
    /// EBX\[5:0\]: C-bit position in page-table entries.
    pub c_bit: u32,
    /// EBX\[11:6\]: physical address bit reduction.
    pub phys_addr_reduction: u32,
    /// EBX\[15:12\]: number of VMPLs.
    pub vmpls: u32,
    /// ECX: encrypted guests supported simultaneously (ASIDs).
    pub max_encrypted_guests: u32,
    /// EDX: minimum ASID of an SEV-enabled, SEV-ES-disabled guest.
    pub min_sev_asid: u32,
    /// SEV-ES and SEV-SNP guests this host can run at once (ASIDs 1..EDX-1).
    pub sev_es_snp_guests: u32,
    /// Plain SEV guests this host can run at once (ASIDs EDX..=ECX).
    pub sev_guests: u32,
}

impl SevCpuid {
    /// Decode the four registers.
    pub fn decode([eax, ebx, ecx, edx]: [u32; 4]) -> Self {
        let (present, absent): (Vec<_>, Vec<_>) =
            EAX_BITS.iter().partition(|(b, _)| eax >> b & 1 == 1);
        let sev_es_snp_guests = edx.saturating_sub(1).min(ecx);
        let sev_guests = if edx == 0 {
            ecx
        } else {
            ecx.saturating_sub(edx.saturating_sub(1))
        };
        Self {
            eax,
            ebx,
            ecx,
            edx,
            present: present.into_iter().map(|(_, n)| n).collect(),
            absent: absent.into_iter().map(|(_, n)| n).collect(),
            c_bit: ebx & 0x3F,
            phys_addr_reduction: ebx >> 6 & 0x3F,
            vmpls: ebx >> 12 & 0xF,
            max_encrypted_guests: ecx,
            min_sev_asid: edx,
            sev_es_snp_guests,
            sev_guests,
        }
    }

    /// Whether feature `bit` is present.
    pub fn has(&self, bit: u32) -> bool {
        self.eax >> bit & 1 == 1
    }
}

/// Where the doctor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Bare metal: host checks apply.
    Host,
    /// A virtual machine: guest checks apply.
    Guest,
    /// Not x86 / CPUID unavailable.
    Unknown,
}

pub use tee_core::doctor::{CheckResult, Status, Verdict};

/// The doctor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// Host or guest.
    pub role: Role,
    /// The verdict.
    pub verdict: Verdict,
    /// CPU vendor string.
    pub vendor: Option<String>,
    /// Decoded Fn8000_001F (absent when the leaf is not available).
    pub cpuid: Option<SevCpuid>,
    /// One-sentence summary.
    pub summary: String,
    /// The checks that apply to this role.
    pub checks: Vec<CheckResult>,
}

fn vendor(c: &dyn Cpuid) -> Option<String> {
    let [_, ebx, ecx, edx] = c.cpuid(0)?;
    let mut v = Vec::with_capacity(12);
    for r in [ebx, edx, ecx] {
        v.extend_from_slice(&r.to_le_bytes());
    }
    Some(String::from_utf8_lossy(&v).into_owned())
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>, fix: &str) -> CheckResult {
    CheckResult::check(name, ok, detail, fix)
}

fn info(name: &'static str, detail: impl Into<String>) -> CheckResult {
    CheckResult::info(name, detail)
}

/// Run the doctor against a filesystem rooted at `root` (`/` normally).
pub fn run(root: &Path, cpu: &dyn Cpuid) -> DoctorReport {
    let p = |rel: &str| -> PathBuf { root.join(rel.trim_start_matches('/')) };
    let vendor = vendor(cpu);
    let hypervisor = cpu.cpuid(1).map(|r| r[2] >> 31 & 1 == 1);
    let max_ext = cpu.cpuid(0x8000_0000).map(|r| r[0]).unwrap_or(0);
    let sev = if max_ext >= 0x8000_001F {
        cpu.cpuid(0x8000_001F).map(SevCpuid::decode)
    } else {
        None
    };
    let role = match hypervisor {
        Some(true) => Role::Guest,
        Some(false) => Role::Host,
        None => Role::Unknown,
    };
    let amd = vendor.as_deref() == Some("AuthenticAMD");
    let mut checks = Vec::new();
    let cpuid_detail = match &sev {
        Some(s) if s.eax != 0 => format!("Fn8000_001F EAX={:#x}: {}", s.eax, s.present.join(", ")),
        Some(_) => "Fn8000_001F reports no memory-encryption features".to_owned(),
        None => "CPUID Fn8000_001F not available".to_owned(),
    };
    let summary;
    let verdict;
    match role {
        Role::Host => {
            let s = sev.clone();
            let has = |b: u32| s.as_ref().is_some_and(|s| s.has(b));
            checks.push(check(
                "cpu.sev-snp",
                amd && has(1) && has(4),
                cpuid_detail,
                "SEV-SNP needs an AMD EPYC 7003 (Milan) or newer CPU with SEV/SNP enabled in the BIOS (SMEE, SNP, RMP table)",
            ));
            if let Some(s) = &sev {
                checks.push(info(
                    "cpu.asids",
                    format!(
                        "{} encrypted guests at once: {} SEV-ES/SEV-SNP guests (ASIDs 1..{}) and {} plain SEV guests; C-bit {}, address reduction {}, {} VMPLs",
                        s.max_encrypted_guests,
                        s.sev_es_snp_guests,
                        s.min_sev_asid.saturating_sub(1),
                        s.sev_guests,
                        s.c_bit,
                        s.phys_addr_reduction,
                        s.vmpls
                    ),
                ));
            }
            for (param, what) in [("sev", "SEV"), ("sev_es", "SEV-ES"), ("sev_snp", "SEV-SNP")] {
                let path = p(&format!("/sys/module/kvm_amd/parameters/{param}"));
                let val = std::fs::read_to_string(&path)
                    .ok()
                    .map(|v| v.trim().to_owned());
                let on = matches!(val.as_deref(), Some("Y" | "y" | "1"));
                let name = match param {
                    "sev" => "kvm_amd.sev",
                    "sev_es" => "kvm_amd.sev_es",
                    _ => "kvm_amd.sev_snp",
                };
                checks.push(check(
                    name,
                    on,
                    match &val {
                        Some(v) => format!("{what} in KVM: {v}"),
                        None => "kvm_amd not loaded or parameter absent".to_owned(),
                    },
                    &format!("load kvm_amd with {param}=1 (e.g. `modprobe kvm_amd {param}=1`) on a kernel with {what} host support"),
                ));
            }
            let dev_sev = p("/dev/sev").exists();
            checks.push(check(
                "dev.sev",
                dev_sev,
                if dev_sev {
                    "/dev/sev present"
                } else {
                    "/dev/sev absent"
                },
                "load the ccp module (PSP driver); check dmesg for 'SEV API' / firmware errors",
            ));
            let kvm = p("/dev/kvm").exists();
            checks.push(check(
                "dev.kvm",
                kvm,
                if kvm {
                    "/dev/kvm present"
                } else {
                    "/dev/kvm absent"
                },
                "enable SVM in the BIOS and load kvm_amd",
            ));
            let memlock = std::fs::read_to_string(p("/proc/self/limits"))
                .ok()
                .and_then(|l| {
                    l.lines()
                        .find(|l| l.starts_with("Max locked memory"))
                        .map(str::to_owned)
                });
            let unlimited = memlock.as_deref().is_some_and(|l| l.contains("unlimited"));
            checks.push(CheckResult::new(
                "memlock",
                if unlimited { Status::Ok } else { Status::Info },
                memlock.map_or_else(|| "memlock limit unknown".to_owned(), |l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
                (!unlimited).then(|| {
                    "SEV guests pin their memory: raise the VMM's memlock limit (ulimit -l unlimited / LimitMEMLOCK=infinity)".to_owned()
                }),
            ));
            let all_ok = checks.iter().all(|c| c.status != Status::Missing);
            verdict = if !(amd && has(1) && has(4)) {
                Verdict::NoCapability
            } else if all_ok {
                Verdict::Ready
            } else {
                Verdict::Problem
            };
            summary = if all_ok {
                "bare-metal host ready to run SEV-SNP guests".to_owned()
            } else if amd && has(4) {
                "bare-metal AMD host whose CPU supports SEV-SNP; see the missing items to enable it"
                    .to_owned()
            } else {
                "bare-metal host without SEV-SNP support: it cannot run SEV-SNP guests".to_owned()
            };
        }
        Role::Guest | Role::Unknown => {
            let sev_guest = p("/dev/sev-guest").exists();
            let tsm_root = p("/sys/kernel/config/tsm/report");
            let tsm = tsm_root.exists();
            let status = read_sev_status(&p("/dev/cpu/0/msr"));
            let (active_sev, active_es, active_snp) = match status {
                Some(v) => (v & 1 == 1, v >> 1 & 1 == 1, v >> 2 & 1 == 1),
                None => (false, false, false),
            };
            let cpu_says_sev = sev.as_ref().is_some_and(|s| s.has(1));
            // The provider is only visible inside a report directory: the
            // probe creates one (and removes it).
            let provider = tsm.then(|| {
                crate::guest::ConfigfsTsm::new(crate::guest::StdFs, tsm_root.clone()).probe()
            });
            let tsm_sev = matches!(provider, Some(Ok(())));
            // Another provider (tdx_guest): configfs-tsm is no SEV signal.
            let tsm_other = matches!(provider, Some(Err(tee_core::Error::Unsupported(_))));
            let snp_guest = sev_guest || active_snp || tsm_sev;
            checks.push(info("cpu.sev", cpuid_detail));
            // In a VM with no sign of SEV at all, missing guest interfaces
            // are expected, not problems: report them calmly.
            let any_sev = cpu_says_sev
                || active_sev
                || sev_guest
                || tsm_sev
                || (tsm && !tsm_other && (amd || vendor.is_none()));
            let check = |name, ok, detail: &str, fix: &str| {
                if any_sev {
                    check(name, ok, detail, fix)
                } else {
                    info(
                        name,
                        format!("{detail} (expected: this VM is not an SEV guest)"),
                    )
                }
            };
            checks.push(check(
                "dev.sev-guest",
                sev_guest || tsm_sev,
                if sev_guest {
                    "/dev/sev-guest present"
                } else if tsm_sev {
                    "/dev/sev-guest absent; reports come through configfs-tsm"
                } else {
                    "/dev/sev-guest absent"
                },
                "in an SEV-SNP guest, load the sev-guest module (CONFIG_SEV_GUEST); otherwise launch the VM as SEV-SNP",
            ));
            if !tsm && sev_guest {
                // The backend falls back to the /dev/sev-guest ioctls.
                checks.push(info(
                    "configfs-tsm",
                    "configfs-tsm report interface absent; reports come through /dev/sev-guest",
                ));
            } else {
                checks.push(check(
                    "configfs-tsm",
                    tsm,
                    if tsm { "/sys/kernel/config/tsm/report present" } else { "configfs-tsm report interface absent" },
                    "mount configfs (`mount -t configfs none /sys/kernel/config`) on Linux 6.7+ with CONFIG_TSM_REPORTS",
                ));
            }
            if let Some(probe) = provider {
                checks.push(match probe {
                    Ok(()) => info("configfs-tsm.provider", "provider sev_guest"),
                    Err(tee_core::Error::Unsupported(u)) if any_sev => CheckResult::missing(
                        "configfs-tsm.provider",
                        u.reason.into_owned(),
                        "load the sev-guest module so configfs-tsm serves SEV-SNP reports",
                    ),
                    Err(tee_core::Error::Unsupported(u)) => info(
                        "configfs-tsm.provider",
                        format!("{} (not an SEV guest)", u.reason),
                    ),
                    Err(e) => info(
                        "configfs-tsm.provider",
                        format!("provider not inspected ({e}); run as root to check"),
                    ),
                });
            }
            checks.push(match status {
                Some(v) => info(
                    "msr.sev_status",
                    format!(
                        "SEV_STATUS={v:#x}: SEV {}, SEV-ES {}, SEV-SNP {}",
                        onoff(active_sev),
                        onoff(active_es),
                        onoff(active_snp)
                    ),
                ),
                None => info(
                    "msr.sev_status",
                    "SEV_STATUS not readable (needs root and the msr module); skipped",
                ),
            });
            let all_ok = checks.iter().all(|c| c.status != Status::Missing);
            verdict = if !any_sev {
                Verdict::NoCapability
            } else if snp_guest && all_ok {
                Verdict::Ready
            } else {
                Verdict::Problem
            };
            summary = if snp_guest && all_ok {
                "SEV-SNP guest: attestation reports are available".to_owned()
            } else if snp_guest {
                "SEV-SNP guest whose attestation interfaces are not all working: see the missing items".to_owned()
            } else if active_sev || cpu_says_sev {
                "SEV or SEV-ES guest without SEV-SNP: no attestation reports from the guest"
                    .to_owned()
            } else if role == Role::Unknown {
                "could not identify the CPU; no SEV interfaces found".to_owned()
            } else {
                format!(
                    "virtual machine{} that is not an SEV guest: no SEV-SNP here, nothing to fix unless you meant to launch a confidential VM",
                    if amd { " on an AMD host" } else { "" }
                )
            };
            if p("/dev/kvm").exists() {
                checks.push(info(
                    "dev.kvm",
                    "/dev/kvm present (nested virtualization); SEV-SNP guests can only be hosted on bare metal, so host checks do not apply",
                ));
            }
        }
    }
    DoctorReport {
        role,
        verdict,
        vendor,
        cpuid: sev,
        summary,
        checks,
    }
}

fn onoff(b: bool) -> &'static str {
    if b { "active" } else { "inactive" }
}

/// `SEV_STATUS` (MSR 0xC001_0131) through the msr driver.
fn read_sev_status(dev: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(dev).ok()?;
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, 0xC001_0131).ok()?;
        Some(u64::from_le_bytes(b))
    }
    #[cfg(not(unix))]
    {
        let _ = dev;
        None
    }
}

/// Human-readable rendering.
pub fn render(r: &DoctorReport) -> String {
    let mut s = String::new();
    let role = match r.role {
        Role::Host => "host (bare metal)",
        Role::Guest => "guest (virtual machine)",
        Role::Unknown => "unknown",
    };
    s.push_str(&format!(
        "Role: {role}\nCPU vendor: {}\n",
        r.vendor.as_deref().unwrap_or("unknown")
    ));
    if let Some(c) = &r.cpuid {
        s.push_str(&format!(
            "CPUID Fn8000_001F: EAX={:#010x} EBX={:#010x} ECX={} EDX={}\n",
            c.eax, c.ebx, c.ecx, c.edx
        ));
        if c.eax != 0 {
            s.push_str(&format!(
                "  present: {}\n  absent: {}\n",
                c.present.join(", "),
                c.absent.join(", ")
            ));
            s.push_str(&format!(
                "  C-bit {}, physical address reduction {}, {} VMPLs, {} encrypted guests (SEV-ES/SNP {}, SEV {})\n",
                c.c_bit, c.phys_addr_reduction, c.vmpls, c.max_encrypted_guests, c.sev_es_snp_guests, c.sev_guests
            ));
        }
    }
    s.push_str(&format!("Summary: {}\n", r.summary));
    for c in &r.checks {
        s.push_str(&format!("[{}] {}: {}\n", c.status.tag(), c.name, c.detail));
        if let Some(f) = &c.remediation {
            s.push_str(&format!("       -> {f}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Vec<(u32, [u32; 4])>);
    impl Cpuid for Fake {
        fn cpuid(&self, leaf: u32) -> Option<[u32; 4]> {
            self.0.iter().find(|(l, _)| *l == leaf).map(|(_, r)| *r)
        }
    }

    const AMD: [u32; 4] = [0x10, 0x6874_7541, 0x444D_4163, 0x6974_6E65];

    #[test]
    fn decode_issue_example() {
        let c = SevCpuid::decode([0x0101_FD3F, 0x4173, 509, 128]);
        assert_eq!(
            c.present,
            vec![
                "SME",
                "SEV",
                "page flush MSR",
                "SEV-ES",
                "SEV-SNP",
                "VMPL",
                "Secure TSC",
                "hardware cache coherency across encryption domains",
                "64-bit host only",
                "restricted injection",
                "alternate injection",
                "debug state swap",
                "prevent host IBS",
                "VTE",
                "VMSA register protection"
            ]
        );
        assert!(c.absent.contains(&"TSC_AUX virtualization"));
        assert!(!c.has(9));
        assert_eq!((c.c_bit, c.phys_addr_reduction, c.vmpls), (51, 5, 4));
        assert_eq!((c.max_encrypted_guests, c.min_sev_asid), (509, 128));
        assert_eq!((c.sev_es_snp_guests, c.sev_guests), (127, 382));
    }

    #[test]
    fn plain_vm_is_calm() {
        // This machine: AMD, hypervisor bit, Fn8000_001F all zero, /dev/kvm.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join("dev/kvm"), b"").unwrap();
        let cpu = Fake(vec![
            (0, AMD),
            (1, [0, 0, 1 << 31, 0]),
            (0x8000_0000, [0x8000_0021, 0, 0, 0]),
            (0x8000_001F, [0; 4]),
        ]);
        let r = run(dir.path(), &cpu);
        assert_eq!(r.role, Role::Guest);
        assert_eq!(r.vendor.as_deref(), Some("AuthenticAMD"));
        assert!(r.summary.contains("not an SEV guest"), "{}", r.summary);
        assert_eq!(r.verdict, Verdict::NoCapability);
        let names: Vec<_> = r.checks.iter().map(|c| c.name).collect();
        assert!(
            !names.iter().any(|n| n.starts_with("kvm_amd")),
            "host checks in a guest: {names:?}"
        );
        assert!(names.contains(&"dev.sev-guest") && names.contains(&"configfs-tsm"));
        assert!(
            r.checks.iter().all(|c| c.status != Status::Missing),
            "{:?}",
            r.checks
        );
        assert!(render(&r).contains("Role: guest"));
    }

    #[test]
    fn snp_guest_and_host() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join("dev/sev-guest"), b"").unwrap();
        std::fs::create_dir_all(dir.path().join("sys/kernel/config/tsm/report")).unwrap();
        let cpu = Fake(vec![
            (0, AMD),
            (1, [0, 0, 1 << 31, 0]),
            (0x8000_0000, [0x8000_0021, 0, 0, 0]),
            (0x8000_001F, [0x1B, 0x33, 0, 0]),
        ]);
        let r = run(dir.path(), &cpu);
        assert_eq!(
            r.summary,
            "SEV-SNP guest: attestation reports are available"
        );
        assert_eq!(r.verdict, Verdict::Ready);
        assert!(
            r.checks
                .iter()
                .filter(|c| c.name.starts_with("dev.") || c.name == "configfs-tsm")
                .all(|c| c.status != Status::Missing)
        );

        let host = tempfile::tempdir().unwrap();
        let params = host.path().join("sys/module/kvm_amd/parameters");
        std::fs::create_dir_all(&params).unwrap();
        std::fs::write(params.join("sev"), "Y\n").unwrap();
        std::fs::write(params.join("sev_es"), "Y\n").unwrap();
        std::fs::write(params.join("sev_snp"), "N\n").unwrap();
        let cpu = Fake(vec![
            (0, AMD),
            (1, [0; 4]),
            (0x8000_0000, [0x8000_0021, 0, 0, 0]),
            (0x8000_001F, [0x0101_FD3F, 0x4173, 509, 128]),
        ]);
        let r = run(host.path(), &cpu);
        assert_eq!(r.role, Role::Host);
        let get = |n: &str| r.checks.iter().find(|c| c.name == n).unwrap().clone();
        assert_eq!(get("kvm_amd.sev").status, Status::Ok);
        assert_eq!(get("kvm_amd.sev_snp").status, Status::Missing);
        assert!(
            get("kvm_amd.sev_snp")
                .remediation
                .unwrap()
                .contains("sev_snp=1")
        );
        assert_eq!(get("dev.sev").status, Status::Missing);
        assert!(
            get("cpu.asids")
                .detail
                .contains("127 SEV-ES/SEV-SNP guests")
        );
        assert!(!r.checks.iter().any(|c| c.name == "dev.sev-guest"));
        assert!(r.summary.contains("supports SEV-SNP"));
        assert_eq!(r.verdict, Verdict::Problem);
        // Everything on: ready.
        std::fs::write(params.join("sev_snp"), "Y\n").unwrap();
        std::fs::create_dir_all(host.path().join("dev")).unwrap();
        std::fs::write(host.path().join("dev/sev"), b"").unwrap();
        std::fs::write(host.path().join("dev/kvm"), b"").unwrap();
        std::fs::create_dir_all(host.path().join("proc/self")).unwrap();
        std::fs::write(
            host.path().join("proc/self/limits"),
            "Max locked memory         unlimited            unlimited            bytes\n",
        )
        .unwrap();
        let r = run(host.path(), &cpu);
        assert_eq!(r.verdict, Verdict::Ready, "{:?}", r.checks);
        // An Intel host: no SEV capability, whatever KVM says.
        let intel = Fake(vec![
            (
                0,
                [
                    0xd,
                    u32::from_le_bytes(*b"Genu"),
                    u32::from_le_bytes(*b"ntel"),
                    u32::from_le_bytes(*b"ineI"),
                ],
            ),
            (1, [0; 4]),
            (0x8000_0000, [0x8000_0008, 0, 0, 0]),
        ]);
        let r = run(host.path(), &intel);
        assert_eq!(r.role, Role::Host);
        assert_eq!(r.verdict, Verdict::NoCapability);
    }
}
