//! Collateral from an Intel PCS or a PCCS over HTTP (feature `pcs`).
//!
//! The transport is a trait ([`HttpGet`]) so applications plug in the
//! HTTPS client they already trust; [`PlainHttp`] is a minimal built-in
//! HTTP/1.1 client for `http://` URLs (a PCCS on a trusted local network,
//! and tests). Everything fetched is verified afterwards like offline
//! collateral: TLS is not what makes it trustworthy, Intel's signatures are.
//!
//! Requests (PCS API v4):
//! - `GET {base}/tdx/certification/v4/tcb?fmspc=…` (header `TCB-Info-Issuer-Chain`)
//! - `GET {base}/tdx/certification/v4/qe/identity` (header `SGX-Enclave-Identity-Issuer-Chain`)
//! - `GET {base}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der`
//!   (header `SGX-PCK-CRL-Issuer-Chain`)
//! - the root CA CRL from [`PcsClient::root_crl_url`] (Intel:
//!   `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`;
//!   PCCS: `{base}/sgx/certification/v4/rootcacrl`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use tee_core::{Authenticity, DeviceErrorKind, Error, Result};

use crate::collateral::{Collateral, CollateralProvider, PckCa, PcsFiles};

/// Largest response accepted (4 MiB).
pub const MAX_RESPONSE: usize = 4 << 20;

/// An HTTP response.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (names as received).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP GET transport.
pub trait HttpGet: Send + Sync + core::fmt::Debug {
    /// Fetch `url`.
    ///
    /// # Errors
    /// [`Error::Device`] on transport failure.
    fn get(&self, url: &str) -> Result<HttpResponse>;
}

/// An HTTPS (and HTTP) transport for Intel PCS or a PCCS: `ureq` with
/// rustls and the Mozilla root store (feature `pcs-https`; builds C code via
/// `ring`, so it is not in the default, pure-Rust build). Collateral is
/// signed by Intel and checked against the pinned root, so the transport adds
/// availability, not trust.
#[cfg(feature = "pcs-https")]
#[derive(Debug, Clone)]
pub struct Https {
    agent: ureq::Agent,
}

#[cfg(feature = "pcs-https")]
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

#[cfg(feature = "pcs-https")]
impl Default for Https {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

#[cfg(feature = "pcs-https")]
impl HttpGet for Https {
    fn get(&self, url: &str) -> Result<HttpResponse> {
        let mut resp = self.agent.get(url).call().map_err(|e| net(url, e))?;
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE as u64)
            .read_to_vec()
            .map_err(|e| net(url, e))?;
        Ok(HttpResponse {
            status: resp.status().as_u16(),
            headers,
            body,
        })
    }
}

/// A minimal HTTP/1.1 client for `http://` URLs.
#[derive(Debug, Clone)]
pub struct PlainHttp {
    /// Connect/read/write timeout.
    pub timeout: Duration,
}

impl Default for PlainHttp {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
        }
    }
}

fn net(url: &str, e: impl core::fmt::Display) -> Error {
    Error::device(DeviceErrorKind::Io, url.to_string(), e)
}

