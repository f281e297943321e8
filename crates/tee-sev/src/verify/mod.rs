//! Verification of SEV-SNP reports against AMD's key hierarchy.
//!
//! Steps, each mapped to a typed error:
//! 1. parse the report (versions 2, 3, 5; 4 as 3) — [`Error::Malformed`];
//! 2. collect the VCEK/VLEK and optional ASK/ASVK/ARK from the evidence
//!    (`signing-cert-der`, `cert-chain-pem`, `ghcb-cert-table`);
//! 3. determine the product from the report's CPUID fields (v3+) or the
//!    certificate's `productName` (v2), and pick that product's pinned roots;
//! 4. a supplied ARK must be byte-identical to the pinned ARK
//!    ([`Authenticity::UntrustedRoot`](tee_core::Authenticity::UntrustedRoot)); a missing ASK/ASVK is taken from the
//!    pinned set;
//! 5. ARK → ASK/ASVK → VCEK/VLEK with RSASSA-PSS SHA-384, issuer names
//!    chained, each certificate valid at the explicit time; the pinned ARK
//!    and an intermediate byte-identical to the pinned one are trusted
//!    without a signature check. A chain verified before (same bytes, `at`
//!    inside its validity window) comes from the [`crate::cache`];
//! 6. the report's ECDSA P-384/SHA-384 signature over bytes `[0, 0x2A0)` of
//!    the received buffer, with `SIGNATURE_ALGO` = 1 and the zero-extension
//!    of R and S checked;
//! 7. the certificate's SPL extensions equal `REPORTED_TCB`, and (VCEK) its
//!    hwID equals `CHIP_ID` (Turin: the first 8 bytes, the rest zero);
//! 8. revocation: every AMD CRL in the evidence (`amd-kds-crl-der`, or a
//!    CRL entry of the certificate table) and every CRL configured with
//!    [`SnpVerifier::with_crl`] for this product's ARK must be issued and
//!    signed by the ARK and current (`thisUpdate <= at < nextUpdate`), and
//!    must not list the ASK/ASVK or the VCEK/VLEK
//!    ([`Authenticity::Revoked`](tee_core::Authenticity::Revoked)). The
//!    claims say whether a CRL was checked (`revocation_checked`); without
//!    one, appraisal fails unless the policy sets
//!    `[sev-snp] allow_unchecked_revocation`.

mod chain;
mod checks;
mod claims;
pub(crate) mod endorsements;

use std::sync::{Arc, OnceLock};

use tee_core::evidence::format;
use tee_core::{Claims, Error, Evidence, Platform, Result, UnixTime, Verified, Verifier};

use crate::cache::{self, CacheStats, ChainCache, DEFAULT_CAPACITY};
use crate::certs::Cert;
use crate::crl::{self, AmdCrl, CrlSource};
use crate::crypto::{CryptoProvider, RUST_CRYPTO};
use crate::report::{Product, SnpReport};
use crate::roots::PINNED;

pub use chain::ProductRoots;
pub use claims::snp_claims;
pub use endorsements::{Endorsements, decode_report_file, evidence_from_parts, to_pem};

use checks::{finish, preamble};

/// Verifier for AMD SEV-SNP evidence, with AMD's roots for Milan, Genoa and
/// Turin pinned ([`SnpVerifier::new`]).
///
/// # Verified-chain cache
///
/// [`SnpVerifier::new`] comes with a bounded cache of verified certificate
/// chains ([`DEFAULT_CAPACITY`] entries, least recently used evicted),
/// keyed by a SHA-256 digest of the exact DER of ARK, ASK/ASVK and
/// VCEK/VLEK, and used only when the verification time lies inside all
/// three certificates' validity periods. A hit skips the RSA chain
/// signatures and key/extension decoding; the report signature, the
/// extension-vs-report checks and every other per-report check always run,
/// and only verified chains are stored, so the cache never changes a verdict.
/// Size it with [`SnpVerifier::with_cache`], turn it off with
/// [`SnpVerifier::without_cache`]. Clones share the cache; it is
/// thread-safe (the verifier is `Send + Sync`).
///
/// # Crypto provider
///
/// Pure Rust ([`crate::crypto::RUST_CRYPTO`]) unless another provider value
/// is passed to [`SnpVerifier::with_crypto`] (e.g. `crypto::AWS_LC` with the
/// `aws-lc` feature).
///
/// [`DEFAULT_CAPACITY`]: crate::cache::DEFAULT_CAPACITY
#[derive(Debug, Clone)]
pub struct SnpVerifier {
    roots: Arc<[ProductRoots]>,
    test_roots: bool,
    crypto: &'static dyn CryptoProvider,
    cache: Arc<ChainCache>,
    crls: Arc<[AmdCrl]>,
}

