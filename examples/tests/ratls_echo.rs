//! `ratls-echo-server --mock` and `ratls-echo-client` over loopback: the
//! echo works under a passing policy; a policy expecting another
//! measurement, or another nonce, refuses the connection with its exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the server on 127.0.0.1:0; its address and mock measurement.
fn server(extra: &[&str], connections: usize) -> (Server, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ratls-echo-server"))
        .args(["--mock", "--listen", "127.0.0.1:0", "--max-connections"])
        .arg(connections.to_string())
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (mut addr, mut measurement, mut banner) = (None, None, false);
    for line in out.lines() {
        let line = line.unwrap();
        banner |= line.contains("NO SECURITY");
        if let Some(m) = line.strip_prefix("mock launch measurement ") {
            measurement = Some(m.to_string());
        }
        if let Some(a) = line.strip_prefix("listening on ") {
            addr = Some(a.to_string());
            break;
        }
    }
    assert!(banner, "the mock server prints NO SECURITY");
    (Server(child), addr.unwrap(), measurement.unwrap())
}

fn client(addr: &str, policy: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policy.toml");
    std::fs::write(&p, policy).unwrap();
    Command::new(env!("CARGO_BIN_EXE_ratls-echo-client"))
        .args(["--connect", addr, "--policy"])
        .arg(&p)
        .args(extra)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn echo_only_when_the_policy_passes() {
    let (_s, addr, m) = server(&["--nonce", "c0ffee"], 3);
    // The policy shipped for trying the example names this measurement.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/ratls-mock.toml");
    let ok = std::fs::read_to_string(shipped).unwrap();
    assert!(
        ok.contains(&m),
        "{shipped} is stale: the mock measurement is {m}"
    );
    let o = client(&addr, &ok, &["--message", "ping", "--nonce", "c0ffee"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("echo: ping"), "{out}");
    assert!(out.contains("appraisal (passed)"), "{out}");
    assert!(out.contains("nonce c0ffee"), "{out}");

    let other = format!(
        "allow_mock = true\nallowed_measurements = [\"{}\"]\n",
        "22".repeat(48)
    );
    let o = client(&addr, &other, &["--message", "ping"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("echo:"));
    assert!(
        text(&o.stdout).contains("FAILED  measurement"),
        "{}",
        text(&o.stdout)
    );

    let o = client(&addr, &ok, &["--nonce", "beef"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("nonce"), "{}", text(&o.stderr));
}
