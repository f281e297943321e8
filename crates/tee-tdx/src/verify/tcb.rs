//! The TCB evaluator: Intel's TCB info and QE identity structures and the
//! matching rules of Intel's QVL (as `dcap-qvl` 0.7.1 implements them;
//! `tests_cache.rs` compares the verdicts with `dcap-qvl` on every vector
//! and several hundred negatives).
//!
//! Used by both paths of [`crate::TdxVerifier`]: the full verification (the
//! collateral was just authenticated) and the steady state (the collateral
//! was authenticated earlier and cached). Failures are typed
//! [`tee_core::Error`]s; "no matching TCB level" is a verdict, not an error.

use serde::Deserialize;
use tee_core::platforms::TdxTcbLevel;
use tee_core::{Authenticity, Error, Result, TcbStatus, UnixTime};

use crate::quote::Quote;

/// Intel's TCB status names, as they appear in TCB info and QE identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum Status {
    UpToDate,
    OutOfDateConfigurationNeeded,
    OutOfDate,
    ConfigurationAndSWHardeningNeeded,
    ConfigurationNeeded,
    SWHardeningNeeded,
    Revoked,
    TDRelaunchAdvised,
    TDRelaunchAdvisedConfigurationNeeded,
}

impl Status {
    /// The claims status. TD 1.5 "relaunch advised" statuses are reported
    /// as the corresponding out-of-date status (fail closed).
    pub(crate) fn to_core(self) -> TcbStatus {
        match self {
            Self::UpToDate => TcbStatus::UpToDate,
            Self::OutOfDateConfigurationNeeded | Self::TDRelaunchAdvisedConfigurationNeeded => {
                TcbStatus::OutOfDateConfigurationNeeded
            }
            Self::OutOfDate | Self::TDRelaunchAdvised => TcbStatus::OutOfDate,
            Self::ConfigurationAndSWHardeningNeeded => TcbStatus::ConfigurationAndSwHardeningNeeded,
            Self::ConfigurationNeeded => TcbStatus::ConfigurationNeeded,
            Self::SWHardeningNeeded => TcbStatus::SwHardeningNeeded,
            Self::Revoked => TcbStatus::Revoked,
        }
    }

    /// `converge_with_component`: a component's status applied to a platform status.
    fn converge(self, component: Status) -> Status {
        use Status::*;
        match (component, self) {
            (Revoked, _) => Revoked,
            (OutOfDate, UpToDate | SWHardeningNeeded) => OutOfDate,
            (OutOfDate, ConfigurationNeeded | ConfigurationAndSWHardeningNeeded) => {
                OutOfDateConfigurationNeeded
            }
            _ => self,
        }
    }

    /// `check_for_relaunch`: the launch status given the current (TD 1.5) one.
    fn relaunch(self, current: Status) -> Status {
        use Status::*;
        let config = |s| {
            matches!(
                s,
                ConfigurationNeeded
                    | OutOfDateConfigurationNeeded
                    | ConfigurationAndSWHardeningNeeded
                    | TDRelaunchAdvisedConfigurationNeeded
            )
        };
        match (self, current) {
            (
                OutOfDate | OutOfDateConfigurationNeeded,
                UpToDate
                | SWHardeningNeeded
                | ConfigurationNeeded
                | ConfigurationAndSWHardeningNeeded,
            ) => {
                if config(self) || config(current) {
                    TDRelaunchAdvisedConfigurationNeeded
                } else {
                    TDRelaunchAdvised
                }
            }
            _ => self,
        }
    }
}

/// TCB statuses Intel QVL accepts in each structure.
const TCB_INFO_STATUSES: &[Status] = &[
    Status::UpToDate,
    Status::OutOfDate,
    Status::ConfigurationNeeded,
    Status::Revoked,
    Status::OutOfDateConfigurationNeeded,
    Status::SWHardeningNeeded,
    Status::ConfigurationAndSWHardeningNeeded,
];
const TDX_MODULE_STATUSES: &[Status] = &[Status::UpToDate, Status::OutOfDate, Status::Revoked];
const QE_IDENTITY_STATUSES: &[Status] = &[
    Status::UpToDate,
    Status::OutOfDate,
    Status::ConfigurationNeeded,
    Status::Revoked,
    Status::OutOfDateConfigurationNeeded,
];

