//! The cryptographic primitives of svm-tool and the ultravisor (model §7.1):
//! RSA-OAEP-SHA256 key wrapping with an empty label, AES-256-GCM with a
//! 16-byte nonce and no AAD, SHA-256 fingerprints of PEM file bytes.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use chacha20::ChaCha20Rng;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha512};
use tee_core::{DeviceErrorKind, Error, Result};
use zeroize::Zeroizing;

mod gcm;
mod owner_key;

pub use gcm::{MAX_IV as MAX_GCM_IV, MAX_TAG as MAX_GCM_TAG, MIN_TAG as MIN_GCM_TAG};
pub use owner_key::{KeyProtection, MAX_PASSPHRASE, OwnerKeyFormat};

/// AES-256-GCM with the 16-byte nonce PyCryptodome uses by default.
pub(crate) type Aes256Gcm16 = AesGcm<Aes256, U16>;

/// The 32-byte ESM master key ("symkey", the UV's "housekey").
pub type MasterKey = Zeroizing<[u8; 32]>;

/// SHA-256.
pub fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// SHA-512.
pub fn sha512(b: &[u8]) -> [u8; 64] {
    Sha512::digest(b).into()
}

/// Fill `buf` from the OS random source.
///
/// # Errors
/// [`Error::Device`] when the OS random source fails.
pub fn random_fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::device(DeviceErrorKind::Io, "OS random source", e))
}

/// A CSPRNG seeded from the OS (the RSA crate wants an infallible RNG;
/// seeding once keeps every failure a typed error instead of a panic).
pub(crate) fn rng() -> Result<ChaCha20Rng> {
    let mut seed = Zeroizing::new([0u8; 32]);
    random_fill(seed.as_mut())?;
    Ok(ChaCha20Rng::from_seed(*seed))
}

/// A fresh random master key.
///
/// # Errors
/// [`Error::Device`] when the OS random source fails.
pub fn new_master_key() -> Result<MasterKey> {
    let mut k = Zeroizing::new([0u8; 32]);
    random_fill(k.as_mut())?;
    Ok(k)
}

/// An AES-256-GCM encryption as svm-tool stores it (what the SDK writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcmBox {
    /// Ciphertext (same length as the plaintext).
    pub ciphertext: Vec<u8>,
    /// 16-byte nonce.
    pub iv: [u8; 16],
    /// 16-byte tag.
    pub mac: [u8; 16],
}

/// Encrypt under K with a random 16-byte nonce, no AAD.
///
/// # Errors
/// [`Error::Device`] if randomness fails; [`Error::Misuse`] for oversize input.
pub fn gcm_seal(k: &[u8; 32], plaintext: &[u8]) -> Result<GcmBox> {
    let mut iv = [0u8; 16];
    random_fill(&mut iv)?;
    let cipher =
        Aes256Gcm16::new_from_slice(k).map_err(|_| Error::Misuse("AES key length".into()))?;
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&Nonce::<U16>::from(iv), &[], buf.as_mut_slice().into())
        .map_err(|_| Error::Misuse("plaintext too long for AES-GCM".into()))?;
    Ok(GcmBox {
        ciphertext: buf,
        iv,
        mac: tag.into(),
    })
}

/// Decrypt as the ultravisor's mbedTLS does: any nonce length from 1 to
/// [`MAX_GCM_IV`] bytes, any tag length from [`MIN_GCM_TAG`] to
/// [`MAX_GCM_TAG`] bytes, no AAD. `None` when a length is outside those
/// bounds or the tag does not verify.
pub fn gcm_open(
    k: &[u8; 32],
    iv: &[u8],
    mac: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    gcm::open(k, iv, mac, ciphertext)
}

/// An RSA public key together with the exact PEM file bytes it was read
/// from (the fingerprint is SHA-256 over those bytes, model §7.1).
#[derive(Debug, Clone)]
pub struct RecipientKey {
    pem: Vec<u8>,
    key: RsaPublicKey,
}

