//! Signing keys, JWK / JWKS, and the signer set (key rotation by `kid`).

use core::fmt;

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::EarError;
use crate::json::{b64d, b64e, parse_object};

/// Largest JWKS document accepted (64 KiB).
pub const MAX_JWKS_LEN: usize = 64 * 1024;
/// Largest PEM key file accepted (16 KiB).
pub const MAX_PEM_LEN: usize = 16 * 1024;

/// A JWS algorithm this crate signs and verifies with. The algorithm
/// belongs to the key: P-256 keys are ES256, P-384 keys ES384.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
    /// ECDSA P-384 with SHA-384 (RFC 7518 §3.4).
    Es384,
}

impl Alg {
    /// The JOSE name (`"ES256"`, `"ES384"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
        }
    }

    /// The JWK curve name (`"P-256"`, `"P-384"`).
    pub fn curve(self) -> &'static str {
        match self {
            Self::Es256 => "P-256",
            Self::Es384 => "P-384",
        }
    }

    /// The length of a field element (and of each of `r`, `s`, `x`, `y`).
    pub fn field_len(self) -> usize {
        match self {
            Self::Es256 => 32,
            Self::Es384 => 48,
        }
    }

    fn from_curve(crv: &str) -> Option<Self> {
        match crv {
            "P-256" => Some(Self::Es256),
            "P-384" => Some(Self::Es384),
            _ => None,
        }
    }
}

/// The implementation that signs and verifies tokens. Both produce and
/// accept the same JWS bytes (raw `r || s`, RFC 7518 §3.4) and give the
/// same verdicts; key parsing (PEM, JWK, which points are keys) is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Crypto {
    /// RustCrypto `p256` / `p384` (pure Rust, deterministic RFC 6979
    /// nonces). The default.
    #[default]
    RustCrypto,
    /// `aws-lc-rs` (cargo feature `aws-lc`; randomized nonces).
    #[cfg(feature = "aws-lc")]
    AwsLc,
}

