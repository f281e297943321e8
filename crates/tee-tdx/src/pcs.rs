//! Collateral from an Intel PCS or a PCCS over HTTP (feature `pcs`).
//!
//! The transport is [`tee_fetch::Transport`] (re-exported here), so
//! applications plug in the HTTPS client they already trust; [`PlainHttp`]
//! is the built-in HTTP/1.1 client for `http://` URLs (a PCCS on a trusted
//! local network, and tests) and `Https` (feature `pcs-https`) the
//! ureq + rustls transport. Busy answers (`429`, `5xx`) and transient
//! network failures are retried by a [`RetryPolicy`]. The download is a
//! sans-IO [`PcsFetch`] too, so an async program can drive it with
//! `tee_fetch::nonblocking::fetch`. Everything fetched is verified
//! afterwards like offline collateral: TLS is not what makes it
//! trustworthy, Intel's signatures are.
//!
//! Requests (PCS API v4):
//! - `GET {base}/tdx/certification/v4/tcb?fmspc=…` (header `TCB-Info-Issuer-Chain`)
//! - `GET {base}/tdx/certification/v4/qe/identity` (header `SGX-Enclave-Identity-Issuer-Chain`)
//! - `GET {base}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der`
//!   (header `SGX-PCK-CRL-Issuer-Chain`)
//! - the root CA CRL from [`PcsClient::root_crl_url`] (Intel:
//!   `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`;
//!   PCCS: `{base}/sgx/certification/v4/rootcacrl`).

use std::sync::Arc;

use tee_core::{Authenticity, Error, Result};
#[cfg(feature = "pcs-https")]
pub use tee_fetch::Https;
use tee_fetch::{Fetch, Retrying};
pub use tee_fetch::{FetchError, PlainHttp, Request, Response, RetryPolicy, Transport};

use crate::collateral::{Collateral, CollateralProvider, PckCa, PcsFiles};

/// Largest response accepted (4 MiB).
pub const MAX_RESPONSE: usize = 4 << 20;

/// Decode `%XX` escapes (issuer-chain headers are URL-encoded PEM).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Collateral from a PCS/PCCS.
#[derive(Debug, Clone)]
pub struct PcsClient {
    base: String,
    root_crl_url: String,
    http: Arc<dyn Transport>,
    retry: RetryPolicy,
}

impl PcsClient {
    /// A client for `base` (e.g. `https://api.trustedservices.intel.com` or a
    /// PCCS `https://pccs.example:8081`), with the PCCS-style root CRL URL
    /// `{base}/sgx/certification/v4/rootcacrl` and the default [`RetryPolicy`].
    pub fn new(base: impl Into<String>, http: impl Transport + 'static) -> Self {
        let base = base.into().trim_end_matches('/').to_string();
        let root_crl_url = format!("{base}/sgx/certification/v4/rootcacrl");
        Self {
            base,
            root_crl_url,
            http: Arc::new(http),
            retry: RetryPolicy::default(),
        }
    }

    /// Use another root CA CRL URL (Intel PCS:
    /// `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`).
    #[must_use]
    pub fn root_crl_url(mut self, url: impl Into<String>) -> Self {
        self.root_crl_url = url.into();
        self
    }

    /// Set the retry policy for busy (HTTP 429/5xx) answers and transient failures.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The sans-IO download of the collateral for `fmspc` and `ca`.
    pub fn request(&self, fmspc: [u8; 6], ca: PckCa) -> PcsFetch {
        Self::plan(&self.base, &self.root_crl_url, fmspc, ca)
    }

    fn plan(base: &str, root_crl_url: &str, fmspc: [u8; 6], ca: PckCa) -> PcsFetch {
        let ca_name = match ca {
            PckCa::Platform => "platform",
            PckCa::Processor => "processor",
        };
        PcsFetch {
            tcb_url: format!(
                "{base}/tdx/certification/v4/tcb?fmspc={}",
                hex::encode_upper(fmspc)
            ),
            qe_url: format!("{base}/tdx/certification/v4/qe/identity"),
            crl_url: format!("{base}/sgx/certification/v4/pckcrl?ca={ca_name}&encoding=der"),
            root_crl_url: root_crl_url.to_owned(),
        }
    }
}

