//! AMD Key Distribution Service (KDS) client (feature `kds`): fetch a
//! report's VCEK, the product's certificate chains and CRL.
//!
//! URL rules (`https://kdsintf.amd.com`):
//! - VCEK: `/vcek/v1/{Milan|Genoa|Turin}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..`;
//!   Turin uses the 8-byte hwID (the first 8 bytes of `CHIP_ID`) and adds
//!   `fmcSPL` first;
//! - chains: `/vcek/v1/{product}/cert_chain` (ASK, ARK) and
//!   `/vlek/v1/{product}/cert_chain` (ASVK, ARK);
//! - CRLs: `/vcek/v1/{product}/crl` (VCEK chain) and `/vlek/v1/{product}/crl`
//!   (VLEK chain).
//!
//! VLEKs are not public (the cloud provider loads them), so they cannot be
//! fetched. Certificates are cached in a directory with the [`crate::backend::DirCache`]
//! layout (they never change for a given URL); CRLs are never cached. Every
//! body is parse-checked before it is returned (a certificate, a PEM chain,
//! a DER CRL via [`crate::crl::AmdCrl`]); a CRL's issuer, signature and
//! freshness are checked by the verifier, not here.
//!
//! The transport is [`tee_fetch::Transport`] (re-exported here with the
//! built-in [`PlainHttp`] for `http://` mirrors and tests, and `Https` with
//! feature `kds-https`); busy answers (`429`, `5xx`) and transient network
//! failures are retried by a [`RetryPolicy`]. Each download is also a
//! sans-IO [`KdsFetch`], so an async program can drive it with
//! `tee_fetch::nonblocking::fetch`. Everything fetched is still verified by
//! [`crate::SnpVerifier`] against the pinned roots: the network is not trusted.

use std::path::PathBuf;
use std::sync::Arc;

use tee_core::evidence::endorsement;
use tee_core::{DeviceErrorKind, Error, Operation, Platform, Result};
#[cfg(feature = "kds-https")]
pub use tee_fetch::Https;
use tee_fetch::{Fetch, Retrying};
pub use tee_fetch::{FetchError, PlainHttp, Request, Response, RetryPolicy, Transport};

use crate::backend::EndorsementSource;
use crate::certs::Cert;
use crate::report::{Product, SnpReport, TcbVersion};

/// AMD's KDS.
pub const AMD_KDS: &str = "https://kdsintf.amd.com";
/// Largest response accepted (1 MiB).
pub const MAX_RESPONSE: usize = 1 << 20;

/// Which KDS file a [`KdsFetch`] downloads (and how its body is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KdsFile {
    /// A VCEK (DER certificate).
    Vcek,
    /// A PEM certificate chain.
    Chain,
    /// A DER CRL (decoded here; its issuer, signature and freshness are
    /// the verifier's to check).
    Crl,
}

/// One KDS download as a sans-IO [`Fetch`]: a GET of one URL whose `200`
/// body is checked (a certificate for VCEKs and chains, a decodable
/// [`crate::crl::AmdCrl`] for CRLs: anything else is [`Error::Malformed`]). Statuses map like
/// [`FetchError`]'s conversion (`404` → `Device(NotFound)`, `429`/`503` →
/// `Device(Busy)`); a transport that cannot speak the URL's scheme is
/// [`Error::Unsupported`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdsFetch {
    url: String,
    file: KdsFile,
}

impl KdsFetch {
    /// The VCEK of `report` from the KDS at `base`.
    ///
    /// # Errors
    /// As [`vcek_url`].
    pub fn vcek(base: &str, report: &SnpReport<'_>, product: Option<Product>) -> Result<Self> {
        Ok(Self {
            url: vcek_url(base, report, product)?,
            file: KdsFile::Vcek,
        })
    }

    /// The `[ASK, ARK]` (VCEK) or `[ASVK, ARK]` (VLEK) PEM chain of `product`.
    pub fn cert_chain(base: &str, product: Product, vlek: bool) -> Self {
        let kind = if vlek { "vlek" } else { "vcek" };
        Self {
            url: format!("{base}/{kind}/v1/{}/cert_chain", product.kds_name()),
            file: KdsFile::Chain,
        }
    }

    /// The CRL of `product`'s VCEK chain (`/vcek/v1/{product}/crl`).
    pub fn crl(base: &str, product: Product) -> Self {
        Self::crl_of(base, product, false)
    }

    /// The CRL of `product`'s VLEK chain (`/vlek/v1/{product}/crl`).
    pub fn vlek_crl(base: &str, product: Product) -> Self {
        Self::crl_of(base, product, true)
    }

