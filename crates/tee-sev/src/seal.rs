//! Sealing keys from SNP derived keys (`MSG_KEY_REQ`), fed into the core
//! sealing envelope ([`tee_core::EnvelopeSealer`]).
//!
//! The blob records what was mixed in (`key_params`, version 1, 26 bytes,
//! little-endian):
//!
//! ```text
//! version      1   1
//! root         1   0 = VCEK, 1 = VMRK
//! field_select 8   GUEST_FIELD_SELECT
//! vmpl         4
//! guest_svn    4
//! tcb_version  8
//! ```
//!
//! so unsealing asks the firmware for exactly the same key. By default the
//! root is the VCEK (a VMRK is random per launch, so a VMRK-sealed blob does
//! not survive a relaunch), the guest policy is always mixed in, and the TCB
//! version recorded is the one current at sealing time: after a firmware
//! update the guest can still ask for a key at the older (recorded) TCB,
//! which the firmware allows while it is not above the committed TCB.

use tee_core::{Error, Platform, Result, SealBinding, SealingKeySource};
use zeroize::Zeroizing;

use crate::guest::{DerivedKeyRequest, KeyRoot, MAX_VMPL, SnpFirmware, field};
use crate::report::SnpReport;

const PARAMS_VERSION: u8 = 1;
const PARAMS_LEN: usize = 26;
const WHAT: &str = "SEV-SNP key parameters";

/// How sealing keys are requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealKeyConfig {
    /// Root key (default VCEK).
    pub root: KeyRoot,
    /// VMPL to mix in (default 0).
    pub vmpl: u32,
    /// Mix in the current TCB version, recorded in the blob (default true).
    pub mix_tcb_version: bool,
    /// Mix in the guest SVN from the current report (default false).
    pub mix_guest_svn: bool,
}

impl Default for SealKeyConfig {
    fn default() -> Self {
        Self {
            root: KeyRoot::Vcek,
            vmpl: 0,
            mix_tcb_version: true,
            mix_guest_svn: false,
        }
    }
}

impl DerivedKeyRequest {
    /// Encode as `key_params`.
    pub fn to_params(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(PARAMS_LEN);
        v.push(PARAMS_VERSION);
        v.push(match self.root {
            KeyRoot::Vcek => 0,
            KeyRoot::Vmrk => 1,
        });
        v.extend_from_slice(&self.field_select.to_le_bytes());
        v.extend_from_slice(&self.vmpl.to_le_bytes());
        v.extend_from_slice(&self.guest_svn.to_le_bytes());
        v.extend_from_slice(&self.tcb_version.to_le_bytes());
        v
    }

    /// Decode `key_params`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a wrong length, version, root, unknown field
    /// bits or a VMPL out of range.
    pub fn from_params(p: &[u8]) -> Result<Self> {
        let p: &[u8; PARAMS_LEN] = p.try_into().map_err(|_| {
            Error::malformed(
                WHAT,
                tee_core::MalformedKind::BadLength {
                    expected: PARAMS_LEN,
                    actual: p.len(),
                },
            )
        })?;
        let (head, rest) = p.split_at(2);
        if head[0] != PARAMS_VERSION {
            return Err(Error::malformed(
                WHAT,
                tee_core::MalformedKind::UnsupportedVersion(head[0].into()),
            ));
        }
        let root = match head[1] {
            0 => KeyRoot::Vcek,
            1 => KeyRoot::Vmrk,
            _ => return Err(Error::bad_field(WHAT, "root", "unknown root key")),
        };
        let (fs, rest) = rest.split_at(8);
        let (vmpl, rest) = rest.split_at(4);
        let (svn, tcb) = rest.split_at(4);
        let le64 = |b: &[u8]| b.try_into().map(u64::from_le_bytes).unwrap_or(0);
        let le32 = |b: &[u8]| b.try_into().map(u32::from_le_bytes).unwrap_or(0);
        let req = Self {
            root,
            field_select: le64(fs),
            vmpl: le32(vmpl),
            guest_svn: le32(svn),
            tcb_version: le64(tcb),
        };
        if req.field_select & !field::ALL_V1 != 0 {
            return Err(Error::bad_field(WHAT, "field_select", "unknown bits"));
        }
        if req.vmpl > MAX_VMPL {
            return Err(Error::bad_field(WHAT, "vmpl", "out of range"));
        }
        Ok(req)
    }
}

