"""The reference-value calculators on the fact sheet's synthetic images:
the fact sheet's values, the same JSON as `teectl reference ... --json`,
policies that verify reads back, and typed errors on broken images."""

import hashlib
import threading
import time

import pytest

import tee_sdk
import synth
from conftest import check

KERNEL = b"A" * 4096
INITRD = b"B" * 4096
APPEND = "console=ttyS0"


@pytest.fixture()
def images(tmp_path):
    snp = synth.snp_ovmf()
    tdvf = synth.tdvf_synth()
    assert hashlib.sha256(snp).hexdigest() == synth.SNP_SYNTH_SHA256
    assert hashlib.sha256(tdvf).hexdigest() == synth.TDX_SYNTH_SHA256
    (tmp_path / "synth.bin").write_bytes(snp)
    (tmp_path / "tdx-synth.bin").write_bytes(tdvf)
    (tmp_path / "kernel.bin").write_bytes(KERNEL)
    (tmp_path / "initrd.bin").write_bytes(INITRD)
    return {"dir": tmp_path, "snp": snp, "tdvf": tdvf}


def _strip(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


# The fact sheet's sev-snp-measure digests for snp-synth.bin.
SNP_FACTS = [
    (dict(vcpus=1, vcpu_type="EPYC-v4"),
     "6cb0cde5bf4ad28518cfdd1245808c659700dad3f86c4fcaefb62bb64e5c443d1ae1b93aaef66fdc414e99d85fec7b59"),
    (dict(vcpus=4, vcpu_type="EPYC-Genoa"),
     "9bcf2bafda34767c4abefbea4509ded92584f7f6a4967a1d485707a28fc6e82aff6a386d8ee7555bb8093bf3f9730da7"),
    (dict(vcpus=2, vcpu_type="EPYC-Milan", kernel=True),
     "de7efec2af9249cccf6c2fadc9d7a764ec740fc98ad767dab024165f48c69fd3688dc0cfbb5692ac680ab1d9480ef659"),
    (dict(vcpus=2, vcpu_type="EPYC-Milan", vmm_type="ec2"),
     "9e8ec0b6ba7754de334a79454ef4b85070ee8ccf39dec7ca30339f83e5479cf92a728a5921e7e4109e1d439d1f7a963a"),
    (dict(vcpus=2, vcpu_type="EPYC-Milan", vmm_type="gce"),
     "f86f369d9ee0501b8676438039f4a9adea09212b3352437130cd0dbdecc6ee3047e73bbe175fa82a06639ce626ece746"),
]


@pytest.mark.parametrize("args,digest", SNP_FACTS)
def test_snp_launch_digest_facts_and_teectl(images, teectl, args, digest):
    kw = dict(args)
    cli = ["reference", "sev-snp", "--ovmf", "synth.bin", "--vcpus", kw["vcpus"],
           "--vcpu-type", kw["vcpu_type"], "--json"]
    if kw.pop("kernel", False):
        kw.update(kernel=KERNEL, initrd=INITRD, append=APPEND,
                  kernel_name="kernel.bin", initrd_name="initrd.bin")
        cli += ["--kernel", "kernel.bin", "--initrd", "initrd.bin", "--append", APPEND]
    if "vmm_type" in kw:
        cli += ["--vmm-type", kw["vmm_type"]]
    r = tee_sdk.snp_launch_digest(images["snp"], ovmf_name="synth.bin", **kw)
    assert r["measurement"] == digest
    assert r["digest"] == bytes.fromhex(digest)
    code, out, err = teectl(*cli, cwd=images["dir"])
    assert code == 0, err
    assert out["reference_inputs"]["platform"] == "sev-snp"
    assert _strip(r, "digest", "policy") == _strip(out, "reference_inputs")


def test_snp_ovmf_hash_and_seeded_digest(images, teectl):
    h = tee_sdk.snp_ovmf_hash(images["snp"], ovmf_name="synth.bin")
    assert h["measurement"] == ("61a6fc152f45be4012008ef4983c1f2365bbb17c218716363b7a0ef4"
                                "f56fc5fb54a5f2c6d8e7b6710792f66af98c1979")
    code, out, err = teectl("reference", "sev-snp", "--ovmf", "synth.bin", "--print-ovmf-hash",
                            "--json", cwd=images["dir"])
    assert code == 0, err
    assert out["reference_inputs"] is None
    assert _strip(h, "digest", "policy") == _strip(out, "reference_inputs")
    # Starting from the seed (hex or bytes) gives the full computation's digest.
    full = tee_sdk.snp_launch_digest(images["snp"], vcpus=4, vcpu_type="EPYC-Genoa")
    for seed in (h["measurement"], h["digest"]):
        seeded = tee_sdk.snp_launch_digest(images["snp"], vcpus=4, vcpu_type="EPYC-Genoa",
                                           snp_ovmf_hash=seed)
        assert seeded["digest"] == full["digest"]


def test_snp_vcpu_sig_guest_features_and_their_transcript(images, teectl):
    a = tee_sdk.snp_launch_digest(images["snp"], vcpus=2, vcpu_sig=0xA00F11,
                                  guest_features=0x21, ovmf_name="synth.bin")
    code, out, err = teectl("reference", "sev-snp", "--ovmf", "synth.bin", "--vcpus", 2,
                            "--vcpu-sig", "0xa00f11", "--guest-features", "0x21", "--json",
                            cwd=images["dir"])
    assert code == 0, err
    assert _strip(a, "digest", "policy") == _strip(out, "reference_inputs")
    b = tee_sdk.snp_launch_digest(images["snp"], vcpus=2, vcpu_sig=0xA00F11)
    assert a["digest"] != b["digest"]  # the guest features are measured


def test_snp_policy_pins_the_digest_and_verify_reads_it(images, snp):
    d = tee_sdk.snp_launch_digest(images["snp"], vcpus=1, vcpu_type="EPYC-v4")
    assert d["measurement"] in d["policy"]
    # The go-sev-guest report was launched from other firmware: its
    # measurement is not this reference value.
    kw = dict(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
              allow_unchecked_revocation=True)
    debug = d["policy"].replace("allow_debug = false", "allow_debug = true", 1)
    r = tee_sdk.verify(policy=debug, **kw)
    assert check(r, "measurement")["outcome"] == "failed"
    # The same policy with the report's own measurement: that check passes.
    r = tee_sdk.verify(policy=debug.replace(d["measurement"], r["measurement"]), **kw)
    assert check(r, "measurement")["outcome"] == "passed"


def test_snp_errors(images):
    img = images["snp"]
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.snp_launch_digest(b"\x00" * 8192, vcpus=1, vcpu_type="EPYC")
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.snp_launch_digest(img[:100], vcpus=1, vcpu_type="EPYC")
    no_metadata = synth.snp_ovmf(sections=[])
    with pytest.raises(tee_sdk.MalformedError, match="SEV metadata"):
        tee_sdk.snp_launch_digest(no_metadata, vcpus=1, vcpu_type="EPYC")
    usage = [
        dict(vcpus=1),                                   # QEMU needs a vCPU type
        dict(vcpus=0, vcpu_type="EPYC"),
        dict(vcpus=1, vcpu_type="EPYC-Nonesuch"),
        dict(vcpus=1, vcpu_type="EPYC", vcpu_sig=0xA00F11),
        dict(vcpus=1, vcpu_type="EPYC", vmm_type="xen"),
        dict(vcpus=1, vcpu_type="EPYC", initrd=INITRD),  # an initrd needs a kernel
        dict(vcpus=1, vcpu_type="EPYC", append="x"),
        dict(vcpus=1, vcpu_type="EPYC", snp_ovmf_hash=b"\x00" * 47),
    ]
    for kw in usage:
        with pytest.raises(tee_sdk.UsageError):
            tee_sdk.snp_launch_digest(img, **kw)
    with pytest.raises(TypeError):
        tee_sdk.snp_launch_digest("not bytes", vcpus=1, vcpu_type="EPYC")
    with pytest.raises(tee_sdk.MalformedError, match="limit"):
        tee_sdk.snp_launch_digest(b"\x00" * ((64 << 20) + 1), vcpus=1, vcpu_type="EPYC")


# ------------------------------------------------------------------- TDX --

@pytest.mark.parametrize("two_pass,digest", [(False, synth.TDX_SYNTH_ONE_PASS),
                                             (True, synth.TDX_SYNTH_TWO_PASS)])
def test_tdx_mrtd_facts_and_teectl(images, teectl, two_pass, digest):
    r = tee_sdk.tdx_mrtd(images["tdvf"], two_pass=two_pass, name="tdx-synth.bin")
    assert r["measurement"] == digest == r["mr_td"]["value"]
    assert r["digest"] == bytes.fromhex(digest)
    assert r["mr_td"]["name"] == "tdx.mr_td"
    cli = ["reference", "tdx", "--tdvf", "tdx-synth.bin", "--json"]
    if two_pass:
        cli.append("--two-pass")
    code, out, err = teectl(*cli, cwd=images["dir"])
    assert code == 0, err
    assert out["reference_inputs"]["platform"] == "tdx"
    assert _strip(r, "digest", "policy", "measurement") == _strip(out, "reference_inputs")
    # Without a name the transcript starts at the image's own inputs.
    anon = tee_sdk.tdx_mrtd(images["tdvf"], two_pass=two_pass)
    assert anon["digest"] == r["digest"]
    assert anon["mr_td"]["transcript"]["inputs"] == r["mr_td"]["transcript"]["inputs"][1:]


def test_tdx_page_transcript_and_policy(images, tdx):
    sections = tee_sdk.tdx_mrtd(images["tdvf"])
    pages = tee_sdk.tdx_mrtd(images["tdvf"], pages=True)
    assert pages["digest"] == sections["digest"]
    assert len(pages["mr_td"]["transcript"]["steps"]) > len(sections["mr_td"]["transcript"]["steps"])
    assert sections["measurement"] in sections["policy"]
    # The dcap-qvl quote's MRTD is not the synthetic image's.
    kw = dict(tdx_quote=tdx["quote"], collateral=tdx["collateral"], at=tdx["at"])
    r = tee_sdk.verify(policy=sections["policy"], **kw)
    assert check(r, "measurement")["outcome"] == "failed"
    mine = sections["policy"].replace(sections["measurement"], r["measurement"])
    r = tee_sdk.verify(policy=mine, **kw)
    assert check(r, "measurement")["outcome"] == "passed"


def test_tdx_errors():
    for bad in (b"", b"\x00" * 4096, synth.tdvf_synth()[:0x2000]):
        with pytest.raises(tee_sdk.MalformedError):
            tee_sdk.tdx_mrtd(bad)
    broken = bytearray(synth.tdvf_synth())
    broken[0x2010:0x2014] = b"XXXX"  # descriptor signature
    with pytest.raises(tee_sdk.MalformedError):
        tee_sdk.tdx_mrtd(bytes(broken))
    with pytest.raises(TypeError):
        tee_sdk.tdx_mrtd([1, 2, 3])


# ------------------------------------------------------------------- GIL --

def test_the_gil_is_released_while_computing():
    """While one thread computes a 64 MiB TDVF's MRTD (hundreds of ms),
    another keeps running Python: with the GIL held it would stall for the
    whole call."""
    big = synth.tdvf_large(64)
    stamps, stop = [], threading.Event()

    def ticker():
        while not stop.is_set():
            stamps.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.05)
        t0 = time.monotonic()
        r = tee_sdk.tdx_mrtd(big)
        t1 = time.monotonic()
    finally:
        stop.set()
        t.join()
    assert len(r["digest"]) == 48
    inside = [s for s in stamps if t0 <= s <= t1]
    edges = [t0, *inside, t1]
    longest_stall = max(b - a for a, b in zip(edges, edges[1:]))
    assert t1 - t0 > 0.05, "the computation is too short to tell"
    assert longest_stall < (t1 - t0) / 2, (longest_stall, t1 - t0, len(inside))


def test_concurrent_verifications_agree(snp, tdx):
    """Verifications from several threads at once (the GIL released in
    each) give the same claims as one at a time."""
    want_snp = tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"], at=snp["at"],
                              allow_unchecked_revocation=True)
    want_tdx = tee_sdk.verify(tdx_quote=tdx["quote"], collateral=tdx["collateral"], at=tdx["at"])
    got, errors = [], []

    def work(i):
        try:
            for _ in range(3):
                if i % 2:
                    got.append(("snp", tee_sdk.verify(snp_report=snp["report"], vcek=snp["vcek"],
                                                      at=snp["at"],
                                                      allow_unchecked_revocation=True)))
                else:
                    got.append(("tdx", tee_sdk.verify(tdx_quote=tdx["quote"],
                                                      collateral=tdx["collateral"],
                                                      at=tdx["at"])))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(got) == 12
    for kind, r in got:
        assert r == (want_snp if kind == "snp" else want_tdx)
