//! `teectl --backend azure-sim-snp|azure-sim-tdx kbs get-resource` against
//! the fake KBS on loopback (build feature `simulation`: a simulated Azure
//! VM with fake vTPM and fake AMD/Intel PKIs, NO SECURITY): the Azure
//! attester is chosen from the backend, attests as `az-snp-vtpm` /
//! `az-tdx-vtpm` with the runtime-data digest as the TPM nonce, and the
//! resource is written (0600). A KBS that trusts only the vendors' pinned
//! roots refuses the simulated evidence (exit 3) and nothing is written.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use tee::Verifiers;
use tee_azure::HclTee;
use tee_azure::testing::{at, hardware_verifier_for};
use tee_kbs::testing::{FakeKbs, FakeKbsServer};

use crate::common::{stderr, teectl};

fn server(v: Verifiers) -> FakeKbsServer {
    let kbs = FakeKbs::new(v, at());
    kbs.put_resource("default/key/disk", b"azure s3cret\n");
    FakeKbsServer::start(Arc::new(kbs))
}

fn get(dir: &Path, backend: &str, url: &str) -> Output {
    teectl(
        dir,
        &[
            "--backend",
            backend,
            "kbs",
            "get-resource",
            "--url",
            url,
            "--path",
            "default/key/disk",
            "-o",
            "secret.bin",
        ],
    )
}

#[test]
fn get_resource_after_simulated_azure_attestation() {
    use std::os::unix::fs::PermissionsExt;
    for (backend, tee, name) in [
        ("azure-sim-snp", HclTee::Snp, "az-snp-vtpm"),
        ("azure-sim-tdx", HclTee::Tdx, "az-tdx-vtpm"),
    ] {
        let srv = server(Verifiers::empty().with(hardware_verifier_for(tee)));
        let dir = tempfile::tempdir().unwrap();
        let o = get(dir.path(), backend, &srv.url());
        assert_eq!(o.status.code(), Some(0), "{backend}: {}", stderr(&o));
        assert!(stderr(&o).contains("SIMULATED Azure"), "{}", stderr(&o));
        let f = dir.path().join("secret.bin");
        assert_eq!(std::fs::read(&f).unwrap(), b"azure s3cret\n");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // What reached the KBS: the Azure TEE's Trustee v2 evidence.
        let att = srv.kbs().attestations().pop().unwrap();
        let pe = &att.tee_evidence.primary_evidence;
        assert_eq!(
            tee_kbs::evidence::detect(pe).unwrap().as_str(),
            name,
            "{backend}"
        );
        assert_eq!(pe["version"], 2);
    }
}

#[test]
fn a_kbs_with_the_pinned_vendor_roots_refuses_the_simulation() {
    for (backend, hw) in [
        (
            "azure-sim-snp",
            Box::new(tee::sev::SnpVerifier::new()) as Box<dyn tee::Verifier>,
        ),
        ("azure-sim-tdx", Box::new(tee::tdx::TdxVerifier::new())),
    ] {
        let srv = server(Verifiers::empty().with(hw));
        let dir = tempfile::tempdir().unwrap();
        let o = get(dir.path(), backend, &srv.url());
        assert_eq!(o.status.code(), Some(3), "{backend}: {}", stderr(&o));
        assert!(stderr(&o).contains("401"), "{}", stderr(&o));
        assert!(!dir.path().join("secret.bin").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
