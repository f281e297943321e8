//! End to end against the in-process fake KBS: a resource is fetched after
//! SEV-SNP (fake AMD PKI and firmware), TDX (fake Intel PKI and kernel),
//! Azure SNP and TDX vTPM (simulated Azure VMs: fake vTPM and paravisor over
//! the fake AMD/Intel PKIs) and mock attestation, and every negative is
//! refused with its own error.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tee::{Attester, Backend, Evidence, Platform, ReportData, UnixTime, Verifiers, VtpmAttester};
use tee_fetch::{FetchError, Method, Request, Response, Transport};
use tee_kbs::testing::{FakeKbs, FakeKbsServer, Faults, SESSION_SECS};
use tee_kbs::{JweError, KbsClient, KbsError, ResourcePath, Step, TeeKey};

const SECRET: &[u8] = b"the disk key \x00\x01\x02";
const PATH: &str = "default/key/disk";

struct Tee {
    backend: Box<dyn Backend>,
    kbs: Arc<FakeKbs>,
    _keep: Option<Box<dyn std::any::Any>>,
}

fn with_resources(kbs: FakeKbs) -> Arc<FakeKbs> {
    kbs.put_resource(PATH, SECRET);
    kbs.put_resource("default/key/other", b"other");
    kbs.put_resource("default/key/denied", b"nope");
    kbs.deny("default/key/denied");
    Arc::new(kbs)
}

fn snp() -> Tee {
    use tee::platforms::SnpSigningKey;
    use tee_sev::guest::{ConfigfsTsm, Retry, SnpFirmware};
    use tee_sev::report::Product;
    use tee_sev::testing::{FakeFirmware, at, fake_tsm, pki};
    let fw = Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek));
    let tsm = fake_tsm(fw.clone());
    let src = ConfigfsTsm::new(tsm.clone(), tsm.root()).with_retry(Retry::immediate(4));
    let backend = tee_sev::SevBackend::from_parts(
        Box::new(src),
        Some(fw as Arc<dyn SnpFirmware>),
        tee_sev::SevOptions::default(),
    )
    .unwrap();
    let v = Verifiers::empty().with(Box::new(pki(Product::Milan).verifier()));
    Tee {
        backend: Box::new(backend),
        kbs: with_resources(FakeKbs::new(v, at())),
        _keep: Some(Box::new(tsm)),
    }
}

fn tdx() -> Tee {
    use tee_tdx::testing::{FakeKernel, FakeTd, TestPki};
    let pki = TestPki::default();
    let kernel = FakeKernel::new(pki.clone(), FakeTd::default());
    let dir = tempfile::tempdir().unwrap();
    let backend = tee_tdx::TdxBackend::with_config(kernel.config(dir.path().join("log"))).unwrap();
    let v = Verifiers::empty().with(Box::new(
        tee_tdx::danger::verifier_with_test_root(pki.root_der.clone()).without_collateral(),
    ));
    Tee {
        backend: Box::new(backend),
        kbs: with_resources(FakeKbs::new(
            v,
            UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap(),
        )),
        _keep: Some(Box::new((kernel, dir))),
    }
}

fn mock() -> Tee {
    Tee {
        backend: Box::new(tee_mock::MockBackend::new()),
        kbs: with_resources(FakeKbs::new(
            Verifiers::empty().trust_mock_root(),
            UnixTime::from_secs(1_750_000_000),
        )),
        _keep: None,
    }
}

fn azure(vm: tee_azure::testing::FakeAzureVm) -> Tee {
    // The facade's verifier set routes Azure evidence through tee-azure,
    // the hardware report checked by the fake PKI's verifier.
    let v = Verifiers::empty().with(vm.hardware_verifier());
    Tee {
        backend: Box::new(vm.backend().unwrap()),
        kbs: with_resources(FakeKbs::new(v, tee_azure::testing::at())),
        _keep: Some(Box::new(vm)),
    }
}

fn az_snp() -> Tee {
    azure(tee_azure::testing::FakeAzureVm::snp())
}

fn az_tdx() -> Tee {
    azure(tee_azure::testing::FakeAzureVm::tdx())
}

fn all() -> Vec<(&'static str, Tee)> {
    vec![
        ("snp", snp()),
        ("tdx", tdx()),
        ("az-snp-vtpm", az_snp()),
        ("az-tdx-vtpm", az_tdx()),
        ("sample", mock()),
    ]
}

