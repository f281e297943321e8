//! `teectl reference sev-snp`: the SNP launch digest from OVMF and the VMM's
//! inputs (the default, also spelled `launch`), the ID block (`id-block`)
//! and the HOST_DATA of an init-data document (`host-data`). Each can write
//! a policy (`--policy-out FILE`) that `teectl verify --policy` reads as is.

use std::path::{Path, PathBuf};

use tee::Policy;
use tee::sev::reference::{
    self, FileInput, IdBlockInputs, LaunchDigest, MAX_INIT_DATA, MAX_OVMF_SIZE, SnpLaunch,
    VcpuType, VmmType,
};

use crate::common::{CliError, parse_hex, write_atomic};

/// `teectl reference sev-snp [launch] ... | id-block ... | host-data ...`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    cmd: Option<Sub>,
    #[command(flatten)]
    launch: Box<LaunchArgs>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// The launch digest (the same as giving these flags without a subcommand).
    Launch(Box<LaunchArgs>),
    /// An ID block and ID auth for QEMU, signed with the ID (and author) key.
    IdBlock(Box<IdBlockArgs>),
    /// HOST_DATA for a Confidential Containers init-data document.
    HostData(HostDataArgs),
}

/// Launch-digest inputs: every one is chosen by the host at launch.
#[derive(Debug, Clone, clap::Args)]
struct LaunchArgs {
    /// The OVMF image (`-bios`; at most 64 MiB).
    #[arg(long, value_name = "FILE", required = true)]
    ovmf: Option<PathBuf>,
    /// Kernel of a measured direct boot (`-kernel` with `kernel-hashes=on`).
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// Initrd (`-initrd`; needs --kernel).
    #[arg(long, value_name = "FILE", requires = "kernel")]
    initrd: Option<PathBuf>,
    /// Kernel command line (`-append`; needs --kernel).
    #[arg(long, value_name = "STR", requires = "kernel")]
    append: Option<String>,
    /// Number of vCPUs.
    #[arg(long, value_name = "N", required_unless_present = "print_ovmf_hash")]
    vcpus: Option<u32>,
    /// vCPU type as QEMU spells it (EPYC, EPYC-v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin, ...).
    #[arg(long, value_name = "TYPE", conflicts_with = "vcpu_sig")]
    vcpu_type: Option<String>,
    /// vCPU CPUID signature instead of a type (hex, e.g. 0xa00f11).
    #[arg(long, value_name = "HEX")]
    vcpu_sig: Option<String>,
    /// The VMM: qemu, ec2 or gce.
    #[arg(long, value_name = "VMM", default_value = "qemu")]
    vmm_type: String,
    /// SEV_FEATURES (hex; 0x1 for Linux 6.8+ hosts, 0x21 with debug_swap on 6.6/6.7).
    #[arg(long, value_name = "HEX", default_value = "0x1")]
    guest_features: String,
    /// Start from this precomputed firmware digest (96 hex digits).
    #[arg(long, value_name = "HEX")]
    snp_ovmf_hash: Option<String>,
    /// Print only the firmware digest (the seed for --snp-ovmf-hash).
    #[arg(long)]
    print_ovmf_hash: bool,
    /// Machine-readable output with the full transcript.
    #[arg(long)]
    json: bool,
    /// Explain every input and the digest after each step group.
    #[arg(long)]
    explain: bool,
    /// Write a policy admitting this launch digest (TOML, atomically).
    #[arg(long, value_name = "FILE")]
    policy_out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct IdBlockArgs {
    /// The expected launch digest (96 hex digits).
    #[arg(long, value_name = "HEX")]
    measurement: String,
    /// ID key: P-384 private key PEM (PKCS#8 or SEC1).
    #[arg(long, value_name = "PEM")]
    id_key: PathBuf,
    /// Author key: P-384 private key PEM (PKCS#8 or SEC1).
    #[arg(long, value_name = "PEM")]
    author_key: Option<PathBuf>,
    /// FAMILY_ID (32 hex digits).
    #[arg(long, value_name = "HEX")]
    family_id: String,
    /// IMAGE_ID (32 hex digits).
    #[arg(long, value_name = "HEX")]
    image_id: String,
    /// GUEST_SVN.
    #[arg(long, value_name = "N")]
    guest_svn: u32,
    /// Guest policy (hex; must equal QEMU's `policy=`, e.g. 0x30000).
    #[arg(long, value_name = "HEX")]
    policy: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Write a policy pinning the measurement and key digests (TOML, atomically).
    #[arg(long, value_name = "FILE")]
    policy_out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct HostDataArgs {
    /// The init-data TOML document (at most 1 MiB).
    #[arg(long, value_name = "FILE")]
    init_data: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Write a policy expecting this host data (TOML, atomically).
    #[arg(long, value_name = "FILE")]
    policy_out: Option<PathBuf>,
}

pub(crate) fn run(a: Args) -> Result<u8, CliError> {
    match a.cmd {
        Some(Sub::Launch(l)) => launch(&l),
        Some(Sub::IdBlock(i)) => id_block(&i),
        Some(Sub::HostData(h)) => host_data(&h),
        None => launch(&a.launch),
    }
}

fn hex_fixed<const N: usize>(what: &str, s: &str) -> Result<[u8; N], CliError> {
    let b = parse_hex(what, s)?;
    b.as_slice().try_into().map_err(|_| {
        CliError::usage(format!(
            "{what}: {} bytes, expected {N} ({} hex digits)",
            b.len(),
            2 * N
        ))
    })
}

fn hex_u64(what: &str, s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u64::from_str_radix(t, 16).map_err(|e| CliError::usage(format!("{what}: not hex ({e})")))
}

/// Read a file of at most `max` bytes (the size is checked before reading).
fn read_bounded(path: &Path, max: usize, what: &'static str) -> Result<Vec<u8>, CliError> {
    crate::common::read_bounded(path, max as u64, what)
}

fn print_json(v: &serde_json::Value) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::usage(format!("JSON output: {e}")))?;
    println!("{s}");
    Ok(())
}

