//! The ESM (enter secure mode) blob: builder (owner side, what svm-tool
//! `esm make` produces), strict parser and inspector (svm-tool
//! `valid_esm`), and the digests and files trees (model §7).
//!
//! Layout (outer FDT, §7.2):
//!
//! ```text
//! / { compatible = "ibm,esm";
//!     lockboxes { origin-lockbox { untrusted-comment; encrypted-symkey;
//!                                  pubkey-fingerprint { algorithm = "SHA256"; hash; } };
//!                 lockbox-1 { ... }; lockbox-2 { ... }; };
//!     digest { digests-fdt { algorithm = "AES256-GCM"; untrusted-comment;
//!                            ciphertext; iv (16); mac (16); }; };
//!     file { files-fdt = [nested FDT, compatible "ibm,esm-file", /files/<name>]; }; };
//! ```
//!
//! There are no signatures: the blob's integrity rests only on AES-GCM
//! under the master key K, and anyone holding a lockbox private key (the
//! owner's origin key, or an authorised TPM) knows K.

use serde::Serialize;
use tee_core::{Error, Result};
use zeroize::Zeroizing;

use crate::crypto::{
    GcmBox, MasterKey, RecipientKey, RsaKeyPair, gcm_open, gcm_seal, new_master_key, sha512,
};
use crate::fdt::{self, Node};

/// Root `compatible` of the outer FDT and of the digests FDT.
pub const ESM_COMPATIBLE: &str = "ibm,esm";
/// Root `compatible` of the files FDT.
pub const ESM_FILE_COMPATIBLE: &str = "ibm,esm-file";
/// The lockbox name the ultravisor reads (it ignores all others).
pub const UV_LOCKBOX: &str = "lockbox-1";
/// The owner's lockbox.
pub const ORIGIN_LOCKBOX: &str = "origin-lockbox";
/// The UV's buffer for the decrypted digests FDT is 4096 bytes; the model
/// requires the digests FDT to be smaller than that.
pub const MAX_DIGESTS_FDT: usize = 4095;
/// `files-fdt` is copied into one 64 KiB page without a length check.
pub const MAX_FILES_FDT: usize = 64 * 1024;
/// Attachment ciphertext lengths are held in a `uint16_t`.
pub const MAX_ATTACHMENT: usize = 0xFFFF;
/// The SDK's attachment carrying [`Digests::measurement`] (an SDK
/// convention, not svm-tool's; see [`EsmBlobBuilder::attach_measurement`]).
pub const MEASUREMENT_ATTACHMENT: &str = "esm-measurement";
/// Domain separator of [`Digests::measurement`].
pub const MEASUREMENT_DOMAIN: &[u8] = b"tee-pef/esm-measurement/v1";
/// Largest outer blob the parser accepts (generous; the UV has no single limit).
pub const MAX_BLOB: usize = 1 << 20;

/// SLOF's 20-byte RTAS stub: `mr r4,r3; lis r3,0; ori r3,r3,0xf000 (H_RTAS); sc 1; blr`.
pub const SLOF_RTAS_STUB: [u8; 20] = [
    0x7c, 0x64, 0x1b, 0x78, 0x3c, 0x60, 0x00, 0x00, 0x60, 0x63, 0xf0, 0x00, 0x44, 0x00, 0x00, 0x22,
    0x4e, 0x80, 0x00, 0x20,
];

/// The RTAS digest svm-tool hard-codes (SVMT `rtas_sha512.py`); equal to
/// SHA-512 of [`SLOF_RTAS_STUB`] (self-check test).
pub const SLOF_RTAS_SHA512_HEX: &str = "189698638580422ea58a0968ecce2436daeb2c91a339c14b0ab2bc623c1649fe274074a4a92679dc61e5528d68778ba3c82f1b1f7e9a5958238b80497fc37f48";

const WHAT: &str = "ESM blob";
const WHAT_DIGESTS: &str = "ESM digests FDT";
const WHAT_FILES: &str = "ESM files FDT";

/// The four digests the ultravisor checks (model §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// SHA-512 of the RTAS stub.
    pub rtas: [u8; 64],
    /// SHA-512 of the flat kernel binary (`objcopy -O binary -S vmlinux`).
    pub kernel: [u8; 64],
    /// Length of that binary.
    pub kernel_size: u32,
    /// SHA-512 of the initrd *before* the ESM cpio is prepended.
    pub initrd: [u8; 64],
    /// SHA-512 of the exact boot arguments, without a NUL.
    pub bootargs: [u8; 64],
}

