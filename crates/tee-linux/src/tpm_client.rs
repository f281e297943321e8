//! A small TPM 2.0 command layer: marshalling of the few commands a
//! confidential-VM attester needs, over any [`TpmTransport`].
//!
//! Commands: `TPM2_PCR_Read`, `TPM2_ReadPublic`, `TPM2_NV_ReadPublic`,
//! `TPM2_NV_Read` (chunked), `TPM2_NV_Write` (chunked),
//! `TPM2_NV_DefineSpace`, `TPM2_NV_UndefineSpace` and `TPM2_Quote`. Objects
//! and NV indices are authorized with the empty password (`TPM_RS_PW`), as
//! on the Azure vTPM. Transient response codes (`TPM_RC_RETRY`,
//! `TPM_RC_YIELDED`, `TPM_RC_TESTING`, `TPM_RC_NV_RATE`,
//! `TPM_RC_NV_UNAVAILABLE`) are retried a bounded number of times; every
//! other code is a [`TpmError::Response`] naming the command.

use std::fmt;
use std::time::Duration;

use tee_core::{DeviceErrorKind, Error};

use super::TpmTransport;
use super::wire::{
    self, PcrSelection, RcKind, Reader, ResponseCode, Signature, TPM_RH_OWNER, TPM_RS_PW,
    TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS, WireError, put_tpm2b,
};

/// The commands of this layer (for error messages and fakes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TpmCommand {
    /// `TPM2_PCR_Read`.
    PcrRead,
    /// `TPM2_ReadPublic`.
    ReadPublic,
    /// `TPM2_NV_ReadPublic`.
    NvReadPublic,
    /// `TPM2_NV_Read`.
    NvRead,
    /// `TPM2_NV_Write`.
    NvWrite,
    /// `TPM2_NV_DefineSpace`.
    NvDefineSpace,
    /// `TPM2_NV_UndefineSpace`.
    NvUndefineSpace,
    /// `TPM2_Quote`.
    Quote,
}

impl TpmCommand {
    /// The command code (`TPM_CC`).
    pub fn code(self) -> u32 {
        match self {
            Self::PcrRead => 0x0000_017E,
            Self::ReadPublic => 0x0000_0173,
            Self::NvReadPublic => 0x0000_0169,
            Self::NvRead => 0x0000_014E,
            Self::NvWrite => 0x0000_0137,
            Self::NvDefineSpace => 0x0000_012A,
            Self::NvUndefineSpace => 0x0000_0122,
            Self::Quote => 0x0000_0158,
        }
    }

    /// The command for a code.
    pub fn from_code(code: u32) -> Option<Self> {
        [
            Self::PcrRead,
            Self::ReadPublic,
            Self::NvReadPublic,
            Self::NvRead,
            Self::NvWrite,
            Self::NvDefineSpace,
            Self::NvUndefineSpace,
            Self::Quote,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }

    /// The TCG name.
    pub fn name(self) -> &'static str {
        match self {
            Self::PcrRead => "TPM2_PCR_Read",
            Self::ReadPublic => "TPM2_ReadPublic",
            Self::NvReadPublic => "TPM2_NV_ReadPublic",
            Self::NvRead => "TPM2_NV_Read",
            Self::NvWrite => "TPM2_NV_Write",
            Self::NvDefineSpace => "TPM2_NV_DefineSpace",
            Self::NvUndefineSpace => "TPM2_NV_UndefineSpace",
            Self::Quote => "TPM2_Quote",
        }
    }

    /// Whether the command carries an authorization area.
    fn has_sessions(self) -> bool {
        !matches!(self, Self::PcrRead | Self::ReadPublic | Self::NvReadPublic)
    }
}

impl fmt::Display for TpmCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure of one TPM command.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TpmError {
    /// The TPM answered with an error response code.
    Response {
        /// The command.
        command: TpmCommand,
        /// The decoded code.
        rc: ResponseCode,
    },
    /// The response could not be parsed (short, wrong size field, bad tag,
    /// trailing bytes).
    BadResponse {
        /// The command.
        command: TpmCommand,
        /// What was wrong.
        error: WireError,
    },
    /// The caller asked for something the TPM layer cannot encode (e.g.
    /// qualifying data over [`wire::MAX_QUALIFYING_DATA`]).
    BadRequest {
        /// The command.
        command: TpmCommand,
        /// Why.
        detail: String,
    },
    /// The transport failed (device absent, permission, I/O).
    Transport {
        /// The command.
        command: TpmCommand,
        /// The transport's error.
        error: Error,
    },
}

