//! The TDX verifier: authenticity of DCAP quotes at an explicit time
//! against the pinned Intel SGX Root CA, wrapping `dcap-qvl` for collateral
//! evaluation and doing our own checks in the explicit no-collateral mode.

use std::borrow::Cow;
use std::sync::Arc;

use tee_core::claims::{Claim, TcbSummary};
use tee_core::evidence::{endorsement, format};
use tee_core::platforms::{TdxClaims, TimeWindow};
use tee_core::{
    Appraisal, Authenticity, Claims, Error, Evidence, HexBytes, Platform, PlatformClaims,
    RegisterValue, ReportData, Result, TcbStatus, TrustRoot, UnixTime, Verified, Verifier,
};

use crate::cache::{self, Cache, DEFAULT_CACHE_CAPACITY, Entry};
use crate::collateral::{Collateral, CollateralProvider, PckCa};
use crate::fastverify;
use crate::pki;
use crate::quote::{INTEL_QE_VENDOR_ID, Quote};
use crate::steady;

/// The Intel SGX Root CA (CN=Intel SGX Root CA, valid to 2049-12-31;
/// SHA-256 `44a0196b…ab674d3`), pinned.
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = &crate::intel_root::DER;

/// Where collateral comes from. Chosen explicitly; there is no silent
/// fallback from one mode to another.
#[derive(Debug, Clone)]
pub enum CollateralSource {
    /// The `tdx-collateral-v3-json` endorsement carried in the evidence
    /// (missing → `MissingEndorsement`). The default.
    FromEvidence,
    /// This collateral, for every quote.
    Given(Box<Collateral>),
    /// Looked up by the quote's FMSPC.
    Provider(Arc<dyn CollateralProvider>),
    /// No collateral: check the quote signature, the QE report signature
    /// and binding, and the PCK chain to the pinned root; the TCB is not
    /// evaluated (`NotEvaluated`, `tcb_evaluated = false`).
    None,
}

/// Verifier for Intel TDX DCAP quotes.
#[derive(Debug, Clone)]
///
/// Keeps a bounded, thread-safe cache of verified collateral and PCK
/// chains (see [`TdxVerifier::with_cache_capacity`]); clones share it.
pub struct TdxVerifier {
    root_der: Vec<u8>,
    source: CollateralSource,
    allow_unchecked_revocation: bool,
    pub(crate) cache: Cache,
}

impl Default for TdxVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// Dangerous options: trust roots other than Intel's.
pub mod danger {
    use super::TdxVerifier;

    /// A verifier trusting `root_der` instead of the Intel SGX Root CA.
    /// For tests with a private PKI only.
    pub fn verifier_with_test_root(root_der: Vec<u8>) -> TdxVerifier {
        TdxVerifier {
            root_der,
            ..TdxVerifier::new()
        }
    }
}

enum TcbOutcome {
    Evaluated {
        status: TcbStatus,
        advisory_ids: Vec<String>,
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
            cache: Cache::new(DEFAULT_CACHE_CAPACITY),
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
    /// the cached CRLs, TD attributes) always run.
    #[must_use]
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Cache::new(capacity);
        self
    }

    /// Number of cached verified collateral/PCK-chain pairs.
    pub fn cached_entries(&self) -> usize {
        self.cache.len()
    }

    /// Verifications answered from the cache so far (steady state).
    pub fn cache_hits(&self) -> u64 {
        self.cache.hits()
    }

