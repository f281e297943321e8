//! AMD Key Distribution Service (KDS) client (feature `kds`): fetch a
//! report's VCEK, the product's certificate chains and CRL.
//!
//! URL rules (`https://kdsintf.amd.com`):
//! - VCEK: `/vcek/v1/{Milan|Genoa|Turin}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..`;
//!   Turin uses the 8-byte hwID (the first 8 bytes of `CHIP_ID`) and adds
//!   `fmcSPL` first;
//! - chains: `/vcek/v1/{product}/cert_chain` (ASK, ARK) and
//!   `/vlek/v1/{product}/cert_chain` (ASVK, ARK);
//! - CRL: `/vcek/v1/{product}/crl`.
//!
//! VLEKs are not public (the cloud provider loads them), so they cannot be
//! fetched. Certificates are cached in a directory with the [`crate::backend::DirCache`]
//! layout (they never change for a given URL); CRLs are never cached. The
//! transport is a trait: this crate ships only [`PlainHttp`] (`http://`, for
//! a local caching proxy or tests); plug in an HTTPS client for AMD itself.
//! Everything fetched is still verified by [`crate::SnpVerifier`] against
//! the pinned roots: the network is not trusted.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use tee_core::evidence::endorsement;
use tee_core::{DeviceErrorKind, Error, Operation, Platform, Result};

use crate::backend::EndorsementSource;
use crate::certs::Cert;
use crate::report::{Product, SnpReport};

/// AMD's KDS.
pub const AMD_KDS: &str = "https://kdsintf.amd.com";
/// Largest response accepted (1 MiB).
pub const MAX_RESPONSE: usize = 1 << 20;

/// An HTTP GET transport.
pub trait HttpGet: Send + Sync + std::fmt::Debug {
    /// GET `url`; the body of a 200 response.
    ///
    /// # Errors
    /// [`Error::Device`] for transport failures and non-200 statuses
    /// ([`DeviceErrorKind::NotFound`] for 404, [`DeviceErrorKind::Busy`] for 429/503).
    fn get(&self, url: &str) -> Result<Vec<u8>>;
}

/// A minimal HTTP/1.1 client for `http://` URLs only.
#[derive(Debug, Clone, Copy)]
pub struct PlainHttp {
    /// Connect/read timeout.
    pub timeout: Duration,
}

impl Default for PlainHttp {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
        }
    }
}

