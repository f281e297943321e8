use super::*;

/// Run inside a PEF secure VM whose ESM blob carries `attest-key`
/// (`cargo test -p tee-pef -- --ignored`); set `TEE_PEF_ATTEST_KEY_HEX`
/// to the owner's key to check the MAC.
#[test]
#[ignore = "needs a PEF secure VM with an ESM blob"]
fn secure_vm_attests_with_the_provisioned_key() {
    let be = PefBackend::open().expect("a PEF secure VM");
    assert!(be.capabilities().attestation.is_supported());
    let rd = ReportData::bind(b"hardware", b"");
    let ev = be.attester().unwrap().attest(&rd).unwrap();
    assert_eq!(ev.report.len(), 208);
    assert_eq!(&ev.report[48..112], rd.as_bytes());
    if let Ok(k) = std::env::var("TEE_PEF_ATTEST_KEY_HEX") {
        let key = hex::decode(k.trim()).unwrap();
        let c = PefVerifier::with_key(&key)
            .unwrap()
            .verify(&ev, UnixTime::now())
            .unwrap();
        assert_eq!(c.report_data, rd);
    }
    // Read-once: the second attest is served from the process cache.
    assert!(be.attester().unwrap().attest(&rd).is_ok());
}