impl RecipientKey {
    /// Parse a PEM public key: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo, as
    /// `tssreadpublic -opem` and PyCryptodome write) or `BEGIN RSA PUBLIC KEY`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for anything else, or an RSA key outside 2048..=4096 bits.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let text = core::str::from_utf8(pem)
            .map_err(|_| Error::encoding("RSA public key PEM", "not UTF-8"))?;
        let key = if text.contains("BEGIN RSA PUBLIC KEY") {
            RsaPublicKey::from_pkcs1_pem(text.trim())
                .map_err(|e| Error::encoding("RSA public key PEM", e))?
        } else {
            RsaPublicKey::from_public_key_pem(text.trim())
                .map_err(|e| Error::encoding("RSA public key PEM", e))?
        };
        let bits = key.size() * 8;
        if !(2048..=4096).contains(&bits) {
            return Err(Error::bad_field(
                "RSA public key PEM",
                "modulus",
                format_args!("{bits}-bit key, need 2048..=4096"),
            ));
        }
        Ok(Self {
            pem: pem.to_vec(),
            key,
        })
    }

    /// The PEM bytes as given.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// SHA-256 over the PEM bytes.
    pub fn fingerprint(&self) -> [u8; 32] {
        sha256(&self.pem)
    }

    /// The modulus, big-endian.
    pub fn modulus(&self) -> Vec<u8> {
        self.key.n().to_be_bytes().to_vec()
    }

    /// RSA-OAEP-SHA256 (MGF1-SHA256, empty label) of the master key.
    ///
    /// # Errors
    /// [`Error::Device`] if randomness fails.
    pub fn wrap(&self, k: &[u8; 32]) -> Result<Vec<u8>> {
        let mut r = rng()?;
        self.key
            .encrypt(&mut r, Oaep::<Sha256>::new(), k)
            .map_err(|e| Error::Misuse(format!("RSA-OAEP wrap failed: {e}").into()))
    }
}

/// An RSA private key (origin key, or the simulated TPM's wrapping key).
#[derive(Clone)]
pub struct RsaKeyPair {
    key: RsaPrivateKey,
}

impl core::fmt::Debug for RsaKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "RsaKeyPair({} bits, private half hidden)",
            self.key.size() * 8
        )
    }
}

impl RsaKeyPair {
    fn from_key(key: RsaPrivateKey) -> Result<Self> {
        let bits = key.size() * 8;
        if !(2048..=4096).contains(&bits) {
            return Err(Error::bad_field(
                "RSA private key",
                "modulus",
                format_args!("{bits}-bit key, need 2048..=4096"),
            ));
        }
        Ok(Self { key })
    }

    /// Generate an RSA-2048 key (slow in unoptimized builds).
    ///
    /// # Errors
    /// [`Error::Device`] if randomness fails.
    pub fn generate() -> Result<Self> {
        let mut r = rng()?;
        let key = RsaPrivateKey::new(&mut r, 2048)
            .map_err(|e| Error::Misuse(format!("RSA key generation failed: {e}").into()))?;
        Ok(Self { key })
    }

    /// Read a PKCS#8 PEM private key (`BEGIN PRIVATE KEY`, unencrypted).
    ///
    /// # Errors
    /// [`Error::Malformed`] for anything else.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|_| {
            Error::encoding("RSA private key PEM", "not an unencrypted PKCS#8 RSA key")
        })?;
        Ok(Self { key })
    }

    /// The private key as PKCS#8 PEM (unencrypted; protect the file).
    ///
    /// # Errors
    /// [`Error::Misuse`] if encoding fails.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| Error::Misuse("PKCS#8 encoding failed".into()))
    }

    /// The public key as a PEM file (SubjectPublicKeyInfo) ending in exactly one `\n`.
    ///
    /// # Errors
    /// [`Error::Misuse`] if encoding fails.
    pub fn public_pem(&self) -> Result<Vec<u8>> {
        let s = RsaPublicKey::from(&self.key)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| Error::Misuse("public key PEM encoding failed".into()))?;
        let mut v = s.trim_end().as_bytes().to_vec();
        v.push(b'\n');
        Ok(v)
    }

    /// The public half as a [`RecipientKey`].
    ///
    /// # Errors
    /// As [`RsaKeyPair::public_pem`].
    pub fn recipient(&self) -> Result<RecipientKey> {
        RecipientKey::from_pem(&self.public_pem()?)
    }

    /// RSA-OAEP-SHA256 decryption (blinded) of a wrapped master key.
    /// `None` if it does not decrypt to exactly 32 bytes.
    pub fn unwrap_key(&self, ct: &[u8]) -> Option<MasterKey> {
        let mut r = rng().ok()?;
        let pt = Zeroizing::new(
            self.key
                .decrypt_blinded(&mut r, Oaep::<Sha256>::new(), ct)
                .ok()?,
        );
        let k: [u8; 32] = pt.as_slice().try_into().ok()?;
        Some(Zeroizing::new(k))
    }
}
