//! RA-TLS over rustls (feature `rustls`, ring provider by default).
//!
//! - Server: [`RaTlsResolver`], a [`ResolvesServerCert`] that serves an
//!   attested certificate ([`crate::issue`]) and replaces it (new key, new
//!   evidence) before its lifetime ends.
//! - Client: [`RaTlsVerifier`], a [`ServerCertVerifier`] that runs
//!   [`crate::RaTlsCertificate::verify`] on the server's certificate, checks
//!   the handshake signature with the certificate key, and refuses the
//!   handshake with a typed [`RaTlsError`] (read it back with
//!   [`rejection`] / [`io_rejection`]). After the handshake,
//!   [`RaTlsVerifier::peer`] gives the application the verified claims and
//!   the appraisal of the connection's certificate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, TryLockError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest as _, Sha256};
use tee::Verifiers;
use tee_core::{Backend, Policy, UnixTime};

use crate::cert::{AttestedCert, CertOptions, issue};
use crate::error::RaTlsError;
use crate::verify::{AttestedPeer, verify_certificate};

/// A source of the current time (tests and simulations pass their own).
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// The ring crypto provider (what [`RaTlsResolver`] and [`RaTlsVerifier`]
/// use unless given another).
pub fn default_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn system_clock() -> Clock {
    Arc::new(UnixTime::now)
}

/// The [`RaTlsError`] a handshake was refused with by [`RaTlsVerifier`].
pub fn rejection(e: &rustls::Error) -> Option<&RaTlsError> {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            inner.downcast_ref::<RaTlsError>()
        }
        _ => None,
    }
}

/// The [`RaTlsError`] inside an I/O error of a rustls stream
/// (`rustls::StreamOwned` reports handshake failures as
/// `io::ErrorKind::InvalidData` carrying the `rustls::Error`).
pub fn io_rejection(e: &std::io::Error) -> Option<&RaTlsError> {
    e.get_ref()?
        .downcast_ref::<rustls::Error>()
        .and_then(rejection)
}

fn reject(e: RaTlsError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

/// The certificate being served and its rustls form.
struct Served {
    cert: Arc<AttestedCert>,
    certified: Arc<CertifiedKey>,
}

/// A rustls certificate resolver serving an attested certificate, replaced
/// (new key, new evidence) once less than the refresh margin of its lifetime
/// is left.
///
/// The replacement runs inside the handshake that finds the certificate
/// due (one handshake at a time; the others keep being served the current
/// certificate while it is still valid). Applications that want every
/// handshake fast call [`RaTlsResolver::refresh`] from a timer as well.
/// When a replacement fails, the current certificate is served until it
/// expires; after that the handshake is refused (the resolver answers
/// `None`), never served with an expired certificate.
pub struct RaTlsResolver {
    backend: Arc<dyn Backend>,
    opts: CertOptions,
    refresh_before: Duration,
    provider: Arc<CryptoProvider>,
    clock: Clock,
    current: RwLock<Arc<Served>>,
    refreshing: Mutex<()>,
    issued: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl core::fmt::Debug for RaTlsResolver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RaTlsResolver")
            .field("platform", &self.backend.platform())
            .field("lifetime", &self.opts.lifetime)
            .field("refresh_before", &self.refresh_before)
            .field("issued", &self.issued())
            .finish_non_exhaustive()
    }
}

/// Builder of [`RaTlsResolver`].
#[must_use]
pub struct ResolverBuilder {
    backend: Arc<dyn Backend>,
    opts: CertOptions,
    refresh_before: Option<Duration>,
    provider: Option<Arc<CryptoProvider>>,
    clock: Option<Clock>,
}

impl ResolverBuilder {
    /// Replace the certificate once less than `margin` of its lifetime is
    /// left (default: a quarter of the lifetime). Must be shorter than the
    /// lifetime.
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = Some(margin);
        self
    }

    /// The crypto provider (default ring).
    pub fn provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The clock (default the system time).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Issue the first certificate and return the resolver.
    ///
    /// # Errors
    /// [`RaTlsError::Encoding`] for a refresh margin not shorter than the
    /// lifetime; otherwise as [`crate::issue`] (e.g. [`RaTlsError::Attest`]
    /// when the backend cannot attest).
    pub fn build(self) -> Result<RaTlsResolver, RaTlsError> {
        let lifetime = self.opts.lifetime;
        let refresh_before = self.refresh_before.unwrap_or(lifetime / 4);
        if lifetime.is_zero() || refresh_before >= lifetime {
            return Err(RaTlsError::Encoding(format!(
                "refresh margin {refresh_before:?} must be shorter than the lifetime {lifetime:?}"
            )));
        }
        let provider = self.provider.unwrap_or_else(default_provider);
        let clock = self.clock.unwrap_or_else(system_clock);
        let first = make_served(&*self.backend, &self.opts, &provider, clock())?;
        Ok(RaTlsResolver {
            backend: self.backend,
            opts: self.opts,
            refresh_before,
            provider,
            clock,
            current: RwLock::new(Arc::new(first)),
            refreshing: Mutex::new(()),
            issued: AtomicU64::new(1),
            last_error: Mutex::new(None),
        })
    }
}

