//! `teectl tdx ...` and the TDX flags of `teectl verify`.
//!
//! - `--quote FILE` is the raw quote (binary, or hex text).
//! - Collateral is explicit: `--collateral FILE.json` (QuoteCollateralV3),
//!   `--collateral-dir DIR` (PCS/PCCS file set or `<FMSPC>.json`, looked up
//!   for the quote before verification), or `--no-collateral` (TCB
//!   `NotEvaluated`). A raw quote with none of them is a usage error.
//!   `--allow-unchecked-revocation` accepts collateral without CRLs.
//! - `--event-log FILE`: a binary TCG2 log (CCEL) or the SDK's event-log JSON.

use std::path::{Path, PathBuf};

use tee::tdx::ccel::{CcelTable, DataCheck, EventLog};
use tee::tdx::evidence::TdxEvidence;
use tee::tdx::quote::Quote;
use tee::tdx::tdreport::{TDREPORT_LEN, TdReport};
use tee::tdx::{Collateral, OfflineDir, TdxVerifier};
use tee::{Evidence, Policy, TcbStatus, Verifier};

use crate::common::{self, CliError};
use crate::exit;

/// TDX subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Print a human-readable dump of a quote or a TDREPORT.
    Show {
        /// The file (binary or hex).
        file: PathBuf,
    },
    /// Assemble QuoteCollateralV3 JSON from a PCS/PCCS file set (TCB info,
    /// QE identity, CRLs, issuer chains) for use with `verify --collateral`.
    Collateral {
        /// Directory with the PCS responses.
        dir: PathBuf,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a CCEL / TCG2 event log (or the ACPI CCEL table) and its RTMR replay.
    Eventlog {
        /// The log area (e.g. /sys/firmware/acpi/tables/data/CCEL) or the CCEL table.
        file: PathBuf,
        /// A quote whose RTMRs the replay is compared with.
        #[arg(long, value_name = "FILE")]
        quote: Option<PathBuf>,
    },
}

/// The TDX flags of `teectl verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct TdxVerifyArgs {
    /// TDX: the raw quote.
    #[arg(long, value_name = "FILE", conflicts_with = "evidence")]
    pub(crate) quote: Option<PathBuf>,
    /// TDX: a directory of collateral files as returned by Intel PCS/PCCS.
    #[arg(long, value_name = "DIR")]
    collateral_dir: Option<PathBuf>,
    /// TDX: verify without collateral (the TCB is not evaluated; the claims say so).
    #[arg(long, conflicts_with_all = ["collateral", "collateral_dir"])]
    no_collateral: bool,
    /// TDX: accept collateral without CRLs; SEV-SNP: accept a report checked
    /// against no AMD CRL (revocation is then not checked; the claims say so).
    #[arg(long)]
    pub(crate) allow_unchecked_revocation: bool,
    /// TDX: TCB statuses the policy accepts (comma-separated; default UpToDate).
    #[arg(long, value_name = "S1,S2", value_delimiter = ',')]
    accept_tcb_status: Vec<String>,
    /// TDX: a CCEL / TCG2 event log to replay against the quote's RTMRs.
    #[arg(long, value_name = "FILE")]
    event_log: Option<PathBuf>,
    /// TDX: minimum tcbDate of the matched TCB level (YYYY-MM-DD or RFC 3339; `[tdx] min_tcb_date`).
    #[arg(long, value_name = "DATE")]
    min_tcb_date: Option<String>,
    /// TDX: accept OutOfDate while the newer TCB level is less than N days old (`[tdx] out_of_date_grace_days`).
    #[arg(long, value_name = "N")]
    out_of_date_grace_days: Option<u32>,
    /// TDX: advisories that must not apply (comma-separated; `[tdx] denied_advisories`).
    #[arg(long, value_name = "ID1,ID2", value_delimiter = ',')]
    deny_advisory: Vec<String>,
    /// TDX: the only advisories that may apply (comma-separated; `[tdx] allowed_advisories`).
    #[arg(long, value_name = "ID1,ID2", value_delimiter = ',')]
    allow_advisory: Vec<String>,
    /// TDX: minimum tcbEvaluationDataNumber of the TCB info and QE identity (`[tdx] min_tcb_evaluation_data_number`).
    #[arg(long, value_name = "N")]
    min_tcb_evaluation_data_number: Option<u32>,
    /// TDX: require collateral from this verifier (--collateral / --collateral-dir), not from the evidence (`[tdx] require_verifier_collateral`).
    #[arg(long)]
    require_verifier_collateral: bool,
}

