//! `teectl sev-snp ...` and the SEV-SNP flags of
//! `teectl verify`.

use std::path::{Path, PathBuf};

use tee::Evidence;
use tee::sev::report::SnpReport;
use tee::sev::verify as snpv;

use crate::common::{self, CliError};
use crate::exit;

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

/// The SEV-SNP flags of `teectl verify` (with the shared `--report FILE`).
#[derive(Debug, clap::Args)]
pub(crate) struct SnpVerifyArgs {
    /// SEV-SNP: the endorsement key certificate, VCEK or VLEK (DER or PEM).
    #[arg(long, visible_alias = "vlek", value_name = "FILE")]
    vcek: Option<PathBuf>,
    /// SEV-SNP: the ASK or ASVK certificate (default: pinned for the report's product).
    #[arg(long, value_name = "FILE")]
    ask: Option<PathBuf>,
    /// SEV-SNP: the ARK certificate (must equal the pinned ARK).
    #[arg(long, value_name = "FILE")]
    ark: Option<PathBuf>,
    /// SEV-SNP: a PEM bundle with ASK/ASVK and ARK.
    #[arg(long, value_name = "FILE")]
    cert_chain: Option<PathBuf>,
    /// SEV-SNP: an AMD KDS CRL (DER, from `…/vcek/v1/{product}/crl`); it is
    /// attached to the evidence and checked (issued by the ARK, current at --at).
    #[arg(long, value_name = "FILE")]
    crl: Option<PathBuf>,
    /// SEV-SNP: accept a report whose chain was not checked against an AMD
    /// CRL (sets `[sev-snp] allow_unchecked_revocation`; shown in the
    /// appraisal). With the TDX flags built in, the one
    /// `--allow-unchecked-revocation` flag is declared there and serves both.
    #[cfg(not(feature = "tdx"))]
    #[arg(long)]
    pub(crate) allow_unchecked_revocation: bool,
    /// SEV-SNP: require a VLEK-signed report whose VLEK names this cloud
    /// provider (its CSP id, e.g. `CN=cc-us-east-2.amazonaws.com` on AWS;
    /// repeatable; added to `[sev-snp] allowed_csp_ids`). A VCEK-signed
    /// report then fails the `sev-snp.csp_id` check.
    #[arg(long = "allowed-csp-id", value_name = "ID")]
    allowed_csp_ids: Vec<String>,
}

/// Attach `--crl FILE` to SEV-SNP evidence as an `amd-kds-crl-der` endorsement.
pub(crate) fn attach_crl(a: &SnpVerifyArgs, ev: Evidence) -> Result<Evidence, CliError> {
    match &a.crl {
        None => Ok(ev),
        Some(p) => {
            let der = common::read_bounded(p, common::limit::CERTS, "AMD CRL")?;
            // Decoded here so that a file that is not a CRL names itself.
            tee::sev::crl::AmdCrl::from_der(&der)
                .map_err(|e| CliError::from(e).context(p.display()))?;
            Ok(ev.with_endorsement(tee::evidence::endorsement::AMD_CRL_DER, der))
        }
    }
}

/// The SEV-SNP command-line policy overrides (`--allow-unchecked-revocation`).
pub(crate) fn apply_policy(
    allow_unchecked_revocation: bool,
    a: &SnpVerifyArgs,
    p: &mut tee::Policy,
) {
    if allow_unchecked_revocation {
        p.sev_snp.allow_unchecked_revocation = true;
    }
    for id in &a.allowed_csp_ids {
        if !p.sev_snp.allowed_csp_ids.contains(id) {
            p.sev_snp.allowed_csp_ids.push(id.clone());
        }
    }
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::Show { file, vcek } => {
            let bytes =
                common::read_bounded(&file, common::limit::EVIDENCE, "report or evidence JSON")?;
            let (raw, json_product) = match Evidence::from_json(&bytes) {
                // The evidence's own VCEK/VLEK names the product of a
                // version 2 report (not verified: this is a dump).
                Ok(ev) => {
                    let product = snpv::Endorsements::from_evidence(&ev)
                        .ok()
                        .and_then(|e| e.signing_certs.first().and_then(|c| c.product()));
                    (ev.report, product)
                }
                Err(_) => (
                    snpv::decode_report_file(&bytes)
                        .map_err(|e| CliError::from(e).context(file.display()))?,
                    None,
                ),
            };
            let cert_product = match &vcek {
                Some(p) => {
                    let certs = tee::sev::certs::decode_certs(&common::read_bounded(
                        p,
                        common::limit::CERTS,
                        "certificate file",
                    )?)
                    .map_err(|e| CliError::from(e).context(p.display()))?;
                    certs.first().and_then(|c| c.product())
                }
                None => json_product,
            };
            let r =
                SnpReport::parse(&raw).map_err(|e| CliError::from(e).context(file.display()))?;
            print!("{}", r.dump(cert_product));
            Ok(exit::OK)
        }
    }
}

