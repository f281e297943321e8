//! The KDS client against a local test server (feature `kds`).
#![cfg(feature = "kds")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use tee_core::platforms::SnpSigningKey;
use tee_core::{Backend, DeviceErrorKind, Error, ReportData, Verifier};
use tee_fetch::testing::{Scripted, Server};
use tee_sev::guest::{FirmwareReports, Retry, SnpFirmware};
use tee_sev::kds::{KdsFetcher, PlainHttp, Response, RetryPolicy, vcek_url};
use tee_sev::report::{Product, SnpReport};
use tee_sev::testing::{FakeFirmware, at, pki};
use tee_sev::{SevBackend, SevOptions};

/// A well-formed (fake-ARK) Milan CRL.
fn milan_crl() -> Vec<u8> {
    pki(Product::Milan).crl(&[])
}

#[test]
fn url_rules() {
    let m = FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek).make_report(&[0; 64], 0);
    let r = SnpReport::parse(&m).unwrap();
    let u = vcek_url("https://kdsintf.amd.com", &r, None).unwrap();
    let hw = hex::encode(pki(Product::Milan).chip_id);
    assert_eq!(
        u,
        format!(
            "https://kdsintf.amd.com/vcek/v1/Milan/{hw}?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115"
        )
    );
    let t = FakeFirmware::new(Product::Turin, 5, SnpSigningKey::Vcek).make_report(&[0; 64], 0);
    let r = SnpReport::parse(&t).unwrap();
    let hw = hex::encode(&pki(Product::Turin).chip_id[..8]);
    assert_eq!(
        vcek_url("https://kdsintf.amd.com", &r, None).unwrap(),
        format!(
            "https://kdsintf.amd.com/vcek/v1/Turin/{hw}?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81"
        )
    );
    // v2 needs a product hint; a masked chip id cannot be looked up.
    let v2 = FakeFirmware::new(Product::Milan, 2, SnpSigningKey::Vcek).make_report(&[0; 64], 0);
    let r = SnpReport::parse(&v2).unwrap();
    assert!(matches!(
        vcek_url("b", &r, None),
        Err(Error::Unsupported(_))
    ));
    assert!(vcek_url("b", &r, Some(Product::Milan)).is_ok());
    let vlek = FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vlek).make_report(&[0; 64], 0);
    assert!(matches!(
        vcek_url("b", &SnpReport::parse(&vlek).unwrap(), None),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn fetch_cache_and_verify() {
    let srv = Server::start();
    let base = srv.base().to_owned();
    let fw = Arc::new(FakeFirmware::new(Product::Turin, 5, SnpSigningKey::Vcek));
    let p = pki(Product::Turin);
    let report = fw.make_report(&[0; 64], 0);
    let r = SnpReport::parse(&report).unwrap();
    let url = vcek_url(&base, &r, None).unwrap();
    let path = url.strip_prefix(&base).unwrap().to_owned();
    srv.route(&path, 200, p.vcek());
    let chain = format!(
        "{}{}",
        tee_sev::verify::to_pem(&p.ask),
        tee_sev::verify::to_pem(&p.ark)
    );
    srv.route("/vcek/v1/Turin/cert_chain", 200, chain.clone().into_bytes());
    srv.route("/vcek/v1/Turin/crl", 200, p.crl(&[]));
    let cache = tempfile::tempdir().unwrap();
    let kds = Arc::new(
        KdsFetcher::new(&base, Box::new(PlainHttp::default()))
            .with_cache(cache.path())
            .with_retry(RetryPolicy::immediate(3)),
    );

    // VCEK: fetched once, then served from the cache.
    assert_eq!(kds.vcek(&r, None).unwrap(), p.vcek());
    assert_eq!(kds.vcek(&r, None).unwrap(), p.vcek());
    assert_eq!(srv.hits(&path), 1);
    // Chains: cached too.
    assert_eq!(
        kds.cert_chain(Product::Turin, false).unwrap(),
        chain.as_bytes()
    );
    kds.cert_chain(Product::Turin, false).unwrap();
    assert_eq!(srv.hits("/vcek/v1/Turin/cert_chain"), 1);
    // CRL: never cached.
    assert_eq!(kds.crl(Product::Turin).unwrap(), p.crl(&[]));
    kds.crl(Product::Turin).unwrap();
    assert_eq!(srv.hits("/vcek/v1/Turin/crl"), 2);
    // Rate limiting (429/503) is retried; too much of it is a Busy error.
    srv.route_seq(
        "/vcek/v1/Milan/crl",
        vec![(429, vec![]), (503, vec![]), (200, milan_crl())],
    );
    assert_eq!(kds.crl(Product::Milan).unwrap(), milan_crl());
    assert_eq!(srv.hits("/vcek/v1/Milan/crl"), 3);
    srv.route("/vcek/v1/Genoa/crl", 429, vec![]);
    match kds.crl(Product::Genoa) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Busy),
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.hits("/vcek/v1/Genoa/crl"), 3);
    // 404: NotFound. Garbage: malformed and not cached.
    match kds.cert_chain(Product::Genoa, true) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    srv.route("/vlek/v1/Genoa/cert_chain", 200, b"not pem".to_vec());
    assert!(matches!(
        kds.cert_chain(Product::Genoa, true),
        Err(Error::Malformed(_))
    ));
    assert!(!cache.path().join("Genoa/vlek_cert_chain.pem").exists());

    // The backend attaches the fetched VCEK; the evidence verifies.
    let b = SevBackend::from_parts(
        Box::new(FirmwareReports::new(
            fw.clone() as Arc<dyn SnpFirmware>,
            Retry::immediate(1),
        )),
        None,
        SevOptions::default(),
    )
    .unwrap()
    .with_endorsements(kds);
    let ev = b.attester().unwrap().attest(&ReportData::zero()).unwrap();
    p.verifier().verify(&ev, at()).unwrap();
    assert_eq!(srv.hits(&path), 1, "the cache served the attester");
}

