//! WebAssembly binding of the TEE SDK verifiers (`wasm32-unknown-unknown`,
//! `wasm-bindgen`): SEV-SNP reports, TDX quotes and evidence JSON verified in
//! Node or a browser, through the same [`tee_verify::verify`] call and the
//! same printed JSON as `teectl verify`.
//!
//! No I/O and no clock: the evidence, the endorsements (the VCEK, a
//! collateral bundle or a TDX `QuoteCollateralV3` document), the policy and
//! the verification time are all inputs.
//!
//! The JavaScript surface (see `README.md`) is the [`js`] module (its
//! functions run only in a `wasm32` build); this module is the plain-Rust
//! request and its verdict, so the checks and error classes are tested
//! natively too.
//!
//! Fail closed: a failing appraisal is an error of class `policy` that
//! carries the full result; without a policy the default policy applies
//! (it admits no workload).
#![forbid(unsafe_code)]

pub mod js;

use tee_verify::{EvidenceInput, Request, VerifyError};

/// Largest evidence JSON (as `teectl verify`).
pub const MAX_EVIDENCE_JSON: usize = tee_verify::MAX_EVIDENCE_LEN;
/// Largest raw SEV-SNP report (binary 1184 bytes, or hex text).
pub const MAX_SNP_REPORT: usize = 4 << 10;
/// Largest raw TDX quote.
pub const MAX_QUOTE: usize = 64 << 10;
/// Largest certificate (VCEK/VLEK, ASK/ASVK/ARK; DER or PEM).
pub const MAX_CERT: usize = 64 << 10;
/// Most chain certificates given with a raw SEV-SNP report.
pub const MAX_CHAIN_CERTS: usize = 8;
/// Largest CCEL event log.
pub const MAX_EVENT_LOG: usize = 8 << 20;
/// Largest collateral (a bundle; a `QuoteCollateralV3` document is smaller).
pub const MAX_COLLATERAL: usize = 64 << 20;
/// Largest policy TOML.
pub const MAX_POLICY: usize = tee_verify::MAX_POLICY_LEN;

/// The evidence of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evidence {
    /// Evidence JSON: the SDK envelope, Trustee / CoCo or Azure shapes.
    Json(Vec<u8>),
    /// A raw SEV-SNP report with its VCEK/VLEK and any chain certificates.
    Snp {
        /// The report (binary or hex).
        report: Vec<u8>,
        /// The VCEK/VLEK certificate, if the report does not carry it.
        vcek: Option<Vec<u8>>,
        /// ASK/ASVK/ARK certificates (missing ones: the pinned AMD roots).
        chain: Vec<Vec<u8>>,
    },
    /// A raw TDX quote and, optionally, its CCEL event log.
    Tdx {
        /// The quote (v4/v5).
        quote: Vec<u8>,
        /// The CCEL event log.
        ccel: Option<Vec<u8>>,
    },
}

/// A verification request with owned inputs (what the JavaScript
/// arguments convert to).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Input {
    /// The evidence.
    pub evidence: Evidence,
    /// Collateral bytes: a bundle or a TDX `QuoteCollateralV3` document.
    pub collateral: Option<Vec<u8>>,
    /// Policy TOML (`None`: the default policy, which admits no workload).
    pub policy: Option<String>,
    /// Verification time, seconds since the Unix epoch.
    pub at: u64,
    /// Expected report data (64 bytes).
    pub report_data: Option<Vec<u8>>,
    /// Trust the mock root. NO SECURITY.
    pub trust_mock_root: bool,
    /// Accept collateral without revocation lists (shown in the claims).
    pub allow_unchecked_revocation: bool,
}

impl Input {
    /// A request for `evidence` at `at`, nothing else given.
    pub fn new(evidence: Evidence, at: u64) -> Self {
        Self {
            evidence,
            collateral: None,
            policy: None,
            at,
            report_data: None,
            trust_mock_root: false,
            allow_unchecked_revocation: false,
        }
    }
}

/// The class of a [`Failure`]: the `class` property of the JavaScript
/// error, one per `teectl` exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Class {
    /// The call was wrong (an argument, its type) — exit 1.
    Usage,
    /// I/O or a device (not expected: this build does no I/O) — exit 1.
    Io,
    /// Malformed or oversized input — exit 2.
    Malformed,
    /// Not authentic: signature, chain, expired or revoked collateral — exit 3.
    Authenticity,
    /// Verified, but the appraisal failed (the result is attached) — exit 4.
    Policy,
    /// A platform or shape this build cannot verify — exit 5.
    Unsupported,
}

impl Class {
    /// The name JavaScript sees (`err.class`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::Io => "io",
            Self::Malformed => "malformed",
            Self::Authenticity => "authenticity",
            Self::Policy => "policy",
            Self::Unsupported => "unsupported",
        }
    }

    /// The exit code `teectl verify` gives for this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Usage | Self::Io => 1,
            Self::Malformed => 2,
            Self::Authenticity => 3,
            Self::Policy => 4,
            Self::Unsupported => 5,
        }
    }

    fn of(c: tee::ErrorClass) -> Self {
        use tee::ErrorClass as E;
        match c {
            E::Io => Self::Io,
            E::Malformed => Self::Malformed,
            E::Authenticity => Self::Authenticity,
            E::Policy => Self::Policy,
            E::Unsupported => Self::Unsupported,
            // `Usage`, and any class added later: the caller's error, never a pass.
            _ => Self::Usage,
        }
    }
}

