//! The reference-value calculators: bytes in, the JSON `teectl reference
//! ... --json` prints out (as a dict), plus the value as `bytes` and a
//! policy (TOML) pinning it. The GIL is released while they compute.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde_json::{Value, json};
use tee::Policy;
use tee::sev::reference::{self as snp, FileInput, LaunchDigest, SnpLaunch, VcpuType, VmmType};
use tee::tdx::reference::{self as tdx, MrtdOptions, PageAddOrder, TranscriptDetail};

use crate::convert::{Buf, Text, bytes_arg, hex_or_bytes, json_to_py};
use crate::errors;

/// A kernel or initrd of a measured direct boot (as `teectl`).
const MAX_IMAGE: usize = 512 << 20;
/// A TDVF image (as `teectl`).
const MAX_TDVF: usize = 64 << 20;

/// What a calculator gives before it becomes a dict.
struct Computed {
    json: Value,
    digest: Vec<u8>,
    policy: String,
}

/// `Computed` as the dict: the JSON, then `digest` (bytes) and `policy`.
fn to_dict<'py>(py: Python<'py>, c: &Computed) -> PyResult<Bound<'py, PyAny>> {
    let d = json_to_py(py, &c.json)?;
    let dict = d.cast::<PyDict>()?;
    dict.set_item("digest", PyBytes::new(py, &c.digest))?;
    dict.set_item("policy", &c.policy)?;
    Ok(d)
}

/// The JSON of `teectl reference sev-snp ... --json` (but the
/// `reference_inputs`, which name files).
fn launch_json(d: &LaunchDigest<'_>) -> Value {
    let groups: Vec<_> = d
        .groups
        .iter()
        .map(|g| {
            json!({
                "label": g.label,
                "steps": [g.steps.start, g.steps.end],
                "digest_after": hex::encode(g.digest_after),
            })
        })
        .collect();
    json!({
        "name": d.name,
        "measurement": hex::encode(d.digest),
        "measurement_base64": snp::base64(&d.digest),
        "notes": d.notes,
        "groups": groups,
        "transcript": d.transcript(),
    })
}

fn launch_computed(d: &LaunchDigest<'_>) -> Result<Computed, tee::Error> {
    Ok(Computed {
        json: launch_json(d),
        digest: d.digest.to_vec(),
        policy: d.policy().to_toml()?,
    })
}

/// The SEV-SNP launch digest (the report's MEASUREMENT) of a launch: the
/// OVMF image, the vCPU count and type (`vcpu_type` as QEMU spells it, e.g.
/// "EPYC-Genoa", or `vcpu_sig` as an int), the VMM ("qemu", "ec2", "gce"),
/// the guest features (SEV_FEATURES, default 0x1), and for a measured
/// direct boot the kernel, initrd and command line; `snp_ovmf_hash` (48
/// bytes or hex) starts from a precomputed firmware digest.
///
/// Returns what `teectl reference sev-snp ... --json` prints (name,
/// measurement as hex, measurement_base64, notes, groups, transcript),
/// with `digest` (the 48 bytes) and `policy` (TOML admitting this digest).
/// The `*_name` arguments are how the transcript names the inputs
/// (`teectl` puts the file paths). Raises `MalformedError` for an image
/// that does not parse, `UsageError` for inputs that do not go together.
#[pyfunction]
#[pyo3(signature = (
    ovmf, *, vcpus, vcpu_type=None, vcpu_sig=None, vmm_type="qemu", guest_features=0x1,
    kernel=None, initrd=None, append=None, snp_ovmf_hash=None,
    ovmf_name="ovmf", kernel_name="kernel", initrd_name="initrd",
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn snp_launch_digest<'py>(
    py: Python<'py>,
    ovmf: Bound<'py, PyAny>,
    vcpus: u32,
    vcpu_type: Option<String>,
    vcpu_sig: Option<u32>,
    vmm_type: &str,
    guest_features: u64,
    kernel: Option<Bound<'py, PyAny>>,
    initrd: Option<Bound<'py, PyAny>>,
    append: Option<String>,
    snp_ovmf_hash: Option<Bound<'py, PyAny>>,
    ovmf_name: &str,
    kernel_name: &str,
    initrd_name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let img = bytes_arg("ovmf", &ovmf, snp::MAX_OVMF_SIZE, Text::Refused)?;
    let kernel: Option<Buf<'py>> = kernel
        .map(|k| bytes_arg("kernel", &k, MAX_IMAGE, Text::Refused))
        .transpose()?;
    let initrd: Option<Buf<'py>> = initrd
        .map(|i| bytes_arg("initrd", &i, MAX_IMAGE, Text::Refused))
        .transpose()?;
    if kernel.is_none() && (initrd.is_some() || append.is_some()) {
        return Err(errors::usage("an initrd or command line needs a kernel"));
    }
    let vcpu_type = match (vcpu_type, vcpu_sig) {
        (Some(_), Some(_)) => return Err(errors::usage("give vcpu_type or vcpu_sig, not both")),
        (Some(t), None) => Some(VcpuType::parse(&t).map_err(|e| errors::sdk(&e))?),
        (None, Some(s)) => Some(VcpuType::from_sig(s)),
        (None, None) => None,
    };
    let vmm = VmmType::parse(vmm_type).map_err(|e| errors::sdk(&e))?;
    let seed: Option<[u8; 48]> = match &snp_ovmf_hash {
        Some(h) => {
            let b = hex_or_bytes("snp_ovmf_hash", h, 48)?;
            Some(b.as_slice().try_into().map_err(|_| {
                errors::usage(format!(
                    "snp_ovmf_hash: {} bytes, expected 48 (96 hex digits)",
                    b.len()
                ))
            })?)
        }
        None => None,
    };
    let (img, kernel_s, initrd_s) = (
        img.as_slice(),
        kernel.as_ref().map(Buf::as_slice),
        initrd.as_ref().map(Buf::as_slice),
    );
    let computed = py.detach(|| {
        let mut l = SnpLaunch::new(FileInput::new(ovmf_name, img))
            .vcpus(vcpus)
            .vmm_type(vmm)
            .guest_features(guest_features);
        if let Some(t) = vcpu_type {
            l = l.vcpu_type(t);
        }
        if let Some(k) = kernel_s {
            l = l.kernel(FileInput::new(kernel_name, k));
        }
        if let Some(i) = initrd_s {
            l = l.initrd(FileInput::new(initrd_name, i));
        }
        if let Some(c) = &append {
            l = l.append(c);
        }
        if let Some(s) = seed {
            l = l.ovmf_hash(s);
        }
        launch_computed(&l.compute()?)
    });
    to_dict(py, &computed.map_err(|e| errors::sdk(&e))?)
}

