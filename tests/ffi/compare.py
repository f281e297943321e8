"""Compare the C example's claims JSON with `teectl verify`'s for one case.

    compare.py NAME C_OUT CLI_OUT

The two outputs must be the same bytes (both print tee_verify's layout,
pretty-printed, one trailing newline); if they are not, the first JSON
difference is shown.
"""
import json
import sys


def diff(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def main():
    name, c_path, cli_path = sys.argv[1:4]
    c_bytes = open(c_path, "rb").read()
    cli_bytes = open(cli_path, "rb").read()
    if not cli_bytes.strip():
        sys.exit(f"{name}: teectl printed no JSON")
    c, cli = json.loads(c_bytes), json.loads(cli_bytes)
    d = diff(c, cli)
    if d:
        sys.exit(f"{name}: the C example's claims differ from teectl's: {d}")
    if c_bytes != cli_bytes:
        sys.exit(f"{name}: same JSON values, different bytes")
    checks = len(c["appraisal"]["checks"])
    print(f"{name}: same claims JSON as teectl ({len(c_bytes)} bytes, platform {c['platform']}, "
          f"passed {c['appraisal']['passed']}, {checks} checks)")


main()
