//! Test doubles that behave like the kernel and like Intel's PKI.
//! **NO SECURITY**: every key here is derived from a public label.
//!
//! - [`TestPki`]: a private "Intel" PKI: a root CA, a PCK Platform CA, a
//!   PCK leaf with the SGX extensions, an attestation key and a QE, so
//!   quotes can be produced and verified end to end with a verifier made by
//!   [`crate::danger::verifier_with_test_root`].
//! - [`FakeKernel`]: `/dev/tdx_guest` ([`crate::guest::TdxGuestDevice`]) in
//!   memory, with configfs-tsm and tsm-mr ([`crate::guest::KernelFs`]) from
//!   the one fake kernel filesystem of `tee_linux::testing` (provider
//!   `tdx_guest`, outblob = a quote signed by the test PKI), with `EBUSY`,
//!   concurrent writers, I/O errors and non-DCAP outblobs on request.
#![allow(clippy::missing_errors_doc)]

#[cfg(any(test, feature = "pcs"))]
pub mod pccs;
pub mod seams;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use der::asn1::ObjectIdentifier as Oid;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256, Sha384};
use tee_core::{DeviceErrorKind, Error, Result};
use tee_linux::testing::{FakeKernelFs, FaultOn, extend_sha384};

use crate::guest::{GuestConfig, KernelFs, TdxGuestDevice};
use crate::quote::INTEL_QE_VENDOR_ID;
use crate::tdreport::TDREPORT_LEN;

// ---------------------------------------------------------------- DER ----

// The one test DER writer (tee-testpki).
use tee_testpki::der::{bits, int, octets, oid_of as oid, seq_of as seq, tlv, utc_text as utc};

fn name(cn: &str) -> Vec<u8> {
    tee_testpki::der::name(&[
        ("2.5.4.3", cn),
        ("2.5.4.10", "Intel Corporation (TEST, NO SECURITY)"),
    ])
}

const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const EC_PUBKEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
const CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
const SGX_EXT: &str = "1.2.840.113741.1.13.1";

fn sgx_oid(suffix: &str) -> Vec<u8> {
    match Oid::new(&format!("{SGX_EXT}{suffix}")) {
        Ok(o) => oid(&o),
        Err(_) => Vec::new(),
    }
}

pub(crate) fn key(label: &str) -> SigningKey {
    let mut ctr = 0u32;
    loop {
        let mut h = Sha256::new();
        h.update(b"tee-tdx testing key (NO SECURITY) ");
        h.update(label.as_bytes());
        h.update(ctr.to_le_bytes());
        if let Ok(k) = SigningKey::from_slice(&h.finalize()) {
            return k;
        }
        ctr += 1;
    }
}

fn spki(k: &SigningKey) -> Vec<u8> {
    let pt = k.verifying_key().to_sec1_point(false);
    seq(&[seq(&[oid(&EC_PUBKEY), oid(&P256)]), bits(pt.as_bytes())])
}

/// Raw `x || y` of a key.
fn raw_pub(k: &SigningKey) -> [u8; 64] {
    let pt = k.verifying_key().to_sec1_point(false);
    let mut out = [0u8; 64];
    if let Some(xy) = pt.as_bytes().get(1..65) {
        out.copy_from_slice(xy);
    }
    out
}

fn sign_der(k: &SigningKey, msg: &[u8]) -> Vec<u8> {
    let s: Signature = k.sign(msg);
    s.to_der().as_bytes().to_vec()
}

fn sign_raw(k: &SigningKey, msg: &[u8]) -> [u8; 64] {
    let s: Signature = k.sign(msg);
    let mut out = [0u8; 64];
    out.copy_from_slice(&s.to_bytes());
    out
}

pub(crate) fn cert(
    serial: u64,
    issuer: &str,
    subject: &str,
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
    exts: Vec<Vec<u8>>,
) -> Vec<u8> {
    let alg = seq(&[oid(&ECDSA_SHA256)]);
    let tbs = seq(&[
        tlv(0xa0, &int(2)),
        int(serial),
        alg.clone(),
        name(issuer),
        seq(&[utc("200101000000Z"), utc("491231235959Z")]),
        name(subject),
        spki(subject_key),
        tlv(0xa3, &seq(&exts)),
    ]);
    let sig = sign_der(issuer_key, &tbs);
    seq(&[tbs, alg, bits(&sig)])
}

