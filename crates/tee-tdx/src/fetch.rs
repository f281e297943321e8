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

/// `evidence` with `collateral` attached as the `tdx-collateral-v3-json`
/// endorsement (which [`crate::TdxVerifier`] reads by default).
///
/// # Errors
/// Only if the collateral cannot be encoded (never in practice).
pub fn attach_collateral(evidence: Evidence, collateral: &Collateral) -> Result<Evidence> {
    Ok(evidence.with_endorsement(endorsement::TDX_COLLATERAL_JSON, collateral.to_json()?))
}
