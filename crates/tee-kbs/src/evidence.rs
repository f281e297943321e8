//! Converters between the SDK evidence envelope (`docs/evidence-format.md`)
//! and Trustee's per-TEE evidence JSON (the `primary_evidence` of KBS
//! protocol 0.4.0), both ways.
//!
//! | TEE | Trustee JSON | SDK envelope |
//! |---|---|---|
//! | `snp` | `{"attestation_report": {serde of the report}, "cert_chain": [{"cert_type","data"}] \| null}` (guest-components/Trustee); also attestation-rs `{"attestation_report": "<base64 1184 B>", "cert_chain": {"vcek","ask","ark"}}` on input | `sev-snp-report`; the chain as a `ghcb-cert-table` |
//! | `tdx` | `{"cc_eventlog": "<base64>" \| null, "quote": "<base64>"}` | `tdx-dcap-quote`; the event log as `tcg2-event-log` |
//! | `az-snp-vtpm` | `{"version": 2, "tpm_quote": {"signature", "message", "pcrs"} (hex), "hcl_report": b64url, "vcek": b64url DER}`; v0/v1 and attestation-rs `{"platform": "az-snp", "evidence": …}` on input | `azure-vtpm-snp` (feature `azure`) |
//! | `az-tdx-vtpm` | as `az-snp-vtpm` with `"td_quote": b64url` instead of `vcek` | `azure-vtpm-tdx` (feature `azure`) |
//! | `sample` | `{"svn": "1", "report_data": "<base64>", "sdk_evidence": <mock envelope>}` | `mock-report-v1` (NO SECURITY) |
//!
//! Trustee does not send the raw SNP report: it sends the parsed fields. The
//! report is re-encoded from them (reserved bytes zero); the SDK's parser
//! refuses reports with non-zero reserved bytes, so every report the SDK
//! accepts survives the round trip byte for byte.
//!
//! What the Trustee shapes cannot carry is left out when converting to them:
//! DCAP collateral and the SDK's runtime-register event log (Trustee fetches
//! collateral itself and replays the CCEL). For Azure vTPM evidence the
//! converters are tee-azure's ([`tee::azure::evidence::to_trustee_json`],
//! [`tee::azure::from_peer_json`]); the Trustee shape has no qualifying-data
//! rule, so evidence read from it is labelled `raw` (the quote's
//! `extraData` is the verifier's nonce as given, as the KBS binding makes
//! it), and the SDK's `vtpm-report-data` and collateral are left out.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
#[cfg(feature = "sev-snp")]
use serde_json::Map;
use serde_json::{Value, json};
#[cfg(feature = "sev-snp")]
use tee::sev::cert_table::{self, CertKind, Guid};
#[cfg(feature = "sev-snp")]
use tee::sev::report::{Product, SnpReport, TcbVersion};
use tee::{Error, Evidence, MalformedKind, Platform, Result, evidence};

use crate::protocol::Tee;

const WHAT: &str = "Trustee evidence";

/// Largest Trustee evidence JSON accepted (64 MiB, as the SDK envelope).
pub const MAX_TRUSTEE_JSON: usize = evidence::MAX_EVIDENCE_JSON;

fn bad(field: &'static str, detail: impl core::fmt::Display) -> Error {
    Error::bad_field(WHAT, field, detail)
}

