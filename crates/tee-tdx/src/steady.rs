//! The per-quote part of `dcap-qvl` 0.7.1's `verify_impl` (steps 5, 6, 8–10
//! and the TD attribute checks), run on collateral that was already verified
//! and cached ([`crate::cache::Entry`]).
//!
//! `dcap-qvl` keeps these steps private, so they are re-implemented here
//! line by line after its source (`src/verify.rs`, `src/tcb_info.rs`) with
//! the same error texts, which go through the same
//! [`crate::verify::map_dcap_error`] as `dcap-qvl`'s own errors. The test
//! `steady_state_matches_full_verification_on_every_vector` checks that the
//! verdicts are identical to the uncached path on every vector and negative.

use dcap_qvl::quote::TDAttributes;
use dcap_qvl::{QeIdentity, QeTcbLevel, TcbInfo, TcbLevel, TcbStatus, TcbStatusWithAdvisory};

use crate::quote::Quote;

/// A `dcap-qvl`-style failure: the message (with its context chain, as
/// `{:#}` prints it).
pub(crate) type Step<T> = Result<T, String>;

/// TCB statuses Intel QVL accepts in each collateral structure.
const TCB_INFO_STATUSES: &[TcbStatus] = &[
    TcbStatus::UpToDate,
    TcbStatus::OutOfDate,
    TcbStatus::ConfigurationNeeded,
    TcbStatus::Revoked,
    TcbStatus::OutOfDateConfigurationNeeded,
    TcbStatus::SWHardeningNeeded,
    TcbStatus::ConfigurationAndSWHardeningNeeded,
];
const TDX_MODULE_STATUSES: &[TcbStatus] = &[
    TcbStatus::UpToDate,
    TcbStatus::OutOfDate,
    TcbStatus::Revoked,
];
const QE_IDENTITY_STATUSES: &[TcbStatus] = &[
    TcbStatus::UpToDate,
    TcbStatus::OutOfDate,
    TcbStatus::ConfigurationNeeded,
    TcbStatus::Revoked,
    TcbStatus::OutOfDateConfigurationNeeded,
];

fn ensure_valid_status(status: TcbStatus, valid: &[TcbStatus], structure: &str) -> Step<()> {
    if valid.contains(&status) {
        Ok(())
    } else {
        Err(format!("Unrecognized TCB status {status} in {structure}"))
    }
}

