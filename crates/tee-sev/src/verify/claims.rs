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
    let mut s = SnpClaims::new(r.version, product.name(), key);
    s.guest_svn = r.guest_svn;
    s.policy = r.guest_policy();
    s.family_id = r.family_id.as_slice().into();
    s.image_id = r.image_id.as_slice().into();
    s.vmpl = r.vmpl;
    s.measurement = r.measurement.as_slice().into();
    s.report_data = r.report_data.as_slice().into();
    s.host_data = r.host_data.as_slice().into();
    s.id_key_digest = r.id_key_digest.as_slice().into();
    s.author_key_digest = r.author_key_digest.as_slice().into();
    s.author_key_en = r.author_key_en();
    s.report_id = r.report_id.as_slice().into();
    s.report_id_ma = r.report_id_ma.as_slice().into();
    s.chip_id = r.chip_id.as_slice().into();
    s.current_tcb = r.current_tcb.decode(product);
    s.reported_tcb = r.reported_tcb.decode(product);
    s.committed_tcb = r.committed_tcb.decode(product);
    s.launch_tcb = r.launch_tcb.decode(product);
    s.platform_info = r.platform_info_decoded();
    s.current_version = r.current_version.to_string();
    s.committed_version = r.committed_version.to_string();
    s.cpuid = r.cpuid;
    s.launch_mit_vector = r.launch_mit_vector;
    s.current_mit_vector = r.current_mit_vector;
    s
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
    c.tcb = Claim::Value(TcbSummary::new(TcbStatus::VersionsOnly, svns, Vec::new()));
    c.runtime_registers =
        Claim::NotApplicable("SEV-SNP has no runtime measurement registers".into());
    c
}