fn make_served(
    backend: &dyn Backend,
    opts: &CertOptions,
    provider: &CryptoProvider,
    now: UnixTime,
) -> Result<Served, RaTlsError> {
    let attester = backend.attester().map_err(RaTlsError::Attest)?;
    let cert = issue(attester, opts, now)?;
    let certified = certified_key(&cert, provider)?;
    Ok(Served {
        cert: Arc::new(cert),
        certified: Arc::new(certified),
    })
}

/// The rustls [`CertifiedKey`] of an attested certificate (chain: the
/// certificate alone, or it and nothing else when CA-signed; add the CA
/// chain yourself if peers need it).
///
/// # Errors
/// [`RaTlsError::Key`] when the provider cannot load the key or it does not
/// match the certificate.
pub fn certified_key(
    cert: &AttestedCert,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, RaTlsError> {
    let pkcs8 = cert.key.to_pkcs8_der()?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.to_vec()));
    CertifiedKey::from_der(
        vec![CertificateDer::from(cert.cert_der.clone())],
        key,
        provider,
    )
    .map_err(|e| RaTlsError::Key(format!("rustls: {e}")))
}

impl RaTlsResolver {
    /// A resolver for `backend`'s evidence with certificates made by `opts`.
    pub fn builder(backend: Arc<dyn Backend>, opts: CertOptions) -> ResolverBuilder {
        ResolverBuilder {
            backend,
            opts,
            refresh_before: None,
            provider: None,
            clock: None,
        }
    }

    /// [`RaTlsResolver::builder`] with the defaults, built.
    ///
    /// # Errors
    /// As [`ResolverBuilder::build`].
    pub fn new(backend: Arc<dyn Backend>, opts: CertOptions) -> Result<Self, RaTlsError> {
        Self::builder(backend, opts).build()
    }

    fn served(&self) -> Arc<Served> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The certificate being served.
    pub fn current(&self) -> Arc<AttestedCert> {
        self.served().cert.clone()
    }

    /// How many certificates were issued (the first one included).
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// The error of the last failed replacement, if the last attempt failed.
    pub fn last_refresh_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn due(&self, s: &Served, now: UnixTime) -> bool {
        now.as_secs().saturating_add(self.refresh_before.as_secs()) >= s.cert.not_after.as_secs()
    }

    fn valid(s: &Served, now: UnixTime) -> bool {
        s.cert.not_before <= now && now <= s.cert.not_after
    }

    /// Issue a new certificate now (new key, new evidence) and serve it.
    ///
    /// # Errors
    /// As [`crate::issue`]; the current certificate stays in service.
    pub fn refresh(&self) -> Result<Arc<AttestedCert>, RaTlsError> {
        let _g = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.reissue((self.clock)()).map(|s| s.cert.clone())
    }

