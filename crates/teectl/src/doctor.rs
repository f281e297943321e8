//! `teectl doctor`: the environment (detection), then the SEV-SNP and TDX
//! doctors of the library (each against a filesystem root), and on an Azure
//! CVM the Azure checks; one verdict and exit code for scripts.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::common::CliError;
use crate::exit;

/// The exit codes of `teectl doctor` (shown by `teectl doctor --help`).
pub(crate) const EXIT_HELP: &str = "\
Exit codes of `teectl doctor`:
  0  a working TEE guest (attestation round trips succeed) or a host ready to run TEE guests
  4  a TEE capability is present but a check failed (see the MISSING items and their fixes)
  5  no TEE capability on this machine (not a TEE guest, not a TEE host)
  1  usage or I/O error";

/// `teectl doctor`.
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
    /// Probe a filesystem mounted at DIR instead of `/` (a container that
    /// sees the host's /sys, /proc and /dev under a mount; prepared trees in
    /// tests). CPUID is not consulted then: the files decide.
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
}

/// One platform's part of the answer.
#[derive(Debug, Serialize)]
pub(crate) struct Section {
    /// `sev-snp`, `tdx` or `azure`.
    pub(crate) name: &'static str,
    /// The verdict of this part.
    pub(crate) verdict: Verdict,
    /// The part's report (the library's JSON).
    pub(crate) report: serde_json::Value,
    /// The part's text rendering.
    #[serde(skip)]
    pub(crate) text: String,
}

/// The verdicts, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Verdict {
    Ready,
    Problem,
    NoCapability,
}

impl Verdict {
    fn code(self) -> u8 {
        match self {
            Self::Ready => exit::OK,
            Self::Problem => exit::POLICY,
            Self::NoCapability => exit::UNSUPPORTED,
        }
    }
}

/// The whole answer.
#[derive(Debug, Serialize)]
pub(crate) struct Doctor {
    /// The environment as detection names it.
    pub(crate) environment: String,
    /// Why.
    pub(crate) reason: String,
    /// The detection itself.
    pub(crate) detection: tee::Detection,
    /// Each platform's part.
    pub(crate) sections: Vec<Section>,
    /// The overall verdict: a failing check anywhere is `problem`; else a
    /// ready part is `ready`; else `no-capability`.
    pub(crate) verdict: Verdict,
    /// The exit code.
    pub(crate) exit_code: u8,
}

#[cfg_attr(not(any(feature = "sev-snp", feature = "tdx")), allow(dead_code))]
fn to_value(v: &impl Serialize) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(v).map_err(|e| CliError::usage(format!("JSON encoding: {e}")))
}

/// The Azure part: the vTPM and the backend hook.
fn azure(root: &Path, platform: tee::Platform) -> Result<Section, CliError> {
    let tpm = ["/dev/tpmrm0", "/dev/tpm0"]
        .iter()
        .find(|t| root.join(t.trim_start_matches('/')).exists());
    let backend = tee::open_azure_with_root(root, platform).map(|_| ());
    let mut checks = vec![serde_json::json!({
        "name": "azure.vtpm",
        "status": if tpm.is_some() { "ok" } else { "missing" },
        "detail": match tpm { Some(t) => format!("{t} present (the HCL report is at NV 0x01400001)"), None => "no TPM device".into() },
    })];
    let mut text = format!(
        "Azure: CVM ({} behind the paravisor)\n",
        if platform == tee::Platform::Tdx {
            "TDX"
        } else {
            "SEV-SNP"
        }
    );
    text.push_str(&format!(
        "  [{}] azure.vtpm               {}\n",
        if tpm.is_some() { "  ok  " } else { "MISSING" },
        checks[0]["detail"].as_str().unwrap_or_default()
    ));
    let ok = match &backend {
        Ok(()) => {
            checks.push(serde_json::json!({"name": "azure.backend", "status": "ok", "detail": "Azure vTPM backend available"}));
            text.push_str("  [  ok  ] azure.backend            Azure vTPM backend available\n");
            tpm.is_some()
        }
        Err(e) => {
            let fix = if matches!(e, tee::Error::Unsupported(_)) {
                "use a teectl built with the Azure vTPM backend (feature `azure`)"
            } else {
                "the vTPM must serve the HCL report at NV 0x01400001: check /dev/tpmrm0 permissions (tss group) and that this is a confidential VM size"
            };
            checks.push(serde_json::json!({"name": "azure.backend", "status": "missing", "detail": e.to_string(), "remediation": fix}));
            text.push_str(&format!(
                "  [MISSING] azure.backend            {e}\n           fix: {fix}\n"
            ));
            false
        }
    };
    Ok(Section {
        name: "azure",
        verdict: if ok { Verdict::Ready } else { Verdict::Problem },
        report: serde_json::json!({ "platform": platform, "checks": checks }),
        text,
    })
}

