//! `teectl verify`: authenticity, then appraisal, printed as JSON.
//!
//! The flags of each platform live in that platform's module; this module
//! calls into them (never the other way round) and dispatches verification
//! through [`tee::Verifiers`]: evidence of a platform without a verifier in
//! this build is `Unsupported` (exit 5), never handed to another verifier.

use std::path::PathBuf;

use serde_json::Value;
use tee::{Claims, Evidence, Platform, Policy, UnixTime, Verified, Verifiers, appraise};

use crate::common::{self, CliError, ReportDataArgs};
use crate::exit;
#[cfg(feature = "pef")]
use crate::pef;
#[cfg(feature = "sev-snp")]
use crate::sev;
#[cfg(feature = "tdx")]
use crate::tdx;

/// Arguments of `teectl verify`: the shared flags, then each platform's.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Evidence JSON written by `teectl report` (any platform), Trustee /
    /// CoCo attestation-agent evidence (`snp`, `tdx`, `sample` primary
    /// evidence, bare or inside a KBS Attestation message), or Azure vTPM
    /// evidence JSON of Trustee (`az-snp-vtpm`/`az-tdx-vtpm`, v0-v2) or
    /// attestation-rs (`az-snp`/`az-tdx`), converted to the SDK envelope.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["platform", "report"])]
    evidence: Option<PathBuf>,
    /// Platform of a raw report/quote given with --report or --quote.
    #[arg(long, value_name = "PLATFORM")]
    platform: Option<String>,
    /// SEV-SNP or PEF: the raw attestation report (SEV-SNP: binary or hex).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,

    /// Collateral: a bundle (`teectl collateral bundle`) or a store
    /// directory (`teectl collateral fetch`), read offline, for SEV-SNP
    /// (VCEK, CRL) and TDX; for TDX also a QuoteCollateralV3 JSON file.
    #[arg(long, value_name = "BUNDLE_OR_DIR", conflicts_with = "collateral_dir")]
    collateral: Option<PathBuf>,

    #[cfg(feature = "sev-snp")]
    #[command(flatten)]
    sev: sev::SnpVerifyArgs,
    #[cfg(feature = "tdx")]
    #[command(flatten)]
    tdx: tdx::TdxVerifyArgs,
    #[cfg(feature = "pef")]
    #[command(flatten)]
    pef: pef::PefVerifyArgs,
    #[command(flatten)]
    gce: crate::gcp::GceVerifyArgs,

    /// Verification time (RFC 3339, e.g. 2025-07-01T00:00:00Z); default now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Expected report data.
    #[command(flatten)]
    rd: ReportDataArgs,
    /// Appraisal policy (TOML).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Accept mock evidence (NO SECURITY).
    #[arg(long)]
    allow_mock: bool,
    /// Accept debug TEEs.
    #[arg(long)]
    allow_debug: bool,
    /// Accept vTPM-mediated evidence (Azure confidential VMs,
    /// `allow_vtpm = true`): its freshness value is in the vTPM quote's
    /// extraData, and its trust chain includes the paravisor. For such
    /// evidence `--report-data HEX` of any length other than 64 bytes is
    /// compared with the quote's qualifying data as raw bytes; `--nonce`
    /// applies the SDK's rule (SHA-384 of the bound report data) to
    /// SDK-made evidence, and compares the nonce bytes as given with
    /// converted Trustee/attestation-rs evidence.
    #[arg(long)]
    allow_vtpm: bool,
    /// A reference launch measurement (hex; repeatable): added to the
    /// policy's `allowed_measurements`. Compute it with `teectl reference`.
    #[arg(long = "allowed-measurement", value_name = "HEX")]
    allowed_measurements: Vec<String>,
    /// Accept any workload when no reference value is configured
    /// (`allow_any_measurement = true`): the appraisal then does not
    /// establish which workload runs, and the output says so.
    #[arg(long)]
    allow_any_measurement: bool,
    /// When the measurement check fails, print the evidence's launch
    /// measurement next to every reference value, with the bytes where they
    /// first differ (recompute yours with `teectl reference ... --explain`
    /// and diff the transcripts).
    #[arg(long)]
    explain_measurement: bool,
    /// With --explain-measurement: recompute the reference value from these
    /// inputs (the JSON of `teectl reference sev-snp|tdx ... --json`, or its
    /// `reference_inputs` object), print the transcript, and say whether
    /// the inputs match the evidence (the policy is stale) or which input
    /// differs.
    #[arg(long, value_name = "FILE", requires = "explain_measurement")]
    reference_inputs: Option<PathBuf>,
    /// Check SEV-SNP and TDX evidence against the simulation's FAKE AMD
    /// and Intel roots (and its TDX collateral) instead of the vendors'
    /// pinned roots: for evidence of `--backend azure-sim-snp|azure-sim-tdx`.
    /// NO SECURITY; said on stderr and as `"trusted_roots": "simulation"`
    /// in the output (build feature `simulation`). No EAR token is signed
    /// for such a verdict.
    #[cfg(feature = "simulation")]
    #[arg(
        long,
        conflicts_with_all = ["collateral", "collateral_dir", "no_collateral", "ear_out"]
    )]
    trust_simulation_roots: bool,
    /// EAR token output (`--ear-out`, `--ear-key`, `--ear-kid`).
    #[command(flatten)]
    ear: crate::ear::EarOutArgs,
}

