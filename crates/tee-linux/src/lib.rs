//! Vendor-neutral Linux guest interfaces for the TEE SDK.
//!
//! The SEV-SNP and TDX backends reach the kernel through the same
//! interfaces; this crate implements them once, with the vendor specifics
//! (provider name, register names, digest sizes, blob checks) as parameters:
//!
//! - [`fs`]: the kernel-filesystem operations ([`KernelFs`]) and the
//!   `std::fs` implementation ([`StdFs`]), which surfaces `close(2)` errors
//!   because configfs commits binary attributes on close;
//! - [`retry`]: one retry/backoff policy ([`Retry`]) for transient
//!   (`EBUSY`, `EAGAIN`, `EINTR`) errors, and [`io_error`], the one mapping
//!   from `std::io::Error` to a [`tee_core::DeviceErrorKind`];
//! - [`tsm`]: the configfs-tsm report client ([`TsmReportClient`]):
//!   provider check, optional `privlevel`, `inblob`/`outblob`/`auxblob`,
//!   the `generation` race check, directory cleanup on every path;
//! - [`sysfs`]: measurement registers exposed as sysfs files (tsm-mr),
//!   read and extended by writing ([`SysfsRegisters`]);
//! - [`kmsg`]: the kernel log read without blocking (diagnostics);
//! - [`tpm`]: TPM 2.0 access: the transport seam ([`TpmTransport`]), the
//!   `/dev/tpmrm0` transport, a pure-Rust command layer ([`tpm::Tpm`]) and
//!   the quote structures a verifier parses ([`tpm::wire`]);
//! - `testing` (feature `testing`): one fake kernel filesystem that behaves
//!   like the kernel, with injectable faults, and a fake TPM
//!   (`testing::FakeTpm`). NO SECURITY.
//!
//! `tee-core` stays free of I/O; this crate is where the Linux I/O lives.
//! The only `unsafe` is `close(2)` in the private `sys` module.
#![deny(unsafe_code)]

pub mod fs;
pub mod kmsg;
pub mod retry;
mod sys;
pub mod sysfs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tpm;
pub mod tsm;

pub use fs::{KernelFs, StdFs};
pub use retry::{Retry, io_error};
pub use sysfs::SysfsRegisters;
pub use tpm::{DeviceTransport, Tpm, TpmError, TpmTransport};
pub use tsm::{TSM_REPORT_ROOT, TsmReport, TsmReportClient};
