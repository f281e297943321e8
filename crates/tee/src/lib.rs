#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "collateral")]
pub mod collateral;
pub mod detect;
pub mod gcp;

use std::collections::BTreeMap;
use std::path::Path;

pub use detect::{Cloud, Detection, Environment, Probe, detect, detect_with_root};
#[cfg(feature = "azure")]
pub use tee_azure as azure;
pub use tee_core::*;
#[cfg(feature = "mock")]
pub use tee_mock as mock;
#[cfg(feature = "pef")]
pub use tee_pef as pef;
#[cfg(feature = "sev-snp")]
pub use tee_sev as sev;
#[cfg(feature = "tdx")]
pub use tee_tdx as tdx;

/// The cargo feature of `tee` that compiles in `platform`'s backend.
fn feature_of(platform: Platform) -> &'static str {
    match platform {
        Platform::SevSnp => "sev-snp",
        Platform::Tdx => "tdx",
        Platform::Pef => "pef",
        Platform::Mock => "mock",
        _ => "(none)",
    }
}

/// The answer for a platform whose backend is not compiled in (or unknown).
fn not_built(platform: Platform, operation: Operation) -> Error {
    Error::unsupported(
        platform,
        operation,
        format!(
            "this build of the `tee` facade has no {platform} backend (cargo feature `{}`)",
            feature_of(platform)
        ),
    )
}

/// Open the backend for `platform` on this machine.
///
/// The mock is opened only when asked for by name: `open(Platform::Mock)`.
///
/// # Errors
/// [`Error::Unsupported`] when the platform's backend is compiled out (see the
/// crate features) or unknown; [`Error::Unsupported`] or [`Error::Device`]
/// when the platform's guest interfaces are not present.
pub fn open(platform: Platform) -> Result<Box<dyn Backend>> {
    match platform {
        #[cfg(feature = "sev-snp")]
        Platform::SevSnp => Ok(Box::new(tee_sev::SevBackend::open()?)),
        #[cfg(feature = "tdx")]
        Platform::Tdx => Ok(Box::new(tee_tdx::TdxBackend::open()?)),
        #[cfg(feature = "pef")]
        Platform::Pef => Ok(Box::new(tee_pef::PefBackend::open()?)),
        #[cfg(feature = "mock")]
        Platform::Mock => Ok(Box::new(tee_mock::MockBackend::new())),
        other => Err(not_built(other, Operation::Open)),
    }
}

/// Detect this machine's TEE and open its backend. Never falls back to the
/// mock.
///
/// # Errors
/// [`Error::Device`] with kind `NotFound` when no hardware TEE is detected
/// (the message lists what was probed); errors of [`open`] otherwise.
pub fn open_detected() -> Result<Box<dyn Backend>> {
    open_detected_with_root(Path::new("/"))
}

/// [`open_detected`] with the probed filesystem rooted at `root` (tests).
///
/// An Azure CVM goes to [`open_azure`] (never to the bare backend, whose
/// device is absent there, and never to the mock).
///
/// # Errors
/// As [`open_detected`]; [`open_azure`]'s errors on an Azure CVM.
pub fn open_detected_with_root(root: &Path) -> Result<Box<dyn Backend>> {
    let d = detect_with_root(root);
    match d.environment {
        Environment::AzureCvm { platform } => open_azure_with_root(root, platform),
        _ => match d.detected {
            Some(p) => open(p),
            None => Err(Error::device(
                DeviceErrorKind::NotFound,
                "TEE guest interfaces",
                format_args!("no hardware TEE detected ({})", d.summary()),
            )),
        },
    }
}

/// The message of [`open_azure`] in a build without the Azure backend.
pub const AZURE_BACKEND_MISSING: &str = "this build has no Azure vTPM backend (tee feature `azure`): \
     on an Azure CVM the TEE is behind the paravisor and the bare guest devices are absent";

/// Open the backend of an Azure confidential VM (`platform` SEV-SNP or TDX
/// behind the paravisor; evidence through the vTPM): what detection opens
/// when it finds an Azure CVM. Never the bare SEV-SNP/TDX backend (whose
/// device is absent there) and never the mock.
///
/// # Errors
/// As [`open_azure_with_root`].
pub fn open_azure(platform: Platform) -> Result<Box<dyn Backend>> {
    open_azure_with_root(Path::new("/"), platform)
}