impl Digests {
    /// Compute the digests for an explicit RTAS image.
    ///
    /// # Errors
    /// [`Error::Misuse`] for a kernel over 4 GiB or boot arguments containing NUL.
    pub fn compute(rtas: &[u8], kernel: &[u8], initrd: &[u8], bootargs: &str) -> Result<Self> {
        let kernel_size = u32::try_from(kernel.len())
            .map_err(|_| Error::Misuse("kernel binary over 4 GiB".into()))?;
        if bootargs.contains('\0') {
            return Err(Error::Misuse("boot arguments must not contain NUL".into()));
        }
        Ok(Self {
            rtas: sha512(rtas),
            kernel: sha512(kernel),
            kernel_size,
            initrd: sha512(initrd),
            bootargs: sha512(bootargs.as_bytes()),
        })
    }

    /// Compute the digests for QEMU/SLOF's RTAS stub (what svm-tool does).
    ///
    /// # Errors
    /// As [`Digests::compute`].
    pub fn for_slof(kernel: &[u8], initrd: &[u8], bootargs: &str) -> Result<Self> {
        Self::compute(&SLOF_RTAS_STUB, kernel, initrd, bootargs)
    }

    /// One value naming everything the ultravisor compares:
    /// `SHA-512("tee-pef/esm-measurement/v1" ‖ rtas ‖ kernel ‖ u32be(kernel_size) ‖ initrd ‖ bootargs)`.
    /// A relying party recomputes it from the kernel, initrd and boot
    /// arguments it expects ([`Digests::for_slof`]).
    pub fn measurement(&self) -> [u8; 64] {
        use sha2::{Digest, Sha512};
        Sha512::new()
            .chain_update(MEASUREMENT_DOMAIN)
            .chain_update(self.rtas)
            .chain_update(self.kernel)
            .chain_update(self.kernel_size.to_be_bytes())
            .chain_update(self.initrd)
            .chain_update(self.bootargs)
            .finalize()
            .into()
    }

    /// The digests FDT (plaintext inside `/digest/digests-fdt`).
    pub fn to_fdt(&self) -> Vec<u8> {
        Node::new("")
            .with_str("compatible", ESM_COMPATIBLE)
            .with_child(
                Node::new("digests")
                    .with_str("algorithm", "SHA512")
                    .with_prop("rtas", self.rtas.to_vec())
                    .with_prop("kernel", self.kernel.to_vec())
                    .with_u32("kernel-size", self.kernel_size)
                    .with_prop("initrd", self.initrd.to_vec())
                    .with_prop("bootargs", self.bootargs.to_vec()),
            )
            .to_dtb()
    }

    /// Parse a digests FDT. Every property must be present with its exact
    /// size (the UV aborts before comparing when one is missing).
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the missing or bad property.
    pub fn from_fdt(bytes: &[u8]) -> Result<Self> {
        let root = fdt::parse(bytes)?;
        let d = root
            .child("digests")
            .ok_or_else(|| Error::bad_field(WHAT_DIGESTS, "/digests", "missing"))?;
        if d.prop_str("algorithm") != Some("SHA512") {
            return Err(Error::bad_field(
                WHAT_DIGESTS,
                "algorithm",
                "not \"SHA512\"",
            ));
        }
        let get = |name: &'static str| -> Result<[u8; 64]> {
            let v = d
                .prop(name)
                .ok_or_else(|| Error::bad_field(WHAT_DIGESTS, name, "missing"))?;
            v.try_into()
                .map_err(|_| Error::bad_field(WHAT_DIGESTS, name, "not 64 bytes"))
        };
        let ks = d
            .prop("kernel-size")
            .ok_or_else(|| Error::bad_field(WHAT_DIGESTS, "kernel-size", "missing"))?;
        let ks: [u8; 4] = ks
            .try_into()
            .map_err(|_| Error::bad_field(WHAT_DIGESTS, "kernel-size", "not a u32"))?;
        Ok(Self {
            rtas: get("rtas")?,
            kernel: get("kernel")?,
            kernel_size: u32::from_be_bytes(ks),
            initrd: get("initrd")?,
            bootargs: get("bootargs")?,
        })
    }
}