fn path(p: &str) -> ResourcePath {
    ResourcePath::parse(p).unwrap()
}

#[test]
fn fetches_a_resource_after_attestation_on_every_tee() {
    for (name, t) in all() {
        let attester = t.backend.attester().unwrap();
        for key in [
            TeeKey::generate_ec().unwrap(),
            TeeKey::generate_rsa(2048).unwrap(),
        ] {
            let c = KbsClient::with_key("http://kbs.test", t.kbs.clone(), key).unwrap();
            let s = c.attest(attester).unwrap();
            assert_eq!(s.tee().as_str(), name);
            assert!(s.token().starts_with("fake."));
            assert_eq!(
                c.get_resource(&s, &path(PATH)).unwrap().as_slice(),
                SECRET,
                "{name}"
            );
            // The same session serves further resources.
            assert_eq!(
                c.get_resource(&s, &path("default/key/other"))
                    .unwrap()
                    .as_slice(),
                b"other"
            );
            // What was sent: the client's key, no additional evidence, the
            // Trustee shape of the TEE.
            let att = t.kbs.attestations().pop().unwrap();
            assert_eq!(att.runtime_data.tee_pubkey, c.public_key());
            assert_eq!(att.tee_evidence.additional_evidence, "");
            assert_eq!(
                tee_kbs::evidence::detect(&att.tee_evidence.primary_evidence)
                    .unwrap()
                    .as_str(),
                name
            );
        }
        // The one-call form.
        let c = KbsClient::new("http://kbs.test/kbs/v0", t.kbs.clone()).unwrap();
        assert_eq!(
            c.fetch_resource(attester, &path(PATH)).unwrap().as_slice(),
            SECRET
        );
    }
}

#[test]
fn over_loopback_http() {
    let t = mock();
    let srv = FakeKbsServer::start(t.kbs.clone());
    let c = KbsClient::new(&srv.url(), tee_fetch::PlainHttp::default()).unwrap();
    let attester = t.backend.attester().unwrap();
    assert_eq!(
        c.fetch_resource(attester, &path(PATH)).unwrap().as_slice(),
        SECRET
    );
    assert!(matches!(
        c.fetch_resource(attester, &path("default/key/missing")),
        Err(KbsError::NotFound { .. })
    ));
}

/// A transport that rewrites the Attestation body before the KBS sees it.
struct Rewrite<F> {
    kbs: Arc<FakeKbs>,
    f: F,
}

impl<F: Fn(&mut Value) + Send + Sync> Transport for Rewrite<F> {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        if req.method() == Method::Post && req.url().ends_with("/attest") {
            let mut v: Value = serde_json::from_slice(req.body()).unwrap();
            (self.f)(&mut v);
            let mut r = Request::post(req.url(), serde_json::to_vec(&v).unwrap());
            for (k, val) in req.headers().iter() {
                r = r.header(k, val);
            }
            return self.kbs.get(&r);
        }
        self.kbs.get(req)
    }
}

impl<F> core::fmt::Debug for Rewrite<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rewrite")
    }
}

fn refused_at_attest(r: Result<tee_kbs::Session, KbsError>, what: &str) {
    match r {
        Err(KbsError::Unauthorized {
            step: Step::Attest,
            problem,
        }) => {
            assert_eq!(problem.as_deref(), Some("AttestationError"), "{what}");
        }
        other => panic!("{what}: {other:?}"),
    }
}

