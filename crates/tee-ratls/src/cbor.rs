//! The CBOR subset RA-TLS uses (RFC 8949): definite lengths only; unsigned
//! integers, byte and text strings, arrays, maps and tags. Every length is
//! checked against the remaining input before anything is read.

use core::fmt;

/// Most nesting accepted when skipping an ignored value.
const MAX_DEPTH: usize = 16;

/// Why CBOR did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CborError {
    /// The input ended inside an item.
    Truncated,
    /// An item of another major type than expected, an indefinite length,
    /// a reserved additional-info value, or trailing bytes.
    Invalid(&'static str),
    /// The input is larger than accepted.
    TooLarge,
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("CBOR truncated"),
            Self::Invalid(w) => write!(f, "CBOR: {w}"),
            Self::TooLarge => f.write_str("CBOR input too large"),
        }
    }
}

impl std::error::Error for CborError {}

pub(crate) fn head(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    match v {
        0..=23 => out.push(m | v as u8),
        24..=0xFF => out.extend_from_slice(&[m | 24, v as u8]),
        0x100..=0xFFFF => {
            out.push(m | 25);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(m | 26);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    /// The major type and argument of the next item.
    fn head(&mut self) -> Result<(u8, u64), CborError> {
        let b = *self.take(1)?.first().ok_or(CborError::Truncated)?;
        let (major, info) = (b >> 5, b & 0x1F);
        let v = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().map_err(|_| CborError::Truncated)?,
            )),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().map_err(|_| CborError::Truncated)?,
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| CborError::Truncated)?),
            31 => return Err(CborError::Invalid("indefinite length")),
            _ => return Err(CborError::Invalid("reserved additional information")),
        };
        Ok((major, v))
    }

    /// The argument of an item of `major` type.
    pub(crate) fn expect(&mut self, major: u8) -> Result<u64, CborError> {
        match self.head()? {
            (m, v) if m == major => Ok(v),
            _ => Err(CborError::Invalid("unexpected item type")),
        }
    }

    fn len_of(&self, v: u64) -> Result<usize, CborError> {
        let n = usize::try_from(v).map_err(|_| CborError::Truncated)?;
        if n > self.buf.len() - self.pos {
            return Err(CborError::Truncated);
        }
        Ok(n)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], CborError> {
        let v = self.expect(2)?;
        let n = self.len_of(v)?;
        self.take(n)
    }

    pub(crate) fn text(&mut self) -> Result<&'a str, CborError> {
        let v = self.expect(3)?;
        let n = self.len_of(v)?;
        core::str::from_utf8(self.take(n)?).map_err(|_| CborError::Invalid("text is not UTF-8"))
    }

    /// Skip one item of any supported type.
    pub(crate) fn skip(&mut self) -> Result<(), CborError> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: usize) -> Result<(), CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::Invalid("nesting too deep"));
        }
        let (major, v) = self.head()?;
        match major {
            0 | 1 | 7 => Ok(()),
            2 | 3 => {
                let n = self.len_of(v)?;
                self.take(n).map(|_| ())
            }
            4 | 5 => {
                let items = if major == 5 {
                    v.checked_mul(2).ok_or(CborError::Truncated)?
                } else {
                    v
                };
                // Each item takes at least one byte.
                self.len_of(items)?;
                for _ in 0..items {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
            _ => self.skip_at(depth + 1), // 6: a tag, then its item
        }
    }

    pub(crate) fn end(&self) -> Result<(), CborError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(CborError::Invalid("trailing bytes"))
        }
    }
}
