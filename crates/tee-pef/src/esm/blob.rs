//! The strict parser and inspector (svm-tool `valid_esm`) and the files
//! tree as the ultravisor reads it.

use serde::Serialize;
use tee_core::{Error, Result};
use zeroize::Zeroizing;

use crate::crypto::{MAX_GCM_IV, MAX_GCM_TAG, MIN_GCM_TAG, MasterKey, RsaKeyPair, gcm_open};
use crate::fdt::{self, Node};

use super::digests::Digests;
use super::{
    ESM_COMPATIBLE, ESM_FILE_COMPATIBLE, MAX_ATTACHMENT, MAX_BLOB, MAX_FILES_FDT, ORIGIN_LOCKBOX,
    UV_LOCKBOX, WHAT, WHAT_FILES, valid_attachment_name,
};

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
///
/// Read as the ultravisor reads it: `algorithm` must be present (any
/// value; svm-tool writes "AES256-GCM"), `untrusted-comment` is optional,
/// the nonce may have any length from 1 to [`crate::crypto::MAX_GCM_IV`]
/// bytes and the tag any length from 4 to 16 bytes (what mbedTLS's GCM
/// takes). svm-tool and the SDK's builder always write a 16-byte nonce
/// and tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealedItem {
    /// Node name (`digests-fdt` or the attachment name).
    pub name: String,
    /// The `algorithm` property as written (the ultravisor does not interpret it).
    pub algorithm: String,
    /// The untrusted comment, if present.
    pub comment: Option<String>,
    /// Ciphertext (not shown in JSON; only its length).
    #[serde(skip)]
    pub ciphertext: Vec<u8>,
    /// Ciphertext length.
    pub ciphertext_len: usize,
    /// The GCM nonce (16 bytes as svm-tool writes it).
    #[serde(with = "hex::serde")]
    pub iv: Vec<u8>,
    /// The GCM tag (16 bytes as svm-tool writes it).
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
        let algorithm = n
            .prop_str("algorithm")
            .ok_or_else(|| Error::bad_field(what, "algorithm", "missing or not a string"))?
            .to_owned();
        let comment = match n.prop("untrusted-comment") {
            None => None,
            Some(_) => Some(comment_of(what, n)?),
        };
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
        if iv.is_empty() || iv.len() > MAX_GCM_IV {
            return Err(Error::bad_field(
                what,
                "iv",
                format_args!("{} bytes, need 1..={MAX_GCM_IV}", iv.len()),
            ));
        }
        if !(MIN_GCM_TAG..=MAX_GCM_TAG).contains(&mac.len()) {
            return Err(Error::bad_field(
                what,
                "mac",
                format_args!("{} bytes, need {MIN_GCM_TAG}..={MAX_GCM_TAG}", mac.len()),
            ));
        }
        Ok(Self {
            name: n.name.clone(),
            algorithm,
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
                    "digests: {}, {} bytes ciphertext, nonce {} / tag {} bytes, comment {}",
                    d.algorithm,
                    d.ciphertext_len,
                    d.iv.len(),
                    d.mac.len(),
                    show_comment(d.comment.as_deref())
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
                "  {}: {}, {} bytes ciphertext, nonce {} / tag {} bytes, comment {}",
                a.name,
                a.algorithm,
                a.ciphertext_len,
                a.iv.len(),
                a.mac.len(),
                show_comment(a.comment.as_deref())
            );
        }
        s
    }
}

fn show_comment(c: Option<&str>) -> String {
    c.map_or_else(|| "(none)".to_owned(), |c| format!("{c:?}"))
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

/// An attachment as the ultravisor reads it from the copied files FDT
/// (`svm_esmb_file_get`): the node `/files/<name>` with `algorithm` (any
/// value), `iv`, `mac` and `ciphertext`; nothing else is looked at.
#[cfg(feature = "sim")]
pub(crate) struct UvFile {
    pub(crate) iv: Vec<u8>,
    pub(crate) mac: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
}

/// `None` when the node or one of those properties is missing (the UV's
/// `-FDT_ERR_NOTFOUND`).
#[cfg(feature = "sim")]
pub(crate) fn files_fdt_item(files_fdt: &[u8], name: &str) -> Option<UvFile> {
    let root = fdt::parse_prefix(files_fdt).ok()?.0;
    let n = root.lookup("/files")?.child(name)?;
    n.prop("algorithm")?;
    Some(UvFile {
        iv: n.prop("iv")?.to_vec(),
        mac: n.prop("mac")?.to_vec(),
        ciphertext: n.prop("ciphertext")?.to_vec(),
    })
}
