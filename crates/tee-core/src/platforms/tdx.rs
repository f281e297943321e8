//! Intel TDX raw claims and policy.

use serde::{Deserialize, Serialize};

use crate::appraisal::Appraisal;
use crate::bytes::HexBytes;
use crate::claims::TcbStatus;
use crate::time::UnixTime;

/// Decoded TD attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct TimeWindow {
    /// Start.
    pub not_before: UnixTime,
    /// End.
    pub not_after: UnixTime,
}

/// Raw claims of a verified TDX quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// TDX policy section (`[tdx]`). Defaults fail closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TdxPolicy {
    /// Accepted TCB statuses (default: only `UpToDate`).
    pub accepted_tcb_statuses: Vec<String>,
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
}

impl Default for TdxPolicy {
    fn default() -> Self {
        Self {
            accepted_tcb_statuses: vec!["UpToDate".into()],
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
        }
    }
}

pub(crate) fn appraise(c: &TdxClaims, p: &TdxPolicy, out: &mut Appraisal) {
    let accepted = p
        .accepted_tcb_statuses
        .iter()
        .any(|s| TcbStatus::from_name(s) == Some(c.tcb_status));
    out.check(
        "tdx.tcb_status",
        accepted,
        format!(
            "TCB status {} (accepted: {})",
            c.tcb_status.name(),
            p.accepted_tcb_statuses.join(", ")
        ),
    );
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
            out.skip(name, "no allowed values configured");
        } else {
            let have = [&c.rtmr0, &c.rtmr1, &c.rtmr2, &c.rtmr3][i];
            out.check(name, list.contains(have), format!("{have}"));
        }
    }
    match &p.mr_owner {
        None => out.skip("tdx.mr_owner", "no MROWNER configured"),
        Some(want) => out.check(
            "tdx.mr_owner",
            *want == c.mr_owner,
            format!("{}", c.mr_owner),
        ),
    }
    match &p.min_tee_tcb_svn {
        None => out.skip("tdx.min_tee_tcb_svn", "no minimum TEE TCB SVN configured"),
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
