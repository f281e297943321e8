//! The one checked byte reader of the SDK (in the style of rustls'
//! `Reader` and gimli's `EndianSlice`): a cursor over a borrowed slice for
//! sequential formats, plus absolute-offset reads for fixed layouts.
//!
//! Every read is bounds-checked and returns a typed [`Error::Malformed`]
//! naming the structure (`what`) and the offsets involved:
//! [`MalformedKind::Truncated`] with the absolute end offset needed and the
//! buffer length, [`MalformedKind::ReservedNonZero`] with the absolute
//! offset of the first offending byte, [`MalformedKind::TrailingData`] with
//! the number of extra bytes. Offsets use checked arithmetic; nothing here
//! can panic. Multi-byte integers are little-endian (the byte order of SEV,
//! TDX and PEF structures) unless the method name ends in `_be`
//! (big-endian, for formats such as the flattened device tree and cpio).
//!
//! ```
//! use tee_core::reader::Reader;
//! let mut r = Reader::new("example", &[1, 0, 2, 0, 0, 0, 0xAA]);
//! assert_eq!(r.u16().unwrap(), 1);
//! assert_eq!(r.u32().unwrap(), 2);
//! assert!(r.u16().is_err()); // one byte left: Truncated { needed: 8, available: 7 }
//! assert_eq!(r.rest(), &[0xAA]);
//! ```

use crate::{Error, MalformedKind, Result};

/// A bounds-checked cursor over `buf`, naming the structure it reads.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at offset 0 of `buf`; errors name `what`.
    pub fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Self { what, buf, pos: 0 }
    }

    /// The structure name errors carry.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The whole buffer.
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    /// Bytes consumed so far (the cursor's absolute offset).
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not yet consumed (without consuming them).
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn truncated(&self, off: usize, n: usize) -> Error {
        Error::truncated(self.what, off.saturating_add(n), self.buf.len())
    }

    // ---- absolute-offset reads (do not move the cursor) ----

    /// `n` bytes at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if `off + n` exceeds the buffer.
    pub fn bytes_at(&self, off: usize, n: usize) -> Result<&'a [u8]> {
        off.checked_add(n)
            .and_then(|end| self.buf.get(off..end))
            .ok_or_else(|| self.truncated(off, n))
    }

    /// A borrowed `N`-byte array at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn array_ref_at<const N: usize>(&self, off: usize) -> Result<&'a [u8; N]> {
        self.bytes_at(off, N)
            .and_then(|s| <&[u8; N]>::try_from(s).map_err(|_| self.truncated(off, N)))
    }

    /// A copied `N`-byte array at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn array_at<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        self.array_ref_at::<N>(off).copied()
    }

    /// A little-endian `u16` at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn u16_at(&self, off: usize) -> Result<u16> {
        self.array_at(off).map(u16::from_le_bytes)
    }

    /// A little-endian `u32` at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn u32_at(&self, off: usize) -> Result<u32> {
        self.array_at(off).map(u32::from_le_bytes)
    }

    /// A little-endian `u64` at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn u64_at(&self, off: usize) -> Result<u64> {
        self.array_at(off).map(u64::from_le_bytes)
    }

    /// A big-endian `u16` at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn u16_be_at(&self, off: usize) -> Result<u16> {
        self.array_at(off).map(u16::from_be_bytes)
    }

    /// A big-endian `u32` at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn u32_be_at(&self, off: usize) -> Result<u32> {
        self.array_at(off).map(u32::from_be_bytes)
    }

    /// A big-endian `u64` at absolute offset `off`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if it does not fit.
    pub fn u64_be_at(&self, off: usize) -> Result<u64> {
        self.array_at(off).map(u64::from_be_bytes)
    }

    /// Check that the reserved bytes `[start, end)` are all zero.
    ///
    /// # Errors
    /// [`MalformedKind::ReservedNonZero`] with the absolute offset of the
    /// first non-zero byte; [`MalformedKind::Truncated`] if the range does
    /// not fit (or `end < start`).
    pub fn zeros_at(&self, start: usize, end: usize) -> Result<()> {
        let s = self
            .buf
            .get(start..end)
            .ok_or_else(|| Error::truncated(self.what, end.max(start), self.buf.len()))?;
        match s.iter().position(|&b| b != 0) {
            None => Ok(()),
            Some(i) => Err(Error::malformed(
                self.what,
                MalformedKind::ReservedNonZero {
                    offset: start.saturating_add(i),
                },
            )),
        }
    }

    // ---- cursor reads (consume) ----

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer remain (the cursor does not move).
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self.bytes_at(self.pos, n)?;
        self.pos = self.pos.saturating_add(n);
        Ok(s)
    }

    /// Skip `n` bytes.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer remain.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    /// Skip `n` reserved bytes that must be zero.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer remain,
    /// [`MalformedKind::ReservedNonZero`] (absolute offset) if one is not zero.
    pub fn zeros(&mut self, n: usize) -> Result<()> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .ok_or_else(|| self.truncated(start, n))?;
        if end > self.buf.len() {
            return Err(self.truncated(start, n));
        }
        self.zeros_at(start, end)?;
        self.pos = end;
        Ok(())
    }

    /// The next `N` bytes, borrowed as an array.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer remain.
    pub fn array_ref<const N: usize>(&mut self) -> Result<&'a [u8; N]> {
        let a = self.array_ref_at::<N>(self.pos)?;
        self.pos = self.pos.saturating_add(N);
        Ok(a)
    }

    /// The next `N` bytes, copied.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer remain.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.array_ref::<N>().copied()
    }

    /// The next byte.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] at the end.
    pub fn u8(&mut self) -> Result<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// The next little-endian `u16`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer than 2 bytes remain.
    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// The next little-endian `u32`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer than 4 bytes remain.
    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// The next little-endian `u64`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer than 8 bytes remain.
    pub fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// The next big-endian `u16`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer than 2 bytes remain.
    pub fn u16_be(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// The next big-endian `u32`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer than 4 bytes remain.
    pub fn u32_be(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// The next big-endian `u64`.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer than 8 bytes remain.
    pub fn u64_be(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    /// A reader over the next `n` bytes (consumed here), for a nested
    /// structure; its offsets are relative to its own start.
    ///
    /// # Errors
    /// [`MalformedKind::Truncated`] if fewer remain.
    pub fn sub(&mut self, what: &'static str, n: usize) -> Result<Reader<'a>> {
        self.take(n).map(|b| Reader::new(what, b))
    }

    /// Require that every byte was consumed.
    ///
    /// # Errors
    /// [`MalformedKind::TrailingData`] with the number of extra bytes.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            len => Err(Error::malformed(
                self.what,
                MalformedKind::TrailingData { len },
            )),
        }
    }
}

