//! AMD roots pinned in this crate: for each product the ARK (AMD Root
//! Key), the ASK (AMD SEV Key, signs VCEKs) and the ASVK (AMD SEV VLEK Key,
//! signs VLEKs). These are public certificates from AMD's Key Distribution
//! Service (`https://kdsintf.amd.com/vcek/v1/<product>/cert_chain` and
//! `.../vlek/v1/<product>/cert_chain`), the same ones virtee/sev,
//! go-sev-guest and trustee pin.
//!
//! The certificates are files beside this module (`<product>_<ark|ask|asvk>.pem`),
//! compiled in with `include_str!`; a test pins the SHA-256 of each file.

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
        ark: include_str!("milan_ark.pem"),
        ask: include_str!("milan_ask.pem"),
        asvk: include_str!("milan_asvk.pem"),
    },
    PinnedPem {
        product: Product::Genoa,
        ark: include_str!("genoa_ark.pem"),
        ask: include_str!("genoa_ask.pem"),
        asvk: include_str!("genoa_asvk.pem"),
    },
    PinnedPem {
        product: Product::Turin,
        ark: include_str!("turin_ark.pem"),
        ask: include_str!("turin_ask.pem"),
        asvk: include_str!("turin_asvk.pem"),
    },
];

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::PINNED;

    /// SHA-256 of each pinned PEM file, in `PINNED` order (ARK, ASK, ASVK).
    const PINNED_SHA256: [(&str, [&str; 3]); 3] = [
        (
            "milan",
            [
                "8c109952166431ffad8cb9a3d54f3d20ffbbb58164f0d54be3457bf0ece9e0d8",
                "8da3a65af1cb7cb90a21fac78431a2431a9ee7811f48c36569c53fb80ad31fee",
                "6c0c38ecb76c9f2b2d054f7d806fd5ccfec970599149ce0ed37b1f77fa409ab7",
            ],
        ),
        (
            "genoa",
            [
                "96bff94e97e2b7ddf4bf3b9b7f780f94a46b8c51f52abfdcc283be7df36ce405",
                "22fea250e0390b22008c9a415f4bd915ae8cef4a240f9d21702e84eb250b9186",
                "9aca5d858c6a4e310e8f91251c6dcdad848e596684b73559ff2fb84cdcc18f1d",
            ],
        ),
        (
            "turin",
            [
                "b69c981fe0216c3d8e682eb6f480c6879497103071e52b5e603178638db8f68d",
                "c72a54fb75a0a06b0c8dbf68b04893d0891751b94ce4da8231d11fd18a0da944",
                "408e14874c1406f08432ffc653f9c9bcffe35dce4926405915d77a278eb493f2",
            ],
        ),
    ];

    fn sha256(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    #[test]
    fn pinned_root_pems_are_unchanged() {
        for (p, (name, want)) in PINNED.iter().zip(PINNED_SHA256) {
            assert_eq!(p.product.kds_name().to_ascii_lowercase(), name);
            for (pem, want) in [p.ark, p.ask, p.asvk].into_iter().zip(want) {
                assert_eq!(sha256(pem.as_bytes()), want, "{name}");
            }
        }
    }

    /// The files on disk are exactly the compiled-in ones, with the pinned
    /// hashes: no stray or renamed certificate next to this module.
    #[test]
    fn root_files_on_disk_match_the_pins() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/roots");
        let mut pems: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".pem"))
            .collect();
        pems.sort();
        let mut want: Vec<String> = PINNED_SHA256
            .iter()
            .flat_map(|(p, _)| ["ark", "ask", "asvk"].map(|k| format!("{p}_{k}.pem")))
            .collect();
        want.sort();
        assert_eq!(pems, want);
        for (name, hashes) in PINNED_SHA256 {
            for (k, want) in ["ark", "ask", "asvk"].into_iter().zip(hashes) {
                let bytes = std::fs::read(dir.join(format!("{name}_{k}.pem"))).unwrap();
                assert_eq!(sha256(&bytes), want, "{name}_{k}.pem");
            }
        }
    }
}
