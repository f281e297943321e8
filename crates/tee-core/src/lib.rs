#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod appraisal;
pub mod bytes;
pub mod cache;
pub mod claims;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod doctor;
pub mod error;
pub mod evidence;
pub mod measurement;
pub mod platform;
pub mod platforms;
pub mod reader;
pub mod reference;
pub mod report_data;
pub mod seal;
pub mod time;
pub mod traits;
pub mod verified;

pub use appraisal::{Appraisal, Check, Outcome, Policy, appraise};
pub use bytes::HexBytes;
pub use claims::{Claim, Claims, PlatformClaims, TcbStatus, TcbSummary, TrustRoot};
pub use error::{
    Authenticity, DeviceError, DeviceErrorKind, Error, ErrorClass, Malformed, MalformedKind,
    Operation, Result, UnsealError, Unsupported,
};
pub use evidence::{Endorsement, Evidence};
pub use measurement::{Digest384, Event, EventLog, RegisterValue, ReplayCheck};
pub use platform::Platform;
pub use report_data::ReportData;
pub use seal::{EnvelopeSealer, SealBinding, SealPolicy, SealingKeySource};
pub use time::UnixTime;
pub use traits::{
    Attester, Backend, Capabilities, RuntimeMeasurement, Sealer, Support, Verifier, VtpmAttester,
};
pub use verified::Verified;
