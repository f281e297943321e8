//! From an appraisal to an EAR appraisal: the documented mapping table
//! (check outcome → AR4SI claim value), the facts read from the claims,
//! the status rule and the normalized claims.

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use tee_core::{
    Appraisal, Claims, Outcome, PlatformClaims, Policy, TcbStatus, TrustRoot, Verified,
};

use crate::Submod;
use crate::ar4si::{Status, TrustClaim, TrustVector};

use TrustClaim::{Configuration as Cfg, Executables as Exe, Hardware as Hw};
use TrustClaim::{InstanceIdentity as Id, RuntimeOpaque as Rt};

/// One row of the mapping table: the value a check's outcome gives its
/// claim (0: no effect). Values combine by [`TrustVector::raise`] (the
/// worse tier wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// The check name ([`tee_core::Check::name`]).
    pub check: &'static str,
    /// The AR4SI claim it moves.
    pub claim: TrustClaim,
    /// Value when the check passed.
    pub passed: i8,
    /// Value when it failed.
    pub failed: i8,
    /// Value when it was skipped.
    pub skipped: i8,
}

const fn r(check: &'static str, claim: TrustClaim, passed: i8, failed: i8, skipped: i8) -> Rule {
    Rule {
        check,
        claim,
        passed,
        failed,
        skipped,
    }
}

/// The mapping table (docs/ear.md prints the same table; a test keeps them
/// equal). A failed check that is not in the table raises `configuration`
/// to 96 ([`UNLISTED_FAILED`]), so a new check can never leave a failure
/// invisible in the vector.
pub const RULES: &[Rule] = &[
    r("mock", Hw, 0, 96, 0),
    r("debug", Rt, 0, 96, 0),
    r("report_data", Id, 0, 96, 32),
    r("measurement", Exe, 2, 33, 33),
    r("host_data", Cfg, 2, 96, 0),
    r("event_log", Exe, 0, 96, 0),
    r("sev-snp.vmpl", Cfg, 2, 96, 0),
    r("sev-snp.revocation", Hw, 2, 32, 0),
    r("sev-snp.min_tcb", Hw, 2, 32, 0),
    r("sev-snp.min_launch_tcb", Hw, 2, 32, 0),
    r("sev-snp.min_committed_tcb", Hw, 2, 32, 0),
    r("sev-snp.min_tcb_by_product", Hw, 2, 32, 0),
    r("sev-snp.min_guest_svn", Exe, 2, 32, 0),
    r("sev-snp.id_key_digest", Exe, 2, 33, 0),
    r("sev-snp.author_key_digest", Exe, 2, 33, 0),
    r("sev-snp.family_id", Exe, 2, 33, 0),
    r("sev-snp.image_id", Exe, 2, 33, 0),
    r("sev-snp.csp_id", Id, 2, 97, 0),
    r("sev-snp.smt", Cfg, 2, 32, 0),
    r("sev-snp.migration_agent", Cfg, 2, 96, 0),
    r("tdx.tcb_status", Hw, 2, 32, 0),
    r("tdx.revocation", Hw, 2, 32, 32),
    r("tdx.td_attributes_reserved", Cfg, 2, 96, 0),
    r("tdx.servtd_ext", Cfg, 2, 96, 0),
    r("tdx.sept_ve_disable", Cfg, 2, 32, 0),
    r("tdx.migratable", Cfg, 2, 32, 0),
    r("tdx.mr_servicetd", Cfg, 32, 96, 0),
    r("tdx.rtmr0", Exe, 2, 33, 0),
    r("tdx.rtmr1", Exe, 2, 33, 0),
    r("tdx.rtmr2", Exe, 2, 33, 0),
    r("tdx.rtmr3", Exe, 2, 33, 0),
    r("tdx.mr_owner", Cfg, 2, 96, 0),
    r("tdx.mr_owner_config", Cfg, 2, 96, 0),
    r("tdx.min_tee_tcb_svn", Hw, 2, 32, 0),
    r("tdx.xfam", Cfg, 2, 96, 0),
    r("tdx.td_attributes", Cfg, 2, 96, 0),
    r("pef.trust_root", Id, 2, 96, 0),
    r("pef.key_id", Id, 2, 97, 0),
];

