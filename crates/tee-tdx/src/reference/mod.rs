//! TDX reference values: what a relying party should expect a TD's quote
//! to carry, each with the transcript of how it was computed
//! ([`tee_core::reference::ReferenceValue`]).
//!
//! - [`mrtd()`]: MRTD from a TDVF image ([`tdvf`] parses the footer table
//!   and the `TDVF` metadata), replaying TDH.MEM.PAGE.ADD / TDH.MR.EXTEND in
//!   an explicit [`PageAddOrder`] (one-pass on upstream KVM / QEMU ≥ 9,
//!   two-pass on the QEMU 8.x TDX patch sets and Ubuntu 24.04 hosts).
//! - [`diagnose_mrtd`]: recompute an MRTD a quote does not match and say
//!   whether the image matches the running TD (the policy is stale) or the
//!   host uses the other page-add order.
//! - [`rtmr_reference`]: RTMR0–3 from a known-good CCEL and the SDK's
//!   application log, with every event listed per register.
//! - [`mr_config_id`]: MRCONFIGID for Confidential Containers init-data.
//! - [`policy`]: a [`Policy`] that pins these values (MRTD as
//!   `allowed_measurements`: the TDX launch measurement is MRTD;
//!   `[tdx] allowed_rtmr0..3`; `host_data` = MRCONFIGID).
//!
//! ```
//! use tee_tdx::reference::{MrtdOptions, PageAddOrder, mrtd};
//!
//! // Not a TDVF: a typed error, never a panic.
//! let e = mrtd(&[0u8; 4096], MrtdOptions::new(PageAddOrder::OnePass)).unwrap_err();
//! assert!(matches!(e, tee_core::Error::Malformed(_)));
//! ```

pub mod initdata;
pub mod mrtd;
pub mod rtmr;
#[cfg(any(test, feature = "testing"))]
pub mod synth;
pub mod tdvf;

pub use initdata::{InitDataAlg, mr_config_id, mr_config_id_with};
pub use mrtd::{
    Mrtd, MrtdDiagnosis, MrtdOptions, PageAddOrder, TranscriptDetail, diagnose_mrtd, mrtd, mrtd_of,
};
pub use rtmr::{EventSource, RtmrEvent, RtmrReference, rtmr_reference};
pub use tdvf::{SectionType, Tdvf, TdvfSection};

use tee_core::Policy;
use tee_core::reference::ReferenceValue;

/// `base` with the given reference values pinned: MRTD added to
/// `allowed_measurements`, the RTMRs as `[tdx] allowed_rtmr0..3`, the
/// MRCONFIGID as `host_data`. Values not given leave `base` unchanged.
pub fn policy(
    base: Policy,
    mr_td: Option<&ReferenceValue>,
    rtmrs: Option<&RtmrReference>,
    mr_config_id: Option<&ReferenceValue>,
) -> Policy {
    let mut p = base;
    if let Some(m) = mr_td
        && !p.allowed_measurements.contains(&m.value)
    {
        p = p.allow_measurement(m.value.clone());
    }
    if let Some(r) = rtmrs {
        p = p.with_tdx(|t| r.apply_to(t));
    }
    if let Some(c) = mr_config_id {
        p = p.expect_host_data(c.value.clone());
    }
    p
}
