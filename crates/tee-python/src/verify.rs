//! `verify` and `appraise`: one call of [`tee_verify::verify`], the GIL
//! released while the SDK parses and verifies.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use serde_json::Value;
use tee::{ReportData, UnixTime};
use tee_verify::{EvidenceInput, MAX_EVIDENCE_LEN, MAX_POLICY_LEN, Request, VerifyError};

use crate::convert::{self, Buf, Text, bytes_arg, hex_or_bytes, report_data_arg, text_arg};
use crate::errors::{self, PolicyError};

/// An SEV-SNP report: 1184 bytes, as hex text about 2.4 KiB (as `teectl`).
const MAX_SNP_REPORT: usize = 4 << 10;
/// A TDX quote (as `teectl`).
const MAX_QUOTE: usize = 64 << 10;
/// A certificate or CRL (DER or PEM).
const MAX_CERT: usize = 64 << 10;
/// A CCEL / TCG2 event log.
const MAX_EVENT_LOG: usize = 8 << 20;
/// Collateral: a bundle (its own limit) or a `QuoteCollateralV3` document.
const MAX_COLLATERAL: usize = 64 << 20;
/// Certificates in a chain (ASK/ASVK and ARK).
const MAX_CHAIN: usize = 8;
/// A verifier nonce, and the user data bound with it.
const MAX_NONCE: usize = 16 << 20;

/// The evidence arguments, bounded.
enum Evidence<'py> {
    Json(Buf<'py>),
    Snp {
        report: Buf<'py>,
        vcek: Option<Buf<'py>>,
        chain: Vec<Buf<'py>>,
        crl: Option<Buf<'py>>,
    },
    Tdx {
        quote: Buf<'py>,
        event_log: Option<Buf<'py>>,
    },
}

/// Every argument, checked and bounded (still holding Python objects).
struct Args<'py> {
    evidence: Evidence<'py>,
    collateral: Option<Buf<'py>>,
    policy: Option<String>,
    at: UnixTime,
    report_data: Option<ReportData>,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
}

/// The same arguments as plain slices, for the closure run without the GIL.
enum EvidenceRef<'a> {
    Json(&'a [u8]),
    Snp {
        report: &'a [u8],
        vcek: Option<&'a [u8]>,
        chain: Vec<&'a [u8]>,
        crl: Option<&'a [u8]>,
    },
    Tdx {
        quote: &'a [u8],
        event_log: Option<&'a [u8]>,
    },
}

/// Why no verdict came out of the closure.
enum Failure {
    Verify(VerifyError),
    Json(serde_json::Error),
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        Self::Verify(e)
    }
}

impl From<tee::Error> for Failure {
    fn from(e: tee::Error) -> Self {
        Self::Verify(VerifyError::Sdk(e))
    }
}

/// What a verification gave: the printed JSON, whether the appraisal
/// passed, and the failed checks.
struct Verdict {
    json: Value,
    passed: bool,
    failed: Vec<(String, String)>,
}

/// The raw arguments of `verify` / `appraise`, as Python gave them.
struct RawArgs<'a, 'py> {
    evidence_json: Option<&'a Bound<'py, PyAny>>,
    snp_report: Option<&'a Bound<'py, PyAny>>,
    vcek: Option<&'a Bound<'py, PyAny>>,
    snp_chain: Option<&'a Bound<'py, PyAny>>,
    crl: Option<&'a Bound<'py, PyAny>>,
    tdx_quote: Option<&'a Bound<'py, PyAny>>,
    event_log: Option<&'a Bound<'py, PyAny>>,
    collateral: Option<&'a Bound<'py, PyAny>>,
    policy: Option<&'a Bound<'py, PyAny>>,
    at: &'a Bound<'py, PyAny>,
    report_data: Option<&'a Bound<'py, PyAny>>,
    nonce: Option<&'a Bound<'py, PyAny>>,
    user_data: Option<&'a Bound<'py, PyAny>>,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
}