#[test]
fn wrong_nonce_unbound_key_and_tampered_evidence_are_refused() {
    for (name, t) in all() {
        let attester = t.backend.attester().unwrap();
        let kbs = t.kbs.clone();
        // Wrong nonce: the runtime data names another nonce than the challenge.
        let c = KbsClient::new(
            "http://k",
            Rewrite {
                kbs: kbs.clone(),
                f: |v: &mut Value| {
                    v["runtime-data"]["nonce"] =
                        Value::from("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
                },
            },
        )
        .unwrap();
        refused_at_attest(c.attest(attester), name);
        // Key not bound: another tee-pubkey than the one in the report data.
        let other = serde_json::to_value(TeeKey::generate_ec().unwrap().public_jwk()).unwrap();
        let c = KbsClient::new(
            "http://k",
            Rewrite {
                kbs: kbs.clone(),
                f: move |v: &mut Value| {
                    v["runtime-data"]["tee-pubkey"] = other.clone();
                },
            },
        )
        .unwrap();
        refused_at_attest(c.attest(attester), name);
        // Additional evidence that was not bound.
        let c = KbsClient::new(
            "http://k",
            Rewrite {
                kbs: kbs.clone(),
                f: |v: &mut Value| {
                    v["tee-evidence"]["additional_evidence"] = Value::from("{\"gpu\":1}");
                },
            },
        )
        .unwrap();
        refused_at_attest(c.attest(attester), name);
        // Tampered evidence: one measurement byte changed.
        let c = KbsClient::new(
            "http://k",
            Rewrite {
                kbs: kbs.clone(),
                f: tamper_evidence,
            },
        )
        .unwrap();
        refused_at_attest(c.attest(attester), name);
    }
}

fn tamper_evidence(v: &mut Value) {
    let pe = &mut v["tee-evidence"]["primary_evidence"];
    if pe.get("hcl_report").is_some() {
        // Azure: one measurement byte of the hardware report inside the HCL report.
        tamper_hcl(pe, |b| b[0x20 + 0x90] ^= 1);
    } else if let Some(m) = pe.pointer_mut("/attestation_report/measurement/0") {
        *m = Value::from((m.as_u64().unwrap() + 1) % 256);
    } else if let Some(q) = pe.get("quote").and_then(Value::as_str) {
        use base64::Engine;
        let mut b = base64::engine::general_purpose::STANDARD.decode(q).unwrap();
        b[200] ^= 1;
        pe["quote"] = Value::from(base64::engine::general_purpose::STANDARD.encode(b));
    } else {
        // Mock: flip a measurement byte inside the SDK envelope's report.
        use base64::Engine;
        let env = &mut pe["sdk_evidence"];
        let mut b = base64::engine::general_purpose::STANDARD
            .decode(env["report"].as_str().unwrap())
            .unwrap();
        b[20] ^= 1;
        env["report"] = Value::from(base64::engine::general_purpose::STANDARD.encode(b));
    }
}

/// Rewrite the base64url HCL report of Azure Trustee evidence.
fn tamper_hcl(pe: &mut Value, f: impl FnOnce(&mut Vec<u8>)) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let mut b = b64.decode(pe["hcl_report"].as_str().unwrap()).unwrap();
    f(&mut b);
    pe["hcl_report"] = Value::from(b64.encode(b));
}

/// An attester that ignores the report data (or, on a vTPM, the qualifying
/// data) it is given: it binds nothing.
#[derive(Debug)]
struct Unbound<'a>(&'a dyn Attester);

impl Attester for Unbound<'_> {
    fn platform(&self) -> Platform {
        self.0.platform()
    }
    fn attest(&self, _: &ReportData) -> tee::Result<Evidence> {
        self.0.attest(&ReportData::zero())
    }
    fn vtpm(&self) -> Option<&dyn VtpmAttester> {
        self.0.vtpm().map(|_| self as &dyn VtpmAttester)
    }
}

impl VtpmAttester for Unbound<'_> {
    fn provider(&self) -> &'static str {
        self.0.vtpm().unwrap().provider()
    }
    fn max_qualifying_data(&self) -> usize {
        self.0.vtpm().unwrap().max_qualifying_data()
    }
    fn attest_raw(&self, _: &[u8]) -> tee::Result<Evidence> {
        self.0.vtpm().unwrap().attest_raw(&[0; 48])
    }
}

#[test]
fn evidence_over_other_report_data_and_policy_denials_are_refused() {
    for (name, t) in all() {
        let attester = t.backend.attester().unwrap();
        let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        refused_at_attest(c.attest(&Unbound(attester)), name);
    }
    // An attestation policy that wants another measurement.
    let t = mock();
    let kbs = Arc::new(
        FakeKbs::new(
            Verifiers::empty().trust_mock_root(),
            UnixTime::from_secs(1_750_000_000),
        )
        .with_policy(|c| match c.launch_measurement.value() {
            Some(m) if m.0 == vec![0xAB; 48] => Ok(()),
            _ => Err("measurement not allowed".into()),
        }),
    );
    let c = KbsClient::new("http://k", kbs).unwrap();
    refused_at_attest(c.attest(t.backend.attester().unwrap()), "policy");
    // A KBS that trusts no mock root.
    let kbs = Arc::new(FakeKbs::new(
        Verifiers::empty(),
        UnixTime::from_secs(1_750_000_000),
    ));
    let c = KbsClient::new("http://k", kbs).unwrap();
    refused_at_attest(c.attest(t.backend.attester().unwrap()), "untrusted");
}

