//! `teectl` commands for SEV-SNP.
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
//! - sev.rs only: `pub(crate) fn doctor(g: &Global, json: bool) -> Result<u8, CliError>`.
//!
//! Errors: `CliError::from(tee::Error)` maps to the documented exit codes
//! (2 malformed, 3 authenticity, 4 policy, 5 unsupported); `CliError::usage` is 1.
//! Helpers: `common::{read, write_atomic, parse_hex}`; JSON output of verification is
//! generic (`verify::output`): raw claim fields are flattened into the top level.

use std::fmt::Write as _;
use std::path::PathBuf;

use tee::sev::report::{Product, SnpReport};
use tee::sev::{SnpVerifier, doctor as doc, verify as snpv};
use tee::{Evidence, Policy, Verifier};

use crate::Global;
use crate::common::{self, CliError};
use crate::verify::VerifyArgs;

/// SEV-SNP subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Print a human-readable dump of a report (raw binary or hex), or of
    /// the report inside an evidence JSON file.
    Show {
        /// The file.
        file: PathBuf,
        /// The VCEK/VLEK (DER or PEM): names the product of a version 2
        /// report, whose TCB layout depends on it.
        #[arg(long, visible_alias = "vlek", value_name = "FILE")]
        vcek: Option<PathBuf>,
    },
}

pub(crate) fn run(_g: &Global, cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::Show { file, vcek } => {
            let bytes = common::read(&file)?;
            let raw = match Evidence::from_json(&bytes) {
                Ok(ev) => ev.report,
                Err(_) => snpv::decode_report_file(&bytes)
                    .map_err(|e| CliError::from(e).context(file.display()))?,
            };
            let cert_product = match &vcek {
                Some(p) => {
                    let certs = tee::sev::certs::decode_certs(&common::read(p)?)
                        .map_err(|e| CliError::from(e).context(p.display()))?;
                    certs.first().and_then(|c| c.product())
                }
                None => None,
            };
            let r =
                SnpReport::parse(&raw).map_err(|e| CliError::from(e).context(file.display()))?;
            print!("{}", show(&r, cert_product));
            Ok(0)
        }
    }
}

fn hexs(b: &[u8]) -> String {
    hex::encode(b)
}