fn check_comment(c: &str) -> Result<()> {
    if c.contains(['\n', '\0']) {
        return Err(Error::Misuse(
            "untrusted comments must not contain a newline or NUL".into(),
        ));
    }
    Ok(())
}

/// Whether `name` is a valid attachment name: `^[A-Za-z][0-9A-Za-z,._+-]{0,30}$`.
pub fn valid_attachment_name(name: &str) -> bool {
    let b = name.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_alphabetic())
        && b.len() <= 31
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b",._+-".contains(c))
}

#[derive(Debug, Clone)]
struct LockboxEntry {
    name: String,
    comment: String,
    symkey: Vec<u8>,
    fingerprint: [u8; 32],
}

impl LockboxEntry {
    fn node(&self) -> Node {
        Node::new(self.name.clone())
            .with_str("untrusted-comment", &self.comment)
            .with_prop("encrypted-symkey", self.symkey.clone())
            .with_child(
                Node::new("pubkey-fingerprint")
                    .with_str("algorithm", "SHA256")
                    .with_prop("hash", self.fingerprint.to_vec()),
            )
    }
}

#[derive(Debug, Clone)]
struct SealedEntry {
    comment: String,
    gcm: GcmBox,
}

impl SealedEntry {
    fn node(&self, name: &str) -> Node {
        Node::new(name)
            .with_str("algorithm", "AES256-GCM")
            .with_str("untrusted-comment", &self.comment)
            .with_prop("ciphertext", self.gcm.ciphertext.clone())
            .with_prop("iv", self.gcm.iv.to_vec())
            .with_prop("mac", self.gcm.mac.to_vec())
    }
}

/// Builds an ESM blob (svm-tool `esm create` → `authorize` → `digest` → `attach`).
#[derive(Debug)]
pub struct EsmBlobBuilder {
    key: MasterKey,
    origin: LockboxEntry,
    recipients: Vec<(u32, LockboxEntry)>,
    digests: Option<SealedEntry>,
    digest_values: Option<Digests>,
    files: Vec<(String, SealedEntry)>,
}

impl EsmBlobBuilder {
    /// Start a blob: generate K and write the origin lockbox for the owner's key.
    ///
    /// # Errors
    /// [`Error::Misuse`] for a comment with a newline; [`Error::Device`] if randomness fails.
    pub fn new(origin: &RecipientKey, comment: &str) -> Result<Self> {
        check_comment(comment)?;
        let key = new_master_key()?;
        let symkey = origin.wrap(&key)?;
        Ok(Self {
            origin: LockboxEntry {
                name: ORIGIN_LOCKBOX.into(),
                comment: comment.into(),
                symkey,
                fingerprint: origin.fingerprint(),
            },
            key,
            recipients: Vec::new(),
            digests: None,
            digest_values: None,
            files: Vec::new(),
        })
    }

    /// Authorise a machine (its TPM wrapping key PEM): adds `lockbox-(max+1)`
    /// and returns its name. Only `lockbox-1` is read by the ultravisor.
    ///
    /// # Errors
    /// [`Error::Misuse`] for a bad comment or a key already authorised.
    pub fn authorize(&mut self, recipient: &RecipientKey, comment: &str) -> Result<String> {
        check_comment(comment)?;
        let fp = recipient.fingerprint();
        if self.recipients.iter().any(|(_, l)| l.fingerprint == fp) {
            return Err(Error::Misuse(
                "this public key is already authorised".into(),
            ));
        }
        let n = self.recipients.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
        let name = format!("lockbox-{n}");
        self.recipients.push((
            n,
            LockboxEntry {
                name: name.clone(),
                comment: comment.into(),
                symkey: recipient.wrap(&self.key)?,
                fingerprint: fp,
            },
        ));
        Ok(name)
    }

    /// Encrypt the digests into `/digest/digests-fdt`.
    ///
    /// # Errors
    /// [`Error::Misuse`] for a bad comment or a digests FDT over the UV's buffer.
    pub fn set_digests(&mut self, digests: &Digests, comment: &str) -> Result<()> {
        check_comment(comment)?;
        let pt = Zeroizing::new(digests.to_fdt());
        if pt.len() > MAX_DIGESTS_FDT {
            return Err(Error::Misuse(
                "digests FDT exceeds the ultravisor's 4 KiB buffer".into(),
            ));
        }
        self.digests = Some(SealedEntry {
            comment: comment.into(),
            gcm: gcm_seal(&self.key, &pt)?,
        });
        self.digest_values = Some(digests.clone());
        Ok(())
    }

