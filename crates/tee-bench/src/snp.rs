//! Our SEV-SNP verification figures.
//!
//! The virtee Milan vector (`virtee-sev/report_milan.hex` + `vcek_milan.der`,
//! with the Milan ARK and ASK supplied as PEM like the peer gets them) at a
//! time inside every certificate's validity period:
//! - `cold`: a verifier without cache: ARK and ASK byte-compared with the
//!   pinned ones (no signature needed for pinned certificates, validity still
//!   checked), ASK → VCEK RSA-PSS, the report's P-384 signature, the VCEK
//!   extensions against the report, claims;
//! - `steady`: the same chain already verified (cache keyed by the exact
//!   certificate bytes): parse, one P-384 verify, extension checks, claims.
//!
//! With `--features aws-lc` the same rows are measured with the `aws-lc-rs`
//! provider (passed explicitly to the verifier), with both providers' raw
//! P-384 verification side by side.

use std::hint::black_box;
use std::path::Path;

use tee::sev::crypto::CryptoProvider;
use tee::sev::report::SnpReport;
use tee::sev::{SnpVerifier, evidence_from_parts};
use tee::{Evidence, UnixTime, Verifier};

use crate::Bench;

/// Nanoseconds per verification (compared across providers with `aws-lc`).
#[cfg_attr(not(feature = "aws-lc"), allow(dead_code))]
pub(crate) struct Times {
    /// Full verification, nothing cached: chain + report + extensions.
    pub(crate) cold: f64,
    /// Steady state: the chain already verified (cache keyed by the exact certificate bytes).
    pub(crate) steady: f64,
}

/// The ratios, each measured in interleaved batches against its reference.
pub(crate) struct Snp {
    /// Cold verification / the `sev` crate's full verification.
    pub(crate) cold_vs_sev_crate: f64,
    /// Steady state / one raw P-384 verification (the floor).
    pub(crate) steady_vs_p384_floor: f64,
    /// RustCrypto P-384 verify time / aws-lc-rs's (with `--features aws-lc`).
    pub(crate) aws_lc_p384_speedup: Option<f64>,
}

/// 2025-01-01T00:00:00Z: inside the Milan ARK/ASK and the VCEK (2023-04-03..2030-04-03).
const AT: u64 = 1_735_689_600;

fn evidence(vec: &Path) -> Option<(Vec<u8>, Evidence)> {
    let read = |rel: &str| match std::fs::read(vec.join(rel)) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("tee-bench: cannot read {rel}: {e}");
            None
        }
    };
    let report_hex = read("virtee-sev/report_milan.hex")?;
    let vcek = read("virtee-sev/vcek_milan.der")?;
    let ark = read("amd-roots/milan_ark.pem")?;
    let ask = read("amd-roots/milan_ask.pem")?;
    let ev = evidence_from_parts(&report_hex, Some(&vcek), &[&ask, &ark])
        .map_err(|e| eprintln!("tee-bench: SNP evidence: {e}"))
        .ok()?;
    Some((ev.report.clone(), ev))
}

/// Cold and steady verification with one provider; `None` if it rejects the vector.
fn with_provider(
    b: &mut Bench,
    ev: &Evidence,
    crypto: &'static dyn CryptoProvider,
    cold_name: &'static str,
    steady_name: &'static str,
) -> Option<Times> {
    let at = UnixTime::from_secs(AT);
    let cold_v = SnpVerifier::new().with_crypto(crypto).without_cache();
    let warm_v = SnpVerifier::new().with_crypto(crypto);
    for v in [&cold_v, &warm_v] {
        if let Err(e) = v.verify(ev, at) {
            eprintln!("tee-bench: our SNP verifier rejects the Milan vector: {e}");
            return None;
        }
    }
    let cold = b.run("sev-snp", cold_name, || {
        let _ = black_box(cold_v.verify(black_box(ev), at));
    });
    let steady = b.run("sev-snp", steady_name, || {
        let _ = black_box(warm_v.verify(black_box(ev), at));
    });
    let s = warm_v.cache_stats();
    if s.entries != 1 || s.misses != 1 {
        eprintln!("tee-bench: unexpected cache use: {s:?}");
        return None;
    }
    Some(Times { cold, steady })
}

