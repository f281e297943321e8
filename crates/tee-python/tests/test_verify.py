"""verify / appraise on the shared SEV-SNP and TDX vectors and the mock:
the verdicts of the vectors' INDEX.md, the same claims as `teectl verify`,
and every failure a typed exception with teectl's exit code."""

import base64
import datetime
import json

import pytest

import tee_sdk
from conftest import check, failed

PERMISSIVE = "allow_debug = true\nallow_any_measurement = true\n"
SNP_RD = bytes([1, 2, 3, 4, 5]) + bytes(59)


# ---------------------------------------------------------------- SEV-SNP --

def test_snp_vector_verifies_and_the_default_policy_refuses_it(snp):
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True)
    assert r["platform"] == "sev-snp"
    assert r["product"] == "milan"
    assert r["debug"] is True
    assert r["report_data"] == SNP_RD.hex()
    assert r["revocation_checked"] is False
    assert r["verified_at"] == "2025-01-01T00:00:00Z"
    # Authentic, but a debug guest with no reference value and no expected
    # report data: the default policy admits no workload.
    assert r["appraisal"]["passed"] is False
    assert failed(r) == ["debug", "measurement", "report_data"]
    # The unchecked revocation was explicitly allowed, and says so.
    assert check(r, "sev-snp.revocation")["outcome"] == "passed"
    assert "NOT checked" in check(r, "sev-snp.revocation")["detail"]


def test_snp_same_claims_as_teectl(snp, teectl):
    code, out, err = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                            "--vcek", snp["vcek_path"], "--at", snp["at"],
                            "--allow-unchecked-revocation")
    assert code == 4, err  # appraisal failed
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True)
    assert r == out
    # The same with a policy and the expected report data: both pass.
    code, out, err = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                            "--vcek", snp["vcek_path"], "--at", snp["at"],
                            "--allow-unchecked-revocation", "--allow-debug",
                            "--allow-any-measurement", "--report-data", SNP_RD.hex())
    assert code == 0, err
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True, policy=PERMISSIVE, report_data=SNP_RD)
    assert r["appraisal"]["passed"] is True
    assert r == out


def test_snp_without_unchecked_revocation_fails_the_revocation_check(snp):
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       policy=PERMISSIVE, report_data=SNP_RD)
    assert r["appraisal"]["passed"] is False
    assert failed(r) == ["sev-snp.revocation"]


def test_snp_policy_passes_and_other_report_data_fails(snp):
    ok = tee_sdk.appraise(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                          allow_unchecked_revocation=True, policy=PERMISSIVE,
                          report_data=SNP_RD.hex())
    assert ok["appraisal"]["passed"] is True
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True, policy=PERMISSIVE,
                       report_data=bytes([7]) * 64)
    assert failed(r) == ["report_data"]
    # A nonce binds to other report data than the report's.
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True, policy=PERMISSIVE, nonce=b"nonce")
    assert failed(r) == ["report_data"]


def test_nonce_binding_as_teectl(teectl, tmp_path):
    # Mock evidence bound by teectl to ReportData::bind(nonce, user data).
    (tmp_path / "ud").write_bytes(b"user data")
    code, _, err = teectl("--backend", "mock", "report", "--nonce", b"nonce".hex(),
                          "--user-data", tmp_path / "ud", "-o", tmp_path / "m.json")
    assert code == 0, err
    ev = (tmp_path / "m.json").read_bytes()
    kw = dict(at=0, trust_mock_root=True,
              policy="allow_mock = true\nallow_any_measurement = true\n")
    for nonce in (b"nonce", b"nonce".hex()):
        r = tee_sdk.verify(ev, nonce=nonce, user_data=b"user data", **kw)
        assert r["appraisal"]["passed"] is True, failed(r)
    assert failed(tee_sdk.verify(ev, nonce=b"nonce", user_data=b"other", **kw)) == ["report_data"]
    assert failed(tee_sdk.verify(ev, nonce=b"nonce", **kw)) == ["report_data"]


