//! `teectl collateral fetch|bundle|inspect`, and the collateral source of
//! `teectl verify --collateral BUNDLE_OR_DIR`.

use std::path::{Path, PathBuf};

use serde_json::json;
use tee::collateral::{Bundle, CollateralError, Config, Manager, PlainHttp};
use tee::{Evidence, UnixTime};

use crate::common::{self, CliError};
use crate::exit;

/// Collateral subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Fetch collateral into a store directory (online; http:// mirrors and
    /// PCCSs with this build's plain HTTP client).
    Fetch {
        /// The store directory (created if missing; shareable by replicas).
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// AMD KDS base URL (or a mirror).
        #[arg(long, value_name = "URL", default_value = tee::collateral::AMD_KDS)]
        kds: String,
        /// Intel PCCS base URL (root CRL from `{URL}/sgx/certification/v4/rootcacrl`).
        #[arg(long, value_name = "URL")]
        pccs: Option<String>,
        /// Evidence JSON files: fetch what each needs.
        #[arg(long = "evidence", value_name = "FILE")]
        evidence: Vec<PathBuf>,
        /// TDX FMSPCs (hex; repeatable): fetch their collateral (PCK Platform CA).
        #[arg(long = "fmspc", value_name = "HEX")]
        fmspcs: Vec<String>,
        /// SEV-SNP products (milan, genoa, turin; repeatable): fetch their CRLs and chains.
        #[arg(long = "product", value_name = "NAME")]
        products: Vec<String>,
        /// SEV-SNP: continue without an AMD CRL when none can be had.
        #[arg(long)]
        allow_unchecked_revocation: bool,
    },
    /// Write one portable bundle file (docs/collateral.md) from store
    /// directories, bundles and local collateral files.
    Bundle {
        /// The bundle to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Store directories or bundles to include (repeatable).
        #[arg(long = "from", value_name = "DIR_OR_BUNDLE")]
        from: Vec<PathBuf>,
        /// SEV-SNP: a report (binary or hex) whose VCEK is given with --vcek.
        #[arg(long, value_name = "FILE", requires = "vcek")]
        snp_report: Option<PathBuf>,
        /// SEV-SNP: the report's VCEK (DER or PEM).
        #[arg(long, value_name = "FILE", requires = "snp_report")]
        vcek: Option<PathBuf>,
        /// SEV-SNP: an AMD KDS CRL (DER) of the report's product.
        #[arg(long, value_name = "FILE", requires = "snp_report")]
        crl: Option<PathBuf>,
        /// TDX: a quote whose collateral is given with --tdx-collateral or --tdx-collateral-dir.
        #[arg(long, value_name = "FILE")]
        tdx_quote: Option<PathBuf>,
        /// TDX: QuoteCollateralV3 JSON for --tdx-quote.
        #[arg(long, value_name = "FILE", requires = "tdx_quote")]
        tdx_collateral: Option<PathBuf>,
        /// TDX: a directory of PCS files for --tdx-quote.
        #[arg(
            long,
            value_name = "DIR",
            requires = "tdx_quote",
            conflicts_with = "tdx_collateral"
        )]
        tdx_collateral_dir: Option<PathBuf>,
    },
    /// Show what a bundle or store holds: validity windows, what expires when.
    Inspect {
        /// A bundle file or a store directory.
        path: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Judge freshness at this time (RFC 3339; default now).
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
    },
}

/// The CLI error for a collateral error: unavailable collateral exits 3
/// (nothing can be authenticated without it), bad evidence 2, the rest 1.
pub(crate) fn cli_error(e: CollateralError) -> CliError {
    match e {
        CollateralError::Evidence(e) => CliError::from(e),
        CollateralError::Unavailable { .. } => {
            let mut c = CliError::usage(e.to_string());
            c.code = exit::AUTHENTICITY;
            c
        }
        other => CliError::usage(other.to_string()),
    }
}

fn time(at: Option<&str>) -> Result<UnixTime, CliError> {
    match at {
        Some(t) => UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--at: {e}"))),
        None => Ok(UnixTime::now()),
    }
}

/// An offline manager over `--collateral BUNDLE_OR_DIR` (verify).
pub(crate) fn offline(path: &Path, allow_unchecked_revocation: bool) -> Result<Manager, CliError> {
    let cfg = Config::default().allowing_unchecked_revocation(allow_unchecked_revocation);
    Manager::open_offline(path, cfg)
        .map(Manager::trusting_mock_root)
        .map_err(|e| cli_error(e).context(path.display()))
}

/// Whether `path` is a bundle file or a store directory (not a
/// QuoteCollateralV3 JSON file).
pub(crate) fn is_bundle_or_dir(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    common::read_bounded(path, tee::collateral::MAX_BUNDLE_LEN, "collateral")
        .map(|b| Bundle::sniff(&b))
        .unwrap_or(false)
}

