//! The application RTMR event log: a TCG2 crypto-agile (SHA-384) log file,
//! the same format as the firmware CCEL log, so one replay path serves both.
//!
//! Each application event is an `EV_EVENT_TAG` record whose data is a
//! `TCG_PCClientTaggedEvent` { id = [`TAG_ID`], size, `u16 desc_len ||
//! desc || payload` } and whose digest is `SHA-384(payload)`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use tee_core::{DeviceErrorKind, Error, Event, Result};

use crate::ccel::{EV_EVENT_TAG, EventLog as TcgLog};
use tee_core::reader::Reader;

/// Tagged event id of SDK application events (`"TSDK"`).
pub const TAG_ID: u32 = u32::from_le_bytes(*b"TSDK");

/// One application event as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    /// RTMR index.
    pub rtmr: u32,
    /// SHA-384 of the payload.
    pub digest: [u8; 48],
    /// Description.
    pub description: String,
    /// The measured payload.
    pub payload: Vec<u8>,
}

impl AppEvent {
    /// Encode as one `TCG_PCR_EVENT2` record.
    pub fn encode(&self) -> Vec<u8> {
        let desc = self.description.as_bytes();
        let desc = desc
            .get(..desc.len().min(u16::MAX as usize))
            .unwrap_or_default();
        let mut inner = Vec::with_capacity(2 + desc.len() + self.payload.len());
        inner.extend_from_slice(&(desc.len() as u16).to_le_bytes());
        inner.extend_from_slice(desc);
        inner.extend_from_slice(&self.payload);
        let mut data = Vec::with_capacity(8 + inner.len());
        data.extend_from_slice(&TAG_ID.to_le_bytes());
        data.extend_from_slice(&(inner.len() as u32).to_le_bytes());
        data.extend_from_slice(&inner);
        TcgLog::encode_event(self.rtmr + 1, EV_EVENT_TAG, &self.digest, &data)
    }

    /// Decode one record from `r`.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self> {
        const W: &str = "application event log";
        let mr = r.u32()?;
        let ty = r.u32()?;
        let count = r.u32()?;
        let alg = r.u16()?;
        if ty != EV_EVENT_TAG
            || count != 1
            || alg != crate::ccel::ALG_SHA384
            || !(1..=4).contains(&mr)
        {
            return Err(Error::bad_field(
                W,
                "record",
                "not an SDK SHA-384 EV_EVENT_TAG record",
            ));
        }
        let digest = r.array::<48>()?;
        let size = r.u32()? as usize;
        let data = r.take(size)?;
        let mut d = Reader::new(W, data);
        if d.u32()? != TAG_ID {
            return Err(Error::bad_field(W, "taggedEventID", "not an SDK event"));
        }
        let inner_len = d.u32()? as usize;
        let inner = d.take(inner_len)?;
        let mut i = Reader::new(W, inner);
        let dl = i.u16()? as usize;
        let description = String::from_utf8_lossy(i.take(dl)?).into_owned();
        let payload = i.rest().to_vec();
        if crate::ccel::sha384(&payload) != digest {
            return Err(Error::bad_field(
                W,
                "digest",
                "payload does not hash to the recorded digest",
            ));
        }
        Ok(Self {
            rtmr: mr - 1,
            digest,
            description,
            payload,
        })
    }

    /// As an SDK event.
    pub fn to_core(&self) -> Event {
        Event::new(self.rtmr, self.description.clone(), self.payload.clone())
    }
}

/// The log file plus its write-ahead `.pending` record.
#[derive(Debug, Clone)]
pub struct AppLog {
    path: PathBuf,
}

/// What [`AppLog::load`] found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Complete records.
    pub events: Vec<AppEvent>,
    /// Byte length of the complete part of the file.
    pub good_len: usize,
    /// Whether an incomplete record followed (a torn append).
    pub torn_tail: bool,
}

fn dev_err(p: &Path, e: impl core::fmt::Display) -> Error {
    Error::device(DeviceErrorKind::Io, p.display().to_string(), e)
}

