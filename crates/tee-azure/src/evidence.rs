//! Azure vTPM evidence in the SDK envelope, and conversion from the JSON
//! shapes of Trustee (`az-snp-vtpm` / `az-tdx-vtpm`, versions 0, 1, 2) and
//! attestation-rs (`{"platform":"az-snp"|"az-tdx","evidence":…}`).
//!
//! Envelope (`docs/evidence-format.md`, Azure section):
//! `platform` `sev-snp` / `tdx`, `format` [`FORMAT_SNP`] / [`FORMAT_TDX`],
//! `report` = the HCL report exactly as read from NV `0x01400001`, and the
//! endorsements [`TPM_QUOTE_ATTEST`], [`TPM_QUOTE_SIGNATURE`],
//! [`TPM_PCR_VALUES`], plus `signing-cert-der` (the VCEK; SNP) or
//! [`TDX_QUOTE`] (TDX), optionally `cert-chain-pem`, `amd-kds-crl-der`,
//! `tdx-collateral-v3-json`, and [`QUALIFYING_DATA_RULE`] = `raw` for
//! evidence whose qualifying data is a raw nonce (converted peer evidence).

use base64::Engine as _;
use serde_json::Value;
use tee_core::evidence::endorsement;
use tee_core::platforms::QualifyingDataRule;
use tee_core::{Error, Evidence, MalformedKind, Platform, Result};

use crate::hcl::HclTee;

/// Format of Azure SNP vTPM evidence.
pub const FORMAT_SNP: &str = "azure-vtpm-snp";
/// Format of Azure TDX vTPM evidence.
pub const FORMAT_TDX: &str = "azure-vtpm-tdx";
/// Endorsement: the `TPMS_ATTEST` of the vTPM quote.
pub const TPM_QUOTE_ATTEST: &str = "tpm-quote-attest";
/// Endorsement: the quote's raw RSASSA signature (256 bytes for RSA-2048).
pub const TPM_QUOTE_SIGNATURE: &str = "tpm-quote-signature";
/// Endorsement: the quoted SHA-256 PCR values concatenated in selection order (24 × 32).
pub const TPM_PCR_VALUES: &str = "tpm-pcr-values-sha256";
/// Endorsement: the TD quote (TDX).
pub const TDX_QUOTE: &str = "tdx-quote";
/// Endorsement: how the qualifying data was chosen: `raw` (absent: the SDK's
/// SHA-384 of the report data). An unauthenticated hint: it selects which
/// comparison a verifier makes, and either comparison requires the TPM to
/// have signed a value derived from the verifier's nonce.
pub const QUALIFYING_DATA_RULE: &str = "vtpm-qualifying-data-rule";

/// Endorsement: the 64 report-data bytes whose SHA-384 is the qualifying
/// data (SDK-made evidence). The verifier checks the hash against the
/// signed `extraData` and then reports these bytes as the claims' report data.
pub const VTPM_REPORT_DATA: &str = "vtpm-report-data";

/// Largest single field of peer evidence (1 MiB, as attestation-rs).
pub const MAX_FIELD: usize = 1 << 20;

/// Azure vTPM evidence, decoded from an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureEvidence {
    /// The TEE.
    pub tee: HclTee,
    /// The HCL report bytes.
    pub hcl_report: Vec<u8>,
    /// `TPMS_ATTEST`.
    pub attest: Vec<u8>,
    /// Raw quote signature.
    pub signature: Vec<u8>,
    /// PCR values in selection order.
    pub pcrs: Vec<Vec<u8>>,
    /// The VCEK (SNP), DER.
    pub vcek_der: Option<Vec<u8>>,
    /// The TD quote (TDX).
    pub td_quote: Option<Vec<u8>>,
    /// The qualifying-data rule.
    pub rule: QualifyingDataRule,
    /// The report data of SDK-made evidence (see [`VTPM_REPORT_DATA`]).
    pub report_data: Option<[u8; 64]>,
}

/// Whether `ev` is Azure vTPM evidence (by its format).
pub fn is_azure(ev: &Evidence) -> bool {
    ev.format == FORMAT_SNP || ev.format == FORMAT_TDX
}

