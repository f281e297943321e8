//! The TDX Confidential Computing Event Log: the ACPI `CCEL` table and the
//! TCG2 crypto-agile event log it points to (TCG PC Client Platform
//! Firmware Profile, §10; UEFI 2.10 §38.4 for the CC MR index mapping).
//!
//! MR index 0 is MRTD (never logged by firmware), 1..=4 are RTMR0..3.
//! `EV_NO_ACTION` events are informational and never extended. Replay is
//! `RTMR[i] = SHA-384(RTMR[i] || digest)` from zero.
//!
//! The same format (SHA-384 only) is used for the SDK's own application
//! RTMR log, so firmware and application events share one replay path.

use core::fmt;

use sha2::{Digest, Sha384};
use tee_core::measurement::extend_sha384;
use tee_core::{Error, MalformedKind, Result};

use tee_core::reader::Reader;

/// TPM_ALG_SHA384.
pub const ALG_SHA384: u16 = 0x000C;
/// EV_NO_ACTION.
pub const EV_NO_ACTION: u32 = 3;
/// EV_EVENT_TAG (used by the SDK for application events).
pub const EV_EVENT_TAG: u32 = 6;
/// Largest event log accepted (64 MiB).
pub const MAX_LOG_LEN: usize = 64 << 20;
/// Largest single event payload accepted (16 MiB).
const MAX_EVENT_LEN: usize = 16 << 20;

/// The ACPI CCEL table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcelTable {
    /// Table revision.
    pub revision: u8,
    /// CC type (2 = TDX).
    pub cc_type: u8,
    /// CC subtype.
    pub cc_subtype: u8,
    /// Log area minimum length.
    pub laml: u64,
    /// Log area start address (guest physical).
    pub lasa: u64,
}

impl CcelTable {
    /// Parse the 56-byte table (`/sys/firmware/acpi/tables/CCEL`); the
    /// signature, length and checksum are checked.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a bad signature, length or checksum.
    pub fn parse(b: &[u8]) -> Result<Self> {
        const W: &str = "ACPI CCEL table";
        let mut r = Reader::new(W, b);
        let sig = r.take(4)?;
        if sig != b"CCEL" {
            return Err(Error::bad_field(W, "signature", "not `CCEL`"));
        }
        let len = r.u32()? as usize;
        if len != b.len() || len < 56 {
            return Err(Error::malformed(
                W,
                MalformedKind::BadLength {
                    expected: len.max(56),
                    actual: b.len(),
                },
            ));
        }
        if b.iter().fold(0u8, |a, x| a.wrapping_add(*x)) != 0 {
            return Err(Error::bad_field(
                W,
                "checksum",
                "table bytes do not sum to zero",
            ));
        }
        let revision = r.array::<1>()?[0];
        r.take(1 + 6 + 8 + 4 + 4 + 4)?;
        let [cc_type, cc_subtype] = r.array::<2>()?;
        r.take(2)?;
        Ok(Self {
            revision,
            cc_type,
            cc_subtype,
            laml: r.u64()?,
            lasa: r.u64()?,
        })
    }
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// The CC MR index (1..=4 = RTMR0..3; 0 = MRTD).
    pub mr_index: u32,
    /// Event type.
    pub event_type: u32,
    /// SHA-384 digest (None for the legacy header event).
    pub digest: Option<[u8; 48]>,
    /// The event data.
    pub data: Vec<u8>,
}

impl LogEvent {
    /// The RTMR this event extends, if it extends one.
    pub fn rtmr(&self) -> Option<u32> {
        if self.event_type == EV_NO_ACTION || self.digest.is_none() {
            return None;
        }
        self.mr_index.checked_sub(1).filter(|i| *i < 4)
    }

    /// A one-line human-readable description.
    pub fn describe(&self) -> String {
        format!(
            "{}: {}",
            event_type_name(self.event_type),
            describe_data(self.event_type, &self.data)
        )
    }
}