/// `TcbInfo::canonicalize_tcb_levels` (crate-private in `dcap-qvl`): the
/// order Intel QVL matches levels in, independent of the JSON order.
pub(crate) fn canonicalize_tcb_levels(t: &mut TcbInfo) {
    let is_tdx = t.version >= 3 && t.id == "TDX";
    t.tcb_levels.sort_by(|a, b| {
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

/// `TcbStatus::converge_with_component` (crate-private in `dcap-qvl`).
fn converge_with_component(platform: TcbStatus, component: TcbStatus) -> TcbStatus {
    use TcbStatus::*;
    match (component, platform) {
        (Revoked, _) => Revoked,
        (OutOfDate, UpToDate | SWHardeningNeeded) => OutOfDate,
        (OutOfDate, ConfigurationNeeded | ConfigurationAndSWHardeningNeeded) => {
            OutOfDateConfigurationNeeded
        }
        _ => platform,
    }
}

/// `TcbStatus::check_for_relaunch` (crate-private in `dcap-qvl`).
fn check_for_relaunch(launch: TcbStatus, current: TcbStatus) -> TcbStatus {
    use TcbStatus::*;
    let configuration_needed = |s| {
        matches!(
            s,
            ConfigurationNeeded
                | OutOfDateConfigurationNeeded
                | ConfigurationAndSWHardeningNeeded
                | TDRelaunchAdvisedConfigurationNeeded
        )
    };
    match (launch, current) {
        (
            OutOfDate | OutOfDateConfigurationNeeded,
            UpToDate | SWHardeningNeeded | ConfigurationNeeded | ConfigurationAndSWHardeningNeeded,
        ) => {
            if configuration_needed(launch) || configuration_needed(current) {
                TDRelaunchAdvisedConfigurationNeeded
            } else {
                TDRelaunchAdvised
            }
        }
        _ => launch,
    }
}

/// Step 5 (the part our own binding check does not cover): the QE
/// authentication data must be exactly 32 bytes.
pub(crate) fn qe_auth_data_len(q: &Quote) -> Step<()> {
    if q.qe.qe_auth_data.len() != 32 {
        return Err("Invalid QE auth data length".into());
    }
    Ok(())
}

/// Step 6 and 9: the QE report against the QE identity.
pub(crate) fn qe_identity_policy(q: &Quote, qe_identity: &QeIdentity) -> Step<QeTcbLevel> {
    let r = &q.qe.qe_report;
    if r.mr_signer != qe_identity.mrsigner {
        return Err(format!(
            "QE MRSIGNER mismatch: expected {}, got {}",
            hex::encode_upper(qe_identity.mrsigner),
            hex::encode_upper(r.mr_signer)
        ));
    }
    if r.attributes[0] & 0x02 != 0 {
        return Err("QE report validation failed: Debug mode is enabled".into());
    }
    if r.isv_prod_id != qe_identity.isvprodid {
        return Err(format!(
            "QE ISVPRODID mismatch: expected {}, got {}",
            qe_identity.isvprodid, r.isv_prod_id
        ));
    }
    let expected = u32::from_le_bytes(qe_identity.miscselect);
    let mask = u32::from_le_bytes(qe_identity.miscselect_mask);
    if r.misc_select & mask != expected & mask {
        return Err(format!(
            "QE MISCSELECT mismatch: expected {:08X} (masked), got {:08X} (masked)",
            expected & mask,
            r.misc_select & mask
        ));
    }
    for (i, ((e, m), a)) in qe_identity
        .attributes
        .iter()
        .zip(qe_identity.attributes_mask.iter())
        .zip(r.attributes.iter())
        .enumerate()
    {
        if e & m != a & m {
            return Err(format!(
                "QE ATTRIBUTES mismatch at byte {i}: expected {:02X} (masked), got {:02X} (masked)",
                e & m,
                a & m
            ));
        }
    }
    for level in &qe_identity.tcb_levels {
        if r.isv_svn >= level.tcb.isvsvn {
            ensure_valid_status(level.tcb_status, QE_IDENTITY_STATUSES, "QE Identity")?;
            return Ok(level.clone());
        }
    }
    match qe_identity.tcb_levels.last().map(|l| l.tcb.isvsvn) {
        Some(min) => Err(format!(
            "QE ISVSVN {} is below minimum required {min} from QE Identity",
            r.isv_svn
        )),
        None => Err("No TCB levels found in QE Identity".into()),
    }
}

fn find_tcb_level<'a>(
    tcb_info: &'a TcbInfo,
    cpu_svn: &[u8; 16],
    pce_svn: u16,
    tee_tcb_svn: &[u8; 16],
) -> Step<&'a TcbLevel> {
    for level in &tcb_info.tcb_levels {
        if level
            .shortfalls(cpu_svn, pce_svn, Some(tee_tcb_svn))
            .map_err(|e| format!("{e:#}"))?
            .is_empty()
        {
            ensure_valid_status(level.tcb_status, TCB_INFO_STATUSES, "TCB Info")?;
            return Ok(level);
        }
    }
    Err("No matching TCB level found".into())
}

/// `evaluate_tdx_tcb`: platform level converged with the module level.
fn evaluate_tdx_tcb(
    tcb_info: &TcbInfo,
    cpu_svn: &[u8; 16],
    pce_svn: u16,
    tee_tcb_svn: &[u8; 16],
) -> Step<(TcbStatus, Vec<String>)> {
    let level = find_tcb_level(tcb_info, cpu_svn, pce_svn, tee_tcb_svn)?;
    let mut status = level.tcb_status;
    let mut advisory_ids = level.advisory_ids.clone();
    let module = (|| -> Step<Option<&dcap_qvl::tcb_info::TdxModuleTcbLevel>> {
        let Some(identity) = tcb_info
            .tdx_module_identity(tee_tcb_svn)
            .map_err(|e| format!("{e:#}"))?
        else {
            return Ok(None);
        };
        let l = identity
            .tcb_levels
            .iter()
            .find(|l| l.shortfall(tee_tcb_svn).is_none())
            .ok_or_else(|| {
                format!(
                    "TDX module ISVSVN {} is below minimum required from TDX module TCB levels",
                    tee_tcb_svn[0]
                )
            })?;
        ensure_valid_status(l.tcb_status, TDX_MODULE_STATUSES, "TDX module identity")?;
        Ok(Some(l))
    })()
    .map_err(|e| format!("TDX module TCB level check: {e}"))?;
    let Some(module) = module else {
        return Ok((status, advisory_ids));
    };
    status = converge_with_component(status, module.tcb_status);
    for a in &module.advisory_ids {
        if !advisory_ids.contains(a) {
            advisory_ids.push(a.clone());
        }
    }
    // dcap-qvl dates the converged level by its oldest component; the date
    // itself is not part of the verdict, but an unparsable one is an error.
    // The cache is only filled when every tcbDate parses (see cache.rs).
    Ok((status, advisory_ids))
}

fn decode_hex_array<const N: usize>(s: &str, field: &str) -> Step<[u8; N]> {
    let b = hex::decode(s).map_err(|e| format!("Failed to decode {field} as hex: {e}"))?;
    <[u8; N]>::try_from(b.as_slice())
        .map_err(|_| format!("{field} has invalid length {}, expected {N}", b.len()))
}

/// `verify_tdx_module_identity`: MRSIGNER_SEAM and SEAMATTRIBUTES.
fn verify_tdx_module_identity(tcb_info: &TcbInfo, q: &Quote) -> Step<()> {
    let b = &q.body;
    let Some(base) = &tcb_info.tdx_module else {
        return Err("TDX TCB Info is missing tdxModule field".into());
    };
    let mut mrsigner = decode_hex_array::<48>(&base.mrsigner, "tdxModule.mrsigner")?;
    let mut attributes = decode_hex_array::<8>(&base.attributes, "tdxModule.attributes")?;
    let mut mask = decode_hex_array::<8>(&base.attributes_mask, "tdxModule.attributesMask")?;
    if let Some(id) = tcb_info
        .tdx_module_identity(&b.tee_tcb_svn)
        .map_err(|e| format!("{e:#}"))?
    {
        mrsigner = decode_hex_array::<48>(&id.mrsigner, "tdxModuleIdentity.mrsigner")?;
        attributes = decode_hex_array::<8>(&id.attributes, "tdxModuleIdentity.attributes")?;
        mask = decode_hex_array::<8>(&id.attributes_mask, "tdxModuleIdentity.attributesMask")?;
    }
    if b.mr_signer_seam != mrsigner {
        return Err(format!(
            "TDX module MRSIGNER mismatch: expected {}, got {}",
            hex::encode_upper(mrsigner),
            hex::encode_upper(b.mr_signer_seam)
        ));
    }
    let actual = b.seam_attributes.to_le_bytes();
    for (i, ((e, m), a)) in attributes
        .iter()
        .zip(mask.iter())
        .zip(actual.iter())
        .enumerate()
    {
        if e & m != a & m {
            return Err(format!(
                "TDX module SEAMATTRIBUTES mismatch at byte {i}: expected {:02X} (masked), got {:02X} (masked)",
                e & m,
                a & m
            ));
        }
        if a & !m != 0 {
            return Err(format!(
                "TDX module SEAMATTRIBUTES has bits set outside mask at byte {i}"
            ));
        }
    }
    Ok(())
}

/// The outcome of the TCB evaluation: `None` for "No matching TCB level".
pub(crate) type Evaluated = Option<(TcbStatus, Vec<String>)>;

/// Steps 8–10 and the attribute checks, in `dcap-qvl`'s order, after the QE
/// identity (step 6) matched `qe_level`.
pub(crate) fn platform_tcb(
    q: &Quote,
    tcb_info: &TcbInfo,
    fmspc: &[u8; 6],
    cpu_svn: &[u8; 16],
    pce_svn: u16,
    qe_level: &QeTcbLevel,
) -> Step<Evaluated> {
    let no_match = |e: &str| e == "No matching TCB level found";
    // Step 8: match_platform_tcb.
    let tcb_fmspc = hex::decode(&tcb_info.fmspc).map_err(|_| "Failed to decode TCB FMSPC")?;
    if fmspc[..] != tcb_fmspc[..] {
        return Err("Fmspc mismatch".into());
    }
    if tcb_info.version < 3 || tcb_info.id != "TDX" {
        return Err("TDX quote with non-TDX TCB info in the collateral".into());
    }
    let b = &q.body;
    let launch = match evaluate_tdx_tcb(tcb_info, cpu_svn, pce_svn, &b.tee_tcb_svn) {
        Ok(l) => l,
        Err(e) if no_match(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    verify_tdx_module_identity(tcb_info, q)
        .map_err(|e| format!("TDX module identity check: {e}"))?;
    let current = match b.tee_tcb_svn2 {
        None => None,
        Some(svn2) => match evaluate_tdx_tcb(tcb_info, cpu_svn, pce_svn, &svn2) {
            Ok(l) => Some(l),
            Err(e) if no_match(&e) => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "Failed to evaluate the current TDX TCB (TEE_TCB_SVN2): {e}"
                ));
            }
        },
    };
    // Steps 9 and 10.
    let mut fin = TcbStatusWithAdvisory::new(launch.0, launch.1).merge(
        &TcbStatusWithAdvisory::new(qe_level.tcb_status, qe_level.advisory_ids.clone()),
    );
    let current_status = current
        .as_ref()
        .map(|(s, _)| converge_with_component(*s, qe_level.tcb_status));
    if fin.status == TcbStatus::Revoked || current_status == Some(TcbStatus::Revoked) {
        return Err("TCB status is invalid: Revoked".into());
    }
    if let Some(c) = current_status {
        fin.status = check_for_relaunch(fin.status, c);
    }
    validate_attrs(q)?;
    Ok(Some((fin.status, fin.advisory_ids)))
}

/// `validate_attrs` with `allow_debug(true)` and `allow_service_td(true)`,
/// as [`crate::TdxVerifier`] configures `dcap-qvl`.
fn validate_attrs(q: &Quote) -> Step<()> {
    let b = &q.body;
    // A TD 1.0 body never allows SERVTD_EXT; a TD 1.5 body does (service TDs allowed).
    let allow_servtd_ext = b.tee_tcb_svn2.is_some();
    let a = TDAttributes::parse(b.td_attributes.to_le_bytes())
        .map_err(|e| format!("Failed to parse TD attributes: {e}"))?;
    if a.reserved != 0 {
        return Err("Reserved bits in TD attributes are set".into());
    }
    if a.sec.migratable {
        return Err("TD migration is enabled".into());
    }
    if a.sec.servtd_ext && !allow_servtd_ext {
        return Err("SERVTD_EXT is enabled".into());
    }
    if !a.sec.sept_ve_disable {
        return Err("SEPT_VE_DISABLE is not enabled".into());
    }
    Ok(())
}