    fn crl_of(base: &str, product: Product, vlek: bool) -> Self {
        let kind = if vlek { "vlek" } else { "vcek" };
        Self {
            url: format!("{base}/{kind}/v1/{}/crl", product.kds_name()),
            file: KdsFile::Crl,
        }
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn check(&self, body: &[u8]) -> Result<()> {
        match self.file {
            KdsFile::Vcek => Cert::from_der(body).map(|_| ()),
            KdsFile::Chain => crate::certs::decode_certs(body).map(|_| ()),
            KdsFile::Crl => crate::crl::AmdCrl::from_der(body).map(|_| ()),
        }
    }
}

impl Fetch for KdsFetch {
    type Output = Vec<u8>;

    fn requests(&self) -> Vec<Request> {
        vec![Request::get(self.url.clone()).with_max_body(MAX_RESPONSE)]
    }

    fn finish(self, responses: Vec<Response>) -> Result<Vec<u8>> {
        let r = responses
            .into_iter()
            .next()
            .ok_or(Error::Misuse("KdsFetch::finish needs one response".into()))?;
        let body = r.ok(&self.url).map_err(|e| self.transport_error(e))?.body;
        self.check(&body)?;
        Ok(body)
    }

    fn transport_error(&self, e: FetchError) -> Error {
        match e {
            FetchError::UnsupportedScheme { .. } => Error::unsupported(
                Platform::SevSnp,
                Operation::Verification,
                "the KDS transport does not speak this URL's scheme (PlainHttp speaks only \
                 http://); supply an HTTPS transport for AMD's KDS (feature `kds-https`)",
            ),
            e => e.into(),
        }
    }
}

fn cache_error(path: &std::path::Path, e: &std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => DeviceErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => DeviceErrorKind::PermissionDenied,
        _ => DeviceErrorKind::Io,
    };
    Error::device(
        kind,
        path.display().to_string(),
        format!("cache write: {e}"),
    )
}

/// The report's product, or the hint for reports that do not say (v2).
fn report_product(report: &SnpReport<'_>, hint: Option<Product>) -> Result<Product> {
    report.product().or(hint).ok_or_else(|| {
        Error::unsupported(
            Platform::SevSnp,
            Operation::Verification,
            "cannot tell the report's product",
        )
    })
}

/// The KDS URL of a report's VCEK.
///
/// # Errors
/// [`Error::Unsupported`] when the product is unknown (v2 report without a
/// hint) or the chip id is masked (no hwID to ask for).
pub fn vcek_url(base: &str, report: &SnpReport<'_>, product: Option<Product>) -> Result<String> {
    let product = report_product(report, product)?;
    if report.chip_id_masked() {
        return Err(Error::unsupported(
            Platform::SevSnp,
            Operation::Verification,
            "the report's chip id is masked: its VCEK cannot be looked up",
        ));
    }
    Ok(vcek_url_for(
        base,
        product,
        report.chip_id,
        report.reported_tcb,
    ))
}

/// The KDS URL of the VCEK of chip `chip_id` at `tcb` (Turin: the first
/// 8 bytes of the chip id are the hwID, and `fmcSPL` comes first).
pub fn vcek_url_for(base: &str, product: Product, chip_id: &[u8; 64], tcb: TcbVersion) -> String {
    let t = tcb.decode(product);
    let (hwid, fmc) = match t.fmc {
        Some(f) if product.has_fmc() => (&chip_id[..8], format!("fmcSPL={f}&")),
        _ => (&chip_id[..], String::new()),
    };
    format!(
        "{base}/vcek/v1/{}/{}?{fmc}blSPL={}&teeSPL={}&snpSPL={}&ucodeSPL={}",
        product.kds_name(),
        hex::encode(hwid),
        t.bootloader,
        t.tee,
        t.snp,
        t.microcode
    )
}

/// A KDS client with an optional certificate cache.
#[derive(Debug, Clone)]
pub struct KdsFetcher {
    base: String,
    http: Arc<dyn Transport>,
    cache: Option<PathBuf>,
    retry: RetryPolicy,
}