    /// Drop every cached entry.
    pub fn clear_cache(&self) {
        self.cache.clear();
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

    /// Look collateral up with a provider.
    #[must_use]
    pub fn with_provider(self, p: Arc<dyn CollateralProvider>) -> Self {
        self.with_collateral_source(CollateralSource::Provider(p))
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

    fn collateral_for(&self, ev: &Evidence, q: &Quote) -> Result<Option<Cow<'_, Collateral>>> {
        match &self.source {
            CollateralSource::None => Ok(None),
            CollateralSource::Given(c) => Ok(Some(Cow::Borrowed(&**c))),
            CollateralSource::FromEvidence => match ev.endorsement(endorsement::TDX_COLLATERAL_JSON) {
                Some(j) => Collateral::from_json(j).map(|c| Some(Cow::Owned(c))),
                None => Err(Authenticity::MissingEndorsement {
                    what: "TDX collateral (tdx-collateral-v3-json endorsement); or choose a collateral source \
                           or the explicit no-collateral mode"
                        .into(),
                }
                .into()),
            },
            CollateralSource::Provider(p) => {
                let (fmspc, ca) = pck_identity(q)?;
                p.collateral(fmspc, ca).map(|c| Some(Cow::Owned(c)))
            }
        }
    }

    /// Verify a raw quote (with optional collateral per the configured
    /// source) and return the TDX claims.
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
        self.verify_parsed(raw, &q, collateral, at)
    }

    fn verify_parsed(
        &self,
        raw: &[u8],
        q: &Quote,
        collateral: Option<&Collateral>,
        at: UnixTime,
    ) -> Result<Claims> {
        let outcome = match collateral {
            None => {
                if !matches!(self.source, CollateralSource::None) {
                    return Err(Error::Misuse(
                        "no collateral given; use TdxVerifier::without_collateral() to verify without it".into(),
                    ));
                }
                own_checks(raw, q, &self.root_der, at)?;
                TcbOutcome::NotEvaluated
            }
            Some(c) if !c.has_crls() => {
                check_fmspc(q, c)?;
                if !self.allow_unchecked_revocation {
                    return Err(Authenticity::MissingEndorsement {
                        what: "CRLs in the collateral (use the dangerous no-CRL option to accept collateral without them)"
                            .into(),
                    }
                    .into());
                }
                own_checks(raw, q, &self.root_der, at)?;
                let dates = c.dates_ref();
                dates.check(at)?;
                let (status, advisory_ids) = crate::nocrl::evaluate(q, c, &self.root_der, at)?;
                TcbOutcome::Evaluated {
                    status,
                    advisory_ids,
                    window: dates.window(),
                    revocation_checked: false,
                }
            }
            Some(c) => return self.verify_with_collateral(raw, q, c, at),
        };
        let fmspc = pck_identity(q).ok().map(|(f, _)| f);
        build_claims(q, fmspc, outcome, at)
    }

    /// Collateral with CRLs: the cache when it holds this collateral and
    /// PCK chain for `at`, else the full verification (filling the cache on
    /// success).
    fn verify_with_collateral(
        &self,
        raw: &[u8],
        q: &Quote,
        c: &Collateral,
        at: UnixTime,
    ) -> Result<Claims> {
        // The PCK chain in the cache key is the one dcap-qvl verifies: the
        // quote's, when the collateral does not bring one.
        let key = match (q.pck_chain_pem(), &c.inner.pck_certificate_chain) {
            (Some(pem), None) if self.cache.capacity() > 0 => {
                Some(cache::key(&self.root_der, c, pem))
            }
            _ => None,
        };
        if let Some(k) = &key
            && dcap_reads_the_same(raw, q)
            && let Some(e) = self.cache.get(k, at)
        {
            let outcome = steady_state(raw, q, &e, at)?;
            return build_claims(q, Some(e.fmspc), outcome, at);
        }
        let (outcome, pck, verified) = full_with_collateral(raw, q, c, &self.root_der, at)?;
        let fmspc = pck.as_ref().map(|p| p.fmspc);
        // Only a successful dcap-qvl verification fills the cache.
        if let (Some(k), Some(p), true) = (key, &pck, verified)
            && let Some(e) = Entry::build(&cache::Verified {
                root_der: &self.root_der,
                collateral: c,
                pck_chain: &p.certs,
                fmspc: p.fmspc,
                attestation_key: q.attestation_key,
            })
        {
            self.cache.insert(k, e);
        }
        build_claims(q, fmspc, outcome, at)
    }
}

/// The quote's PCK chain, parsed once per verification.
struct Pck {
    certs: Vec<x509_cert::Certificate>,
    fmspc: [u8; 6],
}

