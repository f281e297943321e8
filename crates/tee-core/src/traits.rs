//! The operations every confidential workload needs, one small object-safe
//! trait each.

use alloc::borrow::Cow;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt::Debug;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::claims::Claims;
use crate::error::{Error, Operation, Result};
use crate::evidence::Evidence;
use crate::measurement::{Digest384, EventLog};
use crate::platform::Platform;
use crate::report_data::ReportData;
use crate::seal::SealPolicy;
use crate::time::UnixTime;
use crate::verified::Verified;

/// Whether an operation is supported, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "support", content = "reason")]
pub enum Support {
    /// Supported.
    Supported,
    /// Not supported; the reason says why and what to use instead.
    Unsupported(Cow<'static, str>),
}

impl Support {
    /// Whether supported.
    pub fn is_supported(&self) -> bool {
        matches!(self, Self::Supported)
    }
}

/// What a backend supports, derived from its accessors
/// ([`Capabilities::of`], the default [`Backend::capabilities`]) so the two
/// cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// The platform.
    pub platform: Platform,
    /// Producing evidence.
    pub attestation: Support,
    /// Runtime measurement registers with an event log.
    pub runtime_measurement: Support,
    /// Sealing.
    pub sealing: Support,
}

impl Capabilities {
    /// The capabilities of `backend`, read off its accessors: an operation is
    /// supported exactly when its accessor returns `Ok`. An accessor's
    /// [`Error::Unsupported`] reason becomes the [`Support::Unsupported`]
    /// reason; any other accessor error is reported as unsupported with that
    /// error's text.
    pub fn of<B: Backend + ?Sized>(backend: &B) -> Self {
        fn support<T: ?Sized>(r: Result<&T>) -> Support {
            match r {
                Ok(_) => Support::Supported,
                Err(Error::Unsupported(u)) => Support::Unsupported(u.reason),
                Err(e) => Support::Unsupported(Cow::Owned(e.to_string())),
            }
        }
        Self {
            platform: backend.platform(),
            attestation: support(backend.attester()),
            runtime_measurement: support(backend.runtime_measurement()),
            sealing: support(backend.sealer()),
        }
    }

    /// The support entry for an operation (`None` for operations a backend
    /// value does not carry, such as verification).
    pub fn support(&self, op: Operation) -> Option<&Support> {
        match op {
            Operation::Attestation => Some(&self.attestation),
            Operation::RuntimeMeasurement => Some(&self.runtime_measurement),
            Operation::Sealing => Some(&self.sealing),
            _ => None,
        }
    }

    /// The [`Error::Unsupported`] for `op`, if it is unsupported.
    pub fn unsupported_error(&self, op: Operation) -> Option<Error> {
        match self.support(op) {
            Some(Support::Unsupported(r)) => Some(Error::unsupported(self.platform, op, r.clone())),
            _ => None,
        }
    }
}

/// Produces evidence bound to caller data.
pub trait Attester: Send + Sync + Debug {
    /// The platform.
    fn platform(&self) -> Platform;

    /// Obtain fresh evidence binding `report_data`.
    ///
    /// # Errors
    /// [`Error::Device`] when the TEE interface fails, [`Error::Unsupported`]
    /// when this platform cannot attest.
    fn attest(&self, report_data: &ReportData) -> Result<Evidence>;

    /// The raw vTPM interface of an attester whose freshness value travels
    /// in a vTPM quote (Azure confidential VMs), for protocols that choose
    /// the quote's qualifying data themselves (Trustee's KBS); `None` (the
    /// default) for every other attester.
    fn vtpm(&self) -> Option<&dyn VtpmAttester> {
        None
    }
}

/// An attester whose evidence carries the verifier's freshness value in a
/// vTPM quote's qualifying data (`extraData`) rather than in the hardware
/// REPORT_DATA (see [`crate::platforms::VtpmClaims`]).
pub trait VtpmAttester: Send + Sync + Debug {
    /// Who runs the vTPM, as in [`crate::platforms::VtpmClaims::provider`]
    /// (e.g. `"azure-hcl-paravisor"`).
    fn provider(&self) -> &'static str;

    /// The largest qualifying data the vTPM takes (50 bytes on Azure).
    fn max_qualifying_data(&self) -> usize;