/// The claim and value of a failed check that is not in [`RULES`].
pub const UNLISTED_FAILED: (TrustClaim, i8) = (Cfg, 96);

/// The checks that pin the workload instead of a reference measurement:
/// when one of them passed, a skipped `measurement` check has no effect
/// (the pin check's own row gives `executables`).
pub const WORKLOAD_PINS: &[&str] = &[
    "sev-snp.id_key_digest",
    "sev-snp.author_key_digest",
    "tdx.rtmr0",
    "tdx.rtmr1",
    "tdx.rtmr2",
    "tdx.rtmr3",
];

/// TDX TD attribute bit 29, MIGRATABLE (Intel TDX module ABI).
const TD_ATTRIBUTE_MIGRATABLE: u64 = 1 << 29;

/// The trust vector of an appraisal: the facts of the claims, then the
/// table row of every check.
pub fn trust_vector(claims: &Claims, appraisal: &Appraisal) -> TrustVector {
    let mut v = TrustVector::new();
    facts(claims, &mut v);
    let pinned = appraisal
        .checks
        .iter()
        .any(|c| c.outcome == Outcome::Passed && WORKLOAD_PINS.contains(&c.name.as_str()));
    for check in &appraisal.checks {
        match RULES.iter().find(|r| r.check == check.name) {
            Some(rule) => {
                let value = match check.outcome {
                    Outcome::Passed => rule.passed,
                    Outcome::Failed => rule.failed,
                    Outcome::Skipped if rule.check == "measurement" && pinned => 0,
                    Outcome::Skipped => rule.skipped,
                };
                if value != 0 {
                    v.raise(rule.claim, value);
                }
            }
            None if check.outcome == Outcome::Failed => {
                v.raise(UNLISTED_FAILED.0, UNLISTED_FAILED.1);
            }
            None => {}
        }
    }
    v
}

/// What the claims say regardless of the policy (docs/ear.md, "facts").
fn facts(c: &Claims, v: &mut TrustVector) {
    match &c.trust {
        TrustRoot::Hardware { .. } => {
            v.raise(Id, 2);
            v.raise(Hw, 2);
            v.raise(Rt, 2);
        }
        TrustRoot::Owner => v.raise(Id, 2),
        // The mock: no hardware, memory open to anyone. Always, whatever
        // `allow_mock` says: mock evidence never yields `affirming`.
        TrustRoot::NoSecurity => {
            v.raise(Hw, 96);
            v.raise(Rt, 96);
        }
        // A trust root this crate does not know: no hardware claim.
        _ => v.raise(Hw, 97),
    }
    if c.debug {
        v.raise(Rt, 96);
    }
    match &c.platform_claims {
        PlatformClaims::SevSnp(s) => {
            if !s.revocation_checked {
                v.raise(Hw, 32);
            }
            if s.policy.migrate_ma {
                v.raise(Cfg, 32);
            }
        }
        PlatformClaims::Tdx(t) => {
            match t.tcb_status {
                TcbStatus::UpToDate => {}
                TcbStatus::Revoked => v.raise(Hw, 96),
                TcbStatus::NoMatchingTcbLevel => v.raise(Hw, 97),
                _ => v.raise(Hw, 32),
            }
            if !t.tcb_evaluated || !t.revocation_checked {
                v.raise(Hw, 32);
            }
            if !t.td_attributes.sept_ve_disable {
                v.raise(Cfg, 32);
            }
            if t.td_attributes.raw & TD_ATTRIBUTE_MIGRATABLE != 0 {
                v.raise(Cfg, 32);
            }
        }
        _ => {}
    }
}

/// The status rule: the worst tier of the vector, and `contraindicated`
/// whenever the appraisal did not pass.
pub fn status(vector: &TrustVector, appraisal: &Appraisal) -> Status {
    let worst = vector.worst();
    if appraisal.passed() {
        worst
    } else {
        Status::Contraindicated
    }
}

