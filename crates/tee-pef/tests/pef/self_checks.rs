use super::*;

#[test]
fn rtas_constant_is_sha512_of_slof_stub() {
    assert_eq!(hex::encode(sha512(&SLOF_RTAS_STUB)), SLOF_RTAS_SHA512_HEX);
    assert_eq!(
        hex::encode(SLOF_RTAS_STUB),
        "7c641b783c6000006063f000440000224e800020"
    );
}

#[test]
fn policy_digests_equal_firmware_constants() {
    assert_eq!(hex::encode(tpm::policy::a()), tpm::POLICY_A_HEX);
    assert_eq!(hex::encode(tpm::policy::b()), tpm::POLICY_B_HEX);
    assert_eq!(
        hex::encode(tpm::policy::auth_policy()),
        tpm::AUTH_POLICY_HEX
    );
    assert_eq!(
        tpm::POLICY_A_HEX,
        "8dbd2aa10f701b1eda230fa8a38803d342f3b48c2ffcbed56c04674c79dff00f"
    );
    assert_eq!(
        tpm::POLICY_B_HEX,
        "9795d78f53de94401899cc2d5ba76007b3d4dad85bf95cabeeba04d0f98b502e"
    );
    assert_eq!(
        tpm::AUTH_POLICY_HEX,
        "e86c7354251aa8e6ce27fddc541946f48120ff95c3d7a4d343f463321bd3e55c"
    );
}

#[test]
fn call_numbers_and_codes() {
    assert_eq!(
        [
            UV_WRITE_PATE,
            UV_RESTRICTED_SPR_WRITE,
            UV_RESTRICTED_SPR_READ,
            UV_ESM,
            UV_READ_SCOM,
            UV_WRITE_SCOM,
            UV_RETURN
        ],
        [0xF104, 0xF108, 0xF10C, 0xF110, 0xF114, 0xF118, 0xF11C]
    );
    assert_eq!(
        [
            UV_REGISTER_MEM_SLOT,
            UV_UNREGISTER_MEM_SLOT,
            UV_PAGE_IN,
            UV_PAGE_OUT,
            UV_SHARE_PAGE,
            UV_UNSHARE_PAGE
        ],
        [0xF120, 0xF124, 0xF128, 0xF12C, 0xF130, 0xF134]
    );
    assert_eq!(
        [
            UV_PAGE_INVAL,
            UV_SVM_TERMINATE,
            UV_UNSHARE_ALL_PAGES,
            UV_READ_MEM,
            UV_WRITE_MEM,
            UV_ESMB_GET_FILE,
            UV_SEND_SBE_COMMAND
        ],
        [0xF138, 0xF13C, 0xF140, 0xF144, 0xF148, 0xF14C, 0xF150]
    );
    assert_eq!(
        [
            H_SVM_PAGE_IN,
            H_SVM_PAGE_OUT,
            H_SVM_INIT_START,
            H_SVM_INIT_DONE,
            H_SVM_TPM_COMM,
            H_SVM_INIT_ABORT
        ],
        [0xEF00, 0xEF04, 0xEF08, 0xEF0C, 0xEF10, 0xEF14]
    );
    assert_eq!(
        [
            U_SUCCESS,
            U_FUNCTION,
            U_PARAMETER,
            U_RETRY,
            U_PERMISSION,
            U_P2,
            U_P3,
            U_P4,
            U_P5,
            U_BAD_MODE,
            U_STATE,
            U_BUSY
        ],
        [0, -2, -4, -5, -11, -55, -56, -57, -58, -59, -75, 1]
    );
    assert_eq!(H_PARAMETER, -4);
    assert_eq!(MSR_S, 1 << 22);
    assert_eq!(tpm::WRAPPING_KEY_HANDLE, 0x8180_0001);
    assert_eq!(tpm::PARENT_HANDLE, 0x8180_0000);
}

#[test]
fn register_packing_is_big_endian() {
    let r = pack_regs(b"crypttab");
    assert_eq!(r[0], u64::from_be_bytes(*b"crypttab"));
    assert_eq!(r[1..], [0; 7]);
    assert_eq!(&unpack_regs(&r)[..8], b"crypttab");
}