/// [`open_azure`] with the vTPM at `root/dev/tpmrm0` (tests), the HCL
/// report in its NV index, the IMDS for the VCEK / TD quote.
///
/// # Errors
/// [`Error::Unsupported`] (operation [`Operation::Open`]) in a build without
/// the `azure` feature, naming the missing backend; [`Error::Device`] with
/// kind `NotFound` without a TPM device or without the HCL report index
/// (not an Azure CVM); other TPM errors as typed.
pub fn open_azure_with_root(root: &Path, platform: Platform) -> Result<Box<dyn Backend>> {
    #[cfg(feature = "azure")]
    {
        let _ = platform; // the HCL report says which TEE is behind the paravisor
        Ok(Box::new(tee_azure::open_with_root(root)?))
    }
    #[cfg(not(feature = "azure"))]
    {
        let _ = root;
        Err(Error::unsupported(
            platform,
            Operation::Open,
            AZURE_BACKEND_MISSING,
        ))
    }
}

/// A set of verifiers, at most one per platform, dispatching by the
/// evidence's platform.
///
/// Each verifier is kept under its own [`Verifier::platform`]; evidence of a
/// platform without a verifier is answered with [`Error::Unsupported`] and is
/// never handed to another platform's verifier (in particular not to the
/// mock's).
///
/// [`Verifiers::new`] holds a verifier for every compiled-in backend, with each
/// vendor's pinned roots, and does **not** trust the mock root; call
/// [`Verifiers::trust_mock_root`] to accept mock evidence at the authenticity
/// step (appraisal still denies it unless `allow_mock`).
#[derive(Debug)]
pub struct Verifiers {
    by_platform: BTreeMap<Platform, Box<dyn Verifier>>,
}

/// The same as [`Verifiers::new`].
impl Default for Verifiers {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifiers {
    /// Verifiers with pinned vendor roots for every compiled-in backend; the
    /// mock root untrusted.
    pub fn new() -> Self {
        #[allow(unused_mut)] // every backend feature may be off
        let mut v = Self::empty();
        #[cfg(feature = "sev-snp")]
        {
            v = v.with(Box::new(tee_sev::SnpVerifier::new()));
        }
        #[cfg(feature = "tdx")]
        {
            v = v.with(Box::new(tee_tdx::TdxVerifier::new()));
        }
        #[cfg(feature = "pef")]
        {
            v = v.with(Box::new(tee_pef::PefVerifier::new()));
        }
        #[cfg(feature = "mock")]
        {
            v = v.with(Box::new(tee_mock::MockVerifier::new()));
        }
        v
    }

    /// No verifiers at all: every platform is [`Error::Unsupported`] until a
    /// verifier is added with [`Verifiers::with`] (a relying party that
    /// accepts only the platforms it names).
    pub fn empty() -> Self {
        Self {
            by_platform: BTreeMap::new(),
        }
    }

    /// Trust the mock root (tests and demos). **NO SECURITY.**
    #[cfg(feature = "mock")]
    #[must_use]
    pub fn trust_mock_root(self) -> Self {
        self.with(Box::new(tee_mock::MockVerifier::trusting_mock_root()))
    }

    /// Add `verifier` under its own platform, replacing the one there (e.g.
    /// one configured with collateral, or a PEF verifier holding the
    /// owner's key).
    #[must_use]
    pub fn with(mut self, verifier: Box<dyn Verifier>) -> Self {
        self.by_platform.insert(verifier.platform(), verifier);
        self
    }

    /// The verifier for `platform`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] (operation [`Operation::Verification`]) when
    /// this set has no verifier for `platform`.
    pub fn get(&self, platform: Platform) -> Result<&dyn Verifier> {
        match self.by_platform.get(&platform) {
            Some(v) => Ok(&**v),
            None if Self::compiled_in(platform) => Err(Error::unsupported(
                platform,
                Operation::Verification,
                format!("no {platform} verifier in this verifier set"),
            )),
            None => Err(not_built(platform, Operation::Verification)),
        }
    }

    /// The platforms this set has a verifier for, in [`Platform`] order.
    pub fn platforms(&self) -> impl Iterator<Item = Platform> + '_ {
        self.by_platform.keys().copied()
    }

    fn compiled_in(platform: Platform) -> bool {
        const BUILT: [(Platform, bool); 4] = [
            (Platform::SevSnp, cfg!(feature = "sev-snp")),
            (Platform::Tdx, cfg!(feature = "tdx")),
            (Platform::Pef, cfg!(feature = "pef")),
            (Platform::Mock, cfg!(feature = "mock")),
        ];
        BUILT.iter().any(|&(p, built)| p == platform && built)
    }

    /// Verify evidence with the verifier for its platform. Azure vTPM
    /// evidence (feature `azure`) is verified by `tee_azure`, with this
    /// set's verifier of its platform checking the hardware report.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when there is no verifier for the evidence's
    /// platform; otherwise as [`Verifier::verify`].
    pub fn verify(&self, evidence: &Evidence, at: UnixTime) -> Result<Verified<Claims>> {
        let hw = self.get(evidence.platform)?;
        #[cfg(feature = "azure")]
        if tee_azure::is_azure(evidence) {
            return AzureOver(hw).verify(evidence, at);
        }
        hw.verify(evidence, at)
    }
}

