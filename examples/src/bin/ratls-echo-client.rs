//! The client of `ratls-echo-server`: connects only if the server's RA-TLS
//! certificate carries authentic evidence, bound to the certificate key,
//! that passes the appraisal policy; prints the appraisal, then echoes.
//!
//! ```text
//! cargo run -p tee-examples --bin ratls-echo-client -- \
//!     --connect 127.0.0.1:8443 --policy examples/policies/ratls-mock.toml --message hello
//! ```
//!
//! Exit codes: 0 echoed; 1 usage or I/O error; 2 malformed certificate or
//! evidence; 3 not authentic or not bound; 4 refused by the policy (or the
//! nonce differs); 5 unsupported evidence.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tee::{Policy, Verifiers};
use tee_ratls::tls::{RaTlsVerifier, io_rejection};
use tee_ratls::{BindingError, RaTlsError};

const USAGE: &str = "usage: ratls-echo-client --connect ADDR --policy FILE [--nonce HEX] \
[--message TEXT]";

fn print_checks(a: &tee::Appraisal) {
    for c in &a.checks {
        let o = match c.outcome {
            tee::Outcome::Passed => "passed ",
            tee::Outcome::Failed => "FAILED ",
            tee::Outcome::Skipped => "skipped",
        };
        println!("  {o} {:<14} {}", c.name, c.detail);
    }
}

/// The exit code of a refusal, as `teectl` decides them.
fn code(e: &RaTlsError) -> u8 {
    match e {
        RaTlsError::Certificate(_)
        | RaTlsError::MissingExtension
        | RaTlsError::DuplicateExtension
        | RaTlsError::Extension(_) => 2,
        RaTlsError::Evidence(tee::Error::Malformed(_)) => 2,
        RaTlsError::Evidence(tee::Error::Unsupported(_)) | RaTlsError::UnsupportedEvidence(_) => 5,
        RaTlsError::Appraisal(_) | RaTlsError::Binding(BindingError::Nonce) => 4,
        _ => 3,
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("ratls-echo-client: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run() -> Result<(), (u8, String)> {
    let usage = |m: String| (1, m);
    let (mut connect, mut policy, mut nonce, mut message) = (None, None, None, "hello".to_string());
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| usage(format!("{flag} needs a value\n{USAGE}")))
        };
        match flag.as_str() {
            "--connect" => connect = Some(value()?),
            "--policy" => policy = Some(value()?),
            "--nonce" => {
                nonce = Some(hex::decode(value()?).map_err(|e| usage(format!("--nonce: {e}")))?)
            }
            "--message" => message = value()?,
            _ => return Err(usage(format!("unknown argument {flag}\n{USAGE}"))),
        }
    }
    let connect = connect.ok_or_else(|| usage(format!("--connect is required\n{USAGE}")))?;
    let policy_path = policy.ok_or_else(|| usage(format!("--policy is required\n{USAGE}")))?;
    let text = std::fs::read(&policy_path).map_err(|e| usage(format!("{policy_path}: {e}")))?;
    let policy = Policy::from_toml_bytes(&text).map_err(|e| (2, format!("{policy_path}: {e}")))?;

    // Every compiled-in platform with its pinned roots; the mock root too,
    // since the policy decides whether mock evidence is accepted.
    let mut verifier = RaTlsVerifier::new(Verifiers::new().trust_mock_root(), policy);
    if let Some(n) = nonce {
        verifier = verifier.expect_nonce(n);
    }
    let verifier = Arc::new(verifier);
    let cfg = Arc::new(verifier.client_config().map_err(|e| usage(e.to_string()))?);
    let io = |e: std::io::Error| (1, format!("{connect}: {e}"));
    let sock = TcpStream::connect(&connect).map_err(io)?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let name = ServerName::try_from("ratls.invalid").map_err(|e| usage(e.to_string()))?;
    let conn = rustls::ClientConnection::new(cfg, name).map_err(|e| usage(e.to_string()))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let handshake = tls.conn.complete_io(&mut tls.sock);
    if let Err(e) = handshake {
        return Err(match io_rejection(&e) {
            Some(why) => {
                eprintln!("ratls-echo-client: REFUSED: {why}");
                if let Some(a) = why.appraisal() {
                    println!("appraisal (failed):");
                    print_checks(a);
                }
                (
                    code(why),
                    "the server is not attested as the policy requires".into(),
                )
            }
            None => (1, format!("{connect}: handshake: {e}")),
        });
    }
    let peer = verifier
        .peer(tls.conn.peer_certificates())
        .ok_or_else(|| (1, "no verified peer after the handshake".to_string()))?;
    println!(
        "attested {} server (evidence tag {:#x}); launch measurement {}",
        peer.claims.platform,
        peer.tag.value(),
        peer.claims
            .launch_measurement
            .value()
            .map_or_else(|| "(none)".to_string(), |m| m.to_string())
    );
    if let Some(n) = &peer.claims_buffer.nonce {
        println!("nonce {}", hex::encode(n));
    }
    println!("appraisal (passed):");
    print_checks(&peer.appraisal);
    tls.write_all(format!("{message}\n").as_bytes())
        .map_err(io)?;
    tls.flush().map_err(io)?;
    let mut line = String::new();
    BufReader::new(&mut tls).read_line(&mut line).map_err(io)?;
    println!("echo: {}", line.trim_end());
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}
