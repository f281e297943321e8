#!/usr/bin/env bash
# The simulated Azure SEV-SNP and TDX VMs through the teectl binary (cargo
# feature `simulation`, NO SECURITY): report -> evidence file -> verify, with
# the negatives (crates/teectl/tests/sim/azure_sim.rs). The feature is off in the
# workspace build, so this step builds and lints it on its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo clippy --locked -p teectl --features simulation --all-targets -- -D warnings
cargo test --locked -p teectl --features simulation --test sim
