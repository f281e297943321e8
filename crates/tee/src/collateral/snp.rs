//! SEV-SNP: which KDS artifacts a report needs, and the verifier with them.

use std::sync::Arc;

use tee_core::evidence::endorsement;
use tee_core::platforms::SnpSigningKey;
use tee_fetch::cache::Descriptor;
use tee_sev::kds::artifact::KdsArtifact;
use tee_sev::report::{Product, SnpReport, TcbVersion};
use tee_sev::{Endorsements, SnpVerifier};

use super::{CollateralError, Manager, Prepared, evidence_err, lock};
use crate::{Authenticity, Error, Evidence, Operation, Platform, UnixTime};

fn product_named(name: &str) -> Option<Product> {
    Product::ALL
        .into_iter()
        .find(|p| p.kds_name().eq_ignore_ascii_case(name))
}

impl Manager {
    pub(super) fn prepare_snp(
        &self,
        evidence: &Evidence,
        now: UnixTime,
    ) -> Result<Prepared, CollateralError> {
        let report = SnpReport::parse(&evidence.report).map_err(evidence_err)?;
        let given = Endorsements::from_evidence(evidence).map_err(evidence_err)?;
        let vlek = report.signing_key().map_err(evidence_err)? == SnpSigningKey::Vlek;
        let product = report
            .product()
            .or_else(|| given.signing_certs.iter().find_map(|c| c.product()))
            .ok_or_else(|| {
                evidence_err(Error::unsupported(
                    Platform::SevSnp,
                    Operation::Verification,
                    "cannot tell the report's product (a version 2 report without its VCEK)",
                ))
            })?;
        let base = &self.config.kds_base;
        let t = now.as_secs();
        let mut ev = evidence.clone();
        let mut used = Vec::new();
        if given.signing_certs.is_empty() {
            if vlek {
                return Err(evidence_err(
                    Authenticity::MissingEndorsement {
                        what: "the report's VLEK (VLEKs are not published by AMD's KDS; \
                               the host must supply it)"
                            .into(),
                    }
                    .into(),
                ));
            }
            if report.chip_id_masked() {
                return Err(evidence_err(Error::unsupported(
                    Platform::SevSnp,
                    Operation::Verification,
                    "the report's chip id is masked and it carries no VCEK: its VCEK cannot be looked up",
                )));
            }
            let d = KdsArtifact::vcek(base, product, report.chip_id, report.reported_tcb);
            let a = self.cache.get(&d, t)?;
            used.push(a.id.clone());
            ev = ev.with_endorsement(endorsement::SIGNING_CERT_DER, a.body.bytes.clone());
        }
        if self.config.amd_cert_chain {
            let a = self
                .cache
                .get(&KdsArtifact::cert_chain(base, product, vlek), t)?;
            used.push(a.id.clone());
            ev = ev.with_endorsement(endorsement::CERT_CHAIN_PEM, a.body.bytes.clone());
        }
        let crl = KdsArtifact::crl(base, product, vlek);
        let verifier = match self.cache.get(&crl, t) {
            Ok(a) => {
                used.push(a.id.clone());
                self.snp_with_crl(&a)?
            }
            Err(_) if self.config.allow_unchecked_revocation => self.snp.clone(),
            Err(e) => return Err(e.into()),
        };
        Ok(Prepared {
            evidence: ev,
            verifiers: self.base_verifiers().with(Box::new(verifier)),
            artifacts: used,
        })
    }

    /// The base verifier with this CRL (memoised per CRL copy, so the CRL
    /// is decoded once per fetch, and the verified-chain cache is shared).
    fn snp_with_crl(
        &self,
        crl: &Arc<tee_fetch::cache::Artifact>,
    ) -> Result<SnpVerifier, CollateralError> {
        let mut memo = lock(&self.snp_memo);
        if let Some((held, v)) = memo.get(&crl.id)
            && Arc::ptr_eq(held, crl)
        {
            return Ok(v.clone());
        }
        let v = self
            .snp
            .clone()
            .with_crl(&crl.body.bytes)
            .map_err(evidence_err)?;
        memo.insert(crl.id.clone(), (crl.clone(), v.clone()));
        Ok(v)
    }