/// Full verification with collateral (nothing cached). Every check runs
/// exactly once:
///
/// - `dcap-qvl` runs first and does all signature work: both CRLs, the TCB
///   info and QE identity signatures and issuer chains, the PCK chain with
///   revocation, the QE report signature, the quote signature, plus QE
///   identity, TCB level matching and TD attributes.
/// - If it succeeds, we add only what it does not check, without repeating
///   its signature verifications: our chain rules (presented root identical
///   to the pinned one, issuers are CAs, no certificate off the path,
///   pinned root validity), the debug-QE check, the full 64-byte QE report
///   binding (dcap-qvl checks 32), the FMSPC, and every collateral item's
///   window (CRLs and issuer chains included). The PCK chain signatures are
///   skipped only when dcap-qvl verified the very same chain: the quote's
///   (the collateral carries none) and made only of `CERTIFICATE` PEM
///   blocks, so its PEM parser and ours yield the same certificates. In any
///   other case our checks run in full.
/// - If it fails, our own checks run in full only to classify the failure
///   with a precise typed error (same order as before: own checks, FMSPC,
///   dates, then dcap-qvl's error).
fn full_with_collateral(
    raw: &[u8],
    q: &Quote,
    c: &Collateral,
    root_der: &[u8],
    at: UnixTime,
) -> Result<(TcbOutcome, Option<Pck>, bool)> {
    let verifier = dcap_qvl::verify::QuoteVerifier::new(root_der.to_vec())
        .allow_debug(true)
        .allow_service_td(true);
    let dcap = verifier.verify(raw, &c.inner, at.as_secs());
    let has_chain = q.pck_chain_pem().is_some();
    let same_chain = c.inner.pck_certificate_chain.is_none()
        && q.pck_chain_pem().is_some_and(only_certificate_blocks);
    let verified_sigs = if same_chain {
        pki::Sigs::AlreadyVerified
    } else {
        pki::Sigs::Check
    };
    let (status, advisory_ids, pck) = match dcap {
        Ok(r) => {
            let sigs = verified_sigs;
            let pck = if has_chain {
                Some(own_checks_with(raw, q, root_der, at, sigs)?)
            } else {
                None
            };
            let dates = c.dates_ref();
            check_fmspc_with(pck.as_ref().map(|p| p.fmspc), c)?;
            dates.check(at)?;
            let (status, advisory_ids) = (status_from_dcap(&r.status)?, r.advisory_ids);
            return Ok((
                TcbOutcome::Evaluated {
                    status,
                    advisory_ids,
                    window: dates.window(),
                    revocation_checked: true,
                },
                pck,
                true,
            ));
        }
        Err(e) => {
            let mapped = map_dcap_error(&e, at);
            // "No matching TCB level" comes from step 8, after dcap-qvl
            // verified every signature: as on success, they are not redone.
            // Any other failure: our checks run in full to classify it.
            let sigs = match mapped {
                Mapped::NoMatchingTcbLevel => verified_sigs,
                Mapped::Err(_) => pki::Sigs::Check,
            };
            let pck = if has_chain {
                Some(own_checks_with(raw, q, root_der, at, sigs)?)
            } else {
                None
            };
            check_fmspc_with(pck.as_ref().map(|p| p.fmspc), c)?;
            let dates = c.dates_ref();
            dates.check(at)?;
            match mapped {
                Mapped::NoMatchingTcbLevel => (TcbStatus::NoMatchingTcbLevel, Vec::new(), pck),
                Mapped::Err(e) => return Err(e),
            }
        }
    };
    // "No matching TCB level" is a verdict, not an error. dcap-qvl reports
    // it only from step 8 (TCB level matching), after every collateral,
    // chain and signature check passed, so the collateral is verified and
    // may be cached (`map_dcap_error` matches the exact message).
    let dates = c.dates_ref();
    Ok((
        TcbOutcome::Evaluated {
            status,
            advisory_ids,
            window: dates.window(),
            revocation_checked: true,
        },
        pck,
        true,
    ))
}

