//! IBM PEF (Protected Execution Facility, POWER9 ultravisor) backend.
//!
//! PEF has **no vendor-signed attestation report, no runtime measurement
//! registers and no sealing key**. Trust comes from the ESM blob: the owner
//! encrypts the expected digests of the RTAS stub, kernel, initrd and boot
//! arguments, plus secret attachments, under a master key wrapped to the
//! platform TPM's key; the ultravisor unwraps it, checks every digest
//! before the VM becomes secure, and afterwards releases the attachments
//! to the secure VM through `UV_ESMB_GET_FILE`.
//!
//! What this crate offers, and against which document (the spec is
//! `pef-model.md`; see `docs/pef.md`):
//!
//! | part | status |
//! |---|---|
//! | [`esm`]: ESM blob builder, parser, inspector (svm-tool layout) | implemented, with editing (svm-tool's `authorize`, `revoke`, `attach`) and owner keys in svm-tool's format; FDT bytes identical to `dtc` for the same tree (golden test); the real svm-tool's blobs give the real ultravisor's verdicts (`pef-svm-tool` vectors) |
//! | [`cpio`]: initrd wrapping and the UV's cpio skip | implemented |
//! | `tpm` (feature `sim`): simulated TPM, policies A/B, PCR16 assumption | modelled |
//! | `uv` (feature `sim`): simulated ultravisor (`UV_ESM`, `UV_ESMB_GET_FILE`, sharing, page-out) | modelled |
//! | [`PefBackend`]: detection via `/sys/devices/system/cpu/svm` | implemented |
//! | secrets via `UV_ESMB_GET_FILE` | trait [`guest::EsmbGetFile`]: native `sc 2` on ppc64le Linux (untested on hardware), `Unsupported` elsewhere; the simulator implements it |
//! | attestation | owner-rooted MAC ([`report`]) carrying the blob's ESM measurement, **not hardware-rooted**; [`PefVerifier`] needs the owner's key |
//! | sealing | envelope under a key derived from an ESM attachment |
//! | runtime measurement | `Unsupported` |
//!
//! # Module map
//!
//! | module | concern |
//! |---|---|
//! | [`abi`] | ultracall/hypercall numbers, return codes, register packing |
//! | [`reference`](mod@reference) | the ESM measurement as a reference value with its transcript, and its policy |
//! | [`report`] | the `pef-owner-mac-v1` report: producer and parser |
//! | `verify` | [`PefVerifier`] (re-exported here and from [`report`]) |
//! | [`crypto`] | RSA-OAEP wrapping, AES-256-GCM, digests |
//! | [`esm`], [`fdt`], [`cpio`] | the ESM blob, its FDT encoding, the initrd cpio |
//! | [`guest`] | the `UV_ESMB_GET_FILE` trait and client loop; the native transport |
//! | `sys` | the one `unsafe fn`: the `sc 2` ultracall (ppc64le Linux only, crate-private) |
//! | `backend` | [`PefBackend`]: detection, secret store, attester |
//! | `seal` | [`PefKeySource`]: sealing keys from an ESM attachment |
//! | `sim` (feature `sim`) | `uv`, `tpm`, `machine`, `SimSvmProcess`: the simulators, re-exported at the old paths |
//!
//! # Example: build a blob, let the simulated ultravisor check a guest
//!
//! Needs the `sim` feature (this crate's doc-tests always have it).
//!
//! ```
//! use tee_pef::esm::{Digests, EsmBlobBuilder};
//! use tee_pef::machine::{SimMachine, launch};
//! use tee_pef::uv::{EsmFailure, GuestImage};
//! use tee_pef::{abi, cpio, crypto};
//!
//! # fn main() -> tee_core::Result<()> {
//! let machine = SimMachine::create()?; // the TPM wrapping key
//! let owner = crypto::RsaKeyPair::generate()?; // the origin key
//! let (kernel, initrd, args) = (b"kernel".to_vec(), b"initrd".to_vec(), "svm=on");
//!
//! let mut b = EsmBlobBuilder::new(&owner.recipient()?, "owner")?;
//! b.authorize(&crypto::RecipientKey::from_pem(&machine.public_pem()?)?, "machine")?;
//! b.set_digests(&Digests::for_slof(&kernel, &initrd, args)?, "digests")?;
//! b.attach("crypttab", b"passphrase", "LUKS")?;
//! let wrapped = cpio::wrap_initrd(&initrd, &b.build()?, "esmb.dtb")?;
//!
//! let mut uv = machine.boot()?;
//! let ok = launch(&mut uv, 1, &GuestImage::new(kernel.clone(), wrapped.clone(), args));
//! assert_eq!(ok.uv_rc, abi::U_SUCCESS);
//!
//! // One extra space in the boot arguments: refused, the guest sees H_PARAMETER.
//! let bad = launch(&mut uv, 2, &GuestImage::new(kernel, wrapped, "svm=on "));
//! assert_eq!(bad.failure, Some(EsmFailure::DigestMismatch(vec!["bootargs"])));
//! assert_eq!(bad.guest_r3, abi::H_PARAMETER);
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

pub mod abi;
mod backend;
pub mod cpio;
pub mod crypto;
pub mod esm;
pub mod fdt;
pub mod guest;
pub mod inspect;
pub mod reference;
pub mod report;
mod seal;
#[cfg(feature = "sim")]
mod sim;
#[cfg(all(
    target_arch = "powerpc64",
    target_endian = "little",
    target_os = "linux"
))]
#[allow(unsafe_code)]
mod sys;
mod verify;

pub use backend::{
    NO_RUNTIME_MEASUREMENT, PefAttester, PefBackend, PefConfig, SVM_SYSFS, TEST_ROOT_UNSUPPORTED,
};
pub use guest::{EsmbGetFile, NativeUltracalls};
pub use seal::PefKeySource;
#[cfg(feature = "sim")]
pub use sim::{SimSvmProcess, machine, tpm, uv};
pub use verify::PefVerifier;