/// The Trustee TEE name and `primary_evidence` JSON for an SDK envelope.
///
/// # Errors
/// [`Error::Unsupported`] for a platform or format without a Trustee shape
/// (PEF); [`Error::Malformed`] when the report or an endorsement does not parse.
pub fn to_trustee(ev: &Evidence) -> Result<(Tee, Value)> {
    match (ev.platform, ev.format.as_str()) {
        (Platform::SevSnp, evidence::format::SEV_SNP_REPORT) => Ok((Tee::Snp, snp_to_trustee(ev)?)),
        (Platform::Tdx, evidence::format::TDX_QUOTE) => {
            let log = ev
                .endorsement(evidence::endorsement::TCG2_EVENT_LOG)
                .map(|l| Value::String(B64.encode(l)))
                .unwrap_or(Value::Null);
            Ok((
                Tee::Tdx,
                json!({"cc_eventlog": log, "quote": B64.encode(&ev.report)}),
            ))
        }
        #[cfg(feature = "azure")]
        (Platform::SevSnp, tee::azure::FORMAT_SNP) => {
            Ok((Tee::AzSnpVtpm, tee::azure::evidence::to_trustee_json(ev)?))
        }
        #[cfg(feature = "azure")]
        (Platform::Tdx, tee::azure::FORMAT_TDX) => {
            Ok((Tee::AzTdxVtpm, tee::azure::evidence::to_trustee_json(ev)?))
        }
        (Platform::Mock, evidence::format::MOCK_REPORT) => {
            let (rd, _, _) = tee::mock::report::MockReport::parse(&ev.report)?;
            let env: Value = serde_json::from_str(&ev.to_json()?)
                .map_err(|e| Error::encoding("evidence JSON", e))?;
            Ok((
                Tee::Sample,
                json!({"svn": "1", "report_data": B64.encode(rd.report_data.as_bytes()), "sdk_evidence": env}),
            ))
        }
        (p, f) => Err(Error::unsupported(
            p,
            tee::Operation::Attestation,
            format!("evidence format {f:?} has no Trustee KBS shape"),
        )),
    }
}

/// The SDK envelope for Trustee evidence of `tee`.
///
/// # Errors
/// [`Error::Malformed`] for JSON that is not that TEE's shape (or a report
/// that does not parse); [`Error::Unsupported`] for sample evidence without
/// an SDK mock envelope (Trustee's sample TEE signs nothing).
pub fn from_trustee(tee: Tee, v: &Value) -> Result<Evidence> {
    match tee {
        Tee::Snp => snp_from_trustee(v),
        Tee::Tdx => {
            let quote = b64_field(v, "quote")?;
            let mut ev = Evidence::new(Platform::Tdx, evidence::format::TDX_QUOTE, quote);
            match v.get("cc_eventlog") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(Value::String(s)) => {
                    let log = B64.decode(s).map_err(|e| bad("cc_eventlog", e))?;
                    ev = ev.with_endorsement(evidence::endorsement::TCG2_EVENT_LOG, log);
                }
                Some(_) => return Err(bad("cc_eventlog", "not a string or null")),
            }
            Ok(ev)
        }
        Tee::AzSnpVtpm | Tee::AzTdxVtpm => azure_from_trustee(tee, v),
        Tee::Sample => {
            let Some(env) = v.get("sdk_evidence") else {
                return Err(Error::unsupported(
                    Platform::Mock,
                    tee::Operation::Verification,
                    "Trustee sample evidence carries no signature; only the SDK mock's (sdk_evidence) can be checked",
                ));
            };
            let text = serde_json::to_vec(env).map_err(|e| Error::encoding(WHAT, e))?;
            let ev = Evidence::from_json(&text)?;
            if ev.platform != Platform::Mock {
                return Err(bad(
                    "sdk_evidence",
                    "sample evidence must hold mock evidence",
                ));
            }
            // The outer report_data must be the envelope's.
            let (rd, _, _) = tee::mock::report::MockReport::parse(&ev.report)?;
            if b64_field(v, "report_data")? != rd.report_data.as_bytes().as_slice() {
                return Err(bad("report_data", "differs from the mock report's"));
            }
            Ok(ev)
        }
    }
}

/// The TEE of a bare `primary_evidence` object, by its members.
pub fn detect(v: &Value) -> Option<Tee> {
    let o = v.as_object()?;
    let tpm_quote = o.get("tpm_quote").is_some_and(Value::is_object)
        || o.get("quote").is_some_and(Value::is_object);
    if tpm_quote && o.contains_key("td_quote") {
        Some(Tee::AzTdxVtpm)
    } else if tpm_quote && o.contains_key("vcek") {
        Some(Tee::AzSnpVtpm)
    } else if o.contains_key("attestation_report") {
        Some(Tee::Snp)
    } else if o.contains_key("quote") {
        Some(Tee::Tdx)
    } else if o.contains_key("svn") && o.contains_key("report_data") {
        Some(Tee::Sample)
    } else {
        None
    }
}