/// Read a binary file, accepting hex text too.
fn read_bin(p: &Path, limit: u64, what: &str) -> Result<Vec<u8>, CliError> {
    let b = common::read_bounded(p, limit, what)?;
    let looks_hex = !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_hexdigit() || c.is_ascii_whitespace());
    if looks_hex {
        let s: String = b
            .iter()
            .filter(|c| !c.is_ascii_whitespace())
            .map(|&c| c as char)
            .collect();
        if s.len().is_multiple_of(2) {
            return common::parse_hex(&p.display().to_string(), &s);
        }
    }
    Ok(b)
}

fn ctx(p: &Path) -> impl Fn(tee::Error) -> CliError + '_ {
    move |e| CliError::from(e).context(p.display())
}

/// Print to stdout; a closed pipe (e.g. `| head`) ends output quietly.
fn out(s: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{s}");
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::Show { file } => {
            let b = read_bin(&file, common::limit::QUOTE, "quote or TDREPORT")?;
            if b.len() == TDREPORT_LEN && b.first() == Some(&0x81) {
                let r = TdReport::parse(&b).map_err(ctx(&file))?;
                out(&r.to_string());
            } else {
                let q = Quote::parse(&b).map_err(ctx(&file))?;
                out(&q.to_string());
            }
            Ok(exit::OK)
        }
        Cmd::Collateral { dir, out: dest } => {
            let c = OfflineDir::new(dir.clone())
                .pcs_file_set()
                .map_err(ctx(&dir))?;
            let json = c.to_json()?;
            match dest {
                Some(p) => common::write_atomic(&p, &json)?,
                None => out(&String::from_utf8_lossy(&json)),
            }
            Ok(exit::OK)
        }
        Cmd::Eventlog { file, quote } => {
            let b = read_bin(&file, common::limit::EVENT_LOG, "event log")?;
            if b.starts_with(b"CCEL") {
                let t = CcelTable::parse(&b).map_err(ctx(&file))?;
                out(&format!(
                    "ACPI CCEL table rev {}: cc_type {} subtype {}, log area {:#x} bytes at {:#x}",
                    t.revision, t.cc_type, t.cc_subtype, t.laml, t.lasa
                ));
                return Ok(exit::OK);
            }
            let log = EventLog::parse(&b).map_err(ctx(&file))?;
            out(&format!(
                "TCG2 event log: {} events in {} bytes",
                log.events.len(),
                log.len
            ));
            out(log.to_string().trim_end());
            // Data checked against digests defined over it (a changed event
            // fails here, naming its index); descriptions are unverified.
            let checks = log.check_data().map_err(ctx(&file))?;
            let count = |k: DataCheck| checks.iter().filter(|c| **c == k).count();
            out(&format!(
                "event data: {} verified, {} unverified (descriptions only: the digest does not cover them), {} not extended",
                count(DataCheck::Verified),
                count(DataCheck::Unverified),
                count(DataCheck::NotExtended)
            ));
            let regs = log.replay().map_err(ctx(&file))?;
            let reported = match &quote {
                Some(q) => Some(
                    Quote::parse(&read_bin(q, common::limit::QUOTE, "quote")?)
                        .map_err(ctx(q))?
                        .body
                        .rtmr,
                ),
                None => None,
            };
            let mut all = true;
            for (i, r) in regs.iter().enumerate() {
                match reported.as_ref().and_then(|rep| rep.get(i)) {
                    Some(rep) => {
                        let ok = rep == r;
                        all &= ok;
                        out(&format!(
                            "replay RTMR{i} {} {}",
                            hex::encode(r),
                            if ok {
                                "matches the quote"
                            } else {
                                "DIFFERS from the quote"
                            }
                        ));
                    }
                    None => out(&format!("replay RTMR{i} {}", hex::encode(r))),
                }
            }
            Ok(if all { exit::OK } else { exit::POLICY })
        }
    }
}

/// Evidence from `--quote` and `--event-log`.
pub(crate) fn evidence(a: &TdxVerifyArgs) -> Result<Evidence, CliError> {
    let Some(qp) = &a.quote else {
        return Err(CliError::usage(
            "TDX: give --quote FILE (or --evidence FILE)",
        ));
    };
    let mut ev =
        TdxEvidence::from_quote(&read_bin(qp, common::limit::QUOTE, "quote")?).map_err(ctx(qp))?;
    if let Some(lp) = &a.event_log {
        ev = ev
            .with_event_log(&common::read_bounded(
                lp,
                common::limit::EVENT_LOG,
                "event log",
            )?)
            .map_err(ctx(lp))?;
    }
    Ok(ev.build())
}

