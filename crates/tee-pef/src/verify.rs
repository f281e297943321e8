//! [`PefVerifier`]: checks `pef-owner-mac-v1` evidence against the owner's
//! attestation keys (see [`crate::report`] for the format and what it proves).

use std::borrow::Cow;

use subtle::ConstantTimeEq;
use tee_core::evidence::format::PEF_OWNER_MAC;
use tee_core::platforms::PefClaims;
use tee_core::{
    Authenticity, Claim, Claims, Error, Evidence, HexBytes, Platform, PlatformClaims, Result,
    TrustRoot, UnixTime, Verifier,
};
use zeroize::Zeroizing;

use crate::report::{MIN_KEY_LEN, TRUST_STATEMENT, WHAT, key_id, mac, parse};

/// Verifies `pef-owner-mac-v1` evidence. PEF has no vendor root: the
/// verifier needs the owner's attestation key(s).
#[derive(Default)]
pub struct PefVerifier {
    keys: Vec<Zeroizing<Vec<u8>>>,
}

impl core::fmt::Debug for PefVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|k| hex::encode(key_id(k))).collect();
        f.debug_struct("PefVerifier")
            .field("key_ids", &ids)
            .finish()
    }
}

impl PefVerifier {
    /// A verifier with no key: every verification fails with
    /// [`Authenticity::MissingEndorsement`], because PEF evidence can only
    /// be checked with the owner's attestation key. Use [`PefVerifier::with_key`].
    pub fn new() -> Self {
        Self { keys: Vec::new() }
    }

    /// A verifier trusting one owner attestation key (the bytes provisioned
    /// as the ESM attachment).
    ///
    /// # Errors
    /// [`Error::Misuse`] for a key shorter than 32 bytes.
    pub fn with_key(key: &[u8]) -> Result<Self> {
        Self::new().and_key(key)
    }

    /// Trust one more key (builder style).
    ///
    /// # Errors
    /// [`Error::Misuse`] for a key shorter than 32 bytes.
    pub fn and_key(mut self, key: &[u8]) -> Result<Self> {
        if key.len() < MIN_KEY_LEN {
            return Err(Error::Misuse(
                "PEF attestation keys must be at least 32 bytes".into(),
            ));
        }
        self.keys.push(Zeroizing::new(key.to_vec()));
        Ok(self)
    }
}

impl Verifier for PefVerifier {
    fn platform(&self) -> Platform {
        Platform::Pef
    }

    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims> {
        if evidence.platform != Platform::Pef {
            return Err(Error::Misuse(
                format!("PefVerifier given {} evidence", evidence.platform).into(),
            ));
        }
        if evidence.format != PEF_OWNER_MAC {
            return Err(Error::bad_field(
                WHAT,
                "format",
                format_args!("expected {PEF_OWNER_MAC}, got {}", evidence.format),
            ));
        }
        let r = parse(&evidence.report)?;
        if self.keys.is_empty() {
            return Err(Error::Authenticity(Authenticity::MissingEndorsement {
                what: "the owner's PEF attestation key: PEF evidence is owner-rooted (no vendor root exists), so it \
                       can only be verified with the key provisioned in the ESM blob; use PefVerifier::with_key"
                    .into(),
            }));
        }
        let key = self
            .keys
            .iter()
            .find(|k| bool::from(key_id(k).ct_eq(&r.key_id)))
            .ok_or_else(|| {
                Error::Authenticity(Authenticity::UntrustedRoot {
                    detail: format!(
                        "attestation key id {} is not one this verifier holds",
                        hex::encode(r.key_id)
                    ),
                })
            })?;
        let expected = mac(key, r.body)?;
        if !bool::from(expected.ct_eq(r.mac)) {
            return Err(Error::bad_signature("PEF owner MAC"));
        }
        let mut claims = Claims::new(
            Platform::Pef,
            PEF_OWNER_MAC,
            TrustRoot::Owner,
            r.report_data,
            // PEF exposes no debug mode to the guest or in any evidence:
            // the ultravisor never makes secure memory readable by the
            // hypervisor. `false` means "no debug claim can be made"; a UV
            // built with ESM_BLOB_CHK_WARN_ONLY would release secrets
            // without checks and nothing here could tell (docs/pef.md).
            false,
            at,
            PlatformClaims::Pef(PefClaims::new(TRUST_STATEMENT, r.key_id, r.version)),
        );
        claims.launch_measurement = match r.esm_measurement {
            Some(m) => Claim::Value(HexBytes::from(m)),
            None => Claim::NotApplicable(Cow::Borrowed(
                "PEF reports no hardware launch measurement and this blob carries no esm-measurement \
                 attachment: the ultravisor compared the RTAS, kernel, initrd and boot-argument \
                 digests of the owner's ESM blob before secure mode, but the evidence does not say which",
            )),
        };
        claims.tcb = Claim::NotApplicable(Cow::Borrowed("PEF has no TCB report"));
        claims.runtime_registers =
            Claim::NotApplicable(Cow::Borrowed("PEF has no runtime measurement registers"));
        claims.host_data = Claim::NotApplicable(Cow::Borrowed("PEF has no host data field"));
        Ok(claims)
    }
}