/// Read evidence JSON in any shape this SDK understands: the SDK envelope,
/// a KBS `Attestation` message (its `tee-evidence.primary_evidence`), a
/// `{"tee": "<name>", "evidence": …}` pair (attestation-rs writes
/// `{"platform": "snp", "evidence": …}`), or a bare Trustee
/// `primary_evidence` object (TEE detected by its members).
///
/// # Errors
/// [`Error::Malformed`] when it is none of these or does not convert.
pub fn evidence_from_any_json(bytes: &[u8]) -> Result<Evidence> {
    if bytes.len() > MAX_TRUSTEE_JSON {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::BadLength {
                expected: MAX_TRUSTEE_JSON,
                actual: bytes.len(),
            },
        ));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::encoding(WHAT, e))?;
    if v.get("version").is_some() && v.get("platform").is_some() {
        return Evidence::from_json(bytes);
    }
    let (named, inner) = if let Some(te) = v.get("tee-evidence") {
        (
            None,
            te.get("primary_evidence")
                .ok_or_else(|| bad("tee-evidence", "no primary_evidence"))?,
        )
    } else if let (Some(t), Some(e)) = (
        v.get("tee").or_else(|| v.get("platform")),
        v.get("evidence"),
    ) {
        let name = t.as_str().ok_or_else(|| bad("tee", "not a string"))?;
        // attestation-rs names the Azure TEEs `az-snp` / `az-tdx`.
        let tee = match name {
            "az-snp" => Some(Tee::AzSnpVtpm),
            "az-tdx" => Some(Tee::AzTdxVtpm),
            other => Tee::from_name(other),
        }
        .ok_or_else(|| bad("tee", format!("no converter for TEE {name:?}")))?;
        (Some(tee), e)
    } else {
        (None, &v)
    };
    // guest-components may send the primary evidence as a JSON string.
    let parsed;
    let inner = match inner {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|e| Error::encoding(WHAT, e))?;
            &parsed
        }
        other => other,
    };
    let tee = named.or_else(|| detect(inner)).ok_or_else(|| {
        bad(
            "evidence",
            "not an SDK envelope or a Trustee snp/tdx/az-snp-vtpm/az-tdx-vtpm/sample evidence",
        )
    })?;
    from_trustee(tee, inner)
}

fn b64_field(v: &Value, name: &'static str) -> Result<Vec<u8>> {
    let s = v
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(name, "missing or not a string"))?;
    B64.decode(s).map_err(|e| bad(name, e))
}

// ---------- Azure vTPM ----------

#[cfg(feature = "azure")]
fn azure_from_trustee(tee: Tee, v: &Value) -> Result<Evidence> {
    // Bounded: the value came from at most MAX_TRUSTEE_JSON bytes of JSON,
    // and tee-azure bounds the text and every field again.
    let text = serde_json::to_vec(v).map_err(|e| Error::encoding(WHAT, e))?;
    let ev = tee::azure::from_peer_json(&text)?;
    if ev.platform != tee.platform() {
        return Err(bad(
            "evidence",
            format!("{} evidence sent as {tee}", ev.platform),
        ));
    }
    Ok(ev)
}

#[cfg(not(feature = "azure"))]
fn azure_from_trustee(tee: Tee, _: &Value) -> Result<Evidence> {
    Err(Error::unsupported(
        tee.platform(),
        tee::Operation::Verification,
        "this build of tee-kbs has no Azure vTPM converter (cargo feature `azure`)",
    ))
}

// ---------- SEV-SNP ----------

#[cfg(not(feature = "sev-snp"))]
fn snp_to_trustee(_: &Evidence) -> Result<Value> {
    Err(no_snp())
}

