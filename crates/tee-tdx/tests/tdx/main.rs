//! tee-tdx integration tests, one binary with a module per concern:
//! - `vectors`: every TDX vector of `../shared/vectors/INDEX.md` with its
//!   expected outcome;
//! - `proptests`: no input makes a parser or the verifier panic;
//! - `e2e`: the fakes of the `testing` feature end to end (device,
//!   configfs-tsm, tsm-mr → quote → collateral → verify → appraise);
//! - `reference`: MRTD from TDVF images, RTMRs from the CCEL vector,
//!   MRCONFIGID, the policies they make, hostile TDVF input;
//! - `doctor`: the TDX doctor on fake guests and hosts;
//! - `cache`: the verified-collateral cache against the uncached path and
//!   the dcap-qvl oracle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod doctor;
mod e2e;
mod findings;
mod proptests;
mod reference;
mod vectors;
