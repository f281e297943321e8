//! The TPM 2.0 command layer against the fake TPM: every command, chunking,
//! retries, error codes, short responses, transport failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use tee_core::{DeviceErrorKind, Error};
use tee_linux::testing::{FakeTpm, TpmFault, tpm_rc};
use tee_linux::tpm::wire::{
    self, PcrSelection, QuoteAttest, RcKind, RsaPublic, Signature, TPM_ALG_SHA256,
    TPM_RH_ENDORSEMENT,
};
use tee_linux::tpm::{DeviceTransport, NvPublic, Tpm, TpmCommand, TpmError, nv_attributes};

const AK: u32 = 0x8100_0003;

fn tpm() -> (FakeTpm, Tpm<FakeTpm>) {
    let fake = FakeTpm::new();
    let t = Tpm::new(fake.clone()).with_retries(3, Duration::ZERO);
    (fake, t)
}

fn with_key(fake: &FakeTpm) -> RsaPublic {
    let public = RsaPublic::azure_ak(vec![0xC5; 256]);
    // A stand-in signer: the tests here check framing, not RSA.
    fake.set_key(
        AK,
        public.clone(),
        Arc::new(|m: &[u8]| {
            let mut s = vec![0u8; 256];
            s[..m.len().min(256)].copy_from_slice(&m[..m.len().min(256)]);
            s
        }),
    );
    public
}

#[test]
fn nv_define_write_read_chunked_and_undefine() {
    let (fake, t) = tpm();
    let idx = 0x0140_0002;
    assert_eq!(
        t.nv_read_public(idx).unwrap_err().rc_kind(),
        Some(RcKind::Handle)
    );
    let data: Vec<u8> = (0..2600u32).map(|i| (i % 251) as u8).collect();
    let public = NvPublic {
        index: idx,
        name_alg: TPM_ALG_SHA256,
        attributes: nv_attributes::OWNERREAD | nv_attributes::OWNERWRITE,
        auth_policy: vec![],
        data_size: data.len() as u16,
    };
    t.nv_define_space(&public).unwrap();
    let again = t.nv_define_space(&public).unwrap_err();
    assert_eq!(again.rc_kind(), Some(RcKind::NvDefined));
    assert_eq!(again.command(), TpmCommand::NvDefineSpace);
    assert!(
        again
            .to_string()
            .contains("TPM2_NV_DefineSpace failed: TPM_RC_NV_DEFINED"),
        "{again}"
    );
    t.nv_write(idx, &data).unwrap();
    assert_eq!(fake.nv(idx).unwrap(), data);
    assert_eq!(t.nv_read_public(idx).unwrap().data_size, 2600);
    let before = fake.log().len();
    assert_eq!(t.nv_read_all(idx).unwrap(), data);
    // ReadPublic + three chunks of at most 1024.
    assert_eq!(fake.log().len() - before, 4);
    assert_eq!(t.nv_read(idx, 100, 10).unwrap(), data[100..110].to_vec());
    // Past the end: TPM_RC_NV_RANGE, named.
    let e = t.nv_read(idx, 2590, 20).unwrap_err();
    assert_eq!(e.rc_kind(), Some(RcKind::NvRange));
    t.nv_undefine_space(idx).unwrap();
    assert!(t.nv_read_all(idx).is_err());
}

#[test]
fn pcr_read_takes_several_rounds_and_matches_the_fake() {
    let (fake, t) = tpm();
    let all: Vec<u32> = (0..24).collect();
    let before = fake.log().len();
    let v = t.pcr_read(TPM_ALG_SHA256, &all).unwrap();
    assert_eq!(fake.log().len() - before, 3, "8 PCRs per answer");
    let expect = fake.pcrs();
    assert_eq!(v.values.len(), 24);
    for (i, (idx, val)) in v.values.iter().enumerate() {
        assert_eq!(*idx as usize, i);
        assert_eq!(val[..], expect[i][..]);
    }
    // An unknown bank is refused before anything is sent.
    assert!(matches!(
        t.pcr_read(0x0099, &[0]),
        Err(TpmError::BadRequest { .. })
    ));
}