impl TpmError {
    /// The command that failed.
    pub fn command(&self) -> TpmCommand {
        match self {
            Self::Response { command, .. }
            | Self::BadResponse { command, .. }
            | Self::BadRequest { command, .. }
            | Self::Transport { command, .. } => *command,
        }
    }

    /// The response code's kind, for [`TpmError::Response`].
    pub fn rc_kind(&self) -> Option<RcKind> {
        match self {
            Self::Response { rc, .. } => Some(rc.kind()),
            _ => None,
        }
    }
}

impl fmt::Display for TpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Response { command, rc } => write!(f, "{command} failed: {rc}"),
            Self::BadResponse { command, error } => {
                write!(f, "{command}: malformed response: {error}")
            }
            Self::BadRequest { command, detail } => write!(f, "{command}: {detail}"),
            Self::Transport { command, error } => write!(f, "{command}: {error}"),
        }
    }
}

impl std::error::Error for TpmError {}

/// Into the SDK error: a TPM response code is a device error of kind
/// [`DeviceErrorKind::Firmware`] carrying the code (transient codes that
/// stayed after retries: `Busy`), a bad response `CorruptOutput`, a bad
/// request `Misuse`, a transport error itself.
impl From<TpmError> for Error {
    fn from(e: TpmError) -> Self {
        let detail = e.to_string();
        match e {
            TpmError::Response { rc, .. } => Error::device(
                if rc.kind() == RcKind::Retry {
                    DeviceErrorKind::Busy
                } else {
                    DeviceErrorKind::Firmware(u64::from(rc.raw()))
                },
                "TPM",
                detail,
            ),
            TpmError::BadResponse { .. } => {
                Error::device(DeviceErrorKind::CorruptOutput, "TPM", detail)
            }
            TpmError::BadRequest { .. } => Error::Misuse(detail.into()),
            TpmError::Transport { error, .. } => error,
        }
    }
}

/// `TPMS_NV_PUBLIC` as `TPM2_NV_ReadPublic` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvPublic {
    /// The index.
    pub index: u32,
    /// `nameAlg`.
    pub name_alg: u16,
    /// `TPMA_NV` attributes.
    pub attributes: u32,
    /// `authPolicy`.
    pub auth_policy: Vec<u8>,
    /// `dataSize`.
    pub data_size: u16,
}

/// `TPMA_NV` bits used here.
pub mod nv_attributes {
    /// `TPMA_NV_OWNERWRITE`.
    pub const OWNERWRITE: u32 = 1 << 1;
    /// `TPMA_NV_AUTHWRITE`.
    pub const AUTHWRITE: u32 = 1 << 2;
    /// `TPMA_NV_OWNERREAD`.
    pub const OWNERREAD: u32 = 1 << 17;
    /// `TPMA_NV_AUTHREAD`.
    pub const AUTHREAD: u32 = 1 << 18;
    /// `TPMA_NV_WRITTEN`.
    pub const WRITTEN: u32 = 1 << 29;
}

impl NvPublic {
    /// Marshal as `TPMS_NV_PUBLIC`.
    pub fn marshal(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.name_alg.to_be_bytes());
        out.extend_from_slice(&self.attributes.to_be_bytes());
        put_tpm2b(&mut out, &self.auth_policy);
        out.extend_from_slice(&self.data_size.to_be_bytes());
        out
    }

    /// Parse `TPMS_NV_PUBLIC`.
    ///
    /// # Errors
    /// [`WireError`].
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new("TPMS_NV_PUBLIC", buf);
        let p = Self {
            index: r.u32()?,
            name_alg: r.u16()?,
            attributes: r.u32()?,
            auth_policy: r.tpm2b("authPolicy", 64)?.to_vec(),
            data_size: r.u16()?,
        };
        r.finish()?;
        Ok(p)
    }
}

