//! The ephemeral TEE key and the resource JWE (RFC 7516 flattened JSON).
//!
//! Accepted algorithms, as the KBS protocol uses them:
//! - `alg` `ECDH-ES+A256KW` on P-256 (the default key of this client):
//!   ECDH with the header's `epk`, Concat KDF (SHA-256, AlgorithmID =
//!   `"ECDH-ES+A256KW"`, the header's `apu`/`apv` or empty, 256 bits),
//!   AES key unwrap of the 40-byte `encrypted_key`;
//! - `alg` `RSA-OAEP-256` (OAEP, SHA-256, MGF1-SHA-256) and `RSA-OAEP`
//!   (SHA-1, RFC 7516 A.1) with an RSA key;
//! - `enc` `A256GCM` (12-byte IV, 16-byte tag), AAD = the ASCII of the
//!   received `protected` string (plus `.` and `aad` when present).
//!
//! `RSA1_5` (still served by Trustee when asked for) is refused: this client
//! never asks for it. P-521 and ML-KEM keys are not supported.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chacha20::ChaCha20Rng;
use chacha20::rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Oaep, RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{JweError, KbsError};
use crate::protocol::{Jwe, TeePubKey};

/// `ECDH-ES+A256KW`.
pub const ALG_ECDH_ES_A256KW: &str = "ECDH-ES+A256KW";
/// `RSA-OAEP-256`.
pub const ALG_RSA_OAEP_256: &str = "RSA-OAEP-256";
/// `RSA-OAEP` (SHA-1).
pub const ALG_RSA_OAEP: &str = "RSA-OAEP";
/// `A256GCM`.
pub const ENC_A256GCM: &str = "A256GCM";

/// Largest JWE ciphertext accepted (16 MiB, the transport's hard bound).
pub const MAX_CIPHERTEXT: usize = 16 << 20;

fn rng() -> Result<ChaCha20Rng, KbsError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|_| KbsError::Random)?;
    Ok(ChaCha20Rng::from_seed(*seed))
}

fn random<const N: usize>() -> Result<[u8; N], KbsError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| KbsError::Random)?;
    Ok(b)
}

/// The ephemeral key pair whose public half goes into `tee-pubkey`.
#[derive(Clone)]
pub enum TeeKey {
    /// EC P-256 for `ECDH-ES+A256KW` (guest-components' default).
    EcP256(p256::SecretKey),
    /// RSA for `RSA-OAEP-256`.
    Rsa(Box<RsaPrivateKey>),
}

impl core::fmt::Debug for TeeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::EcP256(_) => f.write_str("TeeKey::EcP256(..)"),
            Self::Rsa(_) => f.write_str("TeeKey::Rsa(..)"),
        }
    }
}

impl TeeKey {
    /// A fresh P-256 key from the OS random source.
    ///
    /// # Errors
    /// [`KbsError::Random`] when the random source fails.
    pub fn generate_ec() -> Result<Self, KbsError> {
        loop {
            let b = Zeroizing::new(random::<32>()?);
            if let Ok(k) = p256::SecretKey::from_slice(b.as_ref()) {
                return Ok(Self::EcP256(k));
            }
        }
    }

    /// A fresh RSA key of `bits` (2048 or more) for `RSA-OAEP-256`.
    ///
    /// # Errors
    /// [`KbsError::Random`] when the random source fails;
    /// [`KbsError::InvalidArgument`] for fewer than 2048 bits.
    pub fn generate_rsa(bits: usize) -> Result<Self, KbsError> {
        if bits < 2048 {
            return Err(KbsError::InvalidArgument(format!(
                "RSA key of {bits} bits (2048 or more)"
            )));
        }
        let mut r = rng()?;
        RsaPrivateKey::new(&mut r, bits)
            .map(|k| Self::Rsa(Box::new(k)))
            .map_err(|_| KbsError::Random)
    }