/// The PCS collateral download as a sans-IO [`Fetch`]: four GETs (TCB info,
/// QE identity, PCK CRL, root CA CRL), then [`Collateral::from_pcs`]. A `404`
/// is [`Authenticity::MissingEndorsement`]; other statuses are device errors
/// (`429`/`503`: `Busy`); a transport that cannot speak the scheme is
/// [`Error::Misuse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcsFetch {
    tcb_url: String,
    qe_url: String,
    crl_url: String,
    root_crl_url: String,
}

impl PcsFetch {
    fn urls(&self) -> [&str; 4] {
        [
            &self.tcb_url,
            &self.qe_url,
            &self.crl_url,
            &self.root_crl_url,
        ]
    }

    fn ok(r: Response, url: &str) -> Result<Response> {
        match r.status {
            404 => Err(Authenticity::MissingEndorsement {
                what: format!("{url} (404 Not Found)"),
            }
            .into()),
            _ => Ok(r.ok(url)?),
        }
    }

    fn chain(r: &Response, names: &[&str], url: &str) -> Result<Vec<u8>> {
        names
            .iter()
            .find_map(|n| r.header(n))
            .map(percent_decode)
            .ok_or_else(|| {
                Error::encoding(
                    "PCS response",
                    format_args!("{url}: missing header {}", names.join(" / ")),
                )
            })
    }
}

impl Fetch for PcsFetch {
    type Output = Collateral;

    fn requests(&self) -> Vec<Request> {
        self.urls()
            .iter()
            .map(|u| Request::get(*u).with_max_body(MAX_RESPONSE))
            .collect()
    }

    fn finish(self, responses: Vec<Response>) -> Result<Collateral> {
        let [tcb, qe, crl, root]: [Response; 4] = responses
            .try_into()
            .map_err(|_| Error::Misuse("PcsFetch::finish needs four responses".into()))?;
        let tcb = Self::ok(tcb, &self.tcb_url)?;
        let qe = Self::ok(qe, &self.qe_url)?;
        let crl = Self::ok(crl, &self.crl_url)?;
        let root = Self::ok(root, &self.root_crl_url)?;
        let files = PcsFiles {
            tcb_info_issuer_chain: Self::chain(
                &tcb,
                &["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"],
                &self.tcb_url,
            )?,
            tcb_info_response: tcb.body,
            qe_identity_issuer_chain: Some(Self::chain(
                &qe,
                &[
                    "SGX-Enclave-Identity-Issuer-Chain",
                    "Enclave-Identity-Issuer-Chain",
                ],
                &self.qe_url,
            )?),
            qe_identity_response: qe.body,
            pck_crl_issuer_chain: Self::chain(&crl, &["SGX-PCK-CRL-Issuer-Chain"], &self.crl_url)?,
            pck_crl: crl.body,
            root_ca_crl: root.body,
        };
        Collateral::from_pcs(&files)
    }
}

impl CollateralProvider for PcsClient {
    fn collateral(&self, fmspc: [u8; 6], ca: PckCa) -> Result<Collateral> {
        tee_fetch::fetch(
            &Retrying::new(self.http.as_ref(), self.retry),
            self.request(fmspc, ca),
        )
    }
}

/// PCS artifacts for the collateral cache ([`tee_fetch::cache`]): what
/// each is called, where it is fetched, and how long it may be served
/// (read from its bytes).
pub mod artifact {
    use der::Decode;
    use tee_core::{Error, Result, UnixTime};
    use tee_fetch::cache::{Body, Descriptor, Kinds, Validity};

    use super::{MAX_RESPONSE, PcsFetch};
    use crate::collateral::{Collateral, PckCa, PcsFiles, crl_der};

    /// Kind of a TDX TCB info response (`issueDate`..`nextUpdate`).
    pub const TCB_INFO: &str = "intel-tdx-tcb-info";
    /// Kind of a TDX QE identity response (`issueDate`..`nextUpdate`).
    pub const QE_IDENTITY: &str = "intel-tdx-qe-identity";
    /// Kind of a PCK CRL (`thisUpdate`..`nextUpdate`).
    pub const PCK_CRL: &str = "intel-pck-crl";
    /// Kind of the Intel SGX Root CA CRL (`thisUpdate`..`nextUpdate`).
    pub const ROOT_CRL: &str = "intel-root-crl";

