#!/usr/bin/env bash
# The Python binding: build the tee_sdk wheel with maturin, install it into a
# venv, and run its pytest suite (crates/tee-python/tests) on the shared
# vectors, including the comparison with `teectl verify` / `teectl reference`.
#   tests/python/run.sh             (the whole step)
#   tests/python/run.sh --venv-only (only the venv with maturin and pytest:
#                                    .ci/run does that download early, in the background)
# Env: PYTHON (default python3) creates the venv target/python-venv;
# TEE_TEST_VECTORS (default ../shared/vectors); CI set: missing vectors fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
VENV=target/python-venv
if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  'maturin==1.16.0' 'pytest==9.2.0'
if [ "${1:-}" = --venv-only ]; then
  echo "python binding: venv $VENV with maturin and pytest ready in $(( $(date +%s) - start )) s"
  exit 0
fi
# The claims and reference values are compared with this build's teectl
# (env TEECTL: a teectl binary already built, e.g. by the workspace tests).
if [ -z "${TEECTL:-}" ]; then
  cargo build --locked -p teectl
  TEECTL="$PWD/target/debug/teectl"
fi
rm -f target/wheels/tee_sdk-*.whl
# Development profile: the workspace's dependencies are optimised in it
# (Cargo.toml), and it reuses the artifacts of the cargo runs before this one.
"$VENV/bin/maturin" build --locked --strip \
  --manifest-path crates/tee-python/Cargo.toml --out target/wheels
wheel=$(ls target/wheels/tee_sdk-*.whl)
echo "built $wheel"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  --force-reinstall --no-deps "$wheel"
# tee_sdk is imported from the installed wheel (the tests directory holds
# no package of that name).
export TEECTL
if [ -z "${TEE_TEST_VECTORS:-}" ] && [ -d ../shared/vectors ]; then
  TEE_TEST_VECTORS="$(cd ../shared/vectors && pwd)"
  export TEE_TEST_VECTORS
fi
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest -p no:cacheprovider -q \
  crates/tee-python/tests
echo "python binding: wheel built and tested in $(( $(date +%s) - start )) s"