/// Why a request produced no passing verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// What a caller decides on.
    pub class: Class,
    /// A message for people.
    pub message: String,
    /// For [`Class::Policy`] from a failing appraisal: the full result JSON
    /// (as [`verify`] returns on success, with `appraisal.passed = false`).
    pub result: Option<String>,
}

impl Failure {
    /// A failure of `class` with `message`.
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            result: None,
        }
    }

    /// A usage failure (a wrong argument).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Class::Usage, message)
    }

    fn of(e: &VerifyError) -> Self {
        Self::new(Class::of(e.class()), e.to_string())
    }
}

/// `what` is larger than `limit` bytes: [`Class::Malformed`] (as `teectl`).
///
/// # Errors
/// The failure when `len > limit`.
pub fn check_len(what: &str, len: usize, limit: usize) -> Result<(), Failure> {
    if len > limit {
        return Err(Failure::new(
            Class::Malformed,
            format!("{what}: {len} bytes, over the limit of {limit} bytes"),
        ));
    }
    Ok(())
}

/// Verify and appraise `input`; on a passing appraisal, the JSON `teectl
/// verify` prints (pretty-printed, byte for byte).
///
/// # Errors
/// A [`Failure`]: the class of the SDK's error, or [`Class::Policy`] with
/// the result attached when the appraisal fails.
pub fn verify(input: &Input) -> Result<String, Failure> {
    // The arguments first (a wrong call is a usage error whatever the
    // evidence), then the evidence.
    let report_data = match &input.report_data {
        Some(rd) => Some(tee::ReportData::from_slice(rd).map_err(|_| {
            Failure::usage(format!(
                "reportData must be exactly 64 bytes, got {} bytes",
                rd.len()
            ))
        })?),
        None => None,
    };
    if let Some(c) = &input.collateral {
        check_len("collateral", c.len(), MAX_COLLATERAL)?;
    }
    if let Some(p) = &input.policy {
        check_len("policy TOML", p.len(), MAX_POLICY)?;
    }
    let ev = match &input.evidence {
        Evidence::Json(b) => {
            check_len("evidence JSON", b.len(), MAX_EVIDENCE_JSON)?;
            EvidenceInput::Json(b)
        }
        Evidence::Snp {
            report,
            vcek,
            chain,
        } => {
            check_len("SEV-SNP report", report.len(), MAX_SNP_REPORT)?;
            if let Some(v) = vcek {
                check_len("VCEK certificate", v.len(), MAX_CERT)?;
            }
            if chain.len() > MAX_CHAIN_CERTS {
                return Err(Failure::usage(format!(
                    "chain: {} certificates, more than {MAX_CHAIN_CERTS}",
                    chain.len()
                )));
            }
            for c in chain {
                check_len("chain certificate", c.len(), MAX_CERT)?;
            }
            let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
            let ev = tee_verify::snp_evidence(report, vcek.as_deref(), &refs)
                .map_err(|e| Failure::of(&VerifyError::Sdk(e)))?;
            EvidenceInput::Evidence(ev)
        }
        Evidence::Tdx { quote, ccel } => {
            check_len("TDX quote", quote.len(), MAX_QUOTE)?;
            if let Some(l) = ccel {
                check_len("CCEL event log", l.len(), MAX_EVENT_LOG)?;
            }
            let ev = tee_verify::tdx_evidence(quote, ccel.as_deref())
                .map_err(|e| Failure::of(&VerifyError::Sdk(e)))?;
            EvidenceInput::Evidence(ev)
        }
    };
    let mut req = Request::for_evidence(ev, tee::UnixTime::from_secs(input.at));
    if let Some(c) = &input.collateral {
        req = req.with_collateral(c);
    }
    if let Some(p) = &input.policy {
        req = req.with_policy(p);
    }
    if let Some(rd) = report_data {
        req = req.with_report_data(rd);
    }
    if input.trust_mock_root {
        req = req.trusting_mock_root();
    }
    if input.allow_unchecked_revocation {
        req = req.allowing_unchecked_revocation();
    }
    let outcome = tee_verify::verify(&req).map_err(|e| Failure::of(&e))?;
    let json = outcome
        .to_json()
        .and_then(|j| serde_json::to_string_pretty(&j))
        .map_err(|e| Failure::usage(format!("JSON encoding: {e}")))?;
    if outcome.passed() {
        return Ok(json);
    }
    let failed: Vec<String> = outcome
        .appraisal
        .failed()
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    Err(Failure {
        class: Class::Policy,
        message: format!("appraisal failed: {}", failed.join("; ")),
        result: Some(json),
    })
}

#[cfg(test)]
mod tests;
