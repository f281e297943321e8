//! End to end against the in-process fake KBS: a resource is fetched after
//! SEV-SNP (fake AMD PKI and firmware), TDX (fake Intel PKI and kernel) and
//! mock attestation, and every negative is refused with its own error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tee::{Attester, Backend, Evidence, Platform, ReportData, UnixTime, Verifiers};
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

fn all() -> Vec<(&'static str, Tee)> {
    vec![("snp", snp()), ("tdx", tdx()), ("sample", mock())]
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
    if let Some(m) = pe.pointer_mut("/attestation_report/measurement/0") {
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

/// An attester that ignores the report data it is given (binds nothing).
#[derive(Debug)]
struct Unbound<'a>(&'a dyn Attester);

impl Attester for Unbound<'_> {
    fn platform(&self) -> Platform {
        self.0.platform()
    }
    fn attest(&self, _: &ReportData) -> tee::Result<Evidence> {
        self.0.attest(&ReportData::zero())
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