/// A content id for a policy: `sha256:` and the hex SHA-256 of
/// [`Policy::to_toml`] (the same policy always gets the same id).
pub fn policy_id(policy: &Policy) -> String {
    let text = policy.to_toml().unwrap_or_default();
    let d = Sha256::digest(text.as_bytes());
    let mut s = String::from("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The normalized claims under [`crate::CLAIMS_KEY`]: platform, format,
/// trust root, measurement, TCB, report data, host data, registers, debug,
/// verification time and every check with its outcome.
pub fn normalized_claims(c: &Claims, appraisal: &Appraisal) -> Value {
    let opt_hex = |v: Option<&tee_core::HexBytes>| v.map_or(Value::Null, |h| h.to_hex().into());
    let trust = match &c.trust {
        TrustRoot::Hardware { vendor } => json!({"kind": "hardware", "vendor": vendor}),
        TrustRoot::Owner => json!({"kind": "owner"}),
        TrustRoot::NoSecurity => json!({"kind": "no-security"}),
        _ => json!({"kind": "unknown"}),
    };
    let tcb = c.tcb.value().map_or(Value::Null, |t| {
        json!({
            "status": t.status.name(),
            "svns": t.svns,
            "advisory-ids": t.advisory_ids,
        })
    });
    let registers = c.runtime_registers.value().map_or(Value::Null, |regs| {
        Value::Array(
            regs.iter()
                .map(|r| json!({"index": r.index, "value": r.value.to_hex()}))
                .collect(),
        )
    });
    let checks: Vec<Value> = appraisal
        .checks
        .iter()
        .map(|ch| {
            json!({
                "name": ch.name,
                "outcome": match ch.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed => "failed",
                    Outcome::Skipped => "skipped",
                },
                "detail": ch.detail,
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("platform".into(), c.platform.name().into());
    m.insert("format".into(), c.format.clone().into());
    m.insert("trust-root".into(), trust);
    m.insert("measurement".into(), opt_hex(c.launch_measurement.value()));
    m.insert("report-data".into(), c.report_data.to_hex().into());
    m.insert("host-data".into(), opt_hex(c.host_data.value()));
    m.insert("debug".into(), c.debug.into());
    m.insert("tcb".into(), tcb);
    m.insert("registers".into(), registers);
    m.insert("verified-at".into(), c.verified_at.as_secs().into());
    m.insert("appraisal-passed".into(), appraisal.passed().into());
    m.insert("checks".into(), Value::Array(checks));
    Value::Object(m)
}

impl Submod {
    /// The EAR appraisal of verified claims and their appraisal: status
    /// and trust vector by the mapping table, the policy id, and the
    /// normalized claims.
    pub fn from_appraisal(
        claims: &Verified<Claims>,
        appraisal: &Appraisal,
        policy_id: impl Into<String>,
    ) -> Self {
        let vector = trust_vector(claims, appraisal);
        Self::new(status(&vector, appraisal))
            .with_trust_vector(vector)
            .with_policy_id(policy_id)
            .with_claims(normalized_claims(claims, appraisal))
    }

    /// Appraise `claims` against `policy` ([`tee_core::appraise`]) and
    /// build the EAR appraisal, with [`policy_id`] as its policy id.
    pub fn appraise(claims: &Verified<Claims>, policy: &Policy) -> Self {
        let appraisal = tee_core::appraise(claims, policy);
        Self::from_appraisal(claims, &appraisal, policy_id(policy))
    }

    /// The EAR appraisal of evidence whose cryptographic verification
    /// failed: every claim 99, `contraindicated`.
    pub fn verification_failed() -> Self {
        Self::new(Status::Contraindicated).with_trust_vector(TrustVector::all(99))
    }
}

/// The mapping table as the markdown rows docs/ear.md prints.
pub fn rules_markdown() -> String {
    let cell = |v: i8| {
        if v == 0 {
            "–".to_string()
        } else {
            format!("{v} ({})", Status::of_value(v))
        }
    };
    let mut s =
        String::from("| check | claim | passed | failed | skipped |\n|---|---|---|---|---|\n");
    for r in RULES {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.check,
            r.claim,
            cell(r.passed),
            cell(r.failed),
            cell(r.skipped)
        ));
    }
    s
}