    /// Fetch (or find) the KDS artifacts of one chip: its VCEK at `tcb`,
    /// the product's VCEK CRL and (when configured) chain. Their ids.
    ///
    /// # Errors
    /// [`CollateralError::Unavailable`].
    pub fn fetch_snp_chip(
        &self,
        product: Product,
        chip_id: &[u8; 64],
        tcb: TcbVersion,
        now: UnixTime,
    ) -> Result<Vec<String>, CollateralError> {
        let base = &self.config.kds_base;
        let t = now.as_secs();
        let mut ids = Vec::new();
        let mut ds = vec![
            KdsArtifact::vcek(base, product, chip_id, tcb),
            KdsArtifact::crl(base, product, false),
        ];
        if self.config.amd_cert_chain {
            ds.push(KdsArtifact::cert_chain(base, product, false));
        }
        for d in ds {
            ids.push(self.cache.get(&d, t)?.id.clone());
        }
        Ok(ids)
    }

    /// Fetch (or find) a product's CRLs and chains (VCEK and VLEK). Their ids.
    ///
    /// # Errors
    /// [`CollateralError::Unavailable`].
    pub fn fetch_snp_product(
        &self,
        product: Product,
        now: UnixTime,
    ) -> Result<Vec<String>, CollateralError> {
        let base = &self.config.kds_base;
        let mut ids = Vec::new();
        for vlek in [false, true] {
            for d in [
                KdsArtifact::crl(base, product, vlek),
                KdsArtifact::cert_chain(base, product, vlek),
            ] {
                ids.push(self.cache.get(&d, now.as_secs())?.id.clone());
            }
        }
        Ok(ids)
    }

    pub(super) fn describe_amd(&self, parts: &[&str]) -> Option<Box<dyn Descriptor>> {
        let base = &self.config.kds_base;
        let d = match parts {
            ["vcek", p, hwid, tcb] => {
                let product = product_named(p)?;
                let h = hex::decode(hwid).ok()?;
                let mut chip = [0u8; 64];
                chip.get_mut(..h.len())?.copy_from_slice(&h);
                let tcb = u64::from_str_radix(tcb, 16).ok()?;
                KdsArtifact::vcek(base, product, &chip, TcbVersion(tcb))
            }
            [kind, p] => {
                let product = product_named(p)?;
                match *kind {
                    "vcek-crl" => KdsArtifact::crl(base, product, false),
                    "vlek-crl" => KdsArtifact::crl(base, product, true),
                    "vcek-chain" => KdsArtifact::cert_chain(base, product, false),
                    "vlek-chain" => KdsArtifact::cert_chain(base, product, true),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(Box::new(d))
    }
}

impl Manager {
    /// Artifacts from local files for a bundle: the VCEK (DER or PEM) of
    /// `report` (raw or hex), and optionally a KDS CRL (DER) of its product.
    /// `source` names where they came from (e.g. `file:vcek.der`).
    ///
    /// # Errors
    /// [`CollateralError::Evidence`] when the report or a file does not parse.
    pub fn snp_artifacts_from_files(
        &self,
        report: &[u8],
        vcek: &[u8],
        crl: Option<&[u8]>,
        source: &str,
        now: UnixTime,
    ) -> Result<Vec<tee_fetch::cache::Artifact>, CollateralError> {
        let raw = tee_sev::verify::decode_report_file(report).map_err(evidence_err)?;
        let r = SnpReport::parse(&raw).map_err(evidence_err)?;
        let certs = tee_sev::certs::decode_certs(vcek).map_err(evidence_err)?;
        let leaf = certs
            .first()
            .ok_or_else(|| evidence_err(Error::encoding("VCEK", "no certificate")))?;
        let product = r.product().or_else(|| leaf.product()).ok_or_else(|| {
            evidence_err(Error::unsupported(
                Platform::SevSnp,
                Operation::Verification,
                "cannot tell the report's product",
            ))
        })?;
        let vlek = r.signing_key().map_err(evidence_err)? == SnpSigningKey::Vlek;
        let base = &self.config.kds_base;
        let mut out = vec![super::artifact_of(
            &KdsArtifact::vcek(base, product, r.chip_id, r.reported_tcb),
            tee_fetch::cache::Body::new(leaf.der().to_vec()),
            source,
            now,
        )?];
        if let Some(der) = crl {
            out.push(super::artifact_of(
                &KdsArtifact::crl(base, product, vlek),
                tee_fetch::cache::Body::new(der.to_vec()),
                source,
                now,
            )?);
        }
        Ok(out)
    }
}
