//! The go-tdx-guest collateral files of the shared vectors as a PCCS
//! answers them (feature `pcs`): for tests of PCS/PCCS clients and
//! collateral caches.

use std::path::Path;

use tee_fetch::Response;

/// `b` percent-encoded as PCS response headers carry issuer chains
/// (every byte but ASCII alphanumerics as `%XX`).
pub fn header_encode(b: &[u8]) -> String {
    b.iter()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                (*c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// The go-tdx-guest collateral files in `dir` (`vectors/go-tdx-guest`) as
/// PCCS answers: `(path and query, response)`.
///
/// # Errors
/// A file of the set that cannot be read.
pub fn pccs_answers(dir: &Path) -> std::io::Result<Vec<(&'static str, Response)>> {
    let f = |n: &str| std::fs::read(dir.join(n));
    Ok(vec![
        (
            "/tdx/certification/v4/tcb?fmspc=50806F000000",
            Response::new(200, f("sample_tcbInfo_response")?).with_header(
                "TCB-Info-Issuer-Chain",
                header_encode(&f("tcb_info_issuer_chain.pem")?),
            ),
        ),
        (
            "/tdx/certification/v4/qe/identity",
            Response::new(200, f("sample_qeIdentity_response")?).with_header(
                "SGX-Enclave-Identity-Issuer-Chain",
                header_encode(&f("tcb_info_issuer_chain.pem")?),
            ),
        ),
        (
            "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
            Response::new(200, f("pckcrl.der")?).with_header(
                "SGX-PCK-CRL-Issuer-Chain",
                header_encode(&f("pck_crl_issuer_chain.pem")?),
            ),
        ),
        (
            "/sgx/certification/v4/rootcacrl",
            Response::new(200, hex::encode(f("rootcrl.der")?).into_bytes()),
        ),
    ])
}
