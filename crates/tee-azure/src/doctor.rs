//! The Azure CVM doctor: is the vTPM reachable, does the paravisor's HCL
//! report (NV `0x01400001`) read and parse (with its runtime claims), is
//! the attestation key at `0x81000003` present and the key those claims
//! name? Each check says what it found and, when it fails, how to fix it.
//! `teectl doctor` runs it on an Azure CVM (exit 0 ready, 4 a check failed).
//!
//! [`run`] works over any TPM transport (the fake TPM in tests);
//! [`run_at_root`] opens `root/dev/tpmrm0` (or `/dev/tpm0`), and only a
//! character device: a regular file in a prepared tree is reported, never
//! written to. The IMDS (VCEK / TD quote) is not contacted.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tee_core::{DeviceErrorKind, Error};
use tee_linux::tpm::wire::{RcKind, RsaPublic, TPM_ALG_SHA256};
use tee_linux::tpm::{DeviceTransport, Tpm, TpmError, TpmTransport};

use crate::attest::{AK_HANDLE, HCL_REPORT_NV_INDEX};
use crate::hcl::{HclReport, HclTee};
use crate::runtime::RuntimeClaims;

pub use tee_core::doctor::{CheckResult, Status, Verdict};

/// The doctor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// The verdict.
    pub verdict: Verdict,
    /// The TEE behind the paravisor, as the HCL report says (when it parsed).
    #[serde(serialize_with = "tee_name")]
    pub tee: Option<HclTee>,
    /// The TPM device used (`None` for a transport given by the caller).
    pub device: Option<PathBuf>,
    /// The checks, in order.
    pub checks: Vec<CheckResult>,
}

fn tee_name<S: serde::Serializer>(t: &Option<HclTee>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(HclTee::Snp) => s.serialize_some("sev-snp"),
        Some(HclTee::Tdx) => s.serialize_some("tdx"),
        None => s.serialize_none(),
    }
}

fn ok(name: &'static str, detail: impl Into<String>) -> CheckResult {
    CheckResult::ok(name, detail)
}

