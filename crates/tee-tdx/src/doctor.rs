//! The TDX doctor (`teectl doctor`): tell a TD guest from a TDX host, run
//! the checks that apply, each with a one-line remediation, and a verdict a
//! script can use. "Failed to get the quote" is the question it answers:
//! it makes a TDREPORT and a quote, and shows the error each returned.
//!
//! Every probe goes through a [`DoctorEnv`]: a filesystem root for the
//! files, the [`TdxGuestDevice`] and [`KernelFs`] of the guest backend
//! (fakes in tests), and the kernel log text when the caller could read it.
//! A machine without TDX is an answer ([`Verdict::NoCapability`]), not an
//! error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tee_core::{DeviceErrorKind, Error};

use crate::ccel::{CcelTable, EventLog};
use crate::guest::{ConfigfsTsm, KernelFs, LinuxTdxGuest, RealFs, TdxGuestDevice};
use crate::quote::Quote;
use crate::tdreport::TdReport;

/// Where the doctor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Inside a TD (or what claims to be one).
    Guest,
    /// A host with TDX signals (BIOS, kernel, KVM).
    Host,
    /// Neither: no TDX here.
    None,
}

pub use tee_core::doctor::{CheckResult, Status, Verdict};

/// The doctor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// Guest, host or neither.
    pub role: Role,
    /// The verdict.
    pub verdict: Verdict,
    /// One-sentence summary.
    pub summary: String,
    /// The checks that apply to this role.
    pub checks: Vec<CheckResult>,
}

/// Default QGS Unix socket of Intel's DCAP packages.
pub const QGS_SOCKET: &str = "/var/run/tdx-qgs/qgs.socket";
/// Default QGS vsock port (the VMM's `quote-generation-socket`).
pub const QGS_VSOCK_PORT: u32 = 4050;

/// What the doctor looks at.
#[derive(Debug, Clone)]
pub struct DoctorEnv {
    /// Root of the files read (`/` normally).
    pub root: PathBuf,
    /// The TDREPORT device.
    pub device: Arc<dyn TdxGuestDevice>,
    /// Filesystem operations for configfs-tsm and tsm-mr.
    pub fs: Arc<dyn KernelFs>,
    /// configfs-tsm report directory.
    pub tsm_report_root: PathBuf,
    /// tsm-mr measurements directory.
    pub measurements_dir: PathBuf,
    /// Kernel log text (`dmesg`), when the caller could read it.
    pub kernel_log: Option<String>,
}

impl DoctorEnv {
    /// The real interfaces under `root` (`/` on the machine itself).
    pub fn at_root(root: &Path) -> Self {
        let p = |abs: &str| root.join(abs.trim_start_matches('/'));
        Self {
            root: root.to_owned(),
            device: Arc::new(LinuxTdxGuest::new(p(crate::guest::DEV_TDX_GUEST))),
            fs: Arc::new(RealFs),
            tsm_report_root: p(tee_linux::TSM_REPORT_ROOT),
            measurements_dir: p(crate::guest::TSM_MR_DIR),
            kernel_log: None,
        }
    }

    /// With the kernel log text.
    #[must_use]
    pub fn with_kernel_log(mut self, log: Option<String>) -> Self {
        self.kernel_log = log;
        self
    }

    /// With the kernel log read from `<root>/dev/kmsg` when readable
    /// (root, or `kernel.dmesg_restrict = 0`), bounded.
    #[must_use]
    pub fn with_kernel_log_from_root(self) -> Self {
        let log = tee_linux::kmsg::read_kernel_log(
            &self.path("/dev/kmsg"),
            tee_linux::kmsg::DEFAULT_MAX_KERNEL_LOG,
        )
        .ok();
        self.with_kernel_log(log)
    }

    /// Files under `root`, the guest interfaces of `cfg` (tests: a fake kernel).
    pub fn with_guest(root: &Path, cfg: &crate::guest::GuestConfig) -> Self {
        Self {
            root: root.to_owned(),
            device: cfg.device.clone(),
            fs: cfg.fs.clone(),
            tsm_report_root: cfg.tsm_report_root.clone(),
            measurements_dir: cfg.measurements_dir.clone(),
            kernel_log: None,
        }
    }

    fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    fn read(&self, abs: &str, max: u64) -> Option<Vec<u8>> {
        use std::io::Read as _;
        let f = std::fs::File::open(self.path(abs)).ok()?;
        let mut v = Vec::new();
        f.take(max).read_to_end(&mut v).ok()?;
        Some(v)
    }

    fn read_str(&self, abs: &str) -> Option<String> {
        self.read(abs, 1 << 20)
            .map(|v| String::from_utf8_lossy(&v).trim().to_owned())
    }
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>, fix: &str) -> CheckResult {
    CheckResult::check(name, ok, detail, fix)
}

fn with(
    name: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: Option<&str>,
) -> CheckResult {
    CheckResult::new(name, status, detail, fix.map(str::to_owned))
}

/// `(major, minor)` of a kernel release string such as `6.8.0-45-generic`.
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The remediation for a failed quote request, by the error's type.
fn quote_fix(e: &Error) -> &'static str {
    match e {
        Error::Device(d) => match d.kind {
            DeviceErrorKind::PermissionDenied => {
                "run as root (configfs-tsm report entries are root-only)"
            }
            DeviceErrorKind::NotFound => {
                "mount configfs (`mount -t configfs none /sys/kernel/config`) on Linux 6.7+ with CONFIG_TSM_REPORTS and the tdx_guest driver"
            }
            DeviceErrorKind::Busy => {
                "another quote request is in flight or the quote service is slow: retry; if it persists, check the host's QGS"
            }
            DeviceErrorKind::ConcurrentUse => "another process used the same report entry: retry",
            _ => {
                "the host did not produce a quote: check that the host runs the quote generation service (qgsd), that the VMM forwards GetQuote to it (QEMU `-object tdx-guest,quote-generation-socket=...`), and that the platform is registered with Intel (PCCS / registration agent)"
            }
        },
        Error::Unsupported(_) => {
            "the quote is not a DCAP quote (e.g. DICE-based CWT) or the provider is not tdx_guest: this SDK verifies DCAP v4/v5 quotes"
        }
        Error::Malformed(_) => {
            "the kernel returned bytes that are not a TDX quote: check the host's QGS and QE versions"
        }
        _ => "see the error; check the host's quote generation service",
    }
}

/// Report data the doctor uses for its round trips (recognisable, not secret).
const PROBE_RD: [u8; 64] = {
    let mut b = [0u8; 64];
    let tag = *b"tee-sdk doctor probe";
    let mut i = 0;
    while i < tag.len() {
        b[i] = tag[i];
        i += 1;
    }
    b
};