impl VerifyArgs {
    /// `--allow-unchecked-revocation` (declared by the TDX flags when built
    /// in, else by the SEV-SNP flags).
    #[cfg(feature = "sev-snp")]
    fn allow_unchecked_revocation(&self) -> bool {
        #[cfg(feature = "tdx")]
        return self.tdx.allow_unchecked_revocation;
        #[cfg(not(feature = "tdx"))]
        return self.sev.allow_unchecked_revocation;
    }

    fn quote_given(&self) -> bool {
        #[cfg(feature = "tdx")]
        return self.tdx.quote.is_some();
        #[cfg(not(feature = "tdx"))]
        return false;
    }
}

/// Evidence JSON: the SDK envelope, or (feature `azure`) Azure vTPM JSON
/// of Trustee or attestation-rs, converted.
fn parse_evidence(bytes: &[u8]) -> Result<Evidence, tee::Error> {
    // The SDK envelope and the Trustee/CoCo shapes first; then Azure's
    // peer shapes, which the Trustee converter does not take.
    let err = match tee_kbs::evidence::evidence_from_any_json(bytes) {
        Ok(ev) => return Ok(ev),
        Err(e) => e,
    };
    #[cfg(feature = "azure")]
    if let Ok((ev, true)) = tee::azure::parse_any(bytes) {
        return Ok(ev);
    }
    Err(err)
}

/// `--allow-unchecked-revocation`, whichever backend declares it.
#[cfg(all(feature = "sev-snp", feature = "tdx"))]
fn unchecked_revocation(a: &VerifyArgs) -> bool {
    let _ = a;
    #[cfg(feature = "sev-snp")]
    return a.allow_unchecked_revocation();
    #[cfg(all(not(feature = "sev-snp"), feature = "tdx"))]
    return a.tdx.allow_unchecked_revocation;
    #[cfg(not(any(feature = "sev-snp", feature = "tdx")))]
    return false;
}

/// The platform of raw `--report` / `--quote` input.
fn raw_platform(a: &VerifyArgs) -> Result<Platform, CliError> {
    match (&a.platform, a.report.is_some(), a.quote_given()) {
        (Some(p), _, _) => p
            .parse()
            .map_err(|e: tee::Error| CliError::usage(e.to_string())),
        (None, true, false) => Ok(Platform::SevSnp),
        (None, false, true) => Ok(Platform::Tdx),
        _ => Err(CliError::usage(
            "give --evidence FILE, or --platform with --report/--quote",
        )),
    }
}

/// Evidence from raw files, by the platform module that owns the flags.
fn raw_evidence(a: &VerifyArgs, platform: Platform) -> Result<Evidence, CliError> {
    let _ = a; // unread when every hardware backend is compiled out
    match platform {
        #[cfg(feature = "sev-snp")]
        Platform::SevSnp => sev::evidence(a.report.as_deref(), &a.sev),
        #[cfg(feature = "tdx")]
        Platform::Tdx => tdx::evidence(&a.tdx),
        #[cfg(feature = "pef")]
        Platform::Pef => pef::evidence(a.report.as_deref()),
        other => Err(CliError::usage(format!(
            "raw {other} reports are not accepted; use --evidence FILE"
        ))),
    }
}

/// The verifiers: the facade's set (pinned roots; mock root trusted, since
/// appraisal denies mock evidence unless --allow-mock), with the evidence
/// platform's verifier configured by its flags.
fn verifiers(a: &VerifyArgs, ev: &Evidence, raw: bool) -> Result<Verifiers, CliError> {
    let v = Verifiers::new().trust_mock_root();
    // A platform without a verifier in this build: exit 5, before any of
    // its flags are read.
    v.get(ev.platform)?;
    let _ = (a, raw); // read by the TDX and PEF flags only
    Ok(match ev.platform {
        #[cfg(feature = "tdx")]
        Platform::Tdx => v.with(tdx::verifier(
            &a.tdx,
            a.collateral.as_deref(),
            &tdx_quote_of(ev),
            raw,
        )?),
        #[cfg(feature = "pef")]
        Platform::Pef => v.with(pef::verifier(&a.pef)?),
        _ => v,
    })
}

