//! The JavaScript surface: arguments checked and converted to an [`Input`],
//! the verdict returned as an object, every failure a JavaScript `Error`
//! (name `TeeError`) with a `class` property (and `exitCode`, as `teectl`).

use js_sys::{Array, ArrayBuffer, Error, JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::{
    Evidence, Failure, Input, MAX_CERT, MAX_CHAIN_CERTS, MAX_COLLATERAL, MAX_EVENT_LOG,
    MAX_EVIDENCE_JSON, MAX_POLICY, MAX_QUOTE, MAX_SNP_REPORT,
};

/// Largest `at` given as a `number` (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Verify and appraise evidence; returns the object `teectl verify` prints
/// (`JSON.parse` of the text [`verify_json`] returns: integers above 2^53,
/// the `raw` register words, are rounded as `JSON.parse` rounds them).
///
/// - `evidence`: evidence JSON (`string` or `Uint8Array`), or
///   `{ snpReport, vcek?, chain? }`, or `{ tdxQuote, ccel? }` (bytes as
///   `Uint8Array`; `chain` an array of them);
/// - `collateral`: a collateral bundle or a TDX `QuoteCollateralV3` JSON
///   document (`Uint8Array`), or `undefined`;
/// - `policyToml`: the appraisal policy (`string`), or `undefined` for the
///   default policy (it admits no workload);
/// - `atUnixSeconds`: the verification time (`number` or `bigint`,
///   required: no clock is read);
/// - `reportData`: the expected 64 bytes (`Uint8Array`), or `undefined`;
/// - `options`: `{ allowUncheckedRevocation?: boolean, trustMockRoot?: boolean }`.
///
/// # Errors
/// Throws a `TeeError` whose `class` is `usage`, `malformed`,
/// `authenticity`, `policy` (the appraisal failed; `err.result` is the full
/// result, `err.resultJson` its text) or `unsupported`.
#[wasm_bindgen(skip_typescript)]
pub fn verify(
    evidence: JsValue,
    collateral: JsValue,
    policy_toml: JsValue,
    at_unix_seconds: JsValue,
    report_data: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let json = verify_json(
        evidence,
        collateral,
        policy_toml,
        at_unix_seconds,
        report_data,
        options,
    )?;
    parse(&json).map_err(|f| error(&f))
}

/// [`verify`], returning the JSON text exactly as `teectl verify` prints it
/// (pretty-printed, without the final newline; every integer exact).
///
/// # Errors
/// As [`verify`].
#[wasm_bindgen(js_name = verifyJson, skip_typescript)]
pub fn verify_json(
    evidence: JsValue,
    collateral: JsValue,
    policy_toml: JsValue,
    at_unix_seconds: JsValue,
    report_data: JsValue,
    options: JsValue,
) -> Result<String, JsValue> {
    let run = || -> Result<String, Failure> {
        let mut input = Input::new(evidence_of(&evidence)?, at_of(&at_unix_seconds)?);
        input.collateral = opt_bytes(&collateral, "collateral", MAX_COLLATERAL)?;
        input.policy = opt_string(&policy_toml, "policyToml", MAX_POLICY)?;
        input.report_data = opt_bytes(&report_data, "reportData", 64)?;
        if !options.is_null_or_undefined() {
            let o = object(&options, "options")?;
            only_keys(o, "options", &["allowUncheckedRevocation", "trustMockRoot"])?;
            input.allow_unchecked_revocation = opt_bool(o, "allowUncheckedRevocation")?;
            input.trust_mock_root = opt_bool(o, "trustMockRoot")?;
        }
        crate::verify(&input)
    };
    run().map_err(|f| error(&f))
}

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = r#"
/** Raw SEV-SNP evidence: the report (binary or hex), its VCEK/VLEK, any ASK/ASVK/ARK. */
export interface SnpEvidence { snpReport: Uint8Array; vcek?: Uint8Array; chain?: Uint8Array[] }
/** Raw TDX evidence: the quote and, optionally, its CCEL event log. */
export interface TdxEvidence { tdxQuote: Uint8Array; ccel?: Uint8Array }
/** Options that change what is accepted (each shown in the claims). */
export interface VerifyOptions {
  /** Accept collateral without revocation lists. */
  allowUncheckedRevocation?: boolean;
  /** Trust the mock root. NO SECURITY. */
  trustMockRoot?: boolean;
}
/** The error every failure throws. */
export interface TeeError extends Error {
  name: "TeeError";
  class: "usage" | "io" | "malformed" | "authenticity" | "policy" | "unsupported";
  /** The exit code `teectl verify` gives for the same failure. */
  exitCode: 1 | 2 | 3 | 4 | 5;
  /** With class "policy": the full result (appraisal.passed is false). */
  result?: any;
  /** With class "policy": the result's JSON text, as `teectl verify` prints it. */
  resultJson?: string;
}
/**
 * Verify and appraise evidence; returns the JSON `teectl verify` prints, as an object.
 * Throws a TeeError (see its `class`); a failing appraisal is class "policy".
 * Integers above 2^53 (the `raw` register words) are rounded, as by JSON.parse;
 * verifyJson gives the exact text.
 */
export function verify(
  evidence: string | Uint8Array | SnpEvidence | TdxEvidence,
  collateral: Uint8Array | undefined | null,
  policyToml: string | undefined | null,
  atUnixSeconds: number | bigint,
  reportData?: Uint8Array | null,
  options?: VerifyOptions | null,
): any;
/** verify, returning the JSON text exactly as `teectl verify` prints it (every integer exact). */
export function verifyJson(
  evidence: string | Uint8Array | SnpEvidence | TdxEvidence,
  collateral: Uint8Array | undefined | null,
  policyToml: string | undefined | null,
  atUnixSeconds: number | bigint,
  reportData?: Uint8Array | null,
  options?: VerifyOptions | null,
): string;
"#;

fn evidence_of(v: &JsValue) -> Result<Evidence, Failure> {
    if let Some(s) = v.dyn_ref::<JsString>() {
        return Ok(Evidence::Json(
            string(s, "evidence", MAX_EVIDENCE_JSON)?.into_bytes(),
        ));
    }
    if v.is_instance_of::<Uint8Array>() || v.is_instance_of::<ArrayBuffer>() {
        return Ok(Evidence::Json(bytes(v, "evidence", MAX_EVIDENCE_JSON)?));
    }
    let o = object(v, "evidence").map_err(|_| {
        Failure::usage(
            "evidence: expected evidence JSON (string or Uint8Array), \
             { snpReport, vcek?, chain? } or { tdxQuote, ccel? }",
        )
    })?;
    let has = |k: &str| Reflect::has(o, &JsValue::from_str(k)).unwrap_or(false);
    match (has("snpReport"), has("tdxQuote")) {
        (true, false) => {
            only_keys(o, "evidence", &["snpReport", "vcek", "chain"])?;
            let report = bytes(&get(o, "snpReport")?, "evidence.snpReport", MAX_SNP_REPORT)?;
            let vcek = opt_bytes(&get(o, "vcek")?, "evidence.vcek", MAX_CERT)?;
            let chain_v = get(o, "chain")?;
            let mut chain = Vec::new();
            if !chain_v.is_null_or_undefined() {
                let a = chain_v.dyn_ref::<Array>().ok_or_else(|| {
                    Failure::usage("evidence.chain: expected an array of Uint8Array")
                })?;
                let n = usize::try_from(a.length()).unwrap_or(usize::MAX);
                if n > MAX_CHAIN_CERTS {
                    return Err(Failure::usage(format!(
                        "evidence.chain: {n} certificates, more than {MAX_CHAIN_CERTS}"
                    )));
                }
                for c in a.iter() {
                    chain.push(bytes(&c, "evidence.chain[]", MAX_CERT)?);
                }
            }
            Ok(Evidence::Snp {
                report,
                vcek,
                chain,
            })
        }
        (false, true) => {
            only_keys(o, "evidence", &["tdxQuote", "ccel"])?;
            let quote = bytes(&get(o, "tdxQuote")?, "evidence.tdxQuote", MAX_QUOTE)?;
            let ccel = opt_bytes(&get(o, "ccel")?, "evidence.ccel", MAX_EVENT_LOG)?;
            Ok(Evidence::Tdx { quote, ccel })
        }
        (true, true) => Err(Failure::usage(
            "evidence: give either snpReport or tdxQuote, not both",
        )),
        (false, false) => Err(Failure::usage(
            "evidence: expected evidence JSON (string or Uint8Array), \
             { snpReport, vcek?, chain? } or { tdxQuote, ccel? }",
        )),
    }
}

/// The verification time: a non-negative integer `number` (at most
/// `Number.MAX_SAFE_INTEGER`) or a `bigint` that fits in 64 bits.
fn at_of(v: &JsValue) -> Result<u64, Failure> {
    if v.is_null_or_undefined() {
        return Err(Failure::usage(
            "atUnixSeconds is required (seconds since the Unix epoch): this build reads no clock",
        ));
    }
    if v.is_bigint() {
        return u64::try_from(v.clone())
            .map_err(|_| Failure::usage("atUnixSeconds: a bigint from 0 to 2^64-1"));
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&f) => {
            // Exact: an integer no larger than 2^53 - 1.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(f as u64)
        }
        _ => Err(Failure::usage(
            "atUnixSeconds: a non-negative integer number of seconds (or a bigint)",
        )),
    }
}

