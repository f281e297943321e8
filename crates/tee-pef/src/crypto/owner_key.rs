//! Owner (origin) private keys as svm-tool writes them, and encrypted PKCS#8.
//!
//! `svm-tool esm generate` writes the owner key with PyCryptodome's
//! `export_key(passphrase=…)`: PKCS#1 `BEGIN RSA PRIVATE KEY`, encrypted in
//! OpenSSL's "traditional" PEM way (`Proc-Type: 4,ENCRYPTED`,
//! `DEK-Info: DES-EDE3-CBC,<8-byte IV hex>`; the key is
//! `EVP_BytesToKey(MD5, salt = IV[..8], passphrase, 1 iteration)`, the body
//! CBC with PKCS#7 padding). That is what the vectors' `owner-priv.pem` is.
//! svm-tool reads keys with `RSA.import_key(…, passphrase)`, which takes the
//! same form and encrypted PKCS#8 too.
//!
//! Read: that form (DES-EDE3-CBC, as svm-tool writes it, and AES-128/192/256-CBC
//! as `openssl rsa -aes256` writes it), encrypted PKCS#8
//! (`BEGIN ENCRYPTED PRIVATE KEY`, PBES2), and, only when the caller allows
//! it explicitly, an unencrypted PKCS#8 or PKCS#1 key. Written: svm-tool's form
//! ([`OwnerKeyFormat::SvmTool`], the default) or encrypted PKCS#8
//! ([`OwnerKeyFormat::Pkcs8`]: PBES2, scrypt and AES-256-CBC).

use aes::{Aes128, Aes192, Aes256};
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use des::TdesEde3;
use md5::{Digest, Md5};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use tee_core::{Authenticity, Error, Result};
use zeroize::Zeroizing;

use super::{RsaKeyPair, random_fill};

const WHAT: &str = "owner private key PEM";
/// Longest passphrase accepted (PyCryptodome has no limit; a bound keeps
/// the KDF input sane).
pub const MAX_PASSPHRASE: usize = 1024;

/// How an owner key file is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnerKeyFormat {
    /// PKCS#1, OpenSSL traditional PEM encryption with DES-EDE3-CBC: exactly
    /// what `svm-tool esm generate` writes.
    SvmTool,
    /// Encrypted PKCS#8 (PBES2: scrypt, AES-256-CBC); svm-tool reads it too.
    Pkcs8,
}

/// How a key file that was read had been protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProtection {
    /// Traditional PEM encryption with this `DEK-Info` cipher.
    LegacyPem(&'static str),
    /// Encrypted PKCS#8.
    EncryptedPkcs8,
    /// Not encrypted (accepted only when the caller allowed it).
    Unencrypted,
}

#[derive(Clone, Copy)]
enum DekCipher {
    DesEde3,
    Aes128,
    Aes192,
    Aes256,
}

impl DekCipher {
    fn parse(name: &str) -> Option<(Self, &'static str)> {
        Some(match name {
            "DES-EDE3-CBC" => (Self::DesEde3, "DES-EDE3-CBC"),
            "AES-128-CBC" => (Self::Aes128, "AES-128-CBC"),
            "AES-192-CBC" => (Self::Aes192, "AES-192-CBC"),
            "AES-256-CBC" => (Self::Aes256, "AES-256-CBC"),
            _ => return None,
        })
    }
    fn key_len(self) -> usize {
        match self {
            Self::DesEde3 | Self::Aes192 => 24,
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }
    fn iv_len(self) -> usize {
        match self {
            Self::DesEde3 => 8,
            _ => 16,
        }
    }
}

/// OpenSSL `EVP_BytesToKey(MD5, salt, pass, count = 1)`.
fn bytes_to_key(pass: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut prev: Option<Zeroizing<[u8; 16]>> = None;
    while out.len() < len {
        let mut h = Md5::new();
        if let Some(p) = &prev {
            h.update(p.as_slice());
        }
        h.update(pass);
        h.update(salt);
        let d: [u8; 16] = h.finalize().into();
        out.extend_from_slice(&d);
        prev = Some(Zeroizing::new(d));
    }
    out.truncate(len);
    out
}

fn wrong_passphrase() -> Error {
    Error::Authenticity(Authenticity::Mismatch {
        what: "owner key passphrase",
        detail: "the key does not decrypt with this passphrase".into(),
    })
}

fn legacy_decrypt(c: DekCipher, pass: &[u8], iv: &[u8], body: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let key = bytes_to_key(pass, iv.get(..8).unwrap_or(iv), c.key_len());
    let bad = |_| wrong_passphrase();
    let pt = match c {
        DekCipher::DesEde3 => cbc::Decryptor::<TdesEde3>::new_from_slices(&key, iv)
            .map_err(|_| Error::bad_field(WHAT, "DEK-Info", "bad IV length"))?
            .decrypt_padded_vec::<Pkcs7>(body)
            .map_err(bad)?,
        DekCipher::Aes128 => cbc::Decryptor::<Aes128>::new_from_slices(&key, iv)
            .map_err(|_| Error::bad_field(WHAT, "DEK-Info", "bad IV length"))?
            .decrypt_padded_vec::<Pkcs7>(body)
            .map_err(bad)?,
        DekCipher::Aes192 => cbc::Decryptor::<Aes192>::new_from_slices(&key, iv)
            .map_err(|_| Error::bad_field(WHAT, "DEK-Info", "bad IV length"))?
            .decrypt_padded_vec::<Pkcs7>(body)
            .map_err(bad)?,
        DekCipher::Aes256 => cbc::Decryptor::<Aes256>::new_from_slices(&key, iv)
            .map_err(|_| Error::bad_field(WHAT, "DEK-Info", "bad IV length"))?
            .decrypt_padded_vec::<Pkcs7>(body)
            .map_err(bad)?,
    };
    Ok(Zeroizing::new(pt))
}

/// One PEM block with optional RFC 1421 headers.
struct PemBlock<'a> {
    label: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: Zeroizing<Vec<u8>>,
}

