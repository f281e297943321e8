//! Intel TDX raw claims and policy.

use serde::{Deserialize, Serialize};

use crate::appraisal::Appraisal;
use crate::bytes::HexBytes;
use crate::claims::TcbStatus;
use crate::time::UnixTime;

/// Decoded TD attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TdAttributes {
    /// Raw 64-bit value.
    pub raw: u64,
    /// DEBUG (bit 0).
    pub debug: bool,
    /// SEPT_VE_DISABLE (bit 28).
    pub sept_ve_disable: bool,
    /// PKS (bit 30).
    pub pks: bool,
    /// KL (bit 31).
    pub kl: bool,
    /// PERFMON (bit 63).
    pub perfmon: bool,
}

/// A validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeWindow {
    /// Start.
    pub not_before: UnixTime,
    /// End.
    pub not_after: UnixTime,
}

/// Where the collateral of a TDX verification came from: the verifier
/// knows, and records it in the claims (`collateral_source`) so that the
/// relying party can require its own (`[tdx] require_verifier_collateral`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CollateralOrigin {
    /// Carried in the evidence (chosen by the attester).
    Evidence,
    /// The verifier's own source (given to the verifier by the relying party).
    Verifier,
}

impl CollateralOrigin {
    /// `"evidence"` or `"verifier"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Evidence => "evidence",
            Self::Verifier => "verifier",
        }
    }
}

/// A TCB level of the collateral newer than the one the platform matched
/// (for the explanation of a failed TCB check: how far behind the platform
/// is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TdxTcbLevel {
    /// `"platform"` (TCB info level), `"tdx_module"` (TDX module identity
    /// level) or `"qe"` (QE identity level).
    pub component: String,
    /// The level's `tcbDate`.
    pub tcb_date: UnixTime,
    /// The level's TCB status.
    pub tcb_status: TcbStatus,
    /// The components the platform is short of for this level, e.g.
    /// `"tdxtcbcomponents[2] 3 < 5"`.
    pub short: Vec<String>,
}

impl TdxTcbLevel {
    /// A level of `component` dated `tcb_date` with `tcb_status`, with no
    /// short components recorded yet.
    pub fn new(component: impl Into<String>, tcb_date: UnixTime, tcb_status: TcbStatus) -> Self {
        Self {
            component: component.into(),
            tcb_date,
            tcb_status,
            short: Vec::new(),
        }
    }

    /// Builder: the components the platform is short of.
    #[must_use]
    pub fn with_short(mut self, short: Vec<String>) -> Self {
        self.short = short;
        self
    }
}

/// Raw claims of a verified TDX quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TdxClaims {
    /// Quote version (4 or 5).
    pub version: u16,
    /// TCB status (or `NotEvaluated` without collateral).
    pub tcb_status: TcbStatus,
    /// Advisory ids.
    pub advisory_ids: Vec<String>,
    /// FMSPC (6 bytes).
    pub fmspc: HexBytes,
    /// MRTD.
    pub mr_td: HexBytes,
    /// RTMR0.
    pub rtmr0: HexBytes,
    /// RTMR1.
    pub rtmr1: HexBytes,
    /// RTMR2.
    pub rtmr2: HexBytes,
    /// RTMR3.
    pub rtmr3: HexBytes,
    /// MRCONFIGID.
    pub mr_config_id: HexBytes,
    /// MROWNER.
    pub mr_owner: HexBytes,
    /// MROWNERCONFIG.
    pub mr_owner_config: HexBytes,
    /// MRSEAM.
    pub mr_seam: HexBytes,
    /// MRSIGNERSEAM.
    pub mr_signer_seam: HexBytes,
    /// Report data.
    pub report_data: HexBytes,
    /// TD attributes.
    pub td_attributes: TdAttributes,
    /// XFAM.
    pub xfam: u64,
    /// TEE_TCB_SVN (16 bytes).
    pub tee_tcb_svn: HexBytes,
    /// TEE_TCB_SVN2 (TD 1.5 bodies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tee_tcb_svn2: Option<HexBytes>,
    /// MRSERVICETD (TD 1.5 bodies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mr_servicetd: Option<HexBytes>,
    /// The collateral's validity window, when collateral was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collateral_window: Option<TimeWindow>,
    /// Whether the TCB was evaluated against collateral.
    pub tcb_evaluated: bool,
    /// Whether revocation (CRLs) was checked.
    pub revocation_checked: bool,
    /// Where the collateral came from (`None` without collateral).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collateral_source: Option<CollateralOrigin>,
    /// `tcbEvaluationDataNumber` of the TCB info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcb_evaluation_data_number: Option<u32>,
    /// `tcbEvaluationDataNumber` of the QE identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qe_tcb_evaluation_data_number: Option<u32>,
    /// `issueDate` of the TCB info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcb_info_issue_date: Option<UnixTime>,
    /// `tcbDate` of the platform TCB level that matched (`None` without
    /// collateral or when no level matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcb_date: Option<UnixTime>,
    /// `tcbDate` of the TDX module TCB level that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tdx_module_tcb_date: Option<UnixTime>,
    /// The levels newer than the matched ones (platform, TDX module, QE),
    /// the closest first within each component; every platform level when
    /// none matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newer_tcb_levels: Vec<TdxTcbLevel>,
}

impl TdAttributes {
    /// Decode the TD attributes (TDX module ABI, TDINFO_STRUCT.ATTRIBUTES).
    pub fn from_raw(raw: u64) -> Self {
        Self {
            raw,
            debug: raw & 1 != 0,
            sept_ve_disable: raw & (1 << 28) != 0,
            pks: raw & (1 << 30) != 0,
            kl: raw & (1 << 31) != 0,
            perfmon: raw & (1 << 63) != 0,
        }
    }
}

