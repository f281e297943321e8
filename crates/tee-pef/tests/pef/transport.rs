use super::*;
use tee_core::DeviceErrorKind;
use tee_pef::EsmbGetFile;

/// A misbehaving ultravisor: returns `rc` every time.
#[derive(Debug)]
struct Fake(i64);

impl EsmbGetFile for Fake {
    fn esmb_get_file(&self, _offset: u64, _name: &[u64; 8]) -> tee_core::Result<(i64, [u64; 8])> {
        Ok((self.0, [u64::from_be_bytes(*b"ABCDEFGH"); 8]))
    }
}

fn kind(e: Error) -> DeviceErrorKind {
    match e {
        Error::Device(d) => d.kind,
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_or_broken_ultracall_results_are_typed_errors() {
    assert_eq!(
        kind(tee_pef::guest::read_file(&Fake(65), "x").unwrap_err()),
        DeviceErrorKind::CorruptOutput
    );
    assert_eq!(
        kind(tee_pef::guest::read_file(&Fake(-7), "x").unwrap_err()),
        DeviceErrorKind::Firmware(-7i64 as u64)
    );
    // A UV that never says "end of file": stopped at the 64 KiB limit.
    assert_eq!(
        kind(tee_pef::guest::read_file(&Fake(64), "x").unwrap_err()),
        DeviceErrorKind::CorruptOutput
    );
    let ok = tee_pef::guest::read_file(&Fake(0), "x").unwrap();
    assert!(ok.is_empty());
    // Through the backend: the attester reports the device error, never panics.
    let be = PefBackend::with_ultracalls(Arc::new(Fake(-11)), PefConfig::default());
    assert!(matches!(
        be.attester().unwrap().attest(&ReportData::zero()),
        Err(Error::Device(_))
    ));
    assert!(matches!(
        be.sealer()
            .unwrap()
            .seal(b"x", &SealPolicy::measurement("p")),
        Err(Error::Device(_))
    ));
}

#[test]
fn short_secrets_are_refused() {
    #[derive(Debug)]
    struct Short;
    impl EsmbGetFile for Short {
        fn esmb_get_file(
            &self,
            offset: u64,
            _name: &[u64; 8],
        ) -> tee_core::Result<(i64, [u64; 8])> {
            Ok(if offset == 0 {
                (8, [1; 8])
            } else {
                (0, [0; 8])
            })
        }
    }
    let be = PefBackend::with_ultracalls(Arc::new(Short), PefConfig::default());
    assert_eq!(
        kind(
            be.attester()
                .unwrap()
                .attest(&ReportData::zero())
                .unwrap_err()
        ),
        DeviceErrorKind::CorruptOutput
    );
    assert_eq!(
        kind(
            be.sealer()
                .unwrap()
                .seal(b"x", &SealPolicy::measurement("p"))
                .unwrap_err()
        ),
        DeviceErrorKind::CorruptOutput
    );
}

#[test]
fn sysfs_that_is_not_a_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("sys/devices/system/cpu/svm")).unwrap();
    assert!(matches!(
        PefBackend::open_at(d.path(), PefConfig::default()),
        Err(Error::Device(_))
    ));
}