fn missing(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> CheckResult {
    CheckResult::missing(name, detail, fix)
}

fn skipped(name: &'static str, why: &str) -> CheckResult {
    CheckResult::skipped(name, format!("not checked: {why}"))
}

const FIX_DEVICE: &str = "load the TPM driver (tpm_crb / tpm_tis; `ls -l /dev/tpm*`), give the \
    user access to /dev/tpmrm0 (group `tss`, or run as root), and use a confidential VM size \
    with vTPM enabled";
const FIX_HCL: &str = "the paravisor defines NV 0x01400001 on Azure confidential VM sizes \
    (DCasv5/ECasv5, DCesv5/ECesv5 and later) with security type ConfidentialVM: check the VM's \
    security type; a trusted-launch or regular VM has a vTPM but no HCL report";
const FIX_AK: &str = "the paravisor provisions the attestation key at 0x81000003 at boot; if the \
    vTPM was cleared or the key evicted (tpm2_clear, tpm2_evictcontrol), restart the VM so the \
    paravisor recreates it";

/// Whether a TPM error means the TPM answered (with an error code) rather
/// than the device failing or answering garbage.
fn tpm_answered(e: &TpmError) -> bool {
    matches!(e, TpmError::Response { .. })
}

/// Run the checks over `tpm`.
pub fn run<T: TpmTransport>(tpm: &Tpm<T>) -> DoctorReport {
    let mut checks = Vec::new();
    // 1. Reachable: any TPM answer to PCR_Read (an error code counts).
    let reach = tpm.pcr_read(TPM_ALG_SHA256, &[0]);
    match &reach {
        Ok(_) => checks.push(ok(
            "azure.vtpm",
            "the vTPM answers (TPM2_PCR_Read of PCR 0)",
        )),
        Err(e) if tpm_answered(e) => checks.push(ok(
            "azure.vtpm",
            format!("the vTPM answers (TPM2_PCR_Read: {e})"),
        )),
        Err(e) => checks.push(missing(
            "azure.vtpm",
            format!("the vTPM does not answer: {e}"),
            FIX_DEVICE,
        )),
    }
    let reachable = match &reach {
        Ok(_) => true,
        Err(e) => tpm_answered(e),
    };
    if !reachable {
        checks.push(skipped("azure.hcl_report", "the vTPM does not answer"));
        checks.push(skipped("azure.ak", "the vTPM does not answer"));
        return finish(None, None, checks);
    }
    // 2. The HCL report: readable, parses, runtime claims parse.
    let mut tee = None;
    let mut claims_ak: Option<Vec<u8>> = None;
    match tpm.nv_read_all(HCL_REPORT_NV_INDEX) {
        Err(e) if e.rc_kind() == Some(RcKind::Handle) => checks.push(missing(
            "azure.hcl_report",
            "NV 0x01400001 is not defined: no HCL report (not an Azure confidential VM)",
            FIX_HCL,
        )),
        Err(e) => checks.push(missing(
            "azure.hcl_report",
            format!("NV 0x01400001 cannot be read: {e}"),
            "check that no other process holds the TPM (use /dev/tpmrm0, the resource-managed \
             device) and retry; a persistent error is a vTPM or paravisor fault: restart the VM",
        )),
        Ok(raw) => match HclReport::parse(&raw) {
            Err(e) => checks.push(missing(
                "azure.hcl_report",
                format!(
                    "NV 0x01400001 ({} bytes) is not an HCL report: {e}",
                    raw.len()
                ),
                "the paravisor's report format is not the documented one: report the HCL \
                 version with this output",
            )),
            Ok(h) => match RuntimeClaims::parse(h.variable_data) {
                Err(e) => checks.push(missing(
                    "azure.hcl_report",
                    format!("the HCL report parses but its runtime claims do not: {e}"),
                    "the runtime claims must name HCLAkPub: report the HCL version with this \
                     output",
                )),
                Ok(rc) => {
                    tee = Some(h.tee);
                    checks.push(ok(
                        "azure.hcl_report",
                        format!(
                            "NV 0x01400001: HCL report v{} with a {} report ({} bytes), runtime \
                             claims name an RSA-{} HCLAkPub",
                            h.version,
                            match h.tee {
                                HclTee::Snp => "SEV-SNP",
                                HclTee::Tdx => "TDX",
                            },
                            raw.len(),
                            rc.ak_modulus.len() * 8
                        ),
                    ));
                    claims_ak = Some(rc.ak_modulus);
                }
            },
        },
    }
    // 3. The AK: present, an RSA key, the one the runtime claims name.
    match tpm.read_public(AK_HANDLE) {
        Err(e) if e.rc_kind() == Some(RcKind::Handle) => checks.push(missing(
            "azure.ak",
            "no key at the persistent handle 0x81000003",
            FIX_AK,
        )),
        Err(e) => checks.push(missing(
            "azure.ak",
            format!("TPM2_ReadPublic of 0x81000003 failed: {e}"),
            FIX_AK,
        )),
        Ok(p) => match RsaPublic::parse(&p.public) {
            Err(e) => checks.push(missing(
                "azure.ak",
                format!("the key at 0x81000003 is not an RSA signing key: {e}"),
                FIX_AK,
            )),
            Ok(k) => match &claims_ak {
                Some(n)
                    if n[..] != k.modulus[k.modulus.iter().take_while(|&&b| b == 0).count()..] =>
                {
                    checks.push(missing(
                        "azure.ak",
                        "the key at 0x81000003 is not the HCLAkPub of the runtime claims: its \
                     quotes would not verify",
                        FIX_AK,
                    ))
                }
                Some(_) => checks.push(ok(
                    "azure.ak",
                    format!(
                        "RSA-{} key at 0x81000003, the HCLAkPub of the runtime claims",
                        k.key_bits
                    ),
                )),
                None => checks.push(ok(
                    "azure.ak",
                    format!(
                        "RSA-{} key at 0x81000003 (not compared: no runtime claims)",
                        k.key_bits
                    ),
                )),
            },
        },
    }
    finish(tee, None, checks)
}

fn finish(tee: Option<HclTee>, device: Option<PathBuf>, checks: Vec<CheckResult>) -> DoctorReport {
    let verdict = if checks.iter().all(|c| c.status == Status::Ok) {
        Verdict::Ready
    } else {
        Verdict::Problem
    };
    DoctorReport {
        verdict,
        tee,
        device,
        checks,
    }
}

/// Run the checks on the TPM under `root` (`dev/tpmrm0`, else `dev/tpm0`),
/// opened only if it is a character device.
pub fn run_at_root(root: &Path) -> DoctorReport {
    use std::os::unix::fs::FileTypeExt as _;
    let found = ["dev/tpmrm0", "dev/tpm0"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.exists());
    let Some(dev) = found else {
        return finish(
            None,
            None,
            vec![
                missing(
                    "azure.vtpm",
                    "no TPM device (/dev/tpmrm0, /dev/tpm0)",
                    FIX_DEVICE,
                ),
                skipped("azure.hcl_report", "no TPM device"),
                skipped("azure.ak", "no TPM device"),
            ],
        );
    };
    let shown = Path::new("/").join(dev.strip_prefix(root).unwrap_or(&dev));
    let is_char = std::fs::metadata(&dev).is_ok_and(|m| m.file_type().is_char_device());
    let opened = if is_char {
        DeviceTransport::open(&dev)
    } else {
        Err(Error::device(
            DeviceErrorKind::NotFound,
            shown.display().to_string(),
            "not a character device (a file in a prepared tree is not opened)",
        ))
    };
    match opened {
        Ok(t) => {
            let mut r = run(&Tpm::new(t));
            r.device = Some(shown);
            r
        }
        Err(e) => finish(
            None,
            Some(shown.clone()),
            vec![
                missing(
                    "azure.vtpm",
                    format!("{} cannot be used: {e}", shown.display()),
                    FIX_DEVICE,
                ),
                skipped("azure.hcl_report", "the vTPM cannot be opened"),
                skipped("azure.ak", "the vTPM cannot be opened"),
            ],
        ),
    }
}

/// A text rendering, one line per check and its fix.
pub fn render(r: &DoctorReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let tee = match r.tee {
        Some(HclTee::Snp) => "SEV-SNP behind the paravisor",
        Some(HclTee::Tdx) => "TDX behind the paravisor",
        None => "TEE not read from the HCL report",
    };
    let _ = writeln!(
        s,
        "Azure: CVM ({tee}){}",
        r.device
            .as_ref()
            .map(|d| format!(", vTPM {}", d.display()))
            .unwrap_or_default()
    );
    for c in &r.checks {
        let _ = writeln!(s, "  [{}] {:<24} {}", c.status.tag(), c.name, c.detail);
        if let Some(f) = &c.remediation {
            let _ = writeln!(s, "           fix: {f}");
        }
    }
    s
}
