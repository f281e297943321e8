//! The built-in HTTP/1.1 client (`http://` only).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::{DEFAULT_TIMEOUT, FetchError, Headers, Request, Response, Transport};

/// Longest status or header line accepted.
const MAX_LINE: usize = 8 * 1024;
/// Most header (or trailer) fields accepted.
const MAX_FIELDS: usize = 100;

/// A minimal HTTP/1.1 client for `http://` URLs: one connection per request
/// (`Connection: close`), bodies by `Content-Length`, chunked encoding or
/// read to close, each bounded by [`Request::max_body`]. For a local mirror
/// or caching proxy and for loopback test servers; `https://` is refused
/// with [`FetchError::UnsupportedScheme`] (use `Https`, feature `https`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainHttp {
    /// Connect, read and write timeout.
    pub timeout: Duration,
}

impl Default for PlainHttp {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl PlainHttp {
    /// A client with this timeout.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

/// `host[:port]` and `/path?query` of an `http://` URL.
fn split_url(url: &str) -> Result<(&str, String), FetchError> {
    let unsupported = || FetchError::UnsupportedScheme {
        url: url.to_owned(),
    };
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .and_then(|_| url.get(7..))
        .ok_or_else(unsupported)?;
    let (host, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or("/");
    if host.is_empty() || host.contains('@') || host.bytes().any(|b| b <= b' ') {
        return Err(FetchError::Malformed {
            url: url.to_owned(),
            detail: "bad host in URL",
        });
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Ok((host, path))
}

fn io_error(url: &str, e: &io::Error) -> FetchError {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => FetchError::Timeout {
            url: url.to_owned(),
        },
        _ => FetchError::Connect {
            url: url.to_owned(),
            detail: e.to_string(),
        },
    }
}

impl Transport for PlainHttp {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        let url = req.url();
        let (host, path) = split_url(url)?;
        let io = |e: io::Error| io_error(url, &e);
        let method = req.method().as_str();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        let mut accept = false;
        for (k, v) in req.headers().iter() {
            if k.bytes().chain(v.bytes()).any(|b| b == b'\r' || b == b'\n') {
                return Err(FetchError::Malformed {
                    url: url.to_owned(),
                    detail: "line break in a request header",
                });
            }
            accept |= k.eq_ignore_ascii_case("accept");
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !accept {
            head.push_str("Accept: */*\r\n");
        }
        if req.method() != crate::Method::Get {
            head.push_str(&format!("Content-Length: {}\r\n", req.body().len()));
        }
        head.push_str("\r\n");
        let has_port = match host.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => host.contains(':'),
        };
        let addr = if has_port {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        let sock =
            addr.to_socket_addrs()
                .map_err(io)?
                .next()
                .ok_or_else(|| FetchError::Connect {
                    url: url.to_owned(),
                    detail: "no address for host".into(),
                })?;
        let mut s = TcpStream::connect_timeout(&sock, self.timeout).map_err(io)?;
        s.set_read_timeout(Some(self.timeout)).map_err(io)?;
        s.set_write_timeout(Some(self.timeout)).map_err(io)?;
        s.write_all(head.as_bytes()).map_err(io)?;
        s.write_all(req.body()).map_err(io)?;
        read_response(url, BufReader::new(s), req.max_body())
    }
}

/// One line without its CRLF (or LF), at most [`MAX_LINE`] bytes.
fn read_line(url: &str, r: &mut impl BufRead) -> Result<String, FetchError> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| io_error(url, &e))?;
    let malformed = |detail| FetchError::Malformed {
        url: url.to_owned(),
        detail,
    };
    if line.last() != Some(&b'\n') {
        return Err(malformed(if line.len() > MAX_LINE {
            "line too long"
        } else {
            "connection closed inside the response head"
        }));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| malformed("response head is not UTF-8"))
}

/// Header (or trailer) fields up to the empty line.
fn read_fields(url: &str, r: &mut impl BufRead) -> Result<Headers, FetchError> {
    let malformed = |detail| FetchError::Malformed {
        url: url.to_owned(),
        detail,
    };
    let mut headers = Headers::new();
    loop {
        let line = read_line(url, r)?;
        if line.is_empty() {
            return Ok(headers);
        }
        if headers.len() >= MAX_FIELDS {
            return Err(malformed("too many header fields"));
        }
        if line.starts_with([' ', '\t']) {
            return Err(malformed("obsolete header line folding"));
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| malformed("header line without a colon"))?;
        if k.is_empty() || k.ends_with([' ', '\t']) {
            return Err(malformed("bad header name"));
        }
        headers.push(k, v.trim());
    }
}

/// Parse a complete response from `r` (the bytes after the request was sent).
pub(crate) fn read_response(
    url: &str,
    mut r: impl BufRead,
    max_body: usize,
) -> Result<Response, FetchError> {
    let malformed = |detail| FetchError::Malformed {
        url: url.to_owned(),
        detail,
    };
    let too_large = || FetchError::TooLarge {
        url: url.to_owned(),
        limit: max_body,
    };
    let io = |e: io::Error| io_error(url, &e);
    let line = read_line(url, &mut r)?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Err(malformed("bad status line"));
    }
    let code = parts.next().unwrap_or_default();
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|s| code.len() == 3 && (100..=599).contains(s))
        .ok_or_else(|| malformed("bad status code"))?;
    let headers = read_fields(url, &mut r)?;

    let codings: Vec<String> = headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    let chunked = if headers.get("transfer-encoding").is_none() {
        false
    } else if codings.iter().map(String::as_str).eq(["chunked"]) {
        true
    } else {
        return Err(malformed("unsupported transfer encoding"));
    };
    let length = {
        let mut lengths = headers.get_all("content-length");
        match lengths.next() {
            None => None,
            Some(first) => {
                if lengths.any(|v| v != first) {
                    return Err(malformed("conflicting Content-Length"));
                }
                Some(
                    first
                        .parse::<usize>()
                        .map_err(|_| malformed("bad Content-Length"))?,
                )
            }
        }
    };
    if chunked && length.is_some() {
        return Err(malformed("both Content-Length and chunked encoding"));
    }

    let mut body = Vec::new();
    if matches!(status, 100..=199 | 204 | 304) {
        // No body by definition.
    } else if chunked {
        loop {
            let line = read_line(url, &mut r)?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .ok()
                .filter(|_| !size.is_empty() && !size.starts_with('+'))
                .ok_or_else(|| malformed("bad chunk size"))?;
            if size == 0 {
                read_fields(url, &mut r)?;
                break;
            }
            if body.len().saturating_add(size) > max_body {
                return Err(too_large());
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(body.get_mut(start..).unwrap_or_default())
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => malformed("chunk shorter than its size"),
                    _ => io(e),
                })?;
            if !read_line(url, &mut r)?.is_empty() {
                return Err(malformed("no line break after a chunk"));
            }
        }
    } else if let Some(n) = length {
        if n > max_body {
            return Err(too_large());
        }
        body.resize(n, 0);
        r.read_exact(&mut body).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => malformed("body shorter than Content-Length"),
            _ => io(e),
        })?;
    } else {
        r.take(max_body as u64 + 1)
            .read_to_end(&mut body)
            .map_err(io)?;
        if body.len() > max_body {
            return Err(too_large());
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use tee_core::{DeviceErrorKind, Error};

    use super::*;
    use crate::DEFAULT_MAX_BODY;

    /// What a fetcher saw before this crate: the body of a 200 or a typed error.
    fn body(raw: &[u8]) -> tee_core::Result<Vec<u8>> {
        let r = read_response("u", raw, DEFAULT_MAX_BODY)?;
        Ok(r.ok("u")?.body)
    }

    fn parse(raw: &[u8], max: usize) -> Result<Response, FetchError> {
        read_response("u", raw, max)
    }

    /// The assertions of the former `tee_sev::kds` `responses` test.
    #[test]
    fn responses() {
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap(),
            b"abc"
        );
        assert_eq!(body(b"HTTP/1.0 200 OK\r\n\r\nxyz").unwrap(), b"xyz");
        assert!(matches!(
            body(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(Error::Device(d)) if d.kind == DeviceErrorKind::NotFound
        ));
        assert!(matches!(
            body(b"HTTP/1.1 429 Too Many\r\n\r\n"),
            Err(Error::Device(d)) if d.kind == DeviceErrorKind::Busy
        ));
        assert!(body(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab").is_err());
        assert!(body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc").is_err());
        assert!(body(b"garbage").is_err());
        assert!(matches!(
            PlainHttp::default().get(&Request::get("https://kdsintf.amd.com/x")),
            Err(FetchError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nX-A: 1\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n",
            100,
        )
        .unwrap();
        assert_eq!(r.body, b"abc0123456789");
        assert_eq!(r.header("x-a"), Some("1"));
        // Truncated, bad sizes, missing CRLF after the data, over the bound.
        for bad in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        ] {
            assert!(
                matches!(parse(bad, 100), Err(FetchError::Malformed { .. })),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n0\r\n\r\n",
                7
            ),
            Err(FetchError::TooLarge { limit: 7, .. })
        ));
        // A size that overflows is malformed, not a panic or a huge allocation.
        assert!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
                7
            )
            .is_err()
        );
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                7
            ),
            Err(FetchError::Malformed { .. })
        ));
    }

    #[test]
    fn heads_and_bounds() {
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n01234567", 7),
            Err(FetchError::TooLarge { .. })
        ));
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\n\r\n01234567", 7),
            Err(FetchError::TooLarge { .. })
        ));
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\n\r\n0123456", 7).unwrap().body,
            b"0123456"
        );
        for bad in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 099 X\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad : x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 200 OK\r\nX: \xff\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad, 100), Err(FetchError::Malformed { .. })),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_LINE + 10)
        );
        assert!(matches!(
            parse(long.as_bytes(), 100),
            Err(FetchError::Malformed {
                detail: "line too long",
                ..
            })
        ));
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_FIELDS + 1)
        );
        assert!(parse(many.as_bytes(), 100).is_err());
        // No body for 204/304, whatever follows.
        assert!(
            parse(b"HTTP/1.1 204 No Content\r\n\r\nextra", 1)
                .unwrap()
                .body
                .is_empty()
        );
    }

    #[test]
    fn urls() {
        assert_eq!(split_url("http://h:1/p?q").unwrap(), ("h:1", "/p?q".into()));
        assert_eq!(split_url("HTTP://h").unwrap(), ("h", "/".into()));
        assert_eq!(split_url("http://h?q=1").unwrap(), ("h", "/?q=1".into()));
        assert_eq!(split_url("http://h/p#frag").unwrap(), ("h", "/p".into()));
        for u in ["https://h/", "ftp://h/", "h/p", ""] {
            assert!(
                matches!(split_url(u), Err(FetchError::UnsupportedScheme { .. })),
                "{u}"
            );
        }
        for u in ["http:///p", "http://user@h/", "http://h x/"] {
            assert!(
                matches!(split_url(u), Err(FetchError::Malformed { .. })),
                "{u}"
            );
        }
        let injected = Request::get("http://127.0.0.1:9/").header("X", "a\r\nEvil: 1");
        assert!(matches!(
            PlainHttp::default().get(&injected),
            Err(FetchError::Malformed { .. })
        ));
    }

    #[test]
    fn plain_http_against_a_loopback_server() {
        use crate::testing::{Reply, Server};
        for srv in [Server::start(), Server::start_chunked()] {
            let big = vec![7u8; 5000];
            srv.replies(
                "/a?x=1",
                vec![Reply::Response(
                    Response::new(200, big.clone()).with_header("SGX-Chain", "abc"),
                )],
            );
            let t = PlainHttp::default();
            let req = Request::get(srv.url("/a?x=1")).header("X-Req", "1");
            let r = t.get(&req).unwrap();
            assert_eq!((r.status, r.body.len()), (200, 5000));
            assert_eq!(r.body, big);
            assert_eq!(r.header("sgx-chain"), Some("abc"));
            assert!(srv.last_request_headers().contains(&"X-Req: 1".to_owned()));
            assert_eq!(t.get(&Request::get(srv.url("/none"))).unwrap().status, 404);
            assert!(matches!(
                t.get(&req.clone().with_max_body(4999)),
                Err(FetchError::TooLarge { limit: 4999, .. })
            ));
            assert_eq!(srv.hits("/a?x=1"), 2);
        }
        // A server that stops mid-body, and one that never answers.
        let srv = Server::start();
        srv.replies(
            "/cut",
            vec![Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
            )],
        );
        assert!(matches!(
            PlainHttp::default().get(&Request::get(srv.url("/cut"))),
            Err(FetchError::Malformed { .. })
        ));
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", silent.local_addr().unwrap());
        let r = PlainHttp::new(Duration::from_millis(200)).get(&Request::get(url));
        assert!(matches!(r, Err(FetchError::Timeout { .. })), "{r:?}");
        assert!(r.unwrap_err().is_transient());
        // Nothing listening: a transient connect failure.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let r = PlainHttp::default().get(&Request::get(format!("http://{closed}/")));
        assert!(matches!(r, Err(FetchError::Connect { .. })), "{r:?}");
    }

    #[test]
    fn plain_http_posts_a_body() {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/kbs/v0/auth", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = Vec::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                head.push(line);
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            (&s).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            (head, body)
        });
        let req =
            Request::post(&url, b"{\"a\":1}".to_vec()).header("Content-Type", "application/json");
        let r = PlainHttp::default().get(&req).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        let (head, body) = server.join().unwrap();
        assert_eq!(head[0], "POST /kbs/v0/auth HTTP/1.1\r\n");
        assert!(head.contains(&"Content-Type: application/json\r\n".to_owned()));
        assert_eq!(body, b"{\"a\":1}");
    }
}
