//! A simulated Azure confidential VM: a fake TPM (`tee_linux::testing`)
//! whose "paravisor" regenerates the HCL report when user data is written,
//! the hardware report signed by the fake AMD PKI (SNP) or the fake Intel
//! PKI (TDX), an RSA-2048 AK at `0x81000003`, and a fake IMDS. **NO
//! SECURITY**: every key is derived from a public seed.

use std::sync::{Arc, OnceLock};

use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::rand_core::SeedableRng as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest, Sha256, Sha384};
use tee_core::platforms::SnpSigningKey;
use tee_core::{Result, UnixTime, Verifier};
use tee_linux::testing::{FakeTpm, NvWriteHook};
use tee_linux::tpm::Tpm;
use tee_linux::tpm::wire::RsaPublic;
use tee_sev::report::Product;
use tee_sev::testing::FakeFirmware;
use tee_tdx::guest::TdxGuestDevice as _;
use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};

use crate::attest::{
    AK_HANDLE, AttestOptions, AzureAttester, AzureBackend, HCL_REPORT_NV_INDEX, Imds,
};
use crate::hcl::{self, HclTee};
use crate::runtime;
use crate::verify::AzureVerifier;

/// The size of the fake HCL NV index (as on Azure).
pub const HCL_NV_SIZE: usize = 2600;

/// The AK of every fake VM (generated once per process from a fixed seed).
pub fn ak() -> &'static RsaPrivateKey {
    static AK: OnceLock<RsaPrivateKey> = OnceLock::new();
    AK.get_or_init(|| {
        let mut rng = chacha20::ChaCha20Rng::from_seed([0x41; 32]);
        #[allow(clippy::expect_used)] // fixed test key: a failure is a broken setup
        RsaPrivateKey::new(&mut rng, 2048).expect("test AK generation")
    })
}

/// The AK's modulus.
pub fn ak_modulus() -> Vec<u8> {
    ak().n_bytes().to_vec()
}

/// What produces the hardware report for REPORT_DATA.
#[derive(Clone)]
enum Hw {
    Snp(Arc<FakeFirmware>),
    Tdx(Arc<FakeKernel>),
}

impl std::fmt::Debug for Hw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Snp(_) => "Snp",
            Self::Tdx(..) => "Tdx",
        })
    }
}

/// A TDREPORT of the fake TD with `rd`, its MRSEAM equal to the fake quote body's.
fn tdreport(k: &FakeKernel, rd: &[u8; 64]) -> Vec<u8> {
    #[allow(clippy::expect_used)]
    let mut r = k.get_report0(rd).expect("fake TDREPORT").to_vec();
    r[280..328].copy_from_slice(&Sha384::digest(b"test TDX module"));
    let h: [u8; 48] = Sha384::digest(&r[256..495]).into();
    r[32..80].copy_from_slice(&h);
    r
}

impl Hw {
    fn report(&self, rd: &[u8; 64]) -> Vec<u8> {
        match self {
            Self::Snp(fw) => fw.make_report(rd, 0),
            Self::Tdx(k) => tdreport(k, rd),
        }
    }
}

/// The fake IMDS: the fake PKI's VCEK, or a TD quote for a TDREPORT.
#[derive(Debug, Clone)]
pub struct FakeImds {
    hw: Hw,
}

impl Imds for FakeImds {
    fn vcek(&self) -> Result<Vec<u8>> {
        match &self.hw {
            Hw::Snp(_) => Ok(tee_sev::testing::pki(Product::Milan).vcek()),
            Hw::Tdx(..) => Err(tee_core::Error::device(
                tee_core::DeviceErrorKind::NotFound,
                "fake IMDS",
                "no VCEK on a TDX VM",
            )),
        }
    }

    fn td_quote(&self, tdreport: &[u8]) -> Result<Vec<u8>> {
        match &self.hw {
            Hw::Tdx(k) => {
                let mut rd = [0u8; 64];
                rd.copy_from_slice(&tdreport[128..192]);
                Ok(k.make_quote(&rd))
            }
            Hw::Snp(_) => Err(tee_core::Error::device(
                tee_core::DeviceErrorKind::NotFound,
                "fake IMDS",
                "no TD quote on an SNP VM",
            )),
        }
    }
}

/// A simulated Azure CVM.
#[derive(Clone)]
pub struct FakeAzureVm {
    /// The vTPM.
    pub tpm: FakeTpm,
    /// The TEE.
    pub tee: HclTee,
    hw: Hw,
    hook: NvWriteHook,
}

impl std::fmt::Debug for FakeAzureVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAzureVm")
            .field("tee", &self.tee)
            .finish_non_exhaustive()
    }
}

/// A time inside every fake certificate's and the fake collateral's validity.
pub fn at() -> UnixTime {
    tee_sev::testing::at()
}

