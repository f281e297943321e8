//! The Azure captures of attestation-rs (`../shared/vectors/attestation-rs/`,
//! INDEX.md §8.1–8.2): each gives its expected outcome, converted from the
//! peers' JSON shapes and in the SDK envelope, and the derived negatives fail
//! at the step INDEX.md names.

use std::path::{Path, PathBuf};

use tee_azure::evidence::{self, QUALIFYING_DATA_RULE, TPM_QUOTE_ATTEST, TPM_QUOTE_SIGNATURE};
use tee_azure::{AzureVerifier, from_peer_json};
use tee_core::evidence::endorsement;
use tee_core::platforms::QualifyingDataRule;
use tee_core::{
    Authenticity, Claim, Error, Evidence, Outcome, Policy, UnixTime, Verifier as _, appraise,
};
use tee_sev::SnpVerifier;
use tee_tdx::{Collateral, PcsFiles, TdxVerifier};

const NONCE: &[u8] = b"attestation-test-fixture";

fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn read(rel: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(vectors()?.join("attestation-rs").join(rel)).unwrap())
}

fn at_snp() -> UnixTime {
    UnixTime::parse_rfc3339("2026-03-20T00:00:00Z").unwrap()
}

fn snp() -> AzureVerifier {
    AzureVerifier::new(SnpVerifier::new())
}

fn tdx_collateral() -> Option<Collateral> {
    let f = |n: &str| read(&format!("collateral/{n}"));
    Some(
        Collateral::from_pcs(&PcsFiles {
            tcb_info_response: f("tcb_info_90c06f000000.json")?,
            qe_identity_response: f("td_qe_identity.json")?,
            pck_crl: f("pck_crl_platform.der")?,
            root_ca_crl: f("root_ca_crl.der")?,
            tcb_info_issuer_chain: f("tcb_signing_chain.pem")?,
            pck_crl_issuer_chain: Vec::new(),
            qe_identity_issuer_chain: f("qe_identity_signing_chain.pem"),
        })
        .unwrap(),
    )
}

fn policy(qd: &[u8]) -> Policy {
    Policy::new()
        .allow_vtpm(true)
        .allow_any_measurement(true)
        .expect_qualifying_data(qd.to_vec())
        .with_sev_snp(|mut p| {
            p.allow_unchecked_revocation = true;
            p
        })
}

fn passed(c: &tee_core::Verified<tee_core::Claims>, p: &Policy) -> bool {
    let a = appraise(c, p);
    if !a.passed() {
        eprintln!("{:#?}", a.failed().collect::<Vec<_>>());
    }
    a.passed()
}

#[test]
fn az_snp_live_evidence_is_valid_with_its_nonce_only() {
    let Some(j) = read("az_snp/live-evidence.json") else {
        return;
    };
    let ev = from_peer_json(&j).unwrap();
    assert_eq!(ev.format, evidence::FORMAT_SNP);
    assert_eq!(ev.endorsement(QUALIFYING_DATA_RULE), Some(&b"raw"[..]));
    let c = snp().verify(&ev, at_snp()).unwrap();
    let v = c.vtpm.as_ref().unwrap();
    assert_eq!(&v.qualifying_data[..], NONCE);
    assert_eq!(v.qualifying_data_rule, QualifyingDataRule::Raw);
    assert_eq!(v.freshness, "vtpm-quote-extra-data");
    assert!(v.trust_chain.iter().any(|s| s.contains("paravisor")));
    assert!(!v.user_data_binds_qualifying_data, "user-data is zero here");
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    assert_eq!(
        c.report_data.to_hex()[..8],
        *"094f612b",
        "REPORT_DATA = SHA-256(runtime claims)"
    );
    assert!(c.report_data.as_bytes()[32..].iter().all(|&b| b == 0));
    let Claim::Value(pcrs) = &c.runtime_registers else {
        panic!()
    };
    assert_eq!(pcrs.len(), 24);
    assert_eq!(
        v.vm_configuration["vmUniqueId"],
        "02FE12EC-5B74-4A1B-B261-8EA46FE9AF36"
    );
    assert!(passed(&c, &policy(NONCE)));
    // Not allowed: denied.
    let mut p = policy(NONCE);
    p.allow_vtpm = false;
    assert!(!passed(&c, &p));
    // Any other nonce: the padded form, empty, one byte off.
    let mut padded = NONCE.to_vec();
    padded.resize(64, 0);
    for bad in [&padded[..], b"", b"attestation-test-fixturf"] {
        let a = appraise(&c, &policy(bad));
        assert_eq!(
            a.checks
                .iter()
                .find(|c| c.name == "report_data")
                .unwrap()
                .outcome,
            Outcome::Failed
        );
    }
    // The SDK envelope round trip gives the same claims.
    let back = Evidence::from_json(ev.to_json().unwrap().as_bytes()).unwrap();
    assert_eq!(*snp().verify(&back, at_snp()).unwrap(), *c);
    // And the Trustee v2 shape of the same evidence converts back to it.
    let trustee = evidence::to_trustee_json(&ev).unwrap();
    let again = from_peer_json(trustee.to_string().as_bytes()).unwrap();
    assert_eq!(again, ev);
}

