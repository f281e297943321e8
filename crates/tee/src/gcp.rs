//! GCP: the Compute Engine vTPM's attestation-key (AK) certificate as
//! optional additional evidence.
//!
//! A GCE Shielded/Confidential VM's vTPM holds an AK certificate in NV
//! (RSA AK at `0x01c10000`, ECC AK at `0x01c10002`), issued by Google's
//! "EK/AK CA Intermediate" under "EK/AK CA Root" (older VMs: the legacy
//! `tpm_ek_root_1` chain). It names the instance: an extension
//! (`1.3.6.1.4.1.11129.2.1.21`) with zone, project number and id, instance
//! id and name, and the security properties.
//!
//! [`verify_ak_certificate`] checks the chain from the AK certificate
//! through the given intermediates to a **caller-given root** (this crate
//! pins no Google root: fetch it yourself, e.g. from `pki.goog`, and pass
//! it), at an explicit time, and returns the AK public key and the instance
//! identity ([`GceAkClaims`]). It does no I/O.
//!
//! What it does **not** do: the GCE vTPM is emulated by the host ("still
//! requires trust in the hypervisor"); the AK certificate says which
//! instance's vTPM the key is, not that the key belongs to the TEE that
//! produced an SNP report or TD quote. To make the vTPM count for the TEE,
//! bind the AK into REPORT_DATA and check that binding: the SDK's rule is
//! [`ak_report_data`] (`ReportData::bind(nonce, SHA-512(AK SPKI DER))`,
//! the SHA-512 of the SPKI as Constellation uses it), checked by
//! [`GceAkClaims::binds`] and by `teectl verify --gce-ak-cert`; see
//! `docs/cloud.md`.

use der::{Decode, Encode};
use serde::Serialize;
use sha2::Digest;
use tee_core::{Authenticity, Error, ReportData, Result, UnixTime};
use x509_cert::Certificate;

/// The instance-identity extension of GCE AK/EK certificates.
pub const OID_GCE_INSTANCE_INFO: &str = "1.3.6.1.4.1.11129.2.1.21";

/// Largest certificate file accepted (a chain in PEM).
pub const MAX_CERT_FILE: usize = 64 << 10;
/// Longest chain walked (AK, intermediates, root).
const MAX_CHAIN: usize = 6;

/// The instance a GCE AK certificate names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GceInstanceInfo {
    /// Zone, e.g. `us-central1-a`.
    pub zone: String,
    /// Project number.
    pub project_number: u64,
    /// Project id.
    pub project_id: String,
    /// Instance id.
    pub instance_id: u64,
    /// Instance name.
    pub instance_name: String,
    /// `securityProperties.securityVersion`, when present.
    pub security_version: Option<u64>,
    /// `securityProperties.isProduction`, when present.
    pub is_production: Option<bool>,
}

/// What a verified GCE AK certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GceAkClaims {
    /// The AK public key: DER `SubjectPublicKeyInfo`, hex.
    pub ak_public_key: String,
    /// SHA-512 of that DER `SubjectPublicKeyInfo`, hex: the user data of
    /// the SDK's binding ([`ak_report_data`]).
    pub ak_public_key_sha512: String,
    /// `rsa`, `ecdsa-p256` or `ecdsa-p384`.
    pub ak_key_algorithm: &'static str,
    /// The AK certificate's serial number, hex.
    pub serial: String,
    /// Subjects from the AK certificate's issuer up to the root.
    pub chain: Vec<String>,
    /// The AK certificate's validity (Unix seconds).
    pub not_before: u64,
    /// End of validity (Unix seconds).
    pub not_after: u64,
    /// The instance identity, when the extension is present.
    pub instance: Option<GceInstanceInfo>,
    /// Always "hypervisor": the GCE vTPM is host-emulated; the AK is not
    /// bound to the TEE unless the caller binds it (see the module docs).
    pub vtpm_trust: &'static str,
    #[serde(skip)]
    ak_spki: Vec<u8>,
}

/// The report data that binds a GCE vTPM AK to TEE evidence for `nonce`:
/// `ReportData::bind(nonce, SHA-512(DER SubjectPublicKeyInfo of the AK))`.
/// An attester on GCE passes the 64 bytes of SHA-512 as user data (e.g.
/// `teectl report --nonce N --user-data FILE`, FILE holding
/// `ak_public_key_sha512` as bytes).
pub fn ak_report_data(nonce: &[u8], ak_spki_der: &[u8]) -> ReportData {
    ReportData::bind(nonce, &sha2::Sha512::digest(ak_spki_der))
}

impl GceAkClaims {
    /// The AK's DER `SubjectPublicKeyInfo`.
    pub fn ak_spki_der(&self) -> &[u8] {
        &self.ak_spki
    }

