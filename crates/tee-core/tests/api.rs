//! The public API as another crate sees it: the `#[non_exhaustive]` types
//! are built through their constructors and builders, builders agree with
//! the TOML policy format, serde round trips hold, and capabilities follow
//! the accessors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tee_core::platforms::{
    MockClaims, PefClaims, PefPolicy, SnpClaims, SnpMinTcb, SnpPolicy, SnpSigningKey, TdxClaims,
    TdxPolicy,
};
use tee_core::{
    Attester, Backend, Capabilities, Claims, Error, Evidence, HexBytes, Operation, Platform,
    PlatformClaims, Policy, ReportData, Result, RuntimeMeasurement, Sealer, Support, TcbStatus,
    TrustRoot, UnixTime, Verified, appraise,
};

const FULL_TOML: &str = r#"
allow_debug = true
allow_mock = true
allow_any_report_data = true
report_data = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
allowed_measurements = ["0101", "0202"]
host_data = "0303"

[sev-snp]
vmpl = 1
min_guest_svn = 2
allow_smt = false
allow_migration_agent = true
allowed_family_ids = ["0404"]
allowed_image_ids = ["0505"]
min_tcb = { bootloader = 3, tee = 1, snp = 8, microcode = 115, fmc = 2 }

[tdx]
accepted_tcb_statuses = ["UpToDate", "SWHardeningNeeded"]
allowed_rtmr0 = ["10"]
allowed_rtmr1 = ["11"]
allowed_rtmr2 = ["12"]
allowed_rtmr3 = ["13"]
mr_owner = "14"
mr_owner_config = "15"
min_tee_tcb_svn = "0300"
xfam_mask = 255
xfam_value = 3
attributes_mask = 4096
attributes_value = 0
allow_service_td = true
allow_unchecked_revocation = true
allow_migratable = true
allow_sept_ve = true

[pef]
allowed_key_ids = ["16"]
"#;

fn full_builder() -> Policy {
    Policy::new()
        .allow_debug(true)
        .allow_mock(true)
        .allow_any_report_data(true)
        .expect_report_data(ReportData::zero())
        .allow_measurement([1u8, 1])
        .allow_measurement([2u8, 2])
        .expect_host_data([3u8, 3])
        .with_sev_snp(|p| {
            p.vmpl(1)
                .min_guest_svn(2)
                .allow_smt(false)
                .allow_migration_agent(true)
                .allow_family_id([4u8, 4])
                .allow_image_id([5u8, 5])
                .min_tcb(
                    SnpMinTcb::default()
                        .bootloader(3)
                        .tee(1)
                        .snp(8)
                        .microcode(115)
                        .fmc(2),
                )
        })
        .with_tdx(|p| {
            p.accept_tcb_status(TcbStatus::SwHardeningNeeded)
                .allow_rtmr0([0x10u8])
                .allow_rtmr1([0x11u8])
                .allow_rtmr2([0x12u8])
                .allow_rtmr3([0x13u8])
                .mr_owner([0x14u8])
                .mr_owner_config([0x15u8])
                .min_tee_tcb_svn([3u8, 0])
                .xfam(255, 3)
                .attributes(4096, 0)
                .allow_service_td(true)
                .allow_unchecked_revocation(true)
                .allow_migratable(true)
                .allow_sept_ve(true)
        })
        .with_pef(|p| p.allow_key_id([0x16u8]))
}

