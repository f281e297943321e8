#!/usr/bin/env bash
# The C ABI (crate tee-ffi) from C: build libtee_ffi (.a and .so), compile
# crates/tee-ffi/examples/verify.c with the system cc against each, run it on
# the shared SEV-SNP and TDX vectors, compare its claims JSON and exit code
# with `teectl verify` for the same inputs, then run it under valgrind (no
# leak, no invalid access), or AddressSanitizer when valgrind is unavailable.
#   tests/ffi/run.sh
# Environment: TEE_TEST_VECTORS (default ../shared/vectors), FFI_CHECKER
# (auto | valgrind | asan; default auto: valgrind, installed with apt-get if
# missing and possible, else asan).
set -euo pipefail
cd "$(dirname "$0")/../.."
VEC="${TEE_TEST_VECTORS:-../shared/vectors}"
CHECKER="${FFI_CHECKER:-auto}"
start=$SECONDS

for f in go-sev-guest/attestation.bin go-sev-guest/vcek.der dcap-qvl/tdx_quote dcap-qvl/tdx_quote_collateral.json; do
  if [ ! -f "$VEC/$f" ]; then
    echo "ffi: missing vector $VEC/$f (set TEE_TEST_VECTORS)" >&2
    exit 1
  fi
done

# env TEECTL: a teectl binary already built (e.g. by the workspace tests).
if [ -n "${TEECTL:-}" ]; then
  cargo build --locked -p tee-ffi
else
  cargo build --locked -p tee-ffi -p teectl
  TEECTL=target/debug/teectl
fi
LIB=target/debug
OUT=target/ffi
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The static library needs the system libraries Rust's std links
# (`rustc --print native-static-libs`, Linux with glibc).
NATIVE_LIBS=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
CFLAGS=(-std=c11 -Wall -Wextra -Wpedantic -Werror -O1 -g -I crates/tee-ffi/include)
SRC=crates/tee-ffi/examples/verify.c
cc "${CFLAGS[@]}" "$SRC" "$LIB/libtee_ffi.a" "${NATIVE_LIBS[@]}" -o "$OUT/verify-static"
cc "${CFLAGS[@]}" "$SRC" -L "$LIB" -ltee_ffi -Wl,-rpath,"$PWD/$LIB" -o "$OUT/verify-shared"
echo "ffi: compiled $SRC with $(cc --version | head -n 1) (static and shared)"

SNP_R="$VEC/go-sev-guest/attestation.bin"
SNP_V="$VEC/go-sev-guest/vcek.der"
SNP_T=2025-01-01T00:00:00Z
TDX_Q="$VEC/dcap-qvl/tdx_quote"
TDX_C="$VEC/dcap-qvl/tdx_quote_collateral.json"
TDX_T=2025-07-19T10:00:34Z
printf 'allow_debug = true\nallow_any_measurement = true\n' > "$work/permissive.toml"
SNP_RD="0102030405$(printf '0%.0s' $(seq 1 118))"
# The flipped byte of INDEX.md's SEV-SNP negative (offset 0x90), for teectl.
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[0x90] ^= 1; open(sys.argv[2], "wb").write(b)' \
  "$SNP_R" "$work/snp-tampered.bin"

# run NAME EXPECTED_CODE "C ARGS" "TEECTL ARGS": both with the same inputs;
# same exit code; same JSON when there is a result (codes 0 and 4).
run() {
  local name="$1" want="$2" cargs="$3" targs="$4" bin rc_c rc_t
  for bin in verify-static verify-shared; do
    # shellcheck disable=SC2086
    set +e; "$OUT/$bin" $cargs > "$work/$name.c.json" 2> "$work/$name.c.err"; rc_c=$?; set -e
    # shellcheck disable=SC2086
    set +e; "$TEECTL" verify $targs > "$work/$name.cli.json" 2> "$work/$name.cli.err"; rc_t=$?; set -e
    if [ "$rc_c" != "$want" ] || [ "$rc_t" != "$want" ]; then
      echo "ffi: $name ($bin): exit $rc_c, teectl $rc_t, expected $want" >&2
      cat "$work/$name.c.err" "$work/$name.cli.err" >&2
      exit 1
    fi
    if [ "$want" = 0 ] || [ "$want" = 4 ]; then
      python3 tests/ffi/compare.py "$name ($bin)" "$work/$name.c.json" "$work/$name.cli.json"
    else
      if [ -s "$work/$name.c.json" ]; then
        echo "ffi: $name ($bin): claims printed for a rejection" >&2
        exit 1
      fi
      echo "$name ($bin): exit $rc_c as teectl; $(cat "$work/$name.c.err")"
    fi
  done
}

run snp-default 4 \
  "--at $SNP_T --allow-unchecked-revocation snp $SNP_R $SNP_V" \
  "--platform sev-snp --report $SNP_R --vcek $SNP_V --at $SNP_T --allow-unchecked-revocation"
run snp-pass 0 \
  "--at $SNP_T --allow-unchecked-revocation --policy $work/permissive.toml --report-data $SNP_RD snp $SNP_R $SNP_V" \
  "--platform sev-snp --report $SNP_R --vcek $SNP_V --at $SNP_T --allow-unchecked-revocation --policy $work/permissive.toml --report-data $SNP_RD"
run snp-tampered 3 \
  "--at $SNP_T --allow-unchecked-revocation --tamper 0x90 snp $SNP_R $SNP_V" \
  "--platform sev-snp --report $work/snp-tampered.bin --vcek $SNP_V --at $SNP_T --allow-unchecked-revocation"
