use super::*;

#[test]
fn page_out_gives_the_hv_only_authenticated_ciphertext() {
    let uv = secure_vm();
    let mut uv = uv.lock().unwrap();
    let page = vec![0x5a; 4096];
    let ct1 = uv.hv_page_out(7, 0x40, &page).unwrap();
    assert_ne!(ct1, page);
    assert_eq!(ct1.len(), page.len());
    let ct2 = uv.hv_page_out(7, 0x41, &page).unwrap();
    assert_ne!(ct1, ct2, "fresh IV per page-out");
    assert_eq!(uv.hv_page_in(7, 0x40, &ct1).unwrap(), page);
    // Replay of an already paged-in page, or a modified page: refused.
    assert!(uv.hv_page_in(7, 0x40, &ct1).is_none());
    let mut bad = ct2.clone();
    bad[0] ^= 1;
    assert!(uv.hv_page_in(7, 0x41, &bad).is_none());
    // No AAD, but a page moved to another frame fails that frame's tag.
    let ct3 = uv.hv_page_out(7, 0x42, &page).unwrap();
    let _ct4 = uv.hv_page_out(7, 0x43, &page).unwrap();
    assert!(uv.hv_page_in(7, 0x43, &ct3).is_none());
    // Not a secure SVM.
    assert!(uv.hv_page_out(8, 0x40, &page).is_none());
}
