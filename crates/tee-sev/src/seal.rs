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
//!
//! The blob is input, not configuration: the root key, the VMPL and which
//! of TCB version / guest SVN are mixed in come from the unsealer's own
//! [`SealKeyConfig`], and a blob recording anything else is refused
//! ([`tee_core::UnsealError::KeyMismatch`]) before any key is derived.

use tee_core::{Error, Platform, Result, SealBinding, SealingKeySource, UnsealError};
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
        self.check_against_config(binding, &req)?;
        self.retry.run(|| self.fw.get_derived_key(&req))
    }
}

impl SnpKeySource {
    /// The unsealer's own [`SealKeyConfig`] decides the root key, the VMPL
    /// and whether the TCB version and guest SVN are mixed in; the blob only
    /// supplies the recorded TCB / SVN *values* (which the firmware refuses
    /// above the committed TCB / current SVN). A blob asking for anything
    /// else is refused with [`UnsealError::KeyMismatch`]: the firmware
    /// derives keys for any VMPL at or above the caller's, so without this a
    /// VMPL3 workload could plant a blob sealed under its own VMPL3 key that
    /// a VMPL0 unsealer would open as its own (and a VMRK blob would survive
    /// nothing a VCEK configuration promises).
    fn check_against_config(&self, binding: SealBinding, req: &DerivedKeyRequest) -> Result<()> {
        let want = self.field_select(binding);
        let values_ok = (req.field_select & field::TCB_VERSION != 0 || req.tcb_version == 0)
            && (req.field_select & field::GUEST_SVN != 0 || req.guest_svn == 0);
        if req.root != self.config.root
            || req.vmpl != self.config.vmpl
            || req.field_select != want
            || !values_ok
        {
            return Err(UnsealError::KeyMismatch.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "testing")]
    mod finding9 {
        use std::sync::Arc;
        use std::sync::atomic::Ordering;

        use tee_core::platforms::SnpSigningKey;
        use tee_core::{EnvelopeSealer, SealPolicy, Sealer};

        use super::*;
        use crate::report::Product;
        use crate::testing::FakeFirmware;

        fn fw() -> Arc<FakeFirmware> {
            Arc::new(FakeFirmware::new(Product::Milan, 3, SnpSigningKey::Vcek))
        }

        fn sealer(fw: &Arc<FakeFirmware>, config: SealKeyConfig) -> EnvelopeSealer<SnpKeySource> {
            EnvelopeSealer::new(SnpKeySource::new(fw.clone(), config))
        }

        fn refused(r: Result<Zeroizing<Vec<u8>>>) {
            assert!(
                matches!(r, Err(Error::Unseal(UnsealError::KeyMismatch))),
                "{r:?}"
            );
        }

        /// A VMPL3 workload seals under its own VMPL3 key; the VMPL0
        /// unsealer on the same guest must not open it as its own.
        #[test]
        fn finding9_vmpl3_blob_is_refused_at_vmpl0() {
            let fw = fw();
            let pol = SealPolicy::measurement("db");
            let vmpl3 = SealKeyConfig {
                vmpl: 3,
                ..SealKeyConfig::default()
            };
            let planted = sealer(&fw, vmpl3).seal(b"attacker data", &pol).unwrap();
            // The VMPL3 workload itself opens it (the blob is well formed).
            assert_eq!(
                &*sealer(&fw, vmpl3).unseal(&planted, &pol).unwrap(),
                b"attacker data"
            );
            let keys_before = fw.key_calls.load(Ordering::SeqCst);
            refused(sealer(&fw, SealKeyConfig::default()).unseal(&planted, &pol));
            // Refused before the firmware was asked for the VMPL3 key.
            assert_eq!(fw.key_calls.load(Ordering::SeqCst), keys_before);
            // Its own blobs still open at VMPL0.
            let own = sealer(&fw, SealKeyConfig::default())
                .seal(b"mine", &pol)
                .unwrap();
            assert_eq!(
                &*sealer(&fw, SealKeyConfig::default())
                    .unseal(&own, &pol)
                    .unwrap(),
                b"mine"
            );
        }

        #[test]
        fn finding9_root_key_comes_from_the_unsealer() {
            let fw = fw();
            let pol = SealPolicy::measurement("db");
            let vmrk = SealKeyConfig {
                root: KeyRoot::Vmrk,
                ..SealKeyConfig::default()
            };
            let vmrk_blob = sealer(&fw, vmrk).seal(b"x", &pol).unwrap();
            refused(sealer(&fw, SealKeyConfig::default()).unseal(&vmrk_blob, &pol));
            let vcek_blob = sealer(&fw, SealKeyConfig::default())
                .seal(b"y", &pol)
                .unwrap();
            refused(sealer(&fw, vmrk).unseal(&vcek_blob, &pol));
        }

        #[test]
        fn finding9_tcb_and_svn_selection_come_from_the_unsealer() {
            let fw = fw();
            let pol = SealPolicy::measurement("db");
            let no_tcb = SealKeyConfig {
                mix_tcb_version: false,
                ..SealKeyConfig::default()
            };
            let with_svn = SealKeyConfig {
                mix_guest_svn: true,
                ..SealKeyConfig::default()
            };
            // A blob without the TCB mixed in is not opened by an unsealer
            // that mixes it in, and the other way round.
            let b = sealer(&fw, no_tcb).seal(b"x", &pol).unwrap();
            refused(sealer(&fw, SealKeyConfig::default()).unseal(&b, &pol));
            let b = sealer(&fw, SealKeyConfig::default())
                .seal(b"x", &pol)
                .unwrap();
            refused(sealer(&fw, no_tcb).unseal(&b, &pol));
            // Guest SVN likewise.
            let b = sealer(&fw, SealKeyConfig::default())
                .seal(b"x", &pol)
                .unwrap();
            refused(sealer(&fw, with_svn).unseal(&b, &pol));
            let b = sealer(&fw, with_svn).seal(b"x", &pol).unwrap();
            refused(sealer(&fw, SealKeyConfig::default()).unseal(&b, &pol));
            assert_eq!(&*sealer(&fw, with_svn).unseal(&b, &pol).unwrap(), b"x");
        }

        #[test]
        fn finding9_unselected_values_must_be_zero() {
            let src = SnpKeySource::new(fw(), SealKeyConfig::default());
            let binding = SealBinding::Measurement;
            let good = DerivedKeyRequest {
                root: KeyRoot::Vcek,
                field_select: src.field_select(binding),
                vmpl: 0,
                guest_svn: 0,
                tcb_version: 0x7308_0000_0000_0003,
            };
            assert!(
                src.derive_key(binding, &good.to_params())
                    .is_ok_and(|k| k.len() == 32)
            );
            let svn = DerivedKeyRequest {
                guest_svn: 5,
                ..good
            };
            assert!(matches!(
                src.derive_key(binding, &svn.to_params()),
                Err(Error::Unseal(UnsealError::KeyMismatch))
            ));
        }
    }

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
