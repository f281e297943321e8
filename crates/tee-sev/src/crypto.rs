//! Crypto providers: the signature primitives the verifier needs (ECDSA
//! P-384/SHA-384 for reports, RSASSA-PSS/SHA-384 for the AMD chain), behind
//! a trait so that the implementation is a **value** chosen by the caller.
//!
//! - [`RUST_CRYPTO`] (the default): pure Rust (RustCrypto `p384`, `rsa`).
//! - `AWS_LC` (cargo feature `aws-lc`): `aws-lc-rs`. Enabling the feature
//!   only makes the value available; a verifier uses it only when it is
//!   passed explicitly:
//!
//! ```
//! # #[cfg(feature = "aws-lc")]
//! let v = tee_sev::SnpVerifier::new().with_crypto(&tee_sev::crypto::AWS_LC);
//! ```
//!
//! Both providers accept and reject the same inputs (tested on every SNP
//! vector with the feature on).

use std::fmt;
use std::sync::Arc;

use tee_core::{Error, Result};

/// A P-384 public key prepared for repeated verification.
pub trait P384PublicKey: Send + Sync + fmt::Debug {
    /// Verify an ECDSA P-384 signature with SHA-384 over `msg`; `r` and `s`
    /// are the big-endian scalars. `false` for any failure.
    fn verify_sha384(&self, msg: &[u8], r: &[u8; 48], s: &[u8; 48]) -> bool;
}

/// An RSA public key prepared for RSASSA-PSS verification.
pub trait RsaPssPublicKey: Send + Sync + fmt::Debug {
    /// Verify RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt over
    /// `msg`. `false` for any failure.
    fn verify_pss_sha384(&self, msg: &[u8], sig: &[u8]) -> bool;
}

/// The signature primitives of the SEV-SNP verifier.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;

    /// Decode and validate a P-384 public key from its SEC1 encoding (the
    /// contents of the certificate's `subjectPublicKey` bit string).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the bytes are not a point on P-384.
    fn p384_public_key(&self, sec1: &[u8]) -> Result<Arc<dyn P384PublicKey>>;

    /// Decode an RSA public key from its PKCS#1 `RSAPublicKey` DER (the
    /// contents of the certificate's `subjectPublicKey` bit string).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the bytes are not an acceptable RSA key.
    fn rsa_public_key(&self, pkcs1: &[u8]) -> Result<Arc<dyn RsaPssPublicKey>>;
}

/// Pure-Rust provider (RustCrypto `p384` and `rsa`). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

/// The pure-Rust provider value, the default of [`crate::SnpVerifier`].
pub static RUST_CRYPTO: RustCrypto = RustCrypto;

#[derive(Debug)]
struct RcP384(p384::ecdsa::VerifyingKey);

impl P384PublicKey for RcP384 {
    fn verify_sha384(&self, msg: &[u8], r: &[u8; 48], s: &[u8; 48]) -> bool {
        use p384::ecdsa::signature::Verifier as _;
        match p384::ecdsa::Signature::from_scalars(*r, *s) {
            Ok(sig) => self.0.verify(msg, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

#[derive(Debug)]
struct RcRsa(rsa::pss::VerifyingKey<sha2::Sha384>);

impl RsaPssPublicKey for RcRsa {
    fn verify_pss_sha384(&self, msg: &[u8], sig: &[u8]) -> bool {
        use rsa::signature::Verifier as _;
        match rsa::pss::Signature::try_from(sig) {
            Ok(sig) => self.0.verify(msg, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

impl CryptoProvider for RustCrypto {
    fn name(&self) -> &'static str {
        "RustCrypto"
    }

    fn p384_public_key(&self, sec1: &[u8]) -> Result<Arc<dyn P384PublicKey>> {
        let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
            .map_err(|_| Error::encoding("EC public key", "invalid P-384 point"))?;
        Ok(Arc::new(RcP384(vk)))
    }

    fn rsa_public_key(&self, pkcs1: &[u8]) -> Result<Arc<dyn RsaPssPublicKey>> {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        let key = rsa::RsaPublicKey::from_pkcs1_der(pkcs1)
            .map_err(|e| Error::encoding("RSA public key", e))?;
        Ok(Arc::new(RcRsa(
            rsa::pss::VerifyingKey::<sha2::Sha384>::new_with_salt_len(key, 48),
        )))
    }
}

#[cfg(feature = "aws-lc")]
pub use awslc::{AWS_LC, AwsLc};

#[cfg(feature = "aws-lc")]
mod awslc {
    use std::fmt;
    use std::sync::Arc;

    use aws_lc_rs::signature::{
        ECDSA_P384_SHA384_FIXED, ParsedPublicKey, RSA_PSS_2048_8192_SHA384,
    };
    use tee_core::{Error, Result};

    use super::{CryptoProvider, P384PublicKey, RsaPssPublicKey};

    /// Provider backed by `aws-lc-rs` (feature `aws-lc`). Selected only by
    /// passing [`AWS_LC`] to [`crate::SnpVerifier::with_crypto`].
    #[derive(Debug, Clone, Copy, Default)]
    pub struct AwsLc;

    /// The `aws-lc-rs` provider value.
    pub static AWS_LC: AwsLc = AwsLc;

    struct Key(ParsedPublicKey);

    impl fmt::Debug for Key {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("AwsLcPublicKey")
        }
    }

    impl P384PublicKey for Key {
        fn verify_sha384(&self, msg: &[u8], r: &[u8; 48], s: &[u8; 48]) -> bool {
            let mut sig = [0u8; 96];
            sig[..48].copy_from_slice(r);
            sig[48..].copy_from_slice(s);
            self.0.verify_sig(msg, &sig).is_ok()
        }
    }

    impl RsaPssPublicKey for Key {
        fn verify_pss_sha384(&self, msg: &[u8], sig: &[u8]) -> bool {
            self.0.verify_sig(msg, sig).is_ok()
        }
    }

    impl CryptoProvider for AwsLc {
        fn name(&self) -> &'static str {
            "aws-lc-rs"
        }

        fn p384_public_key(&self, sec1: &[u8]) -> Result<Arc<dyn P384PublicKey>> {
            let k = ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, sec1)
                .map_err(|_| Error::encoding("EC public key", "invalid P-384 point"))?;
            Ok(Arc::new(Key(k)))
        }

        fn rsa_public_key(&self, pkcs1: &[u8]) -> Result<Arc<dyn RsaPssPublicKey>> {
            let k = ParsedPublicKey::new(&RSA_PSS_2048_8192_SHA384, pkcs1)
                .map_err(|_| Error::encoding("RSA public key", "rejected"))?;
            Ok(Arc::new(Key(k)))
        }
    }
}