#[test]
fn milan_v3_is_valid_with_the_empty_nonce_only() {
    let Some(j) = read("az_snp/milan-v3-attestation.json") else {
        return;
    };
    let ev = from_peer_json(&j).unwrap();
    let c = snp().verify(&ev, at_snp()).unwrap();
    assert!(c.vtpm.as_ref().unwrap().qualifying_data.is_empty());
    assert!(passed(&c, &policy(b"")));
    assert!(!passed(&c, &policy(NONCE)));
}

#[test]
fn az_tdx_is_up_to_date_with_its_collateral_and_nonce() {
    let Some(j) = read("az_tdx/live-evidence.json") else {
        return;
    };
    let ev = from_peer_json(&j).unwrap();
    assert_eq!(ev.format, evidence::FORMAT_TDX);
    let at = UnixTime::parse_rfc3339("2026-04-01T00:00:00Z").unwrap();
    let v = AzureVerifier::new(TdxVerifier::new().with_collateral(tdx_collateral().unwrap()));
    let c = v.verify(&ev, at).unwrap();
    let vt = c.vtpm.as_ref().unwrap();
    assert_eq!(&vt.qualifying_data[..], NONCE);
    assert!(
        vt.user_data_binds_qualifying_data,
        "the TDX attester wrote user-data"
    );
    let tcb = c.tcb.value().unwrap();
    assert_eq!(tcb.status, tee_core::TcbStatus::UpToDate);
    assert!(tcb.advisory_ids.is_empty());
    assert!(passed(&c, &policy(NONCE)));
    assert!(!passed(&c, &policy(b"attestation-test-fixturE")));
    // After the collateral expired: fails.
    let late = UnixTime::parse_rfc3339("2026-04-16T00:00:00Z").unwrap();
    assert!(v.verify(&ev, late).is_err());
    // The HCL report given to the SNP verifier: report_type 4 ≠ 2.
    let mut as_snp = ev.clone();
    as_snp.platform = tee_core::Platform::SevSnp;
    as_snp.format = evidence::FORMAT_SNP.into();
    as_snp = as_snp.with_endorsement(endorsement::SIGNING_CERT_DER, vec![0x30]);
    let e = snp().verify(&as_snp, at_snp()).unwrap_err();
    assert!(
        matches!(&e, Error::Malformed(m) if m.what == "HCL report"),
        "{e}"
    );
}

fn endorsement_mut<'a>(ev: &'a mut Evidence, kind: &str) -> &'a mut Vec<u8> {
    &mut ev
        .endorsements
        .iter_mut()
        .find(|e| e.kind == kind)
        .unwrap()
        .data
}

