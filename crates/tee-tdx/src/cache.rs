//! The verified-collateral cache of [`crate::TdxVerifier`].
//!
//! An [`Entry`] holds what verifying a collateral set and a PCK chain
//! produced (parsed TCB info and QE identity, the PCK key and platform
//! values, the revoked serials of both CRLs) and is only created after a
//! full verification of a quote with exactly these bytes **succeeded**.
//!
//! - Keyed by SHA-256 over the pinned root, every collateral item (TCB info
//!   with its signature and issuer chain, QE identity with its signature and
//!   issuer chain, both CRLs and the PCK CRL issuer chain, any PCK chain in
//!   the collateral) and the PCK chain bytes in the quote, each
//!   length-prefixed.
//! - Valid only inside the intersection of the time windows of everything
//!   it covers (TCB info and QE identity issue/nextUpdate, CRL
//!   thisUpdate/nextUpdate — nextUpdate exclusive, as webpki treats it —,
//!   every issuer and PCK chain certificate and the pinned root); outside,
//!   the lookup misses and the full path runs and reports the precise error.
//! - Bounded (oldest entry evicted first), behind an `RwLock`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use sha2::{Digest, Sha256};
use tee_core::UnixTime;
use tee_core::platforms::TimeWindow;
use x509_cert::Certificate;

use crate::collateral::Collateral;
use crate::fastverify::FixedBase;
use crate::pki;
use crate::verify::tcb::{Platform, QeIdentity, TcbInfo};
use p256::AffinePoint;

/// Default number of cached collateral/PCK-chain pairs.
pub const DEFAULT_CACHE_CAPACITY: usize = 64;

/// Cache key: SHA-256 of all covered bytes.
pub(crate) type Key = [u8; 32];

/// Verified collateral plus PCK chain.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Inclusive bounds within which the entry may be used.
    pub(crate) valid_from: u64,
    pub(crate) valid_to: u64,
    /// The collateral window reported in claims (as the full path reports it).
    pub(crate) claims_window: TimeWindow,
    pub(crate) tcb_info: TcbInfo,
    pub(crate) qe_identity: QeIdentity,
    /// The PCK key and its fixed-base table (verifies QE report
    /// signatures), built on the entry's first use, not when it is filled.
    pub(crate) pck_key: AffinePoint,
    pub(crate) pck_table: OnceLock<FixedBase>,
    /// The attestation key of the quote that filled the entry, and its
    /// table: quotes with the same key verify with it, others without.
    pub(crate) att_key: [u8; 64],
    pub(crate) att_point: AffinePoint,
    pub(crate) att_table: OnceLock<FixedBase>,
    /// FMSPC, CPUSVN and PCESVN of the PCK certificate.
    pub(crate) platform: Platform,
    pub(crate) tcb_fmspc: [u8; 6],
    /// Serial of the PCK leaf and of its issuer (PCK CA).
    pub(crate) pck_serial: Vec<u8>,
    pub(crate) pck_ca_serial: Vec<u8>,
    /// Revoked serials in the PCK CRL and the root CA CRL.
    pub(crate) pck_crl_revoked: HashSet<Vec<u8>>,
    pub(crate) root_crl_revoked: HashSet<Vec<u8>>,
}

impl Entry {
    /// The PCK key's table.
    pub(crate) fn pck_table(&self) -> &FixedBase {
        self.pck_table.get_or_init(|| FixedBase::new(&self.pck_key))
    }

    /// The table of the filling quote's attestation key.
    pub(crate) fn att_table(&self) -> &FixedBase {
        self.att_table
            .get_or_init(|| FixedBase::new(&self.att_point))
    }

    pub(crate) fn usable_at(&self, at: UnixTime) -> bool {
        let t = at.as_secs();
        self.valid_from <= t && t <= self.valid_to
    }
}

fn put(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u64).to_le_bytes());
    h.update(b);
}

/// The key for this root, collateral and quote PCK chain bytes.
pub(crate) fn key(root_der: &[u8], c: &Collateral, pck_chain: &[u8]) -> Key {
    let i = &c.inner;
    let mut h = Sha256::new();
    h.update(b"tee-tdx collateral cache v1");
    put(&mut h, root_der);
    put(&mut h, i.tcb_info.as_bytes());
    put(&mut h, &i.tcb_info_signature);
    put(&mut h, i.tcb_info_issuer_chain.as_bytes());
    put(&mut h, i.qe_identity.as_bytes());
    put(&mut h, &i.qe_identity_signature);
    put(&mut h, i.qe_identity_issuer_chain.as_bytes());
    put(&mut h, &i.pck_crl);
    put(&mut h, &i.root_ca_crl);
    put(&mut h, i.pck_crl_issuer_chain.as_bytes());
    match &i.pck_certificate_chain {
        None => h.update([0]),
        Some(p) => {
            h.update([1]);
            put(&mut h, p.as_bytes());
        }
    }
    put(&mut h, pck_chain);
    h.finalize().into()
}

