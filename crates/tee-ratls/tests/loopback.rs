//! RA-TLS over rustls on loopback (127.0.0.1:0): an echo server with an
//! attested certificate from the mock backend, and a client that connects
//! only when the evidence verifies, binds the key and passes the policy.
//! Every refusal is asserted on its typed reason.
#![cfg(feature = "rustls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sha2::{Digest as _, Sha256};
use tee::Verifiers;
use tee_core::{Backend, Error, Outcome, Policy, UnixTime};
use tee_mock::{Fault, MockBackend};
use tee_ratls::tls::{Clock, RaTlsResolver, RaTlsVerifier, io_rejection};
use tee_ratls::{
    AttestedPeer, BindingError, CertKey, CertOptions, EvidenceEncoding, HashAlg, KeyAlg,
    RaTlsError, RawExtension, SDK_ENVELOPE_TAG, attest_key, build_certificate, encode_evidence,
    encode_extension, issue,
};

const T0: u64 = 1_750_000_000;
const TIMEOUT: Duration = Duration::from_secs(10);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    tee_ratls::tls::default_provider()
}

/// A clock the test moves.
fn manual_clock(start: u64) -> (Arc<AtomicU64>, Clock) {
    let t = Arc::new(AtomicU64::new(start));
    let c = t.clone();
    (
        t,
        Arc::new(move || UnixTime::from_secs(c.load(Ordering::SeqCst))),
    )
}

/// An echo server answering `n` connections (one line each), then stopping.
fn serve(cfg: rustls::ServerConfig, n: usize) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = Arc::new(cfg);
    let h = std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((sock, _)) = listener.accept() else {
                return;
            };
            sock.set_read_timeout(Some(TIMEOUT)).unwrap();
            sock.set_write_timeout(Some(TIMEOUT)).unwrap();
            let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let mut tls = BufReader::new(rustls::StreamOwned::new(conn, sock));
            let mut line = String::new();
            if tls.read_line(&mut line).is_ok() && !line.is_empty() {
                let s = tls.get_mut();
                let _ = s.write_all(line.as_bytes());
                let _ = s.flush();
                s.conn.send_close_notify();
                let _ = s.flush();
            }
        }
    });
    (addr, h)
}

/// Connect, send one line, read the echo; the verified peer after the handshake.
fn echo(
    verifier: &Arc<RaTlsVerifier>,
    addr: SocketAddr,
    msg: &str,
) -> std::io::Result<(String, Arc<AttestedPeer>)> {
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(TIMEOUT))?;
    sock.set_write_timeout(Some(TIMEOUT))?;
    let cfg = Arc::new(verifier.client_config().unwrap());
    let conn =
        rustls::ClientConnection::new(cfg, ServerName::try_from("ratls.test").unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(format!("{msg}\n").as_bytes())?;
    tls.flush()?;
    let peer = verifier
        .peer(tls.conn.peer_certificates())
        .expect("a connected peer has a verified result");
    let mut line = String::new();
    BufReader::new(&mut tls).read_line(&mut line)?;
    Ok((line.trim_end().to_string(), peer))
}

/// The typed reason a connection was refused.
fn refused(r: std::io::Result<(String, Arc<AttestedPeer>)>) -> RaTlsError {
    let e = match r {
        Ok((line, _)) => panic!("connected and echoed {line:?}"),
        Err(e) => e,
    };
    let Some(why) = io_rejection(&e) else {
        panic!("refused without an RA-TLS reason: {e}")
    };
    why.clone()
}

fn mock() -> Arc<MockBackend> {
    Arc::new(MockBackend::new())
}

fn passing_policy(b: &MockBackend) -> Policy {
    Policy::new()
        .allow_mock(true)
        .allow_measurement(b.measurement())
}

fn verifier(policy: Policy) -> RaTlsVerifier {
    RaTlsVerifier::new(Verifiers::empty().trust_mock_root(), policy)
}

/// A server configuration with one fixed certificate and key.
fn fixed(cert_der: Vec<u8>, key: &CertKey) -> rustls::ServerConfig {
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                key.to_pkcs8_der().unwrap().to_vec(),
            )),
        )
        .unwrap()
}