/// `# ...` lines (one line each, no control characters).
fn comments(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        let clean: String = l
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        s.push_str("# ");
        s.push_str(&clean);
        s.push('\n');
    }
    s
}

fn write_policy(path: &Path, header: &[String], policy: &Policy) -> Result<(), CliError> {
    let body = policy.to_toml()?;
    let text = format!("{}{body}", comments(header));
    // What we write must read back as the same policy.
    let back = Policy::from_toml(&text)?;
    if &back != policy {
        return Err(CliError::usage("internal: the policy does not read back"));
    }
    write_atomic(path, text.as_bytes())
}

/// The files a launch digest reads (the digest borrows them: its
/// transcript is rendered on demand).
struct LaunchFiles {
    ovmf: Vec<u8>,
    ovmf_name: String,
    kernel: Option<(Vec<u8>, String)>,
    initrd: Option<(Vec<u8>, String)>,
}

impl LaunchFiles {
    fn read(a: &LaunchArgs) -> Result<Self, CliError> {
        let ovmf_path = a
            .ovmf
            .as_ref()
            .ok_or_else(|| CliError::usage("--ovmf FILE is required"))?;
        let image = crate::common::limit::IMAGE as usize;
        let other = |p: &Option<PathBuf>, what: &'static str| {
            p.as_deref()
                .filter(|_| !a.print_ovmf_hash)
                .map(|p| {
                    Ok::<_, CliError>((read_bounded(p, image, what)?, p.display().to_string()))
                })
                .transpose()
        };
        Ok(Self {
            ovmf: read_bounded(ovmf_path, MAX_OVMF_SIZE, "OVMF firmware")?,
            ovmf_name: ovmf_path.display().to_string(),
            kernel: other(&a.kernel, "kernel")?,
            initrd: other(&a.initrd, "initrd")?,
        })
    }

    /// The launch inputs of `a` over these files.
    fn launch<'a>(&'a self, a: &'a LaunchArgs) -> Result<SnpLaunch<'a>, CliError> {
        let vcpus = a
            .vcpus
            .ok_or_else(|| CliError::usage("--vcpus N is required"))?;
        let mut l = SnpLaunch::new(FileInput::new(&self.ovmf_name, &self.ovmf))
            .vcpus(vcpus)
            .vmm_type(VmmType::parse(&a.vmm_type)?)
            .guest_features(hex_u64("--guest-features", &a.guest_features)?);
        if let Some(t) = &a.vcpu_type {
            l = l.vcpu_type(VcpuType::parse(t)?);
        }
        if let Some(s) = &a.vcpu_sig {
            let sig = u32::try_from(hex_u64("--vcpu-sig", s)?)
                .map_err(|_| CliError::usage("--vcpu-sig: more than 32 bits"))?;
            l = l.vcpu_type(VcpuType::from_sig(sig));
        }
        if let Some((k, n)) = &self.kernel {
            l = l.kernel(FileInput::new(n, k));
        }
        if let Some((i, n)) = &self.initrd {
            l = l.initrd(FileInput::new(n, i));
        }
        if let Some(c) = &a.append {
            l = l.append(c);
        }
        if let Some(s) = &a.snp_ovmf_hash {
            l = l.ovmf_hash(hex_fixed::<48>("--snp-ovmf-hash", s)?);
        }
        Ok(l)
    }

    fn error(&self, e: tee::Error) -> CliError {
        match e {
            tee::Error::Malformed(_) => CliError::from(e).context(&self.ovmf_name),
            e => CliError::from(e),
        }
    }
}

