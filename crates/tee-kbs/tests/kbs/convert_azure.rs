//! Contract tests of the Azure vTPM converters (`az-snp-vtpm`,
//! `az-tdx-vtpm`; interop facts §1.9): every shared Azure capture
//! (attestation-rs `az_snp/*.json`, `az_tdx/live-evidence.json`; the vectors
//! hold no Trustee Azure capture) is read, converted to Trustee's v2 JSON
//! and back to the same SDK envelope, the JSON has the documented members
//! and encodings, and the SDK verifier gives the converted evidence the
//! capture's expected outcome (INDEX.md §8.1–8.2).

use base64::Engine;
use serde_json::Value;
use tee::azure::{FORMAT_SNP, FORMAT_TDX};
use tee::platforms::QualifyingDataRule;
use tee::{Evidence, Platform, Policy, UnixTime, Verifiers, appraise};
use tee_kbs::Tee;
use tee_kbs::evidence::{detect, evidence_from_any_json, from_trustee, to_trustee};

use crate::common::{through_json, vectors};

const NONCE: &[u8] = b"attestation-test-fixture";

fn read(rel: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(vectors()?.join("attestation-rs").join(rel)).unwrap())
}

fn snp_verifiers() -> Verifiers {
    Verifiers::empty().with(Box::new(tee::sev::SnpVerifier::new()))
}

