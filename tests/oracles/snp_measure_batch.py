"""Batch driver for the sev-snp-measure oracle (differential tests).

Reads one JSON case per line on stdin, prints one result per line: the
96-hex-digit launch digest, or `error: <message>`. Calls sev-snp-measure's own
`guest.snp_calc_launch_digest` / `calc_snp_ovmf_hash` (the code behind its
CLI), so thousands of cases cost one interpreter start.

Case keys: ovmf (path), kernel/initrd (paths or null), append (str or null),
vcpus (int), sig (int, 0 for EC2/GCE), vmm ("QEMU"|"ec2"|"gce"),
features (int), seed (hex or null), mode ("snp"|"ovmf-hash").
"""
import json
import sys

from sevsnpmeasure import guest
from sevsnpmeasure.vmm_types import VMMType

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    c = json.loads(line)
    try:
        if c.get("mode") == "ovmf-hash":
            ld = guest.calc_snp_ovmf_hash(c["ovmf"])
        else:
            ld = guest.snp_calc_launch_digest(
                c["vcpus"], c["sig"], c["ovmf"], c.get("kernel"), c.get("initrd"),
                c.get("append"), c["features"], c.get("seed") or "", VMMType[c["vmm"]])
        print(ld.hex(), flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is a result here
        print("error: " + type(e).__name__ + ": " + str(e).replace("\n", " "), flush=True)
