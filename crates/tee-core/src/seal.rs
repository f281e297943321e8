//! Sealing: a versioned, self-describing AES-256-GCM envelope over a key
//! that a backend derives from its hardware (or, for the mock, software).
//!
//! # Blob format (version 1), all integers little-endian
//!
//! ```text
//! magic      8   "TEESEAL\0"
//! version    1   1
//! platform   1+n length-prefixed platform name ("sev-snp", "mock", ...)
//! purpose    2+n length-prefixed UTF-8 purpose label (≤ 1024 bytes)
//! binding    1   1 = measurement, 2 = family, 3 = instance
//! key_params 2+n length-prefixed backend key-derivation parameters (≤ 4096)
//! salt       32  random
//! key_check  32  HKDF output proving which key sealed the blob
//! nonce      12  random
//! ciphertext     AES-256-GCM(plaintext) || 16-byte tag
//! ```
//!
//! Everything before the ciphertext is the header and is authenticated as
//! AEAD associated data. Keys: `prk = HKDF-SHA256-Extract(salt, backend_key)`,
//! `aead_key = Expand(prk, "tee-seal/v1/aead" || ctx)`, `key_check =
//! Expand(prk, "tee-seal/v1/check" || ctx)`, where `ctx` is the
//! length-prefixed platform, purpose, binding and key parameters: keys are
//! separated by purpose and policy. Key material is zeroized on drop.
//!
//! Opening distinguishes: a malformed blob ([`Error::Malformed`]), another
//! platform ([`UnsealError::WrongPlatform`]), another policy
//! ([`UnsealError::WrongPolicy`]), another key, i.e. another workload or
//! machine ([`UnsealError::KeyMismatch`]), and modification
//! ([`UnsealError::Tampered`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, MalformedKind, Result, UnsealError};
use crate::platform::Platform;
use crate::traits::Sealer;

const MAGIC: &[u8; 8] = b"TEESEAL\0";
/// The blob version written and read.
pub const SEAL_VERSION: u8 = 1;
const MAX_PURPOSE: usize = 1024;
const MAX_PARAMS: usize = 4096;
const WHAT: &str = "sealed blob";

/// What a sealing key is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SealBinding {
    /// The same launch measurement (image) on the same TEE platform instance.
    Measurement,
    /// The same image family (e.g. SNP family id): survives image updates.
    Family,
    /// Any workload on the same TEE platform instance.
    Instance,
}

impl SealBinding {
    fn code(self) -> u8 {
        match self {
            Self::Measurement => 1,
            Self::Family => 2,
            Self::Instance => 3,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(Self::Measurement),
            2 => Some(Self::Family),
            3 => Some(Self::Instance),
            _ => None,
        }
    }
}

/// The policy a blob is sealed under: a purpose label (key separation) and
/// a binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SealPolicy {
    /// Free-form label separating keys by use (e.g. `"db-key"`).
    pub purpose: String,
    /// What the key is bound to.
    pub binding: SealBinding,
}

impl SealPolicy {
    /// A policy with `purpose` and `binding`.
    pub fn new(purpose: impl Into<String>, binding: SealBinding) -> Self {
        Self {
            purpose: purpose.into(),
            binding,
        }
    }

    /// A policy with `purpose` bound to the launch measurement.
    pub fn measurement(purpose: impl Into<String>) -> Self {
        Self {
            purpose: purpose.into(),
            binding: SealBinding::Measurement,
        }
    }
}

/// A backend's source of sealing keys.
pub trait SealingKeySource: Send + Sync + Debug {
    /// The platform.
    fn platform(&self) -> Platform;

    /// The parameters to record in the blob for `binding` (e.g. SEV-SNP
    /// root key and guest field select), so that unsealing re-derives the
    /// same key.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a binding this backend cannot provide.
    fn key_params(&self, binding: SealBinding) -> Result<Vec<u8>>;