    /// [`ak_report_data`] of this AK for `nonce`.
    pub fn bound_report_data(&self, nonce: &[u8]) -> ReportData {
        ak_report_data(nonce, &self.ak_spki)
    }

    /// Whether `report_data` (of TEE evidence already verified) binds this
    /// AK and `nonce` by [`ak_report_data`]. `false` says the evidence does
    /// not bind this AK **or** was made for another nonce: the two are
    /// hashed together and cannot be told apart.
    pub fn binds(&self, report_data: &ReportData, nonce: &[u8]) -> bool {
        self.bound_report_data(nonce) == *report_data
    }
}

/// Decode certificates from PEM (one or more) or DER (one).
///
/// # Errors
/// [`Error::Malformed`] for invalid input or more than [`MAX_CERT_FILE`] bytes.
pub fn decode_certificates(bytes: &[u8]) -> Result<Vec<Certificate>> {
    const W: &str = "GCE certificate";
    if bytes.len() > MAX_CERT_FILE {
        return Err(Error::bad_field(
            W,
            "length",
            format_args!("{} bytes, at most {MAX_CERT_FILE}", bytes.len()),
        ));
    }
    let start = bytes.iter().take_while(|c| c.is_ascii_whitespace()).count();
    if bytes
        .get(start..)
        .is_some_and(|b| b.starts_with(b"-----BEGIN"))
    {
        let v = Certificate::load_pem_chain(bytes).map_err(|e| Error::encoding(W, e))?;
        if v.is_empty() {
            return Err(Error::encoding(W, "no CERTIFICATE block"));
        }
        Ok(v)
    } else {
        Ok(vec![
            Certificate::from_der(bytes).map_err(|e| Error::encoding(W, e))?,
        ])
    }
}

fn bad_chain(detail: impl Into<String>) -> Error {
    Authenticity::BadChain {
        detail: detail.into(),
    }
    .into()
}

fn subject(c: &Certificate) -> String {
    c.tbs_certificate().subject().to_string()
}

fn check_validity(c: &Certificate, at: UnixTime) -> Result<()> {
    let v = c.tbs_certificate().validity();
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    if at.as_secs() < nb {
        return Err(Authenticity::NotYetValid {
            what: subject(c),
            not_before: nb,
            at: at.as_secs(),
        }
        .into());
    }
    if at.as_secs() > na {
        return Err(Authenticity::Expired {
            what: subject(c),
            not_after: na,
            at: at.as_secs(),
        }
        .into());
    }
    Ok(())
}

// --- a small bounds-checked DER reader (for extension contents) ---------

/// One TLV: tag byte, content.
fn tlv(b: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    const W: &str = "GCE certificate extension";
    let (&tag, rest) = b.split_first().ok_or_else(|| Error::truncated(W, 1, 0))?;
    if tag & 0x1f == 0x1f {
        return Err(Error::encoding(W, "multi-byte tag"));
    }
    let (&l0, rest) = rest
        .split_first()
        .ok_or_else(|| Error::truncated(W, 2, 1))?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 3 {
            return Err(Error::encoding(W, "unsupported length encoding"));
        }
        let lb = rest
            .get(..n)
            .ok_or_else(|| Error::truncated(W, n, rest.len()))?;
        let len = lb.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, rest.get(n..).unwrap_or_default())
    };
    let content = rest
        .get(..len)
        .ok_or_else(|| Error::truncated(W, len, rest.len()))?;
    Ok((tag, content, rest.get(len..).unwrap_or_default()))
}

fn expect<'a>(b: &'a [u8], want: u8, field: &'static str) -> Result<(&'a [u8], &'a [u8])> {
    let (tag, c, rest) = tlv(b)?;
    if tag != want {
        return Err(Error::bad_field(
            "GCE instance info",
            field,
            format_args!("tag {tag:#04x}, expected {want:#04x}"),
        ));
    }
    Ok((c, rest))
}

