//! The integration tests of `tee-azure`: one test target (`cargo test -p
//! tee-azure --test azure`), one module per area. Select an area by its
//! module path, e.g. `cargo test -p tee-azure --test azure -- vectors::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod doctor;
mod e2e;
mod imds;
mod parsers;
mod vectors;
