//! Python values in (bytes, times, report data) and JSON out, each input
//! bounded before it is copied.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString};
use serde_json::Value;
use tee::{ReportData, UnixTime};

use crate::errors;

/// Bytes given by the caller: a `bytes` object borrowed as is, or a copy
/// (of a `bytearray`, or of a `str` where text is accepted).
pub(crate) enum Buf<'py> {
    /// Borrowed from an immutable `bytes` object (kept alive here).
    Bytes(Bound<'py, PyBytes>),
    /// Copied.
    Owned(Vec<u8>),
}

impl Buf<'_> {
    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b.as_bytes(),
            Self::Owned(v) => v,
        }
    }
}

/// Whether a `str` is accepted for a bytes argument (as its UTF-8).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// `str` accepted (JSON documents).
    Allowed,
    /// Binary only.
    Refused,
}

/// The bytes of argument `what`: `bytes` or `bytearray` (or `str` when
/// `text` allows it), at most `max` bytes (checked before any copy).
///
/// # Errors
/// `TypeError` for another type; `MalformedError` over the limit.
pub(crate) fn bytes_arg<'py>(
    what: &str,
    obj: &Bound<'py, PyAny>,
    max: usize,
    text: Text,
) -> PyResult<Buf<'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        let n = b.as_bytes().len();
        if n > max {
            return Err(errors::too_large(what, n, max));
        }
        return Ok(Buf::Bytes(b.clone()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        let n = b.len();
        if n > max {
            return Err(errors::too_large(what, n, max));
        }
        return Ok(Buf::Owned(b.to_vec()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        if text == Text::Allowed {
            // A str of more than `max` code points is more than `max` bytes.
            let chars = s.len()?;
            if chars > max {
                return Err(errors::too_large(what, chars, max));
            }
            let owned = s.to_cow()?.into_owned().into_bytes();
            if owned.len() > max {
                return Err(errors::too_large(what, owned.len(), max));
            }
            return Ok(Buf::Owned(owned));
        }
        return Err(PyTypeError::new_err(format!(
            "{what}: expected bytes or bytearray, got str (encode it, or give the raw bytes)"
        )));
    }
    let accepted = match text {
        Text::Allowed => "bytes, bytearray or str",
        Text::Refused => "bytes or bytearray",
    };
    Err(PyTypeError::new_err(format!(
        "{what}: expected {accepted}, got {}",
        type_name(obj)
    )))
}

/// The text of argument `what` (`str`, or UTF-8 `bytes`), at most `max` bytes.
///
/// # Errors
/// `TypeError` for another type; `MalformedError` over the limit;
/// `UsageError` for bytes that are not UTF-8.
pub(crate) fn text_arg(what: &str, obj: &Bound<'_, PyAny>, max: usize) -> PyResult<String> {
    let b = bytes_arg(what, obj, max, Text::Allowed)?;
    String::from_utf8(b.as_slice().to_vec())
        .map_err(|e| errors::usage(format!("{what}: not UTF-8 text ({e})")))
}

/// The verification time: a timezone-aware `datetime`, Unix seconds
/// (`int`), or an RFC 3339 string. A naive `datetime` is refused: its
/// zone would be a guess.
///
/// # Errors
/// `UsageError` for a naive datetime, a negative time or a string that is
/// not RFC 3339; `TypeError` for another type.
pub(crate) fn time_arg(obj: &Bound<'_, PyAny>) -> PyResult<UnixTime> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "at: expected a datetime, int (Unix seconds) or RFC 3339 str, got bool",
        ));
    }
    if obj.is_instance_of::<PyInt>() {
        let secs: i128 = obj.extract()?;
        return u64::try_from(secs)
            .map(UnixTime::from_secs)
            .map_err(|_| errors::usage(format!("at: {secs} is not a time after 1970")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        return UnixTime::parse_rfc3339(&s).map_err(|e| errors::usage(format!("at: {e}")));
    }
    let datetime = py.import("datetime")?.getattr("datetime")?;
    if obj.is_instance(&datetime)? {
        if obj.call_method0("utcoffset")?.is_none() {
            return Err(errors::usage(
                "at: a naive datetime has no time zone; give an aware one \
                 (e.g. datetime.now(timezone.utc))",
            ));
        }
        let ts: f64 = obj.call_method0("timestamp")?.extract()?;
        let secs = ts.floor();
        if !(0.0..=u64::MAX as f64).contains(&secs) {
            return Err(errors::usage(format!("at: {ts} is not a time after 1970")));
        }
        // In range and integral: the conversion is exact up to f64 precision.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(UnixTime::from_secs(secs as u64));
    }
    Err(PyTypeError::new_err(format!(
        "at: expected a datetime, int (Unix seconds) or RFC 3339 str, got {}",
        type_name(obj)
    )))
}

/// Report data: 64 bytes, or 128 hex digits.
///
/// # Errors
/// `UsageError` for another length or non-hex text; `TypeError` for
/// another type.
pub(crate) fn report_data_arg(what: &str, obj: &Bound<'_, PyAny>) -> PyResult<ReportData> {
    let bytes = hex_or_bytes(what, obj, 64)?;
    ReportData::from_slice(&bytes).map_err(|_| {
        errors::usage(format!(
            "{what} must be exactly 64 bytes (128 hex digits), got {} bytes",
            bytes.len()
        ))
    })
}

/// Bytes given as `bytes`/`bytearray`, or as hex text (`str`), at most
/// `max` bytes.
///
/// # Errors
/// `UsageError` for text that is not hex; `MalformedError` over the
/// limit; `TypeError` for another type.
pub(crate) fn hex_or_bytes(what: &str, obj: &Bound<'_, PyAny>, max: usize) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        let t = s.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if t.len() > 2 * max {
            return Err(errors::usage(format!(
                "{what}: {} hex digits, more than {}",
                t.len(),
                2 * max
            )));
        }
        return hex::decode(t).map_err(|e| errors::usage(format!("{what}: not hex ({e})")));
    }
    Ok(bytes_arg(what, obj, max, Text::Refused)?
        .as_slice()
        .to_vec())
}

/// A JSON value as Python objects: `dict`, `list`, `str`, `int`, `float`,
/// `bool`, `None` (what `json.loads` gives for the same text).
///
/// # Errors
/// A Python allocation failure.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "an unknown type".into(), |n| n.to_string())
}