/// The plain client decodes chunked bodies (the former KDS client refused
/// them): the VCEK and the chain arrive chunked and verify as before.
#[test]
fn chunked_answers_are_decoded() {
    let srv = Server::start_chunked();
    let fw = FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek);
    let p = pki(Product::Milan);
    let report = fw.make_report(&[0; 64], 0);
    let r = SnpReport::parse(&report).unwrap();
    let url = vcek_url(srv.base(), &r, None).unwrap();
    srv.route(url.strip_prefix(srv.base()).unwrap(), 200, p.vcek());
    let chain = format!(
        "{}{}",
        tee_sev::verify::to_pem(&p.ask),
        tee_sev::verify::to_pem(&p.ark)
    );
    srv.route("/vcek/v1/Milan/cert_chain", 200, chain.clone().into_bytes());
    let kds = KdsFetcher::new(srv.base(), PlainHttp::default()).with_retry(RetryPolicy::none());
    assert_eq!(kds.vcek(&r, None).unwrap(), p.vcek());
    assert_eq!(
        kds.cert_chain(Product::Milan, false).unwrap(),
        chain.as_bytes()
    );
}

/// `https://` with the plain client is refused before any I/O, as a typed
/// `Unsupported` (plug in an HTTPS transport).
#[test]
fn https_is_refused_by_the_plain_client() {
    let kds = KdsFetcher::new("https://kdsintf.amd.com", PlainHttp::default());
    assert!(matches!(
        kds.crl(Product::Milan),
        Err(Error::Unsupported(u)) if u.platform == tee_core::Platform::SevSnp
    ));
    let fake = Arc::new(Scripted::new());
    let kds = KdsFetcher::new("https://kdsintf.amd.com", fake.clone());
    fake.respond(
        "https://kdsintf.amd.com/vcek/v1/Milan/crl",
        Response::new(200, milan_crl()),
    );
    assert_eq!(kds.crl(Product::Milan).unwrap(), milan_crl());
}

/// Retries over the scripted transport: 5xx and transient failures are
/// retried, answers (404) are not, and each attempt is one request.
#[test]
fn retry_policy_over_the_scripted_transport() {
    let fake = Arc::new(Scripted::new());
    let kds =
        KdsFetcher::new("http://kds.test", fake.clone()).with_retry(RetryPolicy::immediate(4));
    let crl = "http://kds.test/vcek/v1/Genoa/crl";
    fake.script(
        crl,
        vec![
            Err(tee_sev::kds::FetchError::Timeout { url: crl.into() }),
            Ok(Response::new(500, Vec::new())),
            Ok(Response::new(200, pki(Product::Genoa).crl(&[]))),
        ],
    );
    assert_eq!(
        kds.crl(Product::Genoa).unwrap(),
        pki(Product::Genoa).crl(&[])
    );
    assert_eq!(fake.hits(crl), 3);
    let chain = "http://kds.test/vcek/v1/Genoa/cert_chain";
    match kds.cert_chain(Product::Genoa, false) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.hits(chain), 1, "a 404 is an answer, not retried");
    // Over the bound: not retried, a corrupt-output device error.
    fake.respond(
        crl,
        Response::new(200, vec![0; tee_sev::kds::MAX_RESPONSE + 1]),
    );
    match kds.crl(Product::Genoa) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::CorruptOutput),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.hits(crl), 4);
}

