//! Appraisal: the policy step after verification, failing closed and
//! explaining every check.
//!
//! Defaults deny debug TEEs, deny mock evidence, require the expected
//! report data (freshness), require a reference value for the workload (the
//! `measurement` check fails unless the policy lists reference launch
//! measurements, pins the workload through its platform section, or sets
//! `allow_any_measurement`), and apply per-platform defaults (SEV-SNP VMPL 0
//! and no migration agent; TDX TCB status `UpToDate` only). Checks that have
//! nothing configured are listed as `skipped`, with the key that would
//! configure them, so a reader sees what was not checked.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::bytes::HexBytes;
use crate::claims::{Claims, PlatformClaims, TrustRoot};
use crate::error::{Error, Result};
use crate::platforms::{self, PefPolicy, SnpPolicy, TdxPolicy};
use crate::report_data::ReportData;
use crate::verified::Verified;

/// Largest policy file accepted (1 MiB).
pub const MAX_POLICY_TOML: usize = 1 << 20;

/// An appraisal policy. Loadable from TOML ([`Policy::from_toml`]); unknown
/// keys are rejected so a typo never silently weakens a policy.
///
/// ```toml
/// allow_debug = false
/// report_data = "00112233…"            # 128 hex digits
/// allowed_measurements = ["7a1e5c26…"]
/// host_data = "…"                        # SNP HOST_DATA / TDX MRCONFIGID
///
/// [sev-snp]
/// vmpl = 0
/// min_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }
///
/// [tdx]
/// accepted_tcb_statuses = ["UpToDate"]
/// ```
///
/// In Rust, start from [`Policy::new`] (the fail-closed defaults) and chain
/// the builder methods; the struct is `#[non_exhaustive]` so that adding a
/// knob is not a breaking change:
///
/// ```
/// use tee_core::{Policy, ReportData};
/// use tee_core::platforms::SnpPolicy;
///
/// let policy = Policy::new()
///     .expect_report_data(ReportData::zero())
///     .with_sev_snp(|p| p.vmpl(0).allow_smt(false));
/// assert_eq!(policy.sev_snp.vmpl, 0);
/// assert_eq!(policy.sev_snp, SnpPolicy::default().allow_smt(false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Accept debug TEEs (default false).
    pub allow_debug: bool,
    /// Accept mock evidence, which has NO SECURITY (default false).
    pub allow_mock: bool,
    /// The report data the evidence must carry.
    pub report_data: Option<ReportData>,
    /// Accept any report data when none is expected (default false: without
    /// an expected value there is no freshness, so appraisal fails).
    pub allow_any_report_data: bool,
    /// The reference launch measurements: the evidence's launch measurement
    /// must be one of these. Empty means none is configured, and then the
    /// `measurement` check fails unless the platform section pins the
    /// workload another way (SEV-SNP ID/author key digests, TDX RTMR
    /// values) or [`Policy::allow_any_measurement`] is set.
    pub allowed_measurements: Vec<HexBytes>,
    /// Accept any workload when no reference value is configured (default
    /// false). The appraisal then says loudly that it did not establish
    /// which workload runs; only for trying things out.
    pub allow_any_measurement: bool,
    /// The host data / init-data digest the evidence must carry
    /// (SNP HOST_DATA, TDX MRCONFIGID).
    pub host_data: Option<HexBytes>,
    /// Accept vTPM-mediated evidence (Azure confidential VMs), default
    /// false: its freshness value is in the vTPM quote, not in the hardware
    /// REPORT_DATA, and its trust chain includes the paravisor.
    pub allow_vtpm: bool,
    /// vTPM evidence only: the qualifying data (`extraData`) the TPM quote
    /// must carry, compared as raw bytes of any length (e.g. a verifier's
    /// nonce given to a Trustee or attestation-rs attester). When unset,
    /// [`Policy::report_data`] is compared through the evidence's
    /// qualifying-data rule (the SDK's: SHA-384 of the report data).
    pub qualifying_data: Option<HexBytes>,
    /// SEV-SNP section.
    #[serde(rename = "sev-snp")]
    pub sev_snp: SnpPolicy,
    /// TDX section.
    pub tdx: TdxPolicy,
    /// PEF section.
    pub pef: PefPolicy,
    /// The `[mock]` table: there is nothing to configure for the mock beyond
    /// `allow_mock`, but an empty `[mock]` table was always accepted, so it
    /// still is (any key inside it is rejected).
    #[serde(rename = "mock", skip_serializing)]
    mock_table: EmptyTable,
}

