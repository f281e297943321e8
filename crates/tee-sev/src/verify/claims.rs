//! Claims building: the raw SNP claims of a parsed report and the
//! platform-neutral [`Claims`] around them.

use std::collections::BTreeMap;

use tee_core::evidence::format;
use tee_core::platforms::{SnpClaims, SnpSigningKey};
use tee_core::{
    Claim, Claims, HexBytes, Platform, PlatformClaims, ReportData, TcbStatus, TcbSummary,
    TrustRoot, UnixTime,
};

use crate::report::{Product, SnpReport};

/// Raw claims of a parsed report for a known product.
pub fn snp_claims(r: &SnpReport<'_>, product: Product, key: SnpSigningKey) -> SnpClaims {
    SnpClaims {
        version: r.version,
        product: product.name().into(),
        signing_key: key,
        guest_svn: r.guest_svn,
        policy: r.guest_policy(),
        family_id: r.family_id.as_slice().into(),
        image_id: r.image_id.as_slice().into(),
        vmpl: r.vmpl,
        measurement: r.measurement.as_slice().into(),
        report_data: r.report_data.as_slice().into(),
        host_data: r.host_data.as_slice().into(),
        id_key_digest: r.id_key_digest.as_slice().into(),
        author_key_digest: r.author_key_digest.as_slice().into(),
        report_id: r.report_id.as_slice().into(),
        report_id_ma: r.report_id_ma.as_slice().into(),
        chip_id: r.chip_id.as_slice().into(),
        current_tcb: r.current_tcb.decode(product),
        reported_tcb: r.reported_tcb.decode(product),
        committed_tcb: r.committed_tcb.decode(product),
        launch_tcb: r.launch_tcb.decode(product),
        platform_info: r.platform_info_decoded(),
        current_version: r.current_version.to_string(),
        committed_version: r.committed_version.to_string(),
        cpuid: r.cpuid,
        launch_mit_vector: r.launch_mit_vector,
        current_mit_vector: r.current_mit_vector,
    }
}

pub(super) fn claims(
    r: &SnpReport<'_>,
    product: Product,
    key: SnpSigningKey,
    at: UnixTime,
) -> Claims {
    let s = snp_claims(r, product, key);
    let mut svns = BTreeMap::new();
    let t = &s.reported_tcb;
    svns.insert("bootloader".into(), u64::from(t.bootloader));
    svns.insert("tee".into(), u64::from(t.tee));
    svns.insert("snp".into(), u64::from(t.snp));
    svns.insert("microcode".into(), u64::from(t.microcode));
    if let Some(f) = t.fmc {
        svns.insert("fmc".into(), u64::from(f));
    }
    let debug = s.policy.debug;
    let mut c = Claims::new(
        Platform::SevSnp,
        format::SEV_SNP_REPORT,
        TrustRoot::Hardware {
            vendor: "AMD".into(),
        },
        ReportData::new(*r.report_data),
        debug,
        at,
        PlatformClaims::SevSnp(s),
    );
    c.launch_measurement = Claim::Value(HexBytes::from(r.measurement.as_slice()));
    c.host_data = Claim::Value(HexBytes::from(r.host_data.as_slice()));
    c.tcb = Claim::Value(TcbSummary {
        status: TcbStatus::VersionsOnly,
        svns,
        advisory_ids: Vec::new(),
    });
    c.runtime_registers =
        Claim::NotApplicable("SEV-SNP has no runtime measurement registers".into());
    c
}
