//! The HCL report, runtime-claims and evidence parsers reject each
//! malformed input with a typed error and never panic.

use tee_azure::evidence::{self, AzureEvidence};
use tee_azure::hcl::{self, HclHash, HclReport, HclTee};
use tee_azure::runtime::{self, RuntimeClaims};
use tee_core::platforms::QualifyingDataRule;
use tee_core::{Error, MalformedKind};

fn sample(tee: HclTee) -> Vec<u8> {
    let var = runtime::build(&[0xC3; 256], &[0; 64]);
    let hw = vec![0x11u8; if tee == HclTee::Snp { 1184 } else { 1024 }];
    hcl::build(tee, &hw, &var, 2600)
}

fn field(e: &Error) -> &'static str {
    match e {
        Error::Malformed(m) => match &m.kind {
            MalformedKind::BadField { field, .. } => field,
            MalformedKind::Truncated { .. } => "truncated",
            MalformedKind::ReservedNonZero { .. } => "reserved",
            MalformedKind::BadLength { .. } => "length",
            _ => "other",
        },
        _ => panic!("not malformed: {e}"),
    }
}

#[test]
fn hcl_report_fields_are_cross_checked() {
    for tee in [HclTee::Snp, HclTee::Tdx] {
        let b = sample(tee);
        let r = HclReport::parse(&b).unwrap();
        assert_eq!(r.tee, tee);
        assert_eq!(r.hash, HclHash::Sha256);
        assert_eq!(
            r.variable_data.len(),
            runtime::build(&[0xC3; 256], &[0; 64]).len()
        );
        assert_eq!(r.variable_data_digest().len(), 32);
        let set = |off: usize, v: u32| {
            let mut x = b.clone();
            x[off..off + 4].copy_from_slice(&v.to_le_bytes());
            HclReport::parse(&x).unwrap_err()
        };
        assert_eq!(field(&set(0, 0x4141_4141)), "signature");
        assert_eq!(field(&set(8, 5000)), "report_size");
        assert_eq!(field(&set(0x4C0, 7)), "data_size");
        assert_eq!(field(&set(0x4C8, 3)), "report_type");
        assert_eq!(field(&set(0x4CC, 9)), "report_data_hash_type");
        // variable_data_size past the end (data_size kept consistent).
        let mut x = b.clone();
        x[0x4D0..0x4D4].copy_from_slice(&5000u32.to_le_bytes());
        x[0x4C0..0x4C4].copy_from_slice(&5020u32.to_le_bytes());
        assert_eq!(field(&HclReport::parse(&x).unwrap_err()), "truncated");
        for n in [0, 10, 0x4D3] {
            assert!(HclReport::parse(&b[..n]).is_err());
        }
        assert_eq!(
            field(&HclReport::parse(&vec![0; 20_000]).unwrap_err()),
            "length"
        );
    }
    // TDX: the 160 bytes after the TDREPORT must be zero.
    let mut b = sample(HclTee::Tdx);
    b[0x20 + 1024 + 7] = 1;
    assert_eq!(field(&HclReport::parse(&b).unwrap_err()), "reserved");
}

#[test]
fn runtime_claims_are_strict_where_it_matters() {
    let ok = runtime::build(&[0xC3; 256], &[7; 64]);
    let rc = RuntimeClaims::parse(&ok).unwrap();
    assert_eq!(rc.ak_modulus.len(), 256);
    assert_eq!(rc.exponent_u64(), 65537);
    assert_eq!(rc.user_data, [7; 64]);
    let text = String::from_utf8(ok).unwrap();
    for bad in [
        text.replace("HCLAkPub", "Other"),
        text.replace("\"kty\":\"RSA\"", "\"kty\":\"EC\""),
        text.replace("\"n\":\"", "\"n\":\"!!"),
        text.replace(&"07".repeat(64), &"07".repeat(63)),
        text.replace(&"07".repeat(64), &"zz".repeat(64)),
        "not json".to_string(),
        "{}".to_string(),
    ] {
        assert!(RuntimeClaims::parse(bad.as_bytes()).is_err(), "{bad:.60}");
    }
    // A 1024-bit AK is refused.
    assert!(RuntimeClaims::parse(&runtime::build(&[0xC3; 128], &[0; 64])).is_err());
    // key_ops is not checked (an older capture says "encrypt").
    let enc = text.replace("[\"sign\"]", "[\"encrypt\"]");
    assert!(RuntimeClaims::parse(enc.as_bytes()).is_ok());
}

#[test]
fn envelope_parts_are_checked() {
    let az = AzureEvidence {
        tee: HclTee::Snp,
        hcl_report: sample(HclTee::Snp),
        attest: vec![1; 10],
        signature: vec![2; 256],
        pcrs: vec![vec![3; 32]; 24],
        vcek_der: Some(vec![0x30]),
        td_quote: None,
        rule: QualifyingDataRule::Raw,
        report_data: None,
    };
    let ev = az.clone().into_evidence();
    assert_eq!(AzureEvidence::from_evidence(&ev).unwrap(), az);
    let mut e = ev.clone();
    e.endorsements
        .retain(|x| x.kind != evidence::TPM_QUOTE_SIGNATURE);
    assert!(matches!(
        AzureEvidence::from_evidence(&e),
        Err(Error::Malformed(_))
    ));
    let mut e = ev.clone();
    e = e.with_endorsement(evidence::TPM_QUOTE_ATTEST, vec![0]);
    assert!(
        matches!(AzureEvidence::from_evidence(&e), Err(Error::Malformed(_))),
        "duplicate"
    );
    let mut e = ev.clone();
    e.platform = tee_core::Platform::Tdx;
    assert!(matches!(
        AzureEvidence::from_evidence(&e),
        Err(Error::Malformed(_))
    ));
    let mut e = ev.clone();
    e.format = "sev-snp-report".into();
    assert!(matches!(
        AzureEvidence::from_evidence(&e),
        Err(Error::Misuse(_))
    ));
    let mut e = ev;
    e.endorsements
        .iter_mut()
        .find(|x| x.kind == evidence::TPM_PCR_VALUES)
        .unwrap()
        .data
        .pop();
    assert!(AzureEvidence::from_evidence(&e).is_err());
}
