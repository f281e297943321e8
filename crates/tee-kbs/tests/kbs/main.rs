//! The integration tests of `tee-kbs`: one test target (`cargo test -p
//! tee-kbs --test kbs`), one module per area, what they share in
//! [`common`]. Select an area by its module path, e.g. `cargo test -p
//! tee-kbs --test kbs -- convert_azure::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod convert;
mod convert_azure;
mod jwe_vectors;
mod kbs;