impl TimeWindow {
    /// The window `[not_before, not_after]`.
    pub fn new(not_before: UnixTime, not_after: UnixTime) -> Self {
        Self {
            not_before,
            not_after,
        }
    }
}

impl TdxClaims {
    /// Raw claims naming the quote version and TCB status; every other
    /// field starts empty (no collateral window, TCB not evaluated,
    /// revocation not checked) and the verifier sets each one from the quote
    /// and collateral it verified.
    pub fn new(version: u16, tcb_status: TcbStatus) -> Self {
        Self {
            version,
            tcb_status,
            advisory_ids: Vec::new(),
            fmspc: HexBytes::default(),
            mr_td: HexBytes::default(),
            rtmr0: HexBytes::default(),
            rtmr1: HexBytes::default(),
            rtmr2: HexBytes::default(),
            rtmr3: HexBytes::default(),
            mr_config_id: HexBytes::default(),
            mr_owner: HexBytes::default(),
            mr_owner_config: HexBytes::default(),
            mr_seam: HexBytes::default(),
            mr_signer_seam: HexBytes::default(),
            report_data: HexBytes::default(),
            td_attributes: TdAttributes::from_raw(0),
            xfam: 0,
            tee_tcb_svn: HexBytes::default(),
            tee_tcb_svn2: None,
            mr_servicetd: None,
            collateral_window: None,
            tcb_evaluated: false,
            revocation_checked: false,
            collateral_source: None,
            tcb_evaluation_data_number: None,
            qe_tcb_evaluation_data_number: None,
            tcb_info_issue_date: None,
            tcb_date: None,
            tdx_module_tcb_date: None,
            newer_tcb_levels: Vec::new(),
        }
    }
}

/// TDX policy section (`[tdx]`). Defaults fail closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TdxPolicy {
    /// Accepted TCB statuses (default: only `UpToDate`). In TOML, the
    /// status names (`"UpToDate"`, `"SWHardeningNeeded"`, …, matched
    /// case-insensitively); an unknown name is a policy parse error.
    #[serde(deserialize_with = "tcb_status_names")]
    pub accepted_tcb_statuses: Vec<TcbStatus>,
    /// Allowed values per RTMR (index 0..3); an empty list leaves that register unchecked.
    pub allowed_rtmr0: Vec<HexBytes>,
    /// See `allowed_rtmr0`.
    pub allowed_rtmr1: Vec<HexBytes>,
    /// See `allowed_rtmr0`.
    pub allowed_rtmr2: Vec<HexBytes>,
    /// See `allowed_rtmr0`.
    pub allowed_rtmr3: Vec<HexBytes>,
    /// Required MROWNER.
    pub mr_owner: Option<HexBytes>,
    /// Minimum TEE_TCB_SVN, compared byte by byte.
    pub min_tee_tcb_svn: Option<HexBytes>,
    /// XFAM: `xfam & xfam_mask` must equal `xfam_value` when a mask is set.
    pub xfam_mask: Option<u64>,
    /// See `xfam_mask`.
    pub xfam_value: u64,
    /// TD attributes: `attributes & attributes_mask` must equal `attributes_value` when a mask is set.
    pub attributes_mask: Option<u64>,
    /// See `attributes_mask`.
    pub attributes_value: u64,
    /// Required MROWNERCONFIG.
    pub mr_owner_config: Option<HexBytes>,
    /// Accept a TD 1.5 bound to a service TD (non-zero MRSERVICETD); default false.
    pub allow_service_td: bool,
    /// Accept claims whose TCB was evaluated with collateral lacking CRLs
    /// (`revocation_checked = false`); default false.
    pub allow_unchecked_revocation: bool,
    /// Accept a migratable TD (TD attribute MIGRATABLE, bit 29); default false.
    pub allow_migratable: bool,
    /// Accept a TD without SEPT_VE_DISABLE (bit 28), which lets the host
    /// inject #VE on EPT violations; default false.
    pub allow_sept_ve: bool,
    /// Minimum `tcbEvaluationDataNumber` of both the TCB info and the QE
    /// identity (collateral freshness chosen by the relying party).
    pub min_tcb_evaluation_data_number: Option<u32>,
    /// The collateral must come from the verifier's own source, not from
    /// the evidence (`collateral_source = "verifier"`); default false.
    pub require_verifier_collateral: bool,
    /// Minimum `tcbDate` of the matched platform TCB level (RFC 3339 date
    /// `2024-03-13` or timestamp `2024-03-13T00:00:00Z`).
    #[serde(
        deserialize_with = "opt_date::deserialize",
        serialize_with = "opt_date::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_tcb_date: Option<UnixTime>,
    /// Accept `OutOfDate` only while the newer level's `tcbDate` is less
    /// than this many days before the verification time (decides
    /// `OutOfDate` by itself, whether or not `accepted_tcb_statuses` lists it).
    pub out_of_date_grace_days: Option<u32>,
    /// Advisories that must not apply (case-insensitive).
    pub denied_advisories: Vec<String>,
    /// When non-empty, every advisory that applies must be in this list.
    pub allowed_advisories: Vec<String>,
}

mod opt_date {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::time::UnixTime;

    /// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp.
    pub(crate) fn parse(s: &str) -> crate::Result<UnixTime> {
        let s = s.trim();
        if s.len() == 10 {
            UnixTime::parse_rfc3339(&alloc::format!("{s}T00:00:00Z"))
        } else {
            UnixTime::parse_rfc3339(s)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<UnixTime>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub(crate) fn serialize<S: Serializer>(t: &Option<UnixTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&alloc::format!("{t}")),
            None => s.serialize_none(),
        }
    }
}

/// Parse a policy date as `[tdx] min_tcb_date` does: `YYYY-MM-DD`
/// (midnight UTC) or an RFC 3339 timestamp.
///
/// # Errors
/// [`crate::Error::Malformed`] if it is neither.
pub fn parse_policy_date(s: &str) -> crate::Result<UnixTime> {
    opt_date::parse(s)
}

