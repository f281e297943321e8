//! A bounds-checked little-endian cursor (in the style of rustls' `Reader`).
//! Every step is `split_at_checked`; nothing here can panic.

use tee_core::{Error, Result};

/// A cursor over a byte slice that reports truncation as [`Error::Malformed`].
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    start_len: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Self {
            what,
            buf,
            start_len: buf.len(),
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> usize {
        self.start_len - self.buf.len()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or_else(|| {
            Error::truncated(self.what, self.offset().saturating_add(n), self.start_len)
        })?;
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// Copy a fixed-size field out of a slice at `off` (bounds-checked).
pub(crate) fn field<const N: usize>(what: &'static str, buf: &[u8], off: usize) -> Result<[u8; N]> {
    let s = off
        .checked_add(N)
        .and_then(|end| buf.get(off..end))
        .ok_or_else(|| Error::truncated(what, off.saturating_add(N), buf.len()))?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Ok(out)
}
