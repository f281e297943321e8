//! The TDX verifier: authenticity of DCAP quotes at an explicit time
//! against the pinned Intel SGX Root CA, with the TCB evaluated by our own
//! evaluator ([`tcb`]) on collateral given to it. `verify` is pure: no
//! I/O; collateral is fetched beforehand ([`crate::fetch_collateral`]).
//!
//! - [`chain`]: the PCK chain, the collateral signers' chains and the CRLs;
//! - [`qe`]: the QE report (signature, debug mode, binding) and the quote signature;
//! - [`tcb`]: TCB info and QE identity, TCB level matching;
//! - [`claims`]: the claims of a verified quote;
//!
//! Other trust roots (for tests) are in [`crate::danger`]; the pinned root
//! in [`crate::roots`].

use tee_core::evidence::{endorsement, format};
use tee_core::platforms::{CollateralOrigin, TimeWindow};
use tee_core::{
    Authenticity, Claim, Claims, Error, Evidence, Platform, RegisterValue, Result, UnixTime,
    Verifier,
};
use x509_cert::Certificate;

use std::sync::Arc;

use tee_core::cache::WindowCache;

use crate::cache::{self, CacheStats, DEFAULT_CACHE_CAPACITY, Entry};
use crate::collateral::Collateral;
use crate::crypto::{CryptoProvider, RUST_CRYPTO};
use crate::pki;
use crate::quote::Quote;

pub(crate) mod chain;
mod claims;
mod parsed;
pub(crate) mod qe;
pub(crate) mod tcb;

use claims::build_claims;

use crate::roots::INTEL_SGX_ROOT_CA_DER;

/// Where collateral comes from. Chosen explicitly; there is no silent
/// fallback from one mode to another, and no network: fetch collateral
/// first ([`crate::fetch_collateral`]), then verify.
#[derive(Debug, Clone)]
pub enum CollateralSource {
    /// The `tdx-collateral-v3-json` endorsement carried in the evidence
    /// (missing → `MissingEndorsement`). The default.
    FromEvidence,
    /// This collateral, for every quote.
    Given(Box<Collateral>),
    /// No collateral: check the quote signature, the QE report signature
    /// and binding, and the PCK chain to the pinned root; the TCB is not
    /// evaluated (`NotEvaluated`, `tcb_evaluated = false`).
    None,
}

/// Verifier for Intel TDX DCAP quotes.
///
/// Keeps a bounded, thread-safe cache of verified collateral and PCK
/// chains (see [`TdxVerifier::with_cache_capacity`]), and the parse results
/// of the last few collateral JSON documents evidence carried (by their
/// exact bytes; parsing is not trusting); clones share both.
///
/// Signatures are checked with pure Rust ([`crate::crypto::RUST_CRYPTO`])
/// unless another provider value is passed to [`TdxVerifier::with_crypto`]
/// (e.g. `crypto::AWS_LC` with the cargo feature `aws-lc`).
#[derive(Debug, Clone)]
pub struct TdxVerifier {
    root_der: Vec<u8>,
    source: CollateralSource,
    allow_unchecked_revocation: bool,
    crypto: &'static dyn CryptoProvider,
    pub(crate) cache: Arc<WindowCache<Entry>>,
    /// Parsed evidence collateral by its exact bytes (shared by clones).
    parsed: Arc<parsed::ParsedMemo>,
    /// FMSPC and PCK CA by the quote's PCK chain bytes (shared by clones).
    identities: Arc<parsed::IdentityMemo>,
}

impl Default for TdxVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// The collateral of one verification: the verifier's own, or parsed from
/// the evidence (shared with the parse memo).
enum Held<'a> {
    Given(&'a Collateral),
    Parsed(Arc<Collateral>),
}

impl std::ops::Deref for Held<'_> {
    type Target = Collateral;

    fn deref(&self) -> &Collateral {
        match self {
            Held::Given(c) => c,
            Held::Parsed(c) => c,
        }
    }
}

/// What the TCB evaluation gave.
pub(crate) enum TcbOutcome {
    Evaluated {
        evaluated: tcb::Evaluated,
        window: TimeWindow,
        revocation_checked: bool,
    },
    NotEvaluated,
}

impl TdxVerifier {
    /// A verifier pinning the Intel SGX Root CA, taking collateral from the
    /// evidence.
    pub fn new() -> Self {
        Self {
            root_der: INTEL_SGX_ROOT_CA_DER.to_vec(),
            source: CollateralSource::FromEvidence,
            allow_unchecked_revocation: false,
            crypto: &RUST_CRYPTO,
            cache: Arc::new(WindowCache::new(DEFAULT_CACHE_CAPACITY)),
            parsed: Arc::default(),
            identities: Arc::default(),
        }
    }