impl<'py> RawArgs<'_, 'py> {
    /// Check the combination, bound every input.
    fn parse(&self) -> PyResult<Args<'py>> {
        let evidence = match (self.evidence_json, self.snp_report, self.tdx_quote) {
            (Some(j), None, None) => {
                self.only_with("evidence_json", &[])?;
                Evidence::Json(bytes_arg(
                    "evidence_json",
                    j,
                    MAX_EVIDENCE_LEN,
                    Text::Allowed,
                )?)
            }
            (None, Some(r), None) => {
                self.only_with("snp_report", &["vcek", "snp_chain", "crl"])?;
                Evidence::Snp {
                    report: bytes_arg("snp_report", r, MAX_SNP_REPORT, Text::Allowed)?,
                    vcek: self
                        .vcek
                        .map(|c| bytes_arg("vcek", c, MAX_CERT, Text::Allowed))
                        .transpose()?,
                    chain: match self.snp_chain {
                        Some(c) => chain_arg(c)?,
                        None => Vec::new(),
                    },
                    crl: self
                        .crl
                        .map(|c| bytes_arg("crl", c, MAX_CERT, Text::Refused))
                        .transpose()?,
                }
            }
            (None, None, Some(q)) => {
                self.only_with("tdx_quote", &["event_log"])?;
                Evidence::Tdx {
                    quote: bytes_arg("tdx_quote", q, MAX_QUOTE, Text::Refused)?,
                    event_log: self
                        .event_log
                        .map(|l| bytes_arg("event_log", l, MAX_EVENT_LOG, Text::Refused))
                        .transpose()?,
                }
            }
            (None, None, None) => {
                return Err(errors::usage(
                    "no evidence: give evidence_json, snp_report (with vcek) or tdx_quote",
                ));
            }
            _ => {
                return Err(errors::usage(
                    "give one of evidence_json, snp_report and tdx_quote",
                ));
            }
        };
        let report_data = match (self.report_data, self.nonce) {
            (Some(_), Some(_)) => {
                return Err(errors::usage(
                    "give report_data or nonce (report data = ReportData::bind(nonce, user_data)), not both",
                ));
            }
            (Some(rd), None) => {
                if self.user_data.is_some() {
                    return Err(errors::usage("user_data is bound with a nonce: give nonce"));
                }
                Some(report_data_arg("report_data", rd)?)
            }
            (None, Some(n)) => {
                let nonce = hex_or_bytes("nonce", n, MAX_NONCE)?;
                let user = match self.user_data {
                    Some(u) => bytes_arg("user_data", u, MAX_NONCE, Text::Refused)?
                        .as_slice()
                        .to_vec(),
                    None => Vec::new(),
                };
                Some(ReportData::bind(&nonce, &user))
            }
            (None, None) => {
                if self.user_data.is_some() {
                    return Err(errors::usage("user_data is bound with a nonce: give nonce"));
                }
                None
            }
        };
        Ok(Args {
            evidence,
            collateral: self
                .collateral
                .map(|c| bytes_arg("collateral", c, MAX_COLLATERAL, Text::Allowed))
                .transpose()?,
            policy: self
                .policy
                .map(|p| text_arg("policy", p, MAX_POLICY_LEN))
                .transpose()?,
            at: convert::time_arg(self.at)?,
            report_data,
            trust_mock_root: self.trust_mock_root,
            allow_unchecked_revocation: self.allow_unchecked_revocation,
        })
    }

    /// Refuse the evidence arguments of another form than `form`.
    fn only_with(&self, form: &str, allowed: &[&str]) -> PyResult<()> {
        let given = [
            ("vcek", self.vcek.is_some()),
            ("snp_chain", self.snp_chain.is_some()),
            ("crl", self.crl.is_some()),
            ("event_log", self.event_log.is_some()),
        ];
        for (name, is_given) in given {
            if is_given && !allowed.contains(&name) {
                return Err(errors::usage(format!(
                    "{name} does not go with {form}{}",
                    match name {
                        "event_log" => ": it belongs to tdx_quote",
                        _ => ": it belongs to snp_report",
                    }
                )));
            }
        }
        Ok(())
    }
}

/// The ASK/ASVK/ARK certificates: a list or tuple of bytes.
fn chain_arg<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Buf<'py>>> {
    let items: Vec<Bound<'py, PyAny>> = if let Ok(l) = obj.cast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        t.iter().collect()
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "snp_chain: expected a list of certificates (bytes, DER or PEM)",
        ));
    };
    if items.len() > MAX_CHAIN {
        return Err(errors::usage(format!(
            "snp_chain: {} certificates, more than {MAX_CHAIN}",
            items.len()
        )));
    }
    items
        .iter()
        .map(|c| bytes_arg("snp_chain item", c, MAX_CERT, Text::Allowed))
        .collect()
}