    /// Attach [`Digests::measurement`] of the digests set so far as
    /// [`MEASUREMENT_ATTACHMENT`], so that owner-rooted evidence can carry
    /// it as its launch measurement. Returns the measurement.
    ///
    /// # Errors
    /// [`Error::Misuse`] if no digests were set or it is already attached.
    pub fn attach_measurement(&mut self) -> Result<[u8; 64]> {
        let m = self
            .digest_values
            .as_ref()
            .ok_or(Error::Misuse(
                "set the digests before attaching their measurement".into(),
            ))?
            .measurement();
        self.attach(MEASUREMENT_ATTACHMENT, &m, "tee-pef ESM measurement")?;
        Ok(m)
    }

    /// Attach a secret file, released to the SVM through `UV_ESMB_GET_FILE`.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an invalid or duplicate name, a bad comment, or
    /// data over [`MAX_ATTACHMENT`] bytes.
    pub fn attach(&mut self, name: &str, data: &[u8], comment: &str) -> Result<()> {
        check_comment(comment)?;
        if !valid_attachment_name(name) {
            return Err(Error::Misuse(
                "attachment names must match ^[A-Za-z][0-9A-Za-z,._+-]{0,30}$".into(),
            ));
        }
        if self.files.iter().any(|(n, _)| n == name) {
            return Err(Error::Misuse("duplicate attachment name".into()));
        }
        if data.len() > MAX_ATTACHMENT {
            return Err(Error::Misuse(
                "attachments must be smaller than 64 KiB".into(),
            ));
        }
        self.files.push((
            name.into(),
            SealedEntry {
                comment: comment.into(),
                gcm: gcm_seal(&self.key, data)?,
            },
        ));
        Ok(())
    }

    /// The outer FDT.
    ///
    /// # Errors
    /// [`Error::Misuse`] if the files FDT exceeds 64 KiB.
    pub fn build(&self) -> Result<Vec<u8>> {
        let mut lockboxes = Node::new("lockboxes").with_child(self.origin.node());
        for (_, l) in &self.recipients {
            lockboxes = lockboxes.with_child(l.node());
        }
        let mut digest = Node::new("digest");
        if let Some(d) = &self.digests {
            digest = digest.with_child(d.node("digests-fdt"));
        }
        let mut files = Node::new("files");
        for (name, f) in &self.files {
            files = files.with_child(f.node(name));
        }
        let files_fdt = Node::new("")
            .with_str("compatible", ESM_FILE_COMPATIBLE)
            .with_child(files)
            .to_dtb();
        if files_fdt.len() > MAX_FILES_FDT {
            return Err(Error::Misuse(
                "files FDT exceeds the ultravisor's 64 KiB page".into(),
            ));
        }
        Ok(Node::new("")
            .with_str("compatible", ESM_COMPATIBLE)
            .with_child(lockboxes)
            .with_child(digest)
            .with_child(Node::new("file").with_prop("files-fdt", files_fdt))
            .to_dtb())
    }
}

/// One lockbox as parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lockbox {
    /// `origin-lockbox` or `lockbox-<n>`.
    pub name: String,
    /// The untrusted comment.
    pub comment: String,
    /// SHA-256 of the recipient's PEM file (hex in JSON).
    #[serde(with = "hex::serde")]
    pub fingerprint: Vec<u8>,
    /// The wrapped master key (hex in JSON).
    #[serde(with = "hex::serde")]
    pub encrypted_symkey: Vec<u8>,
}

/// One AES-GCM item (the digests or an attachment) as parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealedItem {
    /// Node name (`digests-fdt` or the attachment name).
    pub name: String,
    /// The untrusted comment.
    pub comment: String,
    /// Ciphertext (not shown in JSON; only its length).
    #[serde(skip)]
    pub ciphertext: Vec<u8>,
    /// Ciphertext length.
    pub ciphertext_len: usize,
    /// 16-byte nonce.
    #[serde(with = "hex::serde")]
    pub iv: Vec<u8>,
    /// 16-byte tag.
    #[serde(with = "hex::serde")]
    pub mac: Vec<u8>,
}

