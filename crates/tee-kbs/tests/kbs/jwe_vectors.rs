//! JWE decryption on the published examples where the KBS algorithms
//! apply: RFC 7516 Appendix A.1 (RSA-OAEP + A256GCM) and RFC 7520 §5.2
//! (RSA-OAEP + A256GCM, flattened JSON), decrypted by `TeeKey::decrypt`;
//! RFC 7520 §5.4 (ECDH-ES+A128KW on P-384 + A128GCM) checks the Concat KDF
//! and key-wrap steps the ECDH-ES+A256KW path uses. The vectors were taken
//! from the RFC texts (as jwcrypto's test suite carries them) into tests/data.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::Value;
use tee_kbs::protocol::Jwe;
use tee_kbs::{JweError, TeeKey};

fn data(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_else(|| panic!("{k}")).to_owned()
}

fn rsa_key(k: &Value) -> TeeKey {
    TeeKey::rsa_from_jwk_parts(&s(k, "n"), &s(k, "e"), &s(k, "d"), &s(k, "p"), &s(k, "q")).unwrap()
}

fn jwe_of(j: &Value) -> Jwe {
    serde_json::from_value(j.clone()).unwrap()
}

#[test]
fn rfc7516_a1_rsa_oaep_a256gcm() {
    let d = data("rfc7516-a1.json");
    let key = rsa_key(&d["key"]);
    let jwe = jwe_of(&d);
    let pt = key.decrypt(&jwe).unwrap();
    assert_eq!(
        std::str::from_utf8(&pt).unwrap(),
        "The true sign of intelligence is not knowledge but imagination."
    );
    assert_eq!(s(&d, "plaintext").as_bytes(), pt.as_slice());
    // Every part matters.
    let mut bad = jwe.clone();
    bad.tag = B64URL.encode([0u8; 16]);
    assert_eq!(key.decrypt(&bad), Err(JweError::Decryption));
    let mut bad = jwe.clone();
    let mut ek = B64URL.decode(&jwe.encrypted_key).unwrap();
    ek[10] ^= 1;
    bad.encrypted_key = B64URL.encode(ek);
    assert_eq!(key.decrypt(&bad), Err(JweError::Decryption));
    // The AAD is the protected string as received: a re-encoded header fails.
    let mut bad = jwe.clone();
    bad.protected = B64URL.encode(br#"{"enc":"A256GCM","alg":"RSA-OAEP"}"#);
    assert_eq!(key.decrypt(&bad), Err(JweError::Decryption));
    // And another RSA key cannot open it.
    let other = rsa_key(&data("rfc7520-5.2.json")["key"]);
    assert_eq!(other.decrypt(&jwe), Err(JweError::Decryption));
}

#[test]
fn rfc7520_5_2_rsa_oaep_a256gcm_flattened() {
    let d = data("rfc7520-5.2.json");
    let key = rsa_key(&d["key"]);
    let pt = key.decrypt(&jwe_of(&d["jwe"])).unwrap();
    assert_eq!(pt.as_slice(), s(&d, "plaintext").as_bytes());
    assert!(s(&d, "plaintext").starts_with("You can trust us to stick with you"));
}

#[test]
fn rfc7520_5_4_concat_kdf_and_key_wrap() {
    let d = data("rfc7520-5.4.json");
    let k = &d["key"];
    let jwe = jwe_of(&d["jwe"]);
    let header: Value = serde_json::from_slice(&B64URL.decode(&jwe.protected).unwrap()).unwrap();
    assert_eq!(header["alg"], "ECDH-ES+A128KW");
    let epk = &header["epk"];
    let mut sec1 = vec![4u8];
    sec1.extend(B64URL.decode(s(epk, "x")).unwrap());
    sec1.extend(B64URL.decode(s(epk, "y")).unwrap());
    let peer = p384::PublicKey::from_sec1_bytes(&sec1).unwrap();
    let sk = p384::SecretKey::from_slice(&B64URL.decode(s(k, "d")).unwrap()).unwrap();
    let z = sk.diffie_hellman(&peer);
    let kek = tee_kbs::jwe::concat_kdf(z.raw_secret_bytes(), b"ECDH-ES+A128KW", &[], &[], 128);
    assert_eq!(kek.len(), 16);
    let kw = aes_kw::KwAes128::new_from_slice(&kek).unwrap();
    let wrapped = B64URL.decode(&jwe.encrypted_key).unwrap();
    let mut cek = [0u8; 16];
    kw.unwrap_key(&wrapped, &mut cek).unwrap();
    let mut ct = B64URL.decode(&jwe.ciphertext).unwrap();
    ct.extend(B64URL.decode(&jwe.tag).unwrap());
    let iv: [u8; 12] = B64URL.decode(&jwe.iv).unwrap().try_into().unwrap();
    let pt = aes_gcm::Aes128Gcm::new_from_slice(&cek)
        .unwrap()
        .decrypt(
            &iv.into(),
            Payload {
                msg: &ct,
                aad: jwe.protected.as_bytes(),
            },
        )
        .unwrap();
    assert_eq!(pt, s(&d, "plaintext").as_bytes());
    // A KDF with another algorithm id gives a key that does not unwrap.
    let kek2 = tee_kbs::jwe::concat_kdf(z.raw_secret_bytes(), b"ECDH-ES+A256KW", &[], &[], 128);
    let kw2 = aes_kw::KwAes128::new_from_slice(&kek2).unwrap();
    assert!(kw2.unwrap_key(&wrapped, &mut cek).is_err());
    // This client refuses ECDH-ES+A128KW itself (the KBS uses A256KW).
    let ec = TeeKey::generate_ec().unwrap();
    assert!(matches!(
        ec.decrypt(&jwe),
        Err(JweError::UnsupportedAlgorithm(_))
    ));
}
