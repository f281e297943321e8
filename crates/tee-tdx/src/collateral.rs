//! DCAP collateral: the `QuoteCollateralV3` JSON, the file set an Intel
//! PCS/PCCS returns, and a [`CollateralProvider`] trait with an offline
//! directory implementation.

use std::path::{Path, PathBuf};

use der::Decode;
use tee_core::platforms::TimeWindow;
use tee_core::{Authenticity, Error, MalformedKind, Result, UnixTime};

/// Largest collateral input accepted (4 MiB).
pub const MAX_COLLATERAL_LEN: usize = 4 << 20;

/// Verification collateral for one platform (TCB info, QE identity, CRLs
/// and their issuer chains), in Intel's `QuoteCollateralV3` shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collateral {
    /// Shared by clones: a verifier handed this collateral per request
    /// (the collateral manager does) copies a pointer, not the items.
    pub(crate) inner: std::sync::Arc<CollateralV3>,
    /// Derived from `inner` once, when the collateral is constructed (it
    /// is immutable): the dated items, the TCB info's FMSPC, the digest.
    parsed: std::sync::Arc<Parsed>,
}

#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    dates: CollateralDates,
    fmspc: Option<[u8; 6]>,
    /// SHA-256 over every item (length-prefixed, in a fixed order): what
    /// the verified-collateral cache key binds, hashed once instead of at
    /// every verification.
    digest: [u8; 32],
}

fn digest(i: &CollateralV3) -> [u8; 32] {
    tee_core::cache::KeyHasher::new("tee-tdx collateral digest v1")
        .part(i.tcb_info.as_bytes())
        .part(&i.tcb_info_signature)
        .part(i.tcb_info_issuer_chain.as_bytes())
        .part(i.qe_identity.as_bytes())
        .part(&i.qe_identity_signature)
        .part(i.qe_identity_issuer_chain.as_bytes())
        .part(&i.pck_crl)
        .part(&i.root_ca_crl)
        .part(i.pck_crl_issuer_chain.as_bytes())
        .optional(i.pck_certificate_chain.as_ref().map(|p| p.as_bytes()))
        .finish()
}

/// The `QuoteCollateralV3` JSON shape (byte fields as hex strings, as
/// `dcap-qvl` and Intel's tools write it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CollateralV3 {
    pub(crate) pck_crl_issuer_chain: String,
    #[serde(with = "hex_bytes")]
    pub(crate) root_ca_crl: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub(crate) pck_crl: Vec<u8>,
    pub(crate) tcb_info_issuer_chain: String,
    pub(crate) tcb_info: String,
    #[serde(with = "hex_bytes")]
    pub(crate) tcb_info_signature: Vec<u8>,
    pub(crate) qe_identity_issuer_chain: String,
    pub(crate) qe_identity: String,
    #[serde(with = "hex_bytes")]
    pub(crate) qe_identity_signature: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pck_certificate_chain: Option<String>,
}

/// Byte strings as hex text (serde).
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let t = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(t.as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// The raw responses of an Intel PCS/PCCS for one FMSPC.
#[derive(Debug, Clone, Default)]
pub struct PcsFiles {
    /// Body of `GET /tdx/certification/v4/tcb?fmspc=…`: `{"tcbInfo":{…},"signature":"…"}`.
    pub tcb_info_response: Vec<u8>,
    /// Body of `GET /tdx/certification/v4/qe/identity`: `{"enclaveIdentity":{…},"signature":"…"}`.
    pub qe_identity_response: Vec<u8>,
    /// PCK CRL (`/sgx/certification/v4/pckcrl?ca=platform|processor`), DER, PEM or hex.
    pub pck_crl: Vec<u8>,
    /// Intel SGX Root CA CRL, DER, PEM or hex.
    pub root_ca_crl: Vec<u8>,
    /// `TCB-Info-Issuer-Chain` header (URL-decoded PEM).
    pub tcb_info_issuer_chain: Vec<u8>,
    /// `SGX-PCK-CRL-Issuer-Chain` header (URL-decoded PEM).
    pub pck_crl_issuer_chain: Vec<u8>,
    /// `SGX-Enclave-Identity-Issuer-Chain` header; defaults to the TCB info chain (same signer).
    pub qe_identity_issuer_chain: Option<Vec<u8>>,
}

/// Dates of the collateral items, for precise expiry errors and the
/// validity window reported in claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CollateralDates {
    items: Vec<(String, u64, Option<u64>)>,
    /// The same bounds as [`CollateralDates::window`], except that a CRL's
    /// nextUpdate is exclusive (webpki rejects a CRL at `time >= nextUpdate`).
    crl_next_updates: Vec<u64>,
}

