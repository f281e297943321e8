//! MRCONFIGID for Confidential Containers init-data.
//!
//! The VMM sets MRCONFIGID (48 bytes, QEMU `tdx-guest,mrconfigid=`); it is
//! not measured into MRTD. Init-data binding follows what runs
//! (kata-containers `src/libs/kata-types/src/initdata.rs`): the **raw
//! init-data TOML text** is hashed with the algorithm it declares
//! (`algorithm = "sha256" | "sha384" | "sha512"`), then the digest is
//! truncated or zero-padded to the field length (TDX: 48 bytes). The
//! trustee spec's RFC 8785 canonical-JSON variant is not what kata does and
//! is not implemented. Policy: `host_data` (compared with MRCONFIGID).

use sha2::{Digest, Sha256, Sha384, Sha512};
use tee_core::reference::{ReferenceValue, Transcript};
use tee_core::{Error, Result};

/// Largest init-data document accepted (1 MiB).
pub const MAX_INIT_DATA_LEN: usize = 1 << 20;
/// MRCONFIGID length.
pub const MR_CONFIG_ID_LEN: usize = 48;

const W: &str = "init-data";

/// The digest algorithm an init-data document declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitDataAlg {
    /// `sha256` (32 bytes, zero-padded to 48).
    Sha256,
    /// `sha384` (48 bytes).
    Sha384,
    /// `sha512` (64 bytes, truncated to 48).
    Sha512,
}

impl InitDataAlg {
    /// The algorithm of a name (`sha256`, `sha384`, `sha512`).
    ///
    /// # Errors
    /// [`Error::Malformed`] for another name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            other => Err(Error::bad_field(
                W,
                "algorithm",
                format_args!("`{other}` (expected sha256, sha384 or sha512)"),
            )),
        }
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The algorithm the document declares: the top-level
    /// `algorithm = "…"` key (before any `[table]`).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the text is not UTF-8, declares no
    /// algorithm, declares it twice, or names an unknown one.
    pub fn declared_in(text: &[u8]) -> Result<Self> {
        let s = core::str::from_utf8(text).map_err(|e| Error::encoding(W, e))?;
        let mut found = None;
        for line in s.lines() {
            let l = line.trim();
            if l.starts_with('[') {
                break;
            }
            let Some((k, v)) = l.split_once('=') else {
                continue;
            };
            if k.trim() != "algorithm" {
                continue;
            }
            let v = v.trim();
            let v = v.split_once('#').map_or(v, |(a, _)| a).trim();
            let name = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .ok_or_else(|| Error::bad_field(W, "algorithm", "not a quoted string"))?;
            if found.is_some() {
                return Err(Error::bad_field(W, "algorithm", "declared twice"));
            }
            found = Some(Self::from_name(name)?);
        }
        found.ok_or_else(|| {
            Error::bad_field(W, "algorithm", "missing (no top-level `algorithm = ...`)")
        })
    }
}

/// The MRCONFIGID a launch with this init-data document carries (name
/// `tdx.mr_config_id`), with the algorithm the document declares.
///
/// # Errors
/// [`Error::Malformed`] for a document over [`MAX_INIT_DATA_LEN`] or as
/// [`InitDataAlg::declared_in`].
pub fn mr_config_id(init_data: &[u8]) -> Result<ReferenceValue> {
    check_len(init_data)?;
    let alg = InitDataAlg::declared_in(init_data)?;
    Ok(mr_config_id_with(init_data, alg))
}

fn check_len(init_data: &[u8]) -> Result<()> {
    if init_data.len() > MAX_INIT_DATA_LEN {
        return Err(Error::malformed(
            W,
            tee_core::MalformedKind::BadLength {
                expected: MAX_INIT_DATA_LEN,
                actual: init_data.len(),
            },
        ));
    }
    Ok(())
}

/// The MRCONFIGID for `init_data` hashed with `alg` (no declaration needed).
pub fn mr_config_id_with(init_data: &[u8], alg: InitDataAlg) -> ReferenceValue {
    let digest: Vec<u8> = match alg {
        InitDataAlg::Sha256 => Sha256::digest(init_data).to_vec(),
        InitDataAlg::Sha384 => Sha384::digest(init_data).to_vec(),
        InitDataAlg::Sha512 => Sha512::digest(init_data).to_vec(),
    };
    let mut v = [0u8; MR_CONFIG_ID_LEN];
    for (d, s) in v.iter_mut().zip(&digest) {
        *d = *s;
    }
    let mut t = Transcript::default();
    t.input(
        "init_data",
        format!(
            "{} bytes, sha256 {}",
            init_data.len(),
            hex::encode(Sha256::digest(init_data))
        ),
    );
    t.input("algorithm", alg.name());
    let how = match digest.len() {
        n if n < MR_CONFIG_ID_LEN => format!("zero-padded from {n} to {MR_CONFIG_ID_LEN} bytes"),
        n if n > MR_CONFIG_ID_LEN => format!("truncated from {n} to {MR_CONFIG_ID_LEN} bytes"),
        n => format!("{n} bytes as is"),
    };
    t.step(
        "INIT_DATA_DIGEST",
        None,
        format!(
            "{}(raw init-data text) = {}; {how} (kata behaviour; SNP HOST_DATA would take 32 bytes)",
            alg.name(),
            hex::encode(&digest)
        ),
        Some(v.into()),
    );
    ReferenceValue::new("tdx.mr_config_id", v, t)
}