/// `TPM2_ReadPublic`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPublic {
    /// `TPMT_PUBLIC` bytes exactly as the TPM returned them.
    pub public: Vec<u8>,
    /// The object's Name.
    pub name: Vec<u8>,
    /// Its qualified name.
    pub qualified_name: Vec<u8>,
}

/// PCR values read with `TPM2_PCR_Read`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrValues {
    /// The bank.
    pub hash: u16,
    /// `(index, value)`, ascending by index.
    pub values: Vec<(u32, Vec<u8>)>,
    /// `pcrUpdateCounter` of the last read.
    pub update_counter: u32,
}

/// A quote as `TPM2_Quote` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The `TPMS_ATTEST` bytes exactly as signed.
    pub attest: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

/// Largest chunk of one `TPM2_NV_Read`/`TPM2_NV_Write` (`MAX_NV_BUFFER_SIZE`
/// of the reference implementation and common firmware TPMs is 1024; the
/// Linux driver's buffer is 4096).
pub const NV_CHUNK: u16 = 1024;
/// Largest NV index this layer reads (the HCL report index is ~2.6 KiB).
pub const MAX_NV_READ: usize = 16 * 1024;

/// A TPM driven through a [`TpmTransport`].
#[derive(Debug)]
pub struct Tpm<T: TpmTransport> {
    transport: T,
    retries: u32,
    retry_delay: Duration,
}