def test_appraise_raises_policy_error_with_the_result(snp):
    with pytest.raises(tee_sdk.PolicyError) as e:
        tee_sdk.appraise(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                         allow_unchecked_revocation=True, policy="")
    err = e.value
    assert isinstance(err, tee_sdk.TeeError)
    assert err.exit_code == 4 and err.error_class == "policy"
    assert [n for n, _ in err.failed] == ["debug", "report_data", "measurement"]
    assert err.result["appraisal"]["passed"] is False
    assert err.result["platform"] == "sev-snp"
    assert "appraisal failed: debug" in str(err)
    # The same call through verify: the result, not an exception.
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True, policy="")
    assert r == err.result


def test_snp_flipped_byte_is_not_authentic(snp, teectl, tmp_path):
    bad = bytearray(snp["report"])
    bad[0x90] ^= 1
    with pytest.raises(tee_sdk.AuthenticityError) as e:
        tee_sdk.verify(snp_report=bytes(bad), vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True)
    assert e.value.exit_code == 3
    # bytearray input, and appraise: the same class.
    with pytest.raises(tee_sdk.AuthenticityError):
        tee_sdk.appraise(snp_report=bad, vcek=snp["vcek"], at=snp["at"], policy=PERMISSIVE)
    (tmp_path / "bad.bin").write_bytes(bad)
    code, _, _ = teectl("verify", "--platform", "sev-snp", "--report", tmp_path / "bad.bin",
                        "--vcek", snp["vcek_path"], "--at", snp["at"],
                        "--allow-unchecked-revocation")
    assert code == e.value.exit_code


def test_snp_hex_report_and_pem_vcek(snp):
    pem = ("-----BEGIN CERTIFICATE-----\n"
           + "\n".join(base64.b64encode(snp["vcek"]).decode()[i:i + 64]
                       for i in range(0, 4 * ((len(snp["vcek"]) + 2) // 3), 64))
           + "\n-----END CERTIFICATE-----\n")
    a = tee_sdk.verify(snp_report=snp["report"].hex(), vcek=pem, at=snp["at"],
                       allow_unchecked_revocation=True)
    b = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                       allow_unchecked_revocation=True)
    assert a == b


def test_snp_wrong_vcek_and_missing_vcek(snp, vectors, teectl):
    other = (vectors / "virtee-sev/vcek_milan.der").read_bytes()
    with pytest.raises(tee_sdk.AuthenticityError):
        tee_sdk.verify(snp_report=snp["report"], vcek=other, at=snp["at"],
                       allow_unchecked_revocation=True)
    # No VCEK and none in the evidence: not authentic, as teectl says.
    with pytest.raises(tee_sdk.AuthenticityError, match="missing endorsement: VCEK") as e:
        tee_sdk.verify(snp_report=snp["report"], at=snp["at"], allow_unchecked_revocation=True)
    code, _, _ = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                        "--at", snp["at"])
    assert code == e.value.exit_code == 3
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.verify(snp_report=snp["report"], vcek=b"not a certificate", at=snp["at"])
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.verify(snp_report=b"short", vcek=snp["vcek"], at=snp["at"])


def test_snp_crl_not_from_amd_is_refused(snp, vectors, teectl):
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], crl=b"\x30\x03\x02\x01\x00",
                       at=snp["at"])
    # A CRL, but Intel's root CRL, not issued by AMD's ARK.
    intel = vectors / "go-tdx-guest/rootcrl.der"
    with pytest.raises(tee_sdk.AuthenticityError, match="not by ARK-Milan") as e:
        tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], crl=intel.read_bytes(),
                       at=snp["at"])
    code, _, _ = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                        "--vcek", snp["vcek_path"], "--crl", intel, "--at", snp["at"])
    assert code == e.value.exit_code == 3


def test_snp_envelope_json_gives_the_same_claims(snp, teectl, tmp_path):
    b64 = lambda b: base64.b64encode(b).decode()
    env = {"version": 1, "platform": "sev-snp", "format": "sev-snp-report",
           "report": b64(snp["report"]),
           "endorsements": [{"kind": "signing-cert-der", "data": b64(snp["vcek"])}]}
    text = json.dumps(env)
    (tmp_path / "ev.json").write_text(text)
    raw = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                         allow_unchecked_revocation=True)
    for given in (text, text.encode()):
        r = tee_sdk.verify(given, at=snp["at"], allow_unchecked_revocation=True)
        assert r == raw
    code, out, err = teectl("verify", "--evidence", tmp_path / "ev.json", "--at", snp["at"],
                            "--allow-unchecked-revocation")
    assert code == 4, err
    assert out == raw