fn ensure_valid(status: Status, valid: &[Status], what: &'static str) -> Result<()> {
    if valid.contains(&status) {
        Ok(())
    } else {
        Err(Authenticity::Mismatch {
            what,
            detail: format!("TCB status {status:?} is not valid there"),
        }
        .into())
    }
}

/// Intel's TCB info (`tcbInfo` of the PCS response), version 3 for TDX.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TcbInfo {
    pub(crate) id: String,
    pub(crate) version: u8,
    pub(crate) issue_date: String,
    pub(crate) next_update: String,
    pub(crate) fmspc: String,
    pub(crate) pce_id: String,
    #[allow(dead_code)]
    pub(crate) tcb_type: u32,
    pub(crate) tcb_evaluation_data_number: u32,
    pub(crate) tcb_levels: Vec<TcbLevel>,
    #[serde(default)]
    pub(crate) tdx_module: Option<TdxModule>,
    #[serde(rename = "tdxModuleIdentities", default)]
    pub(crate) tdx_module_identities: Vec<TdxModuleIdentity>,
}

/// One platform TCB level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TcbLevel {
    pub(crate) tcb: Tcb,
    pub(crate) tcb_date: String,
    pub(crate) tcb_status: Status,
    #[serde(rename = "advisoryIDs", default)]
    pub(crate) advisory_ids: Vec<String>,
}

/// The component SVNs of a level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct Tcb {
    #[serde(rename = "sgxtcbcomponents")]
    pub(crate) sgx_components: Vec<Component>,
    #[serde(rename = "tdxtcbcomponents", default)]
    pub(crate) tdx_components: Vec<Component>,
    #[serde(rename = "pcesvn")]
    pub(crate) pce_svn: u16,
}

/// One component SVN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct Component {
    pub(crate) svn: u8,
}

/// The TDX module's signer and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TdxModule {
    pub(crate) mrsigner: String,
    pub(crate) attributes: String,
    pub(crate) attributes_mask: String,
}

/// A TDX module identity (`TDX_<version>`) with its own levels.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TdxModuleIdentity {
    pub(crate) id: String,
    pub(crate) mrsigner: String,
    pub(crate) attributes: String,
    pub(crate) attributes_mask: String,
    pub(crate) tcb_levels: Vec<TdxModuleTcbLevel>,
}

/// A TDX module TCB level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TdxModuleTcbLevel {
    pub(crate) tcb: IsvSvn<u8>,
    pub(crate) tcb_date: String,
    pub(crate) tcb_status: Status,
    #[serde(rename = "advisoryIDs", default)]
    pub(crate) advisory_ids: Vec<String>,
}

/// `{"isvsvn": n}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct IsvSvn<T> {
    pub(crate) isvsvn: T,
}

/// Intel's QE identity (`enclaveIdentity` of the PCS response).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QeIdentity {
    pub(crate) id: String,
    pub(crate) version: u8,
    pub(crate) issue_date: String,
    pub(crate) next_update: String,
    pub(crate) tcb_evaluation_data_number: u32,
    #[serde(with = "hex_array")]
    pub(crate) miscselect: [u8; 4],
    #[serde(rename = "miscselectMask", with = "hex_array")]
    pub(crate) miscselect_mask: [u8; 4],
    #[serde(with = "hex_array")]
    pub(crate) attributes: [u8; 16],
    #[serde(rename = "attributesMask", with = "hex_array")]
    pub(crate) attributes_mask: [u8; 16],
    #[serde(with = "hex_array")]
    pub(crate) mrsigner: [u8; 32],
    pub(crate) isvprodid: u16,
    pub(crate) tcb_levels: Vec<QeTcbLevel>,
}

/// A QE identity TCB level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QeTcbLevel {
    pub(crate) tcb: IsvSvn<u16>,
    pub(crate) tcb_date: String,
    pub(crate) tcb_status: Status,
    #[serde(rename = "advisoryIDs", default)]
    pub(crate) advisory_ids: Vec<String>,
}

mod hex_array {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let t = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let v = hex::decode(t.as_bytes()).map_err(serde::de::Error::custom)?;
        <[u8; N]>::try_from(v.as_slice())
            .map_err(|_| serde::de::Error::custom(format_args!("expected {N} bytes")))
    }
}

