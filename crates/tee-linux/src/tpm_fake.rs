//! A fake TPM 2.0 that answers the commands of [`crate::tpm::Tpm`] like a
//! TPM would, with injectable faults. NO SECURITY.
//!
//! It parses each command buffer strictly (header size, tag, session area),
//! keeps NV indices, persistent signing keys and 24 SHA-256 PCRs, and
//! answers with real response buffers: success, an error response code, a
//! transient code (`TPM_RC_RETRY`), a short or oversized response, or a
//! transport error, as a test asks ([`TpmFault`]). An NV-write hook lets a
//! test model a paravisor that regenerates another index when one is
//! written (the Azure HCL report), optionally only after a few reads.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tee_core::{DeviceErrorKind, Error, Result};

use crate::tpm::wire::{
    self, ClockInfo, PcrSelection, QuoteAttest, Reader, RsaPublic, Signature, TPM_ALG_NULL,
    TPM_ALG_RSASSA, TPM_ALG_SHA256, TPM_RH_ENDORSEMENT, TPM_RH_OWNER, TPM_RS_PW,
    TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS, put_tpm2b,
};
use crate::tpm::{NV_CHUNK, NvPublic, TPM_MAX_BUFFER, TpmCommand, TpmTransport};

/// Signs the bytes of a `TPMS_ATTEST` (RSASSA-PKCS1-v1.5 / SHA-256) and
/// returns the raw signature.
pub type QuoteSigner = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// Called after a successful `TPM2_NV_Write` with the index and its whole
/// new content; returns NV contents to install (index, bytes), e.g. the
/// regenerated report of a paravisor.
pub type NvWriteHook = Arc<dyn Fn(u32, &[u8]) -> Vec<(u32, Vec<u8>)> + Send + Sync>;

/// A fault for the fake's next answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TpmFault {
    /// Answer `TPM_RC_RETRY` (transient) `n` times.
    Retry(u32),
    /// Answer this response code once.
    ResponseCode(u32),
    /// Answer with the first `n` bytes of the real response once.
    Truncate(usize),
    /// Fail the transport once with this device error kind.
    Transport(DeviceErrorKind),
}

struct Key {
    public: RsaPublic,
    signer: QuoteSigner,
}

struct State {
    nv: BTreeMap<u32, (NvPublic, Vec<u8>)>,
    keys: BTreeMap<u32, Key>,
    pcrs: Vec<[u8; 32]>,
    clock: u64,
    faults: BTreeMap<Option<TpmCommand>, VecDeque<TpmFault>>,
    hook: Option<NvWriteHook>,
    hook_delay_reads: u32,
    pending: Vec<(u32, Vec<u8>)>,
    pending_reads_left: u32,
    max_qualifying_data: usize,
    log: Vec<TpmCommand>,
}

/// The fake TPM. Clones share state.
#[derive(Clone)]
pub struct FakeTpm {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for FakeTpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeTpm").finish_non_exhaustive()
    }
}

impl Default for FakeTpm {
    fn default() -> Self {
        Self::new()
    }
}

/// A `TPM_RC` constant of the fake's answers.
pub mod rc {
    /// `TPM_RC_HANDLE` for handle 1.
    pub const HANDLE_1: u32 = 0x18B;
    /// `TPM_RC_SIZE` for parameter 1.
    pub const SIZE_P1: u32 = 0x1D5;
    /// `TPM_RC_NV_DEFINED`.
    pub const NV_DEFINED: u32 = 0x14C;
    /// `TPM_RC_NV_RANGE`.
    pub const NV_RANGE: u32 = 0x146;
    /// `TPM_RC_NV_UNINITIALIZED`.
    pub const NV_UNINITIALIZED: u32 = 0x14A;
    /// `TPM_RC_RETRY`.
    pub const RETRY: u32 = 0x922;
    /// `TPM_RC_COMMAND_CODE`.
    pub const COMMAND_CODE: u32 = 0x143;
    /// `TPM_RC_FAILURE`.
    pub const FAILURE: u32 = 0x101;
    /// `TPM_RC_VALUE` for parameter 1.
    pub const VALUE_P1: u32 = 0x1C4;
    /// `TPM_RC_AUTH_FAIL` for session 1.
    pub const AUTH_FAIL_S1: u32 = 0x98E;
}

