//! Inspecting ESM blobs the way an owner or operator meets them: find the
//! blob in a file (a bare blob or an initrd wrapped by
//! [`crate::cpio::wrap_initrd`]), classify a `UV_ESM` refusal, and say
//! whether a machine's TPM key is in the lockbox the ultravisor reads.
//! Nothing here unwraps a lockbox or reveals a secret.

use core::fmt;

use tee_core::{Error, Result};

use crate::cpio;
use crate::crypto::sha256;
use crate::esm::EsmBlob;
#[cfg(feature = "sim")]
use crate::uv::EsmFailure;

/// The ESM blob inside `file`: the file itself, or the blob member of a
/// wrapped initrd (cut to the FDT's `totalsize`). The blob is located, not
/// parsed; parse it with [`EsmBlob::parse`].
///
/// # Errors
/// [`Error::Malformed`] when a wrapped initrd has no ESM member, or the
/// member is not an FDT whose size fits in it.
pub fn extract_blob(file: &[u8]) -> Result<&[u8]> {
    if !file.starts_with(cpio::NEWC_MAGIC) {
        return Ok(file);
    }
    let loc = cpio::locate_esm(file).map_err(|e| Error::encoding("wrapped initrd", e))?;
    let tail = file.get(loc.blob_offset..).unwrap_or(&[]);
    let (_, total) = crate::fdt::parse_prefix(tail)?;
    tail.get(..total).ok_or_else(|| {
        Error::malformed(
            "wrapped initrd",
            tee_core::MalformedKind::Truncated {
                needed: total,
                available: tail.len(),
            },
        )
    })
}

/// What kind of decision a `UV_ESM` refusal (of the simulated ultravisor) is.
#[cfg(feature = "sim")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A measured digest (kernel, initrd, bootargs, RTAS) differs from the blob's.
    Measurement,
    /// This machine cannot authenticate the blob: no `lockbox-1`, the TPM
    /// refuses to unwrap it, the TPM key was substituted, or the digests do
    /// not authenticate under the unwrapped key.
    Key,
    /// The guest image or blob is malformed or missing.
    Malformed,
}

#[cfg(feature = "sim")]
impl EsmFailure {
    /// The kind of decision this refusal is.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Self::DigestMismatch(_) => RefusalKind::Measurement,
            Self::NoLockbox1
            | Self::Unwrap(_)
            | Self::TpmNameMismatch
            | Self::DigestsAuthentication => RefusalKind::Key,
            Self::GuestFdt(_)
            | Self::BlobNotFound(_)
            | Self::BlobUnreadable(_)
            | Self::NoDigests
            | Self::DigestsFdt(_) => RefusalKind::Malformed,
        }
    }
}

/// Where a machine's TPM wrapping key is among a blob's lockboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockboxPlacement {
    /// In `lockbox-1`, the only lockbox the ultravisor reads.
    Lockbox1,
    /// In another lockbox (named), which the ultravisor does not read.
    Other(String),
    /// In no lockbox of the blob.
    Absent,
}

impl LockboxPlacement {
    /// Locate the machine whose TPM wrapping-key public PEM is `tpm_pub_pem`
    /// (lockboxes carry the SHA-256 of the recipient's PEM file).
    pub fn find(blob: &EsmBlob, tpm_pub_pem: &[u8]) -> Self {
        let fp = sha256(tpm_pub_pem);
        match blob.lockboxes.iter().find(|l| l.fingerprint == fp) {
            Some(l) if l.name == "lockbox-1" => Self::Lockbox1,
            Some(l) => Self::Other(l.name.clone()),
            None => Self::Absent,
        }
    }

    /// Whether the ultravisor of that machine can open the blob's `lockbox-1`.
    pub fn readable(&self) -> bool {
        matches!(self, Self::Lockbox1)
    }
}