impl CollateralDates {
    /// The intersection of all items' validity.
    pub(crate) fn window(&self) -> TimeWindow {
        let nb = self.items.iter().map(|i| i.1).max().unwrap_or(0);
        let na = self
            .items
            .iter()
            .filter_map(|i| i.2)
            .min()
            .unwrap_or(u64::MAX);
        TimeWindow::new(UnixTime::from_secs(nb), UnixTime::from_secs(na))
    }

    /// Inclusive `(from, to)` bounds inside which every item is valid, with
    /// CRL nextUpdate exclusive (for the verified-collateral cache).
    pub(crate) fn cache_bounds(&self) -> (u64, u64) {
        let w = self.window();
        let to = self
            .crl_next_updates
            .iter()
            .map(|n| n.saturating_sub(1))
            .fold(w.not_after.as_secs(), u64::min);
        (w.not_before.as_secs(), to)
    }

    /// Typed `NotYetValid`/`Expired` for the first item outside its window at `at`.
    pub(crate) fn check(&self, at: UnixTime) -> Result<()> {
        let t = at.as_secs();
        for (what, nb, na) in &self.items {
            if t < *nb {
                return Err(Authenticity::NotYetValid {
                    what: what.clone(),
                    not_before: *nb,
                    at: t,
                }
                .into());
            }
            if let Some(na) = na
                && t > *na
            {
                return Err(Authenticity::Expired {
                    what: what.clone(),
                    not_after: *na,
                    at: t,
                }
                .into());
            }
        }
        Ok(())
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dated {
    issue_date: String,
    next_update: String,
}

fn enc(what: &'static str) -> impl Fn(String) -> Error {
    move |d| Error::encoding(what, d)
}

impl Collateral {
    /// Parse `QuoteCollateralV3` JSON (byte fields as hex), as produced by
    /// dcap-qvl and used in the test vectors.
    ///
    /// # Errors
    /// [`Error::Malformed`] for invalid JSON or a missing field.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        if json.len() > MAX_COLLATERAL_LEN {
            return Err(Error::malformed(
                "TDX collateral JSON",
                MalformedKind::BadLength {
                    expected: MAX_COLLATERAL_LEN,
                    actual: json.len(),
                },
            ));
        }
        let inner: CollateralV3 =
            serde_json::from_slice(json).map_err(|e| Error::encoding("TDX collateral JSON", e))?;
        // Parse every dated item now, so malformed collateral is Malformed.
        Self::new(inner)
    }

    fn new(inner: CollateralV3) -> Result<Self> {
        let dates = parse_dates(&inner)?;
        let fmspc = parse_fmspc(&inner).ok();
        let digest = digest(&inner);
        Ok(Self {
            inner: std::sync::Arc::new(inner),
            parsed: std::sync::Arc::new(Parsed {
                dates,
                fmspc,
                digest,
            }),
        })
    }

    /// SHA-256 over every item of this collateral, each length-prefixed
    /// (an absent PCK chain differs from an empty one): equal digests,
    /// equal collateral.
    pub(crate) fn digest(&self) -> &[u8; 32] {
        &self.parsed.digest
    }