/// Whether `dcap-qvl`'s parser reads every field the steady state uses
/// exactly as ours does. The cache answers only then; otherwise the full
/// path runs, so a parser difference can never make the two paths differ.
fn dcap_reads_the_same(raw: &[u8], q: &Quote) -> bool {
    let Ok(d) = dcap_qvl::quote::Quote::parse(raw) else {
        return false;
    };
    let h = &d.header;
    if h.version != q.header.version
        || h.tee_type != q.header.tee_type
        || h.attestation_key_type != q.header.att_key_type
        || h.qe_vendor_id != q.header.qe_vendor_id
        || d.signed_length() != q.signed_len
        || d.report.as_td15_ex().is_some()
    {
        return false;
    }
    let b = &q.body;
    let Some(td) = d.report.as_td10() else {
        return false;
    };
    if td.tee_tcb_svn != b.tee_tcb_svn
        || td.mr_signer_seam != b.mr_signer_seam
        || td.seam_attributes != b.seam_attributes.to_le_bytes()
        || td.td_attributes != b.td_attributes.to_le_bytes()
    {
        return false;
    }
    match (d.report.as_td15(), b.tee_tcb_svn2, b.mr_servicetd) {
        (None, None, None) => {}
        (Some(t), Some(svn2), Some(servtd))
            if t.tee_tcb_svn2 == svn2 && t.mr_service_td == servtd => {}
        _ => return false,
    }
    let a = d.auth_data.into_v3();
    a.ecdsa_signature == q.signature
        && a.ecdsa_attestation_key == q.attestation_key
        && a.qe_report[..] == q.qe.qe_report_raw[..]
        && a.qe_report_signature == q.qe.qe_report_signature
        && a.qe_auth_data.data == q.qe.qe_auth_data
        && a.certification_data.cert_type == q.qe.pck_cert_type
        && a.certification_data.body.data == q.qe.pck_cert_data
}

/// Whether every PEM block in `pem` is a `CERTIFICATE`.
fn only_certificate_blocks(pem: &[u8]) -> bool {
    let count = |n: &[u8]| pem.windows(n.len()).filter(|w| *w == n).count();
    count(b"-----BEGIN ") == count(b"-----BEGIN CERTIFICATE-----")
}

/// Steady state: the collateral and PCK chain of `e` were verified in full
/// (and `at` lies inside all their windows, checked by the lookup). Runs
/// the per-quote checks, in the order the full path reports failures.
fn steady_state(raw: &[u8], q: &Quote, e: &Entry, at: UnixTime) -> Result<TcbOutcome> {
    // Our own per-quote checks (own_checks without the chain, which is
    // cached: same bytes, verified, and valid at `at`).
    check_qe_vendor(q)?;
    let bad = Error::bad_signature;
    let sig = p256::ecdsa::Signature::from_slice(&q.qe.qe_report_signature)
        .map_err(|_| bad("QE report signature"))?;
    if !fastverify::verify(e.pck_table(), &q.qe.qe_report_raw, &sig) {
        return Err(bad("QE report signature"));
    }
    check_qe_report(q)?;
    if q.attestation_key == e.att_key {
        let signed = q
            .signed_bytes(raw)
            .ok_or_else(|| Error::truncated("TDX quote", q.signed_len, raw.len()))?;
        let sig =
            p256::ecdsa::Signature::from_slice(&q.signature).map_err(|_| bad("quote signature"))?;
        if !fastverify::verify(e.att_table(), signed, &sig) {
            return Err(bad("quote signature"));
        }
    } else {
        check_quote_signature(raw, q)?;
    }
    // FMSPC (the collateral's dates are covered by the lookup window).
    if e.fmspc != e.tcb_fmspc {
        return Err(fmspc_mismatch(e.fmspc, e.tcb_fmspc));
    }
    // What dcap-qvl checks per quote, in its order: PCK chain revocation
    // (step 3, under the cached CRLs), QE auth data length (5), QE identity
    // (6), platform TCB, convergence and attributes (8-10).
    if e.pck_crl_revoked.contains(&e.pck_serial) || e.root_crl_revoked.contains(&e.pck_ca_serial) {
        return Err(Authenticity::Revoked {
            what: "certificate (PCK chain listed in the cached CRL)".into(),
        }
        .into());
    }
    let evaluated = steady::qe_auth_data_len(q)
        .and_then(|()| steady::qe_identity_policy(q, &e.qe_identity))
        .and_then(|qe_level| {
            steady::platform_tcb(q, &e.tcb_info, &e.fmspc, &e.cpu_svn, e.pce_svn, &qe_level)
        });
    let (status, advisory_ids) = match evaluated {
        Ok(Some((s, a))) => (status_from_dcap(&s.to_string())?, a),
        Ok(None) => (TcbStatus::NoMatchingTcbLevel, Vec::new()),
        Err(msg) => match map_dcap_error(&msg, at) {
            Mapped::NoMatchingTcbLevel => (TcbStatus::NoMatchingTcbLevel, Vec::new()),
            Mapped::Err(e) => return Err(e),
        },
    };
    Ok(TcbOutcome::Evaluated {
        status,
        advisory_ids,
        window: e.claims_window,
        revocation_checked: true,
    })
}

