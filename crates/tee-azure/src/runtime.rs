//! The runtime-claims JSON (HCL variable data, facts §1.5): the vTPM
//! attestation key `HCLAkPub` (RSA JWK), `vm-configuration`, `user-data`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;
use tee_core::{Error, Result};

/// Smallest AK modulus accepted (2048 bits).
pub const MIN_AK_BITS: usize = 2048;
/// Largest AK modulus accepted (4096 bits).
pub const MAX_AK_BITS: usize = 4096;

const WHAT: &str = "HCL runtime claims";

/// The parts of the runtime claims a verifier uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeClaims {
    /// `HCLAkPub.n`, big-endian, no leading zeros.
    pub ak_modulus: Vec<u8>,
    /// `HCLAkPub.e`, big-endian.
    pub ak_exponent: Vec<u8>,
    /// `user-data` decoded (64 zero bytes when absent).
    pub user_data: [u8; 64],
    /// Whether `user-data` was present.
    pub user_data_present: bool,
    /// `vm-configuration` (empty when absent).
    pub vm_configuration: BTreeMap<String, Value>,
}

fn b64url(field: &'static str, s: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| Error::bad_field(WHAT, field, format_args!("not base64url: {e}")))
}

impl RuntimeClaims {
    /// Parse the variable data (UTF-8 JSON). The AK is the key with
    /// `kid == "HCLAkPub"` and `kty == "RSA"`; `key_ops` is not checked
    /// (an older capture lists `["encrypt"]` for the AK). Unknown keys are
    /// ignored.
    ///
    /// # Errors
    /// [`Error::Malformed`]: not JSON, no `HCLAkPub`, bad base64url, a
    /// modulus outside 2048..=4096 bits, `user-data` not 128 hex digits.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::encoding(WHAT, e))?;
        let keys = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::bad_field(WHAT, "keys", "missing or not an array"))?;
        let ak = keys
            .iter()
            .find(|k| {
                k.get("kid").and_then(Value::as_str) == Some("HCLAkPub")
                    && k.get("kty").and_then(Value::as_str) == Some("RSA")
            })
            .ok_or_else(|| Error::bad_field(WHAT, "keys", "no RSA key with kid HCLAkPub"))?;
        let s = |f: &'static str| {
            ak.get(f)
                .and_then(Value::as_str)
                .ok_or_else(|| Error::bad_field(WHAT, f, "missing or not a string"))
        };
        let mut n = b64url("n", s("n")?)?;
        let lead = n.iter().take_while(|&&b| b == 0).count();
        n.drain(..lead);
        let bits = n.len() * 8;
        if !(MIN_AK_BITS..=MAX_AK_BITS).contains(&bits) {
            return Err(Error::bad_field(
                WHAT,
                "n",
                format_args!("{bits}-bit modulus, need {MIN_AK_BITS}..={MAX_AK_BITS}"),
            ));
        }
        let e = b64url("e", s("e")?)?;
        if e.is_empty() || e.len() > 8 {
            return Err(Error::bad_field(
                WHAT,
                "e",
                "exponent of 1..=8 bytes expected",
            ));
        }
        let (user_data, user_data_present) = match v.get("user-data") {
            None | Some(Value::Null) => ([0u8; 64], false),
            Some(Value::String(h)) => {
                let b = hex::decode(h).map_err(|e| {
                    Error::bad_field(WHAT, "user-data", format_args!("not hex: {e}"))
                })?;
                let a: [u8; 64] = b.as_slice().try_into().map_err(|_| {
                    Error::bad_field(
                        WHAT,
                        "user-data",
                        format_args!("{} bytes, expected 64", b.len()),
                    )
                })?;
                (a, true)
            }
            Some(_) => return Err(Error::bad_field(WHAT, "user-data", "not a string")),
        };
        let vm_configuration = match v.get("vm-configuration") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            None => BTreeMap::new(),
            Some(_) => {
                return Err(Error::bad_field(WHAT, "vm-configuration", "not an object"));
            }
        };
        Ok(Self {
            ak_modulus: n,
            ak_exponent: e,
            user_data,
            user_data_present,
            vm_configuration,
        })
    }

    /// The exponent as a number (≤ 8 bytes).
    pub fn exponent_u64(&self) -> u64 {
        self.ak_exponent
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }
}

/// Runtime-claims JSON as the paravisor writes it (for fakes and tests):
/// `HCLAkPub` with `n` (base64url), `vm-configuration`, `user-data` as
/// upper-case hex of 64 bytes.
pub fn build(ak_modulus: &[u8], user_data: &[u8; 64]) -> Vec<u8> {
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ak_modulus);
    format!(
        "{{\"keys\":[{{\"kid\":\"HCLAkPub\",\"key_ops\":[\"sign\"],\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"{n}\"}}],\
         \"vm-configuration\":{{\"console-enabled\":true,\"secure-boot\":true,\"tpm-enabled\":true,\
         \"tpm-persisted\":true,\"vmUniqueId\":\"00000000-0000-4000-8000-000000000000\"}},\
         \"user-data\":\"{}\"}}",
        hex::encode_upper(user_data)
    )
    .into_bytes()
}
