//! A simulated platform TPM holding the ESM wrapping key (model §6).
//!
//! Firmware (skiboot) provisions an RSA-2048 OAEP-SHA256 decryption key at
//! persistent handle `0x81800001` with `authPolicy = PolicyOR(A, B)`:
//!
//! - policy A = `PolicyCommandCode(RSA_Decrypt)` → `PolicyAuthValue`: the
//!   ultravisor decrypts with the per-boot password;
//! - policy B = `PolicyCommandCode(ObjectChangeAuth)` → `PolicyPCR(PCR16 = 0)`:
//!   firmware rotates the password every boot.
//!
//! # The PCR16 assumption (explicit)
//!
//! Policy B lets anyone who can make PCR16 read zero change the wrapping
//! key's password, and then use policy A with a password they know. No
//! available source shows firmware extending or locking PCR16 after
//! provisioning. This simulator **assumes PCR16 is locked after firmware**:
//! [`SimTpm::firmware_boot`] extends PCR16 after rotating the password and
//! sets [`SimTpm::pcr16_locked`]; [`SimTpm::pcr16_reset`] then fails. The
//! `danger` escape hatch [`SimTpm::danger_unlock_pcr16`] models a platform
//! where the assumption does not hold, so tests can show the consequence.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tee_core::{Error, Result};
use zeroize::Zeroizing;

use crate::crypto::{MasterKey, RsaKeyPair, random_fill};

/// Persistent handle of the storage parent (platform hierarchy).
pub const PARENT_HANDLE: u32 = 0x8180_0000;
/// Persistent handle of the wrapping key.
pub const WRAPPING_KEY_HANDLE: u32 = 0x8180_0001;

/// `TPM_CC_RSA_Decrypt`.
pub const TPM_CC_RSA_DECRYPT: u32 = 0x0000_0159;
/// `TPM_CC_ObjectChangeAuth`.
pub const TPM_CC_OBJECT_CHANGE_AUTH: u32 = 0x0000_0150;
/// `TPM_CC_PolicyCommandCode`.
pub const TPM_CC_POLICY_COMMAND_CODE: u32 = 0x0000_016C;
/// `TPM_CC_PolicyAuthValue`.
pub const TPM_CC_POLICY_AUTH_VALUE: u32 = 0x0000_016B;
/// `TPM_CC_PolicyPCR`.
pub const TPM_CC_POLICY_PCR: u32 = 0x0000_017F;
/// `TPM_CC_PolicyOR`.
pub const TPM_CC_POLICY_OR: u32 = 0x0000_0171;
/// `TPM_ALG_SHA256`.
pub const TPM_ALG_SHA256: u16 = 0x000B;

/// Policy A from skiboot (`PCR16ZERO` build).
pub const POLICY_A_HEX: &str = "8dbd2aa10f701b1eda230fa8a38803d342f3b48c2ffcbed56c04674c79dff00f";
/// Policy B from skiboot.
pub const POLICY_B_HEX: &str = "9795d78f53de94401899cc2d5ba76007b3d4dad85bf95cabeeba04d0f98b502e";
/// The wrapping key's authPolicy = PolicyOR(A, B).
pub const AUTH_POLICY_HEX: &str =
    "e86c7354251aa8e6ce27fddc541946f48120ff95c3d7a4d343f463321bd3e55c";

/// TPM2 policy digest arithmetic (TPM 2.0 Part 3, SHA-256 bank).
pub mod policy {
    use super::*;

    /// `PolicyCommandCode(cc)`.
    pub fn command_code(old: &[u8; 32], cc: u32) -> [u8; 32] {
        Sha256::new()
            .chain_update(old)
            .chain_update(TPM_CC_POLICY_COMMAND_CODE.to_be_bytes())
            .chain_update(cc.to_be_bytes())
            .finalize()
            .into()
    }

    /// `PolicyAuthValue`.
    pub fn auth_value(old: &[u8; 32]) -> [u8; 32] {
        Sha256::new()
            .chain_update(old)
            .chain_update(TPM_CC_POLICY_AUTH_VALUE.to_be_bytes())
            .finalize()
            .into()
    }

    /// `PolicyPCR` over one SHA-256 PCR with the given value.
    pub fn pcr(old: &[u8; 32], index: u8, value: &[u8; 32]) -> [u8; 32] {
        let mut select = [0u8; 3];
        if let Some(b) = select.get_mut(usize::from(index / 8)) {
            *b = 1 << (index % 8);
        }
        let pcr_digest: [u8; 32] = Sha256::digest(value).into();
        Sha256::new()
            .chain_update(old)
            .chain_update(TPM_CC_POLICY_PCR.to_be_bytes())
            .chain_update(1u32.to_be_bytes()) // TPML_PCR_SELECTION.count
            .chain_update(TPM_ALG_SHA256.to_be_bytes())
            .chain_update([3u8]) // sizeofSelect
            .chain_update(select)
            .chain_update(pcr_digest)
            .finalize()
            .into()
    }