    /// The public JWK sent as `tee-pubkey`: EC with fixed-length 32-byte
    /// coordinates, or RSA with `n`, `e`; base64url without padding.
    pub fn public_jwk(&self) -> TeePubKey {
        match self {
            Self::EcP256(k) => {
                let p = k.public_key().to_sec1_bytes();
                // Uncompressed SEC1: 0x04 || x || y.
                let (x, y) = p
                    .get(1..)
                    .unwrap_or_default()
                    .split_at(32.min(p.len().saturating_sub(1)));
                TeePubKey {
                    kty: "EC".into(),
                    alg: ALG_ECDH_ES_A256KW.into(),
                    crv: Some("P-256".into()),
                    x: Some(B64URL.encode(x)),
                    y: Some(B64URL.encode(y)),
                    n: None,
                    e: None,
                }
            }
            Self::Rsa(k) => TeePubKey {
                kty: "RSA".into(),
                alg: ALG_RSA_OAEP_256.into(),
                crv: None,
                x: None,
                y: None,
                n: Some(B64URL.encode(k.n().to_be_bytes_trimmed_vartime())),
                e: Some(B64URL.encode(k.e().to_be_bytes_trimmed_vartime())),
            },
        }
    }

    /// An RSA key from its JWK private members (base64url `n`, `e`, `d`, `p`, `q`),
    /// e.g. the keys of RFC 7516 A.1 and RFC 7520 §5.2.
    ///
    /// # Errors
    /// [`JweError::Malformed`] for bad base64url or an inconsistent key.
    pub fn rsa_from_jwk_parts(
        n: &str,
        e: &str,
        d: &str,
        p: &str,
        q: &str,
    ) -> Result<Self, JweError> {
        let int = |s: &str| {
            B64URL
                .decode(s)
                .map(|b| BoxedUint::from_be_slice_vartime(&b))
                .map_err(|_| JweError::Malformed("RSA JWK member is not base64url"))
        };
        RsaPrivateKey::from_components(int(n)?, int(e)?, int(d)?, vec![int(p)?, int(q)?])
            .map(|k| Self::Rsa(Box::new(k)))
            .map_err(|_| JweError::Malformed("inconsistent RSA key"))
    }

