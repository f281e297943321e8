//! One fake kernel filesystem that behaves like the kernel. NO SECURITY.
//!
//! [`FakeKernelFs`] implements [`KernelFs`] in memory:
//!
//! - **configfs-tsm** under a virtual report root: `mkdir` creates a report
//!   directory with its attributes (`provider`, `generation`, `inblob`,
//!   `outblob`; `privlevel` and `privlevel_floor` when the provider has a
//!   privilege floor; `auxblob` when it has an aux blob); every write to
//!   `inblob` or `privlevel` increments `generation`; `inblob` takes at most
//!   64 bytes and `outblob` needs exactly 64; `privlevel` takes 0..=3 and at
//!   least the floor; `outblob` is produced by a closure the backend supplies
//!   ([`OutblobFn`]: SEV a fake firmware report, TDX a fake quote), called
//!   without the fake's lock held.
//! - **sysfs registers** ([`FakeKernelFs::add_register`]): reading returns
//!   the value, a write of exactly the register's size extends it.
//! - **faults**: an errno on chosen operations for the next `n` calls
//!   ([`FakeKernelFs::inject`]; `EBUSY`, `EACCES`, `ENOENT`, `EIO`, `EEXIST`
//!   for a leftover directory, on mkdir, rmdir, read, write or close), a
//!   concurrent writer that writes `inblob` between our write and our read
//!   ([`FakeKernelFs::inject_concurrent_writer`]), an outblob override, and
//!   interfaces that are absent.
//!
//! Everything a test wants to check afterwards is recorded: live report
//! directories, removed directories, privlevels written.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::fs::KernelFs;

#[path = "tpm_fake.rs"]
mod tpm_fake;
pub use tpm_fake::{FakeTpm, NvWriteHook, QuoteSigner, TpmFault, rc as tpm_rc};

/// What the fake passes to the outblob generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutblobRequest<'a> {
    /// The inblob (exactly 64 bytes).
    pub inblob: &'a [u8; 64],
    /// The privlevel written (0 when none was).
    pub privlevel: u32,
}

/// Produces an outblob, as the provider's driver would. An `Err` is what the
/// `read(2)` of `outblob` returns (e.g. `EBUSY`, `EIO`).
pub type OutblobFn = Arc<dyn Fn(&OutblobRequest<'_>) -> io::Result<Vec<u8>> + Send + Sync>;

/// Extends a register: `(old value, written data) -> new value`.
pub type ExtendFn = fn(&[u8], &[u8]) -> Vec<u8>;

/// SHA-384 extension (`H(old || data)`) of 48-byte registers (TDX RTMRs).
pub fn extend_sha384(old: &[u8], data: &[u8]) -> Vec<u8> {
    let mut o = [0u8; 48];
    let mut d = [0u8; 48];
    if old.len() == 48 && data.len() == 48 {
        o.copy_from_slice(old);
        d.copy_from_slice(data);
    }
    tee_core::measurement::extend_sha384(&o, &d).to_vec()
}

/// Which operation a fault hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultOn {
    /// Every `mkdir`, `read` and `write` (not `rmdir`: cleanup still works).
    Any,
    /// `mkdir` of a report directory (`EEXIST` = a leftover directory).
    Mkdir,
    /// `rmdir` of a report directory (the directory stays).
    Rmdir,
    /// Reading the attribute or register file with this name.
    Read(String),
    /// Writing the attribute with this name (`write(2)` fails, nothing
    /// is stored).
    Write(String),
    /// Closing the attribute with this name after a write: the data was
    /// accepted by `write(2)` but the kernel rejects it at close, so
    /// nothing is committed (configfs binary attributes).
    Close(String),
}

#[derive(Debug, Clone)]
struct Fault {
    on: FaultOn,
    errno: i32,
    remaining: u32,
}

#[derive(Debug, Default)]
struct Entry {
    generation: u64,
    privlevel: u32,
    inblob: Option<Vec<u8>>,
}

struct Register {
    value: Vec<u8>,
    extend: ExtendFn,
}

struct State {
    root: PathBuf,
    tsm_present: bool,
    provider: String,
    privlevel_floor: Option<u32>,
    auxblob: Option<Vec<u8>>,
    outblob: OutblobFn,
    outblob_override: Option<Vec<u8>>,
    reports: BTreeMap<PathBuf, Entry>,
    removed: Vec<PathBuf>,
    privlevels_written: Vec<String>,
    faults: Vec<Fault>,
    racer: u32,
    registers: BTreeMap<PathBuf, Register>,
    registers_present: bool,
}

/// An in-memory kernel filesystem (configfs-tsm and sysfs registers).
/// Clones share state. NO SECURITY.
#[derive(Clone)]
pub struct FakeKernelFs {
    st: Arc<Mutex<State>>,
}