impl AzureEvidence {
    /// Into the SDK envelope.
    pub fn into_evidence(self) -> Evidence {
        let (platform, format) = match self.tee {
            HclTee::Snp => (Platform::SevSnp, FORMAT_SNP),
            HclTee::Tdx => (Platform::Tdx, FORMAT_TDX),
        };
        let mut ev = Evidence::new(platform, format, self.hcl_report)
            .with_endorsement(TPM_QUOTE_ATTEST, self.attest)
            .with_endorsement(TPM_QUOTE_SIGNATURE, self.signature)
            .with_endorsement(TPM_PCR_VALUES, self.pcrs.concat());
        if let Some(v) = self.vcek_der {
            ev = ev.with_endorsement(endorsement::SIGNING_CERT_DER, v);
        }
        if let Some(q) = self.td_quote {
            ev = ev.with_endorsement(TDX_QUOTE, q);
        }
        if self.rule == QualifyingDataRule::Raw {
            ev = ev.with_endorsement(QUALIFYING_DATA_RULE, b"raw".to_vec());
        }
        if let Some(rd) = self.report_data {
            ev = ev.with_endorsement(VTPM_REPORT_DATA, rd.to_vec());
        }
        ev
    }

    /// From the SDK envelope.
    ///
    /// # Errors
    /// [`Error::Misuse`] for evidence of another format;
    /// [`Error::Malformed`] for a missing or duplicated part, a platform that
    /// does not match the format, or PCR values not a multiple of 32 bytes.
    pub fn from_evidence(ev: &Evidence) -> Result<Self> {
        let tee = match (ev.format.as_str(), ev.platform) {
            (FORMAT_SNP, Platform::SevSnp) => HclTee::Snp,
            (FORMAT_TDX, Platform::Tdx) => HclTee::Tdx,
            (FORMAT_SNP | FORMAT_TDX, p) => {
                return Err(Error::bad_field(
                    "Azure evidence",
                    "platform",
                    format_args!("{p} does not match format {}", ev.format),
                ));
            }
            (f, _) => {
                return Err(Error::Misuse(
                    format!("not Azure vTPM evidence (format {f:?})").into(),
                ));
            }
        };
        let one = |kind: &'static str| -> Result<Option<Vec<u8>>> {
            let mut it = ev.endorsements.iter().filter(|e| e.kind == kind);
            let first = it.next().map(|e| e.data.clone());
            if it.next().is_some() {
                return Err(Error::bad_field(
                    "Azure evidence",
                    "endorsements",
                    format_args!("more than one {kind}"),
                ));
            }
            Ok(first)
        };
        let need = |kind: &'static str| -> Result<Vec<u8>> {
            one(kind)?.ok_or_else(|| {
                Error::bad_field(
                    "Azure evidence",
                    "endorsements",
                    format_args!("missing {kind}"),
                )
            })
        };
        let pcr_bytes = need(TPM_PCR_VALUES)?;
        if pcr_bytes.len() % 32 != 0 || pcr_bytes.len() > 64 * 32 {
            return Err(Error::malformed(
                "Azure evidence",
                MalformedKind::BadField {
                    field: TPM_PCR_VALUES,
                    detail: format!("{} bytes is not a list of SHA-256 values", pcr_bytes.len()),
                },
            ));
        }
        let rule = match one(QUALIFYING_DATA_RULE)?.as_deref() {
            None => QualifyingDataRule::Sha384OfReportData,
            Some(b"raw") => QualifyingDataRule::Raw,
            Some(b"sha384-report-data") => QualifyingDataRule::Sha384OfReportData,
            Some(_) => {
                return Err(Error::bad_field(
                    "Azure evidence",
                    QUALIFYING_DATA_RULE,
                    "expected `raw` or `sha384-report-data`",
                ));
            }
        };
        Ok(Self {
            tee,
            hcl_report: ev.report.clone(),
            attest: need(TPM_QUOTE_ATTEST)?,
            signature: need(TPM_QUOTE_SIGNATURE)?,
            pcrs: pcr_bytes.chunks(32).map(<[u8]>::to_vec).collect(),
            vcek_der: if tee == HclTee::Snp {
                Some(need(endorsement::SIGNING_CERT_DER)?)
            } else {
                None
            },
            td_quote: if tee == HclTee::Tdx {
                Some(need(TDX_QUOTE)?)
            } else {
                None
            },
            rule,
            report_data: match one(VTPM_REPORT_DATA)? {
                None => None,
                Some(b) => Some(<[u8; 64]>::try_from(b.as_slice()).map_err(|_| {
                    Error::malformed(
                        "Azure evidence",
                        MalformedKind::BadLength {
                            expected: 64,
                            actual: b.len(),
                        },
                    )
                })?),
            },
        })
    }
}