# ------------------------------------------------------------------- TDX --

def test_tdx_vector_up_to_date_and_same_claims_as_teectl(tdx, teectl):
    r = tee_sdk.verify(tdx_quote=tdx["quote"], collateral=tdx["collateral"], at=tdx["at"])
    assert r["platform"] == "tdx"
    assert r["claims"]["platform_claims"]["tdx"]["tcb_status"] == "UpToDate"
    assert r["appraisal"]["passed"] is False
    assert failed(r) == ["measurement", "report_data"]
    code, out, err = teectl("verify", "--platform", "tdx", "--quote", tdx["quote_path"],
                            "--collateral", tdx["collateral_path"], "--at", tdx["at"])
    assert code == 4, err
    assert r == out
    # With the quote's own report data and a permissive policy: passes,
    # through both calls, and as teectl says.
    rd = bytes.fromhex(r["report_data"])
    ok = tee_sdk.appraise(tdx_quote=tdx["quote"], collateral=tdx["collateral"].decode(),
                          at=tdx["at"], policy=PERMISSIVE, report_data=rd)
    assert ok["appraisal"]["passed"] is True
    code, out, err = teectl("verify", "--platform", "tdx", "--quote", tdx["quote_path"],
                            "--collateral", tdx["collateral_path"], "--at", tdx["at"],
                            "--allow-debug", "--allow-any-measurement",
                            "--report-data", rd.hex())
    assert code == 0, err
    assert ok == out


def test_tdx_expired_collateral_is_not_authentic(tdx, teectl):
    with pytest.raises(tee_sdk.AuthenticityError) as e:
        tee_sdk.verify(tdx_quote=tdx["quote"], collateral=tdx["collateral"], at=tdx["expired"])
    assert "expired" in str(e.value)
    code, _, err = teectl("verify", "--platform", "tdx", "--quote", tdx["quote_path"],
                          "--collateral", tdx["collateral_path"], "--at", tdx["expired"])
    assert code == e.value.exit_code == 3, err


def test_tdx_without_or_with_bad_collateral_has_no_verdict(tdx):
    # No collateral: no TCB evaluation, so no verdict (never a pass).
    with pytest.raises(tee_sdk.AuthenticityError, match="missing endorsement: TDX collateral"):
        tee_sdk.verify(tdx_quote=tdx["quote"], at=tdx["at"], policy=PERMISSIVE)
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.verify(tdx_quote=tdx["quote"], collateral=b"not json", at=tdx["at"])
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.verify(tdx_quote=b"short", collateral=tdx["collateral"], at=tdx["at"])
    bad = bytearray(tdx["quote"])
    bad[100] ^= 1  # inside the signed TD report body
    with pytest.raises(tee_sdk.AuthenticityError):
        tee_sdk.verify(tdx_quote=bytes(bad), collateral=tdx["collateral"], at=tdx["at"])


def test_tdx_event_log_of_another_td_fails_appraisal_as_in_teectl(tdx, vectors, teectl):
    # GCP's COS-113 log does not replay to this quote's RTMRs.
    ccel = vectors / "go-tdx-guest/ccel/ccel_data.dat"
    r = tee_sdk.verify(tdx_quote=tdx["quote"], event_log=ccel.read_bytes(),
                       collateral=tdx["collateral"], at=tdx["at"])
    assert failed(r) == ["event_log", "measurement", "report_data"]
    code, out, err = teectl("verify", "--platform", "tdx", "--quote", tdx["quote_path"],
                            "--collateral", tdx["collateral_path"], "--event-log", ccel,
                            "--at", tdx["at"])
    assert code == 4, err
    assert r == out


# ---------------------------------------------------- collateral bundle --

@pytest.fixture(scope="module")
def bundle(snp, tdx, teectl, tmp_path_factory):
    """A `teectl collateral bundle` of the SNP vector's VCEK and the TDX
    vector's collateral (no AMD CRL)."""
    out = tmp_path_factory.mktemp("bundle") / "b.json"
    code, _, err = teectl("collateral", "bundle", "--out", out,
                          "--snp-report", snp["report_path"], "--vcek", snp["vcek_path"],
                          "--tdx-quote", tdx["quote_path"],
                          "--tdx-collateral", tdx["collateral_path"])
    assert code == 0, err
    return out