impl TcbInfo {
    /// Parse the signed TCB info JSON, with its levels in matching order.
    /// Every date must parse (issue/nextUpdate and every level's tcbDate).
    pub(crate) fn parse(json: &str) -> Result<Self> {
        let mut t: Self = serde_json::from_str(json).map_err(|e| Error::encoding("TCB info", e))?;
        let dates = [t.issue_date.as_str(), t.next_update.as_str()]
            .into_iter()
            .chain(t.tcb_levels.iter().map(|l| l.tcb_date.as_str()))
            .chain(
                t.tdx_module_identities
                    .iter()
                    .flat_map(|m| m.tcb_levels.iter().map(|l| l.tcb_date.as_str())),
            );
        for d in dates {
            UnixTime::parse_rfc3339(d)?;
        }
        t.canonicalize();
        Ok(t)
    }

    /// Intel QVL matches levels in this order, independent of the JSON order.
    fn canonicalize(&mut self) {
        let is_tdx = self.version >= 3 && self.id == "TDX";
        self.tcb_levels.sort_by(|a, b| {
            b.tcb
                .sgx_components
                .cmp(&a.tcb.sgx_components)
                .then_with(|| b.tcb.pce_svn.cmp(&a.tcb.pce_svn))
                .then_with(|| {
                    if is_tdx {
                        b.tcb.tdx_components.cmp(&a.tcb.tdx_components)
                    } else {
                        core::cmp::Ordering::Equal
                    }
                })
        });
    }

    /// The FMSPC the TCB info is for.
    pub(crate) fn fmspc_bytes(&self) -> Result<[u8; 6]> {
        let v = hex::decode(&self.fmspc).map_err(|e| Error::encoding("TCB info fmspc", e))?;
        <[u8; 6]>::try_from(v.as_slice())
            .map_err(|_| Error::bad_field("TCB info", "fmspc", "not 6 bytes"))
    }

    /// The module identity for the module version in `tee_tcb_svn[1]`
    /// (`None` for version 0).
    fn module_identity(&self, tee_tcb_svn: &[u8; 16]) -> Result<Option<&TdxModuleIdentity>> {
        let version = tee_tcb_svn[1];
        if version == 0 {
            return Ok(None);
        }
        let wanted = format!("TDX_{version:02X}");
        self.tdx_module_identities
            .iter()
            .find(|m| m.id.eq_ignore_ascii_case(&wanted))
            .map(Some)
            .ok_or_else(|| {
                Authenticity::Mismatch {
                    what: "TDX module identity",
                    detail: format!("no TDX module identity {wanted} in the TCB info"),
                }
                .into()
            })
    }
}

impl QeIdentity {
    /// Parse the signed QE identity JSON (its dates must parse).
    pub(crate) fn parse(json: &str) -> Result<Self> {
        let q: Self = serde_json::from_str(json).map_err(|e| Error::encoding("QE identity", e))?;
        for d in [q.issue_date.as_str(), q.next_update.as_str()]
            .into_iter()
            .chain(q.tcb_levels.iter().map(|l| l.tcb_date.as_str()))
        {
            UnixTime::parse_rfc3339(d)?;
        }
        Ok(q)
    }

    /// A TDX quote needs the TD QE's identity (`TD_QE`, version 2 or 3).
    /// The error names what was given (Intel's SGX QE identity `QE`, the
    /// QVE's `QVE`, or another id) and what was expected.
    pub(crate) fn check_is_td_qe(&self) -> Result<()> {
        if self.id == "TD_QE" && [2, 3].contains(&self.version) {
            return Ok(());
        }
        let given = match self.id.as_str() {
            "QE" => format!("an SGX QE identity (id QE, version {})", self.version),
            "QVE" => format!(
                "an SGX quote verification enclave identity (id QVE, version {})",
                self.version
            ),
            "TD_QE" => format!("a TD_QE identity of unsupported version {}", self.version),
            other => format!("an identity with id {other:?} version {}", self.version),
        };
        Err(Authenticity::Mismatch {
            what: "QE identity",
            detail: format!(
                "the collateral's QE identity is {given}; a TDX quote needs a TD_QE identity (id TD_QE, version 2 or 3)"
            ),
        }
        .into())
    }
}

