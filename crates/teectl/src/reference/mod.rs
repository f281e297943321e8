//! `teectl reference ...`: compute the reference values a relying party
//! should expect (launch digests, ID blocks, MRTD, RTMRs), explain every
//! input and step (`--explain`), and write them as a policy section
//! (`--policy-out FILE`) that `teectl verify --policy` reads as is.
//!
//! One submodule per platform, each owning its flags; this module only
//! dispatches.

#[cfg(feature = "pef")]
mod pef;
#[cfg(feature = "sev-snp")]
mod snp;
#[cfg(feature = "tdx")]
mod tdx;

use std::path::{Path, PathBuf};

use tee::Platform;

use crate::common::{self, CliError};

/// `teectl reference` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// AMD SEV-SNP: the launch digest from OVMF and the VMM's inputs; ID blocks.
    #[cfg(feature = "sev-snp")]
    #[command(name = "sev-snp")]
    SevSnp(snp::Args),
    /// Intel TDX: MRTD from a TDVF image; RTMRs from a known-good event log.
    #[cfg(feature = "tdx")]
    Tdx(tdx::Args),
    /// IBM PEF: the ESM measurement from the kernel, initrd and boot arguments.
    #[cfg(feature = "pef")]
    Pef(pef::Args),
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        #[cfg(feature = "sev-snp")]
        Cmd::SevSnp(a) => snp::run(a),
        #[cfg(feature = "tdx")]
        Cmd::Tdx(a) => tdx::run(a),
        #[cfg(feature = "pef")]
        Cmd::Pef(a) => pef::run(a),
    }
}

/// `p` made absolute against the working directory (for files that name
/// inputs to be read back from elsewhere).
#[allow(dead_code)] // unused when no platform with reference inputs is built
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `teectl verify --reference-inputs FILE`: recompute the evidence
/// platform's launch measurement from the inputs in FILE (the JSON of
/// `teectl reference ... --json`, or its `reference_inputs` object alone;
/// relative paths are relative to FILE's directory) and diagnose the
/// evidence's value against it. Returns the lines to print.
#[cfg(test)]
pub(crate) fn recompute(
    file: &Path,
    platform: Platform,
    measurement: &[u8],
) -> Result<Vec<String>, CliError> {
    load(file, platform)?.recompute(measurement)
}

/// Reference inputs read and checked (JSON object, platform of the
/// evidence), before any verification output is printed.
#[derive(Debug)]
pub(crate) struct Loaded {
    v: serde_json::Value,
    base: PathBuf,
    platform: Platform,
}

/// Read `--reference-inputs FILE` for evidence of `platform`.
pub(crate) fn load(file: &Path, platform: Platform) -> Result<Loaded, CliError> {
    let bytes = common::read_bounded(file, 1 << 20, "reference inputs")?;
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        CliError::from(tee::Error::encoding("reference inputs JSON", e)).context(file.display())
    })?;
    if let Some(inner) = v.get_mut("reference_inputs") {
        v = inner.take();
    }
    let Some(obj) = v.as_object_mut() else {
        return Err(CliError::usage(format!(
            "{}: reference inputs must be a JSON object",
            file.display()
        )));
    };
    let named = obj
        .remove("platform")
        .and_then(|p| p.as_str().map(str::to_owned))
        .ok_or_else(|| {
            CliError::usage(format!(
                "{}: reference inputs need \"platform\" (sev-snp or tdx)",
                file.display()
            ))
        })?;
    let named: Platform = named
        .parse()
        .map_err(|e: tee::Error| CliError::usage(format!("{}: {e}", file.display())))?;
    if named != platform {
        return Err(CliError::usage(format!(
            "{}: reference inputs are for {named}, the evidence is {platform}",
            file.display()
        )));
    }
    if !matches!(platform, Platform::SevSnp | Platform::Tdx) {
        return Err(CliError::usage(format!(
            "--reference-inputs: recomputing a {platform} measurement is not supported"
        )));
    }
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    Ok(Loaded { v, base, platform })
}

