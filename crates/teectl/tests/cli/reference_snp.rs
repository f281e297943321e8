//! `teectl reference sev-snp`: launch digests on the fact sheet's synthetic
//! image, `--explain` / `--json`, `--policy-out` read back by `teectl
//! verify --policy`, `id-block` with the fact sheet's keys, `host-data`,
//! and the exit codes of every failure.
#![allow(missing_docs)]

use std::path::Path;
use std::process::Output;

use crate::common::{teectl, vectors};

/// Standard output, which must be UTF-8 (unlike `common::stdout`, which
/// decodes lossily).
fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The fact sheet's `snp-synth.bin` (8192 bytes, sha256 33f3eb79…), with
/// or without its SNP_KERNEL_HASHES section (`tee_sev::testing`).
fn synth(kernel_hashes: bool) -> Vec<u8> {
    let s = if kernel_hashes {
        tee_sev::testing::SynthOvmf::facts()
    } else {
        tee_sev::testing::SynthOvmf::facts_without_kernel_hashes()
    };
    s.build()
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("synth.bin"), synth(true)).unwrap();
        std::fs::write(dir.path().join("synth-nokh.bin"), synth(false)).unwrap();
        std::fs::write(dir.path().join("kernel.bin"), [b'A'; 4096]).unwrap();
        std::fs::write(dir.path().join("initrd.bin"), [b'B'; 4096]).unwrap();
        Self { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn run(&self, args: &[&str]) -> Output {
        teectl(self.path(), args)
    }
}

const KERNEL: [&str; 6] = [
    "--kernel",
    "kernel.bin",
    "--initrd",
    "initrd.bin",
    "--append",
    "console=ttyS0",
];

#[test]
fn launch_digest_matches_the_fact_sheet() {
    let f = Fixture::new();
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "1",
        "--vcpu-type",
        "EPYC-v4",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "6cb0cde5bf4ad28518cfdd1245808c659700dad3f86c4fcaefb62bb64e5c443d1ae1b93aaef66fdc414e99d85fec7b59"
    );
    // The `launch` spelling is the same command.
    let mut args = vec![
        "reference",
        "sev-snp",
        "launch",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
    ];
    args.extend(KERNEL);
    let o = f.run(&args);
    assert_eq!(
        stdout(&o).trim(),
        "de7efec2af9249cccf6c2fadc9d7a764ec740fc98ad767dab024165f48c69fd3688dc0cfbb5692ac680ab1d9480ef659"
    );
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
        "--vmm-type",
        "gce",
    ]);
    assert_eq!(
        stdout(&o).trim(),
        "f86f369d9ee0501b8676438039f4a9adea09212b3352437130cd0dbdecc6ee3047e73bbe175fa82a06639ce626ece746"
    );
    // --vcpu-sig gives the same as the named type.
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "4",
        "--vcpu-sig",
        "0xa10f10",
    ]);
    assert_eq!(
        stdout(&o).trim(),
        "9bcf2bafda34767c4abefbea4509ded92584f7f6a4967a1d485707a28fc6e82aff6a386d8ee7555bb8093bf3f9730da7"
    );
    // Seed mode.
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--print-ovmf-hash",
    ]);
    let seed = stdout(&o).trim().to_owned();
    assert_eq!(
        seed,
        "61a6fc152f45be4012008ef4983c1f2365bbb17c218716363b7a0ef4f56fc5fb54a5f2c6d8e7b6710792f66af98c1979"
    );
    let mut args = vec![
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
        "--snp-ovmf-hash",
        &seed,
    ];
    args.extend(KERNEL);
    assert_eq!(
        stdout(&f.run(&args)).trim(),
        "de7efec2af9249cccf6c2fadc9d7a764ec740fc98ad767dab024165f48c69fd3688dc0cfbb5692ac680ab1d9480ef659"
    );
}