fn ca_exts() -> Vec<Vec<u8>> {
    vec![
        seq(&[
            oid(&BASIC_CONSTRAINTS),
            tlv(0x01, &[0xff]),
            octets(&seq(&[tlv(0x01, &[0xff])])),
        ]),
        seq(&[
            oid(&KEY_USAGE),
            tlv(0x01, &[0xff]),
            octets(&tlv(0x03, &[0x01, 0x06])),
        ]),
    ]
}

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap_or_default()
}

/// The platform values the test PCK certifies.
#[derive(Debug, Clone)]
pub struct TestPlatform {
    /// FMSPC.
    pub fmspc: [u8; 6],
    /// CPUSVN (= SGX TCB components).
    pub cpu_svn: [u8; 16],
    /// PCESVN.
    pub pce_svn: u16,
    /// PCEID (the PCK's PCE-ID extension; Intel's PCE is `0000`).
    pub pce_id: [u8; 2],
}

impl Default for TestPlatform {
    fn default() -> Self {
        Self {
            fmspc: [0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00],
            cpu_svn: [3; 16],
            pce_svn: 11,
            pce_id: [0, 0],
        }
    }
}

/// A private Intel-like PKI. NO SECURITY.
#[derive(Debug, Clone)]
pub struct TestPki {
    root_key: SigningKey,
    pck_ca_key: SigningKey,
    pck_key: SigningKey,
    att_key: SigningKey,
    /// Root CA certificate (DER).
    pub root_der: Vec<u8>,
    /// PCK Platform CA certificate (DER).
    pub pck_ca_der: Vec<u8>,
    /// PCK leaf certificate (DER).
    pub pck_der: Vec<u8>,
    /// Platform values in the PCK.
    pub platform: TestPlatform,
    /// QE MRSIGNER of the QE reports in quotes (default: Intel's TD QE
    /// signer, [`crate::INTEL_TD_QE_MRSIGNER`]).
    pub qe_mr_signer: [u8; 32],
    /// What the collateral's QE identity says (`id`, `version`,
    /// `mrsigner`; default `TD_QE`, 2, Intel's TD QE signer).
    pub qe_identity: (String, u8, [u8; 32]),
    /// The TCB info's `pceId` (default `0000`).
    pub tcb_info_pce_id: String,
    /// `tcbEvaluationDataNumber` of the TCB info and of the QE identity
    /// (default 17 and 17).
    pub tcb_evaluation_data_numbers: (u32, u32),
}

/// Root CA subject.
pub const TEST_ROOT_CN: &str = "Intel SGX Root CA (TEST)";
/// PCK CA subject.
pub const TEST_PCK_CA_CN: &str = "Intel SGX PCK Platform CA (TEST)";

impl Default for TestPki {
    fn default() -> Self {
        Self::new(TestPlatform::default())
    }
}

impl TestPki {
    /// A PKI whose PCK certifies `platform`.
    pub fn new(platform: TestPlatform) -> Self {
        let root_key = key("root");
        let pck_ca_key = key("pck-ca");
        let pck_key = key("pck");
        let att_key = key("attestation");
        let root_der = cert(
            1,
            TEST_ROOT_CN,
            TEST_ROOT_CN,
            &root_key,
            &root_key,
            ca_exts(),
        );
        let pck_ca_der = cert(
            2,
            TEST_ROOT_CN,
            TEST_PCK_CA_CN,
            &pck_ca_key,
            &root_key,
            ca_exts(),
        );
        let mut tcb = Vec::new();
        for (i, svn) in platform.cpu_svn.iter().enumerate() {
            tcb.push(seq(&[
                sgx_oid(&format!(".2.{}", i + 1)),
                int(u64::from(*svn)),
            ]));
        }
        tcb.push(seq(&[sgx_oid(".2.17"), int(u64::from(platform.pce_svn))]));
        tcb.push(seq(&[sgx_oid(".2.18"), octets(&platform.cpu_svn)]));
        let sgx = seq(&[
            seq(&[sgx_oid(".1"), octets(&[0x11; 16])]),
            seq(&[sgx_oid(".2"), seq(&tcb)]),
            seq(&[sgx_oid(".3"), octets(&platform.pce_id)]),
            seq(&[sgx_oid(".4"), octets(&platform.fmspc)]),
            seq(&[sgx_oid(".5"), tlv(0x0a, &[0])]),
        ]);
        let leaf_exts = vec![
            seq(&[oid(&BASIC_CONSTRAINTS), octets(&seq(&[]))]),
            seq(&[
                oid(&KEY_USAGE),
                tlv(0x01, &[0xff]),
                octets(&tlv(0x03, &[0x06, 0xc0])),
            ]),
            seq(&[sgx_oid(""), octets(&sgx)]),
        ];
        let pck_der = cert(
            3,
            TEST_PCK_CA_CN,
            "Intel SGX PCK Certificate (TEST)",
            &pck_key,
            &pck_ca_key,
            leaf_exts,
        );
        Self {
            root_key,
            pck_ca_key,
            pck_key,
            att_key,
            root_der,
            pck_ca_der,
            pck_der,
            platform,
            qe_mr_signer: crate::INTEL_TD_QE_MRSIGNER,
            qe_identity: ("TD_QE".into(), 2, crate::INTEL_TD_QE_MRSIGNER),
            tcb_info_pce_id: "0000".into(),
            tcb_evaluation_data_numbers: (17, 17),
        }
    }