/// A parsed TCG2 crypto-agile event log (SHA-384 only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventLog {
    /// Events in order (including `EV_NO_ACTION` events, excluding the header).
    pub events: Vec<LogEvent>,
    /// Byte length of the parsed log (the rest is padding).
    pub len: usize,
}

/// The `Spec ID Event03` header's algorithm list must contain SHA-384.
fn parse_spec_id(data: &[u8]) -> Result<u16> {
    const W: &str = "TCG2 Spec ID event";
    let mut r = Reader::new(W, data);
    if r.take(16)? != b"Spec ID Event03\0" {
        return Err(Error::bad_field(W, "signature", "not `Spec ID Event03`"));
    }
    r.take(4 + 4)?;
    let n = r.u32()?;
    if n == 0 || n > 16 {
        return Err(Error::bad_field(
            W,
            "numberOfAlgorithms",
            format_args!("{n}"),
        ));
    }
    let mut sha384 = None;
    for _ in 0..n {
        let alg = r.u16()?;
        let size = r.u16()?;
        if alg == ALG_SHA384 {
            sha384 = Some(size);
        } else {
            return Err(Error::bad_field(
                W,
                "digestSizes",
                format_args!("algorithm {alg:#06x} present; only SHA-384 logs are supported"),
            ));
        }
    }
    match sha384 {
        Some(48) => Ok(ALG_SHA384),
        _ => Err(Error::bad_field(
            W,
            "digestSizes",
            "no SHA-384 (48-byte) digest",
        )),
    }
}

impl EventLog {
    /// Parse a log: the legacy `TCG_PCR_EVENT` header carrying the Spec ID
    /// event, then `TCG_PCR_EVENT2` records until the end of the buffer or
    /// the erased (`0xFF`) / zero padding of the log area.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a bad header, a non-SHA-384 log, or a
    /// truncated or oversized record.
    pub fn parse(b: &[u8]) -> Result<Self> {
        const W: &str = "TCG2 event log";
        if b.len() > MAX_LOG_LEN {
            return Err(Error::malformed(
                W,
                MalformedKind::BadLength {
                    expected: MAX_LOG_LEN,
                    actual: b.len(),
                },
            ));
        }
        let mut r = Reader::new(W, b);
        let _pcr = r.u32()?;
        let ty = r.u32()?;
        if ty != EV_NO_ACTION {
            return Err(Error::bad_field(
                W,
                "header",
                "first event is not the EV_NO_ACTION Spec ID event",
            ));
        }
        r.take(20)?;
        let size = r.u32()? as usize;
        parse_spec_id(r.take(size)?)?;
        let mut events = Vec::new();
        loop {
            let rest = r.rest();
            if rest.len() < 8 || rest.get(..8) == Some(&[0xFF; 8]) || rest.get(..8) == Some(&[0; 8])
            {
                break;
            }
            let mr_index = r.u32()?;
            let event_type = r.u32()?;
            let count = r.u32()?;
            if count != 1 {
                return Err(Error::bad_field(
                    W,
                    "digests.count",
                    format_args!("{count} (SHA-384 only log)"),
                ));
            }
            let alg = r.u16()?;
            if alg != ALG_SHA384 {
                return Err(Error::bad_field(
                    W,
                    "digests.hashAlg",
                    format_args!("{alg:#06x}"),
                ));
            }
            let digest = r.array::<48>()?;
            let size = r.u32()? as usize;
            if size > MAX_EVENT_LEN {
                return Err(Error::bad_field(W, "eventSize", format_args!("{size}")));
            }
            let data = r.take(size)?.to_vec();
            events.push(LogEvent {
                mr_index,
                event_type,
                digest: Some(digest),
                data,
            });
        }
        Ok(Self {
            events,
            len: r.offset(),
        })
    }