/// Whether `ev` is Azure vTPM evidence, and if so whether its qualifying
/// data is a raw nonce (converted peer evidence).
fn vtpm_rule(ev: &Evidence) -> Option<bool> {
    #[cfg(feature = "azure")]
    if tee::azure::is_azure(ev) {
        return Some(
            ev.endorsement(tee::azure::evidence::QUALIFYING_DATA_RULE) == Some(&b"raw"[..]),
        );
    }
    let _ = ev;
    None
}

/// The expected report data / qualifying data of vTPM evidence.
fn vtpm_report_data(a: &VerifyArgs, raw_rule: bool, p: &mut Policy) -> Result<(), CliError> {
    if let Some(h) = &a.rd.report_data {
        let b = common::parse_hex("--report-data", h)?;
        if b.len() == 64 {
            p.report_data = Some(tee::ReportData::from_slice(&b).map_err(CliError::from)?);
        } else {
            p.qualifying_data = Some(b.into());
        }
    } else if let Some(n) = &a.rd.nonce {
        if raw_rule {
            if a.rd.user_data.is_some() {
                return Err(CliError::usage(
                    "--user-data: this vTPM evidence carries the verifier's nonce as is \
                     (Trustee/attestation-rs); there is no user data to bind",
                ));
            }
            p.qualifying_data = Some(common::parse_hex("--nonce", n)?.into());
        } else if let Some(rd) = a.rd.get()? {
            p.report_data = Some(rd);
        }
    }
    Ok(())
}

/// The TD quote of TDX evidence: the evidence itself, or the TD quote
/// inside Azure vTPM evidence (what `--collateral-dir` looks up).
#[cfg(feature = "tdx")]
fn tdx_quote_of(ev: &Evidence) -> Evidence {
    #[cfg(feature = "azure")]
    if tee::azure::is_azure(ev)
        && let Some(q) = ev.endorsement(tee::azure::evidence::TDX_QUOTE)
    {
        return Evidence::new(Platform::Tdx, tee::evidence::format::TDX_QUOTE, q.to_vec());
    }
    ev.clone()
}

/// The policy: the file (or the fail-closed default), then command-line overrides.
fn policy(a: &VerifyArgs, ev: &Evidence) -> Result<Policy, CliError> {
    let platform = ev.platform;
    let mut p = match &a.policy {
        Some(path) => Policy::from_toml_bytes(&common::read_bounded(
            path,
            common::limit::POLICY,
            "policy file",
        )?)
        .map_err(|e| CliError::from(e).context(path.display()))?,
        None => Policy::default(),
    };
    if a.allow_mock {
        p.allow_mock = true;
    }
    if a.allow_debug {
        p.allow_debug = true;
    }
    for m in &a.allowed_measurements {
        let bytes = hex::decode(m.trim())
            .map_err(|e| CliError::usage(format!("--allowed-measurement {m}: not hex ({e})")))?;
        p.allowed_measurements.push(bytes.into());
    }
    if a.allow_any_measurement {
        p.allow_any_measurement = true;
    }
    if a.allow_vtpm {
        p.allow_vtpm = true;
    }
    match vtpm_rule(ev) {
        Some(raw_rule) => vtpm_report_data(a, raw_rule, &mut p)?,
        None => {
            if let Some(rd) = a.rd.get()? {
                p.report_data = Some(rd);
            }
        }
    }
    // Every other SEV-SNP policy knob lives in the `[sev-snp]` section of --policy.
    #[cfg(feature = "sev-snp")]
    if platform == Platform::SevSnp {
        sev::apply_policy(a.allow_unchecked_revocation(), &a.sev, &mut p);
    }
    #[cfg(feature = "tdx")]
    if platform == Platform::Tdx {
        tdx::apply_policy(&a.tdx, &mut p)?;
    }
    let _ = platform; // read by the TDX flags only
    Ok(p)
}

/// The JSON printed on stdout (the layout every binding prints too:
/// [`tee_verify::output`]).
pub(crate) fn output(
    claims: &Verified<Claims>,
    appraisal: &tee::Appraisal,
) -> Result<Value, CliError> {
    tee_verify::output(claims, appraisal)
        .map_err(|e| CliError::usage(format!("JSON encoding: {e}")))
}