    /// The `QuoteCollateralV3` JSON encoding.
    ///
    /// # Errors
    /// Never in practice.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(&*self.inner)
            .map_err(|e| Error::encoding("TDX collateral JSON", e))
    }

    /// Assemble collateral from the PCS/PCCS responses.
    ///
    /// # Errors
    /// [`Error::Malformed`] when a response is not what Intel's API returns.
    pub fn from_pcs(files: &PcsFiles) -> Result<Self> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct TcbResp<'a> {
            #[serde(borrow)]
            tcb_info: &'a serde_json::value::RawValue,
            signature: String,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct QeResp<'a> {
            #[serde(borrow)]
            enclave_identity: &'a serde_json::value::RawValue,
            signature: String,
        }
        let tcb: TcbResp<'_> = serde_json::from_slice(&files.tcb_info_response)
            .map_err(|e| Error::encoding("PCS TCB info response", e))?;
        let qe: QeResp<'_> = serde_json::from_slice(&files.qe_identity_response)
            .map_err(|e| Error::encoding("PCS QE identity response", e))?;
        let text = |what: &'static str, b: &[u8]| -> Result<String> {
            String::from_utf8(b.to_vec()).map_err(|e| Error::encoding(what, e))
        };
        let tcb_chain = text("TCB info issuer chain", &files.tcb_info_issuer_chain)?;
        let inner = CollateralV3 {
            pck_crl_issuer_chain: text("PCK CRL issuer chain", &files.pck_crl_issuer_chain)?,
            root_ca_crl: crl_der(&files.root_ca_crl, "root CA CRL")?,
            pck_crl: crl_der(&files.pck_crl, "PCK CRL")?,
            tcb_info: tcb.tcb_info.get().to_string(),
            tcb_info_signature: hex::decode(&tcb.signature)
                .map_err(|e| Error::encoding("TCB info signature", e))?,
            qe_identity_issuer_chain: match &files.qe_identity_issuer_chain {
                Some(c) => text("QE identity issuer chain", c)?,
                None => tcb_chain.clone(),
            },
            tcb_info_issuer_chain: tcb_chain,
            qe_identity: qe.enclave_identity.get().to_string(),
            qe_identity_signature: hex::decode(&qe.signature)
                .map_err(|e| Error::encoding("QE identity signature", e))?,
            pck_certificate_chain: None,
        };
        Self::new(inner)
    }

    /// Whether both CRLs are present.
    pub fn has_crls(&self) -> bool {
        !self.inner.pck_crl.is_empty() && !self.inner.root_ca_crl.is_empty()
    }

    /// The FMSPC the TCB info is for (6 bytes).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the TCB info JSON is invalid.
    pub fn fmspc(&self) -> Result<[u8; 6]> {
        match self.parsed.fmspc {
            Some(f) => Ok(f),
            None => parse_fmspc(&self.inner),
        }
    }

    /// The validity window of the collateral (intersection of all items).
    ///
    /// # Errors
    /// [`Error::Malformed`] if a date cannot be parsed.
    pub fn window(&self) -> Result<TimeWindow> {
        Ok(self.dates()?.window())
    }

    pub(crate) fn dates(&self) -> Result<CollateralDates> {
        Ok(self.parsed.dates.clone())
    }

    /// The dated items (parsed when the collateral was constructed).
    pub(crate) fn dates_ref(&self) -> &CollateralDates {
        &self.parsed.dates
    }
}

fn parse_fmspc(inner: &CollateralV3) -> Result<[u8; 6]> {
    #[derive(serde::Deserialize)]
    struct Fmspc {
        fmspc: String,
    }
    let ti: Fmspc =
        serde_json::from_str(&inner.tcb_info).map_err(|e| Error::encoding("TCB info", e))?;
    let v = hex::decode(&ti.fmspc).map_err(|e| Error::encoding("TCB info fmspc", e))?;
    <[u8; 6]>::try_from(v.as_slice())
        .map_err(|_| Error::bad_field("TCB info", "fmspc", "not 6 bytes"))
}