/// TD attribute bits that must be zero (TDX module ABI, table 3.23).
pub(crate) const TD_ATTRIBUTES_RESERVED: u64 =
    (0b111 << 1) | (0x1ff << 7) | (0xf << 23) | (((1u64 << 30) - 1) << 32);
/// SERVTD_EXT (bit 17): never valid in a TD 1.0 body.
pub(crate) const TD_ATTRIBUTE_SERVTD_EXT: u64 = 1 << 17;
/// SEPT_VE_DISABLE (bit 28).
pub(crate) const TD_ATTRIBUTE_SEPT_VE_DISABLE: u64 = 1 << 28;
/// MIGRATABLE (bit 29).
pub(crate) const TD_ATTRIBUTE_MIGRATABLE: u64 = 1 << 29;

impl Default for TdxPolicy {
    fn default() -> Self {
        Self {
            accepted_tcb_statuses: vec![TcbStatus::UpToDate],
            allowed_rtmr0: Vec::new(),
            allowed_rtmr1: Vec::new(),
            allowed_rtmr2: Vec::new(),
            allowed_rtmr3: Vec::new(),
            mr_owner: None,
            min_tee_tcb_svn: None,
            xfam_mask: None,
            xfam_value: 0,
            attributes_mask: None,
            attributes_value: 0,
            mr_owner_config: None,
            allow_service_td: false,
            allow_unchecked_revocation: false,
            allow_migratable: false,
            allow_sept_ve: false,
            min_tcb_evaluation_data_number: None,
            require_verifier_collateral: false,
            min_tcb_date: None,
            out_of_date_grace_days: None,
            denied_advisories: Vec::new(),
            allowed_advisories: Vec::new(),
        }
    }
}

/// Deserialize TCB status names, rejecting unknown ones.
fn tcb_status_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<TcbStatus>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|n| {
            TcbStatus::from_name(n).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown TCB status `{n}` (expected one of UpToDate, SWHardeningNeeded, \
                     ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, \
                     OutOfDateConfigurationNeeded, Revoked, NoMatchingTcbLevel, VersionsOnly, \
                     NotEvaluated)"
                ))
            })
        })
        .collect()
}

impl TdxPolicy {
    /// Builder: accept exactly these TCB statuses (`accepted_tcb_statuses`).
    #[must_use]
    pub fn accept_tcb_statuses(mut self, statuses: impl IntoIterator<Item = TcbStatus>) -> Self {
        self.accepted_tcb_statuses = statuses.into_iter().collect();
        self
    }

    /// Builder: add one accepted TCB status.
    #[must_use]
    pub fn accept_tcb_status(mut self, status: TcbStatus) -> Self {
        if !self.accepted_tcb_statuses.contains(&status) {
            self.accepted_tcb_statuses.push(status);
        }
        self
    }

    /// Builder: add an allowed RTMR0 value (`allowed_rtmr0`).
    #[must_use]
    pub fn allow_rtmr0(mut self, value: impl Into<HexBytes>) -> Self {
        self.allowed_rtmr0.push(value.into());
        self
    }

    /// Builder: add an allowed RTMR1 value (`allowed_rtmr1`).
    #[must_use]
    pub fn allow_rtmr1(mut self, value: impl Into<HexBytes>) -> Self {
        self.allowed_rtmr1.push(value.into());
        self
    }

    /// Builder: add an allowed RTMR2 value (`allowed_rtmr2`).
    #[must_use]
    pub fn allow_rtmr2(mut self, value: impl Into<HexBytes>) -> Self {
        self.allowed_rtmr2.push(value.into());
        self
    }

    /// Builder: add an allowed RTMR3 value (`allowed_rtmr3`).
    #[must_use]
    pub fn allow_rtmr3(mut self, value: impl Into<HexBytes>) -> Self {
        self.allowed_rtmr3.push(value.into());
        self
    }

    /// Builder: require this MROWNER (`mr_owner`).
    #[must_use]
    pub fn mr_owner(mut self, value: impl Into<HexBytes>) -> Self {
        self.mr_owner = Some(value.into());
        self
    }

    /// Builder: require this MROWNERCONFIG (`mr_owner_config`).
    #[must_use]
    pub fn mr_owner_config(mut self, value: impl Into<HexBytes>) -> Self {
        self.mr_owner_config = Some(value.into());
        self
    }

    /// Builder: require this minimum TEE_TCB_SVN (`min_tee_tcb_svn`).
    #[must_use]
    pub fn min_tee_tcb_svn(mut self, value: impl Into<HexBytes>) -> Self {
        self.min_tee_tcb_svn = Some(value.into());
        self
    }

    /// Builder: require `xfam & mask == value` (`xfam_mask`, `xfam_value`).
    #[must_use]
    pub fn xfam(mut self, mask: u64, value: u64) -> Self {
        self.xfam_mask = Some(mask);
        self.xfam_value = value;
        self
    }

    /// Builder: require `attributes & mask == value` (`attributes_mask`,
    /// `attributes_value`).
    #[must_use]
    pub fn attributes(mut self, mask: u64, value: u64) -> Self {
        self.attributes_mask = Some(mask);
        self.attributes_value = value;
        self
    }

    /// Builder: accept a TD bound to a service TD (`allow_service_td`).
    #[must_use]
    pub fn allow_service_td(mut self, allow: bool) -> Self {
        self.allow_service_td = allow;
        self
    }

    /// Builder: accept a TCB evaluated without CRLs (`allow_unchecked_revocation`).
    #[must_use]
    pub fn allow_unchecked_revocation(mut self, allow: bool) -> Self {
        self.allow_unchecked_revocation = allow;
        self
    }

