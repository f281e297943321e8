//! The C ABI called as C calls it: the shared hardware vectors give the
//! verdicts of INDEX.md and the claims JSON of `tee-verify`; NULL pointers,
//! bad lengths and missing inputs are typed codes, never undefined
//! behaviour; the error message is per thread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::{CStr, c_char, c_int};
use std::path::{Path, PathBuf};
use std::ptr;

use tee_ffi::*;

/// The shared vectors; a loud failure under `CI` when they are missing.
fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn message() -> String {
    let p = tee_last_error_message();
    assert!(!p.is_null(), "the message is never NULL");
    // SAFETY: a NUL-terminated string valid until the next status-returning
    // call on this thread.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A request handle, freed on drop.
struct Req(*mut TeeRequest);

impl Req {
    fn new() -> Self {
        let p = tee_request_new();
        assert!(!p.is_null());
        Self(p)
    }

    fn evidence_json(&self, b: &[u8]) -> c_int {
        // SAFETY: a live request; `b` is readable for its length.
        unsafe { tee_request_set_evidence_json(self.0, b.as_ptr(), b.len()) }
    }

    fn snp(&self, report: &[u8], vcek: Option<&[u8]>) -> c_int {
        let (v, vl) = vcek.map_or((ptr::null(), 0), |v| (v.as_ptr(), v.len()));
        // SAFETY: a live request; both buffers readable for their lengths.
        unsafe { tee_request_set_snp_report(self.0, report.as_ptr(), report.len(), v, vl) }
    }

    fn snp_cert(&self, b: &[u8]) -> c_int {
        // SAFETY: a live request; `b` is readable for its length.
        unsafe { tee_request_add_snp_cert(self.0, b.as_ptr(), b.len()) }
    }

    fn tdx(&self, quote: &[u8]) -> c_int {
        // SAFETY: a live request; `quote` readable; no event log.
        unsafe { tee_request_set_tdx_quote(self.0, quote.as_ptr(), quote.len(), ptr::null(), 0) }
    }

    fn collateral(&self, b: &[u8]) -> c_int {
        // SAFETY: a live request; `b` is readable for its length.
        unsafe { tee_request_set_collateral(self.0, b.as_ptr(), b.len()) }
    }

    fn policy(&self, toml: &str) -> c_int {
        // SAFETY: a live request; `toml` is readable for its length.
        unsafe { tee_request_set_policy_toml(self.0, toml.as_ptr(), toml.len()) }
    }

    fn at(&self, t: &str) -> c_int {
        // SAFETY: a live request; `t` is readable for its length.
        unsafe { tee_request_set_time_rfc3339(self.0, t.as_ptr().cast::<c_char>(), t.len()) }
    }

    fn at_unix(&self, secs: u64) -> c_int {
        // SAFETY: a live request.
        unsafe { tee_request_set_time_unix(self.0, secs) }
    }

    fn report_data(&self, rd: &[u8]) -> c_int {
        // SAFETY: a live request; `rd` is readable for its length.
        unsafe { tee_request_set_report_data(self.0, rd.as_ptr(), rd.len()) }
    }

    fn trust_mock_root(&self) -> c_int {
        // SAFETY: a live request.
        unsafe { tee_request_trust_mock_root(self.0) }
    }

    fn allow_unchecked_revocation(&self) -> c_int {
        // SAFETY: a live request.
        unsafe { tee_request_allow_unchecked_revocation(self.0) }
    }

    /// `tee_verify`: the code and the result (if any).
    fn verify(&self) -> (c_int, Option<Res>) {
        let mut out: *mut TeeResult = ptr::dangling_mut();
        // SAFETY: a live request; `out` is writable.
        let code = unsafe { tee_verify(self.0, &mut out) };
        let res = (!out.is_null()).then_some(Res(out));
        match code {
            TEE_OK | TEE_ERR_POLICY => assert!(res.is_some(), "code {code} without a result"),
            _ => assert!(res.is_none(), "code {code} with a result"),
        }
        (code, res)
    }

    /// `tee_verify` that must fail with `code`: the message.
    fn refused(&self, code: c_int) -> String {
        let (c, _) = self.verify();
        let m = message();
        assert_eq!(c, code, "{m}");
        assert!(!m.is_empty(), "a failure has a message");
        m
    }
}

impl Drop for Req {
    fn drop(&mut self) {
        // SAFETY: the handle came from tee_request_new and is freed once.
        unsafe { tee_request_free(self.0) }
    }
}

/// A result handle, freed on drop.
struct Res(*mut TeeResult);

impl Res {
    fn json_text(&self) -> String {
        // SAFETY: a live result.
        let p = unsafe { tee_result_json(self.0) };
        assert!(!p.is_null());
        // SAFETY: NUL-terminated, valid until the result is freed.
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        // SAFETY: a live result.
        assert_eq!(unsafe { tee_result_json_len(self.0) }, s.len());
        s
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.json_text()).unwrap()
    }

    fn passed(&self) -> bool {
        // SAFETY: a live result.
        match unsafe { tee_result_passed(self.0) } {
            0 => false,
            1 => true,
            n => panic!("tee_result_passed returned {n}"),
        }
    }
}

