#![allow(missing_docs, clippy::unwrap_used)]
use std::hint::black_box;
use std::time::Instant;
use tee_core::{UnixTime, Verifier};
fn t<F: FnMut()>(name: &str, mut f: F) {
    for _ in 0..200 {
        f();
    }
    let n = 3000;
    let s = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name}: {:.2} us",
        s.elapsed().as_nanos() as f64 / n as f64 / 1e3
    );
}
fn main() {
    let d = std::path::Path::new("/work/shared/vectors");
    let rep = std::fs::read(d.join("virtee-sev/report_milan.hex")).unwrap();
    let vcek = std::fs::read(d.join("virtee-sev/vcek_milan.der")).unwrap();
    let ark = std::fs::read(d.join("amd-roots/milan_ark.pem")).unwrap();
    let ask = std::fs::read(d.join("amd-roots/milan_ask.pem")).unwrap();
    let ev = tee_sev::evidence_from_parts(&rep, Some(&vcek), &[&ask, &ark]).unwrap();
    let at = UnixTime::from_secs(1_735_689_600);
    t("endorsements", || {
        black_box(tee_sev::Endorsements::from_evidence(black_box(&ev)).unwrap());
    });
    let e = tee_sev::Endorsements::from_evidence(&ev).unwrap();
    t("cert parse vcek", || {
        black_box(tee_sev::certs::Cert::from_der(black_box(&vcek)).unwrap());
    });
    t("decode_certs ark pem", || {
        black_box(tee_sev::certs::decode_certs(black_box(&ark)).unwrap());
    });
    t("exts", || {
        black_box(e.signing_certs[0].amd_extensions().unwrap());
    });
    t("cn", || {
        black_box(e.signing_certs[0].common_name());
    });
    let big = vec![1u8; 4600];
    t("sha256 4.6k", || {
        use sha2::Digest;
        black_box(sha2::Sha256::digest(black_box(&big)));
    });
    let raw = ev.report.clone();
    let v = tee_sev::SnpVerifier::new();
    v.verify(&ev, at).unwrap();
    t("verify_report (parsed endorsements, hit)", || {
        black_box(v.verify_report(&raw, &e, at).unwrap());
    });
    t("verify (hit)", || {
        black_box(v.verify(&ev, at).unwrap());
    });
}