/// Evidence from a raw report file and the certificate flags.
pub(crate) fn evidence(report: Option<&Path>, a: &SnpVerifyArgs) -> Result<Evidence, CliError> {
    let report_path =
        report.ok_or_else(|| CliError::usage("--platform sev-snp needs --report FILE"))?;
    let report = common::read_bounded(report_path, common::limit::SNP_REPORT, "SEV-SNP report")?;
    let vcek = a
        .vcek
        .as_ref()
        .map(|p| common::read_bounded(p, common::limit::CERTS, "certificate file"))
        .transpose()?;
    let mut chain = Vec::new();
    for p in [&a.ask, &a.ark, &a.cert_chain].into_iter().flatten() {
        chain.push(common::read_bounded(
            p,
            common::limit::CERTS,
            "certificate file",
        )?);
    }
    let chain_refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    snpv::evidence_from_parts(&report, vcek.as_deref(), &chain_refs).map_err(CliError::from)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::{Path, PathBuf};

    use clap::Parser as _;

    /// The shared vectors; a loud failure under `CI` when they are missing.
    fn vectors() -> Option<PathBuf> {
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
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
        // The report's own launch measurement (offset 0x90) as the reference value.
        let own_measurement =
            |report: &str| hex::encode(&std::fs::read(f(report)).unwrap()[0x90..0xC0]);
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
                // The vectors carry no AMD CRL: opted in explicitly.
                "--allow-unchecked-revocation",
                "--allowed-measurement",
                &own_measurement(report),
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
        // Without a reference value the same genuine, fresh report fails
        // appraisal (4); with any workload explicitly accepted it passes.
        let no_reference = &milan[..milan.len() - 2];
        assert_eq!(run(no_reference, &[]), 4);
        assert_eq!(run(no_reference, &["--allow-any-measurement"]), 0);
        assert_eq!(
            run(no_reference, &["--allowed-measurement", &"00".repeat(48)]),
            4
        );
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
        std::fs::write(
            &pol,
            "allow_any_report_data = true\nallow_any_measurement = true\n[sev-snp]\nvmpl = 1\nallow_unchecked_revocation = true\n",
        )
        .unwrap();
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
        let m = hex::encode(&raw[0x90..0xC0]);
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
                "--allowed-measurement",
                &m,
                "--allow-unchecked-revocation",
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
                &rd,
                "--allowed-measurement",
                &m,
                "--allow-unchecked-revocation",
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
    fn finding14_verify_without_crl_exits_4_unless_allowed() {
        let Some(v) = vectors() else { return };
        let f = |rel: &str| v.join(rel).display().to_string();
        let args = |extra: &[&str]| -> u8 {
            let report = f("ms-tee-av/milan_attestation_report.bin");
            let vcek = f("ms-tee-av/milan_vcek.pem");
            let mut a = vec![
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &report,
                "--vcek",
                &vcek,
                "--at",
                "2026-06-01T00:00:00Z",
                "--report-data",
                ZERO_RD,
                // Not under test here: the workload is not pinned.
                "--allow-any-measurement",
            ];
            a.extend_from_slice(extra);
            teectl(&a)
        };
        // No CRL, no opt-in: appraisal failure (the revocation check).
        assert_eq!(args(&[]), crate::exit::POLICY);
        assert_eq!(args(&["--allow-unchecked-revocation"]), crate::exit::OK);
        let dir = tempfile::tempdir().unwrap();
        // A file that is not a CRL: malformed input.
        let bad = dir.path().join("bad.crl");
        std::fs::write(&bad, b"not a crl").unwrap();
        assert_eq!(
            args(&["--crl", &bad.display().to_string()]),
            crate::exit::MALFORMED
        );
    }

    /// AWS: `--allowed-csp-id` requires the VLEK's CSP id (the trustee
    /// VLEK vector, `CN=cc-us-east-2.amazonaws.com`): 0 with it, 4 with
    /// another, 0 without the flag.
    #[test]
    fn vlek_csp_id_required_by_flag() {
        let Some(v) = vectors() else { return };
        let f = |rel: &str| v.join(rel).display().to_string();
        let dir = tempfile::tempdir().unwrap();
        let pol = dir.path().join("p.toml");
        std::fs::write(
            &pol,
            "allow_any_report_data = true\nallow_any_measurement = true\n[sev-snp]\nvmpl = 1\nallow_unchecked_revocation = true\n",
        )
        .unwrap();
        let (pol, report, vlek) = (
            pol.display().to_string(),
            f("trustee/snp/test-vlek-report.bin"),
            f("trustee/snp/test-vlek.der"),
        );
        let run = |csp: &[&str]| {
            let mut a = vec![
                "verify",
                "--platform",
                "sev-snp",
                "--report",
                &report,
                "--vlek",
                &vlek,
                "--at",
                "2025-06-01T00:00:00Z",
                "--policy",
                &pol,
            ];
            for c in csp {
                a.extend(["--allowed-csp-id", c]);
            }
            teectl(&a)
        };
        assert_eq!(run(&[]), 0);
        assert_eq!(run(&["CN=cc-us-east-2.amazonaws.com"]), 0);
        assert_eq!(run(&["CN=other.example"]), 4);
        assert_eq!(
            run(&["CN=other.example", "CN=cc-us-east-2.amazonaws.com"]),
            0
        );
    }

    #[test]
    fn show_and_doctor() {
        // This machine has no TEE: doctor says so with exit 5 (on a TEE
        // guest or host the answer is 0 or 4).
        let here = tee::detect().environment.platform().is_none();
        if here {
            assert_eq!(teectl(&["doctor"]), 5);
            assert_eq!(teectl(&["doctor", "--json"]), 5);
        }
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
        let text = tee::sev::SnpReport::parse(&r).unwrap().to_string();
        assert!(text.contains("product:            turin"));
        assert!(text.contains("alias check complete"), "{text}");
        assert!(text.contains("author key enabled no"), "{text}");
        assert!(text.contains("fmc 1, bootloader 1, tee 1, snp 4, microcode 81"));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"not a report").unwrap();
        assert_eq!(teectl(&["sev-snp", "show", &bad.display().to_string()]), 2);
    }
}