fn tdx_verifiers() -> Verifiers {
    let f = |n: &str| read(&format!("collateral/{n}")).unwrap();
    let c = tee::tdx::Collateral::from_pcs(&tee::tdx::PcsFiles {
        tcb_info_response: f("tcb_info_90c06f000000.json"),
        qe_identity_response: f("td_qe_identity.json"),
        pck_crl: f("pck_crl_platform.der"),
        root_ca_crl: f("root_ca_crl.der"),
        tcb_info_issuer_chain: f("tcb_signing_chain.pem"),
        pck_crl_issuer_chain: Vec::new(),
        qe_identity_issuer_chain: read("collateral/qe_identity_signing_chain.pem"),
    })
    .unwrap();
    Verifiers::empty().with(Box::new(tee::tdx::TdxVerifier::new().with_collateral(c)))
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

/// The Trustee v2 members and encodings (lower-case hex, base64url with padding).
fn check_v2_shape(j: &Value, tee: Tee) {
    assert_eq!(j["version"], 2);
    let q = &j["tpm_quote"];
    for k in ["signature", "message"] {
        let h = q[k].as_str().unwrap();
        assert!(
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
    let pcrs = q["pcrs"].as_array().unwrap();
    assert_eq!(pcrs.len(), 24);
    assert!(pcrs.iter().all(|p| p.as_str().unwrap().len() == 64));
    let hcl = j["hcl_report"].as_str().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(hcl)
        .unwrap();
    assert_eq!(&raw[..4], b"HCLA");
    let (present, absent) = match tee {
        Tee::AzSnpVtpm => ("vcek", "td_quote"),
        _ => ("td_quote", "vcek"),
    };
    assert!(j[present].is_string() && j.get(absent).is_none());
    assert_eq!(detect(j), Some(tee));
}

/// Read a capture in its own shape, convert to Trustee JSON and back.
fn round_trip(rel: &str, tee: Tee, format: &str) -> Option<(Evidence, Value)> {
    let bytes = read(rel)?;
    let ev = evidence_from_any_json(&bytes).unwrap();
    assert_eq!(ev, tee::azure::from_peer_json(&bytes).unwrap(), "{rel}");
    assert_eq!(ev.format, format);
    let (t, j) = to_trustee(&ev).unwrap();
    assert_eq!(t, tee, "{rel}");
    check_v2_shape(&j, tee);
    let back = through_json(tee, &j);
    assert_eq!(back, ev, "{rel}: the envelope survives the round trip");
    assert_eq!(to_trustee(&back).unwrap().1, j);
    // As a KBS Attestation message and as a `{"tee", "evidence"}` pair.
    for w in [
        serde_json::json!({"tee-evidence": {"primary_evidence": j, "additional_evidence": ""}}),
        serde_json::json!({"tee": tee.as_str(), "evidence": j}),
    ] {
        assert_eq!(
            evidence_from_any_json(w.to_string().as_bytes()).unwrap(),
            ev
        );
    }
    Some((ev, j))
}

#[test]
fn az_snp_live_evidence_round_trips_and_verifies_with_its_nonce_only() {
    let Some((ev, j)) = round_trip("az_snp/live-evidence.json", Tee::AzSnpVtpm, FORMAT_SNP) else {
        return;
    };
    let at = UnixTime::parse_rfc3339("2026-03-20T00:00:00Z").unwrap();
    let direct = snp_verifiers().verify(&ev, at).unwrap();
    let converted = snp_verifiers()
        .verify(&through_json(Tee::AzSnpVtpm, &j), at)
        .unwrap();
    assert_eq!(*direct, *converted);
    let v = converted.vtpm.as_ref().unwrap();
    assert_eq!(&v.qualifying_data[..], NONCE);
    assert_eq!(v.qualifying_data_rule, QualifyingDataRule::Raw);
    assert!(!v.user_data_binds_qualifying_data, "user-data is zero here");
    assert!(appraise(&converted, &policy(NONCE)).passed());
    assert!(!appraise(&converted, &policy(b"attestation-test-fixturf")).passed());
    let mut padded = NONCE.to_vec();
    padded.resize(48, 0);
    assert!(!appraise(&converted, &policy(&padded)).passed());
    // A changed quote message breaks the TPM signature; a changed HCL report
    // byte (the hardware report's measurement) breaks the SNP signature.
    let mut t = j.clone();
    let mut m = hex::decode(t["tpm_quote"]["message"].as_str().unwrap()).unwrap();
    let last = m.len() - 1;
    m[last] ^= 1;
    t["tpm_quote"]["message"] = Value::from(hex::encode(m));
    assert!(
        snp_verifiers()
            .verify(&through_json(Tee::AzSnpVtpm, &t), at)
            .is_err()
    );
    let mut t = j;
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let mut h = b64.decode(t["hcl_report"].as_str().unwrap()).unwrap();
    h[0x20 + 0x90] ^= 1;
    t["hcl_report"] = Value::from(b64.encode(h));
    assert!(
        snp_verifiers()
            .verify(&through_json(Tee::AzSnpVtpm, &t), at)
            .is_err()
    );
}

#[test]
fn az_snp_milan_v3_round_trips_and_verifies_with_the_empty_nonce_only() {
    let Some((ev, j)) = round_trip(
        "az_snp/milan-v3-attestation.json",
        Tee::AzSnpVtpm,
        FORMAT_SNP,
    ) else {
        return;
    };
    let at = UnixTime::parse_rfc3339("2026-03-20T00:00:00Z").unwrap();
    let converted = snp_verifiers()
        .verify(&through_json(Tee::AzSnpVtpm, &j), at)
        .unwrap();
    assert_eq!(*snp_verifiers().verify(&ev, at).unwrap(), *converted);
    assert!(converted.vtpm.as_ref().unwrap().qualifying_data.is_empty());
    assert!(appraise(&converted, &policy(b"")).passed());
    assert!(!appraise(&converted, &policy(NONCE)).passed());
}

#[test]
fn az_tdx_round_trips_and_is_up_to_date_with_its_collateral_and_nonce() {
    let Some((ev, j)) = round_trip("az_tdx/live-evidence.json", Tee::AzTdxVtpm, FORMAT_TDX) else {
        return;
    };
    assert_eq!(ev.platform, Platform::Tdx);
    let at = UnixTime::parse_rfc3339("2026-04-01T00:00:00Z").unwrap();
    // Trustee's shape carries no collateral: the relying party's verifier has it.
    let converted = tdx_verifiers()
        .verify(&through_json(Tee::AzTdxVtpm, &j), at)
        .unwrap();
    assert_eq!(*tdx_verifiers().verify(&ev, at).unwrap(), *converted);
    let v = converted.vtpm.as_ref().unwrap();
    assert_eq!(&v.qualifying_data[..], NONCE);
    assert!(
        v.user_data_binds_qualifying_data,
        "the TDX attester wrote user-data"
    );
    assert_eq!(
        converted.tcb.value().unwrap().status,
        tee::TcbStatus::UpToDate
    );
    assert!(appraise(&converted, &policy(NONCE)).passed());
    assert!(!appraise(&converted, &policy(b"attestation-test-fixturE")).passed());
    // After the collateral expired: fails.
    let late = UnixTime::parse_rfc3339("2026-04-16T00:00:00Z").unwrap();
    assert!(tdx_verifiers().verify(&ev, late).is_err());
    // A changed TD quote byte breaks the quote signature.
    let mut t = j;
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let mut q = b64.decode(t["td_quote"].as_str().unwrap()).unwrap();
    q[200] ^= 1;
    t["td_quote"] = Value::from(b64.encode(q));
    assert!(
        tdx_verifiers()
            .verify(&through_json(Tee::AzTdxVtpm, &t), at)
            .is_err()
    );
}

#[test]
fn older_trustee_shapes_convert_to_the_same_envelope() {
    let Some(bytes) = read("az_snp/live-evidence.json") else {
        return;
    };
    let ev = evidence_from_any_json(&bytes).unwrap();
    let (_, v2) = to_trustee(&ev).unwrap();
    // v1: the same members with `"version": 1`.
    let mut v1 = v2.clone();
    v1["version"] = Value::from(1);
    assert_eq!(through_json(Tee::AzSnpVtpm, &v1), ev);
    // v0: byte arrays, `quote` and `report` instead of `tpm_quote` and
    // `hcl_report`, the VCEK in PEM.
    let arr = |h: &str| Value::from(hex::decode(h).unwrap());
    let q = &v2["tpm_quote"];
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let hcl = b64.decode(v2["hcl_report"].as_str().unwrap()).unwrap();
    let vcek = b64.decode(v2["vcek"].as_str().unwrap()).unwrap();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::engine::general_purpose::STANDARD.encode(vcek)
    );
    let v0 = serde_json::json!({
        "quote": {
            "signature": arr(q["signature"].as_str().unwrap()),
            "message": arr(q["message"].as_str().unwrap()),
            "pcrs": q["pcrs"].as_array().unwrap().iter().map(|p| arr(p.as_str().unwrap())).collect::<Vec<_>>(),
        },
        "report": Value::from(hcl),
        "vcek": pem,
    });
    assert_eq!(detect(&v0), Some(Tee::AzSnpVtpm));
    assert_eq!(through_json(Tee::AzSnpVtpm, &v0), ev);
}

#[test]
fn azure_json_of_the_wrong_tee_or_shape_is_refused() {
    let (Some(snp), Some(tdx)) = (
        read("az_snp/live-evidence.json"),
        read("az_tdx/live-evidence.json"),
    ) else {
        return;
    };
    let (_, snp) = to_trustee(&evidence_from_any_json(&snp).unwrap()).unwrap();
    let (_, tdx) = to_trustee(&evidence_from_any_json(&tdx).unwrap()).unwrap();
    // SNP evidence read as TDX, and the other way round; Azure JSON read as bare SNP/TDX.
    assert!(from_trustee(Tee::AzTdxVtpm, &snp).is_err());
    assert!(from_trustee(Tee::AzSnpVtpm, &tdx).is_err());
    assert!(from_trustee(Tee::Snp, &snp).is_err());
    assert!(from_trustee(Tee::Tdx, &tdx).is_err());
    // Unknown version, bad hex, bad base64url, a missing part, a short PCR.
    type Edit = (&'static str, fn(&mut Value));
    let edits: [Edit; 6] = [
        ("version 3", |v| v["version"] = Value::from(3)),
        ("bad hex", |v| v["tpm_quote"]["message"] = Value::from("zz")),
        ("bad base64url", |v| v["hcl_report"] = Value::from("!!!!")),
        ("no quote", |v| {
            v.as_object_mut().unwrap().remove("tpm_quote");
        }),
        ("no vcek", |v| {
            v.as_object_mut().unwrap().remove("vcek");
        }),
        ("short PCR", |v| {
            v["tpm_quote"]["pcrs"][3] = Value::from("00")
        }),
    ];
    for (what, f) in edits {
        let mut t = snp.clone();
        f(&mut t);
        assert!(from_trustee(Tee::AzSnpVtpm, &t).is_err(), "{what}");
    }
    // A converted envelope whose evidence is not the Trustee shape of its format.
    let broken = Evidence::new(Platform::SevSnp, FORMAT_SNP, vec![0; 16]);
    assert!(to_trustee(&broken).is_err());
}