impl Default for SnpVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl SnpVerifier {
    /// A verifier with AMD's pinned roots (Milan, Genoa, Turin; ARK, ASK,
    /// ASVK), the pure-Rust crypto provider and a verified-chain cache of
    /// [`crate::cache::DEFAULT_CAPACITY`] entries.
    pub fn new() -> Self {
        static PINNED_ROOTS: OnceLock<Arc<[ProductRoots]>> = OnceLock::new();
        let roots = PINNED_ROOTS.get_or_init(|| {
            PINNED
                .iter()
                .filter_map(|p| {
                    ProductRoots::from_certs(
                        p.product,
                        p.ark.as_bytes(),
                        Some(p.ask.as_bytes()),
                        Some(p.asvk.as_bytes()),
                    )
                    .ok()
                    .map(|mut r| {
                        // AMD's certificates, pinned in this crate (the
                        // chains are checked by tests).
                        r.inter_trusted = [true; 2];
                        r
                    })
                })
                .collect()
        });
        Self {
            roots: Arc::clone(roots),
            test_roots: false,
            crypto: &RUST_CRYPTO,
            cache: Arc::new(ChainCache::new(DEFAULT_CAPACITY)),
            crls: Arc::from(Vec::new()),
        }
    }

    /// This verifier with a fresh verified-chain cache of `capacity` entries
    /// (0 disables caching). The name every backend's verifier shares.
    #[must_use]
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(ChainCache::new(capacity));
        self
    }

    /// Same as [`SnpVerifier::with_cache_capacity`].
    #[must_use]
    pub fn with_cache(self, capacity: usize) -> Self {
        self.with_cache_capacity(capacity)
    }

    /// This verifier without a verified-chain cache: every verification
    /// checks the whole chain.
    #[must_use]
    pub fn without_cache(self) -> Self {
        self.with_cache_capacity(0)
    }

    /// This verifier using `crypto` for every signature (and a fresh cache of
    /// the same capacity, so no key prepared by another provider is reused).
    #[must_use]
    pub fn with_crypto(mut self, crypto: &'static dyn CryptoProvider) -> Self {
        let capacity = self.cache.stats().capacity;
        self.crypto = crypto;
        self.cache = Arc::new(ChainCache::new(capacity));
        self
    }

    /// This verifier also checking every report whose chain ends at the ARK
    /// that issued `der` (a DER AMD KDS CRL, e.g. from
    /// `kds::KdsFetcher::crl` or a file) against it. The CRL is verified at
    /// each verification (signature by the pinned ARK, `thisUpdate <= at <
    /// nextUpdate`); CRLs of other products' ARKs are ignored for a report.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `der` is not a CRL.
    pub fn with_crl(mut self, der: &[u8]) -> Result<Self> {
        let mut all: Vec<AmdCrl> = self.crls.iter().cloned().collect();
        all.push(AmdCrl::from_der(der)?);
        self.crls = Arc::from(all);
        Ok(self)
    }

    /// Check revocation for a verified chain: the evidence's CRLs and the
    /// verifier's. Returns `revocation_checked`.
    fn revocation(
        &self,
        entry: &cache::Entry,
        evidence_crls: &[AmdCrl],
        at: UnixTime,
    ) -> Result<bool> {
        let ark = &self.roots_for(entry.product)?.ark;
        crl::check(
            evidence_crls
                .iter()
                .map(|c| (CrlSource::Evidence, c))
                .chain(self.crls.iter().map(|c| (CrlSource::Verifier, c))),
            ark,
            &entry.serials,
            at,
            self.crypto,
        )
    }

    /// The crypto provider in use.
    pub fn crypto(&self) -> &'static dyn CryptoProvider {
        self.crypto
    }

    /// Counters of the verified-chain cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Empty the verified-chain cache (e.g. after learning of a revocation).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// The products this verifier has roots for.
    pub fn products(&self) -> Vec<Product> {
        self.roots.iter().map(|r| r.product).collect()
    }

    /// Whether this verifier trusts test roots (see [`crate::danger`]).
    pub fn uses_test_roots(&self) -> bool {
        self.test_roots
    }

    pub(crate) fn with_roots(roots: Vec<ProductRoots>) -> Self {
        Self {
            roots: roots
                .into_iter()
                .map(|mut r| {
                    // Test intermediates are trusted as pinned only if the
                    // test ARK signed them.
                    let ok = |c: &Option<Cert>| {
                        c.as_ref()
                            .is_some_and(|c| c.verify_signed_by(&r.ark, "test root").is_ok())
                    };
                    r.inter_trusted = [ok(&r.ask), ok(&r.asvk)];
                    r
                })
                .collect(),
            test_roots: true,
            crypto: &RUST_CRYPTO,
            cache: Arc::new(ChainCache::new(DEFAULT_CAPACITY)),
            crls: Arc::from(Vec::new()),
        }
    }

    /// Verify a raw report with separately supplied endorsements at `at`.
    ///
    /// # Errors
    /// See [`Verifier::verify`].
    pub fn verify_report(
        &self,
        raw: &[u8],
        endorsements: &Endorsements,
        at: UnixTime,
    ) -> Result<Verified<Claims>> {
        /// This verifier, over the raw report and endorsements it was given
        /// (the evidence argument is the same report in an envelope).
        #[derive(Debug)]
        struct Parts<'a> {
            verifier: &'a SnpVerifier,
            endorsements: &'a Endorsements,
        }
        impl Verifier for Parts<'_> {
            fn platform(&self) -> Platform {
                Platform::SevSnp
            }
            fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims> {
                let r = SnpReport::parse(&evidence.report)?;
                let key = preamble(&r)?;
                let (entry, _) = self.verifier.chain_entry(&r, key, self.endorsements, at)?;
                let checked = self
                    .verifier
                    .revocation(&entry, &self.endorsements.crls, at)?;
                finish(&r, key, &entry, checked, at)
            }
        }
        let parts = Parts {
            verifier: self,
            endorsements,
        };
        parts.verify(
            &Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, raw.to_vec()),
            at,
        )
    }
}

