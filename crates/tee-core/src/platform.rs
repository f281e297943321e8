//! The TEE platforms the SDK knows.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// A TEE platform. Serialized in kebab case (`"sev-snp"`, `"tdx"`, `"pef"`, `"mock"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Platform {
    /// AMD SEV-SNP.
    SevSnp,
    /// Intel TDX.
    Tdx,
    /// IBM Protected Execution Facility (POWER).
    Pef,
    /// The software mock. **NO SECURITY.**
    Mock,
}

impl Platform {
    /// All platforms, in a stable order.
    pub const ALL: [Platform; 4] = [Self::SevSnp, Self::Tdx, Self::Pef, Self::Mock];

    /// The stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::SevSnp => "sev-snp",
            Self::Tdx => "tdx",
            Self::Pef => "pef",
            Self::Mock => "mock",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Platform {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sev-snp" | "snp" | "sev" => Ok(Self::SevSnp),
            "tdx" => Ok(Self::Tdx),
            "pef" => Ok(Self::Pef),
            "mock" => Ok(Self::Mock),
            _ => Err(crate::Error::bad_field(
                "platform name",
                "platform",
                format_args!("unknown platform `{s}` (expected sev-snp, tdx, pef or mock)"),
            )),
        }
    }
}