#[test]
fn expired_sessions_are_refused() {
    for (name, t) in all() {
        let attester = t.backend.attester().unwrap();
        let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        let s = c.attest(attester).unwrap();
        t.kbs.advance(SESSION_SECS + 1);
        assert!(
            matches!(
                c.get_resource(&s, &path(PATH)),
                Err(KbsError::Unauthorized {
                    step: Step::Resource,
                    ..
                })
            ),
            "{name}"
        );
        // Expired between the challenge and the attestation.
        let kbs = t.kbs.clone();
        let c = KbsClient::new(
            "http://k",
            Rewrite {
                kbs: kbs.clone(),
                f: move |_: &mut Value| kbs.advance(SESSION_SECS),
            },
        )
        .unwrap();
        assert!(
            matches!(
                c.attest(attester),
                Err(KbsError::Unauthorized {
                    step: Step::Attest,
                    ..
                })
            ),
            "{name}"
        );
    }
}

#[test]
fn wrong_key_tampered_jwe_and_resource_policy() {
    for (name, t) in all() {
        let attester = t.backend.attester().unwrap();
        let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        let s = c.attest(attester).unwrap();
        t.kbs.set_faults(Faults {
            wrong_key: true,
            ..Faults::default()
        });
        assert!(
            matches!(
                c.get_resource(&s, &path(PATH)),
                Err(KbsError::Jwe(JweError::Decryption))
            ),
            "{name}"
        );
        t.kbs.set_faults(Faults {
            tamper_jwe: true,
            ..Faults::default()
        });
        assert!(
            matches!(
                c.get_resource(&s, &path(PATH)),
                Err(KbsError::Jwe(JweError::Decryption))
            ),
            "{name}"
        );
        t.kbs.set_faults(Faults::default());
        assert!(matches!(
            c.get_resource(&s, &path("default/key/denied")),
            Err(KbsError::PolicyDenied { problem: Some(p) }) if p == "PolicyDeny"
        ));
        assert!(matches!(
            c.get_resource(&s, &path("default/key/none")),
            Err(KbsError::NotFound { path }) if path == "default/key/none"
        ));
        // A second client (another key, no session) cannot use the resource endpoint.
        let stranger = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        let Err(KbsError::Jwe(_)) = stranger.get_resource(&s, &path(PATH)) else {
            panic!("a JWE to the session's key must not open with another key");
        };
        t.kbs.set_faults(Faults {
            no_cookie: true,
            ..Faults::default()
        });
        assert!(matches!(
            c.attest(attester),
            Err(KbsError::Protocol {
                step: Step::Auth,
                ..
            })
        ));
        t.kbs.set_faults(Faults::default());
    }
}

#[test]
fn the_kbs_side_checks_of_the_protocol() {
    let t = mock();
    let h = tee_fetch::Headers::new();
    // Wrong version.
    let body = br#"{"version":"0.2.0","tee":"sample","extra-params":""}"#;
    let r = t.kbs.handle(Method::Post, "/kbs/v0/auth", &h, body);
    assert_eq!(r.status, 401);
    // A resource without a session or with a made-up token.
    assert_eq!(
        t.kbs
            .handle(Method::Get, "/kbs/v0/resource/default/key/disk", &h, b"")
            .status,
        401
    );
    let mut bearer = tee_fetch::Headers::new();
    bearer.push("Authorization", "Bearer fake.x.token");
    assert_eq!(
        t.kbs
            .handle(
                Method::Get,
                "/kbs/v0/resource/default/key/disk",
                &bearer,
                b""
            )
            .status,
        401
    );
    // Attest without a session.
    assert_eq!(
        t.kbs
            .handle(Method::Post, "/kbs/v0/attest", &h, b"{}")
            .status,
        401
    );
    // The token of an attested session works as a bearer credential.
    let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
    let s = c.attest(t.backend.attester().unwrap()).unwrap();
    let mut bearer = tee_fetch::Headers::new();
    bearer.push("Authorization", format!("Bearer {}", s.token()));
    assert_eq!(
        t.kbs
            .handle(
                Method::Get,
                "/kbs/v0/resource/default/key/disk",
                &bearer,
                b""
            )
            .status,
        200
    );
}