/// The platform values of the PCK certificate that the evaluation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Platform {
    pub(crate) fmspc: [u8; 6],
    pub(crate) cpu_svn: [u8; 16],
    pub(crate) pce_svn: u16,
    /// The PCE-ID of the PCK certificate (compared with the TCB info's `pceId`).
    pub(crate) pce_id: [u8; 2],
}

/// The result of a TCB evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evaluated {
    /// The status (`NoMatchingTcbLevel` when no level matches).
    pub(crate) status: TcbStatus,
    pub(crate) advisory_ids: Vec<String>,
    /// The matched platform level's `tcbDate` (launch TCB).
    pub(crate) tcb_date: Option<UnixTime>,
    /// The matched TDX module level's `tcbDate`.
    pub(crate) module_tcb_date: Option<UnixTime>,
    /// The newer levels (platform, module, QE), closest first.
    pub(crate) newer: Vec<TdxTcbLevel>,
    /// `tcbEvaluationDataNumber` of the TCB info and the QE identity.
    pub(crate) evaluation_data_numbers: (u32, u32),
    /// The TCB info's `issueDate`.
    pub(crate) tcb_info_issue_date: Option<UnixTime>,
}

fn date(s: &str) -> Option<UnixTime> {
    UnixTime::parse_rfc3339(s).ok()
}

/// The components of `t` the platform is short of.
fn short_of(t: &Tcb, p: &Platform, tee_tcb_svn: &[u8; 16]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (have, need)) in p.cpu_svn.iter().zip(&t.sgx_components).enumerate() {
        if *have < need.svn {
            out.push(format!("sgxtcbcomponents[{i}] {have} < {}", need.svn));
        }
    }
    if p.pce_svn < t.pce_svn {
        out.push(format!("pcesvn {} < {}", p.pce_svn, t.pce_svn));
    }
    let skip = if tee_tcb_svn[1] > 0 { 2 } else { 0 };
    for (i, (have, need)) in tee_tcb_svn
        .iter()
        .zip(&t.tdx_components)
        .enumerate()
        .skip(skip)
    {
        if *have < need.svn {
            out.push(format!(
                "tdxtcbcomponents[{i}] (tee_tcb_svn[{i}]) {have} < {}",
                need.svn
            ));
        }
    }
    out
}

/// The levels newer than the matched ones, closest first: platform levels
/// above the matched one (all of them when none matched), TDX module
/// levels above the matched one, QE identity levels above the matched one.
fn newer_levels(
    info: &TcbInfo,
    qe_identity: &QeIdentity,
    q: &Quote,
    p: &Platform,
    matched: Option<usize>,
) -> Vec<TdxTcbLevel> {
    let svn = &q.body.tee_tcb_svn;
    let mut out = Vec::new();
    let above = matched.unwrap_or(info.tcb_levels.len());
    for l in info.tcb_levels.iter().take(above).rev() {
        if let Some(d) = date(&l.tcb_date) {
            out.push(
                TdxTcbLevel::new("platform", d, l.tcb_status.to_core())
                    .with_short(short_of(&l.tcb, p, svn)),
            );
        }
    }
    if let Ok(Some(m)) = info.module_identity(svn) {
        let at = m
            .tcb_levels
            .iter()
            .position(|l| svn[0] >= l.tcb.isvsvn)
            .unwrap_or(m.tcb_levels.len());
        for l in m.tcb_levels.iter().take(at).rev() {
            if let Some(d) = date(&l.tcb_date) {
                out.push(
                    TdxTcbLevel::new("tdx_module", d, l.tcb_status.to_core()).with_short(vec![
                        format!(
                            "TDX module ISVSVN (tee_tcb_svn[0]) {} < {}",
                            svn[0], l.tcb.isvsvn
                        ),
                    ]),
                );
            }
        }
    }
    let isv = q.qe.qe_report.isv_svn;
    let at = qe_identity
        .tcb_levels
        .iter()
        .position(|l| isv >= l.tcb.isvsvn)
        .unwrap_or(qe_identity.tcb_levels.len());
    for l in qe_identity.tcb_levels.iter().take(at).rev() {
        if let Some(d) = date(&l.tcb_date) {
            out.push(
                TdxTcbLevel::new("qe", d, l.tcb_status.to_core())
                    .with_short(vec![format!("QE ISVSVN {isv} < {}", l.tcb.isvsvn)]),
            );
        }
    }
    out
}

