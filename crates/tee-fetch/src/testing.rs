//! Test doubles (feature `testing`). NO SECURITY.
//!
//! - [`Scripted`]: an in-memory [`Transport`] answering each URL from a script.
//! - [`Server`]: a loopback HTTP/1.1 server (127.0.0.1, an ephemeral port)
//!   answering each path from a script, with `Content-Length` or chunked
//!   bodies, for tests of real transports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::{FetchError, Request, Response, Transport};

type Script = Vec<Result<Response, FetchError>>;

/// An in-memory transport: per URL, answers in order (the last repeats);
/// unknown URLs get `404`. Bodies over the request's bound are
/// [`FetchError::TooLarge`], as with a real transport. Every request is recorded.
#[derive(Debug, Default)]
pub struct Scripted {
    scripts: Mutex<HashMap<String, Script>>,
    seen: Mutex<Vec<Request>>,
}

impl Scripted {
    /// No scripts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Always answer `url` with `response`.
    pub fn respond(&self, url: &str, response: Response) {
        self.script(url, vec![Ok(response)]);
    }

    /// Answer `url` with these outcomes in order; the last one repeats.
    pub fn script(&self, url: &str, outcomes: Script) {
        self.scripts
            .lock()
            .unwrap()
            .insert(url.to_owned(), outcomes);
    }

    /// How many requests asked for `url`.
    pub fn hits(&self, url: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.url() == url)
            .count()
    }

    /// The URLs requested, in order.
    pub fn requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.url().to_owned())
            .collect()
    }

    /// The last request, with its headers.
    pub fn last_request(&self) -> Option<Request> {
        self.seen.lock().unwrap().last().cloned()
    }
}

impl Transport for Scripted {
    fn get(&self, req: &Request) -> Result<Response, FetchError> {
        self.seen.lock().unwrap().push(req.clone());
        let outcome = match self.scripts.lock().unwrap().get_mut(req.url()) {
            Some(q) if q.len() > 1 => q.remove(0),
            Some(q) => q
                .first()
                .cloned()
                .unwrap_or_else(|| Ok(Response::new(404, Vec::new()))),
            None => Ok(Response::new(404, b"nope".to_vec())),
        };
        match outcome {
            Ok(r) if r.body.len() > req.max_body() => Err(FetchError::TooLarge {
                url: req.url().to_owned(),
                limit: req.max_body(),
            }),
            other => other,
        }
    }
}

/// What the [`Server`] sends for a path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A response, framed by the server (`Content-Length` or chunked).
    Response(Response),
    /// These bytes verbatim, then the connection closes.
    Raw(Vec<u8>),
}

#[derive(Debug, Default)]
struct Shared {
    routes: Mutex<HashMap<String, Vec<Reply>>>,
    hits: Mutex<Vec<(String, Vec<String>)>>,
    stop: AtomicBool,
}

/// A loopback HTTP/1.1 test server. Per path (with query), replies in
/// order, the last repeating; unknown paths get `404`. It serves at most
/// [`Server::MAX_CONNECTIONS`] connections and stops when dropped.
#[derive(Debug)]
pub struct Server {
    base: String,
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
}

impl Server {
    /// Most connections a server accepts before it stops by itself.
    pub const MAX_CONNECTIONS: usize = 10_000;

    /// Start a server framing bodies with `Content-Length`.
    pub fn start() -> Self {
        Self::spawn(false)
    }

    /// Start a server framing bodies with chunked transfer encoding
    /// (chunks of at most 500 bytes).
    pub fn start_chunked() -> Self {
        Self::spawn(true)
    }

    fn spawn(chunked: bool) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = l.local_addr().expect("local address");
        let shared = Arc::new(Shared::default());
        let me = shared.clone();
        std::thread::spawn(move || {
            for s in l.incoming().take(Self::MAX_CONNECTIONS) {
                if me.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = s {
                    serve(&me, s, chunked);
                }
            }
        });
        Self {
            base: format!("http://{addr}"),
            shared,
            addr,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Always answer `path` with `status` and `body`.
    pub fn route(&self, path: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.replies(path, vec![Reply::Response(Response::new(status, body))]);
    }

    /// Answer `path` with these `(status, body)` in order; the last repeats.
    pub fn route_seq(&self, path: &str, seq: Vec<(u16, Vec<u8>)>) {
        self.replies(
            path,
            seq.into_iter()
                .map(|(s, b)| Reply::Response(Response::new(s, b)))
                .collect(),
        );
    }

    /// Answer `path` with these replies in order; the last repeats.
    pub fn replies(&self, path: &str, replies: Vec<Reply>) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), replies);
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    /// The header lines of the last request.
    pub fn last_request_headers(&self) -> Vec<String> {
        self.shared
            .hits
            .lock()
            .unwrap()
            .last()
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so the thread ends.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(shared: &Shared, s: TcpStream, chunked: bool) {
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let Ok(read) = s.try_clone() else { return };
    let mut r = BufReader::new(std::io::Read::take(read, 64 * 1024));
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        headers.push(h.trim_end().to_owned());
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    shared.hits.lock().unwrap().push((path.clone(), headers));
    let reply = {
        let mut routes = shared.routes.lock().unwrap();
        match routes.get_mut(&path) {
            Some(q) if q.len() > 1 => q.remove(0),
            Some(q) => q
                .first()
                .cloned()
                .unwrap_or_else(|| Reply::Response(Response::new(404, Vec::new()))),
            None => Reply::Response(Response::new(404, b"nope".to_vec())),
        }
    };
    let out = match reply {
        Reply::Raw(b) => b,
        Reply::Response(resp) => {
            let mut out =
                format!("HTTP/1.1 {} X\r\nConnection: close\r\n", resp.status).into_bytes();
            for (k, v) in resp.headers.iter() {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
            if chunked {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for c in resp.body.chunks(500) {
                    out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                    out.extend_from_slice(c);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            } else {
                out.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", resp.body.len()).as_bytes(),
                );
                out.extend_from_slice(&resp.body);
            }
            out
        }
    };
    let mut s = s;
    let _ = s.write_all(&out);
}