#[cfg(not(feature = "sev-snp"))]
fn snp_from_trustee(_: &Value) -> Result<Evidence> {
    Err(no_snp())
}

#[cfg(not(feature = "sev-snp"))]
fn no_snp() -> Error {
    Error::unsupported(
        Platform::SevSnp,
        tee::Operation::Verification,
        "this build of tee-kbs has no SEV-SNP converter (cargo feature `sev-snp`)",
    )
}

#[cfg(feature = "sev-snp")]
fn bytes_json(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| Value::from(*x)).collect())
}

#[cfg(feature = "sev-snp")]
fn tcb_json(t: TcbVersion, product: Product) -> Value {
    let d = t.decode(product);
    json!({
        "fmc": d.fmc,
        "bootloader": d.bootloader,
        "tee": d.tee,
        "snp": d.snp,
        "microcode": d.microcode,
    })
}

/// The product whose TCB layout a report uses: from the CPUID fields (v3+),
/// else the Milan/Genoa layout (v2 reports predate Turin).
#[cfg(feature = "sev-snp")]
fn layout_product(r: &SnpReport<'_>) -> Result<Product> {
    match r.cpuid {
        Some(_) => r
            .product()
            .ok_or_else(|| bad("cpuid", "unknown CPU family/model")),
        None => Ok(Product::Milan),
    }
}

#[cfg(feature = "sev-snp")]
fn cert_type_json(k: CertKind) -> Value {
    match k {
        CertKind::Vcek => json!("VCEK"),
        CertKind::Vlek => json!("VLEK"),
        CertKind::Ask => json!("ASK"),
        CertKind::Ark => json!("ARK"),
        CertKind::Crl => json!("CRL"),
        CertKind::Other(g) => json!({"OTHER": guid_text(&g)}),
    }
}

#[cfg(feature = "sev-snp")]
fn guid_text(g: &Guid) -> String {
    let be = [
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13],
        g[14], g[15],
    ];
    let h = hex::encode(be);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(feature = "sev-snp")]
fn guid_parse(s: &str) -> Result<Guid> {
    let h: String = s.chars().filter(|c| *c != '-').collect();
    let be: [u8; 16] = hex::decode(&h)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("cert_type", format!("bad UUID {s:?}")))?;
    Ok([
        be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6], be[8], be[9], be[10], be[11],
        be[12], be[13], be[14], be[15],
    ])
}

#[cfg(feature = "sev-snp")]
fn pem_blocks(text: &[u8]) -> Result<Vec<Vec<u8>>> {
    let text = core::str::from_utf8(text).map_err(|e| bad("cert-chain-pem", e))?;
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN ") {
            cur = Some(String::new());
        } else if line.starts_with("-----END ") {
            let b = cur
                .take()
                .ok_or_else(|| bad("cert-chain-pem", "END without BEGIN"))?;
            out.push(B64.decode(b).map_err(|e| bad("cert-chain-pem", e))?);
        } else if let Some(c) = cur.as_mut() {
            c.push_str(line);
        }
    }
    Ok(out)
}

