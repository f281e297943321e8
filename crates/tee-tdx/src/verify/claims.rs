//! The claims of a verified quote.

use tee_core::claims::{Claim, TcbSummary};
use tee_core::evidence::format;
use tee_core::platforms::{CollateralOrigin, TdxClaims};
use tee_core::{
    Claims, HexBytes, Platform, PlatformClaims, RegisterValue, ReportData, Result, TcbStatus,
    TrustRoot, UnixTime,
};

use crate::quote::Quote;

use super::TcbOutcome;

/// The claims of `q`, with the TCB outcome. TD attributes are reported
/// as they are (raw and decoded); appraisal judges them
/// (`tee_core::platforms::TdxPolicy`).
pub(crate) fn build_claims(
    q: &Quote,
    fmspc: Option<[u8; 6]>,
    outcome: TcbOutcome,
    source: Option<CollateralOrigin>,
    at: UnixTime,
) -> Result<Claims> {
    let b = &q.body;
    let attrs = b.attributes();
    let fmspc = fmspc.map(|f| f.to_vec()).unwrap_or_default();
    let (e, window, revocation_checked) = match outcome {
        TcbOutcome::Evaluated {
            evaluated,
            window,
            revocation_checked,
        } => (Some(evaluated), Some(window), revocation_checked),
        TcbOutcome::NotEvaluated => (None, None, false),
    };
    let evaluated = e.is_some();
    let tcb_status = e.as_ref().map_or(TcbStatus::NotEvaluated, |e| e.status);
    let advisory_ids = e
        .as_ref()
        .map(|e| e.advisory_ids.clone())
        .unwrap_or_default();
    let h = |x: &[u8]| HexBytes(x.to_vec());
    let mut tdx = TdxClaims::new(q.header.version, tcb_status);
    tdx.advisory_ids = advisory_ids.clone();
    if let Some(e) = e {
        tdx.collateral_source = source;
        tdx.tcb_evaluation_data_number = Some(e.evaluation_data_numbers.0);
        tdx.qe_tcb_evaluation_data_number = Some(e.evaluation_data_numbers.1);
        tdx.tcb_info_issue_date = e.tcb_info_issue_date;
        tdx.tcb_date = e.tcb_date;
        tdx.tdx_module_tcb_date = e.module_tcb_date;
        tdx.newer_tcb_levels = e.newer;
    }
    tdx.fmspc = HexBytes(fmspc);
    tdx.mr_td = h(&b.mr_td);
    tdx.rtmr0 = h(&b.rtmr[0]);
    tdx.rtmr1 = h(&b.rtmr[1]);
    tdx.rtmr2 = h(&b.rtmr[2]);
    tdx.rtmr3 = h(&b.rtmr[3]);
    tdx.mr_config_id = h(&b.mr_config_id);
    tdx.mr_owner = h(&b.mr_owner);
    tdx.mr_owner_config = h(&b.mr_owner_config);
    tdx.mr_seam = h(&b.mr_seam);
    tdx.mr_signer_seam = h(&b.mr_signer_seam);
    tdx.report_data = h(&b.report_data);
    tdx.td_attributes = attrs;
    tdx.xfam = b.xfam;
    tdx.tee_tcb_svn = h(&b.tee_tcb_svn);
    tdx.tee_tcb_svn2 = b.tee_tcb_svn2.map(|x| h(&x));
    tdx.mr_servicetd = b.mr_servicetd.map(|x| h(&x));
    tdx.collateral_window = window;
    tdx.tcb_evaluated = evaluated;
    tdx.revocation_checked = revocation_checked;
    let mut c = Claims::new(
        Platform::Tdx,
        format::TDX_QUOTE,
        TrustRoot::Hardware {
            vendor: "Intel".into(),
        },
        ReportData::new(b.report_data),
        // Any "TD under debug" bit (DEBUG and the HGS+/PERF/PMT profiling
        // bits of the TUD byte) makes the TD debug for appraisal, as Intel's
        // QVL policy treats them.
        b.td_attributes & 0xff != 0,
        at,
        PlatformClaims::Tdx(tdx),
    );
    c.launch_measurement = Claim::Value(h(&b.mr_td));
    c.host_data = Claim::Value(h(&b.mr_config_id));
    c.runtime_registers = Claim::Value(
        b.rtmr
            .iter()
            .enumerate()
            .map(|(i, r)| RegisterValue::new(i as u32, h(r)))
            .collect(),
    );
    let mut svns = std::collections::BTreeMap::new();
    for (i, v) in b.tee_tcb_svn.iter().enumerate() {
        svns.insert(format!("tee_tcb_svn[{i}]"), u64::from(*v));
    }
    c.tcb = Claim::Value(TcbSummary::new(tcb_status, svns, advisory_ids));
    Ok(c)
}
