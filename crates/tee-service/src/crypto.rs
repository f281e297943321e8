//! The crypto implementation of the whole service: SEV-SNP and TDX
//! signature checks and EAR token signing, one choice for all.
//!
//! Built with the cargo feature `aws-lc`, the service uses aws-lc-rs
//! (`Crypto::AwsLc`, the build's [`Crypto::build_default`]); without it,
//! pure-Rust RustCrypto. Every implementation gives the same verdicts and
//! the same token format (tested in the backends and in tee-ear). The
//! choice is reported at startup by `teectl serve`, on `/healthz`
//! (`"crypto"`) and on `/metrics` (`tee_service_crypto_info`).

use core::fmt;

/// Which implementation verifies signatures and signs tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Crypto {
    /// RustCrypto (pure Rust): the default without the feature `aws-lc`.
    RustCrypto,
    /// aws-lc-rs (feature `aws-lc`).
    #[cfg(feature = "aws-lc")]
    AwsLc,
}

impl Default for Crypto {
    fn default() -> Self {
        Self::build_default()
    }
}

impl Crypto {
    /// aws-lc-rs in builds with the feature `aws-lc`, else RustCrypto.
    pub const fn build_default() -> Self {
        #[cfg(feature = "aws-lc")]
        {
            Self::AwsLc
        }
        #[cfg(not(feature = "aws-lc"))]
        {
            Self::RustCrypto
        }
    }

    /// The name reported (`"RustCrypto"`, `"aws-lc-rs"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::RustCrypto => "RustCrypto",
            #[cfg(feature = "aws-lc")]
            Self::AwsLc => "aws-lc-rs",
        }
    }

    /// The EAR signer's implementation.
    pub fn ear(self) -> tee_ear::Crypto {
        match self {
            Self::RustCrypto => tee_ear::Crypto::RustCrypto,
            #[cfg(feature = "aws-lc")]
            Self::AwsLc => tee_ear::Crypto::AwsLc,
        }
    }

    /// The SEV-SNP verifier's provider.
    #[cfg(feature = "sev-snp")]
    pub fn snp(self) -> &'static dyn tee::sev::crypto::CryptoProvider {
        match self {
            Self::RustCrypto => &tee::sev::crypto::RUST_CRYPTO,
            #[cfg(feature = "aws-lc")]
            Self::AwsLc => &tee::sev::crypto::AWS_LC,
        }
    }

    /// The TDX verifier's provider.
    #[cfg(feature = "tdx")]
    pub fn tdx(self) -> &'static dyn tee::tdx::crypto::CryptoProvider {
        match self {
            Self::RustCrypto => &tee::tdx::crypto::RUST_CRYPTO,
            #[cfg(feature = "aws-lc")]
            Self::AwsLc => &tee::tdx::crypto::AWS_LC,
        }
    }

    /// `v` checking signatures with this implementation (its settings
    /// kept, its cache fresh).
    #[cfg(feature = "sev-snp")]
    pub fn snp_verifier(self, v: tee::sev::SnpVerifier) -> tee::sev::SnpVerifier {
        v.with_crypto(self.snp())
    }

    /// `v` checking signatures with this implementation (its settings
    /// kept, its cache fresh).
    #[cfg(feature = "tdx")]
    pub fn tdx_verifier(self, v: tee::tdx::TdxVerifier) -> tee::tdx::TdxVerifier {
        v.with_crypto(self.tdx())
    }

    /// The collateral manager with its verifiers on this implementation.
    #[cfg(all(feature = "collateral", feature = "sev-snp", feature = "tdx"))]
    pub fn manager(self, m: tee::collateral::Manager) -> tee::collateral::Manager {
        let snp = self.snp_verifier(m.snp_verifier().clone());
        let tdx = self.tdx_verifier(m.tdx_verifier().clone());
        m.with_snp_verifier(snp).with_tdx_verifier(tdx)
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
