//! The backend conformance suite (feature `conformance`).
//!
//! Every backend runs these scenarios against itself, one line each, the way
//! RustCrypto's `aead::dev` serves every AEAD. They are test helpers: they
//! `assert!` and panic with a message naming the broken property.
//!
//! ```ignore
//! let target = Target { backend: &backend, verifier: &verifier, at: UnixTime::now(), tamper_offsets: vec![0, 100] };
//! tee_core::conformance::run_all(&target);
//! ```
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use alloc::vec::Vec;

use crate::error::{Error, Operation, UnsealError};
use crate::report_data::ReportData;
use crate::seal::{SealBinding, SealPolicy};
use crate::time::UnixTime;
use crate::traits::{Backend, Capabilities, Support, Verifier};

/// What the suite runs against.
#[derive(Debug)]
pub struct Target<'a> {
    /// The backend under test.
    pub backend: &'a dyn Backend,
    /// A verifier that trusts the backend's (test) root.
    pub verifier: &'a dyn Verifier,
    /// Verification time.
    pub at: UnixTime,
    /// Offsets into `Evidence::report` covered by the signature; flipping
    /// any one must make verification fail. Empty: a spread of offsets
    /// across the whole report is used.
    pub tamper_offsets: Vec<usize>,
}

/// Evidence binds report data: two different report data give evidence
/// whose verified claims carry exactly those report data.
pub fn report_data_is_bound(t: &Target<'_>) {
    let Ok(att) = t.backend.attester() else {
        return;
    };
    for rd in [
        ReportData::bind(b"nonce-1", b""),
        ReportData::new([0xA5; 64]),
    ] {
        let ev = att.attest(&rd).expect("attest");
        assert_eq!(ev.platform, t.backend.platform(), "evidence platform");
        let claims = t.verifier.verify(&ev, t.at).expect("verify fresh evidence");
        assert_eq!(
            claims.report_data, rd,
            "report data not bound into the evidence"
        );
    }
}

/// Flipping any signed byte of the report makes verification fail.
pub fn tampered_evidence_is_rejected(t: &Target<'_>) {
    let Ok(att) = t.backend.attester() else {
        return;
    };
    let ev = att
        .attest(&ReportData::bind(b"tamper", b""))
        .expect("attest");
    let offsets: Vec<usize> = if t.tamper_offsets.is_empty() {
        let n = ev.report.len();
        (0..16).map(|i| i * n / 16).collect()
    } else {
        t.tamper_offsets.clone()
    };
    for off in offsets {
        let mut bad = ev.clone();
        let Some(b) = bad.report.get_mut(off) else {
            panic!("tamper offset {off} outside the report");
        };
        *b ^= 0x01;
        match t.verifier.verify(&bad, t.at) {
            Ok(_) => panic!("tampered evidence (byte {off}) verified"),
            Err(Error::Authenticity(_) | Error::Malformed(_)) => {}
            Err(e) => panic!("tampered evidence (byte {off}) gave an unexpected error: {e}"),
        }
    }
    // Truncation is malformed, never a panic or success.
    let mut short = ev.clone();
    short.report.truncate(ev.report.len() / 2);
    assert!(
        t.verifier.verify(&short, t.at).is_err(),
        "truncated evidence verified"
    );
}

/// Seal then unseal returns the plaintext; modifications are rejected with
/// a typed error; another policy is refused.
pub fn seal_round_trip_and_tamper(t: &Target<'_>) {
    let Ok(sealer) = t.backend.sealer() else {
        return;
    };
    let pol = SealPolicy::measurement("conformance");
    let data = b"conformance plaintext".to_vec();
    let blob = sealer.seal(&data, &pol).expect("seal");
    assert_eq!(&*sealer.unseal(&blob, &pol).expect("unseal"), &data[..]);
    let mut bad = blob.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(
        matches!(
            sealer.unseal(&bad, &pol),
            Err(Error::Unseal(UnsealError::Tampered))
        ),
        "tampered blob not reported as Tampered"
    );
    let other = SealPolicy {
        purpose: "other".into(),
        binding: SealBinding::Measurement,
    };
    assert!(
        matches!(
            sealer.unseal(&blob, &other),
            Err(Error::Unseal(UnsealError::WrongPolicy))
        ),
        "wrong policy not reported as WrongPolicy"
    );
    assert!(
        sealer.unseal(&blob[..blob.len() / 2], &pol).is_err(),
        "truncated blob opened"
    );
}