/// The (empty) `[mock]` policy table, kept so existing policy files load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyTable {}

// Spelled out (not derived) so the fail-closed defaults are visible in one place.
#[allow(clippy::derivable_impls)]
impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_debug: false,
            allow_mock: false,
            report_data: None,
            allow_any_report_data: false,
            allowed_measurements: Vec::new(),
            allow_any_measurement: false,
            host_data: None,
            allow_vtpm: false,
            qualifying_data: None,
            sev_snp: SnpPolicy::default(),
            tdx: TdxPolicy::default(),
            pef: PefPolicy::default(),
            mock_table: EmptyTable {},
        }
    }
}

impl Policy {
    /// Parse a TOML policy.
    ///
    /// # Errors
    /// [`Error::Malformed`] for invalid TOML, unknown keys, bad values, or
    /// input larger than [`MAX_POLICY_TOML`].
    pub fn from_toml(text: &str) -> Result<Self> {
        if text.len() > MAX_POLICY_TOML {
            return Err(Error::malformed(
                "policy file",
                crate::MalformedKind::BadLength {
                    expected: MAX_POLICY_TOML,
                    actual: text.len(),
                },
            ));
        }
        toml::from_str(text).map_err(|e| Error::encoding("policy file", e.message()))
    }

    /// Parse TOML from bytes (must be UTF-8).
    ///
    /// # Errors
    /// As [`Policy::from_toml`], plus non-UTF-8 input.
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<Self> {
        let text = core::str::from_utf8(bytes).map_err(|e| Error::encoding("policy file", e))?;
        Self::from_toml(text)
    }

    /// The policy as TOML that [`Policy::from_toml`] reads back unchanged
    /// (what `teectl reference ... --policy-out` writes).
    ///
    /// # Errors
    /// [`Error::Malformed`] if a value cannot be encoded (not expected for
    /// policies built through this API).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::encoding("policy file", e))
    }

    /// The fail-closed default policy (same as [`Policy::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: expect this report data.
    #[must_use]
    pub fn expect_report_data(mut self, rd: ReportData) -> Self {
        self.report_data = Some(rd);
        self
    }

    /// Builder: accept debug TEEs (`allow_debug`).
    #[must_use]
    pub fn allow_debug(mut self, allow: bool) -> Self {
        self.allow_debug = allow;
        self
    }

    /// Builder: accept mock evidence, which has NO SECURITY (`allow_mock`).
    #[must_use]
    pub fn allow_mock(mut self, allow: bool) -> Self {
        self.allow_mock = allow;
        self
    }

    /// Builder: accept any report data when none is expected
    /// (`allow_any_report_data`; gives up freshness).
    #[must_use]
    pub fn allow_any_report_data(mut self, allow: bool) -> Self {
        self.allow_any_report_data = allow;
        self
    }

    /// Builder: add one allowed launch measurement (`allowed_measurements`).
    #[must_use]
    pub fn allow_measurement(mut self, measurement: impl Into<HexBytes>) -> Self {
        self.allowed_measurements.push(measurement.into());
        self
    }

    /// Builder: accept any workload when no reference value is configured
    /// (`allow_any_measurement`; appraisal then does not establish which
    /// workload runs, and says so).
    #[must_use]
    pub fn allow_any_measurement(mut self, allow: bool) -> Self {
        self.allow_any_measurement = allow;
        self
    }

    /// Builder: expect this host data / init-data digest (`host_data`).
    #[must_use]
    pub fn expect_host_data(mut self, host_data: impl Into<HexBytes>) -> Self {
        self.host_data = Some(host_data.into());
        self
    }

    /// Builder: accept vTPM-mediated evidence (`allow_vtpm`).
    #[must_use]
    pub fn allow_vtpm(mut self, allow: bool) -> Self {
        self.allow_vtpm = allow;
        self
    }

    /// Builder: expect this raw qualifying data in a vTPM quote (`qualifying_data`).
    #[must_use]
    pub fn expect_qualifying_data(mut self, data: impl Into<HexBytes>) -> Self {
        self.qualifying_data = Some(data.into());
        self
    }

    /// Builder: edit the SEV-SNP section.
    #[must_use]
    pub fn with_sev_snp(mut self, edit: impl FnOnce(SnpPolicy) -> SnpPolicy) -> Self {
        self.sev_snp = edit(core::mem::take(&mut self.sev_snp));
        self
    }

    /// Builder: edit the TDX section.
    #[must_use]
    pub fn with_tdx(mut self, edit: impl FnOnce(TdxPolicy) -> TdxPolicy) -> Self {
        self.tdx = edit(core::mem::take(&mut self.tdx));
        self
    }

    /// Builder: edit the PEF section.
    #[must_use]
    pub fn with_pef(mut self, edit: impl FnOnce(PefPolicy) -> PefPolicy) -> Self {
        self.pef = edit(core::mem::take(&mut self.pef));
        self
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The check passed.
    Passed,
    /// The check failed; the appraisal fails.
    Failed,
    /// Nothing was configured for this check.
    Skipped,
}