    /// The same PKI whose QE reports carry this MRSIGNER (a rogue "QE"
    /// certified by the PCE). The collateral's QE identity is unchanged.
    #[must_use]
    pub fn with_qe_mr_signer(mut self, mr_signer: [u8; 32]) -> Self {
        self.qe_mr_signer = mr_signer;
        self
    }

    /// The same PKI and platform with another attestation key (a QE that
    /// generated a new key), derived from `label`.
    #[must_use]
    pub fn with_attestation_key(mut self, label: &str) -> Self {
        self.att_key = key(label);
        self
    }

    /// The PEM chain embedded in quotes: PCK, PCK CA, root.
    pub fn pck_chain_pem(&self) -> String {
        format!(
            "{}{}{}",
            pem(&self.pck_der),
            pem(&self.pck_ca_der),
            pem(&self.root_der)
        )
    }

    /// Build a signed quote over a TD report body (584 or 648 bytes).
    /// `version` 4 (TD 1.0 body) or 5 (`body_type` 2 or 3).
    pub fn quote(&self, version: u16, body_type: u16, body: &[u8]) -> Vec<u8> {
        self.quote_with_qe_attributes(version, body_type, body, 0x11)
    }

    /// As [`TestPki::quote`] with the QE report's first ATTRIBUTES byte
    /// (`0x13` = a debug-mode QE).
    pub fn quote_with_qe_attributes(
        &self,
        version: u16,
        body_type: u16,
        body: &[u8],
        qe_attr0: u8,
    ) -> Vec<u8> {
        let mut q = Vec::new();
        q.extend_from_slice(&version.to_le_bytes());
        q.extend_from_slice(&2u16.to_le_bytes());
        q.extend_from_slice(&0x81u32.to_le_bytes());
        q.extend_from_slice(&0u16.to_le_bytes());
        q.extend_from_slice(&self.platform.pce_svn.to_le_bytes());
        q.extend_from_slice(&INTEL_QE_VENDOR_ID);
        q.extend_from_slice(&[0u8; 20]);
        if version == 5 {
            q.extend_from_slice(&body_type.to_le_bytes());
            q.extend_from_slice(&(body.len() as u32).to_le_bytes());
        }
        q.extend_from_slice(body);
        let sig = sign_raw(&self.att_key, &q);
        let att = raw_pub(&self.att_key);
        let auth: Vec<u8> = (0u8..32).collect();
        let mut qe = [0u8; 384];
        qe[..16].copy_from_slice(&self.platform.cpu_svn);
        qe[48] = qe_attr0; // 0x11 = INIT | MODE64BIT
        qe[64..96].copy_from_slice(&Sha256::digest(b"test QE enclave"));
        qe[128..160].copy_from_slice(&self.qe_mr_signer);
        qe[256..258].copy_from_slice(&2u16.to_le_bytes()); // TD QE ISVPRODID
        qe[258..260].copy_from_slice(&4u16.to_le_bytes()); // ISVSVN
        let mut h = Sha256::new();
        h.update(att);
        h.update(&auth);
        qe[320..352].copy_from_slice(&h.finalize());
        let qe_sig = sign_raw(&self.pck_key, &qe);
        let mut chain = self.pck_chain_pem().into_bytes();
        chain.push(0);
        let mut cert6 = Vec::new();
        cert6.extend_from_slice(&qe);
        cert6.extend_from_slice(&qe_sig);
        cert6.extend_from_slice(&(auth.len() as u16).to_le_bytes());
        cert6.extend_from_slice(&auth);
        cert6.extend_from_slice(&5u16.to_le_bytes());
        cert6.extend_from_slice(&(chain.len() as u32).to_le_bytes());
        cert6.extend_from_slice(&chain);
        let mut sd = Vec::new();
        sd.extend_from_slice(&sig);
        sd.extend_from_slice(&att);
        sd.extend_from_slice(&6u16.to_le_bytes());
        sd.extend_from_slice(&(cert6.len() as u32).to_le_bytes());
        sd.extend_from_slice(&cert6);
        q.extend_from_slice(&(sd.len() as u32).to_le_bytes());
        q.extend_from_slice(&sd);
        q
    }