    /// `PolicyOR` (the digest is reset to zero first).
    pub fn or(branches: &[[u8; 32]]) -> [u8; 32] {
        let mut h = Sha256::new()
            .chain_update([0u8; 32])
            .chain_update(TPM_CC_POLICY_OR.to_be_bytes());
        for b in branches {
            h.update(b);
        }
        h.finalize().into()
    }

    /// Policy A: RSA_Decrypt with the password.
    pub fn a() -> [u8; 32] {
        auth_value(&command_code(&[0; 32], TPM_CC_RSA_DECRYPT))
    }

    /// Policy B: ObjectChangeAuth while PCR16 is zero.
    pub fn b() -> [u8; 32] {
        pcr(
            &command_code(&[0; 32], TPM_CC_OBJECT_CHANGE_AUTH),
            16,
            &[0; 32],
        )
    }

    /// The wrapping key's authPolicy.
    pub fn auth_policy() -> [u8; 32] {
        or(&[a(), b()])
    }
}

/// What firmware hands the ultravisor in the `ibm,uv-tpm` node.
#[derive(Clone, PartialEq, Eq)]
pub struct UvTpmConfig {
    /// `wrapping-key-handle`.
    pub handle: u32,
    /// `wrapping-key-passwd`: 16 non-zero bytes plus NUL.
    pub passwd: Zeroizing<Vec<u8>>,
    /// `wrapping-key-publicname` (TPM2B_NAME contents: nameAlg ‖ digest).
    pub public_name: Vec<u8>,
    /// `wrapping-key-policy-a`.
    pub policy_a: [u8; 32],
    /// `wrapping-key-policy-b`.
    pub policy_b: [u8; 32],
}

impl core::fmt::Debug for UvTpmConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UvTpmConfig")
            .field("handle", &format_args!("{:#x}", self.handle))
            .field("passwd", &"<hidden>")
            .field("public_name", &hex::encode(&self.public_name))
            .finish_non_exhaustive()
    }
}

/// A TPM failure, named like the TPM response codes it models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TpmError {
    /// No object at that handle.
    Handle,
    /// The session's policy digest does not satisfy the object's authPolicy.
    PolicyFail,
    /// Wrong auth value (password).
    AuthFail,
    /// The PCR value does not match the policy.
    PcrMismatch,
    /// The policy session is not valid for this command.
    Session,
    /// The ciphertext does not decrypt (RSA-OAEP failure).
    Value,
    /// PCR16 is locked (the explicit assumption of this model).
    Locked,
}

impl core::fmt::Display for TpmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Handle => "TPM_RC_HANDLE: no such object",
            Self::PolicyFail => "TPM_RC_POLICY_FAIL: policy does not satisfy authPolicy",
            Self::AuthFail => "TPM_RC_AUTH_FAIL: wrong auth value",
            Self::PcrMismatch => "TPM_RC_PCR_CHANGED: PCR value does not match the policy",
            Self::Session => "TPM_RC_POLICY_CC: session not valid for this command",
            Self::Value => "TPM_RC_VALUE: ciphertext does not decrypt",
            Self::Locked => "PCR16 is locked after firmware",
        })
    }
}

/// A TPM2 policy session (the simulator tracks the digest as a TPM does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySession {
    digest: [u8; 32],
    command_code: Option<u32>,
    needs_auth_value: bool,
    pcr_ok: bool,
}

impl PolicySession {
    /// The current policy digest.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
}

/// The simulated TPM.
#[derive(Debug)]
pub struct SimTpm {
    key: Option<RsaKeyPair>,
    auth: Zeroizing<Vec<u8>>,
    pcr16: [u8; 32],
    pcr16_locked: bool,
    /// Number of TPM commands executed (each one is an `H_SVM_TPM_COMM`
    /// round trip through the hypervisor when the UV issues it).
    pub commands: u64,
}

impl SimTpm {
    /// A TPM with a wrapping key already provisioned (e.g. read back from a
    /// simulated machine directory), PCR16 zero and unlocked: the state at
    /// platform reset, before firmware runs.
    pub fn with_key(key: RsaKeyPair) -> Self {
        Self {
            key: Some(key),
            auth: Zeroizing::new(Vec::new()),
            pcr16: [0; 32],
            pcr16_locked: false,
            commands: 0,
        }
    }

    /// A TPM whose firmware creates a fresh wrapping key (slow: RSA-2048 generation).
    ///
    /// # Errors
    /// [`Error::Device`] if randomness fails.
    pub fn provision() -> Result<Self> {
        Ok(Self::with_key(RsaKeyPair::generate()?))
    }

