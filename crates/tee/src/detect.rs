//! Detection: probe this machine's guest interfaces and say what was found
//! and why. Detection never opens a device, never creates configfs entries,
//! and never falls back to the mock.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tee_core::Platform;

/// One probe: a path looked at, for one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The platform this probe is evidence for.
    pub platform: Platform,
    /// The interface probed (absolute path on the real machine).
    pub interface: String,
    /// Whether it was found.
    pub found: bool,
    /// What was seen, or why it did not match.
    pub detail: String,
}

/// The result of [`detect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// Every probe, in order.
    pub probes: Vec<Probe>,
    /// The hardware TEE this machine is a guest of, if any (never `mock`).
    pub detected: Option<Platform>,
}

impl Detection {
    /// One line: what was found, or why nothing was.
    pub fn summary(&self) -> String {
        match self.detected {
            Some(p) => format!("{p} guest detected"),
            None => {
                let checked: Vec<_> = self.probes.iter().map(|p| p.interface.as_str()).collect();
                format!("none of {} present", checked.join(", "))
            }
        }
    }
}

fn rel(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

fn exists_probe(root: &Path, platform: Platform, abs: &str, what: &str) -> Probe {
    let p = rel(root, abs);
    match fs::symlink_metadata(&p) {
        Ok(_) => Probe {
            platform,
            interface: abs.into(),
            found: true,
            detail: format!("{what} present"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Probe {
            platform,
            interface: abs.into(),
            found: false,
            detail: format!(
                "not present: this machine is not a {platform} guest, or the {what} driver is not loaded"
            ),
        },
        Err(e) => Probe {
            platform,
            interface: abs.into(),
            found: false,
            detail: format!("cannot inspect: {e}"),
        },
    }
}

/// Probe the real machine.
pub fn detect() -> Detection {
    detect_with_root(Path::new("/"))
}

/// Probe a machine whose filesystem is rooted at `root` (tests use a fake tree).
pub fn detect_with_root(root: &Path) -> Detection {
    let mut probes = Vec::new();

    probes.push(exists_probe(
        root,
        Platform::SevSnp,
        "/dev/sev-guest",
        "SEV-SNP guest device",
    ));
    probes.push(exists_probe(
        root,
        Platform::Tdx,
        "/dev/tdx_guest",
        "TDX guest device",
    ));

    // configfs-tsm: present on both SNP and TDX guests (Linux 6.7+). The
    // provider is only visible inside a report entry, which detection does
    // not create; so it supports, but does not decide, the platform.
    let tsm = "/sys/kernel/config/tsm/report";
    let tsm_probe = exists_probe(root, Platform::SevSnp, tsm, "configfs-tsm report interface");
    let tsm_found = tsm_probe.found;
    probes.push(Probe {
        detail: if tsm_found {
            "configfs-tsm present (provider sev_guest or tdx_guest; shown when a report is created)".into()
        } else {
            "not present: no configfs-tsm (kernel < 6.7, configfs not mounted, or not a confidential guest)".into()
        },
        ..tsm_probe
    });

    // CPU flags as further evidence for TDX (the kernel sets `tdx_guest`).
    let cpuinfo = fs::read_to_string(rel(root, "/proc/cpuinfo")).unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default()
        .to_string();
    let tdx_flag = flags.split_whitespace().any(|f| f == "tdx_guest");
    probes.push(Probe {
        platform: Platform::Tdx,
        interface: "/proc/cpuinfo flags".into(),
        found: tdx_flag,
        detail: if tdx_flag {
            "CPU flag tdx_guest set".into()
        } else {
            "no tdx_guest CPU flag".into()
        },
    });

    let svm = "/sys/devices/system/cpu/svm";
    let svm_probe = match fs::read_to_string(rel(root, svm)) {
        Ok(v) if v.trim() == "1" => Probe {
            platform: Platform::Pef,
            interface: svm.into(),
            found: true,
            detail: "secure VM (svm = 1)".into(),
        },
        Ok(v) => Probe {
            platform: Platform::Pef,
            interface: svm.into(),
            found: false,
            detail: format!(
                "svm = {:?}: a POWER guest that is not a secure VM",
                v.trim()
            ),
        },
        Err(_) => Probe {
            platform: Platform::Pef,
            interface: svm.into(),
            found: false,
            detail: "not present: not a POWER secure VM".into(),
        },
    };
    probes.push(svm_probe);

    let found = |pl: Platform, iface: &str| {
        probes
            .iter()
            .any(|p| p.platform == pl && p.found && p.interface == iface)
    };
    let detected = if found(Platform::SevSnp, "/dev/sev-guest") {
        Some(Platform::SevSnp)
    } else if found(Platform::Tdx, "/dev/tdx_guest") || tdx_flag {
        Some(Platform::Tdx)
    } else if found(Platform::Pef, svm) {
        Some(Platform::Pef)
    } else {
        None
    };
    Detection { probes, detected }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, content) in files {
            let full = d.path().join(p.trim_start_matches('/'));
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, content).unwrap();
        }
        d
    }

    #[test]
    fn nothing_found_explains_each_probe() {
        let d = tree(&[("/proc/cpuinfo", "flags : fpu sse2\n")]);
        let det = detect_with_root(d.path());
        assert_eq!(det.detected, None);
        assert!(det.probes.iter().all(|p| !p.found && !p.detail.is_empty()));
        assert!(det.probes.iter().all(|p| p.platform != Platform::Mock));
        assert!(det.summary().contains("/dev/sev-guest"));
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
        assert_eq!(detect_with_root(pef.path()).detected, Some(Platform::Pef));
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
    fn open_detected_never_falls_back_to_mock() {
        let empty = tree(&[]);
        let err = crate::open_detected_with_root(empty.path()).unwrap_err();
        assert!(
            matches!(err, tee_core::Error::Device(ref d) if d.kind == tee_core::DeviceErrorKind::NotFound),
            "{err}"
        );
    }
}
