//! The cross-backend suite: one integration binary with a module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod concurrency;
mod conformance;
mod facade;
