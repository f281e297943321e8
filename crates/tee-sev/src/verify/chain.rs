//! The certificate chain: trusted roots per product, chain selection
//! (leaf, intermediate, product) and cold-path verification, backed by the
//! verified-chain cache.

use std::sync::Arc;

use tee_core::cache::ValidityWindow;
use tee_core::platforms::SnpSigningKey;
use tee_core::{Authenticity, Error, Operation, Platform, Result, UnixTime};

use super::{Endorsements, SnpVerifier};
use crate::cache::{self, ChainKey, Entry, Serials};
use crate::certs::{AmdExtensions, Cert, decode_certs};
use crate::report::{Product, SnpReport};

use super::checks::check_product;

/// The trusted certificates of one product.
#[derive(Debug, Clone)]
pub struct ProductRoots {
    /// The product.
    pub product: Product,
    pub(super) ark: Cert,
    pub(super) ask: Option<Cert>,
    pub(super) asvk: Option<Cert>,
    /// Whether `ask` / `asvk` were checked against `ark` (or are AMD's
    /// pinned certificates): only then is a byte-identical presented
    /// intermediate trusted without re-verifying its signature.
    pub(super) inter_trusted: [bool; 2],
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

impl SnpVerifier {
    pub(super) fn roots_for(&self, product: Product) -> Result<&ProductRoots> {
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
        let serials = Serials {
            inter_name: if inter_name == "ASVK" { "ASVK" } else { "ASK" },
            inter: inter.serial().to_vec(),
            leaf_name: if key_name == "VLEK" { "VLEK" } else { "VCEK" },
            leaf: leaf.serial().to_vec(),
        };
        Ok(
            Entry::new(roots.product, ValidityWindow::intersect(windows), key, exts)
                .with_serials(serials),
        )
    }

    /// The verified chain for this report and these endorsements: from the
    /// cache (same chain bytes, `at` inside its window) or verified now.
    pub(super) fn chain_entry(
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
