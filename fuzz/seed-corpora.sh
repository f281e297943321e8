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
python3 - "$tmp" <<'PY'
# The synthetic SNP image of crates/tee-sev/tests/sev/reference.rs, behind one control byte.
import struct, sys, uuid
g = lambda s: uuid.UUID(s).bytes_le
f = bytearray(8192); f[:4096] = b"\x5a" * 4096
secs = [(0x800000, 0x2000, 1), (0x802000, 0x1000, 2), (0x803000, 0x1000, 3), (0x804000, 0x1000, 4), (0x810000, 0x1000, 0x10), (0x811000, 0x1000, 1)]
m = b"ASEV" + struct.pack("<III", 16 + 12 * len(secs), 1, len(secs)) + b"".join(struct.pack("<III", *s) for s in secs)
f[0x1000:0x1000 + len(m)] = m
t = b""
for data, guid in [(struct.pack("<I", 0x1000), "dc886566-984a-4798-a75e-5585a7bf67cc"), (struct.pack("<II", 0x810C00, 0x400), "7255371f-3a3b-4b04-927b-1da6efa8d454"), (struct.pack("<I", 0x80B004), "00f771de-1a7e-4fcb-890e-68c77e2fb44e")]:
    t += data + struct.pack("<H", len(data) + 18) + g(guid)
t += struct.pack("<H", len(t) + 18) + g("96b582de-1fb2-45f7-baea-a366c55a082d")
f[0x1FE0 - len(t):0x1FE0] = t
open(sys.argv[1] + "/snp_synth.bin", "wb").write(bytes([0x31]) + bytes(f))
PY
seed snp_ovmf "$tmp/snp_synth.bin"
seed ccel_event_log "$V"/go-tdx-guest/ccel/ccel_data.dat "$V"/go-tdx-guest/ccel/ccel_table.dat
# TDVF: the Debian image when given ($TEE_OVMF_INTELTDX), plus the synthetic image of
# shared/design/reference-values.md §4.3 built here.
python3 - "$tmp/tdx-synth.bin" <<'PY'
import struct, sys
b = bytearray(0x3000); b[0:0x1000] = b"\x11" * 0x1000; b[0x1000:0x2000] = b"\x22" * 0x1000
b[0x2000:0x2010] = bytes.fromhex("f3f9eae98e16d544a8eb7f4d8738f6ae")
secs = [(0x1000, 0x2000, 0xFFFFE000, 0x2000, 0, 1), (0, 0x1000, 0xFFFFD000, 0x1000, 1, 0),
        (0, 0, 0x809000, 0x2000, 2, 0), (0, 0, 0x800000, 0x1000, 3, 0), (0, 0, 0x900000, 0x1000, 4, 2)]
d = b"TDVF" + struct.pack("<III", 0xB0, 1, 5) + b"".join(struct.pack("<IIQQII", *s) for s in secs)
b[0x2010:0x2010 + len(d)] = d
e = 0x3000 - 32
b[e - 16:e] = bytes.fromhex("de82b596b21ff745baeaa366c55a082d"); b[e - 18:e - 16] = struct.pack("<H", 0x28)
b[e - 40:e - 18] = struct.pack("<IH", 0xFF0, 22) + bytes.fromhex("35657ae44a989847865e4685a7bf8ec2")
open(sys.argv[1], "wb").write(b)
PY
seed tdvf "$tmp/tdx-synth.bin" ${TEE_OVMF_INTELTDX:+"$TEE_OVMF_INTELTDX"}
# Azure: the peers' evidence JSON and the SDK envelope of the simulated VMs
# (azure_evidence); their HCL reports, runtime claims, TPM structures, and
# the TPM responses that would carry them (tpm2_responses: a flow byte, then
# u16-length-prefixed responses).
for t in snp tdx; do
  cargo run -q -p teectl --features simulation -- --backend azure-sim-$t report --nonce 00112233 -o "$tmp/azure-sim-$t.json" 2>/dev/null \
    && seed azure_evidence "$tmp/azure-sim-$t.json"
