#!/usr/bin/env python3
"""EAR interop with independent JOSE implementations (PyJWT, jwcrypto).

  verify --token F --jwks F --nonce B64URL --at SECS
      Verify one of our tokens with PyJWT (key from the JWKS by kid, the
      algorithm from the key) and with jwcrypto; print the claims as JSON.
  sign --lib pyjwt|jwcrypto --alg ES256|ES384 --nonce B64URL --iat SECS
       --token-out F --jwks-out F
      Make a key with `cryptography`, sign an EAR claims set with the chosen
      library, and write the token and the library's own JWK export.
Exit 0 on success; any failure raises (non-zero exit, traceback on stderr).
"""
import argparse
import json
import sys

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk as jwc_jwk
from jwcrypto import jws as jwc_jws
from jwcrypto import jwt as jwc_jwt

PROFILE = "tag:ietf.org,2025-07:ear"


def verify(a):
    token = open(a.token).read().strip()
    jwks = json.load(open(a.jwks))
    header = jwt.get_unverified_header(token)
    kid = header["kid"]
    entry = next(k for k in jwks["keys"] if k.get("kid") == kid)
    key = jwt.PyJWK(entry)  # the algorithm is the JWK's own (alg/crv)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=[key.algorithm_name],
        options={"require": ["exp", "iat"], "verify_exp": True, "verify_iat": True},
        leeway=0,
    )
    assert header["alg"] == key.algorithm_name, (header, key.algorithm_name)
    assert claims["eat_profile"] == PROFILE, claims["eat_profile"]
    assert claims["eat_nonce"] == a.nonce, claims.get("eat_nonce")
    assert isinstance(claims["iat"], int) and claims["iat"] <= a.at < claims["exp"]
    for name, sub in claims["submods"].items():
        assert sub["ear.status"] in ("none", "affirming", "warning", "contraindicated"), name

    # A second, independent implementation.
    k = jwc_jwk.JWK(**entry)
    s = jwc_jws.JWS()
    s.deserialize(token)
    s.verify(k, alg=entry["alg"])
    assert json.loads(s.payload) == claims

    # A tampered token must fail in PyJWT too.
    h, p, sig = token.split(".")
    bad = ".".join([h, p, ("A" if sig[0] != "A" else "B") + sig[1:]])
    try:
        jwt.decode(bad, key.key, algorithms=[key.algorithm_name],
                   options={"verify_exp": False})
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("PyJWT accepted a tampered signature")
    json.dump(claims, sys.stdout, sort_keys=True)


def ear_claims(a):
    return {
        "eat_profile": PROFILE,
        "iat": a.iat,
        "exp": a.iat + 300,
        "eat_nonce": a.nonce,
        "ear.verifier-id": {"developer": "interop-test", "build": a.lib},
        "submods": {
            "tdx": {
                "ear.status": "warning",
                "ear.trustworthiness-vector": {"executables": 33, "hardware": 2},
                "ear.appraisal-policy-id": "interop",
                "tee-sdk.claims": {"platform": "tdx"},
            }
        },
    }


def sign(a):
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1()}[a.alg]
    private = ec.generate_private_key(curve)
    kid = "interop-" + a.lib + "-" + a.alg
    claims = ear_claims(a)
    if a.lib == "pyjwt":
        token = jwt.encode(claims, private, algorithm=a.alg, headers={"kid": kid})
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
        public.update({"kid": kid, "alg": a.alg, "use": "sig"})
    else:
        key = jwc_jwk.JWK.from_pyca(private)
        t = jwc_jwt.JWT(header={"alg": a.alg, "typ": "JWT", "kid": kid}, claims=claims)
        t.make_signed_token(key)
        token = t.serialize()
        public = key.export_public(as_dict=True)  # kty, crv, x, y (no alg, no kid)
        public["kid"] = kid
    open(a.token_out, "w").write(token)
    open(a.jwks_out, "w").write(json.dumps({"keys": [public]}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--token", required=True)
    v.add_argument("--jwks", required=True)
    v.add_argument("--nonce", required=True)
    v.add_argument("--at", type=int, required=True)
    s = sub.add_parser("sign")
    s.add_argument("--lib", choices=["pyjwt", "jwcrypto"], required=True)
    s.add_argument("--alg", choices=["ES256", "ES384"], required=True)
    s.add_argument("--nonce", required=True)
    s.add_argument("--iat", type=int, required=True)
    s.add_argument("--token-out", required=True)
    s.add_argument("--jwks-out", required=True)
    a = p.parse_args()
    verify(a) if a.cmd == "verify" else sign(a)


if __name__ == "__main__":
    main()
