//! SEV-SNP reference values: what a relying party should expect an SNP
//! guest's report to carry, computed from the launch inputs, with a
//! transcript of every input and every page update.
//!
//! - [`SnpLaunch`] → [`LaunchDigest`]: the launch digest (report
//!   `MEASUREMENT`) from an OVMF image, an optional measured direct boot
//!   (kernel, initrd, command line), the vCPU count and type, the VMM type
//!   and the guest features; byte-identical to `sev-snp-measure` 0.0.13
//!   `--mode snp`. [`snp_ovmf_hash`] gives the firmware-only seed.
//! - [`IdBlockInputs`] → [`IdMaterial`]: the ID block and ID authentication
//!   information QEMU takes (`id-block=`, `id-auth=`,
//!   `author-key-enabled=`), with the `ID_KEY_DIGEST` / `AUTHOR_KEY_DIGEST`
//!   the report then carries, and a policy pinning them.
//! - [`diagnose_launch`]: recompute a launch digest that a report does not
//!   match and say whether the inputs match the running VM (the policy is
//!   stale) or which host-chosen input differs.
//! - [`init_data_digest`]: the init-data digest a launch puts in
//!   `HOST_DATA` (as appraisal compares `Policy.host_data`).
//!
//! Parsing is bounds-checked and never panics ([`Ovmf::parse`] takes at most
//! [`MAX_OVMF_SIZE`] bytes); a metadata section type no reference defines is
//! an error, never guessed. Every input that the host controls is named in
//! the transcript: see `docs/reference-values.md`.

mod diagnose;
mod gctx;
mod hashes;
mod host_data;
mod id_block;
mod launch;
mod ovmf;
mod vmsa;

pub use diagnose::{InputChange, LaunchDiagnosis, TRIED_GUEST_FEATURES, diagnose_launch};
pub use gctx::{PageType, VMSA_GPA, page_info_digest};
pub use hashes::SevHashes;
pub use host_data::{HostData, InitDataAlgorithm, MAX_INIT_DATA, init_data_digest};
pub use id_block::{
    ID_AUTH_LEN, ID_BLOCK_LEN, IdBlockInputs, IdMaterial, amd_public_key, amd_signature,
    key_digest, signing_key_from_pem,
};
/// The signing key type of ID and author keys (P-384 ECDSA).
pub type IdSigningKey = p384::ecdsa::SigningKey;

pub use launch::{
    DEFAULT_GUEST_FEATURES, FileInput, LaunchDigest, MAX_VCPUS, PageUpdate, SnpLaunch, StepGroup,
    snp_ovmf_hash,
};
pub use ovmf::{
    FOOTER_GUID, MAX_OVMF_SIZE, MetadataSection, Ovmf, PAGE_SIZE, SEV_ES_RESET_BLOCK_GUID,
    SEV_HASH_TABLE_GUID, SEV_METADATA_GUID, SectionType, guid_str,
};
pub use vmsa::{
    GUEST_FEATURE_BITS, VcpuType, VmmType, cpu_sig, describe_guest_features, vmsa_page,
};

/// Standard base64 with padding (what QEMU's `id-block=`, `id-auth=` and
/// `host-data=` take).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(char::from(A[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
