//! AMD KDS CRLs (finding 14): checked from the evidence, from the verifier
//! and from a GHCB certificate table, with the fake AMD PKI; every way a
//! CRL can be wrong is an authenticity failure, and without a CRL the
//! claims say so and appraisal fails unless explicitly allowed.

use tee_core::evidence::endorsement;
use tee_core::platforms::{SnpClaims, SnpSigningKey};
use tee_core::{
    Authenticity, Claims, Error, Evidence, Outcome, PlatformClaims, Policy, ReportData, UnixTime,
    Verified, Verifier, appraise,
};
use tee_sev::cert_table::{self, CertKind};
use tee_sev::report::Product;
use tee_sev::testing::{CRL_NEXT_UPDATE, CRL_THIS_UPDATE, FakeFirmware, at, pki, serial};
use tee_sev::{SnpVerifier, evidence_from_parts};

const RD: [u8; 64] = [0x11; 64];

fn evidence(product: Product, key: SnpSigningKey, crl: Option<Vec<u8>>) -> Evidence {
    let fw = FakeFirmware::new(product, 3, key);
    let p = pki(product);
    let (leaf, inter) = match key {
        SnpSigningKey::Vcek => (p.vcek(), p.ask.clone()),
        SnpSigningKey::Vlek => (p.vlek(), p.asvk.clone()),
    };
    let ev = evidence_from_parts(&fw.make_report(&RD, 0), Some(&leaf), &[&inter]).unwrap();
    match crl {
        Some(c) => ev.with_endorsement(endorsement::AMD_CRL_DER, c),
        None => ev,
    }
}

fn verifier(product: Product) -> SnpVerifier {
    pki(product).verifier()
}

fn snp(c: &Claims) -> &SnpClaims {
    match &c.platform_claims {
        PlatformClaims::SevSnp(s) => s,
        other => panic!("{other:?}"),
    }
}

fn auth(r: tee_core::Result<Verified<Claims>>) -> Authenticity {
    match r {
        Err(Error::Authenticity(a)) => a,
        other => panic!("expected an authenticity error, got {other:?}"),
    }
}

fn revocation_outcome(c: &Verified<Claims>, p: &Policy) -> Outcome {
    appraise(c, p)
        .checks
        .iter()
        .find(|c| c.name == "sev-snp.revocation")
        .unwrap()
        .outcome
}

fn policy() -> Policy {
    Policy::new()
        .expect_report_data(ReportData::new(RD))
        .allow_any_measurement(true)
}

#[test]
fn finding14_good_crl_in_evidence_sets_revocation_checked() {
    for product in Product::ALL {
        for key in [SnpSigningKey::Vcek, SnpSigningKey::Vlek] {
            let p = pki(product);
            let ev = evidence(product, key, Some(p.crl(&[99])));
            let c = verifier(product)
                .verify(&ev, at())
                .unwrap_or_else(|e| panic!("{product} {key:?}: {e}"));
            assert!(snp(&c).revocation_checked, "{product} {key:?}");
            assert_eq!(revocation_outcome(&c, &policy()), Outcome::Passed);
            let a = appraise(&c, &policy());
            assert!(a.passed(), "{product} {key:?}: {a:?}");
        }
    }
}

#[test]
fn finding14_no_crl_fails_appraisal_unless_allowed() {
    let ev = evidence(Product::Milan, SnpSigningKey::Vcek, None);
    let c = verifier(Product::Milan).verify(&ev, at()).unwrap();
    assert!(!snp(&c).revocation_checked);
    let a = appraise(&c, &policy());
    assert!(!a.passed());
    let failed: Vec<_> = a.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, vec!["sev-snp.revocation"]);
    let allowed = policy().with_sev_snp(|s| s.allow_unchecked_revocation(true));
    assert_eq!(revocation_outcome(&c, &allowed), Outcome::Passed);
    assert!(appraise(&c, &allowed).passed());
}