    /// Builder: accept a migratable TD (`allow_migratable`).
    #[must_use]
    pub fn allow_migratable(mut self, allow: bool) -> Self {
        self.allow_migratable = allow;
        self
    }

    /// Builder: accept a TD without SEPT_VE_DISABLE (`allow_sept_ve`).
    #[must_use]
    pub fn allow_sept_ve(mut self, allow: bool) -> Self {
        self.allow_sept_ve = allow;
        self
    }

    /// Builder: require this minimum `tcbEvaluationDataNumber` of the TCB
    /// info and the QE identity (`min_tcb_evaluation_data_number`).
    #[must_use]
    pub fn min_tcb_evaluation_data_number(mut self, n: u32) -> Self {
        self.min_tcb_evaluation_data_number = Some(n);
        self
    }

    /// Builder: require collateral from the verifier's own source
    /// (`require_verifier_collateral`).
    #[must_use]
    pub fn require_verifier_collateral(mut self, require: bool) -> Self {
        self.require_verifier_collateral = require;
        self
    }

    /// Builder: require the matched TCB level's `tcbDate` at or after
    /// `date` (`min_tcb_date`).
    #[must_use]
    pub fn min_tcb_date(mut self, date: UnixTime) -> Self {
        self.min_tcb_date = Some(date);
        self
    }

    /// Builder: accept `OutOfDate` while the newer level is less than
    /// `days` days old (`out_of_date_grace_days`).
    #[must_use]
    pub fn out_of_date_grace_days(mut self, days: u32) -> Self {
        self.out_of_date_grace_days = Some(days);
        self
    }

    /// Builder: deny this advisory (`denied_advisories`).
    #[must_use]
    pub fn deny_advisory(mut self, id: impl Into<String>) -> Self {
        self.denied_advisories.push(id.into());
        self
    }

    /// Builder: allow this advisory (`allowed_advisories`; once one is
    /// allowed, every advisory that applies must be allowed).
    #[must_use]
    pub fn allow_advisory(mut self, id: impl Into<String>) -> Self {
        self.allowed_advisories.push(id.into());
        self
    }
}

const DAY: u64 = 86_400;

/// The date part of a time (`2024-03-13`).
fn day(t: UnixTime) -> String {
    let s = format!("{t}");
    s.get(..10).map(str::to_string).unwrap_or(s)
}

/// The `OutOfDate` grace decision: `Some((accepted, detail))` when the
/// policy sets `out_of_date_grace_days` and the status is `OutOfDate`.
fn grace(c: &TdxClaims, p: &TdxPolicy, at: UnixTime) -> Option<(bool, String)> {
    let days = p.out_of_date_grace_days?;
    if c.tcb_status != TcbStatus::OutOfDate {
        return None;
    }
    // The grace period runs from the first newer level (the earliest date
    // among the newer levels: when the platform became out of date).
    let Some(newer) = c.newer_tcb_levels.iter().map(|l| l.tcb_date).min() else {
        return Some((
            false,
            format!(
                "OutOfDate with no newer TCB level dated in the claims: the {days}-day grace \
                 ([tdx] out_of_date_grace_days) cannot be applied"
            ),
        ));
    };
    let until = newer
        .as_secs()
        .saturating_add(u64::from(days).saturating_mul(DAY));
    let ok = at.as_secs() < until;
    Some((
        ok,
        format!(
            "OutOfDate {} the {days}-day grace ([tdx] out_of_date_grace_days) after the newer \
             level of {}: grace ends {}",
            if ok { "within" } else { "past" },
            day(newer),
            UnixTime::from_secs(until)
        ),
    ))
}

/// Whether the policy accepts a TCB level with this status and date
/// (status accepted, or `OutOfDate` within the grace; date not before
/// `min_tcb_date`).
fn level_would_pass(l: &TdxTcbLevel, p: &TdxPolicy, at: UnixTime) -> bool {
    let status_ok = p.accepted_tcb_statuses.contains(&l.tcb_status)
        || (l.tcb_status == TcbStatus::OutOfDate
            && p.out_of_date_grace_days.is_some_and(|d| {
                at.as_secs() < l.tcb_date.as_secs().saturating_add(u64::from(d) * DAY)
            }));
    status_ok && p.min_tcb_date.is_none_or(|m| l.tcb_date >= m)
}

/// How far behind the platform is: the level that matched, its date, the
/// first newer level that would pass and which components are short.
fn behind(c: &TdxClaims, p: &TdxPolicy, at: UnixTime) -> String {
    let mut parts = Vec::new();
    match c.tcb_date {
        Some(d) => parts.push(format!(
            "matched platform TCB level of {} (TCB status {})",
            day(d),
            c.tcb_status.name()
        )),
        None if c.tcb_evaluated => parts.push("no platform TCB level matched".to_string()),
        None => {
            return "TCB not evaluated (no collateral): give the verifier collateral".to_string();
        }
    }
    if let Some(d) = c.tdx_module_tcb_date {
        parts.push(format!("TDX module TCB level of {}", day(d)));
    }
    // The first (closest) newer level of each component that would pass.
    let mut seen = Vec::new();
    for l in &c.newer_tcb_levels {
        if seen.contains(&l.component) || !level_would_pass(l, p, at) {
            continue;
        }
        seen.push(l.component.clone());
        let behind_days = c
            .tcb_date
            .filter(|_| l.component == "platform")
            .map(|d| {
                format!(
                    ", {} days newer",
                    l.tcb_date.as_secs().saturating_sub(d.as_secs()) / DAY
                )
            })
            .unwrap_or_default();
        parts.push(format!(
            "first {} level that would pass: {} ({}{behind_days}), short: {}",
            l.component.replace('_', " "),
            day(l.tcb_date),
            l.tcb_status.name(),
            if l.short.is_empty() {
                "nothing (another component decides)".to_string()
            } else {
                l.short.join(", ")
            }
        ));
    }
    if seen.is_empty() && !c.newer_tcb_levels.is_empty() {
        parts.push("no newer TCB level in the collateral would pass this policy".to_string());
    }
    parts.join("; ")
}

