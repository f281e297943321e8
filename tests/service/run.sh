#!/usr/bin/env bash
# The Python relying party against a running `teectl serve` (mock flow,
# tampered evidence, and the shared SEV-SNP and TDX vectors, with their
# collateral in the evidence and from a bundle).
#   tests/service/run.sh [TEECTL] [PYTHON]
# Defaults: target/debug/teectl, $TEE_EAR_PYTHON or target/ear-venv/bin/python
# (PyPI requests + PyJWT, pinned in .ci/run).
set -euo pipefail
cd "$(dirname "$0")/../.."
TEECTL="${1:-target/debug/teectl}"
PY="${2:-${TEE_EAR_PYTHON:-target/ear-venv/bin/python}}"
VEC="${TEE_TEST_VECTORS:-../shared/vectors}"
CLIENT=tests/service/client.py
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The mock's measurement, for the policy's reference value.
"$TEECTL" --backend mock report --nonce 0011223344556677 -o "$work/m.json" 2>/dev/null
M="$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["measurement"])' < <("$TEECTL" verify --evidence "$work/m.json" --allow-mock --allow-any-measurement --nonce 0011223344556677 2>/dev/null))"
mkdir -p "$work/policies"
printf 'allow_mock = true\nallowed_measurements = ["%s"]\n' "$M" > "$work/policies/default.toml"
# Real vectors: the report data is the recorder's, not our nonce, so the
# report_data check fails (as it must); everything else is appraised.
cat > "$work/policies/vectors.toml" <<'TOML'
allow_any_measurement = true
[sev-snp]
allow_unchecked_revocation = true
TOML
head -c 32 /dev/urandom > "$work/challenge.key"