impl KdsFetcher {
    /// A client for `base` (e.g. [`AMD_KDS`] or a local mirror) over `http`.
    /// KDS rate-limits (HTTP 429): the default [`RetryPolicy`] backs off
    /// generously (4 attempts, 1 s doubling to 8 s).
    pub fn new(base: impl Into<String>, http: impl Transport + 'static) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http: Arc::new(http),
            cache: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Set the retry policy for busy (HTTP 429/5xx) answers and transient failures.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Run one download over the retrying transport.
    fn run(&self, f: KdsFetch) -> Result<Vec<u8>> {
        tee_fetch::fetch(&Retrying::new(self.http.as_ref(), self.retry), f)
    }

    /// Cache certificates in `dir` ([`crate::backend::DirCache`] layout).
    #[must_use]
    pub fn with_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    fn cache_get(&self, rel: &std::path::Path) -> Option<Vec<u8>> {
        std::fs::read(self.cache.as_ref()?.join(rel)).ok()
    }

    fn cache_put(&self, rel: &std::path::Path, body: &[u8]) -> Result<()> {
        let Some(dir) = &self.cache else {
            return Ok(());
        };
        let path = dir.join(rel);
        let io = |e: std::io::Error| cache_error(&path, &e);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Write then rename, so a crash never leaves a partial certificate.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Fetch (or read from the cache) a certificate file; it is checked
    /// before it is cached or returned.
    fn certificate(&self, rel: &std::path::Path, f: KdsFetch) -> Result<Vec<u8>> {
        if let Some(b) = self.cache_get(rel).filter(|b| f.check(b).is_ok()) {
            return Ok(b);
        }
        let body = self.run(f)?;
        self.cache_put(rel, &body)?;
        Ok(body)
    }

    /// The VCEK (DER) for `report`.
    ///
    /// # Errors
    /// Transport errors, or [`Error::Malformed`] when the response is not a
    /// certificate (then nothing is cached).
    pub fn vcek(&self, report: &SnpReport<'_>, product: Option<Product>) -> Result<Vec<u8>> {
        let f = KdsFetch::vcek(&self.base, report, product)?;
        let product = report_product(report, product)?;
        let hwid = if product.has_fmc() {
            report.chip_id.get(..8).unwrap_or(&[])
        } else {
            &report.chip_id[..]
        };
        let rel = PathBuf::from(product.kds_name())
            .join(hex::encode(hwid))
            .join(format!("{:016x}.der", report.reported_tcb.0));
        self.certificate(&rel, f)
    }

    /// The PEM chain `[ASK, ARK]` (VCEK) or `[ASVK, ARK]` (VLEK) of `product`.
    ///
    /// # Errors
    /// Transport errors, or [`Error::Malformed`] for a response that is not PEM certificates.
    pub fn cert_chain(&self, product: Product, vlek: bool) -> Result<Vec<u8>> {
        let name = if vlek {
            "vlek_cert_chain.pem"
        } else {
            "cert_chain.pem"
        };
        self.certificate(
            &PathBuf::from(product.kds_name()).join(name),
            KdsFetch::cert_chain(&self.base, product, vlek),
        )
    }

    /// The CRL (DER) of the product's VCEK chain, always fetched fresh
    /// (never cached).
    ///
    /// # Errors
    /// Transport errors, or [`Error::Malformed`] when the response is not
    /// one DER CRL ([`crate::crl::AmdCrl::from_der`]).
    pub fn crl(&self, product: Product) -> Result<Vec<u8>> {
        self.run(KdsFetch::crl(&self.base, product))
    }

    /// The CRL (DER) of the product's VLEK chain (`/vlek/v1/{product}/crl`),
    /// always fetched fresh (never cached).
    ///
    /// # Errors
    /// As [`KdsFetcher::crl`].
    pub fn vlek_crl(&self, product: Product) -> Result<Vec<u8>> {
        self.run(KdsFetch::vlek_crl(&self.base, product))
    }
}

impl EndorsementSource for KdsFetcher {
    fn endorsements(&self, report: &SnpReport<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        match report.signing_key() {
            Ok(tee_core::platforms::SnpSigningKey::Vcek) => {}
            _ => return Ok(Vec::new()),
        }
        let vcek = self.vcek(report, None)?;
        Ok(vec![(endorsement::SIGNING_CERT_DER.to_owned(), vcek)])
    }
}

/// KDS artifacts for the collateral cache ([`tee_fetch::cache`]): what
/// each is called, where it is fetched, and how long it may be served
/// (read from its bytes).
pub mod artifact {
    use tee_fetch::cache::{Body, Descriptor, Kinds, Validity};

    use super::{KdsFetch, vcek_url_for};
    use crate::certs::{Cert, decode_certs};
    use crate::crl::AmdCrl;
    use crate::report::{Product, TcbVersion};
    use tee_core::{Error, Result};

    /// Kind of a VCEK (DER certificate; served within its validity).
    pub const VCEK: &str = "amd-vcek";
    /// Kind of a `[ASK, ARK]` or `[ASVK, ARK]` PEM chain (served within the
    /// intersection of the certificates' validity).
    pub const CERT_CHAIN: &str = "amd-cert-chain";
    /// Kind of a KDS CRL (DER; served from `thisUpdate` until `nextUpdate`,
    /// never after; a CRL without `nextUpdate` is refused).
    pub const CRL: &str = "amd-crl";

    /// One KDS artifact.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct KdsArtifact {
        id: String,
        kind: &'static str,
        fetch: KdsFetch,
    }

    fn key_kind(vlek: bool) -> &'static str {
        if vlek { "vlek" } else { "vcek" }
    }

