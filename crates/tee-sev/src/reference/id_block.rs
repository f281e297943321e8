//! The SNP ID block and ID authentication information (SNP_LAUNCH_FINISH),
//! in the encodings QEMU takes, and the key digests the report carries.

use p384::ecdsa::signature::Signer;
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use p384::pkcs8::DecodePrivateKey;
use tee_core::{Error, Policy, Result};

use super::base64;
use super::gctx::sha384;

/// Length of the ID block.
pub const ID_BLOCK_LEN: usize = 96;
/// Length of the ID authentication information.
pub const ID_AUTH_LEN: usize = 4096;
/// Length of an AMD-format public key.
const AMD_KEY_LEN: usize = 0x404;
/// Length of an AMD-format signature.
const AMD_SIG_LEN: usize = 0x200;
/// Largest PEM key file accepted.
const MAX_PEM: usize = 64 << 10;
/// ECDSA P-384 with SHA-384.
const ALGO_ECDSA_P384_SHA384: u32 = 1;
/// AMD curve id of P-384.
const CURVE_P384: u32 = 2;

/// The ID block fields (defaults as `snp-create-id-block`: zero family and
/// image ids, guest SVN 0, policy 0x30000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdBlockInputs {
    /// The expected launch digest; LAUNCH_FINISH fails if the real one differs.
    pub measurement: [u8; 48],
    /// FAMILY_ID, copied to the report.
    pub family_id: [u8; 16],
    /// IMAGE_ID, copied to the report.
    pub image_id: [u8; 16],
    /// GUEST_SVN, copied to the report.
    pub guest_svn: u32,
    /// The guest policy; must equal the launch policy (QEMU `policy=`).
    pub policy: u64,
}

/// A signed ID block, ready for QEMU, with the digests the report carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdMaterial {
    /// The inputs.
    pub inputs: IdBlockInputs,
    /// The 96-byte ID block.
    pub id_block: [u8; ID_BLOCK_LEN],
    /// The 4096-byte ID authentication information.
    pub id_auth: Vec<u8>,
    /// Report `ID_KEY_DIGEST`: SHA-384 of the AMD-format ID public key.
    pub id_key_digest: [u8; 48],
    /// Report `AUTHOR_KEY_DIGEST` (with an author key; the report then has
    /// `AUTHOR_KEY_EN` = 1).
    pub author_key_digest: Option<[u8; 48]>,
    /// Things to know about these inputs (e.g. a debug-enabled policy).
    pub notes: Vec<String>,
}

/// The AMD public key format: LE32 curve (2 = P-384) || Qx (72 bytes LE) ||
/// Qy (72 bytes LE) || zeros, 0x404 bytes.
pub fn amd_public_key(key: &VerifyingKey) -> [u8; AMD_KEY_LEN] {
    let point = key.to_sec1_point(false);
    let b = point.as_bytes();
    let mut out = [0u8; AMD_KEY_LEN];
    out[..4].copy_from_slice(&CURVE_P384.to_le_bytes());
    // An uncompressed P-384 point is 0x04 || X(48) || Y(48).
    if let (Some(x), Some(y)) = (b.get(1..49), b.get(49..97)) {
        for (i, v) in x.iter().rev().enumerate() {
            out[4 + i] = *v;
        }
        for (i, v) in y.iter().rev().enumerate() {
            out[4 + 72 + i] = *v;
        }
    }
    out
}

/// SHA-384 of the AMD-format public key: what the report's
/// `ID_KEY_DIGEST` / `AUTHOR_KEY_DIGEST` hold.
pub fn key_digest(key: &VerifyingKey) -> [u8; 48] {
    sha384(&amd_public_key(key))
}

/// The AMD signature format: R (72 bytes LE) || S (72 bytes LE) || zeros,
/// 0x200 bytes.
pub fn amd_signature(sig: &Signature) -> [u8; AMD_SIG_LEN] {
    let (r, s) = sig.split_bytes();
    let mut out = [0u8; AMD_SIG_LEN];
    for (i, v) in r.iter().rev().enumerate() {
        out[i] = *v;
    }
    for (i, v) in s.iter().rev().enumerate() {
        out[72 + i] = *v;
    }
    out
}

/// A P-384 private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1
/// (`BEGIN EC PRIVATE KEY`). Encrypted keys are not read.
///
/// # Errors
/// [`Error::Malformed`]: larger than 64 KiB, not one of those PEM labels,
/// another curve, or a bad encoding.
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey> {
    const WHAT: &str = "P-384 private key PEM";
    if pem.len() > MAX_PEM {
        return Err(Error::malformed(
            WHAT,
            tee_core::MalformedKind::BadLength {
                expected: MAX_PEM,
                actual: pem.len(),
            },
        ));
    }
    let secret = if pem.contains("-----BEGIN PRIVATE KEY-----") {
        p384::SecretKey::from_pkcs8_pem(pem).map_err(|e| Error::encoding(WHAT, e))?
    } else if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
        p384::SecretKey::from_sec1_pem(pem).map_err(|e| Error::encoding(WHAT, e))?
    } else {
        return Err(Error::bad_field(
            WHAT,
            "label",
            "expected `BEGIN PRIVATE KEY` (PKCS#8) or `BEGIN EC PRIVATE KEY` (SEC1), unencrypted",
        ));
    };
    Ok(SigningKey::from(secret))
}