    /// Replay into RTMR0..3 from zero (EV_NO_ACTION skipped).
    ///
    /// # Errors
    /// [`Error::Malformed`] if an event names an MR index other than 1..=4.
    pub fn replay(&self) -> Result<[[u8; 48]; 4]> {
        let mut regs = [[0u8; 48]; 4];
        for (i, ev) in self.events.iter().enumerate() {
            if ev.event_type == EV_NO_ACTION {
                continue;
            }
            let (Some(idx), Some(d)) = (ev.rtmr(), ev.digest) else {
                return Err(Error::bad_field(
                    "TCG2 event log",
                    "mr_index",
                    format_args!(
                        "event {i} names MR index {} (only 1..=4 are RTMRs)",
                        ev.mr_index
                    ),
                ));
            };
            if let Some(slot) = regs.get_mut(idx as usize) {
                *slot = extend_sha384(slot, &d);
            }
        }
        Ok(regs)
    }

    /// The extending events as SDK events (register = RTMR index).
    pub fn to_core_events(&self) -> Vec<tee_core::Event> {
        self.events
            .iter()
            .filter_map(|e| {
                let idx = e.rtmr()?;
                let d = e.digest?;
                Some(tee_core::Event::from_digest(idx, e.describe(), d))
            })
            .collect()
    }

    /// Encode the header for a new SHA-384-only log.
    pub fn encode_header() -> Vec<u8> {
        let mut spec = Vec::new();
        spec.extend_from_slice(b"Spec ID Event03\0");
        spec.extend_from_slice(&0u32.to_le_bytes()); // platform class
        spec.extend_from_slice(&[0, 2, 0, 2]); // minor, major, errata, uintn size (2 = 64-bit)
        spec.extend_from_slice(&1u32.to_le_bytes());
        spec.extend_from_slice(&ALG_SHA384.to_le_bytes());
        spec.extend_from_slice(&48u16.to_le_bytes());
        spec.push(0); // vendor info size
        let mut out = Vec::new();
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
        out.extend_from_slice(&[0u8; 20]);
        out.extend_from_slice(&(spec.len() as u32).to_le_bytes());
        out.extend_from_slice(&spec);
        out
    }

    /// Encode one `TCG_PCR_EVENT2` record.
    pub fn encode_event(mr_index: u32, event_type: u32, digest: &[u8; 48], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(66 + data.len());
        out.extend_from_slice(&mr_index.to_le_bytes());
        out.extend_from_slice(&event_type.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&ALG_SHA384.to_le_bytes());
        out.extend_from_slice(digest);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }
}

/// SHA-384 of data (the digest of an application event).
pub fn sha384(data: &[u8]) -> [u8; 48] {
    Sha384::digest(data).into()
}

/// The TCG name of an event type.
pub fn event_type_name(t: u32) -> String {
    let n = match t {
        0 => "EV_PREBOOT_CERT",
        1 => "EV_POST_CODE",
        3 => "EV_NO_ACTION",
        4 => "EV_SEPARATOR",
        5 => "EV_ACTION",
        6 => "EV_EVENT_TAG",
        7 => "EV_S_CRTM_CONTENTS",
        8 => "EV_S_CRTM_VERSION",
        9 => "EV_CPU_MICROCODE",
        0xA => "EV_PLATFORM_CONFIG_FLAGS",
        0xB => "EV_TABLE_OF_DEVICES",
        0xC => "EV_COMPACT_HASH",
        0xD => "EV_IPL",
        0xE => "EV_IPL_PARTITION_DATA",
        0xF => "EV_NONHOST_CODE",
        0x10 => "EV_NONHOST_CONFIG",
        0x11 => "EV_NONHOST_INFO",
        0x12 => "EV_OMIT_BOOT_DEVICE_EVENTS",
        0x8000_0001 => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        0x8000_0002 => "EV_EFI_VARIABLE_BOOT",
        0x8000_0003 => "EV_EFI_BOOT_SERVICES_APPLICATION",
        0x8000_0004 => "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005 => "EV_EFI_RUNTIME_SERVICES_DRIVER",
        0x8000_0006 => "EV_EFI_GPT_EVENT",
        0x8000_0007 => "EV_EFI_ACTION",
        0x8000_0008 => "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        0x8000_0009 => "EV_EFI_HANDOFF_TABLES",
        0x8000_000A => "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        0x8000_000B => "EV_EFI_HANDOFF_TABLES2",
        0x8000_000C => "EV_EFI_VARIABLE_BOOT2",
        0x8000_0010 => "EV_EFI_HCRTM_EVENT",
        0x8000_00E0 => "EV_EFI_VARIABLE_AUTHORITY",
        0x8000_00E1 => "EV_EFI_SPDM_FIRMWARE_BLOB",
        0x8000_00E2 => "EV_EFI_SPDM_FIRMWARE_CONFIG",
        _ => return format!("EV_UNKNOWN({t:#x})"),
    };
    n.to_string()
}

