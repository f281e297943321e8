//! `teectl` commands for TDX.
//!
//! CONTRACT (the backend owner fills this module in; `main.rs` and
//! `verify.rs` call exactly these items, so keep their signatures):
//! - `pub(crate) enum Cmd` (clap `Subcommand`): the platform's own subcommands
//!   (`teectl sev-snp ...`, `teectl tdx ...`, `teectl pef ...`), run by
//!   `pub(crate) fn run(g: &Global, cmd: Cmd) -> Result<u8, CliError>` returning the exit code.
//! - `pub(crate) fn evidence_from_args(a: &VerifyArgs) -> Result<Evidence, CliError>`: build
//!   an evidence envelope from the raw-file flags of `teectl verify` (see `verify::VerifyArgs`).
//! - `pub(crate) fn verifier(a: &VerifyArgs) -> Result<Box<dyn Verifier>, CliError>`: the
//!   verifier configured by those flags (pinned roots; collateral; keys).
//! - `pub(crate) fn apply_policy(a: &VerifyArgs, p: &mut Policy) -> Result<(), CliError>`:
//!   platform-specific policy flags (e.g. `--accept-tcb-status`).
//!
//! Errors: `CliError::from(tee::Error)` maps to the documented exit codes
//! (2 malformed, 3 authenticity, 4 policy, 5 unsupported); `CliError::usage` is 1.
//!
//! TDX specifics:
//! - `--quote FILE` is the raw quote (binary, or hex text).
//! - Collateral is explicit: `--collateral FILE.json` (QuoteCollateralV3),
//!   `--collateral-dir DIR` (PCS/PCCS file set or `<FMSPC>.json`), or
//!   `--no-collateral` (TCB `NotEvaluated`). A raw quote with none of them is
//!   a usage error. `--allow-unchecked-revocation` accepts collateral without CRLs.
//! - `--event-log FILE`: a binary TCG2 log (CCEL) or the SDK's event-log JSON.

use std::path::{Path, PathBuf};

use tee::tdx::ccel::{CcelTable, EventLog};
use tee::tdx::quote::Quote;
use tee::tdx::tdreport::{TDREPORT_LEN, TdReport};
use tee::tdx::{Collateral, OfflineDir, TdxVerifier};
use tee::{Evidence, Platform, Policy, TcbStatus, Verifier};

use crate::Global;
use crate::common::{self, CliError};
use crate::verify::VerifyArgs;

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

/// Read a binary file, accepting hex text too.
fn read_bin(p: &Path) -> Result<Vec<u8>, CliError> {
    let b = common::read(p)?;
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

pub(crate) fn run(_g: &Global, cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::Show { file } => {
            let b = read_bin(&file)?;
            if b.len() == TDREPORT_LEN && b.first() == Some(&0x81) {
                let r = TdReport::parse(&b).map_err(ctx(&file))?;
                out(&r.to_string());
            } else {
                let q = Quote::parse(&b).map_err(ctx(&file))?;
                out(&q.to_string());
            }
            Ok(0)
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
            Ok(0)
        }
        Cmd::Eventlog { file, quote } => {
            let b = read_bin(&file)?;
            if b.starts_with(b"CCEL") {
                let t = CcelTable::parse(&b).map_err(ctx(&file))?;
                out(&format!(
                    "ACPI CCEL table rev {}: cc_type {} subtype {}, log area {:#x} bytes at {:#x}",
                    t.revision, t.cc_type, t.cc_subtype, t.laml, t.lasa
                ));
                return Ok(0);
            }
            let log = EventLog::parse(&b).map_err(ctx(&file))?;
            out(&format!(
                "TCG2 event log: {} events in {} bytes",
                log.events.len(),
                log.len
            ));
            out(log.to_string().trim_end());
            let regs = log.replay().map_err(ctx(&file))?;
            let reported = match &quote {
                Some(q) => Some(Quote::parse(&read_bin(q)?).map_err(ctx(q))?.body.rtmr),
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
            Ok(if all { 0 } else { 4 })
        }
    }
}

pub(crate) fn evidence_from_args(a: &VerifyArgs) -> Result<Evidence, CliError> {
    let Some(qp) = &a.quote else {
        return Err(CliError::usage(
            "TDX: give --quote FILE (or --evidence FILE)",
        ));
    };
    let quote = read_bin(qp)?;
    let mut ev = Evidence::new(Platform::Tdx, tee::evidence::format::TDX_QUOTE, quote);
    if let Some(lp) = &a.event_log {
        let b = common::read(lp)?;
        if b.first() == Some(&b'{') {
            let log: tee::EventLog = serde_json::from_slice(&b).map_err(|e| {
                CliError::malformed(format!("{}: event log JSON: {e}", lp.display()))
            })?;
            ev.event_log = Some(log);
        } else {
            ev = ev.with_endorsement(tee::evidence::endorsement::TCG2_EVENT_LOG, b);
        }
    }
    Ok(ev)
}

pub(crate) fn verifier(a: &VerifyArgs) -> Result<Box<dyn Verifier>, CliError> {
    let mut v = TdxVerifier::new();
    if let Some(p) = &a.collateral {
        let c = Collateral::from_json(&common::read(p)?).map_err(ctx(p))?;
        v = v.with_collateral(c);
    } else if let Some(d) = &a.collateral_dir {
        if !d.is_dir() {
            return Err(CliError::usage(format!(
                "--collateral-dir {}: not a directory",
                d.display()
            )));
        }
        // Fetch first (the directory lookup), then a pure verify.
        let quote = match (&a.quote, &a.evidence) {
            (Some(qp), _) => read_bin(qp)?,
            (None, Some(ep)) => {
                Evidence::from_json(&common::read(ep)?)
                    .map_err(|e| CliError::from(e).context(ep.display()))?
                    .report
            }
            (None, None) => {
                return Err(CliError::usage(
                    "TDX: --collateral-dir needs --quote or --evidence",
                ));
            }
        };
        let c = tee::tdx::fetch_collateral(&OfflineDir::new(d.clone()), &quote)
            .map_err(|e| CliError::from(e).context(d.display()))?;
        v = v.with_collateral(c);
    } else if a.no_collateral {
        v = v.without_collateral();
    } else if a.quote.is_some() {
        return Err(CliError::usage(
            "TDX: choose --collateral FILE.json, --collateral-dir DIR, or --no-collateral (the TCB is then not evaluated)",
        ));
    }
    if a.allow_unchecked_revocation {
        v = v.dangerous_allow_collateral_without_crls();
    }
    Ok(Box::new(v))
}

pub(crate) fn apply_policy(a: &VerifyArgs, p: &mut Policy) -> Result<(), CliError> {
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
            names.push(st.name().to_string());
        }
        p.tdx.accepted_tcb_statuses = names;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use clap::Parser as _;

    fn vectors() -> Option<PathBuf> {
        let d = std::env::var_os("TEE_TEST_VECTORS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
            });
        d.join("INDEX.md").is_file().then_some(d)
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
        let base = [
            "verify",
            "--platform",
            "tdx",
            "--quote",
            &q,
            "--report-data",
            &rd4,
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
        ];
        assert_eq!(code(&a), 0);
    }
}