#[test]
fn builders_produce_the_same_policy_as_toml() {
    assert_eq!(Policy::from_toml(FULL_TOML).unwrap(), full_builder());
    assert_eq!(Policy::from_toml("").unwrap(), Policy::new());
    assert_eq!(Policy::new(), Policy::default());
    // The README's policy file.
    let readme = Policy::from_toml(
        "allow_debug = false\nallow_mock = false\n\n[sev-snp]\nvmpl = 0\n\
         min_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }\n\n\
         [tdx]\naccepted_tcb_statuses = [\"UpToDate\"]\n",
    )
    .unwrap();
    let built = Policy::new()
        .with_sev_snp(|p| p.min_tcb(SnpMinTcb::default().bootloader(3).snp(8).microcode(115)));
    assert_eq!(readme, built);
    // Each builder changes exactly its knob.
    assert_ne!(Policy::new().allow_mock(true), Policy::new());
    assert_eq!(
        Policy::new().with_sev_snp(|p| p.vmpl(0)),
        Policy::new(),
        "the default VMPL is 0"
    );
    assert_eq!(
        Policy::new().with_tdx(|p| p.accept_tcb_status(TcbStatus::UpToDate)),
        Policy::new(),
        "UpToDate is accepted by default and not added twice"
    );
    assert_eq!(
        TdxPolicy::default()
            .accept_tcb_statuses([TcbStatus::OutOfDate])
            .accepted_tcb_statuses,
        [TcbStatus::OutOfDate]
    );
    assert!(SnpPolicy::default().allow_smt, "SMT allowed by default");
    assert!(PefPolicy::default().allowed_key_ids.is_empty());
}

#[test]
fn policy_round_trips_through_toml_and_json() {
    for p in [Policy::new(), full_builder()] {
        let toml_text = toml::to_string(&p).unwrap();
        assert_eq!(Policy::from_toml(&toml_text).unwrap(), p, "{toml_text}");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p, "{json}");
    }
}

#[test]
fn mock_table_stays_accepted_only_when_empty() {
    // `[mock]` (MockPolicy, which held nothing) was always accepted.
    assert_eq!(
        Policy::from_toml("allow_mock = true\n[mock]\n").unwrap(),
        Policy::new().allow_mock(true)
    );
    assert!(matches!(
        Policy::from_toml("[mock]\nanything = 1\n"),
        Err(Error::Malformed(_))
    ));
    assert!(Policy::from_toml("mock = 3\n").is_err());
    // It is not written back.
    assert!(!toml::to_string(&Policy::new()).unwrap().contains("mock]"));
}

#[test]
fn unknown_keys_and_tcb_names_are_parse_errors() {
    assert!(Policy::from_toml("[tdx]\nallow_migrateable = true\n").is_err());
    let e = Policy::from_toml("[tdx]\naccepted_tcb_statuses = [\"UpToDat\"]\n").unwrap_err();
    assert!(matches!(e, Error::Malformed(_)), "{e:?}");
    // Case-insensitive names still load, as they always did.
    let p = Policy::from_toml("[tdx]\naccepted_tcb_statuses = [\"outofdate\"]\n").unwrap();
    assert_eq!(p.tdx.accepted_tcb_statuses, [TcbStatus::OutOfDate]);
}

fn snp_claims() -> SnpClaims {
    let mut s = SnpClaims::new(3, "genoa", SnpSigningKey::Vcek);
    s.vmpl = 0;
    s.measurement = HexBytes(vec![7; 48]);
    s
}

/// A test verifier that "verifies" by returning the claims it was built
/// with: the only way to get `Verified` claims is through a `Verifier`.
#[derive(Debug)]
struct Given(Claims);

impl tee_core::Verifier for Given {
    fn platform(&self) -> Platform {
        self.0.platform
    }
    fn check_authenticity(&self, _: &Evidence, _: UnixTime) -> Result<Claims> {
        Ok(self.0.clone())
    }
}

fn claims_of(platform: Platform, trust: TrustRoot, pc: PlatformClaims) -> Verified<Claims> {
    let c = Claims::new(
        platform,
        "test",
        trust,
        ReportData::zero(),
        false,
        UnixTime::from_secs(1),
        pc,
    );
    tee_core::Verifier::verify(
        &Given(c),
        &Evidence::new(platform, "test", vec![]),
        UnixTime::from_secs(1),
    )
    .unwrap()
}