#[cfg(feature = "sev-snp")]
fn snp_to_trustee(ev: &Evidence) -> Result<Value> {
    let r = SnpReport::parse(&ev.report)?;
    let product = layout_product(&r)?;
    let tcb = |t| tcb_json(t, product);
    let ver = |v: tee::sev::report::FwVersion| json!({"major": v.major, "minor": v.minor, "build": v.build});
    let (fam, model, step) = match r.cpuid {
        Some(c) => (Value::from(c[0]), Value::from(c[1]), Value::from(c[2])),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let report = json!({
        "version": r.version,
        "guest_svn": r.guest_svn,
        "policy": r.policy,
        "family_id": bytes_json(r.family_id),
        "image_id": bytes_json(r.image_id),
        "vmpl": r.vmpl,
        "sig_algo": r.sig_algo,
        "current_tcb": tcb(r.current_tcb),
        "plat_info": r.platform_info,
        "key_info": r.key_info,
        "report_data": bytes_json(r.report_data),
        "measurement": bytes_json(r.measurement),
        "host_data": bytes_json(r.host_data),
        "id_key_digest": bytes_json(r.id_key_digest),
        "author_key_digest": bytes_json(r.author_key_digest),
        "report_id": bytes_json(r.report_id),
        "report_id_ma": bytes_json(r.report_id_ma),
        "reported_tcb": tcb(r.reported_tcb),
        "cpuid_fam_id": fam,
        "cpuid_mod_id": model,
        "cpuid_step": step,
        "chip_id": bytes_json(r.chip_id),
        "committed_tcb": tcb(r.committed_tcb),
        "current": ver(r.current_version),
        "committed": ver(r.committed_version),
        "launch_tcb": tcb(r.launch_tcb),
        "launch_mit_vector": r.launch_mit_vector,
        "current_mit_vector": r.current_mit_vector,
        "signature": {"r": bytes_json(r.sig_r), "s": bytes_json(r.sig_s)},
    });
    let signing_kind = match r.signing_key()? {
        tee::platforms::SnpSigningKey::Vlek => CertKind::Vlek,
        _ => CertKind::Vcek,
    };
    let mut chain: Vec<Value> = Vec::new();
    let mut push = |k: CertKind, data: &[u8]| {
        chain.push(json!({"cert_type": cert_type_json(k), "data": bytes_json(data)}));
    };
    for e in &ev.endorsements {
        match e.kind.as_str() {
            evidence::endorsement::GHCB_CERT_TABLE => {
                for entry in cert_table::parse(&e.data)? {
                    push(entry.kind, entry.data);
                }
            }
            evidence::endorsement::SIGNING_CERT_DER => push(signing_kind, &e.data),
            evidence::endorsement::CERT_CHAIN_PEM => {
                // AMD KDS order: the ASK (or ASVK), then the ARK.
                let blocks = pem_blocks(&e.data)?;
                let n = blocks.len();
                for (i, b) in blocks.iter().enumerate() {
                    push(
                        if i + 1 == n {
                            CertKind::Ark
                        } else {
                            CertKind::Ask
                        },
                        b,
                    );
                }
            }
            evidence::endorsement::AMD_CRL_DER => push(CertKind::Crl, &e.data),
            _ => {}
        }
    }
    let chain = if chain.is_empty() {
        Value::Null
    } else {
        Value::Array(chain)
    };
    Ok(json!({"attestation_report": report, "cert_chain": chain}))
}

#[cfg(feature = "sev-snp")]
fn get<'a>(o: &'a Map<String, Value>, k: &'static str) -> Result<&'a Value> {
    o.get(k).ok_or_else(|| bad(k, "missing"))
}

#[cfg(feature = "sev-snp")]
fn uint(o: &Map<String, Value>, k: &'static str, max: u64) -> Result<u64> {
    get(o, k)?
        .as_u64()
        .filter(|x| *x <= max)
        .ok_or_else(|| bad(k, format!("not an integer in 0..={max}")))
}

#[cfg(feature = "sev-snp")]
fn opt_uint(o: &Map<String, Value>, k: &'static str, max: u64) -> Result<Option<u64>> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => uint(o, k, max).map(Some),
    }
}

#[cfg(feature = "sev-snp")]
fn byte_array<const N: usize>(v: &Value, k: &'static str) -> Result<[u8; N]> {
    let a = v.as_array().ok_or_else(|| bad(k, "not an array"))?;
    if a.len() != N {
        return Err(bad(k, format!("{} bytes, expected {N}", a.len())));
    }
    let mut out = [0u8; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = x
            .as_u64()
            .and_then(|b| u8::try_from(b).ok())
            .ok_or_else(|| bad(k, "not a byte"))?;
    }
    Ok(out)
}

#[cfg(feature = "sev-snp")]
fn bytes<const N: usize>(o: &Map<String, Value>, k: &'static str) -> Result<[u8; N]> {
    byte_array(get(o, k)?, k)
}