impl Verifier for SnpVerifier {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims> {
        if evidence.platform != Platform::SevSnp || evidence.format != format::SEV_SNP_REPORT {
            return Err(Error::Misuse(
                format!(
                    "SnpVerifier got {} evidence in format {:?}",
                    evidence.platform, evidence.format
                )
                .into(),
            ));
        }
        let r = SnpReport::parse(&evidence.report)?;
        let key = preamble(&r)?;
        // Fast path: these exact endorsement bytes, presented with a report
        // of this key kind and product, selected a chain verified before.
        // Nothing is parsed; the entry is still used only inside its window.
        let presented = self.cache.enabled().then(|| {
            cache::presentation_key(
                key,
                r.cpuid.and(r.product()),
                evidence
                    .endorsements
                    .iter()
                    .map(|e| (e.kind.as_str(), e.data.as_slice())),
            )
        });
        if let Some(pk) = &presented
            && let Some(entry) = self.cache.get_presented(pk, at.as_secs())
        {
            let checked = self.revocation(&entry, &endorsements::crls_of(evidence)?, at)?;
            return finish(&r, key, &entry, checked, at);
        }
        let e = Endorsements::from_evidence(evidence)?;
        let (entry, chain_key) = self.chain_entry(&r, key, &e, at)?;
        let checked = self.revocation(&entry, &e.crls, at)?;
        if let Some(pk) = presented {
            self.cache.index(pk, chain_key);
        }
        finish(&r, key, &entry, checked, at)
    }
}