impl HttpGet for PlainHttp {
    fn get(&self, url: &str) -> Result<Vec<u8>> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            Error::unsupported(
                Platform::SevSnp,
                Operation::Verification,
                "PlainHttp only speaks http://; supply an HTTPS transport for AMD's KDS",
            )
        })?;
        let (host, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let io = |e: std::io::Error| crate::guest::io_error(url, "http", &e);
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        let sock = std::net::ToSocketAddrs::to_socket_addrs(&addr)
            .map_err(io)?
            .next()
            .ok_or_else(|| {
                Error::device(DeviceErrorKind::NotFound, url.to_owned(), "no address")
            })?;
        let mut s = std::net::TcpStream::connect_timeout(&sock, self.timeout).map_err(io)?;
        s.set_read_timeout(Some(self.timeout)).map_err(io)?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: */*\r\n\r\n"
        )
        .map_err(io)?;
        let mut buf = Vec::new();
        s.take((MAX_RESPONSE + 16 * 1024) as u64)
            .read_to_end(&mut buf)
            .map_err(io)?;
        parse_response(url, &buf)
    }
}

/// Map an HTTP status to the transport contract of [`HttpGet::get`].
fn check_status(url: &str, status: u16) -> Result<()> {
    let kind = match status {
        200 => return Ok(()),
        404 => DeviceErrorKind::NotFound,
        429 | 503 => DeviceErrorKind::Busy,
        _ => DeviceErrorKind::Io,
    };
    Err(Error::device(
        kind,
        url.to_owned(),
        format!("HTTP {status}"),
    ))
}

/// An HTTPS (and HTTP) transport for AMD's KDS: `ureq` with rustls and the
/// Mozilla root store (feature `kds-https`; builds C code via `ring`, so it
/// is not in the default, pure-Rust build). KDS answers are public
/// certificates that the verifier checks against the pinned AMD roots, so
/// the transport adds availability, not trust.
#[cfg(feature = "kds-https")]
#[derive(Debug, Clone)]
pub struct Https {
    agent: ureq::Agent,
}

#[cfg(feature = "kds-https")]
impl Https {
    /// A transport with an overall per-request timeout.
    pub fn new(timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent }
    }
}

#[cfg(feature = "kds-https")]
impl Default for Https {
    fn default() -> Self {
        Self::new(Duration::from_secs(20))
    }
}

#[cfg(feature = "kds-https")]
impl HttpGet for Https {
    fn get(&self, url: &str) -> Result<Vec<u8>> {
        let io = |e: ureq::Error| Error::device(DeviceErrorKind::Io, url.to_owned(), e);
        let mut resp = self.agent.get(url).call().map_err(io)?;
        check_status(url, resp.status().as_u16())?;
        resp.body_mut()
            .with_config()
            .limit(MAX_RESPONSE as u64)
            .read_to_vec()
            .map_err(io)
    }
}

fn parse_response(url: &str, buf: &[u8]) -> Result<Vec<u8>> {
    let bad = |d: &str| Error::device(DeviceErrorKind::CorruptOutput, url.to_owned(), d.to_owned());
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let (head, body) = buf.split_at(end);
    let body = body.get(4..).unwrap_or(&[]);
    let head = std::str::from_utf8(head).map_err(|_| bad("header not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut len = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse::<usize>().ok();
            } else if k.trim().eq_ignore_ascii_case("transfer-encoding") {
                return Err(bad("chunked transfer encoding is not supported"));
            }
        }
    }
    check_status(url, status)?;
    let body = match len {
        Some(n) => body
            .get(..n)
            .ok_or_else(|| bad("body shorter than Content-Length"))?,
        None => body,
    };
    if body.len() > MAX_RESPONSE {
        return Err(bad("response too large"));
    }
    Ok(body.to_vec())
}

/// The KDS URL of a report's VCEK.
///
/// # Errors
/// [`Error::Unsupported`] when the product is unknown (v2 report without a
/// hint) or the chip id is masked (no hwID to ask for).
pub fn vcek_url(base: &str, report: &SnpReport<'_>, product: Option<Product>) -> Result<String> {
    let product = report.product().or(product).ok_or_else(|| {
        Error::unsupported(
            Platform::SevSnp,
            Operation::Verification,
            "cannot tell the report's product",
        )
    })?;
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
#[derive(Debug)]
pub struct KdsFetcher {
    base: String,
    http: Box<dyn HttpGet>,
    cache: Option<PathBuf>,
    retry: crate::guest::Retry,
}

impl KdsFetcher {
    /// A client for `base` (e.g. [`AMD_KDS`] or a local mirror).
    pub fn new(base: impl Into<String>, http: Box<dyn HttpGet>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
            cache: None,
            // KDS rate-limits (HTTP 429): back off generously.
            retry: crate::guest::Retry {
                attempts: 4,
                initial_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(8),
            },
        }
    }

    /// Set the retry policy for busy (HTTP 429/503) responses.
    #[must_use]
    pub fn with_retry(mut self, retry: crate::guest::Retry) -> Self {
        self.retry = retry;
        self
    }

    fn get(&self, url: &str) -> Result<Vec<u8>> {
        self.retry.run(|| self.http.get(url))
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
        let io = |e: std::io::Error| {
            crate::guest::io_error(&path.display().to_string(), "cache write", &e)
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Write then rename, so a crash never leaves a partial certificate.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Fetch (or read from the cache) a certificate file; `check` validates
    /// it before it is cached or returned.
    fn certificate(
        &self,
        rel: &std::path::Path,
        url: &str,
        check: impl Fn(&[u8]) -> Result<()>,
    ) -> Result<Vec<u8>> {
        if let Some(b) = self.cache_get(rel).filter(|b| check(b).is_ok()) {
            return Ok(b);
        }
        let body = self.get(url)?;
        check(&body)?;
        self.cache_put(rel, &body)?;
        Ok(body)
    }

    /// The VCEK (DER) for `report`.
    ///
    /// # Errors
    /// Transport errors, or [`Error::Malformed`] when the response is not a
    /// certificate (then nothing is cached).
    pub fn vcek(&self, report: &SnpReport<'_>, product: Option<Product>) -> Result<Vec<u8>> {
        let url = vcek_url(&self.base, report, product)?;
        let product = report.product().or(product).ok_or_else(|| {
            Error::unsupported(
                Platform::SevSnp,
                Operation::Verification,
                "cannot tell the report's product",
            )
        })?;
        let hwid = if product.has_fmc() {
            report.chip_id.get(..8).unwrap_or(&[])
        } else {
            &report.chip_id[..]
        };
        let rel = PathBuf::from(product.kds_name())
            .join(hex::encode(hwid))
            .join(format!("{:016x}.der", report.reported_tcb.0));
        self.certificate(&rel, &url, |b| Cert::from_der(b).map(|_| ()))
    }

    /// The PEM chain `[ASK, ARK]` (VCEK) or `[ASVK, ARK]` (VLEK) of `product`.
    ///
    /// # Errors
    /// Transport errors, or [`Error::Malformed`] for a response that is not PEM certificates.
    pub fn cert_chain(&self, product: Product, vlek: bool) -> Result<Vec<u8>> {
        let kind = if vlek { "vlek" } else { "vcek" };
        let url = format!("{}/{kind}/v1/{}/cert_chain", self.base, product.kds_name());
        let name = if vlek {
            "vlek_cert_chain.pem"
        } else {
            "cert_chain.pem"
        };
        self.certificate(&PathBuf::from(product.kds_name()).join(name), &url, |b| {
            crate::certs::decode_certs(b).map(|_| ())
        })
    }

    /// The product's CRL (DER), always fetched fresh (never cached).
    ///
    /// # Errors
    /// Transport errors.
    pub fn crl(&self, product: Product) -> Result<Vec<u8>> {
        self.get(&format!("{}/vcek/v1/{}/crl", self.base, product.kds_name()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        assert_eq!(
            parse_response("u", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap(),
            b"abc"
        );
        assert_eq!(
            parse_response("u", b"HTTP/1.0 200 OK\r\n\r\nxyz").unwrap(),
            b"xyz"
        );
        assert!(matches!(
            parse_response("u", b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(Error::Device(d)) if d.kind == DeviceErrorKind::NotFound
        ));
        assert!(matches!(
            parse_response("u", b"HTTP/1.1 429 Too Many\r\n\r\n"),
            Err(Error::Device(d)) if d.kind == DeviceErrorKind::Busy
        ));
        assert!(parse_response("u", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab").is_err());
        assert!(
            parse_response(
                "u",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc"
            )
            .is_err()
        );
        assert!(parse_response("u", b"garbage").is_err());
        assert!(matches!(
            PlainHttp::default().get("https://kdsintf.amd.com/x"),
            Err(Error::Unsupported(_))
        ));
    }
}
