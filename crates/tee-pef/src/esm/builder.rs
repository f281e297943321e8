//! The owner side: svm-tool `esm create` → `authorize` → `digest` → `attach`.

use tee_core::{Error, Result};
use zeroize::Zeroizing;

use crate::crypto::{GcmBox, MasterKey, RecipientKey, gcm_seal, new_master_key};
use crate::fdt::Node;

use super::digests::Digests;
use super::{
    ESM_COMPATIBLE, ESM_FILE_COMPATIBLE, MAX_ATTACHMENT, MAX_DIGESTS_FDT, MAX_FILES_FDT,
    MEASUREMENT_ATTACHMENT, ORIGIN_LOCKBOX, valid_attachment_name,
};

fn check_comment(c: &str) -> Result<()> {
    if c.contains(['\n', '\0']) {
        return Err(Error::Misuse(
            "untrusted comments must not contain a newline or NUL".into(),
        ));
    }
    Ok(())
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
