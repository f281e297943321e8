//! `teectl doctor`: the environment (detection), then the SEV-SNP and TDX
//! doctors of the library (each against a filesystem root), and on an Azure
//! CVM the Azure checks; one verdict and exit code for scripts.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::common::CliError;

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

/// The verdicts (every platform doctor answers in these).
pub(crate) use tee::doctor::Verdict;

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

/// The Azure part (feature `azure`): `tee_azure::doctor` on the vTPM under
/// `root`: reachable, the HCL report readable and parsing, the AK present
/// and the runtime claims' HCLAkPub.
#[cfg(feature = "azure")]
fn azure(root: &Path, _platform: tee::Platform) -> Result<Section, CliError> {
    azure_section(&tee::azure::doctor::run_at_root(root))
}

#[cfg(feature = "azure")]
pub(crate) fn azure_section(r: &tee::azure::doctor::DoctorReport) -> Result<Section, CliError> {
    Ok(Section {
        name: "azure",
        verdict: r.verdict,
        report: to_value(r)?,
        text: tee::azure::doctor::render(r),
    })
}

/// The Azure part in a build without the Azure backend: a problem, with the fix.
#[cfg(not(feature = "azure"))]
fn azure(root: &Path, platform: tee::Platform) -> Result<Section, CliError> {
    let _ = root;
    let detail = tee::AZURE_BACKEND_MISSING;
    let fix = "use a teectl built with the Azure vTPM backend (feature `azure`)";
    Ok(Section {
        name: "azure",
        verdict: Verdict::Problem,
        report: serde_json::json!({
            "platform": platform,
            "checks": [{"name": "azure.backend", "status": "missing", "detail": detail, "remediation": fix}],
        }),
        text: format!(
            "Azure: CVM ({platform} behind the paravisor)\n  [MISSING] azure.backend            {detail}\n           fix: {fix}\n"
        ),
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
            verdict: r.verdict,
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
        verdict: r.verdict,
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
        exit_code: verdict.exit_code(),
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
                _ =>
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
    fn verdict_codes_are_the_exit_table() {
        use crate::exit;
        assert_eq!(Verdict::Ready.exit_code(), exit::OK);
        assert_eq!(Verdict::Problem.exit_code(), exit::POLICY);
        assert_eq!(Verdict::NoCapability.exit_code(), exit::UNSUPPORTED);
    }

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

#[cfg(all(test, feature = "azure"))]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod azure_tests {
    use tee::azure::doctor;
    use tee_azure::testing::FakeAzureVm;
    use tee_linux::tpm::Tpm;

    use super::*;

    /// A fake Azure CVM root (what detection reads) for the environment.
    fn azure_root(cpuinfo: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in [
            (
                "sys/class/dmi/id/chassis_asset_tag",
                "7783-7084-3265-9085-8269-3286-77\n",
            ),
            ("dev/tpmrm0", ""),
            ("proc/cpuinfo", cpuinfo),
        ] {
            let f = d.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        }
        d
    }

    /// The exit-code table on an Azure CVM with the simulated VM's vTPM:
    /// healthy → 0; AK evicted or HCL index missing → 4 with the check and
    /// its fix in the JSON and the text.
    #[test]
    fn azure_cvm_exit_codes_follow_the_checks() {
        for (vm, cpu, name) in [
            (
                FakeAzureVm::snp(),
                "vendor_id : AuthenticAMD\nflags : fpu hypervisor sev sev_es sev_snp\n",
                "Azure CVM (SEV-SNP behind the paravisor)",
            ),
            (
                FakeAzureVm::tdx(),
                "vendor_id : GenuineIntel\nflags : fpu hypervisor\n",
                "Azure CVM (TDX behind the paravisor)",
            ),
        ] {
            let root = azure_root(cpu);
            let det = tee::detect_with_root(root.path());
            assert_eq!(det.environment.name(), name);
            let ready = azure_section(&doctor::run(&Tpm::new(vm.tpm.clone()))).unwrap();
            let d = finish(det.clone(), vec![ready]);
            assert_eq!(
                (d.verdict, d.exit_code),
                (Verdict::Ready, 0),
                "{}",
                d.sections[0].text
            );

            // The AK gone (a fresh TPM with only the HCL report).
            let t = tee_linux::testing::FakeTpm::new();
            let hcl = vm.tpm.nv(tee::azure::HCL_REPORT_NV_INDEX).unwrap();
            t.set_nv(tee::azure::HCL_REPORT_NV_INDEX, hcl);
            let d = finish(
                det.clone(),
                vec![azure_section(&doctor::run(&Tpm::new(t))).unwrap()],
            );
            assert_eq!((d.verdict, d.exit_code), (Verdict::Problem, 4));
            let j = serde_json::to_value(&d).unwrap();
            let ak = j["sections"][0]["report"]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "azure.ak")
                .unwrap()
                .clone();
            assert_eq!(ak["status"], "missing");
            assert!(ak["remediation"].as_str().unwrap().contains("0x81000003"));
            assert!(
                d.sections[0].text.contains("MISSING] azure.ak"),
                "{}",
                d.sections[0].text
            );

            // No HCL report index (a trusted-launch VM's vTPM).
            let t = tee_linux::testing::FakeTpm::new();
            let d = finish(
                det,
                vec![azure_section(&doctor::run(&Tpm::new(t))).unwrap()],
            );
            assert_eq!(d.exit_code, 4);
            assert!(d.sections[0].text.contains("azure.hcl_report"));
        }
        // The prepared tree's /dev/tpmrm0 is a file: the vTPM check fails
        // (4) and the file is left alone; the whole doctor as the CLI runs it.
        let root = azure_root("vendor_id : AuthenticAMD\nflags : fpu hypervisor sev_snp\n");
        let d = diagnose(root.path(), false).unwrap();
        assert_eq!(d.exit_code, 4);
        let az = d.sections.iter().find(|s| s.name == "azure").unwrap();
        assert!(az.text.contains("not a character device"), "{}", az.text);
        assert_eq!(std::fs::read(root.path().join("dev/tpmrm0")).unwrap(), b"");
    }
}