#[test]
fn echo_with_a_passing_policy_for_each_key_and_protocol() {
    let b = mock();
    for (key_alg, hash_alg) in [
        (KeyAlg::P256, HashAlg::Sha256),
        (KeyAlg::P384, HashAlg::Sha384),
        (KeyAlg::P256, HashAlg::Sha512),
    ] {
        for tls12 in [false, true] {
            let resolver = Arc::new(
                RaTlsResolver::new(
                    b.clone(),
                    CertOptions::new().key_alg(key_alg).hash_alg(hash_alg),
                )
                .unwrap(),
            );
            let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
                &[&rustls::version::TLS12]
            } else {
                &[&rustls::version::TLS13]
            };
            let cfg = rustls::ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(versions)
                .unwrap()
                .with_no_client_auth()
                .with_cert_resolver(resolver.clone());
            let (addr, h) = serve(cfg, 1);
            let v = Arc::new(verifier(passing_policy(&b)));
            let (line, peer) = echo(&v, addr, "hello over RA-TLS").unwrap();
            h.join().unwrap();
            assert_eq!(line, "hello over RA-TLS");
            assert!(peer.appraisal.passed());
            assert_eq!(peer.claims.platform, tee_core::Platform::Mock);
            assert_eq!(peer.tag.value(), SDK_ENVELOPE_TAG);
            assert_eq!(peer.claims_buffer.hash_alg, hash_alg);
            let served = resolver.current();
            let spki = served.key.spki_der().unwrap();
            assert_eq!(peer.claims_buffer.pubkey_hash, hash_alg.digest(&spki));
            assert_eq!(peer.spki_sha256, <[u8; 32]>::from(Sha256::digest(&spki)));
            assert_eq!(peer.not_after, served.not_after);
            let rd = peer
                .appraisal
                .checks
                .iter()
                .find(|c| c.name == "report_data")
                .unwrap();
            assert_eq!(rd.outcome, Outcome::Passed, "{key_alg:?} tls12={tls12}");
        }
    }
}

#[test]
fn wrong_measurement_is_refused_by_the_appraisal() {
    let b = mock();
    let resolver = Arc::new(RaTlsResolver::new(b.clone(), CertOptions::new()).unwrap());
    let (addr, h) = serve(resolver.server_config().unwrap(), 2);
    let other = Policy::new()
        .allow_mock(true)
        .allow_measurement(vec![0x11; 48]);
    let why = refused(echo(&Arc::new(verifier(other)), addr, "x"));
    let RaTlsError::Appraisal(p) = &why else {
        panic!("{why:?}")
    };
    let failed: Vec<_> = p.appraisal.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["measurement"]);
    // The default policy denies the mock itself.
    let why = refused(echo(
        &Arc::new(verifier(Policy::new().allow_measurement(b.measurement()))),
        addr,
        "x",
    ));
    let failed: Vec<_> = why
        .appraisal()
        .unwrap()
        .failed()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(failed, ["mock"]);
    h.join().unwrap();
}

#[test]
fn a_key_not_bound_by_the_evidence_is_refused() {
    let b = mock();
    let opts = CertOptions::new();
    let bound = CertKey::generate(KeyAlg::P256).unwrap();
    let served = CertKey::generate(KeyAlg::P256).unwrap();
    // Evidence made for `bound`, in a certificate of `served`.
    let ext = attest_key(b.attester().unwrap(), &bound.spki_der().unwrap(), &opts).unwrap();
    let (cert, _, _) = build_certificate(
        &served,
        &[RawExtension::evidence(ext.value)],
        &opts,
        UnixTime::now(),
    )
    .unwrap();
    let (addr, h) = serve(fixed(cert, &served), 1);
    let why = refused(echo(&Arc::new(verifier(passing_policy(&b))), addr, "x"));
    assert!(
        matches!(why, RaTlsError::Binding(BindingError::KeyNotBound)),
        "{why:?}"
    );
    h.join().unwrap();
}