#[test]
fn finding14_revoked_ask_asvk_vcek_vlek_are_rejected() {
    for (key, revoked, name) in [
        (SnpSigningKey::Vcek, serial::ASK, "ASK"),
        (SnpSigningKey::Vcek, serial::VCEK, "VCEK"),
        (SnpSigningKey::Vlek, serial::ASVK, "ASVK"),
        (SnpSigningKey::Vlek, serial::VLEK, "VLEK"),
    ] {
        let p = pki(Product::Genoa);
        let ev = evidence(Product::Genoa, key, Some(p.crl(&[77, revoked])));
        match auth(verifier(Product::Genoa).verify(&ev, at())) {
            Authenticity::Revoked { what } => {
                assert!(what.starts_with(name), "{what}");
                assert!(what.contains("ARK-Genoa"), "{what}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // An ASK CRL entry does not revoke the ASVK's chain and vice versa.
    let p = pki(Product::Genoa);
    let ev = evidence(
        Product::Genoa,
        SnpSigningKey::Vlek,
        Some(p.crl(&[serial::ASK])),
    );
    let c = verifier(Product::Genoa).verify(&ev, at()).unwrap();
    assert!(snp(&c).revocation_checked);
}

#[test]
fn finding14_crl_time_window() {
    let p = pki(Product::Milan);
    let v = verifier(Product::Milan);
    let ev = evidence(Product::Milan, SnpSigningKey::Vcek, Some(p.crl(&[])));
    // thisUpdate is inclusive, nextUpdate exclusive.
    assert!(snp(&v.verify(&ev, UnixTime::from_secs(CRL_THIS_UPDATE)).unwrap()).revocation_checked);
    assert!(
        snp(&v
            .verify(&ev, UnixTime::from_secs(CRL_NEXT_UPDATE - 1))
            .unwrap())
        .revocation_checked
    );
    assert_eq!(
        auth(v.verify(&ev, UnixTime::from_secs(CRL_NEXT_UPDATE))),
        Authenticity::Expired {
            what: "AMD CRL (nextUpdate)".into(),
            not_after: CRL_NEXT_UPDATE,
            at: CRL_NEXT_UPDATE,
        }
    );
    assert_eq!(
        auth(v.verify(&ev, UnixTime::from_secs(CRL_THIS_UPDATE - 1))),
        Authenticity::NotYetValid {
            what: "AMD CRL (thisUpdate)".into(),
            not_before: CRL_THIS_UPDATE,
            at: CRL_THIS_UPDATE - 1,
        }
    );
    // Expired at the default test time.
    let old = p.crl_at(&[], CRL_THIS_UPDATE - 100_000, Some(CRL_THIS_UPDATE - 1));
    let ev = evidence(Product::Milan, SnpSigningKey::Vcek, Some(old));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::Expired { .. }
    ));
    // Not yet valid at the default test time.
    let future = p.crl_at(&[], CRL_NEXT_UPDATE, Some(CRL_NEXT_UPDATE + 10));
    let ev = evidence(Product::Milan, SnpSigningKey::Vcek, Some(future));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::NotYetValid { .. }
    ));
    // Without nextUpdate its freshness is unknown: refused.
    let open = p.crl_at(&[], CRL_THIS_UPDATE, None);
    let ev = evidence(Product::Milan, SnpSigningKey::Vcek, Some(open));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::Expired { what, .. } if what.contains("no nextUpdate")
    ));
}

