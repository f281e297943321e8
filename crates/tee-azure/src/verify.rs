//! Verification of Azure vTPM evidence (facts §1.7), each step a typed error
//! naming it:
//!
//! 1. decode the envelope ([`AzureEvidence::from_evidence`]);
//! 2. parse the HCL report; its `report_type` must be the evidence's TEE;
//! 3. the hardware report, verified by the platform's own verifier (SNP
//!    report with the VCEK and AMD's chain; TD quote with DCAP and
//!    collateral), which gives the hardware claims;
//! 4. binding: REPORT_DATA = H(runtime claims) ‖ zeros, H by the HCL hash type;
//! 5. TDX: the HCL's TDREPORT equals the quote body (MRTD, RTMRs,
//!    REPORT_DATA, attributes, XFAM, TEE_TCB_SVN, MRSEAM);
//! 6. the runtime claims' `HCLAkPub` (RSA ≥ 2048 bits);
//! 7. the quote's `TPMS_ATTEST` parsed strictly (magic, type, no trailing bytes);
//! 8. its RSASSA-PKCS1-v1.5/SHA-256 signature by the AK;
//! 9. `qualifiedSigner` against the Azure AK template (a warning in the
//!    claims when it differs, not a failure);
//! 10. one SHA-256 bank, the PCR values exactly the selected PCRs, and
//!     SHA-256 of them equal to `pcrDigest`;
//! 11. a non-zero `user-data` must begin with the qualifying data, the rest zero.
//!
//! The freshness value is the quote's `extraData`; appraisal compares it
//! (see `tee_core::platforms::VtpmClaims`) and denies vTPM evidence unless
//! the policy sets `allow_vtpm`.

use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::signature::Verifier as _;
use sha2::{Digest, Sha256};
use tee_core::evidence::{endorsement, format};
use tee_core::platforms::VtpmClaims;
use tee_core::{
    Authenticity, Claim, Claims, Error, Evidence, Platform, PlatformClaims, RegisterValue, Result,
    UnixTime, Verifier,
};
use tee_linux::tpm::wire::{self, QuoteAttest, RsaPublic, TPM_ALG_SHA256, TPM_RH_ENDORSEMENT};

use crate::evidence::AzureEvidence;
use crate::hcl::{HclReport, HclTee};
use crate::runtime::RuntimeClaims;

/// The vTPM provider of Azure evidence ([`VtpmClaims::provider`]).
pub const PROVIDER: &str = "azure-hcl-paravisor";

/// Verifies Azure vTPM evidence of one TEE, with a hardware verifier for
/// the hardware report (e.g. `tee_sev::SnpVerifier`, `tee_tdx::TdxVerifier`
/// with collateral).
#[derive(Debug)]
pub struct AzureVerifier {
    hw: Box<dyn Verifier>,
}

impl AzureVerifier {
    /// Azure evidence of `hw`'s platform, its hardware report checked by `hw`.
    pub fn new(hw: impl Verifier + 'static) -> Self {
        Self { hw: Box::new(hw) }
    }

    /// As [`AzureVerifier::new`], from a boxed verifier.
    pub fn from_box(hw: Box<dyn Verifier>) -> Self {
        Self { hw }
    }

    /// The hardware verifier.
    pub fn hardware(&self) -> &dyn Verifier {
        &*self.hw
    }
}

impl Verifier for AzureVerifier {
    fn platform(&self) -> Platform {
        self.hw.platform()
    }

    fn check_authenticity(&self, evidence: &Evidence, at: UnixTime) -> Result<Claims> {
        verify(evidence, at, &*self.hw)
    }
}

fn mismatch(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Authenticity(Authenticity::Mismatch {
        what,
        detail: detail.into(),
    })
}

/// Build the PKCS#1 DER of an RSA public key from its modulus and exponent.
fn pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        if n < 0x80 {
            out.push(n as u8);
        } else if n < 0x100 {
            out.extend_from_slice(&[0x81, n as u8]);
        } else {
            out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
        }
    }
    fn int(out: &mut Vec<u8>, v: &[u8]) {
        let v = &v[v
            .iter()
            .take_while(|&&b| b == 0)
            .count()
            .min(v.len().saturating_sub(1))..];
        let pad = v.first().is_some_and(|&b| b & 0x80 != 0);
        out.push(0x02);
        len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = Vec::new();
    int(&mut body, n);
    int(&mut body, e);
    let mut out = vec![0x30];
    len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Verify RSASSA-PKCS1-v1.5 / SHA-256 `sig` over `msg` with (n, e).
///
/// # Errors
/// [`Authenticity::BadSignature`] (`what` names the vTPM quote) when the
/// key is unusable or the signature does not verify.
pub fn verify_rsassa_sha256(n: &[u8], e: &[u8], msg: &[u8], sig: &[u8]) -> Result<()> {
    const WHAT: &str = "vTPM quote signature (RSASSA-PKCS1-v1.5/SHA-256 by HCLAkPub)";
    let key = rsa::RsaPublicKey::from_pkcs1_der(&pkcs1_der(n, e))
        .map_err(|_| Error::bad_signature(WHAT))?;
    let vk = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key);
    let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| Error::bad_signature(WHAT))?;
    vk.verify(msg, &s).map_err(|_| Error::bad_signature(WHAT))
}