/// A [`SealingKeySource`] over the SNP firmware's derived keys.
#[derive(Debug)]
pub struct SnpKeySource {
    fw: std::sync::Arc<dyn SnpFirmware>,
    config: SealKeyConfig,
    retry: crate::guest::Retry,
}

impl SnpKeySource {
    /// A key source over `fw`.
    pub fn new(fw: std::sync::Arc<dyn SnpFirmware>, config: SealKeyConfig) -> Self {
        Self {
            fw,
            config,
            retry: crate::guest::Retry::default(),
        }
    }

    /// Set the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: crate::guest::Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The field selection for a binding.
    pub fn field_select(&self, binding: SealBinding) -> u64 {
        let mut f = field::GUEST_POLICY;
        f |= match binding {
            SealBinding::Measurement => field::MEASUREMENT,
            SealBinding::Family => field::FAMILY_ID,
            _ => 0,
        };
        if self.config.mix_tcb_version {
            f |= field::TCB_VERSION;
        }
        if self.config.mix_guest_svn {
            f |= field::GUEST_SVN;
        }
        f
    }
}

impl SealingKeySource for SnpKeySource {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    fn key_params(&self, binding: SealBinding) -> Result<Vec<u8>> {
        let field_select = self.field_select(binding);
        let (mut guest_svn, mut tcb_version) = (0, 0);
        if field_select & (field::TCB_VERSION | field::GUEST_SVN) != 0 {
            // The current values come from a fresh report of this guest.
            let raw = self
                .retry
                .run(|| self.fw.get_report(&[0u8; 64], self.config.vmpl))?;
            let r = SnpReport::parse(&raw)?;
            if field_select & field::TCB_VERSION != 0 {
                tcb_version = r.reported_tcb.0;
            }
            if field_select & field::GUEST_SVN != 0 {
                guest_svn = r.guest_svn;
            }
        }
        Ok(DerivedKeyRequest {
            root: self.config.root,
            field_select,
            vmpl: self.config.vmpl,
            guest_svn,
            tcb_version,
        }
        .to_params())
    }

    fn derive_key(&self, binding: SealBinding, key_params: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let req = DerivedKeyRequest::from_params(key_params)?;
        // The binding decides the measurement/family bits; a blob claiming
        // another combination is refused rather than silently weakened.
        let fixed = field::GUEST_POLICY | field::MEASUREMENT | field::FAMILY_ID | field::IMAGE_ID;
        if req.field_select & fixed != self.field_select(binding) & fixed {
            return Err(Error::bad_field(
                WHAT,
                "field_select",
                "does not match the seal binding",
            ));
        }
        self.retry.run(|| self.fw.get_derived_key(&req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_and_reject() {
        let r = DerivedKeyRequest {
            root: KeyRoot::Vmrk,
            field_select: field::MEASUREMENT | field::GUEST_POLICY,
            vmpl: 2,
            guest_svn: 7,
            tcb_version: 0x7308_0000_0000_0003,
        };
        let p = r.to_params();
        assert_eq!(p.len(), PARAMS_LEN);
        assert_eq!(DerivedKeyRequest::from_params(&p).unwrap(), r);
        for bad in [
            {
                let mut q = p.clone();
                q[0] = 2;
                q
            },
            {
                let mut q = p.clone();
                q[1] = 2;
                q
            },
            {
                let mut q = p.clone();
                q[2] = 0x40;
                q
            },
            {
                let mut q = p.clone();
                q[10] = 4;
                q
            },
            p[..25].to_vec(),
        ] {
            assert!(matches!(
                DerivedKeyRequest::from_params(&bad),
                Err(Error::Malformed(_))
            ));
        }
    }
}
