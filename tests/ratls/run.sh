#!/usr/bin/env bash
# tee-ratls feature combinations beyond the workspace build (which has
# `rustls`, the default): the format layer alone (no X.509, no rustls) and
# the certificate layer without rustls (what teectl links).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo clippy --locked -p tee-ratls --no-default-features --all-targets -- -D warnings
cargo test --locked -p tee-ratls --no-default-features
cargo clippy --locked -p tee-ratls --no-default-features --features cert --all-targets -- -D warnings
cargo test --locked -p tee-ratls --no-default-features --features cert