fn uint(c: &[u8], field: &'static str) -> Result<u64> {
    let c = match c {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => c,
    };
    if c.is_empty() || c.len() > 8 || c.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(Error::bad_field(
            "GCE instance info",
            field,
            "not a non-negative 64-bit INTEGER",
        ));
    }
    Ok(c.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

fn utf8(c: &[u8], field: &'static str) -> Result<String> {
    String::from_utf8(c.to_vec())
        .map_err(|_| Error::bad_field("GCE instance info", field, "not UTF-8"))
}

/// Parse the instance-identity extension's value (accepting unknown
/// trailing fields, as go-tpm-tools does).
///
/// # Errors
/// [`Error::Malformed`] for a structure that is not the documented one.
pub fn parse_instance_info(der: &[u8]) -> Result<GceInstanceInfo> {
    let (seq, _) = expect(der, 0x30, "SEQUENCE")?;
    let (zone, r) = expect(seq, 0x0c, "zone")?;
    let (pn, r) = expect(r, 0x02, "projectNumber")?;
    let (pid, r) = expect(r, 0x0c, "projectID")?;
    let (iid, r) = expect(r, 0x02, "instanceID")?;
    let (name, mut r) = expect(r, 0x0c, "instanceName")?;
    let mut info = GceInstanceInfo {
        zone: utf8(zone, "zone")?,
        project_number: uint(pn, "projectNumber")?,
        project_id: utf8(pid, "projectID")?,
        instance_id: uint(iid, "instanceID")?,
        instance_name: utf8(name, "instanceName")?,
        security_version: None,
        is_production: None,
    };
    while !r.is_empty() {
        let (tag, c, rest) = tlv(r)?;
        r = rest;
        if tag != 0xa0 {
            continue; // an unknown field
        }
        let (props, _) = expect(c, 0x30, "securityProperties")?;
        let mut p = props;
        while !p.is_empty() {
            let (tag, c, rest) = tlv(p)?;
            p = rest;
            match tag {
                0xa0 => {
                    let (v, _) = expect(c, 0x02, "securityVersion")?;
                    info.security_version = Some(uint(v, "securityVersion")?);
                }
                0xa1 => {
                    let (v, _) = expect(c, 0x01, "isProduction")?;
                    info.is_production = Some(v.first().is_some_and(|b| *b != 0));
                }
                _ => {} // further properties: accepted, not interpreted
            }
        }
    }
    Ok(info)
}

// --- signatures ----------------------------------------------------------

/// DigestInfo prefixes of PKCS #1 v1.5 (RFC 8017 §9.2 note 1).
const PREFIX_SHA256: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const PREFIX_SHA384: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const PREFIX_SHA512: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

fn key_algorithm(c: &Certificate) -> Result<&'static str> {
    let spki = c.tbs_certificate().subject_public_key_info();
    match spki.algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => Ok("rsa"),
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
                .map(|o| o.to_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Ok("ecdsa-p256"),
                Some("1.3.132.0.34") => Ok("ecdsa-p384"),
                _ => Err(Error::bad_field(
                    "GCE certificate",
                    "subjectPublicKeyInfo",
                    "an EC key on a curve other than P-256 or P-384",
                )),
            }
        }
        other => Err(Error::bad_field(
            "GCE certificate",
            "subjectPublicKeyInfo",
            format_args!("unsupported key algorithm {other}"),
        )),
    }
}

/// Verify `cert`'s signature with `issuer`'s key.
fn verify_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<()> {
    const W: &str = "GCE certificate signature";
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| Error::encoding("GCE certificate", e))?;
    if cert.signature_algorithm() != cert.tbs_certificate().signature() {
        return Err(bad_chain(format!(
            "{}: outer and inner signature algorithms differ",
            subject(cert)
        )));
    }
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| Error::bad_signature(W))?;
    let spki = issuer.tbs_certificate().subject_public_key_info();
    let key_bytes = spki.subject_public_key.raw_bytes();
    let alg = cert.signature_algorithm().oid.to_string();
    let ok = match (alg.as_str(), key_algorithm(issuer)?) {
        ("1.2.840.10045.4.3.2", "ecdsa-p256") => {
            use p256::ecdsa::signature::Verifier as _;
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|_| Error::bad_signature(W))?;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| Error::bad_signature(W))?;
            vk.verify(&tbs, &s).is_ok()
        }
        ("1.2.840.10045.4.3.3", "ecdsa-p384") => {
            use p384::ecdsa::signature::Verifier as _;
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|_| Error::bad_signature(W))?;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| Error::bad_signature(W))?;
            vk.verify(&tbs, &s).is_ok()
        }
        (
            rsa_alg @ ("1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.12" | "1.2.840.113549.1.1.13"),
            "rsa",
        ) => {
            use rsa::pkcs8::DecodePublicKey as _;
            let der = spki
                .to_der()
                .map_err(|e| Error::encoding("GCE certificate", e))?;
            let pk = rsa::RsaPublicKey::from_public_key_der(&der)
                .map_err(|_| Error::bad_signature(W))?;
            let (hashed, prefix): (Vec<u8>, &[u8]) = match rsa_alg {
                "1.2.840.113549.1.1.11" => (sha2::Sha256::digest(&tbs).to_vec(), PREFIX_SHA256),
                "1.2.840.113549.1.1.12" => (sha2::Sha384::digest(&tbs).to_vec(), PREFIX_SHA384),
                _ => (sha2::Sha512::digest(&tbs).to_vec(), PREFIX_SHA512),
            };
            let scheme = rsa::Pkcs1v15Sign {
                hash_len: Some(hashed.len()),
                prefix: prefix.into(),
            };
            pk.verify(scheme, &hashed, sig).is_ok()
        }
        (alg, key) => {
            return Err(bad_chain(format!(
                "{}: signature algorithm {alg} with a {key} issuer key is not supported",
                subject(cert)
            )));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::bad_signature(W))
    }
}