fn guest_checks(env: &DoctorEnv, checks: &mut Vec<CheckResult>) -> bool {
    let dev = env.path(crate::guest::DEV_TDX_GUEST).exists();
    checks.push(check(
        "dev.tdx_guest",
        dev,
        if dev { "/dev/tdx_guest present" } else { "/dev/tdx_guest absent" },
        "load the tdx_guest module (CONFIG_TDX_GUEST_DRIVER, Linux 6.2+); on Azure the TD is behind the paravisor and has no /dev/tdx_guest",
    ));
    let tdreport_ok = if dev {
        match env.device.get_report0(&PROBE_RD) {
            Ok(raw) => match TdReport::parse(&raw).and_then(|r| r.check_hashes().map(|()| r)) {
                Ok(r) if r.report_data == PROBE_RD => {
                    checks.push(with(
                        "tdreport",
                        Status::Ok,
                        format!(
                            "TDX_CMD_GET_REPORT0 round trip: MRTD {}…",
                            hex::encode(r.mr_td.get(..8).unwrap_or_default())
                        ),
                        None,
                    ));
                    true
                }
                Ok(_) => {
                    checks.push(check("tdreport", false, "the TDREPORT does not echo the report data", "the tdx_guest driver returned a stale or foreign report: update the kernel"));
                    false
                }
                Err(e) => {
                    checks.push(check("tdreport", false, format!("TDREPORT is inconsistent: {e}"), "the tdx_guest driver returned a bad report: update the kernel and TDX module"));
                    false
                }
            },
            Err(e) => {
                let fix = match &e {
                    Error::Device(d) if d.kind == DeviceErrorKind::PermissionDenied => {
                        "run as root"
                    }
                    _ => {
                        "TDX_CMD_GET_REPORT0 failed: check that this is a TD (`dmesg | grep tdx`) and that the tdx_guest driver matches the upstream ABI"
                    }
                };
                checks.push(check(
                    "tdreport",
                    false,
                    format!("TDX_CMD_GET_REPORT0 failed: {e}"),
                    fix,
                ));
                false
            }
        }
    } else {
        false
    };

    let tsm = env.fs.exists(&env.tsm_report_root);
    checks.push(check(
        "configfs-tsm",
        tsm,
        if tsm {
            format!("{} present", env.tsm_report_root.display())
        } else {
            format!("{} absent", env.tsm_report_root.display())
        },
        "mount configfs (`mount -t configfs none /sys/kernel/config`) on Linux 6.7+ with CONFIG_TSM_REPORTS",
    ));
    let tsm_client = ConfigfsTsm::new(
        env.fs.clone(),
        env.tsm_report_root.clone(),
        2,
        Duration::from_millis(100),
    );
    let mut quote_ok = false;
    if tsm {
        let probe = tee_linux::TsmReportClient::new(
            env.fs.clone(),
            env.tsm_report_root.clone(),
            crate::guest::configfs::TSM_PROVIDER,
            tee_core::Platform::Tdx,
        )
        .probe();
        let provider_ok = match probe {
            Ok(()) => {
                checks.push(with(
                    "configfs-tsm.provider",
                    Status::Ok,
                    "provider tdx_guest",
                    None,
                ));
                true
            }
            Err(e @ Error::Unsupported(_)) => {
                checks.push(check(
                    "configfs-tsm.provider",
                    false,
                    e.to_string(),
                    "load the tdx_guest driver so configfs-tsm serves TDX quotes",
                ));
                false
            }
            Err(e) => {
                let fix = quote_fix(&e);
                checks.push(check(
                    "configfs-tsm.provider",
                    false,
                    format!("provider not inspected: {e}"),
                    fix,
                ));
                false
            }
        };
        if provider_ok {
            match tsm_client
                .quote(&PROBE_RD)
                .and_then(|q| Quote::parse(&q).map(|p| (q.len(), p)))
            {
                Ok((n, q)) if q.body.report_data == PROBE_RD => {
                    checks.push(with(
                        "quote",
                        Status::Ok,
                        format!("configfs-tsm quote round trip: {n}-byte v{} quote", q.header.version),
                        None,
                    ));
                    quote_ok = true;
                }
                Ok(_) => checks.push(check("quote", false, "the quote does not carry the report data written", "another process races on configfs-tsm or the host returned a foreign quote: retry; check the host's QGS")),
                Err(e) => {
                    let fix = quote_fix(&e);
                    checks.push(check("quote", false, format!("quote request failed: {e}"), fix));
                }
            }
        }
    } else {
        checks.push(check(
            "quote",
            false,
            "not attempted: no configfs-tsm",
            "quotes need configfs-tsm (Linux 6.7+)",
        ));
    }

    let rtmr = (0..4).all(|i| {
        env.fs
            .exists(&env.measurements_dir.join(format!("rtmr{i}:sha384")))
    });
    checks.push(with(
        "rtmr.sysfs",
        if rtmr { Status::Ok } else { Status::Warn },
        if rtmr {
            format!("RTMR0..3 files in {}", env.measurements_dir.display())
        } else {
            format!(
                "{} absent: RTMRs can be read from a TDREPORT but not extended",
                env.measurements_dir.display()
            )
        },
        (!rtmr).then_some("RTMR extension needs the tsm-mr sysfs files (Linux 6.16+)"),
    ));

    let table = env.read(crate::guest::CCEL_TABLE, 4096);
    let ccel = match &table {
        Some(t) => match CcelTable::parse(t) {
            Ok(t) => {
                let log = env
                    .read(crate::guest::CCEL_DATA, 16 << 20)
                    .map(|d| EventLog::parse(&d).map(|l| l.events.len()));
                match log {
                    Some(Ok(n)) => with(
                        "ccel",
                        Status::Ok,
                        format!("CCEL table (log area {} bytes), {n} events", t.laml),
                        None,
                    ),
                    Some(Err(e)) => with(
                        "ccel",
                        Status::Warn,
                        format!("CCEL table present, log not parsed: {e}"),
                        Some(
                            "the firmware's event log is malformed: event-log replay of RTMR0..2 will fail",
                        ),
                    ),
                    None => with(
                        "ccel",
                        Status::Warn,
                        "CCEL table present, log data not readable",
                        Some("run as root to read /sys/firmware/acpi/tables/data/CCEL"),
                    ),
                }
            }
            Err(e) => with(
                "ccel",
                Status::Warn,
                format!("CCEL table malformed: {e}"),
                Some("the firmware publishes a bad CCEL table"),
            ),
        },
        None => with(
            "ccel",
            Status::Warn,
            "no CCEL table: verifiers cannot replay RTMR0..2 from the firmware log",
            Some(
                "boot with a TDVF/OVMF that publishes the CCEL ACPI table (Azure TDX has none; measurements are in vTPM PCRs)",
            ),
        ),
    };
    checks.push(ccel);
    tdreport_ok && quote_ok
}