/// The collateral must be for the quote's platform (checked before any
/// other collateral check so the error names the real problem).
fn check_fmspc(q: &Quote, c: &Collateral) -> Result<()> {
    // No embedded chain: dcap-qvl checks it with the collateral's chain.
    check_fmspc_with(pck_identity(q).ok().map(|(f, _)| f), c)
}

fn check_fmspc_with(fmspc: Option<[u8; 6]>, c: &Collateral) -> Result<()> {
    let Some(fmspc) = fmspc else {
        return Ok(());
    };
    let want = c.fmspc()?;
    if fmspc != want {
        return Err(fmspc_mismatch(fmspc, want));
    }
    Ok(())
}

fn fmspc_mismatch(have: [u8; 6], want: [u8; 6]) -> Error {
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

/// FMSPC and PCK CA of the quote's embedded PCK certificate.
pub(crate) fn pck_identity(q: &Quote) -> Result<([u8; 6], PckCa)> {
    let pem = q.pck_chain_pem().ok_or_else(|| {
        Error::Authenticity(Authenticity::MissingEndorsement {
            what: format!(
                "PCK certificate chain (quote carries certification data type {})",
                q.qe.pck_cert_type
            ),
        })
    })?;
    let certs = pki::parse_pem_chain(pem)?;
    leaf_identity(&certs)
}

fn leaf_identity(certs: &[x509_cert::Certificate]) -> Result<([u8; 6], PckCa)> {
    let leaf = certs
        .first()
        .ok_or_else(|| Error::encoding("PCK chain", "empty"))?;
    let der = der::Encode::to_der(leaf).map_err(|e| Error::encoding("PCK certificate", e))?;
    let ext = dcap_qvl::intel::parse_pck_extension(&der)
        .map_err(|e| Error::bad_field("PCK certificate", "SGX extension", format_args!("{e:#}")))?;
    let issuer = leaf.tbs_certificate().issuer().to_string();
    let ca = if issuer.contains("Processor") {
        PckCa::Processor
    } else {
        PckCa::Platform
    };
    Ok((ext.fmspc, ca))
}

/// The no-collateral checks: QE vendor, PCK chain to the pinned root
/// (no revocation), QE report signature by the PCK, QE report binding of
/// the attestation key, and the quote signature.
pub(crate) fn own_checks(raw: &[u8], q: &Quote, root_der: &[u8], at: UnixTime) -> Result<()> {
    own_checks_with(raw, q, root_der, at, pki::Sigs::Check).map(|_| ())
}

fn check_qe_vendor(q: &Quote) -> Result<()> {
    if q.header.qe_vendor_id != INTEL_QE_VENDOR_ID {
        return Err(Authenticity::Mismatch {
            what: "QE vendor id",
            detail: "not Intel's QE".into(),
        }
        .into());
    }
    Ok(())
}

/// The QE is not in debug mode and its report binds the attestation key.
fn check_qe_report(q: &Quote) -> Result<()> {
    // A debug-mode QE's memory is readable by the host: its signature proves nothing.
    if q.qe.qe_report.attributes[0] & 0x02 != 0 {
        return Err(Authenticity::Mismatch {
            what: "QE report attributes",
            detail: "the quoting enclave runs in debug mode".into(),
        }
        .into());
    }
    let h = pki::qe_binding_hash(&q.attestation_key, &q.qe.qe_auth_data);
    if q.qe.qe_report.report_data[..32] != h || q.qe.qe_report.report_data[32..] != [0u8; 32] {
        return Err(Authenticity::Mismatch {
            what: "QE report binding",
            detail: "QE report data != SHA-256(attestation key || QE auth data) || zeros".into(),
        }
        .into());
    }
    Ok(())
}

fn check_quote_signature(raw: &[u8], q: &Quote) -> Result<()> {
    let signed = q
        .signed_bytes(raw)
        .ok_or_else(|| Error::truncated("TDX quote", q.signed_len, raw.len()))?;
    pki::verify_raw(&q.attestation_key, signed, &q.signature, "quote signature")
}

/// [`own_checks`], with the signatures of the PCK chain, the QE report and
/// the quote skipped when `sigs` says they were verified already.
fn own_checks_with(
    raw: &[u8],
    q: &Quote,
    root_der: &[u8],
    at: UnixTime,
    sigs: pki::Sigs,
) -> Result<Pck> {
    check_qe_vendor(q)?;
    let pem = q.pck_chain_pem().ok_or_else(|| {
        Error::Authenticity(Authenticity::MissingEndorsement {
            what: format!(
                "PCK certificate chain (quote carries certification data type {}; type 5 needed without a PCK chain in the collateral)",
                q.qe.pck_cert_type
            ),
        })
    })?;
    let certs = pki::parse_pem_chain(pem)?;
    pki::verify_chain_with(&certs, root_der, at, sigs)?;
    let leaf = certs
        .first()
        .ok_or_else(|| Error::encoding("PCK chain", "empty"))?;
    if sigs == pki::Sigs::Check {
        pki::verify_with_cert(
            leaf,
            &q.qe.qe_report_raw,
            &q.qe.qe_report_signature,
            "QE report signature",
        )?;
    }
    check_qe_report(q)?;
    if sigs == pki::Sigs::Check {
        check_quote_signature(raw, q)?;
    }
    let (fmspc, _) = leaf_identity(&certs)?;
    Ok(Pck { certs, fmspc })
}

/// Map a `dcap-qvl` status name. TD 1.5 "relaunch advised" statuses are
/// reported as the corresponding out-of-date status (fail closed).
pub(crate) fn status_from_dcap(s: &str) -> Result<TcbStatus> {
    match s {
        "TDRelaunchAdvised" => return Ok(TcbStatus::OutOfDate),
        "TDRelaunchAdvisedConfigurationNeeded" => {
            return Ok(TcbStatus::OutOfDateConfigurationNeeded);
        }
        _ => {}
    }
    TcbStatus::from_name(s).ok_or_else(|| {
        Error::Authenticity(Authenticity::Other {
            detail: format!("unknown TCB status `{s}` from the evaluator"),
        })
    })
}

pub(crate) enum Mapped {
    NoMatchingTcbLevel,
    Err(Error),
}

/// Map `dcap-qvl`'s `anyhow` errors (the full context chain, via `{:#}`) into typed errors.
pub(crate) fn map_dcap_error(e: &impl core::fmt::Display, at: UnixTime) -> Mapped {
    let t = at.as_secs();
    let msg = format!("{e:#}");
    let has = |s: &str| msg.contains(s);
    let auth = |a: Authenticity| Mapped::Err(Error::Authenticity(a));
    // Exactly dcap-qvl's step-8 messages (launch TCB, or the TD 1.5 current
    // TCB with its context), never a message that merely contains the
    // words (a serde error quoting attacker-chosen JSON could).
    if msg == "No matching TCB level found"
        || msg
            == "Failed to evaluate the current TDX TCB (TEE_TCB_SVN2): No matching TCB level found"
    {
        return Mapped::NoMatchingTcbLevel;
    }
    if has("TCB status is invalid: Revoked") {
        return auth(Authenticity::Revoked {
            what: "platform TCB (TCB status Revoked)".into(),
        });
    }
    if has("CertRevoked") {
        return auth(Authenticity::Revoked {
            what: format!("certificate ({msg})"),
        });
    }
    if has("CertExpired") || has("CrlExpired") || has("expired") {
        // Precise dates come from our own pre-checks; this is a fallback.
        return auth(Authenticity::Expired {
            what: msg,
            not_after: 0,
            at: t,
        });
    }
    if has("CertNotValidYet") || has("in the future") {
        return auth(Authenticity::NotYetValid {
            what: msg,
            not_before: 0,
            at: t,
        });
    }
    if has("Unsupported DCAP PCK cert format") {
        return auth(Authenticity::MissingEndorsement {
            what: "PCK certificate chain (the quote carries none; add it to the collateral)".into(),
        });
    }
    if has("Unknown QE vendor ID") {
        return auth(Authenticity::Mismatch {
            what: "QE vendor id",
            detail: "not Intel's QE".into(),
        });
    }
    if has("Fmspc mismatch") {
        return auth(Authenticity::Mismatch {
            what: "FMSPC",
            detail: "the TCB info is for another platform".into(),
        });
    }
    if has("non-TDX TCB info") {
        return auth(Authenticity::Mismatch {
            what: "TCB info type",
            detail: msg,
        });
    }
    if has("Signature is invalid for qe_report") {
        return auth(Authenticity::BadSignature {
            what: "QE report signature",
        });
    }
    if has("ISV enclave report signature is invalid") {
        return auth(Authenticity::BadSignature {
            what: "quote signature",
        });
    }
    if has("Signature is invalid for tcb_info") {
        return auth(Authenticity::BadSignature {
            what: "TCB info signature",
        });
    }
    if has("Signature is invalid for qe_identity") {
        return auth(Authenticity::BadSignature {
            what: "QE identity signature",
        });
    }
    if has("QE report hash mismatch") || has("Invalid QE auth data length") {
        return auth(Authenticity::Mismatch {
            what: "QE report binding",
            detail: "QE report data != SHA-256(attestation key || QE auth data)".into(),
        });
    }
    if has("UnknownIssuer") || has("certificate chain") || has("BadSignature") || has("root ca") {
        return auth(Authenticity::BadChain { detail: msg });
    }
    if has("Debug mode")
        || has("profiling")
        || has("migration")
        || has("SEPT_VE_DISABLE")
        || has("SERVTD")
        || has("Reserved bits in TD attributes")
        || has("MR service TD")
    {
        let mut a = Appraisal::default();
        a.check("tdx.dcap_attributes", false, msg);
        return Mapped::Err(Error::Policy(a));
    }
    if has("CRL") && (has("Signature") || has("UnknownIssuer") || has("Unsupported")) {
        return auth(Authenticity::BadChain {
            detail: format!("CRL not issued by the trusted root or PCK CA: {msg}"),
        });
    }
    if has("Failed to decode") || has("Failed to parse") {
        return Mapped::Err(Error::encoding("TDX quote or collateral", msg));
    }
    if has("QE") || has("MRSIGNER") || has("ISVPRODID") || has("isvprodid") || has("mrsigner") {
        return auth(Authenticity::Mismatch {
            what: "QE identity",
            detail: msg,
        });
    }
    auth(Authenticity::Other { detail: msg })
}

fn build_claims(
    q: &Quote,
    fmspc: Option<[u8; 6]>,
    outcome: TcbOutcome,
    at: UnixTime,
) -> Result<Claims> {
    let b = &q.body;
    let attrs = b.attributes();
    let fmspc = fmspc.map(|f| f.to_vec()).unwrap_or_default();
    let (tcb_status, advisory_ids, window, evaluated, revocation_checked) = match outcome {
        TcbOutcome::Evaluated {
            status,
            advisory_ids,
            window,
            revocation_checked,
        } => (status, advisory_ids, Some(window), true, revocation_checked),
        TcbOutcome::NotEvaluated => (TcbStatus::NotEvaluated, Vec::new(), None, false, false),
    };
    let h = |x: &[u8]| HexBytes(x.to_vec());
    let tdx = TdxClaims {
        version: q.header.version,
        tcb_status,
        advisory_ids: advisory_ids.clone(),
        fmspc: HexBytes(fmspc),
        mr_td: h(&b.mr_td),
        rtmr0: h(&b.rtmr[0]),
        rtmr1: h(&b.rtmr[1]),
        rtmr2: h(&b.rtmr[2]),
        rtmr3: h(&b.rtmr[3]),
        mr_config_id: h(&b.mr_config_id),
        mr_owner: h(&b.mr_owner),
        mr_owner_config: h(&b.mr_owner_config),
        mr_seam: h(&b.mr_seam),
        mr_signer_seam: h(&b.mr_signer_seam),
        report_data: h(&b.report_data),
        td_attributes: attrs,
        xfam: b.xfam,
        tee_tcb_svn: h(&b.tee_tcb_svn),
        tee_tcb_svn2: b.tee_tcb_svn2.map(|x| h(&x)),
        mr_servicetd: b.mr_servicetd.map(|x| h(&x)),
        collateral_window: window,
        tcb_evaluated: evaluated,
        revocation_checked,
    };
    let mut c = Claims::new(
        Platform::Tdx,
        format::TDX_QUOTE,
        TrustRoot::Hardware {
            vendor: "Intel".into(),
        },
        ReportData::new(b.report_data),
        // Any "TD under debug" bit (DEBUG and the HGS+/PERF/PMT profiling
        // bits of the TUD byte) makes the TD debug for appraisal, as Intel's
        // QVL policy treats them.
        b.td_attributes & 0xff != 0,
        at,
        PlatformClaims::Tdx(tdx),
    );
    c.launch_measurement = Claim::Value(h(&b.mr_td));
    c.host_data = Claim::Value(h(&b.mr_config_id));
    c.runtime_registers = Claim::Value(
        b.rtmr
            .iter()
            .enumerate()
            .map(|(i, r)| RegisterValue {
                index: i as u32,
                value: h(r),
            })
            .collect(),
    );
    let mut svns = std::collections::BTreeMap::new();
    for (i, v) in b.tee_tcb_svn.iter().enumerate() {
        svns.insert(format!("tee_tcb_svn[{i}]"), u64::from(*v));
    }
    c.tcb = Claim::Value(TcbSummary {
        status: tcb_status,
        svns,
        advisory_ids,
    });
    Ok(c)
}

impl Verifier for TdxVerifier {
    fn platform(&self) -> Platform {
        Platform::Tdx
    }

    fn verify(&self, evidence: &Evidence, at: UnixTime) -> Result<Verified<Claims>> {
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
        let collateral = self.collateral_for(evidence, &q)?;
        let mut claims = self.verify_parsed(raw, &q, collateral.as_deref(), at)?;
        // Event logs: the firmware CCEL (TCG2 binary) and/or application
        // events. With the firmware log every RTMR is compared; with only
        // an application log, the registers it extends plus RTMR3 (the
        // application register, which must then be fully explained by it).
        let mut log = tee_core::EventLog::default();
        let mut firmware = false;
        if let Some(bin) = evidence.endorsement(endorsement::TCG2_EVENT_LOG) {
            let parsed = crate::ccel::EventLog::parse(bin)?;
            log.events.extend(parsed.to_core_events());
            firmware = true;
        }
        if let Some(app) = &evidence.event_log {
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
        Ok(Verified::assert_verified_by_verifier(claims))
    }
}