/// The verifier configured by the collateral flags, for evidence `ev`
/// (`raw`: it came from `--quote`, where a collateral mode must be chosen).
pub(crate) fn verifier(
    a: &TdxVerifyArgs,
    collateral: Option<&Path>,
    ev: &Evidence,
    raw: bool,
) -> Result<Box<dyn Verifier>, CliError> {
    let mut v = TdxVerifier::new();
    if let Some(p) = collateral {
        let c = Collateral::from_json(&common::read_bounded(
            p,
            common::limit::COLLATERAL,
            "collateral JSON",
        )?)
        .map_err(ctx(p))?;
        v = v.with_collateral(c);
    } else if let Some(d) = &a.collateral_dir {
        if !d.is_dir() {
            return Err(CliError::usage(format!(
                "--collateral-dir {}: not a directory",
                d.display()
            )));
        }
        // Fetch first (offline, from the directory), then a pure verification.
        let c =
            tee::tdx::fetch_collateral(&OfflineDir::new(d.clone()), &ev.report).map_err(ctx(d))?;
        v = v.with_collateral(c);
    } else if a.no_collateral {
        v = v.without_collateral();
    } else if raw {
        return Err(CliError::usage(
            "TDX: choose --collateral FILE.json, --collateral-dir DIR, or --no-collateral (the TCB is then not evaluated)",
        ));
    }
    if a.allow_unchecked_revocation {
        v = v.dangerous_allow_collateral_without_crls();
    }
    Ok(Box::new(v))
}

