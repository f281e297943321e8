//! AMD roots pinned in this crate: for each product the ARK (AMD Root
//! Key), the ASK (AMD SEV Key, signs VCEKs) and the ASVK (AMD SEV VLEK Key,
//! signs VLEKs). These are public certificates from AMD's Key Distribution
//! Service (`https://kdsintf.amd.com/vcek/v1/<product>/cert_chain` and
//! `.../vlek/v1/<product>/cert_chain`), the same ones virtee/sev,
//! go-sev-guest and trustee pin.

use crate::report::Product;

/// PEM of the pinned certificates for one product.
#[derive(Debug, Clone, Copy)]
pub struct PinnedPem {
    /// The product.
    pub product: Product,
    /// ARK (self-signed root).
    pub ark: &'static str,
    /// ASK (ARK → ASK → VCEK).
    pub ask: &'static str,
    /// ASVK (ARK → ASVK → VLEK).
    pub asvk: &'static str,
}

/// The pinned roots of every product.
pub const PINNED: [PinnedPem; 3] = [
    PinnedPem {
        product: Product::Milan,
        ark: crate::roots_pem::MILAN_ARK,
        ask: crate::roots_pem::MILAN_ASK,
        asvk: crate::roots_pem::MILAN_ASVK,
    },
    PinnedPem {
        product: Product::Genoa,
        ark: crate::roots_pem::GENOA_ARK,
        ask: crate::roots_pem::GENOA_ASK,
        asvk: crate::roots_pem::GENOA_ASVK,
    },
    PinnedPem {
        product: Product::Turin,
        ark: crate::roots_pem::TURIN_ARK,
        ask: crate::roots_pem::TURIN_ASK,
        asvk: crate::roots_pem::TURIN_ASVK,
    },
];