fn qe_mismatch(detail: String) -> Error {
    Authenticity::Mismatch {
        what: "QE identity",
        detail,
    }
    .into()
}

/// The QE report against the QE identity: the matching QE TCB level.
fn qe_level<'a>(q: &Quote, id: &'a QeIdentity) -> Result<&'a QeTcbLevel> {
    let r = &q.qe.qe_report;
    if r.mr_signer != id.mrsigner {
        return Err(qe_mismatch(format!(
            "QE MRSIGNER {} differs from the QE identity's {}",
            hex::encode_upper(r.mr_signer),
            hex::encode_upper(id.mrsigner)
        )));
    }
    if r.attributes[0] & 0x02 != 0 {
        return Err(Authenticity::Mismatch {
            what: "QE report attributes",
            detail: "the quoting enclave runs in debug mode".into(),
        }
        .into());
    }
    if r.isv_prod_id != id.isvprodid {
        return Err(qe_mismatch(format!(
            "QE ISVPRODID {} differs from the QE identity's {}",
            r.isv_prod_id, id.isvprodid
        )));
    }
    let want = u32::from_le_bytes(id.miscselect);
    let mask = u32::from_le_bytes(id.miscselect_mask);
    if r.misc_select & mask != want & mask {
        return Err(qe_mismatch(format!(
            "QE MISCSELECT {:#010x} differs from the QE identity's {want:#010x} under mask {mask:#010x}",
            r.misc_select
        )));
    }
    let attrs_ok = id
        .attributes
        .iter()
        .zip(&id.attributes_mask)
        .zip(&r.attributes)
        .all(|((e, m), a)| e & m == a & m);
    if !attrs_ok {
        return Err(qe_mismatch(format!(
            "QE ATTRIBUTES {} differ from the QE identity's {} under mask {}",
            hex::encode_upper(r.attributes),
            hex::encode_upper(id.attributes),
            hex::encode_upper(id.attributes_mask)
        )));
    }
    let level = id
        .tcb_levels
        .iter()
        .find(|l| r.isv_svn >= l.tcb.isvsvn)
        .ok_or_else(|| {
            qe_mismatch(format!(
                "QE ISVSVN {} is below every QE identity TCB level (lowest {})",
                r.isv_svn,
                id.tcb_levels
                    .iter()
                    .map(|l| l.tcb.isvsvn)
                    .min()
                    .unwrap_or(0)
            ))
        })?;
    ensure_valid(level.tcb_status, QE_IDENTITY_STATUSES, "QE identity")?;
    Ok(level)
}

/// Whether `level` is met by the platform (every component SVN at least
/// the level's; the first two TDX components skipped when a module version
/// is set, as the module identity covers them).
fn level_met(level: &TcbLevel, p: &Platform, tee_tcb_svn: &[u8; 16]) -> Result<bool> {
    let t = &level.tcb;
    if t.sgx_components.len() != p.cpu_svn.len() || t.tdx_components.len() != tee_tcb_svn.len() {
        return Err(Error::bad_field(
            "TCB info",
            "tcbLevels",
            "a level does not have 16 SGX and 16 TDX components",
        ));
    }
    let sgx = p
        .cpu_svn
        .iter()
        .zip(&t.sgx_components)
        .all(|(have, need)| *have >= need.svn);
    let skip = if tee_tcb_svn[1] > 0 { 2 } else { 0 };
    let tdx = tee_tcb_svn
        .iter()
        .zip(&t.tdx_components)
        .skip(skip)
        .all(|(have, need)| *have >= need.svn);
    Ok(sgx && p.pce_svn >= t.pce_svn && tdx)
}

/// What one TCB (launch or current) matched.
struct Matched {
    status: Status,
    advisories: Vec<String>,
    /// Index of the platform level in (canonical) matching order.
    index: usize,
    module_date: Option<String>,
}