#[test]
fn platforms_without_a_trustee_shape_are_refused_before_any_request() {
    #[derive(Debug)]
    struct Pef;
    impl Attester for Pef {
        fn platform(&self) -> Platform {
            Platform::Pef
        }
        fn attest(&self, _: &ReportData) -> tee::Result<Evidence> {
            unreachable!()
        }
    }
    let seen = Arc::new(Mutex::new(0));
    #[derive(Debug)]
    struct Counting(Arc<Mutex<i32>>);
    impl Transport for Counting {
        fn get(&self, _: &Request) -> Result<Response, FetchError> {
            *self.0.lock().unwrap() += 1;
            Ok(Response::new(500, Vec::new()))
        }
    }
    let c = KbsClient::new("http://k", Counting(seen.clone())).unwrap();
    assert!(matches!(
        c.attest(&Pef),
        Err(KbsError::Evidence(tee::Error::Unsupported(_)))
    ));
    assert_eq!(*seen.lock().unwrap(), 0);
}

fn azure_vms() -> Vec<(&'static str, Tee)> {
    vec![("az-snp-vtpm", az_snp()), ("az-tdx-vtpm", az_tdx())]
}

#[test]
fn azure_binds_the_digest_as_tpm_nonce_and_user_data() {
    use tee_kbs::protocol::{self, HashAlg};
    for (name, t) in azure_vms() {
        let attester = t.backend.attester().unwrap();
        assert!(attester.vtpm().is_some(), "{name}");
        let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        let s = c.attest(attester).unwrap();
        assert_eq!(s.tee().as_str(), name);
        let att = t.kbs.attestations().pop().unwrap();
        let pe = &att.tee_evidence.primary_evidence;
        // Trustee's v2 shape.
        assert_eq!(pe["version"], 2, "{name}");
        assert!(pe["tpm_quote"]["message"].is_string());
        assert_eq!(pe["tpm_quote"]["pcrs"].as_array().unwrap().len(), 24);
        assert_eq!(pe.get("td_quote").is_some(), name == "az-tdx-vtpm");
        assert_eq!(pe.get("vcek").is_some(), name == "az-snp-vtpm");
        // What the KBS checks, recomputed here: the quote's extraData is the
        // 48-byte digest unpadded, the HCL user-data is the digest ‖ 16 zeros.
        let d = protocol::runtime_data_digest(&att.runtime_data, "", HashAlg::Sha384);
        assert_eq!(d.len(), 48);
        let tee = tee_kbs::Tee::from_name(name).unwrap();
        let ev = tee_kbs::evidence::from_trustee(tee, pe).unwrap();
        let v = Verifiers::empty().with(match name {
            "az-snp-vtpm" => tee_azure::testing::hardware_verifier_for(tee_azure::HclTee::Snp),
            _ => tee_azure::testing::hardware_verifier_for(tee_azure::HclTee::Tdx),
        });
        let claims = v.verify(&ev, tee_azure::testing::at()).unwrap();
        let vt = claims.vtpm.as_ref().unwrap();
        assert_eq!(vt.qualifying_data.to_vec(), d, "{name}");
        assert_eq!(
            vt.qualifying_data_rule,
            tee::platforms::QualifyingDataRule::Raw
        );
        assert_eq!(vt.user_data[..48], d[..]);
        assert!(vt.user_data[48..].iter().all(|&b| b == 0));
        assert!(vt.user_data_binds_qualifying_data);
        assert!(protocol::claims_bind(tee, &claims, &d));
        // Another digest is not bound by these claims.
        let mut other = d.clone();
        other[47] ^= 1;
        assert!(!protocol::claims_bind(tee, &claims, &other));
        assert!(!protocol::claims_bind(tee_kbs::Tee::Snp, &claims, &d));
    }
}

/// A vTPM attester that puts `f(digest)` in the TPM quote instead of the digest.
#[derive(Debug)]
struct WrongNonce<'a>(&'a dyn Attester, fn(&[u8]) -> Vec<u8>);