/// Whether `c` says it is a CA (basicConstraints cA = TRUE).
fn is_ca(c: &Certificate) -> bool {
    let Some(exts) = c.tbs_certificate().extensions() else {
        return false;
    };
    exts.iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.19")
        .is_some_and(|e| {
            matches!(expect(e.extn_value.as_bytes(), 0x30, "basicConstraints"),
                Ok((seq, _)) if matches!(tlv(seq), Ok((0x01, [b], _)) if *b != 0))
        })
}

/// Verify a GCE AK certificate chain to `root` at `at` and return what it
/// says.
///
/// `ak_cert` is the AK certificate (DER or PEM), `intermediates` any
/// number of certificates (DER or PEM files; order does not matter),
/// `root` the trust anchor the caller chose (DER or PEM, one certificate).
///
/// # Errors
/// [`Error::Malformed`] for undecodable input or a bad instance-identity
/// extension; [`Error::Authenticity`]: `BadChain` when no path reaches
/// `root` or an issuer is not a CA, `BadSignature`, `Expired` /
/// `NotYetValid` (any certificate of the path, the root included).
pub fn verify_ak_certificate(
    ak_cert: &[u8],
    intermediates: &[Vec<u8>],
    root: &[u8],
    at: UnixTime,
) -> Result<GceAkClaims> {
    let ak = decode_certificates(ak_cert)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::encoding("GCE AK certificate", "empty"))?;
    let mut pool = Vec::new();
    for f in intermediates {
        pool.extend(decode_certificates(f)?);
    }
    let roots = decode_certificates(root)?;
    let [root] = roots.as_slice() else {
        return Err(Error::bad_field(
            "GCE root certificate",
            "count",
            format_args!("{} certificates, expected exactly one", roots.len()),
        ));
    };
    check_validity(&ak, at)?;
    check_validity(root, at)?;
    let mut chain = Vec::new();
    let mut cur = ak.clone();
    let mut used = vec![false; pool.len()];
    loop {
        if chain.len() >= MAX_CHAIN {
            return Err(bad_chain("chain longer than 6 certificates"));
        }
        let issuer_name = cur.tbs_certificate().issuer();
        if issuer_name == root.tbs_certificate().subject() {
            if !is_ca(root) {
                return Err(bad_chain(format!("root {} is not a CA", subject(root))));
            }
            verify_signed_by(&cur, root)?;
            chain.push(subject(root));
            break;
        }
        let next = pool
            .iter()
            .enumerate()
            .find(|(i, c)| {
                !used.get(*i).copied().unwrap_or(true)
                    && c.tbs_certificate().subject() == issuer_name
            })
            .map(|(i, _)| i);
        let Some(i) = next else {
            return Err(bad_chain(format!(
                "no certificate for issuer {issuer_name} of {}; the chain does not reach the given root {}",
                subject(&cur),
                subject(root)
            )));
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let issuer = pool.get(i).cloned().ok_or_else(|| bad_chain("internal"))?;
        if !is_ca(&issuer) {
            return Err(bad_chain(format!("{} is not a CA", subject(&issuer))));
        }
        check_validity(&issuer, at)?;
        verify_signed_by(&cur, &issuer)?;
        chain.push(subject(&issuer));
        cur = issuer;
    }
    let instance = match ak.tbs_certificate().extensions().and_then(|exts| {
        exts.iter()
            .find(|e| e.extn_id.to_string() == OID_GCE_INSTANCE_INFO)
    }) {
        Some(e) => Some(parse_instance_info(e.extn_value.as_bytes())?),
        None => None,
    };
    let spki = ak
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| Error::encoding("GCE AK certificate", e))?;
    let v = ak.tbs_certificate().validity();
    Ok(GceAkClaims {
        ak_public_key: hex_encode(&spki),
        ak_public_key_sha512: hex_encode(&sha2::Sha512::digest(&spki)),
        ak_key_algorithm: key_algorithm(&ak)?,
        serial: hex_encode(ak.tbs_certificate().serial_number().as_bytes()),
        chain,
        not_before: v.not_before.to_unix_duration().as_secs(),
        not_after: v.not_after.to_unix_duration().as_secs(),
        instance,
        vtpm_trust: "hypervisor",
        ak_spki: spki,
    })
}

fn hex_encode(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}
