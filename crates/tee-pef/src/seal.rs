//! Sealing under a key derived from an ESM attachment.

use std::sync::Arc;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use tee_core::{
    DeviceErrorKind, Error, Operation, Platform, Result, SealBinding, SealingKeySource,
};
use zeroize::Zeroizing;

use crate::backend::SecretStore;
use crate::guest;

/// Sealing keys derived from an ESM-provisioned secret:
/// `HKDF-SHA256(salt = "tee-pef/seal/v1", ikm = secret, info = binding ‖ key_params)`,
/// with `key_params` = a public id of the secret. Bound to the owner's blob
/// (any VM admitted by a blob carrying the same secret derives the same
/// key), not to a measurement; lasts as long as the blob stays authorised.
#[derive(Debug)]
pub struct PefKeySource {
    store: Arc<SecretStore>,
    file: String,
}

const SEAL_SALT: &[u8] = b"tee-pef/seal/v1";

impl PefKeySource {
    pub(crate) fn new(store: Arc<SecretStore>, file: String) -> Self {
        Self { store, file }
    }

    fn secret(&self) -> Result<Zeroizing<Vec<u8>>> {
        let s = self.store.get(&self.file)?;
        if s.len() < 32 {
            return Err(Error::device(
                DeviceErrorKind::CorruptOutput,
                guest::INTERFACE,
                format_args!("attachment `{}` is shorter than 32 bytes", self.file),
            ));
        }
        Ok(s)
    }
}

impl SealingKeySource for PefKeySource {
    fn platform(&self) -> Platform {
        Platform::Pef
    }

    fn key_params(&self, binding: SealBinding) -> Result<Vec<u8>> {
        if binding == SealBinding::Instance {
            return Err(Error::unsupported(
                Platform::Pef,
                Operation::Sealing,
                "PEF cannot bind a key to a machine instance: the sealing secret comes from the owner's ESM blob, \
                 which may authorise several machines",
            ));
        }
        let s = self.secret()?;
        Ok(Sha256::new()
            .chain_update(b"tee-pef/seal-key-id/v1")
            .chain_update(&*s)
            .finalize()
            .to_vec())
    }

    fn derive_key(&self, binding: SealBinding, key_params: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        if key_params.len() != 32 {
            return Err(Error::bad_field(
                "PEF seal key parameters",
                "key_params",
                "not 32 bytes",
            ));
        }
        let s = self.secret()?;
        let hk = Hkdf::<Sha256>::new(Some(SEAL_SALT), &s);
        let code = match binding {
            SealBinding::Measurement => [1u8],
            SealBinding::Family => [2u8],
            _ => [3u8],
        };
        let mut k = Zeroizing::new([0u8; 32]);
        hk.expand_multi_info(&[&code, key_params], k.as_mut())
            .map_err(|_| Error::Misuse("HKDF output length".into()))?;
        Ok(k)
    }
}