    /// This verifier using `crypto` for every signature (and a fresh cache
    /// of the same capacity: entries hold the provider's keys).
    #[must_use]
    pub fn with_crypto(mut self, crypto: &'static dyn CryptoProvider) -> Self {
        self.crypto = crypto;
        self.cache = Arc::new(WindowCache::new(self.cache.stats().capacity));
        self
    }

    /// The crypto provider in use.
    pub fn crypto(&self) -> &'static dyn CryptoProvider {
        self.crypto
    }

    /// A verifier pinning `root_der` instead (see [`crate::danger`]).
    pub(crate) fn with_root(root_der: Vec<u8>) -> Self {
        Self {
            root_der,
            ..Self::new()
        }
    }

    /// Cache up to `capacity` verified collateral/PCK-chain pairs
    /// ([`DEFAULT_CACHE_CAPACITY`] by default; 0 disables the cache, so
    /// every quote's collateral is verified from scratch). Replaces the
    /// cache with a new, empty one.
    ///
    /// An entry is created only after a quote verified in full with that
    /// collateral and PCK chain, and is used only for the same bytes (by
    /// SHA-256) at a time inside the validity of everything it covers. The
    /// per-quote checks (quote and QE report signatures, QE report binding
    /// and identity, TCB level for the quote's SVNs, PCK revocation under
    /// the cached CRLs) always run. When full, the least recently used
    /// entry is evicted.
    #[must_use]
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(WindowCache::new(capacity));
        self
    }

    /// The cache's counters (the same type as `tee_sev::SnpVerifier`'s):
    /// capacity, entries (verified collateral/PCK-chain pairs), hits
    /// (verifications answered from the cache), misses, evictions.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Drop every cached entry (counters are kept). Clones share the cache,
    /// so this clears theirs too.
    pub fn clear_cache(&self) {
        self.cache.clear();
        self.parsed.clear();
        self.identities.clear();
    }

    /// The FMSPC and PCK CA of the PCK certificate `quote` carries, as
    /// [`crate::pck_identity`] gives them: what picking collateral for the
    /// quote needs. The leaf's parse is remembered by the PCK chain's exact
    /// bytes (the same for every quote of a platform); nothing about trust
    /// is decided here.
    ///
    /// # Errors
    /// As [`crate::pck_identity`].
    pub fn pck_identity(&self, quote: &[u8]) -> Result<([u8; 6], crate::collateral::PckCa)> {
        let q = Quote::parse(quote)?;
        match q.pck_chain_pem() {
            Some(pem) => self
                .identities
                .get_or_parse(pem, |_| chain::pck_identity(&q)),
            // Says what is missing.
            None => chain::pck_identity(&q),
        }
    }

    /// Choose the collateral source.
    #[must_use]
    pub fn with_collateral_source(mut self, source: CollateralSource) -> Self {
        self.source = source;
        self
    }

    /// Use this collateral for every quote.
    #[must_use]
    pub fn with_collateral(self, c: Collateral) -> Self {
        self.with_collateral_source(CollateralSource::Given(Box::new(c)))
    }

    /// Explicitly verify without collateral (the TCB is not evaluated).
    #[must_use]
    pub fn without_collateral(self) -> Self {
        self.with_collateral_source(CollateralSource::None)
    }

    /// DANGEROUS: accept collateral that has no CRLs. Revocation of the
    /// PCK and intermediate certificates is then not checked and the claims
    /// say so (`revocation_checked = false`). Without this, collateral
    /// lacking CRLs is a `MissingEndorsement` error.
    #[must_use]
    pub fn dangerous_allow_collateral_without_crls(mut self) -> Self {
        self.allow_unchecked_revocation = true;
        self
    }

    fn collateral_for(&self, ev: &Evidence) -> Result<Option<Held<'_>>> {
        match &self.source {
            CollateralSource::None => Ok(None),
            CollateralSource::Given(c) => Ok(Some(Held::Given(c))),
            CollateralSource::FromEvidence => match ev.endorsement(endorsement::TDX_COLLATERAL_JSON) {
                Some(j) => self.parsed.collateral(j).map(|c| Some(Held::Parsed(c))),
                None => Err(Authenticity::MissingEndorsement {
                    what: "TDX collateral (tdx-collateral-v3-json endorsement; fetch it with \
                           tee_tdx::fetch_collateral); or choose a collateral source or the explicit \
                           no-collateral mode"
                        .into(),
                }
                .into()),
            },
        }
    }

    /// Verify a raw quote (with optional collateral per the configured
    /// source) and return the TDX claims. Collateral given here is the
    /// verifier's own (claims `collateral_source = "verifier"`).
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_quote(
        &self,
        raw: &[u8],
        collateral: Option<&Collateral>,
        at: UnixTime,
    ) -> Result<Claims> {
        let q = Quote::parse(raw)?;
        self.verify_parsed(raw, &q, collateral, CollateralOrigin::Verifier, at)
    }

    fn verify_parsed(
        &self,
        raw: &[u8],
        q: &Quote,
        collateral: Option<&Collateral>,
        origin: CollateralOrigin,
        at: UnixTime,
    ) -> Result<Claims> {
        match collateral {
            None => {
                if !matches!(self.source, CollateralSource::None) {
                    return Err(Error::Misuse(
                        "no collateral given; use TdxVerifier::without_collateral() to verify without it".into(),
                    ));
                }
                let certs = chain::quote_pck_chain(q)?;
                let pck = own_checks(self.crypto, raw, q, &certs, &self.root_der, at)?;
                build_claims(q, Some(pck.fmspc), TcbOutcome::NotEvaluated, None, at)
            }
            Some(c) => self.verify_with_collateral(raw, q, c, origin, at),
        }
    }

    /// Collateral given: the cache when it holds this collateral and PCK
    /// chain for `at`, else the full verification (filling the cache on
    /// success).
    fn verify_with_collateral(
        &self,
        raw: &[u8],
        q: &Quote,
        c: &Collateral,
        origin: CollateralOrigin,
        at: UnixTime,
    ) -> Result<Claims> {
        // Cached: the quote's PCK chain under collateral with CRLs that
        // brings no chain of its own.
        let key = match (q.pck_chain_pem(), &c.inner.pck_certificate_chain) {
            (Some(pem), None) if self.cache.enabled() && c.has_crls() => {
                Some(cache::key(&self.root_der, c, pem))
            }
            _ => None,
        };
        if let Some(k) = &key
            && let Some(e) = self.cache.get(k, at.as_secs())
        {
            let outcome = steady_state(raw, q, &e)?;
            return build_claims(q, Some(e.platform.fmspc), outcome, Some(origin), at);
        }
        let full = full_with_collateral(
            self.crypto,
            raw,
            q,
            c,
            &self.root_der,
            at,
            self.allow_unchecked_revocation,
        )?;
        if let (Some(k), Some(v)) = (key, &full.verified) {
            let entry = Entry::build(&cache::Verified {
                crypto: self.crypto,
                root_der: &self.root_der,
                collateral: c,
                pck_chain: &full.pck.certs,
                platform: full.pck.platform,
                attestation_key: q.attestation_key,
                tcb_info: &v.tcb_info,
                qe_identity: &v.qe_identity,
                pck_crl_revoked: v.pck_crl_revoked.clone(),
                root_crl_revoked: v.root_crl_revoked.clone(),
            });
            if let Some(e) = entry {
                self.cache.insert(k, e.window, Arc::new(e));
            }
        }
        build_claims(
            q,
            Some(full.pck.platform.fmspc),
            full.outcome,
            Some(origin),
            at,
        )
    }
}

