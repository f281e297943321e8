//! `teectl verify --crl FILE` with AMD CRLs (issue 10, finding 14 follow-up).
//!
//! The CLI trusts only AMD's pinned roots: `--ark` must equal the pinned
//! ARK and there is no test-only trust path (by design: a production tool
//! must not be talked into a test root). So the fake AMD PKI's files are
//! checked two ways:
//! - through the built binary: every fake-PKI input, with any CRL, fails
//!   closed (exit 3), and a well-formed CRL that AMD's ARK did not sign is
//!   refused for a genuine report even with `--allow-unchecked-revocation`;
//! - through the library calls `teectl verify` makes (the files read back,
//!   `tee::sev::evidence_from_parts`, the CRL decoded and attached as
//!   `amd-kds-crl-der` like `attach_crl`, the facade `Verifiers` with the
//!   SEV-SNP verifier replaced by one trusting the fake ARK, the CLI's
//!   policy, `appraise`), with the CLI's exit code for each outcome: good
//!   CRL → 0, revoked VCEK serial → 3, expired CRL → 3.

use std::path::{Path, PathBuf};

use tee::evidence::endorsement;
use tee::sev::crl::AmdCrl;
use tee::{
    Authenticity, Error, Outcome, Policy, ReportData, UnixTime, Verifier as _, Verifiers, appraise,
};
use tee_core::platforms::SnpSigningKey;
use tee_sev::report::Product;
use tee_sev::testing::{CRL_NEXT_UPDATE, CRL_THIS_UPDATE, FakeFirmware, Pki, at, pki, serial};

use crate::common::{code, stderr, teectl, vectors};

const RD: [u8; 64] = [0x5A; 64];
/// `tee_sev::testing::at()` (1 800 000 000) in RFC 3339, for `--at`.
const AT: &str = "2027-01-15T08:00:00Z";

/// The fake-PKI files `teectl verify --platform sev-snp` reads.
struct Files {
    _dir: tempfile::TempDir,
    report: PathBuf,
    vcek: PathBuf,
    ask: PathBuf,
    ark: PathBuf,
    measurement: String,
}