def test_bundle_gives_the_same_claims_as_teectl(snp, tdx, teectl, bundle):
    b = bundle.read_bytes()
    r = tee_sdk.verify(tdx_quote=tdx["quote"], collateral=b, at=tdx["at"])
    assert r["claims"]["platform_claims"]["tdx"]["tcb_status"] == "UpToDate"
    code, out, err = teectl("verify", "--platform", "tdx", "--quote", tdx["quote_path"],
                            "--collateral", bundle, "--at", tdx["at"])
    assert code == 4, err
    assert r == out
    r = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], collateral=b.decode(),
                       at=snp["at"], allow_unchecked_revocation=True)
    code, out, err = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                            "--vcek", snp["vcek_path"], "--collateral", bundle, "--at", snp["at"],
                            "--allow-unchecked-revocation")
    assert code == 4, err
    assert r == out


def test_bundle_negatives_have_teectl_exit_codes(snp, teectl, bundle):
    b = bundle.read_bytes()
    # The bundle holds no AMD CRL: unavailable collateral, never a pass.
    with pytest.raises(tee_sdk.AuthenticityError, match="unavailable") as e:
        tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], collateral=b, at=snp["at"])
    code, _, _ = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                        "--vcek", snp["vcek_path"], "--collateral", bundle, "--at", snp["at"])
    assert code == e.value.exit_code == 3
    # A v2 report without its VCEK names no product: which VCEK to take
    # from the bundle cannot be told.
    with pytest.raises(tee_sdk.UnsupportedError, match="product") as e:
        tee_sdk.verify(snp_report=snp["report"], collateral=b, at=snp["at"],
                       allow_unchecked_revocation=True)
    code, _, _ = teectl("verify", "--platform", "sev-snp", "--report", snp["report_path"],
                        "--collateral", bundle, "--at", snp["at"], "--allow-unchecked-revocation")
    assert code == e.value.exit_code == 5
    # Not a bundle and not TDX collateral for SEV-SNP evidence: the caller's error.
    with pytest.raises(tee_sdk.UsageError):
        tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], collateral=b"{}",
                       at=snp["at"])


# ------------------------------------------------------------------ mock --

@pytest.fixture(scope="module")
def mock_evidence(teectl, tmp_path_factory):
    out = tmp_path_factory.mktemp("mock") / "m.json"
    code, _, err = teectl("--backend", "mock", "report", "--report-data", "03" * 64, "-o", out)
    assert code == 0, err
    return out


def test_mock_is_fail_closed_and_matches_teectl(mock_evidence, teectl):
    text = mock_evidence.read_text()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Not trusted: the mock root is not a root.
    with pytest.raises(tee_sdk.AuthenticityError):
        tee_sdk.verify(text, at=now)
    # Trusted (NO SECURITY), but the default policy refuses mock evidence.
    r = tee_sdk.verify(text, at=now, trust_mock_root=True)
    assert r["platform"] == "mock"
    assert check(r, "mock")["outcome"] == "failed"
    code, out, err = teectl("verify", "--evidence", mock_evidence, "--at", at)
    assert code == 4, err
    assert r == out
    ok = tee_sdk.appraise(text, at=at, trust_mock_root=True,
                          policy="allow_mock = true\nallow_any_measurement = true\n",
                          report_data="03" * 64)
    code, out, err = teectl("verify", "--evidence", mock_evidence, "--at", at, "--allow-mock",
                            "--allow-any-measurement", "--report-data", "03" * 64)
    assert code == 0, err
    assert ok == out


# ------------------------------------------------------------ arguments --

