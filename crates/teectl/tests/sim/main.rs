//! The simulated Azure VMs through the built binary (cargo feature
//! `simulation`, NO SECURITY): its own test target, so that the step that
//! builds teectl with the feature compiles only these tests
//! (`cargo test -p teectl --features simulation --test sim`). Without the
//! feature it checks that the simulation does not exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../cli/common.rs"]
#[allow(dead_code)]
mod common;

#[cfg(feature = "azure")]
mod azure_sim;
#[cfg(feature = "simulation")]
mod kbs_azure_sim;
