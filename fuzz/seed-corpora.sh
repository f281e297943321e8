#!/usr/bin/env bash
# Seed fuzz corpora (fuzz/corpus/<target>/, not committed) from the real
# vectors and from the fakes. Vectors: $TEE_TEST_VECTORS or ../shared/vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
V="${TEE_TEST_VECTORS:-../shared/vectors}"
C=fuzz/corpus
mkdir -p "$C"
seed() { local target=$1; shift; mkdir -p "$C/$target"; for f in "$@"; do [ -f "$f" ] && cp "$f" "$C/$target/" || true; done; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cargo run -q -p teectl -- --backend mock report --nonce 00112233 -o "$tmp/evidence.json" 2>/dev/null
python3 - "$tmp" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1] + "/evidence.json"))
open(sys.argv[1] + "/mock_report.bin", "wb").write(base64.b64decode(d["report"]))
PY
echo "plain" > "$tmp/plain"
cargo run -q -p teectl -- --backend mock seal --in "$tmp/plain" -o "$tmp/sealed.bin" 2>/dev/null
printf 'allow_debug = false\nreport_data = "%s"\n[sev-snp]\nvmpl = 0\nmin_tcb = { bootloader = 3 }\n[tdx]\naccepted_tcb_statuses = ["UpToDate"]\n' "$(printf '00%.0s' $(seq 64))" > "$tmp/policy.toml"

seed evidence_json "$tmp/evidence.json"
seed mock_report "$tmp/mock_report.bin"
seed sealed_blob "$tmp/sealed.bin"
seed policy_toml "$tmp/policy.toml"
seed snp_report "$V"/go-sev-guest/attestation.bin "$V"/trustee/snp/test-vlek-report.bin "$V"/ms-tee-av/*_attestation_report.bin
seed tdx_quote "$V"/dcap-qvl/tdx_quote "$V"/dcap-qvl/tdx_quote_outdated "$V"/go-tdx-guest/tdx_prod_quote_SPR_E4.dat "$V"/go-tdx-guest/ccel/cos-113-tdx-quote.dat
seed ghcb_cert_table
seed tdx_collateral "$V"/dcap-qvl/tdx_quote_collateral.json "$V"/dcap-qvl/tdx_quote_outdated_collateral.json
seed pef_report
seed esm_blob crates/tee-pef/tests/data/*
seed tdreport "$V"/guest-components/tdx_report_1.bin
seed ccel_event_log "$V"/go-tdx-guest/ccel/ccel_data.dat "$V"/go-tdx-guest/ccel/ccel_table.dat
echo "corpora seeded under $C"