const PEER: &str = "Azure evidence JSON";

/// How a JSON field is encoded.
#[derive(Clone, Copy)]
enum Enc {
    /// Hex (either case).
    Hex,
    /// base64url with or without padding.
    B64Url,
}

fn bytes_of(v: &Value, field: &'static str, enc: Enc) -> Result<Vec<u8>> {
    let out = match v {
        Value::Array(a) => {
            if a.len() > MAX_FIELD {
                return Err(Error::bad_field(PEER, field, "over 1 MiB"));
            }
            a.iter()
                .map(|x| {
                    x.as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| Error::bad_field(PEER, field, "array element not a byte"))
                })
                .collect::<Result<Vec<u8>>>()?
        }
        Value::String(s) => {
            if s.len() > 2 * MAX_FIELD {
                return Err(Error::bad_field(PEER, field, "over 1 MiB"));
            }
            match enc {
                Enc::Hex => hex::decode(s.trim())
                    .map_err(|e| Error::bad_field(PEER, field, format_args!("not hex: {e}")))?,
                Enc::B64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s.trim().trim_end_matches('='))
                    .map_err(|e| {
                        Error::bad_field(PEER, field, format_args!("not base64url: {e}"))
                    })?,
            }
        }
        _ => return Err(Error::bad_field(PEER, field, "not a byte array or string")),
    };
    if out.len() > MAX_FIELD {
        return Err(Error::bad_field(PEER, field, "over 1 MiB"));
    }
    Ok(out)
}

fn get<'a>(o: &'a Value, field: &'static str) -> Result<&'a Value> {
    o.get(field)
        .ok_or_else(|| Error::bad_field(PEER, field, "missing"))
}