fn printable(b: &[u8], max: usize) -> String {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    let s: String = b
        .iter()
        .take(max)
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    if b.len() > max { format!("{s}…") } else { s }
}

fn utf16(b: &[u8]) -> String {
    let u: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&u)
}

/// Decode the common event payloads for display (never fails).
pub fn describe_data(t: u32, d: &[u8]) -> String {
    let mut r = Reader::new("event", d);
    match t {
        0xD | 0x8000_0007 | 5 | 6 | 0x8 => format!("\"{}\"", printable(d, 200)),
        4 => format!(
            "separator {}",
            hex::encode(d.get(..d.len().min(8)).unwrap_or_default())
        ),
        0x8000_000A | 0x8000_000B => {
            let desc = r
                .array::<1>()
                .ok()
                .and_then(|[n]| r.take(n as usize).ok())
                .map(|x| printable(x, 64));
            let base = r.u64().ok();
            let len = r.u64().ok();
            match (desc, base, len) {
                (Some(s), Some(b), Some(l)) if t == 0x8000_000A => {
                    format!("\"{s}\" base {b:#x} length {l:#x}")
                }
                (Some(s), Some(n), _) => format!("\"{s}\" ({n} tables)"),
                _ => format!("{} bytes", d.len()),
            }
        }
        0x8000_0008 => match (r.u64(), r.u64()) {
            (Ok(b), Ok(l)) => format!("base {b:#x} length {l:#x}"),
            _ => format!("{} bytes", d.len()),
        },
        0x8000_0001 | 0x8000_0002 | 0x8000_000C | 0x8000_00E0 => {
            let guid = r.take(16).ok();
            let (nlen, dlen) = (r.u64().ok(), r.u64().ok());
            match (guid, nlen, dlen) {
                (Some(_), Some(n), Some(dl)) => {
                    let name = usize::try_from(n)
                        .ok()
                        .and_then(|n| n.checked_mul(2))
                        .and_then(|n| r.take(n).ok())
                        .map(utf16)
                        .unwrap_or_default();
                    format!("variable {name} ({dl} bytes)")
                }
                _ => format!("{} bytes", d.len()),
            }
        }
        0x8000_0003..=0x8000_0005 => match (r.u64(), r.u64()) {
            (Ok(b), Ok(l)) => format!("image at {b:#x}, {l:#x} bytes"),
            _ => format!("{} bytes", d.len()),
        },
        0x8000_0006 => {
            let n = r.take(92).ok().and_then(|_| r.u64().ok());
            match n {
                Some(n) => format!("GPT with {n} partitions"),
                None => format!("{} bytes", d.len()),
            }
        }
        _ => format!("{} bytes", d.len()),
    }
}

impl fmt::Display for EventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.events.iter().enumerate() {
            let mr = match e.rtmr() {
                Some(r) => format!("RTMR{r}"),
                None => format!("MR{}", e.mr_index),
            };
            let d = e.digest.map(hex::encode).unwrap_or_default();
            writeln!(f, "{i:3} {mr:6} {}", e.describe())?;
            if !d.is_empty() {
                writeln!(f, "           sha384 {d}")?;
            }
        }
        Ok(())
    }
}
