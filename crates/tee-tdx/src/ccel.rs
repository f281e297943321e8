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
//!
//! # Event data and digests
//!
//! The digest is what is extended; the event data is what the log *says*
//! was measured. Where the event type's definition makes the digest the
//! hash of the event data, a replay checks it ([`LogEvent::data_check`],
//! [`EventLog::check_data`]) and fails, naming the event's index, when the
//! data was changed; everywhere else the data is only a description and is
//! reported as [`DataCheck::Unverified`] (in claims:
//! `ReplayCheck::unverified_events`). The rules, per TCG PC Client Platform
//! Firmware Profile (PFP) 1.06 §10.4.1 (event types) and §10.4.4 (UEFI
//! events), which the CC event log (UEFI 2.10 §38.4) inherits unchanged:
//!
//! | event type | digest over | check |
//! |---|---|---|
//! | `EV_NO_ACTION` | nothing: never extended (PFP §10.4.1) | not extended |
//! | `EV_SEPARATOR`, `EV_ACTION`, `EV_S_CRTM_VERSION`, `EV_OMIT_BOOT_DEVICE_EVENTS`, `EV_EFI_ACTION` | the event data (PFP §10.4.1) | verified |
//! | `EV_EFI_VARIABLE_DRIVER_CONFIG`, `EV_EFI_VARIABLE_BOOT2`, `EV_EFI_VARIABLE_AUTHORITY` | the whole `UEFI_VARIABLE_DATA` (PFP §10.4.4) | verified |
//! | `EV_EFI_VARIABLE_BOOT` | `UEFI_VARIABLE_DATA.VariableData` only (PFP §10.4.4) | verified |
//! | `EV_EFI_GPT_EVENT` | the `UEFI_GPT_DATA` (PFP §10.4.4) | verified |
//! | `EV_EVENT_TAG` with the SDK's tag id (`TSDK`) | the payload after the description (`guest::applog`) | verified |
//! | `EV_IPL` with GRUB's `grub_cmd: ` / `kernel_cmdline: ` / `module_cmdline: ` prefix | the string after the prefix, without its NUL (GRUB `grub_tpm_verify_string`) | verified |
//! | any other type, other `EV_IPL` / `EV_EVENT_TAG` | code, images, tables or data outside the log (e.g. `EV_POST_CODE`, `EV_EFI_BOOT_SERVICES_APPLICATION`, `EV_EFI_PLATFORM_FIRMWARE_BLOB2`, `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA", GRUB's file paths, shim's `MokList` names, the Linux EFI stub's `LoadOptions` / initrd tags) | verified if the digest happens to be the hash of the data (or of the data less a trailing NUL), otherwise unverified |

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
/// EV_SEPARATOR.
pub const EV_SEPARATOR: u32 = 4;
/// EV_IPL.
pub const EV_IPL: u32 = 0xD;
/// Largest event log accepted (8 MiB; firmware log areas are 64–256 KiB).
pub const MAX_LOG_LEN: usize = 8 << 20;
/// Largest single event payload accepted (8 MiB).
const MAX_EVENT_LEN: usize = 8 << 20;

/// The SDK's tagged event id (`"TSDK"`, as in `guest::applog`).
const SDK_TAG_ID: u32 = u32::from_le_bytes(*b"TSDK");

/// GRUB's measured-string prefixes (`grub_tpm_verify_string`): the digest
/// is over the string after the prefix, without the terminating NUL.
const GRUB_PREFIXES: [&[u8]; 3] = [b"grub_cmd: ", b"kernel_cmdline: ", b"module_cmdline: "];

/// What a replay knows about an event's data (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataCheck {
    /// The digest is defined over (part of) the data, and matches it.
    Verified,
    /// The data only describes what was measured (an image, a table, a
    /// file): nothing ties it to the digest.
    Unverified,
    /// `EV_NO_ACTION`: informational, never extended.
    NotExtended,
}

impl DataCheck {
    /// `verified`, `unverified` or `not extended`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unverified => "unverified",
            Self::NotExtended => "not extended",
        }
    }
}

/// Why an event's data does not match a digest defined over it.
type Mismatch = &'static str;

fn hashes_to(data: &[u8], d: &[u8; 48]) -> bool {
    sha384(data) == *d
}

fn without_nul(b: &[u8]) -> &[u8] {
    b.strip_suffix(&[0]).unwrap_or(b)
}

/// `UEFI_VARIABLE_DATA`: GUID, name length (UTF-16 units), data length,
/// name, data; the whole structure and just the data.
fn variable_data(d: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new("UEFI_VARIABLE_DATA", d);
    r.take(16).ok()?;
    let n = usize::try_from(r.u64().ok()?).ok()?;
    let len = usize::try_from(r.u64().ok()?).ok()?;
    r.take(n.checked_mul(2)?).ok()?;
    let data = r.take(len).ok()?;
    r.rest().is_empty().then_some(data)
}

