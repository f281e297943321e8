//! Per-report checks: the preamble (signature algorithm, key kind, masked
//! chip key) and, against a verified chain, product agreement, the report
//! signature and the certificate extensions vs. the report.

use tee_core::platforms::SnpSigningKey;
use tee_core::{Authenticity, Claims, Error, Result, UnixTime};

use super::claims::claims;
use crate::cache::Entry;
use crate::certs::AmdExtensions;
use crate::crypto::P384PublicKey;
use crate::report::{Product, SIG_ALGO_ECDSA_P384_SHA384, SnpReport};

/// Checks of the report itself before any key is looked at; the signing key kind.
pub(super) fn preamble(r: &SnpReport<'_>) -> Result<SnpSigningKey> {
    if r.sig_algo != SIG_ALGO_ECDSA_P384_SHA384 {
        return Err(Error::bad_field(
            "SNP report",
            "signature_algo",
            format!("unsupported algorithm {}", r.sig_algo),
        ));
    }
    let key = r.signing_key()?;
    if r.mask_chip_key() {
        return Err(Authenticity::Other {
            detail: "report is unsigned (KEY_INFO.MASK_CHIP_KEY is set)".into(),
        }
        .into());
    }
    Ok(key)
}

/// Per-report checks against a verified chain (always run, cached or not):
/// product agreement, the report signature over the exact received bytes,
/// the VCEK/VLEK extensions against the report; then the claims.
pub(super) fn finish(
    r: &SnpReport<'_>,
    key: SnpSigningKey,
    entry: &Entry,
    revocation_checked: bool,
    at: UnixTime,
) -> Result<Claims> {
    let key_name = match key {
        SnpSigningKey::Vcek => "VCEK",
        SnpSigningKey::Vlek => "VLEK",
    };
    let product = entry.product;
    let exts = &entry.exts;
    check_product(r.cpuid.and(r.product()), exts)?;
    verify_report_signature(r, entry.key.as_ref())?;

    // Certificate extensions vs. the report.
    let tcb = r.reported_tcb.decode(product);
    let mut spls = vec![
        ("blSPL", exts.bl_spl, tcb.bootloader),
        ("teeSPL", exts.tee_spl, tcb.tee),
        ("snpSPL", exts.snp_spl, tcb.snp),
        ("ucodeSPL", exts.ucode_spl, tcb.microcode),
    ];
    if let Some(fmc) = tcb.fmc {
        spls.push(("fmcSPL", exts.fmc_spl, fmc));
    }
    for (name, cert, rep) in spls {
        match cert {
            None => {
                return Err(Authenticity::Mismatch {
                    what: "reported TCB",
                    detail: format!("{key_name} has no {name} extension"),
                }
                .into());
            }
            Some(c) if c != rep => {
                return Err(Authenticity::Mismatch {
                    what: "reported TCB",
                    detail: format!("{key_name} {name} {c}, report {rep}"),
                }
                .into());
            }
            Some(_) => {}
        }
    }
    if key == SnpSigningKey::Vcek && !r.chip_id_masked() {
        let hw = exts.hw_id.as_deref().ok_or_else(|| {
            Error::from(Authenticity::Mismatch {
                what: "chip id",
                detail: "VCEK has no hwID extension".into(),
            })
        })?;
        let ok = if product == Product::Turin {
            let (head, tail) = r.chip_id.split_at(8);
            hw == head && tail.iter().all(|&b| b == 0)
        } else {
            hw == r.chip_id.as_slice()
        };
        if !ok {
            return Err(Authenticity::Mismatch {
                what: "chip id",
                detail: format!(
                    "VCEK hwID {} does not match report CHIP_ID",
                    hex::encode(hw)
                ),
            }
            .into());
        }
    }

    let mut c = claims(r, product, key, at);
    if let tee_core::PlatformClaims::SevSnp(s) = &mut c.platform_claims {
        s.csp_id.clone_from(&exts.csp_id);
        s.revocation_checked = revocation_checked;
    }
    Ok(c)
}

/// The report's product (from CPUID, v3+) and the certificate's
/// `productName` must agree when both are known.
pub(super) fn check_product(report_product: Option<Product>, exts: &AmdExtensions) -> Result<()> {
    let cert_product = exts
        .product_name
        .as_deref()
        .and_then(Product::from_product_name);
    match (report_product, cert_product) {
        (Some(p), Some(c)) if p != c => Err(Authenticity::Mismatch {
            what: "product",
            detail: format!("report CPUID says {p}, certificate says {c}"),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Verify the report signature over the exact received bytes `[0, 0x2A0)`
/// with the leaf's prepared P-384 key.
fn verify_report_signature(r: &SnpReport<'_>, key: &dyn P384PublicKey) -> Result<()> {
    let bad = || Error::bad_signature("SNP report signature");
    // R and S are 72-byte little-endian fields holding 48-byte values.
    let (r_lo, r_hi) = r.sig_r.split_at(48);
    let (s_lo, s_hi) = r.sig_s.split_at(48);
    if r_hi.iter().chain(s_hi).any(|&b| b != 0) {
        return Err(bad());
    }
    let mut rb = [0u8; 48];
    let mut sb = [0u8; 48];
    rb.copy_from_slice(r_lo);
    sb.copy_from_slice(s_lo);
    rb.reverse();
    sb.reverse();
    if key.verify_sha384(r.signed_bytes(), &rb, &sb) {
        Ok(())
    } else {
        Err(bad())
    }
}
