//! Detection: probe this machine's guest interfaces and cloud signals, name
//! the environment, and say what was found and why.
//!
//! Detection reads files only (under a configurable root, so tests use
//! prepared trees): it never opens a device, never creates configfs
//! entries, and never falls back to the mock. Cloud signals (DMI strings,
//! hypervisor ids) are host-provided and spoofable: they choose a backend,
//! they are never a trust decision (verification decides that).
//!
//! The signals and their sources are listed in `docs/cloud.md`
//! ("Detection").

use std::fmt;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tee_core::Platform;

/// The cloud a machine runs in, as its signals say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Cloud {
    /// Microsoft Azure.
    Azure,
    /// Google Cloud (Compute Engine).
    Gcp,
    /// Amazon EC2.
    Aws,
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Azure => "Azure",
            Self::Gcp => "GCP",
            Self::Aws => "AWS EC2",
        })
    }
}

/// What kind of machine this is, named from the probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum Environment {
    /// A guest with the bare TEE interfaces (`/dev/sev-guest`,
    /// `/dev/tdx_guest`, configfs-tsm, the PEF `svm` flag); `cloud` names
    /// the cloud when its signals are present (GCP and AWS expose the bare
    /// interfaces), `None` for a guest of a host that names no cloud.
    Guest {
        /// The TEE.
        platform: Platform,
        /// The cloud, when named by its signals.
        cloud: Option<Cloud>,
    },
    /// An Azure confidential VM: the TEE is behind the Microsoft paravisor,
    /// evidence comes through the vTPM (the bare guest devices are absent).
    AzureCvm {
        /// SEV-SNP or TDX.
        platform: Platform,
    },
    /// No TEE found; `cloud` names the cloud when its signals are present.
    NoTee {
        /// The cloud, when named by its signals.
        cloud: Option<Cloud>,
    },
}

fn pname(p: Platform) -> &'static str {
    match p {
        Platform::SevSnp => "SEV-SNP",
        Platform::Tdx => "TDX",
        Platform::Pef => "PEF",
        Platform::Mock => "mock",
        _ => "unknown TEE",
    }
}

impl Environment {
    /// The TEE, when there is one.
    pub fn platform(&self) -> Option<Platform> {
        match self {
            Self::Guest { platform, .. } | Self::AzureCvm { platform } => Some(*platform),
            Self::NoTee { .. } => None,
        }
    }

    /// The cloud, when named.
    pub fn cloud(&self) -> Option<Cloud> {
        match self {
            Self::Guest { cloud, .. } | Self::NoTee { cloud } => *cloud,
            Self::AzureCvm { .. } => Some(Cloud::Azure),
        }
    }