/// The `reference_inputs` object of `--json`: what `teectl verify
/// --reference-inputs` reads back (absolute paths).
fn inputs_json(a: &LaunchArgs) -> serde_json::Value {
    let abs = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(|p| super::absolute(p).display().to_string())
    };
    serde_json::json!({
        "platform": "sev-snp",
        "ovmf": abs(&a.ovmf),
        "kernel": abs(&a.kernel),
        "initrd": abs(&a.initrd),
        "append": a.append,
        "vcpus": a.vcpus,
        "vcpu_type": a.vcpu_type,
        "vcpu_sig": a.vcpu_sig,
        "vmm_type": a.vmm_type,
        "guest_features": a.guest_features,
        "snp_ovmf_hash": a.snp_ovmf_hash,
    })
}

/// The inputs file of `teectl verify --reference-inputs` (SEV-SNP): the
/// flags of `teectl reference sev-snp`, relative paths resolved against
/// `base` (the file's directory).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InputsFile {
    ovmf: PathBuf,
    #[serde(default)]
    kernel: Option<PathBuf>,
    #[serde(default)]
    initrd: Option<PathBuf>,
    #[serde(default)]
    append: Option<String>,
    vcpus: u32,
    #[serde(default)]
    vcpu_type: Option<String>,
    #[serde(default)]
    vcpu_sig: Option<String>,
    #[serde(default)]
    vmm_type: Option<String>,
    #[serde(default)]
    guest_features: Option<String>,
    #[serde(default)]
    snp_ovmf_hash: Option<String>,
}