#[test]
fn a_tampered_extension_is_refused() {
    let b = mock();
    let opts = CertOptions::new();
    let key = CertKey::generate(KeyAlg::P256).unwrap();
    let ext = attest_key(b.attester().unwrap(), &key.spki_der().unwrap(), &opts).unwrap();
    let now = UnixTime::now();
    let cert_with = |value: Vec<u8>| {
        build_certificate(&key, &[RawExtension::evidence(value)], &opts, now)
            .unwrap()
            .0
    };
    // One flipped byte in the signed report: not authentic.
    let mut ev = ext.evidence.clone();
    let mid = ev.report.len() / 2;
    ev.report[mid] ^= 0x01;
    let (tag, bytes) = encode_evidence(&ev, EvidenceEncoding::Envelope).unwrap();
    let flipped_report = cert_with(encode_extension(tag, &bytes, &ext.claims_buffer));
    // One flipped byte in the claims buffer: the report data no longer binds it.
    let mut claims = ext.claims_buffer.clone();
    let last = claims.len() - 1;
    claims[last] ^= 0x01;
    let (tag, bytes) = encode_evidence(&ext.evidence, EvidenceEncoding::Envelope).unwrap();
    let flipped_claims = cert_with(encode_extension(tag, &bytes, &claims));
    // One flipped byte in the envelope's JSON: the evidence does not parse.
    let mut value = ext.value.clone();
    let brace = value.iter().position(|&c| c == b'{').unwrap();
    value[brace] ^= 0x01;
    let flipped_json = cert_with(value);

    let (addr, h) = serve(fixed(flipped_report, &key), 1);
    let why = refused(echo(&Arc::new(verifier(passing_policy(&b))), addr, "x"));
    assert!(
        matches!(why, RaTlsError::Evidence(Error::Authenticity(_))),
        "{why:?}"
    );
    h.join().unwrap();
    let (addr, h) = serve(fixed(flipped_claims, &key), 1);
    let why = refused(echo(&Arc::new(verifier(passing_policy(&b))), addr, "x"));
    assert!(
        matches!(why, RaTlsError::Binding(BindingError::ReportData)),
        "{why:?}"
    );
    h.join().unwrap();
    let (addr, h) = serve(fixed(flipped_json, &key), 1);
    let why = refused(echo(&Arc::new(verifier(passing_policy(&b))), addr, "x"));
    assert!(
        matches!(why, RaTlsError::Evidence(Error::Malformed(_))),
        "{why:?}"
    );
    h.join().unwrap();
}

#[test]
fn the_nonce_must_be_the_expected_one() {
    let b = mock();
    let resolver = Arc::new(
        RaTlsResolver::new(b.clone(), CertOptions::new().nonce(b"nonce-A".to_vec())).unwrap(),
    );
    let (addr, h) = serve(resolver.server_config().unwrap(), 2);
    // The expected nonce: connected, and the nonce is in the peer's claims.
    let v = Arc::new(verifier(passing_policy(&b)).expect_nonce(b"nonce-A".to_vec()));
    let (line, peer) = echo(&v, addr, "fresh").unwrap();
    assert_eq!(line, "fresh");
    assert_eq!(peer.claims_buffer.nonce.as_deref(), Some(&b"nonce-A"[..]));
    // Another nonce.
    let v = Arc::new(verifier(passing_policy(&b)).expect_nonce(b"nonce-B".to_vec()));
    let why = refused(echo(&v, addr, "x"));
    assert!(
        matches!(why, RaTlsError::Binding(BindingError::Nonce)),
        "{why:?}"
    );
    h.join().unwrap();

    // A nonce expected from a server that put none.
    let resolver = Arc::new(RaTlsResolver::new(b.clone(), CertOptions::new()).unwrap());
    let (addr, h) = serve(resolver.server_config().unwrap(), 1);
    let v = Arc::new(verifier(passing_policy(&b)).expect_nonce(b"nonce-A".to_vec()));
    let why = refused(echo(&v, addr, "x"));
    assert!(
        matches!(why, RaTlsError::Binding(BindingError::Nonce)),
        "{why:?}"
    );
    h.join().unwrap();
}

