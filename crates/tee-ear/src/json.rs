//! Strict JSON and base64url for JOSE: duplicate members are rejected (a
//! verifier and another consumer must never read different values from one
//! token), and base64url is the unpadded URL-safe alphabet only.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::EarError;

/// Deepest JSON nesting accepted (serde_json stops at 128 on its own).
const MAX_DEPTH: usize = 32;

/// base64url without padding.
pub(crate) fn b64e(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding; padding, `+`, `/` and whitespace are
/// rejected, and so are non-canonical trailing bits.
pub(crate) fn b64d(part: &'static str, s: &str) -> Result<Vec<u8>, EarError> {
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|e| EarError::malformed(part, format_args!("invalid base64url: {e}")))
}

/// Parse a JSON object, rejecting duplicate members at any depth and
/// nesting deeper than [`MAX_DEPTH`].
pub(crate) fn parse_object(
    part: &'static str,
    bytes: &[u8],
) -> Result<Map<String, Value>, EarError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = de
        .deserialize_any(StrictVisitor { depth: 0 })
        .map_err(|e| EarError::malformed(part, e))?;
    de.end().map_err(|e| EarError::malformed(part, e))?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(EarError::malformed(part, "not a JSON object")),
    }
}

struct StrictVisitor {
    depth: usize,
}

struct StrictSeed {
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { depth: self.depth })
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("JSON nested too deeply"));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed { depth })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("JSON nested too deeply"));
        }
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format_args!("duplicate member `{k}`")));
            }
            let v = map.next_value_seed(StrictSeed { depth })?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_rejected_at_every_depth() {
        assert!(parse_object("x", br#"{"a":1,"b":{"c":2}}"#).is_ok());
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"b":{"c":1,"c":1}}"#,
            br#"{"b":[{"c":1,"c":1}]}"#,
        ] {
            let e = parse_object("x", bad).unwrap_err();
            assert!(matches!(e, EarError::Malformed { part: "x", .. }), "{e:?}");
        }
    }

    #[test]
    fn depth_trailing_and_non_objects_rejected() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(matches!(
            parse_object("x", deep.as_bytes()),
            Err(EarError::Malformed { .. })
        ));
        assert!(parse_object("x", b"{} {}").is_err());
        assert!(parse_object("x", b"[1]").is_err());
        assert!(parse_object("x", b"\"s\"").is_err());
        assert!(parse_object("x", b"").is_err());
    }

    #[test]
    fn base64url_strict() {
        assert_eq!(b64d("x", "AQID").unwrap(), vec![1, 2, 3]);
        assert_eq!(b64e(&[0xfb, 0xff]), "-_8");
        assert!(b64d("x", "AQID=").is_err());
        assert!(b64d("x", "+/8").is_err());
        assert!(b64d("x", "AQ ID").is_err());
        // Non-canonical trailing bits ("AR" decodes to 0x01 with a stray bit).
        assert!(b64d("x", "AR").is_err());
    }
}