#[cfg(test)]
mod tests {
    use p384::ecdsa::Signature;
    use tee_core::Authenticity;

    use super::*;
    use crate::certs::decode_certs;

    #[test]
    fn pinned_roots_load_and_self_verify() {
        let v = SnpVerifier::new();
        assert_eq!(
            v.products(),
            vec![Product::Milan, Product::Genoa, Product::Turin]
        );
        assert!(!v.uses_test_roots());
        for r in v.roots.iter() {
            r.ark.verify_signed_by(&r.ark, "ARK").unwrap();
            let ask = r.ask.as_ref().unwrap();
            let asvk = r.asvk.as_ref().unwrap();
            ask.verify_signed_by(&r.ark, "ASK").unwrap();
            asvk.verify_signed_by(&r.ark, "ASVK").unwrap();
            assert_eq!(
                r.ark.common_name().unwrap(),
                format!("ARK-{}", r.product.kds_name())
            );
            assert_eq!(
                ask.common_name().unwrap(),
                format!("SEV-{}", r.product.kds_name())
            );
            assert_eq!(
                asvk.common_name().unwrap(),
                format!("SEV-VLEK-{}", r.product.kds_name())
            );
        }
        // A root does not sign another product's intermediate.
        let milan = &v.roots[0];
        let genoa = &v.roots[1];
        assert!(matches!(
            genoa
                .ask
                .as_ref()
                .unwrap()
                .verify_signed_by(&milan.ark, "x"),
            Err(Error::Authenticity(Authenticity::BadChain { .. }))
        ));
    }

    fn providers() -> Vec<&'static dyn CryptoProvider> {
        #[allow(unused_mut)]
        let mut v: Vec<&'static dyn CryptoProvider> = vec![&RUST_CRYPTO];
        #[cfg(feature = "aws-lc")]
        v.push(&crate::crypto::AWS_LC);
        v
    }

    #[test]
    fn every_provider_checks_the_pinned_chains_and_p384() {
        use p384::ecdsa::signature::Signer;
        let v = SnpVerifier::new();
        for c in providers() {
            for r in v.roots.iter() {
                let ask = r.ask.as_ref().unwrap();
                let asvk = r.asvk.as_ref().unwrap();
                r.ark.verify_signed_by_with(&r.ark, "ARK", c).unwrap();
                ask.verify_signed_by_with(&r.ark, "ASK", c).unwrap();
                asvk.verify_signed_by_with(&r.ark, "ASVK", c).unwrap();
                // The ASK's key did not sign the ASVK.
                let key = c.rsa_public_key(ask.rsa_pkcs1_bytes().unwrap()).unwrap();
                assert!(matches!(
                    asvk.verify_signature_with_key(key.as_ref(), "x"),
                    Err(Error::Authenticity(Authenticity::BadChain { .. }))
                ));
            }
            let sk = p384::ecdsa::SigningKey::from_slice(&[9u8; 48]).unwrap();
            let msg = [0x42u8; 0x2A0];
            let sig: Signature = sk.sign(&msg);
            let (rb, sb) = sig.split_bytes();
            let rb: [u8; 48] = rb.as_slice().try_into().unwrap();
            let sb: [u8; 48] = sb.as_slice().try_into().unwrap();
            let point = sk.verifying_key().to_sec1_point(false);
            let key = c.p384_public_key(point.as_bytes()).unwrap();
            assert!(key.verify_sha384(&msg, &rb, &sb), "{}", c.name());
            assert!(!key.verify_sha384(&msg[1..], &rb, &sb));
            assert!(!key.verify_sha384(&msg, &sb, &rb));
            assert!(!key.verify_sha384(&msg, &[0; 48], &sb));
            assert!(c.p384_public_key(&point.as_bytes()[..50]).is_err());
        }
    }

    #[test]
    fn pem_round_trip() {
        let v = SnpVerifier::new();
        let der = v.roots[0].ark.der();
        let pem = to_pem(der);
        assert_eq!(decode_certs(pem.as_bytes()).unwrap()[0].der(), der);
        assert_eq!(pem, PINNED[0].ark.replace("\r\n", "\n"));
    }
}