    /// Derive the 32-byte backend key for `binding` and recorded `key_params`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for parameters it cannot interpret,
    /// [`Error::Device`] when the hardware refuses.
    fn derive_key(&self, binding: SealBinding, key_params: &[u8]) -> Result<Zeroizing<[u8; 32]>>;
}

/// A [`Sealer`] that wraps any [`SealingKeySource`] in the envelope above.
#[derive(Debug)]
pub struct EnvelopeSealer<S> {
    source: S,
}

impl<S: SealingKeySource> EnvelopeSealer<S> {
    /// Wrap a key source.
    pub fn new(source: S) -> Self {
        Self { source }
    }

    /// The key source.
    pub fn source(&self) -> &S {
        &self.source
    }
}

/// A parsed blob header (public information only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealedHeader {
    /// Blob version.
    pub version: u8,
    /// Platform that sealed it.
    pub platform: Platform,
    /// Policy it was sealed under.
    pub policy: SealPolicy,
    /// Backend key parameters (hex in JSON).
    pub key_params: crate::HexBytes,
    /// Length of the ciphertext including the tag.
    pub ciphertext_len: usize,
}

struct Parsed<'a> {
    header: SealedHeader,
    aad: &'a [u8],
    salt: &'a [u8],
    key_check: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::truncated(
                WHAT,
                self.pos.saturating_add(n),
                self.buf.len(),
            )),
        }
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// Parse the public header of a sealed blob without opening it.
///
/// # Errors
/// [`Error::Malformed`] for anything that is not a version-1 sealed blob.
pub fn inspect(blob: &[u8]) -> Result<SealedHeader> {
    parse(blob).map(|p| p.header)
}

fn parse(blob: &[u8]) -> Result<Parsed<'_>> {
    let mut r = Reader { buf: blob, pos: 0 };
    if r.take(8)? != MAGIC {
        return Err(Error::bad_field(WHAT, "magic", "not a sealed blob"));
    }
    let version = r.u8()?;
    if version != SEAL_VERSION {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::UnsupportedVersion(version.into()),
        ));
    }
    let plen = r.u8()? as usize;
    let pname = core::str::from_utf8(r.take(plen)?)
        .map_err(|_| Error::bad_field(WHAT, "platform", "not UTF-8"))?;
    let platform: Platform = pname
        .parse()
        .map_err(|_| Error::bad_field(WHAT, "platform", "unknown platform"))?;
    let ulen = r.u16()? as usize;
    if ulen > MAX_PURPOSE {
        return Err(Error::bad_field(WHAT, "purpose", "too long"));
    }
    let purpose = core::str::from_utf8(r.take(ulen)?)
        .map_err(|_| Error::bad_field(WHAT, "purpose", "not UTF-8"))?
        .into();
    let binding = SealBinding::from_code(r.u8()?)
        .ok_or_else(|| Error::bad_field(WHAT, "binding", "unknown binding"))?;
    let klen = r.u16()? as usize;
    if klen > MAX_PARAMS {
        return Err(Error::bad_field(WHAT, "key_params", "too long"));
    }
    let key_params = r.take(klen)?;
    let salt = r.take(32)?;
    let key_check = r.take(32)?;
    let nonce = r.take(12)?;
    let aad = &blob[..r.pos];
    let ciphertext = &blob[r.pos..];
    if ciphertext.len() < 16 {
        return Err(Error::truncated(WHAT, r.pos + 16, blob.len()));
    }
    Ok(Parsed {
        header: SealedHeader {
            version,
            platform,
            policy: SealPolicy { purpose, binding },
            key_params: key_params.into(),
            ciphertext_len: ciphertext.len(),
        },
        aad,
        salt,
        key_check,
        nonce,
        ciphertext,
    })
}

