//! The request, its verification and its errors (feature `backends`).

use std::fmt;

use serde_json::Value;
use tee::collateral::{CollateralError, Config, Manager};
use tee::{
    Appraisal, Claims, Error, ErrorClass, Evidence, Platform, Policy, ReportData, UnixTime,
    Verified, Verifiers,
};

use crate::output;

/// Largest evidence JSON accepted (16 MiB, as `teectl verify`).
pub const MAX_EVIDENCE_LEN: usize = 16 << 20;
/// Largest policy TOML accepted (1 MiB).
pub const MAX_POLICY_LEN: usize = 1 << 20;

/// Why a one-call verification produced no verdict, or a failing one.
/// Each variant is a decision; [`VerifyError::class`] maps it to the SDK's
/// error classes (and so to `teectl`'s exit codes).
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifyError {
    /// The SDK's error (malformed evidence, authenticity, unsupported…).
    Sdk(Error),
    /// Collateral is needed and cannot be served from what was given
    /// (missing, stale, an unreadable bundle).
    Collateral(CollateralError),
    /// The policy TOML does not load.
    Policy(Error),
    /// The request itself is wrong (sizes, an argument).
    Usage(String),
}

impl VerifyError {
    /// The class of this error: what a caller decides on.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Sdk(e) => e.class(),
            Self::Collateral(CollateralError::Evidence(e)) => e.class(),
            // Collateral that cannot be served means authenticity cannot be
            // established: never a pass, as `teectl verify` (exit 3).
            Self::Collateral(CollateralError::Unavailable { .. }) => ErrorClass::Authenticity,
            Self::Collateral(_) => ErrorClass::Malformed,
            Self::Policy(_) | Self::Usage(_) => ErrorClass::Usage,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sdk(e) => e.fmt(f),
            Self::Collateral(e) => e.fmt(f),
            Self::Policy(e) => write!(f, "policy: {e}"),
            Self::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<Error> for VerifyError {
    fn from(e: Error) -> Self {
        Self::Sdk(e)
    }
}

impl From<CollateralError> for VerifyError {
    fn from(e: CollateralError) -> Self {
        Self::Collateral(e)
    }
}

/// Evidence JSON: the SDK envelope (`teectl report`), Trustee / CoCo
/// attestation-agent evidence (feature `peer-shapes`), or Azure vTPM JSON
/// of Trustee or attestation-rs, converted to the SDK envelope.
///
/// # Errors
/// [`Error::Malformed`] when no accepted shape parses (the SDK envelope's
/// or the Trustee converter's error).
pub fn parse_evidence(bytes: &[u8]) -> Result<Evidence, Error> {
    if bytes.len() > MAX_EVIDENCE_LEN {
        return Err(Error::malformed(
            "evidence JSON",
            tee::MalformedKind::BadLength {
                expected: MAX_EVIDENCE_LEN,
                actual: bytes.len(),
            },
        ));
    }
    #[cfg(feature = "peer-shapes")]
    let first = tee_kbs::evidence::evidence_from_any_json(bytes);
    #[cfg(not(feature = "peer-shapes"))]
    let first = Evidence::from_json(bytes);
    let err = match first {
        Ok(ev) => return Ok(ev),
        Err(e) => e,
    };
    // Azure's peer shapes, which the Trustee converter does not take.
    if let Ok((ev, true)) = tee::azure::parse_any(bytes) {
        return Ok(ev);
    }
    Err(err)
}

/// Raw SEV-SNP evidence: a report (binary, or hex as `snpguest` writes
/// it), the VCEK/VLEK certificate if the report does not travel with it,
/// and any of ASK/ASVK/ARK (each DER or PEM); missing chain certificates
/// come from the pinned AMD roots when verifying.
///
/// # Errors
/// [`Error::Malformed`] for a report or certificate that does not decode.
pub fn snp_evidence(
    report: &[u8],
    signing_cert: Option<&[u8]>,
    chain: &[&[u8]],
) -> Result<Evidence, Error> {
    tee::sev::verify::evidence_from_parts(report, signing_cert, chain)
}

/// Raw TDX evidence: a TD quote (v4/v5) and, optionally, its CCEL event
/// log (replayed against RTMR0-2 on verification).
///
/// # Errors
/// [`Error::Malformed`] for a quote or event log that does not decode.
pub fn tdx_evidence(quote: &[u8], event_log: Option<&[u8]>) -> Result<Evidence, Error> {
    let mut ev = tee::tdx::evidence::TdxEvidence::from_quote(quote)?;
    if let Some(log) = event_log {
        ev = ev.with_event_log(log)?;
    }
    Ok(ev.build())
}

/// The evidence of a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EvidenceInput<'a> {
    /// Evidence JSON (see [`parse_evidence`]).
    Json(&'a [u8]),
    /// Evidence already built ([`snp_evidence`], [`tdx_evidence`], or the
    /// SDK's attesters).
    Evidence(Evidence),
}

/// Collateral given as bytes: sniffed as a bundle (`teectl collateral
/// bundle`) or a TDX `QuoteCollateralV3` JSON document.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum CollateralInput<'a> {
    /// Nothing: SEV-SNP evidence must carry its VCEK chain; TDX evidence is
    /// then refused (no TCB evaluation without collateral).
    None,
    /// Bytes of a bundle or a `QuoteCollateralV3` JSON document.
    Bytes(&'a [u8]),
}

/// A one-call verification request. Build with [`Request::new`] and the
/// `with_…` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The evidence.
    pub evidence: EvidenceInput<'a>,
    /// Collateral.
    pub collateral: CollateralInput<'a>,
    /// Appraisal policy TOML; `None`: the default policy (admits no workload).
    pub policy: Option<&'a str>,
    /// The verification time (explicit: no clock is read).
    pub at: UnixTime,
    /// Expected report data (overrides the policy's).
    pub report_data: Option<ReportData>,
    /// Trust the mock root (NO SECURITY; appraisal still refuses mock
    /// evidence unless the policy allows it).
    pub trust_mock_root: bool,
    /// Accept TDX collateral without CRLs and an SEV-SNP chain not checked
    /// against an AMD CRL (`allow_unchecked_revocation` of `[tdx]` and
    /// `[sev-snp]`, as `teectl verify --allow-unchecked-revocation`; shown
    /// in the claims and the appraisal).
    pub allow_unchecked_revocation: bool,
}