/// Run every doctor against `root` (the kernel log is `<root>/dev/kmsg`);
/// `on_this_machine` also lets the SEV-SNP doctor consult CPUID (with
/// `--root` the files decide).
pub(crate) fn diagnose(root: &Path, on_this_machine: bool) -> Result<Doctor, CliError> {
    let detection = tee::detect_with_root(root);
    let _ = on_this_machine; // read by the SEV-SNP doctor (CPUID) only
    #[allow(unused_mut)] // a build may have no backend doctor
    let mut sections = Vec::new();
    #[cfg(feature = "sev-snp")]
    {
        use tee::sev::doctor as sev;
        let r = if on_this_machine {
            sev::run(root, &sev::HostCpuid)
        } else {
            sev::run(root, &NoCpuid)
        };
        sections.push(Section {
            name: "sev-snp",
            verdict: match r.verdict {
                sev::Verdict::Ready => Verdict::Ready,
                sev::Verdict::Problem => Verdict::Problem,
                sev::Verdict::NoCapability => Verdict::NoCapability,
            },
            report: to_value(&r)?,
            text: format!("SEV-SNP:\n{}", sev::render(&r)),
        });
    }
    #[cfg(feature = "tdx")]
    {
        use tee::tdx::doctor as tdx;
        let env = tdx::DoctorEnv::at_root(root).with_kernel_log_from_root();
        sections.push(tdx_section(&tdx::run(&env))?);
    }
    if let tee::Environment::AzureCvm { platform } = detection.environment {
        sections.push(azure(root, platform)?);
    }
    Ok(finish(detection, sections))
}

#[cfg(feature = "tdx")]
pub(crate) fn tdx_section(r: &tee::tdx::doctor::DoctorReport) -> Result<Section, CliError> {
    use tee::tdx::doctor as tdx;
    Ok(Section {
        name: "tdx",
        verdict: match r.verdict {
            tdx::Verdict::Ready => Verdict::Ready,
            tdx::Verdict::Problem => Verdict::Problem,
            tdx::Verdict::NoCapability => Verdict::NoCapability,
        },
        report: to_value(r)?,
        text: tdx::render(r),
    })
}

pub(crate) fn finish(detection: tee::Detection, sections: Vec<Section>) -> Doctor {
    let verdict = if sections.iter().any(|s| s.verdict == Verdict::Problem) {
        Verdict::Problem
    } else if sections.iter().any(|s| s.verdict == Verdict::Ready) {
        Verdict::Ready
    } else {
        Verdict::NoCapability
    };
    Doctor {
        environment: detection.environment.name(),
        reason: detection.reason.clone(),
        detection,
        sections,
        verdict,
        exit_code: verdict.code(),
    }
}

/// CPUID is not consulted (`--root`): the files decide.
#[cfg(feature = "sev-snp")]
struct NoCpuid;

#[cfg(feature = "sev-snp")]
impl tee::sev::doctor::Cpuid for NoCpuid {
    fn cpuid(&self, _: u32) -> Option<[u32; 4]> {
        None
    }
}

