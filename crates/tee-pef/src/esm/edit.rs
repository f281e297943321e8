//! Editing an existing blob as svm-tool offers it: `esm authorize` (add a
//! machine), `esm revoke` (remove a machine) and `esm attach` (add a file).
//!
//! The blob's tree is edited in place: every other node, property and the
//! stored order stay as they were, so a blob svm-tool made keeps its shape.
//! Adding a machine or a file needs the master key K, which the owner
//! unwraps from `origin-lockbox` with the origin private key
//! ([`EsmBlob::unwrap_key`]); revoking needs no key.
//!
//! As in svm-tool, a new lockbox is numbered one above the highest present,
//! and revoking does not renumber: the ultravisor reads only `lockbox-1`,
//! so a blob whose `lockbox-1` was revoked boots on no machine (the
//! vectors' `c2`). [`EsmBlobEditor::uv_machine`] says which lockbox the
//! ultravisor would use.

use tee_core::{Error, Result};

use crate::crypto::{MasterKey, RecipientKey, gcm_seal};
use crate::fdt::{self, Node};

use super::blob::EsmBlob;
use super::{
    ESM_FILE_COMPATIBLE, MAX_ATTACHMENT, MAX_BLOB, MAX_FILES_FDT, ORIGIN_LOCKBOX, UV_LOCKBOX,
    valid_attachment_name,
};

fn check_comment(c: &str) -> Result<()> {
    if c.contains(['\n', '\0']) {
        return Err(Error::Misuse(
            "untrusted comments must not contain a newline or NUL".into(),
        ));
    }
    Ok(())
}

/// An ESM blob opened for editing.
#[derive(Debug, Clone)]
pub struct EsmBlobEditor {
    root: Node,
}

impl EsmBlobEditor {
    /// Open a blob: it must parse as [`EsmBlob::parse`] does.
    ///
    /// # Errors
    /// [`Error::Malformed`] as [`EsmBlob::parse`].
    pub fn open(bytes: &[u8]) -> Result<Self> {
        EsmBlob::parse(bytes)?;
        Ok(Self {
            root: fdt::parse(bytes)?,
        })
    }

    /// The blob as it stands (parsed).
    ///
    /// # Errors
    /// [`Error::Malformed`] if an edit made it invalid (it cannot).
    pub fn blob(&self) -> Result<EsmBlob> {
        EsmBlob::parse(&self.root.to_dtb())
    }

    fn lockboxes(&mut self) -> Result<&mut Node> {
        self.root
            .child_mut("lockboxes")
            .ok_or(Error::Misuse("the blob has no lockboxes node".into()))
    }