impl<'a> Request<'a> {
    /// A request for evidence JSON at `at`, without collateral, default policy.
    pub fn new(evidence_json: &'a [u8], at: UnixTime) -> Self {
        Self::for_evidence(EvidenceInput::Json(evidence_json), at)
    }

    /// A request for `evidence` at `at`, without collateral, default policy.
    pub fn for_evidence(evidence: EvidenceInput<'a>, at: UnixTime) -> Self {
        Self {
            evidence,
            collateral: CollateralInput::None,
            policy: None,
            at,
            report_data: None,
            trust_mock_root: false,
            allow_unchecked_revocation: false,
        }
    }

    /// With collateral bytes (bundle or `QuoteCollateralV3` JSON).
    #[must_use]
    pub fn with_collateral(mut self, bytes: &'a [u8]) -> Self {
        self.collateral = CollateralInput::Bytes(bytes);
        self
    }

    /// With a TOML policy.
    #[must_use]
    pub fn with_policy(mut self, toml: &'a str) -> Self {
        self.policy = Some(toml);
        self
    }

    /// With the expected report data.
    #[must_use]
    pub fn with_report_data(mut self, rd: ReportData) -> Self {
        self.report_data = Some(rd);
        self
    }

    /// Trusting the mock root. **NO SECURITY.**
    #[must_use]
    pub fn trusting_mock_root(mut self) -> Self {
        self.trust_mock_root = true;
        self
    }

    /// Accepting TDX collateral without CRLs and an SEV-SNP chain not
    /// checked against an AMD CRL (shown in the claims and the appraisal).
    #[must_use]
    pub fn allowing_unchecked_revocation(mut self) -> Self {
        self.allow_unchecked_revocation = true;
        self
    }
}

/// What a one-call verification produced: claims, appraisal, and the
/// printed JSON.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The verified claims.
    pub claims: Verified<Claims>,
    /// The policy that was applied (after the request's overrides).
    pub policy: Policy,
    /// The appraisal of the claims against the policy.
    pub appraisal: Appraisal,
}

impl Outcome {
    /// Whether the appraisal passed.
    pub fn passed(&self) -> bool {
        self.appraisal.passed()
    }

    /// The JSON `teectl verify` prints for this outcome.
    ///
    /// # Errors
    /// A claim that JSON cannot represent (not expected for SDK types).
    pub fn to_json(&self) -> Result<Value, serde_json::Error> {
        output(&self.claims, &self.appraisal)
    }
}

