use super::*;
use tee_pef::fdt::Node;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn skeleton() -> Node {
    let lockbox = |name: &str, comment: &str, key: &[u8], hash: &[u8]| {
        Node::new(name)
            .with_str("untrusted-comment", comment)
            .with_prop("encrypted-symkey", key.to_vec())
            .with_child(
                Node::new("pubkey-fingerprint")
                    .with_str("algorithm", "SHA256")
                    .with_prop("hash", hash.to_vec()),
            )
    };
    Node::new("")
        .with_str("compatible", "ibm,esm")
        .with_child(
            Node::new("lockboxes")
                .with_child(lockbox(
                    "origin-lockbox",
                    "owner",
                    &[1, 2, 3, 4, 5],
                    &[0xaa, 0xbb, 0xcc, 0xdd],
                ))
                .with_child(lockbox("lockbox-1", "tpm", &[6, 7, 8], &[0xee, 0xff])),
        )
        .with_child(
            Node::new("digest").with_child(
                Node::new("digests-fdt")
                    .with_str("algorithm", "AES256-GCM")
                    .with_str("untrusted-comment", "digests")
                    .with_prop("ciphertext", vec![0x10, 0x11, 0x12])
                    .with_prop("iv", (0u8..16).collect::<Vec<_>>())
                    .with_prop("mac", (0xf0u8..=0xff).collect::<Vec<_>>()),
            ),
        )
        .with_child(Node::new("file").with_prop("files-fdt", vec![0xd0, 0x0d, 0xfe, 0xed]))
}

#[test]
fn dtc_output_is_byte_identical() {
    let dtb = data("esm.dtb");
    assert_eq!(
        skeleton().to_dtb(),
        dtb,
        "the FDT writer's layout differs from dtc's"
    );
    assert_eq!(tee_pef::fdt::parse(&dtb).unwrap(), skeleton());
}

#[test]
fn gnu_cpio_archive_is_skipped_like_the_ultravisor_does() {
    let initrd = data("gnu-cpio-wrapped-initrd.bin");
    let loc = cpio::locate_esm(&initrd).unwrap();
    assert_eq!(loc.member, "opt/ibm/pef/esmb.dtb");
    assert_eq!(loc.measured_from % 512, 0);
    assert_eq!(&initrd[loc.measured_from..], b"ORIGINAL-INITRD");
    let dtb = data("esm.dtb");
    assert_eq!(
        &initrd[loc.blob_offset..loc.blob_offset + dtb.len()],
        &dtb[..]
    );
    // Our own archive for the same blob ends at the same 512-byte boundary.
    assert_eq!(
        cpio::esm_cpio("esmb.dtb", &dtb).unwrap().len(),
        loc.measured_from
    );
}
