"""Type stubs of the extension module `tee_sdk` (see README.md)."""

import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

Bytes = Union[bytes, bytearray]
Text = Union[bytes, bytearray, str]
Time = Union[datetime.datetime, int, str]

class TeeError(Exception):
    exit_code: int
    error_class: str

class UsageError(TeeError): ...
class MalformedError(TeeError): ...
class AuthenticityError(TeeError): ...

class PolicyError(TeeError):
    result: Dict[str, Any]
    failed: List[Tuple[str, str]]

class UnsupportedError(TeeError): ...

def verify(
    evidence_json: Optional[Text] = None,
    *,
    snp_report: Optional[Text] = None,
    vcek: Optional[Text] = None,
    snp_chain: Optional[Sequence[Text]] = None,
    crl: Optional[Bytes] = None,
    tdx_quote: Optional[Bytes] = None,
    event_log: Optional[Bytes] = None,
    collateral: Optional[Text] = None,
    policy: Optional[Union[str, bytes]] = None,
    at: Time,
    report_data: Optional[Union[Bytes, str]] = None,
    nonce: Optional[Union[Bytes, str]] = None,
    user_data: Optional[Bytes] = None,
    trust_mock_root: bool = False,
    allow_unchecked_revocation: bool = False,
) -> Dict[str, Any]: ...

def appraise(
    evidence_json: Optional[Text] = None,
    *,
    snp_report: Optional[Text] = None,
    vcek: Optional[Text] = None,
    snp_chain: Optional[Sequence[Text]] = None,
    crl: Optional[Bytes] = None,
    tdx_quote: Optional[Bytes] = None,
    event_log: Optional[Bytes] = None,
    collateral: Optional[Text] = None,
    policy: Union[str, bytes],
    at: Time,
    report_data: Optional[Union[Bytes, str]] = None,
    nonce: Optional[Union[Bytes, str]] = None,
    user_data: Optional[Bytes] = None,
    trust_mock_root: bool = False,
    allow_unchecked_revocation: bool = False,
) -> Dict[str, Any]: ...

def snp_launch_digest(
    ovmf: Bytes,
    *,
    vcpus: int,
    vcpu_type: Optional[str] = None,
    vcpu_sig: Optional[int] = None,
    vmm_type: str = "qemu",
    guest_features: int = 0x1,
    kernel: Optional[Bytes] = None,
    initrd: Optional[Bytes] = None,
    append: Optional[str] = None,
    snp_ovmf_hash: Optional[Union[Bytes, str]] = None,
    ovmf_name: str = "ovmf",
    kernel_name: str = "kernel",
    initrd_name: str = "initrd",
) -> Dict[str, Any]: ...

def snp_ovmf_hash(ovmf: Bytes, *, ovmf_name: str = "ovmf") -> Dict[str, Any]: ...

def tdx_mrtd(
    tdvf: Bytes,
    *,
    two_pass: bool = False,
    pages: bool = False,
    name: Optional[str] = None,
) -> Dict[str, Any]: ...
