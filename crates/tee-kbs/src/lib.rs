//! A client for the Trustee key broker service (KBS attestation protocol
//! 0.4.0, "RCAR": request → challenge → attestation → resource) driven by
//! the SDK's attesters, and converters between the SDK evidence envelope and
//! Trustee's per-TEE evidence JSON. See `docs/kbs.md`.
//!
//! - [`KbsClient`]: runs the handshake over any [`tee_fetch::Transport`]
//!   (plain HTTP built in, HTTPS with tee-fetch's `https` feature), binds
//!   `H(JCS(runtime data))` into the report data, keeps the session cookie
//!   and opens the JWE-wrapped resource with the ephemeral key.
//! - [`protocol`]: the wire messages and the runtime-data binding rule.
//! - [`evidence`]: SDK envelope ↔ Trustee `snp` / `tdx` / `sample` JSON.
//! - [`jwe`]: the ephemeral key ([`TeeKey`]) and JWE decryption
//!   (`ECDH-ES+A256KW` on P-256, `RSA-OAEP-256`, `RSA-OAEP`; `A256GCM`).
//! - `testing` (feature `testing`): an in-process fake KBS written from the
//!   protocol description, as a transport and as a loopback HTTP server. NO SECURITY.
#![forbid(unsafe_code)]

mod client;
mod error;
pub mod evidence;
pub mod jcs;
pub mod jwe;
pub mod protocol;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use client::{KbsClient, ResourcePath, Session};
pub use error::{JweError, KbsError, Step};
pub use jwe::TeeKey;
pub use protocol::{PROTOCOL_VERSION, Tee};