/// The platform level converged with the module level, or `None` (no match).
fn tdx_tcb(info: &TcbInfo, p: &Platform, tee_tcb_svn: &[u8; 16]) -> Result<Option<Matched>> {
    let mut found = None;
    for (i, l) in info.tcb_levels.iter().enumerate() {
        if level_met(l, p, tee_tcb_svn)? {
            found = Some((i, l));
            break;
        }
    }
    let Some((index, level)) = found else {
        return Ok(None);
    };
    ensure_valid(level.tcb_status, TCB_INFO_STATUSES, "TCB info")?;
    let mut status = level.tcb_status;
    let mut advisories = level.advisory_ids.clone();
    let mut module_date = None;
    if let Some(identity) = info.module_identity(tee_tcb_svn)? {
        let m = identity
            .tcb_levels
            .iter()
            .find(|l| tee_tcb_svn[0] >= l.tcb.isvsvn)
            .ok_or_else(|| Authenticity::Mismatch {
                what: "TDX module identity",
                detail: format!(
                    "TDX module ISVSVN (tee_tcb_svn[0]) {} is below every TDX module TCB level of {} (lowest {})",
                    tee_tcb_svn[0],
                    identity.id,
                    identity.tcb_levels.iter().map(|l| l.tcb.isvsvn).min().unwrap_or(0)
                ),
            })?;
        ensure_valid(m.tcb_status, TDX_MODULE_STATUSES, "TDX module identity")?;
        status = status.converge(m.tcb_status);
        merge_advisories(&mut advisories, &m.advisory_ids);
        module_date = Some(m.tcb_date.clone());
    }
    Ok(Some(Matched {
        status,
        advisories,
        index,
        module_date,
    }))
}

fn merge_advisories(into: &mut Vec<String>, more: &[String]) {
    for a in more {
        if !into.contains(a) {
            into.push(a.clone());
        }
    }
}

fn hex_array<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N]> {
    let v = hex::decode(s).map_err(|e| Error::bad_field("TCB info", field, e))?;
    <[u8; N]>::try_from(v.as_slice())
        .map_err(|_| Error::bad_field("TCB info", field, format_args!("not {N} bytes")))
}

/// MRSIGNER_SEAM and SEAMATTRIBUTES against the TDX module (identity).
fn module_identity_matches(info: &TcbInfo, q: &Quote) -> Result<()> {
    let b = &q.body;
    let Some(base) = &info.tdx_module else {
        return Err(Error::bad_field("TCB info", "tdxModule", "missing"));
    };
    let (signer, attrs, mask) = match info.module_identity(&b.tee_tcb_svn)? {
        Some(id) => (&id.mrsigner, &id.attributes, &id.attributes_mask),
        None => (&base.mrsigner, &base.attributes, &base.attributes_mask),
    };
    let signer = hex_array::<48>(signer, "tdxModule mrsigner")?;
    let attrs = hex_array::<8>(attrs, "tdxModule attributes")?;
    let mask = hex_array::<8>(mask, "tdxModule attributesMask")?;
    let bad = |detail: String| -> Error {
        Authenticity::Mismatch {
            what: "TDX module identity",
            detail,
        }
        .into()
    };
    if b.mr_signer_seam != signer {
        return Err(Authenticity::Mismatch {
            what: "TDX module signer",
            detail: format!(
                "MRSIGNER_SEAM {} is not the TCB info's TDX module signer {}",
                hex::encode_upper(b.mr_signer_seam),
                hex::encode_upper(signer)
            ),
        }
        .into());
    }
    for ((e, m), a) in attrs
        .iter()
        .zip(&mask)
        .zip(&b.seam_attributes.to_le_bytes())
    {
        if e & m != a & m {
            return Err(bad(format!(
                "SEAMATTRIBUTES {:#018x} differ from the TCB info's {} under mask {}",
                b.seam_attributes,
                hex::encode_upper(attrs),
                hex::encode_upper(mask)
            )));
        }
        if a & !m != 0 {
            return Err(bad(format!(
                "SEAMATTRIBUTES {:#018x} has bits set outside the TCB info's mask {}",
                b.seam_attributes,
                hex::encode_upper(mask)
            )));
        }
    }
    Ok(())
}