fn validity(c: &Certificate) -> (u64, u64) {
    let v = c.tbs_certificate().validity();
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

/// What the full path computed and checked for a quote, handed to
/// [`Entry::build`] after it succeeded.
pub(crate) struct Verified<'a> {
    pub(crate) root_der: &'a [u8],
    pub(crate) collateral: &'a Collateral,
    pub(crate) pck_chain: &'a [Certificate],
    pub(crate) platform: Platform,
    pub(crate) attestation_key: [u8; 64],
    /// Parsed (levels in matching order) and authenticated.
    pub(crate) tcb_info: &'a TcbInfo,
    pub(crate) qe_identity: &'a QeIdentity,
    pub(crate) pck_crl_revoked: HashSet<Vec<u8>>,
    pub(crate) root_crl_revoked: HashSet<Vec<u8>>,
}

impl Entry {
    /// Build an entry from collateral whose full verification just
    /// succeeded. `None` when something cannot be represented (the quote is
    /// then simply not cached).
    pub(crate) fn build(v: &Verified<'_>) -> Option<Self> {
        let dates = v.collateral.dates_ref();
        let (mut from, mut to) = dates.cache_bounds();
        let root = pki::parse_der(v.root_der).ok()?;
        for c in v.pck_chain.iter().chain(core::iter::once(&root)) {
            let (nb, na) = validity(c);
            from = from.max(nb);
            to = to.min(na);
        }
        if from > to {
            return None;
        }
        let leaf = v.pck_chain.first()?;
        // The leaf's issuer (the PCK CA), wherever it sits in the chain.
        let issuer = v
            .pck_chain
            .iter()
            .skip(1)
            .find(|c| c.tbs_certificate().subject() == leaf.tbs_certificate().issuer())?;
        let mut sec1 = [4u8; 65];
        sec1[1..].copy_from_slice(&v.attestation_key);
        let att_vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()?;
        Some(Self {
            valid_from: from,
            valid_to: to,
            claims_window: dates.window(),
            pck_key: *pki::cert_key(leaf).ok()?.as_affine(),
            pck_table: OnceLock::new(),
            att_key: v.attestation_key,
            att_point: *att_vk.as_affine(),
            att_table: OnceLock::new(),
            platform: v.platform,
            tcb_fmspc: v.tcb_info.fmspc_bytes().ok()?,
            pck_serial: leaf.tbs_certificate().serial_number().as_bytes().to_vec(),
            pck_ca_serial: issuer.tbs_certificate().serial_number().as_bytes().to_vec(),
            pck_crl_revoked: v.pck_crl_revoked.clone(),
            root_crl_revoked: v.root_crl_revoked.clone(),
            tcb_info: v.tcb_info.clone(),
            qe_identity: v.qe_identity.clone(),
        })
    }
}

/// Bounded, thread-safe map from [`Key`] to verified [`Entry`].
#[derive(Clone)]
pub(crate) struct Cache {
    inner: Arc<RwLock<Inner>>,
    hits: Arc<AtomicU64>,
}

struct Inner {
    capacity: usize,
    map: HashMap<Key, Arc<Entry>>,
    order: VecDeque<Key>,
}

impl core::fmt::Debug for Cache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Inner {
                capacity,
                map: HashMap::new(),
                order: VecDeque::new(),
            })),
            hits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Lookups answered from the cache so far.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub(crate) fn capacity(&self) -> usize {
        self.inner.read().map(|g| g.capacity).unwrap_or(0)
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.read().map(|g| g.map.len()).unwrap_or(0)
    }

    /// The entry for `key` if it is usable at `at`.
    pub(crate) fn get(&self, key: &Key, at: UnixTime) -> Option<Arc<Entry>> {
        let g = self.inner.read().ok()?;
        let e = g.map.get(key).filter(|e| e.usable_at(at)).cloned();
        if e.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        e
    }

    pub(crate) fn insert(&self, key: Key, e: Entry) {
        let Ok(mut g) = self.inner.write() else {
            return;
        };
        if g.capacity == 0 {
            return;
        }
        if g.map.insert(key, Arc::new(e)).is_none() {
            g.order.push_back(key);
        }
        while g.map.len() > g.capacity {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            g.map.remove(&old);
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut g) = self.inner.write() {
            g.map.clear();
            g.order.clear();
        }
    }
}