/// Extending a register changes it as `SHA-384(old || SHA-384(data))`, and
/// the event log replays to the registers.
pub fn register_extend_and_replay(t: &Target<'_>) {
    let Ok(rm) = t.backend.runtime_measurement() else {
        return;
    };
    let idx = (0..rm.register_count())
        .find(|&i| rm.extendable(i))
        .expect("runtime measurement supported but no register is extendable");
    let before = rm.read(idx).expect("read");
    let after = rm
        .extend(idx, "conformance", b"event data")
        .expect("extend");
    assert_eq!(
        after,
        crate::measurement::extend_sha384(
            &before,
            &crate::measurement::event_digest(b"event data")
        ),
        "extend is not SHA-384(old || SHA-384(data))"
    );
    assert_eq!(rm.read(idx).expect("read"), after, "read after extend");
    let log = rm.event_log().expect("event log");
    let replayed = log.replay(rm.register_count()).expect("replay");
    for i in 0..rm.register_count() {
        if rm.extendable(i) {
            assert_eq!(
                replayed[i as usize],
                rm.read(i).expect("read"),
                "replay of register {i}"
            );
        }
    }
    assert!(
        rm.read(rm.register_count()).is_err(),
        "out-of-range read accepted"
    );
}

/// Capabilities agree with the accessors; unsupported operations give a
/// typed `Unsupported` with a reason.
pub fn capabilities_are_honest(t: &Target<'_>) {
    let caps = t.backend.capabilities();
    assert_eq!(
        caps,
        Capabilities::of(t.backend),
        "capabilities() differs from what the accessors say"
    );
    assert_eq!(caps.platform, t.backend.platform());
    let check = |op: Operation, ok: bool, err: Option<Error>| match caps.support(op) {
        Some(Support::Supported) => {
            assert!(ok, "{op} claimed supported but accessor failed: {err:?}")
        }
        Some(Support::Unsupported(reason)) => {
            assert!(!reason.is_empty(), "{op} unsupported without a reason");
            match err {
                Some(Error::Unsupported(u)) => {
                    assert_eq!(u.operation, op);
                    assert_eq!(
                        &u.reason, reason,
                        "{op}: capability and accessor reasons differ"
                    );
                }
                other => panic!("{op} unsupported but accessor gave {other:?}"),
            }
        }
        None => panic!("no support entry for {op}"),
    };
    let a = t.backend.attester();
    check(Operation::Attestation, a.is_ok(), a.err());
    let r = t.backend.runtime_measurement();
    check(Operation::RuntimeMeasurement, r.is_ok(), r.err());
    let s = t.backend.sealer();
    check(Operation::Sealing, s.is_ok(), s.err());
}

/// The directory of real test vectors: `$TEE_TEST_VECTORS`, else
/// `../shared/vectors` beside the workspace. Returns `None` (and says so on
/// stderr) when missing, so tests can skip; panics when missing and `CI` is
/// set, so CI never silently skips them.
pub fn vectors_dir(workspace_root: &std::path::Path) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("TEE_TEST_VECTORS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root.join("../shared/vectors"));
    if dir.join("INDEX.md").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "test vectors not found at {} (set TEE_TEST_VECTORS); CI must not skip them",
        dir.display()
    );
    eprintln!(
        "skipping: test vectors not found at {} (set TEE_TEST_VECTORS)",
        dir.display()
    );
    None
}

/// Attestations requested from `threads` threads at once through the one
/// backend (six each) never mix: every piece of evidence verifies and carries
/// exactly the report data of its own request. Backends that serialise
/// through a shared kernel interface (configfs-tsm report directories, a
/// device) must keep each request's output apart.
pub fn concurrent_attestations_never_mix(t: &Target<'_>, threads: usize) {
    const PER_THREAD: usize = 6;
    if t.backend.attester().is_err() {
        return;
    }
    let results: Vec<Vec<(ReportData, crate::evidence::Evidence)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                s.spawn(move || {
                    (0..PER_THREAD)
                        .map(|i| {
                            let mut rd = [0u8; 64];
                            rd[..8].copy_from_slice(&(th as u64).to_le_bytes());
                            rd[8..16].copy_from_slice(&(i as u64).to_le_bytes());
                            rd[16] = 0xC0;
                            let rd = ReportData::new(rd);
                            let att = t.backend.attester().expect("attester");
                            (rd, att.attest(&rd).expect("concurrent attest"))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("attesting thread panicked"))
            .collect()
    });
    let mut n = 0;
    for (rd, ev) in results.iter().flatten() {
        let claims = t
            .verifier
            .verify(ev, t.at)
            .expect("verify concurrent evidence");
        assert_eq!(
            &claims.report_data, rd,
            "evidence came back with another request's report data"
        );
        n += 1;
    }
    assert_eq!(n, threads * PER_THREAD, "every request answered");
}

/// Every scenario (the concurrent one with 4 threads).
pub fn run_all(t: &Target<'_>) {
    capabilities_are_honest(t);
    report_data_is_bound(t);
    tampered_evidence_is_rejected(t);
    seal_round_trip_and_tamper(t);
    register_extend_and_replay(t);
    concurrent_attestations_never_mix(t, 4);
}