pub(crate) fn appraise(c: &TdxClaims, p: &TdxPolicy, at: UnixTime, out: &mut Appraisal) {
    let accepted_names: Vec<&str> = p.accepted_tcb_statuses.iter().map(|s| s.name()).collect();
    let advisories = if c.advisory_ids.is_empty() {
        String::new()
    } else {
        format!(", advisories {}", c.advisory_ids.join(", "))
    };
    let (accepted, grace_detail) = match grace(c, p, at) {
        Some((ok, d)) => (ok, format!("; {d}")),
        None => (
            p.accepted_tcb_statuses.contains(&c.tcb_status),
            String::new(),
        ),
    };
    let explain = if accepted {
        String::new()
    } else {
        format!("; {}", behind(c, p, at))
    };
    out.check(
        "tdx.tcb_status",
        accepted,
        format!(
            "TCB status {}{advisories} (accepted: {}){grace_detail}{explain}",
            c.tcb_status.name(),
            accepted_names.join(", "),
        ),
    );
    match p.min_tcb_date {
        None => out.skip(
            "tdx.min_tcb_date",
            "no minimum TCB date configured (set [tdx] min_tcb_date)",
        ),
        Some(min) => {
            let ok = c.tcb_date.is_some_and(|d| d >= min);
            let have = c.tcb_date.map_or_else(
                || "no matched TCB level date".to_string(),
                |d| format!("matched TCB level date {}", day(d)),
            );
            out.check(
                "tdx.min_tcb_date",
                ok,
                if ok {
                    format!("{have}, minimum {}", day(min))
                } else {
                    format!("{have}, minimum {}; {}", day(min), behind(c, p, at))
                },
            );
        }
    }
    if p.denied_advisories.is_empty() && p.allowed_advisories.is_empty() {
        out.skip(
            "tdx.advisories",
            "no advisory policy configured (set [tdx] denied_advisories or allowed_advisories)",
        );
    } else {
        let has = |list: &[String], a: &str| list.iter().any(|x| x.eq_ignore_ascii_case(a));
        let denied: Vec<&str> = c
            .advisory_ids
            .iter()
            .filter(|a| has(&p.denied_advisories, a))
            .map(String::as_str)
            .collect();
        let unlisted: Vec<&str> = if p.allowed_advisories.is_empty() {
            Vec::new()
        } else {
            c.advisory_ids
                .iter()
                .filter(|a| !has(&p.allowed_advisories, a))
                .map(String::as_str)
                .collect()
        };
        let ok = denied.is_empty() && unlisted.is_empty();
        let mut detail = if c.advisory_ids.is_empty() {
            "no advisories apply".to_string()
        } else {
            format!("advisories {}", c.advisory_ids.join(", "))
        };
        if !denied.is_empty() {
            detail.push_str(&format!("; denied: {}", denied.join(", ")));
        }
        if !unlisted.is_empty() {
            detail.push_str(&format!(
                "; not in [tdx] allowed_advisories: {}",
                unlisted.join(", ")
            ));
        }
        out.check("tdx.advisories", ok, detail);
    }
    match p.min_tcb_evaluation_data_number {
        None => out.skip(
            "tdx.tcb_evaluation_data_number",
            "no minimum configured (set [tdx] min_tcb_evaluation_data_number)",
        ),
        Some(min) => {
            let (t, q) = (
                c.tcb_evaluation_data_number,
                c.qe_tcb_evaluation_data_number,
            );
            let ok = t.is_some_and(|t| t >= min) && q.is_some_and(|q| q >= min);
            let show = |v: Option<u32>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
            out.check(
                "tdx.tcb_evaluation_data_number",
                ok,
                format!(
                    "TCB info tcbEvaluationDataNumber {}, QE identity {}, minimum {min}",
                    show(t),
                    show(q)
                ),
            );
        }
    }
    let source = c
        .collateral_source
        .map_or("none (no collateral)", CollateralOrigin::name);
    if p.require_verifier_collateral {
        out.check(
            "tdx.collateral_source",
            c.collateral_source == Some(CollateralOrigin::Verifier),
            format!("collateral from {source}; the verifier's own collateral is required"),
        );
    } else {
        out.skip(
            "tdx.collateral_source",
            format!(
                "collateral from {source}; any source accepted (set [tdx] require_verifier_collateral)"
            ),
        );
    }
    if !c.tcb_evaluated {
        out.skip(
            "tdx.revocation",
            "TCB not evaluated (no collateral); give the verifier collateral with CRLs",
        );
    } else {
        out.check(
            "tdx.revocation",
            c.revocation_checked || p.allow_unchecked_revocation,
            if c.revocation_checked {
                "certificate revocation checked against the CRLs"
            } else if p.allow_unchecked_revocation {
                "revocation NOT checked (collateral without CRLs), explicitly allowed ([tdx] allow_unchecked_revocation)"
            } else {
                "revocation NOT checked (collateral without CRLs); denied unless explicitly allowed ([tdx] allow_unchecked_revocation)"
            },
        );
    }
    td_attribute_rules(c, p, out);
    match &c.mr_servicetd {
        Some(m) if m.iter().any(|b| *b != 0) => out.check(
            "tdx.mr_servicetd",
            p.allow_service_td,
            format!("TD is bound to a service TD (MRSERVICETD {m})"),
        ),
        _ => out.skip(
            "tdx.mr_servicetd",
            "no service TD binding (a binding needs [tdx] allow_service_td)",
        ),
    }
    for (i, list) in [
        &p.allowed_rtmr0,
        &p.allowed_rtmr1,
        &p.allowed_rtmr2,
        &p.allowed_rtmr3,
    ]
    .into_iter()
    .enumerate()
    {
        let name = ["tdx.rtmr0", "tdx.rtmr1", "tdx.rtmr2", "tdx.rtmr3"][i];
        if list.is_empty() {
            out.skip(
                name,
                format!("no allowed values configured (set [tdx] allowed_rtmr{i})"),
            );
        } else {
            let have = [&c.rtmr0, &c.rtmr1, &c.rtmr2, &c.rtmr3][i];
            out.check(name, list.contains(have), format!("{have}"));
        }
    }
    match &p.mr_owner {
        None => out.skip("tdx.mr_owner", "no MROWNER configured (set [tdx] mr_owner)"),
        Some(want) => out.check(
            "tdx.mr_owner",
            *want == c.mr_owner,
            format!("{}", c.mr_owner),
        ),
    }
    match &p.mr_owner_config {
        None => out.skip(
            "tdx.mr_owner_config",
            "no MROWNERCONFIG configured (set [tdx] mr_owner_config)",
        ),
        Some(want) => out.check(
            "tdx.mr_owner_config",
            *want == c.mr_owner_config,
            format!("{}", c.mr_owner_config),
        ),
    }
    match &p.min_tee_tcb_svn {
        None => out.skip(
            "tdx.min_tee_tcb_svn",
            "no minimum TEE TCB SVN configured (set [tdx] min_tee_tcb_svn)",
        ),
        Some(min) => {
            let ok = min.len() <= c.tee_tcb_svn.len()
                && min.iter().zip(c.tee_tcb_svn.iter()).all(|(m, h)| h >= m);
            out.check(
                "tdx.min_tee_tcb_svn",
                ok,
                format!("tee_tcb_svn {}, minimum {min}", c.tee_tcb_svn),
            );
        }
    }
    if p.xfam_mask.is_none() {
        out.skip(
            "tdx.xfam",
            "no XFAM rule configured (set [tdx] xfam_mask and xfam_value)",
        );
    }
    if let Some(mask) = p.xfam_mask {
        out.check(
            "tdx.xfam",
            c.xfam & mask == p.xfam_value,
            format!(
                "xfam {:#018x} & {mask:#018x}, expected {:#018x}",
                c.xfam, p.xfam_value
            ),
        );
    }
    if p.attributes_mask.is_none() {
        out.skip(
            "tdx.td_attributes",
            "no TD attributes rule configured (set [tdx] attributes_mask and attributes_value)",
        );
    }
    if let Some(mask) = p.attributes_mask {
        out.check(
            "tdx.td_attributes",
            c.td_attributes.raw & mask == p.attributes_value,
            format!(
                "attributes {:#018x} & {mask:#018x}, expected {:#018x}",
                c.td_attributes.raw, p.attributes_value
            ),
        );
    }
}