# Start a server on a free port; its URL in $url.
start() {
  local log="$work/serve.$1.log"; shift
  # The log exists before the server starts: the background job opens its
  # redirection only when it gets scheduled, and sed must not race it.
  : > "$log"
  "$TEECTL" serve --listen 127.0.0.1:0 --policy-dir "$work/policies" --challenge-key "$work/challenge.key" "$@" >/dev/null 2>"$log" &
  local pid=$!; pids+=("$pid")
  for _ in $(seq 1 300); do
    url="$(sed -n 's/^teectl serve: listening on \(http[s]*:\/\/[^ ]*\).*/\1/p' "$log" || true)"
    if [ -n "$url" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "teectl serve exited before listening:" >&2; cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "teectl serve did not listen within 30 s:" >&2; cat "$log" >&2; return 1
}

start main; URL="$url"
echo "== mock flow against $URL"
MOCK="$TEECTL --backend mock report --nonce {nonce} --user-data {ud} -o {out}"
"$PY" "$CLIENT" --url "$URL" --evidence-cmd "$MOCK" --expect-passed true --expect-status contraindicated
echo "== tampered mock evidence"
"$PY" "$CLIENT" --url "$URL" --evidence-cmd "$MOCK" --tamper
echo "== strict policy (another measurement): appraisal fails"
printf 'allow_mock = true\nallowed_measurements = ["%s"]\n' "$(printf '00%.0s' $(seq 48))" > "$work/policies/strict.toml"
"$PY" "$CLIENT" --url "$URL" --evidence-cmd "$MOCK" --policy strict --expect-passed false --expect-failed measurement

if [ -f "$VEC/INDEX.md" ]; then
  "$PY" - "$VEC" "$work" <<'PYEOF'
import base64, json, sys
vec, work = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.b64encode(b).decode()
rep = bytes.fromhex(open(f"{vec}/virtee-sev/report_milan.hex").read().strip())
vcek = open(f"{vec}/virtee-sev/vcek_milan.der", "rb").read()
json.dump({"version": 1, "platform": "sev-snp", "format": "sev-snp-report", "report": b64(rep),
           "endorsements": [{"kind": "signing-cert-der", "data": b64(vcek)}]}, open(f"{work}/snp.json", "w"))
q = open(f"{vec}/dcap-qvl/tdx_quote", "rb").read()
coll = open(f"{vec}/dcap-qvl/tdx_quote_collateral.json", "rb").read()
json.dump({"version": 1, "platform": "tdx", "format": "tdx-dcap-quote", "report": b64(q),
           "endorsements": [{"kind": "tdx-collateral-v3-json", "data": b64(coll)}]}, open(f"{work}/tdx.json", "w"))
# Bare evidence (no VCEK, no collateral): the service's bundle supplies them.
json.dump({"version": 1, "platform": "tdx", "format": "tdx-dcap-quote", "report": b64(q)},
          open(f"{work}/tdx_bare.json", "w"))
ms = open(f"{vec}/ms-tee-av/milan_attestation_report.bin", "rb").read()
json.dump({"version": 1, "platform": "sev-snp", "format": "sev-snp-report", "report": b64(ms)},
          open(f"{work}/snp_bare.json", "w"))
PYEOF
  # The TDX vector's collateral is valid on 2025-07-19 only: verify as of then.
  start vectors --verify-at 2025-07-19T10:00:34Z; VURL="$url"
  echo "== SEV-SNP vector (virtee Milan) against $VURL"
  "$PY" "$CLIENT" --url "$VURL" --evidence-file "$work/snp.json" --policy vectors --expect-passed false --expect-failed report_data --expect-status contraindicated
  echo "== TDX vector (dcap-qvl v4)"
  "$PY" "$CLIENT" --url "$VURL" --evidence-file "$work/tdx.json" --policy vectors --expect-passed false --expect-failed report_data --expect-status contraindicated
  echo "== tampered SEV-SNP and TDX vectors"
  "$PY" "$CLIENT" --url "$VURL" --evidence-file "$work/snp.json" --policy vectors --tamper
  "$PY" "$CLIENT" --url "$VURL" --evidence-file "$work/tdx.json" --policy vectors --tamper
  # Collateral from a bundle (teectl collateral bundle): the evidence carries none.
  "$TEECTL" collateral bundle --out "$work/vectors.bundle" \
    --snp-report "$VEC/ms-tee-av/milan_attestation_report.bin" --vcek "$VEC/ms-tee-av/milan_vcek.pem" \
    --tdx-quote "$VEC/dcap-qvl/tdx_quote" --tdx-collateral "$VEC/dcap-qvl/tdx_quote_collateral.json" 2>/dev/null
  start bundle_tdx --collateral "$work/vectors.bundle" --verify-at 2025-07-19T10:00:34Z; BURL="$url"
  echo "== TDX vector without its collateral, collateral from a bundle, against $BURL"
  "$PY" "$CLIENT" --url "$BURL" --evidence-file "$work/tdx_bare.json" --policy vectors --expect-passed false --expect-failed report_data --expect-status contraindicated
  # The ms-tee-av VCEK is valid from 2026-02-05: verified now; the bundle has no AMD CRL.
  start bundle_snp --collateral "$work/vectors.bundle" --allow-unchecked-revocation; BURL="$url"
  echo "== SEV-SNP vector (ms-tee-av Milan) without its VCEK, VCEK from the bundle, against $BURL"
  "$PY" "$CLIENT" --url "$BURL" --evidence-file "$work/snp_bare.json" --policy vectors --expect-passed false --expect-failed report_data --expect-status contraindicated
  echo "== the same bundle's TDX collateral now (expired 2025-07-19): 503 with Retry-After"
  "$PY" - "$BURL" "$work/tdx_bare.json" <<'PYEOF'
import json, sys, requests
url, ev = sys.argv[1], json.load(open(sys.argv[2]))
ch = requests.post(url + "/challenge", timeout=10).json()
r = requests.post(url + "/attest", json={"challenge": ch["challenge"], "evidence": ev, "policy": "vectors"}, timeout=30)
assert r.status_code == 503 and r.json()["error"] == "collateral_unavailable", (r.status_code, r.text)
assert int(r.headers["Retry-After"]) >= 1, r.headers
print(json.dumps({"attest_status": 503, "error": r.json()["error"], "retry_after": r.headers["Retry-After"]}))
PYEOF
elif [ -n "${CI:-}" ]; then
  echo "test vectors not found at $VEC (set TEE_TEST_VECTORS); CI must not skip them" >&2; exit 1
else
  echo "skipping the vector flow: no vectors at $VEC"
fi
echo "== metrics"
"$PY" -c 'import requests,sys; t=requests.get(sys.argv[1]+"/metrics",timeout=5).text; print("\n".join(l for l in t.splitlines() if l.startswith(("tee_service_verdicts_total","tee_service_cache_hits_total","tee_service_requests_total{endpoint=\"/attest\""))))' "$URL"
echo "== graceful shutdown (SIGTERM)"
kill -TERM "${pids[0]}"; wait "${pids[0]}"; echo "exit $?"
grep -c '"path":"/attest"' "$work/serve.main.log" | sed 's/^/request log lines for \/attest: /'
echo "== python client: all passed"