/// The HTTPS transport speaks plain HTTP too, so its status mapping and body
/// limit are tested against a local server (no network here).
#[cfg(feature = "kds-https")]
#[test]
fn https_transport_maps_statuses() {
    use tee_sev::kds::Https;

    let srv = Server::start();
    srv.route_seq(
        "/vcek/v1/Milan/crl",
        vec![(200, milan_crl()), (404, vec![]), (429, vec![])],
    );
    let t = KdsFetcher::new(srv.base(), Https::default()).with_retry(RetryPolicy::none());
    assert_eq!(t.crl(Product::Milan).unwrap(), milan_crl());
    assert!(
        matches!(t.crl(Product::Milan), Err(Error::Device(d)) if d.kind == DeviceErrorKind::NotFound)
    );
    assert!(
        matches!(t.crl(Product::Milan), Err(Error::Device(d)) if d.kind == DeviceErrorKind::Busy)
    );
    // Nothing listens here: a typed I/O error, not a panic.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = KdsFetcher::new(format!("https://127.0.0.1:{closed}"), Https::default())
        .with_retry(RetryPolicy::none());
    assert!(matches!(t.crl(Product::Milan), Err(Error::Device(_))));
}

/// Issue 10 finding 14 follow-up: the KDS has a second CRL per product for
/// the VLEK chain (`/vlek/v1/{product}/crl`), and a downloaded CRL is
/// decoded (`AmdCrl`) before it is returned: a body that is not one DER CRL
/// is `Malformed`, for both addresses and for the sans-IO fetch.
#[test]
fn finding14_vlek_crl_address_and_crls_are_parse_checked() {
    use tee_fetch::Fetch as _;
    use tee_sev::kds::KdsFetch;
    use tee_sev::testing::serial;

    assert_eq!(
        KdsFetch::vlek_crl("https://kdsintf.amd.com", Product::Genoa).url(),
        "https://kdsintf.amd.com/vlek/v1/Genoa/crl"
    );
    assert_eq!(
        KdsFetch::crl("https://kdsintf.amd.com", Product::Genoa).url(),
        "https://kdsintf.amd.com/vcek/v1/Genoa/crl"
    );

    let fake = Arc::new(Scripted::new());
    let kds = KdsFetcher::new("http://kds.test/", fake.clone()).with_retry(RetryPolicy::none());
    let vcek_crl = "http://kds.test/vcek/v1/Turin/crl";
    let vlek_crl = "http://kds.test/vlek/v1/Turin/crl";
    let p = pki(Product::Turin);
    let good_vlek = p.crl(&[serial::VLEK]);
    fake.respond(vlek_crl, Response::new(200, good_vlek.clone()));
    assert_eq!(kds.vlek_crl(Product::Turin).unwrap(), good_vlek);
    assert_eq!(fake.hits(vlek_crl), 1);
    assert_eq!(fake.hits(vcek_crl), 0, "the VLEK CRL has its own address");
    // The VCEK CRL address is unscripted here: a 404, not the VLEK CRL.
    match kds.crl(Product::Turin) {
        Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::NotFound),
        other => panic!("{other:?}"),
    }

    // Not a CRL: garbage, a truncated CRL, a certificate, trailing bytes.
    let mut trailing = p.crl(&[]);
    trailing.push(0);
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"crl-bytes".to_vec()),
        ("empty", Vec::new()),
        ("truncated", p.crl(&[])[..100].to_vec()),
        ("a certificate", p.ark.clone()),
        ("trailing byte", trailing),
    ];
    for (what, body) in bad {
        for (url, vlek) in [(vcek_crl, false), (vlek_crl, true)] {
            fake.respond(url, Response::new(200, body.clone()));
            let got = if vlek {
                kds.vlek_crl(Product::Turin)
            } else {
                kds.crl(Product::Turin)
            };
            assert!(
                matches!(got, Err(Error::Malformed(_))),
                "{what} at {url}: {got:?}"
            );
        }
        // The same check in the sans-IO fetch.
        let f = KdsFetch::vlek_crl("http://kds.test", Product::Turin);
        assert!(
            matches!(
                f.finish(vec![Response::new(200, body.clone())]),
                Err(Error::Malformed(_))
            ),
            "{what}"
        );
    }
    // A well-formed CRL from another issuer still decodes: its issuer and
    // signature are the verifier's to check (it is rejected there).
    fake.respond(vcek_crl, Response::new(200, p.rogue_crl()));
    assert_eq!(kds.crl(Product::Turin).unwrap(), p.rogue_crl());
}
