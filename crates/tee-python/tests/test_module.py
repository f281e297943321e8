"""The installed module: its public names, and the type stubs shipped in the
wheel agree with the functions' real signatures."""

import ast
import importlib.metadata
import inspect
from pathlib import Path

import tee_sdk

PUBLIC = {"verify", "appraise", "snp_launch_digest", "snp_ovmf_hash", "tdx_mrtd", "TeeError",
          "UsageError", "MalformedError", "AuthenticityError", "PolicyError", "UnsupportedError"}


def test_public_names():
    assert set(tee_sdk.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(tee_sdk, name), name
    # The wheel's version is the crate's.
    assert importlib.metadata.version("tee-sdk") == tee_sdk.tee_sdk.__version__
    assert "teectl verify" in " ".join(tee_sdk.verify.__doc__.split())
    assert "PolicyError" in tee_sdk.appraise.__doc__


def _stub_functions():
    pkg = Path(tee_sdk.__file__).parent
    stub = pkg / "__init__.pyi"
    assert stub.is_file(), f"the wheel ships no type stubs at {stub}"
    assert (pkg / "py.typed").is_file()
    tree = ast.parse(stub.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_stubs_match_the_signatures():
    stubs = _stub_functions()
    assert set(stubs) == {n for n in PUBLIC if n[0].islower()}
    for name, node in stubs.items():
        real = inspect.signature(getattr(tee_sdk, name))
        a = node.args
        positional = [(p.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in a.args]
        keyword = [(p.arg, inspect.Parameter.KEYWORD_ONLY) for p in a.kwonlyargs]
        got = [(p.name, p.kind) for p in real.parameters.values()]
        assert got == positional + keyword, name
        # Which parameters have defaults, and the defaults' values.
        stub_defaults = {}
        for p, d in zip(a.args[len(a.args) - len(a.defaults):], a.defaults):
            stub_defaults[p.arg] = ast.literal_eval(d)
        for p, d in zip(a.kwonlyargs, a.kw_defaults):
            if d is not None:
                stub_defaults[p.arg] = ast.literal_eval(d)
        real_defaults = {p.name: p.default for p in real.parameters.values()
                         if p.default is not inspect.Parameter.empty}
        assert stub_defaults == real_defaults, name
