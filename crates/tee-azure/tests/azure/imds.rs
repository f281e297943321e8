//! The IMDS client against a loopback server: THIM for the VCEK, the TD
//! quote POST with exactly `Content-Type: application/json`, HTTP errors typed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use tee_azure::Imds as _;
use tee_azure::imds::LocalImds;
use tee_core::{DeviceErrorKind, Error};

/// Serve one request with `answer`; return what was received.
fn serve(answer: Vec<u8>) -> (LocalImds, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        // Read the head and any body announced.
        loop {
            let n = s.read(&mut buf).unwrap_or(0);
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        tx.send(String::from_utf8_lossy(&got).to_string()).unwrap();
        s.write_all(&answer).unwrap();
    });
    (LocalImds::at(addr, Duration::from_secs(5)), rx)
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn vcek_from_thim() {
    let der = vec![0x30, 0x03, 0x02, 0x01, 0x07];
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\\n{}\\n-----END CERTIFICATE-----\\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let body = format!(
        "{{\"vcekCert\":\"{pem}\",\"tcbm\":\"DB18000000000004\",\"certificateChain\":\"\"}}"
    );
    let (imds, rx) = serve(http("200 OK", &body));
    assert_eq!(imds.vcek().unwrap(), der);
    let req = rx.recv().unwrap();
    assert!(
        req.starts_with("GET /metadata/THIM/amd/certification HTTP/1.1\r\n"),
        "{req}"
    );
    assert!(req.contains("\r\nMetadata: true\r\n"));
}

#[test]
fn td_quote_post() {
    let quote = vec![4u8, 0, 2, 0, 0x81];
    let body = format!(
        "{{\"quote\":\"{}\"}}",
        base64::engine::general_purpose::URL_SAFE.encode(&quote)
    );
    let (imds, rx) = serve(http("200 OK", &body));
    assert_eq!(imds.td_quote(&[0xAB; 1024]).unwrap(), quote);
    let req = rx.recv().unwrap();
    assert!(req.starts_with("POST /acc/tdquote HTTP/1.1\r\n"), "{req}");
    assert!(
        req.contains("\r\nContent-Type: application/json\r\n"),
        "{req}"
    );
    let report = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xAB; 1024]);
    assert!(req.ends_with(&format!("{{\"report\":\"{report}\"}}")));
}

#[test]
fn errors_are_typed() {
    let (imds, _rx) = serve(http("415 Unsupported Media Type", ""));
    assert!(matches!(
        imds.td_quote(&[0; 1024]),
        Err(Error::Device(d)) if d.kind == DeviceErrorKind::Firmware(415)
    ));
    let (imds, _rx) = serve(http("200 OK", "{\"nope\":1}"));
    assert!(matches!(imds.vcek(), Err(Error::Malformed(_))));
    let (imds, _rx) = serve(b"garbage".to_vec());
    assert!(
        matches!(imds.vcek(), Err(Error::Device(d)) if d.kind == DeviceErrorKind::CorruptOutput)
    );
}