run tdx-default 4 \
  "--at $TDX_T tdx $TDX_Q $TDX_C" \
  "--platform tdx --quote $TDX_Q --collateral $TDX_C --at $TDX_T"
TDX_RD="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report_data"])' "$work/tdx-default.c.json")"
run tdx-pass 0 \
  "--at $TDX_T --policy $work/permissive.toml --report-data $TDX_RD tdx $TDX_Q $TDX_C" \
  "--platform tdx --quote $TDX_Q --collateral $TDX_C --at $TDX_T --policy $work/permissive.toml --report-data $TDX_RD"
run tdx-expired 3 \
  "--at 2025-08-01T00:00:00Z tdx $TDX_Q $TDX_C" \
  "--platform tdx --quote $TDX_Q --collateral $TDX_C --at 2025-08-01T00:00:00Z"
echo "ffi: the C example agrees with teectl on every case ($((SECONDS - start)) s so far)"

# Memory checking: the example on a passing, a failing-appraisal and two
# rejected inputs (the error paths free as carefully as the happy path).
if [ "$CHECKER" = auto ]; then
  if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "ffi: installing valgrind (apt-get)"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind) >/dev/null 2>&1 || true
    fi
  fi
  if command -v valgrind >/dev/null; then CHECKER=valgrind; else CHECKER=asan; fi
fi
case "$CHECKER" in
  valgrind)
    echo "ffi: $(valgrind --version) on the statically linked example"
    CHECK=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
           --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
    BIN="$OUT/verify-static"
    ;;
  asan)
    echo "ffi: AddressSanitizer with LeakSanitizer: the example built with -fsanitize=address"
    cc "${CFLAGS[@]}" -fsanitize=address -fno-omit-frame-pointer "$SRC" "$LIB/libtee_ffi.a" \
      "${NATIVE_LIBS[@]}" -o "$OUT/verify-asan"
    export ASAN_OPTIONS=detect_leaks=1:exitcode=99
    CHECK=()
    BIN="$OUT/verify-asan"
    ;;
  *) echo "ffi: FFI_CHECKER=$CHECKER: expected auto, valgrind or asan" >&2; exit 1 ;;
esac

# checked NAME EXPECTED_CODE ARGS...: exit code as expected (99: the checker
# found an error) and no checker report on stderr.
checked() {
  local name="$1" want="$2" rc; shift 2
  set +e; "${CHECK[@]}" "$BIN" "$@" > "$work/$name.chk.json" 2> "$work/$name.chk.err"; rc=$?; set -e
  if [ "$rc" != "$want" ] || grep -qE '^==[0-9]+==|ERROR: (Address|Leak)Sanitizer' "$work/$name.chk.err"; then
    echo "ffi: $name under $CHECKER: exit $rc (expected $want)" >&2
    cat "$work/$name.chk.err" >&2
    exit 1
  fi
  if [ "$want" = 0 ] || [ "$want" = 4 ]; then
    cmp -s "$work/$name.chk.json" "$work/$name.cli.json" || { echo "ffi: $name under $CHECKER: other JSON" >&2; exit 1; }
  fi
  echo "$name under $CHECKER: exit $rc, no error, no leak"
}
checked snp-pass 0 --at "$SNP_T" --allow-unchecked-revocation --policy "$work/permissive.toml" \
  --report-data "$SNP_RD" snp "$SNP_R" "$SNP_V"
checked snp-tampered 3 --at "$SNP_T" --allow-unchecked-revocation --tamper 0x90 snp "$SNP_R" "$SNP_V"
checked tdx-default 4 --at "$TDX_T" tdx "$TDX_Q" "$TDX_C"
checked tdx-expired 3 --at 2025-08-01T00:00:00Z tdx "$TDX_Q" "$TDX_C"
printf 'allow_debug = [nonsense\n' > "$work/bad.toml"
printf '{"platform": ' > "$work/bad.json"
checked bad-policy 1 --at "$SNP_T" --policy "$work/bad.toml" snp "$SNP_R" "$SNP_V"
checked malformed 2 --at "$SNP_T" evidence "$work/bad.json"

# The checker itself: deliberate misuse must be reported (exit 99).
if [ "$CHECKER" = asan ]; then
  cc "${CFLAGS[@]}" -fsanitize=address tests/ffi/selftest.c "$LIB/libtee_ffi.a" "${NATIVE_LIBS[@]}" -o "$OUT/selftest"
else
  cc "${CFLAGS[@]}" tests/ffi/selftest.c "$LIB/libtee_ffi.a" "${NATIVE_LIBS[@]}" -o "$OUT/selftest"
fi
for misuse in leak double; do
  set +e; "${CHECK[@]}" "$OUT/selftest" "$misuse" > /dev/null 2> "$work/selftest.err"; rc=$?; set -e
  if [ "$rc" != 99 ]; then
    echo "ffi: $CHECKER did not report the deliberate $misuse (exit $rc)" >&2
    cat "$work/selftest.err" >&2
    exit 1
  fi
  echo "selftest $misuse under $CHECKER: reported ($(grep -m1 -oE '[0-9,]+ bytes in [0-9,]+ blocks are definitely lost|Invalid free|attempting double-free|detected memory leaks' "$work/selftest.err" || echo exit 99))"
done
echo "ffi: passed in $((SECONDS - start)) s"