#[test]
fn finding14_bad_signature_and_wrong_issuer_crls_are_rejected() {
    let p = pki(Product::Turin);
    let v = verifier(Product::Turin);
    // Signed by another key under the ARK's name.
    let ev = evidence(Product::Turin, SnpSigningKey::Vcek, Some(p.rogue_crl()));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::BadChain { detail } if detail.contains("does not verify")
    ));
    // One flipped signature byte.
    let mut flipped = p.crl(&[]);
    let n = flipped.len();
    flipped[n - 5] ^= 0x01;
    let ev = evidence(Product::Turin, SnpSigningKey::Vcek, Some(flipped));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::BadChain { .. }
    ));
    // Issued by the ASK, not the ARK.
    let ev = evidence(Product::Turin, SnpSigningKey::Vcek, Some(p.ask_crl()));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::BadChain { detail } if detail.contains("not by ARK-Turin")
    ));
    // Another product's ARK CRL carried in the evidence.
    let milan = pki(Product::Milan).crl(&[]);
    let ev = evidence(Product::Turin, SnpSigningKey::Vcek, Some(milan));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::BadChain { detail } if detail.contains("ARK-Milan")
    ));
    // Not a CRL at all: malformed.
    let ev = evidence(
        Product::Turin,
        SnpSigningKey::Vcek,
        Some(vec![0x30, 0x03, 1, 2]),
    );
    assert!(matches!(v.verify(&ev, at()), Err(Error::Malformed(_))));
}

#[test]
fn finding14_verifier_configured_crl() {
    let p = pki(Product::Milan);
    let ev = evidence(Product::Milan, SnpSigningKey::Vcek, None);
    // A good CRL on the verifier: checked.
    let v = verifier(Product::Milan).with_crl(&p.crl(&[])).unwrap();
    assert!(snp(&v.verify(&ev, at()).unwrap()).revocation_checked);
    // A revoking CRL on the verifier: rejected, also after the chain was
    // cached by an earlier verification.
    let plain = verifier(Product::Milan);
    assert!(!snp(&plain.verify(&ev, at()).unwrap()).revocation_checked);
    let v = plain.with_crl(&p.crl(&[serial::VCEK])).unwrap();
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::Revoked { .. }
    ));
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::Revoked { .. }
    ));
    // Another product's CRL on the verifier is ignored for this report.
    let v = verifier(Product::Milan)
        .with_crl(&pki(Product::Genoa).crl(&[serial::VCEK]))
        .unwrap();
    assert!(!snp(&v.verify(&ev, at()).unwrap()).revocation_checked);
    // A bad CRL named by this ARK on the verifier fails every report.
    let v = verifier(Product::Milan).with_crl(&p.rogue_crl()).unwrap();
    assert!(matches!(
        auth(v.verify(&ev, at())),
        Authenticity::BadChain { .. }
    ));
    assert!(verifier(Product::Milan).with_crl(b"not a crl").is_err());
}

#[test]
fn finding14_crl_in_the_ghcb_certificate_table_and_cache_fast_path() {
    let p = pki(Product::Milan);
    let fw = FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek);
    let raw = fw.make_report(&RD, 0);
    let table = |crl: &[u8]| {
        cert_table::build(&[
            (CertKind::Vcek, &p.vcek()),
            (CertKind::Ask, &p.ask),
            (CertKind::Ark, &p.ark),
            (CertKind::Crl, crl),
        ])
    };
    let ev = |t: Vec<u8>| {
        Evidence::new(
            tee_core::Platform::SevSnp,
            tee_core::evidence::format::SEV_SNP_REPORT,
            raw.clone(),
        )
        .with_endorsement(endorsement::GHCB_CERT_TABLE, t)
    };
    let v = verifier(Product::Milan);
    let good = ev(table(&p.crl(&[])));
    // Twice: the second verification takes the cache's fast path.
    for _ in 0..2 {
        assert!(snp(&v.verify(&good, at()).unwrap()).revocation_checked);
    }
    assert!(v.cache_stats().hits >= 1, "{:?}", v.cache_stats());
    // The fast path still checks the CRL's window.
    assert!(matches!(
        auth(v.verify(&good, UnixTime::from_secs(CRL_NEXT_UPDATE))),
        Authenticity::Expired { .. }
    ));
    let revoked = ev(table(&p.crl(&[serial::ASK])));
    for _ in 0..2 {
        assert!(matches!(
            auth(v.verify(&revoked, at())),
            Authenticity::Revoked { .. }
        ));
    }
}