impl Files {
    fn new(p: &Pki) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fw = FakeFirmware::new(p.product, 3, SnpSigningKey::Vcek);
        let report = fw.make_report(&RD, 0);
        let measurement = hex::encode(&report[0x90..0xC0]);
        let put = |name: &str, bytes: &[u8]| {
            let f = dir.path().join(name);
            std::fs::write(&f, bytes).unwrap();
            f
        };
        Self {
            report: put("report.bin", &report),
            vcek: put("vcek.der", &p.vcek()),
            ask: put("ask.der", &p.ask),
            ark: put("ark.der", &p.ark),
            measurement,
            _dir: dir,
        }
    }

    fn crl(&self, name: &str, der: &[u8]) -> PathBuf {
        let f = self._dir.path().join(name);
        std::fs::write(&f, der).unwrap();
        f
    }

    /// The `teectl verify` arguments for these files.
    fn args(&self, crl: &Path) -> Vec<String> {
        [
            "verify",
            "--platform",
            "sev-snp",
            "--report",
            &self.report.display().to_string(),
            "--vcek",
            &self.vcek.display().to_string(),
            "--ask",
            &self.ask.display().to_string(),
            "--ark",
            &self.ark.display().to_string(),
            "--crl",
            &crl.display().to_string(),
            "--at",
            AT,
            "--report-data",
            &hex::encode(RD),
            "--allowed-measurement",
            &self.measurement,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// What `teectl verify` does with these files and `crl`, with the
    /// fake ARK trusted instead of the pinned one; `Ok` is the appraisal.
    fn verify_trusting_fake_ark(&self, p: &Pki, crl: &Path) -> tee::Result<tee::Appraisal> {
        // sev::evidence: the report, the VCEK, the chain files.
        let report = std::fs::read(&self.report).unwrap();
        let vcek = std::fs::read(&self.vcek).unwrap();
        let chain = [
            std::fs::read(&self.ask).unwrap(),
            std::fs::read(&self.ark).unwrap(),
        ];
        let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        let ev = tee::sev::evidence_from_parts(&report, Some(&vcek), &chain)?;
        // sev::attach_crl: decoded, then attached as `amd-kds-crl-der`.
        let der = std::fs::read(crl).unwrap();
        AmdCrl::from_der(&der)?;
        let ev = ev.with_endorsement(endorsement::AMD_CRL_DER, der);
        // verify::verifiers, with the SEV-SNP verifier trusting the fake ARK.
        let verifiers = Verifiers::new()
            .trust_mock_root()
            .with(Box::new(p.verifier()));
        // verify::policy: the fail-closed default plus the flags above.
        let policy = Policy::default()
            .allow_measurement(hex::decode(&self.measurement).unwrap())
            .expect_report_data(ReportData::new(RD));
        let claims = verifiers.verify(&ev, UnixTime::parse_rfc3339(AT)?)?;
        Ok(appraise(&claims, &policy))
    }
}

/// The exit code `teectl verify` gives each outcome (crates/teectl/src/exit.rs).
fn exit_code(r: &tee::Result<tee::Appraisal>) -> i32 {
    match r {
        Ok(a) if a.passed() => 0,
        Ok(_) => 4,
        Err(Error::Malformed(_)) => 2,
        Err(Error::Authenticity(_)) => 3,
        Err(e) => panic!("unexpected error: {e:?}"),
    }
}

fn revocation(a: &tee::Appraisal) -> Outcome {
    a.checks
        .iter()
        .find(|c| c.name == "sev-snp.revocation")
        .expect("a revocation check")
        .outcome
}

#[test]
fn at_constant_is_the_fake_pki_time() {
    assert_eq!(UnixTime::parse_rfc3339(AT).unwrap(), at());
    assert!(CRL_THIS_UPDATE <= at().as_secs() && at().as_secs() < CRL_NEXT_UPDATE);
}

#[test]
fn good_crl_passes_the_revocation_check() {
    let p = pki(Product::Milan);
    let files = Files::new(p);
    let crl = files.crl("good.crl", &p.crl(&[99]));
    let r = files.verify_trusting_fake_ark(p, &crl);
    let a = r.as_ref().expect("verifies with the fake ARK trusted");
    assert_eq!(revocation(a), Outcome::Passed, "{a:?}");
    assert!(a.passed(), "{a:?}");
    assert_eq!(exit_code(&r), 0);
    // The same CRL without the measurement: the appraisal fails on it alone.
    let ev = {
        let report = std::fs::read(&files.report).unwrap();
        let vcek = std::fs::read(&files.vcek).unwrap();
        tee::sev::evidence_from_parts(&report, Some(&vcek), &[&p.ask])
            .unwrap()
            .with_endorsement(endorsement::AMD_CRL_DER, p.crl(&[99]))
    };
    let claims = p.verifier().verify(&ev, at()).unwrap();
    let a = appraise(
        &claims,
        &Policy::default().expect_report_data(ReportData::new(RD)),
    );
    let failed: Vec<_> = a.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, vec!["measurement"]);
    assert_eq!(revocation(&a), Outcome::Passed);
}

#[test]
fn revoked_vcek_serial_exits_3() {
    let p = pki(Product::Milan);
    let files = Files::new(p);
    let crl = files.crl("revoked.crl", &p.crl(&[77, serial::VCEK]));
    let r = files.verify_trusting_fake_ark(p, &crl);
    match &r {
        Err(Error::Authenticity(Authenticity::Revoked { what })) => {
            assert!(what.starts_with("VCEK"), "{what}");
        }
        other => panic!("expected a revoked VCEK, got {other:?}"),
    }
    assert_eq!(exit_code(&r), 3);
}

#[test]
fn expired_crl_exits_3() {
    let p = pki(Product::Milan);
    let files = Files::new(p);
    let next = at().as_secs() - 1;
    let crl = files.crl("expired.crl", &p.crl_at(&[], next - 86_400, Some(next)));
    let r = files.verify_trusting_fake_ark(p, &crl);
    match &r {
        Err(Error::Authenticity(a)) => assert_eq!(
            a,
            &Authenticity::Expired {
                what: "AMD CRL (nextUpdate)".into(),
                not_after: next,
                at: at().as_secs(),
            }
        ),
        other => panic!("expected an expired CRL, got {other:?}"),
    }
    assert_eq!(exit_code(&r), 3);
    // A CRL without nextUpdate cannot be shown fresh: refused too.
    let crl = files.crl("open.crl", &p.crl_at(&[], CRL_THIS_UPDATE, None));
    let r = files.verify_trusting_fake_ark(p, &crl);
    assert!(matches!(r, Err(Error::Authenticity(_))), "{r:?}");
    assert_eq!(exit_code(&r), 3);
}

