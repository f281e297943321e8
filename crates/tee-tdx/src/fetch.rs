//! The explicit fetch step: collateral for a quote, looked up before (and
//! outside) verification, which does no I/O.

use tee_core::evidence::endorsement;
use tee_core::{Evidence, Result};

use crate::collateral::{Collateral, CollateralProvider};
use crate::quote::Quote;
use crate::verify::chain;

/// Collateral for `quote`'s platform: parses the quote, takes the FMSPC
/// and PCK CA from its embedded PCK certificate and asks `provider`. This
/// may block on I/O (whatever the provider does); run it before
/// [`tee_core::Verifier::verify`], e.g. on a blocking pool.
///
/// # Errors
/// [`tee_core::Error::Malformed`] for a quote (or PCK certificate) that
/// does not parse; `MissingEndorsement` when the quote carries no PCK
/// chain; the provider's error otherwise.
pub fn fetch_collateral(provider: &dyn CollateralProvider, quote: &[u8]) -> Result<Collateral> {
    let q = Quote::parse(quote)?;
    let (fmspc, ca) = chain::pck_identity(&q)?;
    provider.collateral(fmspc, ca)
}

/// The FMSPC and PCK CA of `quote`'s platform (from the PCK certificate
/// embedded in the quote): what collateral to look up for it.
///
/// # Errors
/// As [`fetch_collateral`] before the provider is asked.
pub fn pck_identity(quote: &[u8]) -> Result<([u8; 6], crate::collateral::PckCa)> {
    let q = Quote::parse(quote)?;
    chain::pck_identity(&q)
}

/// `evidence` with `collateral` attached as the `tdx-collateral-v3-json`
/// endorsement (which [`crate::TdxVerifier`] reads by default).
///
/// # Errors
/// Only if the collateral cannot be encoded (never in practice).
pub fn attach_collateral(evidence: Evidence, collateral: &Collateral) -> Result<Evidence> {
    Ok(evidence.with_endorsement(endorsement::TDX_COLLATERAL_JSON, collateral.to_json()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Mutex;

    use tee_core::evidence::format;
    use tee_core::{Authenticity, Error, Platform, UnixTime, Verifier};

    use super::*;
    use crate::collateral::PckCa;
    use crate::testing::{FakeKernel, FakeTd, TestPki};

    #[derive(Debug, Default)]
    struct Recording {
        json: Vec<u8>,
        asked: Mutex<Vec<([u8; 6], PckCa)>>,
    }

    impl CollateralProvider for Recording {
        fn collateral(&self, fmspc: [u8; 6], ca: PckCa) -> Result<Collateral> {
            self.asked.lock().unwrap().push((fmspc, ca));
            if self.json.is_empty() {
                return Err(Authenticity::MissingEndorsement {
                    what: "none here".into(),
                }
                .into());
            }
            Collateral::from_json(&self.json)
        }
    }

    #[test]
    fn fetch_then_verify() {
        let pki = TestPki::default();
        let td = FakeTd::default();
        let quote = FakeKernel::new(pki.clone(), td.clone()).make_quote(&[7; 64]);
        let p = Recording {
            json: pki.collateral_json(
                "UpToDate",
                &td.tee_tcb_svn,
                "2025-01-01T00:00:00Z",
                "2025-02-01T00:00:00Z",
            ),
            ..Recording::default()
        };
        let c = fetch_collateral(&p, &quote).unwrap();
        let asked = p.asked.lock().unwrap().clone();
        assert_eq!(asked, vec![(c.fmspc().unwrap(), PckCa::Platform)]);
        let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote.clone());
        let ev = attach_collateral(ev, &c).unwrap();
        let at = UnixTime::parse_rfc3339("2025-01-15T00:00:00Z").unwrap();
        crate::danger::verifier_with_test_root(pki.root_der.clone())
            .verify(&ev, at)
            .unwrap();
        // The provider's error is the fetch step's error; junk is Malformed
        // and never reaches the provider.
        let none = Recording::default();
        assert!(matches!(
            fetch_collateral(&none, &quote),
            Err(Error::Authenticity(Authenticity::MissingEndorsement { .. }))
        ));
        let junk = Recording::default();
        assert!(matches!(
            fetch_collateral(&junk, &quote[..100]),
            Err(Error::Malformed(_))
        ));
        assert!(junk.asked.lock().unwrap().is_empty());
    }
}