impl<T: TpmTransport> Tpm<T> {
    /// A TPM over `transport`, retrying transient codes up to 10 times, 50 ms apart.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            retries: 10,
            retry_delay: Duration::from_millis(50),
        }
    }

    /// Set the retry budget for transient response codes.
    #[must_use]
    pub fn with_retries(mut self, retries: u32, delay: Duration) -> Self {
        self.retries = retries;
        self.retry_delay = delay;
        self
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Send a command; return the parameter area of a successful response
    /// (after the handle area of `response_handles` handles).
    fn run(
        &self,
        cmd: TpmCommand,
        handles: &[u32],
        params: &[u8],
        response_handles: usize,
    ) -> Result<Vec<u8>, TpmError> {
        let sessions = cmd.has_sessions();
        let mut c = Vec::with_capacity(32 + params.len());
        c.extend_from_slice(
            &if sessions {
                TPM_ST_SESSIONS
            } else {
                TPM_ST_NO_SESSIONS
            }
            .to_be_bytes(),
        );
        c.extend_from_slice(&[0; 4]); // size, patched below
        c.extend_from_slice(&cmd.code().to_be_bytes());
        for h in handles {
            c.extend_from_slice(&h.to_be_bytes());
        }
        if sessions {
            // One password session per authorized handle (the first one):
            // handle, empty nonce, attributes continueSession, empty password.
            let auth: [u8; 9] = {
                let mut a = [0u8; 9];
                a[..4].copy_from_slice(&TPM_RS_PW.to_be_bytes());
                a[6] = 0x01;
                a
            };
            c.extend_from_slice(&(auth.len() as u32).to_be_bytes());
            c.extend_from_slice(&auth);
        }
        c.extend_from_slice(params);
        if c.len() > super::TPM_MAX_BUFFER {
            return Err(TpmError::BadRequest {
                command: cmd,
                detail: format!(
                    "command of {} bytes is over {}",
                    c.len(),
                    super::TPM_MAX_BUFFER
                ),
            });
        }
        let size = c.len() as u32;
        c[2..6].copy_from_slice(&size.to_be_bytes());

        let mut attempt = 0u32;
        loop {
            let resp = self
                .transport
                .transmit(&c)
                .map_err(|error| TpmError::Transport {
                    command: cmd,
                    error,
                })?;
            let bad = |error| TpmError::BadResponse {
                command: cmd,
                error,
            };
            let mut r = Reader::new("TPM response", &resp);
            let tag = r.u16().map_err(bad)?;
            let len = r.u32().map_err(bad)?;
            let rc = ResponseCode(r.u32().map_err(bad)?);
            if len as usize != resp.len() {
                return Err(bad(r.bad(
                    "responseSize",
                    format!("header says {len} bytes, {} received", resp.len()),
                )));
            }
            if rc.kind() == RcKind::Retry && attempt < self.retries {
                attempt += 1;
                if !self.retry_delay.is_zero() {
                    std::thread::sleep(self.retry_delay);
                }
                continue;
            }
            if rc.kind() != RcKind::Success {
                // An error response is the 10-byte header only.
                return Err(TpmError::Response { command: cmd, rc });
            }
            let want_tag = if sessions {
                TPM_ST_SESSIONS
            } else {
                TPM_ST_NO_SESSIONS
            };
            if tag != want_tag {
                return Err(bad(
                    r.bad("tag", format!("{tag:#06x}, expected {want_tag:#06x}"))
                ));
            }
            r.bytes(4 * response_handles).map_err(bad)?;
            let params = if sessions {
                let n = r.u32().map_err(bad)? as usize;
                let p = r.bytes(n).map_err(bad)?.to_vec();
                // The response authorization area: one password session
                // (empty nonce, attributes, empty hmac).
                let nonce = r.tpm2b("nonce", 64).map_err(bad)?;
                let _attrs = r.u8().map_err(bad)?;
                let hmac = r.tpm2b("hmac", 64).map_err(bad)?;
                if !nonce.is_empty() || !hmac.is_empty() {
                    return Err(bad(r.bad(
                        "authorization",
                        "a password session answers empty nonce and hmac",
                    )));
                }
                r.finish().map_err(bad)?;
                p
            } else {
                r.bytes(r.remaining()).map_err(bad)?.to_vec()
            };
            return Ok(params);
        }
    }

    /// `TPM2_PCR_Read` of `pcrs` in bank `hash`; repeated until every
    /// requested PCR is read (a TPM returns at most 8 per call), with the
    /// update counter checked to be the same across calls.
    ///
    /// # Errors
    /// [`TpmError`]; [`TpmError::BadResponse`] when the TPM returns
    /// PCRs not asked for, wrong digest sizes, or the counter changes.
    pub fn pcr_read(&self, hash: u16, pcrs: &[u32]) -> Result<PcrValues, TpmError> {
        let cmd = TpmCommand::PcrRead;
        let size = wire::digest_size(hash).ok_or_else(|| TpmError::BadRequest {
            command: cmd,
            detail: format!("unknown PCR bank {hash:#06x}"),
        })?;
        let mut want: Vec<u32> = pcrs.to_vec();
        want.sort_unstable();
        want.dedup();
        if want.iter().any(|&p| p >= 64) {
            return Err(TpmError::BadRequest {
                command: cmd,
                detail: "PCR index over 63".into(),
            });
        }
        let mut got: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut counter = None;
        // Each round reads at least one PCR or fails, so this terminates.
        for _round in 0..=want.len() {
            let left: Vec<u32> = want
                .iter()
                .copied()
                .filter(|p| !got.iter().any(|(i, _)| i == p))
                .collect();
            if left.is_empty() {
                break;
            }
            let mut params = Vec::new();
            wire::marshal_pcr_selection(&[PcrSelection::new(hash, &left)], &mut params);
            let resp = self.run(cmd, &[], &params, 0)?;
            let bad = |error| TpmError::BadResponse {
                command: cmd,
                error,
            };
            let mut r = Reader::new("TPM2_PCR_Read response", &resp);
            let c = r.u32().map_err(bad)?;
            if counter.is_some_and(|old| old != c) {
                return Err(bad(r.bad("pcrUpdateCounter", "PCRs changed between reads")));
            }
            counter = Some(c);
            let sel = wire::parse_pcr_selection(&mut r).map_err(bad)?;
            let n = r.u32().map_err(bad)?;
            if n > 8 {
                return Err(bad(r.bad("pcrValues.count", format!("{n} digests"))));
            }
            let mut digests = Vec::new();
            for _ in 0..n {
                digests.push(r.tpm2b("digest", 64).map_err(bad)?.to_vec());
            }
            r.finish().map_err(bad)?;
            let returned: Vec<u32> = sel
                .iter()
                .filter(|s| s.hash == hash)
                .flat_map(PcrSelection::pcrs)
                .collect();
            if sel.iter().any(|s| s.hash != hash && !s.pcrs().is_empty())
                || returned.len() != digests.len()
                || returned.iter().any(|p| !left.contains(p))
            {
                return Err(bad(r.bad(
                    "pcrSelectionOut",
                    "the selection returned does not match the digests or the request",
                )));
            }
            if returned.is_empty() {
                return Err(bad(r.bad("pcrSelectionOut", "no PCR returned")));
            }
            for (p, d) in returned.into_iter().zip(digests) {
                if d.len() != size {
                    return Err(bad(
                        r.bad("digest", format!("{} bytes, bank needs {size}", d.len()))
                    ));
                }
                got.push((p, d));
            }
        }
        got.sort_by_key(|(i, _)| *i);
        Ok(PcrValues {
            hash,
            values: got,
            update_counter: counter.unwrap_or(0),
        })
    }

    /// `TPM2_ReadPublic` of a loaded or persistent object.
    ///
    /// # Errors
    /// [`TpmError`]; `TPM_RC_HANDLE` when nothing is at `handle`.
    pub fn read_public(&self, handle: u32) -> Result<ObjectPublic, TpmError> {
        let cmd = TpmCommand::ReadPublic;
        let resp = self.run(cmd, &[handle], &[], 0)?;
        let bad = |error| TpmError::BadResponse {
            command: cmd,
            error,
        };
        let mut r = Reader::new("TPM2_ReadPublic response", &resp);
        let public = r.tpm2b("outPublic", 1024).map_err(bad)?.to_vec();
        let name = r.tpm2b("name", 66).map_err(bad)?.to_vec();
        let qualified_name = r.tpm2b("qualifiedName", 66).map_err(bad)?.to_vec();
        r.finish().map_err(bad)?;
        Ok(ObjectPublic {
            public,
            name,
            qualified_name,
        })
    }

    /// `TPM2_NV_ReadPublic`.
    ///
    /// # Errors
    /// [`TpmError`]; `TPM_RC_HANDLE` when the index is not defined.
    pub fn nv_read_public(&self, index: u32) -> Result<NvPublic, TpmError> {
        let cmd = TpmCommand::NvReadPublic;
        let resp = self.run(cmd, &[index], &[], 0)?;
        let bad = |error| TpmError::BadResponse {
            command: cmd,
            error,
        };
        let mut r = Reader::new("TPM2_NV_ReadPublic response", &resp);
        let p = NvPublic::parse(r.tpm2b("nvPublic", 128).map_err(bad)?).map_err(bad)?;
        let _name = r.tpm2b("nvName", 66).map_err(bad)?;
        r.finish().map_err(bad)?;
        if p.index != index {
            return Err(bad(WireError::BadField {
                what: "TPMS_NV_PUBLIC",
                field: "nvIndex",
                detail: format!("{:#010x}, asked for {index:#010x}", p.index),
            }));
        }
        Ok(p)
    }

    /// Read the whole NV index (its `dataSize` from `TPM2_NV_ReadPublic`)
    /// with owner authorization, in chunks of [`NV_CHUNK`].
    ///
    /// # Errors
    /// [`TpmError`]; [`TpmError::BadResponse`] for an index over
    /// [`MAX_NV_READ`] or a chunk of the wrong size.
    pub fn nv_read_all(&self, index: u32) -> Result<Vec<u8>, TpmError> {
        let p = self.nv_read_public(index)?;
        self.nv_read(index, 0, p.data_size)
    }

    /// `TPM2_NV_Read` of `len` bytes at `offset`, owner-authorized, chunked.
    ///
    /// # Errors
    /// As [`Tpm::nv_read_all`].
    pub fn nv_read(&self, index: u32, offset: u16, len: u16) -> Result<Vec<u8>, TpmError> {
        let cmd = TpmCommand::NvRead;
        if usize::from(len) > MAX_NV_READ {
            return Err(TpmError::BadRequest {
                command: cmd,
                detail: format!("{len} bytes is over {MAX_NV_READ}"),
            });
        }
        let mut out = Vec::with_capacity(usize::from(len));
        while out.len() < usize::from(len) {
            let at = offset as usize + out.len();
            let at = u16::try_from(at).map_err(|_| TpmError::BadRequest {
                command: cmd,
                detail: "offset over 65535".into(),
            })?;
            let n = (usize::from(len) - out.len()).min(usize::from(NV_CHUNK)) as u16;
            let mut params = Vec::new();
            params.extend_from_slice(&n.to_be_bytes());
            params.extend_from_slice(&at.to_be_bytes());
            let resp = self.run(cmd, &[TPM_RH_OWNER, index], &params, 0)?;
            let bad = |error| TpmError::BadResponse {
                command: cmd,
                error,
            };
            let mut r = Reader::new("TPM2_NV_Read response", &resp);
            let data = r.tpm2b("data", usize::from(NV_CHUNK)).map_err(bad)?;
            r.finish().map_err(bad)?;
            if data.len() != usize::from(n) {
                return Err(bad(
                    r.bad("data", format!("{} bytes, asked for {n}", data.len()))
                ));
            }
            out.extend_from_slice(data);
        }
        Ok(out)
    }

    /// `TPM2_NV_Write` of `data` at offset 0, owner-authorized, chunked.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn nv_write(&self, index: u32, data: &[u8]) -> Result<(), TpmError> {
        let cmd = TpmCommand::NvWrite;
        if data.len() > MAX_NV_READ {
            return Err(TpmError::BadRequest {
                command: cmd,
                detail: format!("{} bytes is over {MAX_NV_READ}", data.len()),
            });
        }
        for (i, chunk) in data.chunks(usize::from(NV_CHUNK)).enumerate() {
            let mut params = Vec::new();
            put_tpm2b(&mut params, chunk);
            params.extend_from_slice(&((i * usize::from(NV_CHUNK)) as u16).to_be_bytes());
            self.run(cmd, &[TPM_RH_OWNER, index], &params, 0)?;
        }
        Ok(())
    }

    /// `TPM2_NV_DefineSpace` under the owner hierarchy with an empty auth value.
    ///
    /// # Errors
    /// [`TpmError`]; `TPM_RC_NV_DEFINED` when it exists.
    pub fn nv_define_space(&self, public: &NvPublic) -> Result<(), TpmError> {
        let mut params = Vec::new();
        put_tpm2b(&mut params, &[]); // auth
        put_tpm2b(&mut params, &public.marshal());
        self.run(TpmCommand::NvDefineSpace, &[TPM_RH_OWNER], &params, 0)
            .map(|_| ())
    }

    /// `TPM2_NV_UndefineSpace` under the owner hierarchy.
    ///
    /// # Errors
    /// [`TpmError`].
    pub fn nv_undefine_space(&self, index: u32) -> Result<(), TpmError> {
        self.run(TpmCommand::NvUndefineSpace, &[TPM_RH_OWNER, index], &[], 0)
            .map(|_| ())
    }

    /// `TPM2_Quote` with the key at `sign_handle`, its own scheme
    /// (`TPM_ALG_NULL`), `qualifying_data` as given (not padded) and
    /// `selection`.
    ///
    /// # Errors
    /// [`TpmError`]; [`TpmError::BadRequest`] for qualifying data over
    /// [`wire::MAX_QUALIFYING_DATA`] (a TPM with smaller capacity, such as
    /// the Azure vTPM with 50 bytes, answers `TPM_RC_SIZE`).
    pub fn quote(
        &self,
        sign_handle: u32,
        qualifying_data: &[u8],
        selection: &[PcrSelection],
    ) -> Result<Quote, TpmError> {
        let cmd = TpmCommand::Quote;
        if qualifying_data.len() > wire::MAX_QUALIFYING_DATA {
            return Err(TpmError::BadRequest {
                command: cmd,
                detail: format!(
                    "{} bytes of qualifying data is over the TPM2B_DATA capacity ({})",
                    qualifying_data.len(),
                    wire::MAX_QUALIFYING_DATA
                ),
            });
        }
        let mut params = Vec::new();
        put_tpm2b(&mut params, qualifying_data);
        params.extend_from_slice(&wire::TPM_ALG_NULL.to_be_bytes());
        wire::marshal_pcr_selection(selection, &mut params);
        let resp = self.run(cmd, &[sign_handle], &params, 0)?;
        let bad = |error| TpmError::BadResponse {
            command: cmd,
            error,
        };
        let mut r = Reader::new("TPM2_Quote response", &resp);
        let attest = r.tpm2b("quoted", wire::MAX_ATTEST).map_err(bad)?.to_vec();
        let signature = Signature::parse_from(&mut r).map_err(bad)?;
        r.finish().map_err(bad)?;
        Ok(Quote { attest, signature })
    }
}