#[cfg(feature = "sev-snp")]
fn tcb_bytes(o: &Map<String, Value>, k: &'static str, turin: bool) -> Result<[u8; 8]> {
    let t = get(o, k)?
        .as_object()
        .ok_or_else(|| bad(k, "not an object"))?;
    let f = |n| uint(t, n, 255).map(|x| x as u8);
    let (bl, te, snp, uc) = (f("bootloader")?, f("tee")?, f("snp")?, f("microcode")?);
    let fmc = opt_uint(t, "fmc", 255)?.map(|x| x as u8);
    Ok(if turin {
        [fmc.unwrap_or(0), bl, te, snp, 0, 0, 0, uc]
    } else {
        if fmc.is_some_and(|x| x != 0) {
            return Err(bad(k, "an FMC SPL in a pre-Turin TCB"));
        }
        [bl, te, 0, 0, 0, 0, snp, uc]
    })
}

#[cfg(feature = "sev-snp")]
fn snp_from_trustee(v: &Value) -> Result<Evidence> {
    let report = match get(
        v.as_object()
            .ok_or_else(|| bad("evidence", "not an object"))?,
        "attestation_report",
    )? {
        // attestation-rs: the raw report in base64.
        Value::String(s) => B64.decode(s).map_err(|e| bad("attestation_report", e))?,
        Value::Object(o) => snp_report_bytes(o)?,
        _ => return Err(bad("attestation_report", "not an object or a string")),
    };
    SnpReport::parse(&report)?;
    let mut ev = Evidence::new(Platform::SevSnp, evidence::format::SEV_SNP_REPORT, report);
    match v.get("cert_chain") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            if a.len() > cert_table::MAX_ENTRIES {
                return Err(bad("cert_chain", "too many entries"));
            }
            let mut entries: Vec<(CertKind, Vec<u8>)> = Vec::with_capacity(a.len());
            for e in a {
                let kind = match e.get("cert_type") {
                    Some(Value::String(s)) => match s.as_str() {
                        "VCEK" => CertKind::Vcek,
                        "VLEK" => CertKind::Vlek,
                        "ASK" => CertKind::Ask,
                        "ARK" => CertKind::Ark,
                        "CRL" => CertKind::Crl,
                        other => return Err(bad("cert_type", format!("unknown {other:?}"))),
                    },
                    Some(Value::Object(o)) => match o.get("OTHER").and_then(Value::as_str) {
                        Some(u) => CertKind::Other(guid_parse(u)?),
                        None => return Err(bad("cert_type", "unknown object")),
                    },
                    _ => return Err(bad("cert_type", "missing")),
                };
                let data = e
                    .get("data")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("data", "not an array"))?;
                if data.len() > cert_table::MAX_TABLE_LEN {
                    return Err(bad("data", "too large"));
                }
                let data: Vec<u8> = data
                    .iter()
                    .map(|x| x.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("data", "not bytes"))?;
                entries.push((kind, data));
            }
            let refs: Vec<(CertKind, &[u8])> =
                entries.iter().map(|(k, d)| (*k, d.as_slice())).collect();
            ev = ev.with_endorsement(
                evidence::endorsement::GHCB_CERT_TABLE,
                cert_table::build(&refs),
            );
        }
        Some(Value::Object(o)) => {
            // attestation-rs: {"vcek": b64 DER, "ask": …, "ark": …}
            let mut entries = Vec::new();
            for (name, kind) in [
                ("vcek", CertKind::Vcek),
                ("vlek", CertKind::Vlek),
                ("ask", CertKind::Ask),
                ("ark", CertKind::Ark),
            ] {
                if let Some(s) = o.get(name).and_then(Value::as_str) {
                    entries.push((kind, B64.decode(s).map_err(|e| bad("cert_chain", e))?));
                }
            }
            let refs: Vec<(CertKind, &[u8])> =
                entries.iter().map(|(k, d)| (*k, d.as_slice())).collect();
            if !refs.is_empty() {
                ev = ev.with_endorsement(
                    evidence::endorsement::GHCB_CERT_TABLE,
                    cert_table::build(&refs),
                );
            }
        }
        Some(_) => return Err(bad("cert_chain", "not an array, object or null")),
    }
    Ok(ev)
}