/// The verifiers (and evidence, with endorsements a bundle supplies) for
/// `ev` from `collateral`.
///
/// # Errors
/// [`VerifyError::Collateral`] when a bundle does not load or cannot serve
/// what the evidence needs; [`VerifyError::Sdk`] for a malformed
/// `QuoteCollateralV3` document or a platform this build cannot verify.
pub fn verifiers(
    ev: &Evidence,
    collateral: CollateralInput<'_>,
    at: UnixTime,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
) -> Result<(Evidence, Verifiers), VerifyError> {
    let base = if trust_mock_root {
        Verifiers::new().trust_mock_root()
    } else {
        Verifiers::new()
    };
    // A platform without a verifier in this build: Unsupported, before
    // anything else is read.
    base.get(ev.platform)?;
    let bytes = match collateral {
        CollateralInput::None => {
            return Ok((
                ev.clone(),
                tdx_without_crls(base, allow_unchecked_revocation),
            ));
        }
        CollateralInput::Bytes(b) => b,
    };
    if tee::collateral::Bundle::sniff(bytes) {
        let cfg = Config::default().allowing_unchecked_revocation(allow_unchecked_revocation);
        let mut m = Manager::from_bundle_bytes(bytes, cfg)?;
        if trust_mock_root {
            m = m.trusting_mock_root();
        }
        let p = m.prepare(ev, at)?;
        return Ok((p.evidence, p.verifiers));
    }
    if !matches!(ev.platform, Platform::Tdx) && !tee::azure::is_azure(ev) {
        return Err(VerifyError::Usage(format!(
            "collateral: not a bundle, and {} evidence takes no QuoteCollateralV3 document",
            ev.platform
        )));
    }
    let c = tee::tdx::Collateral::from_json(bytes)?;
    let mut v = tee::tdx::TdxVerifier::new().with_collateral(c);
    if allow_unchecked_revocation {
        v = v.dangerous_allow_collateral_without_crls();
    }
    Ok((ev.clone(), base.with(Box::new(v))))
}

fn tdx_without_crls(v: Verifiers, allow_unchecked_revocation: bool) -> Verifiers {
    if allow_unchecked_revocation {
        v.with(Box::new(
            tee::tdx::TdxVerifier::new().dangerous_allow_collateral_without_crls(),
        ))
    } else {
        v
    }
}

/// The policy of `req`: its TOML (or the fail-closed default), then the
/// request's overrides.
///
/// # Errors
/// [`VerifyError::Policy`] when the TOML does not load;
/// [`VerifyError::Usage`] when it is too large.
pub fn policy(req: &Request<'_>) -> Result<Policy, VerifyError> {
    let mut p = match req.policy {
        Some(t) if t.len() > MAX_POLICY_LEN => {
            return Err(VerifyError::Usage(format!(
                "policy: {} bytes, more than {MAX_POLICY_LEN}",
                t.len()
            )));
        }
        Some(t) => Policy::from_toml(t).map_err(VerifyError::Policy)?,
        None => Policy::default(),
    };
    if let Some(rd) = req.report_data {
        p.report_data = Some(rd);
    }
    if req.allow_unchecked_revocation {
        p.tdx.allow_unchecked_revocation = true;
        p.sev_snp.allow_unchecked_revocation = true;
    }
    Ok(p)
}

/// Verify and appraise in one call.
///
/// A failing appraisal is an [`Outcome`] (with `passed() == false`), not an
/// error: the caller decides, and sees every check.
///
/// # Errors
/// [`VerifyError`]: malformed evidence, authenticity failure, collateral
/// unavailable, a policy that does not load, an unsupported platform.
pub fn verify(req: &Request<'_>) -> Result<Outcome, VerifyError> {
    let ev = match &req.evidence {
        EvidenceInput::Json(b) => parse_evidence(b)?,
        EvidenceInput::Evidence(ev) => ev.clone(),
    };
    let policy = policy(req)?;
    let (ev, v) = verifiers(
        &ev,
        req.collateral,
        req.at,
        req.trust_mock_root,
        req.allow_unchecked_revocation,
    )?;
    let claims = v.verify(&ev, req.at)?;
    let appraisal = tee::appraise(&claims, &policy);
    Ok(Outcome {
        claims,
        policy,
        appraisal,
    })
}