impl HttpGet for PlainHttp {
    fn get(&self, url: &str) -> Result<HttpResponse> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            Error::Misuse(
                "PlainHttp only speaks http://; plug in an HTTPS client via HttpGet".into(),
            )
        })?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or("/"),
            ),
            None => (rest, "/"),
        };
        let addr = if hostport.contains(':') {
            hostport.to_string()
        } else {
            format!("{hostport}:80")
        };
        let mut s = TcpStream::connect(&addr).map_err(|e| net(url, e))?;
        s.set_read_timeout(Some(self.timeout))
            .map_err(|e| net(url, e))?;
        s.set_write_timeout(Some(self.timeout))
            .map_err(|e| net(url, e))?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nAccept: */*\r\n\r\n"
        );
        s.write_all(req.as_bytes()).map_err(|e| net(url, e))?;
        let mut r = BufReader::new(s.take(MAX_RESPONSE as u64 + 64 * 1024));
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| net(url, e))?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| net(url, "bad HTTP status line"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            r.read_line(&mut line).map_err(|e| net(url, e))?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if headers.len() > 100 {
                return Err(net(url, "too many headers"));
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut resp = HttpResponse {
            status,
            headers,
            body: Vec::new(),
        };
        let chunked = resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line).map_err(|e| net(url, e))?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| net(url, "bad chunk size"))?;
                if size == 0 {
                    break;
                }
                if resp.body.len().saturating_add(size) > MAX_RESPONSE {
                    return Err(net(url, "response too large"));
                }
                let mut chunk = vec![0u8; size];
                r.read_exact(&mut chunk).map_err(|e| net(url, e))?;
                resp.body.extend_from_slice(&chunk);
                line.clear();
                r.read_line(&mut line).map_err(|e| net(url, e))?;
            }
        } else {
            r.read_to_end(&mut resp.body).map_err(|e| net(url, e))?;
            if let Some(n) = resp
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok())
            {
                if resp.body.len() < n {
                    return Err(net(url, "truncated response body"));
                }
                resp.body.truncate(n);
            }
            if resp.body.len() > MAX_RESPONSE {
                return Err(net(url, "response too large"));
            }
        }
        Ok(resp)
    }
}

/// Decode `%XX` escapes (issuer-chain headers are URL-encoded PEM).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Collateral from a PCS/PCCS.
#[derive(Debug, Clone)]
pub struct PcsClient {
    base: String,
    root_crl_url: String,
    http: Arc<dyn HttpGet>,
}

impl PcsClient {
    /// A client for `base` (e.g. `https://api.trustedservices.intel.com` or a
    /// PCCS `https://pccs.example:8081`), with the PCCS-style root CRL URL
    /// `{base}/sgx/certification/v4/rootcacrl`.
    pub fn new(base: impl Into<String>, http: Arc<dyn HttpGet>) -> Self {
        let base = base.into().trim_end_matches('/').to_string();
        let root_crl_url = format!("{base}/sgx/certification/v4/rootcacrl");
        Self {
            base,
            root_crl_url,
            http,
        }
    }

    /// Use another root CA CRL URL (Intel PCS:
    /// `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`).
    #[must_use]
    pub fn root_crl_url(mut self, url: impl Into<String>) -> Self {
        self.root_crl_url = url.into();
        self
    }

    fn fetch(&self, url: &str) -> Result<HttpResponse> {
        let r = self.http.get(url)?;
        match r.status {
            200 => Ok(r),
            404 => Err(Authenticity::MissingEndorsement {
                what: format!("{url} (404 Not Found)"),
            }
            .into()),
            s => Err(net(url, format!("HTTP status {s}"))),
        }
    }

    fn chain(r: &HttpResponse, names: &[&str], url: &str) -> Result<Vec<u8>> {
        names
            .iter()
            .find_map(|n| r.header(n))
            .map(percent_decode)
            .ok_or_else(|| {
                Error::encoding(
                    "PCS response",
                    format_args!("{url}: missing header {}", names.join(" / ")),
                )
            })
    }
}

impl CollateralProvider for PcsClient {
    fn collateral(&self, fmspc: [u8; 6], ca: PckCa) -> Result<Collateral> {
        let tcb_url = format!(
            "{}/tdx/certification/v4/tcb?fmspc={}",
            self.base,
            hex::encode_upper(fmspc)
        );
        let tcb = self.fetch(&tcb_url)?;
        let qe_url = format!("{}/tdx/certification/v4/qe/identity", self.base);
        let qe = self.fetch(&qe_url)?;
        let ca_name = match ca {
            PckCa::Platform => "platform",
            PckCa::Processor => "processor",
        };
        let crl_url = format!(
            "{}/sgx/certification/v4/pckcrl?ca={ca_name}&encoding=der",
            self.base
        );
        let crl = self.fetch(&crl_url)?;
        let root = self.fetch(&self.root_crl_url)?;
        let files = PcsFiles {
            tcb_info_issuer_chain: Self::chain(
                &tcb,
                &["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"],
                &tcb_url,
            )?,
            tcb_info_response: tcb.body,
            qe_identity_issuer_chain: Some(Self::chain(
                &qe,
                &[
                    "SGX-Enclave-Identity-Issuer-Chain",
                    "Enclave-Identity-Issuer-Chain",
                ],
                &qe_url,
            )?),
            qe_identity_response: qe.body,
            pck_crl_issuer_chain: Self::chain(&crl, &["SGX-PCK-CRL-Issuer-Chain"], &crl_url)?,
            pck_crl: crl.body,
            root_ca_crl: root.body,
        };
        Collateral::from_pcs(&files)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};

    use tee_core::evidence::format;
    use tee_core::{Evidence, Platform, PlatformClaims, TcbStatus, UnixTime, Verifier};

    use super::*;
    use crate::TdxVerifier;

    fn vectors() -> Option<PathBuf> {
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    }

    fn enc(b: &[u8]) -> String {
        b.iter()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    (*c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    }

    /// A local PCCS serving the go-tdx-guest collateral files; `chunked`
    /// switches the transfer encoding. Returns the base URL.
    fn serve(dir: PathBuf, chunked: bool, requests: usize) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        std::thread::spawn(move || {
            for _ in 0..requests {
                let (mut s, _) = l.accept().unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.ends_with(b"\r\n\r\n") {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                let req = String::from_utf8_lossy(&req).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                let f = |n: &str| std::fs::read(dir.join(n)).unwrap();
                let (status, hdr, body) =
                    if path.starts_with("/tdx/certification/v4/tcb?fmspc=50806F000000") {
                        (
                            "200 OK",
                            format!(
                                "TCB-Info-Issuer-Chain: {}\r\n",
                                enc(&f("tcb_info_issuer_chain.pem"))
                            ),
                            f("sample_tcbInfo_response"),
                        )
                    } else if path.starts_with("/tdx/certification/v4/qe/identity") {
                        (
                            "200 OK",
                            format!(
                                "SGX-Enclave-Identity-Issuer-Chain: {}\r\n",
                                enc(&f("tcb_info_issuer_chain.pem"))
                            ),
                            f("sample_qeIdentity_response"),
                        )
                    } else if path.starts_with("/sgx/certification/v4/pckcrl?ca=platform") {
                        (
                            "200 OK",
                            format!(
                                "SGX-PCK-CRL-Issuer-Chain: {}\r\n",
                                enc(&f("pck_crl_issuer_chain.pem"))
                            ),
                            f("pckcrl.der"),
                        )
                    } else if path.starts_with("/sgx/certification/v4/rootcacrl") {
                        (
                            "200 OK",
                            String::new(),
                            hex::encode(f("rootcrl.der")).into_bytes(),
                        )
                    } else {
                        ("404 Not Found", String::new(), Vec::new())
                    };
                let mut out = format!("HTTP/1.1 {status}\r\n{hdr}").into_bytes();
                if chunked {
                    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    for c in body.chunks(500) {
                        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                        out.extend_from_slice(c);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\n\r\n");
                } else {
                    out.extend_from_slice(
                        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    out.extend_from_slice(&body);
                }
                let _ = s.write_all(&out);
            }
        });
        base
    }

    #[test]
    fn pccs_fetch_then_verify() {
        let Some(v) = vectors() else { return };
        let quote = std::fs::read(v.join("go-tdx-guest/tdx_prod_quote_SPR_E4.dat")).unwrap();
        for chunked in [false, true] {
            let base = serve(v.join("go-tdx-guest"), chunked, 4);
            let client = PcsClient::new(base, Arc::new(PlainHttp::default()));
            let verifier = TdxVerifier::new();
            let coll = crate::fetch_collateral(&client, &quote).unwrap();
            let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote.clone());
            let ev = crate::attach_collateral(ev, &coll).unwrap();
            let at = UnixTime::parse_rfc3339("2023-07-01T00:00:00Z").unwrap();
            let claims = verifier.verify(&ev, at).unwrap();
            let PlatformClaims::Tdx(x) = &claims.platform_claims else {
                panic!()
            };
            assert_eq!(x.tcb_status, TcbStatus::NoMatchingTcbLevel);
            assert!(x.revocation_checked);
        }
    }

    #[test]
    fn pccs_errors_are_typed() {
        let Some(v) = vectors() else { return };
        let base = serve(v.join("go-tdx-guest"), false, 1);
        let client = PcsClient::new(base, Arc::new(PlainHttp::default()));
        // Another FMSPC: 404 -> missing endorsement.
        match client.collateral([1, 2, 3, 4, 5, 6], PckCa::Platform) {
            Err(Error::Authenticity(Authenticity::MissingEndorsement { what })) => {
                assert!(what.contains("404"))
            }
            other => panic!("{other:?}"),
        }
        // Nothing listening: a device (I/O) error, not a panic.
        let dead = PcsClient::new(
            "http://127.0.0.1:9",
            Arc::new(PlainHttp {
                timeout: Duration::from_secs(2),
            }),
        );
        assert!(matches!(
            dead.collateral([0; 6], PckCa::Platform),
            Err(Error::Device(_))
        ));
        // https is not spoken by the built-in client.
        let tls = PcsClient::new(
            "https://api.trustedservices.intel.com",
            Arc::new(PlainHttp::default()),
        );
        assert!(matches!(
            tls.collateral([0; 6], PckCa::Platform),
            Err(Error::Misuse(_))
        ));
        assert_eq!(percent_decode("a%2Bb%0A%zz%"), b"a+b\n%zz%".to_vec());
    }

    /// The HTTPS transport speaks plain HTTP too, so it is tested against a
    /// local server (no network here).
    #[cfg(feature = "pcs-https")]
    #[test]
    fn https_transport_returns_status_headers_and_body() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(2).enumerate() {
                let mut s = stream.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let resp: &[u8] = if i == 0 {
                    b"HTTP/1.1 200 OK\r\nTCB-Info-Issuer-Chain: abc\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                s.write_all(resp).unwrap();
            }
        });
        let t = Https::default();
        let url = format!("http://127.0.0.1:{port}/tdx/certification/v4/tcb");
        let r = t.get(&url).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        assert_eq!(r.header("tcb-info-issuer-chain"), Some("abc"));
        assert_eq!(t.get(&url).unwrap().status, 404);
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
}