/// Copy a fixed-size field out of `buf` at `off` (bounds-checked): the
/// one-shot form of [`Reader::array_at`].
///
/// # Errors
/// [`MalformedKind::Truncated`] if it does not fit.
pub fn field<const N: usize>(what: &'static str, buf: &[u8], off: usize) -> Result<[u8; N]> {
    Reader::new(what, buf).array_at(off)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Malformed;

    fn kind(e: Error) -> (&'static str, MalformedKind) {
        match e {
            Error::Malformed(Malformed { what, kind }) => (what, kind),
            other => panic!("not malformed: {other:?}"),
        }
    }

    #[test]
    fn cursor_reads_and_truncation_offsets() {
        let buf = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        let mut r = Reader::new("thing", &buf);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0302);
        assert_eq!(r.u32().unwrap(), 0x0706_0504);
        assert_eq!(r.offset(), 7);
        assert_eq!(r.remaining(), 4);
        let e = r.u64().unwrap_err();
        assert_eq!(
            kind(e),
            (
                "thing",
                MalformedKind::Truncated {
                    needed: 15,
                    available: 11
                }
            )
        );
        // A failed read does not move the cursor.
        assert_eq!(r.offset(), 7);
        assert_eq!(r.array::<2>().unwrap(), [8, 9]);
        assert_eq!(r.array_ref::<1>().unwrap(), &[10]);
        assert_eq!(
            kind(r.finish().unwrap_err()).1,
            MalformedKind::TrailingData { len: 1 }
        );
        r.skip(1).unwrap();
        assert!(r.is_empty());
        r.finish().unwrap();
        assert!(r.take(1).is_err());
        assert_eq!(r.take(0).unwrap(), &[] as &[u8]);
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn absolute_reads_and_reserved_bytes() {
        let mut buf = [0u8; 16];
        buf[4..8].copy_from_slice(&0xdead_beefu32.to_le_bytes());
        buf[8..16].copy_from_slice(&7u64.to_le_bytes());
        let r = Reader::new("s", &buf);
        assert_eq!(r.u32_at(4).unwrap(), 0xdead_beef);
        assert_eq!(r.u16_at(4).unwrap(), 0xbeef);
        assert_eq!(r.u64_at(8).unwrap(), 7);
        assert_eq!(r.array_ref_at::<2>(0).unwrap(), &[0, 0]);
        r.zeros_at(0, 4).unwrap();
        assert_eq!(
            kind(r.zeros_at(2, 9).unwrap_err()).1,
            MalformedKind::ReservedNonZero { offset: 4 }
        );
        assert!(matches!(
            kind(r.u64_at(9).unwrap_err()).1,
            MalformedKind::Truncated {
                needed: 17,
                available: 16
            }
        ));
        // Overflowing offsets are truncation, not a panic.
        assert!(r.bytes_at(usize::MAX, 2).is_err());
        assert!(r.zeros_at(10, 4).is_err());
        assert!(r.zeros_at(0, 17).is_err());
        assert_eq!(
            field::<4>("f", &buf, 4).unwrap(),
            0xdead_beefu32.to_le_bytes()
        );
        assert!(field::<4>("f", &buf, 13).is_err());
    }

    #[test]
    fn big_endian_reads() {
        let buf = [0xd0u8, 0x0d, 0xfe, 0xed, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0xAA];
        let r = Reader::new("dtb", &buf);
        assert_eq!(r.u32_be_at(0).unwrap(), 0xd00d_feed);
        assert_eq!(r.u16_be_at(0).unwrap(), 0xd00d);
        assert_eq!(r.u64_be_at(4).unwrap(), 0x0102);
        assert_eq!(r.u32_at(0).unwrap(), 0xedfe_0dd0, "little-endian differs");
        assert_eq!(
            kind(r.u64_be_at(6).unwrap_err()).1,
            MalformedKind::Truncated {
                needed: 14,
                available: 13
            }
        );
        assert!(r.u32_be_at(usize::MAX - 1).is_err());
        let mut c = r.clone();
        assert_eq!(c.u32_be().unwrap(), 0xd00d_feed);
        assert_eq!(c.u64_be().unwrap(), 0x0102);
        assert_eq!(
            kind(c.u16_be().unwrap_err()).1,
            MalformedKind::Truncated {
                needed: 14,
                available: 13
            }
        );
        // A failed read does not move the cursor.
        assert_eq!(c.offset(), 12);
        assert_eq!(c.u8().unwrap(), 0xAA);
        let mut d = Reader::new("x", &[0x12, 0x34]);
        assert_eq!(d.u16_be().unwrap(), 0x1234);
        assert!(d.u32_be().is_err());
    }

    #[test]
    fn cursor_zeros_and_sub_readers() {
        let buf = [0u8, 0, 1, 2, 3, 0];
        let mut r = Reader::new("outer", &buf);
        r.zeros(2).unwrap();
        assert_eq!(
            kind(r.clone().zeros(2).unwrap_err()).1,
            MalformedKind::ReservedNonZero { offset: 2 }
        );
        assert!(r.clone().zeros(10).is_err());
        let mut s = r.sub("inner", 3).unwrap();
        assert_eq!(s.what(), "inner");
        assert_eq!(s.array::<3>().unwrap(), [1, 2, 3]);
        assert_eq!(kind(s.u8().unwrap_err()).0, "inner");
        assert_eq!(r.offset(), 5);
        assert!(r.sub("x", 2).is_err());
        r.zeros(1).unwrap();
        r.finish().unwrap();
    }
}
