"""Fixtures of the tee_sdk suite: the shared vectors and the teectl binary
whose output the binding must reproduce.

Vectors: $TEE_TEST_VECTORS, else ../shared/vectors next to the repository;
teectl: $TEECTL, else target/debug/teectl. With CI set, a missing one fails
the run instead of skipping (as the Rust tests do).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _missing(what):
    if os.environ.get("CI"):
        pytest.fail(f"{what}; CI must not skip it", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def vectors():
    d = Path(os.environ.get("TEE_TEST_VECTORS", REPO.parent / "shared" / "vectors"))
    if not (d / "INDEX.md").is_file():
        _missing(f"test vectors not found at {d} (set TEE_TEST_VECTORS)")
    return d


@pytest.fixture(scope="session")
def teectl():
    exe = Path(os.environ.get("TEECTL", REPO / "target" / "debug" / "teectl"))
    if not exe.is_file():
        _missing(f"teectl not found at {exe} (cargo build -p teectl, or set TEECTL)")

    def run(*args, cwd=None):
        """teectl ARGS: (exit code, stdout parsed as JSON or None, stderr)."""
        p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                           cwd=cwd, env={**os.environ, "TEE_BACKEND": "auto"}, timeout=120)
        try:
            out = json.loads(p.stdout) if p.stdout.strip() else None
        except json.JSONDecodeError:
            out = p.stdout
        return p.returncode, out, p.stderr

    return run


@pytest.fixture(scope="session")
def snp(vectors):
    """go-sev-guest's Milan v2 report and its VCEK (genuine, debug policy)."""
    return {
        "report": (vectors / "go-sev-guest/attestation.bin").read_bytes(),
        "vcek": (vectors / "go-sev-guest/vcek.der").read_bytes(),
        "report_path": vectors / "go-sev-guest/attestation.bin",
        "vcek_path": vectors / "go-sev-guest/vcek.der",
        "at": "2025-01-01T00:00:00Z",
    }


@pytest.fixture(scope="session")
def tdx(vectors):
    """dcap-qvl's v4 quote with its QuoteCollateralV3 (UpToDate in its window)."""
    return {
        "quote": (vectors / "dcap-qvl/tdx_quote").read_bytes(),
        "collateral": (vectors / "dcap-qvl/tdx_quote_collateral.json").read_bytes(),
        "quote_path": vectors / "dcap-qvl/tdx_quote",
        "collateral_path": vectors / "dcap-qvl/tdx_quote_collateral.json",
        "at": "2025-07-19T10:00:34Z",
        "expired": "2025-08-01T00:00:00Z",
    }


def check(result, name):
    """The appraisal check `name` of a verify result."""
    for c in result["appraisal"]["checks"]:
        if c["name"] == name:
            return c
    raise AssertionError(f"no check {name}: {[c['name'] for c in result['appraisal']['checks']]}")


def failed(result):
    return sorted(c["name"] for c in result["appraisal"]["checks"] if c["outcome"] == "failed")
