#![no_main]
//! OVMF parsing and the SNP launch digest on arbitrary images: never panics.
//! The input is padded to a whole number of pages (at most 16) so that the
//! footer table and metadata parsers, not the size check, get the bytes.
use libfuzzer_sys::fuzz_target;
use tee_sev::reference::{FileInput, Ovmf, SnpLaunch, VcpuType, VmmType};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let rest = &rest[..rest.len().min(16 * 4096)];
    let mut img = rest.to_vec();
    img.resize(rest.len().div_ceil(4096).max(1) * 4096, 0);
    let _ = Ovmf::parse(&img);
    let _ = Ovmf::parse(rest);
    let vmm = VmmType::ALL[usize::from(ctl & 3) % 3];
    let mut l = SnpLaunch::new(FileInput::new("fuzz", &img))
        .vcpus(u32::from(ctl >> 5) + 1)
        .vmm_type(vmm)
        .vcpu_type(VcpuType::ALL[usize::from(ctl >> 2) % VcpuType::ALL.len()]);
    if ctl & 0x10 != 0 {
        l = l.kernel(FileInput::new("k", b"kernel")).append("console=ttyS0");
    }
    if let Ok(d) = l.compute() {
        assert_eq!(d.reference().value.len(), 48);
    }
});
