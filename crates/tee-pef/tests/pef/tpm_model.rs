use super::*;

fn tpm_a() -> SimTpm {
    let d = tempfile::tempdir().unwrap();
    machine_a().save(d.path()).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |n: &str| {
            std::fs::metadata(d.path().join(n))
                .unwrap()
                .permissions()
                .mode()
        };
        assert_eq!(
            mode("tpm-priv.pem") & 0o777,
            0o600,
            "the private key is 0600"
        );
        // Saving again replaces the files atomically; no temporary is left.
        machine_a().save(d.path()).unwrap();
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }
    SimTpm::with_key(
        RsaKeyPair::from_pkcs8_pem(
            &std::fs::read_to_string(d.path().join("tpm-priv.pem")).unwrap(),
        )
        .unwrap(),
    )
}

#[test]
fn firmware_rotates_password_and_locks_pcr16() {
    let mut t = tpm_a();
    let c1 = t.firmware_boot().unwrap();
    assert!(t.pcr16_locked());
    assert_eq!(c1.passwd.len(), 17);
    assert_eq!(c1.passwd[16], 0);
    assert!(c1.passwd[..16].iter().all(|&b| b != 0));
    assert_eq!(c1.handle, 0x8180_0001);
    assert_eq!(c1.policy_a, tpm::policy::a());
    assert_eq!(c1.public_name.len(), 34);
    assert_eq!(&c1.public_name[..2], &[0x00, 0x0b]);
    let c2 = t.firmware_boot().unwrap();
    assert_ne!(c1.passwd, c2.passwd, "fresh password every boot");
    assert_eq!(c1.public_name, c2.public_name);
}

#[test]
fn policy_a_needs_the_password_and_policy_b_is_closed_after_firmware() {
    let mut t = tpm_a();
    let cfg = t.firmware_boot().unwrap();
    let ct = tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap())
        .unwrap()
        .wrap(&[7; 32])
        .unwrap();
    let session_a = |t: &mut SimTpm| {
        let mut s = t.start_policy_session();
        t.policy_command_code(&mut s, tpm::TPM_CC_RSA_DECRYPT);
        t.policy_auth_value(&mut s);
        t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
            .unwrap();
        s
    };
    let s = session_a(&mut t);
    assert_eq!(
        *t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, &cfg.passwd[..16])
            .unwrap(),
        [7; 32]
    );
    let s = session_a(&mut t);
    assert_eq!(
        t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, b"guessed password")
            .unwrap_err(),
        TpmError::AuthFail
    );
    // Policy B is unusable after firmware: PCR16 is no longer zero and cannot be reset.
    let mut s = t.start_policy_session();
    t.policy_command_code(&mut s, tpm::TPM_CC_OBJECT_CHANGE_AUTH);
    t.policy_pcr16(&mut s, &[0; 32]);
    t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
        .unwrap();
    assert_eq!(
        t.object_change_auth(&s, b"host-chosen").unwrap_err(),
        TpmError::PcrMismatch
    );
    assert_eq!(t.pcr16_reset().unwrap_err(), TpmError::Locked);
    // A policy-B session cannot decrypt.
    assert_eq!(
        t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, b"")
            .unwrap_err(),
        TpmError::Session
    );
    // Unknown policy branch.
    let mut s = t.start_policy_session();
    t.policy_auth_value(&mut s);
    assert_eq!(
        t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
            .unwrap_err(),
        TpmError::PolicyFail
    );
}

#[test]
fn if_pcr16_were_resettable_the_host_could_decrypt() {
    // The caveat of the model (§6.2): documents why the assumption matters.
    let mut t = tpm_a();
    t.firmware_boot().unwrap();
    t.danger_unlock_pcr16();
    t.pcr16_reset().unwrap();
    let mut s = t.start_policy_session();
    t.policy_command_code(&mut s, tpm::TPM_CC_OBJECT_CHANGE_AUTH);
    t.policy_pcr16(&mut s, &[0; 32]);
    t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
        .unwrap();
    t.object_change_auth(&s, b"host-chosen").unwrap();
    let ct = tee_pef::crypto::RecipientKey::from_pem(&machine_a().public_pem().unwrap())
        .unwrap()
        .wrap(&[9; 32])
        .unwrap();
    let mut s = t.start_policy_session();
    t.policy_command_code(&mut s, tpm::TPM_CC_RSA_DECRYPT);
    t.policy_auth_value(&mut s);
    t.policy_or(&mut s, &[tpm::policy::a(), tpm::policy::b()])
        .unwrap();
    assert_eq!(
        *t.rsa_decrypt(tpm::WRAPPING_KEY_HANDLE, &ct, &s, b"host-chosen")
            .unwrap(),
        [9; 32]
    );
}
