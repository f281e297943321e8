//! Quotes through configfs-tsm (`Documentation/ABI/testing/configfs-tsm-report`).
//!
//! The vendor-neutral client of `tee-linux` does the request (provider
//! check, `generation` race check, `EBUSY` retries with exponential backoff,
//! `rmdir` on every path); this module supplies the TDX specifics: provider
//! `tdx_guest`, exactly 64 bytes of `inblob`, no `privlevel`, and
//! [`check_dcap_outblob`] on the `outblob`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tee_core::{Error, Operation, Platform, Result};
use tee_linux::{Retry, TsmReportClient};

use super::KernelFs;

/// Largest DCAP quote the kernel's GetQuote buffer carries; larger outblobs
/// are CBOR Web Tokens (DICE-based TDX attestation).
pub const MAX_DCAP_OUTBLOB: usize = 8 << 10;

/// The configfs-tsm provider name of the TDX guest driver.
pub const TSM_PROVIDER: &str = "tdx_guest";

/// Longest single backoff between `EBUSY` retries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// configfs-tsm quote client.
#[derive(Debug, Clone)]
pub struct ConfigfsTsm {
    client: TsmReportClient<Arc<dyn KernelFs>>,
}

impl ConfigfsTsm {
    /// A client for the report directory `root`: `EBUSY` is retried
    /// `retries` times, the first backoff `backoff`, doubling (at most 5 s).
    pub fn new(fs: Arc<dyn KernelFs>, root: PathBuf, retries: u32, backoff: Duration) -> Self {
        let retry = Retry {
            attempts: retries.saturating_add(1),
            initial_delay: backoff,
            max_delay: MAX_BACKOFF.max(backoff),
        };
        Self {
            client: TsmReportClient::new(fs, root, TSM_PROVIDER, Platform::Tdx).with_retry(retry),
        }
    }

    /// Get a quote binding exactly 64 bytes of report data.
    ///
    /// # Errors
    /// [`Error::Unsupported`] if the provider is not `tdx_guest` or the
    /// outblob is not a DCAP quote (e.g. a CWT); [`Error::Device`] on I/O
    /// failure, persistent `EBUSY`, or a concurrent writer.
    pub fn quote(&self, inblob: &[u8; 64]) -> Result<Vec<u8>> {
        let out = self.client.report(inblob, None)?.outblob;
        check_dcap_outblob(&out)?;
        Ok(out)
    }
}

/// Recognise a DCAP quote; anything else (a CBOR Web Token, quotes over
/// 8 KiB) is an unsupported format rather than something to misparse.
///
/// # Errors
/// [`Error::Unsupported`] for anything but a DCAP v4/v5 TDX quote.
pub fn check_dcap_outblob(out: &[u8]) -> Result<()> {
    let head = out.get(..8);
    let is_dcap = matches!(head, Some([4 | 5, 0, 2, 0, 0x81, 0, 0, 0]));
    if out.len() > MAX_DCAP_OUTBLOB || !is_dcap {
        let what = if out
            .first()
            .is_some_and(|b| b >> 5 == 6 || *b == 0xd2 || *b == 0x84)
        {
            "a CBOR/COSE (CWT) token"
        } else {
            "not a DCAP v4/v5 TDX quote"
        };
        return Err(Error::unsupported(
            Platform::Tdx,
            Operation::Attestation,
            format!(
                "configfs-tsm returned {} bytes that are {what} (DICE-based TDX attestation is not supported)",
                out.len()
            ),
        ));
    }
    Ok(())
}
