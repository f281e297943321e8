//! An attested TLS (RA-TLS) echo server: its certificate carries evidence
//! of the TEE it runs in, bound to the certificate key, and is replaced
//! before it expires.
//!
//! ```text
//! cargo run -p tee-examples --bin ratls-echo-server -- --mock --listen 127.0.0.1:8443
//! ```
//!
//! Without `--mock` it opens this machine's TEE (SEV-SNP, TDX, Azure CVM);
//! with `--mock` it uses the software mock, which has NO SECURITY.
//! Each connection gets back every line it sends.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tee_ratls::tls::RaTlsResolver;
use tee_ratls::{CertOptions, KeyAlg};

const USAGE: &str = "usage: ratls-echo-server [--mock] [--listen ADDR] [--key p256|p384] \
[--lifetime SECS] [--refresh-before SECS] [--nonce HEX] [--max-connections N]";

struct Args {
    mock: bool,
    listen: String,
    key: KeyAlg,
    lifetime: u64,
    refresh_before: Option<u64>,
    nonce: Option<Vec<u8>>,
    max_connections: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        mock: false,
        listen: "127.0.0.1:8443".into(),
        key: KeyAlg::P256,
        lifetime: 3600,
        refresh_before: None,
        nonce: None,
        max_connections: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--mock" => a.mock = true,
            "--listen" => a.listen = value()?,
            "--key" => a.key = value()?.parse().map_err(|e| format!("--key: {e}"))?,
            "--lifetime" => a.lifetime = num(value()?)?,
            "--refresh-before" => a.refresh_before = Some(num(value()?)?),
            "--nonce" => {
                a.nonce = Some(hex::decode(value()?).map_err(|e| format!("--nonce: {e}"))?)
            }
            "--max-connections" => a.max_connections = Some(num(value()?)?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

fn echo(cfg: Arc<rustls::ServerConfig>, sock: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    sock.set_read_timeout(Some(Duration::from_secs(60)))?;
    let conn = rustls::ServerConnection::new(cfg)?;
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, sock));
    loop {
        let mut line = String::new();
        if tls.read_line(&mut line)? == 0 {
            return Ok(());
        }
        tls.get_mut().write_all(line.as_bytes())?;
        tls.get_mut().flush()?;
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ratls-echo-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let a = parse()?;
    let backend: Arc<dyn tee::Backend> = if a.mock {
        println!("*** NO SECURITY: the software mock TEE; anyone can forge its evidence. ***");
        Arc::from(tee::open(tee::Platform::Mock)?)
    } else {
        Arc::from(tee::open_detected().map_err(|e| {
            format!("{e}\n(no TEE here? `--mock` runs on the software mock, NO SECURITY)")
        })?)
    };
    let mut opts = CertOptions::new()
        .key_alg(a.key)
        .lifetime(Duration::from_secs(a.lifetime));
    if let Some(n) = a.nonce {
        opts = opts.nonce(n);
    }
    let mut builder = RaTlsResolver::builder(backend.clone(), opts);
    if let Some(r) = a.refresh_before {
        builder = builder.refresh_before(Duration::from_secs(r));
    }
    let resolver = Arc::new(builder.build()?);
    let cert = resolver.current();
    let claims = cert.extension.evidence.platform;
    println!(
        "platform {claims}; certificate valid until {}; evidence tag {:#x}",
        cert.not_after,
        cert.extension.tag.value()
    );
    if a.mock {
        let m = tee::mock::MockBackend::new().measurement();
        println!("mock launch measurement {}", hex::encode(m));
    }
    let cfg = Arc::new(resolver.server_config()?);
    let listener = TcpListener::bind(&a.listen)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let mut served = 0u64;
    for sock in listener.incoming() {
        let sock = sock?;
        let cfg = cfg.clone();
        let h = std::thread::spawn(move || {
            if let Err(e) = echo(cfg, sock) {
                eprintln!("ratls-echo-server: connection: {e}");
            }
        });
        served += 1;
        if a.max_connections == Some(served) {
            let _ = h.join();
            break;
        }
    }
    Ok(())
}
