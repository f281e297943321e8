//! A small, checked flattened-device-tree (DTB) writer and parser.
//!
//! Only what ESM blobs need: nodes with properties and subnodes, an empty
//! memory-reservation map, version 17 output. The writer produces the
//! compact layout `dtc` and libfdt's `fdt_pack` produce: header (40 bytes),
//! reservation map (one terminating entry), structure block, strings block
//! (deduplicated), with `totalsize` equal to the output length.
//!
//! The parser bounds every offset and length against the input, limits the
//! nesting depth, accepts `FDT_NOP`, and never panics (property test in
//! this crate).

use tee_core::reader::Reader;
use tee_core::{Error, MalformedKind, Result};

/// The FDT magic number.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// The version this writer emits.
pub const FDT_VERSION: u32 = 17;
/// The oldest version the writer's output is compatible with.
pub const FDT_LAST_COMP_VERSION: u32 = 16;
/// Header length in bytes.
pub const HEADER_LEN: usize = 40;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
const MAX_DEPTH: usize = 32;
const WHAT: &str = "flattened device tree";

/// One property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// Property name.
    pub name: String,
    /// Raw value.
    pub value: Vec<u8>,
}

/// One node (the root has the empty name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Node name (unit address included, if any).
    pub name: String,
    /// Properties in order.
    pub props: Vec<Prop>,
    /// Subnodes in order.
    pub children: Vec<Node>,
}

impl Node {
    /// An empty node.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            props: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Add a property (builder style).
    #[must_use]
    pub fn with_prop(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.props.push(Prop {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Add a NUL-terminated string property (builder style).
    #[must_use]
    pub fn with_str(self, name: impl Into<String>, value: &str) -> Self {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        self.with_prop(name, v)
    }

    /// Add a big-endian u32 property (builder style).
    #[must_use]
    pub fn with_u32(self, name: impl Into<String>, value: u32) -> Self {
        self.with_prop(name, value.to_be_bytes().to_vec())
    }

    /// Add a big-endian u64 property (builder style).
    #[must_use]
    pub fn with_u64(self, name: impl Into<String>, value: u64) -> Self {
        self.with_prop(name, value.to_be_bytes().to_vec())
    }

    /// Add a subnode (builder style).
    #[must_use]
    pub fn with_child(mut self, child: Node) -> Self {
        self.children.push(child);
        self
    }

    /// A property's value.
    pub fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_slice())
    }

    /// A string property without its NUL terminator (`None` if absent, not
    /// NUL-terminated, or not UTF-8).
    pub fn prop_str(&self, name: &str) -> Option<&str> {
        let v = self.prop(name)?;
        let (last, body) = v.split_last()?;
        if *last != 0 || body.contains(&0) {
            return None;
        }
        core::str::from_utf8(body).ok()
    }

    /// A big-endian integer property of 4 or 8 bytes.
    pub fn prop_uint(&self, name: &str) -> Option<u64> {
        let v = self.prop(name)?;
        if let Ok(b) = <[u8; 4]>::try_from(v) {
            Some(u32::from_be_bytes(b).into())
        } else if let Ok(b) = <[u8; 8]>::try_from(v) {
            Some(u64::from_be_bytes(b))
        } else {
            None
        }
    }

    /// A direct subnode.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// A mutable direct subnode.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// A node by absolute path (`/a/b`); `/` is this node.
    pub fn lookup(&self, path: &str) -> Option<&Node> {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n.child(part)?;
        }
        Some(n)
    }

    /// Serialize this node as the root of a DTB.
    pub fn to_dtb(&self) -> Vec<u8> {
        let mut strings: Vec<u8> = Vec::new();
        let mut structure: Vec<u8> = Vec::new();
        write_node(self, &mut structure, &mut strings);
        push_u32(&mut structure, FDT_END);

        let off_rsv = HEADER_LEN;
        let off_struct = off_rsv + 16;
        let off_strings = off_struct + structure.len();
        let total = off_strings + strings.len();
        let mut out = Vec::with_capacity(total);
        for v in [
            FDT_MAGIC,
            to_u32(total),
            to_u32(off_struct),
            to_u32(off_strings),
            to_u32(off_rsv),
            FDT_VERSION,
            FDT_LAST_COMP_VERSION,
            0,
            to_u32(strings.len()),
            to_u32(structure.len()),
        ] {
            push_u32(&mut out, v);
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&structure);
        out.extend_from_slice(&strings);
        out
    }
}