impl AppLog {
    /// The log at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The log path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn pending_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".pending");
        PathBuf::from(p)
    }

    /// Open `<log>.lock` and take an exclusive `flock` on it.
    pub(crate) fn lock_file(&self) -> Result<File> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| dev_err(dir, e))?;
        }
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        let p = PathBuf::from(p);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| dev_err(&p, e))?;
        super::sys::lock_exclusive(&f).map_err(|e| dev_err(&p, e))?;
        Ok(f)
    }

    /// Read the log (missing file = empty log).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a damaged record that is not a torn tail,
    /// [`Error::Device`] on I/O failure.
    pub fn load(&self) -> Result<Loaded> {
        let b = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
            Err(e) => return Err(dev_err(&self.path, e)),
        };
        Self::parse(&b)
    }

    /// Parse log bytes.
    ///
    /// # Errors
    /// As [`AppLog::load`].
    pub fn parse(b: &[u8]) -> Result<Loaded> {
        let header = TcgLog::encode_header();
        if b.len() < header.len() {
            // A crash while creating the log: only a prefix of the header.
            return if header.starts_with(b) {
                Ok(Loaded {
                    events: Vec::new(),
                    good_len: 0,
                    torn_tail: !b.is_empty(),
                })
            } else {
                Err(Error::bad_field(
                    "application event log",
                    "header",
                    "not an SDK TCG2 log",
                ))
            };
        }
        if b.get(..header.len()) != Some(&header[..]) {
            return Err(Error::bad_field(
                "application event log",
                "header",
                "not an SDK TCG2 log",
            ));
        }
        let mut r = Reader::new("application event log", b);
        r.take(header.len())?;
        let mut events = Vec::new();
        let mut good_len = r.offset();
        while !r.rest().is_empty() {
            let mut probe = r.clone();
            match AppEvent::decode(&mut probe) {
                Ok(ev) => {
                    events.push(ev);
                    r = probe;
                    good_len = r.offset();
                }
                Err(Error::Malformed(tee_core::Malformed {
                    kind: tee_core::MalformedKind::Truncated { .. },
                    ..
                })) => {
                    return Ok(Loaded {
                        events,
                        good_len,
                        torn_tail: true,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Loaded {
            events,
            good_len,
            torn_tail: false,
        })
    }

    /// Write the pending record atomically (temp file, fsync, rename).
    pub(crate) fn write_pending(&self, ev: &AppEvent) -> Result<()> {
        let p = self.pending_path();
        let mut tmp = p.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = File::create(&tmp).map_err(|e| dev_err(&tmp, e))?;
        f.write_all(&ev.encode()).map_err(|e| dev_err(&tmp, e))?;
        f.sync_all().map_err(|e| dev_err(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| dev_err(&p, e))?;
        self.sync_dir();
        Ok(())
    }

    /// The pending record, if any.
    pub(crate) fn read_pending(&self) -> Result<Option<AppEvent>> {
        let p = self.pending_path();
        match std::fs::read(&p) {
            Ok(b) => {
                let mut r = Reader::new("pending event", &b);
                match AppEvent::decode(&mut r) {
                    Ok(ev) => Ok(Some(ev)),
                    // The rename is atomic, so a damaged pending file means
                    // the extend never started; discard it.
                    Err(_) => {
                        self.clear_pending()?;
                        Ok(None)
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(dev_err(&p, e)),
        }
    }

    pub(crate) fn clear_pending(&self) -> Result<()> {
        let p = self.pending_path();
        match std::fs::remove_file(&p) {
            Ok(()) => {
                self.sync_dir();
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(dev_err(&p, e)),
        }
    }

    /// Cut the file back to `len` bytes (drop a torn tail).
    pub(crate) fn truncate(&self, len: usize) -> Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| dev_err(&self.path, e))?;
        f.set_len(len as u64).map_err(|e| dev_err(&self.path, e))?;
        f.sync_all().map_err(|e| dev_err(&self.path, e))
    }

    /// Append one record (creating the file with its header), then fsync.
    pub(crate) fn append(&self, ev: &AppEvent) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| dev_err(dir, e))?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| dev_err(&self.path, e))?;
        let len = f.metadata().map_err(|e| dev_err(&self.path, e))?.len();
        let mut buf = Vec::new();
        if len == 0 {
            buf.extend_from_slice(&TcgLog::encode_header());
        }
        buf.extend_from_slice(&ev.encode());
        f.write_all(&buf).map_err(|e| dev_err(&self.path, e))?;
        f.sync_all().map_err(|e| dev_err(&self.path, e))
    }

    fn sync_dir(&self) {
        if let Some(d) = self.path.parent() {
            // Best effort: directory fsync is not supported everywhere.
            if let Ok(f) = File::open(d) {
                let _ = f.sync_all();
            }
        }
    }
}