/// Verify Azure vTPM evidence at `at`, with `hw` verifying its hardware
/// report; the steps are in the module documentation.
///
/// # Errors
/// [`Error::Misuse`] for evidence that is not Azure vTPM evidence of
/// `hw`'s platform; [`Error::Malformed`] for unparsable parts;
/// [`Error::Authenticity`] naming the step that failed (the hardware
/// verifier's own errors for step 3).
pub fn verify(evidence: &Evidence, at: UnixTime, hw: &dyn Verifier) -> Result<Claims> {
    // 1.
    let az = AzureEvidence::from_evidence(evidence)?;
    if evidence.platform != hw.platform() {
        return Err(Error::Misuse(
            format!(
                "{} evidence given to the {} verifier",
                evidence.platform,
                hw.platform()
            )
            .into(),
        ));
    }
    // 2.
    let hcl = HclReport::parse(&az.hcl_report)?;
    if hcl.tee != az.tee {
        return Err(Error::bad_field(
            "HCL report",
            "report_type",
            format_args!(
                "the HCL report holds a {:?} report, the evidence says {:?}",
                hcl.tee, az.tee
            ),
        ));
    }
    // 3.
    let inner = match az.tee {
        HclTee::Snp => {
            let mut e = Evidence::new(
                Platform::SevSnp,
                format::SEV_SNP_REPORT,
                hcl.hw_report.to_vec(),
            );
            // The VCEK and any chain/CRL the envelope carries.
            for en in &evidence.endorsements {
                if [
                    endorsement::SIGNING_CERT_DER,
                    endorsement::CERT_CHAIN_PEM,
                    endorsement::AMD_CRL_DER,
                    endorsement::GHCB_CERT_TABLE,
                ]
                .contains(&en.kind.as_str())
                {
                    e = e.with_endorsement(en.kind.clone(), en.data.clone());
                }
            }
            e
        }
        HclTee::Tdx => {
            let quote = az.td_quote.clone().unwrap_or_default();
            let mut e = Evidence::new(Platform::Tdx, format::TDX_QUOTE, quote);
            for en in &evidence.endorsements {
                if en.kind == endorsement::TDX_COLLATERAL_JSON {
                    e = e.with_endorsement(en.kind.clone(), en.data.clone());
                }
            }
            e
        }
    };
    let mut claims = hw.check_authenticity(&inner, at)?;
    // 4.
    let digest = hcl.variable_data_digest();
    let rd = claims.report_data.as_bytes();
    if rd[..digest.len()] != digest[..] {
        return Err(mismatch(
            "HCL runtime claims binding (REPORT_DATA)",
            format!(
                "REPORT_DATA begins {}, the runtime claims hash to {}",
                hex::encode(&rd[..digest.len()]),
                hex::encode(&digest)
            ),
        ));
    }
    if rd[digest.len()..].iter().any(|&b| b != 0) {
        return Err(mismatch(
            "HCL runtime claims binding (REPORT_DATA)",
            "REPORT_DATA after the runtime-claims digest is not zero",
        ));
    }
    // 5.
    if az.tee == HclTee::Tdx {
        tdreport_matches_quote(hcl.hw_report, &claims)?;
    }
    // 6.
    let rc = RuntimeClaims::parse(hcl.variable_data)?;
    // 7.
    let attest = QuoteAttest::parse(&az.attest)?;
    // 8.
    verify_rsassa_sha256(&rc.ak_modulus, &rc.ak_exponent, &az.attest, &az.signature)?;
    // 9.
    let mut warnings = Vec::new();
    if rc.exponent_u64() == 65537 {
        let expect = RsaPublic::azure_ak(rc.ak_modulus.clone())
            .qualified_name_as_primary(TPM_RH_ENDORSEMENT);
        if expect.as_deref() != Some(&attest.qualified_signer[..]) {
            warnings.push(
                "the quote's qualifiedSigner is not the name of an Azure-template AK \
                 (Endorsement-hierarchy primary) with this modulus"
                    .to_string(),
            );
        }
    }
    // 10.
    let [bank] = attest.pcr_select.as_slice() else {
        return Err(mismatch(
            "vTPM PCR selection",
            format!(
                "{} banks selected, exactly one (SHA-256) expected",
                attest.pcr_select.len()
            ),
        ));
    };
    if bank.hash != TPM_ALG_SHA256 {
        return Err(mismatch(
            "vTPM PCR selection",
            format!("bank {:#06x}, SHA-256 expected", bank.hash),
        ));
    }
    let selected = bank.pcrs();
    if selected.len() != az.pcrs.len() {
        return Err(mismatch(
            "vTPM PCR values",
            format!(
                "{} PCRs selected in the quote, {} values given",
                selected.len(),
                az.pcrs.len()
            ),
        ));
    }
    if wire::pcr_digest_sha256(&az.pcrs)[..] != attest.pcr_digest[..] {
        return Err(mismatch(
            "vTPM PCR digest",
            "SHA-256 of the PCR values differs from the quote's pcrDigest",
        ));
    }
    // 11.
    let qd = &attest.extra_data;
    let ud = &rc.user_data;
    let ud_nonzero = ud.iter().any(|&b| b != 0);
    let binds = ud_nonzero
        && qd.len() <= 64
        && &ud[..qd.len()] == qd.as_slice()
        && ud[qd.len()..].iter().all(|&b| b == 0);
    if ud_nonzero && !binds {
        return Err(mismatch(
            "HCL runtime claims user-data",
            "user-data is set but is not the quote's qualifying data followed by zeros",
        ));
    }

    // 12. SDK-made evidence: the report data whose SHA-384 is the qualifying data.
    if let Some(rd) = az.report_data {
        let rd = tee_core::ReportData::new(rd);
        if az.rule != tee_core::platforms::QualifyingDataRule::Sha384OfReportData
            || tee_core::platforms::QualifyingDataRule::sha384_of(&rd)[..] != qd[..]
        {
            return Err(mismatch(
                "vTPM report data",
                "SHA-384 of the report data carried in the evidence is not the quote's qualifying data",
            ));
        }
        claims.report_data = rd;
    }
    let chain: Vec<String> = match az.tee {
        HclTee::Snp => vec![
            "AMD ARK (pinned)".into(),
            "AMD ASK".into(),
            "VCEK".into(),
            "SNP report (VMPL 0, signed by the VCEK)".into(),
        ],
        HclTee::Tdx => vec![
            "Intel SGX Root CA (pinned)".into(),
            "PCK certificate".into(),
            "TD quoting enclave".into(),
            "TD quote (body = the HCL's TDREPORT)".into(),
        ],
    };
    let mut chain = chain;
    chain.extend([
        format!(
            "Azure HCL paravisor runtime claims ({:?} in REPORT_DATA)",
            hcl.hash
        ),
        "vTPM attestation key HCLAkPub (named by the runtime claims)".into(),
        "TPM2_Quote signed by HCLAkPub (extraData = freshness value, PCRs 0-23)".into(),
    ]);
    let mut v = VtpmClaims::new(PROVIDER, chain, qd.clone(), az.rule);
    v.ak_sha256 = Sha256::digest(&rc.ak_modulus).to_vec().into();
    v.user_data = ud.to_vec().into();
    v.user_data_binds_qualifying_data = binds;
    v.vm_configuration = rc.vm_configuration.clone();
    v.warnings = warnings;
    claims.format = evidence.format.clone();
    claims.runtime_registers = Claim::Value(
        selected
            .iter()
            .zip(&az.pcrs)
            .map(|(&i, val)| RegisterValue::new(i, val.clone()))
            .collect(),
    );
    claims.vtpm = Some(v);
    Ok(claims)
}