impl fmt::Display for LockboxPlacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lockbox1 => f.write_str("this machine's key is in lockbox-1"),
            Self::Other(name) => write!(
                f,
                "this machine's key is in {name} but the ultravisor reads only lockbox-1"
            ),
            Self::Absent => f.write_str("no lockbox carries this machine's TPM key fingerprint"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::crypto::{RecipientKey, RsaKeyPair};
    use crate::esm::{Digests, EsmBlobBuilder};

    fn blob_for(machines: &[&[u8]]) -> Vec<u8> {
        let origin = RsaKeyPair::generate().unwrap();
        let mut b = EsmBlobBuilder::new(&origin.recipient().unwrap(), "origin").unwrap();
        for pem in machines {
            b.authorize(&RecipientKey::from_pem(pem).unwrap(), "machine")
                .unwrap();
        }
        b.set_digests(&Digests::for_slof(b"k", b"i", "a").unwrap(), "d")
            .unwrap();
        b.build().unwrap()
    }

    #[test]
    fn finds_the_blob_in_a_wrapped_initrd_and_places_machines() {
        let m1 = RsaKeyPair::generate().unwrap().public_pem().unwrap();
        let m2 = RsaKeyPair::generate().unwrap().public_pem().unwrap();
        let m3 = RsaKeyPair::generate().unwrap().public_pem().unwrap();
        let blob = blob_for(&[&m1, &m2]);
        assert_eq!(extract_blob(&blob).unwrap(), blob.as_slice());
        let wrapped = cpio::wrap_initrd(b"initramfs", &blob, "esmb.dtb").unwrap();
        assert_eq!(extract_blob(&wrapped).unwrap(), blob.as_slice());
        let parsed = EsmBlob::parse(extract_blob(&wrapped).unwrap()).unwrap();
        assert_eq!(
            LockboxPlacement::find(&parsed, &m1),
            LockboxPlacement::Lockbox1
        );
        assert!(LockboxPlacement::find(&parsed, &m1).readable());
        let other = LockboxPlacement::find(&parsed, &m2);
        assert_eq!(other, LockboxPlacement::Other("lockbox-2".into()));
        assert!(!other.readable());
        assert!(other.to_string().contains("reads only lockbox-1"));
        assert_eq!(
            LockboxPlacement::find(&parsed, &m3),
            LockboxPlacement::Absent
        );
    }

    #[test]
    fn broken_wrapped_initrds_are_malformed() {
        let blob = blob_for(&[&RsaKeyPair::generate().unwrap().public_pem().unwrap()]);
        let wrapped = cpio::wrap_initrd(b"initramfs", &blob, "esmb.dtb").unwrap();
        let loc = cpio::locate_esm(&wrapped).unwrap();
        // The FDT's totalsize claims more than the file holds.
        let mut bad = wrapped.clone();
        bad[loc.blob_offset + 4..loc.blob_offset + 8].copy_from_slice(&u32::MAX.to_be_bytes());
        let r = extract_blob(&bad);
        assert!(matches!(r, Err(Error::Malformed(_))), "{r:?}");
        // A cpio archive with no ESM member at all.
        let mut no_member = wrapped;
        no_member.truncate(cpio::HEADER_LEN);
        assert!(matches!(extract_blob(&no_member), Err(Error::Malformed(_))));
    }

    #[test]
    #[cfg(feature = "sim")]
    fn refusals_are_classified() {
        assert_eq!(
            EsmFailure::DigestMismatch(vec!["kernel"]).kind(),
            RefusalKind::Measurement
        );
        assert_eq!(EsmFailure::NoLockbox1.kind(), RefusalKind::Key);
        assert_eq!(EsmFailure::TpmNameMismatch.kind(), RefusalKind::Key);
        assert_eq!(EsmFailure::DigestsAuthentication.kind(), RefusalKind::Key);
        assert_eq!(EsmFailure::NoDigests.kind(), RefusalKind::Malformed);
        assert_eq!(
            EsmFailure::BlobUnreadable("x".into()).kind(),
            RefusalKind::Malformed
        );
    }
}