fn object<'a>(v: &'a JsValue, what: &str) -> Result<&'a Object, Failure> {
    if !v.is_object() || v.is_function() || Array::is_array(v) {
        return Err(Failure::usage(format!("{what}: expected an object")));
    }
    v.dyn_ref::<Object>()
        .ok_or_else(|| Failure::usage(format!("{what}: expected an object")))
}

/// Refuse keys other than `allowed` (a misspelt option is an error, not a
/// silently ignored weakening or check).
fn only_keys(o: &Object, what: &str, allowed: &[&str]) -> Result<(), Failure> {
    for k in Object::keys(o).iter() {
        let k = k.as_string().unwrap_or_default();
        if !allowed.contains(&k.as_str()) {
            return Err(Failure::usage(format!(
                "{what}: unknown key `{k}` (expected {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn get(o: &Object, k: &str) -> Result<JsValue, Failure> {
    Reflect::get(o, &JsValue::from_str(k)).map_err(|_| Failure::usage(format!("cannot read `{k}`")))
}

fn opt_bool(o: &Object, k: &str) -> Result<bool, Failure> {
    let v = get(o, k)?;
    if v.is_null_or_undefined() {
        return Ok(false);
    }
    v.as_bool()
        .ok_or_else(|| Failure::usage(format!("options.{k}: expected a boolean")))
}

/// Bytes of a `Uint8Array` (a Node `Buffer` is one) or `ArrayBuffer`,
/// bounded before they are copied.
fn bytes(v: &JsValue, what: &str, limit: usize) -> Result<Vec<u8>, Failure> {
    let a = if let Some(a) = v.dyn_ref::<Uint8Array>() {
        a.clone()
    } else if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
        Uint8Array::new(b)
    } else {
        return Err(Failure::usage(format!("{what}: expected a Uint8Array")));
    };
    let len = usize::try_from(a.length()).unwrap_or(usize::MAX);
    crate::check_len(what, len, limit)?;
    Ok(a.to_vec())
}

fn opt_bytes(v: &JsValue, what: &str, limit: usize) -> Result<Option<Vec<u8>>, Failure> {
    if v.is_null_or_undefined() {
        return Ok(None);
    }
    bytes(v, what, limit).map(Some)
}

/// A string bounded before it is copied (UTF-16 units first, then bytes).
fn string(s: &JsString, what: &str, limit: usize) -> Result<String, Failure> {
    let units = usize::try_from(s.length()).unwrap_or(usize::MAX);
    crate::check_len(what, units, limit)?;
    let out = String::from(s);
    crate::check_len(what, out.len(), limit)?;
    Ok(out)
}

fn opt_string(v: &JsValue, what: &str, limit: usize) -> Result<Option<String>, Failure> {
    if v.is_null_or_undefined() {
        return Ok(None);
    }
    let s = v
        .dyn_ref::<JsString>()
        .ok_or_else(|| Failure::usage(format!("{what}: expected a string")))?;
    string(s, what, limit).map(Some)
}

fn parse(json: &str) -> Result<JsValue, Failure> {
    js_sys::JSON::parse(json).map_err(|_| Failure::usage("result JSON did not parse"))
}

/// A `TeeError`: `message`, `class`, `exitCode`, and `result` for a failed
/// appraisal.
fn error(f: &Failure) -> JsValue {
    let e = Error::new(&f.message);
    e.set_name("TeeError");
    let set = |k: &str, v: &JsValue| {
        // Setting a property of a fresh Error object does not fail.
        let _ = Reflect::set(&e, &JsValue::from_str(k), v);
    };
    set("class", &JsValue::from_str(f.class.name()));
    set("exitCode", &JsValue::from(f.class.exit_code()));
    if let Some(r) = &f.result {
        if let Ok(v) = parse(r) {
            set("result", &v);
        }
        set("resultJson", &JsValue::from_str(r));
    }
    e.into()
}