/// The TD attribute rules Intel's QVL applies (a verifier reports the
/// attributes; these checks decide them).
fn td_attribute_rules(c: &TdxClaims, p: &TdxPolicy, out: &mut Appraisal) {
    let raw = c.td_attributes.raw;
    out.check(
        "tdx.td_attributes_reserved",
        raw & TD_ATTRIBUTES_RESERVED == 0,
        format!(
            "reserved TD attribute bits {:#018x}",
            raw & TD_ATTRIBUTES_RESERVED
        ),
    );
    let td15 = c.tee_tcb_svn2.is_some();
    if raw & TD_ATTRIBUTE_SERVTD_EXT == 0 {
        out.skip(
            "tdx.servtd_ext",
            "SERVTD_EXT not set (nothing to configure: allowed only in a TD 1.5 body)",
        );
    } else {
        out.check(
            "tdx.servtd_ext",
            td15,
            if td15 {
                "SERVTD_EXT set in a TD 1.5 body"
            } else {
                "SERVTD_EXT set in a TD 1.0 body, which cannot carry service TD bindings"
            },
        );
    }
    let sept = raw & TD_ATTRIBUTE_SEPT_VE_DISABLE != 0;
    out.check(
        "tdx.sept_ve_disable",
        sept || p.allow_sept_ve,
        if sept {
            "SEPT_VE_DISABLE set"
        } else if p.allow_sept_ve {
            "SEPT_VE_DISABLE NOT set, explicitly allowed"
        } else {
            "SEPT_VE_DISABLE NOT set (the host can inject #VE); denied unless explicitly allowed"
        },
    );
    let migratable = raw & TD_ATTRIBUTE_MIGRATABLE != 0;
    out.check(
        "tdx.migratable",
        !migratable || p.allow_migratable,
        if !migratable {
            "TD not migratable"
        } else if p.allow_migratable {
            "TD migratable, explicitly allowed"
        } else {
            "TD migratable; denied unless explicitly allowed"
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8, n: usize) -> HexBytes {
        HexBytes(vec![b; n])
    }

    fn claims() -> TdxClaims {
        TdxClaims {
            version: 4,
            tcb_status: TcbStatus::UpToDate,
            advisory_ids: Vec::new(),
            fmspc: h(0, 6),
            mr_td: h(1, 48),
            rtmr0: h(2, 48),
            rtmr1: h(3, 48),
            rtmr2: h(4, 48),
            rtmr3: h(5, 48),
            mr_config_id: h(6, 48),
            mr_owner: h(7, 48),
            mr_owner_config: h(8, 48),
            mr_seam: h(9, 48),
            mr_signer_seam: h(0, 48),
            report_data: h(0, 64),
            td_attributes: TdAttributes {
                raw: 1 << 28,
                debug: false,
                sept_ve_disable: true,
                pks: false,
                kl: false,
                perfmon: false,
            },
            xfam: 0xe7,
            tee_tcb_svn: HexBytes(vec![6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            tee_tcb_svn2: None,
            mr_servicetd: None,
            collateral_window: None,
            tcb_evaluated: true,
            revocation_checked: true,
            collateral_source: Some(CollateralOrigin::Evidence),
            tcb_evaluation_data_number: Some(17),
            qe_tcb_evaluation_data_number: Some(17),
            tcb_info_issue_date: Some(UnixTime::from_secs(1_735_689_600)),
            tcb_date: Some(UnixTime::from_secs(1_710_288_000)),
            tdx_module_tcb_date: None,
            newer_tcb_levels: Vec::new(),
        }
    }

    fn at() -> UnixTime {
        UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap()
    }

    fn failed(c: &TdxClaims, p: &TdxPolicy) -> Vec<String> {
        let mut a = Appraisal::default();
        appraise(c, p, at(), &mut a);
        a.failed().map(|c| c.name.clone()).collect()
    }

    #[test]
    fn defaults_accept_up_to_date_only() {
        let p = TdxPolicy::default();
        assert!(failed(&claims(), &p).is_empty());
        for st in [
            TcbStatus::OutOfDate,
            TcbStatus::SwHardeningNeeded,
            TcbStatus::ConfigurationNeeded,
            TcbStatus::NoMatchingTcbLevel,
            TcbStatus::NotEvaluated,
            TcbStatus::Revoked,
        ] {
            let c = TdxClaims {
                tcb_status: st,
                ..claims()
            };
            assert_eq!(failed(&c, &p), vec!["tdx.tcb_status"], "{st:?}");
        }
        // Names are matched case-insensitively, as before the list was typed.
        let p = crate::Policy::from_toml(
            "[tdx]\naccepted_tcb_statuses = [\"UpToDate\", \"swhardeningneeded\"]\n",
        )
        .unwrap()
        .tdx;
        assert_eq!(
            p.accepted_tcb_statuses,
            vec![TcbStatus::UpToDate, TcbStatus::SwHardeningNeeded]
        );
        let c = TdxClaims {
            tcb_status: TcbStatus::SwHardeningNeeded,
            ..claims()
        };
        assert!(failed(&c, &p).is_empty());
        let mut a = Appraisal::default();
        appraise(&c, &p, at(), &mut a);
        assert!(
            a.checks[0]
                .detail
                .contains("(accepted: UpToDate, SWHardeningNeeded)"),
            "{}",
            a.checks[0].detail
        );
    }

    #[test]
    fn unknown_tcb_status_name_is_a_policy_parse_error() {
        // Previously an unknown name was ignored (and only mentioned in the
        // check detail); a typo now fails the policy load instead.
        let e =
            crate::Policy::from_toml("[tdx]\naccepted_tcb_statuses = [\"UpToDate\", \"typo\"]\n")
                .unwrap_err();
        assert!(matches!(e, crate::Error::Malformed(_)), "{e:?}");
        assert!(e.to_string().contains("unknown TCB status `typo`"), "{e}");
        assert!(
            crate::Policy::from_toml("[tdx]\naccepted_tcb_statuses = [3]\n").is_err(),
            "a non-string entry is rejected"
        );
        // Serialization writes the stable names, which load back.
        let p = TdxPolicy::default().accept_tcb_statuses([
            TcbStatus::UpToDate,
            TcbStatus::ConfigurationAndSwHardeningNeeded,
        ]);
        let mut pol = crate::Policy::new();
        pol.tdx = p.clone();
        let text = toml::to_string(&pol).unwrap();
        assert!(
            text.contains("\"ConfigurationAndSWHardeningNeeded\""),
            "{text}"
        );
        assert_eq!(crate::Policy::from_toml(&text).unwrap().tdx, p);
    }

    #[test]
    fn td_attribute_rules_fail_by_default_with_named_checks() {
        let with = |raw: u64, td15: bool| TdxClaims {
            td_attributes: TdAttributes {
                raw,
                ..claims().td_attributes
            },
            tee_tcb_svn2: td15.then(|| claims().tee_tcb_svn),
            ..claims()
        };
        let p = TdxPolicy::default();
        let sept = TD_ATTRIBUTE_SEPT_VE_DISABLE;
        assert!(failed(&with(sept, false), &p).is_empty());
        assert_eq!(failed(&with(0, false), &p), vec!["tdx.sept_ve_disable"]);
        assert_eq!(
            failed(&with(sept | TD_ATTRIBUTE_MIGRATABLE, false), &p),
            vec!["tdx.migratable"]
        );
        for bit in [1, 3, 7, 15, 23, 26, 32, 61] {
            assert_eq!(
                failed(&with(sept | (1 << bit), true), &p),
                vec!["tdx.td_attributes_reserved"],
                "bit {bit}"
            );
        }
        // Not reserved: DEBUG, the TUD profiling bits, SERVTD_EXT, PKS, KL, PERFMON.
        for bit in [0, 4, 5, 6, 16, 27, 30, 31, 62, 63] {
            assert_eq!(TD_ATTRIBUTES_RESERVED & (1 << bit), 0, "bit {bit}");
        }
        // SERVTD_EXT: only in a TD 1.5 body.
        let servtd = sept | TD_ATTRIBUTE_SERVTD_EXT;
        assert_eq!(failed(&with(servtd, false), &p), vec!["tdx.servtd_ext"]);
        assert!(failed(&with(servtd, true), &p).is_empty());
        // The explicit allowances.
        let lax = TdxPolicy {
            allow_migratable: true,
            allow_sept_ve: true,
            ..TdxPolicy::default()
        };
        assert!(failed(&with(TD_ATTRIBUTE_MIGRATABLE, false), &lax).is_empty());
        assert_eq!(
            failed(&with(1 << 2, false), &lax),
            vec!["tdx.td_attributes_reserved"]
        );
    }

    #[test]
    fn revocation_and_service_td() {
        let c = TdxClaims {
            revocation_checked: false,
            ..claims()
        };
        assert_eq!(failed(&c, &TdxPolicy::default()), vec!["tdx.revocation"]);
        let p = TdxPolicy {
            allow_unchecked_revocation: true,
            ..TdxPolicy::default()
        };
        assert!(failed(&c, &p).is_empty());
        let c = TdxClaims {
            tcb_evaluated: false,
            revocation_checked: false,
            tcb_status: TcbStatus::NotEvaluated,
            ..claims()
        };
        assert_eq!(failed(&c, &TdxPolicy::default()), vec!["tdx.tcb_status"]);
        let c = TdxClaims {
            mr_servicetd: Some(h(0, 48)),
            ..claims()
        };
        assert!(failed(&c, &TdxPolicy::default()).is_empty());
        let c = TdxClaims {
            mr_servicetd: Some(h(1, 48)),
            ..claims()
        };
        assert_eq!(failed(&c, &TdxPolicy::default()), vec!["tdx.mr_servicetd"]);
        let p = TdxPolicy {
            allow_service_td: true,
            ..TdxPolicy::default()
        };
        assert!(failed(&c, &p).is_empty());
    }

    #[test]
    fn registers_owner_svn_and_masks() {
        let p = TdxPolicy {
            allowed_rtmr0: vec![h(2, 48)],
            allowed_rtmr3: vec![h(9, 48), h(5, 48)],
            mr_owner: Some(h(7, 48)),
            mr_owner_config: Some(h(8, 48)),
            min_tee_tcb_svn: Some(HexBytes(vec![6, 1, 3])),
            xfam_mask: Some(0xff),
            xfam_value: 0xe7,
            attributes_mask: Some(1 | 1 << 28),
            attributes_value: 1 << 28,
            ..TdxPolicy::default()
        };
        assert!(failed(&claims(), &p).is_empty());
        let c = TdxClaims {
            rtmr0: h(0, 48),
            rtmr3: h(0, 48),
            mr_owner: h(0, 48),
            mr_owner_config: h(0, 48),
            tee_tcb_svn: HexBytes(vec![6, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            xfam: 0x3,
            ..claims()
        };
        let mut c = c;
        c.td_attributes.raw = 1 | 1 << 28; // DEBUG (SEPT_VE_DISABLE kept, so only the mask check fails)
        assert_eq!(
            failed(&c, &p),
            vec![
                "tdx.rtmr0",
                "tdx.rtmr3",
                "tdx.mr_owner",
                "tdx.mr_owner_config",
                "tdx.min_tee_tcb_svn",
                "tdx.xfam",
                "tdx.td_attributes"
            ]
        );
        // A minimum longer than the reported SVN never passes.
        let p = TdxPolicy {
            min_tee_tcb_svn: Some(h(0, 17)),
            ..TdxPolicy::default()
        };
        assert_eq!(failed(&claims(), &p), vec!["tdx.min_tee_tcb_svn"]);
    }

    #[test]
    fn finding15_grace_only_for_out_of_date_and_fails_closed() {
        let day = |s: &str| parse_policy_date(s).unwrap();
        let ood = |newer: Vec<TdxTcbLevel>| TdxClaims {
            tcb_status: TcbStatus::OutOfDate,
            newer_tcb_levels: newer,
            ..claims()
        };
        let newer = vec![TdxTcbLevel::new(
            "platform",
            day("2025-01-01"),
            TcbStatus::UpToDate,
        )];
        let p = TdxPolicy::default().out_of_date_grace_days(14);
        // at() is 2025-01-15: 14 days after the newer level is the end.
        assert_eq!(failed(&ood(newer.clone()), &p), vec!["tdx.tcb_status"]);
        let p = TdxPolicy::default().out_of_date_grace_days(15);
        assert!(failed(&ood(newer.clone()), &p).is_empty());
        // Without a dated newer level the grace cannot apply.
        let mut a = Appraisal::default();
        appraise(&ood(Vec::new()), &p, at(), &mut a);
        assert_eq!(a.failed().count(), 1);
        assert!(a.checks[0].detail.contains("cannot be applied"), "{a:?}");
        // Other statuses are decided by accepted_tcb_statuses alone.
        let c = TdxClaims {
            tcb_status: TcbStatus::OutOfDateConfigurationNeeded,
            ..ood(newer.clone())
        };
        assert_eq!(failed(&c, &p), vec!["tdx.tcb_status"]);
        // With the grace set, OutOfDate in the list no longer bypasses it.
        let p = TdxPolicy::default()
            .accept_tcb_status(TcbStatus::OutOfDate)
            .out_of_date_grace_days(1);
        assert_eq!(failed(&ood(newer), &p), vec!["tdx.tcb_status"]);
        // Dates: a day or a timestamp; anything else is a parse error.
        assert_eq!(day("2024-03-13"), day("2024-03-13T00:00:00Z"));
        assert!(parse_policy_date("2024-3-13").is_err());
        let p = TdxPolicy::default().min_tcb_date(day("2024-03-14"));
        assert_eq!(failed(&claims(), &p), vec!["tdx.min_tcb_date"]);
        let not_evaluated = TdxClaims {
            tcb_date: None,
            ..claims()
        };
        let p = TdxPolicy::default().min_tcb_date(day("2000-01-01"));
        assert_eq!(failed(&not_evaluated, &p), vec!["tdx.min_tcb_date"]);
    }

    #[test]
    fn policy_toml_section() {
        let p: crate::Policy = crate::Policy::from_toml(
            "[tdx]\naccepted_tcb_statuses = [\"UpToDate\", \"SWHardeningNeeded\"]\nallow_service_td = true\nxfam_mask = 255\nxfam_value = 231\n",
        )
        .unwrap();
        assert!(p.tdx.allow_service_td);
        assert_eq!(p.tdx.xfam_mask, Some(255));
        assert!(crate::Policy::from_toml("[tdx]\nunknown_key = 1\n").is_err());
    }
}