impl FakeAzureVm {
    /// An Azure SNP VM (Milan, report v3, VCEK).
    pub fn snp() -> Self {
        Self::with(
            HclTee::Snp,
            Hw::Snp(Arc::new(FakeFirmware::new(
                Product::Milan,
                3,
                SnpSigningKey::Vcek,
            ))),
        )
    }

    /// An Azure TDX VM (RTMRs zero as on Azure).
    pub fn tdx() -> Self {
        let pki = TestPki::default();
        let td = FakeTd {
            rtmr: [[0; 48]; 4],
            ..FakeTd::default()
        };
        Self::with(HclTee::Tdx, Hw::Tdx(Arc::new(FakeKernel::new(pki, td))))
    }

    fn with(tee: HclTee, hw: Hw) -> Self {
        let tpm = FakeTpm::new();
        let n = ak_modulus();
        let sk = SigningKey::<Sha256>::new(ak().clone());
        tpm.set_key(
            AK_HANDLE,
            RsaPublic::azure_ak(n.clone()),
            Arc::new(move |m: &[u8]| sk.sign(m).to_vec()),
        );
        let make = {
            let hw = hw.clone();
            move |user: &[u8; 64]| {
                let var = runtime::build(&n, user);
                let mut rd = [0u8; 64];
                rd[..32].copy_from_slice(&Sha256::digest(&var));
                hcl::build(tee, &hw.report(&rd), &var, HCL_NV_SIZE)
            }
        };
        // The boot-time report: user-data all zero.
        tpm.set_nv(HCL_REPORT_NV_INDEX, make(&[0; 64]));
        let hook: NvWriteHook = Arc::new(move |index, data: &[u8]| {
            if index != crate::attest::USER_DATA_NV_INDEX || data.len() > 64 {
                return Vec::new();
            }
            let mut u = [0u8; 64];
            u[..data.len()].copy_from_slice(data);
            vec![(HCL_REPORT_NV_INDEX, make(&u))]
        });
        tpm.set_nv_write_hook(hook.clone(), 0);
        Self { tpm, tee, hw, hook }
    }

    /// The paravisor regenerates the report only after `reads` further NV
    /// reads (the report read right after the write is stale, as on Azure).
    pub fn set_stale_reads(&self, reads: u32) {
        self.tpm.set_nv_write_hook(self.hook.clone(), reads);
    }

    /// The fake IMDS.
    pub fn imds(&self) -> FakeImds {
        FakeImds {
            hw: self.hw.clone(),
        }
    }

    /// The attester (polling every millisecond).
    ///
    /// # Errors
    /// As [`AzureAttester::new`].
    pub fn attester(&self) -> Result<AzureAttester<FakeTpm, FakeImds>> {
        Ok(
            AzureAttester::new(Tpm::new(self.tpm.clone()), self.imds())?.with_options(
                AttestOptions {
                    report_timeout: std::time::Duration::from_millis(200),
                    poll_interval: std::time::Duration::from_millis(1),
                },
            ),
        )
    }

    /// The backend.
    ///
    /// # Errors
    /// As [`AzureAttester::new`].
    pub fn backend(&self) -> Result<AzureBackend<FakeTpm, FakeImds>> {
        Ok(AzureBackend::new(self.attester()?))
    }

    /// The hardware verifier trusting the fake PKI (TDX: with fake
    /// collateral, `UpToDate`): [`hardware_verifier_for`] this VM's TEE.
    pub fn hardware_verifier(&self) -> Box<dyn Verifier> {
        hardware_verifier_for(self.tee)
    }

    /// The Azure verifier over [`FakeAzureVm::hardware_verifier`].
    pub fn verifier(&self) -> AzureVerifier {
        AzureVerifier::from_box(self.hardware_verifier())
    }
}

/// The hardware verifier of every simulated VM of `tee` (the fake PKIs are
/// derived from fixed seeds, so this verifier, built in another process,
/// accepts what [`FakeAzureVm`] produced): SNP with the fake AMD PKI
/// (Milan) instead of AMD's roots; TDX with the fake Intel root instead of
/// Intel's and fake collateral (`UpToDate`, issued 2027-01-01, next
/// update 2027-02-01: verify at [`at`]). **NO SECURITY.**
pub fn hardware_verifier_for(tee: HclTee) -> Box<dyn Verifier> {
    match tee {
        HclTee::Snp => Box::new(tee_sev::testing::pki(Product::Milan).verifier()),
        HclTee::Tdx => {
            let pki = TestPki::default();
            let td = FakeTd::default();
            #[allow(clippy::expect_used)] // fixed test inputs: a failure is a broken setup
            let c = tee_tdx::Collateral::from_json(&pki.collateral_json(
                "UpToDate",
                &td.tee_tcb_svn,
                "2027-01-01T00:00:00Z",
                "2027-02-01T00:00:00Z",
            ))
            .expect("fake collateral");
            Box::new(tee_tdx::danger::verifier_with_test_root(pki.root_der).with_collateral(c))
        }
    }
}