/// Build the evidence and verify (no Python object is touched here).
fn run(ev: &EvidenceRef<'_>, a: &Plain<'_>) -> Result<Verdict, Failure> {
    let evidence = match ev {
        EvidenceRef::Json(b) => EvidenceInput::Json(b),
        EvidenceRef::Snp {
            report,
            vcek,
            chain,
            crl,
        } => {
            let mut e = tee_verify::snp_evidence(report, *vcek, chain)?;
            if let Some(der) = crl {
                // Decoded here so that bytes that are not a CRL say so, as
                // `teectl verify --crl`.
                tee::sev::crl::AmdCrl::from_der(der)?;
                e = e.with_endorsement(tee::evidence::endorsement::AMD_CRL_DER, der.to_vec());
            }
            EvidenceInput::Evidence(e)
        }
        EvidenceRef::Tdx { quote, event_log } => {
            EvidenceInput::Evidence(tee_verify::tdx_evidence(quote, *event_log)?)
        }
    };
    let mut req = Request::for_evidence(evidence, a.at);
    if let Some(c) = a.collateral {
        req = req.with_collateral(c);
    }
    if let Some(p) = a.policy {
        req = req.with_policy(p);
    }
    if let Some(rd) = a.report_data {
        req = req.with_report_data(rd);
    }
    if a.trust_mock_root {
        req = req.trusting_mock_root();
    }
    if a.allow_unchecked_revocation {
        req = req.allowing_unchecked_revocation();
    }
    let o = tee_verify::verify(&req)?;
    let json = o.to_json().map_err(Failure::Json)?;
    Ok(Verdict {
        json,
        passed: o.passed(),
        failed: o
            .appraisal
            .failed()
            .map(|c| (c.name.to_string(), c.detail.to_string()))
            .collect(),
    })
}

/// The non-evidence arguments as plain data.
struct Plain<'a> {
    collateral: Option<&'a [u8]>,
    policy: Option<&'a str>,
    at: UnixTime,
    report_data: Option<ReportData>,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
}

/// A verdict for Python: the claims dict, whether the appraisal passed,
/// the failed checks.
struct PyVerdict<'py> {
    result: Bound<'py, PyAny>,
    passed: bool,
    failed: Vec<(String, String)>,
}

/// Verify with the GIL released; the verdict as a Python dict.
fn verify_inner<'py>(py: Python<'py>, raw: &RawArgs<'_, 'py>) -> PyResult<PyVerdict<'py>> {
    let a = raw.parse()?;
    let ev = match &a.evidence {
        Evidence::Json(b) => EvidenceRef::Json(b.as_slice()),
        Evidence::Snp {
            report,
            vcek,
            chain,
            crl,
        } => EvidenceRef::Snp {
            report: report.as_slice(),
            vcek: vcek.as_ref().map(Buf::as_slice),
            chain: chain.iter().map(Buf::as_slice).collect(),
            crl: crl.as_ref().map(Buf::as_slice),
        },
        Evidence::Tdx { quote, event_log } => EvidenceRef::Tdx {
            quote: quote.as_slice(),
            event_log: event_log.as_ref().map(Buf::as_slice),
        },
    };
    let plain = Plain {
        collateral: a.collateral.as_ref().map(Buf::as_slice),
        policy: a.policy.as_deref(),
        at: a.at,
        report_data: a.report_data,
        trust_mock_root: a.trust_mock_root,
        allow_unchecked_revocation: a.allow_unchecked_revocation,
    };
    let verdict = py.detach(|| run(&ev, &plain));
    match verdict {
        Ok(v) => Ok(PyVerdict {
            result: convert::json_to_py(py, &v.json)?,
            passed: v.passed,
            failed: v.failed,
        }),
        Err(Failure::Verify(e)) => Err(errors::of_class(e.class(), e.to_string())),
        Err(Failure::Json(e)) => Err(errors::usage(format!("JSON encoding: {e}"))),
    }
}

