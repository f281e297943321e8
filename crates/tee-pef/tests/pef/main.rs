//! Integration tests for the PEF backend: builder → simulated ultravisor,
//! the TPM model, secrets, owner-rooted evidence, sealing and detection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::{Arc, Mutex, OnceLock};

use tee_core::{
    Authenticity, Backend, Error, MalformedKind, Operation, ReportData, SealBinding, SealPolicy,
    UnixTime, Verifier,
};
use tee_pef::abi::*;
use tee_pef::crypto::{RsaKeyPair, sha256, sha512};
use tee_pef::esm::{Digests, EsmBlob, EsmBlobBuilder, SLOF_RTAS_SHA512_HEX, SLOF_RTAS_STUB};
use tee_pef::machine::{SimMachine, launch};
use tee_pef::tpm::{self, SimTpm, TpmError};
use tee_pef::uv::{Caller, EsmFailure, GuestImage, SimUltravisor, SvmState};
use tee_pef::{PefBackend, PefConfig, PefVerifier, SimSvmProcess, cpio};

// RSA generation is slow in debug builds: three keys per test binary.
fn origin() -> &'static RsaKeyPair {
    static K: OnceLock<RsaKeyPair> = OnceLock::new();
    K.get_or_init(|| RsaKeyPair::generate().unwrap())
}
fn machine_a() -> &'static SimMachine {
    static K: OnceLock<SimMachine> = OnceLock::new();
    K.get_or_init(|| SimMachine::create().unwrap())
}
fn machine_b() -> &'static SimMachine {
    static K: OnceLock<SimMachine> = OnceLock::new();
    K.get_or_init(|| SimMachine::create().unwrap())
}

const KERNEL: &[u8] = b"\x7fELF-not-really: flat kernel binary for the simulator ....";
const INITRD: &[u8] = b"070701-looking? no: the original initramfs bytes";
const BOOTARGS: &str = "root=/dev/mapper/rootfs svm=on quiet";
const ATTEST_KEY: [u8; 32] = [0x11; 32];
const SEAL_KEY: [u8; 48] = [0x22; 48];
const CRYPTTAB: &[u8] = b"rootfs UUID=1234 none luks,keyscript=/opt/ibm/pef/bin/pef_svm_keyscript -- this line is longer than one 64-byte chunk, spanning three";

struct Built {
    blob: Vec<u8>,
    wrapped_initrd: Vec<u8>,
}

fn build_for(machines: &[&SimMachine]) -> Built {
    let origin_pub = origin().recipient().unwrap();
    let mut b = EsmBlobBuilder::new(&origin_pub, "owner key").unwrap();
    for m in machines {
        let r = tee_pef::crypto::RecipientKey::from_pem(&m.public_pem().unwrap()).unwrap();
        b.authorize(&r, "machine").unwrap();
    }
    b.set_digests(
        &Digests::for_slof(KERNEL, INITRD, BOOTARGS).unwrap(),
        "digests",
    )
    .unwrap();
    b.attach_measurement().unwrap();
    b.attach("attest-key", &ATTEST_KEY, "attestation key")
        .unwrap();
    b.attach("seal-key", &SEAL_KEY, "sealing secret").unwrap();
    b.attach("crypttab", CRYPTTAB, "LUKS").unwrap();
    let blob = b.build().unwrap();
    let wrapped_initrd = cpio::wrap_initrd(INITRD, &blob, "esmb.dtb").unwrap();
    Built {
        blob,
        wrapped_initrd,
    }
}

fn built_a() -> &'static Built {
    static B: OnceLock<Built> = OnceLock::new();
    B.get_or_init(|| build_for(&[machine_a()]))
}

fn image(b: &Built) -> GuestImage {
    GuestImage::new(KERNEL.to_vec(), b.wrapped_initrd.clone(), BOOTARGS)
}

/// A secure VM on machine A, LPID 7.
fn secure_vm() -> Arc<Mutex<SimUltravisor>> {
    let mut uv = machine_a().boot().unwrap();
    let o = launch(&mut uv, 7, &image(built_a()));
    assert_eq!(o.uv_rc, U_SUCCESS, "{:?}", o.failure);
    Arc::new(Mutex::new(uv))
}

mod backend;
mod blob;
mod golden;
mod hardware;
mod hcalls;
mod no_panics;
mod pages;
mod secrets;
mod self_checks;
mod svm_tool;
mod tpm_model;
mod transport;
mod ultravisor;