impl Drop for Res {
    fn drop(&mut self) {
        // SAFETY: the handle came from tee_verify and is freed once.
        unsafe { tee_result_free(self.0) }
    }
}

fn read(v: &Path, name: &str) -> Vec<u8> {
    std::fs::read(v.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The JSON tee-verify gives for the same request.
fn expected(req: &tee_verify::Request<'_>) -> String {
    let o = tee_verify::verify(req).unwrap();
    serde_json::to_string_pretty(&o.to_json().unwrap()).unwrap()
}

/// go-sev-guest's Milan v2 report: verified; the default policy fails the
/// appraisal (code 4 with the claims); a permissive policy with the report
/// data passes; one flipped byte is not authentic.
#[test]
fn snp_vector() {
    let Some(v) = vectors() else { return };
    let report = read(&v, "go-sev-guest/attestation.bin");
    let vcek = read(&v, "go-sev-guest/vcek.der");
    let t = "2025-01-01T00:00:00Z";

    let r = Req::new();
    assert_eq!(r.snp(&report, Some(&vcek)), TEE_OK);
    assert_eq!(r.at(t), TEE_OK);
    assert_eq!(r.allow_unchecked_revocation(), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_ERR_POLICY, "{}", message());
    let m = message();
    assert!(
        m.starts_with("appraisal failed: ") && m.contains("debug"),
        "{m}"
    );
    let res = res.unwrap();
    assert!(!res.passed());
    let j = res.json();
    assert_eq!(j["platform"], "sev-snp");
    assert_eq!(j["debug"], true);
    assert!(
        j["report_data"]
            .as_str()
            .unwrap()
            .starts_with("0102030405000000")
    );
    assert_eq!(j["appraisal"]["passed"], false);
    // The same bytes as tee-verify (and so as `teectl verify`).
    let ev = tee_verify::snp_evidence(&report, Some(&vcek), &[]).unwrap();
    let at = tee::UnixTime::parse_rfc3339(t).unwrap();
    let want = expected(
        &tee_verify::Request::for_evidence(tee_verify::EvidenceInput::Evidence(ev.clone()), at)
            .allowing_unchecked_revocation(),
    );
    assert_eq!(res.json_text(), want);

    // The same request again (it is not consumed), now passing.
    let mut rd = [0u8; 64];
    rd[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    assert_eq!(
        r.policy("allow_debug = true\nallow_any_measurement = true\n"),
        TEE_OK
    );
    assert_eq!(r.report_data(&rd), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_OK, "{}", message());
    assert_eq!(message(), "", "success clears the message");
    assert!(res.unwrap().passed());

    // Other report data: authentic, appraisal fails on report_data.
    assert_eq!(r.report_data(&[7; 64]), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_ERR_POLICY);
    assert!(message().contains("report_data"), "{}", message());
    assert!(!res.unwrap().passed());

    // One flipped byte of the signed region: not authentic, no result.
    let mut bad = report.clone();
    bad[0x90] ^= 1;
    assert_eq!(r.snp(&bad, Some(&vcek)), TEE_OK);
    let m = r.refused(TEE_ERR_AUTHENTICITY);
    assert!(m.to_lowercase().contains("signature"), "{m}");

    // The chain given explicitly: Milan's ASK and ARK verify it, Genoa's
    // ASK does not (a chain error).
    assert_eq!(r.snp(&report, Some(&vcek)), TEE_OK);
    assert_eq!(r.snp_cert(&read(&v, "amd-roots/milan_ask.pem")), TEE_OK);
    assert_eq!(r.snp_cert(&read(&v, "amd-roots/milan_ark.pem")), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_ERR_POLICY, "{}", message());
    assert_eq!(res.unwrap().json()["platform"], "sev-snp");
    assert_eq!(r.snp(&report, Some(&vcek)), TEE_OK);
    assert_eq!(r.snp_cert(&read(&v, "amd-roots/genoa_ask.pem")), TEE_OK);
    r.refused(TEE_ERR_AUTHENTICITY);

    // No VCEK and no collateral: no verdict.
    assert_eq!(r.snp(&report, None), TEE_OK);
    let (code, _) = r.verify();
    assert!(
        !matches!(code, TEE_OK | TEE_ERR_POLICY),
        "{code}: {}",
        message()
    );

    // A truncated report: malformed.
    assert_eq!(r.snp(&report[..100], Some(&vcek)), TEE_OK);
    r.refused(TEE_ERR_MALFORMED);
}

/// dcap-qvl's v4 quote with its QuoteCollateralV3: UpToDate inside the
/// window; after it, collateral expired (authenticity); without
/// collateral, no verdict.
#[test]
fn tdx_vector() {
    let Some(v) = vectors() else { return };
    let quote = read(&v, "dcap-qvl/tdx_quote");
    let coll = read(&v, "dcap-qvl/tdx_quote_collateral.json");
    let t = "2025-07-19T10:00:34Z";

    let r = Req::new();
    assert_eq!(r.tdx(&quote), TEE_OK);
    assert_eq!(r.collateral(&coll), TEE_OK);
    assert_eq!(r.at(t), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_ERR_POLICY, "{}", message());
    let res = res.unwrap();
    let j = res.json();
    assert_eq!(j["platform"], "tdx");
    assert_eq!(
        j["claims"]["platform_claims"]["tdx"]["tcb_status"],
        "UpToDate"
    );
    let ev = tee_verify::tdx_evidence(&quote, None).unwrap();
    let at = tee::UnixTime::parse_rfc3339(t).unwrap();
    let want = expected(
        &tee_verify::Request::for_evidence(tee_verify::EvidenceInput::Evidence(ev), at)
            .with_collateral(&coll),
    );
    assert_eq!(res.json_text(), want);

    // With the quote's own report data and a policy that admits it: passes.
    let rd = hex::decode(j["report_data"].as_str().unwrap()).unwrap();
    assert_eq!(r.report_data(&rd), TEE_OK);
    assert_eq!(
        r.policy("allow_debug = true\nallow_any_measurement = true\n"),
        TEE_OK
    );
    let (code, res) = r.verify();
    assert_eq!(code, TEE_OK, "{}", message());
    assert!(res.unwrap().passed());

    // After the collateral's window: not authentic.
    assert_eq!(r.at("2025-08-01T00:00:00Z"), TEE_OK);
    r.refused(TEE_ERR_AUTHENTICITY);

    // No collateral: no verdict.
    let r = Req::new();
    assert_eq!(r.tdx(&quote), TEE_OK);
    assert_eq!(r.at(t), TEE_OK);
    let (code, _) = r.verify();
    assert!(
        !matches!(code, TEE_OK | TEE_ERR_POLICY),
        "{code}: {}",
        message()
    );

    // Collateral that is not JSON: malformed.
    assert_eq!(r.collateral(b"not json"), TEE_OK);
    r.refused(TEE_ERR_MALFORMED);
}

/// Mock evidence through the evidence-JSON entry: refused unless the mock
/// root is trusted, then refused by appraisal unless the policy allows it.
#[test]
fn mock_evidence_is_fail_closed() {
    use tee::Attester as _;
    let ev = tee::mock::MockBackend::new()
        .attest(&tee::ReportData::new([3; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    let r = Req::new();
    assert_eq!(r.evidence_json(ev.as_bytes()), TEE_OK);
    assert_eq!(r.at_unix(tee::UnixTime::now().as_secs()), TEE_OK);
    r.refused(TEE_ERR_AUTHENTICITY);
    assert_eq!(r.trust_mock_root(), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_ERR_POLICY);
    assert!(message().contains("mock"), "{}", message());
    assert_eq!(res.unwrap().json()["platform"], "mock");
    assert_eq!(
        r.policy("allow_mock = true\nallow_any_measurement = true\n"),
        TEE_OK
    );
    assert_eq!(r.report_data(&[3; 64]), TEE_OK);
    let (code, res) = r.verify();
    assert_eq!(code, TEE_OK, "{}", message());
    assert!(res.unwrap().passed());
}

/// Every pointer argument, NULL: a usage error with a message (or NULL / 0
/// / nothing for accessors and frees), never a crash.
#[test]
fn null_pointers_are_usage_errors() {
    let n: *mut TeeRequest = ptr::null_mut();
    let b = b"x";
    let calls: Vec<(&str, c_int)> = vec![
        // SAFETY: NULL request handles are allowed (usage error).
        ("evidence req", unsafe {
            tee_request_set_evidence_json(n, b.as_ptr(), 1)
        }),
        // SAFETY: as above.
        ("snp req", unsafe {
            tee_request_set_snp_report(n, b.as_ptr(), 1, ptr::null(), 0)
        }),
        // SAFETY: as above.
        ("snp cert req", unsafe {
            tee_request_add_snp_cert(n, b.as_ptr(), 1)
        }),
        // SAFETY: as above.
        ("tdx req", unsafe {
            tee_request_set_tdx_quote(n, b.as_ptr(), 1, ptr::null(), 0)
        }),
        // SAFETY: as above.
        ("collateral req", unsafe {
            tee_request_set_collateral(n, b.as_ptr(), 1)
        }),
        // SAFETY: as above.
        ("policy req", unsafe {
            tee_request_set_policy_toml(n, b.as_ptr(), 1)
        }),
        // SAFETY: as above.
        ("time req", unsafe { tee_request_set_time_unix(n, 0) }),
        // SAFETY: as above.
        ("rfc3339 req", unsafe {
            tee_request_set_time_rfc3339(n, b.as_ptr().cast(), 1)
        }),
        // SAFETY: as above.
        ("report data req", unsafe {
            tee_request_set_report_data(n, [0; 64].as_ptr(), 64)
        }),
        // SAFETY: as above.
        ("mock req", unsafe { tee_request_trust_mock_root(n) }),
        // SAFETY: as above.
        ("revocation req", unsafe {
            tee_request_allow_unchecked_revocation(n)
        }),
    ];
    for (what, code) in calls {
        assert_eq!(code, TEE_ERR_USAGE, "{what}");
        assert!(message().contains("null pointer"), "{what}: {}", message());
    }

    let r = Req::new();
    let h = r.0;
    let data: Vec<(&str, c_int)> = vec![
        // SAFETY: a live request; NULL data is allowed (usage error).
        ("evidence", unsafe {
            tee_request_set_evidence_json(h, ptr::null(), 5)
        }),
        // SAFETY: as above; even with length 0 the evidence is required.
        ("evidence len 0", unsafe {
            tee_request_set_evidence_json(h, ptr::null(), 0)
        }),
        // SAFETY: as above.
        ("snp report", unsafe {
            tee_request_set_snp_report(h, ptr::null(), 10, ptr::null(), 0)
        }),
        // SAFETY: as above; a NULL VCEK with a length is an error.
        ("snp vcek", unsafe {
            tee_request_set_snp_report(h, b.as_ptr(), 1, ptr::null(), 3)
        }),
        // SAFETY: as above.
        ("snp cert", unsafe {
            tee_request_add_snp_cert(h, ptr::null(), 1)
        }),
        // SAFETY: as above.
        ("tdx quote", unsafe {
            tee_request_set_tdx_quote(h, ptr::null(), 1, ptr::null(), 0)
        }),
        // SAFETY: as above; a NULL event log with a length is an error.
        ("tdx log", unsafe {
            tee_request_set_tdx_quote(h, b.as_ptr(), 1, ptr::null(), 9)
        }),
        // SAFETY: as above.
        ("collateral", unsafe {
            tee_request_set_collateral(h, ptr::null(), 1)
        }),
        // SAFETY: as above.
        ("policy", unsafe {
            tee_request_set_policy_toml(h, ptr::null(), 1)
        }),
        // SAFETY: as above.
        ("rfc3339", unsafe {
            tee_request_set_time_rfc3339(h, ptr::null(), 20)
        }),
        // SAFETY: as above.
        ("report data", unsafe {
            tee_request_set_report_data(h, ptr::null(), 64)
        }),
    ];
    for (what, code) in data {
        assert_eq!(code, TEE_ERR_USAGE, "{what}");
        assert!(message().contains("null pointer"), "{what}: {}", message());
    }

    // tee_verify: NULL out, NULL request (and *out reset to NULL).
    // SAFETY: a live request; NULL out is allowed (usage error).
    assert_eq!(unsafe { tee_verify(h, ptr::null_mut()) }, TEE_ERR_USAGE);
    assert!(message().contains("out"), "{}", message());
    let mut out: *mut TeeResult = ptr::dangling_mut();
    // SAFETY: NULL request allowed; `out` writable.
    assert_eq!(unsafe { tee_verify(ptr::null(), &mut out) }, TEE_ERR_USAGE);
    assert!(out.is_null(), "*out is NULL on failure");

    // Accessors and frees take NULL.
    // SAFETY: NULL results are allowed.
    assert!(unsafe { tee_result_json(ptr::null()) }.is_null());
    // SAFETY: as above.
    assert_eq!(unsafe { tee_result_json_len(ptr::null()) }, 0);
    // SAFETY: as above.
    assert_eq!(unsafe { tee_result_passed(ptr::null()) }, 0);
    // SAFETY: NULL frees are no-ops.
    unsafe { tee_result_free(ptr::null_mut()) };
    // SAFETY: as above.
    unsafe { tee_request_free(ptr::null_mut()) };
}

/// Lengths are bounded before any slice is formed; report data is exactly
/// 64 bytes; times and policies are checked text.
#[test]
fn lengths_and_arguments_are_checked() {
    let r = Req::new();
    // Over each limit by one byte: malformed (as teectl refuses a file).
    let big = vec![b' '; (64 << 20) + 1];
    assert_eq!(r.evidence_json(&big[..(16 << 20) + 1]), TEE_ERR_MALFORMED);
    assert!(message().contains("limit"), "{}", message());
    assert_eq!(r.snp(&big[..(12 << 10) + 1], None), TEE_ERR_MALFORMED);
    assert_eq!(r.snp(b"r", Some(&big[..(64 << 10) + 1])), TEE_ERR_MALFORMED);
    assert_eq!(r.tdx(&big[..(64 << 10) + 1]), TEE_ERR_MALFORMED);
    assert_eq!(r.collateral(&big), TEE_ERR_MALFORMED);
    assert_eq!(
        r.policy(std::str::from_utf8(&big[..(1 << 20) + 1]).unwrap()),
        TEE_ERR_MALFORMED
    );
    // At the limit: accepted (verification decides).
    assert_eq!(r.evidence_json(&big[..16 << 20]), TEE_OK);
    assert_eq!(r.collateral(&big[..64 << 20]), TEE_OK);

    for len in [0, 32, 63, 65] {
        assert_eq!(r.report_data(&vec![0; len]), TEE_ERR_USAGE, "{len}");
        assert!(message().contains("exactly 64"), "{}", message());
    }
    // SAFETY: a live request; `b` is readable for 1 byte (the length is
    // checked before anything is read).
    let huge = unsafe { tee_request_set_report_data(r.0, b"x".as_ptr(), usize::MAX) };
    assert_eq!(huge, TEE_ERR_USAGE);
    // SAFETY: a live request; the length is refused before anything is read.
    let huge = unsafe { tee_request_set_evidence_json(r.0, b"x".as_ptr(), usize::MAX) };
    assert_eq!(huge, TEE_ERR_MALFORMED);

    assert_eq!(r.at("yesterday"), TEE_ERR_USAGE);
    assert_eq!(r.at(&"9".repeat(65)), TEE_ERR_MALFORMED);
    // SAFETY: a live request; the buffer is readable for its length.
    let code = unsafe { tee_request_set_time_rfc3339(r.0, [0xffu8; 4].as_ptr().cast(), 4) };
    assert_eq!(code, TEE_ERR_USAGE);
    // SAFETY: a live request; the buffer is readable for its length.
    let code = unsafe { tee_request_set_policy_toml(r.0, [0xffu8, 0xfe].as_ptr(), 2) };
    assert_eq!(code, TEE_ERR_USAGE);
    assert!(message().contains("UTF-8"), "{}", message());

    // A chain certificate needs a SEV-SNP report first; at most four.
    assert_eq!(r.snp_cert(b"cert"), TEE_ERR_USAGE);
    assert_eq!(r.snp(b"report", None), TEE_OK);
    for _ in 0..4 {
        assert_eq!(r.snp_cert(b"cert"), TEE_OK);
    }
    assert_eq!(r.snp_cert(b"cert"), TEE_ERR_USAGE);
}

/// A verification without the inputs it needs is a usage error; malformed
/// evidence and a policy that does not load are typed.
#[test]
fn missing_and_malformed_inputs() {
    let r = Req::new();
    let m = r.refused(TEE_ERR_USAGE);
    assert!(m.contains("time"), "{m}");
    assert_eq!(r.at_unix(1_750_000_000), TEE_OK);
    let m = r.refused(TEE_ERR_USAGE);
    assert!(m.contains("no evidence"), "{m}");
    assert_eq!(r.evidence_json(b"{"), TEE_OK);
    r.refused(TEE_ERR_MALFORMED);
    assert_eq!(r.evidence_json(b""), TEE_OK);
    r.refused(TEE_ERR_MALFORMED);

    use tee::Attester as _;
    let ev = tee::mock::MockBackend::new()
        .attest(&tee::ReportData::new([0; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    assert_eq!(r.evidence_json(ev.as_bytes()), TEE_OK);
    assert_eq!(r.trust_mock_root(), TEE_OK);
    assert_eq!(r.policy("allow_mock = [nonsense"), TEE_OK);
    let m = r.refused(TEE_ERR_USAGE);
    assert!(m.starts_with("policy"), "{m}");
}

/// A setter that fails makes the request unverifiable: a caller that
/// ignores the setter's code cannot verify the old evidence, without the
/// policy it meant to give, or with a policy it meant to replace.
#[test]
fn a_failed_setter_fails_the_request() {
    use tee::Attester as _;
    let ev = tee::mock::MockBackend::new()
        .attest(&tee::ReportData::new([4; 64]))
        .unwrap()
        .to_json()
        .unwrap();
    let permissive = "allow_mock = true\nallow_any_measurement = true\n";
    let passing = || {
        let r = Req::new();
        assert_eq!(r.evidence_json(ev.as_bytes()), TEE_OK);
        assert_eq!(r.at_unix(tee::UnixTime::now().as_secs()), TEE_OK);
        assert_eq!(r.trust_mock_root(), TEE_OK);
        assert_eq!(r.policy(permissive), TEE_OK);
        assert_eq!(r.report_data(&[4; 64]), TEE_OK);
        assert_eq!(r.verify().0, TEE_OK, "{}", message());
        r
    };
    // New evidence too large: the old evidence is not verified instead.
    let r = passing();
    assert_eq!(r.snp(&vec![0; (12 << 10) + 1], None), TEE_ERR_MALFORMED);
    let m = r.refused(TEE_ERR_MALFORMED);
    assert!(m.contains("tee_request_set_snp_report failed"), "{m}");
    // A later successful setter does not undo it.
    assert_eq!(r.evidence_json(ev.as_bytes()), TEE_OK);
    r.refused(TEE_ERR_MALFORMED);
    // A replacement policy that is not UTF-8: the old one is not used.
    let r = passing();
    // SAFETY: a live request; the buffer is readable for its length.
    let code = unsafe { tee_request_set_policy_toml(r.0, [0xffu8].as_ptr(), 1) };
    assert_eq!(code, TEE_ERR_USAGE);
    r.refused(TEE_ERR_USAGE);
    // Report data of the wrong length, a NULL buffer, a bad time: the same.
    let r = passing();
    assert_eq!(r.report_data(&[4; 32]), TEE_ERR_USAGE);
    r.refused(TEE_ERR_USAGE);
    let r = passing();
    // SAFETY: a live request; NULL data is allowed (usage error).
    let code = unsafe { tee_request_set_collateral(r.0, ptr::null(), 1) };
    assert_eq!(code, TEE_ERR_USAGE);
    r.refused(TEE_ERR_USAGE);
    let r = passing();
    assert_eq!(r.at("not a time"), TEE_ERR_USAGE);
    let m = r.refused(TEE_ERR_USAGE);
    assert!(m.contains("tee_request_set_time_rfc3339 failed"), "{m}");
}

/// The message belongs to the thread that made the failing call.
#[test]
fn last_error_is_per_thread() {
    let r = Req::new();
    assert_eq!(r.report_data(&[0; 3]), TEE_ERR_USAGE);
    assert!(message().contains("exactly 64"));
    let other = std::thread::spawn(message).join().unwrap();
    assert_eq!(other, "", "another thread sees its own (empty) message");
    assert!(message().contains("exactly 64"), "still this thread's");
    assert_eq!(r.at_unix(5), TEE_OK);
    assert_eq!(message(), "", "a successful call clears it");
}

#[test]
fn version_is_the_crate_version() {
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(tee_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