impl Crypto {
    /// A short name for logs and metrics (`"RustCrypto"`, `"aws-lc-rs"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::RustCrypto => "RustCrypto",
            #[cfg(feature = "aws-lc")]
            Self::AwsLc => "aws-lc-rs",
        }
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone)]
enum SecretKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// An EAR signing key with its `kid`. Its `Debug` shows the `kid`, the
/// algorithm and the crypto implementation only, never the secret.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: SecretKey,
    /// The aws-lc-rs key pair of the same secret, when it signs.
    #[cfg(feature = "aws-lc")]
    lc: Option<aws_lc_rs::signature::EcdsaKeyPair>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .field("crypto", &self.crypto())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key from the system random source (the crate's only
    /// OS call). Its `kid` is the RFC 7638 thumbprint of its public JWK.
    ///
    /// # Errors
    /// [`EarError::Random`] if the random source fails.
    pub fn generate(alg: Alg) -> Result<Self, EarError> {
        let key = match alg {
            Alg::Es256 => SecretKey::P256(
                p256::ecdsa::SigningKey::try_generate().map_err(|_| EarError::Random)?,
            ),
            Alg::Es384 => SecretKey::P384(
                p384::ecdsa::SigningKey::try_generate().map_err(|_| EarError::Random)?,
            ),
        };
        Ok(Self::with_thumbprint_kid(key))
    }

    /// A key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1
    /// (`BEGIN EC PRIVATE KEY`), P-256 or P-384. Its `kid` is the RFC 7638
    /// thumbprint unless set with [`SigningKey::with_kid`].
    ///
    /// # Errors
    /// [`EarError::BadKey`] for anything else (other curves, RSA, encrypted
    /// PEM, garbage, more than [`MAX_PEM_LEN`] bytes).
    pub fn from_pem(pem: &str) -> Result<Self, EarError> {
        if pem.len() > MAX_PEM_LEN {
            return Err(EarError::key(format_args!(
                "PEM of {} bytes exceeds {MAX_PEM_LEN}",
                pem.len()
            )));
        }
        let pem = pem.trim();
        let key = if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
            if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
                SecretKey::P256(k)
            } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(pem) {
                SecretKey::P384(k)
            } else {
                return Err(EarError::key(
                    "PKCS#8 key is not an EC P-256 or P-384 private key",
                ));
            }
        } else if pem.starts_with("-----BEGIN EC PRIVATE KEY-----") {
            if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
                SecretKey::P256(k.into())
            } else if let Ok(k) = p384::SecretKey::from_sec1_pem(pem) {
                SecretKey::P384(k.into())
            } else {
                return Err(EarError::key(
                    "SEC1 key is not an EC P-256 or P-384 private key",
                ));
            }
        } else {
            return Err(EarError::key(
                "expected a PEM `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1), P-256 or P-384",
            ));
        };
        Ok(Self::with_thumbprint_kid(key))
    }

    fn with_thumbprint_kid(key: SecretKey) -> Self {
        let mut k = Self {
            kid: String::new(),
            key,
            #[cfg(feature = "aws-lc")]
            lc: None,
        };
        k.kid = k.public_jwk().thumbprint();
        k
    }

    /// Builder: set the `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// Builder: sign with this implementation (the default is
    /// [`Crypto::RustCrypto`]). The key, its `kid` and its JWK stay the same.
    ///
    /// # Errors
    /// [`EarError::BadKey`] if the implementation refuses the key.
    pub fn with_crypto(self, crypto: Crypto) -> Result<Self, EarError> {
        match crypto {
            Crypto::RustCrypto => {
                #[cfg(feature = "aws-lc")]
                let this = Self { lc: None, ..self };
                #[cfg(not(feature = "aws-lc"))]
                let this = self;
                Ok(this)
            }
            #[cfg(feature = "aws-lc")]
            Crypto::AwsLc => {
                use aws_lc_rs::signature::{
                    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
                };
                let (alg, secret, public) = match &self.key {
                    SecretKey::P256(k) => (
                        &ECDSA_P256_SHA256_FIXED_SIGNING,
                        Zeroizing::new(k.to_bytes().to_vec()),
                        k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
                    ),
                    SecretKey::P384(k) => (
                        &ECDSA_P384_SHA384_FIXED_SIGNING,
                        Zeroizing::new(k.to_bytes().to_vec()),
                        k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
                    ),
                };
                let kp = EcdsaKeyPair::from_private_key_and_public_key(alg, &secret, &public)
                    .map_err(|e| EarError::key(format_args!("aws-lc-rs refused the key: {e}")))?;
                Ok(Self {
                    lc: Some(kp),
                    ..self
                })
            }
        }
    }

    /// The implementation that signs with this key.
    pub fn crypto(&self) -> Crypto {
        #[cfg(feature = "aws-lc")]
        if self.lc.is_some() {
            return Crypto::AwsLc;
        }
        Crypto::RustCrypto
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm.
    pub fn alg(&self) -> Alg {
        match self.key {
            SecretKey::P256(_) => Alg::Es256,
            SecretKey::P384(_) => Alg::Es384,
        }
    }

    /// The key as PKCS#8 PEM (a secret: write it 0600).
    ///
    /// # Errors
    /// [`EarError::BadKey`] if encoding fails.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, EarError> {
        let le = p256::pkcs8::LineEnding::LF;
        let doc = match &self.key {
            SecretKey::P256(k) => k.to_pkcs8_pem(le),
            SecretKey::P384(k) => k.to_pkcs8_pem(le),
        };
        doc.map(|s| Zeroizing::new(s.as_str().to_owned()))
            .map_err(EarError::key)
    }

    /// The public key as a JWK (`kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`).
    pub fn public_jwk(&self) -> Jwk {
        let (x, y) = match &self.key {
            SecretKey::P256(k) => {
                let p = k.verifying_key().to_sec1_point(false);
                (
                    p.x().map(|v| v.to_vec()).unwrap_or_default(),
                    p.y().map(|v| v.to_vec()).unwrap_or_default(),
                )
            }
            SecretKey::P384(k) => {
                let p = k.verifying_key().to_sec1_point(false);
                (
                    p.x().map(|v| v.to_vec()).unwrap_or_default(),
                    p.y().map(|v| v.to_vec()).unwrap_or_default(),
                )
            }
        };
        Jwk {
            kty: "EC".into(),
            crv: self.alg().curve().into(),
            x: b64e(&x),
            y: b64e(&y),
            kid: Some(self.kid.clone()),
            alg: Some(self.alg().name().into()),
            use_: Some("sig".into()),
        }
    }

    /// Sign the JWS signing input; the raw `r || s` form (RFC 7518 §3.4).
    ///
    /// # Errors
    /// [`EarError::Random`] if aws-lc-rs cannot sign (its nonces come from
    /// the system random source); RustCrypto signing cannot fail.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, EarError> {
        #[cfg(feature = "aws-lc")]
        if let Some(kp) = &self.lc {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let sig = kp.sign(&rng, msg).map_err(|_| EarError::Random)?;
            return Ok(sig.as_ref().to_vec());
        }
        Ok(match &self.key {
            SecretKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_bytes().to_vec()
            }
            SecretKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_bytes().to_vec()
            }
        })
    }
}