impl Loaded {
    /// Recompute the launch measurement and diagnose `measurement` against it.
    pub(crate) fn recompute(self, measurement: &[u8]) -> Result<Vec<String>, CliError> {
        let Self { v, base, platform } = self;
        let _ = (&v, &base, measurement);
        match platform {
            #[cfg(feature = "sev-snp")]
            Platform::SevSnp => snp::recompute(v, &base, measurement),
            #[cfg(feature = "tdx")]
            Platform::Tdx => tdx::recompute(v, &base, measurement),
            other => Err(CliError::usage(format!(
                "--reference-inputs: recomputing a {other} measurement is not supported in this build"
            ))),
        }
    }
}

/// Every verdict of `--reference-inputs`, on evidence the fake AMD and
/// Intel PKIs sign with a chosen measurement, verified and appraised as
/// `teectl verify` does (a real root would not admit these reports).
#[cfg(all(test, feature = "sev-snp", feature = "tdx"))]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use tee::{Claims, Evidence, Platform, Policy, Verified, Verifier, appraise};

    fn snp_claims(measurement: [u8; 48]) -> Verified<Claims> {
        use tee_sev::testing::{FakeFirmware, at, pki};
        let product = tee_sev::Product::Genoa;
        let mut fw = FakeFirmware::new(product, 3, tee_core::platforms::SnpSigningKey::Vcek);
        fw.measurement = measurement;
        let p = pki(product);
        let r = fw.make_report(&[7; 64], 0);
        let ev = tee_sev::evidence_from_parts(&r, Some(&p.vcek()), &[]).unwrap();
        p.verifier().verify(&ev, at()).unwrap()
    }

    fn tdx_claims(mr_td: [u8; 48]) -> Verified<Claims> {
        use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};
        let pki = TestPki::default();
        let td = FakeTd {
            mr_td,
            ..FakeTd::default()
        };
        let q = FakeKernel::new(pki.clone(), td).make_quote(&[0; 64]);
        let v = tee_tdx::danger::verifier_with_test_root(pki.root_der.clone()).without_collateral();
        let at = tee::UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap();
        v.verify(
            &Evidence::new(Platform::Tdx, tee_core::evidence::format::TDX_QUOTE, q),
            at,
        )
        .unwrap()
    }

    /// The measurement check fails against a policy pinning `stale`; then
    /// the recomputation's lines.
    fn explain(c: &Verified<Claims>, stale: &[u8], inputs: &Path) -> String {
        let policy = Policy::new()
            .allow_measurement(stale.to_vec())
            .allow_any_report_data(true);
        let a = appraise(c, &policy);
        assert!(a.failed().any(|c| c.name == "measurement"), "{a:?}");
        let have = c.launch_measurement.value().unwrap();
        super::recompute(inputs, c.platform, have)
            .unwrap()
            .join("\n")
    }

    fn snp_digest(dir: &Path, vcpus: u32, vcpu_type: &str, features: u64) -> [u8; 48] {
        let img = std::fs::read(dir.join("ovmf.fd")).unwrap();
        tee_sev::reference::SnpLaunch::new(tee_sev::reference::FileInput::new("o", &img))
            .vcpus(vcpus)
            .vcpu_type(tee_sev::reference::VcpuType::parse(vcpu_type).unwrap())
            .guest_features(features)
            .compute()
            .unwrap()
            .digest
    }

    #[test]
    fn snp_verdicts() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        std::fs::write(
            dir.join("ovmf.fd"),
            tee_sev::testing::SynthOvmf::facts().build(),
        )
        .unwrap();
        // A hand-written inputs file, paths relative to it.
        std::fs::write(
            dir.join("in.json"),
            r#"{"platform": "sev-snp", "ovmf": "ovmf.fd", "vcpus": 2, "vcpu_type": "EPYC-Genoa"}"#,
        )
        .unwrap();
        let inputs = dir.join("in.json");
        let stale = [0xAB; 48];
        // The VM runs exactly these inputs: the policy is stale.
        let running = snp_digest(dir, 2, "EPYC-Genoa", 1);
        let out = explain(&snp_claims(running), &stale, &inputs);
        assert!(out.contains("EQUALS the evidence's"), "{out}");
        assert!(out.contains("policy's reference value is stale"), "{out}");
        assert!(out.contains(&hex::encode(running)), "{out}");
        assert!(out.contains("vcpus           2"), "{out}");
        // The host gave 8 vCPUs: that input is named.
        let out = explain(
            &snp_claims(snp_digest(dir, 8, "EPYC-Genoa", 1)),
            &stale,
            &inputs,
        );
        assert!(out.contains("differs from the evidence's"), "{out}");
        assert!(out.contains("vcpus: 8 (the inputs say 2)"), "{out}");
        // Another vCPU type.
        let out = explain(
            &snp_claims(snp_digest(dir, 2, "EPYC-Milan", 1)),
            &stale,
            &inputs,
        );
        assert!(out.contains("vcpu_type: EPYC-Milan"), "{out}");
        // Debug-swap hosts (guest features 0x21).
        let out = explain(
            &snp_claims(snp_digest(dir, 2, "EPYC-Genoa", 0x21)),
            &stale,
            &inputs,
        );
        assert!(
            out.contains("guest_features: 0x21 (the inputs say 0x1)"),
            "{out}"
        );
        // Other firmware: nothing single explains it; the inputs are listed.
        let out = explain(&snp_claims([0x42; 48]), &stale, &inputs);
        assert!(out.contains("no change of one host-chosen input"), "{out}");
        assert!(out.contains("sha256"), "{out}");
        // Inputs for another platform, broken inputs: errors, not verdicts.
        std::fs::write(dir.join("t.json"), r#"{"platform": "tdx", "tdvf": "x"}"#).unwrap();
        let c = snp_claims(running);
        let have = c.launch_measurement.value().unwrap();
        assert!(super::recompute(&dir.join("t.json"), c.platform, have).is_err());
        for bad in [
            r#"{"platform": "sev-snp", "ovmf": "ovmf.fd"}"#,
            r#"{"platform": "sev-snp", "ovmf": "ovmf.fd", "vcpus": 1, "vcpu_type": "EPYC", "typo": 1}"#,
            r#"{"ovmf": "ovmf.fd", "vcpus": 1}"#,
            r#"[1, 2]"#,
            "not json",
            r#"{"platform": "sev-snp", "ovmf": "missing.fd", "vcpus": 1, "vcpu_type": "EPYC"}"#,
        ] {
            std::fs::write(dir.join("bad.json"), bad).unwrap();
            assert!(
                super::recompute(&dir.join("bad.json"), c.platform, have).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tdx_verdicts() {
        use tee_tdx::reference::{MrtdOptions, PageAddOrder, mrtd};
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let img = tee_tdx::reference::synth::fact_sheet();
        std::fs::write(dir.join("tdvf.fd"), &img).unwrap();
        let val = |o| -> [u8; 48] {
            mrtd(&img, MrtdOptions::new(o))
                .unwrap()
                .value
                .0
                .try_into()
                .unwrap()
        };
        let (one, two) = (val(PageAddOrder::OnePass), val(PageAddOrder::TwoPass));
        // The JSON `teectl reference tdx --json` writes, read back whole.
        std::fs::write(
            dir.join("ref.json"),
            serde_json::json!({
                "mr_td": {"value": hex::encode(one)},
                "reference_inputs": {"platform": "tdx", "tdvf": "tdvf.fd", "page_add_order": "one-pass"},
            })
            .to_string(),
        )
        .unwrap();
        let inputs = dir.join("ref.json");
        let stale = [0xCD; 48];
        let out = explain(&tdx_claims(one), &stale, &inputs);
        assert!(out.contains("EQUALS the evidence's"), "{out}");
        assert!(out.contains("MR.FINALIZE"), "{out}");
        let out = explain(&tdx_claims(two), &stale, &inputs);
        assert!(out.contains("in two-pass order gives it"), "{out}");
        assert!(out.contains("--two-pass"), "{out}");
        let out = explain(&tdx_claims([0x42; 48]), &stale, &inputs);
        assert!(out.contains("in both page-add orders"), "{out}");
        // An order that is neither.
        std::fs::write(
            dir.join("bad.json"),
            r#"{"platform": "tdx", "tdvf": "tdvf.fd", "page_add_order": "three-pass"}"#,
        )
        .unwrap();
        let c = tdx_claims(one);
        let have = c.launch_measurement.value().unwrap();
        assert!(super::recompute(&dir.join("bad.json"), c.platform, have).is_err());
    }
}