/// Verify evidence and appraise it against a policy: the claims `teectl
/// verify` prints, as a dict.
///
/// Give the evidence one way: `evidence_json` (bytes or str: the SDK
/// envelope, Trustee/CoCo or Azure peer evidence), `snp_report` (binary or
/// hex) with `vcek` (DER or PEM) and optionally `snp_chain` (ASK/ASVK,
/// ARK) and `crl` (an AMD KDS CRL, DER), or `tdx_quote` with optionally
/// `event_log` (CCEL). `collateral`: a `teectl collateral bundle` or a TDX
/// QuoteCollateralV3 JSON document. `policy`: TOML text (default: the
/// fail-closed default policy, which admits no workload). `at`: the
/// verification time (aware datetime, Unix seconds, or RFC 3339), never
/// read from a clock. `report_data` (64 bytes or 128 hex digits) or
/// `nonce` (+ `user_data`): the expected report data. `trust_mock_root`
/// accepts mock evidence as authentic (NO SECURITY; the policy must still
/// say allow_mock). `allow_unchecked_revocation` accepts TDX collateral
/// without CRLs and SEV-SNP reports checked against no CRL (the claims say
/// so).
///
/// A failing appraisal is a result, not an exception:
/// `result["appraisal"]["passed"]` is False and each check says why (use
/// `appraise` to get `PolicyError` instead). Raises `MalformedError`,
/// `AuthenticityError`, `UnsupportedError` or `UsageError` when there is
/// no verdict.
#[pyfunction]
#[pyo3(signature = (
    evidence_json=None, *, snp_report=None, vcek=None, snp_chain=None, crl=None,
    tdx_quote=None, event_log=None, collateral=None, policy=None, at,
    report_data=None, nonce=None, user_data=None,
    trust_mock_root=false, allow_unchecked_revocation=false,
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify<'py>(
    py: Python<'py>,
    evidence_json: Option<Bound<'py, PyAny>>,
    snp_report: Option<Bound<'py, PyAny>>,
    vcek: Option<Bound<'py, PyAny>>,
    snp_chain: Option<Bound<'py, PyAny>>,
    crl: Option<Bound<'py, PyAny>>,
    tdx_quote: Option<Bound<'py, PyAny>>,
    event_log: Option<Bound<'py, PyAny>>,
    collateral: Option<Bound<'py, PyAny>>,
    policy: Option<Bound<'py, PyAny>>,
    at: Bound<'py, PyAny>,
    report_data: Option<Bound<'py, PyAny>>,
    nonce: Option<Bound<'py, PyAny>>,
    user_data: Option<Bound<'py, PyAny>>,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let raw = RawArgs {
        evidence_json: evidence_json.as_ref(),
        snp_report: snp_report.as_ref(),
        vcek: vcek.as_ref(),
        snp_chain: snp_chain.as_ref(),
        crl: crl.as_ref(),
        tdx_quote: tdx_quote.as_ref(),
        event_log: event_log.as_ref(),
        collateral: collateral.as_ref(),
        policy: policy.as_ref(),
        at: &at,
        report_data: report_data.as_ref(),
        nonce: nonce.as_ref(),
        user_data: user_data.as_ref(),
        trust_mock_root,
        allow_unchecked_revocation,
    };
    Ok(verify_inner(py, &raw)?.result)
}

/// Verify evidence and require that it passes `policy` (TOML text): the
/// same arguments and result as `verify`, but a failing appraisal raises
/// `PolicyError` (its `result` is the dict `verify` returns, `failed` the
/// failed checks as (name, detail) tuples). A returned dict always has
/// `appraisal.passed` True.
#[pyfunction]
#[pyo3(signature = (
    evidence_json=None, *, snp_report=None, vcek=None, snp_chain=None, crl=None,
    tdx_quote=None, event_log=None, collateral=None, policy, at,
    report_data=None, nonce=None, user_data=None,
    trust_mock_root=false, allow_unchecked_revocation=false,
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn appraise<'py>(
    py: Python<'py>,
    evidence_json: Option<Bound<'py, PyAny>>,
    snp_report: Option<Bound<'py, PyAny>>,
    vcek: Option<Bound<'py, PyAny>>,
    snp_chain: Option<Bound<'py, PyAny>>,
    crl: Option<Bound<'py, PyAny>>,
    tdx_quote: Option<Bound<'py, PyAny>>,
    event_log: Option<Bound<'py, PyAny>>,
    collateral: Option<Bound<'py, PyAny>>,
    policy: Bound<'py, PyAny>,
    at: Bound<'py, PyAny>,
    report_data: Option<Bound<'py, PyAny>>,
    nonce: Option<Bound<'py, PyAny>>,
    user_data: Option<Bound<'py, PyAny>>,
    trust_mock_root: bool,
    allow_unchecked_revocation: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let raw = RawArgs {
        evidence_json: evidence_json.as_ref(),
        snp_report: snp_report.as_ref(),
        vcek: vcek.as_ref(),
        snp_chain: snp_chain.as_ref(),
        crl: crl.as_ref(),
        tdx_quote: tdx_quote.as_ref(),
        event_log: event_log.as_ref(),
        collateral: collateral.as_ref(),
        policy: Some(&policy),
        at: &at,
        report_data: report_data.as_ref(),
        nonce: nonce.as_ref(),
        user_data: user_data.as_ref(),
        trust_mock_root,
        allow_unchecked_revocation,
    };
    let PyVerdict {
        result,
        passed,
        failed,
    } = verify_inner(py, &raw)?;
    if passed {
        return Ok(result);
    }
    let summary: Vec<String> = failed
        .iter()
        .map(|(name, detail)| format!("{name} ({detail})"))
        .collect();
    let err = PolicyError::new_err(format!("appraisal failed: {}", summary.join("; ")));
    let value = err.value(py);
    value.setattr("result", result)?;
    value.setattr("failed", PyList::new(py, failed)?)?;
    Err(err)
}