    /// Add a machine (svm-tool `esm authorize`): a new `lockbox-<max+1>`
    /// with K wrapped to `recipient` (RSA-OAEP-SHA256) and the SHA-256 of
    /// its PEM file. Returns the lockbox name.
    ///
    /// # Errors
    /// [`Error::Misuse`] if that key already has a lockbox or for a bad
    /// comment; [`Error::Device`] if randomness fails. K must be this
    /// blob's key (the caller unwrapped it from this blob's origin lockbox;
    /// teectl checks that it opens the digests before editing).
    pub fn authorize(
        &mut self,
        key: &MasterKey,
        recipient: &RecipientKey,
        comment: &str,
    ) -> Result<String> {
        check_comment(comment)?;
        let fp = recipient.fingerprint();
        let blob = self.blob()?;
        if let Some(l) = blob.lockboxes.iter().find(|l| l.fingerprint == fp) {
            return Err(Error::Misuse(
                format!("that key is already authorised ({})", l.name).into(),
            ));
        }
        let n = blob
            .lockboxes
            .iter()
            .filter_map(|l| l.name.strip_prefix("lockbox-")?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(Error::Misuse("no lockbox number left".into()))?;
        let name = format!("lockbox-{n}");
        let node = Node::new(name.clone())
            .with_str("untrusted-comment", comment)
            .with_prop("encrypted-symkey", recipient.wrap(key)?)
            .with_child(
                Node::new("pubkey-fingerprint")
                    .with_str("algorithm", "SHA256")
                    .with_prop("hash", fp.to_vec()),
            );
        self.lockboxes()?.children.push(node);
        Ok(name)
    }

    /// Remove a machine (svm-tool `esm revoke -p PEM`): delete every
    /// recipient lockbox whose fingerprint is the SHA-256 of this PEM file.
    /// Returns the removed lockbox names.
    ///
    /// # Errors
    /// [`Error::Misuse`] if no recipient lockbox has that fingerprint (the
    /// origin lockbox is never removed).
    pub fn revoke(&mut self, recipient_pem: &[u8]) -> Result<Vec<String>> {
        let fp = crate::crypto::sha256(recipient_pem);
        let lb = self.lockboxes()?;
        let mut removed = Vec::new();
        lb.children.retain(|n| {
            let hit = n.name != ORIGIN_LOCKBOX
                && n.lookup("pubkey-fingerprint")
                    .and_then(|f| f.prop("hash"))
                    .is_some_and(|h| h == fp);
            if hit {
                removed.push(n.name.clone());
            }
            !hit
        });
        if removed.is_empty() {
            return Err(Error::Misuse(
                "no recipient lockbox has that key's fingerprint".into(),
            ));
        }
        Ok(removed)
    }

    /// Add a file (svm-tool `esm attach`): AES-256-GCM under K with a fresh
    /// 16-byte nonce, into the nested files FDT.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an invalid or duplicate name, a bad comment,
    /// data of 64 KiB or more, or a files FDT that would exceed 64 KiB;
    /// [`Error::Malformed`] for a bad nested files FDT.
    pub fn attach(
        &mut self,
        key: &MasterKey,
        name: &str,
        data: &[u8],
        comment: &str,
    ) -> Result<()> {
        check_comment(comment)?;
        if !valid_attachment_name(name) {
            return Err(Error::Misuse(
                "attachment names must match ^[A-Za-z][0-9A-Za-z,._+-]{0,30}$".into(),
            ));
        }
        if data.len() > MAX_ATTACHMENT {
            return Err(Error::Misuse(
                "attachments must be smaller than 64 KiB".into(),
            ));
        }
        let file = self
            .root
            .child_mut("file")
            .ok_or(Error::Misuse("the blob has no file node".into()))?;
        let mut files_root = match file.prop("files-fdt") {
            Some(f) => fdt::parse(f)?,
            None => Node::new("").with_str("compatible", ESM_FILE_COMPATIBLE),
        };
        if files_root.child("files").is_none() {
            files_root.children.push(Node::new("files"));
        }
        let files = files_root
            .child_mut("files")
            .ok_or(Error::Misuse("no files node".into()))?;
        if files.child(name).is_some() {
            return Err(Error::Misuse(
                format!("`{name}` is already attached").into(),
            ));
        }
        let g = gcm_seal(key, data)?;
        files.children.push(
            Node::new(name)
                .with_str("algorithm", "AES256-GCM")
                .with_str("untrusted-comment", comment)
                .with_prop("ciphertext", g.ciphertext)
                .with_prop("iv", g.iv.to_vec())
                .with_prop("mac", g.mac.to_vec()),
        );
        let bytes = files_root.to_dtb();
        if bytes.len() > MAX_FILES_FDT {
            return Err(Error::Misuse(
                "files FDT would exceed the ultravisor's 64 KiB page".into(),
            ));
        }
        match file.props.iter_mut().find(|p| p.name == "files-fdt") {
            Some(p) => p.value = bytes,
            None => file.props.push(fdt::Prop {
                name: "files-fdt".into(),
                value: bytes,
            }),
        }
        Ok(())
    }

    /// The lockbox the ultravisor would unwrap (`lockbox-1`), if present.
    pub fn uv_machine(&self) -> Option<String> {
        self.root
            .lookup("/lockboxes")?
            .child(UV_LOCKBOX)
            .map(|n| n.name.clone())
    }

    /// The edited blob.
    ///
    /// # Errors
    /// [`Error::Misuse`] if it grew beyond the parser's limit.
    pub fn to_dtb(&self) -> Result<Vec<u8>> {
        let b = self.root.to_dtb();
        if b.len() > MAX_BLOB {
            return Err(Error::Misuse("the edited blob is too large".into()));
        }
        EsmBlob::parse(&b)?;
        Ok(b)
    }
}