impl fmt::Debug for FakeKernelFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.st.lock() {
            Ok(s) => f
                .debug_struct("FakeKernelFs")
                .field("root", &s.root)
                .field("provider", &s.provider)
                .field("open_reports", &s.reports.len())
                .field("registers", &s.registers.len())
                .finish_non_exhaustive(),
            Err(_) => f.write_str("FakeKernelFs(poisoned)"),
        }
    }
}

/// A handle that does not keep a [`FakeKernelFs`] alive (for outblob
/// generators that read the fake's registers without a reference cycle).
#[derive(Debug, Clone)]
pub struct WeakKernelFs {
    st: Weak<Mutex<State>>,
}

impl WeakKernelFs {
    /// The fake, if it still exists.
    pub fn upgrade(&self) -> Option<FakeKernelFs> {
        self.st.upgrade().map(|st| FakeKernelFs { st })
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl FakeKernelFs {
    /// A configfs-tsm report root at `root` (a virtual path) whose
    /// directories report `provider` and produce outblobs with `outblob`.
    /// No privlevel attributes and no auxblob until configured.
    pub fn new(
        root: impl Into<PathBuf>,
        provider: &str,
        outblob: impl Fn(&OutblobRequest<'_>) -> io::Result<Vec<u8>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            st: Arc::new(Mutex::new(State {
                root: root.into(),
                tsm_present: true,
                provider: provider.to_owned(),
                privlevel_floor: None,
                auxblob: None,
                outblob: Arc::new(outblob),
                outblob_override: None,
                reports: BTreeMap::new(),
                removed: Vec::new(),
                privlevels_written: Vec::new(),
                faults: Vec::new(),
                racer: 0,
                registers: BTreeMap::new(),
                registers_present: true,
            })),
        }
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        self.st.lock().map_err(|_| errno(libc::EIO))
    }

    fn set(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut g) = self.st.lock() {
            f(&mut g);
        }
    }

    /// A handle that does not keep this fake alive.
    pub fn downgrade(&self) -> WeakKernelFs {
        WeakKernelFs {
            st: Arc::downgrade(&self.st),
        }
    }

    /// Replace the outblob generator.
    pub fn set_outblob_fn(
        &self,
        outblob: impl Fn(&OutblobRequest<'_>) -> io::Result<Vec<u8>> + Send + Sync + 'static,
    ) {
        let f: OutblobFn = Arc::new(outblob);
        self.set(|s| s.outblob = f);
    }

    /// The report root.
    pub fn root(&self) -> PathBuf {
        self.lock().map(|s| s.root.clone()).unwrap_or_default()
    }

    /// The provider new report directories show.
    pub fn set_provider(&self, provider: &str) {
        self.set(|s| s.provider = provider.to_owned());
    }

    /// `Some(floor)`: directories have `privlevel` and `privlevel_floor`
    /// (SEV); `None`: they have neither (TDX).
    pub fn set_privlevel_floor(&self, floor: Option<u32>) {
        self.set(|s| s.privlevel_floor = floor);
    }

    /// `Some(blob)`: directories have an `auxblob` with these bytes.
    pub fn set_auxblob(&self, aux: Option<Vec<u8>>) {
        self.set(|s| s.auxblob = aux);
    }

    /// `outblob` returns these bytes instead of the generator's (e.g. a CWT).
    pub fn set_outblob_override(&self, blob: Option<Vec<u8>>) {
        self.set(|s| s.outblob_override = blob);
    }

    /// Whether the report root exists (configfs mounted, Linux 6.7+).
    pub fn set_tsm_present(&self, on: bool) {
        self.set(|s| s.tsm_present = on);
    }

    /// Whether the register files exist (tsm-mr, Linux 6.16+).
    pub fn set_registers_present(&self, on: bool) {
        self.set(|s| s.registers_present = on);
    }

    /// The next `times` matching operations fail with `errno`
    /// (`u32::MAX`: every one). Faults are matched in injection order.
    pub fn inject(&self, on: FaultOn, errno: i32, times: u32) {
        if times > 0 {
            self.set(|s| {
                s.faults.push(Fault {
                    on,
                    errno,
                    remaining: times,
                });
            });
        }
    }

    /// Remove the injected faults on `on`.
    pub fn clear_faults_on(&self, on: &FaultOn) {
        self.set(|s| s.faults.retain(|f| f.on != *on));
    }

    /// Remove every injected fault and the concurrent writer.
    pub fn clear_faults(&self) {
        self.set(|s| {
            s.faults.clear();
            s.racer = 0;
        });
    }

    /// The next `times` reads of `outblob` (`u32::MAX`: every one) are
    /// preceded by another process writing `[0xEE; 64]` to the same
    /// `inblob`, which bumps `generation`: a race only the generation check
    /// can see.
    pub fn inject_concurrent_writer(&self, times: u32) {
        self.set(|s| s.racer = times);
    }

    /// Report directories present now (0 after every request: cleanup).
    pub fn open_reports(&self) -> usize {
        self.lock().map(|s| s.reports.len()).unwrap_or(usize::MAX)
    }

    /// Report directories removed so far, in order.
    pub fn removed(&self) -> Vec<PathBuf> {
        self.lock().map(|s| s.removed.clone()).unwrap_or_default()
    }

    /// Every `privlevel` value written so far, as written.
    pub fn privlevels_written(&self) -> Vec<String> {
        self.lock()
            .map(|s| s.privlevels_written.clone())
            .unwrap_or_default()
    }

    /// Add a register file at `path` holding `initial`, extended by
    /// `extend` on a write of exactly `initial.len()` bytes.
    pub fn add_register(&self, path: impl Into<PathBuf>, initial: Vec<u8>, extend: ExtendFn) {
        let path = path.into();
        self.set(|s| {
            s.registers.insert(
                path,
                Register {
                    value: initial,
                    extend,
                },
            );
        });
    }

    /// The value of the register at `path`.
    pub fn register(&self, path: &Path) -> Option<Vec<u8>> {
        self.lock()
            .ok()?
            .registers
            .get(path)
            .map(|r| r.value.clone())
    }

    /// Extend the register at `path` behind the client's back (as another
    /// process would); ignores the presence switch and faults.
    pub fn extend_register(&self, path: &Path, data: &[u8]) {
        self.set(|s| {
            if let Some(r) = s.registers.get_mut(path) {
                r.value = (r.extend)(&r.value, data);
            }
        });
    }

    fn take_fault(s: &mut State, op: &FaultOn) -> Option<io::Error> {
        let i = s.faults.iter().position(|f| {
            f.on == *op
                || (f.on == FaultOn::Any
                    && matches!(op, FaultOn::Mkdir | FaultOn::Read(_) | FaultOn::Write(_)))
        })?;
        let f = s.faults.get_mut(i)?;
        let e = f.errno;
        if f.remaining != u32::MAX {
            f.remaining -= 1;
            if f.remaining == 0 {
                s.faults.remove(i);
            }
        }
        Some(errno(e))
    }

    fn attr_name(p: &Path) -> String {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn is_register_dir(s: &State, p: &Path) -> bool {
        s.registers.keys().any(|k| k.parent() == Some(p))
    }

    fn has_attr(s: &State, attr: &str) -> bool {
        match attr {
            "provider" | "generation" | "inblob" | "outblob" => true,
            "privlevel" | "privlevel_floor" => s.privlevel_floor.is_some(),
            "auxblob" => s.auxblob.is_some(),
            _ => false,
        }
    }

    /// The report directory and attribute of `p`, if `p` is an attribute
    /// of a live report directory.
    fn report_attr(s: &State, p: &Path) -> Option<(PathBuf, String)> {
        let dir = p.parent()?;
        if !s.tsm_present || dir.parent()? != s.root || !s.reports.contains_key(dir) {
            return None;
        }
        let attr = Self::attr_name(p);
        Self::has_attr(s, &attr).then(|| (dir.to_path_buf(), attr))
    }

    fn read_report_attr(&self, p: &Path) -> io::Result<Vec<u8>> {
        let (inblob, privlevel, generator) = {
            let mut g = self.lock()?;
            let s = &mut *g;
            let (dir, attr) = Self::report_attr(s, p).ok_or_else(|| errno(libc::ENOENT))?;
            if let Some(e) = Self::take_fault(s, &FaultOn::Read(attr.clone())) {
                return Err(e);
            }
            let racer = s.racer > 0;
            if racer && attr == "outblob" && s.racer != u32::MAX {
                s.racer -= 1;
            }
            let over = s.outblob_override.clone();
            let provider = s.provider.clone();
            let floor = s.privlevel_floor;
            let aux = s.auxblob.clone();
            let generator = s.outblob.clone();
            let e = s.reports.get_mut(&dir).ok_or_else(|| errno(libc::ENOENT))?;
            match attr.as_str() {
                "provider" => return Ok(format!("{provider}\n").into_bytes()),
                "generation" => return Ok(format!("{}\n", e.generation).into_bytes()),
                "privlevel" => return Ok(format!("{}\n", e.privlevel).into_bytes()),
                "privlevel_floor" => {
                    return Ok(format!("{}\n", floor.unwrap_or_default()).into_bytes());
                }
                "auxblob" => return Ok(aux.unwrap_or_default()),
                "outblob" => {}
                // inblob is write-only.
                _ => return Err(errno(libc::EACCES)),
            }
            if racer {
                e.generation += 1;
                e.inblob = Some(vec![0xEE; 64]);
            }
            let inblob: [u8; 64] = e
                .inblob
                .as_deref()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| errno(libc::EINVAL))?;
            if let Some(o) = over {
                return Ok(o);
            }
            (inblob, e.privlevel, generator)
        };
        generator(&OutblobRequest {
            inblob: &inblob,
            privlevel,
        })
    }

    fn write_report_attr(&self, s: &mut State, p: &Path, data: &[u8]) -> io::Result<()> {
        let (dir, attr) = Self::report_attr(s, p).ok_or_else(|| errno(libc::ENOENT))?;
        if let Some(e) = Self::take_fault(s, &FaultOn::Write(attr.clone())) {
            return Err(e);
        }
        let floor = s.privlevel_floor.unwrap_or_default();
        let value = match attr.as_str() {
            "inblob" if data.len() <= 64 => None,
            "inblob" => return Err(errno(libc::EINVAL)),
            "privlevel" => {
                let txt = std::str::from_utf8(data)
                    .map_err(|_| errno(libc::EINVAL))?
                    .trim()
                    .to_owned();
                let v: u32 = txt.parse().map_err(|_| errno(libc::EINVAL))?;
                if v > 3 || v < floor {
                    return Err(errno(libc::EINVAL));
                }
                Some((v, txt))
            }
            _ => return Err(errno(libc::EACCES)),
        };
        if let Some(e) = Self::take_fault(s, &FaultOn::Close(attr.clone())) {
            return Err(e);
        }
        if let Some((_, txt)) = &value {
            s.privlevels_written.push(txt.clone());
        }
        let e = s.reports.get_mut(&dir).ok_or_else(|| errno(libc::ENOENT))?;
        match value {
            Some((v, _)) => e.privlevel = v,
            None => e.inblob = Some(data.to_vec()),
        }
        e.generation += 1;
        Ok(())
    }
}

