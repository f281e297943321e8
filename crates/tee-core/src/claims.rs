//! Claims: what verified evidence says, normalized across platforms, plus
//! typed per-platform raw claims.
//!
//! A [`Claims`] value only reaches a caller wrapped in
//! [`crate::Verified`], which only a verifier constructs.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::bytes::HexBytes;
use crate::measurement::{RegisterValue, ReplayCheck};
use crate::platform::Platform;
use crate::platforms::{MockClaims, PefClaims, SnpClaims, TdxClaims, VtpmClaims};
use crate::report_data::ReportData;
use crate::time::UnixTime;

/// A claim that may not apply to a platform. "Not applicable" is explicit,
/// never a zero value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Claim<T> {
    /// The value.
    Value(T),
    /// The platform has no such thing; the reason says why.
    NotApplicable(Cow<'static, str>),
}

impl<T> Claim<T> {
    /// The value, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::NotApplicable(_) => None,
        }
    }
}

/// What the evidence's trust is rooted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TrustRoot {
    /// A vendor hardware root (AMD ARK, Intel SGX Root CA).
    Hardware {
        /// Vendor name.
        vendor: Cow<'static, str>,
    },
    /// A key provisioned by the workload owner (PEF): proves possession of
    /// an owner secret released by the platform, not a hardware signature.
    Owner,
    /// A software mock. **NO SECURITY.**
    NoSecurity,
}

/// TCB status, using Intel's names where they exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TcbStatus {
    /// Up to date.
    UpToDate,
    /// Software hardening needed.
    #[serde(rename = "SWHardeningNeeded")]
    SwHardeningNeeded,
    /// Configuration needed.
    ConfigurationNeeded,
    /// Configuration and software hardening needed.
    #[serde(rename = "ConfigurationAndSWHardeningNeeded")]
    ConfigurationAndSwHardeningNeeded,
    /// Out of date.
    OutOfDate,
    /// Out of date and configuration needed.
    OutOfDateConfigurationNeeded,
    /// Revoked.
    Revoked,
    /// No TCB level in the collateral matches the platform.
    NoMatchingTcbLevel,
    /// The platform reports TCB versions but no status: compare them with
    /// minimums in the policy (SEV-SNP).
    VersionsOnly,
    /// The TCB was not evaluated (e.g. verification without collateral).
    NotEvaluated,
}

impl TcbStatus {
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::UpToDate => "UpToDate",
            Self::SwHardeningNeeded => "SWHardeningNeeded",
            Self::ConfigurationNeeded => "ConfigurationNeeded",
            Self::ConfigurationAndSwHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            Self::OutOfDate => "OutOfDate",
            Self::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            Self::Revoked => "Revoked",
            Self::NoMatchingTcbLevel => "NoMatchingTcbLevel",
            Self::VersionsOnly => "VersionsOnly",
            Self::NotEvaluated => "NotEvaluated",
        }
    }

    /// Parse a stable name (case-insensitive; Intel's spellings accepted).
    pub fn from_name(s: &str) -> Option<Self> {
        let all = [
            Self::UpToDate,
            Self::SwHardeningNeeded,
            Self::ConfigurationNeeded,
            Self::ConfigurationAndSwHardeningNeeded,
            Self::OutOfDate,
            Self::OutOfDateConfigurationNeeded,
            Self::Revoked,
            Self::NoMatchingTcbLevel,
            Self::VersionsOnly,
            Self::NotEvaluated,
        ];
        all.into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// A platform-neutral TCB summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TcbSummary {
    /// The status.
    pub status: TcbStatus,
    /// Security version numbers by component name (e.g. `bootloader`, `tee_tcb_svn`).
    pub svns: BTreeMap<String, u64>,
    /// Advisory ids that apply (Intel SA ids).
    pub advisory_ids: Vec<String>,
}

impl TcbSummary {
    /// A TCB summary.
    pub fn new(status: TcbStatus, svns: BTreeMap<String, u64>, advisory_ids: Vec<String>) -> Self {
        Self {
            status,
            svns,
            advisory_ids,
        }
    }
}

/// Typed per-platform raw claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PlatformClaims {
    /// AMD SEV-SNP.
    SevSnp(SnpClaims),
    /// Intel TDX.
    Tdx(TdxClaims),
    /// IBM PEF.
    Pef(PefClaims),
    /// Mock.
    Mock(MockClaims),
}

/// Normalized claims of verified evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// The platform.
    pub platform: Platform,
    /// The evidence format identifier.
    pub format: String,
    /// What the trust is rooted in.
    pub trust: TrustRoot,
    /// The launch measurement (SNP MEASUREMENT, TDX MRTD, mock measurement).
    pub launch_measurement: Claim<HexBytes>,
    /// The report data bound into the evidence.
    pub report_data: ReportData,
    /// Whether the TEE runs in a debug mode (memory readable by the host).
    pub debug: bool,
    /// TCB summary.
    pub tcb: Claim<TcbSummary>,
    /// Runtime measurement registers as reported.
    pub runtime_registers: Claim<Vec<RegisterValue>>,
    /// Host- or owner-provided configuration data bound at launch (SNP
    /// HOST_DATA, TDX MRCONFIGID): the init-data binding of confidential containers.
    pub host_data: Claim<HexBytes>,
    /// Event-log replay against the reported registers, when a log was attached.
    pub event_log: Option<Vec<ReplayCheck>>,
    /// The verification time used.
    pub verified_at: UnixTime,
    /// Typed per-platform raw claims.
    pub platform_claims: PlatformClaims,
    /// For vTPM-mediated evidence (Azure confidential VMs): the vTPM
    /// binding, where the freshness value is, and the extra trust in the
    /// paravisor. `None` for a bare hardware report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtpm: Option<VtpmClaims>,
}

impl Claims {
    /// Claims with the required fields; the optional ones start as
    /// "not applicable" and the verifier fills in what applies.
    pub fn new(
        platform: Platform,
        format: impl Into<String>,
        trust: TrustRoot,
        report_data: ReportData,
        debug: bool,
        verified_at: UnixTime,
        platform_claims: PlatformClaims,
    ) -> Self {
        Self {
            platform,
            format: format.into(),
            trust,
            launch_measurement: Claim::NotApplicable(Cow::Borrowed("no launch measurement")),
            report_data,
            debug,
            tcb: Claim::NotApplicable(Cow::Borrowed("no TCB information")),
            runtime_registers: Claim::NotApplicable(Cow::Borrowed(
                "no runtime measurement registers",
            )),
            host_data: Claim::NotApplicable(Cow::Borrowed("no host data")),
            event_log: None,
            verified_at,
            platform_claims,
            vtpm: None,
        }
    }
}