impl FakeTpm {
    /// An empty TPM: no NV indices, no keys, PCRs `i` = SHA-256(`"pcr" ‖ i`),
    /// qualifying data up to 50 bytes (as the Azure vTPM).
    pub fn new() -> Self {
        let pcrs = (0u8..24)
            .map(|i| Sha256::digest([b'p', b'c', b'r', i]).into())
            .collect();
        Self {
            state: Arc::new(Mutex::new(State {
                nv: BTreeMap::new(),
                keys: BTreeMap::new(),
                pcrs,
                clock: 1000,
                faults: BTreeMap::new(),
                hook: None,
                hook_delay_reads: 0,
                pending: Vec::new(),
                pending_reads_left: 0,
                max_qualifying_data: 50,
                log: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Define (or replace) NV index `index` holding `data`, owner read/write.
    pub fn set_nv(&self, index: u32, data: Vec<u8>) {
        let p = NvPublic {
            index,
            name_alg: TPM_ALG_SHA256,
            attributes: crate::tpm::nv_attributes::OWNERREAD
                | crate::tpm::nv_attributes::OWNERWRITE
                | crate::tpm::nv_attributes::WRITTEN,
            auth_policy: Vec::new(),
            data_size: data.len() as u16,
        };
        self.lock().nv.insert(index, (p, data));
    }

    /// The content of NV index `index`.
    pub fn nv(&self, index: u32) -> Option<Vec<u8>> {
        self.lock().nv.get(&index).map(|(_, d)| d.clone())
    }

    /// Put a signing key (an RSA AK, primary of the endorsement hierarchy)
    /// at persistent `handle`.
    pub fn set_key(&self, handle: u32, public: RsaPublic, signer: QuoteSigner) {
        self.lock().keys.insert(handle, Key { public, signer });
    }

    /// Extend SHA-256 PCR `index` with `digest`.
    pub fn extend(&self, index: usize, digest: &[u8; 32]) {
        let mut s = self.lock();
        if let Some(p) = s.pcrs.get_mut(index) {
            let mut h = Sha256::new();
            h.update(*p);
            h.update(digest);
            *p = h.finalize().into();
        }
    }

    /// The SHA-256 PCR values.
    pub fn pcrs(&self) -> Vec<[u8; 32]> {
        self.lock().pcrs.clone()
    }

    /// The qualifying-data capacity (`TPM_RC_SIZE` above it).
    pub fn set_max_qualifying_data(&self, n: usize) {
        self.lock().max_qualifying_data = n;
    }

    /// Install the NV-write hook; its result is installed after
    /// `delay_reads` further `TPM2_NV_Read` commands (0: immediately).
    pub fn set_nv_write_hook(&self, hook: NvWriteHook, delay_reads: u32) {
        let mut s = self.lock();
        s.hook = Some(hook);
        s.hook_delay_reads = delay_reads;
    }

    /// Queue a fault for the next answer to `command` (`None`: any command).
    pub fn inject(&self, command: Option<TpmCommand>, fault: TpmFault) {
        self.lock()
            .faults
            .entry(command)
            .or_default()
            .push_back(fault);
    }

    /// The commands received, in order (including retried ones).
    pub fn log(&self) -> Vec<TpmCommand> {
        self.lock().log.clone()
    }

    fn take_fault(s: &mut State, cmd: TpmCommand) -> Option<TpmFault> {
        for key in [Some(cmd), None] {
            if let Some(q) = s.faults.get_mut(&key)
                && let Some(f) = q.front_mut()
            {
                if let TpmFault::Retry(n) = f
                    && *n > 1
                {
                    *n -= 1;
                    return Some(TpmFault::Retry(1));
                }
                return q.pop_front();
            }
        }
        None
    }
}

fn header(tag: u16, rc: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + body.len());
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&rc.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn err(rc: u32) -> Vec<u8> {
    header(TPM_ST_NO_SESSIONS, rc, &[])
}

/// A session response: parameterSize ‖ params ‖ (empty nonce, attrs, empty hmac).
fn with_session(params: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(params.len() as u32).to_be_bytes());
    b.extend_from_slice(params);
    b.extend_from_slice(&[0, 0, 1, 0, 0]);
    header(TPM_ST_SESSIONS, 0, &b)
}

impl TpmTransport for FakeTpm {
    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>> {
        if command.len() > TPM_MAX_BUFFER {
            return Err(Error::Misuse("TPM command over 4096 bytes".into()));
        }
        let mut s = self.lock();
        // Header.
        if command.len() < 10 {
            return Ok(err(0x0095)); // TPM_RC_SIZE... a TPM answers TPM_RC_COMMAND_SIZE
        }
        let tag = u16::from_be_bytes([command[0], command[1]]);
        let size = u32::from_be_bytes([command[2], command[3], command[4], command[5]]) as usize;
        let code = u32::from_be_bytes([command[6], command[7], command[8], command[9]]);
        if size != command.len() {
            return Ok(err(0x0142)); // TPM_RC_COMMAND_SIZE
        }
        let Some(cmd) = TpmCommand::from_code(code) else {
            return Ok(err(rc::COMMAND_CODE));
        };
        s.log.push(cmd);
        let fault = Self::take_fault(&mut s, cmd);
        match fault {
            Some(TpmFault::Retry(_)) => return Ok(err(rc::RETRY)),
            Some(TpmFault::ResponseCode(c)) => return Ok(err(c)),
            Some(TpmFault::Transport(kind)) => {
                return Err(Error::device(
                    kind,
                    "fake TPM",
                    "injected transport failure",
                ));
            }
            _ => {}
        }
        let resp = Self::execute(&mut s, cmd, tag, &command[10..]);
        Ok(match fault {
            Some(TpmFault::Truncate(n)) => resp[..n.min(resp.len())].to_vec(),
            _ => resp,
        })
    }
}

impl FakeTpm {
    fn execute(s: &mut State, cmd: TpmCommand, tag: u16, body: &[u8]) -> Vec<u8> {
        let handles = match cmd {
            TpmCommand::PcrRead => 0,
            TpmCommand::ReadPublic | TpmCommand::NvReadPublic => 1,
            TpmCommand::NvDefineSpace | TpmCommand::Quote => 1,
            TpmCommand::NvRead | TpmCommand::NvWrite | TpmCommand::NvUndefineSpace => 2,
        };
        let sessions = !matches!(
            cmd,
            TpmCommand::PcrRead | TpmCommand::ReadPublic | TpmCommand::NvReadPublic
        );
        let want_tag = if sessions {
            TPM_ST_SESSIONS
        } else {
            TPM_ST_NO_SESSIONS
        };
        if tag != want_tag {
            return err(0x01E); // TPM_RC_BAD_TAG
        }
        let mut r = Reader::new("command", body);
        let mut h = Vec::new();
        for _ in 0..handles {
            match r.u32() {
                Ok(v) => h.push(v),
                Err(_) => return err(0x0142),
            }
        }
        if sessions {
            // One password session with empty nonce and password.
            let ok = (|| -> std::result::Result<bool, wire::WireError> {
                let n = r.u32()? as usize;
                let area = r.bytes(n)?;
                let mut a = Reader::new("auth", area);
                let handle = a.u32()?;
                let nonce = a.tpm2b("nonce", 64)?;
                let _attrs = a.u8()?;
                let pw = a.tpm2b("hmac", 64)?;
                a.finish()?;
                Ok(handle == TPM_RS_PW && nonce.is_empty() && pw.is_empty())
            })();
            match ok {
                Ok(true) => {}
                Ok(false) => return err(rc::AUTH_FAIL_S1),
                Err(_) => return err(0x0142),
            }
        }
        let params = &body[r.position()..];
        let out = match cmd {
            TpmCommand::PcrRead => Self::pcr_read(s, params),
            TpmCommand::ReadPublic => Self::read_public(s, h[0]),
            TpmCommand::NvReadPublic => Self::nv_read_public(s, h[0]),
            TpmCommand::NvRead => Self::nv_read(s, h[0], h[1], params),
            TpmCommand::NvWrite => Self::nv_write(s, h[0], h[1], params),
            TpmCommand::NvDefineSpace => Self::nv_define(s, h[0], params),
            TpmCommand::NvUndefineSpace => Self::nv_undefine(s, h[0], h[1]),
            TpmCommand::Quote => Self::quote(s, h[0], params),
        };
        out.unwrap_or_else(err)
    }

    fn pcr_read(s: &mut State, params: &[u8]) -> std::result::Result<Vec<u8>, u32> {
        let mut r = Reader::new("PCR_Read", params);
        let sel = wire::parse_pcr_selection(&mut r).map_err(|_| rc::VALUE_P1)?;
        r.finish().map_err(|_| 0x0142u32)?;
        // Like a TPM: at most 8 digests per answer; unknown banks dropped.
        let mut want: Vec<u32> = sel
            .iter()
            .filter(|b| b.hash == TPM_ALG_SHA256)
            .flat_map(PcrSelection::pcrs)
            .filter(|&p| p < 24)
            .collect();
        want.truncate(8);
        let mut b = Vec::new();
        b.extend_from_slice(&7u32.to_be_bytes()); // update counter
        wire::marshal_pcr_selection(&[PcrSelection::new(TPM_ALG_SHA256, &want)], &mut b);
        b.extend_from_slice(&(want.len() as u32).to_be_bytes());
        for p in want {
            put_tpm2b(&mut b, &s.pcrs[p as usize]);
        }
        Ok(header(TPM_ST_NO_SESSIONS, 0, &b))
    }

    fn read_public(s: &mut State, handle: u32) -> std::result::Result<Vec<u8>, u32> {
        let k = s.keys.get(&handle).ok_or(rc::HANDLE_1)?;
        let mut b = Vec::new();
        put_tpm2b(&mut b, &k.public.marshal());
        put_tpm2b(&mut b, &k.public.name().unwrap_or_default());
        put_tpm2b(
            &mut b,
            &k.public
                .qualified_name_as_primary(TPM_RH_ENDORSEMENT)
                .unwrap_or_default(),
        );
        Ok(header(TPM_ST_NO_SESSIONS, 0, &b))
    }

    fn nv_read_public(s: &mut State, index: u32) -> std::result::Result<Vec<u8>, u32> {
        let (p, _) = s.nv.get(&index).ok_or(rc::HANDLE_1)?;
        let mut b = Vec::new();
        put_tpm2b(&mut b, &p.marshal());
        let mut name = TPM_ALG_SHA256.to_be_bytes().to_vec();
        name.extend_from_slice(&Sha256::digest(p.marshal()));
        put_tpm2b(&mut b, &name);
        Ok(header(TPM_ST_NO_SESSIONS, 0, &b))
    }

    fn nv_read(
        s: &mut State,
        auth: u32,
        index: u32,
        params: &[u8],
    ) -> std::result::Result<Vec<u8>, u32> {
        if auth != TPM_RH_OWNER && auth != index {
            return Err(0x0149);
        }
        if s.pending_reads_left > 0 {
            s.pending_reads_left -= 1;
        } else if !s.pending.is_empty() {
            for (i, d) in std::mem::take(&mut s.pending) {
                install(s, i, d);
            }
        }
        let mut r = Reader::new("NV_Read", params);
        let (size, offset) = match (r.u16(), r.u16()) {
            (Ok(a), Ok(b)) => (usize::from(a), usize::from(b)),
            _ => return Err(0x0142),
        };
        let (_, data) = s.nv.get(&index).ok_or(0x28Bu32)?;
        if size > usize::from(NV_CHUNK) {
            return Err(rc::VALUE_P1);
        }
        if offset + size > data.len() {
            return Err(rc::NV_RANGE);
        }
        let mut p = Vec::new();
        put_tpm2b(&mut p, &data[offset..offset + size]);
        Ok(with_session(&p))
    }

    fn nv_write(
        s: &mut State,
        auth: u32,
        index: u32,
        params: &[u8],
    ) -> std::result::Result<Vec<u8>, u32> {
        if auth != TPM_RH_OWNER && auth != index {
            return Err(0x0149);
        }
        let mut r = Reader::new("NV_Write", params);
        let data = r
            .tpm2b("data", usize::from(NV_CHUNK))
            .map_err(|_| rc::SIZE_P1)?
            .to_vec();
        let offset = usize::from(r.u16().map_err(|_| 0x0142u32)?);
        let (p, content) = s.nv.get_mut(&index).ok_or(0x28Bu32)?;
        if offset + data.len() > usize::from(p.data_size) {
            return Err(rc::NV_RANGE);
        }
        if content.len() < usize::from(p.data_size) {
            content.resize(usize::from(p.data_size), 0);
        }
        content[offset..offset + data.len()].copy_from_slice(&data);
        p.attributes |= crate::tpm::nv_attributes::WRITTEN;
        let whole = content.clone();
        if let Some(hook) = s.hook.clone() {
            let updates = hook(index, &whole);
            if s.hook_delay_reads == 0 {
                for (i, d) in updates {
                    install(s, i, d);
                }
            } else {
                s.pending = updates;
                s.pending_reads_left = s.hook_delay_reads;
            }
        }
        Ok(with_session(&[]))
    }

    fn nv_define(s: &mut State, auth: u32, params: &[u8]) -> std::result::Result<Vec<u8>, u32> {
        if auth != TPM_RH_OWNER {
            return Err(0x0184); // TPM_RC_HIERARCHY-ish: wrong auth handle
        }
        let mut r = Reader::new("NV_DefineSpace", params);
        let _auth = r.tpm2b("auth", 64).map_err(|_| rc::SIZE_P1)?;
        let public = r.tpm2b("publicInfo", 128).map_err(|_| 0x2D5u32)?;
        r.finish().map_err(|_| 0x0142u32)?;
        let p = NvPublic::parse(public).map_err(|_| 0x2C4u32)?;
        if s.nv.contains_key(&p.index) {
            return Err(rc::NV_DEFINED);
        }
        let size = usize::from(p.data_size);
        s.nv.insert(p.index, (p, vec![0; size]));
        Ok(with_session(&[]))
    }

    fn nv_undefine(s: &mut State, auth: u32, index: u32) -> std::result::Result<Vec<u8>, u32> {
        if auth != TPM_RH_OWNER {
            return Err(0x0184);
        }
        s.nv.remove(&index).ok_or(0x28Bu32)?;
        Ok(with_session(&[]))
    }

    fn quote(s: &mut State, handle: u32, params: &[u8]) -> std::result::Result<Vec<u8>, u32> {
        let mut r = Reader::new("Quote", params);
        let qd = r
            .tpm2b("qualifyingData", 1024)
            .map_err(|_| rc::SIZE_P1)?
            .to_vec();
        if qd.len() > s.max_qualifying_data {
            return Err(rc::SIZE_P1);
        }
        let scheme = r.u16().map_err(|_| 0x0142u32)?;
        if scheme != TPM_ALG_NULL {
            return Err(0x2D2); // TPM_RC_SCHEME, parameter 2
        }
        let sel = wire::parse_pcr_selection(&mut r).map_err(|_| 0x3C4u32)?;
        r.finish().map_err(|_| 0x0142u32)?;
        let key = s.keys.get(&handle).ok_or(rc::HANDLE_1)?;
        let mut values = Vec::new();
        for b in &sel {
            if b.hash != TPM_ALG_SHA256 {
                return Err(0x3C4);
            }
            for p in b.pcrs() {
                values.push(s.pcrs.get(p as usize).ok_or(0x3C4u32)?.to_vec());
            }
        }
        s.clock += 17;
        let attest = QuoteAttest {
            qualified_signer: key
                .public
                .qualified_name_as_primary(TPM_RH_ENDORSEMENT)
                .unwrap_or_default(),
            extra_data: qd,
            clock_info: ClockInfo {
                clock: s.clock,
                reset_count: 3,
                restart_count: 0,
                safe: true,
            },
            firmware_version: 0x2020_0312_0012_0003,
            pcr_select: sel,
            pcr_digest: wire::pcr_digest_sha256(&values).to_vec(),
        }
        .marshal();
        let sig = Signature::RsaSsa {
            hash: TPM_ALG_SHA256,
            sig: (key.signer)(&attest),
        };
        debug_assert!(matches!(sig, Signature::RsaSsa { .. }));
        let _ = TPM_ALG_RSASSA;
        let mut p = Vec::new();
        put_tpm2b(&mut p, &attest);
        p.extend_from_slice(&sig.marshal());
        Ok(with_session(&p))
    }
}

fn install(s: &mut State, index: u32, data: Vec<u8>) {
    let p = NvPublic {
        index,
        name_alg: TPM_ALG_SHA256,
        attributes: crate::tpm::nv_attributes::OWNERREAD
            | crate::tpm::nv_attributes::OWNERWRITE
            | crate::tpm::nv_attributes::WRITTEN,
        auth_policy: Vec::new(),
        data_size: data.len() as u16,
    };
    s.nv.insert(index, (p, data));
}