fn parse_dates(inner: &CollateralV3) -> Result<CollateralDates> {
    {
        let mut items = Vec::new();
        let mut crl_next_updates = Vec::new();
        let ti: Dated =
            serde_json::from_str(&inner.tcb_info).map_err(|e| Error::encoding("TCB info", e))?;
        items.push((
            "TCB info".to_string(),
            rfc3339(&ti.issue_date)?,
            Some(rfc3339(&ti.next_update)?),
        ));
        let qe: Dated = serde_json::from_str(&inner.qe_identity)
            .map_err(|e| Error::encoding("QE identity", e))?;
        items.push((
            "QE identity".to_string(),
            rfc3339(&qe.issue_date)?,
            Some(rfc3339(&qe.next_update)?),
        ));
        for (what, crl) in [
            ("PCK CRL", &inner.pck_crl),
            ("root CA CRL", &inner.root_ca_crl),
        ] {
            if crl.is_empty() {
                continue;
            }
            let l = <x509_cert::crl::CertificateList>::from_der(crl)
                .map_err(|e| Error::encoding(what, e))?;
            let next = l
                .tbs_cert_list
                .next_update
                .map(|t| t.to_unix_duration().as_secs());
            crl_next_updates.extend(next);
            items.push((
                what.into(),
                l.tbs_cert_list.this_update.to_unix_duration().as_secs(),
                next,
            ));
        }
        for (what, chain) in [
            ("TCB info issuer", &inner.tcb_info_issuer_chain),
            ("QE identity issuer", &inner.qe_identity_issuer_chain),
            ("PCK CRL issuer", &inner.pck_crl_issuer_chain),
        ] {
            if chain.trim().is_empty() {
                continue;
            }
            for cert in crate::pki::parse_pem_chain(chain.as_bytes())? {
                let v = cert.tbs_certificate().validity();
                items.push((
                    format!("{what} certificate `{}`", cert.tbs_certificate().subject()),
                    v.not_before.to_unix_duration().as_secs(),
                    Some(v.not_after.to_unix_duration().as_secs()),
                ));
            }
        }
        Ok(CollateralDates {
            items,
            crl_next_updates,
        })
    }
}

fn rfc3339(s: &str) -> Result<u64> {
    UnixTime::parse_rfc3339(s).map(UnixTime::as_secs)
}

/// Accept a CRL as DER, PEM (`X509 CRL`) or hex text.
pub(crate) fn crl_der(b: &[u8], what: &'static str) -> Result<Vec<u8>> {
    if b.is_empty() || b.first() == Some(&0x30) {
        return Ok(b.to_vec());
    }
    let t = core::str::from_utf8(b)
        .map_err(|e| enc(what)(e.to_string()))?
        .trim();
    if t.starts_with("-----BEGIN") {
        let (_label, der) =
            der::pem::decode_vec(t.as_bytes()).map_err(|e| enc(what)(e.to_string()))?;
        return Ok(der);
    }
    hex::decode(t).map_err(|e| enc(what)(e.to_string()))
}

/// Which PCK CA issued the PCK certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PckCa {
    /// Intel SGX PCK Platform CA.
    Platform,
    /// Intel SGX PCK Processor CA.
    Processor,
}

/// A source of collateral for a quote's platform.
pub trait CollateralProvider: Send + Sync + core::fmt::Debug {
    /// Collateral for the platform with this FMSPC whose PCK was issued by `ca`.
    ///
    /// # Errors
    /// [`Error::Authenticity`] (`MissingEndorsement`) when none is available;
    /// [`Error::Malformed`] when what is available cannot be parsed.
    fn collateral(&self, fmspc: [u8; 6], ca: PckCa) -> Result<Collateral>;
}

/// Collateral from a directory, offline.
///
/// Looked up in order: `<FMSPC>.json` (upper-case hex, `QuoteCollateralV3`),
/// `collateral.json`, then a PCS file set: `tcb_info.json` (or
/// `sample_tcbInfo_response`), `qe_identity.json` (or
/// `sample_qeIdentity_response`), `pck_crl.der` (or `pckcrl.der`),
/// `root_crl.der` (or `rootcrl.der`), `tcb_info_issuer_chain.pem`,
/// `pck_crl_issuer_chain.pem` and optionally `qe_identity_issuer_chain.pem`.
#[derive(Debug, Clone)]
pub struct OfflineDir {
    dir: PathBuf,
}

impl OfflineDir {
    /// A provider reading from `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn read_first(&self, names: &[&str]) -> Result<Option<Vec<u8>>> {
        for n in names {
            let p = self.dir.join(n);
            match read_limited(&p) {
                Ok(b) => return Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::device(
                        tee_core::DeviceErrorKind::Io,
                        p.display().to_string(),
                        e,
                    ));
                }
            }
        }
        Ok(None)
    }
}

fn read_limited(p: &Path) -> std::io::Result<Vec<u8>> {
    let md = std::fs::metadata(p)?;
    if md.len() > MAX_COLLATERAL_LEN as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "file too large",
        ));
    }
    std::fs::read(p)
}