/// Guest policy bits that must be zero (63:26).
const POLICY_RESERVED: u64 = !((1u64 << 26) - 1);
/// Guest policy bit 17, which must be one.
const POLICY_MUST_BE_ONE: u64 = 1 << 17;
/// Guest policy DEBUG bit.
const POLICY_DEBUG: u64 = 1 << 19;

impl IdBlockInputs {
    /// An ID block for this launch digest, with the defaults.
    pub fn new(measurement: [u8; 48]) -> Self {
        Self {
            measurement,
            family_id: [0; 16],
            image_id: [0; 16],
            guest_svn: 0,
            policy: 0x3_0000,
        }
    }

    /// Builder: FAMILY_ID.
    #[must_use]
    pub fn family_id(mut self, id: [u8; 16]) -> Self {
        self.family_id = id;
        self
    }

    /// Builder: IMAGE_ID.
    #[must_use]
    pub fn image_id(mut self, id: [u8; 16]) -> Self {
        self.image_id = id;
        self
    }

    /// Builder: GUEST_SVN.
    #[must_use]
    pub fn guest_svn(mut self, svn: u32) -> Self {
        self.guest_svn = svn;
        self
    }

    /// Builder: the guest policy.
    #[must_use]
    pub fn policy(mut self, policy: u64) -> Self {
        self.policy = policy;
        self
    }

    /// The 96 ID block bytes.
    pub fn to_bytes(&self) -> [u8; ID_BLOCK_LEN] {
        let mut b = [0u8; ID_BLOCK_LEN];
        b[..0x30].copy_from_slice(&self.measurement);
        b[0x30..0x40].copy_from_slice(&self.family_id);
        b[0x40..0x50].copy_from_slice(&self.image_id);
        b[0x50..0x54].copy_from_slice(&1u32.to_le_bytes());
        b[0x54..0x58].copy_from_slice(&self.guest_svn.to_le_bytes());
        b[0x58..0x60].copy_from_slice(&self.policy.to_le_bytes());
        b
    }

    /// Sign the block with the ID key and, optionally, the ID key with the
    /// author key (deterministic RFC 6979 ECDSA P-384 / SHA-384).
    ///
    /// # Errors
    /// [`Error::Misuse`] for a guest policy with reserved bits 63:26 set
    /// or bit 17 (must be one) clear.
    pub fn sign(&self, id_key: &SigningKey, author_key: Option<&SigningKey>) -> Result<IdMaterial> {
        if self.policy & POLICY_RESERVED != 0 || self.policy & POLICY_MUST_BE_ONE == 0 {
            return Err(Error::Misuse(
                format!(
                    "guest policy {:#x}: bits 63:26 must be zero and bit 17 must be one",
                    self.policy
                )
                .into(),
            ));
        }
        let id_block = self.to_bytes();
        let id_pub = amd_public_key(id_key.verifying_key());
        let block_sig: Signature = id_key.sign(&id_block);
        let mut auth = vec![0u8; ID_AUTH_LEN];
        auth[0..4].copy_from_slice(&ALGO_ECDSA_P384_SHA384.to_le_bytes());
        auth[0x40..0x240].copy_from_slice(&amd_signature(&block_sig));
        auth[0x240..0x644].copy_from_slice(&id_pub);
        let author_key_digest = author_key.map(|ak| {
            let author_pub = amd_public_key(ak.verifying_key());
            let key_sig: Signature = ak.sign(&id_pub);
            auth[4..8].copy_from_slice(&ALGO_ECDSA_P384_SHA384.to_le_bytes());
            auth[0x680..0x880].copy_from_slice(&amd_signature(&key_sig));
            auth[0x880..0xC84].copy_from_slice(&author_pub);
            sha384(&author_pub)
        });
        let mut notes = Vec::new();
        if self.policy & POLICY_DEBUG != 0 {
            notes.push(
                "the guest policy allows DEBUG: the host can read guest memory; appraisal denies debug guests unless allow_debug is set"
                    .into(),
            );
        }
        if author_key_digest.is_none() {
            notes.push(
                "no author key: the report's AUTHOR_KEY_DIGEST is zero and AUTHOR_KEY_EN 0".into(),
            );
        }
        Ok(IdMaterial {
            inputs: *self,
            id_block,
            id_auth: auth,
            id_key_digest: sha384(&id_pub),
            author_key_digest,
            notes,
        })
    }
}

impl IdMaterial {
    /// The `-object sev-snp-guest` properties:
    /// `policy=0x…,id-block=…,id-auth=…,author-key-enabled=on|off`.
    pub fn qemu_properties(&self) -> String {
        format!(
            "policy={:#x},id-block={},id-auth={},author-key-enabled={}",
            self.inputs.policy,
            base64(&self.id_block),
            base64(&self.id_auth),
            if self.author_key_digest.is_some() {
                "on"
            } else {
                "off"
            }
        )
    }

    /// A policy admitting this launch: the measurement, the ID key digest
    /// (and author key digest), the family and image ids, and the guest
    /// SVN as a minimum.
    pub fn policy(&self) -> Policy {
        let i = self.inputs;
        Policy::new()
            .allow_measurement(i.measurement)
            .with_sev_snp(|p| {
                let p = p
                    .allow_id_key_digest(self.id_key_digest)
                    .allow_family_id(i.family_id)
                    .allow_image_id(i.image_id)
                    .min_guest_svn(i.guest_svn);
                match self.author_key_digest {
                    Some(d) => p.allow_author_key_digest(d),
                    None => p,
                }
            })
    }
}