/// The TDX policy flags.
pub(crate) fn apply_policy(a: &TdxVerifyArgs, p: &mut Policy) -> Result<(), CliError> {
    // The dangerous verifier option also tells appraisal that claims with
    // `revocation_checked = false` are acceptable.
    if a.allow_unchecked_revocation {
        p.tdx.allow_unchecked_revocation = true;
    }
    if !a.accept_tcb_status.is_empty() {
        let mut names = Vec::new();
        for s in &a.accept_tcb_status {
            let st = TcbStatus::from_name(s).ok_or_else(|| {
                CliError::usage(format!("--accept-tcb-status: unknown TCB status `{s}`"))
            })?;
            names.push(st);
        }
        p.tdx.accepted_tcb_statuses = names;
    }
    if let Some(d) = &a.min_tcb_date {
        let t = tee::platforms::parse_policy_date(d).map_err(|e| {
            CliError::usage(format!(
                "--min-tcb-date {d}: {e} (expected YYYY-MM-DD or an RFC 3339 timestamp)"
            ))
        })?;
        p.tdx.min_tcb_date = Some(t);
    }
    if let Some(n) = a.out_of_date_grace_days {
        p.tdx.out_of_date_grace_days = Some(n);
    }
    p.tdx
        .denied_advisories
        .extend(a.deny_advisory.iter().cloned());
    p.tdx
        .allowed_advisories
        .extend(a.allow_advisory.iter().cloned());
    if let Some(n) = a.min_tcb_evaluation_data_number {
        p.tdx.min_tcb_evaluation_data_number = Some(n);
    }
    if a.require_verifier_collateral {
        p.tdx.require_verifier_collateral = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    use clap::Parser as _;

    /// The shared vectors; a loud failure under `CI` when they are missing.
    fn vectors() -> Option<PathBuf> {
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    }

    fn code(args: &[&str]) -> u8 {
        let cli = crate::Cli::try_parse_from(std::iter::once("teectl").chain(args.iter().copied()))
            .unwrap();
        match crate::run(cli) {
            Ok(c) => c,
            Err(e) => e.code,
        }
    }

    #[test]
    fn verify_exit_codes_on_vectors() {
        let Some(v) = vectors() else { return };
        let p = |r: &str| v.join(r).display().to_string();
        let rd = |r: &str, off: usize| {
            hex::encode(&std::fs::read(v.join(r)).unwrap()[off + 520..off + 584])
        };
        let q = p("dcap-qvl/tdx_quote");
        let c = p("dcap-qvl/tdx_quote_collateral.json");
        let rd4 = rd("dcap-qvl/tdx_quote", 48);
        // The quote's own MRTD (TD report body offset 136) as the reference value.
        let mrtd = hex::encode(&std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap()[184..232]);
        let base = [
            "verify",
            "--platform",
            "tdx",
            "--quote",
            &q,
            "--report-data",
            &rd4,
            "--allowed-measurement",
            &mrtd,
        ];
        fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
            [base, extra].concat()
        }
        assert_eq!(
            code(&with(
                &base,
                &["--collateral", &c, "--at", "2025-07-19T10:00:34Z"]
            )),
            0
        );
        // Without a reference value: genuine and fresh, but appraisal fails (4).
        assert_eq!(
            code(&with(
                &base[..base.len() - 2],
                &["--collateral", &c, "--at", "2025-07-19T10:00:34Z"]
            )),
            4
        );
        assert_eq!(
            code(&with(
                &base,
                &["--collateral", &c, "--at", "2025-08-01T00:00:00Z"]
            )),
            3
        );
        assert_eq!(
            code(&with(&base, &["--at", "2025-07-01T00:00:00Z"])),
            1,
            "collateral mode must be chosen"
        );
        assert_eq!(
            code(&with(
                &base,
                &["--no-collateral", "--at", "2025-07-01T00:00:00Z"]
            )),
            4,
            "NotEvaluated not accepted"
        );
        assert_eq!(
            code(&with(
                &base,
                &[
                    "--no-collateral",
                    "--accept-tcb-status",
                    "NotEvaluated",
                    "--at",
                    "2025-07-01T00:00:00Z"
                ]
            )),
            0
        );
        assert_eq!(
            code(&with(
                &base,
                &["--collateral", &c, "--accept-tcb-status", "Bogus"]
            )),
            1
        );
        let q5 = p("dcap-qvl/tdx_quote_outdated");
        let c5 = p("dcap-qvl/tdx_quote_outdated_collateral.json");
        let rd5 = rd("dcap-qvl/tdx_quote_outdated", 54);
        let args5 = [
            "verify",
            "--platform",
            "tdx",
            "--quote",
            &q5,
            "--collateral",
            &c5,
            "--at",
            "2026-03-01T00:00:00Z",
            "--report-data",
            &rd5,
        ];
        assert_eq!(
            code(&args5),
            4,
            "no matching TCB level is a TCB status (exit 4)"
        );
        let dir = p("go-tdx-guest");
        let qs = p("go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
        let rds = rd("go-tdx-guest/tdx_prod_quote_SPR_E4.dat", 48);
        let a = [
            "verify",
            "--platform",
            "tdx",
            "--quote",
            &qs,
            "--collateral-dir",
            &dir,
            "--at",
            "2023-07-01T00:00:00Z",
            "--report-data",
            &rds,
        ];
        assert_eq!(code(&a), 4);
        let tmp = tempfile::tempdir().unwrap();
        let mut bad = std::fs::read(&q).unwrap();
        bad[48 + 136] ^= 1;
        let badp = tmp.path().join("bad");
        std::fs::write(&badp, &bad).unwrap();
        let badp = badp.display().to_string();
        let a = [
            "verify",
            "--platform",
            "tdx",
            "--quote",
            &badp,
            "--collateral",
            &c,
            "--at",
            "2025-07-19T10:00:34Z",
        ];
        assert_eq!(code(&a), 3);
        bad.truncate(100);
        std::fs::write(tmp.path().join("short"), &bad).unwrap();
        let sp = tmp.path().join("short").display().to_string();
        assert_eq!(
            code(&[
                "verify",
                "--platform",
                "tdx",
                "--quote",
                &sp,
                "--no-collateral"
            ]),
            2
        );
    }

    #[test]
    fn show_and_eventlog() {
        let Some(v) = vectors() else { return };
        let p = |r: &str| v.join(r).display().to_string();
        assert_eq!(code(&["tdx", "show", &p("dcap-qvl/tdx_quote")]), 0);
        assert_eq!(
            code(&["tdx", "show", &p("guest-components/tdx_report_1.bin")]),
            0
        );
        assert_eq!(code(&["tdx", "show", &p("go-tdx-guest/ccel/nonce.dat")]), 2);
        let log = p("go-tdx-guest/ccel/ccel_data.dat");
        assert_eq!(
            code(&[
                "tdx",
                "eventlog",
                &log,
                "--quote",
                &p("go-tdx-guest/ccel/cos-113-tdx-quote.dat")
            ]),
            0
        );
        assert_eq!(
            code(&["tdx", "eventlog", &log, "--quote", &p("dcap-qvl/tdx_quote")]),
            4
        );
        assert_eq!(
            code(&["tdx", "eventlog", &p("go-tdx-guest/ccel/ccel_table.dat")]),
            0
        );
        let a = [
            "verify",
            "--platform",
            "tdx",
            "--quote",
            &p("go-tdx-guest/ccel/cos-113-tdx-quote.dat"),
            "--no-collateral",
            "--accept-tcb-status",
            "NotEvaluated",
            "--event-log",
            &log,
            "--at",
            "2025-01-01T00:00:00Z",
            "--report-data",
            &"0".repeat(128),
            "--allow-any-measurement",
        ];
        assert_eq!(code(&a), 0);
    }
}