pub(crate) fn print(d: &Doctor, json: bool) -> Result<u8, CliError> {
    if json {
        let text = serde_json::to_string_pretty(d)
            .map_err(|e| CliError::usage(format!("JSON encoding: {e}")))?;
        println!("{text}");
    } else {
        println!("Environment: {} ({})", d.environment, d.reason);
        for s in &d.sections {
            println!();
            print!("{}", s.text);
        }
        println!();
        println!(
            "{}",
            match d.verdict {
                Verdict::Ready => "Verdict: ready (exit 0).",
                Verdict::Problem =>
                    "Verdict: a TEE capability is present but a check failed (exit 4); see the fixes above.",
                Verdict::NoCapability =>
                    "Verdict: no TEE capability on this machine (exit 5): not a TEE guest and not a TEE host.",
            }
        );
    }
    Ok(d.exit_code)
}

pub(crate) fn run(a: &DoctorArgs) -> Result<u8, CliError> {
    let (root, here) = match &a.root {
        Some(r) => (r.clone(), false),
        None => (PathBuf::from("/"), true),
    };
    if !root.is_dir() {
        return Err(CliError::usage(format!(
            "--root {}: not a directory",
            root.display()
        )));
    }
    let d = diagnose(&root, here)?;
    print(&d, a.json)
}

#[cfg(all(test, feature = "tdx"))]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use tee_tdx::doctor::{DoctorEnv, run};
    use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};

    use super::*;

    fn td_root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in [
            ("dev/tdx_guest", ""),
            (
                "proc/cpuinfo",
                "vendor_id : GenuineIntel\nflags : fpu hypervisor tdx_guest\n",
            ),
            ("proc/sys/kernel/osrelease", "6.16.0\n"),
        ] {
            let f = d.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        }
        d
    }

    /// The exit-code table end to end on a working fake TD (0) and on the
    /// same TD whose quote fails (4); nothing at all is 5.
    #[test]
    fn exit_codes_follow_the_verdicts() {
        let root = td_root();
        let k = FakeKernel::new(TestPki::default(), FakeTd::default());
        let env = DoctorEnv::with_guest(root.path(), &k.config(root.path().join("log")));
        let det = tee::detect_with_root(root.path());
        assert_eq!(det.environment.name(), "bare-metal TDX guest");
        let d = finish(det.clone(), vec![tdx_section(&run(&env)).unwrap()]);
        assert_eq!((d.verdict, d.exit_code), (Verdict::Ready, 0));

        k.fs().inject(
            tee_linux_fault(),
            5, // EIO
            u32::MAX,
        );
        let d = finish(det.clone(), vec![tdx_section(&run(&env)).unwrap()]);
        assert_eq!((d.verdict, d.exit_code), (Verdict::Problem, 4));
        let j = serde_json::to_value(&d).unwrap();
        let quote = j["sections"][0]["report"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "quote")
            .unwrap()
            .clone();
        assert_eq!(quote["status"], "missing");
        assert!(quote["remediation"].as_str().unwrap().contains("qgsd"));

        let none = finish(det, Vec::new());
        assert_eq!((none.verdict, none.exit_code), (Verdict::NoCapability, 5));
        // A problem anywhere outweighs a ready part.
        let ready = Section {
            name: "sev-snp",
            verdict: Verdict::Ready,
            report: serde_json::Value::Null,
            text: String::new(),
        };
        let bad = Section {
            name: "tdx",
            verdict: Verdict::Problem,
            report: serde_json::Value::Null,
            text: String::new(),
        };
        let both = finish(tee::detect_with_root(root.path()), vec![ready, bad]);
        assert_eq!(both.exit_code, 4);
    }

    fn tee_linux_fault() -> tee_linux::testing::FaultOn {
        tee_linux::testing::FaultOn::Read("outblob".into())
    }
}