// DTBs we write are bounded by the callers' size limits (well below 4 GiB);
// saturate rather than panic if a caller ever exceeds that, which the
// parser then rejects.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn string_offset(strings: &mut Vec<u8>, name: &str) -> u32 {
    // Reuse an existing identical NUL-terminated string (libfdt does the same).
    let mut start = 0;
    for (i, b) in strings.iter().enumerate() {
        if *b == 0 {
            if strings.get(start..i) == Some(name.as_bytes()) {
                return to_u32(start);
            }
            start = i + 1;
        }
    }
    let off = strings.len();
    strings.extend_from_slice(name.as_bytes());
    strings.push(0);
    to_u32(off)
}

fn write_node(n: &Node, out: &mut Vec<u8>, strings: &mut Vec<u8>) {
    push_u32(out, FDT_BEGIN_NODE);
    out.extend_from_slice(n.name.as_bytes());
    out.push(0);
    pad4(out);
    for p in &n.props {
        push_u32(out, FDT_PROP);
        push_u32(out, to_u32(p.value.len()));
        let off = string_offset(strings, &p.name);
        push_u32(out, off);
        out.extend_from_slice(&p.value);
        pad4(out);
    }
    for c in &n.children {
        write_node(c, out, strings);
    }
    push_u32(out, FDT_END_NODE);
}

fn usize_of(v: u32) -> usize {
    // u32 always fits in usize on the 32- and 64-bit targets we support.
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Parse a DTB that must occupy exactly `bytes` (`totalsize == len`).
///
/// # Errors
/// [`Error::Malformed`] for anything that is not a well-formed DTB,
/// including trailing bytes after `totalsize`.
pub fn parse(bytes: &[u8]) -> Result<Node> {
    let (node, total) = parse_prefix(bytes)?;
    if total != bytes.len() {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::TrailingData {
                len: bytes.len().saturating_sub(total),
            },
        ));
    }
    Ok(node)
}

/// Parse a DTB at the start of `bytes`, which may continue past its
/// `totalsize` (as when the ultravisor finds a blob inside a cpio member).
/// Returns the root and `totalsize`.
///
/// # Errors
/// [`Error::Malformed`] for anything that is not a well-formed DTB.
pub fn parse_prefix(bytes: &[u8]) -> Result<(Node, usize)> {
    let h = Reader::new(WHAT, bytes);
    if h.u32_be_at(0)? != FDT_MAGIC {
        return Err(Error::bad_field(WHAT, "magic", "not 0xd00dfeed"));
    }
    let total = usize_of(h.u32_be_at(4)?);
    let off_struct = usize_of(h.u32_be_at(8)?);
    let off_strings = usize_of(h.u32_be_at(12)?);
    let off_rsv = usize_of(h.u32_be_at(16)?);
    let version = h.u32_be_at(20)?;
    let last_comp = h.u32_be_at(24)?;
    if version < 16 || last_comp > FDT_VERSION {
        return Err(Error::malformed(
            WHAT,
            MalformedKind::UnsupportedVersion(version),
        ));
    }
    if total < HEADER_LEN || total > bytes.len() {
        return Err(Error::truncated(WHAT, total.max(HEADER_LEN), bytes.len()));
    }
    let blob = Reader::new(WHAT, h.bytes_at(0, total)?);
    let size_strings = usize_of(blob.u32_be_at(32)?);
    let size_struct = if version >= 17 {
        usize_of(blob.u32_be_at(36)?)
    } else {
        total.saturating_sub(off_struct)
    };
    let strings = blob
        .bytes_at(off_strings, size_strings)
        .map_err(|_| Error::bad_field(WHAT, "off_dt_strings", "strings block outside the blob"))?;
    let structure = blob
        .bytes_at(off_struct, size_struct)
        .map_err(|_| Error::bad_field(WHAT, "off_dt_struct", "structure block outside the blob"))?;
    // Memory reservation map: 16-byte entries up to an all-zero one.
    let mut r = off_rsv;
    loop {
        let addr_hi = blob.u32_be_at(r)?;
        let addr_lo = blob.u32_be_at(r.saturating_add(4))?;
        let size_hi = blob.u32_be_at(r.saturating_add(8))?;
        let size_lo = blob.u32_be_at(r.saturating_add(12))?;
        r = r
            .checked_add(16)
            .ok_or_else(|| Error::bad_field(WHAT, "off_mem_rsvmap", "overflow"))?;
        if addr_hi | addr_lo | size_hi | size_lo == 0 {
            break;
        }
    }
    let mut cur = Cursor {
        s: Reader::new(WHAT, structure),
        strings,
    };
    cur.skip_nops()?;
    if cur.u32()? != FDT_BEGIN_NODE {
        return Err(Error::bad_field(
            WHAT,
            "structure",
            "does not start with a node",
        ));
    }
    let root = cur.node(0)?;
    cur.skip_nops()?;
    if cur.u32()? != FDT_END {
        return Err(Error::bad_field(
            WHAT,
            "structure",
            "missing FDT_END after the root node",
        ));
    }
    Ok((root, total))
}