done
python3 - "$V" "$C" <<'PY'
import base64, json, os, struct, sys
V, C = sys.argv[1], sys.argv[2]
def put(target, name, data):
    os.makedirs(f"{C}/{target}", exist_ok=True)
    open(f"{C}/{target}/{name}", "wb").write(data)
def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def tpm2b(b):
    return struct.pack(">H", len(b)) + b
def resp(params, sessions):
    if sessions:
        body = struct.pack(">I", len(params)) + params + tpm2b(b"") + b"\x01" + tpm2b(b"")
    else:
        body = params
    return struct.pack(">HII", 0x8002 if sessions else 0x8001, 10 + len(body), 0) + body
def script(flow, responses):
    return bytes([flow]) + b"".join(struct.pack(">H", len(r)) + r for r in responses)
for name in ["az_snp/live-evidence.json", "az_snp/milan-v3-attestation.json", "az_tdx/live-evidence.json"]:
    path = f"{V}/attestation-rs/{name}"
    if not os.path.exists(path):
        continue
    raw = open(path, "rb").read()
    j = json.loads(raw)
    e = j.get("evidence", j)
    tag = name.split("/")[0] + "-" + os.path.basename(name).split(".")[0]
    put("azure_evidence", tag + ".json", raw)
    hcl = b64u(e["hcl_report"])
    put("hcl_report", tag, hcl)
    (var_size,) = struct.unpack_from("<I", hcl, 0x4C0 + 16)
    var = hcl[0x4D4:0x4D4 + var_size]
    put("runtime_claims", tag, var)
    msg, sig = bytes.fromhex(e["tpm_quote"]["message"]), bytes.fromhex(e["tpm_quote"]["signature"])
    tsig = struct.pack(">HH", 0x0014, 0x000B) + tpm2b(sig)
    n = b64u(next(k for k in json.loads(var)["keys"] if k["kid"] == "HCLAkPub")["n"])
    # The Azure AK template: RSA, SHA-256 name, 0x00050472, no policy, no
    # symmetric, RSASSA/SHA-256, 2048 bits, exponent 0 (65537).
    tpmt = struct.pack(">HHI", 0x0001, 0x000B, 0x00050472) + tpm2b(b"") + struct.pack(">HHHHI", 0x0010, 0x0014, 0x000B, len(n) * 8, 0) + tpm2b(n)
    nvpub = struct.pack(">IHI", 0x01400001, 0x000B, 0x00020002) + tpm2b(b"") + struct.pack(">H", len(hcl))
    sel = struct.pack(">IHB", 1, 0x000B, 3) + b"\xff\xff\xff"
    for i, s in enumerate([msg, tpmt, nvpub, tsig, sel]):
        put("tpm2_structures", f"{tag}-{i}", bytes([i]) + s)
    nv_rp = resp(tpm2b(nvpub) + tpm2b(b"\x00\x0b" + b"\x11" * 32), False)
    chunks = [resp(tpm2b(hcl[o:o + 1024]), True) for o in range(0, len(hcl), 1024)]
    put("tpm2_responses", f"{tag}-0", script(0, [nv_rp]))
    put("tpm2_responses", f"{tag}-1", script(1, [nv_rp] + chunks))
    put("tpm2_responses", f"{tag}-2", script(2, [resp(tpm2b(msg) + tsig, True)]))
    name_ = b"\x00\x0b" + b"\x22" * 32
    put("tpm2_responses", f"{tag}-3", script(3, [resp(tpm2b(tpmt) + tpm2b(name_) + tpm2b(name_), False)]))
    pcrs = e["tpm_quote"]["pcrs"]
    rounds = []
    for r in range(3):
        bm = [0, 0, 0]; bm[r] = 0xFF
        p = struct.pack(">I", 7) + struct.pack(">IHB", 1, 0x000B, 3) + bytes(bm)
        p += struct.pack(">I", 8) + b"".join(tpm2b(bytes.fromhex(x)) for x in pcrs[8 * r:8 * r + 8])
        rounds.append(resp(p, False))
    put("tpm2_responses", f"{tag}-4", script(4, rounds))
    put("tpm2_responses", f"{tag}-5", script(5, [nv_rp] + chunks))
PY
echo "corpora seeded under $C"