fn check_event_data(
    t: u32,
    data: &[u8],
    d: &[u8; 48],
) -> core::result::Result<DataCheck, Mismatch> {
    let exact = |ok: bool, why: Mismatch| {
        if ok {
            Ok(DataCheck::Verified)
        } else {
            Err(why)
        }
    };
    match t {
        EV_NO_ACTION => Ok(DataCheck::NotExtended),
        // PFP §10.4.1: the digest is the hash of the event data.
        EV_SEPARATOR | 5 | 8 | 0x12 | 0x8000_0007 => exact(
            hashes_to(data, d),
            "the event data does not hash to the digest",
        ),
        // PFP §10.4.4: the digest is over the UEFI_VARIABLE_DATA / UEFI_GPT_DATA.
        0x8000_0001 | 0x8000_000C | 0x8000_00E0 | 0x8000_0006 => exact(
            hashes_to(data, d),
            "the event data does not hash to the digest",
        ),
        // PFP §10.4.4: EV_EFI_VARIABLE_BOOT digests VariableData only.
        0x8000_0002 => match variable_data(data) {
            Some(v) => exact(
                hashes_to(v, d),
                "the variable data does not hash to the digest",
            ),
            None => Err("not a UEFI_VARIABLE_DATA structure"),
        },
        EV_EVENT_TAG => {
            let mut r = Reader::new("tagged event", data);
            match r.u32() {
                Ok(SDK_TAG_ID) => {
                    let payload = (|| {
                        let n = r.u32().ok()? as usize;
                        let inner = r.take(n).ok()?;
                        let mut i = Reader::new("tagged event", inner);
                        let dl = i.u16().ok()? as usize;
                        i.take(dl).ok()?;
                        Some(i.rest())
                    })();
                    match payload {
                        Some(p) => exact(
                            hashes_to(p, d),
                            "the SDK event payload does not hash to the digest",
                        ),
                        None => Err("not an SDK tagged event structure"),
                    }
                }
                _ => Ok(loose(data, d)),
            }
        }
        EV_IPL => match GRUB_PREFIXES.iter().find(|p| data.starts_with(p)) {
            Some(p) => {
                let s = data.get(p.len()..).unwrap_or_default();
                exact(
                    hashes_to(without_nul(s), d),
                    "the measured string does not hash to the digest",
                )
            }
            None => Ok(loose(data, d)),
        },
        _ => Ok(loose(data, d)),
    }
}

