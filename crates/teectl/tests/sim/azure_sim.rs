//! End to end through the binary on a simulated Azure SEV-SNP and TDX VM
//! (build feature `simulation`: fake vTPM, fake AMD/Intel PKIs, NO
//! SECURITY): `teectl --backend azure-sim-… report` writes evidence that
//! `teectl verify --trust-simulation-roots --allow-vtpm --nonce N` accepts
//! (exit 0), and the negatives: another nonce and no `--allow-vtpm` are
//! appraisal failures (4); one byte of the HCL report, the quote, its
//! signature or a PCR value changed, and the pinned vendor roots, are
//! authenticity failures (3). Without the feature the simulation does not
//! exist (usage errors, exit 1).

use crate::common::{code, stderr, teectl};

#[cfg(not(feature = "simulation"))]
#[test]
fn without_the_feature_there_is_no_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.json");
    for backend in ["azure-sim-snp", "azure-sim-tdx"] {
        let o = teectl(
            None,
            &[
                "--backend",
                backend,
                "report",
                "--nonce",
                "00",
                "-o",
                ev.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains("invalid value"), "{}", stderr(&o));
    }
    assert!(!ev.exists());
    std::fs::write(&ev, "{}").unwrap();
    let o = teectl(
        None,
        &[
            "verify",
            "--evidence",
            ev.to_str().unwrap(),
            "--trust-simulation-roots",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("unexpected argument"), "{}", stderr(&o));
}

#[cfg(feature = "simulation")]
mod simulation {
    use std::path::Path;
    use std::process::Output;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const NONCE: &str = "5eed00112233445566778899aabbccdd";
    /// Inside the fake PKIs' and the simulation's TDX collateral validity.
    const AT: &str = "2027-01-15T08:00:00Z";

    fn report(backend: &str, out: &Path) -> Output {
        teectl(
            None,
            &[
                "--backend",
                backend,
                "report",
                "--nonce",
                NONCE,
                "-o",
                out.to_str().unwrap(),
            ],
        )
    }

    fn verify(ev: &Path, extra: &[&str]) -> Output {
        let mut a = vec![
            "verify",
            "--evidence",
            ev.to_str().unwrap(),
            "--at",
            AT,
            "--allow-any-measurement",
            "--allow-unchecked-revocation",
        ];
        a.extend_from_slice(extra);
        teectl(None, &a)
    }

    fn json(o: &Output) -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&o.stdout)
            )
        })
    }

    fn failed_checks(o: &Output) -> Vec<String> {
        json(o)["appraisal"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] == "failed")
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `src` with byte `at` of the report (`None`) or of the endorsement
    /// `kind` flipped, written to `dir/name`.
    fn tampered(dir: &Path, src: &Path, kind: Option<&str>, at: usize, name: &str) -> String {
        let mut j: serde_json::Value =
            serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
        let field = match kind {
            None => &mut j["report"],
            Some(k) => {
                let e = j["endorsements"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .find(|e| e["kind"] == k)
                    .unwrap_or_else(|| panic!("no {k} endorsement"));
                &mut e["data"]
            }
        };
        let mut b = STANDARD.decode(field.as_str().unwrap()).unwrap();
        assert!(at < b.len(), "{kind:?}: {} bytes", b.len());
        b[at] ^= 0x01;
        *field = STANDARD.encode(&b).into();
        let p = dir.join(name);
        std::fs::write(&p, j.to_string()).unwrap();
        p.to_str().unwrap().to_owned()
    }

    fn end_to_end(backend: &str, platform: &str, hcl_offsets: &[usize]) {
        let dir = tempfile::tempdir().unwrap();
        let ev = dir.path().join("ev.json");
        let o = report(backend, &ev);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("SIMULATED") && stderr(&o).contains("NO SECURITY"),
            "{}",
            stderr(&o)
        );

        // Accepted: fake roots trusted explicitly, vTPM allowed, the nonce.
        let ok = verify(
            &ev,
            &["--nonce", NONCE, "--allow-vtpm", "--trust-simulation-roots"],
        );
        assert_eq!(code(&ok), 0, "{}", stderr(&ok));
        assert!(
            stderr(&ok).contains("FAKE AMD and Intel roots") && stderr(&ok).contains("NO SECURITY"),
            "{}",
            stderr(&ok)
        );
        let j = json(&ok);
        assert_eq!(j["platform"], platform);
        assert_eq!(j["trusted_roots"], "simulation");
        assert_eq!(j["appraisal"]["passed"], true);
        let nonce = hex::decode(NONCE).unwrap();
        assert_eq!(
            j["report_data"],
            tee::ReportData::bind(&nonce, b"").to_hex(),
            "the claims' report data is the nonce's binding"
        );
        let vtpm = &j["vtpm"];
        assert_eq!(vtpm["user_data_binds_qualifying_data"], true, "{vtpm}");
        assert_eq!(
            vtpm["qualifying_data"].as_str().unwrap().len(),
            96,
            "SHA-384 of the report data: {vtpm}"
        );
        assert_eq!(
            j["claims"]["runtime_registers"]["value"]
                .as_array()
                .map(Vec::len),
            Some(24),
            "PCRs 0-23 as runtime registers"
        );

        // Another nonce: the report_data check fails (4).
        let o = verify(
            &ev,
            &["--nonce", "00", "--allow-vtpm", "--trust-simulation-roots"],
        );
        assert_eq!(code(&o), 4, "{}", stderr(&o));
        assert_eq!(failed_checks(&o), ["report_data"]);
        // vTPM-mediated evidence not allowed: the vtpm check fails (4).
        let o = verify(&ev, &["--nonce", NONCE, "--trust-simulation-roots"]);
        assert_eq!(code(&o), 4, "{}", stderr(&o));
        assert_eq!(failed_checks(&o), ["vtpm"]);

        // One byte changed anywhere signed: authenticity (3).
        let mut cases: Vec<(Option<&str>, usize)> =
            hcl_offsets.iter().map(|&off| (None, off)).collect();
        cases.extend([
            (Some("tpm-quote-attest"), 40),
            (Some("tpm-quote-signature"), 100),
            (Some("tpm-pcr-values-sha256"), 5 * 32),
        ]);
        for (i, (kind, at)) in cases.into_iter().enumerate() {
            let bad = tampered(dir.path(), &ev, kind, at, &format!("bad{i}.json"));
            let o = verify(
                Path::new(&bad),
                &["--nonce", NONCE, "--allow-vtpm", "--trust-simulation-roots"],
            );
            assert_eq!(code(&o), 3, "{kind:?} byte {at}: {}", stderr(&o));
            assert!(
                stderr(&o).contains("authenticity"),
                "{kind:?} byte {at}: {}",
                stderr(&o)
            );
        }

        // The pinned vendor roots (no flag) refuse the fake PKIs (3).
        let mut pinned = vec!["--nonce", NONCE, "--allow-vtpm"];
        if platform == "tdx" {
            pinned.push("--no-collateral");
        }
        let o = verify(&ev, &pinned);
        assert_eq!(code(&o), 3, "{}", stderr(&o));
        assert!(!stderr(&o).contains("FAKE"), "{}", stderr(&o));

        // No EAR token is ever signed for a simulation verdict (usage, 1).
        let o = verify(
            &ev,
            &[
                "--nonce",
                NONCE,
                "--allow-vtpm",
                "--trust-simulation-roots",
                "--ear-out",
                dir.path().join("t.jwt").to_str().unwrap(),
            ],
        );
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(!dir.path().join("t.jwt").exists());
    }

    #[test]
    fn simulated_azure_snp_vm_report_then_verify() {
        // The SNP report (REPORT_DATA, MEASUREMENT, a TCB byte inside the
        // signed part) and the runtime-claims JSON.
        end_to_end(
            "azure-sim-snp",
            "sev-snp",
            &[
                0x20 + 0x50,
                0x20 + 0x90,
                0x20 + 0x180,
                0x4D4 + 3,
                0x4D4 + 200,
            ],
        );
    }

    #[test]
    fn simulated_azure_tdx_vm_report_then_verify() {
        // The TDREPORT (its hashes, REPORT_DATA, MRTD) and the runtime claims.
        end_to_end(
            "azure-sim-tdx",
            "tdx",
            &[0x20 + 40, 0x20 + 130, 0x20 + 530, 0x4D4 + 3, 0x4D4 + 200],
        );
    }

    /// `--backend auto` never picks the simulation (on this machine: no
    /// TEE, exit 5).
    #[test]
    fn the_simulation_is_selected_only_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("auto.json");
        let o = teectl(
            None,
            &["report", "--nonce", NONCE, "-o", out.to_str().unwrap()],
        );
        assert!(!stderr(&o).contains("SIMULATED"), "{}", stderr(&o));
        let detected = code(&teectl(None, &["detect"])) == 0;
        if !detected {
            assert_eq!(code(&o), 5, "{}", stderr(&o));
            assert!(!out.exists());
        }
    }
}