#[test]
fn rogue_and_ask_issued_crls_exit_3() {
    let p = pki(Product::Milan);
    let files = Files::new(p);
    for (name, der) in [("rogue.crl", p.rogue_crl()), ("ask.crl", p.ask_crl())] {
        let crl = files.crl(name, &der);
        let r = files.verify_trusting_fake_ark(p, &crl);
        assert!(matches!(r, Err(Error::Authenticity(_))), "{name}: {r:?}");
        assert_eq!(exit_code(&r), 3, "{name}");
    }
}

/// The built binary does not trust the fake ARK, whatever CRL comes with
/// it: the chain fails against the pinned ARK (3), never 0.
#[test]
fn binary_refuses_the_fake_pki_with_any_crl() {
    let p = pki(Product::Milan);
    let files = Files::new(p);
    for (name, der) in [
        ("good.crl", p.crl(&[])),
        ("revoked.crl", p.crl(&[serial::VCEK])),
        (
            "expired.crl",
            p.crl_at(&[], CRL_THIS_UPDATE - 100, Some(CRL_THIS_UPDATE - 1)),
        ),
    ] {
        let crl = files.crl(name, &der);
        let args = files.args(&crl);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = teectl(None, &args);
        assert_eq!(code(&o), 3, "{name}: {}", stderr(&o));
        // Without --ark (the pinned Milan ARK is used): 3 as well.
        let i = args.iter().position(|a| *a == "--ark").unwrap();
        let mut no_ark = args.clone();
        no_ark.drain(i..i + 2);
        let o = teectl(None, &no_ark);
        assert_eq!(code(&o), 3, "{name} without --ark: {}", stderr(&o));
    }
    // A file that is not a CRL is malformed input (2), before any chain check.
    let bad = files.crl("bad.crl", b"not a crl");
    let args = files.args(&bad);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = teectl(None, &args);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// A genuine AMD report (vector) with a well-formed CRL that AMD's ARK did
/// not sign: exit 3, also with `--allow-unchecked-revocation` (the knob
/// accepts a missing CRL, never a bad one). Without the CRL and with the
/// knob the same command passes (0), so the 3 is the CRL's.
#[test]
fn binary_refuses_a_crl_not_signed_by_the_pinned_ark() {
    let Some(v) = vectors() else {
        return;
    };
    let report = v.join("ms-tee-av/milan_attestation_report.bin");
    let vcek = v.join("ms-tee-av/milan_vcek.pem");
    let measurement = hex::encode(&std::fs::read(&report).unwrap()[0x90..0xC0]);
    let dir = tempfile::tempdir().unwrap();
    let crl = dir.path().join("fake-ark-milan.crl");
    std::fs::write(&crl, pki(Product::Milan).crl(&[])).unwrap();
    let (report, vcek, crl) = (
        report.display().to_string(),
        vcek.display().to_string(),
        crl.display().to_string(),
    );
    let base = [
        "verify",
        "--platform",
        "sev-snp",
        "--report",
        report.as_str(),
        "--vcek",
        vcek.as_str(),
        "--at",
        "2026-06-01T00:00:00Z",
        "--report-data",
        &"00".repeat(64),
        "--allowed-measurement",
        &measurement,
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        let o = teectl(None, &a);
        (code(&o), stderr(&o))
    };
    let (c, e) = run(&["--allow-unchecked-revocation"]);
    assert_eq!(c, 0, "{e}");
    let (c, e) = run(&["--crl", &crl]);
    assert_eq!(c, 3, "{e}");
    let (c, e) = run(&["--crl", &crl, "--allow-unchecked-revocation"]);
    assert_eq!(c, 3, "{e}");
}
