//! The measured operations: peers, floors, and ours.

use std::hint::black_box;
use std::path::Path;

use p384::ecdsa::signature::{Signer, Verifier as _};
use tee::{Backend, Platform, ReportData, SealPolicy, UnixTime, Verifier};

use crate::Bench;

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| {
        eprintln!("tee-bench: cannot read {rel}: {e}");
        std::process::exit(1)
    })
}

/// One raw ECDSA P-384 / SHA-384 verification over a report-sized message
/// with the same crypto crate the SDK uses (RustCrypto `p384`).
pub(crate) fn p384_floor() -> impl FnMut() {
    let sk =
        p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).unwrap_or_else(|_| std::process::exit(1));
    let msg = vec![0x5au8; 0x2A0];
    let sig: p384::ecdsa::Signature = sk.sign(&msg);
    let vk = *sk.verifying_key();
    move || {
        let _ = black_box(vk.verify(black_box(&msg), &sig));
    }
}

/// One raw ECDSA P-256 / SHA-256 verification over a quote-sized message.
pub(crate) fn p256_floor() -> impl FnMut() {
    let sk =
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap_or_else(|_| std::process::exit(1));
    let msg = vec![0x5au8; 632];
    let sig: p256::ecdsa::Signature = sk.sign(&msg);
    let vk = *sk.verifying_key();
    move || {
        let _ = black_box(vk.verify(black_box(&msg), &sig));
    }
}

/// The `sev` crate (8.0.0, `crypto_nossl`): parse the report and the
/// certificates, then verify ARK self-signature, ARK→ASK, ASK→VCEK and the
/// report signature, as its `Verifiable` impls do.
pub(crate) fn sev_crate_full(vec: &Path) -> impl FnMut() {
    use sev::certs::snp::{Certificate, Chain, Verifiable, ca};
    use sev::firmware::guest::AttestationReport;
    use sev::parser::ByteParser;

    let hex_text = read(vec, "virtee-sev/report_milan.hex");
    let report = hex::decode(String::from_utf8_lossy(&hex_text).trim()).unwrap_or_default();
    let vcek = read(vec, "virtee-sev/vcek_milan.der");
    let ark = read(vec, "amd-roots/milan_ark.pem");
    let ask = read(vec, "amd-roots/milan_ask.pem");
    fn full(report: &[u8], ark: &[u8], ask: &[u8], vcek: &[u8]) -> Result<(), String> {
        let r = AttestationReport::from_bytes(report).map_err(|e| e.to_string())?;
        let chain = Chain {
            ca: ca::Chain {
                ark: Certificate::from_pem(ark).map_err(|e| e.to_string())?,
                ask: Certificate::from_pem(ask).map_err(|e| e.to_string())?,
            },
            vek: Certificate::from_der(vcek).map_err(|e| e.to_string())?,
        };
        (&chain, &r).verify().map_err(|e| e.to_string())
    }
    // Check once that the peer accepts this input at all.
    if let Err(e) = full(&report, &ark, &ask, &vcek) {
        eprintln!("tee-bench: the sev crate rejects the Milan vector: {e}");
        std::process::exit(1);
    }
    move || {
        let _ = black_box(full(&report, &ark, &ask, &vcek));
    }
}

pub(crate) const DCAP_AT: u64 = 1_752_919_234; // 2025-07-19T10:00:34Z, inside the vector's window

/// `dcap-qvl` 0.7.1's own `verify` (RustCrypto) on the same quote and collateral.
pub(crate) fn dcap_qvl_verify(vec: &Path) -> impl FnMut() {
    let quote = read(vec, "dcap-qvl/tdx_quote");
    let coll_json = read(vec, "dcap-qvl/tdx_quote_collateral.json");
    let coll: dcap_qvl::QuoteCollateralV3 =
        serde_json::from_slice(&coll_json).unwrap_or_else(|e| {
            eprintln!("tee-bench: collateral JSON: {e}");
            std::process::exit(1)
        });
    match dcap_qvl::verify::rustcrypto::verify(&quote, &coll, DCAP_AT) {
        Ok(r) => eprintln!("  dcap-qvl verdict on the vector: {}", r.status),
        Err(e) => {
            eprintln!("tee-bench: dcap-qvl rejects the vector: {e}");
            std::process::exit(1);
        }
    }
    move || {
        let _ = black_box(dcap_qvl::verify::rustcrypto::verify(&quote, &coll, DCAP_AT));
    }
}

/// Sealing throughput through the envelope with the mock key source.
pub(crate) fn sealing(b: &mut Bench) -> (f64, f64) {
    let backend = tee::open(Platform::Mock).unwrap_or_else(|_| std::process::exit(1));
    let sealer = backend.sealer().unwrap_or_else(|_| std::process::exit(1));
    let pol = SealPolicy::measurement("bench");
    let small = vec![0xA5u8; 4096];
    let big = vec![0xA5u8; 1 << 20];
    let s4 = b.run("seal", "seal 4 KiB (AES-256-GCM envelope)", || {
        let _ = black_box(sealer.seal(black_box(&small), &pol));
    });
    let s1 = b.run("seal", "seal 1 MiB (AES-256-GCM envelope)", || {
        let _ = black_box(sealer.seal(black_box(&big), &pol));
    });
    let blob = sealer.seal(&big, &pol).unwrap_or_default();
    b.run("seal", "unseal 1 MiB", || {
        let _ = black_box(sealer.unseal(black_box(&blob), &pol));
    });
    (s4, s1)
}

/// Mock attest + verify.
pub(crate) fn mock_round_trip() -> impl FnMut() {
    let backend = tee_mock::MockBackend::new();
    let verifier = tee_mock::MockVerifier::trusting_mock_root();
    let rd = ReportData::bind(b"bench", b"");
    move || {
        let ev = backend.attester().and_then(|a| a.attest(&rd));
        let _ =
            black_box(ev.and_then(|ev| verifier.verify(&ev, UnixTime::from_secs(1_750_000_000))));
    }
}
