//! AR4SI (draft-ietf-rats-ar4si §3): trust tiers and the trustworthiness
//! vector.

use core::fmt;

use serde_json::Value;

use crate::EarError;

/// An appraisal status (`ear.status`), in order of badness:
/// none < affirming < warning < contraindicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Status {
    /// No claim is made (CBOR 0).
    None,
    /// The verifier affirms the attester (CBOR 2).
    Affirming,
    /// Warning (CBOR 32).
    Warning,
    /// Contraindicated (CBOR 96).
    Contraindicated,
}

impl Status {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Affirming => "affirming",
            Self::Warning => "warning",
            Self::Contraindicated => "contraindicated",
        }
    }

    /// Parse a JSON name.
    pub fn from_name(s: &str) -> Option<Self> {
        [
            Self::None,
            Self::Affirming,
            Self::Warning,
            Self::Contraindicated,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }

    /// The tier of an AR4SI claim value: 0, 1 and -1 are none; 2..=31 and
    /// -32..=-2 affirming; 32..=95 and -96..=-33 warning; 96..=127 and
    /// -128..=-97 contraindicated.
    pub fn of_value(v: i8) -> Self {
        match v {
            -1..=1 => Self::None,
            2..=31 | -32..=-2 => Self::Affirming,
            32..=95 | -96..=-33 => Self::Warning,
            _ => Self::Contraindicated,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One AR4SI trustworthiness claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TrustClaim {
    /// `instance-identity` (0).
    InstanceIdentity,
    /// `configuration` (1).
    Configuration,
    /// `executables` (2).
    Executables,
    /// `file-system` (3).
    FileSystem,
    /// `hardware` (4).
    Hardware,
    /// `runtime-opaque` (5).
    RuntimeOpaque,
    /// `storage-opaque` (6).
    StorageOpaque,
    /// `sourced-data` (7).
    SourcedData,
}

impl TrustClaim {
    /// All claims in CBOR key order.
    pub const ALL: [Self; 8] = [
        Self::InstanceIdentity,
        Self::Configuration,
        Self::Executables,
        Self::FileSystem,
        Self::Hardware,
        Self::RuntimeOpaque,
        Self::StorageOpaque,
        Self::SourcedData,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::InstanceIdentity => "instance-identity",
            Self::Configuration => "configuration",
            Self::Executables => "executables",
            Self::FileSystem => "file-system",
            Self::Hardware => "hardware",
            Self::RuntimeOpaque => "runtime-opaque",
            Self::StorageOpaque => "storage-opaque",
            Self::SourcedData => "sourced-data",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for TrustClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An AR4SI trustworthiness vector. A claim at 0 is "no claim" and is left
/// out of the JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TrustVector([i8; 8]);

/// The claims that are not 0 (none), by name.
impl serde::Serialize for TrustVector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(None)?;
        for c in TrustClaim::ALL {
            let v = self.get(c);
            if v != 0 {
                m.serialize_entry(c.name(), &v)?;
            }
        }
        m.end()
    }
}

impl TrustVector {
    /// The empty vector (no claims).
    pub fn new() -> Self {
        Self::default()
    }

    /// Every claim at `v` (e.g. 99: cryptographic validation of the
    /// evidence failed).
    pub fn all(v: i8) -> Self {
        Self([v; 8])
    }

    /// A claim's value (0 when absent).
    pub fn get(&self, c: TrustClaim) -> i8 {
        self.0[c.index()]
    }

    /// Set a claim.
    pub fn set(&mut self, c: TrustClaim, v: i8) {
        self.0[c.index()] = v;
    }

    /// Builder: set a claim.
    #[must_use]
    pub fn with(mut self, c: TrustClaim, v: i8) -> Self {
        self.set(c, v);
        self
    }

    /// Raise a claim to `v` if `v` is in a worse tier (or the same tier
    /// with a larger value): the combination rule of the mapping table.
    pub fn raise(&mut self, c: TrustClaim, v: i8) {
        let cur = self.get(c);
        if (Status::of_value(v), v) > (Status::of_value(cur), cur) {
            self.set(c, v);
        }
    }

    /// The worst tier over all claims (none when every claim is none):
    /// the best status an appraisal carrying this vector may have.
    pub fn worst(&self) -> Status {
        self.0
            .iter()
            .map(|v| Status::of_value(*v))
            .max()
            .unwrap_or(Status::None)
    }

    #[cfg(test)]
    pub(crate) fn to_json(self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub(crate) fn from_json(v: &Value) -> Result<Self, EarError> {
        const CLAIM: &str = "ear.trustworthiness-vector";
        let m = v
            .as_object()
            .ok_or_else(|| EarError::claim(CLAIM, "not an object"))?;
        let mut out = Self::new();
        for (k, v) in m {
            let c = TrustClaim::ALL
                .into_iter()
                .find(|c| c.name() == k)
                .ok_or_else(|| EarError::claim(CLAIM, format_args!("unknown claim `{k}`")))?;
            let n = v
                .as_i64()
                .and_then(|n| i8::try_from(n).ok())
                .ok_or_else(|| {
                    EarError::claim(CLAIM, format_args!("`{k}` is not an integer in -128..=127"))
                })?;
            out.set(c, n);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_ar4si() {
        for (v, t) in [
            (0, Status::None),
            (1, Status::None),
            (-1, Status::None),
            (2, Status::Affirming),
            (31, Status::Affirming),
            (-2, Status::Affirming),
            (-32, Status::Affirming),
            (32, Status::Warning),
            (33, Status::Warning),
            (95, Status::Warning),
            (-33, Status::Warning),
            (-96, Status::Warning),
            (96, Status::Contraindicated),
            (127, Status::Contraindicated),
            (-97, Status::Contraindicated),
            (-128, Status::Contraindicated),
        ] {
            assert_eq!(Status::of_value(v), t, "{v}");
        }
    }

    #[test]
    fn raise_keeps_the_worst() {
        let mut v = TrustVector::new();
        v.raise(TrustClaim::Hardware, 2);
        assert_eq!(v.get(TrustClaim::Hardware), 2);
        v.raise(TrustClaim::Hardware, 32);
        v.raise(TrustClaim::Hardware, 2);
        assert_eq!(v.get(TrustClaim::Hardware), 32);
        v.raise(TrustClaim::Hardware, -97);
        assert_eq!(v.get(TrustClaim::Hardware), -97);
        assert_eq!(v.worst(), Status::Contraindicated);
        assert_eq!(TrustVector::new().worst(), Status::None);
    }

    #[test]
    fn json_round_trip_and_rejections() {
        let v = TrustVector::new()
            .with(TrustClaim::Executables, 33)
            .with(TrustClaim::Hardware, 2);
        let j = v.to_json();
        assert_eq!(j, serde_json::json!({"executables": 33, "hardware": 2}));
        assert_eq!(TrustVector::from_json(&j).unwrap(), v);
        for bad in [
            serde_json::json!({"executable": 2}),
            serde_json::json!({"hardware": 128}),
            serde_json::json!({"hardware": 2.0}),
            serde_json::json!({"hardware": "2"}),
            serde_json::json!([2]),
        ] {
            assert!(
                matches!(TrustVector::from_json(&bad), Err(EarError::BadClaim { .. })),
                "{bad}"
            );
        }
    }
}