/// The PCK chain of a verification, parsed and checked.
pub(crate) struct Pck {
    pub(crate) certs: Vec<Certificate>,
    pub(crate) platform: tcb::Platform,
}

/// What a full verification with CRLs established, for the cache.
struct Authenticated {
    tcb_info: tcb::TcbInfo,
    qe_identity: tcb::QeIdentity,
    pck_crl_revoked: std::collections::HashSet<Vec<u8>>,
    root_crl_revoked: std::collections::HashSet<Vec<u8>>,
}

struct Full {
    outcome: TcbOutcome,
    pck: Pck,
    /// Set when the collateral had CRLs (the only case that is cached).
    verified: Option<Authenticated>,
}

/// The per-quote checks every mode runs: QE vendor, PCK chain to the
/// pinned root (no revocation yet), QE report signature by the PCK, QE
/// report (debug mode, binding of the attestation key), the QE is Intel's
/// TD QE ([`qe::check_intel_td_qe`]), quote signature.
fn own_checks(
    crypto: &dyn CryptoProvider,
    raw: &[u8],
    q: &Quote,
    certs: &[Certificate],
    root_der: &[u8],
    at: UnixTime,
) -> Result<tcb::Platform> {
    qe::check_vendor(q)?;
    pki::verify_chain(crypto, certs, root_der, at)?;
    let leaf = certs
        .first()
        .ok_or_else(|| Error::encoding("PCK chain", "empty"))?;
    qe::check_report_signature(crypto, q, leaf)?;
    qe::check_report(q)?;
    qe::check_intel_td_qe(q)?;
    qe::check_quote_signature(crypto, raw, q)?;
    chain::pck_platform(leaf)
}