#[test]
fn claims_built_by_constructors_round_trip_through_json() {
    let mut tdx = TdxClaims::new(4, TcbStatus::UpToDate);
    tdx.tcb_evaluated = true;
    tdx.revocation_checked = true;
    tdx.td_attributes = tee_core::platforms::TdAttributes::from_raw(1 << 28);
    let all = [
        PlatformClaims::SevSnp(snp_claims()),
        PlatformClaims::Tdx(tdx),
        PlatformClaims::Pef(PefClaims::new("owner-rooted", [9u8; 32], 1)),
        PlatformClaims::Mock(MockClaims::new(
            "NO SECURITY",
            1,
            [1u8; 48],
            [2u8; 48],
            vec![HexBytes(vec![0; 48])],
            [3u8; 32],
        )),
    ];
    for pc in all {
        let c = Claims::new(
            Platform::Mock,
            "test",
            TrustRoot::NoSecurity,
            ReportData::zero(),
            false,
            UnixTime::from_secs(5),
            pc,
        );
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Claims>(&json).unwrap(), c, "{json}");
    }
}

#[test]
fn constructed_claims_fail_closed_where_unset() {
    // TdxClaims::new: TCB not evaluated, revocation not checked, SEPT_VE
    // not disabled: the default policy denies it.
    let c = claims_of(
        Platform::Tdx,
        TrustRoot::Hardware {
            vendor: "Intel".into(),
        },
        PlatformClaims::Tdx(TdxClaims::new(4, TcbStatus::NotEvaluated)),
    );
    let failed: Vec<_> = appraise(&c, &Policy::new().expect_report_data(ReportData::zero()))
        .failed()
        .map(|c| c.name.clone())
        .collect();
    assert!(failed.contains(&"tdx.tcb_status".to_string()), "{failed:?}");
    assert!(
        failed.contains(&"tdx.sept_ve_disable".to_string()),
        "{failed:?}"
    );
    // SnpClaims built through the constructor appraise like any other.
    let c = claims_of(
        Platform::SevSnp,
        TrustRoot::Hardware {
            vendor: "AMD".into(),
        },
        PlatformClaims::SevSnp(snp_claims()),
    );
    // `revocation_checked` starts false (fail closed): denied unless allowed.
    let p = Policy::new().expect_report_data(ReportData::zero());
    let p = p.with_sev_snp(|s| s.allow_unchecked_revocation(true));
    // Without a reference value the measurement check fails closed...
    let failed: Vec<_> = appraise(&c, &p).failed().map(|c| c.name.clone()).collect();
    assert_eq!(failed, ["measurement"], "{failed:?}");
    // ...and these claims (built without a launch measurement) pass only
    // when any workload is explicitly accepted.
    let p = p.allow_any_measurement(true);
    assert!(appraise(&c, &p).passed(), "{:?}", appraise(&c, &p));
    assert!(!appraise(&c, &p.with_sev_snp(|s| s.vmpl(1))).passed());
}

// --- capabilities derived from the accessors ---

#[derive(Debug)]
struct Half;

impl Attester for Half {
    fn platform(&self) -> Platform {
        Platform::Mock
    }
    fn attest(&self, _: &ReportData) -> Result<Evidence> {
        Err(Error::Misuse("test attester".into()))
    }
}

/// Attests; has no registers (typed Unsupported); its sealer fails with a
/// device error.
#[derive(Debug)]
struct HalfBackend;

impl Backend for HalfBackend {
    fn platform(&self) -> Platform {
        Platform::Mock
    }
    fn attester(&self) -> Result<&dyn Attester> {
        Ok(&Half)
    }
    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Err(Error::unsupported(
            Platform::Mock,
            Operation::RuntimeMeasurement,
            "no registers here",
        ))
    }
    fn sealer(&self) -> Result<&dyn Sealer> {
        Err(Error::device_with_source(
            tee_core::DeviceErrorKind::NotFound,
            "/dev/key",
            "no key device",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ))
    }
}