impl KernelFs for FakeKernelFs {
    fn mkdir(&self, p: &Path) -> io::Result<()> {
        let mut g = self.lock()?;
        let s = &mut *g;
        if !s.tsm_present || p.parent() != Some(s.root.as_path()) {
            return Err(errno(libc::ENOENT));
        }
        if let Some(e) = Self::take_fault(s, &FaultOn::Mkdir) {
            return Err(e);
        }
        if s.reports.contains_key(p) {
            return Err(errno(libc::EEXIST));
        }
        s.reports.insert(p.to_path_buf(), Entry::default());
        Ok(())
    }

    fn rmdir(&self, p: &Path) -> io::Result<()> {
        let mut g = self.lock()?;
        let s = &mut *g;
        if !s.reports.contains_key(p) {
            return Err(errno(libc::ENOENT));
        }
        if let Some(e) = Self::take_fault(s, &FaultOn::Rmdir) {
            return Err(e);
        }
        s.reports.remove(p);
        s.removed.push(p.to_path_buf());
        Ok(())
    }

    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        {
            let mut g = self.lock()?;
            let s = &mut *g;
            if s.registers.contains_key(p) {
                if !s.registers_present {
                    return Err(errno(libc::ENOENT));
                }
                if let Some(e) = Self::take_fault(s, &FaultOn::Read(Self::attr_name(p))) {
                    return Err(e);
                }
                return s
                    .registers
                    .get(p)
                    .map(|r| r.value.clone())
                    .ok_or_else(|| errno(libc::ENOENT));
            }
        }
        self.read_report_attr(p)
    }

    fn write(&self, p: &Path, data: &[u8]) -> io::Result<()> {
        let mut g = self.lock()?;
        let s = &mut *g;
        if s.registers.contains_key(p) {
            if !s.registers_present {
                return Err(errno(libc::ENOENT));
            }
            let name = Self::attr_name(p);
            if let Some(e) = Self::take_fault(s, &FaultOn::Write(name.clone())) {
                return Err(e);
            }
            let r = s.registers.get(p).ok_or_else(|| errno(libc::ENOENT))?;
            if data.len() != r.value.len() {
                return Err(errno(libc::EINVAL));
            }
            if let Some(e) = Self::take_fault(s, &FaultOn::Close(name)) {
                return Err(e);
            }
            let r = s.registers.get_mut(p).ok_or_else(|| errno(libc::ENOENT))?;
            r.value = (r.extend)(&r.value, data);
            return Ok(());
        }
        self.write_report_attr(s, p, data)
    }

    fn exists(&self, p: &Path) -> bool {
        let Ok(s) = self.st.lock() else { return false };
        if p == s.root {
            return s.tsm_present;
        }
        if s.registers.contains_key(p) || Self::is_register_dir(&s, p) {
            return s.registers_present;
        }
        if s.tsm_present && s.reports.contains_key(p) {
            return true;
        }
        Self::report_attr(&s, p).is_some()
    }
}