fn product(name: &str) -> Result<tee::sev::Product, CliError> {
    tee::sev::Product::ALL
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| CliError::usage(format!("--product {name}: expected milan, genoa or turin")))
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::Fetch {
            store,
            kds,
            pccs,
            evidence,
            fmspcs,
            products,
            allow_unchecked_revocation,
        } => {
            let mut cfg = Config::default()
                .with_kds(&kds)
                .allowing_unchecked_revocation(allow_unchecked_revocation);
            if let Some(p) = &pccs {
                cfg = cfg.with_pccs(p);
            }
            let m = Manager::online(PlainHttp::default(), &store, cfg).map_err(cli_error)?;
            let now = UnixTime::now();
            let mut ids = Vec::new();
            for p in &evidence {
                let ev = Evidence::from_json(&common::read_bounded(
                    p,
                    common::limit::EVIDENCE,
                    "evidence JSON",
                )?)
                .map_err(|e| CliError::from(e).context(p.display()))?;
                ids.extend(
                    m.fetch_for(&ev, now)
                        .map_err(|e| cli_error(e).context(p.display()))?,
                );
            }
            for f in &fmspcs {
                let b: [u8; 6] = common::parse_hex("--fmspc", f)?
                    .try_into()
                    .map_err(|_| CliError::usage(format!("--fmspc {f}: expected 6 bytes")))?;
                ids.extend(
                    m.fetch_tdx(b, tee::tdx::PckCa::Platform, now)
                        .map_err(cli_error)?,
                );
            }
            for p in &products {
                ids.extend(m.fetch_snp_product(product(p)?, now).map_err(cli_error)?);
            }
            ids.sort();
            ids.dedup();
            for id in &ids {
                println!("{id}");
            }
            let mt = m.metrics();
            eprintln!(
                "teectl: {} artifact(s) in {}; {} fetched, {} from the store",
                ids.len(),
                store.display(),
                mt.fetches,
                mt.hits + mt.store_hits
            );
            Ok(exit::OK)
        }
        Cmd::Bundle {
            out,
            from,
            snp_report,
            vcek,
            crl,
            tdx_quote,
            tdx_collateral,
            tdx_collateral_dir,
        } => {
            let now = UnixTime::now();
            // Only the configuration is used (ids); nothing is fetched.
            let m = Manager::online_in_memory(PlainHttp::default(), Config::default());
            let mut all = Vec::new();
            for p in &from {
                let src = Manager::open_offline(p, Config::default())
                    .map_err(|e| cli_error(e).context(p.display()))?;
                all.extend(src.artifacts().iter().map(|a| (**a).clone()));
            }
            if let (Some(r), Some(v)) = (&snp_report, &vcek) {
                let report =
                    common::read_bounded(r, common::limit::SNP_REPORT * 3, "SEV-SNP report")?;
                let cert = common::read_bounded(v, common::limit::CERTS, "VCEK")?;
                let crl = crl
                    .as_ref()
                    .map(|p| common::read_bounded(p, common::limit::CERTS, "AMD CRL"))
                    .transpose()?;
                all.extend(
                    m.snp_artifacts_from_files(
                        &report,
                        &cert,
                        crl.as_deref(),
                        &format!("file:{}", v.display()),
                        now,
                    )
                    .map_err(cli_error)?,
                );
            }
            if let Some(q) = &tdx_quote {
                let quote = common::read_bounded(q, common::limit::QUOTE, "quote")?;
                let (coll, src) = match (&tdx_collateral, &tdx_collateral_dir) {
                    (Some(p), _) => (
                        tee::tdx::Collateral::from_json(&common::read_bounded(
                            p,
                            common::limit::COLLATERAL,
                            "collateral JSON",
                        )?)
                        .map_err(|e| CliError::from(e).context(p.display()))?,
                        p,
                    ),
                    (None, Some(d)) => (
                        tee::tdx::OfflineDir::new(d.clone())
                            .pcs_file_set()
                            .map_err(|e| CliError::from(e).context(d.display()))?,
                        d,
                    ),
                    (None, None) => {
                        return Err(CliError::usage(
                            "--tdx-quote needs --tdx-collateral FILE or --tdx-collateral-dir DIR",
                        ));
                    }
                };
                all.extend(
                    m.tdx_artifacts_from_collateral(
                        &quote,
                        &coll,
                        &format!("file:{}", src.display()),
                        now,
                    )
                    .map_err(cli_error)?,
                );
            }
            if all.is_empty() {
                return Err(CliError::usage(
                    "nothing to bundle: give --from, --snp-report/--vcek or --tdx-quote",
                ));
            }
            let b = Bundle::new(now.as_secs(), all);
            b.write(&out).map_err(|e| CliError::usage(e.to_string()))?;
            eprintln!(
                "teectl: wrote {} artifact(s) to {}",
                b.artifacts.len(),
                out.display()
            );
            Ok(exit::OK)
        }
        Cmd::Inspect { path, json, at } => {
            let now = time(at.as_deref())?;
            let m = Manager::open_offline(&path, Config::default())
                .map_err(|e| cli_error(e).context(path.display()))?;
            let f = m.config().freshness.clone();
            let rows: Vec<_> = m
                .artifacts()
                .iter()
                .map(|a| {
                    let w = f.window(a);
                    let fresh = w.contains(now.as_secs());
                    json!({
                        "id": a.id,
                        "kind": a.kind,
                        "source": a.source,
                        "fetched_at": UnixTime::from_secs(a.fetched_at).to_string(),
                        "valid_from": UnixTime::from_secs(w.from).to_string(),
                        "valid_until": UnixTime::from_secs(w.until).to_string(),
                        "servable": fresh,
                        "expires_in_secs": w.until.saturating_sub(now.as_secs()),
                        "bytes": a.body.bytes.len(),
                    })
                })
                .collect();
            // Files of a store directory that are not served: torn by a
            // crash outside the atomic write, altered, of another version.
            let rejected = m.metrics().store_rejected;
            if rejected > 0 {
                eprintln!(
                    "WARNING: {}: {rejected} file(s) rejected (truncated, altered, misplaced or of \
                     another version): never served; the next fetch replaces them",
                    path.display()
                );
            }
            if json {
                let out =
                    json!({ "at": now.to_string(), "artifacts": rows, "rejected_files": rejected });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out)
                        .map_err(|e| CliError::usage(e.to_string()))?
                );
            } else {
                println!("{} artifact(s), judged at {now}", rows.len());
                for r in &rows {
                    println!(
                        "{:<48} {:<22} {} .. {}  {}",
                        r["id"].as_str().unwrap_or_default(),
                        r["kind"].as_str().unwrap_or_default(),
                        r["valid_from"].as_str().unwrap_or_default(),
                        r["valid_until"].as_str().unwrap_or_default(),
                        if r["servable"].as_bool().unwrap_or(false) {
                            "ok"
                        } else {
                            "NOT SERVED (outside its window)"
                        }
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::{Path, PathBuf};

    use clap::Parser as _;

    fn vectors() -> Option<PathBuf> {
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    }

    fn teectl(args: &[&str]) -> u8 {
        let cli = crate::Cli::try_parse_from(std::iter::once("teectl").chain(args.iter().copied()))
            .unwrap();
        match crate::run(cli) {
            Ok(c) => c,
            Err(e) => e.code,
        }
    }

    /// Bundle the shared vectors' collateral, inspect it, verify offline with
    /// it: authentic inside the window (appraisal then fails only on the
    /// unset report data: 4), unavailable outside it or without a CRL (3).
    #[test]
    fn bundle_inspect_verify() {
        let Some(v) = vectors() else { return };
        let f = |rel: &str| v.join(rel).display().to_string();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json").display().to_string();
        let (report, vcek, quote, coll) = (
            f("ms-tee-av/milan_attestation_report.bin"),
            f("ms-tee-av/milan_vcek.pem"),
            f("dcap-qvl/tdx_quote"),
            f("dcap-qvl/tdx_quote_collateral.json"),
        );
        assert_eq!(
            teectl(&[
                "collateral",
                "bundle",
                "--out",
                &out,
                "--snp-report",
                &report,
                "--vcek",
                &vcek,
                "--tdx-quote",
                &quote,
                "--tdx-collateral",
                &coll,
            ]),
            0
        );
        assert_eq!(teectl(&["collateral", "inspect", &out, "--json"]), 0);
        assert_eq!(teectl(&["collateral", "bundle", "--out", &out]), 1);
        let tdx = |when: &str| {
            teectl(&[
                "verify",
                "--platform",
                "tdx",
                "--quote",
                &quote,
                "--collateral",
                &out,
                "--at",
                when,
                "--allow-any-measurement",
            ])
        };
        assert_eq!(tdx("2025-07-19T10:00:00Z"), 4);
        assert_eq!(tdx("2025-07-20T00:00:00Z"), 3);
        let zero_rd = "00".repeat(64);
        let snp = |extra: &[&str]| {
            let mut a = vec![
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &report,
                "--collateral",
                &out,
                "--at",
                "2026-06-01T00:00:00Z",
                "--allow-any-measurement",
                "--report-data",
                &zero_rd,
            ];
            a.extend_from_slice(extra);
            teectl(&a)
        };
        // The VCEK comes from the bundle; without an AMD CRL only the
        // explicit allowance passes.
        assert_eq!(snp(&["--allow-unchecked-revocation"]), 0);
        assert_eq!(snp(&[]), 3);
        // A missing bundle is an error, not a pass.
        let none = dir.path().join("none.json").display().to_string();
        assert_ne!(
            teectl(&[
                "verify",
                "--platform",
                "tdx",
                "--quote",
                &quote,
                "--collateral",
                &none,
                "--at",
                "2025-07-19T10:00:00Z",
                "--allow-any-measurement",
            ]),
            0
        );
    }
}