#[test]
fn capabilities_follow_the_accessors() {
    let b = HalfBackend;
    let caps = b.capabilities();
    assert_eq!(caps, Capabilities::of(&b));
    let dynb: Arc<dyn Backend> = Arc::new(HalfBackend);
    assert_eq!(dynb.capabilities(), caps);
    assert_eq!(caps.platform, Platform::Mock);
    assert_eq!(caps.attestation, Support::Supported);
    assert_eq!(
        caps.runtime_measurement,
        Support::Unsupported("no registers here".into())
    );
    match &caps.sealing {
        Support::Unsupported(r) => assert!(r.contains("no key device"), "{r}"),
        Support::Supported => panic!("sealer failed but sealing claimed supported"),
    }
    match caps.unsupported_error(Operation::RuntimeMeasurement) {
        Some(Error::Unsupported(u)) => assert_eq!(u.operation, Operation::RuntimeMeasurement),
        other => panic!("{other:?}"),
    }
    assert!(caps.unsupported_error(Operation::Attestation).is_none());
}

/// Finding 3: no default admits any workload. A genuine, fresh SEV-SNP
/// report appraised with the default policy fails the measurement check,
/// naming the keys and flags that configure it; each way of configuring it
/// (reference values, an ID key pin, an explicit allow) is visible.
#[test]
fn finding3_default_policy_admits_no_workload() {
    let pc = PlatformClaims::SevSnp(snp_claims());
    let mut c = Claims::new(
        Platform::SevSnp,
        "test",
        TrustRoot::Hardware {
            vendor: "AMD".into(),
        },
        ReportData::zero(),
        false,
        UnixTime::from_secs(1),
        pc,
    );
    c.launch_measurement = tee_core::Claim::Value(HexBytes(vec![7; 48]));
    let platform = c.platform;
    let c = tee_core::Verifier::verify(
        &Given(c),
        &Evidence::new(platform, "test", vec![]),
        UnixTime::from_secs(1),
    )
    .unwrap();
    let base = Policy::new()
        .expect_report_data(ReportData::zero())
        .with_sev_snp(|s| s.allow_unchecked_revocation(true));
    let check = |p: &Policy| {
        appraise(&c, p)
            .checks
            .into_iter()
            .find(|k| k.name == "measurement")
            .unwrap()
    };
    // Default: failed, and the detail says what would configure it.
    let m = check(&base);
    assert_eq!(m.outcome, tee_core::Outcome::Failed);
    for key in [
        "allowed_measurements",
        "--allowed-measurement",
        "allow_any_measurement",
        "--allow-any-measurement",
    ] {
        assert!(m.detail.contains(key), "{key}: {}", m.detail);
    }
    assert!(!appraise(&c, &base).passed());
    // The reference value: passed; another one: failed.
    let ok = base.clone().allow_measurement(vec![7u8; 48]);
    assert_eq!(check(&ok).outcome, tee_core::Outcome::Passed);
    assert!(appraise(&c, &ok).passed());
    let other = base.clone().allow_measurement(vec![8u8; 48]);
    assert_eq!(check(&other).outcome, tee_core::Outcome::Failed);
    // An ID key pin stands in for the measurement (its own check decides).
    let pinned = base
        .clone()
        .with_sev_snp(|s| s.allow_id_key_digest(vec![0u8; 48]));
    let m = check(&pinned);
    assert_eq!(m.outcome, tee_core::Outcome::Skipped);
    assert!(
        m.detail.contains("[sev-snp] allowed_id_key_digests"),
        "{}",
        m.detail
    );
    // Any workload, explicitly: skipped, loudly.
    let any = base.allow_any_measurement(true);
    let m = check(&any);
    assert_eq!(m.outcome, tee_core::Outcome::Skipped);
    assert!(m.detail.contains("ANY WORKLOAD ACCEPTED"), "{}", m.detail);
    assert!(appraise(&c, &any).passed());
}
