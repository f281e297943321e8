//! Azure confidential VMs (AMD SEV-SNP and Intel TDX behind Microsoft's HCL
//! paravisor) for the TEE SDK.
//!
//! On Azure the guest cannot ask the hardware for a report. The paravisor
//! requests one whose REPORT_DATA binds a runtime-claims blob naming its
//! vTPM's attestation key (AK); freshness comes from a TPM2 quote signed by
//! that key over the verifier's qualifying data and PCRs 0–23.
//!
//! - [`attest`]: [`AzureAttester`] / [`AzureBackend`] over a TPM transport
//!   (`/dev/tpmrm0`, see `tee_linux::tpm`) and an [`Imds`] client;
//! - [`verify`]: [`AzureVerifier`], wrapping the platform's own verifier
//!   (`tee_sev::SnpVerifier`, `tee_tdx::TdxVerifier`) for the hardware report;
//! - [`evidence`]: the SDK envelope of Azure evidence and conversion from
//!   Trustee's and attestation-rs's JSON shapes;
//! - [`hcl`], [`runtime`]: the HCL report and runtime-claims parsers;
//! - [`imds`]: the local metadata endpoint;
//! - [`doctor`]: the Azure CVM checks of `teectl doctor` (vTPM, HCL report, AK);
//! - `testing` (feature `testing`): a simulated Azure SNP or TDX VM. NO SECURITY.
//!
//! Such evidence is vTPM-mediated: claims say the freshness value is in the
//! quote's `extraData` and the trust chain includes the paravisor, and
//! appraisal denies it unless the policy sets `allow_vtpm = true`. See
//! `docs/cloud.md` and `docs/evidence-format.md`.
#![forbid(unsafe_code)]

pub mod attest;
pub mod doctor;
pub mod evidence;
pub mod hcl;
pub mod imds;
pub mod runtime;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

pub use attest::{
    AK_HANDLE, AzureAttester, AzureBackend, HCL_REPORT_NV_INDEX, Imds, USER_DATA_NV_INDEX,
    open_with_root, probe_hcl,
};
pub use evidence::{AzureEvidence, FORMAT_SNP, FORMAT_TDX, from_peer_json, is_azure, parse_any};
pub use hcl::{HclReport, HclTee};
pub use verify::AzureVerifier;
