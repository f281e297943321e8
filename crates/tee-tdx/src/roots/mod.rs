//! The trust root pinned in this crate: the Intel SGX Root CA
//! (CN=Intel SGX Root CA, O=Intel Corporation, valid 2018-05-21 to
//! 2049-12-31), the root of Intel's PCK and TCB-signing PKI, the same
//! certificate `dcap-qvl`, go-tdx-guest and Intel's QVL pin. Public; served
//! by Intel at `https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.cer`.
//!
//! The certificate is the DER file beside this module
//! (`intel_sgx_root_ca.der`), compiled in with `include_bytes!`; a test pins
//! its SHA-256 and, when the shared vectors are present, compares it with the
//! root shipped by dcap-qvl and go-tdx-guest.

/// DER of the Intel SGX Root CA (SHA-256
/// `44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3`).
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("intel_sgx_root_ca.der");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use sha2::{Digest, Sha256};

    use super::INTEL_SGX_ROOT_CA_DER;

    const SHA256: &str = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

    #[test]
    fn pinned_root_is_the_intel_sgx_root_ca() {
        assert_eq!(hex::encode(Sha256::digest(INTEL_SGX_ROOT_CA_DER)), SHA256);
        // It decodes, is self-issued and names Intel's root.
        let c = crate::pki::parse_der(INTEL_SGX_ROOT_CA_DER).unwrap();
        let tbs = c.tbs_certificate();
        assert_eq!(tbs.subject(), tbs.issuer());
        assert!(tbs.subject().to_string().contains("CN=Intel SGX Root CA"));
    }

    #[test]
    fn pinned_root_matches_the_roots_other_verifiers_pin() {
        let Some(dir) = tee_core::conformance::vectors_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        ) else {
            eprintln!(
                "shared vectors absent: comparison skipped (the hash test still pins the file)"
            );
            return;
        };
        let der = std::fs::read(dir.join("dcap-qvl/TrustedRootCA.der")).unwrap();
        assert_eq!(der, INTEL_SGX_ROOT_CA_DER, "dcap-qvl's TrustedRootCA.der");
        let pem = std::fs::read_to_string(dir.join("go-tdx-guest/trusted_root.pem")).unwrap();
        let certs = crate::pki::parse_pem_chain(pem.as_bytes()).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(
            der::Encode::to_der(&certs[0]).unwrap(),
            INTEL_SGX_ROOT_CA_DER,
            "go-tdx-guest's trusted_root.pem"
        );
    }
}