#[test]
fn quote_is_well_formed_and_bounded() {
    let (fake, t) = tpm();
    let public = with_key(&fake);
    let rp = t.read_public(AK).unwrap();
    assert_eq!(RsaPublic::parse(&rp.public).unwrap(), public);
    assert_eq!(rp.name, public.name().unwrap());
    let sel = [PcrSelection::new(
        TPM_ALG_SHA256,
        &(0..24).collect::<Vec<_>>(),
    )];
    let q = t.quote(AK, b"attestation-test-fixture", &sel).unwrap();
    let a = QuoteAttest::parse(&q.attest).unwrap();
    assert_eq!(a.extra_data, b"attestation-test-fixture");
    assert_eq!(q.attest.len(), 113 + 24);
    assert_eq!(
        a.qualified_signer,
        public
            .qualified_name_as_primary(TPM_RH_ENDORSEMENT)
            .unwrap()
    );
    let values: Vec<Vec<u8>> = fake.pcrs().iter().map(|p| p.to_vec()).collect();
    assert_eq!(a.pcr_digest, wire::pcr_digest_sha256(&values).to_vec());
    assert!(
        matches!(q.signature, Signature::RsaSsa { hash: TPM_ALG_SHA256, ref sig } if sig.len() == 256)
    );
    // 51 bytes: the Azure vTPM's TPM_RC_SIZE (0x1D5).
    let e = t.quote(AK, &[1; 51], &sel).unwrap_err();
    assert!(
        matches!(e, TpmError::Response { command: TpmCommand::Quote, rc } if rc.raw() == 0x1D5)
    );
    // 67 bytes: refused locally.
    assert!(matches!(
        t.quote(AK, &[1; 67], &sel),
        Err(TpmError::BadRequest { .. })
    ));
    // No key at the handle.
    assert_eq!(
        t.quote(0x8100_0009, b"n", &sel).unwrap_err().rc_kind(),
        Some(RcKind::Handle)
    );
}

#[test]
fn transient_codes_are_retried_within_the_budget() {
    let (fake, t) = tpm();
    fake.set_nv(1, vec![1, 2, 3]);
    fake.inject(Some(TpmCommand::NvReadPublic), TpmFault::Retry(3));
    assert_eq!(t.nv_read_all(1).unwrap(), vec![1, 2, 3]);
    fake.inject(Some(TpmCommand::NvReadPublic), TpmFault::Retry(4));
    let e = t.nv_read_all(1).unwrap_err();
    assert_eq!(e.rc_kind(), Some(RcKind::Retry));
    // Into the SDK error: a busy device.
    assert!(matches!(Error::from(e), Error::Device(d) if d.kind == DeviceErrorKind::Busy));
    fake.inject(None, TpmFault::ResponseCode(tpm_rc::FAILURE));
    let e = t.nv_read_all(1).unwrap_err();
    assert!(
        matches!(Error::from(e), Error::Device(d) if d.kind == DeviceErrorKind::Firmware(0x101))
    );
}

#[test]
fn short_and_broken_responses_are_typed() {
    let (fake, t) = tpm();
    fake.set_nv(1, vec![9; 40]);
    for n in [0, 5, 9, 10, 12, 20] {
        fake.inject(Some(TpmCommand::NvRead), TpmFault::Truncate(n));
        let e = t.nv_read(1, 0, 40).unwrap_err();
        assert!(
            matches!(
                e,
                TpmError::BadResponse {
                    command: TpmCommand::NvRead,
                    ..
                }
            ),
            "{n}: {e}"
        );
        assert!(
            matches!(Error::from(e), Error::Device(d) if d.kind == DeviceErrorKind::CorruptOutput)
        );
    }
    fake.inject(None, TpmFault::Transport(DeviceErrorKind::Io));
    let e = t.nv_read(1, 0, 4).unwrap_err();
    assert!(matches!(
        e,
        TpmError::Transport {
            command: TpmCommand::NvRead,
            ..
        }
    ));
    assert_eq!(t.nv_read(1, 0, 4).unwrap(), vec![9; 4]);
}

#[test]
fn write_hook_models_a_paravisor_that_regenerates_a_report() {
    let (fake, t) = tpm();
    fake.set_nv(0x0140_0001, vec![0; 8]);
    fake.set_nv(0x0140_0002, vec![0; 4]);
    fake.set_nv_write_hook(
        Arc::new(|i, d: &[u8]| {
            if i == 0x0140_0002 {
                vec![(0x0140_0001, [d, d].concat())]
            } else {
                vec![]
            }
        }),
        2,
    );
    t.nv_write(0x0140_0002, &[1, 2, 3, 4]).unwrap();
    // Stale for two reads, then fresh.
    assert_eq!(t.nv_read(0x0140_0001, 0, 8).unwrap(), vec![0; 8]);
    assert_eq!(t.nv_read(0x0140_0001, 0, 8).unwrap(), vec![0; 8]);
    assert_eq!(
        t.nv_read(0x0140_0001, 0, 8).unwrap(),
        vec![1, 2, 3, 4, 1, 2, 3, 4]
    );
}

#[test]
fn the_device_transport_reports_a_missing_device() {
    let dir = tempfile::tempdir().unwrap();
    let e = DeviceTransport::open(&dir.path().join("tpmrm0")).unwrap_err();
    assert!(matches!(e, Error::Device(d) if d.kind == DeviceErrorKind::NotFound));
}
