//! `teectl pef ...` (ESM blobs and the simulated ultravisor) and the PEF
//! flag of `teectl verify`.
//!
//! `check` exit codes: 0 the VM would enter secure mode; 4 a digest check
//! failed (each failed check is named); 3 no lockbox can be unwrapped by that
//! machine's TPM (or the digests do not authenticate under the unwrapped
//! key); 2 malformed blob; 1 usage or I/O.
//!
//! Owner private keys are read in svm-tool's format (`esm generate`:
//! PKCS#1, DES-EDE3-CBC PEM encryption) or as encrypted PKCS#8; the
//! passphrase comes from `--passphrase-file` or a no-echo prompt on the
//! terminal (never from an argument); an unencrypted key needs
//! `--allow-unencrypted-key`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tee::pef::crypto::{OwnerKeyFormat, RecipientKey, RsaKeyPair, sha256};
use tee::pef::esm::{Digests, EsmBlob, EsmBlobBuilder, EsmBlobEditor, is_elf};
use tee::pef::inspect::{LockboxPlacement, RefusalKind, extract_blob};
use tee::pef::machine::{SimMachine, TPM_PUB_PEM, launch};
use tee::pef::uv::GuestImage;
use tee::pef::{PefBackend, PefConfig, PefVerifier, SimSvmProcess, cpio};
use tee::{Backend, Evidence, Platform, ReportData, SealPolicy, UnixTime, Verifier};
use zeroize::Zeroizing;

use crate::common::{self, CliError};
use crate::exit;

/// PEF subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Cmd {
    /// Create a simulated PEF machine (TPM wrapping key); writes DIR/tpm-pub.pem.
    SimMachine {
        /// Directory for the machine (tpm-pub.pem, tpm-priv.pem).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Build an ESM blob (svm-tool layout) for one or more machines.
    BuildBlob(BuildBlobArgs),
    /// Prepend the ESM cpio (opt/ibm/pef/BLOB_NAME, padded to 512) to an initrd.
    WrapInitrd {
        /// The ESM blob.
        #[arg(long, value_name = "BLOB")]
        blob: PathBuf,
        /// The original initrd.
        #[arg(long, value_name = "FILE")]
        initrd: PathBuf,
        /// Output file.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Edit a blob as svm-tool does: add a machine, revoke a machine, attach a file.
    #[command(subcommand)]
    Edit(EditCmd),
    /// Show a blob's structure, lockboxes and fingerprints (never a secret).
    Inspect {
        /// An ESM blob, or an initrd wrapped with wrap-initrd.
        blob: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run UV_ESM in the simulator and print each check (exit 0/4/3/2).
    Check(CheckArgs),
    /// The whole PEF flow in the simulator.
    Demo,
    /// Print the ESM measurement a relying party expects (policy `allowed_measurements`).
    Measurement {
        /// The flat kernel binary.
        #[arg(long, value_name = "FILE")]
        kernel: PathBuf,
        /// The original initrd (before wrapping).
        #[arg(long, value_name = "FILE")]
        initrd: PathBuf,
        /// The exact kernel command line.
        #[arg(long, value_name = "STRING", allow_hyphen_values = true)]
        bootargs: String,
        /// An RTAS image other than SLOF's stub.
        #[arg(long, value_name = "FILE")]
        rtas: Option<PathBuf>,
    },
    /// Print a human-readable dump of an owner-MAC report (raw or evidence JSON).
    Show {
        /// The file.
        file: PathBuf,
    },
}

/// The owner key's passphrase and protection.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct KeyArgs {
    /// Read the owner key's passphrase from FILE (one trailing newline is
    /// dropped). Without it, teectl prompts on the terminal (no echo) and
    /// fails if there is none. Never give a passphrase as an argument.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Accept (or, for a generated key, write) an unencrypted owner private key.
    #[arg(long)]
    allow_unencrypted_key: bool,
}

/// Format of a generated owner key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KeyFormat {
    /// svm-tool's (`esm generate`): PKCS#1 PEM, DES-EDE3-CBC encrypted.
    SvmTool,
    /// Encrypted PKCS#8 (PBES2: scrypt, AES-256-CBC); svm-tool reads it too.
    Pkcs8,
}

