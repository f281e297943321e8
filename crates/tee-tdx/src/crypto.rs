//! Crypto providers: the signature primitive the TDX verifier needs (ECDSA
//! P-256/SHA-256: quote, QE report, PCK chain, CRLs, collateral JSON),
//! behind a trait so that the implementation is a **value** chosen by the
//! caller.
//!
//! - [`RUST_CRYPTO`] (the default): pure Rust (RustCrypto `p256`; keys the
//!   verified-collateral cache holds verify with precomputed fixed-base
//!   tables).
//! - `AWS_LC` (cargo feature `aws-lc`): `aws-lc-rs`. Enabling the feature
//!   only makes the value available; a verifier uses it only when it is
//!   passed explicitly:
//!
//! ```
//! # #[cfg(feature = "aws-lc")]
//! let v = tee_tdx::TdxVerifier::new().with_crypto(&tee_tdx::crypto::AWS_LC);
//! ```
//!
//! Parsing (certificates, DER signatures, which key encodings are accepted)
//! is shared by every provider; a provider only checks signatures. Both
//! providers accept and reject the same inputs (tested on every TDX vector
//! and the fake-PKI and property tests with the feature on).

use std::fmt;
use std::sync::{Arc, OnceLock};

use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use tee_core::{Error, Result};

use crate::fastverify::{self, FixedBase};

/// A P-256 public key prepared for verification.
pub trait P256PublicKey: Send + Sync + fmt::Debug {
    /// Verify an ECDSA P-256 signature with SHA-256 over `msg`; `sig_rs` is
    /// `r ‖ s`, each a 32-byte big-endian scalar. `false` for any failure
    /// (including scalars that are zero or not below the group order).
    fn verify_sha256(&self, msg: &[u8], sig_rs: &[u8; 64]) -> bool;
}

/// The signature primitive of the TDX verifier.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;

    /// Decode and validate a P-256 public key from its SEC1 encoding
    /// (uncompressed or compressed point), for one or a few verifications.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the bytes are not a point on P-256.
    fn p256_public_key(&self, sec1: &[u8]) -> Result<Arc<dyn P256PublicKey>>;

    /// As [`CryptoProvider::p256_public_key`], for a key that will verify
    /// many signatures (the keys of the verified-collateral cache): a
    /// provider may precompute, lazily, on the first verification.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the bytes are not a point on P-256.
    fn p256_public_key_for_reuse(&self, sec1: &[u8]) -> Result<Arc<dyn P256PublicKey>> {
        self.p256_public_key(sec1)
    }
}

/// Decode a SEC1 P-256 point by the rules every provider shares.
fn decode(sec1: &[u8]) -> Result<VerifyingKey> {
    VerifyingKey::from_sec1_bytes(sec1)
        .map_err(|_| Error::encoding("EC public key", "invalid P-256 point"))
}

/// Pure-Rust provider (RustCrypto `p256`). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

/// The pure-Rust provider value, the default of [`crate::TdxVerifier`].
pub static RUST_CRYPTO: RustCrypto = RustCrypto;

#[derive(Debug)]
struct RcP256(VerifyingKey);

impl P256PublicKey for RcP256 {
    fn verify_sha256(&self, msg: &[u8], sig_rs: &[u8; 64]) -> bool {
        match Signature::from_slice(sig_rs) {
            Ok(sig) => self.0.verify(msg, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

/// A key with a fixed-base table built on its first verification.
#[derive(Debug)]
struct RcP256Table {
    key: VerifyingKey,
    table: OnceLock<FixedBase>,
}

impl P256PublicKey for RcP256Table {
    fn verify_sha256(&self, msg: &[u8], sig_rs: &[u8; 64]) -> bool {
        let Ok(sig) = Signature::from_slice(sig_rs) else {
            return false;
        };
        let table = self
            .table
            .get_or_init(|| FixedBase::new(self.key.as_affine()));
        fastverify::verify(table, msg, &sig)
    }
}

impl CryptoProvider for RustCrypto {
    fn name(&self) -> &'static str {
        "RustCrypto"
    }

    fn p256_public_key(&self, sec1: &[u8]) -> Result<Arc<dyn P256PublicKey>> {
        Ok(Arc::new(RcP256(decode(sec1)?)))
    }

    fn p256_public_key_for_reuse(&self, sec1: &[u8]) -> Result<Arc<dyn P256PublicKey>> {
        Ok(Arc::new(RcP256Table {
            key: decode(sec1)?,
            table: OnceLock::new(),
        }))
    }
}

#[cfg(feature = "aws-lc")]
pub use awslc::{AWS_LC, AwsLc};

#[cfg(feature = "aws-lc")]
mod awslc {
    use std::fmt;
    use std::sync::Arc;

    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
    use tee_core::{Error, Result};

    use super::{CryptoProvider, P256PublicKey, decode};

    /// Provider backed by `aws-lc-rs` (feature `aws-lc`). Selected only by
    /// passing [`AWS_LC`] to [`crate::TdxVerifier::with_crypto`].
    #[derive(Debug, Clone, Copy, Default)]
    pub struct AwsLc;

    /// The `aws-lc-rs` provider value.
    pub static AWS_LC: AwsLc = AwsLc;

    struct Key(ParsedPublicKey);

    impl fmt::Debug for Key {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("AwsLcP256PublicKey")
        }
    }

    impl P256PublicKey for Key {
        fn verify_sha256(&self, msg: &[u8], sig_rs: &[u8; 64]) -> bool {
            self.0.verify_sig(msg, sig_rs).is_ok()
        }
    }

    impl CryptoProvider for AwsLc {
        fn name(&self) -> &'static str {
            "aws-lc-rs"
        }

        fn p256_public_key(&self, sec1: &[u8]) -> Result<Arc<dyn P256PublicKey>> {
            // The shared decoder decides which encodings are keys (aws-lc
            // alone would also take a SubjectPublicKeyInfo DER, and not
            // every SEC1 form); aws-lc gets the uncompressed point.
            let point = decode(sec1)?.to_sec1_point(false);
            let k = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.as_bytes())
                .map_err(|_| Error::encoding("EC public key", "invalid P-256 point"))?;
            Ok(Arc::new(Key(k)))
        }
    }
}