/// The structure block: a big-endian token stream on [`Reader`], offsets
/// relative to the block's start.
struct Cursor<'a> {
    s: Reader<'a>,
    strings: &'a [u8],
}

impl Cursor<'_> {
    fn u32(&mut self) -> Result<u32> {
        self.s.u32_be()
    }

    fn peek(&self) -> Result<u32> {
        self.s.u32_be_at(self.s.offset())
    }

    fn skip_nops(&mut self) -> Result<()> {
        while self.peek()? == FDT_NOP {
            self.s.skip(4)?;
        }
        Ok(())
    }

    /// Skip to the next 4-byte boundary (truncated if it lies past the end).
    fn align(&mut self) -> Result<()> {
        let pad = (4 - self.s.offset() % 4) % 4;
        self.s.skip(pad)
    }

    fn cstr_here(&mut self) -> Result<String> {
        let rest = self.s.rest();
        let n = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| Error::bad_field(WHAT, "node name", "not NUL-terminated"))?;
        let name = core::str::from_utf8(self.s.take(n)?)
            .map_err(|_| Error::bad_field(WHAT, "node name", "not UTF-8"))?;
        self.s.skip(1)?;
        self.align()?;
        Ok(name.into())
    }

    fn node(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(Error::bad_field(
                WHAT,
                "structure",
                "nodes nested too deeply",
            ));
        }
        let mut node = Node::new(self.cstr_here()?);
        loop {
            match self.u32()? {
                FDT_NOP => {}
                FDT_PROP => {
                    if !node.children.is_empty() {
                        return Err(Error::bad_field(
                            WHAT,
                            "structure",
                            "property after a subnode",
                        ));
                    }
                    let len = usize_of(self.u32()?);
                    let nameoff = usize_of(self.u32()?);
                    let value = self.s.take(len)?.to_vec();
                    self.align()?;
                    let tail = self.strings.get(nameoff..).ok_or_else(|| {
                        Error::bad_field(WHAT, "nameoff", "outside the strings block")
                    })?;
                    let n = tail.iter().position(|&b| b == 0).ok_or_else(|| {
                        Error::bad_field(WHAT, "nameoff", "name not NUL-terminated")
                    })?;
                    let name = core::str::from_utf8(tail.get(..n).unwrap_or(&[]))
                        .map_err(|_| Error::bad_field(WHAT, "property name", "not UTF-8"))?;
                    node.props.push(Prop {
                        name: name.into(),
                        value,
                    });
                }
                FDT_BEGIN_NODE => {
                    let child = self.node(depth + 1)?;
                    node.children.push(child);
                }
                FDT_END_NODE => return Ok(node),
                t => {
                    return Err(Error::bad_field(
                        WHAT,
                        "structure",
                        format_args!("unexpected token {t:#x}"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be32(b: &[u8], off: usize) -> Result<u32> {
        Reader::new(WHAT, b).u32_be_at(off)
    }

    fn sample() -> Node {
        Node::new("")
            .with_str("compatible", "ibm,esm")
            .with_child(
                Node::new("lockboxes").with_child(
                    Node::new("lockbox-1")
                        .with_str("untrusted-comment", "x")
                        .with_prop("encrypted-symkey", vec![1, 2, 3]),
                ),
            )
            .with_child(Node::new("file").with_prop("files-fdt", Vec::new()))
    }

    #[test]
    fn round_trip_and_layout() {
        let n = sample();
        let b = n.to_dtb();
        assert_eq!(&b[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
        assert_eq!(be32(&b, 4).unwrap() as usize, b.len());
        assert_eq!(be32(&b, 8).unwrap(), 56);
        assert_eq!(be32(&b, 16).unwrap(), 40);
        assert_eq!(be32(&b, 20).unwrap(), 17);
        assert_eq!(be32(&b, 24).unwrap(), 16);
        assert_eq!(parse(&b).unwrap(), n);
        let l = parse(&b).unwrap();
        assert_eq!(
            l.lookup("/lockboxes/lockbox-1")
                .unwrap()
                .prop("encrypted-symkey"),
            Some(&[1u8, 2, 3][..])
        );
        assert_eq!(l.prop_str("compatible"), Some("ibm,esm"));
        // Strings are deduplicated: "untrusted-comment" appears once.
        let s = String::from_utf8_lossy(&b);
        assert_eq!(s.matches("untrusted-comment").count(), 1);
    }

    #[test]
    fn rejects_damage() {
        let b = sample().to_dtb();
        let mut t = b.clone();
        t.push(0);
        assert!(matches!(
            parse(&t),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::TrailingData { len: 1 },
                ..
            }))
        ));
        assert!(parse_prefix(&t).is_ok());
        for n in [0, 3, 39, 40, b.len() - 1] {
            assert!(parse(&b[..n]).is_err(), "{n}");
        }
        let mut v = b.clone();
        v[23] = 15;
        assert!(matches!(
            parse(&v),
            Err(Error::Malformed(tee_core::Malformed {
                kind: MalformedKind::UnsupportedVersion(15),
                ..
            }))
        ));
        let mut m = b.clone();
        m[0] = 0;
        assert!(parse(&m).is_err());
    }

    /// libfdt's sequential-write API places the reservation map at 48
    /// (aligned to 16), and `fdt_open_into` leaves free space inside
    /// `totalsize`; blobs written by pylibfdt may look like that.
    #[test]
    fn accepts_libfdt_style_layout() {
        let n = sample();
        let b = n.to_dtb();
        let off = |i: usize| be32(&b, i).unwrap() as usize;
        let mut v = b[..40].to_vec();
        v.extend_from_slice(&[0u8; 8]);
        v.extend_from_slice(&b[40..]);
        v.extend_from_slice(&[0u8; 100]);
        let set = |v: &mut Vec<u8>, i: usize, x: usize| {
            v[i..i + 4].copy_from_slice(&(x as u32).to_be_bytes())
        };
        let total = v.len();
        set(&mut v, 4, total);
        set(&mut v, 8, off(8) + 8);
        set(&mut v, 12, off(12) + 8);
        set(&mut v, 16, 48);
        assert_eq!(parse(&v).unwrap(), n);
        // A NOP token before a property is skipped.
        let mut w = v.clone();
        let s = off(8) + 8;
        // Root BEGIN_NODE (4) + empty name padded (4), then the first token.
        w.splice(s + 8..s + 8, FDT_NOP.to_be_bytes());
        let size_struct = be32(&w, 36).unwrap() as usize + 4;
        set(&mut w, 36, size_struct);
        set(&mut w, 12, off(12) + 12);
        let wl = w.len();
        set(&mut w, 4, wl);
        assert_eq!(parse(&w).unwrap(), n);
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let mut n = Node::new("leaf");
        for i in 0..40 {
            n = Node::new(format!("n{i}")).with_child(n);
        }
        let root = Node::new("").with_child(n);
        assert!(parse(&root.to_dtb()).is_err());
    }
}
