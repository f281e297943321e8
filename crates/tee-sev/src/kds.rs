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
use crate::report::{Product, SnpReport};

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
    let t = report.reported_tcb.decode(product);
    let (hwid, fmc) = match t.fmc {
        Some(f) => (
            report.chip_id.get(..8).unwrap_or(&[]),
            format!("fmcSPL={f}&"),
        ),
        None => (&report.chip_id[..], String::new()),
    };
    Ok(format!(
        "{base}/vcek/v1/{}/{}?{fmc}blSPL={}&teeSPL={}&snpSPL={}&ucodeSPL={}",
        product.kds_name(),
        hex::encode(hwid),
        t.bootloader,
        t.tee,
        t.snp,
        t.microcode
    ))
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