    /// Fresh evidence whose quote's qualifying data is `qualifying_data`
    /// exactly as given (no hashing, no padding), labelled
    /// [`crate::platforms::QualifyingDataRule::Raw`]; where the paravisor
    /// has a user-data field covered by the hardware report (Azure), the
    /// same bytes are written there.
    ///
    /// # Errors
    /// [`Error::Misuse`] for qualifying data over
    /// [`VtpmAttester::max_qualifying_data`]; otherwise as [`Attester::attest`].
    fn attest_raw(&self, qualifying_data: &[u8]) -> Result<Evidence>;
}

/// Verifies evidence for authenticity (signatures, chains, collateral at an
/// explicit time against explicit trust anchors). Policy is a separate step:
/// [`crate::appraise`].
pub trait Verifier: Send + Sync + Debug {
    /// The platform whose evidence this verifies.
    fn platform(&self) -> Platform;

    /// Implementations: check the authenticity of `evidence` as of `at` and
    /// return its claims. Callers use [`Verifier::verify`], which is the only
    /// way to obtain [`Verified`] claims.
    ///
    /// # Errors
    /// [`Error::Malformed`] for unparsable evidence, [`Error::Authenticity`]
    /// for evidence that is not authentic at `at`, [`Error::Misuse`] for
    /// evidence of another platform.
    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims>;

    /// Verify `evidence` as of `at`: [`Verifier::check_authenticity`], its
    /// claims marked [`Verified`].
    ///
    /// # Errors
    /// As [`Verifier::check_authenticity`].
    fn verify(&self, evidence: &Evidence, at: UnixTime) -> Result<Verified<Claims>> {
        self.check_authenticity(evidence, at).map(Verified::checked)
    }
}

/// Runtime measurement registers (SHA-384) with an event log.
pub trait RuntimeMeasurement: Send + Sync + Debug {
    /// Number of registers that can be read.
    fn register_count(&self) -> u32;

    /// Which registers `extend` accepts.
    fn extendable(&self, index: u32) -> bool;

    /// Read one register.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an index out of range; [`Error::Device`] on failure.
    fn read(&self, index: u32) -> Result<Digest384>;

    /// Extend register `index` with `SHA-384(data)` and append the event to
    /// the log. Returns the new register value.
    ///
    /// # Errors
    /// [`Error::Misuse`] for a register that cannot be extended;
    /// [`Error::Device`] on failure.
    fn extend(&self, index: u32, description: &str, data: &[u8]) -> Result<Digest384>;

    /// The event log of every extension so far.
    ///
    /// # Errors
    /// [`Error::Device`] when the log cannot be read.
    fn event_log(&self) -> Result<EventLog>;
}

/// Seals data so only the same (or an allowed) workload can open it.
pub trait Sealer: Send + Sync + Debug {
    /// Seal `plaintext` under `policy`; the result is a self-describing blob.
    ///
    /// # Errors
    /// [`Error::Device`] if the key cannot be derived; [`Error::Unsupported`]
    /// for a binding this platform cannot provide.
    fn seal(&self, plaintext: &[u8], policy: &SealPolicy) -> Result<Vec<u8>>;

    /// Open a blob sealed under `policy`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a damaged blob, [`Error::Unseal`] with the
    /// precise reason otherwise.
    fn unseal(&self, sealed: &[u8], policy: &SealPolicy) -> Result<Zeroizing<Vec<u8>>>;
}

/// A TEE backend: a value you open explicitly and pass around.
pub trait Backend: Send + Sync + Debug {
    /// The platform.
    fn platform(&self) -> Platform;

    /// What this backend supports on this machine. Derived from the
    /// accessors below ([`Capabilities::of`]); backends should not override it.
    fn capabilities(&self) -> Capabilities {
        Capabilities::of(self)
    }

    /// The attester.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when this backend cannot attest here (then
    /// `capabilities().attestation` is unsupported with the same reason).
    fn attester(&self) -> Result<&dyn Attester>;

    /// Runtime measurement registers.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when there are no runtime measurement registers
    /// here (then `capabilities().runtime_measurement` is unsupported).
    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement>;

    /// The sealer.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when this backend cannot seal here (then
    /// `capabilities().sealing` is unsupported).
    fn sealer(&self) -> Result<&dyn Sealer>;
}