fn derive(
    backend_key: &[u8; 32],
    salt: &[u8],
    platform: Platform,
    policy: &SealPolicy,
    key_params: &[u8],
) -> Result<(Zeroizing<[u8; 32]>, [u8; 32])> {
    let hk = Hkdf::<Sha256>::new(Some(salt), backend_key);
    let mut ctx = Vec::with_capacity(64 + policy.purpose.len() + key_params.len());
    for part in [
        platform.name().as_bytes(),
        policy.purpose.as_bytes(),
        &[policy.binding.code()],
        key_params,
    ] {
        ctx.extend_from_slice(&(part.len() as u32).to_le_bytes());
        ctx.extend_from_slice(part);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    let mut check = [0u8; 32];
    let fail = |_| Error::Misuse("HKDF output length".into());
    hk.expand_multi_info(&[b"tee-seal/v1/aead", &ctx], key.as_mut())
        .map_err(fail)?;
    hk.expand_multi_info(&[b"tee-seal/v1/check", &ctx], &mut check)
        .map_err(fail)?;
    Ok((key, check))
}

fn nonce_of(b: &[u8]) -> Result<Nonce<aes_gcm::aead::consts::U12>> {
    let a: [u8; 12] = b
        .try_into()
        .map_err(|_| Error::truncated(WHAT, 12, b.len()))?;
    Ok(Nonce::from(a))
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| Error::device(crate::DeviceErrorKind::Io, "OS random source", e))?;
    Ok(b)
}