impl Attester for WrongNonce<'_> {
    fn platform(&self) -> Platform {
        self.0.platform()
    }
    fn attest(&self, rd: &ReportData) -> tee::Result<Evidence> {
        self.0.attest(rd)
    }
    fn vtpm(&self) -> Option<&dyn VtpmAttester> {
        Some(self)
    }
}

impl VtpmAttester for WrongNonce<'_> {
    fn provider(&self) -> &'static str {
        self.0.vtpm().unwrap().provider()
    }
    fn max_qualifying_data(&self) -> usize {
        self.0.vtpm().unwrap().max_qualifying_data()
    }
    fn attest_raw(&self, qd: &[u8]) -> tee::Result<Evidence> {
        self.0.vtpm().unwrap().attest_raw(&(self.1)(qd))
    }
}

/// The SDK's own vTPM rule instead of the raw digest: the quote's
/// qualifying data is SHA-384 of the padded digest.
#[derive(Debug)]
struct SdkRule<'a>(&'a dyn Attester);

impl Attester for SdkRule<'_> {
    fn platform(&self) -> Platform {
        self.0.platform()
    }
    fn attest(&self, rd: &ReportData) -> tee::Result<Evidence> {
        self.0.attest(rd)
    }
    fn vtpm(&self) -> Option<&dyn VtpmAttester> {
        Some(self)
    }
}

impl VtpmAttester for SdkRule<'_> {
    fn provider(&self) -> &'static str {
        self.0.vtpm().unwrap().provider()
    }
    fn max_qualifying_data(&self) -> usize {
        50
    }
    fn attest_raw(&self, qd: &[u8]) -> tee::Result<Evidence> {
        let mut b = [0u8; 64];
        b[..qd.len()].copy_from_slice(qd);
        self.0.attest(&ReportData::new(b))
    }
}

