//! The Azure instance metadata endpoint (`169.254.169.254`, link-local,
//! plain HTTP, header `Metadata: true`): THIM for the VCEK and
//! `/acc/tdquote` for TD quotes (facts §1.3). A minimal HTTP/1.1 client
//! over `std::net`, bounded in time and size; the answers are verified
//! later like any endorsement, so nothing here is trusted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tee_core::{DeviceErrorKind, Error, Result};

use crate::attest::Imds;

/// Largest IMDS answer read (1 MiB).
pub const MAX_ANSWER: usize = 1 << 20;

/// The IMDS client.
#[derive(Debug, Clone)]
pub struct LocalImds {
    addr: SocketAddr,
    timeout: Duration,
}

impl Default for LocalImds {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([169, 254, 169, 254], 80)),
            timeout: Duration::from_secs(10),
        }
    }
}

const IFACE: &str = "Azure IMDS (169.254.169.254)";

impl LocalImds {
    /// A client of the endpoint at `addr` (tests: a loopback server).
    pub fn at(addr: SocketAddr, timeout: Duration) -> Self {
        Self { addr, timeout }
    }

    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Vec<u8>> {
        let io = |e: std::io::Error| tee_linux::io_error(IFACE, method, &e);
        let mut s = TcpStream::connect_timeout(&self.addr, self.timeout).map_err(io)?;
        s.set_read_timeout(Some(self.timeout)).map_err(io)?;
        s.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\nConnection: close\r\n"
        );
        if let Some(b) = body {
            // Exactly this content type: with a charset the endpoint answers 415.
            req.push_str(&format!(
                "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).map_err(io)?;
        if let Some(b) = body {
            s.write_all(b).map_err(io)?;
        }
        let mut raw = Vec::new();
        s.take(MAX_ANSWER as u64 + 4096)
            .read_to_end(&mut raw)
            .map_err(io)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| {
                Error::device(DeviceErrorKind::CorruptOutput, IFACE, "no HTTP header end")
            })?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Error::device(DeviceErrorKind::CorruptOutput, IFACE, "bad status line")
            })?;
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                IFACE,
                "chunked answers are not supported",
            ));
        }
        if status != 200 {
            return Err(Error::device(
                DeviceErrorKind::Firmware(u64::from(status)),
                IFACE,
                format_args!("{method} {path}: HTTP {status}"),
            ));
        }
        let body = raw[split + 4..].to_vec();
        if body.len() > MAX_ANSWER {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                IFACE,
                "answer over 1 MiB",
            ));
        }
        Ok(body)
    }
}

/// The VCEK (DER) from a THIM answer `{"vcekCert": PEM, ...}`.
///
/// # Errors
/// [`Error::Malformed`] for anything else.
pub fn parse_thim(body: &[u8]) -> Result<Vec<u8>> {
    const WHAT: &str = "THIM answer";
    let v: Value = serde_json::from_slice(body).map_err(|e| Error::encoding(WHAT, e))?;
    let pem = v
        .get("vcekCert")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_field(WHAT, "vcekCert", "missing"))?;
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| Error::bad_field(WHAT, "vcekCert", format_args!("not PEM: {e}")))
}

/// The TD quote from an `/acc/tdquote` answer `{"quote": base64url}`.
///
/// # Errors
/// [`Error::Malformed`] for anything else.
pub fn parse_td_quote_answer(body: &[u8]) -> Result<Vec<u8>> {
    const WHAT: &str = "IMDS tdquote answer";
    let v: Value = serde_json::from_slice(body).map_err(|e| Error::encoding(WHAT, e))?;
    let q = v
        .get("quote")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_field(WHAT, "quote", "missing"))?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(q.trim_end_matches('='))
        .map_err(|e| Error::bad_field(WHAT, "quote", format_args!("not base64url: {e}")))
}

impl Imds for LocalImds {
    fn vcek(&self) -> Result<Vec<u8>> {
        parse_thim(&self.request("GET", "/metadata/THIM/amd/certification", None)?)
    }

    fn td_quote(&self, tdreport: &[u8]) -> Result<Vec<u8>> {
        let body = format!(
            "{{\"report\":\"{}\"}}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tdreport)
        );
        parse_td_quote_answer(&self.request("POST", "/acc/tdquote", Some(body.as_bytes()))?)
    }
}
