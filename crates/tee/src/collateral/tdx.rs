//! TDX: which PCS artifacts a quote needs, and the verifier with them.

use std::sync::Arc;

use tee_fetch::cache::{Artifact, Descriptor};
use tee_tdx::PckCa;
use tee_tdx::pcs::artifact::{PcsUrls, collateral};

use super::{CollateralError, Manager, Prepared, evidence_err, lock};
use crate::{Evidence, UnixTime};

impl Manager {
    fn pcs_urls(&self) -> PcsUrls {
        PcsUrls::new(&self.config.pcs_base)
            .with_root_crl_url(self.config.intel_root_crl_url.clone())
    }

    /// The collateral for a platform, from the four artifacts (memoised per
    /// set of artifact copies, so it is assembled once per fetch).
    fn tdx_collateral(
        &self,
        fmspc: [u8; 6],
        ca: PckCa,
        now: UnixTime,
    ) -> Result<(tee_tdx::Collateral, Vec<String>), CollateralError> {
        let t = now.as_secs();
        let [a, b, c, d] = self.pcs_urls().artifacts(fmspc, ca);
        let got: [Arc<Artifact>; 4] = [
            self.cache.get(&a, t)?,
            self.cache.get(&b, t)?,
            self.cache.get(&c, t)?,
            self.cache.get(&d, t)?,
        ];
        let ids = got.iter().map(|a| a.id.clone()).collect();
        let key = got[0].id.clone() + "|" + &got[2].id;
        let mut memo = lock(&self.tdx_memo);
        if let Some((held, coll)) = memo.get(&key)
            && held.iter().zip(&got).all(|(x, y)| Arc::ptr_eq(x, y))
        {
            return Ok((coll.clone(), ids));
        }
        let coll = collateral(&got[0].body, &got[1].body, &got[2].body, &got[3].body)
            .map_err(evidence_err)?;
        memo.insert(key, (got, coll.clone()));
        Ok((coll, ids))
    }

    pub(super) fn prepare_tdx(
        &self,
        evidence: &Evidence,
        now: UnixTime,
    ) -> Result<Prepared, CollateralError> {
        // The verifier remembers the identity by the PCK chain's bytes.
        let (fmspc, ca) = self
            .tdx
            .pck_identity(&evidence.report)
            .map_err(evidence_err)?;
        let (coll, ids) = self.tdx_collateral(fmspc, ca, now)?;
        let v = self.tdx.clone().with_collateral(coll);
        Ok(Prepared {
            evidence: evidence.clone(),
            verifiers: self.base_verifiers().with(Box::new(v)),
            artifacts: ids,
        })
    }

    /// Fetch (or find) the Intel collateral of the platform with `fmspc`
    /// whose PCK was issued by `ca`. The artifact ids.
    ///
    /// # Errors
    /// [`CollateralError::Unavailable`]; [`CollateralError::Evidence`] when
    /// the four artifacts do not assemble into collateral.
    pub fn fetch_tdx(
        &self,
        fmspc: [u8; 6],
        ca: PckCa,
        now: UnixTime,
    ) -> Result<Vec<String>, CollateralError> {
        self.tdx_collateral(fmspc, ca, now).map(|(_, ids)| ids)
    }

    pub(super) fn describe_intel(&self, parts: &[&str]) -> Option<Box<dyn Descriptor>> {
        let urls = self.pcs_urls();
        let [tcb, qe, pck_p, root] = urls.artifacts([0; 6], PckCa::Platform);
        let d = match parts {
            ["tdx-tcb-info", f] => {
                let f: [u8; 6] = hex::decode(f).ok()?.try_into().ok()?;
                let [tcb, ..] = urls.artifacts(f, PckCa::Platform);
                tcb
            }
            ["tdx-qe-identity"] => qe,
            ["pck-crl", "platform"] => pck_p,
            ["pck-crl", "processor"] => {
                let [_, _, p, _] = urls.artifacts([0; 6], PckCa::Processor);
                p
            }
            ["root-crl"] => root,
            _ => return None,
        };
        let _ = tcb;
        Some(Box::new(d))
    }
}

impl Manager {
    /// Artifacts from local collateral for a bundle: the four PCS
    /// artifacts of `collateral` (e.g. `QuoteCollateralV3` JSON, or a PCS
    /// file set), filed under `quote`'s FMSPC and PCK CA.
    ///
    /// # Errors
    /// [`CollateralError::Evidence`] when the quote does not parse, or the
    /// collateral is for another FMSPC.
    pub fn tdx_artifacts_from_collateral(
        &self,
        quote: &[u8],
        coll: &tee_tdx::Collateral,
        source: &str,
        now: UnixTime,
    ) -> Result<Vec<Artifact>, CollateralError> {
        let (fmspc, ca) = tee_tdx::pck_identity(quote).map_err(evidence_err)?;
        let have = coll.fmspc().map_err(evidence_err)?;
        if have != fmspc {
            return Err(evidence_err(
                crate::Authenticity::MissingEndorsement {
                    what: format!(
                        "collateral for FMSPC {} (the collateral is for {})",
                        hex::encode_upper(fmspc),
                        hex::encode_upper(have)
                    ),
                }
                .into(),
            ));
        }
        let ds = self.pcs_urls().artifacts(fmspc, ca);
        let bodies = tee_tdx::pcs::artifact::bodies(coll);
        ds.iter()
            .zip(bodies)
            .map(|(d, b)| super::artifact_of(d, b, source, now))
            .collect()
    }
}