/// The whole evaluation on authenticated collateral: QE auth data length,
/// QE identity, platform TCB level (with the TDX module identity, and for
/// TD 1.5 the current TCB too), convergence with the QE level, relaunch.
///
/// # Errors
/// A typed error for a QE or module identity mismatch, a `Revoked` TCB,
/// an FMSPC or TCB info type mismatch, or malformed collateral.
pub(crate) fn evaluate(
    q: &Quote,
    info: &TcbInfo,
    qe_identity: &QeIdentity,
    p: &Platform,
) -> Result<Evaluated> {
    if q.qe.qe_auth_data.len() != 32 {
        return Err(Authenticity::Mismatch {
            what: "QE report binding",
            detail: "QE authentication data is not 32 bytes".into(),
        }
        .into());
    }
    let qe = qe_level(q, qe_identity)?;
    let tcb_fmspc = info.fmspc_bytes()?;
    if p.fmspc != tcb_fmspc {
        return Err(super::fmspc_mismatch(p.fmspc, tcb_fmspc));
    }
    let pce_id = hex_array::<2>(&info.pce_id, "pceId")?;
    if p.pce_id != pce_id {
        return Err(Authenticity::Mismatch {
            what: "PCE-ID",
            detail: format!(
                "the PCK certificate's PCE-ID {} differs from the TCB info's pceId {}",
                hex::encode_upper(p.pce_id),
                hex::encode_upper(pce_id)
            ),
        }
        .into());
    }
    if info.version < 3 || info.id != "TDX" {
        return Err(Authenticity::Mismatch {
            what: "TCB info type",
            detail: format!(
                "TDX quote with {} version {} TCB info",
                info.id, info.version
            ),
        }
        .into());
    }
    let b = &q.body;
    let mut out = Evaluated {
        status: TcbStatus::NoMatchingTcbLevel,
        advisory_ids: Vec::new(),
        tcb_date: None,
        module_tcb_date: None,
        newer: Vec::new(),
        evaluation_data_numbers: (
            info.tcb_evaluation_data_number,
            qe_identity.tcb_evaluation_data_number,
        ),
        tcb_info_issue_date: date(&info.issue_date),
    };
    let Some(launch) = tdx_tcb(info, p, &b.tee_tcb_svn)? else {
        out.newer = newer_levels(info, qe_identity, q, p, None);
        return Ok(out);
    };
    module_identity_matches(info, q)?;
    out.newer = newer_levels(info, qe_identity, q, p, Some(launch.index));
    out.tcb_date = info
        .tcb_levels
        .get(launch.index)
        .and_then(|l| date(&l.tcb_date));
    out.module_tcb_date = launch.module_date.as_deref().and_then(date);
    let current = match b.tee_tcb_svn2 {
        None => None,
        Some(svn2) => match tdx_tcb(info, p, &svn2)? {
            None => return Ok(out),
            Some(c) => Some(c),
        },
    };
    let mut status = launch.status.converge(qe.tcb_status);
    let mut advisories = launch.advisories;
    merge_advisories(&mut advisories, &qe.advisory_ids);
    let current = current.map(|c| c.status.converge(qe.tcb_status));
    if status == Status::Revoked || current == Some(Status::Revoked) {
        return Err(Authenticity::Revoked {
            what: "platform TCB (TCB status Revoked)".into(),
        }
        .into());
    }
    if let Some(c) = current {
        status = status.relaunch(c);
    }
    out.status = status.to_core();
    out.advisory_ids = advisories;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Status::*;

    #[test]
    fn convergence_and_relaunch_match_intel() {
        for (platform, component, want) in [
            (UpToDate, OutOfDate, OutOfDate),
            (SWHardeningNeeded, OutOfDate, OutOfDate),
            (
                ConfigurationAndSWHardeningNeeded,
                OutOfDate,
                OutOfDateConfigurationNeeded,
            ),
            (ConfigurationNeeded, Revoked, Revoked),
            (UpToDate, ConfigurationNeeded, UpToDate),
            (SWHardeningNeeded, UpToDate, SWHardeningNeeded),
        ] {
            assert_eq!(platform.converge(component), want);
        }
        for (launch, current, want) in [
            (OutOfDate, UpToDate, TDRelaunchAdvised),
            (
                OutOfDate,
                ConfigurationNeeded,
                TDRelaunchAdvisedConfigurationNeeded,
            ),
            (
                OutOfDateConfigurationNeeded,
                UpToDate,
                TDRelaunchAdvisedConfigurationNeeded,
            ),
            (OutOfDate, OutOfDate, OutOfDate),
            (OutOfDate, Revoked, OutOfDate),
            (ConfigurationNeeded, UpToDate, ConfigurationNeeded),
        ] {
            assert_eq!(launch.relaunch(current), want);
        }
    }
}