/// Recompute the launch digest from an inputs file and diagnose the
/// evidence's `measurement` against it: the lines `teectl verify
/// --explain-measurement` prints.
pub(crate) fn recompute(
    v: serde_json::Value,
    base: &Path,
    measurement: &[u8],
) -> Result<Vec<String>, CliError> {
    let f: InputsFile = serde_json::from_value(v)
        .map_err(|e| CliError::usage(format!("SEV-SNP reference inputs: {e}")))?;
    let at = |p: PathBuf| Some(base.join(p));
    let a = LaunchArgs {
        ovmf: at(f.ovmf),
        kernel: f.kernel.and_then(at),
        initrd: f.initrd.and_then(at),
        append: f.append,
        vcpus: Some(f.vcpus),
        vcpu_type: f.vcpu_type,
        vcpu_sig: f.vcpu_sig,
        vmm_type: f.vmm_type.unwrap_or_else(|| "qemu".into()),
        guest_features: f.guest_features.unwrap_or_else(|| "0x1".into()),
        snp_ovmf_hash: f.snp_ovmf_hash,
        print_ovmf_hash: false,
        json: false,
        explain: false,
        policy_out: None,
    };
    if a.initrd.is_some() && a.kernel.is_none() || a.append.is_some() && a.kernel.is_none() {
        return Err(CliError::usage(
            "SEV-SNP reference inputs: initrd and append need a kernel",
        ));
    }
    let files = LaunchFiles::read(&a)?;
    let l = files.launch(&a)?;
    let (d, diag) = reference::diagnose_launch(&l, measurement).map_err(|e| files.error(e))?;
    let mut out: Vec<String> = vec!["recomputed from the reference inputs:".into()];
    out.extend(d.explain().lines().map(|l| format!("  {l}")));
    out.push(format!(
        "  (every page update: `teectl reference sev-snp ... --json`, {} steps)",
        d.updates.len()
    ));
    match diag {
        reference::LaunchDiagnosis::InputsMatch => out.push(
            "verdict: the recomputed value EQUALS the evidence's: these inputs are what the VM \
             launched with, so the policy's reference value is stale; write it again with \
             `teectl reference sev-snp ... --policy-out FILE`"
                .into(),
        ),
        reference::LaunchDiagnosis::Changed(changes) => {
            out.push(
                "verdict: the recomputed value differs from the evidence's; the evidence's value is \
                 what these inputs give with:"
                    .into(),
            );
            for c in &changes {
                out.push(format!(
                    "  {}: {} (the inputs say {})",
                    c.input, c.running, c.given
                ));
            }
            out.push(
                "  the host launched the VM with this; fix the inputs (or the launch) and recompute"
                    .into(),
            );
        }
        reference::LaunchDiagnosis::NoMatch { tried } => out.push(format!(
            "verdict: the recomputed value differs from the evidence's, and no change of one \
             host-chosen input (vCPU count up to the larger of 64 and twice the given count, \
             vCPU type, VMM type, guest features {}, kernel hashes off; {tried} combinations) \
             gives it: the firmware, kernel, initrd or command line differ from what the host \
             launched (compare the sha256 of each input above with the host's files)",
            reference::TRIED_GUEST_FEATURES
                .iter()
                .map(|f| format!("{f:#x}"))
                .collect::<Vec<_>>()
                .join("/")
        )),
        _ => out.push("verdict: unknown".into()),
    }
    Ok(out)
}

fn launch(a: &LaunchArgs) -> Result<u8, CliError> {
    let files = LaunchFiles::read(a)?;
    let d: LaunchDigest<'_> = if a.print_ovmf_hash {
        reference::snp_ovmf_hash(FileInput::new(&files.ovmf_name, &files.ovmf))
            .map_err(|e| CliError::from(e).context(&files.ovmf_name))?
    } else {
        files.launch(a)?.compute().map_err(|e| files.error(e))?
    };

    if let Some(p) = &a.policy_out {
        let mut header = vec![
            format!("teectl reference sev-snp: {}", d.name),
            "inputs (the host chooses each; any change gives another digest):".to_owned(),
        ];
        for i in &d.inputs() {
            header.push(format!("  {}: {}", i.name, i.value));
        }
        for n in &d.notes {
            header.push(format!("note: {n}"));
        }
        header.push(format!("measurement {}", hex::encode(d.digest)));
        write_policy(p, &header, &d.policy())?;
    }
    if a.json {
        let groups: Vec<_> = d
            .groups
            .iter()
            .map(|g| {
                serde_json::json!({
                    "label": g.label,
                    "steps": [g.steps.start, g.steps.end],
                    "digest_after": hex::encode(g.digest_after),
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "name": d.name,
            "measurement": hex::encode(d.digest),
            "measurement_base64": reference::base64(&d.digest),
            "notes": d.notes,
            "groups": groups,
            "transcript": d.transcript(),
            "reference_inputs": (!a.print_ovmf_hash).then(|| inputs_json(a)),
        }))?;
    } else if a.explain {
        print!("{}", d.explain());
    } else {
        println!("{}", hex::encode(d.digest));
    }
    Ok(crate::exit::OK)
}