/// A public EC key in JWK form (RFC 7517 / RFC 7518 §6.2). Only the
/// members this crate uses; a parsed JWK with private material (`d`) is
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `"EC"`.
    pub kty: String,
    /// Curve: `"P-256"` or `"P-384"`.
    pub crv: String,
    /// X coordinate (base64url, no padding).
    pub x: String,
    /// Y coordinate (base64url, no padding).
    pub y: String,
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm (`"ES256"`, `"ES384"`); when absent it follows from `crv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use: `"sig"`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl Jwk {
    /// The RFC 7638 thumbprint (SHA-256 over `{"crv","kty","x","y"}`),
    /// base64url: the default `kid`.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            self.crv, self.kty, self.x, self.y
        );
        b64e(&Sha256::digest(canonical.as_bytes()))
    }

    /// Parse one JWK from a JSON object.
    fn from_object(m: &Map<String, Value>) -> Result<Option<Self>, EarError> {
        let s = |k: &'static str| -> Result<Option<String>, EarError> {
            match m.get(k) {
                None => Ok(None),
                Some(Value::String(v)) => Ok(Some(v.clone())),
                Some(_) => Err(EarError::malformed(
                    "JWK",
                    format_args!("`{k}` is not a string"),
                )),
            }
        };
        let kty = s("kty")?.ok_or_else(|| EarError::malformed("JWK", "no `kty`"))?;
        if kty != "EC" {
            // RSA, oct (symmetric) and OKP keys are not used by this verifier.
            return Ok(None);
        }
        if m.contains_key("d") {
            return Err(EarError::key("JWK holds private key material (`d`)"));
        }
        let crv = s("crv")?.ok_or_else(|| EarError::malformed("JWK", "no `crv`"))?;
        let x = s("x")?.ok_or_else(|| EarError::malformed("JWK", "no `x`"))?;
        let y = s("y")?.ok_or_else(|| EarError::malformed("JWK", "no `y`"))?;
        let jwk = Self {
            kty,
            crv,
            x,
            y,
            kid: s("kid")?,
            alg: s("alg")?,
            use_: s("use")?,
        };
        if let Some(ops) = m.get("key_ops") {
            let ok = ops
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
            if !ok {
                return Err(EarError::key("JWK `key_ops` does not include `verify`"));
            }
        }
        // Validates curve, alg, use and the point.
        jwk.verifying_key()?;
        Ok(Some(jwk))
    }

    /// The key's algorithm: from `crv`, and `alg` (when present) must agree.
    ///
    /// # Errors
    /// [`EarError::BadKey`] for another curve or a disagreeing `alg`.
    pub fn algorithm(&self) -> Result<Alg, EarError> {
        let by_curve = Alg::from_curve(&self.crv)
            .ok_or_else(|| EarError::key(format_args!("unsupported curve `{}`", self.crv)))?;
        if let Some(a) = &self.alg
            && a != by_curve.name()
        {
            return Err(EarError::key(format_args!(
                "JWK alg `{a}` does not fit curve {}",
                self.crv
            )));
        }
        Ok(by_curve)
    }

    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, EarError> {
        if self.kty != "EC" {
            return Err(EarError::key(format_args!(
                "unsupported kty `{}`",
                self.kty
            )));
        }
        if let Some(u) = &self.use_
            && u != "sig"
        {
            return Err(EarError::key(format_args!("JWK use `{u}` is not `sig`")));
        }
        let alg = self.algorithm()?;
        let x = b64d("JWK x", &self.x).map_err(EarError::key)?;
        let y = b64d("JWK y", &self.y).map_err(EarError::key)?;
        let n = alg.field_len();
        if x.len() != n || y.len() != n {
            return Err(EarError::key(format_args!(
                "{} coordinates must be {n} bytes each",
                alg.curve()
            )));
        }
        let mut sec1 = Vec::with_capacity(1 + 2 * n);
        sec1.push(0x04);
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let bad = |_| EarError::key(format_args!("not a point on {}", alg.curve()));
        Ok(match alg {
            Alg::Es256 => {
                VerifyingKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(bad)?)
            }
            Alg::Es384 => {
                VerifyingKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(bad)?)
            }
        })
    }
}

pub(crate) enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl VerifyingKey {
    pub(crate) fn alg(&self) -> Alg {
        match self {
            Self::P256(_) => Alg::Es256,
            Self::P384(_) => Alg::Es384,
        }
    }

    /// Verify a raw `r || s` JWS signature (exactly twice the field length)
    /// with `crypto`.
    pub(crate) fn verify(&self, crypto: Crypto, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 2 * self.alg().field_len() {
            return false;
        }
        #[cfg(feature = "aws-lc")]
        if crypto == Crypto::AwsLc {
            use aws_lc_rs::signature::{
                ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, UnparsedPublicKey,
            };
            // The point was validated when the JWK was decoded (shared rules).
            return match self {
                Self::P256(k) => UnparsedPublicKey::new(
                    &ECDSA_P256_SHA256_FIXED,
                    k.to_sec1_point(false).as_bytes(),
                )
                .verify(msg, sig)
                .is_ok(),
                Self::P384(k) => UnparsedPublicKey::new(
                    &ECDSA_P384_SHA384_FIXED,
                    k.to_sec1_point(false).as_bytes(),
                )
                .verify(msg, sig)
                .is_ok(),
            };
        }
        let _ = crypto;
        match self {
            Self::P256(k) => {
                p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            Self::P384(k) => {
                p384::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
        }
    }
}

/// A JWK Set (RFC 7517 §5): the keys a relying party accepts EAR tokens
/// from. Keys are found by `kid`; a set with one key also verifies tokens
/// without `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwks {
    /// The keys, current signing key first.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: add a key.
    ///
    /// # Errors
    /// [`EarError::BadKey`] for an invalid key, [`EarError::Misuse`] for a
    /// `kid` already in the set.
    pub fn with_key(mut self, jwk: Jwk) -> Result<Self, EarError> {
        jwk.verifying_key()?;
        if jwk.kid.is_some() && self.keys.iter().any(|k| k.kid == jwk.kid) {
            return Err(EarError::misuse(format_args!(
                "duplicate kid `{}` in the JWKS",
                jwk.kid.as_deref().unwrap_or_default()
            )));
        }
        self.keys.push(jwk);
        Ok(self)
    }

    /// Parse a JWKS document (`{"keys": [...]}`) or a single JWK object.
    /// Keys of other types (RSA, oct, OKP) are left out: they can never
    /// verify an EAR token here. EC keys must be valid P-256/P-384 public
    /// keys; duplicate `kid`s and private key material are refused.
    ///
    /// # Errors
    /// [`EarError::TooLarge`] beyond [`MAX_JWKS_LEN`], [`EarError::Malformed`]
    /// or [`EarError::BadKey`] otherwise.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EarError> {
        if bytes.len() > MAX_JWKS_LEN {
            return Err(EarError::TooLarge {
                len: bytes.len(),
                max: MAX_JWKS_LEN,
            });
        }
        let doc = parse_object("JWKS", bytes)?;
        let objects: Vec<&Map<String, Value>> = match doc.get("keys") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|k| {
                    k.as_object()
                        .ok_or_else(|| EarError::malformed("JWKS", "a key is not an object"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(EarError::malformed("JWKS", "`keys` is not an array")),
            None if doc.contains_key("kty") => vec![&doc],
            None => return Err(EarError::malformed("JWKS", "no `keys`")),
        };
        let mut set = Self::new();
        for o in objects {
            if let Some(jwk) = Jwk::from_object(o)? {
                set = set.with_key(jwk)?;
            }
        }
        Ok(set)
    }

    /// The set as JSON (what `/.well-known/jwks.json` serves).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| String::from("{\"keys\":[]}"))
    }

    /// The key a token with this `kid` selects.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&Jwk, EarError> {
        let unknown = || EarError::UnknownKey {
            kid: kid.map(str::to_owned),
        };
        match kid {
            Some(k) => self
                .keys
                .iter()
                .find(|j| j.kid.as_deref() == Some(k))
                .ok_or_else(unknown),
            None => match self.keys.as_slice() {
                [only] => Ok(only),
                _ => Err(unknown()),
            },
        }
    }
}