#[test]
fn explain_and_json() {
    let f = Fixture::new();
    let mut args = vec![
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
        "--explain",
    ];
    args.extend(KERNEL);
    let o = f.run(&args);
    let text = stdout(&o);
    assert!(
        text.contains("sha256 33f3eb79fec92156c3e355aa4a4606b34b97f1cbbd2ce96051be4503ec59f26e"),
        "{text}"
    );
    assert!(text.contains("SNP_KERNEL_HASHES (NORMAL, hashes table)"));
    assert!(text.contains("EPYC-Milan (CPUID signature 0x00a00f11)"));
    assert!(text.trim_end().ends_with("measurement de7efec2af9249cccf6c2fadc9d7a764ec740fc98ad767dab024165f48c69fd3688dc0cfbb5692ac680ab1d9480ef659"));
    // Without a kernel, --explain warns that kernel-hashes=off launches look the same.
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "1",
        "--vcpu-type",
        "EPYC",
        "--explain",
    ]);
    assert!(stdout(&o).contains("kernel-hashes=off"));

    let mut args = vec![
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
        "--json",
    ];
    args.extend(KERNEL);
    let j: serde_json::Value = serde_json::from_slice(&f.run(&args).stdout).unwrap();
    assert_eq!(
        j["measurement"],
        "de7efec2af9249cccf6c2fadc9d7a764ec740fc98ad767dab024165f48c69fd3688dc0cfbb5692ac680ab1d9480ef659"
    );
    let steps = j["transcript"]["steps"].as_array().unwrap();
    // 2 firmware pages, 2+1+1+1+1+1 metadata pages, 2 VMSAs.
    assert_eq!(steps.len(), 11);
    assert_eq!(steps[7]["op"], "PAGE_UPDATE(NORMAL)");
    assert_eq!(steps[7]["gpa"], 0x81_0000);
    assert_eq!(steps.last().unwrap()["digest_after"], j["measurement"]);
    let names: Vec<_> = j["transcript"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    for want in [
        "ovmf",
        "kernel",
        "initrd",
        "append",
        "vcpus",
        "vcpu_type",
        "vmm_type",
        "guest_features",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
}

#[test]
fn policy_out_is_read_by_verify() {
    let f = Fixture::new();
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "1",
        "--vcpu-type",
        "EPYC-v4",
        "--policy-out",
        "p.toml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(f.path().join("p.toml")).unwrap();
    let p = tee_core::Policy::from_toml(&text).unwrap();
    assert_eq!(
        p.allowed_measurements[0].to_hex(),
        "6cb0cde5bf4ad28518cfdd1245808c659700dad3f86c4fcaefb62bb64e5c443d1ae1b93aaef66fdc414e99d85fec7b59"
    );
    assert!(!p.allow_any_measurement);
    assert!(text.contains("# ") && text.contains("vcpus: 1"));
    // `teectl verify --policy` reads it: mock evidence has another measurement, so the appraisal fails (exit 4).
    let o = f.run(&[
        "--backend",
        "mock",
        "report",
        "--nonce",
        "00112233",
        "-o",
        "e.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = f.run(&[
        "verify",
        "--evidence",
        "e.json",
        "--nonce",
        "00112233",
        "--allow-mock",
        "--policy",
        "p.toml",
    ]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("measurement"));
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(f.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn failures_have_their_exit_codes() {
    let f = Fixture::new();
    std::fs::write(f.path().join("odd.bin"), [0u8; 5000]).unwrap();
    std::fs::write(f.path().join("nometa.bin"), [0u8; 8192]).unwrap();
    let mut unknown = synth(true);
    unknown[0x1000 + 16 + 8] = 7; // first section's type
    std::fs::write(f.path().join("unknown.bin"), unknown).unwrap();
    let base = |ovmf: &'static str| {
        vec![
            "reference",
            "sev-snp",
            "--ovmf",
            ovmf,
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
        ]
    };
    let code = |args: Vec<&str>| f.run(&args).status.code();
    // Malformed firmware: exit 2.
    for img in ["odd.bin", "nometa.bin", "unknown.bin"] {
        assert_eq!(code(base(img)), Some(2), "{img}");
    }
    let o = f.run(&base("unknown.bin"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("section type"));
    // Usage / I/O: exit 1.
    assert_eq!(code(base("missing.bin")), Some(1));
    let mut a = base("synth.bin");
    a[7] = "EPYC-X";
    assert_eq!(code(a), Some(1));
    assert_eq!(
        code(vec![
            "reference",
            "sev-snp",
            "--ovmf",
            "synth.bin",
            "--vcpus",
            "1"
        ]),
        Some(1),
        "QEMU needs a vCPU type"
    );
    let mut a = base("synth.bin");
    a.extend(["--vmm-type", "kvm"]);
    assert_eq!(code(a), Some(1));
    let mut a = base("synth.bin");
    a.extend(["--guest-features", "0x800"]);
    assert_eq!(code(a), Some(1));
    let mut a = base("synth.bin");
    a.extend(["--snp-ovmf-hash", "abcd"]);
    assert_eq!(code(a), Some(1));
    let mut a = base("synth-nokh.bin");
    a.extend(["--kernel", "kernel.bin"]);
    assert_eq!(code(a), Some(1), "no SNP_KERNEL_HASHES section");
    // An initrd without a kernel, no --ovmf: usage errors (exit 1).
    assert_eq!(
        code(vec![
            "reference",
            "sev-snp",
            "--ovmf",
            "synth.bin",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--initrd",
            "initrd.bin"
        ]),
        Some(1)
    );
    assert_eq!(code(vec!["reference", "sev-snp", "--vcpus", "1"]), Some(1));
    // A firmware file over 64 MiB is refused before it is read (exit 2).
    let big = std::fs::File::create(f.path().join("big.bin")).unwrap();
    big.set_len(65 << 20).unwrap();
    assert_eq!(code(base("big.bin")), Some(2));
}

const ID_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDA+Xzn/NGtTcYdpaYUy
lw6nH8uAf2aTl6ucxeup3Ts6jn/iN3puIcUkDblxAZhzk+2hZANiAARzbR2tyeR2
a/ubrbCOzQ1hLcSO+JmuoRWTZJpiXqOUbVrxPAbLhHUcB4ZcnPd6rtXdYM+F2MWp
SG4Q+jb6GwH9VKJ4k0loYfbhiIN7lShSxdip/tiy5UlWVp+ebyHJOy8=
-----END PRIVATE KEY-----
";
const AUTHOR_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDBF8VCODXRYev05NhS8KF9WvyBOQMXSZtBRe2cAwDGExpK6uaRjvfOL
iyy9FwdJ4BWgBwYFK4EEACKhZANiAAStOWtiyihonMCaL/GKKJOKZ/Wv82SFDUCb
uOzNhntAAn+EsXN63dzSWZrTiIugrjqtwfRSMcWAAGzTvqsqUwwpn7u6SDaQmD6w
icttH65iRHKHNQ2NnUL3OfApHHzf/AQ=
-----END EC PRIVATE KEY-----
";
const LD: &str = "f28285ef780e8a9bb8e8e9fc025f7f8af23c6532078753fbbb82abc2747dd414a6c7d74bfe6a492360cdba9b801708af";

fn id_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "reference",
        "sev-snp",
        "id-block",
        "--measurement",
        LD,
        "--id-key",
        "id.pem",
        "--family-id",
        "01010101010101010101010101010101",
        "--image-id",
        "02020202020202020202020202020202",
        "--guest-svn",
        "7",
        "--policy",
        "0x30000",
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn id_block_with_the_fact_sheet_keys() {
    let f = Fixture::new();
    std::fs::write(f.path().join("id.pem"), ID_PEM).unwrap();
    std::fs::write(f.path().join("author.pem"), AUTHOR_PEM).unwrap();
    let o = f.run(&id_args(&[
        "--author-key",
        "author.pem",
        "--json",
        "--policy-out",
        "id.toml",
    ]));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        j["id_block"],
        "8oKF73gOipu46On8Al9/ivI8ZTIHh1P7u4KrwnR91BSmx9dL/mpJI2DNupuAFwivAQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgICAgIBAAAABwAAAAAAAwAAAAAA"
    );
    assert_eq!(
        j["id_key_digest"],
        "331b8555d67b8564f6c1d6b781d6ba9fd3a5273b959704e66738b9b72070f25294a41a27742a63bd521b4287908173f4"
    );
    assert_eq!(
        j["author_key_digest"],
        "7ed121a8e4d736c4fc4e7ad72236a27f8713664e700d3f3f81844b0813daa294ac61ccc623ec6d4e6d3b419e9c10e368"
    );
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD
        .decode(j["id_auth"].as_str().unwrap())
        .unwrap();
    assert_eq!(auth.len(), 4096);
    assert!(
        j["qemu"]
            .as_str()
            .unwrap()
            .ends_with("author-key-enabled=on")
    );
    let p =
        tee_core::Policy::from_toml(&std::fs::read_to_string(f.path().join("id.toml")).unwrap())
            .unwrap();
    assert_eq!(p.allowed_measurements[0].to_hex(), LD);
    assert_eq!(
        p.sev_snp.allowed_id_key_digests[0].to_hex(),
        j["id_key_digest"].as_str().unwrap()
    );
    assert_eq!(
        p.sev_snp.allowed_author_key_digests[0].to_hex(),
        j["author_key_digest"].as_str().unwrap()
    );
    assert_eq!(p.sev_snp.min_guest_svn, Some(7));

    // Text output without an author key.
    let o = f.run(&id_args(&[]));
    let text = stdout(&o);
    assert!(
        text.starts_with("policy=0x30000,id-block=8oKF73gO"),
        "{text}"
    );
    assert!(text.contains("author-key-enabled=off"));
    assert!(text.contains("id_key_digest: 331b8555"));

    // Failures: bad key file (2), missing key (1), wrong-length ids (1), bad policy bits (1).
    std::fs::write(
        f.path().join("bad.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let mut a = id_args(&[]);
    a[6] = "bad.pem";
    assert_eq!(f.run(&a).status.code(), Some(2));
    a[6] = "none.pem";
    assert_eq!(f.run(&a).status.code(), Some(1));
    let mut a = id_args(&[]);
    a[8] = "0101";
    assert_eq!(f.run(&a).status.code(), Some(1));
    let mut a = id_args(&[]);
    a[14] = "0x10000";
    assert_eq!(f.run(&a).status.code(), Some(1));
}

#[test]
fn host_data_from_init_data() {
    let f = Fixture::new();
    let doc = "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"policy.rego\" = \"package agent_policy\"\n";
    std::fs::write(f.path().join("init.toml"), doc).unwrap();
    let o = f.run(&[
        "reference",
        "sev-snp",
        "host-data",
        "--init-data",
        "init.toml",
        "--policy-out",
        "h.toml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let text = stdout(&o);
    let mut lines = text.lines();
    let hex_line = lines.next().unwrap();
    assert_eq!(hex_line.len(), 64);
    assert!(lines.next().unwrap().starts_with("host-data="));
    let p = tee_core::Policy::from_toml(&std::fs::read_to_string(f.path().join("h.toml")).unwrap())
        .unwrap();
    assert_eq!(p.host_data.unwrap().to_hex(), hex_line);
    std::fs::write(f.path().join("bad.toml"), doc.replace("sha256", "crc32")).unwrap();
    assert_eq!(
        f.run(&[
            "reference",
            "sev-snp",
            "host-data",
            "--init-data",
            "bad.toml"
        ])
        .status
        .code(),
        Some(2)
    );
}

/// `--explain-measurement --reference-inputs` on a genuine AMD report: the
/// JSON of `teectl reference sev-snp --json` is read back, the digest
/// recomputed with its transcript, the host-chosen inputs varied, and none
/// gives the report's value (another firmware): the verdict says so and
/// the exit stays 4. (Every verdict on fake-PKI reports: the unit tests of
/// `teectl::reference`.)
#[test]
fn explain_measurement_recomputes_from_reference_inputs() {
    let Some(v) = vectors() else {
        return;
    };
    let f = Fixture::new();
    let o = f.run(&[
        "reference",
        "sev-snp",
        "--ovmf",
        "synth.bin",
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
        "--json",
        "--policy-out",
        "p.toml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ri = &j["reference_inputs"];
    assert_eq!(ri["platform"], "sev-snp");
    assert_eq!(ri["vcpus"], 2);
    assert_eq!(ri["vcpu_type"], "EPYC-Milan");
    assert!(Path::new(ri["ovmf"].as_str().unwrap()).is_absolute());
    let measurement = j["measurement"].as_str().unwrap().to_owned();
    std::fs::write(f.path().join("ref.json"), &o.stdout).unwrap();
    let report = v.join("ms-tee-av/milan_attestation_report.bin");
    let vcek = v.join("ms-tee-av/milan_vcek.pem");
    let (report, vcek) = (report.display().to_string(), vcek.display().to_string());
    let zeros = "00".repeat(64);
    let base = [
        "verify",
        "--platform",
        "sev-snp",
        "--report",
        report.as_str(),
        "--vcek",
        vcek.as_str(),
        "--at",
        "2026-06-01T00:00:00Z",
        "--report-data",
        zeros.as_str(),
        "--allow-unchecked-revocation",
        "--policy",
        "p.toml",
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        f.run(&a)
    };
    let o = run(&["--explain-measurement", "--reference-inputs", "ref.json"]);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(4), "{e}");
    assert!(e.contains("recomputed from the reference inputs"), "{e}");
    assert!(e.contains(&format!("measurement {measurement}")), "{e}");
    assert!(e.contains("EPYC-Milan"), "{e}");
    assert!(e.contains("no change of one host-chosen input"), "{e}");
    // Without --explain-measurement the flag is a usage error.
    let o = run(&["--reference-inputs", "ref.json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    // A broken inputs file is an error, not a verdict.
    std::fs::write(f.path().join("bad.json"), r#"{"platform": "sev-snp"}"#).unwrap();
    let o = run(&["--explain-measurement", "--reference-inputs", "bad.json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
}