/// `teectl pef edit ...`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum EditCmd {
    /// Authorise a machine (svm-tool `esm authorize`): a new lockbox-<max+1>
    /// with the blob's key wrapped to the machine's TPM key. Needs the owner key.
    AddMachine {
        #[command(flatten)]
        blob: EditBlob,
        /// The machine's TPM wrapping-key public PEM.
        #[arg(long = "tpm-pub", value_name = "PEM")]
        tpm_pub: PathBuf,
        /// The owner's origin private key (unwraps origin-lockbox).
        #[arg(long, value_name = "PEM")]
        owner_key: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        /// The lockbox's untrusted comment.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
    /// Revoke a machine (svm-tool `esm revoke -p`): delete the lockbox(es)
    /// whose fingerprint is this PEM file's SHA-256. Needs no key.
    RevokeMachine {
        #[command(flatten)]
        blob: EditBlob,
        /// The machine's TPM wrapping-key public PEM (the exact file authorised).
        #[arg(long = "tpm-pub", value_name = "PEM")]
        tpm_pub: PathBuf,
    },
    /// Attach a file (svm-tool `esm attach`), released to the secure VM
    /// through UV_ESMB_GET_FILE. Needs the owner key.
    Attach {
        #[command(flatten)]
        blob: EditBlob,
        /// Attachment name (`^[A-Za-z][0-9A-Za-z,._+-]{0,30}$`).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The file to attach (under 64 KiB).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The owner's origin private key (unwraps origin-lockbox).
        #[arg(long, value_name = "PEM")]
        owner_key: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        /// The attachment's untrusted comment.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
}

/// The blob an edit reads and writes.
#[derive(Debug, clap::Args)]
pub(crate) struct EditBlob {
    /// The ESM blob to edit.
    #[arg(long, value_name = "BLOB")]
    blob: PathBuf,
    /// Output blob (default: replace BLOB, atomically, as svm-tool edits in place).
    #[arg(short, long, value_name = "BLOB")]
    output: Option<PathBuf>,
}

/// `build-blob` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct BuildBlobArgs {
    /// A machine's TPM wrapping-key public PEM (repeat for more machines;
    /// the first becomes lockbox-1, the only one the ultravisor reads).
    #[arg(long = "tpm-pub", value_name = "PEM", required = true)]
    tpm_pub: Vec<PathBuf>,
    /// The flat kernel binary (`objcopy -O binary -S vmlinux`).
    #[arg(long, value_name = "FILE")]
    kernel: PathBuf,
    /// The original initrd (before wrapping).
    #[arg(long, value_name = "FILE")]
    initrd: PathBuf,
    /// The exact kernel command line (byte-exact: spaces count).
    #[arg(long, value_name = "STRING", allow_hyphen_values = true)]
    bootargs: String,
    /// Attach a secret file (repeatable): NAME=FILE.
    #[arg(long = "attach", value_name = "NAME=FILE")]
    attach: Vec<String>,
    /// The owner's origin key: a public PEM, or a private key (svm-tool's
    /// format or encrypted PKCS#8; its public half is used). Default:
    /// generate one and write BLOB.origin-key.pem (private, passphrase-
    /// protected in --key-format) and BLOB.origin-pub.pem next to the blob.
    #[arg(long, value_name = "PEM")]
    origin_key: Option<PathBuf>,
    /// Format of a generated origin private key.
    #[arg(long, value_enum, default_value = "svm-tool")]
    key_format: KeyFormat,
    #[command(flatten)]
    key: KeyArgs,
    /// An RTAS image other than QEMU/SLOF's 20-byte stub.
    #[arg(long, value_name = "FILE")]
    rtas: Option<PathBuf>,
    /// Output blob.
    #[arg(short, long, value_name = "BLOB")]
    output: PathBuf,
}

/// The PEF flag of `teectl verify` (with the shared `--report FILE`).
#[derive(Debug, clap::Args)]
pub(crate) struct PefVerifyArgs {
    /// PEF: the owner's attestation key (owner-rooted evidence needs it).
    #[arg(long, value_name = "FILE")]
    attestation_key: Option<PathBuf>,
}

/// `check` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The simulated machine directory (from sim-machine).
    #[arg(long, value_name = "DIR")]
    machine: PathBuf,
    /// The flat kernel binary the guest loads.
    #[arg(long, value_name = "FILE")]
    kernel: PathBuf,
    /// The wrapped initrd the guest loads.
    #[arg(long, value_name = "WRAPPED")]
    initrd: PathBuf,
    /// The kernel command line the guest boots with.
    #[arg(long, value_name = "STRING", allow_hyphen_values = true)]
    bootargs: String,
    /// An RTAS image other than SLOF's stub.
    #[arg(long, value_name = "FILE")]
    rtas: Option<PathBuf>,
    /// After U_SUCCESS, read this attachment once through the simulated
    /// UV_ESMB_GET_FILE and report its length and SHA-256, or the return
    /// code (repeatable; the plaintext is never printed).
    #[arg(long = "get-file", value_name = "NAME")]
    get_file: Vec<String>,
    /// Machine-readable output (same exit codes).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: Cmd) -> Result<u8, CliError> {
    match cmd {
        Cmd::SimMachine { dir } => sim_machine(&dir),
        Cmd::BuildBlob(a) => build_blob(&a),
        Cmd::WrapInitrd {
            blob,
            initrd,
            output,
        } => wrap_initrd(&blob, &initrd, &output),
        Cmd::Edit(e) => edit(e),
        Cmd::Inspect { blob, json } => inspect(&blob, json),
        Cmd::Check(a) => check(&a),
        Cmd::Demo => demo(),
        Cmd::Measurement {
            kernel,
            initrd,
            bootargs,
            rtas,
        } => {
            let (k, i) = (
                common::read_bounded(&kernel, common::limit::IMAGE, "kernel")?,
                common::read_bounded(&initrd, common::limit::IMAGE, "initrd")?,
            );
            let d = match rtas {
                Some(r) => Digests::compute(
                    &common::read_bounded(&r, common::limit::IMAGE, "RTAS image")?,
                    &k,
                    &i,
                    &bootargs,
                )?,
                None => Digests::for_slof(&k, &i, &bootargs)?,
            };
            println!("{}", hex::encode(d.measurement()));
            Ok(exit::OK)
        }
        Cmd::Show { file } => show(&file),
    }
}