    /// Sign arbitrary bytes with the TCB signing key stand-in (the root key
    /// signs a "TCB Signing" cert in [`TestPki::collateral`]).
    fn tcb_signing(&self) -> (SigningKey, Vec<u8>) {
        let k = key("tcb-signing");
        let c = cert(
            4,
            TEST_ROOT_CN,
            "Intel SGX TCB Signing (TEST)",
            &k,
            &self.root_key,
            vec![
                seq(&[oid(&BASIC_CONSTRAINTS), octets(&seq(&[]))]),
                seq(&[
                    oid(&KEY_USAGE),
                    tlv(0x01, &[0xff]),
                    octets(&tlv(0x03, &[0x06, 0xc0])),
                ]),
            ],
        );
        (k, c)
    }

    fn crl(
        &self,
        issuer: &str,
        k: &SigningKey,
        this_update: &str,
        next_update: &str,
        revoked: &[u64],
    ) -> Vec<u8> {
        let alg = seq(&[oid(&ECDSA_SHA256)]);
        let crl_number = seq(&[oid(&CRL_NUMBER), octets(&int(1))]);
        let mut parts = vec![
            int(1),
            alg.clone(),
            name(issuer),
            utc(this_update),
            utc(next_update),
        ];
        if !revoked.is_empty() {
            let entries: Vec<Vec<u8>> = revoked
                .iter()
                .map(|s| seq(&[int(*s), utc(this_update)]))
                .collect();
            parts.push(seq(&entries));
        }
        parts.push(tlv(0xa0, &seq(&[crl_number])));
        let tbs = seq(&parts);
        let sig = sign_der(k, &tbs);
        seq(&[tbs, alg, bits(&sig)])
    }

    /// `QuoteCollateralV3` JSON for this platform: TCB info (TDX v3) with one
    /// level whose status is `status` (components at the platform's
    /// values), QE identity, CRLs, all signed by the test PKI and valid from
    /// `issue` to `next_update` (RFC 3339, UTC, years 2000–2049).
    pub fn collateral_json(
        &self,
        status: &str,
        tee_tcb_svn: &[u8; 16],
        issue: &str,
        next_update: &str,
    ) -> Vec<u8> {
        self.collateral_json_revoking(status, tee_tcb_svn, issue, next_update, false)
    }

