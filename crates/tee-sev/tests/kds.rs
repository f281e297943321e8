//! The KDS client against a local test server (feature `kds`).
#![cfg(feature = "kds")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{FakeFirmware, at, pki};
use tee_core::platforms::SnpSigningKey;
use tee_core::{Backend, DeviceErrorKind, Error, ReportData, Verifier};
use tee_sev::guest::{FirmwareReports, Retry, SnpFirmware};
use tee_sev::kds::{KdsFetcher, PlainHttp, vcek_url};
use tee_sev::report::{Product, SnpReport};
use tee_sev::{SevBackend, SevOptions};

/// Per path: responses served in order; the last one repeats.
type Routes = HashMap<String, Vec<(u16, Vec<u8>)>>;

#[derive(Clone, Default)]
struct Server {
    routes: Arc<Mutex<Routes>>,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(&self) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let me = self.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                me.hits.lock().unwrap().push(path.clone());
                let (code, body) = {
                    let mut routes = me.routes.lock().unwrap();
                    match routes.get_mut(&path) {
                        Some(q) if q.len() > 1 => q.remove(0),
                        Some(q) => q[0].clone(),
                        None => (404, b"nope".to_vec()),
                    }
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(&body);
            }
        });
        format!("http://{addr}")
    }

    fn route(&self, path: &str, code: u16, body: Vec<u8>) {
        self.route_seq(path, vec![(code, body)]);
    }

    fn route_seq(&self, path: &str, seq: Vec<(u16, Vec<u8>)>) {
        self.routes.lock().unwrap().insert(path.to_owned(), seq);
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| *h == path)
            .count()
    }
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
    let srv = Server::default();
    let base = srv.start();
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
    srv.route("/vcek/v1/Turin/crl", 200, b"crl-bytes".to_vec());
    let cache = tempfile::tempdir().unwrap();
    let kds = Arc::new(
        KdsFetcher::new(&base, Box::new(PlainHttp::default()))
            .with_cache(cache.path())
            .with_retry(Retry::immediate(3)),
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
    kds.crl(Product::Turin).unwrap();
    kds.crl(Product::Turin).unwrap();
    assert_eq!(srv.hits("/vcek/v1/Turin/crl"), 2);
    // Rate limiting (429/503) is retried; too much of it is a Busy error.
    srv.route_seq(
        "/vcek/v1/Milan/crl",
        vec![(429, vec![]), (503, vec![]), (200, b"crl".to_vec())],
    );
    assert_eq!(kds.crl(Product::Milan).unwrap(), b"crl");
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

/// The HTTPS transport speaks plain HTTP too, so its status mapping and body
/// limit are tested against a local server (no network here).
#[cfg(feature = "kds-https")]
#[test]
fn https_transport_maps_statuses() {
    use std::io::{Read, Write};
    use tee_sev::kds::{HttpGet, Https};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().take(3).enumerate() {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let resp: &[u8] = match i {
                0 => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                1 => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                _ => b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            };
            s.write_all(resp).unwrap();
        }
    });
    let t = Https::default();
    let url = format!("http://127.0.0.1:{port}/vcek/v1/Milan/x");
    assert_eq!(t.get(&url).unwrap(), b"hello");
    assert!(matches!(t.get(&url), Err(Error::Device(d)) if d.kind == DeviceErrorKind::NotFound));
    assert!(matches!(t.get(&url), Err(Error::Device(d)) if d.kind == DeviceErrorKind::Busy));
    // Nothing listens here: a typed I/O error, not a panic.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(matches!(
        t.get(&format!("https://127.0.0.1:{closed}/")),
        Err(Error::Device(_))
    ));
}