    /// Open a resource JWE encrypted to this key.
    ///
    /// # Errors
    /// [`JweError`]: malformed, an algorithm that is not accepted or does not
    /// fit this key, or a failed unwrap / tag check (tampered or another key).
    pub fn decrypt(&self, jwe: &Jwe) -> Result<Zeroizing<Vec<u8>>, JweError> {
        let header_json = b64(&jwe.protected, "protected header is not base64url")?;
        let header: Header = serde_json::from_slice(&header_json)
            .map_err(|_| JweError::Malformed("protected header is not a JWE header"))?;
        if header.enc != ENC_A256GCM {
            return Err(JweError::UnsupportedAlgorithm(header.enc));
        }
        if jwe.ciphertext.len() > MAX_CIPHERTEXT / 3 * 4 + 4 {
            return Err(JweError::Malformed("ciphertext too large"));
        }
        let wrapped = b64(&jwe.encrypted_key, "encrypted_key is not base64url")?;
        let cek: Zeroizing<Vec<u8>> = match (self, header.alg.as_str()) {
            (Self::EcP256(k), ALG_ECDH_ES_A256KW) => {
                let epk = header
                    .epk
                    .as_ref()
                    .ok_or(JweError::Malformed("ECDH-ES header without epk"))?;
                if epk.kty != "EC" || epk.crv != "P-256" {
                    return Err(JweError::UnsupportedAlgorithm(format!(
                        "{} epk {} {}",
                        header.alg, epk.kty, epk.crv
                    )));
                }
                let x = b64(&epk.x, "epk x is not base64url")?;
                let y = b64(&epk.y, "epk y is not base64url")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(JweError::Malformed("epk coordinates are not 32 bytes"));
                }
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(4);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let peer = p256::PublicKey::from_sec1_bytes(&sec1)
                    .map_err(|_| JweError::Malformed("epk is not a P-256 point"))?;
                let z = k.diffie_hellman(&peer);
                let apu = opt_b64(header.apu.as_deref(), "apu is not base64url")?;
                let apv = opt_b64(header.apv.as_deref(), "apv is not base64url")?;
                let kek = concat_kdf(
                    z.raw_secret_bytes(),
                    ALG_ECDH_ES_A256KW.as_bytes(),
                    &apu,
                    &apv,
                    256,
                );
                if wrapped.len() != 40 {
                    return Err(JweError::Malformed("wrapped key is not 40 bytes"));
                }
                let kw = aes_kw::KwAes256::new_from_slice(&kek)
                    .map_err(|_| JweError::Malformed("KEK length"))?;
                let mut cek = Zeroizing::new(vec![0u8; 32]);
                kw.unwrap_key(&wrapped, &mut cek)
                    .map_err(|_| JweError::Decryption)?;
                cek
            }
            (Self::Rsa(k), ALG_RSA_OAEP_256) => {
                let mut r = rng().map_err(|_| JweError::Decryption)?;
                Zeroizing::new(
                    k.decrypt_blinded(&mut r, Oaep::<Sha256>::new(), &wrapped)
                        .map_err(|_| JweError::Decryption)?,
                )
            }
            (Self::Rsa(k), ALG_RSA_OAEP) => {
                let mut r = rng().map_err(|_| JweError::Decryption)?;
                Zeroizing::new(
                    k.decrypt_blinded(&mut r, Oaep::<sha1::Sha1>::new(), &wrapped)
                        .map_err(|_| JweError::Decryption)?,
                )
            }
            (_, alg) => return Err(JweError::UnsupportedAlgorithm(alg.to_owned())),
        };
        if cek.len() != 32 {
            return Err(JweError::Decryption);
        }
        let iv = b64(&jwe.iv, "iv is not base64url")?;
        let iv: [u8; 12] = iv
            .as_slice()
            .try_into()
            .map_err(|_| JweError::Malformed("iv is not 12 bytes"))?;
        let tag = b64(&jwe.tag, "tag is not base64url")?;
        if tag.len() != 16 {
            return Err(JweError::Malformed("tag is not 16 bytes"));
        }
        let mut ct = b64(&jwe.ciphertext, "ciphertext is not base64url")?;
        ct.extend_from_slice(&tag);
        let mut aad = jwe.protected.clone().into_bytes();
        if let Some(extra) = &jwe.aad {
            aad.push(b'.');
            aad.extend_from_slice(extra.as_bytes());
        }
        let cipher =
            Aes256Gcm::new_from_slice(&cek).map_err(|_| JweError::Malformed("CEK length"))?;
        cipher
            .decrypt(
                &Nonce::from(iv),
                Payload {
                    msg: &ct,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| JweError::Decryption)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    #[serde(default)]
    epk: Option<Epk>,
    #[serde(default)]
    apu: Option<String>,
    #[serde(default)]
    apv: Option<String>,
}

#[derive(Deserialize)]
struct Epk {
    kty: String,
    crv: String,
    x: String,
    y: String,
}

fn b64(s: &str, what: &'static str) -> Result<Vec<u8>, JweError> {
    B64URL.decode(s).map_err(|_| JweError::Malformed(what))
}

fn opt_b64(s: Option<&str>, what: &'static str) -> Result<Vec<u8>, JweError> {
    s.map_or(Ok(Vec::new()), |s| b64(s, what))
}

/// The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A, SHA-256):
/// `keydatalen_bits` of key from the shared secret `z`, with OtherInfo =
/// AlgorithmID ‖ PartyUInfo ‖ PartyVInfo (each a 32-bit big-endian length
/// and the bytes) ‖ SuppPubInfo (`keydatalen_bits` as 32-bit big-endian).
pub fn concat_kdf(
    z: &[u8],
    alg_id: &[u8],
    apu: &[u8],
    apv: &[u8],
    keydatalen_bits: u32,
) -> Zeroizing<Vec<u8>> {
    let len = keydatalen_bits.div_ceil(8) as usize;
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(z);
        for part in [alg_id, apu, apv] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part);
        }
        h.update(keydatalen_bits.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// Encrypt `plaintext` to `key` as a KBS does (A256GCM, a fresh CEK and IV),
/// emitting the protected header exactly as Trustee does (`alg`, `enc`, then
/// `epk` with `crv,kty,x,y`; compact JSON), which guest-components relies on.
///
/// # Errors
/// [`KbsError::Jwe`] for a key this SDK cannot encrypt to (not P-256 EC or
/// RSA with `RSA-OAEP-256`, or bad coordinates); [`KbsError::Random`].
pub fn encrypt(key: &TeePubKey, plaintext: &[u8]) -> Result<Jwe, KbsError> {
    let cek = Zeroizing::new(random::<32>()?);
    let (protected_json, encrypted_key) = match (key.kty.as_str(), key.alg.as_str()) {
        ("EC", ALG_ECDH_ES_A256KW) if key.crv.as_deref() == Some("P-256") => {
            let x = b64(key.x.as_deref().unwrap_or_default(), "x is not base64url")?;
            let y = b64(key.y.as_deref().unwrap_or_default(), "y is not base64url")?;
            let mut sec1 = vec![4u8];
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            let peer = p256::PublicKey::from_sec1_bytes(&sec1)
                .map_err(|_| JweError::Malformed("tee-pubkey is not a P-256 point"))?;
            let TeeKey::EcP256(eph) = TeeKey::generate_ec()? else {
                return Err(KbsError::Random);
            };
            let z = eph.diffie_hellman(&peer);
            let kek = concat_kdf(
                z.raw_secret_bytes(),
                ALG_ECDH_ES_A256KW.as_bytes(),
                &[],
                &[],
                256,
            );
            let kw = aes_kw::KwAes256::new_from_slice(&kek)
                .map_err(|_| JweError::Malformed("KEK length"))?;
            let mut wrapped = [0u8; 40];
            kw.wrap_key(cek.as_ref(), &mut wrapped)
                .map_err(|_| JweError::Malformed("key wrap"))?;
            let epk = eph.public_key().to_sec1_bytes();
            let (ex, ey) = epk
                .get(1..)
                .unwrap_or_default()
                .split_at(32.min(epk.len().saturating_sub(1)));
            let header = format!(
                r#"{{"alg":"{ALG_ECDH_ES_A256KW}","enc":"{ENC_A256GCM}","epk":{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}}}"#,
                B64URL.encode(ex),
                B64URL.encode(ey)
            );
            (header, wrapped.to_vec())
        }
        ("RSA", ALG_RSA_OAEP_256) => {
            let n = b64(key.n.as_deref().unwrap_or_default(), "n is not base64url")?;
            let e = b64(key.e.as_deref().unwrap_or_default(), "e is not base64url")?;
            let pk = RsaPublicKey::new(
                BoxedUint::from_be_slice_vartime(&n),
                BoxedUint::from_be_slice_vartime(&e),
            )
            .map_err(|_| JweError::Malformed("tee-pubkey is not an RSA key"))?;
            let mut r = rng()?;
            let wrapped = pk
                .encrypt(&mut r, Oaep::<Sha256>::new(), cek.as_ref())
                .map_err(|_| JweError::Malformed("RSA key too small"))?;
            (
                format!(r#"{{"alg":"{ALG_RSA_OAEP_256}","enc":"{ENC_A256GCM}"}}"#),
                wrapped,
            )
        }
        (kty, alg) => {
            return Err(JweError::UnsupportedAlgorithm(format!("{kty} {alg}")).into());
        }
    };
    let protected = B64URL.encode(protected_json.as_bytes());
    let iv = random::<12>()?;
    let cipher =
        Aes256Gcm::new_from_slice(cek.as_ref()).map_err(|_| JweError::Malformed("CEK length"))?;
    let mut ct = cipher
        .encrypt(
            &Nonce::from(iv),
            Payload {
                msg: plaintext,
                aad: protected.as_bytes(),
            },
        )
        .map_err(|_| JweError::Malformed("plaintext too large"))?;
    let tag = ct.split_off(ct.len().saturating_sub(16));
    Ok(Jwe {
        protected,
        encrypted_key: B64URL.encode(encrypted_key),
        iv: B64URL.encode(iv),
        ciphertext: B64URL.encode(ct),
        tag: B64URL.encode(tag),
        aad: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        for key in [
            TeeKey::generate_ec().unwrap(),
            TeeKey::generate_rsa(2048).unwrap(),
        ] {
            let jwk = key.public_jwk();
            let jwe = encrypt(&jwk, b"the secret").unwrap();
            assert_eq!(key.decrypt(&jwe).unwrap().as_slice(), b"the secret");
            // Another key of the same kind cannot open it.
            let other = match &key {
                TeeKey::EcP256(_) => TeeKey::generate_ec().unwrap(),
                TeeKey::Rsa(_) => TeeKey::generate_rsa(2048).unwrap(),
            };
            assert_eq!(other.decrypt(&jwe), Err(JweError::Decryption));
            // A flipped ciphertext bit, a changed header, a changed tag.
            let mut ct = B64URL.decode(&jwe.ciphertext).unwrap();
            ct[0] ^= 1;
            let t = Jwe {
                ciphertext: B64URL.encode(&ct),
                ..jwe.clone()
            };
            assert_eq!(key.decrypt(&t), Err(JweError::Decryption));
            let t = Jwe {
                aad: Some("x".into()),
                ..jwe.clone()
            };
            assert_eq!(key.decrypt(&t), Err(JweError::Decryption));
            let mut tag = B64URL.decode(&jwe.tag).unwrap();
            tag[15] ^= 0x80;
            let t = Jwe {
                tag: B64URL.encode(&tag),
                ..jwe.clone()
            };
            assert_eq!(key.decrypt(&t), Err(JweError::Decryption));
            let t = Jwe {
                iv: B64URL.encode([0u8; 16]),
                ..jwe.clone()
            };
            assert!(matches!(key.decrypt(&t), Err(JweError::Malformed(_))));
            let t = Jwe {
                protected: "!!".into(),
                ..jwe.clone()
            };
            assert!(matches!(key.decrypt(&t), Err(JweError::Malformed(_))));
        }
    }

    #[test]
    fn the_header_is_emitted_as_trustee_does() {
        let key = TeeKey::generate_ec().unwrap();
        let jwk = key.public_jwk();
        assert_eq!(B64URL.decode(jwk.x.as_ref().unwrap()).unwrap().len(), 32);
        let jwe = encrypt(&jwk, b"x").unwrap();
        let h = String::from_utf8(B64URL.decode(&jwe.protected).unwrap()).unwrap();
        assert!(
            h.starts_with(
                r#"{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv":"P-256","kty":"EC","x":""#
            ),
            "{h}"
        );
        assert_eq!(B64URL.decode(&jwe.encrypted_key).unwrap().len(), 40);
        assert_eq!(B64URL.decode(&jwe.iv).unwrap().len(), 12);
    }

    #[test]
    fn algorithms_that_do_not_fit_are_refused() {
        let ec = TeeKey::generate_ec().unwrap();
        let rsa = TeeKey::generate_rsa(2048).unwrap();
        let to_rsa = encrypt(&rsa.public_jwk(), b"x").unwrap();
        let to_ec = encrypt(&ec.public_jwk(), b"x").unwrap();
        assert_eq!(
            ec.decrypt(&to_rsa),
            Err(JweError::UnsupportedAlgorithm("RSA-OAEP-256".into()))
        );
        assert_eq!(
            rsa.decrypt(&to_ec),
            Err(JweError::UnsupportedAlgorithm("ECDH-ES+A256KW".into()))
        );
        for (alg, enc) in [
            ("RSA1_5", "A256GCM"),
            ("dir", "A256GCM"),
            ("RSA-OAEP-256", "A128CBC-HS256"),
        ] {
            let h = format!(r#"{{"alg":"{alg}","enc":"{enc}"}}"#);
            let t = Jwe {
                protected: B64URL.encode(h),
                ..to_rsa.clone()
            };
            assert!(
                matches!(rsa.decrypt(&t), Err(JweError::UnsupportedAlgorithm(_))),
                "{alg} {enc}"
            );
        }
        assert!(TeeKey::generate_rsa(1024).is_err());
        let mut bad = ec.public_jwk();
        bad.crv = Some("P-521".into());
        assert!(encrypt(&bad, b"x").is_err());
    }
}