/// Azure vTPM evidence over the set's hardware verifier of its platform.
#[cfg(feature = "azure")]
#[derive(Debug)]
struct AzureOver<'a>(&'a dyn Verifier);

#[cfg(feature = "azure")]
impl Verifier for AzureOver<'_> {
    fn platform(&self) -> Platform {
        self.0.platform()
    }

    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims> {
        tee_azure::verify::verify(evidence, at, self.0)
    }
}

/// The repository README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "mock"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A verifier that records which platform's verifier was asked.
    #[derive(Debug)]
    struct Recording {
        platform: Platform,
        log: Arc<Mutex<Vec<Platform>>>,
    }

    impl Verifier for Recording {
        fn platform(&self) -> Platform {
            self.platform
        }

        fn check_authenticity(&self, _: &Evidence, _: UnixTime) -> Result<Claims> {
            self.log.lock().unwrap().push(self.platform);
            Err(Error::Misuse("recording verifier".into()))
        }
    }

    fn evidence(p: Platform) -> Evidence {
        Evidence::new(p, "test", vec![1, 2, 3])
    }

    #[test]
    fn each_platform_goes_to_its_own_verifier_only() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut v = Verifiers::empty();
        for p in Platform::ALL {
            v = v.with(Box::new(Recording {
                platform: p,
                log: log.clone(),
            }));
        }
        for p in Platform::ALL {
            log.lock().unwrap().clear();
            assert!(v.verify(&evidence(p), UnixTime::from_secs(0)).is_err());
            assert_eq!(*log.lock().unwrap(), vec![p], "evidence of {p}");
            assert_eq!(v.get(p).unwrap().platform(), p);
        }
    }

    #[test]
    fn a_platform_without_a_verifier_is_unsupported() {
        let log = Arc::new(Mutex::new(Vec::new()));
        // Only a mock verifier: nothing else may fall back to it.
        let v = Verifiers::empty().with(Box::new(Recording {
            platform: Platform::Mock,
            log: log.clone(),
        }));
        for p in [Platform::SevSnp, Platform::Tdx, Platform::Pef] {
            let err = v.verify(&evidence(p), UnixTime::from_secs(0)).unwrap_err();
            assert!(
                matches!(&err, Error::Unsupported(u) if u.platform == p && u.operation == Operation::Verification),
                "{p}: {err}"
            );
            assert!(matches!(v.get(p), Err(Error::Unsupported(_))));
        }
        assert!(
            log.lock().unwrap().is_empty(),
            "the mock verifier was asked"
        );
        assert_eq!(v.platforms().collect::<Vec<_>>(), vec![Platform::Mock]);
        // And the empty set supports nothing, the mock included.
        for p in Platform::ALL {
            assert!(matches!(
                Verifiers::empty().get(p),
                Err(Error::Unsupported(_))
            ));
        }
    }

    #[test]
    fn new_holds_exactly_the_compiled_in_backends() {
        let v = Verifiers::new();
        assert!(Verifiers::default().platforms().eq(v.platforms()));
        for p in Platform::ALL {
            match v.get(p) {
                Ok(verifier) => {
                    assert!(Verifiers::compiled_in(p), "{p}");
                    assert_eq!(verifier.platform(), p);
                }
                Err(e) => {
                    assert!(!Verifiers::compiled_in(p), "{p}: {e}");
                    assert!(
                        matches!(&e, Error::Unsupported(u) if u.platform == p),
                        "{p}: {e}"
                    );
                    assert!(e.to_string().contains(feature_of(p)), "{e}");
                }
            }
        }
        assert_eq!(v.platforms().count(), 4 - compiled_out().len());
    }

    fn compiled_out() -> Vec<Platform> {
        Platform::ALL
            .into_iter()
            .filter(|p| !Verifiers::compiled_in(*p))
            .collect()
    }

    #[test]
    fn compiled_out_backends_do_not_open() {
        for p in compiled_out() {
            let err = open(p).map(|_| ()).unwrap_err();
            assert!(
                matches!(&err, Error::Unsupported(u) if u.platform == p && u.operation == Operation::Open),
                "{p}: {err}"
            );
        }
    }

    #[cfg(not(feature = "pef"))]
    #[test]
    fn without_pef_the_facade_answers_unsupported() {
        assert!(!compiled_out().is_empty());
        assert!(matches!(open(Platform::Pef), Err(Error::Unsupported(_))));
        assert!(matches!(
            Verifiers::new().verify(&evidence(Platform::Pef), UnixTime::from_secs(0)),
            Err(Error::Unsupported(_))
        ));
    }

    #[cfg(all(
        feature = "sev-snp",
        feature = "tdx",
        feature = "pef",
        feature = "mock"
    ))]
    #[test]
    fn the_default_build_has_every_backend() {
        assert!(compiled_out().is_empty());
    }
}