fn parse_pem(text: &str) -> Result<PemBlock<'_>> {
    let mut lines = text.lines().map(str::trim_end).skip_while(|l| l.is_empty());
    let first = lines.next().unwrap_or("");
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| Error::encoding(WHAT, "no -----BEGIN line"))?;
    let mut headers = Vec::new();
    let mut b64 = Zeroizing::new(String::new());
    let mut in_headers = true;
    let end = format!("-----END {label}-----");
    let mut ended = false;
    for l in lines {
        if l == end {
            ended = true;
            break;
        }
        if in_headers {
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim(), v.trim()));
                continue;
            }
            in_headers = false;
            if l.is_empty() {
                continue;
            }
        }
        b64.push_str(l.trim());
    }
    if !ended {
        return Err(Error::encoding(WHAT, format_args!("no `{end}` line")));
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| Error::encoding(WHAT, "bad base64 body"))?;
    Ok(PemBlock {
        label,
        headers,
        body: Zeroizing::new(body),
    })
}

fn from_der(label: &str, der: &[u8]) -> Option<RsaPrivateKey> {
    match label {
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(der).ok(),
        _ => RsaPrivateKey::from_pkcs8_der(der).ok(),
    }
}

impl RsaKeyPair {
    /// Read an owner private key PEM (see the module documentation for the
    /// forms). `passphrase` is needed for an encrypted key;
    /// `allow_unencrypted` must be `true` for an unencrypted one.
    ///
    /// # Errors
    /// - [`Error::Misuse`]: encrypted key and no passphrase, or an
    ///   unencrypted key without `allow_unencrypted`;
    /// - [`Error::Authenticity`] (`Mismatch`): wrong passphrase;
    /// - [`Error::Malformed`]: not a PEM RSA private key, or an unknown
    ///   `Proc-Type`/`DEK-Info` cipher.
    pub fn from_owner_pem(
        pem: &[u8],
        passphrase: Option<&[u8]>,
        allow_unencrypted: bool,
    ) -> Result<(Self, KeyProtection)> {
        if passphrase.is_some_and(|p| p.len() > MAX_PASSPHRASE) {
            return Err(Error::Misuse(
                format!("passphrase longer than {MAX_PASSPHRASE} bytes").into(),
            ));
        }
        let text = core::str::from_utf8(pem).map_err(|_| Error::encoding(WHAT, "not UTF-8"))?;
        let block = parse_pem(text)?;
        let need_pass = || {
            passphrase.ok_or(Error::Misuse(
                "the owner key is encrypted: give its passphrase".into(),
            ))
        };
        let proc_type = block
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Proc-Type"))
            .map(|(_, v)| *v);
        let (key, prot) = match (block.label, proc_type) {
            ("RSA PRIVATE KEY" | "PRIVATE KEY", Some(pt)) => {
                if pt != "4,ENCRYPTED" {
                    return Err(Error::bad_field(WHAT, "Proc-Type", "not \"4,ENCRYPTED\""));
                }
                let dek = block
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("DEK-Info"))
                    .map(|(_, v)| *v)
                    .ok_or_else(|| Error::bad_field(WHAT, "DEK-Info", "missing"))?;
                let (alg, iv_hex) = dek
                    .split_once(',')
                    .ok_or_else(|| Error::bad_field(WHAT, "DEK-Info", "not CIPHER,IV"))?;
                let (c, name) = DekCipher::parse(alg.trim()).ok_or_else(|| {
                    Error::bad_field(
                        WHAT,
                        "DEK-Info",
                        format_args!(
                            "cipher `{alg}` not supported (DES-EDE3-CBC, AES-128/192/256-CBC)"
                        ),
                    )
                })?;
                let iv = hex::decode(iv_hex.trim())
                    .ok()
                    .filter(|v| v.len() == c.iv_len())
                    .ok_or_else(|| Error::bad_field(WHAT, "DEK-Info", "bad IV"))?;
                let der = legacy_decrypt(c, need_pass()?, &iv, &block.body)?;
                let key = from_der(block.label, &der).ok_or_else(wrong_passphrase)?;
                (key, KeyProtection::LegacyPem(name))
            }
            ("ENCRYPTED PRIVATE KEY", None) => {
                let pass = need_pass()?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(block.body.as_slice())
                    .map_err(|e| Error::encoding(WHAT, e))?;
                let doc = info.decrypt(pass).map_err(|_| wrong_passphrase())?;
                let key = RsaPrivateKey::from_pkcs8_der(doc.as_bytes())
                    .map_err(|_| wrong_passphrase())?;
                (key, KeyProtection::EncryptedPkcs8)
            }
            ("RSA PRIVATE KEY" | "PRIVATE KEY", None) => {
                if !allow_unencrypted {
                    return Err(Error::Misuse(
                        "the owner key is not encrypted; accept it only explicitly \
                         (--allow-unencrypted-key), or protect it with a passphrase"
                            .into(),
                    ));
                }
                let key = from_der(block.label, &block.body)
                    .ok_or_else(|| Error::encoding(WHAT, "not an RSA private key"))?;
                (key, KeyProtection::Unencrypted)
            }
            (other, _) => {
                return Err(Error::encoding(
                    WHAT,
                    format_args!("`BEGIN {other}` is not an RSA private key"),
                ));
            }
        };
        Ok((Self::from_key(key)?, prot))
    }

    /// The private key as a passphrase-protected PEM file in `format`.
    ///
    /// # Errors
    /// [`Error::Misuse`] for an empty or oversize passphrase, or an
    /// encoding failure; [`Error::Device`] if randomness fails.
    pub fn to_owner_pem(
        &self,
        passphrase: &[u8],
        format: OwnerKeyFormat,
    ) -> Result<Zeroizing<String>> {
        if passphrase.is_empty() || passphrase.len() > MAX_PASSPHRASE {
            return Err(Error::Misuse(
                format!("the passphrase must be 1..={MAX_PASSPHRASE} bytes").into(),
            ));
        }
        match format {
            OwnerKeyFormat::Pkcs8 => self
                .key
                .to_pkcs8_encrypted_pem(passphrase, LineEnding::LF)
                .map_err(|_| Error::Misuse("encrypted PKCS#8 encoding failed".into())),
            OwnerKeyFormat::SvmTool => {
                let der = self
                    .key
                    .to_pkcs1_der()
                    .map_err(|_| Error::Misuse("PKCS#1 encoding failed".into()))?;
                let mut iv = [0u8; 8];
                random_fill(&mut iv)?;
                let key = bytes_to_key(passphrase, &iv, 24);
                let ct = cbc::Encryptor::<TdesEde3>::new_from_slices(&key, &iv)
                    .map_err(|_| Error::Misuse("DES-EDE3-CBC key setup".into()))?
                    .encrypt_padded_vec::<Pkcs7>(der.as_bytes());
                let b64 = base64::engine::general_purpose::STANDARD.encode(ct);
                let mut s = Zeroizing::new(String::with_capacity(b64.len() + 200));
                s.push_str("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n");
                s.push_str("DEK-Info: DES-EDE3-CBC,");
                s.push_str(&hex::encode_upper(iv));
                s.push_str("\n\n");
                for chunk in b64.as_bytes().chunks(64) {
                    s.push_str(core::str::from_utf8(chunk).unwrap_or(""));
                    s.push('\n');
                }
                s.push_str("-----END RSA PRIVATE KEY-----\n");
                Ok(s)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -P -S 0102030405060708 -pass pass:secret -md md5`
        // prints key (32 B) then iv (16 B): 48 bytes of the same stream.
        let salt = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let k = bytes_to_key(b"secret", &salt, 48);
        assert_eq!(
            hex::encode_upper(&k[..]),
            "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB\
             E24B32BBBC4EF02ECBCB6576523AD893"
        );
        assert_eq!(&bytes_to_key(b"secret", &salt, 24)[..], &k[..24]);
    }
}
