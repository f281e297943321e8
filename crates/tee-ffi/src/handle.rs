//! The handles behind the C ABI, in safe Rust: a request that owns copies of
//! its inputs, and a result that owns its claims JSON.

use std::ffi::{CString, c_int};

use tee::{ReportData, UnixTime};
use tee_verify::{EvidenceInput, Outcome, Request};

use crate::error::{Failure, TEE_ERR_POLICY, TEE_OK};

/// Size limits of the inputs (the limits `teectl verify` reads files with).
pub(crate) mod limit {
    /// Evidence JSON.
    pub(crate) const EVIDENCE_JSON: usize = tee_verify::MAX_EVIDENCE_LEN;
    /// A SEV-SNP report (binary, or hex as `snpguest` writes it).
    pub(crate) const SNP_REPORT: usize = 12 << 10;
    /// A certificate (DER or PEM).
    pub(crate) const CERT: usize = 64 << 10;
    /// Chain certificates given with a SEV-SNP report (ASK/ASVK, ARK).
    pub(crate) const CHAIN_CERTS: usize = 4;
    /// A TDX quote.
    pub(crate) const TDX_QUOTE: usize = 64 << 10;
    /// A CCEL / TCG2 event log.
    pub(crate) const EVENT_LOG: usize = 8 << 20;
    /// Collateral: a bundle or a `QuoteCollateralV3` JSON document.
    pub(crate) const COLLATERAL: usize = 64 << 20;
    /// A policy (TOML).
    pub(crate) const POLICY: usize = tee_verify::MAX_POLICY_LEN;
    /// An RFC 3339 time.
    pub(crate) const TIME: usize = 64;
    /// Report data (exactly).
    pub(crate) const REPORT_DATA: usize = 64;
}

/// Refuse `len` over `max` for `what` (malformed, as `teectl` refuses an
/// oversized file).
pub(crate) fn bound(what: &str, len: usize, max: usize) -> Result<(), Failure> {
    if len > max {
        return Err(Failure::malformed(format!(
            "{what}: {len} bytes, over the {max}-byte limit"
        )));
    }
    Ok(())
}

/// The evidence of a request, as given.
#[derive(Debug, Clone, Default)]
enum EvidenceBytes {
    #[default]
    None,
    Json(Vec<u8>),
    Snp {
        report: Vec<u8>,
        signing_cert: Option<Vec<u8>>,
        chain: Vec<Vec<u8>>,
    },
    Tdx {
        quote: Vec<u8>,
        event_log: Option<Vec<u8>>,
    },
}

/// A verification request: evidence, collateral, policy, time and options
/// (opaque to C; create with `tee_request_new`, free with
/// `tee_request_free`).
#[derive(Debug, Clone, Default)]
pub struct TeeRequest {
    evidence: EvidenceBytes,
    collateral: Option<Vec<u8>>,
    policy: Option<String>,
    at: Option<UnixTime>,
    report_data: Option<ReportData>,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
    /// The first setter that failed: the request then never verifies (a
    /// caller that skips a setter's code cannot verify without that input,
    /// or with an input it meant to replace).
    failed: Option<(&'static str, Failure)>,
}

impl TeeRequest {
    /// Run the setter `what`; a failure is kept, and `verify` refuses.
    pub(crate) fn update(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Self) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let r = f(self);
        if let Err(e) = &r
            && self.failed.is_none()
        {
            self.failed = Some((what, e.clone()));
        }
        r
    }

    pub(crate) fn set_evidence_json(&mut self, json: &[u8]) -> Result<(), Failure> {
        bound("evidence JSON", json.len(), limit::EVIDENCE_JSON)?;
        self.evidence = EvidenceBytes::Json(json.to_vec());
        Ok(())
    }

    pub(crate) fn set_snp_report(
        &mut self,
        report: &[u8],
        signing_cert: Option<&[u8]>,
    ) -> Result<(), Failure> {
        bound("SEV-SNP report", report.len(), limit::SNP_REPORT)?;
        if let Some(c) = signing_cert {
            bound("VCEK/VLEK certificate", c.len(), limit::CERT)?;
        }
        self.evidence = EvidenceBytes::Snp {
            report: report.to_vec(),
            signing_cert: signing_cert.map(<[u8]>::to_vec),
            chain: Vec::new(),
        };
        Ok(())
    }

    pub(crate) fn add_snp_cert(&mut self, cert: &[u8]) -> Result<(), Failure> {
        bound("SEV-SNP chain certificate", cert.len(), limit::CERT)?;
        let EvidenceBytes::Snp { chain, .. } = &mut self.evidence else {
            return Err(Failure::usage(
                "a SEV-SNP chain certificate needs a SEV-SNP report: set it first \
                 (tee_request_set_snp_report)",
            ));
        };
        if chain.len() >= limit::CHAIN_CERTS {
            return Err(Failure::usage(format!(
                "more than {} SEV-SNP chain certificates",
                limit::CHAIN_CERTS
            )));
        }
        chain.push(cert.to_vec());
        Ok(())
    }

    pub(crate) fn set_tdx_quote(
        &mut self,
        quote: &[u8],
        event_log: Option<&[u8]>,
    ) -> Result<(), Failure> {
        bound("TDX quote", quote.len(), limit::TDX_QUOTE)?;
        if let Some(l) = event_log {
            bound("event log", l.len(), limit::EVENT_LOG)?;
        }
        self.evidence = EvidenceBytes::Tdx {
            quote: quote.to_vec(),
            event_log: event_log.map(<[u8]>::to_vec),
        };
        Ok(())
    }

