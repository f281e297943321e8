//! The simulation (cargo feature `simulation`, never in a default build):
//! a simulated Azure SEV-SNP or TDX VM as a backend (`--backend
//! azure-sim-snp|azure-sim-tdx`) and, for `teectl verify
//! --trust-simulation-roots`, verifiers that trust the simulation's fake
//! AMD and Intel roots **instead of** the pinned vendor roots. **NO
//! SECURITY**: every key of the simulation is derived from a public seed.
//! Both are said loudly on stderr, and the verify output carries
//! `"trusted_roots": "simulation"`.

use tee::azure::HclTee;
use tee::azure::testing::{FakeAzureVm, hardware_verifier_for};
use tee::{Backend, Verifiers};

/// What `teectl verify --trust-simulation-roots` puts in its JSON output.
pub(crate) const TRUSTED_ROOTS: &str = "simulation";

/// The simulated Azure VM's backend, announced on stderr.
///
/// # Errors
/// As `tee_azure::testing::FakeAzureVm::backend`.
pub(crate) fn open(tee: HclTee) -> Result<Box<dyn Backend>, tee::Error> {
    let (vm, what) = match tee {
        HclTee::Snp => (FakeAzureVm::snp(), "SEV-SNP (fake AMD PKI)"),
        HclTee::Tdx => (FakeAzureVm::tdx(), "TDX (fake Intel PKI)"),
    };
    eprintln!(
        "teectl: using a SIMULATED Azure {what} VM: fake vTPM, fake paravisor, keys from \
         public seeds: NO SECURITY"
    );
    Ok(Box::new(vm.backend()?))
}

/// The verifier set of `--trust-simulation-roots`: the SEV-SNP and TDX
/// verifiers trust only the simulation's fake roots (TDX with the
/// simulation's collateral); the other platforms as without the flag.
pub(crate) fn verifiers() -> Verifiers {
    eprintln!(
        "teectl: WARNING: --trust-simulation-roots: SEV-SNP and TDX evidence is checked against \
         the simulation's FAKE AMD and Intel roots instead of the vendors' pinned roots: \
         NO SECURITY (testing only)"
    );
    Verifiers::new()
        .trust_mock_root()
        .with(hardware_verifier_for(HclTee::Snp))
        .with(hardware_verifier_for(HclTee::Tdx))
}
