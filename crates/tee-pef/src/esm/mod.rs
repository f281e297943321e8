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
//!
//! Modules by concern: [`Digests`] (the digests tree and the ESM
//! measurement), [`EsmBlobBuilder`] (the owner side), [`EsmBlobEditor`]
//! (svm-tool's `authorize`, `revoke` and `attach` on an existing blob),
//! [`EsmBlob`] (the parser and inspector, and the files tree the
//! ultravisor reads).

mod blob;
mod builder;
mod digests;
mod edit;

#[cfg(feature = "sim")]
pub(crate) use blob::files_fdt_item;
pub use blob::{EsmBlob, Lockbox, SealedItem};
pub use builder::EsmBlobBuilder;
pub use digests::{Digests, is_elf};
pub use edit::EsmBlobEditor;

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

/// Whether `name` is a valid attachment name: `^[A-Za-z][0-9A-Za-z,._+-]{0,30}$`.
pub fn valid_attachment_name(name: &str) -> bool {
    let b = name.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_alphabetic())
        && b.len() <= 31
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b",._+-".contains(c))
}