    pub(crate) fn set_collateral(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        bound("collateral", bytes.len(), limit::COLLATERAL)?;
        self.collateral = Some(bytes.to_vec());
        Ok(())
    }

    pub(crate) fn set_policy_toml(&mut self, toml: &[u8]) -> Result<(), Failure> {
        bound("policy", toml.len(), limit::POLICY)?;
        let s = std::str::from_utf8(toml)
            .map_err(|e| Failure::usage(format!("policy: not UTF-8 ({e})")))?;
        self.policy = Some(s.to_owned());
        Ok(())
    }

    pub(crate) fn set_time_unix(&mut self, secs: u64) {
        self.at = Some(UnixTime::from_secs(secs));
    }

    pub(crate) fn set_time_rfc3339(&mut self, s: &[u8]) -> Result<(), Failure> {
        bound("time", s.len(), limit::TIME)?;
        let s = std::str::from_utf8(s).map_err(|_| Failure::usage("time: not UTF-8"))?;
        let t =
            UnixTime::parse_rfc3339(s).map_err(|e| Failure::usage(format!("time {s:?}: {e}")))?;
        self.at = Some(t);
        Ok(())
    }

    pub(crate) fn set_report_data(&mut self, rd: &[u8]) -> Result<(), Failure> {
        let rd = ReportData::from_slice(rd).map_err(|_| {
            Failure::usage(format!(
                "report data: {} bytes, expected exactly 64",
                rd.len()
            ))
        })?;
        self.report_data = Some(rd);
        Ok(())
    }

    pub(crate) fn trust_mock_root(&mut self) {
        self.trust_mock_root = true;
    }

    pub(crate) fn allow_unchecked_revocation(&mut self) {
        self.allow_unchecked_revocation = true;
    }

    /// Verify and appraise: `Ok` with the status ([`TEE_OK`] or
    /// [`TEE_ERR_POLICY`]) and the result, or the failure.
    pub(crate) fn verify(&self) -> Result<(c_int, TeeResult), Failure> {
        if let Some((what, e)) = &self.failed {
            return Err(Failure {
                code: e.code,
                message: format!(
                    "{what} failed ({}); this request does not verify: create a new one",
                    e.message
                ),
            });
        }
        let at = self.at.ok_or_else(|| {
            Failure::usage(
                "no verification time: set it (tee_request_set_time_unix or \
                 tee_request_set_time_rfc3339); the library reads no clock",
            )
        })?;
        let evidence = match &self.evidence {
            EvidenceBytes::None => {
                return Err(Failure::usage(
                    "no evidence: set evidence JSON, a SEV-SNP report or a TDX quote",
                ));
            }
            EvidenceBytes::Json(b) => EvidenceInput::Json(b),
            EvidenceBytes::Snp {
                report,
                signing_cert,
                chain,
            } => {
                let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
                EvidenceInput::Evidence(tee_verify::snp_evidence(
                    report,
                    signing_cert.as_deref(),
                    &chain,
                )?)
            }
            EvidenceBytes::Tdx { quote, event_log } => {
                EvidenceInput::Evidence(tee_verify::tdx_evidence(quote, event_log.as_deref())?)
            }
        };
        let mut req = Request::for_evidence(evidence, at);
        if let Some(c) = &self.collateral {
            req = req.with_collateral(c);
        }
        if let Some(p) = &self.policy {
            req = req.with_policy(p);
        }
        if let Some(rd) = self.report_data {
            req = req.with_report_data(rd);
        }
        if self.trust_mock_root {
            req = req.trusting_mock_root();
        }
        if self.allow_unchecked_revocation {
            req = req.allowing_unchecked_revocation();
        }
        let outcome = tee_verify::verify(&req)?;
        let result = TeeResult::new(&outcome)?;
        if outcome.passed() {
            Ok((TEE_OK, result))
        } else {
            Ok((TEE_ERR_POLICY, result))
        }
    }
}

/// What `tee_verify` returned: the claims JSON (the JSON `teectl verify`
/// prints) and the verdict (opaque to C; free with `tee_result_free`).
#[derive(Debug)]
pub struct TeeResult {
    /// INVARIANTS: never changed after construction, so the pointer
    /// `tee_result_json` returns is valid until the result is freed.
    json: CString,
    passed: bool,
    /// The failed checks, `name (detail)`, for the error message.
    failed: Vec<String>,
}

impl TeeResult {
    fn new(outcome: &Outcome) -> Result<Self, Failure> {
        let value = outcome
            .to_json()
            .map_err(|e| Failure::usage(format!("JSON encoding: {e}")))?;
        let text = serde_json::to_string_pretty(&value)
            .map_err(|e| Failure::usage(format!("JSON encoding: {e}")))?;
        // serde_json escapes U+0000 inside strings, so the text has no NUL.
        let json = CString::new(text)
            .map_err(|_| Failure::usage("JSON encoding: an unescaped NUL byte"))?;
        Ok(Self {
            json,
            passed: outcome.passed(),
            failed: outcome
                .appraisal
                .failed()
                .map(|c| format!("{} ({})", c.name, c.detail))
                .collect(),
        })
    }

    pub(crate) fn json(&self) -> &std::ffi::CStr {
        &self.json
    }

    pub(crate) fn passed(&self) -> bool {
        self.passed
    }

    /// The message of a failing appraisal (as `teectl verify` prints it).
    pub(crate) fn failure_message(&self) -> String {
        format!("appraisal failed: {}", self.failed.join("; "))
    }
}
