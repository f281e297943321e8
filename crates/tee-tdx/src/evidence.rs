//! Assembling TDX evidence from its parts: a quote, optional collateral and
//! an optional event log, as a verifier receives them from files or a
//! workload.
//!
//! ```
//! use tee_core::Error;
//! use tee_tdx::evidence::TdxEvidence;
//!
//! // Only something that parses as a quote becomes evidence.
//! assert!(matches!(TdxEvidence::from_quote(&[4, 0, 2, 0]), Err(Error::Malformed(_))));
//! ```

use tee_core::evidence::{endorsement, format};
use tee_core::{Error, EventLog, Evidence, Platform, Result};

use crate::collateral::Collateral;
use crate::quote::Quote;

/// Largest event log accepted (binary TCG2 log or the SDK's event-log JSON).
pub const MAX_EVENT_LOG_LEN: usize = 16 << 20;

/// Builder of TDX [`Evidence`] from a raw quote and optional parts.
#[derive(Debug, Clone)]
pub struct TdxEvidence {
    evidence: Evidence,
}

impl TdxEvidence {
    /// Start from a raw DCAP quote. The quote is parsed (bounds-checked)
    /// but **not** verified.
    ///
    /// # Errors
    /// [`Error::Malformed`] when `quote` is not a TDX quote.
    pub fn from_quote(quote: &[u8]) -> Result<Self> {
        Quote::parse(quote)?;
        Ok(Self {
            evidence: Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote.to_vec()),
        })
    }

    /// Carry `collateral` in the evidence (endorsement
    /// `tdx-collateral-v3-json`), which a verifier with the default
    /// [`crate::CollateralSource::FromEvidence`] uses.
    ///
    /// # Errors
    /// As [`Collateral::to_json`].
    pub fn with_collateral(mut self, collateral: &Collateral) -> Result<Self> {
        self.evidence = crate::attach_collateral(self.evidence, collateral)?;
        Ok(self)
    }

    /// Attach an event log: a binary TCG2 / CCEL log (carried as the
    /// `tcg2-event-log` endorsement and replayed by the verifier against
    /// the RTMRs), or the SDK's event-log JSON (text starting with `{`).
    ///
    /// # Errors
    /// [`Error::Malformed`] for an oversized log or invalid event-log JSON.
    pub fn with_event_log(mut self, log: &[u8]) -> Result<Self> {
        if log.len() > MAX_EVENT_LOG_LEN {
            return Err(Error::malformed(
                "TDX event log",
                tee_core::MalformedKind::BadLength {
                    expected: MAX_EVENT_LOG_LEN,
                    actual: log.len(),
                },
            ));
        }
        if log.first() == Some(&b'{') {
            let parsed: EventLog =
                serde_json::from_slice(log).map_err(|e| Error::encoding("event log JSON", e))?;
            self.evidence.event_log = Some(parsed);
        } else {
            self.evidence = self
                .evidence
                .with_endorsement(endorsement::TCG2_EVENT_LOG, log.to_vec());
        }
        Ok(self)
    }

    /// The assembled evidence.
    pub fn build(self) -> Evidence {
        self.evidence
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::collateral::{CollateralProvider, PckCa};

    fn vectors() -> Option<std::path::PathBuf> {
        tee_core::conformance::vectors_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.."
        )))
    }

    #[test]
    fn assembles_quote_collateral_and_log() {
        let Some(v) = vectors() else { return };
        let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
        let c = Collateral::from_json(
            &std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap(),
        )
        .unwrap();
        let ev = TdxEvidence::from_quote(&quote)
            .unwrap()
            .with_collateral(&c)
            .unwrap()
            .with_event_log(b"\x00\x01binary log")
            .unwrap()
            .build();
        assert_eq!(ev.platform, Platform::Tdx);
        assert_eq!(ev.format, format::TDX_QUOTE);
        assert_eq!(ev.report, quote);
        assert_eq!(
            ev.endorsement(endorsement::TDX_COLLATERAL_JSON),
            Some(c.to_json().unwrap().as_slice())
        );
        assert_eq!(
            ev.endorsement(endorsement::TCG2_EVENT_LOG),
            Some(&b"\x00\x01binary log"[..])
        );
        assert!(ev.event_log.is_none());
        // The SDK's JSON log goes into the envelope's event log.
        let json = serde_json::to_vec(&EventLog::default()).unwrap();
        let ev = TdxEvidence::from_quote(&quote)
            .unwrap()
            .with_event_log(&json)
            .unwrap()
            .build();
        assert!(ev.event_log.is_some() && ev.endorsements.is_empty());
        // Bad JSON and oversized logs are malformed, as is a truncated quote.
        let err = TdxEvidence::from_quote(&quote)
            .unwrap()
            .with_event_log(b"{not json")
            .unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err}");
        let big = vec![0u8; MAX_EVENT_LOG_LEN + 1];
        let err = TdxEvidence::from_quote(&quote)
            .unwrap()
            .with_event_log(&big)
            .unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err}");
        let err = TdxEvidence::from_quote(&quote[..100]).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err}");
    }

    #[derive(Debug)]
    struct Asked(std::sync::Mutex<Option<([u8; 6], PckCa)>>);

    impl CollateralProvider for Asked {
        fn collateral(&self, fmspc: [u8; 6], ca: PckCa) -> Result<Collateral> {
            *self.0.lock().unwrap() = Some((fmspc, ca));
            Err(tee_core::Authenticity::MissingEndorsement {
                what: "none here".into(),
            }
            .into())
        }
    }

    #[test]
    fn collateral_lookup_uses_the_quotes_pck_identity() {
        let Some(v) = vectors() else { return };
        let quote = std::fs::read(v.join("dcap-qvl/tdx_quote")).unwrap();
        let c = std::fs::read(v.join("dcap-qvl/tdx_quote_collateral.json")).unwrap();
        let want_fmspc = Collateral::from_json(&c).unwrap().fmspc().unwrap();
        let p = Asked(std::sync::Mutex::new(None));
        let err = crate::fetch_collateral(&p, &quote).unwrap_err();
        assert!(matches!(err, Error::Authenticity(_)), "{err}");
        let (fmspc, _) = p.0.lock().unwrap().expect("provider asked");
        assert_eq!(fmspc, want_fmspc);
        // A truncated quote never reaches the provider.
        let p = Asked(std::sync::Mutex::new(None));
        assert!(matches!(
            crate::fetch_collateral(&p, &quote[..100]),
            Err(Error::Malformed(_))
        ));
        assert!(p.0.lock().unwrap().is_none());
    }
}