fn snp_live() -> Option<Evidence> {
    Some(from_peer_json(&read("az_snp/live-evidence.json")?).unwrap())
}

#[test]
fn snp_negatives_fail_at_the_named_step() {
    let Some(ev) = snp_live() else { return };
    let verify = |e: &Evidence| snp().verify(e, at_snp()).map(|_| ());
    // One byte of the runtime claims (outside the AK modulus): binding.
    let mut e = ev.clone();
    e.report[0x4D4 + 3] ^= 1;
    assert!(matches!(
        verify(&e),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "HCL runtime claims binding (REPORT_DATA)",
            ..
        }))
    ));
    // One byte of the TPM message (the first nonce byte, 44) or signature.
    for kind in [TPM_QUOTE_ATTEST, TPM_QUOTE_SIGNATURE] {
        let mut e = ev.clone();
        let d = endorsement_mut(&mut e, kind);
        let i = if kind == TPM_QUOTE_ATTEST { 44 } else { 100 };
        d[i] ^= 0x40;
        assert!(
            matches!(verify(&e), Err(Error::Authenticity(Authenticity::BadSignature { what })) if what.contains("vTPM quote")),
            "{kind}"
        );
    }
    // A PCR value changed: digest mismatch.
    let mut e = ev.clone();
    endorsement_mut(&mut e, evidence::TPM_PCR_VALUES)[5] ^= 1;
    assert!(matches!(
        verify(&e),
        Err(Error::Authenticity(Authenticity::Mismatch {
            what: "vTPM PCR digest",
            ..
        }))
    ));
    // A byte of the SNP report: its signature.
    let mut e = ev.clone();
    e.report[0x20 + 0x90] ^= 1;
    assert!(matches!(verify(&e), Err(Error::Authenticity(_))));
    // The VCEK of the other chip, and the other VM's TPM quote.
    let Some(other) = read("az_snp/milan-v3-attestation.json") else {
        return;
    };
    let other = from_peer_json(&other).unwrap();
    let mut e = ev.clone();
    *endorsement_mut(&mut e, endorsement::SIGNING_CERT_DER) = other
        .endorsement(endorsement::SIGNING_CERT_DER)
        .unwrap()
        .to_vec();
    assert!(matches!(verify(&e), Err(Error::Authenticity(_))));
    let mut e = ev.clone();
    for k in [
        TPM_QUOTE_ATTEST,
        TPM_QUOTE_SIGNATURE,
        evidence::TPM_PCR_VALUES,
    ] {
        *endorsement_mut(&mut e, k) = other.endorsement(k).unwrap().to_vec();
    }
    assert!(matches!(
        verify(&e),
        Err(Error::Authenticity(Authenticity::BadSignature { .. }))
    ));
    // A byte inside the AK modulus: binding fails first.
    let mut e = ev.clone();
    let var = &e.report[0x4D4..0x4D4 + 1110];
    let pos = 0x4D4 + var.windows(8).position(|w| w == b"p4DKlwAB").unwrap() + 10;
    e.report[pos] = if e.report[pos] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        verify(&e),
        Err(Error::Authenticity(Authenticity::Mismatch { .. }))
    ));
}

