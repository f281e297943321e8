//! The mock verifier. Trusts the mock root only when asked.

use std::borrow::Cow;

use tee_core::evidence::{endorsement, format};
use tee_core::measurement::RegisterValue;
use tee_core::platforms::MockClaims;
use tee_core::{
    Authenticity, Claim, Claims, Error, Evidence, HexBytes, Platform, PlatformClaims, Result,
    TrustRoot, UnixTime, Verifier,
};

use crate::keys;
use crate::report::{self, MockReport};

/// Verifies mock evidence. [`MockVerifier::new`] trusts no root, so every
/// mock evidence fails authenticity; [`MockVerifier::trusting_mock_root`]
/// trusts the mock root (tests, demos). Either way the claims carry
/// `TrustRoot::NoSecurity`, which appraisal denies unless `allow_mock`.
#[derive(Debug, Clone, Default)]
pub struct MockVerifier {
    trusted_root: Option<[u8; 97]>,
}

impl MockVerifier {
    /// A verifier that trusts no mock root.
    pub fn new() -> Self {
        Self { trusted_root: None }
    }

    /// A verifier that trusts the mock root. **NO SECURITY.**
    pub fn trusting_mock_root() -> Self {
        Self {
            trusted_root: keys::root_public().ok(),
        }
    }

    /// Whether this verifier trusts the mock root.
    pub fn trusts_mock_root(&self) -> bool {
        self.trusted_root.is_some()
    }
}

impl Verifier for MockVerifier {
    fn platform(&self) -> Platform {
        Platform::Mock
    }

    fn check_authenticity(&self, ev: &Evidence, at: UnixTime) -> Result<Claims> {
        if ev.platform != Platform::Mock {
            return Err(Error::Misuse(
                format!("mock verifier given {} evidence", ev.platform).into(),
            ));
        }
        if ev.format != format::MOCK_REPORT {
            return Err(Error::bad_field(
                "mock evidence",
                "format",
                format_args!("unknown format `{}`", ev.format),
            ));
        }
        // Authenticity first, over the exact bytes received; structure after.
        if ev.report.len() != report::LEN {
            return Err(Error::malformed(
                "mock report",
                tee_core::MalformedKind::BadLength {
                    expected: report::LEN,
                    actual: ev.report.len(),
                },
            ));
        }
        let (signed, sig) = ev.report.split_at(report::SIGNED_LEN);
        let root = self.trusted_root.ok_or_else(|| {
            Error::Authenticity(Authenticity::UntrustedRoot {
                detail:
                    "this verifier does not trust the mock root (mock evidence has NO SECURITY; \
                         use MockVerifier::trusting_mock_root to accept it in tests)"
                        .into(),
            })
        })?;
        let endorsement = ev.endorsement(endorsement::MOCK_AK).ok_or_else(|| {
            Error::Authenticity(Authenticity::MissingEndorsement {
                what: "mock-ak endorsement".into(),
            })
        })?;
        let ak = keys::check_endorsement(endorsement, &root)?;
        keys::verify_with(&ak, signed, sig)?;
        let (report, _, _) = MockReport::parse(&ev.report)?;
        if keys::key_id(&ak) != report.key_id {
            return Err(Error::Authenticity(Authenticity::Mismatch {
                what: "mock key id",
                detail: "report key id is not the endorsed attestation key".into(),
            }));
        }

        let registers: Vec<RegisterValue> = report
            .registers
            .iter()
            .enumerate()
            .map(|(i, r)| RegisterValue::new(i as u32, HexBytes(r.to_vec())))
            .collect();
        let mut claims = Claims::new(
            Platform::Mock,
            format::MOCK_REPORT,
            TrustRoot::NoSecurity,
            report.report_data,
            report.debug,
            at,
            PlatformClaims::Mock(MockClaims::new(
                crate::NO_SECURITY,
                report::VERSION,
                report.measurement,
                report.host_data,
                registers.iter().map(|r| r.value.clone()).collect(),
                report.key_id,
            )),
        );
        claims.launch_measurement = Claim::Value(report.measurement.into());
        claims.host_data = Claim::Value(report.host_data.into());
        claims.tcb = Claim::NotApplicable(Cow::Borrowed("the mock has no TCB"));
        if let Some(log) = &ev.event_log {
            // The mock records every event's data (digest = SHA-384(data)):
            // an event without it had its data removed, and data that does
            // not hash to its digest fails the replay, naming the event.
            log.require_data()?;
            claims.event_log = Some(log.check_against(&registers)?);
        }
        claims.runtime_registers = Claim::Value(registers);
        Ok(claims)
    }
}