#[test]
fn azure_wrong_tpm_nonce_and_tampered_hcl_reports_are_refused() {
    for (name, t) in azure_vms() {
        let attester = t.backend.attester().unwrap();
        let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        // Wrong nonce in the TPM quote: one byte off, truncated, zero-padded,
        // or the SDK's hashed rule.
        let off = WrongNonce(attester, |d: &[u8]| {
            let mut d = d.to_vec();
            d[0] ^= 1;
            d
        });
        refused_at_attest(c.attest(&off), name);
        let short = WrongNonce(attester, |d: &[u8]| d[..32].to_vec());
        refused_at_attest(c.attest(&short), name);
        let padded = WrongNonce(attester, |d: &[u8]| {
            let mut d = d.to_vec();
            d.resize(50, 0);
            d
        });
        refused_at_attest(c.attest(&padded), name);
        refused_at_attest(c.attest(&SdkRule(attester)), name);
        // The right vTPM attester is still accepted by the same KBS.
        assert_eq!(
            c.fetch_resource(attester, &path(PATH)).unwrap().as_slice(),
            SECRET
        );

        // Tampered HCL report: the user-data (the runtime claims no longer
        // hash to REPORT_DATA), the AK modulus, a byte of the hardware report
        // (SNP: the measurement; TDX: the TDREPORT's REPORT_DATA), the HCL
        // report cut short.
        let user_data = |b: &mut Vec<u8>| {
            let at = find(b, b"\"user-data\":\"") + 13;
            b[at] = if b[at] == b'0' { b'1' } else { b'0' };
        };
        let ak = |b: &mut Vec<u8>| {
            let at = find(b, b"\"n\":\"") + 10;
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        };
        let hw = |b: &mut Vec<u8>| b[0x20 + 0x90] ^= 0x80;
        let cut = |b: &mut Vec<u8>| b.truncate(0x4C0);
        type Tamper<'a> = &'a (dyn Fn(&mut Vec<u8>) + Send + Sync);
        let tampers: [Tamper<'_>; 4] = [&user_data, &ak, &hw, &cut];
        for (i, f) in tampers.into_iter().enumerate() {
            let c = KbsClient::new(
                "http://k",
                Rewrite {
                    kbs: t.kbs.clone(),
                    f: move |v: &mut Value| {
                        tamper_hcl(&mut v["tee-evidence"]["primary_evidence"], f);
                    },
                },
            )
            .unwrap();
            refused_at_attest(c.attest(attester), &format!("{name} HCL tamper {i}"));
        }
        // Tampered TPM quote: a byte of the signed message, a PCR value.
        for (i, ptr) in ["/tpm_quote/message", "/tpm_quote/pcrs/0"]
            .into_iter()
            .enumerate()
        {
            let c = KbsClient::new(
                "http://k",
                Rewrite {
                    kbs: t.kbs.clone(),
                    f: move |v: &mut Value| {
                        let pe = &mut v["tee-evidence"]["primary_evidence"];
                        let h = pe.pointer_mut(ptr).unwrap();
                        let mut b = hex::decode(h.as_str().unwrap()).unwrap();
                        let last = b.len() - 1;
                        b[last] ^= 1;
                        *h = Value::from(hex::encode(b));
                    },
                },
            )
            .unwrap();
            refused_at_attest(c.attest(attester), &format!("{name} quote tamper {i}"));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in the HCL report")
}

/// A transport that rewrites the `tee` of the Request before the KBS sees it.
#[derive(Debug)]
struct AsTee {
    kbs: Arc<FakeKbs>,
    tee: &'static str,
}

impl Transport for AsTee {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        if req.method() == Method::Post && req.url().ends_with("/auth") {
            let mut v: Value = serde_json::from_slice(req.body()).unwrap();
            v["tee"] = Value::from(self.tee);
            return self
                .kbs
                .get(&Request::post(req.url(), serde_json::to_vec(&v).unwrap()));
        }
        self.kbs.get(req)
    }
}

#[test]
fn azure_evidence_for_another_tee_is_refused() {
    for (name, t) in azure_vms() {
        let attester = t.backend.attester().unwrap();
        let others: &[&str] = match name {
            "az-snp-vtpm" => &["az-tdx-vtpm", "snp"],
            _ => &["az-snp-vtpm", "tdx"],
        };
        for other in others {
            let c = KbsClient::new(
                "http://k",
                AsTee {
                    kbs: t.kbs.clone(),
                    tee: other,
                },
            )
            .unwrap();
            refused_at_attest(c.attest(attester), &format!("{name} as {other}"));
        }
        // Without its vTPM interface the attester is a bare SNP/TDX one;
        // its Azure evidence does not match that TEE and is never sent.
        let c = KbsClient::new("http://k", t.kbs.clone()).unwrap();
        let before = t.kbs.attestations().len();
        #[derive(Debug)]
        struct Hidden<'a>(&'a dyn Attester);
        impl Attester for Hidden<'_> {
            fn platform(&self) -> Platform {
                self.0.platform()
            }
            fn attest(&self, rd: &ReportData) -> tee::Result<Evidence> {
                self.0.attest(rd)
            }
        }
        assert!(matches!(
            c.attest(&Hidden(attester)),
            Err(KbsError::Evidence(tee::Error::Misuse(_)))
        ));
        assert_eq!(t.kbs.attestations().len(), before);
    }
}

/// A transport whose challenges select `sha512`.
#[derive(Debug)]
struct Sha512(Arc<FakeKbs>);

impl Transport for Sha512 {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        let mut r = self.0.get(req)?;
        if req.url().ends_with("/auth") && r.status == 200 {
            let mut v: Value = serde_json::from_slice(&r.body).unwrap();
            v["extra-params"] = serde_json::json!({"selected-hash-algorithm": "sha512"});
            r.body = serde_json::to_vec(&v).unwrap();
        }
        Ok(r)
    }
}

#[test]
fn azure_refuses_qualifying_data_the_vtpm_cannot_take() {
    for (name, t) in azure_vms() {
        let attester = t.backend.attester().unwrap();
        let vtpm = attester.vtpm().unwrap();
        assert_eq!(vtpm.max_qualifying_data(), 50);
        assert!(matches!(
            vtpm.attest_raw(&[7; 51]),
            Err(tee::Error::Misuse(_))
        ));
        // A 64-byte SHA-512 digest is refused before attesting.
        let before = t.kbs.attestations().len();
        let c = KbsClient::new("http://k", Sha512(t.kbs.clone())).unwrap();
        assert!(
            matches!(
                c.attest(attester),
                Err(KbsError::Protocol {
                    step: Step::Auth,
                    ..
                })
            ),
            "{name}"
        );
        assert_eq!(t.kbs.attestations().len(), before);
    }
}