/// For descriptions: verified only if the digest happens to cover them.
fn loose(data: &[u8], d: &[u8; 48]) -> DataCheck {
    if hashes_to(data, d) || hashes_to(without_nul(data), d) {
        DataCheck::Verified
    } else {
        DataCheck::Unverified
    }
}

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

    /// What the digest says about the data (see the module docs).
    ///
    /// # Errors
    /// [`Error::Malformed`] (field `event data`) naming `index` when the
    /// event type defines the digest over the data and they differ.
    pub fn data_check(&self, index: usize) -> Result<DataCheck> {
        let Some(d) = &self.digest else {
            return Ok(DataCheck::NotExtended);
        };
        check_event_data(self.event_type, &self.data, d).map_err(|why| {
            Error::bad_field(
                "TCG2 event log",
                "event data",
                format_args!(
                    "event {index} ({}): {why}",
                    event_type_name(self.event_type)
                ),
            )
        })
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

    /// Check every event's data against its digest (see the module docs).
    ///
    /// # Errors
    /// As [`LogEvent::data_check`], for the first event that fails.
    pub fn check_data(&self) -> Result<Vec<DataCheck>> {
        self.events
            .iter()
            .enumerate()
            .map(|(i, e)| e.data_check(i))
            .collect()
    }

    /// Replay into RTMR0..3 from zero (EV_NO_ACTION skipped), after
    /// checking every event's data ([`EventLog::check_data`]).
    ///
    /// # Errors
    /// [`Error::Malformed`] if an event names an MR index other than 1..=4,
    /// or its data does not match a digest defined over it (field
    /// `event data`, the message names the event's index).
    pub fn replay(&self) -> Result<[[u8; 48]; 4]> {
        self.check_data()?;
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

    /// The extending events as SDK events (register = RTMR index), each
    /// marked data-verified when [`LogEvent::data_check`] verified it.
    ///
    /// # Errors
    /// As [`EventLog::check_data`]: an event whose data does not match a
    /// digest defined over it.
    pub fn to_core_events(&self) -> Result<Vec<tee_core::Event>> {
        let mut out = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            let check = e.data_check(i)?;
            let (Some(idx), Some(d)) = (e.rtmr(), e.digest) else {
                continue;
            };
            let ev = tee_core::Event::from_digest(idx, e.describe(), d);
            out.push(if check == DataCheck::Verified {
                ev.mark_data_verified()
            } else {
                ev
            });
        }
        Ok(out)
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
            let check = match e.data_check(i) {
                Ok(DataCheck::Verified) => "",
                Ok(DataCheck::Unverified) => " [unverified: description only]",
                Ok(_) => " [not extended]",
                Err(_) => " [DATA DOES NOT MATCH ITS DIGEST]",
            };
            writeln!(f, "{i:3} {mr:6} {}{check}", e.describe())?;
            if !d.is_empty() {
                writeln!(f, "           sha384 {d}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(rel: &str) -> Option<Vec<u8>> {
        let dir = tee_core::conformance::vectors_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.."
        )))?;
        Some(std::fs::read(dir.join(rel)).unwrap())
    }

    /// Byte offset of event `index`'s data in a parsed log's bytes.
    fn data_offset(b: &[u8], index: usize) -> usize {
        let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
        let mut o = 32 + le32(28);
        for _ in 0..index {
            o += 66 + le32(o + 62);
        }
        o + 66
    }

    /// The field and detail of a `BadField` error.
    fn bad_field(e: Error) -> (&'static str, String) {
        match e {
            Error::Malformed(m) => match m.kind {
                MalformedKind::BadField { field, detail } => (field, detail),
                k => panic!("{k:?}"),
            },
            e => panic!("{e:?}"),
        }
    }

    const COS: &str = "go-tdx-guest/ccel/ccel_data.dat";

    #[test]
    fn finding6_real_ccel_data_checks() {
        let Some(b) = vector(COS) else { return };
        let log = EventLog::parse(&b).unwrap();
        let checks = log.check_data().unwrap();
        assert_eq!(checks.len(), 43);
        let kind = |i: usize| checks[i];
        // The kernel command line (GRUB's `kernel_cmdline: ` string) and
        // GRUB commands are verified; so are separators, EFI actions, the
        // Secure Boot variables, the boot variables and the GPT.
        assert!(log.events[40].data.starts_with(b"kernel_cmdline: "));
        for i in [
            2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 20, 21, 25, 38, 40, 41, 42,
        ] {
            assert_eq!(kind(i), DataCheck::Verified, "event {i}");
        }
        // Images, firmware volumes, ACPI tables, GRUB's file paths and
        // shim's MokList names are descriptions only.
        for i in [0, 1, 8, 9, 10, 17, 18, 19, 22, 23, 24, 39] {
            assert_eq!(kind(i), DataCheck::Unverified, "event {i}");
        }
        let dump = log.to_string();
        assert!(dump.contains("[unverified: description only]"), "{dump}");
        assert!(!dump.contains("DOES NOT MATCH"), "{dump}");
        let core = log.to_core_events().unwrap();
        assert_eq!(core.len(), 43);
        assert!(core[40].data_verified() && !core[17].data_verified());
    }

    #[test]
    fn finding6_changed_cmdline_byte_fails_the_replay_with_its_index() {
        let Some(b) = vector(COS) else { return };
        assert!(EventLog::parse(&b).unwrap().replay().is_ok());
        let mut m = b.clone();
        let at = data_offset(&m, 40);
        assert_eq!(&m[at..at + 16], b"kernel_cmdline: ");
        // One byte of the command line itself.
        m[at + 20] ^= 0x01;
        let log = EventLog::parse(&m).unwrap();
        let (field, detail) = bad_field(log.replay().unwrap_err());
        assert_eq!(field, "event data");
        assert!(detail.starts_with("event 40 (EV_IPL)"), "{detail}");
        let (_, detail) = bad_field(log.to_core_events().unwrap_err());
        assert!(detail.starts_with("event 40 "), "{detail}");
        assert!(log.to_string().contains("DATA DOES NOT MATCH ITS DIGEST"));
    }

    #[test]
    fn finding6_every_verified_event_fails_when_its_last_byte_changes() {
        for rel in [COS, "attestation-rs/tdx_ccel_live2.dat"] {
            let Some(b) = vector(rel) else { return };
            let log = EventLog::parse(&b).unwrap();
            let checks = log.check_data().unwrap();
            let mut verified = 0;
            for (i, c) in checks.iter().enumerate() {
                let len = log.events[i].data.len();
                if len == 0 {
                    continue;
                }
                let mut m = b.clone();
                m[data_offset(&b, i) + len - 1] ^= 0x80;
                let changed = EventLog::parse(&m).unwrap();
                match c {
                    DataCheck::Verified => {
                        verified += 1;
                        let (field, detail) = bad_field(changed.replay().unwrap_err());
                        assert_eq!(field, "event data");
                        assert!(
                            detail.starts_with(&format!("event {i} ")),
                            "{rel}: {detail}"
                        );
                    }
                    // A description changes freely; it stays marked unverified.
                    _ => {
                        assert!(changed.replay().is_ok(), "{rel} event {i}");
                        assert_eq!(changed.check_data().unwrap()[i], *c);
                    }
                }
            }
            assert!(verified >= 10, "{rel}: {verified}");
        }
    }

    #[test]
    fn finding6_verifier_claims_mark_unverified_and_refuse_changed_data() {
        use tee_core::evidence::{endorsement, format};
        use tee_core::{Evidence, Platform, UnixTime, Verifier};
        let (Some(b), Some(q)) = (
            vector(COS),
            vector("go-tdx-guest/ccel/cos-113-tdx-quote.dat"),
        ) else {
            return;
        };
        let at = UnixTime::parse_rfc3339("2025-01-01T00:00:00Z").unwrap();
        let verify = |log: Vec<u8>| {
            let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, q.clone())
                .with_endorsement(endorsement::TCG2_EVENT_LOG, log);
            crate::TdxVerifier::new()
                .without_collateral()
                .verify(&ev, at)
        };
        let claims = verify(b.clone()).unwrap();
        let replay = claims.event_log.as_ref().unwrap();
        assert!(replay.iter().all(|r| r.matches));
        // RTMR1 (index 1) holds the boot applications: listed unverified.
        assert!(
            replay[1]
                .unverified_events
                .iter()
                .any(|e| e.starts_with("event 17: EV_EFI_BOOT_SERVICES_APPLICATION")),
            "{:?}",
            replay[1].unverified_events
        );
        let total: usize = replay.iter().map(|r| r.unverified_events.len()).sum();
        assert_eq!(total, 12);
        // RTMR2 (GRUB): the command line is verified, the file paths are not.
        assert!(
            !replay[2]
                .unverified_events
                .iter()
                .any(|e| e.contains("kernel_cmdline"))
        );
        assert!(
            replay[2]
                .unverified_events
                .iter()
                .any(|e| e.contains("/syslinux/vmlinuz.A"))
        );
        // The changed command line: verification fails, naming event 40.
        let mut m = b.clone();
        m[data_offset(&b, 40) + 25] ^= 0x01;
        let (field, detail) = bad_field(verify(m).unwrap_err());
        assert_eq!(field, "event data");
        assert!(detail.starts_with("event 40 "), "{detail}");
    }

    #[test]
    fn finding6_sdk_tagged_events_are_checked() {
        let payload = b"application payload";
        let mut data = Vec::new();
        let desc = b"app";
        data.extend_from_slice(&SDK_TAG_ID.to_le_bytes());
        data.extend_from_slice(&((2 + desc.len() + payload.len()) as u32).to_le_bytes());
        data.extend_from_slice(&(desc.len() as u16).to_le_bytes());
        data.extend_from_slice(desc);
        data.extend_from_slice(payload);
        let ev = |data: &[u8], digest: [u8; 48]| LogEvent {
            mr_index: 4,
            event_type: EV_EVENT_TAG,
            digest: Some(digest),
            data: data.to_vec(),
        };
        assert_eq!(
            ev(&data, sha384(payload)).data_check(0).unwrap(),
            DataCheck::Verified
        );
        let (_, detail) = bad_field(ev(&data, sha384(b"other")).data_check(7).unwrap_err());
        assert!(detail.starts_with("event 7 (EV_EVENT_TAG)"), "{detail}");
        // A truncated SDK structure is refused, not downgraded.
        assert!(ev(&data[..6], sha384(payload)).data_check(0).is_err());
        // Another tag (the Linux EFI stub's initrd) is a description.
        let mut linux = 0x8F3B_22ECu32.to_le_bytes().to_vec();
        linux.extend_from_slice(&13u32.to_le_bytes());
        linux.extend_from_slice(b"Linux initrd\0");
        assert_eq!(
            ev(&linux, sha384(b"initrd")).data_check(0).unwrap(),
            DataCheck::Unverified
        );
        // EV_NO_ACTION is never extended: its data is not checked.
        let na = LogEvent {
            event_type: EV_NO_ACTION,
            ..ev(b"StartupLocality\0", [0; 48])
        };
        assert_eq!(na.data_check(0).unwrap(), DataCheck::NotExtended);
    }
}