/// The SEV-SNP firmware digest of an OVMF image alone: the seed a launch
/// digest can start from (`snp_launch_digest(..., snp_ovmf_hash=...)`),
/// as `teectl reference sev-snp --print-ovmf-hash --json` gives it.
#[pyfunction]
#[pyo3(signature = (ovmf, *, ovmf_name="ovmf"))]
pub(crate) fn snp_ovmf_hash<'py>(
    py: Python<'py>,
    ovmf: Bound<'py, PyAny>,
    ovmf_name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let img = bytes_arg("ovmf", &ovmf, snp::MAX_OVMF_SIZE, Text::Refused)?;
    let img = img.as_slice();
    let computed =
        py.detach(|| launch_computed(&snp::snp_ovmf_hash(FileInput::new(ovmf_name, img))?));
    to_dict(py, &computed.map_err(|e| errors::sdk(&e))?)
}

/// The TDX MRTD of a TDVF image, replaying its pages in one-pass order
/// (upstream KVM 6.16+, QEMU 9/10) or `two_pass` order (QEMU 8.x TDX
/// patch sets, Ubuntu 24.04 hosts); `pages` lists every PAGE.ADD and
/// MR.EXTEND in the transcript.
///
/// Returns what `teectl reference tdx --tdvf FILE --json` prints
/// (page_add_order, mr_td with name, value and transcript), with
/// `measurement` (hex), `digest` (the 48 bytes) and `policy` (TOML
/// admitting this MRTD). With `name`, the transcript's first input is
/// `tdvf_path` = name (`teectl` puts the file path there). Raises
/// `MalformedError` for an image that is not a TDVF.
#[pyfunction]
#[pyo3(signature = (tdvf, *, two_pass=false, pages=false, name=None))]
pub(crate) fn tdx_mrtd<'py>(
    py: Python<'py>,
    tdvf: Bound<'py, PyAny>,
    two_pass: bool,
    pages: bool,
    name: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let img = bytes_arg("tdvf", &tdvf, MAX_TDVF, Text::Refused)?;
    let img = img.as_slice();
    let order = if two_pass {
        PageAddOrder::TwoPass
    } else {
        PageAddOrder::OnePass
    };
    let detail = if pages {
        TranscriptDetail::Pages
    } else {
        TranscriptDetail::Sections
    };
    let computed = py.detach(|| -> Result<Computed, tee::Error> {
        let mut v = tdx::mrtd(img, MrtdOptions::new(order).detail(detail))?;
        if let Some(n) = &name {
            // As `teectl reference tdx`: the image's name first.
            let mut t = tee::reference::Transcript::default();
            t.input("tdvf_path", n.clone());
            t.inputs.append(&mut v.transcript.inputs);
            v.transcript.inputs = t.inputs;
        }
        let policy = tdx::policy(Policy::new(), Some(&v), None, None).to_toml()?;
        let mr_td = serde_json::to_value(&v).map_err(|e| tee::Error::encoding("MRTD JSON", e))?;
        Ok(Computed {
            json: json!({
                "page_add_order": order.name(),
                "mr_td": mr_td,
                "measurement": v.value.to_hex(),
            }),
            digest: v.value.to_vec(),
            policy,
        })
    });
    to_dict(py, &computed.map_err(|e| errors::sdk(&e))?)
}