/// PEM → DER of the first certificate.
fn pem_to_der(field: &'static str, pem: &str) -> Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect::<Vec<_>>()
        .concat();
    if body.is_empty() {
        return Err(Error::bad_field(PEER, field, "no PEM certificate"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| Error::bad_field(PEER, field, format_args!("PEM body not base64: {e}")))
}

/// Convert Azure evidence JSON of Trustee (v0, v1, v2; with or without the
/// KBS `tee` wrapper removed) or attestation-rs (with or without its
/// `platform` envelope) into the SDK envelope. The qualifying-data rule of
/// converted evidence is [`QualifyingDataRule::Raw`]: those attesters pass
/// the verifier's nonce to the TPM as is.
///
/// # Errors
/// [`Error::Malformed`]: not JSON, an unknown `version` (≥ 3) or
/// `platform`, a missing field, bad hex/base64url/PEM, a field over 1 MiB.
pub fn from_peer_json(bytes: &[u8]) -> Result<Evidence> {
    if bytes.len() > 16 * MAX_FIELD {
        return Err(Error::malformed(
            PEER,
            MalformedKind::BadLength {
                expected: 16 * MAX_FIELD,
                actual: bytes.len(),
            },
        ));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::encoding(PEER, e))?;
    // attestation-rs envelope.
    let (inner, hint) = match v.get("platform").and_then(Value::as_str) {
        Some(p) => {
            let tee = match p {
                "az-snp" => HclTee::Snp,
                "az-tdx" => HclTee::Tdx,
                other => {
                    return Err(Error::bad_field(
                        PEER,
                        "platform",
                        format_args!("{other:?} is not an Azure vTPM platform (az-snp, az-tdx)"),
                    ));
                }
            };
            (get(&v, "evidence")?, Some(tee))
        }
        None => (&v, None),
    };
    let version = match inner.get("version") {
        None => 0,
        Some(x) => match x.as_u64() {
            Some(n @ 1..=2) => n,
            _ => {
                return Err(Error::malformed(
                    PEER,
                    MalformedKind::UnsupportedVersion(
                        x.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or(u32::MAX),
                    ),
                ));
            }
        },
    };
    let tee = if inner.get("td_quote").is_some() {
        HclTee::Tdx
    } else if inner.get("vcek").is_some() {
        HclTee::Snp
    } else {
        return Err(Error::bad_field(
            PEER,
            "vcek",
            "neither `vcek` (SNP) nor `td_quote` (TDX)",
        ));
    };
    if hint.is_some_and(|h| h != tee) {
        return Err(Error::bad_field(
            PEER,
            "platform",
            "does not match the evidence fields",
        ));
    }
    // v0 SNP names the quote `quote` and the HCL report `report`.
    let (quote, hcl) = if version == 0 && tee == HclTee::Snp {
        (get(inner, "quote")?, get(inner, "report")?)
    } else {
        (get(inner, "tpm_quote")?, get(inner, "hcl_report")?)
    };
    let pcrs = get(quote, "pcrs")?
        .as_array()
        .ok_or_else(|| Error::bad_field(PEER, "pcrs", "not an array"))?;
    if pcrs.len() > 64 {
        return Err(Error::bad_field(PEER, "pcrs", "more than 64 PCRs"));
    }
    let pcrs = pcrs
        .iter()
        .map(|p| bytes_of(p, "pcrs", Enc::Hex))
        .collect::<Result<Vec<_>>>()?;
    if let Some(p) = pcrs.iter().find(|p| p.len() != 32) {
        return Err(Error::bad_field(
            PEER,
            "pcrs",
            format_args!("a {}-byte value; SHA-256 PCRs are 32 bytes", p.len()),
        ));
    }
    let az = AzureEvidence {
        tee,
        hcl_report: bytes_of(hcl, "hcl_report", Enc::B64Url)?,
        attest: bytes_of(get(quote, "message")?, "message", Enc::Hex)?,
        signature: bytes_of(get(quote, "signature")?, "signature", Enc::Hex)?,
        pcrs,
        vcek_der: match tee {
            HclTee::Snp => Some(match get(inner, "vcek")? {
                Value::String(s) if s.contains("-----BEGIN") => pem_to_der("vcek", s)?,
                other => bytes_of(other, "vcek", Enc::B64Url)?,
            }),
            HclTee::Tdx => None,
        },
        td_quote: match tee {
            HclTee::Tdx => Some(bytes_of(get(inner, "td_quote")?, "td_quote", Enc::B64Url)?),
            HclTee::Snp => None,
        },
        rule: QualifyingDataRule::Raw,
        report_data: None,
    };
    Ok(az.into_evidence())
}

/// Read evidence JSON of any shape: the SDK envelope (it has a `format`
/// key), else Azure peer JSON ([`from_peer_json`]). Returns whether it was
/// converted.
///
/// # Errors
/// As [`Evidence::from_json`] or [`from_peer_json`].
pub fn parse_any(bytes: &[u8]) -> Result<(Evidence, bool)> {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<Value>,
    }
    let sdk = serde_json::from_slice::<Probe>(bytes)
        .map(|p| p.format.is_some())
        .unwrap_or(true);
    if sdk {
        Evidence::from_json(bytes).map(|e| (e, false))
    } else {
        from_peer_json(bytes).map(|e| (e, true))
    }
}

/// The Trustee v2 JSON of Azure evidence (lower-case hex, base64url with
/// padding), what a Trustee verifier takes.
///
/// # Errors
/// [`Error::Malformed`] when `ev` is not Azure vTPM evidence.
pub fn to_trustee_json(ev: &Evidence) -> Result<Value> {
    let az = AzureEvidence::from_evidence(ev)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE.encode(b);
    let mut o = serde_json::json!({
        "version": 2,
        "tpm_quote": {
            "signature": hex::encode(&az.signature),
            "message": hex::encode(&az.attest),
            "pcrs": az.pcrs.iter().map(hex::encode).collect::<Vec<_>>(),
        },
        "hcl_report": b64(&az.hcl_report),
    });
    if let Some(v) = &az.vcek_der {
        o["vcek"] = Value::String(b64(v));
    }
    if let Some(q) = &az.td_quote {
        o["td_quote"] = Value::String(b64(q));
    }
    Ok(o)
}