pub(crate) fn run(a: &VerifyArgs) -> Result<u8, CliError> {
    let (ev, raw) = match &a.evidence {
        Some(p) => {
            let bytes = common::read_bounded(p, common::limit::EVIDENCE, "evidence JSON")?;
            let ev = parse_evidence(&bytes).map_err(|e| CliError::from(e).context(p.display()))?;
            (ev, false)
        }
        None => {
            let platform = raw_platform(a)?;
            Verifiers::new().trust_mock_root().get(platform)?;
            (raw_evidence(a, platform)?, true)
        }
    };
    let at = match &a.at {
        Some(t) => UnixTime::parse_rfc3339(t).map_err(|e| CliError::usage(format!("--at: {e}")))?,
        None => UnixTime::now(),
    };
    #[cfg(feature = "sev-snp")]
    let ev = if ev.platform == Platform::SevSnp {
        sev::attach_crl(&a.sev, ev)?
    } else {
        ev
    };
    // A bundle or store directory: the offline collateral manager prepares
    // the evidence and the verifiers (fail closed: missing or stale is an error).
    #[cfg(all(feature = "sev-snp", feature = "tdx"))]
    let bundle = a
        .collateral
        .as_deref()
        .filter(|p| crate::collateral::is_bundle_or_dir(p))
        .filter(|_| matches!(ev.platform, Platform::SevSnp | Platform::Tdx));
    #[cfg(not(all(feature = "sev-snp", feature = "tdx")))]
    let bundle: Option<&std::path::Path> = None;
    #[cfg(feature = "simulation")]
    let bundle = bundle.filter(|_| !a.trust_simulation_roots);
    let (ev, verifiers) = match bundle {
        #[cfg(all(feature = "sev-snp", feature = "tdx"))]
        Some(path) => {
            let p = crate::collateral::offline(path, unchecked_revocation(a))?
                .prepare(&ev, at)
                .map_err(|e| crate::collateral::cli_error(e).context(path.display()))?;
            (p.evidence, p.verifiers)
        }
        #[cfg(feature = "simulation")]
        _ if a.trust_simulation_roots => (ev, crate::simulation::verifiers()),
        _ => {
            let v = verifiers(a, &ev, raw)?;
            (ev, v)
        }
    };
    // GCE: the AK certificate's chain first (exit 3 when it fails); its
    // binding replaces the nonce-only report data.
    let gce = crate::gcp::verify_ak_cert(&a.gce, &ev, at)?;
    let mut policy = policy(a, &ev)?;
    let nonce = match &a.rd.nonce {
        Some(n) => common::parse_hex("--nonce", n)?,
        None => Vec::new(),
    };
    if let Some(g) = &gce {
        policy.report_data = Some(g.bound_report_data(&nonce));
    }
    let policy = policy;
    // A broken inputs file is refused before anything is printed.
    let inputs = match &a.reference_inputs {
        Some(f) => Some(crate::reference::load(f, ev.platform)?),
        None => None,
    };
    let claims = verifiers.verify(&ev, at)?;
    let mut appraisal = appraise(&claims, &policy);
    let gce_out = match &gce {
        Some(g) => {
            let bound = g.binds(&claims.report_data, &nonce);
            appraisal.check(
                "gce.ak_binding",
                bound,
                if bound {
                    "the report data is ReportData::bind(nonce, SHA-512(AK SPKI)): the TEE bound \
                     the GCE vTPM AK of the verified certificate (the vTPM itself is \
                     host-emulated: vtpm_trust = hypervisor)"
                } else {
                    "the report data is not ReportData::bind(nonce, SHA-512(AK SPKI)) for this \
                     AK certificate: the evidence binds another AK (or none), or was made for \
                     another nonce"
                },
            );
            Some(crate::gcp::output(g, bound)?)
        }
        None => None,
    };
    let mut json = output(&claims, &appraisal)?;
    if let (Some(g), Value::Object(m)) = (gce_out, &mut json) {
        m.insert("gce_ak".into(), g);
    }
    #[cfg(feature = "simulation")]
    if a.trust_simulation_roots
        && let Value::Object(m) = &mut json
    {
        m.insert(
            "trusted_roots".into(),
            Value::String(crate::simulation::TRUSTED_ROOTS.into()),
        );
    }
    crate::ear::write_token(&a.ear, &claims, &appraisal, &policy, a.rd.nonce.as_deref())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json).map_err(|e| CliError::usage(e.to_string()))?
    );
    if a.explain_measurement {
        explain_measurement(&claims, &policy, &appraisal, inputs)?;
    }
    // People read stderr: what was not checked, and what would check it.
    for c in appraisal
        .checks
        .iter()
        .filter(|c| c.outcome == tee::Outcome::Skipped)
    {
        eprintln!("teectl: skipped {}: {}", c.name, c.detail);
    }
    if policy.allow_any_measurement && policy.allowed_measurements.is_empty() {
        eprintln!(
            "teectl: WARNING: --allow-any-measurement / allow_any_measurement = true: \
             any workload is accepted; this appraisal does not say which workload runs"
        );
    }
    if appraisal.passed() {
        Ok(exit::OK)
    } else {
        let failed: Vec<_> = appraisal
            .failed()
            .map(|c| format!("{} ({})", c.name, c.detail))
            .collect();
        eprintln!("teectl: appraisal failed: {}", failed.join("; "));
        Ok(exit::POLICY)
    }
}