impl SealedItem {
    fn parse(what: &'static str, n: &Node) -> Result<Self> {
        let allowed = ["algorithm", "untrusted-comment", "ciphertext", "iv", "mac"];
        if let Some(p) = n.props.iter().find(|p| !allowed.contains(&p.name.as_str())) {
            return Err(Error::bad_field(
                what,
                "property",
                format_args!("unexpected `{}` in `{}`", p.name, n.name),
            ));
        }
        if n.prop_str("algorithm") != Some("AES256-GCM") {
            return Err(Error::bad_field(what, "algorithm", "not \"AES256-GCM\""));
        }
        let comment = comment_of(what, n)?;
        let ciphertext = n
            .prop("ciphertext")
            .ok_or_else(|| Error::bad_field(what, "ciphertext", "missing"))?
            .to_vec();
        let iv = n
            .prop("iv")
            .ok_or_else(|| Error::bad_field(what, "iv", "missing"))?
            .to_vec();
        let mac = n
            .prop("mac")
            .ok_or_else(|| Error::bad_field(what, "mac", "missing"))?
            .to_vec();
        if iv.len() != 16 {
            return Err(Error::bad_field(what, "iv", "not 16 bytes"));
        }
        if mac.len() != 16 {
            return Err(Error::bad_field(what, "mac", "not 16 bytes"));
        }
        Ok(Self {
            name: n.name.clone(),
            comment,
            ciphertext_len: ciphertext.len(),
            ciphertext,
            iv,
            mac,
        })
    }

    /// Decrypt under K.
    ///
    /// # Errors
    /// [`Error::Authenticity`] (`Mismatch`) when the tag does not verify.
    pub fn open(&self, k: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>> {
        gcm_open(k, &self.iv, &self.mac, &self.ciphertext).ok_or(Error::Authenticity(
            tee_core::Authenticity::Mismatch {
                what: "AES-256-GCM tag",
                detail: format!("`{}` does not decrypt under this master key", self.name),
            },
        ))
    }
}

fn comment_of(what: &'static str, n: &Node) -> Result<String> {
    let c = n
        .prop_str("untrusted-comment")
        .ok_or_else(|| Error::bad_field(what, "untrusted-comment", "missing or not a string"))?;
    if c.contains('\n') {
        return Err(Error::bad_field(
            what,
            "untrusted-comment",
            "contains a newline",
        ));
    }
    Ok(c.into())
}

/// A parsed, structurally valid ESM blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EsmBlob {
    /// Total length in bytes.
    pub total_len: usize,
    /// Lockboxes in blob order.
    pub lockboxes: Vec<Lockbox>,
    /// The encrypted digests, if `esm digest` ran.
    pub digests: Option<SealedItem>,
    /// The attachments.
    pub attachments: Vec<SealedItem>,
    /// Length of the nested files FDT.
    pub files_fdt_len: usize,
}

fn lockbox_name_ok(name: &str) -> bool {
    name == ORIGIN_LOCKBOX
        || name.strip_prefix("lockbox-").is_some_and(|n| {
            !n.is_empty()
                && n.bytes().all(|c| c.is_ascii_digit())
                && !n.starts_with('0')
                && n.parse::<u32>().is_ok()
        })
}