/// Every provider compiled in (for tests).
#[cfg(test)]
pub(crate) fn providers() -> Vec<&'static dyn CryptoProvider> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static dyn CryptoProvider> = vec![&RUST_CRYPTO];
    #[cfg(feature = "aws-lc")]
    v.push(&AWS_LC);
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;

    #[test]
    fn every_provider_and_key_kind_checks_p256() {
        let sk = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let msg = [0x42u8; 632];
        let sig: Signature = sk.sign(&msg);
        let rs: [u8; 64] = sig.to_bytes().as_slice().try_into().unwrap();
        let (r, s) = rs.split_at(32);
        let mut swapped = [0u8; 64];
        swapped[..32].copy_from_slice(s);
        swapped[32..].copy_from_slice(r);
        // s replaced by n - s: valid ECDSA (P-256 does not normalise s).
        let high = {
            let (r, s) = sig.split_scalars();
            Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap()
        };
        let high: [u8; 64] = high.to_bytes().as_slice().try_into().unwrap();
        let mut zero_r = rs;
        zero_r[..32].fill(0);
        let mut big_s = rs;
        big_s[32..].fill(0xff);
        let other = SigningKey::from_slice(&[5u8; 32]).unwrap();
        for c in providers() {
            for compressed in [false, true] {
                let point = sk.verifying_key().to_sec1_point(compressed);
                for key in [
                    c.p256_public_key(point.as_bytes()).unwrap(),
                    c.p256_public_key_for_reuse(point.as_bytes()).unwrap(),
                ] {
                    let n = c.name();
                    assert!(key.verify_sha256(&msg, &rs), "{n}");
                    assert!(key.verify_sha256(&msg, &rs), "{n} (again)");
                    assert!(key.verify_sha256(&msg, &high), "{n} high s");
                    assert!(!key.verify_sha256(&msg[1..], &rs), "{n}");
                    assert!(!key.verify_sha256(&msg, &swapped), "{n}");
                    assert!(!key.verify_sha256(&msg, &zero_r), "{n}");
                    assert!(!key.verify_sha256(&msg, &big_s), "{n}");
                    assert!(!key.verify_sha256(&msg, &[0; 64]), "{n}");
                }
                let wrong = other.verifying_key().to_sec1_point(compressed);
                let key = c.p256_public_key(wrong.as_bytes()).unwrap();
                assert!(!key.verify_sha256(&msg, &rs), "{}", c.name());
            }
            let point = sk.verifying_key().to_sec1_point(false);
            let bytes = point.as_bytes();
            assert!(c.p256_public_key(&bytes[..64]).is_err());
            assert!(c.p256_public_key(&bytes[1..]).is_err());
            assert!(c.p256_public_key(&[0]).is_err(), "identity");
            assert!(c.p256_public_key(&[]).is_err());
            let mut off_curve = bytes.to_vec();
            off_curve[64] ^= 1;
            assert!(c.p256_public_key(&off_curve).is_err());
            assert!(c.p256_public_key_for_reuse(&off_curve).is_err());
        }
    }

    /// aws-lc alone would take a SubjectPublicKeyInfo; the shared decoder
    /// does not.
    #[cfg(feature = "aws-lc")]
    #[test]
    fn aws_lc_takes_only_sec1_points() {
        let sk = SigningKey::from_slice(&[9u8; 32]).unwrap();
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING point }
        let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
        spki.extend_from_slice(sk.verifying_key().to_sec1_point(false).as_bytes());
        assert!(
            aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                &spki
            )
            .is_ok()
        );
        for c in providers() {
            assert!(c.p256_public_key(&spki).is_err(), "{}", c.name());
        }
    }
}