    /// With the refresh lock held.
    fn reissue(&self, now: UnixTime) -> Result<Arc<Served>, RaTlsError> {
        let r = make_served(&*self.backend, &self.opts, &self.provider, now);
        let mut err = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match r {
            Ok(s) => {
                *err = None;
                let s = Arc::new(s);
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = s.clone();
                self.issued.fetch_add(1, Ordering::Relaxed);
                Ok(s)
            }
            Err(e) => {
                *err = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// The certificate to serve at `now`: the current one, or a new one when
    /// it is due; `None` when only an expired (or not yet valid) one is left.
    fn certificate_at(&self, now: UnixTime) -> Option<Arc<CertifiedKey>> {
        let cur = self.served();
        if !self.due(&cur, now) && Self::valid(&cur, now) {
            return Some(cur.certified.clone());
        }
        let _guard = match self.refreshing.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => {
                if Self::valid(&cur, now) {
                    return Some(cur.certified.clone());
                }
                self.refreshing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            }
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        // Another handshake may have replaced it meanwhile.
        let cur = self.served();
        if !self.due(&cur, now) && Self::valid(&cur, now) {
            return Some(cur.certified.clone());
        }
        match self.reissue(now) {
            Ok(s) => Some(s.certified.clone()),
            Err(_) if Self::valid(&cur, now) => Some(cur.certified.clone()),
            Err(_) => None,
        }
    }

    /// A server configuration (TLS 1.2 and 1.3, no client authentication)
    /// serving this resolver's certificates.
    ///
    /// # Errors
    /// rustls' error if the provider supports no protocol version.
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, rustls::Error> {
        Ok(
            rustls::ServerConfig::builder_with_provider(self.provider.clone())
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(self.clone()),
        )
    }
}

impl ResolvesServerCert for RaTlsResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.certificate_at((self.clock)())
    }
}

/// How many verified peers [`RaTlsVerifier`] keeps for [`RaTlsVerifier::peer`].
pub const PEER_SLOTS: usize = 64;

/// A rustls server-certificate verifier for RA-TLS servers.
///
/// On each handshake it verifies the server's certificate as
/// [`crate::RaTlsCertificate::verify`] does (validity, evidence
/// authenticity with the [`Verifiers`], key binding, optional nonce,
/// appraisal with the policy), then the handshake signature with the
/// certificate's key. A refusal is `rustls::Error::InvalidCertificate(
/// CertificateError::Other(..))` carrying the [`RaTlsError`]: see
/// [`rejection`] and [`io_rejection`].
///
/// The server name is not checked (the evidence, not a name, identifies
/// the server), unless a CA verifier is added with [`RaTlsVerifier::with_ca`],
/// which then also checks the chain and the name.
///
/// After the handshake, [`RaTlsVerifier::peer`] with the connection's peer
/// certificates returns the [`AttestedPeer`] (claims and appraisal). Results
/// are kept by the SHA-256 of the end-entity certificate, the last
/// [`PEER_SLOTS`] of them, so one verifier can serve many connections; a
/// certificate seen again is verified again.
pub struct RaTlsVerifier {
    verifiers: Arc<Verifiers>,
    policy: Policy,
    nonce: Option<Vec<u8>>,
    provider: Arc<CryptoProvider>,
    clock: Option<Clock>,
    ca: Option<Arc<dyn ServerCertVerifier>>,
    peers: Mutex<VecDeque<([u8; 32], Arc<AttestedPeer>)>>,
}

impl core::fmt::Debug for RaTlsVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RaTlsVerifier")
            .field("platforms", &self.verifiers.platforms().collect::<Vec<_>>())
            .field("policy", &self.policy)
            .field("nonce", &self.nonce.is_some())
            .field("ca", &self.ca.is_some())
            .finish_non_exhaustive()
    }
}

impl RaTlsVerifier {
    /// A verifier checking evidence with `verifiers` and appraising with
    /// `policy` (its `report_data` is replaced by the binding).
    pub fn new(verifiers: Verifiers, policy: Policy) -> Self {
        Self::with_shared(Arc::new(verifiers), policy)
    }

    /// [`RaTlsVerifier::new`] with a shared verifier set.
    pub fn with_shared(verifiers: Arc<Verifiers>, policy: Policy) -> Self {
        Self {
            verifiers,
            policy,
            nonce: None,
            provider: default_provider(),
            clock: None,
            ca: None,
            peers: Mutex::new(VecDeque::new()),
        }
    }

    /// Builder: require this nonce in the claims buffer.
    #[must_use]
    pub fn expect_nonce(mut self, nonce: impl Into<Vec<u8>>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Builder: the crypto provider (default ring).
    #[must_use]
    pub fn with_provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.provider = provider;
        self
    }

    /// Builder: the verification time from this clock instead of rustls'.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builder: also require the certificate to pass `ca` (e.g. rustls'
    /// `WebPkiServerVerifier` over the roots of the CA that signs the RA-TLS
    /// certificates), which checks the chain and the server name.
    #[must_use]
    pub fn with_ca(mut self, ca: Arc<dyn ServerCertVerifier>) -> Self {
        self.ca = Some(ca);
        self
    }

    /// The verified peer of a connection, from its peer certificates
    /// (`conn.peer_certificates()`), if this verifier accepted it.
    pub fn peer(
        &self,
        peer_certificates: Option<&[CertificateDer<'_>]>,
    ) -> Option<Arc<AttestedPeer>> {
        let ee = peer_certificates?.first()?;
        let h: [u8; 32] = Sha256::digest(ee.as_ref()).into();
        self.peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .find(|(k, _)| *k == h)
            .map(|(_, p)| p.clone())
    }

    /// A client configuration (TLS 1.2 and 1.3, no client certificate)
    /// using this verifier. Session resumption is off, so that every
    /// connection is attested.
    ///
    /// # Errors
    /// rustls' error if the provider supports no protocol version.
    pub fn client_config(self: &Arc<Self>) -> Result<rustls::ClientConfig, rustls::Error> {
        let mut cfg = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        cfg.resumption = rustls::client::Resumption::disabled();
        Ok(cfg)
    }
}

impl ServerCertVerifier for RaTlsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(ca) = &self.ca {
            ca.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        }
        let at = match &self.clock {
            Some(c) => c(),
            None => UnixTime::from_secs(now.as_secs()),
        };
        let peer = verify_certificate(
            end_entity.as_ref(),
            &self.verifiers,
            &self.policy,
            self.nonce.as_deref(),
            at,
        )
        .map_err(reject)?;
        let h: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        peers.retain(|(k, _)| *k != h);
        if peers.len() >= PEER_SLOTS {
            peers.pop_front();
        }
        peers.push_back((h, Arc::new(peer)));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