fn sim_machine(dir: &Path) -> Result<u8, CliError> {
    let m = SimMachine::create()?;
    m.save(dir)?;
    let pem = m.public_pem()?;
    println!("simulated PEF machine created in {}", dir.display());
    println!(
        "  TPM wrapping key (0x81800001) public PEM: {}",
        dir.join(TPM_PUB_PEM).display()
    );
    println!("  fingerprint: sha256:{}", hex::encode(sha256(&pem)));
    println!("  (tpm-priv.pem is the simulator's private key; a real TPM never exports it)");
    Ok(exit::OK)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn build_blob(a: &BuildBlobArgs) -> Result<u8, CliError> {
    let kernel = common::read_bounded(&a.kernel, common::limit::IMAGE, "kernel")?;
    let initrd = common::read_bounded(&a.initrd, common::limit::IMAGE, "initrd")?;
    if is_elf(&kernel) {
        return Err(CliError::usage(format!(
            "{}: an ELF file (vmlinux); the ultravisor hashes the flat binary at kbase: \
             give `objcopy -O binary -S vmlinux` output (what svm-tool computes)",
            a.kernel.display()
        )));
    }
    let digests = match &a.rtas {
        Some(p) => Digests::compute(
            &common::read_bounded(p, common::limit::IMAGE, "RTAS image")?,
            &kernel,
            &initrd,
            &a.bootargs,
        )?,
        None => Digests::for_slof(&kernel, &initrd, &a.bootargs)?,
    };
    let origin = match &a.origin_key {
        Some(p) => {
            let pem = common::read_bounded(p, common::limit::KEY, "key file")?;
            // A private key (as `esm generate` pairs them) works too: its public half is used.
            if String::from_utf8_lossy(&pem).contains("PRIVATE KEY") {
                owner_key(p, &a.key)?
                    .recipient()
                    .map_err(|e| CliError::from(e).context(p.display()))?
            } else {
                RecipientKey::from_pem(&pem).map_err(|e| CliError::from(e).context(p.display()))?
            }
        }
        None => {
            let priv_path = sibling(&a.output, ".origin-key.pem");
            let pub_path = sibling(&a.output, ".origin-pub.pem");
            let pass = if a.key.passphrase_file.is_none() && a.key.allow_unencrypted_key {
                None
            } else {
                Some(passphrase(
                    &a.key,
                    "passphrase for the new origin key",
                    true,
                )?)
            };
            let k = RsaKeyPair::generate()?;
            let (pem, how) = match (&pass, a.key_format) {
                (None, _) => (k.to_pkcs8_pem()?, "unencrypted (--allow-unencrypted-key)"),
                (Some(pw), KeyFormat::SvmTool) => (
                    k.to_owner_pem(pw, OwnerKeyFormat::SvmTool)?,
                    "svm-tool format, passphrase-protected",
                ),
                (Some(pw), KeyFormat::Pkcs8) => (
                    k.to_owner_pem(pw, OwnerKeyFormat::Pkcs8)?,
                    "encrypted PKCS#8",
                ),
            };
            common::write_secret_atomic(&priv_path, pem.as_bytes())?;
            common::write_atomic(&pub_path, &k.public_pem()?)?;
            eprintln!(
                "generated origin key: {} (private, {how}) and {}",
                priv_path.display(),
                pub_path.display()
            );
            k.recipient()?
        }
    };
    let mut b = EsmBlobBuilder::new(&origin, "origin key")?;
    for p in &a.tpm_pub {
        let r = RecipientKey::from_pem(&common::read_bounded(p, common::limit::KEY, "key file")?)
            .map_err(|e| CliError::from(e).context(p.display()))?;
        let name = b.authorize(
            &r,
            &format!(
                "TPM key {}",
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ),
        )?;
        eprintln!(
            "{name}: {} (sha256:{})",
            p.display(),
            hex::encode(r.fingerprint())
        );
    }
    b.set_digests(&digests, "kernel, initrd, bootargs and RTAS digests")?;
    let m = b.attach_measurement()?;
    eprintln!(
        "esm-measurement (the launch measurement of owner-rooted evidence): {}",
        hex::encode(m)
    );
    for spec in &a.attach {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--attach {spec}: expected NAME=FILE")))?;
        let data = common::read_bounded(Path::new(file), common::limit::ESM_BLOB, "attached file")?;
        b.attach(name, &data, &format!("attachment {name}"))?;
    }
    let blob = b.build()?;
    common::write_atomic(&a.output, &blob)?;
    println!("wrote {} ({} bytes)", a.output.display(), blob.len());
    Ok(exit::OK)
}

/// The passphrase: from `--passphrase-file`, else a no-echo prompt on the
/// terminal (twice when `confirm`); an error without a terminal.
fn passphrase(k: &KeyArgs, prompt: &str, confirm: bool) -> Result<Zeroizing<Vec<u8>>, CliError> {
    if let Some(f) = &k.passphrase_file {
        let mut v = Zeroizing::new(common::read_bounded(
            f,
            tee::pef::crypto::MAX_PASSPHRASE as u64 + 2,
            "passphrase file",
        )?);
        if v.ends_with(b"\n") {
            v.pop();
            if v.ends_with(b"\r") {
                v.pop();
            }
        }
        if v.is_empty() {
            return Err(CliError::usage(format!(
                "{}: empty passphrase",
                f.display()
            )));
        }
        return Ok(v);
    }
    let ask = |p: &str| {
        rpassword::prompt_password(p).map(|s| Zeroizing::new(s.into_bytes())).map_err(|e| {
            CliError::usage(format!(
                "cannot prompt for the passphrase ({e}): no terminal? give --passphrase-file FILE"
            ))
        })
    };
    let first = ask(&format!("{prompt}: "))?;
    if first.is_empty() {
        return Err(CliError::usage("empty passphrase"));
    }
    if confirm && ask("again: ")? != first {
        return Err(CliError::usage("the passphrases differ"));
    }
    Ok(first)
}

/// Read an owner private key (svm-tool's format, encrypted PKCS#8, or with
/// `--allow-unencrypted-key` an unencrypted one).
fn owner_key(path: &Path, k: &KeyArgs) -> Result<RsaKeyPair, CliError> {
    let pem = Zeroizing::new(common::read_bounded(path, common::limit::KEY, "key file")?);
    let encrypted = String::from_utf8_lossy(&pem).contains("ENCRYPTED");
    let pass = if encrypted {
        Some(passphrase(
            k,
            &format!("passphrase for {}", path.display()),
            false,
        )?)
    } else {
        None
    };
    RsaKeyPair::from_owner_pem(
        &pem,
        pass.as_ref().map(|p| p.as_slice()),
        k.allow_unencrypted_key,
    )
    .map(|(key, _)| key)
    .map_err(|e| CliError::from(e).context(path.display()))
}

fn edit(cmd: EditCmd) -> Result<u8, CliError> {
    let (target, blob_path) = match &cmd {
        EditCmd::AddMachine { blob, .. }
        | EditCmd::RevokeMachine { blob, .. }
        | EditCmd::Attach { blob, .. } => (
            blob.output.clone().unwrap_or_else(|| blob.blob.clone()),
            blob.blob.clone(),
        ),
    };
    let bytes = common::read_bounded(&blob_path, common::limit::ESM_BLOB, "ESM blob")?;
    let mut e =
        EsmBlobEditor::open(&bytes).map_err(|e| CliError::from(e).context(blob_path.display()))?;
    // K from origin-lockbox, checked against the digests before any edit.
    let master_key = |owner: &Path, k: &KeyArgs| -> Result<_, CliError> {
        let key = owner_key(owner, k)?;
        let blob = EsmBlob::parse(&bytes)?;
        let mk = blob
            .unwrap_key(tee::pef::esm::ORIGIN_LOCKBOX, &key)
            .map_err(|e| CliError::from(e).context(owner.display()))?;
        if blob.digests.is_some() {
            blob.open_digests(&mk)
                .map_err(|e| CliError::from(e).context(blob_path.display()))?;
        }
        Ok(mk)
    };
    match &cmd {
        EditCmd::AddMachine {
            tpm_pub,
            owner_key: owner,
            key,
            comment,
            ..
        } => {
            let pem = common::read_bounded(tpm_pub, common::limit::KEY, "key file")?;
            let r = RecipientKey::from_pem(&pem)
                .map_err(|e| CliError::from(e).context(tpm_pub.display()))?;
            let mk = master_key(owner, key)?;
            let default = format!(
                "TPM key {}",
                tpm_pub
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            let name = e.authorize(&mk, &r, comment.as_deref().unwrap_or(&default))?;
            println!(
                "added {name}: {} (sha256:{})",
                tpm_pub.display(),
                hex::encode(r.fingerprint())
            );
        }
        EditCmd::RevokeMachine { tpm_pub, .. } => {
            let pem = common::read_bounded(tpm_pub, common::limit::KEY, "key file")?;
            let removed = e
                .revoke(&pem)
                .map_err(|e| CliError::from(e).context(tpm_pub.display()))?;
            println!(
                "revoked {} (sha256:{})",
                removed.join(", "),
                hex::encode(sha256(&pem))
            );
        }
        EditCmd::Attach {
            name,
            file,
            owner_key: owner,
            key,
            comment,
            ..
        } => {
            let data = Zeroizing::new(common::read_bounded(
                file,
                common::limit::ESM_BLOB,
                "attached file",
            )?);
            let mk = master_key(owner, key)?;
            let default = format!("attachment {name}");
            e.attach(&mk, name, &data, comment.as_deref().unwrap_or(&default))?;
            println!("attached {name} ({} bytes)", data.len());
        }
    }
    let out = e.to_dtb()?;
    match e.uv_machine() {
        Some(_) => {}
        None => println!(
            "note: the blob has no lockbox-1, the only lockbox the ultravisor reads: it boots on no machine"
        ),
    }
    common::write_atomic(&target, &out)?;
    println!("wrote {} ({} bytes)", target.display(), out.len());
    Ok(exit::OK)
}

fn blob_file_name(blob: &Path) -> Result<String, CliError> {
    blob.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::usage(format!("{}: not a file path", blob.display())))
}

fn wrap_initrd(blob_path: &Path, initrd: &Path, out: &Path) -> Result<u8, CliError> {
    let blob = common::read_bounded(blob_path, common::limit::ESM_BLOB, "ESM blob")?;
    EsmBlob::parse(&blob).map_err(|e| CliError::from(e).context(blob_path.display()))?;
    let name = blob_file_name(blob_path)?;
    let wrapped = cpio::wrap_initrd(
        &common::read_bounded(initrd, common::limit::IMAGE, "initrd")?,
        &blob,
        &name,
    )?;
    common::write_atomic(out, &wrapped)?;
    println!(
        "wrote {} ({} bytes): cpio opt/ibm/pef/{name} ({} bytes, 512-aligned) + initrd",
        out.display(),
        wrapped.len(),
        cpio::esm_cpio(&name, &blob)?.len()
    );
    Ok(exit::OK)
}

fn inspect(path: &Path, json: bool) -> Result<u8, CliError> {
    let file = common::read_bounded(path, common::limit::IMAGE, "ESM blob or initrd")?;
    let blob = extract_blob(&file)
        .and_then(EsmBlob::parse)
        .map_err(|e| CliError::from(e).context(path.display()))?;
    if json {
        let v = serde_json::to_string_pretty(&blob)
            .map_err(|e| CliError::usage(format!("JSON: {e}")))?;
        println!("{v}");
    } else {
        print!("{}", blob.describe());
    }
    Ok(exit::OK)
}

fn check(a: &CheckArgs) -> Result<u8, CliError> {
    let machine = SimMachine::load(&a.machine)?;
    let initrd = common::read_bounded(&a.initrd, common::limit::IMAGE, "initrd")?;
    let mut image = GuestImage::new(
        common::read_bounded(&a.kernel, common::limit::IMAGE, "kernel")?,
        initrd.clone(),
        a.bootargs.clone(),
    );
    if let Some(r) = &a.rtas {
        image.rtas = common::read_bounded(r, common::limit::IMAGE, "RTAS image")?;
    }
    let mut uv = machine.boot()?;
    let o = launch(&mut uv, 1, &image);
    let kind = o.failure.as_ref().map(|f| f.kind());
    let code = match kind {
        None => exit::OK,
        Some(RefusalKind::Measurement) => exit::POLICY,
        Some(RefusalKind::Key) => exit::AUTHENTICITY,
        Some(RefusalKind::Malformed) => exit::MALFORMED,
    };
    // When the key is refused, say whether this machine is in another lockbox.
    let mut note = None;
    if kind == Some(RefusalKind::Key)
        && let Ok(blob) = extract_blob(&initrd).and_then(EsmBlob::parse)
    {
        let placement = LockboxPlacement::find(&blob, &machine.public_pem()?);
        note = (!placement.readable()).then(|| placement.to_string());
    }
    let failure = o.failure.as_ref().map(ToString::to_string);
    let uv = Arc::new(Mutex::new(uv));
    let mut files = Vec::new();
    for name in &a.get_file {
        let r = if code == exit::OK {
            let p = SimSvmProcess::new(uv.clone(), 1, 1);
            match tee::pef::guest::read_file(&p, name) {
                Ok(pt) => Ok((pt.len(), hex::encode(sha256(&pt)))),
                Err(tee::Error::Device(d)) => match d.kind {
                    tee::DeviceErrorKind::Firmware(rc) => Err(Some(rc as i64)),
                    _ => Err(None),
                },
                Err(_) => Err(None),
            }
        } else {
            // Nothing is released after a refusal; the VM is not secure.
            Err(Some(tee::pef::abi::U_PERMISSION))
        };
        files.push((name.clone(), r));
    }
    if a.json {
        let released: serde_json::Map<String, serde_json::Value> = files
            .iter()
            .map(|(n, r)| {
                let v = match r {
                    Ok((len, h)) => serde_json::json!({ "len": len, "sha256": h }),
                    Err(rc) => serde_json::json!({ "rc": rc }),
                };
                (n.clone(), v)
            })
            .collect();
        let checks: Vec<_> = o
            .checks
            .iter()
            .map(|c| serde_json::json!({ "name": c.name, "ok": c.ok }))
            .collect();
        let failed: Vec<_> = o.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
        let v = serde_json::json!({
            "secure": code == 0,
            "uv_rc": o.uv_rc,
            "guest_r3": o.guest_r3,
            "checks": checks,
            "failed_checks": failed,
            "failure": failure,
            "note": note,
            "get_file": released,
            "exit_code": code,
        });
        let text =
            serde_json::to_string_pretty(&v).map_err(|e| CliError::usage(format!("JSON: {e}")))?;
        println!("{text}");
        return Ok(code);
    }
    println!("UV_ESM on simulated machine {}:", a.machine.display());
    for c in &o.checks {
        println!("  {:<9}{}", c.name, if c.ok { "ok" } else { "MISMATCH" });
    }
    for c in o.checks.iter().filter(|c| !c.ok) {
        println!("failed check: {}", c.name);
    }
    match failure {
        None => println!("result: the VM would enter secure mode (U_SUCCESS)"),
        Some(f) => println!(
            "result: refused ({f}); the guest sees H_PARAMETER ({})",
            o.guest_r3
        ),
    }
    if let Some(n) = note {
        println!("note: {n}");
    }
    for (n, r) in &files {
        match r {
            Ok((len, h)) => println!("UV_ESMB_GET_FILE {n}: {len} bytes, sha256:{h}"),
            Err(Some(rc)) => println!("UV_ESMB_GET_FILE {n}: refused, r3 = {rc}"),
            Err(None) => println!("UV_ESMB_GET_FILE {n}: refused"),
        }
    }
    Ok(code)
}

fn show(path: &Path) -> Result<u8, CliError> {
    let bytes = common::read_bounded(path, common::limit::EVIDENCE, "report or evidence JSON")?;
    let report = match Evidence::from_json(&bytes) {
        Ok(ev) => ev.report,
        Err(_) => bytes,
    };
    let r =
        tee::pef::report::parse(&report).map_err(|e| CliError::from(e).context(path.display()))?;
    println!("PEF owner-MAC report (owner-rooted, not hardware-rooted)");
    println!("  version:     {}", r.version);
    println!("  key_id:      {}", hex::encode(r.key_id));
    println!("  report_data: {}", r.report_data);
    match r.esm_measurement {
        Some(m) => println!("  esm_measurement: {}", hex::encode(m)),
        None => println!("  esm_measurement: (none)"),
    }
    println!("  mac:         {}", hex::encode(r.mac));
    Ok(exit::OK)
}

fn step(n: u32, s: &str) {
    println!("\n[{n}] {s}");
}

fn demo() -> Result<u8, CliError> {
    println!(
        "PEF demo in the simulator (ultravisor, TPM and machine are modelled; see docs/pef.md)"
    );
    step(1, "firmware provisions the TPM wrapping key of a machine");
    let machine = SimMachine::create()?;
    let tpm_pub = machine.public_pem()?;
    println!(
        "    TPM key fingerprint sha256:{}",
        hex::encode(sha256(&tpm_pub))
    );

    step(
        2,
        "the owner builds an ESM blob: digests + attest-key, seal-key, crypttab attachments",
    );
    let kernel = b"demo kernel: objcopy -O binary -S vmlinux".repeat(64);
    let initrd = b"demo initramfs".repeat(64);
    let bootargs = "root=/dev/mapper/root svm=on";
    let mut attest_key = [0u8; 32];
    let mut seal_key = [0u8; 32];
    getrandom::fill(&mut attest_key).map_err(|e| CliError::usage(format!("random: {e}")))?;
    getrandom::fill(&mut seal_key).map_err(|e| CliError::usage(format!("random: {e}")))?;
    let origin = RsaKeyPair::generate()?;
    let mut b = EsmBlobBuilder::new(&origin.recipient()?, "demo owner")?;
    b.authorize(&RecipientKey::from_pem(&tpm_pub)?, "demo machine")?;
    b.set_digests(
        &Digests::for_slof(&kernel, &initrd, bootargs)?,
        "demo digests",
    )?;
    let measurement = b.attach_measurement()?;
    b.attach("attest-key", &attest_key, "owner attestation key")?;
    b.attach("seal-key", &seal_key, "sealing secret")?;
    b.attach("crypttab", b"root UUID=demo none luks", "LUKS passphrase")?;
    let blob = b.build()?;
    let wrapped = cpio::wrap_initrd(&initrd, &blob, "esmb.dtb")?;
    print!("{}", EsmBlob::parse(&blob)?.describe());

    step(3, "a tampered kernel is refused by UV_ESM");
    let mut bad = kernel.clone();
    if let Some(x) = bad.get_mut(100) {
        *x ^= 1;
    }
    let mut uv = machine.boot()?;
    let o = launch(&mut uv, 1, &GuestImage::new(bad, wrapped.clone(), bootargs));
    for c in &o.checks {
        println!("    {:<9}{}", c.name, if c.ok { "ok" } else { "MISMATCH" });
    }
    match &o.failure {
        Some(f) => println!("    refused: {f}; guest sees H_PARAMETER ({})", o.guest_r3),
        None => return Err(CliError::usage("demo: the tampered kernel was accepted")),
    }

    step(4, "the genuine guest enters secure mode");
    let o = launch(&mut uv, 2, &GuestImage::new(kernel, wrapped, bootargs));
    if let Some(f) = &o.failure {
        return Err(CliError::usage(format!("demo: genuine guest refused: {f}")));
    }
    println!("    all four digests match; MSR[S]=1; re-entry at kbase");
    let uv = Arc::new(Mutex::new(uv));

    step(
        5,
        "an attachment is released once (UV_ESMB_GET_FILE, 64-byte chunks)",
    );
    let be = PefBackend::with_ultracalls(
        Arc::new(SimSvmProcess::new(uv.clone(), 2, 100)),
        PefConfig::default(),
    );
    let crypttab = be.secret("crypttab")?;
    println!("    process 100 read crypttab ({} bytes)", crypttab.len());
    let other = PefBackend::with_ultracalls(
        Arc::new(SimSvmProcess::new(uv.clone(), 2, 101)),
        PefConfig::default(),
    );
    match other.secret("crypttab") {
        Err(e) => println!("    process 101 refused: {e}"),
        Ok(_) => return Err(CliError::usage("demo: the second read was allowed")),
    }

    step(
        6,
        "owner-rooted evidence: a MAC under the provisioned attestation key",
    );
    let rd = ReportData::bind(b"demo nonce", b"");
    let ev = be.attester()?.attest(&rd)?;
    let at = UnixTime::now();
    let claims = PefVerifier::with_key(&attest_key)?.verify(&ev, at)?;
    println!(
        "    verified with the owner's key; report data bound: {}",
        claims.report_data == rd
    );
    if let tee::PlatformClaims::Pef(p) = &claims.platform_claims {
        println!("    trust: {}", p.trust_statement);
    }
    println!(
        "    launch measurement is the blob's ESM measurement: {}",
        claims
            .launch_measurement
            .value()
            .map(|m| m.0 == measurement)
            == Some(true)
    );
    match PefVerifier::new().verify(&ev, at) {
        Err(e) => println!("    without the key: {e}"),
        Ok(_) => return Err(CliError::usage("demo: verified without a key")),
    }

    step(
        7,
        "sealing under a key derived from the seal-key attachment",
    );
    let pol = SealPolicy::measurement("demo");
    let sealed = be.sealer()?.seal(b"demo secret", &pol)?;
    let opened = be.sealer()?.unseal(&sealed, &pol)?;
    println!(
        "    sealed {} bytes, unsealed: {}",
        sealed.len(),
        opened.as_slice() == b"demo secret"
    );
    println!(
        "\nruntime measurement: {}",
        be.runtime_measurement()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    );
    Ok(exit::OK)
}

/// Evidence from a raw owner-MAC report file.
pub(crate) fn evidence(report: Option<&Path>) -> Result<Evidence, CliError> {
    let p = report.ok_or_else(|| {
        CliError::usage("PEF: give --report FILE (a raw owner-MAC report) or --evidence FILE")
    })?;
    let bytes = common::read_bounded(p, common::limit::PEF_REPORT, "PEF report")?;
    tee::pef::report::parse(&bytes).map_err(|e| CliError::from(e).context(p.display()))?;
    Ok(Evidence::new(
        Platform::Pef,
        tee::evidence::format::PEF_OWNER_MAC,
        bytes,
    ))
}

/// The verifier holding the owner's key, if given.
pub(crate) fn verifier(a: &PefVerifyArgs) -> Result<Box<dyn Verifier>, CliError> {
    match &a.attestation_key {
        Some(p) => Ok(Box::new(
            PefVerifier::with_key(&common::read_bounded(p, common::limit::KEY, "key file")?)
                .map_err(|e| CliError::from(e).context(p.display()))?,
        )),
        // Fails verification with MissingEndorsement, explaining the key is needed.
        None => Ok(Box::new(PefVerifier::new())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use clap::Parser as _;

    fn teectl(args: &[&str]) -> u8 {
        let mut v = vec!["teectl"];
        v.extend_from_slice(args);
        let cli = crate::Cli::try_parse_from(v).expect("arguments parse");
        match crate::run(cli) {
            Ok(c) => c,
            Err(e) => e.code,
        }
    }

    #[test]
    fn build_wrap_check_exit_codes() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n).to_str().unwrap().to_owned();
        assert_eq!(teectl(&["pef", "sim-machine", "--dir", &p("m1")]), 0);
        assert_eq!(teectl(&["pef", "sim-machine", "--dir", &p("m2")]), 0);
        std::fs::write(p("kernel"), b"kernel bytes ".repeat(100)).unwrap();
        std::fs::write(p("kernel2"), b"kernel bytez ".repeat(100)).unwrap();
        std::fs::write(p("initrd"), b"initramfs").unwrap();
        std::fs::write(p("pass"), b"passphrase").unwrap();
        std::fs::write(p("pw"), b"owner key passphrase\n").unwrap();
        let attach = format!("crypttab={}", p("pass"));
        let tpm = p("m1/tpm-pub.pem");
        assert_eq!(
            teectl(&[
                "pef",
                "build-blob",
                "--tpm-pub",
                &tpm,
                "--kernel",
                &p("kernel"),
                "--initrd",
                &p("initrd"),
                "--bootargs",
                "svm=on quiet",
                "--attach",
                &attach,
                "--passphrase-file",
                &p("pw"),
                "-o",
                &p("esmb.dtb"),
            ]),
            0
        );
        assert!(d.path().join("esmb.dtb.origin-key.pem").is_file());
        let written = std::fs::read_to_string(p("esmb.dtb.origin-key.pem")).unwrap();
        assert!(
            written.contains("DEK-Info: DES-EDE3-CBC,"),
            "svm-tool's format"
        );
        let okey = format!("{}.origin-key.pem", p("esmb.dtb"));
        assert_eq!(
            teectl(&[
                "pef",
                "build-blob",
                "--tpm-pub",
                &tpm,
                "--kernel",
                &p("kernel"),
                "--initrd",
                &p("initrd"),
                "--bootargs",
                "svm=on quiet",
                "--origin-key",
                &okey,
                "--passphrase-file",
                &p("pw"),
                "-o",
                &p("esmb2.dtb"),
            ]),
            0
        );
        // Without its passphrase (no terminal here): usage error.
        assert_eq!(
            teectl(&[
                "pef",
                "build-blob",
                "--tpm-pub",
                &tpm,
                "--kernel",
                &p("kernel"),
                "--initrd",
                &p("initrd"),
                "--bootargs",
                "svm=on quiet",
                "--origin-key",
                &okey,
                "-o",
                &p("esmb3.dtb"),
            ]),
            1
        );
        assert!(!d.path().join("esmb2.dtb.origin-key.pem").exists());
        assert_eq!(
            teectl(&[
                "pef",
                "wrap-initrd",
                "--blob",
                &p("esmb.dtb"),
                "--initrd",
                &p("initrd"),
                "-o",
                &p("w")
            ]),
            0
        );
        assert_eq!(teectl(&["pef", "inspect", &p("esmb.dtb")]), 0);
        assert_eq!(
            teectl(&[
                "pef",
                "measurement",
                "--kernel",
                &p("kernel"),
                "--initrd",
                &p("initrd"),
                "--bootargs",
                "svm=on quiet"
            ]),
            0
        );
        assert_eq!(teectl(&["pef", "inspect", "--json", &p("w")]), 0);
        let check = |m: &str, k: &str, i: &str, b: &str| {
            teectl(&[
                "pef",
                "check",
                "--machine",
                &p(m),
                "--kernel",
                &p(k),
                "--initrd",
                &p(i),
                "--bootargs",
                b,
            ])
        };
        assert_eq!(check("m1", "kernel", "w", "svm=on quiet"), 0);
        assert_eq!(check("m1", "kernel", "w", "svm=on quiet "), 4);
        assert_eq!(check("m1", "kernel2", "w", "svm=on quiet"), 4);
        assert_eq!(check("m2", "kernel", "w", "svm=on quiet"), 3);
        assert_eq!(check("m1", "kernel", "initrd", "svm=on quiet"), 2);
        std::fs::write(p("garbage"), b"garbage").unwrap();
        assert_eq!(teectl(&["pef", "inspect", &p("garbage")]), 2);
        assert_eq!(
            teectl(&[
                "pef",
                "build-blob",
                "--tpm-pub",
                &p("garbage"),
                "--kernel",
                &p("kernel"),
                "--initrd",
                &p("initrd"),
                "--bootargs",
                "x",
                "--origin-key",
                &tpm,
                "-o",
                &p("b2")
            ]),
            2
        );
        assert_eq!(
            teectl(&[
                "pef",
                "check",
                "--machine",
                &p("nope"),
                "--kernel",
                &p("kernel"),
                "--initrd",
                &p("w"),
                "--bootargs",
                "x"
            ]),
            1
        );
    }

    #[test]
    fn verify_owner_rooted_evidence() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n).to_str().unwrap().to_owned();
        let key = [0x42u8; 32];
        std::fs::write(p("key"), key).unwrap();
        std::fs::write(p("other"), [0x43u8; 32]).unwrap();
        let rd = tee::ReportData::bind(b"\x01\x02", b"");
        let ev = tee::Evidence::new(
            tee::Platform::Pef,
            tee::evidence::format::PEF_OWNER_MAC,
            tee::pef::report::produce(&key, &rd, None).unwrap(),
        );
        std::fs::write(p("ev.json"), ev.to_json().unwrap()).unwrap();
        std::fs::write(p("report.bin"), &ev.report).unwrap();
        let at = "2026-01-01T00:00:00Z";
        assert_eq!(
            teectl(&[
                "verify",
                "--evidence",
                &p("ev.json"),
                "--attestation-key",
                &p("key"),
                "--nonce",
                "0102",
                "--at",
                at,
                "--allow-any-measurement"
            ]),
            0
        );
        assert_eq!(
            teectl(&["verify", "--evidence", &p("ev.json"), "--at", at]),
            3,
            "no key: missing endorsement"
        );
        assert_eq!(
            teectl(&[
                "verify",
                "--evidence",
                &p("ev.json"),
                "--attestation-key",
                &p("other"),
                "--at",
                at
            ]),
            3
        );
        assert_eq!(
            teectl(&[
                "verify",
                "--evidence",
                &p("ev.json"),
                "--attestation-key",
                &p("key"),
                "--nonce",
                "0103",
                "--at",
                at
            ]),
            4
        );
        assert_eq!(teectl(&["pef", "show", &p("ev.json")]), 0);
        assert_eq!(teectl(&["pef", "show", &p("report.bin")]), 0);
    }

    #[test]
    fn demo_runs() {
        assert_eq!(teectl(&["pef", "demo"]), 0);
    }
}
