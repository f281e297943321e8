//! Verification of SEV-SNP reports against AMD's key hierarchy.
//!
//! Steps, each mapped to a typed error:
//! 1. parse the report (versions 2, 3, 5; 4 as 3) — [`Error::Malformed`];
//! 2. collect the VCEK/VLEK and optional ASK/ASVK/ARK from the evidence
//!    (`signing-cert-der`, `cert-chain-pem`, `ghcb-cert-table`);
//! 3. determine the product from the report's CPUID fields (v3+) or the
//!    certificate's `productName` (v2), and pick that product's pinned roots;
//! 4. a supplied ARK must be byte-identical to the pinned ARK
//!    ([`Authenticity::UntrustedRoot`]); a missing ASK/ASVK is taken from the
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
//!    hwID equals `CHIP_ID` (Turin: the first 8 bytes, the rest zero).

use std::collections::BTreeMap;

use std::sync::{Arc, OnceLock};

use tee_core::evidence::{endorsement, format};
use tee_core::platforms::{SnpClaims, SnpSigningKey};
use tee_core::{
    Authenticity, Claim, Claims, Error, Evidence, HexBytes, Operation, Platform, PlatformClaims,
    ReportData, Result, TcbStatus, TcbSummary, TrustRoot, UnixTime, Verified, Verifier,
};

use crate::cache::{self, CacheStats, ChainCache, ChainKey, DEFAULT_CAPACITY, Entry};
use crate::cert_table::{self, CertKind};
use crate::certs::{AmdExtensions, Cert, decode_certs};
use crate::crypto::{CryptoProvider, P384PublicKey, RUST_CRYPTO};
use crate::report::{Product, REPORT_LEN, SIG_ALGO_ECDSA_P384_SHA384, SnpReport};
use crate::roots::PINNED;

/// The trusted certificates of one product.
#[derive(Debug, Clone)]
pub struct ProductRoots {
    /// The product.
    pub product: Product,
    ark: Cert,
    ask: Option<Cert>,
    asvk: Option<Cert>,
    /// Whether `ask` / `asvk` were checked against `ark` (or are AMD's
    /// pinned certificates): only then is a byte-identical presented
    /// intermediate trusted without re-verifying its signature.
    inter_trusted: [bool; 2],
}

impl ProductRoots {
    /// Roots from DER or PEM certificates.
    ///
    /// # Errors
    /// [`Error::Malformed`] if a certificate does not decode.
    pub fn from_certs(
        product: Product,
        ark: &[u8],
        ask: Option<&[u8]>,
        asvk: Option<&[u8]>,
    ) -> Result<Self> {
        let one = |b: &[u8]| -> Result<Cert> {
            decode_certs(b)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::encoding("certificate", "empty"))
        };
        Ok(Self {
            product,
            ark: one(ark)?,
            ask: ask.map(one).transpose()?,
            asvk: asvk.map(one).transpose()?,
            inter_trusted: [false; 2],
        })
    }

    /// The ARK DER.
    pub fn ark_der(&self) -> &[u8] {
        self.ark.der()
    }
}

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
}

impl Default for SnpVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// The endorsements for one report, gathered from wherever they came from.
#[derive(Debug, Clone, Default)]
pub struct Endorsements {
    /// Candidate VCEKs/VLEKs in the order found; verification uses the
    /// first whose kind matches the report's `KEY_INFO` (a host may supply both).
    pub signing_certs: Vec<Cert>,
    /// Other certificates (ASK, ASVK, ARK), any order.
    pub chain: Vec<Cert>,
}

