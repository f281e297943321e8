//! Property tests: arbitrary input into every core decoder never panics,
//! and round trips hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use tee_core::seal::inspect;
use tee_core::{Event, EventLog, Evidence, Platform, Policy, ReportData, UnixTime};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn evidence_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Evidence::from_json(&bytes);
    }

    #[test]
    fn evidence_json_text_never_panics(s in "\\PC{0,400}") {
        let _ = Evidence::from_json(s.as_bytes());
    }

    #[test]
    fn evidence_round_trips(
        report in proptest::collection::vec(any::<u8>(), 0..600),
        kind in "[a-z-]{1,20}",
        data in proptest::collection::vec(any::<u8>(), 0..100),
        reg in 0u32..4,
    ) {
        let mut ev = Evidence::new(Platform::Tdx, "x", report).with_endorsement(kind, data.clone());
        ev.event_log = Some(EventLog::new(vec![Event::new(reg, "e", data)]));
        let back = Evidence::from_json(ev.to_json().unwrap().as_bytes()).unwrap();
        prop_assert_eq!(back, ev);
    }

    #[test]
    fn sealed_blob_inspect_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = inspect(&bytes);
        let mut framed = b"TEESEAL\0\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = inspect(&framed);
    }

    #[test]
    fn policy_toml_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = Policy::from_toml_bytes(&bytes);
    }

    #[test]
    fn policy_toml_text_never_panics(s in "[a-z_\\[\\]=\" 0-9\\n.{},-]{0,300}") {
        let _ = Policy::from_toml(&s);
    }

    #[test]
    fn report_data_from_hex_never_panics(s in "\\PC{0,200}") {
        let _ = ReportData::from_hex(&s);
    }

    #[test]
    fn rfc3339_never_panics(s in "\\PC{0,40}") {
        let _ = UnixTime::parse_rfc3339(&s);
    }

    #[test]
    fn event_log_replay_never_panics(regs in proptest::collection::vec((0u32..40, proptest::collection::vec(any::<u8>(), 0..60)), 0..20)) {
        let log = EventLog::new(regs.into_iter().map(|(r, d)| Event::from_digest(r, "x", {
                let mut a = [0u8; 48];
                for (i, b) in d.iter().take(48).enumerate() { a[i] = *b; }
                a
            })).collect(),
        );
        let _ = log.replay(4);
    }
}

#[test]
fn policy_file_full_example_parses() {
    let p = Policy::from_toml(
        r#"
allow_debug = false
allow_mock = false
report_data = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
allowed_measurements = ["7a1e5c26"]
host_data = "abcd"

[sev-snp]
vmpl = 0
min_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }
min_guest_svn = 1
allow_migration_agent = false

[tdx]
accepted_tcb_statuses = ["UpToDate", "SWHardeningNeeded"]
mr_owner = "00"
"#,
    )
    .unwrap();
    assert_eq!(p.sev_snp.min_tcb.unwrap().microcode, 115);
    assert_eq!(p.tdx.accepted_tcb_statuses.len(), 2);
    assert_eq!(p.allowed_measurements[0].0, vec![0x7a, 0x1e, 0x5c, 0x26]);
}

#[test]
fn policy_rejects_typos_and_bad_values() {
    for bad in [
        "allow_debugg = true",             // typo: never silently ignored
        "allow_debug = \"yes\"",           // wrong type
        "report_data = \"0011\"",          // not 64 bytes
        "[sev-snp]\nvmpl = -1",            // out of range
        "[tdx]\nunknown = 1",              // unknown key in a section
        "allowed_measurements = [\"zz\"]", // not hex
    ] {
        let e = Policy::from_toml(bad).unwrap_err();
        assert!(matches!(e, tee_core::Error::Malformed(_)), "{bad}: {e}");
    }
    assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
}
