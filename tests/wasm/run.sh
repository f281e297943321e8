#!/usr/bin/env bash
# The WebAssembly binding (crates/tee-wasm) in Node: build it for
# wasm32-unknown-unknown, generate the Node glue with wasm-bindgen (exactly the
# version in Cargo.lock, installed into target/wasm-tools), and run
# tests/wasm/verify.test.js (plain `node --test`, no npm packages)
# on the shared vectors, comparing with `teectl verify`.
#   tests/wasm/run.sh [TEECTL]        (default target/debug/teectl; built if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
TEECTL="${1:-target/debug/teectl}"
TARGET=wasm32-unknown-unknown

rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET"
command -v node >/dev/null || { echo "tests/wasm: node is required" >&2; exit 1; }

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
WB_VERSION="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[ -n "$WB_VERSION" ] || { echo "tests/wasm: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
TOOLS=target/wasm-tools
WB="$TOOLS/bin/wasm-bindgen"
if [ "$("$WB" --version 2>/dev/null || true)" != "wasm-bindgen $WB_VERSION" ]; then
  t=$SECONDS
  echo "-- cargo install wasm-bindgen-cli $WB_VERSION into $TOOLS"
  # Only the wasm-bindgen binary, without TLS (no ring / C code to build).
  # A debug build (--debug): it compiles in a fraction of the release
  # build's time, and the module it processes carries no debug info (below).
  args=(wasm-bindgen-cli --version "$WB_VERSION" --root "$TOOLS" --bin wasm-bindgen --no-default-features --debug)
  if ! cargo install "${args[@]}" --locked; then
    # A registry that lacks a crate of wasm-bindgen-cli's own lock file:
    # resolve against what it has (the binary's version stays exact).
    echo "WARNING: cargo install --locked failed; installing with resolved dependencies" >&2
    cargo install "${args[@]}"
  fi
  echo "-- wasm-bindgen-cli installed in $((SECONDS - t)) s"
fi
"$WB" --version

t=$SECONDS
# Without debug info: a tenth of the size for wasm-bindgen to process.
CARGO_PROFILE_RELEASE_DEBUG=false cargo build --locked -p tee-wasm --target "$TARGET" --release
RAW="target/$TARGET/release/tee_wasm.wasm"
PKG=target/wasm-pkg
WEB=target/wasm-pkg-web
rm -rf "$PKG" "$WEB"
"$WB" --target nodejs --out-dir "$PKG" "$RAW"
# The browser build (an ES module); Node loads it as one with this marker.
"$WB" --target web --out-dir "$WEB" "$RAW"
echo '{ "type": "module" }' > "$WEB/package.json"
echo "-- tee-wasm built in $((SECONDS - t)) s: $(wc -c < "$PKG/tee_wasm_bg.wasm") bytes ($PKG/tee_wasm_bg.wasm; $(wc -c < "$RAW") before wasm-bindgen)"

[ -x "$TEECTL" ] || cargo build --locked -p teectl
TEE_WASM_PKG="$PKG" TEE_WASM_WEB_PKG="$WEB" TEE_WASM_RAW="$RAW" TEECTL="$TEECTL" node --test tests/wasm/verify.test.js
echo "-- tests/wasm done in $((SECONDS - start)) s"
