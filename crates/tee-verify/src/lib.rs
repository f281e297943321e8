//! One-call verification: evidence bytes in any shape the SDK accepts,
//! collateral as bytes, a TOML policy and the time as inputs; the verdict
//! as the JSON `teectl verify` prints.
//!
//! This is the layer the C, Python and WebAssembly bindings expose, and the
//! one `teectl verify` prints through, so every surface gives the same claims
//! for the same evidence. It does no I/O: evidence, collateral, policy and
//! time are all inputs.
//!
//! ```text
//! evidence bytes ──parse_evidence──▶ Evidence
//!     + collateral bytes (bundle | TDX QuoteCollateralV3 JSON) ──verifiers──▶ Verifiers
//!     + time ──verify──▶ Verified<Claims>
//!     + policy TOML + expected report data ──appraise──▶ Appraisal
//!     ──output──▶ JSON { platform, measurement, report_data, debug, …, claims, appraisal }
//! ```
//!
//! Fail closed: without a policy the default policy applies (it admits no
//! workload); mock evidence verifies only when the caller trusts the mock
//! root ([`Request::trust_mock_root`], NO SECURITY), and is still refused by
//! appraisal unless the policy says `allow_mock = true`.
#![forbid(unsafe_code)]

#[cfg(feature = "backends")]
mod request;

use serde_json::{Map, Value};
use tee::{Appraisal, Claims, Verified};

#[cfg(feature = "backends")]
pub use request::{
    CollateralInput, EvidenceInput, MAX_EVIDENCE_LEN, MAX_POLICY_LEN, Outcome, Request,
    VerifyError, parse_evidence, policy, snp_evidence, tdx_evidence, verifiers, verify,
};

/// The JSON printed for verified claims and their appraisal: the common
/// keys, the platform's raw claims flattened, then the full claims and the
/// appraisal (the layout of `teectl verify`).
///
/// # Errors
/// A claim that JSON cannot represent (not expected for SDK types).
pub fn output(
    claims: &Verified<Claims>,
    appraisal: &Appraisal,
) -> Result<Value, serde_json::Error> {
    let c: &Claims = claims;
    let mut out = Map::new();
    out.insert("platform".into(), Value::String(c.platform.name().into()));
    out.insert(
        "measurement".into(),
        c.launch_measurement
            .value()
            .map_or(Value::Null, |m| Value::String(m.to_hex())),
    );
    out.insert("report_data".into(), Value::String(c.report_data.to_hex()));
    out.insert("debug".into(), Value::Bool(c.debug));
    if let Value::Object(raw) = to_value(&c.platform_claims)? {
        for (_, inner) in raw {
            if let Value::Object(fields) = inner {
                for (k, v) in fields {
                    out.entry(k).or_insert(v);
                }
            }
        }
    }
    if let Some(log) = &c.event_log {
        out.insert("event_log".into(), to_value(log)?);
    }
    if let Some(v) = &c.vtpm {
        out.insert("vtpm".into(), to_value(v)?);
    }
    out.insert(
        "verified_at".into(),
        Value::String(c.verified_at.to_string()),
    );
    out.insert("claims".into(), to_value(claims)?);
    out.insert(
        "appraisal".into(),
        serde_json::json!({
            "passed": appraisal.passed(),
            "checks": to_value(&appraisal.checks)?,
        }),
    );
    Ok(Value::Object(out))
}

fn to_value<T: serde::Serialize + ?Sized>(v: &T) -> Result<Value, serde_json::Error> {
    serde_json::to_value(v)
}
