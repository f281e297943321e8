//! RTMR read/extend through the tsm-mr sysfs files (Linux 6.16+,
//! `Documentation/ABI/testing/sysfs-devices-virtual-misc-tdx_guest`):
//! `rtmrN:sha384` reads the register and a 48-byte write at offset 0
//! extends it: `RTMR = SHA-384(RTMR || data)`.
//!
//! Crash safety: an extension first writes the event to `<log>.pending`
//! (atomically), then extends the register, then appends the event to the
//! log and removes the pending file. On open, a pending event is resolved
//! by comparing the register with the log's replay: if the register already
//! includes the event, the event is appended; if not, it is dropped; any
//! other disagreement is an error, never a silently wrong log.
//!
//! The register files are read and written through the vendor-neutral
//! [`tee_linux::SysfsRegisters`] (names `rtmr0:sha384` .. `rtmr3:sha384`,
//! 48 bytes each).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tee_core::measurement::extend_sha384;
use tee_core::{DeviceErrorKind, Digest384, Error, EventLog, Result, RuntimeMeasurement};

use tee_linux::SysfsRegisters;

use super::KernelFs;
use super::applog::{AppEvent, AppLog};

/// The RTMR applications extend (RTMR0/1 are firmware, RTMR2 the OS).
pub const APP_RTMR: u32 = 3;

/// RTMR access with the application event log.
#[derive(Debug)]
pub struct TdxRtmr {
    regs: SysfsRegisters<Arc<dyn KernelFs>>,
    log: AppLog,
    lock: Mutex<()>,
}

/// Where a simulated crash stops an extension (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrashPoint {
    AfterPending,
    AfterExtend,
    None,
}

impl TdxRtmr {
    /// Open: recover a pending extension and check the log replays to the
    /// application register.
    ///
    /// # Errors
    /// [`Error::Device`] (`CorruptOutput`) if the log and the register
    /// disagree in a way no crash explains; I/O errors.
    pub fn open(fs: Arc<dyn KernelFs>, dir: PathBuf, log: PathBuf) -> Result<Self> {
        let names = (0..4).map(|i| format!("rtmr{i}:sha384")).collect();
        let me = Self {
            regs: SysfsRegisters::new(fs, dir, names, 48),
            log: AppLog::new(log),
            lock: Mutex::new(()),
        };
        me.recover()?;
        Ok(me)
    }

    fn reg_path(&self, i: u32) -> PathBuf {
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        self.regs.path(i).unwrap_or_default()
    }

    fn read_reg(&self, i: u32) -> Result<Digest384> {
        let b = self.regs.read(usize::try_from(i).unwrap_or(usize::MAX))?;
        <[u8; 48]>::try_from(b.as_slice()).map_err(|_| {
            Error::device(
                DeviceErrorKind::CorruptOutput,
                self.reg_path(i).display().to_string(),
                format!("read {} bytes, expected 48", b.len()),
            )
        })
    }

    fn replay(events: &[AppEvent], idx: u32) -> Digest384 {
        events
            .iter()
            .filter(|e| e.rtmr == idx)
            .fold([0u8; 48], |acc, e| extend_sha384(&acc, &e.digest))
    }

    /// Take the in-process mutex and the cross-process file lock
    /// (`<log>.lock`, released when the returned file is dropped).
    fn lock_all(&self) -> Result<(std::sync::MutexGuard<'_, ()>, std::fs::File)> {
        let g = self
            .lock
            .lock()
            .map_err(|_| Error::Misuse("RTMR lock poisoned".into()))?;
        let f = self.log.lock_file()?;
        Ok((g, f))
    }

    /// Resolve a crash left behind by a previous process.
    pub(crate) fn recover(&self) -> Result<()> {
        let _g = self.lock_all()?;
        self.recover_locked()
    }

    fn recover_locked(&self) -> Result<()> {
        let mut loaded = self.log.load()?;
        let pending = self.log.read_pending()?;
        if loaded.torn_tail {
            if pending.is_none() {
                return Err(Error::device(
                    DeviceErrorKind::CorruptOutput,
                    self.log.path().display().to_string(),
                    "the event log ends in an incomplete record and no extension was pending",
                ));
            }
            self.log.truncate(loaded.good_len)?;
        }
        if let Some(p) = pending {
            let cur = self.read_reg(p.rtmr)?;
            let before = Self::replay(&loaded.events, p.rtmr);
            if before == cur {
                // Crashed before the extend (or the append already landed
                // and the replay already includes it): nothing to add.
            } else if extend_sha384(&before, &p.digest) == cur {
                self.log.append(&p)?;
                loaded.events.push(p);
            } else {
                return Err(self.disagree(p.rtmr));
            }
            self.log.clear_pending()?;
        }
        let cur = self.read_reg(APP_RTMR)?;
        if Self::replay(&loaded.events, APP_RTMR) != cur {
            return Err(self.disagree(APP_RTMR));
        }
        Ok(())
    }

    fn disagree(&self, i: u32) -> Error {
        Error::device(
            DeviceErrorKind::CorruptOutput,
            self.log.path().display().to_string(),
            format!("the event log does not replay to RTMR{i} (extended outside this log?)"),
        )
    }

    pub(crate) fn extend_inner(
        &self,
        index: u32,
        description: &str,
        data: &[u8],
        crash: CrashPoint,
    ) -> Result<Digest384> {
        if !self.extendable(index) {
            return Err(Error::Misuse(
                format!("RTMR{index} is not extendable by applications (only RTMR{APP_RTMR})")
                    .into(),
            ));
        }
        let _g = self.lock_all()?;
        // Another process may have extended since we opened: resolve first.
        self.recover_locked()?;
        let digest = crate::ccel::sha384(data);
        let ev = AppEvent {
            rtmr: index,
            digest,
            description: description.to_string(),
            payload: data.to_vec(),
        };
        let before = self.read_reg(index)?;
        self.log.write_pending(&ev)?;
        if crash == CrashPoint::AfterPending {
            return Ok(before);
        }
        let p = self.reg_path(index);
        self.regs
            .extend(usize::try_from(index).unwrap_or(usize::MAX), &digest)?;
        if crash == CrashPoint::AfterExtend {
            return Ok(before);
        }
        self.log.append(&ev)?;
        self.log.clear_pending()?;
        let after = self.read_reg(index)?;
        if after != extend_sha384(&before, &digest) {
            return Err(Error::device(
                DeviceErrorKind::ConcurrentUse,
                p.display().to_string(),
                "register changed concurrently during the extension",
            ));
        }
        Ok(after)
    }
}

impl RuntimeMeasurement for TdxRtmr {
    fn register_count(&self) -> u32 {
        4
    }

    fn extendable(&self, index: u32) -> bool {
        index == APP_RTMR
    }

    fn read(&self, index: u32) -> Result<Digest384> {
        if index >= 4 {
            return Err(Error::Misuse(
                format!("RTMR{index} does not exist (0..=3)").into(),
            ));
        }
        self.read_reg(index)
    }

    fn extend(&self, index: u32, description: &str, data: &[u8]) -> Result<Digest384> {
        self.extend_inner(index, description, data, CrashPoint::None)
    }

    fn event_log(&self) -> Result<EventLog> {
        let l = self.log.load()?;
        Ok(EventLog::new(
            l.events.iter().map(AppEvent::to_core).collect(),
        ))
    }
}