/// The issuer's keys: the current key signs; retired keys stay in the JWKS
/// (by `kid`) so tokens they signed keep verifying until they expire.
#[derive(Debug, Clone)]
pub struct SignerSet {
    current: SigningKey,
    retired: Vec<Jwk>,
}

impl SignerSet {
    /// A set whose current (signing) key is `current`.
    pub fn new(current: SigningKey) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }

    /// Rotate: `next` becomes the signing key; the old key's public JWK
    /// stays in the JWKS.
    ///
    /// # Errors
    /// [`EarError::Misuse`] if `next`'s `kid` is already in the set.
    pub fn rotate(&mut self, next: SigningKey) -> Result<(), EarError> {
        if self.kid_in_use(next.kid()) {
            return Err(EarError::misuse(format_args!(
                "kid `{}` is already in the signer set",
                next.kid()
            )));
        }
        let old = core::mem::replace(&mut self.current, next);
        self.retired.insert(0, old.public_jwk());
        Ok(())
    }

    /// Builder: keep a retired public key in the JWKS.
    ///
    /// # Errors
    /// [`EarError::Misuse`] without a `kid` or for one already in the set;
    /// [`EarError::BadKey`] for an invalid key.
    pub fn with_retired(mut self, jwk: Jwk) -> Result<Self, EarError> {
        jwk.verifying_key()?;
        let kid = jwk
            .kid
            .clone()
            .ok_or_else(|| EarError::misuse("a retired key needs a kid"))?;
        if self.kid_in_use(&kid) {
            return Err(EarError::misuse(format_args!(
                "kid `{kid}` is already in the signer set"
            )));
        }
        self.retired.push(jwk);
        Ok(self)
    }

    /// Drop a retired key (after every token it signed has expired).
    /// Returns whether it was there.
    pub fn drop_retired(&mut self, kid: &str) -> bool {
        let before = self.retired.len();
        self.retired.retain(|j| j.kid.as_deref() != Some(kid));
        before != self.retired.len()
    }

    fn kid_in_use(&self, kid: &str) -> bool {
        self.current.kid() == kid || self.retired.iter().any(|j| j.kid.as_deref() == Some(kid))
    }

    /// Sign with `crypto` from now on (the current key, its `kid` and the
    /// JWKS stay the same).
    ///
    /// # Errors
    /// [`EarError::BadKey`] if the implementation refuses the key (the set
    /// is then unchanged).
    pub fn set_crypto(&mut self, crypto: Crypto) -> Result<(), EarError> {
        self.current = self.current.clone().with_crypto(crypto)?;
        Ok(())
    }

    /// The signing key.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The JWKS: the current key first, then the retired keys, newest first.
    pub fn jwks(&self) -> Jwks {
        let mut keys = vec![self.current.public_jwk()];
        keys.extend(self.retired.iter().cloned());
        Jwks { keys }
    }
}
