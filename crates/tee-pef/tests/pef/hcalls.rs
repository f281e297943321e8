use super::*;
use tee_pef::uv::HcallDisposition;

#[test]
fn h_random_from_an_svm_is_h_function_as_in_the_code() {
    let uv = secure_vm();
    let mut uv = uv.lock().unwrap();
    assert_eq!(
        uv.svm_hcall(Caller::svm_kernel(7), H_RANDOM),
        HcallDisposition::Returned(H_FUNCTION)
    );
    assert_eq!(
        uv.svm_hcall(Caller::svm_kernel(7), 0x04),
        HcallDisposition::Reflected
    );
    assert_eq!(
        uv.svm_hcall(Caller::guest_kernel(9), H_RANDOM),
        HcallDisposition::NotSecure
    );
}