fn host_checks(env: &DoctorEnv, checks: &mut Vec<CheckResult>, flags: &str) -> bool {
    let host_flag = flags.split_whitespace().any(|f| f == "tdx_host_platform");
    checks.push(check(
        "cpu.tdx_host_platform",
        host_flag,
        if host_flag { "CPU flag tdx_host_platform set (BIOS enabled TDX)" } else { "no tdx_host_platform CPU flag" },
        "enable TDX in the BIOS (TME-MK, TDX, SEAM loader, TDX key split) on a 4th/5th-gen Xeon or newer, on Linux 6.8+",
    ));
    let param = env.read_str("/sys/module/kvm_intel/parameters/tdx");
    let kvm_tdx = matches!(param.as_deref(), Some("Y" | "y" | "1"));
    checks.push(check(
        "kvm_intel.tdx",
        kvm_tdx,
        match &param {
            Some(v) => format!("TDX in KVM: {v}"),
            None => "kvm_intel not loaded, or a kernel without TDX host support".into(),
        },
        "load kvm_intel with tdx=Y (`modprobe kvm_intel tdx=Y`) on a kernel with CONFIG_INTEL_TDX_HOST",
    ));
    let log_lines: Vec<&str> = env
        .kernel_log
        .as_deref()
        .map(|l| {
            l.lines()
                .filter(|l| l.contains("virt/tdx:") || l.contains("TDX module"))
                .collect()
        })
        .unwrap_or_default();
    let failed = log_lines
        .iter()
        .any(|l| l.contains("fail") || l.contains("error"));
    let initialized = log_lines.iter().any(|l| l.contains("module initialized"));
    checks.push(match &env.kernel_log {
        None => with("kernel-log.tdx", Status::Info, "kernel log not readable (run as root to see the TDX module's messages)", None),
        Some(_) if failed => check("kernel-log.tdx", false, log_lines.join(" | "), "the TDX module failed to initialise: update the BIOS and TDX module (SEAM loader), and check the BIOS TDX settings"),
        Some(_) if initialized => with("kernel-log.tdx", Status::Ok, log_lines.join(" | "), None),
        Some(_) if log_lines.is_empty() => with("kernel-log.tdx", Status::Info, "no virt/tdx messages in the kernel log", None),
        Some(_) => with("kernel-log.tdx", Status::Info, log_lines.join(" | "), None),
    });
    // The TDX module's version: sysfs on kernels that export it, else the log.
    let sysfs_version = ["major_version", "minor_version"]
        .iter()
        .map(|f| env.read_str(&format!("/sys/firmware/tdx/tdx_module/{f}")))
        .collect::<Option<Vec<_>>>();
    let log_version = log_lines
        .iter()
        .find(|l| l.contains("version"))
        .map(|l| l.trim().to_owned());
    checks.push(match (sysfs_version, log_version) {
        (Some(v), _) => with("tdx-module.version", Status::Info, format!("TDX module {}", v.join(".")), None),
        (None, Some(l)) => with("tdx-module.version", Status::Info, l, None),
        (None, None) => with("tdx-module.version", Status::Info, "TDX module version not visible (no /sys/firmware/tdx; kernel log without a version line)", None),
    });
    let kvm = env.path("/dev/kvm").exists();
    checks.push(check(
        "dev.kvm",
        kvm,
        if kvm {
            "/dev/kvm present"
        } else {
            "/dev/kvm absent"
        },
        "enable VMX in the BIOS and load kvm_intel",
    ));
    let qgs = env.path(QGS_SOCKET).exists();
    checks.push(check(
        "qgs",
        qgs,
        if qgs {
            format!("{QGS_SOCKET} present")
        } else {
            format!("{QGS_SOCKET} absent (vsock port {QGS_VSOCK_PORT} not visible from files)")
        },
        "install and start Intel's quote generation service (tdx-qgs / qgsd) and point the VMM at it; without it TDs get no quotes",
    ));
    host_flag && kvm_tdx && kvm && qgs && !failed
}