impl OfflineDir {
    /// Assemble collateral from the PCS file set in the directory (names
    /// as in the type documentation), whatever its FMSPC.
    ///
    /// # Errors
    /// [`Error::Authenticity`] (`MissingEndorsement`) for a missing file,
    /// [`Error::Malformed`] for a malformed one, [`Error::Device`] on I/O failure.
    pub fn pcs_file_set(&self) -> Result<Collateral> {
        let missing = |what: &str| {
            Error::Authenticity(Authenticity::MissingEndorsement {
                what: format!("{what} in {}", self.dir.display()),
            })
        };
        let files = PcsFiles {
            tcb_info_response: self
                .read_first(&["tcb_info.json", "sample_tcbInfo_response"])?
                .ok_or_else(|| missing("TCB info"))?,
            qe_identity_response: self
                .read_first(&["qe_identity.json", "sample_qeIdentity_response"])?
                .ok_or_else(|| missing("QE identity"))?,
            pck_crl: self
                .read_first(&["pck_crl.der", "pckcrl.der", "pck_crl.pem"])?
                .unwrap_or_default(),
            root_ca_crl: self
                .read_first(&["root_crl.der", "rootcrl.der", "root_crl.pem"])?
                .unwrap_or_default(),
            tcb_info_issuer_chain: self
                .read_first(&["tcb_info_issuer_chain.pem"])?
                .ok_or_else(|| missing("TCB info issuer chain"))?,
            pck_crl_issuer_chain: self
                .read_first(&["pck_crl_issuer_chain.pem"])?
                .unwrap_or_default(),
            qe_identity_issuer_chain: self.read_first(&["qe_identity_issuer_chain.pem"])?,
        };
        Collateral::from_pcs(&files)
    }
}

impl CollateralProvider for OfflineDir {
    fn collateral(&self, fmspc: [u8; 6], _ca: PckCa) -> Result<Collateral> {
        let by_fmspc = format!("{}.json", hex::encode_upper(fmspc));
        if let Some(j) = self.read_first(&[&by_fmspc, "collateral.json"])? {
            return Collateral::from_json(&j);
        }
        let c = self.pcs_file_set()?;
        let have = c.fmspc()?;
        if have != fmspc {
            return Err(Authenticity::MissingEndorsement {
                what: format!(
                    "collateral for FMSPC {} (directory has {})",
                    hex::encode_upper(fmspc),
                    hex::encode_upper(have)
                ),
            }
            .into());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod digest_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::testing::TestPki;

    fn base() -> Collateral {
        let pki = TestPki::default();
        let json = pki.collateral_json(
            "UpToDate",
            &[0; 16],
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
        );
        Collateral::from_json(&json).unwrap()
    }

    #[test]
    fn digest_binds_every_item() {
        let c = base();
        // The same bytes, parsed again: the same digest.
        assert_eq!(
            Collateral::from_json(&c.to_json().unwrap())
                .unwrap()
                .digest(),
            c.digest()
        );
        type Edit = fn(&mut CollateralV3);
        let edits: [(&str, Edit); 11] = [
            ("tcb_info", |i| i.tcb_info.push(' ')),
            ("tcb_info_signature", |i| i.tcb_info_signature[0] ^= 1),
            ("tcb_info_issuer_chain", |i| {
                i.tcb_info_issuer_chain.push('\n')
            }),
            ("qe_identity", |i| i.qe_identity.push(' ')),
            ("qe_identity_signature", |i| i.qe_identity_signature[0] ^= 1),
            ("qe_identity_issuer_chain", |i| {
                i.qe_identity_issuer_chain.push('\n')
            }),
            ("pck_crl", |i| i.pck_crl.push(0)),
            ("root_ca_crl", |i| i.root_ca_crl.push(0)),
            ("pck_crl_issuer_chain", |i| {
                i.pck_crl_issuer_chain.push('\n')
            }),
            ("pck_certificate_chain: some empty", |i| {
                i.pck_certificate_chain = Some(String::new())
            }),
            // Bytes moved from one item to the next: the length prefixes
            // keep the boundary.
            ("boundary", |i| {
                let b = i.pck_crl.pop().unwrap();
                i.root_ca_crl.insert(0, b);
            }),
        ];
        for (what, edit) in edits {
            let mut inner = (*c.inner).clone();
            edit(&mut inner);
            // (Edited DER no longer parses as a CRL: the digest function
            // itself, as `Collateral::new` calls it.)
            assert_ne!(&digest(&inner), c.digest(), "{what}");
        }
    }
}