    /// As [`TestPki::collateral_json`]; with `revoke_pck` the PCK CRL lists
    /// the PCK certificate.
    pub fn collateral_json_revoking(
        &self,
        status: &str,
        tee_tcb_svn: &[u8; 16],
        issue: &str,
        next_update: &str,
        revoke_pck: bool,
    ) -> Vec<u8> {
        let comps = |v: &[u8]| {
            v.iter()
                .map(|s| format!("{{\"svn\":{s}}}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let tdx = *tee_tcb_svn;
        let tcb_info = format!(
            "{{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"{issue}\",\"nextUpdate\":\"{next_update}\",\"fmspc\":\"{}\",\
             \"pceId\":\"{pce_id}\",\"tcbType\":0,\"tcbEvaluationDataNumber\":{eval},\
             \"tdxModule\":{{\"mrsigner\":\"{}\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}},\
             \"tdxModuleIdentities\":[{{\"id\":\"TDX_{:02X}\",\"mrsigner\":\"{}\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\
             \"tcbLevels\":[{{\"tcb\":{{\"isvsvn\":{}}},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}}]}}],\
             \"tcbLevels\":[{{\"tcb\":{{\"sgxtcbcomponents\":[{}],\"pcesvn\":{},\"tdxtcbcomponents\":[{}]}},\
             \"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"{status}\"{}}}]}}",
            hex::encode_upper(self.platform.fmspc),
            "0".repeat(96),
            tee_tcb_svn[1],
            "0".repeat(96),
            tee_tcb_svn[0],
            comps(&self.platform.cpu_svn),
            self.platform.pce_svn,
            comps(&tdx),
            if status == "UpToDate" {
                String::new()
            } else {
                ",\"advisoryIDs\":[\"INTEL-SA-00000\"]".into()
            },
            pce_id = self.tcb_info_pce_id,
            eval = self.tcb_evaluation_data_numbers.0,
        );
        self.sign_collateral(&tcb_info, issue, next_update, revoke_pck)
    }

    /// Collateral whose TCB info has these platform levels (TDX components
    /// and status, in this JSON order) and TDX module levels (module ISVSVN
    /// and status) for module version `module_version`. A level that is not
    /// `UpToDate` carries the advisory `INTEL-SA-1000<n>` (`n` its index;
    /// module levels `INTEL-SA-2000<n>`). Every level is dated 2024-03-13.
    pub fn collateral_json_levels(
        &self,
        module_version: u8,
        module_levels: &[(u8, &str)],
        levels: &[([u8; 16], &str)],
        issue: &str,
        next_update: &str,
    ) -> Vec<u8> {
        const DATE: &str = "2024-03-13T00:00:00Z";
        let module: Vec<(u8, &str, &str)> = module_levels
            .iter()
            .map(|(v, st)| (*v, *st, DATE))
            .collect();
        let levels: Vec<([u8; 16], &str, &str)> =
            levels.iter().map(|(t, st)| (*t, *st, DATE)).collect();
        self.collateral_json_dated_levels(module_version, &module, &levels, issue, next_update)
    }

    /// As [`TestPki::collateral_json_levels`], each level with its
    /// `tcbDate` (RFC 3339): module levels `(isvsvn, status, date)`,
    /// platform levels `(tdx components, status, date)`.
    pub fn collateral_json_dated_levels(
        &self,
        module_version: u8,
        module_levels: &[(u8, &str, &str)],
        levels: &[([u8; 16], &str, &str)],
        issue: &str,
        next_update: &str,
    ) -> Vec<u8> {
        let comps = |v: &[u8]| {
            v.iter()
                .map(|s| format!("{{\"svn\":{s}}}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let adv = |prefix: u32, i: usize, st: &str| {
            if st == "UpToDate" {
                String::new()
            } else {
                format!(",\"advisoryIDs\":[\"INTEL-SA-{prefix}000{i}\"]")
            }
        };
        let module: Vec<String> = module_levels
            .iter()
            .enumerate()
            .map(|(i, (isvsvn, st, date))| {
                format!(
                    "{{\"tcb\":{{\"isvsvn\":{isvsvn}}},\"tcbDate\":\"{date}\",\"tcbStatus\":\"{st}\"{}}}",
                    adv(2, i, st)
                )
            })
            .collect();
        let platform: Vec<String> = levels
            .iter()
            .enumerate()
            .map(|(i, (tdx, st, date))| {
                format!(
                    "{{\"tcb\":{{\"sgxtcbcomponents\":[{}],\"pcesvn\":{},\"tdxtcbcomponents\":[{}]}},\"tcbDate\":\"{date}\",\"tcbStatus\":\"{st}\"{}}}",
                    comps(&self.platform.cpu_svn),
                    self.platform.pce_svn,
                    comps(tdx),
                    adv(1, i, st)
                )
            })
            .collect();
        let tcb_info = format!(
            "{{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"{issue}\",\"nextUpdate\":\"{next_update}\",\"fmspc\":\"{}\",\
             \"pceId\":\"{pce_id}\",\"tcbType\":0,\"tcbEvaluationDataNumber\":{eval},\
             \"tdxModule\":{{\"mrsigner\":\"{}\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}},\
             \"tdxModuleIdentities\":[{{\"id\":\"TDX_{module_version:02X}\",\"mrsigner\":\"{}\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\
             \"tcbLevels\":[{}]}}],\"tcbLevels\":[{}]}}",
            hex::encode_upper(self.platform.fmspc),
            "0".repeat(96),
            "0".repeat(96),
            module.join(","),
            platform.join(","),
            pce_id = self.tcb_info_pce_id,
            eval = self.tcb_evaluation_data_numbers.0,
        );
        self.sign_collateral(&tcb_info, issue, next_update, false)
    }

    fn sign_collateral(
        &self,
        tcb_info: &str,
        issue: &str,
        next_update: &str,
        revoke_pck: bool,
    ) -> Vec<u8> {
        let (tk, tcert) = self.tcb_signing();
        let qe_identity = format!(
            "{{\"id\":\"{}\",\"version\":{},\"issueDate\":\"{issue}\",\"nextUpdate\":\"{next_update}\",\"tcbEvaluationDataNumber\":{},\
             \"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\",\
             \"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"{}\",\"isvprodid\":2,\
             \"tcbLevels\":[{{\"tcb\":{{\"isvsvn\":4}},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}}]}}",
            self.qe_identity.0,
            self.qe_identity.1,
            self.tcb_evaluation_data_numbers.1,
            hex::encode_upper(self.qe_identity.2)
        );
        let short = |s: &str| -> String {
            // 2025-06-19T10:16:03Z -> 250619101603Z
            let d: String = s.chars().filter(char::is_ascii_digit).collect();
            format!("{}Z", d.get(2..14).unwrap_or_default())
        };
        let chain = format!("{}{}", pem(&tcert), pem(&self.root_der));
        let j = serde_json::json!({
            "pck_crl_issuer_chain": format!("{}{}", pem(&self.pck_ca_der), pem(&self.root_der)),
            "root_ca_crl": hex::encode(self.crl(TEST_ROOT_CN, &self.root_key, &short(issue), &short(next_update), &[])),
            "pck_crl": hex::encode(self.crl(TEST_PCK_CA_CN, &self.pck_ca_key, &short(issue), &short(next_update), if revoke_pck { &[3] } else { &[] })),
            "tcb_info_issuer_chain": chain,
            "tcb_info": tcb_info,
            "tcb_info_signature": hex::encode(sign_raw(&tk, tcb_info.as_bytes())),
            "qe_identity_issuer_chain": chain,
            "qe_identity": qe_identity,
            "qe_identity_signature": hex::encode(sign_raw(&tk, qe_identity.as_bytes())),
        });
        serde_json::to_vec_pretty(&j).unwrap_or_default()
    }
}

// ------------------------------------------------------------ kernel ----

/// The TD the fake kernel runs.
#[derive(Debug, Clone)]
pub struct FakeTd {
    /// MRTD.
    pub mr_td: [u8; 48],
    /// MRCONFIGID.
    pub mr_config_id: [u8; 48],
    /// MROWNER.
    pub mr_owner: [u8; 48],
    /// TD attributes.
    pub td_attributes: u64,
    /// XFAM.
    pub xfam: u64,
    /// TEE_TCB_SVN.
    pub tee_tcb_svn: [u8; 16],
    /// RTMR0..3.
    pub rtmr: [[u8; 48]; 4],
    /// Quote version produced (4, or 5 with a TD 1.5 body).
    pub quote_version: u16,
}

impl Default for FakeTd {
    fn default() -> Self {
        let mut svn = [0u8; 16];
        svn[..3].copy_from_slice(&[6, 1, 3]);
        Self {
            mr_td: [0x7d; 48],
            mr_config_id: [0xc0; 48],
            mr_owner: [0; 48],
            td_attributes: 1 << 28, // SEPT_VE_DISABLE
            xfam: 0x61ae7,
            tee_tcb_svn: svn,
            rtmr: [[0x01; 48], [0x02; 48], [0; 48], [0; 48]],
            quote_version: 4,
        }
    }
}

/// An in-memory TDX guest kernel: `/dev/tdx_guest` here, configfs-tsm and
/// the tsm-mr registers in the one fake kernel filesystem of
/// `tee_linux::testing` ([`FakeKernel::fs`]). NO SECURITY.
#[derive(Debug, Clone)]
pub struct FakeKernel {
    pki: Arc<TestPki>,
    td: Arc<Mutex<FakeTd>>,
    fs: FakeKernelFs,
}

/// Virtual configfs-tsm root of the fake.
pub const FAKE_TSM_ROOT: &str = "/fake/sys/kernel/config/tsm/report";
/// Virtual tsm-mr directory of the fake.
pub const FAKE_MR_DIR: &str = "/fake/sys/devices/virtual/misc/tdx_guest/measurements";

fn rtmr_path(i: usize) -> PathBuf {
    Path::new(FAKE_MR_DIR).join(format!("rtmr{i}:sha384"))
}

/// The TD with its RTMRs as the fake's registers hold them now.
fn current_td(td: &Mutex<FakeTd>, fs: &FakeKernelFs) -> Option<FakeTd> {
    let mut td = td.lock().ok()?.clone();
    for (i, r) in td.rtmr.iter_mut().enumerate() {
        if let Some(v) = fs.register(&rtmr_path(i))
            && let Ok(v) = <[u8; 48]>::try_from(v.as_slice())
        {
            *r = v;
        }
    }
    Some(td)
}

impl FakeKernel {
    /// A fake TD signed by `pki`.
    pub fn new(pki: TestPki, td: FakeTd) -> Self {
        let pki = Arc::new(pki);
        let fs = FakeKernelFs::new(FAKE_TSM_ROOT, "tdx_guest", |_| {
            Err(std::io::Error::from_raw_os_error(libc::EIO))
        });
        for (i, r) in td.rtmr.iter().enumerate() {
            fs.add_register(rtmr_path(i), r.to_vec(), extend_sha384);
        }
        let td = Arc::new(Mutex::new(td));
        let (weak, p, t) = (fs.downgrade(), pki.clone(), td.clone());
        fs.set_outblob_fn(move |r| {
            let td = weak
                .upgrade()
                .and_then(|fs| current_td(&t, &fs))
                .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EIO))?;
            Ok(Self::quote_for(&p, &td, r.inblob))
        });
        Self { pki, td, fs }
    }

    /// The fake kernel filesystem (configfs-tsm, tsm-mr), for fault
    /// injection beyond the shortcuts below.
    pub fn fs(&self) -> FakeKernelFs {
        self.fs.clone()
    }

    fn td(&self) -> FakeTd {
        current_td(&self.td, &self.fs).unwrap_or_default()
    }

    /// The next `n` reads of `outblob` fail with `EBUSY` (replaces an
    /// earlier count).
    pub fn inject_busy(&self, n: u32) {
        let on = FaultOn::Read("outblob".into());
        self.fs.clear_faults_on(&on);
        self.fs.inject(on, libc::EBUSY, n);
    }

    /// Another process writes `inblob` between our write and read.
    pub fn inject_concurrent_writer(&self, on: bool) {
        self.fs
            .inject_concurrent_writer(if on { u32::MAX } else { 0 });
    }

    /// `outblob` returns these bytes (e.g. a CWT).
    pub fn override_outblob(&self, blob: Option<Vec<u8>>) {
        self.fs.set_outblob_override(blob);
    }

    /// Remove the tsm-mr files (a kernel before 6.16) or configfs-tsm.
    pub fn set_interfaces(&self, tsm_mr: bool, configfs: bool) {
        self.fs.set_registers_present(tsm_mr);
        self.fs.set_tsm_present(configfs);
    }

    /// Extend an RTMR behind the SDK's back (as another process would).
    pub fn extend_raw(&self, idx: usize, digest: &[u8; 48]) {
        self.fs.extend_register(&rtmr_path(idx), digest);
    }

    /// Current number of report directories (to check `rmdir` on drop).
    pub fn open_reports(&self) -> usize {
        self.fs.open_reports()
    }

    /// A backend configuration over this fake, logging to `event_log`.
    pub fn config(&self, event_log: PathBuf) -> GuestConfig {
        GuestConfig {
            device: Arc::new(self.clone()),
            fs: Arc::new(self.fs.clone()),
            tsm_report_root: FAKE_TSM_ROOT.into(),
            measurements_dir: FAKE_MR_DIR.into(),
            event_log,
            ccel_data: None,
            busy_retries: 4,
            backoff: Duration::from_millis(1),
        }
    }

    /// The TD report body (1.0, or 1.5 for quote version 5).
    fn body(td: &FakeTd, report_data: &[u8; 64]) -> Vec<u8> {
        let mut b = vec![0u8; if td.quote_version == 5 { 648 } else { 584 }];
        b[0..16].copy_from_slice(&td.tee_tcb_svn);
        b[16..64].copy_from_slice(&Sha384::digest(b"test TDX module"));
        b[120..128].copy_from_slice(&td.td_attributes.to_le_bytes());
        b[128..136].copy_from_slice(&td.xfam.to_le_bytes());
        b[136..184].copy_from_slice(&td.mr_td);
        b[184..232].copy_from_slice(&td.mr_config_id);
        b[232..280].copy_from_slice(&td.mr_owner);
        for (i, r) in td.rtmr.iter().enumerate() {
            b[328 + 48 * i..376 + 48 * i].copy_from_slice(r);
        }
        b[520..584].copy_from_slice(report_data);
        if td.quote_version == 5 {
            b[584..600].copy_from_slice(&td.tee_tcb_svn);
        }
        b
    }

    fn quote_for(pki: &TestPki, td: &FakeTd, report_data: &[u8; 64]) -> Vec<u8> {
        let body = Self::body(td, report_data);
        let bt = if td.quote_version == 5 { 3 } else { 2 };
        pki.quote(td.quote_version, bt, &body)
    }

    /// A quote as the fake's configfs-tsm would return it.
    pub fn make_quote(&self, report_data: &[u8; 64]) -> Vec<u8> {
        Self::quote_for(&self.pki, &self.td(), report_data)
    }

    fn tdreport(td: &FakeTd, report_data: &[u8; 64]) -> [u8; TDREPORT_LEN] {
        let mut r = [0u8; TDREPORT_LEN];
        r[0..4].copy_from_slice(&[0x81, 0, 1, 0]);
        r[16..32].copy_from_slice(&[3; 16]);
        r[128..192].copy_from_slice(report_data);
        r[256..264].copy_from_slice(&[0xff, 1, 3, 0, 0, 0, 0, 0]);
        r[264..280].copy_from_slice(&td.tee_tcb_svn);
        r[512..520].copy_from_slice(&td.td_attributes.to_le_bytes());
        r[520..528].copy_from_slice(&td.xfam.to_le_bytes());
        r[528..576].copy_from_slice(&td.mr_td);
        r[576..624].copy_from_slice(&td.mr_config_id);
        r[624..672].copy_from_slice(&td.mr_owner);
        for (i, m) in td.rtmr.iter().enumerate() {
            r[720 + 48 * i..768 + 48 * i].copy_from_slice(m);
        }
        let h1: [u8; 48] = Sha384::digest(&r[256..495]).into();
        let h2: [u8; 48] = Sha384::digest(&r[512..1024]).into();
        r[32..80].copy_from_slice(&h1);
        r[80..128].copy_from_slice(&h2);
        r
    }
}

impl TdxGuestDevice for FakeKernel {
    fn get_report0(&self, report_data: &[u8; 64]) -> Result<[u8; TDREPORT_LEN]> {
        let td = current_td(&self.td, &self.fs)
            .ok_or_else(|| Error::device(DeviceErrorKind::Io, "fake /dev/tdx_guest", "poisoned"))?;
        Ok(Self::tdreport(&td, report_data))
    }
}

/// The fake kernel filesystem's operations (so a `FakeKernel` serves as a
/// [`KernelFs`] directly).
impl KernelFs for FakeKernel {
    fn mkdir(&self, p: &Path) -> std::io::Result<()> {
        self.fs.mkdir(p)
    }
    fn rmdir(&self, p: &Path) -> std::io::Result<()> {
        self.fs.rmdir(p)
    }
    fn read(&self, p: &Path) -> std::io::Result<Vec<u8>> {
        self.fs.read(p)
    }
    fn write(&self, p: &Path, data: &[u8]) -> std::io::Result<()> {
        self.fs.write(p, data)
    }
    fn exists(&self, p: &Path) -> bool {
        self.fs.exists(p)
    }
}