    /// The wrapping key pair (to persist a simulated machine).
    pub fn wrapping_key(&self) -> Option<&RsaKeyPair> {
        self.key.as_ref()
    }

    /// Whether PCR16 is locked (the model's assumption after firmware).
    pub fn pcr16_locked(&self) -> bool {
        self.pcr16_locked
    }

    /// The TPMT_PUBLIC area of the wrapping key (RSA-2048, OAEP-SHA256,
    /// decrypt, NODA, encryptedDuplication, sensitiveDataOrigin,
    /// userWithAuth clear, authPolicy = PolicyOR(A, B)).
    fn public_area(&self) -> Result<Vec<u8>, TpmError> {
        let key = self.key.as_ref().ok_or(TpmError::Handle)?;
        let n = key.recipient().map_err(|_| TpmError::Handle)?.modulus();
        let attrs: u32 = 0x0000_0020 | 0x0000_0400 | 0x0000_0800 | 0x0002_0000;
        let mut v = Vec::with_capacity(330);
        v.extend_from_slice(&0x0001u16.to_be_bytes()); // TPM_ALG_RSA
        v.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes()); // nameAlg
        v.extend_from_slice(&attrs.to_be_bytes());
        v.extend_from_slice(&32u16.to_be_bytes());
        v.extend_from_slice(&policy::auth_policy());
        v.extend_from_slice(&0x0010u16.to_be_bytes()); // symmetric: TPM_ALG_NULL
        v.extend_from_slice(&0x0017u16.to_be_bytes()); // scheme: TPM_ALG_OAEP
        v.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
        v.extend_from_slice(&2048u16.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes()); // default exponent
        v.extend_from_slice(&u16::try_from(n.len()).unwrap_or(0).to_be_bytes());
        v.extend_from_slice(&n);
        Ok(v)
    }

    /// `TPM2_ReadPublic(0x81800001)` → (public PEM, Name).
    ///
    /// # Errors
    /// [`TpmError::Handle`] for any other handle or no key.
    pub fn read_public(&mut self, handle: u32) -> Result<(Vec<u8>, Vec<u8>), TpmError> {
        self.commands += 1;
        if handle != WRAPPING_KEY_HANDLE {
            return Err(TpmError::Handle);
        }
        let area = self.public_area()?;
        let mut name = TPM_ALG_SHA256.to_be_bytes().to_vec();
        name.extend_from_slice(&Sha256::digest(&area));
        let pem = self
            .key
            .as_ref()
            .ok_or(TpmError::Handle)?
            .public_pem()
            .map_err(|_| TpmError::Handle)?;
        Ok((pem, name))
    }

    /// `TPM2_StartAuthSession` (policy session, unbound, unsalted).
    pub fn start_policy_session(&mut self) -> PolicySession {
        self.commands += 1;
        PolicySession {
            digest: [0; 32],
            command_code: None,
            needs_auth_value: false,
            pcr_ok: true,
        }
    }

    /// `TPM2_PolicyCommandCode`.
    pub fn policy_command_code(&mut self, s: &mut PolicySession, cc: u32) {
        self.commands += 1;
        s.digest = policy::command_code(&s.digest, cc);
        s.command_code = Some(cc);
    }

    /// `TPM2_PolicyAuthValue`.
    pub fn policy_auth_value(&mut self, s: &mut PolicySession) {
        self.commands += 1;
        s.digest = policy::auth_value(&s.digest);
        s.needs_auth_value = true;
    }

    /// `TPM2_PolicyPCR` on PCR16 with an expected value: the TPM compares
    /// the current PCR value at execution time.
    pub fn policy_pcr16(&mut self, s: &mut PolicySession, expected: &[u8; 32]) {
        self.commands += 1;
        s.digest = policy::pcr(&s.digest, 16, expected);
        s.pcr_ok &= bool::from(self.pcr16.ct_eq(expected));
    }

    /// `TPM2_PolicyOR`: the current digest must be one of the branches.
    ///
    /// # Errors
    /// [`TpmError::PolicyFail`] if it is not.
    pub fn policy_or(
        &mut self,
        s: &mut PolicySession,
        branches: &[[u8; 32]],
    ) -> Result<(), TpmError> {
        self.commands += 1;
        if !branches.contains(&s.digest) {
            return Err(TpmError::PolicyFail);
        }
        s.digest = policy::or(branches);
        Ok(())
    }

    fn authorize(&self, s: &PolicySession, cc: u32, auth: &[u8]) -> Result<(), TpmError> {
        if self.key.is_none() {
            return Err(TpmError::Handle);
        }
        if s.digest != policy::auth_policy() {
            return Err(TpmError::PolicyFail);
        }
        if s.command_code != Some(cc) {
            return Err(TpmError::Session);
        }
        if !s.pcr_ok {
            return Err(TpmError::PcrMismatch);
        }
        if s.needs_auth_value && !bool::from(self.auth.as_slice().ct_eq(auth)) {
            return Err(TpmError::AuthFail);
        }
        Ok(())
    }

    /// `TPM2_RSA_Decrypt` of a wrapped master key under a policy session.
    /// Parameter encryption (AES-128-CFB keyed from the password) is
    /// modelled abstractly: the hypervisor relaying the command never sees
    /// K in this model, as it sees only ciphertext on real hardware.
    ///
    /// # Errors
    /// A [`TpmError`] for a wrong policy, password or ciphertext.
    pub fn rsa_decrypt(
        &mut self,
        handle: u32,
        ct: &[u8],
        s: &PolicySession,
        auth: &[u8],
    ) -> Result<MasterKey, TpmError> {
        self.commands += 1;
        if handle != WRAPPING_KEY_HANDLE {
            return Err(TpmError::Handle);
        }
        self.authorize(s, TPM_CC_RSA_DECRYPT, auth)?;
        self.key
            .as_ref()
            .ok_or(TpmError::Handle)?
            .unwrap_key(ct)
            .ok_or(TpmError::Value)
    }

    /// `TPM2_ObjectChangeAuth` under policy B (PCR16 must be zero).
    ///
    /// # Errors
    /// A [`TpmError`] if the policy is not satisfied.
    pub fn object_change_auth(
        &mut self,
        s: &PolicySession,
        new_auth: &[u8],
    ) -> Result<(), TpmError> {
        self.commands += 1;
        self.authorize(s, TPM_CC_OBJECT_CHANGE_AUTH, &[])?;
        self.auth = Zeroizing::new(new_auth.to_vec());
        Ok(())
    }

    /// `TPM2_PCR_Extend(16, digest)`.
    pub fn pcr16_extend(&mut self, digest: &[u8; 32]) {
        self.commands += 1;
        self.pcr16 = Sha256::new()
            .chain_update(self.pcr16)
            .chain_update(digest)
            .finalize()
            .into();
    }

    /// `TPM2_PCR_Reset(16)`.
    ///
    /// # Errors
    /// [`TpmError::Locked`] once firmware has locked PCR16 (the model's assumption).
    pub fn pcr16_reset(&mut self) -> Result<(), TpmError> {
        self.commands += 1;
        if self.pcr16_locked {
            return Err(TpmError::Locked);
        }
        self.pcr16 = [0; 32];
        Ok(())
    }

    /// **Danger**: model a platform on which the PCR16 assumption does not
    /// hold (PCR16 resettable after firmware). For tests that demonstrate
    /// the caveat only.
    pub fn danger_unlock_pcr16(&mut self) {
        self.pcr16_locked = false;
    }

    /// What skiboot does on every boot (model §6.1): a fresh 16-byte
    /// password of non-zero bytes, set through policy B, PCR16 then extended
    /// and locked, and the `ibm,uv-tpm` properties returned for the UV.
    ///
    /// # Errors
    /// [`Error::Device`] if randomness fails or the TPM refuses (for
    /// example because PCR16 is not zero at firmware time).
    pub fn firmware_boot(&mut self) -> Result<UvTpmConfig> {
        let fail =
            |e: TpmError| Error::device(tee_core::DeviceErrorKind::Firmware(0), "simulated TPM", e);
        // Platform reset: PCR16 starts at zero.
        self.pcr16 = [0; 32];
        self.pcr16_locked = false;
        let mut pw = Zeroizing::new(Vec::with_capacity(17));
        while pw.len() < 16 {
            let mut b = [0u8; 16];
            random_fill(&mut b)?;
            let need = 16 - pw.len();
            pw.extend(b.iter().copied().filter(|&x| x != 0).take(need));
        }
        let mut s = self.start_policy_session();
        self.policy_command_code(&mut s, TPM_CC_OBJECT_CHANGE_AUTH);
        self.policy_pcr16(&mut s, &[0; 32]);
        self.policy_or(&mut s, &[policy::a(), policy::b()])
            .map_err(fail)?;
        self.object_change_auth(&s, &pw).map_err(fail)?;
        let (_, name) = self.read_public(WRAPPING_KEY_HANDLE).map_err(fail)?;
        // The model's explicit assumption: firmware extends PCR16 and it
        // cannot be reset afterwards, so policy B is unusable until reboot.
        self.pcr16_extend(&crate::crypto::sha256(b"tee-pef model: firmware done"));
        self.pcr16_locked = true;
        let mut passwd = Zeroizing::new(pw.to_vec());
        passwd.push(0);
        Ok(UvTpmConfig {
            handle: WRAPPING_KEY_HANDLE,
            passwd,
            public_name: name,
            policy_a: policy::a(),
            policy_b: policy::b(),
        })
    }
}