/// The PCK chain to use: the collateral's when it brings one, else the quote's.
fn pck_chain_for(q: &Quote, c: &Collateral) -> Result<Vec<Certificate>> {
    match &c.inner.pck_certificate_chain {
        Some(pem) => pki::parse_pem_chain(pem.as_bytes()),
        None => chain::quote_pck_chain(q),
    }
}

/// Full verification with collateral, every check once, in this order
/// (the order failures are reported in):
///
/// 1. collateral without CRLs is refused unless explicitly allowed (after
///    the FMSPC check, so the error names a wrong platform first);
/// 2. [`own_checks`] (QE vendor, PCK chain, QE report, quote signature);
/// 3. the collateral is for the quote's platform (FMSPC);
/// 4. every collateral item is inside its validity window at `at`;
/// 5. the root CA CRL (signed by the pinned root; the root not in it),
///    the TCB info and QE identity signer chains (signer issued by the
///    root) and signatures, the PCK CRL (signed by the PCK CA), and the
///    revocation of every certificate on every path;
/// 6. the TCB evaluation ([`tcb::evaluate`]).
fn full_with_collateral(
    crypto: &dyn CryptoProvider,
    raw: &[u8],
    q: &Quote,
    c: &Collateral,
    root_der: &[u8],
    at: UnixTime,
    allow_no_crls: bool,
) -> Result<Full> {
    let certs = pck_chain_for(q, c);
    if !c.has_crls() {
        if let Some(leaf) = certs.as_ref().ok().and_then(|c| c.first())
            && let Ok(p) = chain::pck_platform(leaf)
        {
            check_fmspc(p.fmspc, c)?;
        }
        if !allow_no_crls {
            return Err(Authenticity::MissingEndorsement {
                what: "CRLs in the collateral (use the dangerous no-CRL option to accept collateral without them)"
                    .into(),
            }
            .into());
        }
    }
    let certs = certs?;
    let platform = own_checks(crypto, raw, q, &certs, root_der, at)?;
    check_fmspc(platform.fmspc, c)?;
    let dates = c.dates_ref();
    dates.check(at)?;
    let i = &c.inner;
    let root = pki::parse_der(root_der)?;
    let mut crls = if c.has_crls() {
        Some(chain::Crls::new(
            crypto,
            &root,
            chain::Crl::parse(&i.root_ca_crl, "root CA CRL")?,
            chain::Crl::parse(&i.pck_crl, "PCK CRL")?,
            at,
        )?)
    } else {
        None
    };
    let tcb_info = tcb::TcbInfo::parse(&i.tcb_info)?;
    let tcb_signer =
        chain::verify_signer_chain(crypto, &i.tcb_info_issuer_chain, root_der, at, "TCB info")?;
    if let Some(crls) = &mut crls {
        crls.check_path(&tcb_signer, at)?;
    }
    chain::verify_signed_json(
        crypto,
        &tcb_signer,
        &i.tcb_info,
        &i.tcb_info_signature,
        "TCB info signature",
    )?;
    let qe_identity = tcb::QeIdentity::parse(&i.qe_identity)?;
    // Intel signs both with the same certificate: its chain is checked once.
    let qe_signer = if i.qe_identity_issuer_chain == i.tcb_info_issuer_chain {
        tcb_signer
    } else {
        let s = chain::verify_signer_chain(
            crypto,
            &i.qe_identity_issuer_chain,
            root_der,
            at,
            "QE identity",
        )?;
        if let Some(crls) = &mut crls {
            crls.check_path(&s, at)?;
        }
        s
    };
    chain::verify_signed_json(
        crypto,
        &qe_signer,
        &i.qe_identity,
        &i.qe_identity_signature,
        "QE identity signature",
    )?;
    qe_identity.check_is_td_qe()?;
    if let Some(crls) = &mut crls {
        crls.check_path(&certs, at)?;
    }
    let evaluated = tcb::evaluate(q, &tcb_info, &qe_identity, &platform)?;
    let outcome = TcbOutcome::Evaluated {
        evaluated,
        window: dates.window(),
        revocation_checked: crls.is_some(),
    };
    let verified = crls.map(|crls| Authenticated {
        tcb_info,
        qe_identity,
        pck_crl_revoked: crls.pck_crl.revoked_serials(),
        root_crl_revoked: crls.root_crl.revoked_serials(),
    });
    Ok(Full {
        outcome,
        pck: Pck { certs, platform },
        verified,
    })
}