    const TCB_CHAIN: [&str; 2] = ["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"];
    const QE_CHAIN: [&str; 2] = [
        "SGX-Enclave-Identity-Issuer-Chain",
        "Enclave-Identity-Issuer-Chain",
    ];
    const CRL_CHAIN: [&str; 1] = ["SGX-PCK-CRL-Issuer-Chain"];

    /// One PCS artifact.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PcsArtifact {
        id: String,
        kind: &'static str,
        url: String,
        /// The issuer-chain header the artifact needs (kept under the first name).
        chain_header: &'static [&'static str],
    }

    /// Where a manager fetches Intel collateral.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PcsUrls {
        base: String,
        root_crl_url: String,
    }

    impl PcsUrls {
        /// A PCS or PCCS at `base`, with the PCCS-style root CRL URL
        /// (`{base}/sgx/certification/v4/rootcacrl`).
        pub fn new(base: &str) -> Self {
            let base = base.trim_end_matches('/').to_owned();
            Self {
                root_crl_url: format!("{base}/sgx/certification/v4/rootcacrl"),
                base,
            }
        }

        /// Intel's PCS (`https://api.trustedservices.intel.com`, root CRL from
        /// `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`).
        pub fn intel() -> Self {
            Self::new("https://api.trustedservices.intel.com").with_root_crl_url(
                "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
            )
        }

        /// Another root CA CRL URL.
        #[must_use]
        pub fn with_root_crl_url(mut self, url: impl Into<String>) -> Self {
            self.root_crl_url = url.into();
            self
        }

        fn plan(&self, fmspc: [u8; 6], ca: PckCa) -> PcsFetch {
            super::PcsClient::plan(&self.base, &self.root_crl_url, fmspc, ca)
        }

        /// The four artifacts of the collateral for `fmspc` and `ca`: TCB
        /// info, QE identity, PCK CRL, root CA CRL.
        pub fn artifacts(&self, fmspc: [u8; 6], ca: PckCa) -> [PcsArtifact; 4] {
            let p = self.plan(fmspc, ca);
            let ca_name = match ca {
                PckCa::Platform => "platform",
                PckCa::Processor => "processor",
            };
            [
                PcsArtifact {
                    id: format!("intel/tdx-tcb-info/{}", hex::encode_upper(fmspc)),
                    kind: TCB_INFO,
                    url: p.tcb_url,
                    chain_header: &TCB_CHAIN,
                },
                PcsArtifact {
                    id: "intel/tdx-qe-identity".into(),
                    kind: QE_IDENTITY,
                    url: p.qe_url,
                    chain_header: &QE_CHAIN,
                },
                PcsArtifact {
                    id: format!("intel/pck-crl/{ca_name}"),
                    kind: PCK_CRL,
                    url: p.crl_url,
                    chain_header: &CRL_CHAIN,
                },
                PcsArtifact {
                    id: "intel/root-crl".into(),
                    kind: ROOT_CRL,
                    url: p.root_crl_url,
                    chain_header: &[],
                },
            ]
        }
    }

    impl PcsArtifact {
        /// The URL.
        pub fn url(&self) -> &str {
            &self.url
        }
    }

    impl Descriptor for PcsArtifact {
        fn id(&self) -> String {
            self.id.clone()
        }
        fn kind(&self) -> &'static str {
            self.kind
        }
        fn request(&self) -> tee_fetch::Request {
            tee_fetch::Request::get(self.url.clone()).with_max_body(MAX_RESPONSE)
        }
        fn accept(&self, response: tee_fetch::Response) -> Result<Body> {
            let mut body = Body::new(response.body.clone());
            if let Some(first) = self.chain_header.first() {
                let chain = PcsFetch::chain(&response, self.chain_header, &self.url)?;
                let chain = String::from_utf8(chain)
                    .map_err(|e| Error::encoding("PCS issuer chain header", e))?;
                body.headers.push(((*first).to_owned(), chain));
            }
            // The body must read as the artifact (the validity reader parses it).
            validity(self.kind, &body).unwrap_or(Ok(Validity::new(0, 0)))?;
            Ok(body)
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Dated {
        issue_date: String,
        next_update: String,
    }

    fn dated(body: &[u8], field: &str, what: &'static str) -> Result<Validity> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Error::encoding(what, e))?;
        let inner = v
            .get(field)
            .cloned()
            .ok_or_else(|| Error::encoding(what, format_args!("no `{field}`")))?;
        let d: Dated = serde_json::from_value(inner).map_err(|e| Error::encoding(what, e))?;
        Ok(Validity::new(
            UnixTime::parse_rfc3339(&d.issue_date)?.as_secs(),
            UnixTime::parse_rfc3339(&d.next_update)?.as_secs(),
        ))
    }

    fn crl_window(body: &[u8], what: &'static str) -> Result<Validity> {
        let der = crl_der(body, what)?;
        let l = <x509_cert::crl::CertificateList>::from_der(&der)
            .map_err(|e| Error::encoding(what, e))?;
        let next = l
            .tbs_cert_list
            .next_update
            .ok_or_else(|| Error::bad_field(what, "nextUpdate", "absent"))?;
        Ok(Validity::new(
            l.tbs_cert_list.this_update.to_unix_duration().as_secs(),
            next.to_unix_duration().as_secs(),
        ))
    }

    /// The validity of a PCS artifact, or `None` for another kind.
    pub fn validity(kind: &str, body: &Body) -> Option<Result<Validity>> {
        Some(match kind {
            TCB_INFO => dated(&body.bytes, "tcbInfo", "PCS TCB info response"),
            QE_IDENTITY => dated(&body.bytes, "enclaveIdentity", "PCS QE identity response"),
            PCK_CRL => crl_window(&body.bytes, "PCK CRL"),
            ROOT_CRL => crl_window(&body.bytes, "root CA CRL"),
            _ => return None,
        })
    }

    /// [`Kinds`] for the PCS artifacts alone.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct PcsKinds;

    impl Kinds for PcsKinds {
        fn validity(&self, kind: &str, body: &Body) -> Result<Validity> {
            validity(kind, body).unwrap_or_else(|| {
                Err(Error::Misuse(
                    format!("not a PCS artifact kind: {kind}").into(),
                ))
            })
        }
    }

    /// The four artifact bodies (TCB info, QE identity, PCK CRL, root CA
    /// CRL, as a PCS answers them) of `QuoteCollateralV3` collateral, e.g.
    /// to put collateral files into a bundle. The signed JSON is kept
    /// byte for byte.
    pub fn bodies(c: &Collateral) -> [Body; 4] {
        let i = &c.inner;
        let with = |bytes: Vec<u8>, name: &str, chain: &str| Body {
            bytes,
            headers: vec![(name.to_owned(), chain.to_owned())],
        };
        [
            with(
                format!(
                    "{{\"tcbInfo\":{},\"signature\":\"{}\"}}",
                    i.tcb_info,
                    hex::encode(&i.tcb_info_signature)
                )
                .into_bytes(),
                TCB_CHAIN[0],
                &i.tcb_info_issuer_chain,
            ),
            with(
                format!(
                    "{{\"enclaveIdentity\":{},\"signature\":\"{}\"}}",
                    i.qe_identity,
                    hex::encode(&i.qe_identity_signature)
                )
                .into_bytes(),
                QE_CHAIN[0],
                &i.qe_identity_issuer_chain,
            ),
            with(i.pck_crl.clone(), CRL_CHAIN[0], &i.pck_crl_issuer_chain),
            Body::new(i.root_ca_crl.clone()),
        ]
    }

    /// Collateral from the four artifacts of [`PcsUrls::artifacts`] (TCB
    /// info, QE identity, PCK CRL, root CA CRL).
    ///
    /// # Errors
    /// [`Error::Malformed`] when an artifact is not what Intel's API returns.
    pub fn collateral(
        tcb: &Body,
        qe: &Body,
        pck_crl: &Body,
        root_crl: &Body,
    ) -> Result<Collateral> {
        let header = |b: &Body, names: &[&str], what: &'static str| -> Result<Vec<u8>> {
            names
                .iter()
                .find_map(|n| b.header(n))
                .map(|h| h.as_bytes().to_vec())
                .ok_or_else(|| Error::encoding(what, "issuer chain missing"))
        };
        let files = PcsFiles {
            tcb_info_response: tcb.bytes.clone(),
            tcb_info_issuer_chain: header(tcb, &TCB_CHAIN, "TCB info")?,
            qe_identity_response: qe.bytes.clone(),
            qe_identity_issuer_chain: Some(header(qe, &QE_CHAIN, "QE identity")?),
            pck_crl: pck_crl.bytes.clone(),
            pck_crl_issuer_chain: header(pck_crl, &CRL_CHAIN, "PCK CRL")?,
            root_ca_crl: root_crl.bytes.clone(),
        };
        Collateral::from_pcs(&files)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use tee_core::evidence::format;
    use tee_core::{
        DeviceErrorKind, Evidence, Platform, PlatformClaims, TcbStatus, UnixTime, Verifier,
    };
    use tee_fetch::testing::{Reply, Scripted, Server};

    use super::*;
    use crate::TdxVerifier;

    fn vectors() -> Option<PathBuf> {
        tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
    }

    fn pccs_answers(dir: &Path) -> Vec<(&'static str, Response)> {
        crate::testing::pccs::pccs_answers(dir).unwrap()
    }

    /// A local PCCS serving the go-tdx-guest collateral files; `chunked`
    /// switches the transfer encoding.
    fn serve(dir: PathBuf, chunked: bool) -> Server {
        let srv = if chunked {
            Server::start_chunked()
        } else {
            Server::start()
        };
        for (path, r) in pccs_answers(&dir) {
            srv.replies(path, vec![Reply::Response(r)]);
        }
        srv
    }

    #[test]
    fn pccs_fetch_then_verify() {
        let Some(v) = vectors() else { return };
        let quote = std::fs::read(v.join("go-tdx-guest/tdx_prod_quote_SPR_E4.dat")).unwrap();
        for chunked in [false, true] {
            let srv = serve(v.join("go-tdx-guest"), chunked);
            let client = PcsClient::new(srv.base(), Arc::new(PlainHttp::default()));
            let verifier = TdxVerifier::new();
            let coll = crate::fetch_collateral(&client, &quote).unwrap();
            let ev = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote.clone());
            let ev = crate::attach_collateral(ev, &coll).unwrap();
            let at = UnixTime::parse_rfc3339("2023-07-01T00:00:00Z").unwrap();
            let claims = verifier.verify(&ev, at).unwrap();
            let PlatformClaims::Tdx(x) = &claims.platform_claims else {
                panic!()
            };
            assert_eq!(x.tcb_status, TcbStatus::NoMatchingTcbLevel);
            assert!(x.revocation_checked);
        }
    }

    #[test]
    fn pccs_errors_are_typed() {
        let Some(v) = vectors() else { return };
        let srv = serve(v.join("go-tdx-guest"), false);
        let client = PcsClient::new(srv.base(), Arc::new(PlainHttp::default()));
        // Another FMSPC: 404 -> missing endorsement.
        match client.collateral([1, 2, 3, 4, 5, 6], PckCa::Platform) {
            Err(Error::Authenticity(Authenticity::MissingEndorsement { what })) => {
                assert!(what.contains("404"))
            }
            other => panic!("{other:?}"),
        }
        // Nothing listening: a device (I/O) error, not a panic.
        let dead = PcsClient::new(
            "http://127.0.0.1:9",
            Arc::new(PlainHttp {
                timeout: Duration::from_secs(2),
            }),
        )
        .with_retry(RetryPolicy::none());
        assert!(matches!(
            dead.collateral([0; 6], PckCa::Platform),
            Err(Error::Device(_))
        ));
        // https is not spoken by the built-in client.
        let tls = PcsClient::new(
            "https://api.trustedservices.intel.com",
            Arc::new(PlainHttp::default()),
        );
        assert!(matches!(
            tls.collateral([0; 6], PckCa::Platform),
            Err(Error::Misuse(_))
        ));
        assert_eq!(percent_decode("a%2Bb%0A%zz%"), b"a+b\n%zz%".to_vec());
    }

    /// Busy answers are retried (the former PCS client did not retry);
    /// a `Retry-After` beyond the cap is not waited for.
    #[test]
    fn pccs_busy_answers_are_retried() {
        let Some(v) = vectors() else { return };
        let fake = Arc::new(Scripted::new());
        let base = "https://pccs.test";
        for (path, r) in pccs_answers(&v.join("go-tdx-guest")) {
            fake.respond(&format!("{base}{path}"), r);
        }
        let tcb = format!("{base}/tdx/certification/v4/tcb?fmspc=50806F000000");
        let answers = pccs_answers(&v.join("go-tdx-guest"));
        fake.script(
            &tcb,
            vec![
                Ok(Response::new(503, Vec::new())),
                Err(FetchError::Timeout { url: tcb.clone() }),
                Ok(answers[0].1.clone()),
            ],
        );
        let client = PcsClient::new(base, fake.clone()).with_retry(RetryPolicy::immediate(3));
        let c = client.collateral([0x50, 0x80, 0x6f, 0, 0, 0], PckCa::Platform);
        assert!(c.is_ok(), "{c:?}");
        assert_eq!(fake.hits(&tcb), 3);
        fake.respond(
            &tcb,
            Response::new(429, Vec::new()).with_header("Retry-After", "3600"),
        );
        let slow = client.with_retry(
            RetryPolicy::new(3, Duration::ZERO, Duration::ZERO)
                .with_max_retry_after(Duration::from_secs(60)),
        );
        match slow.collateral([0x50, 0x80, 0x6f, 0, 0, 0], PckCa::Platform) {
            Err(Error::Device(d)) => assert_eq!(d.kind, DeviceErrorKind::Busy),
            other => panic!("{other:?}"),
        }
        assert_eq!(fake.hits(&tcb), 4, "Retry-After over the cap: no retry");
    }

    /// The sans-IO plan names the four PCS URLs in order.
    #[test]
    fn pcs_fetch_names_its_requests() {
        let c = PcsClient::new("http://p/", PlainHttp::default())
            .root_crl_url("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der");
        let urls: Vec<String> = c
            .request([1, 2, 3, 4, 5, 0xab], PckCa::Processor)
            .requests()
            .iter()
            .map(|r| r.url().to_owned())
            .collect();
        assert_eq!(
            urls,
            [
                "http://p/tdx/certification/v4/tcb?fmspc=0102030405AB",
                "http://p/tdx/certification/v4/qe/identity",
                "http://p/sgx/certification/v4/pckcrl?ca=processor&encoding=der",
                "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
            ]
        );
        assert!(matches!(
            c.request([0; 6], PckCa::Platform).finish(Vec::new()),
            Err(Error::Misuse(_))
        ));
    }

    /// The HTTPS transport speaks plain HTTP too, so it is tested against a
    /// local server (no network here).
    #[cfg(feature = "pcs-https")]
    #[test]
    fn https_transport_returns_status_headers_and_body() {
        let srv = Server::start();
        srv.replies(
            "/tdx/certification/v4/tcb",
            vec![
                Reply::Response(
                    Response::new(200, b"{}".to_vec()).with_header("TCB-Info-Issuer-Chain", "abc"),
                ),
                Reply::Response(Response::new(404, Vec::new())),
            ],
        );
        let t = Https::default();
        let url = Request::get(srv.url("/tdx/certification/v4/tcb"));
        let r = t.get(&url).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        assert_eq!(r.header("tcb-info-issuer-chain"), Some("abc"));
        assert_eq!(t.get(&url).unwrap().status, 404);
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(matches!(
            t.get(&Request::get(format!("https://127.0.0.1:{closed}/")))
                .map_err(Error::from),
            Err(Error::Device(_))
        ));
    }
}