def test_time_forms_agree(snp):
    kw = dict(snp_report=snp["report"], vcek=snp["vcek"], allow_unchecked_revocation=True)
    dt = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    east = datetime.datetime(2025, 1, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    results = [tee_sdk.verify(at=a, **kw) for a in (snp["at"], dt, east, int(dt.timestamp()))]
    assert all(x == results[0] for x in results)
    with pytest.raises(tee_sdk.UsageError, match="naive"):
        tee_sdk.verify(at=datetime.datetime(2025, 1, 1), **kw)
    with pytest.raises(tee_sdk.UsageError):
        tee_sdk.verify(at="yesterday", **kw)
    with pytest.raises(tee_sdk.UsageError):
        tee_sdk.verify(at=-1, **kw)
    for wrong in (True, 1.5, None, b"2025-01-01T00:00:00Z"):
        with pytest.raises(TypeError):
            tee_sdk.verify(at=wrong, **kw)
    with pytest.raises(TypeError):
        tee_sdk.verify(**kw)  # at is required: no clock is read


def test_argument_combinations_are_usage_errors(snp, tdx):
    at = snp["at"]
    cases = [
        dict(),
        dict(evidence_json="{}", snp_report=snp["report"]),
        dict(snp_report=snp["report"], tdx_quote=tdx["quote"]),
        dict(tdx_quote=tdx["quote"], vcek=snp["vcek"]),
        dict(snp_report=snp["report"], vcek=snp["vcek"], event_log=b"x"),
        dict(evidence_json="{}", crl=b"x"),
        dict(snp_report=snp["report"], vcek=snp["vcek"], report_data=bytes(64), nonce=b"n"),
        dict(snp_report=snp["report"], vcek=snp["vcek"], user_data=b"u"),
        dict(snp_report=snp["report"], vcek=snp["vcek"], report_data=bytes(63)),
        dict(snp_report=snp["report"], vcek=snp["vcek"], report_data="zz" * 64),
        dict(snp_report=snp["report"], vcek=snp["vcek"], policy="allow_debug = [nonsense"),
        dict(snp_report=snp["report"], vcek=snp["vcek"], policy=b"\xff\xfe"),
        dict(snp_report=snp["report"], vcek=snp["vcek"], snp_chain=[b"x"] * 9),
    ]
    for kw in cases:
        with pytest.raises(tee_sdk.UsageError) as e:
            tee_sdk.verify(at=at, **kw)
        assert e.value.exit_code == 1, kw
    with pytest.raises(TypeError):
        tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], snp_chain=b"x", at=at)
    with pytest.raises(TypeError):
        tee_sdk.verify(tdx_quote="not bytes", at=at)
    with pytest.raises(TypeError):
        tee_sdk.verify(12, at=at)
    with pytest.raises(TypeError):
        tee_sdk.appraise(snp_report=snp["report"], vcek=snp["vcek"], at=at)  # policy required


def test_malformed_and_oversized_evidence(snp):
    for bad in ("", "{", "[]", '{"version": 1}', b"\x00" * 10):
        with pytest.raises(tee_sdk.MalformedError) as e:
            tee_sdk.verify(bad, at=snp["at"])
        assert e.value.exit_code == 2
    with pytest.raises(tee_sdk.MalformedError, match="limit"):
        tee_sdk.verify(b" " * ((16 << 20) + 1), at=snp["at"])
    with pytest.raises(tee_sdk.MalformedError, match="limit"):
        tee_sdk.verify(snp_report=b"\x00" * 5000, vcek=snp["vcek"], at=snp["at"])


def test_exception_classes():
    classes = {tee_sdk.UsageError: 1, tee_sdk.MalformedError: 2, tee_sdk.AuthenticityError: 3,
               tee_sdk.PolicyError: 4, tee_sdk.UnsupportedError: 5}
    for cls, code in classes.items():
        assert issubclass(cls, tee_sdk.TeeError) and issubclass(cls, Exception)
        assert cls.exit_code == code
        assert cls.__module__ == "tee_sdk"
    assert len({c.error_class for c in classes}) == 5
    assert not issubclass(tee_sdk.PolicyError, tee_sdk.AuthenticityError)


def test_unknown_platform_is_malformed_as_in_teectl(teectl, tmp_path):
    env = json.dumps({"version": 1, "platform": "sgx", "format": "x", "report": "",
                      "endorsements": []})
    with pytest.raises(tee_sdk.MalformedError, match="unknown variant `sgx`") as e:
        tee_sdk.verify(env, at=0)
    (tmp_path / "sgx.json").write_text(env)
    code, _, _ = teectl("verify", "--evidence", tmp_path / "sgx.json", "--at",
                        "2025-01-01T00:00:00Z")
    assert code == e.value.exit_code == 2
