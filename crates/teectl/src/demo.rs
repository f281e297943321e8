//! `teectl demo`: the SDK's main job, step by step.

use tee::{Backend, Platform, Policy, ReportData, SealPolicy, UnixTime, appraise};

use crate::common::{self, CliError};
use crate::{BackendChoice, Global};

const BANNER: &str = "  ************************************************************************
  *  MOCK BACKEND: NO SECURITY. Evidence is signed with public test keys *
  *  and proves nothing. It shows the flow you get on real hardware.     *
  ************************************************************************";

fn step(n: u32, title: &str) {
    println!("\n[{n}/6] {title}");
}

fn open(g: &Global) -> Result<Box<dyn Backend>, CliError> {
    if g.backend != BackendChoice::Auto {
        return common::open_backend(g);
    }
    let d = tee::detect();
    for p in &d.probes {
        println!(
            "      {} {:<36} {}",
            if p.found { "found" } else { "  -  " },
            p.interface,
            p.detail
        );
    }
    println!("      => environment: {} ({})", d.environment, d.reason);
    if let tee::Environment::AzureCvm { platform } = d.environment {
        match tee::open_azure(platform) {
            Ok(b) => return Ok(b),
            Err(e) => println!("      => its backend cannot be used here: {e}"),
        }
    }
    match d.detected {
        Some(p) => match tee::open(p) {
            Ok(b) => {
                println!("      => {p} guest detected; using the {p} backend");
                return Ok(b);
            }
            Err(e) => {
                println!("      => {p} guest detected, but its backend cannot be used here: {e}")
            }
        },
        None => println!("      => no hardware TEE found on this machine"),
    }
    println!("      => running on the mock backend instead\n{BANNER}");
    Ok(tee::open(Platform::Mock)?)
}