impl EsmBlob {
    /// Parse and validate a blob (the rules of svm-tool `valid_esm`, plus
    /// the model's size limits).
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the violated rule.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_BLOB {
            return Err(Error::malformed(
                WHAT,
                tee_core::MalformedKind::BadLength {
                    expected: MAX_BLOB,
                    actual: bytes.len(),
                },
            ));
        }
        let root = fdt::parse(bytes)?;
        if root.props.len() != 1 || root.prop_str("compatible") != Some(ESM_COMPATIBLE) {
            return Err(Error::bad_field(
                WHAT,
                "compatible",
                "the root must have only compatible = \"ibm,esm\"",
            ));
        }
        let mut names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if names != ["digest", "file", "lockboxes"] {
            return Err(Error::bad_field(
                WHAT,
                "/",
                "the root must have exactly the nodes lockboxes, digest and file",
            ));
        }
        let lb = root
            .child("lockboxes")
            .ok_or_else(|| Error::bad_field(WHAT, "lockboxes", "missing"))?;
        if !lb.props.is_empty() {
            return Err(Error::bad_field(WHAT, "lockboxes", "unexpected property"));
        }
        let mut lockboxes = Vec::new();
        for n in &lb.children {
            if !lockbox_name_ok(&n.name) {
                return Err(Error::bad_field(
                    WHAT,
                    "lockbox name",
                    format_args!("`{}` is not origin-lockbox or lockbox-<n>", n.name),
                ));
            }
            if lockboxes.iter().any(|l: &Lockbox| l.name == n.name) {
                return Err(Error::bad_field(WHAT, "lockbox name", "duplicate"));
            }
            let mut pn: Vec<&str> = n.props.iter().map(|p| p.name.as_str()).collect();
            pn.sort_unstable();
            if pn != ["encrypted-symkey", "untrusted-comment"] || n.children.len() != 1 {
                return Err(Error::bad_field(
                    WHAT,
                    "lockbox",
                    format_args!(
                        "`{}` must have exactly untrusted-comment, encrypted-symkey and pubkey-fingerprint",
                        n.name
                    ),
                ));
            }
            let fp = n
                .child("pubkey-fingerprint")
                .ok_or_else(|| Error::bad_field(WHAT, "pubkey-fingerprint", "missing"))?;
            if fp.prop_str("algorithm") != Some("SHA256") {
                return Err(Error::bad_field(
                    WHAT,
                    "pubkey-fingerprint",
                    "algorithm is not \"SHA256\"",
                ));
            }
            let hash = fp
                .prop("hash")
                .ok_or_else(|| Error::bad_field(WHAT, "pubkey-fingerprint", "hash missing"))?;
            if hash.len() != 32 {
                return Err(Error::bad_field(
                    WHAT,
                    "pubkey-fingerprint",
                    "hash is not 32 bytes",
                ));
            }
            lockboxes.push(Lockbox {
                name: n.name.clone(),
                comment: comment_of(WHAT, n)?,
                fingerprint: hash.to_vec(),
                encrypted_symkey: n.prop("encrypted-symkey").unwrap_or(&[]).to_vec(),
            });
        }
        if !lockboxes.iter().any(|l| l.name == ORIGIN_LOCKBOX) {
            return Err(Error::bad_field(
                WHAT,
                "lockboxes",
                "origin-lockbox missing",
            ));
        }
        let dg = root
            .child("digest")
            .ok_or_else(|| Error::bad_field(WHAT, "digest", "missing"))?;
        let digests = match (dg.children.as_slice(), dg.props.is_empty()) {
            ([], true) => None,
            ([d], true) if d.name == "digests-fdt" => Some(SealedItem::parse(WHAT, d)?),
            _ => {
                return Err(Error::bad_field(
                    WHAT,
                    "digest",
                    "must hold only digests-fdt",
                ));
            }
        };
        let file = root
            .child("file")
            .ok_or_else(|| Error::bad_field(WHAT, "file", "missing"))?;
        let (attachments, files_fdt_len) = match (
            file.prop("files-fdt"),
            file.props.len(),
            file.children.is_empty(),
        ) {
            (None, 0, true) => (Vec::new(), 0),
            (Some(f), 1, true) => (parse_files_fdt(f)?, f.len()),
            _ => {
                return Err(Error::bad_field(
                    WHAT,
                    "file",
                    "must hold only the files-fdt property",
                ));
            }
        };
        Ok(Self {
            total_len: bytes.len(),
            lockboxes,
            digests,
            attachments,
            files_fdt_len,
        })
    }

    /// A lockbox by name.
    pub fn lockbox(&self, name: &str) -> Option<&Lockbox> {
        self.lockboxes.iter().find(|l| l.name == name)
    }

    /// Unwrap K from `lockbox` with a private key (the owner's origin key,
    /// or a simulated TPM's key in tests).
    ///
    /// # Errors
    /// [`Error::Misuse`] for an unknown lockbox; [`Error::Authenticity`]
    /// (`Mismatch`) if the key does not unwrap it.
    pub fn unwrap_key(&self, lockbox: &str, key: &RsaKeyPair) -> Result<MasterKey> {
        let lb = self
            .lockbox(lockbox)
            .ok_or_else(|| Error::Misuse(format!("no lockbox named `{lockbox}`").into()))?;
        key.unwrap_key(&lb.encrypted_symkey).ok_or_else(|| {
            Error::Authenticity(tee_core::Authenticity::Mismatch {
                what: "lockbox",
                detail: format!("`{lockbox}` does not unwrap with this key"),
            })
        })
    }

    /// Decrypt the digests under K.
    ///
    /// # Errors
    /// [`Error::Misuse`] if the blob has no digests; [`Error::Authenticity`]
    /// if K is wrong or the digests were modified; [`Error::Malformed`] for
    /// a bad digests FDT.
    pub fn open_digests(&self, k: &[u8; 32]) -> Result<Digests> {
        let d = self
            .digests
            .as_ref()
            .ok_or(Error::Misuse("the blob has no digests".into()))?;
        let pt = d.open(k)?;
        Digests::from_fdt(&pt)
    }

    /// Decrypt one attachment under K.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an unknown name; [`Error::Authenticity`] if K is wrong.
    pub fn open_attachment(&self, name: &str, k: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>> {
        self.attachments
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::Misuse(format!("no attachment named `{name}`").into()))?
            .open(k)
    }

    /// A human-readable description: structure, lockboxes and fingerprints,
    /// sizes. Never a secret (ciphertexts are shown only by length).
    pub fn describe(&self) -> String {
        use core::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ESM blob: {} bytes, compatible \"{ESM_COMPATIBLE}\"",
            self.total_len
        );
        let _ = writeln!(s, "lockboxes ({}):", self.lockboxes.len());
        for l in &self.lockboxes {
            let note = match l.name.as_str() {
                ORIGIN_LOCKBOX => " (owner; never read by the ultravisor)",
                UV_LOCKBOX => " (the only lockbox the ultravisor reads)",
                _ => " (ignored by the ultravisor, which reads only lockbox-1)",
            };
            let _ = writeln!(s, "  {}{note}", l.name);
            let _ = writeln!(s, "    comment:     {:?}", l.comment);
            let _ = writeln!(s, "    fingerprint: sha256:{}", hex::encode(&l.fingerprint));
            let _ = writeln!(
                s,
                "    wrapped key: {} bytes (RSA-OAEP-SHA256)",
                l.encrypted_symkey.len()
            );
        }
        match &self.digests {
            Some(d) => {
                let _ = writeln!(
                    s,
                    "digests: AES256-GCM, {} bytes ciphertext, comment {:?}",
                    d.ciphertext_len, d.comment
                );
            }
            None => {
                let _ = writeln!(s, "digests: none (the ultravisor will refuse this blob)");
            }
        }
        let _ = writeln!(
            s,
            "files-fdt: {} bytes, {} attachment(s)",
            self.files_fdt_len,
            self.attachments.len()
        );
        for a in &self.attachments {
            let _ = writeln!(
                s,
                "  {}: {} bytes ciphertext, comment {:?}",
                a.name, a.ciphertext_len, a.comment
            );
        }
        s
    }
}