/// The human-readable dump.
fn show(r: &SnpReport<'_>, cert_product: Option<Product>) -> String {
    let mut s = String::new();
    let product = r.product().or(cert_product);
    let key = match r.signing_key() {
        Ok(tee::platforms::SnpSigningKey::Vcek) => "VCEK".to_owned(),
        Ok(tee::platforms::SnpSigningKey::Vlek) => "VLEK".to_owned(),
        Err(e) => format!("invalid ({e})"),
    };
    let _ = writeln!(
        s,
        "SEV-SNP attestation report (NOT verified; use `teectl verify`)"
    );
    let _ = writeln!(s, "  version:            {}", r.version);
    let _ = writeln!(
        s,
        "  product:            {}",
        product.map_or_else(
            || "unknown (version 2: pass --vcek to name it)".to_owned(),
            |p| p.name().to_owned()
        )
    );
    if let Some([f, m, st]) = r.cpuid {
        let _ = writeln!(
            s,
            "  cpuid:              family {f:#04x} model {m:#04x} stepping {st}"
        );
    }
    let _ = writeln!(s, "  signing key:        {key}");
    let _ = writeln!(s, "  signature algo:     {}", r.sig_algo);
    let p = r.guest_policy();
    let _ = writeln!(
        s,
        "  policy:             {:#x} (ABI {}.{}, SMT {}, migration agent {}, debug {}, single socket {})",
        p.raw,
        p.abi_major,
        p.abi_minor,
        yn(p.smt),
        yn(p.migrate_ma),
        yn(p.debug),
        yn(p.single_socket)
    );
    let _ = writeln!(s, "  vmpl:               {}", r.vmpl);
    let _ = writeln!(s, "  guest svn:          {}", r.guest_svn);
    let _ = writeln!(s, "  family id:          {}", hexs(r.family_id));
    let _ = writeln!(s, "  image id:           {}", hexs(r.image_id));
    let _ = writeln!(s, "  measurement:        {}", hexs(r.measurement));
    let _ = writeln!(s, "  report data:        {}", hexs(r.report_data));
    let _ = writeln!(s, "  host data:          {}", hexs(r.host_data));
    let _ = writeln!(s, "  id key digest:      {}", hexs(r.id_key_digest));
    let _ = writeln!(s, "  author key digest:  {}", hexs(r.author_key_digest));
    let _ = writeln!(s, "  report id:          {}", hexs(r.report_id));
    let _ = writeln!(s, "  report id (MA):     {}", hexs(r.report_id_ma));
    let _ = writeln!(
        s,
        "  chip id:            {}{}",
        hexs(r.chip_id),
        if r.chip_id_masked() { " (masked)" } else { "" }
    );
    let pi = r.platform_info_decoded();
    let _ = writeln!(
        s,
        "  platform info:      {:#x} (SMT {}, TSME {}, ECC {}, RAPL disabled {}, ciphertext hiding {})",
        pi.raw,
        yn(pi.smt_enabled),
        yn(pi.tsme_enabled),
        yn(pi.ecc_enabled),
        yn(pi.rapl_disabled),
        yn(pi.ciphertext_hiding_enabled)
    );
    for (name, t) in [
        ("current tcb", r.current_tcb),
        ("reported tcb", r.reported_tcb),
        ("committed tcb", r.committed_tcb),
        ("launch tcb", r.launch_tcb),
    ] {
        let decoded = product.map_or_else(
            || "layout depends on the product".to_owned(),
            |p| {
                let d = t.decode(p);
                let fmc = d.fmc.map(|f| format!("fmc {f}, ")).unwrap_or_default();
                format!(
                    "{fmc}bootloader {}, tee {}, snp {}, microcode {}",
                    d.bootloader, d.tee, d.snp, d.microcode
                )
            },
        );
        let _ = writeln!(s, "  {:<19} {:#018x} ({decoded})", format!("{name}:"), t.0);
    }
    let _ = writeln!(
        s,
        "  firmware:           current {}, committed {}",
        r.current_version, r.committed_version
    );
    if let (Some(l), Some(c)) = (r.launch_mit_vector, r.current_mit_vector) {
        let _ = writeln!(s, "  mitigation vectors: launch {l:#x}, current {c:#x}");
    }
    let _ = writeln!(s, "  signature r:        {}", hexs(r.sig_r));
    let _ = writeln!(s, "  signature s:        {}", hexs(r.sig_s));
    s
}

