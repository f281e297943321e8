//! White-box seams for the integration tests in `tests/tdx/`: the few
//! crate-private operations those tests need (simulated crashes, cache
//! tampering), exposed only with the `testing` feature. **NO SECURITY**:
//! they exist to prove that failure paths hold.

use tee_core::{Digest384, Result, UnixTime};

use crate::guest::TdxRtmr;
use crate::guest::rtmr::CrashPoint;
use crate::{Collateral, TdxVerifier};

/// Where a simulated crash stops an RTMR extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// After the pending record is written, before the register is extended.
    AfterPending,
    /// After the register is extended, before the log record is appended.
    AfterExtend,
}

/// Extend RTMR `index` and "crash" at `at`: the operation stops there, as a
/// process killed at that point would, and the register value before the
/// extension is returned.
///
/// # Errors
/// As [`tee_core::RuntimeMeasurement::extend`].
pub fn extend_and_crash(
    r: &TdxRtmr,
    index: u32,
    description: &str,
    data: &[u8],
    at: Crash,
) -> Result<Digest384> {
    let crash = match at {
        Crash::AfterPending => CrashPoint::AfterPending,
        Crash::AfterExtend => CrashPoint::AfterExtend,
    };
    r.extend_inner(index, description, data, crash)
}

/// The configured capacity of `v`'s verified-collateral cache.
pub fn cache_capacity(v: &TdxVerifier) -> usize {
    v.cache.capacity()
}

/// Replace the cache entry that `quote` + `c` filled in `v` by a copy whose
/// cached PCK CRL lists the quote's PCK (a state a full verification never
/// caches). Returns `false` if there is no such entry (or the quote does not
/// parse), so a test can assert that the tampering took place.
pub fn revoke_pck_in_cached_entry(
    v: &TdxVerifier,
    root_der: &[u8],
    quote: &[u8],
    c: &Collateral,
    at: UnixTime,
) -> bool {
    let Ok(parsed) = crate::quote::Quote::parse(quote) else {
        return false;
    };
    let Some(pem) = parsed.pck_chain_pem() else {
        return false;
    };
    let key = crate::cache::key(root_der, c, pem);
    let Some(e) = v.cache.get(&key, at.as_secs()) else {
        return false;
    };
    let mut revoked = crate::cache::Entry {
        window: e.window,
        claims_window: e.claims_window,
        tcb_info: e.tcb_info.clone(),
        qe_identity: e.qe_identity.clone(),
        crypto: e.crypto,
        pck_key: e.pck_key.clone(),
        att_key: e.att_key,
        att_vk: e.att_vk.clone(),
        platform: e.platform,
        tcb_fmspc: e.tcb_fmspc,
        pck_serial: e.pck_serial.clone(),
        pck_ca_serial: e.pck_ca_serial.clone(),
        pck_crl_revoked: e.pck_crl_revoked.clone(),
        root_crl_revoked: e.root_crl_revoked.clone(),
    };
    revoked.pck_crl_revoked.insert(revoked.pck_serial.clone());
    v.cache
        .insert(key, revoked.window, std::sync::Arc::new(revoked));
    true
}