fn parse_files_fdt(bytes: &[u8]) -> Result<Vec<SealedItem>> {
    if bytes.len() > MAX_FILES_FDT {
        return Err(Error::malformed(
            WHAT_FILES,
            tee_core::MalformedKind::BadLength {
                expected: MAX_FILES_FDT,
                actual: bytes.len(),
            },
        ));
    }
    let root = fdt::parse(bytes)?;
    if root.prop_str("compatible") != Some(ESM_FILE_COMPATIBLE) {
        return Err(Error::bad_field(
            WHAT_FILES,
            "compatible",
            "not \"ibm,esm-file\"",
        ));
    }
    let Some(files) = root.child("files") else {
        return Ok(Vec::new());
    };
    let mut out: Vec<SealedItem> = Vec::new();
    for f in &files.children {
        if !valid_attachment_name(&f.name) {
            return Err(Error::bad_field(
                WHAT_FILES,
                "attachment name",
                format_args!("`{}` is not a valid name", f.name),
            ));
        }
        if out.iter().any(|o| o.name == f.name) {
            return Err(Error::bad_field(WHAT_FILES, "attachment name", "duplicate"));
        }
        let item = SealedItem::parse(WHAT_FILES, f)?;
        if item.ciphertext_len > MAX_ATTACHMENT {
            return Err(Error::bad_field(
                WHAT_FILES,
                "ciphertext",
                "attachment of 64 KiB or more",
            ));
        }
        out.push(item);
    }
    Ok(out)
}

/// Parse just the files FDT (as the UV copies it) and return the attachment
/// node for `name`.
pub(crate) fn files_fdt_item(files_fdt: &[u8], name: &str) -> Option<SealedItem> {
    let root = fdt::parse_prefix(files_fdt).ok()?.0;
    let n = root.lookup("/files")?.child(name)?;
    SealedItem::parse(WHAT_FILES, n).ok()
}