/// `--explain-measurement`: the evidence's launch measurement beside each
/// reference value, and where each first differs; with `--reference-inputs`
/// the recomputation's transcript and verdict.
fn explain_measurement(
    claims: &Claims,
    policy: &Policy,
    appraisal: &tee::Appraisal,
    inputs: Option<crate::reference::Loaded>,
) -> Result<(), CliError> {
    let failed = appraisal.failed().any(|c| c.name == "measurement");
    if !failed {
        eprintln!("teectl: explain-measurement: the measurement check did not fail");
        return Ok(());
    }
    let Some(have) = claims.launch_measurement.value() else {
        eprintln!("teectl: explain-measurement: the evidence carries no launch measurement");
        return Ok(());
    };
    eprintln!("teectl: explain-measurement:");
    eprintln!("  evidence   {have}");
    if policy.allowed_measurements.is_empty() {
        eprintln!(
            "  reference  (none configured: compute one with `teectl reference ... --policy-out FILE`)"
        );
    }
    for want in &policy.allowed_measurements {
        let first = have
            .iter()
            .zip(want.iter())
            .position(|(a, b)| a != b)
            .map_or_else(
                || format!("lengths differ ({} vs {} bytes)", have.len(), want.len()),
                |i| format!("first differs at byte {i}"),
            );
        eprintln!("  reference  {want}  ({first})");
    }
    eprintln!(
        "  a launch digest changes with every input: firmware build, kernel/initrd/command line, \
         vCPU count and type, VMM type, guest features (SNP); page-add order (TDX). \
         Recompute with `teectl reference ... --explain` and diff the transcripts \
         (docs/reference-values.md)."
    );
    if let Some(loaded) = inputs {
        for l in loaded.recompute(have)? {
            eprintln!("  {l}");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    #[cfg(feature = "sev-snp")]
    use std::path::{Path, PathBuf};

    /// The shared vectors; a loud failure under `CI` when they are missing.
    #[cfg(feature = "sev-snp")]
    fn vectors() -> Option<PathBuf> {
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    }

    #[cfg(feature = "sev-snp")]
    #[test]
    fn json_keys() {
        let Some(v) = vectors() else { return };
        let f = |rel: &str| std::fs::read(v.join(rel)).unwrap();
        let at = tee::UnixTime::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let ev = tee::sev::evidence_from_parts(
            &f("ms-tee-av/turin_attestation_report.bin"),
            Some(&f("ms-tee-av/turin_vcek.pem")),
            &[],
        )
        .unwrap();
        let claims = tee::Verifier::verify(&tee::sev::SnpVerifier::new(), &ev, at).unwrap();
        let appraisal = tee::appraise(&claims, &tee::Policy::default());
        let j = super::output(&claims, &appraisal).unwrap();
        assert_eq!(j["platform"], "sev-snp");
        assert_eq!(j["version"], 5);
        assert_eq!(j["product"], "turin");
        assert_eq!(j["signing_key"], "vcek");
        assert_eq!(j["debug"], false);
        assert_eq!(j["vmpl"], 0);
        assert!(
            j["chip_id"]
                .as_str()
                .unwrap()
                .starts_with("59790fb1c39f35c1")
        );
        assert_eq!(j["measurement"].as_str().unwrap().len(), 96);
        assert_eq!(j["report_data"].as_str().unwrap().len(), 128);
        assert_eq!(j["host_data"].as_str().unwrap().len(), 64);
        assert_eq!(j["policy"]["smt"], true);
        assert_eq!(j["policy"]["debug"], false);
        let t = &j["reported_tcb"];
        assert_eq!(
            (
                &t["fmc"],
                &t["bootloader"],
                &t["tee"],
                &t["snp"],
                &t["microcode"]
            ),
            (&1.into(), &1.into(), &1.into(), &4.into(), &81.into())
        );
    }
}
