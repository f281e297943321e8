//! RFC 8785 JSON Canonicalization Scheme (JCS) for the values the KBS
//! protocol hashes: objects, arrays, strings, booleans, null and integers.
//!
//! Object members are sorted by the UTF-16 code units of their names;
//! strings are escaped as ECMAScript's `JSON.stringify` does (which is what
//! `serde_json` writes for strings); no whitespace. Non-integer numbers are
//! refused (the protocol never hashes one, and their JCS form needs the
//! ECMAScript number formatting).

use serde_json::Value;

/// Most nesting accepted (the protocol's runtime data is three levels deep).
const MAX_DEPTH: usize = 32;

/// The JCS text of `v`.
///
/// # Errors
/// A description when `v` holds a non-integer number or nests deeper than 32.
pub fn canonicalize(v: &Value) -> Result<String, &'static str> {
    let mut out = String::new();
    write(v, &mut out, 0)?;
    Ok(out)
}

fn write(v: &Value, out: &mut String, depth: usize) -> Result<(), &'static str> {
    if depth > MAX_DEPTH {
        return Err("JSON nests too deep");
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                return Err("non-integer number");
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write(x, out, depth + 1)?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sha2::{Digest, Sha384};

    #[test]
    fn trustee_vector() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":"test","c":{"d":"e"}}"#).unwrap();
        let c = canonicalize(&v).unwrap();
        assert_eq!(c, r#"{"a":"test","b":1,"c":{"d":"e"}}"#);
        let h = hex::encode(Sha384::digest(c.as_bytes()));
        assert!(h.starts_with("e71ce8e7"), "{h}");
        assert!(h.ends_with("78870c3"), "{h}");
    }

    #[test]
    fn escapes_sorting_and_refusals() {
        let v: Value =
            serde_json::from_str("{\"\u{e9}\":1,\"z\":[true,null,-3],\"a\\n\":\"\\u0001\\\"/\"}")
                .unwrap();
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"a\\n\":\"\\u0001\\\"/\",\"z\":[true,null,-3],\"\u{e9}\":1}"
        );
        // UTF-16 order: U+FF61 sorts after U+1F600 (a surrogate pair, 0xD83D...).
        let v = serde_json::json!({"\u{ff61}": 1, "\u{1f600}": 2});
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"\u{1f600}\":2,\"\u{ff61}\":1}"
        );
        assert!(canonicalize(&serde_json::json!({"x": 1.5})).is_err());
        let mut deep = serde_json::json!(1);
        for _ in 0..40 {
            deep = serde_json::json!([deep]);
        }
        assert!(canonicalize(&deep).is_err());
    }
}
