//! The types every platform doctor answers in (`teectl doctor`): the
//! outcome of one check, the check with what was found and how to fix it,
//! and the verdict a script acts on. The probing itself belongs to each
//! backend (its devices, sysfs, TPM); nothing here reads anything.

use serde::Serialize;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Fine.
    Ok,
    /// Informational; not a problem.
    Info,
    /// Works, with a limitation (e.g. no RTMR extension on this kernel).
    Warn,
    /// Missing, misconfigured or failing: the capability does not work.
    Missing,
    /// Not run, because a check it depends on failed.
    Skipped,
}

impl Status {
    /// The label of text reports (`[  ok  ]`, `[MISSING]`…).
    pub fn tag(self) -> &'static str {
        match self {
            Self::Ok => "  ok  ",
            Self::Info => " info ",
            Self::Warn => " warn ",
            Self::Missing => "MISSING",
            Self::Skipped => " skip ",
        }
    }
}

/// A doctor's verdict, and `teectl doctor`'s exit code for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// A working TEE guest, or a host ready to run TEE guests (exit 0).
    Ready,
    /// The capability is present but a check failed (exit 4).
    Problem,
    /// No capability for this TEE here (exit 5).
    NoCapability,
}

impl Verdict {
    /// The exit code of `teectl doctor` for this verdict: 0, 4 or 5 (the
    /// classes of `teectl`'s exit-code table: ok, policy, unsupported).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Ready => 0,
            Self::Problem => 4,
            Self::NoCapability => 5,
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckResult {
    /// Stable name (e.g. `cpu.sev-snp`, `tdx.quote`, `azure.vtpm`).
    pub name: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was found (for a failed round trip: the error it returned).
    pub detail: String,
    /// One-line remediation when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

impl CheckResult {
    /// A check with every field given.
    pub fn new(
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        remediation: Option<String>,
    ) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            remediation,
        }
    }

    /// [`Status::Ok`] when `ok`, else [`Status::Missing`] with `fix`.
    pub fn check(name: &'static str, ok: bool, detail: impl Into<String>, fix: &str) -> Self {
        Self::new(
            name,
            if ok { Status::Ok } else { Status::Missing },
            detail,
            (!ok).then(|| fix.to_owned()),
        )
    }

    /// A passing check.
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail, None)
    }

    /// A failing check with its remediation.
    pub fn missing(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Missing, detail, Some(fix.into()))
    }

    /// An informational line.
    pub fn info(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Info, detail, None)
    }

    /// A check not run, and why.
    pub fn skipped(name: &'static str, why: impl Into<String>) -> Self {
        Self::new(name, Status::Skipped, why, None)
    }

    /// Whether this check failed ([`Status::Missing`]).
    pub fn failed(&self) -> bool {
        self.status == Status::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_exit_codes() {
        let ok = CheckResult::check("a", true, "found", "fix it");
        assert_eq!((ok.status, ok.remediation.as_deref()), (Status::Ok, None));
        let bad = CheckResult::check("a", false, "absent", "fix it");
        assert_eq!(
            (bad.status, bad.remediation.as_deref()),
            (Status::Missing, Some("fix it"))
        );
        assert!(bad.failed() && !ok.failed());
        assert!(!CheckResult::skipped("b", "after a").failed());
        assert_eq!(Status::Missing.tag(), "MISSING");
        assert_eq!(
            [Verdict::Ready, Verdict::Problem, Verdict::NoCapability].map(Verdict::exit_code),
            [0, 4, 5]
        );
    }

    #[test]
    fn json_names_are_stable() {
        let c = CheckResult::info("x", "y");
        let v = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(v["status"], "info");
        assert!(v.get("remediation").is_none());
        let v = serde_json::to_value(Verdict::NoCapability).unwrap_or_default();
        assert_eq!(v, "no-capability");
        let v = serde_json::to_value(Status::Skipped).unwrap_or_default();
        assert_eq!(v, "skipped");
    }
}