/// One explained check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Check {
    /// Stable check name, e.g. `debug`, `report_data`, `sev-snp.vmpl`.
    pub name: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Why (public values only).
    pub detail: String,
}

/// The result of appraisal: every check with its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Appraisal {
    /// The checks in the order they ran.
    pub checks: Vec<Check>,
}

impl Appraisal {
    /// Record a pass/fail check.
    pub fn check(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            outcome: if ok { Outcome::Passed } else { Outcome::Failed },
            detail: detail.into(),
        });
    }

    /// Record a skipped check.
    pub fn skip(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            outcome: Outcome::Skipped,
            detail: detail.into(),
        });
    }

    /// Whether every check passed or was skipped (and at least one passed).
    pub fn passed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Passed)
            && self.checks.iter().all(|c| c.outcome != Outcome::Failed)
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Failed)
    }

    /// `Ok(self)` if passed, else [`Error::Policy`].
    ///
    /// # Errors
    /// [`Error::Policy`] carrying this appraisal when any check failed.
    pub fn into_result(self) -> Result<Self> {
        if self.passed() {
            Ok(self)
        } else {
            Err(Error::Policy(self))
        }
    }
}

/// The `measurement` check, failing closed: the policy must say which
/// workload it expects (reference launch measurements, or a platform pin
/// such as SEV-SNP ID/author key digests or TDX RTMR values), or say
/// explicitly that any workload is acceptable.
fn measurement_check(c: &Claims, policy: &Policy, out: &mut Appraisal) {
    if !policy.allowed_measurements.is_empty() {
        match c.launch_measurement.value() {
            Some(m) => {
                let ok = policy.allowed_measurements.contains(m);
                out.check(
                    "measurement",
                    ok,
                    if ok {
                        alloc::format!("launch measurement {m} is a reference value")
                    } else {
                        alloc::format!(
                            "launch measurement {m} is not one of the {} reference value(s) in \
                             `allowed_measurements` (teectl verify --explain-measurement shows both)",
                            policy.allowed_measurements.len()
                        )
                    },
                );
            }
            None => out.check("measurement", false, "evidence has no launch measurement"),
        }
        return;
    }
    if let Some(pin) = platforms::workload_pin(&c.platform_claims, policy) {
        out.skip(
            "measurement",
            alloc::format!(
                "no reference launch measurements; the workload is pinned by {pin} instead"
            ),
        );
    } else if policy.allow_any_measurement {
        out.skip(
            "measurement",
            "ANY WORKLOAD ACCEPTED (allow_any_measurement = true): no reference value is \
             configured, so this appraisal does not establish which workload runs",
        );
    } else {
        out.check(
            "measurement",
            false,
            "no reference measurement configured: list the expected launch measurement in \
             `allowed_measurements` (teectl verify --allowed-measurement HEX; compute it with \
             `teectl reference`), or accept any workload explicitly with \
             `allow_any_measurement = true` (--allow-any-measurement)",
        );
    }
}

/// The `report_data` check of a bare hardware report.
fn report_data_check(c: &Claims, policy: &Policy, out: &mut Appraisal) {
    match (&policy.report_data, policy.allow_any_report_data) {
        (Some(want), _) => out.check(
            "report_data",
            *want == c.report_data,
            if *want == c.report_data {
                "report data matches the expected value".to_string()
            } else {
                alloc::format!(
                    "report data {} differs from the expected value",
                    c.report_data
                )
            },
        ),
        (None, true) => out.skip(
            "report_data",
            "any report data explicitly allowed (no freshness)",
        ),
        (None, false) => out.check(
            "report_data",
            false,
            "no expected report data given: freshness cannot be established",
        ),
    }

    if policy.qualifying_data.is_some() {
        out.check(
            "qualifying_data",
            false,
            "`qualifying_data` is set but this evidence has no vTPM quote",
        );
    }
}