/// Steady state: the collateral and PCK chain of `e` were verified in full
/// (and `at` lies inside all their windows, checked by the lookup). Runs
/// the per-quote checks, in the order the full path reports failures.
fn steady_state(raw: &[u8], q: &Quote, e: &Entry) -> Result<TcbOutcome> {
    qe::check_vendor(q)?;
    let bad = Error::bad_signature;
    if !e
        .pck_key
        .verify_sha256(&q.qe.qe_report_raw, &q.qe.qe_report_signature)
    {
        return Err(bad("QE report signature"));
    }
    qe::check_report(q)?;
    qe::check_intel_td_qe(q)?;
    if q.attestation_key == e.att_key {
        let signed = q
            .signed_bytes(raw)
            .ok_or_else(|| Error::truncated("TDX quote", q.signed_len, raw.len()))?;
        if !e.att_vk.verify_sha256(signed, &q.signature) {
            return Err(bad("quote signature"));
        }
    } else {
        qe::check_quote_signature(e.crypto, raw, q)?;
    }
    // FMSPC (the collateral's dates are covered by the lookup window).
    if e.platform.fmspc != e.tcb_fmspc {
        return Err(fmspc_mismatch(e.platform.fmspc, e.tcb_fmspc));
    }
    // PCK chain revocation under the cached CRLs (a full verification
    // never caches a revoked chain; checked anyway).
    if e.pck_crl_revoked.contains(&e.pck_serial) || e.root_crl_revoked.contains(&e.pck_ca_serial) {
        return Err(Authenticity::Revoked {
            what: "certificate (PCK chain listed in the cached CRL)".into(),
        }
        .into());
    }
    let evaluated = tcb::evaluate(q, &e.tcb_info, &e.qe_identity, &e.platform)?;
    Ok(TcbOutcome::Evaluated {
        evaluated,
        window: e.claims_window,
        revocation_checked: true,
    })
}

/// The collateral must be for the quote's platform.
fn check_fmspc(fmspc: [u8; 6], c: &Collateral) -> Result<()> {
    let want = c.fmspc()?;
    if fmspc != want {
        return Err(fmspc_mismatch(fmspc, want));
    }
    Ok(())
}

pub(crate) fn fmspc_mismatch(have: [u8; 6], want: [u8; 6]) -> Error {
    Authenticity::Mismatch {
        what: "FMSPC",
        detail: format!(
            "quote's PCK is for FMSPC {}, the collateral's TCB info for {}",
            hex::encode_upper(have),
            hex::encode_upper(want)
        ),
    }
    .into()
}

impl Verifier for TdxVerifier {
    fn platform(&self) -> Platform {
        Platform::Tdx
    }

    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims> {
        if evidence.platform != Platform::Tdx || evidence.format != format::TDX_QUOTE {
            return Err(Error::Misuse(
                format!(
                    "TDX verifier given {} evidence of format `{}`",
                    evidence.platform, evidence.format
                )
                .into(),
            ));
        }
        let raw = &evidence.report;
        let q = Quote::parse(raw)?;
        let collateral = self.collateral_for(evidence)?;
        // The verifier knows where its collateral came from.
        let origin = match self.source {
            CollateralSource::FromEvidence => CollateralOrigin::Evidence,
            CollateralSource::Given(_) | CollateralSource::None => CollateralOrigin::Verifier,
        };
        let mut claims = self.verify_parsed(raw, &q, collateral.as_deref(), origin, at)?;
        // Event logs: the firmware CCEL (TCG2 binary) and/or application
        // events. With the firmware log every RTMR is compared; with only
        // an application log, the registers it extends plus RTMR3 (the
        // application register, which must then be fully explained by it).
        let mut log = tee_core::EventLog::default();
        let mut firmware = false;
        if let Some(bin) = evidence.endorsement(endorsement::TCG2_EVENT_LOG) {
            let parsed = crate::ccel::EventLog::parse(bin)?;
            log.events.extend(parsed.to_core_events()?);
            firmware = true;
        }
        if let Some(app) = &evidence.event_log {
            app.require_data()?;
            log.events.extend(app.events.iter().cloned());
        }
        if (firmware || evidence.event_log.is_some())
            && let Claim::Value(regs) = &claims.runtime_registers
        {
            let wanted: Vec<RegisterValue> = regs
                .iter()
                .filter(|r| {
                    firmware || r.index == 3 || log.events.iter().any(|e| e.register == r.index)
                })
                .cloned()
                .collect();
            claims.event_log = Some(log.check_against(&wanted)?);
        }
        Ok(claims)
    }
}