    impl KdsArtifact {
        /// The VCEK of chip `chip_id` at `tcb` (id
        /// `amd/vcek/{Product}/{hwid hex}/{tcb:016x}`).
        pub fn vcek(base: &str, product: Product, chip_id: &[u8; 64], tcb: TcbVersion) -> Self {
            let hwid = if product.has_fmc() {
                &chip_id[..8]
            } else {
                &chip_id[..]
            };
            Self {
                id: format!(
                    "amd/vcek/{}/{}/{:016x}",
                    product.kds_name(),
                    hex::encode(hwid),
                    tcb.0
                ),
                kind: VCEK,
                fetch: KdsFetch {
                    url: vcek_url_for(base, product, chip_id, tcb),
                    file: super::KdsFile::Vcek,
                },
            }
        }

        /// The VCEK (`vlek == false`) or VLEK chain of `product` (id
        /// `amd/{vcek|vlek}-chain/{Product}`).
        pub fn cert_chain(base: &str, product: Product, vlek: bool) -> Self {
            Self {
                id: format!("amd/{}-chain/{}", key_kind(vlek), product.kds_name()),
                kind: CERT_CHAIN,
                fetch: KdsFetch::cert_chain(base, product, vlek),
            }
        }

        /// The CRL of `product`'s VCEK or VLEK chain (id
        /// `amd/{vcek|vlek}-crl/{Product}`).
        pub fn crl(base: &str, product: Product, vlek: bool) -> Self {
            Self {
                id: format!("amd/{}-crl/{}", key_kind(vlek), product.kds_name()),
                kind: CRL,
                fetch: KdsFetch::crl_of(base, product, vlek),
            }
        }

        /// The URL.
        pub fn url(&self) -> &str {
            self.fetch.url()
        }
    }

    impl Descriptor for KdsArtifact {
        fn id(&self) -> String {
            self.id.clone()
        }
        fn kind(&self) -> &'static str {
            self.kind
        }
        fn request(&self) -> tee_fetch::Request {
            tee_fetch::Request::get(self.fetch.url.clone()).with_max_body(super::MAX_RESPONSE)
        }
        fn accept(&self, response: tee_fetch::Response) -> Result<Body> {
            self.fetch.check(&response.body)?;
            Ok(Body::new(response.body))
        }
    }

    fn cert_window(certs: &[Cert]) -> Result<Validity> {
        if certs.is_empty() {
            return Err(Error::encoding("AMD certificate chain", "no certificate"));
        }
        let from = certs.iter().map(|c| c.validity_secs().0).max().unwrap_or(0);
        let to = certs.iter().map(|c| c.validity_secs().1).min().unwrap_or(0);
        Ok(Validity::new(from, to.saturating_add(1)))
    }

    /// The validity of a KDS artifact, or `None` for another kind.
    pub fn validity(kind: &str, body: &Body) -> Option<Result<Validity>> {
        Some(match kind {
            VCEK => Cert::from_der(&body.bytes).and_then(|c| cert_window(&[c])),
            CERT_CHAIN => decode_certs(&body.bytes).and_then(|c| cert_window(&c)),
            CRL => AmdCrl::from_der(&body.bytes).and_then(|c| match c.next_update() {
                Some(next) => Ok(Validity::new(c.this_update(), next)),
                None => Err(Error::bad_field(
                    "AMD CRL",
                    "nextUpdate",
                    "absent: freshness cannot be established",
                )),
            }),
            _ => return None,
        })
    }

    /// [`Kinds`] for the KDS artifacts alone.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct KdsKinds;

    impl Kinds for KdsKinds {
        fn validity(&self, kind: &str, body: &Body) -> Result<Validity> {
            validity(kind, body).unwrap_or_else(|| {
                Err(Error::Misuse(
                    format!("not a KDS artifact kind: {kind}").into(),
                ))
            })
        }
    }
}