/// The `vtpm` and `report_data` checks of vTPM-mediated evidence: the
/// policy must allow it, and the freshness value is the quote's qualifying data.
fn vtpm_checks(v: &platforms::VtpmClaims, policy: &Policy, out: &mut Appraisal) {
    out.check(
        "vtpm",
        policy.allow_vtpm,
        if policy.allow_vtpm {
            alloc::format!(
                "vTPM-mediated evidence explicitly allowed (allow_vtpm): the trust chain includes \
                 the {} and the freshness value is in the vTPM quote's extraData, not in REPORT_DATA",
                v.provider
            )
        } else {
            alloc::format!(
                "vTPM-mediated evidence ({}: freshness in the vTPM quote's extraData, trust chain \
                 includes the paravisor) is denied unless `allow_vtpm = true` (--allow-vtpm)",
                v.provider
            )
        },
    );
    let have: &[u8] = &v.qualifying_data;
    let (want, how): (Option<alloc::vec::Vec<u8>>, &str) = match (
        &policy.qualifying_data,
        &policy.report_data,
    ) {
        (Some(q), _) => (Some(q.to_vec()), "as raw bytes"),
        (None, Some(rd)) => match v.qualifying_data_rule.expected(rd) {
            Some(w) => (Some(w), "as SHA-384 of the expected report data"),
            None => {
                out.check(
                    "report_data",
                    false,
                    "this vTPM evidence carries a raw qualifying value (not derived from \
                         64-byte report data): give the expected value with `qualifying_data` \
                         (teectl verify --nonce HEX or --report-data HEX)",
                );
                return;
            }
        },
        (None, None) => {
            if policy.allow_any_report_data {
                out.skip(
                    "report_data",
                    "any qualifying data explicitly allowed (no freshness)",
                );
            } else {
                out.check(
                        "report_data",
                        false,
                        "no expected report data or qualifying data given: freshness cannot be established",
                    );
            }
            return;
        }
    };
    let ok = want.as_deref() == Some(have);
    out.check(
        "report_data",
        ok,
        if ok {
            alloc::format!("the vTPM quote's qualifying data matches the expected value ({how})")
        } else {
            alloc::format!(
                "the vTPM quote's qualifying data {} ({} bytes) differs from the expected value \
                 (compared {how}; lengths must match, no padding)",
                v.qualifying_data,
                have.len()
            )
        },
    );
}

/// Appraise verified claims against a policy. Always returns the full
/// explanation; call [`Appraisal::into_result`] to turn failures into an error.
pub fn appraise(claims: &Verified<Claims>, policy: &Policy) -> Appraisal {
    let c: &Claims = claims;
    let mut out = Appraisal::default();

    let is_mock = matches!(c.trust, TrustRoot::NoSecurity);
    out.check(
        "mock",
        !is_mock || policy.allow_mock,
        if is_mock {
            if policy.allow_mock {
                "mock evidence (NO SECURITY) explicitly allowed"
            } else {
                "mock evidence has NO SECURITY and is denied unless explicitly allowed"
            }
        } else {
            "evidence is not from the mock"
        },
    );

    out.check(
        "debug",
        !c.debug || policy.allow_debug,
        if c.debug {
            if policy.allow_debug {
                "debug TEE explicitly allowed"
            } else {
                "TEE is in debug mode (its memory is readable by the host); denied by default"
            }
        } else {
            "TEE is not in debug mode"
        },
    );

    match &c.vtpm {
        Some(v) => vtpm_checks(v, policy, &mut out),
        None => report_data_check(c, policy, &mut out),
    }

    measurement_check(c, policy, &mut out);

    match &policy.host_data {
        None => out.skip(
            "host_data",
            "no expected host data configured (set `host_data`)",
        ),
        Some(want) => match c.host_data.value() {
            Some(h) => out.check("host_data", h == want, alloc::format!("host data {h}")),
            None => out.check("host_data", false, "evidence has no host data"),
        },
    }

    if let Some(replay) = &c.event_log {
        let bad: Vec<_> = replay
            .iter()
            .filter(|r| !r.matches)
            .map(|r| r.index)
            .collect();
        out.check(
            "event_log",
            bad.is_empty(),
            if bad.is_empty() {
                "event log replays to the reported registers".to_string()
            } else {
                alloc::format!("event log does not replay to registers {bad:?}")
            },
        );
    }

    match &c.platform_claims {
        PlatformClaims::SevSnp(s) => platforms::appraise_snp(s, &policy.sev_snp, &mut out),
        PlatformClaims::Tdx(t) => platforms::appraise_tdx(t, &policy.tdx, c.verified_at, &mut out),
        PlatformClaims::Pef(p) => platforms::appraise_pef(&c.trust, p, &policy.pef, &mut out),
        PlatformClaims::Mock(_) => {}
    }
    out
}