/// Step 5: the HCL's TDREPORT and the verified quote body agree.
fn tdreport_matches_quote(tdreport: &[u8], claims: &Claims) -> Result<()> {
    let t = tee_tdx::tdreport::TdReport::parse(tdreport)?;
    // TEE_TCB_INFO and TDINFO hashes (the MAC itself cannot be checked off-platform).
    t.check_hashes()?;
    let PlatformClaims::Tdx(q) = &claims.platform_claims else {
        return Err(Error::Misuse(
            "the TDX verifier returned non-TDX claims".into(),
        ));
    };
    let rtmrs: Vec<Vec<u8>> = match &claims.runtime_registers {
        Claim::Value(r) => r.iter().map(|x| x.value.to_vec()).collect(),
        Claim::NotApplicable(_) => Vec::new(),
    };
    let fields: [(&str, bool); 8] = [
        ("MRTD", q.mr_td[..] == t.mr_td[..]),
        ("REPORT_DATA", q.report_data[..] == t.report_data[..]),
        ("TD_ATTRIBUTES", q.td_attributes.raw == t.td_attributes),
        ("XFAM", q.xfam == t.xfam),
        ("MRSEAM", q.mr_seam[..] == t.mr_seam[..]),
        ("TEE_TCB_SVN", q.tee_tcb_svn[..] == t.tee_tcb_svn[..]),
        ("MRCONFIGID", q.mr_config_id[..] == t.mr_config_id[..]),
        (
            "RTMR0-3",
            rtmrs.len() == 4 && rtmrs.iter().zip(&t.rtmr).all(|(a, b)| a[..] == b[..]),
        ),
    ];
    if let Some((name, _)) = fields.iter().find(|(_, ok)| !ok) {
        return Err(mismatch(
            "HCL TDREPORT vs TD quote",
            format!("{name} of the HCL's TDREPORT differs from the verified TD quote"),
        ));
    }
    Ok(())
}
