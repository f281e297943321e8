//! The one DER writer behind the backends' test PKIs (`tee-sev` and
//! `tee-tdx`, feature `testing`): just enough DER to hand-build
//! certificates, CRLs and AMD/Intel extensions with exact control over every
//! byte, including malformed ones; and ECDSA P-256 test certificates
//! (`p256cert`). **NO SECURITY**: test support only.
#![forbid(unsafe_code)]

pub mod der;
pub mod p256cert;