#[cfg(feature = "sev-snp")]
fn snp_report_bytes(o: &Map<String, Value>) -> Result<Vec<u8>> {
    let version = uint(o, "version", u32::MAX.into())? as u32;
    if !matches!(version, 2..=5) {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::UnsupportedVersion(version),
        ));
    }
    let cpuid = [
        opt_uint(o, "cpuid_fam_id", 255)?,
        opt_uint(o, "cpuid_mod_id", 255)?,
        opt_uint(o, "cpuid_step", 255)?,
    ];
    let turin = match cpuid {
        [Some(f), Some(m), _] => Product::from_cpuid(f as u8, m as u8) == Some(Product::Turin),
        _ => get(o, "current_tcb")?
            .get("fmc")
            .is_some_and(|f| !f.is_null()),
    };
    let mut b = vec![0u8; tee::sev::report::REPORT_LEN];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    let u32f = |k| uint(o, k, u32::MAX.into()).map(|x| (x as u32).to_le_bytes());
    let u64f = |k| uint(o, k, u64::MAX).map(u64::to_le_bytes);
    put(0x00, &version.to_le_bytes());
    put(0x04, &u32f("guest_svn")?);
    put(0x08, &u64f("policy")?);
    put(0x10, &bytes::<16>(o, "family_id")?);
    put(0x20, &bytes::<16>(o, "image_id")?);
    put(0x30, &u32f("vmpl")?);
    put(0x34, &u32f("sig_algo")?);
    put(0x38, &tcb_bytes(o, "current_tcb", turin)?);
    put(0x40, &u64f("plat_info")?);
    put(0x48, &u32f("key_info")?);
    put(0x50, &bytes::<64>(o, "report_data")?);
    put(0x90, &bytes::<48>(o, "measurement")?);
    put(0xC0, &bytes::<32>(o, "host_data")?);
    put(0xE0, &bytes::<48>(o, "id_key_digest")?);
    put(0x110, &bytes::<48>(o, "author_key_digest")?);
    put(0x140, &bytes::<32>(o, "report_id")?);
    put(0x160, &bytes::<32>(o, "report_id_ma")?);
    put(0x180, &tcb_bytes(o, "reported_tcb", turin)?);
    if version >= 3 {
        for (i, c) in cpuid.iter().enumerate() {
            put(0x188 + i, &[c.unwrap_or(0) as u8]);
        }
    }
    put(0x1A0, &bytes::<64>(o, "chip_id")?);
    put(0x1E0, &tcb_bytes(o, "committed_tcb", turin)?);
    for (off, k) in [(0x1E8, "current"), (0x1EC, "committed")] {
        let v = get(o, k)?
            .as_object()
            .ok_or_else(|| bad(k, "not an object"))?;
        let f = |n| uint(v, n, 255).map(|x| x as u8);
        put(off, &[f("build")?, f("minor")?, f("major")?]);
    }
    put(0x1F0, &tcb_bytes(o, "launch_tcb", turin)?);
    if version >= 5 {
        put(
            0x1F8,
            &opt_uint(o, "launch_mit_vector", u64::MAX)?
                .unwrap_or(0)
                .to_le_bytes(),
        );
        put(
            0x200,
            &opt_uint(o, "current_mit_vector", u64::MAX)?
                .unwrap_or(0)
                .to_le_bytes(),
        );
    }
    let sig = get(o, "signature")?;
    put(
        0x2A0,
        &byte_array::<72>(sig.get("r").unwrap_or(&Value::Null), "signature.r")?,
    );
    put(
        0x2A0 + 72,
        &byte_array::<72>(sig.get("s").unwrap_or(&Value::Null), "signature.s")?,
    );
    Ok(b)
}
