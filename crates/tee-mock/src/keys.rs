//! Deterministic mock keys, derived from public labels. NO SECURITY.

use std::sync::OnceLock;

use p384::ecdsa::signature::{Signer, Verifier as _};
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256, Sha384};
use tee_core::{Authenticity, Error, Result};

const ROOT_LABEL: &[u8] = b"tee-mock/root-key/v1";
const AK_LABEL: &[u8] = b"tee-mock/attestation-key/v1";
const ENDORSE_DOMAIN: &[u8] = b"tee-mock/ak-endorsement/v1";

/// SEC1 uncompressed P-384 public key length.
pub(crate) const PUBKEY_LEN: usize = 97;
/// Raw r||s signature length.
pub(crate) const SIG_LEN: usize = 96;

fn derive(label: &[u8]) -> Option<SigningKey> {
    let scalar = Sha384::digest(label);
    SigningKey::from_slice(&scalar).ok()
}

fn root() -> Option<&'static SigningKey> {
    static K: OnceLock<Option<SigningKey>> = OnceLock::new();
    K.get_or_init(|| derive(ROOT_LABEL)).as_ref()
}

fn ak() -> Option<&'static SigningKey> {
    static K: OnceLock<Option<SigningKey>> = OnceLock::new();
    K.get_or_init(|| derive(AK_LABEL)).as_ref()
}

fn key_error() -> Error {
    Error::Misuse("mock key derivation produced an invalid scalar".into())
}

/// The mock attestation key's SEC1 public key.
pub(crate) fn ak_public() -> Result<[u8; PUBKEY_LEN]> {
    let k = ak().ok_or_else(key_error)?;
    let pt = k.verifying_key().to_sec1_point(false);
    pt.as_bytes().try_into().map_err(|_| key_error())
}

/// The mock root's SEC1 public key.
pub(crate) fn root_public() -> Result<[u8; PUBKEY_LEN]> {
    let k = root().ok_or_else(key_error)?;
    let pt = k.verifying_key().to_sec1_point(false);
    pt.as_bytes().try_into().map_err(|_| key_error())
}

/// SHA-256 of a SEC1 public key: the key id.
pub(crate) fn key_id(pubkey: &[u8]) -> [u8; 32] {
    Sha256::digest(pubkey).into()
}

fn endorse_msg(ak_pub: &[u8]) -> Vec<u8> {
    [ENDORSE_DOMAIN, ak_pub].concat()
}

/// The endorsement: AK public key || root signature over (domain || AK public key).
/// Computed once: the keys are fixed, so the endorsement is too.
pub(crate) fn ak_endorsement() -> Result<Vec<u8>> {
    static E: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    E.get_or_init(|| {
        let pubkey = ak_public().ok()?;
        let sig: Signature = root()?.sign(&endorse_msg(&pubkey));
        Some([&pubkey[..], &sig.to_bytes()[..]].concat())
    })
    .clone()
    .ok_or_else(key_error)
}

/// Sign with the mock attestation key.
pub(crate) fn ak_sign(msg: &[u8]) -> Result<[u8; SIG_LEN]> {
    let sig: Signature = ak().ok_or_else(key_error)?.sign(msg);
    sig.to_bytes()
        .as_slice()
        .try_into()
        .map_err(|_| key_error())
}

/// Check an endorsement against a root public key; returns the AK public key.
pub(crate) fn check_endorsement(endorsement: &[u8], root_pub: &[u8]) -> Result<[u8; PUBKEY_LEN]> {
    if endorsement.len() != PUBKEY_LEN + SIG_LEN {
        return Err(Error::malformed(
            "mock AK endorsement",
            tee_core::MalformedKind::BadLength {
                expected: PUBKEY_LEN + SIG_LEN,
                actual: endorsement.len(),
            },
        ));
    }
    let (pubkey, sig) = endorsement.split_at(PUBKEY_LEN);
    let root = VerifyingKey::from_sec1_bytes(root_pub).map_err(|_| key_error())?;
    let sig =
        Signature::from_slice(sig).map_err(|_| Error::bad_signature("mock AK endorsement"))?;
    root.verify(&endorse_msg(pubkey), &sig).map_err(|_| {
        Error::Authenticity(Authenticity::BadChain {
            detail: "mock AK endorsement is not signed by the mock root".into(),
        })
    })?;
    pubkey.try_into().map_err(|_| key_error())
}

/// Verify a report signature with an AK public key.
pub(crate) fn verify_with(pubkey: &[u8], msg: &[u8], sig: &[u8]) -> Result<()> {
    let vk = VerifyingKey::from_sec1_bytes(pubkey)
        .map_err(|_| Error::bad_field("mock AK endorsement", "public key", "not a P-384 point"))?;
    let sig =
        Signature::from_slice(sig).map_err(|_| Error::bad_signature("mock report signature"))?;
    vk.verify(msg, &sig)
        .map_err(|_| Error::bad_signature("mock report signature"))
}