fn read_key(path: &Path) -> Result<reference::IdSigningKey, CliError> {
    let pem = read_bounded(path, 64 << 10, "P-384 private key PEM")?;
    let text = String::from_utf8(pem).map_err(|e| {
        CliError::from(tee::Error::encoding("P-384 private key PEM", e)).context(path.display())
    })?;
    reference::signing_key_from_pem(&text).map_err(|e| CliError::from(e).context(path.display()))
}

fn id_block(a: &IdBlockArgs) -> Result<u8, CliError> {
    let inputs = IdBlockInputs::new(hex_fixed::<48>("--measurement", &a.measurement)?)
        .family_id(hex_fixed::<16>("--family-id", &a.family_id)?)
        .image_id(hex_fixed::<16>("--image-id", &a.image_id)?)
        .guest_svn(a.guest_svn)
        .policy(hex_u64("--policy", &a.policy)?);
    let id = read_key(&a.id_key)?;
    let author = a.author_key.as_deref().map(read_key).transpose()?;
    let m = inputs.sign(&id, author.as_ref())?;
    let author_hex = m.author_key_digest.map(hex::encode);
    if let Some(p) = &a.policy_out {
        let mut header = vec![
            "teectl reference sev-snp id-block".to_owned(),
            format!("measurement {}", hex::encode(inputs.measurement)),
            format!("id_key_digest {}", hex::encode(m.id_key_digest)),
            format!(
                "author_key_digest {}",
                author_hex.as_deref().unwrap_or("none (AUTHOR_KEY_EN 0)")
            ),
            format!(
                "guest policy {:#x} (QEMU policy= must be the same)",
                inputs.policy
            ),
        ];
        header.extend(m.notes.iter().map(|n| format!("note: {n}")));
        write_policy(p, &header, &m.policy())?;
    }
    if a.json {
        print_json(&serde_json::json!({
            "measurement": hex::encode(inputs.measurement),
            "family_id": hex::encode(inputs.family_id),
            "image_id": hex::encode(inputs.image_id),
            "guest_svn": inputs.guest_svn,
            "policy": format!("{:#x}", inputs.policy),
            "id_block": reference::base64(&m.id_block),
            "id_auth": reference::base64(&m.id_auth),
            "author_key_enabled": m.author_key_digest.is_some(),
            "id_key_digest": hex::encode(m.id_key_digest),
            "author_key_digest": author_hex,
            "qemu": m.qemu_properties(),
            "notes": m.notes,
        }))?;
    } else {
        println!("{}", m.qemu_properties());
        println!("id_key_digest: {}", hex::encode(m.id_key_digest));
        println!(
            "author_key_digest: {}",
            author_hex.as_deref().unwrap_or("none")
        );
        for n in &m.notes {
            eprintln!("note: {n}");
        }
    }
    Ok(crate::exit::OK)
}

fn host_data(a: &HostDataArgs) -> Result<u8, CliError> {
    let doc = read_bounded(&a.init_data, MAX_INIT_DATA, "init-data")?;
    let name = a.init_data.display().to_string();
    let h =
        reference::init_data_digest(&name, &doc).map_err(|e| CliError::from(e).context(&name))?;
    if let Some(p) = &a.policy_out {
        let header = vec![
            "teectl reference sev-snp host-data".to_owned(),
            format!(
                "init-data {name}: {}(raw TOML) truncated to the 32 bytes of HOST_DATA",
                h.algorithm.name()
            ),
        ];
        write_policy(p, &header, &h.policy())?;
    }
    if a.json {
        print_json(&serde_json::json!({
            "algorithm": h.algorithm.name(),
            "digest": hex::encode(&h.full_digest),
            "host_data": hex::encode(h.host_data),
            "qemu": h.qemu_property(),
            "transcript": h.reference.transcript,
        }))?;
    } else {
        println!("{}", hex::encode(h.host_data));
        println!("{}", h.qemu_property());
    }
    Ok(crate::exit::OK)
}