    /// A human name, e.g. "Azure CVM (SEV-SNP behind the paravisor)".
    pub fn name(&self) -> String {
        match self {
            Self::Guest {
                platform,
                cloud: None,
            } => format!("bare-metal {} guest", pname(*platform)),
            Self::Guest {
                platform,
                cloud: Some(Cloud::Gcp),
            } => format!("GCP confidential VM ({})", pname(*platform)),
            Self::Guest {
                platform,
                cloud: Some(c),
            } => format!("{c} {} guest", pname(*platform)),
            Self::AzureCvm { platform } => {
                format!("Azure CVM ({} behind the paravisor)", pname(*platform))
            }
            Self::NoTee { cloud: None } => "no TEE".into(),
            Self::NoTee { cloud: Some(c) } => format!("{c} VM without a TEE (no TEE)"),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One probe: a file looked at, with what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Probe {
    /// The platform this probe is evidence for (`None` for cloud and
    /// CPU-vendor signals).
    pub platform: Option<Platform>,
    /// The cloud this probe is evidence for, if it is a cloud signal.
    pub cloud: Option<Cloud>,
    /// The interface probed (absolute path on the real machine).
    pub interface: String,
    /// Whether it was found (for a string signal: whether it matched).
    pub found: bool,
    /// What was seen, or why it did not match.
    pub detail: String,
}

/// The result of [`detect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Detection {
    /// Every probe, in order.
    pub probes: Vec<Probe>,
    /// The hardware TEE whose **bare guest interfaces** are present, if any
    /// (never `mock`; `None` on an Azure CVM, whose TEE is behind the
    /// paravisor: see [`Detection::environment`]).
    pub detected: Option<Platform>,
    /// The environment named from all probes.
    pub environment: Environment,
    /// Why the environment was named so (one sentence).
    pub reason: String,
}

impl Detection {
    /// One line: what was found, or why nothing was.
    pub fn summary(&self) -> String {
        match self.environment {
            Environment::NoTee { .. } => {
                let checked: Vec<_> = self
                    .probes
                    .iter()
                    .filter(|p| p.platform.is_some())
                    .map(|p| p.interface.as_str())
                    .collect();
                format!(
                    "{}: none of {} present",
                    self.environment.name(),
                    checked.join(", ")
                )
            }
            _ => format!("{} detected: {}", self.environment.name(), self.reason),
        }
    }

    fn found(&self, interface: &str) -> bool {
        self.probes
            .iter()
            .any(|p| p.found && p.interface == interface)
    }
}

/// Absolute paths of the probes (the same on every machine).
pub mod paths {
    /// SEV-SNP guest device.
    pub const SEV_GUEST: &str = "/dev/sev-guest";
    /// The SEV-SNP guest platform device (present with the driver bound).
    pub const SEV_GUEST_PLATFORM: &str = "/sys/devices/platform/sev-guest";
    /// TDX guest device.
    pub const TDX_GUEST: &str = "/dev/tdx_guest";
    /// configfs-tsm report directory.
    pub const TSM_REPORT: &str = "/sys/kernel/config/tsm/report";
    /// CPU information.
    pub const CPUINFO: &str = "/proc/cpuinfo";
    /// The POWER secure-VM flag.
    pub const SVM: &str = "/sys/devices/system/cpu/svm";
    /// DMI directory.
    pub const DMI: &str = "/sys/class/dmi/id";
    /// The Hyper-V VMBus.
    pub const VMBUS: &str = "/sys/bus/vmbus";
    /// Xen/Nitro hypervisor uuid (EC2).
    pub const HYPERVISOR_UUID: &str = "/sys/hypervisor/uuid";
    /// TPM devices, resource-managed first.
    pub const TPM: [&str; 2] = ["/dev/tpmrm0", "/dev/tpm0"];
}

/// The Azure chassis asset tag (cloud-init `ds-identify` `is_azure_chassis`).
pub const AZURE_CHASSIS_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// Longest file detection reads (sysfs strings and `/proc/cpuinfo`).
const MAX_READ: u64 = 1 << 20;

fn rel(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Read a small file (bounded); `None` when absent or unreadable.
fn read_small(root: &Path, abs: &str) -> Option<String> {
    let f = fs::File::open(rel(root, abs)).ok()?;
    let mut s = String::new();
    f.take(MAX_READ).read_to_string(&mut s).ok()?;
    Some(s)
}

fn exists(root: &Path, abs: &str) -> Result<bool, std::io::Error> {
    match fs::symlink_metadata(rel(root, abs)) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn exists_probe(root: &Path, platform: Platform, abs: &str, what: &str) -> Probe {
    let (found, detail) = match exists(root, abs) {
        Ok(true) => (true, format!("{what} present")),
        Ok(false) => (
            false,
            format!(
                "not present: this machine is not a {} guest with bare interfaces, or the {what} driver is not loaded",
                pname(platform)
            ),
        ),
        Err(e) => (false, format!("cannot inspect: {e}")),
    };
    Probe {
        platform: Some(platform),
        cloud: None,
        interface: abs.into(),
        found,
        detail,
    }
}

fn cloud_probe(cloud: Option<Cloud>, interface: String, found: bool, detail: String) -> Probe {
    Probe {
        platform: None,
        cloud,
        interface,
        found,
        detail,
    }
}

/// A DMI string probe: `matches` decides, `want` describes the value.
fn dmi_probe(
    root: &Path,
    file: &str,
    cloud: Cloud,
    want: &str,
    matches: impl Fn(&str) -> bool,
) -> Probe {
    let abs = format!("{}/{file}", paths::DMI);
    match read_small(root, &abs) {
        Some(v) => {
            let v = v.trim();
            let ok = matches(v);
            cloud_probe(
                Some(cloud),
                abs,
                ok,
                if ok {
                    format!("{v:?}: the {cloud} value")
                } else {
                    format!("{v:?}: not {want} ({cloud})")
                },
            )
        }
        None => cloud_probe(
            Some(cloud),
            abs,
            false,
            "not readable (no DMI, or root-only)".into(),
        ),
    }
}

/// Probe the real machine.
pub fn detect() -> Detection {
    detect_with_root(Path::new("/"))
}

/// Probe a machine whose filesystem is rooted at `root` (tests use a fake
/// tree; containers may see the host's `/sys` and `/dev` under a mount).
pub fn detect_with_root(root: &Path) -> Detection {
    let mut probes = Vec::new();

    // Bare TEE guest interfaces.
    probes.push(exists_probe(
        root,
        Platform::SevSnp,
        paths::SEV_GUEST,
        "SEV-SNP guest device",
    ));
    probes.push(exists_probe(
        root,
        Platform::SevSnp,
        paths::SEV_GUEST_PLATFORM,
        "SEV-SNP guest platform device",
    ));
    probes.push(exists_probe(
        root,
        Platform::Tdx,
        paths::TDX_GUEST,
        "TDX guest device",
    ));

    // configfs-tsm: present on both SNP and TDX guests (Linux 6.7+). The
    // provider is only visible inside a report entry, which detection does
    // not create; so it supports, but does not decide, the platform: the
    // CPU vendor does.
    let tsm_found = matches!(exists(root, paths::TSM_REPORT), Ok(true));
    probes.push(Probe {
        platform: None,
        cloud: None,
        interface: paths::TSM_REPORT.into(),
        found: tsm_found,
        detail: if tsm_found {
            "configfs-tsm present (provider sev_guest or tdx_guest; shown when a report is created)".into()
        } else {
            "not present: no configfs-tsm (kernel < 6.7, configfs not mounted, or not a confidential guest)".into()
        },
    });

    // CPU vendor and flags.
    let cpuinfo = read_small(root, paths::CPUINFO).unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let vendor = field("vendor_id");
    let flags = field("flags");
    let has_flag = |f: &str| flags.split_whitespace().any(|x| x == f);
    let amd = vendor == "AuthenticAMD";
    let intel = vendor == "GenuineIntel";
    probes.push(Probe {
        platform: None,
        cloud: None,
        interface: "/proc/cpuinfo vendor_id".into(),
        found: amd || intel,
        detail: if vendor.is_empty() {
            "no x86 CPU vendor".into()
        } else {
            vendor.clone()
        },
    });
    let tdx_flag = has_flag("tdx_guest");
    probes.push(Probe {
        platform: Some(Platform::Tdx),
        cloud: None,
        interface: "/proc/cpuinfo flags tdx_guest".into(),
        found: tdx_flag,
        detail: if tdx_flag {
            "CPU flag tdx_guest set (the kernel runs as a TD)".into()
        } else {
            "no tdx_guest CPU flag".into()
        },
    });
    let snp_flag = has_flag("sev_snp");
    let hypervisor = has_flag("hypervisor");
    probes.push(Probe {
        platform: Some(Platform::SevSnp),
        cloud: None,
        interface: "/proc/cpuinfo flags sev_snp".into(),
        found: snp_flag && hypervisor,
        detail: match (snp_flag, hypervisor) {
            (true, true) => "CPU flags sev_snp and hypervisor set".into(),
            (true, false) => {
                "sev_snp set without hypervisor: an SNP-capable host, not a guest".into()
            }
            _ => "no sev_snp CPU flag".into(),
        },
    });

    let svm_probe = match read_small(root, paths::SVM) {
        Some(v) if v.trim() == "1" => (true, "secure VM (svm = 1)".to_owned()),
        Some(v) => (
            false,
            format!(
                "svm = {:?}: a POWER guest that is not a secure VM",
                v.trim()
            ),
        ),
        None => (false, "not present: not a POWER secure VM".to_owned()),
    };
    probes.push(Probe {
        platform: Some(Platform::Pef),
        cloud: None,
        interface: paths::SVM.into(),
        found: svm_probe.0,
        detail: svm_probe.1,
    });

    // Cloud signals (cloud-and-interop §2.3).
    probes.push(dmi_probe(
        root,
        "chassis_asset_tag",
        Cloud::Azure,
        "the Azure chassis tag",
        |v| v == AZURE_CHASSIS_TAG,
    ));
    let vmbus = matches!(exists(root, paths::VMBUS), Ok(true));
    probes.push(cloud_probe(
        Some(Cloud::Azure),
        paths::VMBUS.into(),
        vmbus,
        if vmbus {
            "Hyper-V VMBus present (any Hyper-V VM; weak)".into()
        } else {
            "no Hyper-V VMBus".into()
        },
    ));
    let tpm = paths::TPM
        .iter()
        .find(|t| matches!(exists(root, t), Ok(true)))
        .copied();
    probes.push(cloud_probe(
        None,
        paths::TPM.join(" | "),
        tpm.is_some(),
        match tpm {
            Some(t) => format!(
                "{t} present (on Azure: the paravisor's vTPM, which holds the HCL report at NV 0x01400001; detection does not open it)"
            ),
            None => "no TPM device".into(),
        },
    ));
    probes.push(dmi_probe(
        root,
        "product_name",
        Cloud::Gcp,
        "\"Google Compute Engine\"",
        |v| v == "Google Compute Engine",
    ));
    probes.push(dmi_probe(
        root,
        "board_vendor",
        Cloud::Gcp,
        "\"Google\"",
        |v| v == "Google",
    ));
    let sys_vendor =
        read_small(root, &format!("{}/sys_vendor", paths::DMI)).map(|v| v.trim().to_owned());
    let sys_cloud = match sys_vendor.as_deref() {
        Some("Microsoft Corporation") => Some(Cloud::Azure),
        Some("Google") => Some(Cloud::Gcp),
        Some("Amazon EC2") => Some(Cloud::Aws),
        _ => None,
    };
    probes.push(cloud_probe(
        sys_cloud,
        format!("{}/sys_vendor", paths::DMI),
        sys_cloud.is_some(),
        match (&sys_vendor, sys_cloud) {
            (Some(v), Some(c)) => format!("{v:?}: {c} (weak: any VM of that hypervisor)"),
            (Some(v), None) => format!("{v:?}: names no cloud"),
            (None, _) => "not readable (no DMI)".into(),
        },
    ));
    let hv_uuid = read_small(root, paths::HYPERVISOR_UUID).map(|v| v.trim().to_lowercase());
    let product_uuid =
        read_small(root, &format!("{}/product_uuid", paths::DMI)).map(|v| v.trim().to_lowercase());
    let product_serial = read_small(root, &format!("{}/product_serial", paths::DMI))
        .map(|v| v.trim().to_lowercase());
    let aws_hv = hv_uuid.as_deref().is_some_and(|u| u.starts_with("ec2"));
    let aws_dmi = matches!((&product_uuid, &product_serial),
        (Some(u), Some(s)) if u.starts_with("ec2") && u == s);
    probes.push(cloud_probe(
        Some(Cloud::Aws),
        format!(
            "{} | {}/product_uuid+product_serial",
            paths::HYPERVISOR_UUID,
            paths::DMI
        ),
        aws_hv || aws_dmi,
        if aws_hv {
            "hypervisor uuid starts with ec2".into()
        } else if aws_dmi {
            "product_uuid and product_serial start with ec2 and are equal".into()
        } else {
            "no ec2 id (product_uuid and product_serial are root-only)".into()
        },
    ));

    let mut d = Detection {
        probes,
        detected: None,
        environment: Environment::NoTee { cloud: None },
        reason: String::new(),
    };
    let azure = d.found(&format!("{}/chassis_asset_tag", paths::DMI));
    let gcp = d.found(&format!("{}/product_name", paths::DMI))
        || d.found(&format!("{}/board_vendor", paths::DMI))
        || sys_cloud == Some(Cloud::Gcp);
    let aws = aws_hv || aws_dmi || sys_cloud == Some(Cloud::Aws);
    let cloud = if azure {
        Some(Cloud::Azure)
    } else if gcp {
        Some(Cloud::Gcp)
    } else if aws {
        Some(Cloud::Aws)
    } else {
        None
    };

    // Bare interfaces first (guest-components' order), then Azure's
    // paravisor, then nothing.
    let sev_dev = d.found(paths::SEV_GUEST) || d.found(paths::SEV_GUEST_PLATFORM);
    // On Azure the flag without the device is the paravisor's TD: not bare.
    let tdx_dev = d.found(paths::TDX_GUEST) || (tdx_flag && !azure);
    let bare = if sev_dev {
        Some((
            Platform::SevSnp,
            "the SEV-SNP guest device is present".to_owned(),
        ))
    } else if tdx_dev {
        Some((
            Platform::Tdx,
            "the TDX guest device or CPU flag is present".to_owned(),
        ))
    } else if tsm_found && !azure && (amd || intel) {
        let p = if amd { Platform::SevSnp } else { Platform::Tdx };
        Some((p, format!("configfs-tsm is present on a {vendor} CPU")))
    } else if svm_probe.0 {
        Some((Platform::Pef, "the POWER secure-VM flag is set".to_owned()))
    } else {
        None
    };
    let cloud_why = |c: Option<Cloud>| match c {
        Some(Cloud::Azure) => "; the Azure chassis tag names Azure",
        Some(Cloud::Gcp) => "; the DMI strings name Google Compute Engine",
        Some(Cloud::Aws) => "; the EC2 ids name AWS",
        None => "; no cloud is named by the DMI and hypervisor signals",
    };
    if let Some((p, why)) = bare {
        d.detected = Some(p);
        d.environment = Environment::Guest { platform: p, cloud };
        d.reason = format!("{why}{}", cloud_why(cloud));
    } else if azure && tpm.is_some() && (amd || intel) {
        // No bare device: the TEE (if any) is behind the paravisor. The CPU
        // vendor tells SNP from TDX; a confirmed CPU flag is said so.
        let platform = if amd { Platform::SevSnp } else { Platform::Tdx };
        let confirmed = (amd && snp_flag) || (intel && tdx_flag);
        d.environment = Environment::AzureCvm { platform };
        d.reason = format!(
            "the Azure chassis tag and a vTPM are present, no bare TEE device, a {vendor} CPU{} (not confirmed from files: the HCL report in the vTPM, read by the Azure backend, confirms it)",
            if confirmed {
                " with the isolation flag set"
            } else {
                ""
            }
        );
    } else {
        d.environment = Environment::NoTee { cloud };
        d.reason = format!(
            "no bare TEE guest interface{}{}",
            if azure {
                " and no vTPM (an Azure CVM has one)"
            } else {
                ""
            },
            cloud_why(cloud)
        );
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A fake machine: files (`path`, content); directories end in `/`.
    pub(crate) fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, content) in files {
            let full = d.path().join(p.trim_start_matches('/'));
            if p.ends_with('/') {
                fs::create_dir_all(&full).unwrap();
                continue;
            }
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, content).unwrap();
        }
        d
    }

    const AMD_GUEST: &str = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 hypervisor\n";
    const INTEL_GUEST: &str = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 hypervisor\n";

    #[test]
    fn nothing_found_explains_each_probe() {
        let d = tree(&[("/proc/cpuinfo", "flags : fpu sse2\n")]);
        let det = detect_with_root(d.path());
        assert_eq!(det.detected, None);
        assert_eq!(det.environment, Environment::NoTee { cloud: None });
        assert!(det.probes.iter().all(|p| !p.found && !p.detail.is_empty()));
        assert!(
            det.probes
                .iter()
                .all(|p| p.platform != Some(Platform::Mock))
        );
        assert!(det.summary().contains("/dev/sev-guest"));
        assert!(det.summary().starts_with("no TEE"), "{}", det.summary());
    }

    #[test]
    fn finds_each_platform() {
        let snp = tree(&[("/dev/sev-guest", "")]);
        assert_eq!(
            detect_with_root(snp.path()).detected,
            Some(Platform::SevSnp)
        );
        let tdx = tree(&[("/dev/tdx_guest", "")]);
        assert_eq!(detect_with_root(tdx.path()).detected, Some(Platform::Tdx));
        let tdx_flag = tree(&[("/proc/cpuinfo", "flags : fpu tdx_guest\n")]);
        assert_eq!(
            detect_with_root(tdx_flag.path()).detected,
            Some(Platform::Tdx)
        );
        let pef = tree(&[("/sys/devices/system/cpu/svm", "1\n")]);
        let d = detect_with_root(pef.path());
        assert_eq!(d.detected, Some(Platform::Pef));
        assert_eq!(d.environment.name(), "bare-metal PEF guest");
        let not_pef = tree(&[("/sys/devices/system/cpu/svm", "0\n")]);
        let d = detect_with_root(not_pef.path());
        assert_eq!(d.detected, None);
        assert!(
            d.probes
                .iter()
                .any(|p| p.detail.contains("not a secure VM"))
        );
    }

    #[test]
    fn configfs_tsm_alone_is_decided_by_the_cpu_vendor() {
        let amd = tree(&[
            ("/sys/kernel/config/tsm/report/", ""),
            ("/proc/cpuinfo", AMD_GUEST),
        ]);
        assert_eq!(
            detect_with_root(amd.path()).detected,
            Some(Platform::SevSnp)
        );
        let intel = tree(&[
            ("/sys/kernel/config/tsm/report/", ""),
            ("/proc/cpuinfo", INTEL_GUEST),
        ]);
        assert_eq!(detect_with_root(intel.path()).detected, Some(Platform::Tdx));
        // No vendor: configfs-tsm alone names nothing.
        let none = tree(&[("/sys/kernel/config/tsm/report/", "")]);
        assert_eq!(detect_with_root(none.path()).detected, None);
    }

    #[test]
    fn an_snp_capable_host_is_not_a_guest() {
        let host = tree(&[(
            "/proc/cpuinfo",
            "vendor_id : AuthenticAMD\nflags : fpu sev sev_es sev_snp\n",
        )]);
        let d = detect_with_root(host.path());
        assert_eq!(d.environment, Environment::NoTee { cloud: None });
        assert!(d.probes.iter().any(|p| p.detail.contains("not a guest")));
    }

    fn azure(cpuinfo: &str) -> tempfile::TempDir {
        tree(&[
            (
                "/sys/class/dmi/id/chassis_asset_tag",
                "7783-7084-3265-9085-8269-3286-77\n",
            ),
            ("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n"),
            ("/sys/bus/vmbus/", ""),
            ("/dev/tpmrm0", ""),
            ("/proc/cpuinfo", cpuinfo),
        ])
    }

    #[test]
    fn azure_cvms_are_named_and_have_no_bare_platform() {
        let snp = detect_with_root(azure(AMD_GUEST).path());
        assert_eq!(
            snp.environment,
            Environment::AzureCvm {
                platform: Platform::SevSnp
            }
        );
        assert_eq!(snp.detected, None, "the bare backend must not be chosen");
        assert_eq!(
            snp.environment.name(),
            "Azure CVM (SEV-SNP behind the paravisor)"
        );
        assert!(snp.reason.contains("chassis tag"), "{}", snp.reason);
        let tdx = detect_with_root(azure(INTEL_GUEST).path());
        assert_eq!(
            tdx.environment.name(),
            "Azure CVM (TDX behind the paravisor)"
        );
        assert_eq!(tdx.environment.cloud(), Some(Cloud::Azure));
        // The tdx_guest flag without /dev/tdx_guest on Azure: still the
        // paravisor's TD, never the bare TDX backend.
        let flagged = detect_with_root(
            azure("vendor_id : GenuineIntel\nflags : fpu hypervisor tdx_guest\n").path(),
        );
        assert_eq!(
            flagged.environment,
            Environment::AzureCvm {
                platform: Platform::Tdx
            }
        );
        assert_eq!(flagged.detected, None);
        assert!(
            flagged.reason.contains("isolation flag"),
            "{}",
            flagged.reason
        );
        // Azure without a vTPM: not a CVM.
        let plain = tree(&[
            ("/sys/class/dmi/id/chassis_asset_tag", AZURE_CHASSIS_TAG),
            ("/proc/cpuinfo", AMD_GUEST),
        ]);
        let d = detect_with_root(plain.path());
        assert_eq!(
            d.environment,
            Environment::NoTee {
                cloud: Some(Cloud::Azure)
            }
        );
        assert!(d.reason.contains("no vTPM"), "{}", d.reason);
        // Hyper-V alone (sys_vendor, VMBus) does not name Azure.
        let hyperv = tree(&[
            ("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n"),
            ("/dev/tpmrm0", ""),
            ("/proc/cpuinfo", AMD_GUEST),
        ]);
        assert!(!matches!(
            detect_with_root(hyperv.path()).environment,
            Environment::AzureCvm { .. }
        ));
    }

    #[test]
    fn gcp_and_aws_are_named() {
        let gcp = tree(&[
            ("/sys/class/dmi/id/product_name", "Google Compute Engine\n"),
            ("/sys/class/dmi/id/board_vendor", "Google\n"),
            ("/sys/kernel/config/tsm/report/", ""),
            (
                "/proc/cpuinfo",
                "vendor_id : GenuineIntel\nflags : fpu hypervisor tdx_guest\n",
            ),
        ]);
        let d = detect_with_root(gcp.path());
        assert_eq!(d.environment.name(), "GCP confidential VM (TDX)");
        assert_eq!(d.detected, Some(Platform::Tdx));
        assert!(d.reason.contains("Google"), "{}", d.reason);
        let gcp_snp = tree(&[
            ("/sys/class/dmi/id/product_name", "Google Compute Engine\n"),
            ("/dev/sev-guest", ""),
        ]);
        assert_eq!(
            detect_with_root(gcp_snp.path()).environment.name(),
            "GCP confidential VM (SEV-SNP)"
        );
        let gcp_plain = tree(&[("/sys/class/dmi/id/product_name", "Google Compute Engine\n")]);
        assert_eq!(
            detect_with_root(gcp_plain.path()).environment,
            Environment::NoTee {
                cloud: Some(Cloud::Gcp)
            }
        );
        let aws = tree(&[
            (
                "/sys/hypervisor/uuid",
                "EC2e1916b-7c08-4a43-a4fb-1e0f6bd5fd4c\n",
            ),
            ("/dev/sev-guest", ""),
        ]);
        let d = detect_with_root(aws.path());
        assert_eq!(d.environment.name(), "AWS EC2 SEV-SNP guest");
        let aws_dmi = tree(&[
            ("/sys/class/dmi/id/product_uuid", "ec2abcd\n"),
            ("/sys/class/dmi/id/product_serial", "EC2ABCD\n"),
            ("/dev/sev-guest", ""),
        ]);
        assert_eq!(
            detect_with_root(aws_dmi.path()).environment.cloud(),
            Some(Cloud::Aws)
        );
        // Different uuid and serial: not the EC2 rule.
        let not_aws = tree(&[
            ("/sys/class/dmi/id/product_uuid", "ec2abcd\n"),
            ("/sys/class/dmi/id/product_serial", "ec2zzzz\n"),
        ]);
        assert_eq!(detect_with_root(not_aws.path()).environment.cloud(), None);
    }

    #[test]
    fn open_detected_never_falls_back_to_mock() {
        let empty = tree(&[]);
        let err = crate::open_detected_with_root(empty.path()).unwrap_err();
        assert!(
            matches!(err, tee_core::Error::Device(ref d) if d.kind == tee_core::DeviceErrorKind::NotFound),
            "{err}"
        );
    }

    #[test]
    fn open_detected_on_azure_goes_to_the_azure_hook_never_the_bare_backend() {
        for (cpu, p) in [(AMD_GUEST, Platform::SevSnp), (INTEL_GUEST, Platform::Tdx)] {
            let root = azure(cpu);
            let err = crate::open_detected_with_root(root.path()).unwrap_err();
            // Without the Azure backend: Unsupported, naming it.
            #[cfg(not(feature = "azure"))]
            {
                assert!(
                    matches!(&err, tee_core::Error::Unsupported(u) if u.platform == p),
                    "{err}"
                );
                assert!(err.to_string().contains("Azure vTPM backend"), "{err}");
            }
            // With it: the Azure backend tried the (fake, empty) vTPM, so
            // the error is the TPM's, never the bare backend's device.
            #[cfg(feature = "azure")]
            {
                let _ = p;
                let text = err.to_string();
                assert!(!matches!(err, tee_core::Error::Unsupported(_)), "{text}");
                assert!(
                    !text.contains("sev-guest") && !text.contains("tdx_guest"),
                    "{text}"
                );
                assert!(text.to_lowercase().contains("tpm"), "{text}");
            }
        }
    }
}
