#!/usr/bin/env python3
"""A relying party in another language: challenge -> attest -> token check
against a running `teectl serve`, with only PyPI `requests` and PyJWT.

    client.py --url http://127.0.0.1:8080 --evidence-cmd 'teectl --backend mock report --nonce {nonce} --user-data-file {ud} -o {out}'

The evidence is produced by a command (the attester), given the nonce in hex;
the script then posts it, fetches the JWKS, verifies the EAR token with PyJWT
(signature by the key named by `kid`, algorithm from the JWK, `exp`/`iat`,
the `eat_nonce` it was given) and checks the submod's status.

Exit 0 when every expectation holds; prints one JSON line of what it saw.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

import jwt
import requests
from jwt.algorithms import ECAlgorithm


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--evidence-cmd", default="",
                    help="command writing evidence JSON; {nonce} {ud} {out} are substituted")
    ap.add_argument("--evidence-file", help="use this evidence JSON instead of running the command")
    ap.add_argument("--policy")
    ap.add_argument("--user-data", default="python client")
    ap.add_argument("--expect-status", default=None,
                    help="expected ear.status of the submod (affirming/warning/contraindicated)")
    ap.add_argument("--expect-passed", choices=["true", "false"], default=None,
                    help="expected tee-sdk.claims appraisal-passed")
    ap.add_argument("--expect-failed", default=None,
                    help="comma-separated appraisal checks that must be exactly the failed ones")
    ap.add_argument("--tamper", action="store_true", help="flip a bit of the report before posting")
    a = ap.parse_args()
    s = requests.Session()

    ch = s.post(a.url + "/challenge", timeout=10)
    ch.raise_for_status()
    ch = ch.json()
    nonce = bytes.fromhex(ch["nonce"])
    ud = a.user_data.encode()

    with tempfile.TemporaryDirectory() as d:
        udf = os.path.join(d, "ud")
        out = os.path.join(d, "evidence.json")
        with open(udf, "wb") as f:
            f.write(ud)
        if a.evidence_file:
            out = a.evidence_file
        else:
            cmd = a.evidence_cmd.format(nonce=ch["nonce"], ud=udf, out=out)
            subprocess.run(cmd, shell=True, check=True)
        with open(out) as f:
            evidence = json.load(f)
    if a.tamper:
        rep = bytearray(base64.b64decode(evidence["report"]))
        rep[0x91] ^= 1  # SNP: measurement; TDX: the TD report body; mock: signed bytes
        evidence["report"] = base64.b64encode(bytes(rep)).decode()

    body = {"challenge": ch["challenge"], "evidence": evidence,
            "user_data": base64.b64encode(ud).decode()}
    if a.policy:
        body["policy"] = a.policy
    r = s.post(a.url + "/attest", json=body, timeout=30)
    if a.tamper and 400 <= r.status_code < 500:
        print(json.dumps({"attest_status": r.status_code, "tampered": "refused", "body": r.json()}))
        return 0
    if r.status_code != 200:
        print(json.dumps({"attest_status": r.status_code, "body": r.text}))
        return 1
    token = r.json()["token"]

    jwks = s.get(a.url + "/.well-known/jwks.json", timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = ECAlgorithm.from_jwk(json.dumps(jwk))
    # The algorithm comes from the key (its curve), not from the header.
    alg = {"P-256": "ES256", "P-384": "ES384"}[jwk["crv"]]
    claims = jwt.decode(token, key=key, algorithms=[alg], options={"require": ["iat", "exp"]})
    assert claims["eat_nonce"] == b64url(nonce), "eat_nonce is not our nonce"
    assert claims["eat_profile"] == "tag:ietf.org,2025-07:ear", claims["eat_profile"]
    (name, sub), = claims["submods"].items()
    status = sub["ear.status"]
    passed = sub.get("tee-sdk.claims", {}).get("appraisal-passed")
    seen = {"submod": name, "status": status, "appraisal_passed": passed, "alg": alg, "kid": kid}
    print(json.dumps(seen))
    if a.tamper:
        assert status == "contraindicated", "tampered evidence not contraindicated"
    if a.expect_status is not None:
        assert status == a.expect_status, f"status {status}, expected {a.expect_status}"
    if a.expect_failed is not None:
        failed = sorted(c["name"] for c in sub["tee-sdk.claims"]["checks"] if c["outcome"] == "failed")
        assert failed == sorted(a.expect_failed.split(",")), f"failed checks {failed}"
    if a.expect_passed is not None:
        assert passed == (a.expect_passed == "true"), f"appraisal-passed {passed}"
    # A wrong nonce is refused by PyJWT's caller check (ours above); a wrong
    # key must be refused by PyJWT itself.
    from cryptography.hazmat.primitives.asymmetric import ec
    wrong = ec.generate_private_key(ec.SECP384R1() if alg == "ES384" else ec.SECP256R1()).public_key()
    try:
        jwt.decode(token, key=wrong, algorithms=[alg])
        print("token verified under a wrong key", file=sys.stderr)
        return 1
    except jwt.InvalidSignatureError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