#[test]
fn a_certificate_without_the_extension_is_refused() {
    let b = mock();
    let key = CertKey::generate(KeyAlg::P384).unwrap();
    let (cert, _, _) = build_certificate(&key, &[], &CertOptions::new(), UnixTime::now()).unwrap();
    let (addr, h) = serve(fixed(cert, &key), 1);
    let why = refused(echo(&Arc::new(verifier(passing_policy(&b))), addr, "x"));
    assert!(matches!(why, RaTlsError::MissingExtension), "{why:?}");
    h.join().unwrap();
}

#[test]
fn an_expired_certificate_is_refused() {
    let b = mock();
    let opts = CertOptions::new().lifetime(Duration::from_secs(600));
    let cert = issue(b.attester().unwrap(), &opts, UnixTime::from_secs(T0)).unwrap();
    let (addr, h) = serve(fixed(cert.cert_der.clone(), &cert.key), 2);
    // Inside the validity period it passes.
    let (_, c) = manual_clock(T0 + 300);
    let v = Arc::new(verifier(passing_policy(&b)).with_clock(c));
    assert_eq!(echo(&v, addr, "in time").unwrap().0, "in time");
    // One second after notAfter it does not.
    let (_, c) = manual_clock(T0 + 601);
    let v = Arc::new(verifier(passing_policy(&b)).with_clock(c));
    let why = refused(echo(&v, addr, "x"));
    let RaTlsError::Expired { not_after, at } = why else {
        panic!("{why:?}")
    };
    assert_eq!((not_after.as_secs(), at.as_secs()), (T0 + 600, T0 + 601));
    h.join().unwrap();
}

#[test]
fn the_resolver_refreshes_before_the_lifetime_ends() {
    let b = mock();
    let (t, clock) = manual_clock(T0);
    let resolver = Arc::new(
        RaTlsResolver::builder(
            b.clone(),
            CertOptions::new().lifetime(Duration::from_secs(600)),
        )
        .refresh_before(Duration::from_secs(120))
        .clock(clock.clone())
        .build()
        .unwrap(),
    );
    let (addr, h) = serve(resolver.server_config().unwrap(), 5);
    let v = Arc::new(verifier(passing_policy(&b)).with_clock(clock));
    let first = echo(&v, addr, "one").unwrap().1;
    assert_eq!(first.not_after.as_secs(), T0 + 600);
    // Before the margin: the same certificate.
    t.store(T0 + 470, Ordering::SeqCst);
    assert_eq!(
        echo(&v, addr, "two").unwrap().1.spki_sha256,
        first.spki_sha256
    );
    assert_eq!(resolver.issued(), 1);
    // Inside the margin: a new key and new evidence.
    t.store(T0 + 490, Ordering::SeqCst);
    let second = echo(&v, addr, "three").unwrap().1;
    assert_ne!(second.spki_sha256, first.spki_sha256);
    assert_eq!(second.not_after.as_secs(), T0 + 490 + 600);
    assert_eq!(resolver.issued(), 2);

    // The attester fails at the next refresh: the current certificate is
    // served while valid, and the failure is recorded.
    b.inject_fault(Fault::Busy);
    b.inject_fault(Fault::Busy);
    t.store(T0 + 490 + 500, Ordering::SeqCst);
    let third = echo(&v, addr, "four").unwrap().1;
    assert_eq!(third.spki_sha256, second.spki_sha256);
    assert!(resolver.last_refresh_error().is_some());
    assert_eq!(resolver.issued(), 2);
    // Past notAfter with the attester still failing: no certificate at all.
    t.store(T0 + 490 + 601, Ordering::SeqCst);
    let e = echo(&v, addr, "five").map(|(l, _)| l).unwrap_err();
    assert!(io_rejection(&e).is_none(), "{e}");
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    assert!(
        matches!(inner, Some(rustls::Error::AlertReceived(_))),
        "{e}"
    );
    h.join().unwrap();
    // Once the attester works again, a refresh serves a new certificate.
    let fresh = resolver.refresh().unwrap();
    assert_eq!(fresh.not_after.as_secs(), T0 + 490 + 601 + 600);
    assert!(resolver.last_refresh_error().is_none());
}