impl<S: SealingKeySource> Sealer for EnvelopeSealer<S> {
    fn seal(&self, plaintext: &[u8], policy: &SealPolicy) -> Result<Vec<u8>> {
        if policy.purpose.len() > MAX_PURPOSE {
            return Err(Error::Misuse("seal purpose longer than 1024 bytes".into()));
        }
        let platform = self.source.platform();
        let key_params = self.source.key_params(policy.binding)?;
        if key_params.len() > MAX_PARAMS {
            return Err(Error::Misuse("backend key parameters too long".into()));
        }
        let backend_key = self.source.derive_key(policy.binding, &key_params)?;
        let salt: [u8; 32] = random()?;
        let nonce: [u8; 12] = random()?;
        let (key, check) = derive(&backend_key, &salt, platform, policy, &key_params)?;

        let name = platform.name().as_bytes();
        let mut out =
            Vec::with_capacity(128 + policy.purpose.len() + key_params.len() + plaintext.len());
        out.extend_from_slice(MAGIC);
        out.push(SEAL_VERSION);
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&(policy.purpose.len() as u16).to_le_bytes());
        out.extend_from_slice(policy.purpose.as_bytes());
        out.push(policy.binding.code());
        out.extend_from_slice(&(key_params.len() as u16).to_le_bytes());
        out.extend_from_slice(&key_params);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&check);
        out.extend_from_slice(&nonce);
        let cipher = Aes256Gcm::new_from_slice(key.as_ref())
            .map_err(|_| Error::Misuse("AES key length".into()))?;
        // Encrypt in place after the header: one allocation, no copy of the ciphertext.
        let header_len = out.len();
        out.extend_from_slice(plaintext);
        let (aad, body) = out.split_at_mut(header_len);
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(nonce), aad, body.into())
            .map_err(|_| Error::Misuse("plaintext too long for AES-GCM".into()))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn unseal(&self, sealed: &[u8], policy: &SealPolicy) -> Result<Zeroizing<Vec<u8>>> {
        let p = parse(sealed)?;
        let platform = self.source.platform();
        if p.header.platform != platform {
            return Err(UnsealError::WrongPlatform {
                sealed_on: p.header.platform,
                opened_on: platform,
            }
            .into());
        }
        if p.header.policy != *policy {
            return Err(UnsealError::WrongPolicy.into());
        }
        let backend_key = self
            .source
            .derive_key(policy.binding, &p.header.key_params)?;
        let (key, check) = derive(&backend_key, p.salt, platform, policy, &p.header.key_params)?;
        if !bool::from(check.as_slice().ct_eq(p.key_check)) {
            return Err(UnsealError::KeyMismatch.into());
        }
        let cipher = Aes256Gcm::new_from_slice(key.as_ref())
            .map_err(|_| Error::Misuse("AES key length".into()))?;
        cipher
            .decrypt(
                &nonce_of(p.nonce)?,
                Payload {
                    msg: p.ciphertext,
                    aad: p.aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| UnsealError::Tampered.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct TestSource {
        platform: Platform,
        secret: u8,
    }

    impl SealingKeySource for TestSource {
        fn platform(&self) -> Platform {
            self.platform
        }
        fn key_params(&self, binding: SealBinding) -> Result<Vec<u8>> {
            Ok(vec![binding.code(), 0xAA])
        }
        fn derive_key(&self, _b: SealBinding, params: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
            let mut k = [self.secret; 32];
            k[0] ^= params.first().copied().unwrap_or(0);
            Ok(Zeroizing::new(k))
        }
    }

    fn sealer(platform: Platform, secret: u8) -> EnvelopeSealer<TestSource> {
        EnvelopeSealer::new(TestSource { platform, secret })
    }

    #[test]
    fn round_trip_and_header() {
        let s = sealer(Platform::Mock, 7);
        let pol = SealPolicy::measurement("db");
        let blob = s.seal(b"secret data", &pol).unwrap();
        assert_eq!(&*s.unseal(&blob, &pol).unwrap(), b"secret data");
        let h = inspect(&blob).unwrap();
        assert_eq!(h.platform, Platform::Mock);
        assert_eq!(h.policy, pol);
        assert_eq!(h.ciphertext_len, 11 + 16);
        // Fresh salt and nonce each time.
        assert_ne!(s.seal(b"secret data", &pol).unwrap(), blob);
        assert_eq!(&*s.unseal(&s.seal(b"", &pol).unwrap(), &pol).unwrap(), b"");
    }

    #[test]
    fn distinct_errors() {
        let s = sealer(Platform::Mock, 7);
        let pol = SealPolicy::measurement("db");
        let blob = s.seal(b"secret data", &pol).unwrap();

        let mut t = blob.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(matches!(
            s.unseal(&t, &pol),
            Err(Error::Unseal(UnsealError::Tampered))
        ));
        let mut t = blob.clone();
        t[last - 20] ^= 1;
        assert!(matches!(
            s.unseal(&t, &pol),
            Err(Error::Unseal(UnsealError::Tampered))
        ));

        let other = SealPolicy {
            purpose: "other".into(),
            binding: SealBinding::Measurement,
        };
        assert!(matches!(
            s.unseal(&blob, &other),
            Err(Error::Unseal(UnsealError::WrongPolicy))
        ));

        let wrong_key = sealer(Platform::Mock, 8);
        assert!(matches!(
            wrong_key.unseal(&blob, &pol),
            Err(Error::Unseal(UnsealError::KeyMismatch))
        ));

        let wrong_platform = sealer(Platform::Tdx, 7);
        assert!(matches!(
            wrong_platform.unseal(&blob, &pol),
            Err(Error::Unseal(UnsealError::WrongPlatform {
                sealed_on: Platform::Mock,
                opened_on: Platform::Tdx
            }))
        ));

        for n in [0, 5, 9, 20, blob.len() - 17] {
            assert!(
                matches!(s.unseal(&blob[..n], &pol), Err(Error::Malformed(_))),
                "{n}"
            );
        }
        let mut v2 = blob.clone();
        v2[8] = 2;
        assert!(matches!(
            s.unseal(&v2, &pol),
            Err(Error::Malformed(crate::Malformed {
                kind: MalformedKind::UnsupportedVersion(2),
                ..
            }))
        ));
    }

    #[test]
    fn every_byte_flip_is_rejected() {
        let s = sealer(Platform::Mock, 7);
        let pol = SealPolicy::measurement("db");
        let blob = s.seal(b"0123456789abcdef", &pol).unwrap();
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            assert!(s.unseal(&t, &pol).is_err(), "flip at {i} accepted");
        }
    }
}