/// One raw P-384/SHA-384 verification through a provider (prepared key).
#[cfg(feature = "aws-lc")]
fn provider_p384(crypto: &'static dyn CryptoProvider) -> Option<impl FnMut()> {
    use p384::ecdsa::signature::Signer;
    let sk = p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).ok()?;
    let msg = vec![0x5au8; 0x2A0];
    let sig: p384::ecdsa::Signature = sk.sign(&msg);
    let (r, s) = sig.split_bytes();
    let (r, s): ([u8; 48], [u8; 48]) =
        (r.as_slice().try_into().ok()?, s.as_slice().try_into().ok()?);
    let point = sk.verifying_key().to_sec1_point(false);
    let key = crypto.p384_public_key(point.as_bytes()).ok()?;
    if !key.verify_sha384(&msg, &r, &s) {
        return None;
    }
    Some(move || {
        let _ = black_box(key.verify_sha384(black_box(&msg), &r, &s));
    })
}

/// Measure.
pub(crate) fn ours(b: &mut Bench, vec: &Path) -> Option<Snp> {
    let (raw, ev) = evidence(vec)?;
    b.run("sev-snp", "SDK: report parse", || {
        let _ = black_box(SnpReport::parse(black_box(&raw)));
    });
    let at = UnixTime::from_secs(AT);
    b.run(
        "sev-snp",
        "SDK: full verification, fresh verifier per call",
        || {
            let _ = black_box(SnpVerifier::new().verify(black_box(&ev), at));
        },
    );
    let rc = with_provider(
        b,
        &ev,
        &tee::sev::crypto::RUST_CRYPTO,
        "SDK: full verification, cold (no cache)",
        "SDK: steady state (chain cached)",
    )?;
    let (cold_vs_sev_crate, steady_vs_p384_floor) = {
        // The two RATIO lines, each side measured back to back.
        let cold_v = SnpVerifier::new().without_cache();
        let warm_v = SnpVerifier::new();
        let cold = crate::paired_ratio(
            || {
                let _ = black_box(cold_v.verify(black_box(&ev), at));
            },
            crate::peers::sev_crate_full(vec),
            10,
        );
        let steady = crate::paired_ratio(
            || {
                let _ = black_box(warm_v.verify(black_box(&ev), at));
            },
            crate::peers::p384_floor(),
            20,
        );
        (cold, steady)
    };
    #[cfg(not(feature = "aws-lc"))]
    let aws_lc_p384_speedup = None;

    #[cfg(feature = "aws-lc")]
    let aws_lc_p384_speedup = {
        use tee::sev::crypto::{AWS_LC, RUST_CRYPTO};
        let lc = with_provider(
            b,
            &ev,
            &AWS_LC,
            "SDK + aws-lc-rs: full verification, cold",
            "SDK + aws-lc-rs: steady state",
        )?;
        let rc_p384 = b.run(
            "sev-snp",
            "P-384 verify via provider: RustCrypto",
            provider_p384(&RUST_CRYPTO)?,
        );
        let lc_p384 = b.run(
            "sev-snp",
            "P-384 verify via provider: aws-lc-rs",
            provider_p384(&AWS_LC)?,
        );
        eprintln!(
            "  aws-lc-rs vs RustCrypto: P-384 verify {:.1}x faster; cold {:.1}x; steady {:.1}x",
            rc_p384 / lc_p384,
            rc.cold / lc.cold,
            rc.steady / lc.steady
        );
        let mut rc_f = provider_p384(&RUST_CRYPTO)?;
        let mut lc_f = provider_p384(&AWS_LC)?;
        let speedup = crate::paired_ratio(&mut rc_f, &mut lc_f, 20);
        let warm_lc = SnpVerifier::new().with_crypto(&AWS_LC);
        let lc_steady = crate::paired_ratio(
            || {
                let _ = black_box(warm_lc.verify(black_box(&ev), at));
            },
            &mut lc_f,
            20,
        );
        eprintln!(
            "  interleaved: P-384 RustCrypto / aws-lc-rs = {speedup:.2}x; aws-lc steady / aws-lc P-384 = {lc_steady:.3}"
        );
        Some(speedup)
    };
    let _ = rc;
    Some(Snp {
        cold_vs_sev_crate,
        steady_vs_p384_floor,
        aws_lc_p384_speedup,
    })
}