fn yn(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(crate) fn evidence_from_args(a: &VerifyArgs) -> Result<Evidence, CliError> {
    let report_path = a
        .report
        .as_ref()
        .ok_or_else(|| CliError::usage("--platform sev-snp needs --report FILE"))?;
    let report = common::read(report_path)?;
    let vcek = a.vcek.as_ref().map(|p| common::read(p)).transpose()?;
    let mut chain = Vec::new();
    for p in [&a.ask, &a.ark, &a.cert_chain].into_iter().flatten() {
        chain.push(common::read(p)?);
    }
    let chain_refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    snpv::evidence_from_parts(&report, vcek.as_deref(), &chain_refs).map_err(CliError::from)
}

pub(crate) fn verifier(_a: &VerifyArgs) -> Result<Box<dyn Verifier>, CliError> {
    Ok(Box::new(SnpVerifier::new()))
}

pub(crate) fn apply_policy(_a: &VerifyArgs, _p: &mut Policy) -> Result<(), CliError> {
    // Every SEV-SNP policy knob lives in the `[sev-snp]` section of --policy.
    Ok(())
}

pub(crate) fn doctor(_g: &Global, json: bool) -> Result<u8, CliError> {
    let r = doc::run(std::path::Path::new("/"), &doc::HostCpuid);
    if json {
        let text = serde_json::to_string_pretty(&r)
            .map_err(|e| CliError::usage(format!("JSON encoding: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", doc::render(&r));
    }
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::{Path, PathBuf};

    use clap::Parser as _;

    fn vectors() -> Option<PathBuf> {
        // As tee_core::conformance::vectors_dir (not re-exported by the facade).
        let d = std::env::var_os("TEE_TEST_VECTORS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
            });
        if d.join("INDEX.md").is_file() {
            return Some(d);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "test vectors not found at {}",
            d.display()
        );
        None
    }

    /// Run `teectl ARGS` in-process and return the exit code.
    fn teectl(args: &[&str]) -> u8 {
        let cli = crate::Cli::try_parse_from(std::iter::once("teectl").chain(args.iter().copied()))
            .unwrap();
        match crate::run(cli) {
            Ok(c) => c,
            Err(e) => e.code,
        }
    }

    const ZERO_RD: &str = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn verify_vectors_exit_codes() {
        let Some(v) = vectors() else { return };
        let f = |rel: &str| v.join(rel).display().to_string();
        let go_rd = format!("0102030405{}", &ZERO_RD[10..]);
        let base = |report: &str, vcek: &str, at: &str, rd: &str| -> Vec<String> {
            [
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &f(report),
                "--vcek",
                &f(vcek),
                "--at",
                at,
                "--report-data",
                rd,
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
        };
        let run = |a: &[String], extra: &[&str]| {
            let mut all: Vec<&str> = a.iter().map(String::as_str).collect();
            all.extend_from_slice(extra);
            teectl(&all)
        };
        // Valid Milan (ms-tee-av, zero report data), Turin.
        let milan = base(
            "ms-tee-av/milan_attestation_report.bin",
            "ms-tee-av/milan_vcek.pem",
            "2026-06-01T00:00:00Z",
            ZERO_RD,
        );
        assert_eq!(run(&milan, &[]), 0);
        let turin = base(
            "ms-tee-av/turin_attestation_report.bin",
            "ms-tee-av/turin_vcek.pem",
            "2026-06-01T00:00:00Z",
            ZERO_RD,
        );
        assert_eq!(run(&turin, &[]), 0);
        // Explicit chain as files (PEM bundle; ASK + ARK separately).
        assert_eq!(
            run(
                &milan,
                &["--cert-chain", &f("virtee-sev/cert_chain_milan.pem")]
            ),
            0
        );
        assert_eq!(
            run(
                &milan,
                &[
                    "--ask",
                    &f("amd-roots/milan_ask.pem"),
                    "--ark",
                    &f("amd-roots/milan_ark.pem")
                ]
            ),
            0
        );
        // Wrong ASK / wrong ARK: 3.
        assert_eq!(run(&milan, &["--ask", &f("amd-roots/genoa_ask.pem")]), 3);
        assert_eq!(run(&milan, &["--ark", &f("amd-roots/genoa_ark.pem")]), 3);
        // Debug report: 4 by default, 0 with --allow-debug.
        let go = base(
            "go-sev-guest/attestation.bin",
            "go-sev-guest/vcek.der",
            "2025-01-01T00:00:00Z",
            &go_rd,
        );
        assert_eq!(run(&go, &[]), 4);
        assert_eq!(run(&go, &["--allow-debug"]), 0);
        // VLEK (VMPL 1 needs a policy): valid inside the window, 3 outside.
        let dir = tempfile::tempdir().unwrap();
        let pol = dir.path().join("p.toml");
        std::fs::write(&pol, "allow_any_report_data = true\n[sev-snp]\nvmpl = 1\n").unwrap();
        let pol = pol.display().to_string();
        let vlek = |at: &str| {
            teectl(&[
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &f("trustee/snp/test-vlek-report.bin"),
                "--vlek",
                &f("trustee/snp/test-vlek.der"),
                "--at",
                at,
                "--policy",
                &pol,
            ])
        };
        assert_eq!(vlek("2025-06-01T00:00:00Z"), 0);
        assert_eq!(vlek("2026-01-01T00:00:00Z"), 3);
        // VLEK against the VCEK ASK: 3.
        assert_eq!(
            teectl(&[
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &f("trustee/snp/test-vlek-report.bin"),
                "--vlek",
                &f("trustee/snp/test-vlek.der"),
                "--ask",
                &f("amd-roots/milan_ask.pem"),
                "--at",
                "2025-06-01T00:00:00Z",
                "--policy",
                &pol,
            ]),
            3
        );
        // Bit flips: 3. Hex report (virtee) flipped at byte 21.
        let hexr = std::fs::read_to_string(f("virtee-sev/report_milan.hex")).unwrap();
        let mut raw = hex::decode(hexr.trim()).unwrap();
        raw[21] ^= 0x80;
        let flipped = dir.path().join("flipped.bin");
        std::fs::write(&flipped, &raw).unwrap();
        let rd = hex::encode(&raw[0x50..0x90]);
        assert_eq!(
            teectl(&[
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &flipped.display().to_string(),
                "--vcek",
                &f("virtee-sev/vcek_milan.der"),
                "--at",
                "2025-01-01T00:00:00Z",
                "--report-data",
                &rd,
            ]),
            3
        );
        raw[21] ^= 0x80;
        let ok = dir.path().join("ok.hex");
        std::fs::write(&ok, hex::encode(&raw)).unwrap();
        assert_eq!(
            teectl(&[
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &ok.display().to_string(),
                "--vcek",
                &f("virtee-sev/vcek_milan.der"),
                "--at",
                "2025-01-01T00:00:00Z",
                "--report-data",
                &rd,
            ]),
            0
        );
        // The same through an evidence envelope (`verify --evidence`).
        let ev = tee::sev::evidence_from_parts(
            &raw,
            Some(&std::fs::read(f("virtee-sev/vcek_milan.der")).unwrap()),
            &[],
        )
        .unwrap();
        let evf = dir.path().join("ev.json");
        std::fs::write(&evf, ev.to_json().unwrap()).unwrap();
        let evs = evf.display().to_string();
        assert_eq!(
            teectl(&[
                "verify",
                "--evidence",
                &evs,
                "--at",
                "2025-01-01T00:00:00Z",
                "--report-data",
                &rd
            ]),
            0
        );
        assert_eq!(
            teectl(&[
                "verify",
                "--evidence",
                &evs,
                "--at",
                "2031-01-01T00:00:00Z",
                "--report-data",
                &rd
            ]),
            3
        );
        // Truncated report: 2. Missing VCEK: 3.
        let short = dir.path().join("short.bin");
        std::fs::write(&short, &raw[..100]).unwrap();
        assert_eq!(
            teectl(&[
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &short.display().to_string()
            ]),
            2
        );
        assert_eq!(
            teectl(&[
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &ok.display().to_string(),
                "--at",
                "2025-01-01T00:00:00Z"
            ]),
            3
        );
    }

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
        let j = crate::verify::output(&claims, &appraisal).unwrap();
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

    #[test]
    fn show_and_doctor() {
        assert_eq!(teectl(&["doctor"]), 0);
        assert_eq!(teectl(&["doctor", "--json"]), 0);
        let Some(v) = vectors() else { return };
        let f = |rel: &str| v.join(rel).display().to_string();
        assert_eq!(
            teectl(&["sev-snp", "show", &f("virtee-sev/report_milan.hex")]),
            0
        );
        assert_eq!(
            teectl(&[
                "sev-snp",
                "show",
                &f("go-sev-guest/attestation.bin"),
                "--vcek",
                &f("go-sev-guest/vcek.der")
            ]),
            0
        );
        let r = tee::sev::verify::decode_report_file(
            &std::fs::read(f("ms-tee-av/turin_attestation_report.bin")).unwrap(),
        )
        .unwrap();
        let text = super::show(&tee::sev::SnpReport::parse(&r).unwrap(), None);
        assert!(text.contains("product:            turin"));
        assert!(text.contains("fmc 1, bootloader 1, tee 1, snp 4, microcode 81"));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"not a report").unwrap();
        assert_eq!(teectl(&["sev-snp", "show", &bad.display().to_string()]), 2);
    }
}
