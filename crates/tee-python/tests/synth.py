"""Synthetic firmware images built from the reference-value fact sheet
(docs/reference-values.md; shared design reference-values.md §2.9 and §4.3),
written here independently of the Rust recipes and checked by their sha256.
"""

import struct
import uuid

PAGE = 0x1000


def _guid(s):
    return uuid.UUID(s).bytes_le


SNP_FOOTER = _guid("96b582de-1fb2-45f7-baea-a366c55a082d")
SEV_METADATA = _guid("dc886566-984a-4798-a75e-5585a7bf67cc")
SEV_HASH_TABLE = _guid("7255371f-3a3b-4b04-927b-1da6efa8d454")
SEV_ES_RESET = _guid("00f771de-1a7e-4fcb-890e-68c77e2fb44e")

# snp-synth.bin: 8192 bytes.
SNP_SYNTH_SHA256 = "33f3eb79fec92156c3e355aa4a4606b34b97f1cbbd2ce96051be4503ec59f26e"
SNP_SYNTH_SECTIONS = [
    (0x800000, 0x2000, 1),
    (0x802000, 0x1000, 2),
    (0x803000, 0x1000, 3),
    (0x804000, 0x1000, 4),
    (0x810000, 0x1000, 0x10),
    (0x811000, 0x1000, 1),
]


def snp_ovmf(pages=2, sections=SNP_SYNTH_SECTIONS, hash_table=(0x810C00, 0x400),
             reset=0x0080B004):
    """An OVMF image: page 0 0x5A, page p >= 2 the byte p (but its last 64
    bytes), the ASEV metadata at page 1, the footer table ending 32 bytes
    before the end."""
    size = pages * PAGE
    f = bytearray(size)
    f[:PAGE] = b"\x5a" * PAGE
    for p in range(2, pages):
        f[p * PAGE:(p + 1) * PAGE - 64] = bytes([p & 0xFF]) * (PAGE - 64)
    meta = b"ASEV" + struct.pack("<III", 16 + 12 * len(sections), 1, len(sections))
    for gpa, sz, ty in sections:
        meta += struct.pack("<III", gpa, sz, ty)
    f[PAGE:PAGE + len(meta)] = meta
    table = b""

    def entry(data, guid):
        return data + struct.pack("<H", len(data) + 18) + guid

    table += entry(struct.pack("<I", size - PAGE), SEV_METADATA)
    if hash_table is not None:
        table += entry(struct.pack("<II", *hash_table), SEV_HASH_TABLE)
    if reset is not None:
        table += entry(struct.pack("<I", reset), SEV_ES_RESET)
    table += struct.pack("<H", len(table) + 18) + SNP_FOOTER
    end = size - 32
    f[end - len(table):end] = table
    return bytes(f)


TDX_METADATA = bytes([0xF3, 0xF9, 0xEA, 0xE9, 0x8E, 0x16, 0xD5, 0x44,
                      0xA8, 0xEB, 0x7F, 0x4D, 0x87, 0x38, 0xF6, 0xAE])
TDX_FOOTER = _guid("96b582de-1fb2-45f7-baea-a366c55a082d")
TDX_OFFSET = _guid("e47a6535-984a-4798-865e-4685a7bf8ec2")

# tdx-synth.bin: 12 288 bytes.
TDX_SYNTH_SHA256 = "537c8b128fedce09916fe963dff0bd800155ba94b16970ca385c877cf0a81e22"
TDX_SYNTH_ONE_PASS = ("dd29c282a3aac954af79408f10cbbed692faad475d8437ca"
                      "fd87b09c6b56e91698d14bbcfb3ed9976d5be556b0745dd1")
TDX_SYNTH_TWO_PASS = ("654ba50965c8506a618040c514035f232035f5b694c7638"
                      "1c0f9076dedb0697e0890d48dda882e0231c52773e0de3bc3")
# (DataOffset, RawDataSize, MemoryAddress, MemoryDataSize, Type, Attributes)
TDX_SYNTH_SECTIONS = [
    (0x1000, 0x2000, 0xFFFFE000, 0x2000, 0, 0x1),
    (0, 0x1000, 0xFFFFD000, 0x1000, 1, 0),
    (0, 0, 0x809000, 0x2000, 2, 0),
    (0, 0, 0x800000, 0x1000, 3, 0),
    (0, 0, 0x900000, 0x1000, 4, 0x2),
]


def _tdx_descriptor(sections):
    d = b"TDVF" + struct.pack("<III", 16 + 32 * len(sections), 1, len(sections))
    for s in sections:
        d += struct.pack("<IIQQII", *s)
    return d


def _tdx_footer(f, desc_from_end):
    end = len(f) - 32
    f[end - 16:end] = TDX_FOOTER
    f[end - 18:end - 16] = struct.pack("<H", 0x28)
    e = end - 40
    f[e:e + 4] = struct.pack("<I", desc_from_end)
    f[e + 4:e + 6] = struct.pack("<H", 22)
    f[e + 6:e + 22] = TDX_OFFSET


def tdvf_synth():
    """tdx-synth.bin of the fact sheet."""
    f = bytearray(0x3000)
    f[:0x1000] = b"\x11" * 0x1000
    f[0x1000:0x2000] = b"\x22" * 0x1000
    f[0x2000:0x2010] = TDX_METADATA
    d = _tdx_descriptor(TDX_SYNTH_SECTIONS)
    f[0x2010:0x2010 + len(d)] = d
    _tdx_footer(f, 0xFF0)
    return bytes(f)


def tdvf_large(mib):
    """A TDVF of `mib` MiB whose BFV (measured with MR.EXTEND) is all but
    the last 8 KiB: a long computation, for the GIL test."""
    size = mib << 20
    f = bytearray(size)
    bfv = size - 0x2000
    desc = size - 0x1000
    f[desc - 16:desc] = TDX_METADATA
    d = _tdx_descriptor([
        (0, bfv, 0x1_0000_0000 - size, bfv, 0, 0x1),
        (0, 0, 0x800000, 0x1000, 3, 0),
    ])
    f[desc:desc + len(d)] = d
    _tdx_footer(f, 0x1000)
    return bytes(f)