#[test]
fn peer_shapes_all_convert_to_the_same_envelope() {
    let Some(j) = read("az_snp/live-evidence.json") else {
        return;
    };
    let ev = from_peer_json(&j).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
    let inner = &v["evidence"];
    // Without the attestation-rs envelope (Trustee v1 shape, no padding).
    assert_eq!(from_peer_json(inner.to_string().as_bytes()).unwrap(), ev);
    // Trustee v1 and v2 with padding.
    let mut t = evidence::to_trustee_json(&ev).unwrap();
    for version in [1, 2] {
        t["version"] = version.into();
        assert_eq!(from_peer_json(t.to_string().as_bytes()).unwrap(), ev);
    }
    // Trustee v0: number arrays and a PEM VCEK, `quote`/`report` names.
    let az = evidence::AzureEvidence::from_evidence(&ev).unwrap();
    let pem = tee_sev::verify::to_pem(az.vcek_der.as_ref().unwrap());
    let v0 = serde_json::json!({
        "quote": {"signature": az.signature, "message": az.attest, "pcrs": az.pcrs},
        "report": az.hcl_report,
        "vcek": pem,
    });
    assert_eq!(from_peer_json(v0.to_string().as_bytes()).unwrap(), ev);
    // Unknown versions and platforms are refused.
    t["version"] = 3.into();
    assert!(matches!(
        from_peer_json(t.to_string().as_bytes()),
        Err(Error::Malformed(m)) if m.kind == tee_core::MalformedKind::UnsupportedVersion(3)
    ));
    let bad = serde_json::json!({"platform": "gcp-snp", "evidence": inner});
    assert!(from_peer_json(bad.to_string().as_bytes()).is_err());
    let bad = serde_json::json!({"platform": "az-tdx", "evidence": inner});
    assert!(from_peer_json(bad.to_string().as_bytes()).is_err());
    // parse_any tells the two apart.
    assert!(
        !tee_azure::parse_any(ev.to_json().unwrap().as_bytes())
            .unwrap()
            .1
    );
    assert!(tee_azure::parse_any(&j).unwrap().1);
    // Truncations of the JSON never panic and fail.
    for n in (0..j.len()).step_by(97) {
        assert!(from_peer_json(&j[..n]).is_err());
    }
}

#[test]
fn tdx_negatives() {
    let Some(j) = read("az_tdx/live-evidence.json") else {
        return;
    };
    let ev = from_peer_json(&j).unwrap();
    let at = UnixTime::parse_rfc3339("2026-04-01T00:00:00Z").unwrap();
    let v = AzureVerifier::new(TdxVerifier::new().with_collateral(tdx_collateral().unwrap()));
    let mut e = ev.clone();
    e.report[0x4D4 + 5] ^= 1;
    assert!(matches!(
        v.verify(&e, at),
        Err(Error::Authenticity(Authenticity::Mismatch { .. }))
    ));
    let mut e = ev.clone();
    endorsement_mut(&mut e, TPM_QUOTE_ATTEST)[44] ^= 1;
    assert!(matches!(
        v.verify(&e, at),
        Err(Error::Authenticity(Authenticity::BadSignature { .. }))
    ));
    // A byte of the HCL's TDREPORT: its TDINFO hash fails.
    let mut e = ev.clone();
    e.report[0x20 + 528] ^= 1;
    assert!(matches!(v.verify(&e, at), Err(Error::Authenticity(_))));
    // The same with the hash recomputed: the TDREPORT disagrees with the quote.
    use sha2::Digest as _;
    let h = sha2::Sha384::digest(&e.report[0x20 + 512..0x20 + 1024]);
    e.report[0x20 + 80..0x20 + 128].copy_from_slice(&h);
    let err = v.verify(&e, at).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Authenticity(Authenticity::Mismatch {
                what: "HCL TDREPORT vs TD quote",
                ..
            })
        ),
        "{err}"
    );
    // A byte of the TD quote body: quote signature.
    let mut e = ev.clone();
    endorsement_mut(&mut e, evidence::TDX_QUOTE)[200] ^= 1;
    assert!(v.verify(&e, at).is_err());
    // The SNP capture's AK does not verify this quote.
    let Some(s) = snp_live() else { return };
    let mut e = ev.clone();
    *endorsement_mut(&mut e, TPM_QUOTE_ATTEST) = s.endorsement(TPM_QUOTE_ATTEST).unwrap().to_vec();
    *endorsement_mut(&mut e, TPM_QUOTE_SIGNATURE) =
        s.endorsement(TPM_QUOTE_SIGNATURE).unwrap().to_vec();
    assert!(matches!(
        v.verify(&e, at),
        Err(Error::Authenticity(Authenticity::BadSignature { .. }))
    ));
}