impl Endorsements {
    /// Collect endorsements from an evidence envelope.
    ///
    /// # Errors
    /// [`Error::Malformed`] when an endorsement does not decode.
    pub fn from_evidence(ev: &Evidence) -> Result<Self> {
        let mut out = Self::default();
        for e in &ev.endorsements {
            match e.kind.as_str() {
                endorsement::SIGNING_CERT_DER => {
                    out.signing_certs.push(Cert::from_der(&e.data)?);
                }
                endorsement::CERT_CHAIN_PEM => {
                    for c in decode_certs(&e.data)? {
                        if c.is_ec() {
                            out.signing_certs.push(c);
                        } else {
                            out.chain.push(c);
                        }
                    }
                }
                endorsement::GHCB_CERT_TABLE => {
                    for entry in cert_table::parse(&e.data)? {
                        match entry.kind {
                            CertKind::Vcek | CertKind::Vlek => {
                                out.signing_certs.push(Cert::from_der(entry.data)?);
                            }
                            CertKind::Ask | CertKind::Ark => {
                                out.chain.push(Cert::from_der(entry.data)?)
                            }
                            CertKind::Crl | CertKind::Other(_) => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Decode a report file: raw 1184 bytes, or hex text (whitespace ignored).
///
/// # Errors
/// [`Error::Malformed`] for anything else.
pub fn decode_report_file(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() == REPORT_LEN {
        return Ok(bytes.to_vec());
    }
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if text.len() == 2 * REPORT_LEN && text.iter().all(u8::is_ascii_hexdigit) {
        return hex::decode(&text).map_err(|e| Error::encoding("SNP report (hex)", e));
    }
    Err(Error::malformed(
        "SNP report",
        tee_core::MalformedKind::BadLength {
            expected: REPORT_LEN,
            actual: bytes.len(),
        },
    ))
}

/// Build an evidence envelope from a raw report and separately supplied
/// certificates (each DER or PEM, detected): the VCEK/VLEK and any of
/// ASK/ASVK/ARK. What is missing is taken from the pinned roots when verifying.
///
/// # Errors
/// [`Error::Malformed`] for a report or certificate that does not decode.
pub fn evidence_from_parts(
    report: &[u8],
    signing_cert: Option<&[u8]>,
    chain: &[&[u8]],
) -> Result<Evidence> {
    let raw = decode_report_file(report)?;
    let mut ev = Evidence::new(Platform::SevSnp, format::SEV_SNP_REPORT, raw);
    if let Some(c) = signing_cert {
        let certs = decode_certs(c)?;
        let leaf = certs
            .first()
            .ok_or_else(|| Error::encoding("certificate", "empty"))?;
        ev = ev.with_endorsement(endorsement::SIGNING_CERT_DER, leaf.der().to_vec());
    }
    let mut pem = String::new();
    for c in chain {
        for cert in decode_certs(c)? {
            pem.push_str(&to_pem(cert.der()));
        }
    }
    if !pem.is_empty() {
        ev = ev.with_endorsement(endorsement::CERT_CHAIN_PEM, pem.into_bytes());
    }
    Ok(ev)
}

/// PEM-encode one DER certificate.
pub fn to_pem(der: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let mut buf = [0u8; 3];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    let bytes = b64.as_bytes();
    for line in bytes.chunks(64) {
        out.push_str(core::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
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
        }
    }

    /// This verifier with a fresh verified-chain cache of `capacity` entries
    /// (0 disables caching).
    #[must_use]
    pub fn with_cache(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(ChainCache::new(capacity));
        self
    }

    /// This verifier without a verified-chain cache: every verification
    /// checks the whole chain.
    #[must_use]
    pub fn without_cache(self) -> Self {
        self.with_cache(0)
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
        }
    }

    fn roots_for(&self, product: Product) -> Result<&ProductRoots> {
        self.roots
            .iter()
            .find(|r| r.product == product)
            .ok_or_else(|| {
                Authenticity::UntrustedRoot {
                    detail: format!("no trusted AMD root for {product}"),
                }
                .into()
            })
    }

    /// Verify the chain ARK → `inter` → `leaf` at `at` (cold path) and
    /// derive what the report checks need.
    ///
    /// The ARK is the pinned one (a supplied ARK was compared byte for byte)
    /// and needs no signature check; likewise an intermediate byte-identical
    /// to the pinned ASK/ASVK. Validity periods are checked for all three.
    #[allow(clippy::too_many_arguments)]
    fn verify_chain(
        &self,
        roots: &ProductRoots,
        inter: &Cert,
        inter_name: &str,
        leaf: &Cert,
        key_name: &str,
        exts: AmdExtensions,
        at: UnixTime,
    ) -> Result<Entry> {
        let ark = &roots.ark;
        let inter_pinned = [&roots.ask, &roots.asvk]
            .into_iter()
            .zip(roots.inter_trusted)
            .any(|(p, trusted)| trusted && p.as_ref().is_some_and(|p| p.der() == inter.der()));
        let inter_what = format!("ARK -> {inter_name}");
        let leaf_what = format!("{inter_name} -> {key_name}");
        if !inter_pinned {
            inter.verify_signed_by_with(ark, &inter_what, self.crypto)?;
        }
        leaf.verify_signed_by_with(inter, &leaf_what, self.crypto)?;
        ark.check_validity("ARK", at)?;
        inter.check_validity(inter_name, at)?;
        leaf.check_validity(key_name, at)?;
        let key = self.crypto.p384_public_key(leaf.p384_point_bytes()?)?;
        let windows = [
            ark.validity_secs(),
            inter.validity_secs(),
            leaf.validity_secs(),
        ];
        let not_before = windows.iter().map(|w| w.0).max().unwrap_or(u64::MAX);
        let not_after = windows.iter().map(|w| w.1).min().unwrap_or(0);
        Ok(Entry::new(roots.product, not_before, not_after, key, exts))
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
        let r = SnpReport::parse(raw)?;
        let key = preamble(&r)?;
        let (entry, _) = self.chain_entry(&r, key, endorsements, at)?;
        finish(&r, key, &entry, at)
    }

    /// The verified chain for this report and these endorsements: from the
    /// cache (same chain bytes, `at` inside its window) or verified now.
    fn chain_entry(
        &self,
        r: &SnpReport<'_>,
        key: SnpSigningKey,
        endorsements: &Endorsements,
        at: UnixTime,
    ) -> Result<(Arc<Entry>, ChainKey)> {
        let key_name = match key {
            SnpSigningKey::Vcek => "VCEK",
            SnpSigningKey::Vlek => "VLEK",
        };
        let expected_cn = format!("SEV-{key_name}");
        let leaf = endorsements
            .signing_certs
            .iter()
            .find(|c| c.common_name().as_deref() == Some(expected_cn.as_str()))
            .or_else(|| endorsements.signing_certs.first())
            .ok_or_else(|| {
                Error::from(Authenticity::MissingEndorsement {
                    what: key_name.into(),
                })
            })?;
        let cn = leaf.common_name().unwrap_or_default();
        if cn != expected_cn {
            return Err(Authenticity::Mismatch {
                what: "signing key",
                detail: format!("report KEY_INFO names the {key_name}, certificate is {cn:?}"),
            }
            .into());
        }

        // Product: from the report's CPUID fields (v3+) when known, else from
        // the certificate's productName; when both exist they must agree
        // (checked below, on every call).
        let report_product = r.cpuid.and(r.product());
        let mut parsed_exts = None;
        let product = match (r.cpuid, report_product) {
            (Some(_), Some(p)) => p,
            (cpuid, _) => {
                let exts = leaf.amd_extensions()?;
                let c = exts
                    .product_name
                    .as_deref()
                    .and_then(Product::from_product_name);
                parsed_exts = Some(exts);
                match (cpuid, c) {
                    // An unknown CPU or a v2 report: trust the certificate's
                    // product, whose ARK the chain must reach.
                    (_, Some(c)) => c,
                    (Some([f, m, s]), None) => {
                        return Err(Error::unsupported(
                            Platform::SevSnp,
                            Operation::Verification,
                            format!("unknown CPU family {f:#x} model {m:#x} stepping {s}"),
                        ));
                    }
                    (None, None) => {
                        return Err(Error::unsupported(
                            Platform::SevSnp,
                            Operation::Verification,
                            "cannot tell the product of a version 2 report: the certificate has no known productName",
                        ));
                    }
                }
            }
        };
        let roots = self.roots_for(product)?;

        // The ARK: pinned; a supplied one must be identical.
        for c in endorsements.chain.iter().filter(|c| c.is_self_issued()) {
            if c.der() != roots.ark.der() {
                return Err(Authenticity::UntrustedRoot {
                    detail: format!(
                        "supplied ARK {:?} is not the pinned {product} ARK",
                        c.common_name().unwrap_or_default()
                    ),
                }
                .into());
            }
        }
        let ark = &roots.ark;
        // The intermediate: supplied (preferring one whose subject is the
        // leaf's issuer), else pinned.
        let supplied: Vec<&Cert> = endorsements
            .chain
            .iter()
            .filter(|c| !c.is_self_issued())
            .collect();
        let leaf_issuer = leaf.x509().tbs_certificate().issuer();
        let pinned_inter = match key {
            SnpSigningKey::Vcek => roots.ask.as_ref(),
            SnpSigningKey::Vlek => roots.asvk.as_ref(),
        };
        let inter_name = if key == SnpSigningKey::Vcek {
            "ASK"
        } else {
            "ASVK"
        };
        let inter = match supplied
            .iter()
            .find(|c| c.x509().tbs_certificate().subject() == leaf_issuer)
            .or_else(|| supplied.first())
        {
            Some(c) => *c,
            None => pinned_inter.ok_or_else(|| {
                Error::from(Authenticity::MissingEndorsement {
                    what: format!("{inter_name} for {product}"),
                })
            })?,
        };

        // The chain: from the cache when this exact chain was verified before
        // and `at` lies inside its window, else verified now (and cached).
        let chain_key = cache::chain_key(ark.der(), inter.der(), leaf.der());
        let entry = match self.cache.get(&chain_key, at.as_secs()) {
            Some(entry) => entry,
            None => {
                let exts = match parsed_exts {
                    Some(e) => e,
                    None => leaf.amd_extensions()?,
                };
                check_product(report_product, &exts)?;
                let entry = Arc::new(
                    self.verify_chain(roots, inter, inter_name, leaf, key_name, exts, at)?,
                );
                self.cache.insert(chain_key, Arc::clone(&entry));
                entry
            }
        };
        Ok((entry, chain_key))
    }
}

/// Checks of the report itself before any key is looked at; the signing key kind.
fn preamble(r: &SnpReport<'_>) -> Result<SnpSigningKey> {
    if r.sig_algo != SIG_ALGO_ECDSA_P384_SHA384 {
        return Err(Error::bad_field(
            "SNP report",
            "signature_algo",
            format!("unsupported algorithm {}", r.sig_algo),
        ));
    }
    let key = r.signing_key()?;
    if r.mask_chip_key() {
        return Err(Authenticity::Other {
            detail: "report is unsigned (KEY_INFO.MASK_CHIP_KEY is set)".into(),
        }
        .into());
    }
    Ok(key)
}

/// Per-report checks against a verified chain (always run, cached or not):
/// product agreement, the report signature over the exact received bytes,
/// the VCEK/VLEK extensions against the report; then the claims.
fn finish(
    r: &SnpReport<'_>,
    key: SnpSigningKey,
    entry: &Entry,
    at: UnixTime,
) -> Result<Verified<Claims>> {
    let key_name = match key {
        SnpSigningKey::Vcek => "VCEK",
        SnpSigningKey::Vlek => "VLEK",
    };
    let product = entry.product;
    let exts = &entry.exts;
    check_product(r.cpuid.and(r.product()), exts)?;
    verify_report_signature(r, entry.key.as_ref())?;

    // Certificate extensions vs. the report.
    let tcb = r.reported_tcb.decode(product);
    let mut spls = vec![
        ("blSPL", exts.bl_spl, tcb.bootloader),
        ("teeSPL", exts.tee_spl, tcb.tee),
        ("snpSPL", exts.snp_spl, tcb.snp),
        ("ucodeSPL", exts.ucode_spl, tcb.microcode),
    ];
    if let Some(fmc) = tcb.fmc {
        spls.push(("fmcSPL", exts.fmc_spl, fmc));
    }
    for (name, cert, rep) in spls {
        match cert {
            None => {
                return Err(Authenticity::Mismatch {
                    what: "reported TCB",
                    detail: format!("{key_name} has no {name} extension"),
                }
                .into());
            }
            Some(c) if c != rep => {
                return Err(Authenticity::Mismatch {
                    what: "reported TCB",
                    detail: format!("{key_name} {name} {c}, report {rep}"),
                }
                .into());
            }
            Some(_) => {}
        }
    }
    if key == SnpSigningKey::Vcek && !r.chip_id_masked() {
        let hw = exts.hw_id.as_deref().ok_or_else(|| {
            Error::from(Authenticity::Mismatch {
                what: "chip id",
                detail: "VCEK has no hwID extension".into(),
            })
        })?;
        let ok = if product == Product::Turin {
            let (head, tail) = r.chip_id.split_at(8);
            hw == head && tail.iter().all(|&b| b == 0)
        } else {
            hw == r.chip_id.as_slice()
        };
        if !ok {
            return Err(Authenticity::Mismatch {
                what: "chip id",
                detail: format!(
                    "VCEK hwID {} does not match report CHIP_ID",
                    hex::encode(hw)
                ),
            }
            .into());
        }
    }

    Ok(Verified::assert_verified_by_verifier(claims(
        r, product, key, at,
    )))
}

/// The report's product (from CPUID, v3+) and the certificate's
/// `productName` must agree when both are known.
fn check_product(report_product: Option<Product>, exts: &AmdExtensions) -> Result<()> {
    let cert_product = exts
        .product_name
        .as_deref()
        .and_then(Product::from_product_name);
    match (report_product, cert_product) {
        (Some(p), Some(c)) if p != c => Err(Authenticity::Mismatch {
            what: "product",
            detail: format!("report CPUID says {p}, certificate says {c}"),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Verify the report signature over the exact received bytes `[0, 0x2A0)`
/// with the leaf's prepared P-384 key.
fn verify_report_signature(r: &SnpReport<'_>, key: &dyn P384PublicKey) -> Result<()> {
    let bad = || Error::bad_signature("SNP report signature");
    // R and S are 72-byte little-endian fields holding 48-byte values.
    let (r_lo, r_hi) = r.sig_r.split_at(48);
    let (s_lo, s_hi) = r.sig_s.split_at(48);
    if r_hi.iter().chain(s_hi).any(|&b| b != 0) {
        return Err(bad());
    }
    let mut rb = [0u8; 48];
    let mut sb = [0u8; 48];
    rb.copy_from_slice(r_lo);
    sb.copy_from_slice(s_lo);
    rb.reverse();
    sb.reverse();
    if key.verify_sha384(r.signed_bytes(), &rb, &sb) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Raw claims of a parsed report for a known product.
pub fn snp_claims(r: &SnpReport<'_>, product: Product, key: SnpSigningKey) -> SnpClaims {
    SnpClaims {
        version: r.version,
        product: product.name().into(),
        signing_key: key,
        guest_svn: r.guest_svn,
        policy: r.guest_policy(),
        family_id: r.family_id.as_slice().into(),
        image_id: r.image_id.as_slice().into(),
        vmpl: r.vmpl,
        measurement: r.measurement.as_slice().into(),
        report_data: r.report_data.as_slice().into(),
        host_data: r.host_data.as_slice().into(),
        id_key_digest: r.id_key_digest.as_slice().into(),
        author_key_digest: r.author_key_digest.as_slice().into(),
        report_id: r.report_id.as_slice().into(),
        report_id_ma: r.report_id_ma.as_slice().into(),
        chip_id: r.chip_id.as_slice().into(),
        current_tcb: r.current_tcb.decode(product),
        reported_tcb: r.reported_tcb.decode(product),
        committed_tcb: r.committed_tcb.decode(product),
        launch_tcb: r.launch_tcb.decode(product),
        platform_info: r.platform_info_decoded(),
        current_version: r.current_version.to_string(),
        committed_version: r.committed_version.to_string(),
        cpuid: r.cpuid,
        launch_mit_vector: r.launch_mit_vector,
        current_mit_vector: r.current_mit_vector,
    }
}

fn claims(r: &SnpReport<'_>, product: Product, key: SnpSigningKey, at: UnixTime) -> Claims {
    let s = snp_claims(r, product, key);
    let mut svns = BTreeMap::new();
    let t = &s.reported_tcb;
    svns.insert("bootloader".into(), u64::from(t.bootloader));
    svns.insert("tee".into(), u64::from(t.tee));
    svns.insert("snp".into(), u64::from(t.snp));
    svns.insert("microcode".into(), u64::from(t.microcode));
    if let Some(f) = t.fmc {
        svns.insert("fmc".into(), u64::from(f));
    }
    let debug = s.policy.debug;
    let mut c = Claims::new(
        Platform::SevSnp,
        format::SEV_SNP_REPORT,
        TrustRoot::Hardware {
            vendor: "AMD".into(),
        },
        ReportData::new(*r.report_data),
        debug,
        at,
        PlatformClaims::SevSnp(s),
    );
    c.launch_measurement = Claim::Value(HexBytes::from(r.measurement.as_slice()));
    c.host_data = Claim::Value(HexBytes::from(r.host_data.as_slice()));
    c.tcb = Claim::Value(TcbSummary {
        status: TcbStatus::VersionsOnly,
        svns,
        advisory_ids: Vec::new(),
    });
    c.runtime_registers =
        Claim::NotApplicable("SEV-SNP has no runtime measurement registers".into());
    c
}

impl Verifier for SnpVerifier {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    fn verify(&self, evidence: &Evidence, at: UnixTime) -> Result<Verified<Claims>> {
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
            return finish(&r, key, &entry, at);
        }
        let e = Endorsements::from_evidence(evidence)?;
        let (entry, chain_key) = self.chain_entry(&r, key, &e, at)?;
        if let Some(pk) = presented {
            self.cache.index(pk, chain_key);
        }
        finish(&r, key, &entry, at)
    }
}

#[cfg(test)]
mod tests {
    use p384::ecdsa::Signature;

    use super::*;

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