pub(crate) fn run(g: &Global) -> Result<u8, CliError> {
    println!("teectl demo: detect -> attest -> verify -> appraise -> seal -> measure");

    step(1, "Detect the TEE");
    let backend = open(g)?;
    let platform = backend.platform();
    let caps = backend.capabilities();
    println!(
        "      backend {platform}: attestation {}, runtime measurement {}, sealing {}",
        yes(&caps.attestation),
        yes(&caps.runtime_measurement),
        yes(&caps.sealing)
    );

    step(2, "Attest: obtain evidence bound to a fresh nonce");
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| CliError::usage(format!("OS random source: {e}")))?;
    let rd = ReportData::bind(&nonce, b"teectl demo");
    println!("      nonce       {}", hex::encode(nonce));
    println!(
        "      report_data {} (ReportData::bind(nonce, \"teectl demo\"))",
        short(&rd.to_hex())
    );
    let evidence = backend.attester()?.attest(&rd)?;
    println!(
        "      evidence: {} format {}, {} report bytes, {} endorsement(s)",
        evidence.platform,
        evidence.format,
        evidence.report.len(),
        evidence.endorsements.len()
    );

    step(
        3,
        "Verify authenticity (signatures and chain, at an explicit time)",
    );
    let verifiers = tee::Verifiers::new().trust_mock_root();
    let at = UnixTime::now();
    let claims = verifiers.verify(&evidence, at)?;
    println!("      verified at {at}: trust root {:?}", claims.trust);
    if let Some(m) = claims.launch_measurement.value() {
        println!("      launch measurement {}", short(&m.to_hex()));
    }
    println!("      debug {}", claims.debug);

    step(
        4,
        "Appraise against a policy (fails closed, explains every check)",
    );
    // The reference value: what the relying party expects this workload to
    // measure, computed from its inputs (not read from the evidence), and
    // written to a policy file that `teectl verify --policy` reads.
    let reference = if platform == Platform::Mock {
        let r =
            tee::mock::reference::launch_measurement(tee::mock::reference::DEFAULT_WORKLOAD_IMAGE);
        println!(
            "      reference value computed from the workload image ({}): {}",
            r.transcript.inputs.first().map_or("", |i| i.value.as_str()),
            short(&r.value.to_hex())
        );
        Some(r.value)
    } else {
        // No workload inputs on this machine: the demo pins the measurement
        // this TEE reports (trust on first use, for the demo only). A relying
        // party computes it with `teectl reference` instead.
        let own = claims.launch_measurement.value().cloned();
        if let Some(m) = &own {
            println!(
                "      reference value: this TEE's own launch measurement {} (demo only; \
                 compute real reference values with `teectl reference`)",
                short(&m.to_hex())
            );
        }
        own
    };
    let mut written = Policy::new();
    if let Some(m) = reference {
        written = written.allow_measurement(m);
    }
    let policy_path =
        std::env::temp_dir().join(format!("teectl-demo-policy-{}.toml", std::process::id()));
    common::write_atomic(&policy_path, written.to_toml()?.as_bytes())?;
    let loaded = Policy::from_toml_bytes(&common::read_bounded(
        &policy_path,
        common::limit::POLICY,
        "policy file",
    )?)?;
    let _ = std::fs::remove_file(&policy_path);
    println!(
        "      wrote it to a policy file: allowed_measurements = [\"{}\"]",
        loaded
            .allowed_measurements
            .first()
            .map_or_else(String::new, |m| short(&m.to_hex()))
    );
    let strict = appraise(&claims, &loaded.clone().expect_report_data(rd));
    if platform == Platform::Mock {
        let why = strict
            .failed()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "      that policy as is: {} (failed: {why})",
            verdict(strict.passed())
        );
        println!("      the demo now allows mock evidence explicitly (allow_mock = true):");
    }
    // SEV-SNP: the demo fetches no AMD CRL, so it allows unchecked
    // revocation explicitly (the appraisal shows it).
    let policy = loaded
        .allow_mock(platform == Platform::Mock)
        .with_sev_snp(|s| s.allow_unchecked_revocation(platform == Platform::SevSnp))
        .expect_report_data(rd);
    let appraisal = appraise(&claims, &policy);
    for c in &appraisal.checks {
        println!(
            "      {:<8} {:<24} {}",
            format!("{:?}", c.outcome).to_lowercase(),
            c.name,
            c.detail
        );
    }
    println!("      => {}", verdict(appraisal.passed()));
    let stale = appraise(
        &claims,
        &policy
            .clone()
            .expect_report_data(ReportData::bind(b"old nonce", b"")),
    );
    println!(
        "      replayed evidence against another nonce: {}",
        verdict(stale.passed())
    );

    step(5, "Seal and unseal");
    match backend.sealer() {
        Ok(sealer) => {
            let pol = SealPolicy::measurement("teectl-demo");
            let secret = b"database password: hunter2";
            let blob = sealer.seal(secret, &pol)?;
            let header = tee::seal::inspect(&blob)?;
            println!(
                "      sealed {} bytes into a {}-byte blob (platform {}, purpose {:?}, binding {:?})",
                secret.len(),
                blob.len(),
                header.platform,
                header.policy.purpose,
                header.policy.binding
            );
            let opened = sealer.unseal(&blob, &pol)?;
            println!(
                "      unsealed: {}",
                if opened.as_slice() == secret {
                    "round trip OK"
                } else {
                    "MISMATCH"
                }
            );
            let mut tampered = blob.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            match sealer.unseal(&tampered, &pol) {
                Err(e) => println!("      tampered blob refused: {e}"),
                Ok(_) => return Err(CliError::usage("tampered blob was accepted")),
            }
        }
        Err(e) => println!("      skipped: {e}"),
    }

    step(6, "Extend a runtime register and replay the event log");
    match backend.runtime_measurement() {
        Ok(rm) => {
            let idx = (0..rm.register_count())
                .rev()
                .find(|&i| rm.extendable(i))
                .unwrap_or(0);
            let new = rm.extend(idx, "teectl demo event", b"application config v1")?;
            println!(
                "      extended register {idx}: {}",
                short(&hex::encode(new))
            );
            let ev = backend.attester()?.attest(&rd)?;
            let claims = verifiers.verify(&ev, UnixTime::now())?;
            match &claims.event_log {
                Some(replay) => {
                    for r in replay {
                        println!(
                            "      replay register {}: {} event(s), {}",
                            r.index,
                            r.events,
                            if r.matches {
                                "matches the evidence"
                            } else {
                                "DOES NOT MATCH"
                            }
                        );
                    }
                }
                None => println!("      no event log attached to the evidence"),
            }
        }
        Err(e) => println!("      skipped: {e}"),
    }

    println!("\nDone: every step completed on the {platform} backend.");
    if platform == Platform::Mock {
        println!(
            "(Mock backend: NO SECURITY. On a TEE guest, the same commands use the hardware.)"
        );
    }
    Ok(0)
}

fn yes(s: &tee::Support) -> &'static str {
    if s.is_supported() { "yes" } else { "no" }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ACCEPTED" } else { "REJECTED" }
}

fn short(h: &str) -> String {
    if h.len() > 32 {
        format!("{}…{}", &h[..16], &h[h.len() - 16..])
    } else {
        h.to_string()
    }
}