/// Run the doctor.
pub fn run(env: &DoctorEnv) -> DoctorReport {
    let cpuinfo = env
        .read("/proc/cpuinfo", 4 << 20)
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let flags = field("flags");
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let intel = field("vendor_id") == "GenuineIntel";
    let mut checks = Vec::new();

    let release = env.read_str("/proc/sys/kernel/osrelease");
    let version = release.as_deref().and_then(kernel_version);
    let guest = env.path(crate::guest::DEV_TDX_GUEST).exists() || has("tdx_guest");
    let host_signals = has("tdx_host_platform")
        || env.path("/sys/module/kvm_intel/parameters/tdx").exists()
        || env.path("/sys/firmware/tdx").exists()
        || env
            .kernel_log
            .as_deref()
            .is_some_and(|l| l.contains("virt/tdx:"));
    let role = if guest {
        Role::Guest
    } else if host_signals && (intel || !has("hypervisor")) {
        Role::Host
    } else {
        Role::None
    };

    checks.push(with(
        "cpu.tdx_guest",
        if has("tdx_guest") {
            Status::Ok
        } else {
            Status::Info
        },
        if has("tdx_guest") {
            "CPU flag tdx_guest set: the kernel runs as a TD"
        } else {
            "no tdx_guest CPU flag"
        },
        None,
    ));
    let kernel = match (release.as_deref(), version, role) {
        (Some(r), Some(v), Role::Guest) if v < (6, 7) => with(
            "kernel",
            Status::Missing,
            format!("Linux {r}: no configfs-tsm (quotes need 6.7+)"),
            Some("boot a Linux 6.7+ kernel (6.16+ for RTMR extension)"),
        ),
        (Some(r), Some(v), Role::Guest) if v < (6, 16) => with(
            "kernel",
            Status::Warn,
            format!("Linux {r}: quotes yes, RTMR extension no (6.16+)"),
            Some("boot Linux 6.16+ for RTMR extension through sysfs"),
        ),
        (Some(r), Some(v), Role::Host) if v < (6, 16) => with(
            "kernel",
            Status::Info,
            format!(
                "Linux {r} (upstream KVM runs TDs from 6.16; distribution kernels may backport)"
            ),
            None,
        ),
        (Some(r), _, _) => with("kernel", Status::Info, format!("Linux {r}"), None),
        (None, _, _) => with("kernel", Status::Info, "kernel release not readable", None),
    };
    let kernel_bad = kernel.status == Status::Missing;
    checks.push(kernel);

    let (verdict, summary) = match role {
        Role::Guest => {
            let ok = guest_checks(env, &mut checks);
            if ok && !kernel_bad {
                (Verdict::Ready, "TDX guest: TDREPORT and quote round trips work".to_owned())
            } else {
                (Verdict::Problem, "TDX guest whose attestation does not work: see the missing items".to_owned())
            }
        }
        Role::Host => {
            if host_checks(env, &mut checks, &flags) {
                (Verdict::Ready, "TDX host ready to run TDs that can get quotes".to_owned())
            } else {
                (Verdict::Problem, "host with TDX signals that is not ready: see the missing items".to_owned())
            }
        }
        Role::None => (
            Verdict::NoCapability,
            "no TDX here: not a TD guest (no /dev/tdx_guest, no tdx_guest CPU flag) and no TDX host signals".to_owned(),
        ),
    };
    DoctorReport {
        role,
        verdict,
        summary,
        checks,
    }
}

/// Human-readable rendering.
pub fn render(r: &DoctorReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let role = match r.role {
        Role::Guest => "guest",
        Role::Host => "host",
        Role::None => "none",
    };
    let _ = writeln!(s, "TDX: role {role}: {}", r.summary);
    for c in &r.checks {
        let _ = writeln!(s, "  [{}] {:<24} {}", c.status.tag(), c.name, c.detail);
        if let Some(f) = &c.remediation {
            let _ = writeln!(s, "           fix: {f}");
        }
    }
    s
}
