//! `UV_ESM`: the state machine and the verification algorithm (model §5.2–5.3).

use std::collections::{BTreeMap, BTreeSet};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::abi::*;
use crate::cpio;
use crate::crypto::{MasterKey, gcm_open, sha512};
use crate::esm::{Digests, MAX_DIGESTS_FDT, MAX_FILES_FDT, UV_LOCKBOX};
use crate::fdt;
use crate::sim::tpm::TPM_CC_RSA_DECRYPT;

use super::{
    Caller, DigestCheck, EsmFailure, EsmOutcome, GuestMemory, PageCrypt, SecureEntry,
    SimUltravisor, Svm, SvmState,
};

impl SimUltravisor {
    /// `UV_ESM(kbase, fdt)` from `caller` (model §5.2).
    pub fn uv_esm(&mut self, caller: Caller, kbase: u64, fdt_addr: u64) -> EsmOutcome {
        let early = |rc: i64| EsmOutcome {
            uv_rc: rc,
            guest_r3: rc,
            checks: Vec::new(),
            failure: None,
            entry: None,
            hcalls: Vec::new(),
        };
        // The dispatcher (`syscall_ultracall`) checks the caller's MSR
        // first; then `syscall_ultracall_esm_svm` checks kbase, fdt and the
        // LPID, in that order.
        if !caller.is_supervisor() {
            return early(U_PERMISSION);
        }
        if kbase == 0 {
            return early(U_P2);
        }
        if fdt_addr == 0 {
            return early(U_P3);
        }
        if caller.lpid == 0 {
            return early(U_PERMISSION);
        }
        if self.svms.contains_key(&caller.lpid) {
            // create_svm fails for an LPID that already has an SVM: a second
            // UV_ESM, from the VM that is already secure or from one whose
            // first attempt was aborted, gets U_RETRY. The code has no
            // explicit "already secure" test.
            return early(U_RETRY);
        }
        self.svms.insert(
            caller.lpid,
            Svm {
                state: SvmState::InitStarted,
                pages: PageCrypt::new(),
                key: None,
                files_fdt: None,
                file_ctx: BTreeMap::new(),
                shared: BTreeSet::new(),
            },
        );
        let mut hcalls = Vec::new();
        self.hcall(caller.lpid, H_SVM_INIT_START, &mut hcalls);
        self.hcall(caller.lpid, H_SVM_PAGE_IN, &mut hcalls);
        let tpm_before = self.tpm.commands;
        let mem = self
            .guest_mem
            .get(&caller.lpid)
            .cloned()
            .unwrap_or_default();
        let result = self.esm_blob_chk(&mem, kbase, fdt_addr);
        for _ in tpm_before..self.tpm.commands {
            self.hcall(caller.lpid, H_SVM_TPM_COMM, &mut hcalls);
        }
        match result {
            Ok((checks, key, files_fdt)) => {
                self.hcall(caller.lpid, H_SVM_INIT_DONE, &mut hcalls);
                if let Some(s) = self.svms.get_mut(&caller.lpid) {
                    s.state = SvmState::Secure;
                    s.key = Some(key);
                    s.files_fdt = files_fdt;
                }
                EsmOutcome {
                    uv_rc: U_SUCCESS,
                    guest_r3: U_SUCCESS,
                    checks,
                    failure: None,
                    entry: Some(SecureEntry {
                        pc: kbase,
                        r3: fdt_addr,
                        r4: kbase,
                        r5: 0,
                        msr: (caller.msr | MSR_S) & !(MSR_HV | MSR_EE | MSR_PR),
                    }),
                    hcalls,
                }
            }
            Err((checks, failure)) => {
                // Not yet secure: abort; the HV terminates the SVM and the
                // guest sees H_PARAMETER after its `sc 2`.
                self.hcall(caller.lpid, H_SVM_INIT_ABORT, &mut hcalls);
                if let Some(s) = self.svms.get_mut(&caller.lpid) {
                    s.state = SvmState::Aborted;
                }
                EsmOutcome {
                    uv_rc: U_PARAMETER,
                    guest_r3: H_PARAMETER,
                    checks,
                    failure: Some(failure),
                    entry: None,
                    hcalls,
                }
            }
        }
    }

    /// Unwrap K through the TPM exactly as UV_TSS_Decrypt does (model §6.2).
    fn tpm_unwrap(&mut self, symkey: &[u8]) -> Result<MasterKey, EsmFailure> {
        let cfg = self.tpm_config.clone();
        let (_, name) = self
            .tpm
            .read_public(cfg.handle)
            .map_err(EsmFailure::Unwrap)?;
        if !bool::from(name.as_slice().ct_eq(&cfg.public_name)) {
            return Err(EsmFailure::TpmNameMismatch);
        }
        let mut s = self.tpm.start_policy_session();
        self.tpm.policy_command_code(&mut s, TPM_CC_RSA_DECRYPT);
        self.tpm.policy_auth_value(&mut s);
        self.tpm
            .policy_or(&mut s, &[cfg.policy_a, cfg.policy_b])
            .map_err(EsmFailure::Unwrap)?;
        let pw = cfg.passwd.strip_suffix(&[0]).unwrap_or(&cfg.passwd);
        self.tpm
            .rsa_decrypt(cfg.handle, symkey, &s, pw)
            .map_err(EsmFailure::Unwrap)
    }

    #[allow(clippy::type_complexity)]
    fn esm_blob_chk(
        &mut self,
        mem: &GuestMemory,
        kbase: u64,
        fdt_addr: u64,
    ) -> Result<(Vec<DigestCheck>, MasterKey, Option<Vec<u8>>), (Vec<DigestCheck>, EsmFailure)>
    {
        let fail = |f: EsmFailure| (Vec::new(), f);
        let gf = |d: &str| fail(EsmFailure::GuestFdt(d.into()));
        let fdt_bytes = mem
            .tail(fdt_addr)
            .ok_or_else(|| gf("no memory at the FDT address"))?;
        let (guest_fdt, _) = fdt::parse_prefix(fdt_bytes).map_err(|e| gf(&e.to_string()))?;
        let rtas = guest_fdt.child("rtas").ok_or_else(|| gf("/rtas missing"))?;
        let rtas_base = rtas
            .prop_uint("linux,rtas-base")
            .ok_or_else(|| gf("/rtas/linux,rtas-base missing"))?;
        rtas.prop_uint("rtas-size")
            .ok_or_else(|| gf("/rtas/rtas-size missing"))?;
        let slof_size = rtas
            .prop_uint("slof,rtas-size")
            .ok_or_else(|| gf("/rtas/slof,rtas-size missing"))?;
        let chosen = guest_fdt
            .child("chosen")
            .ok_or_else(|| gf("/chosen missing"))?;
        let initrd_start = chosen
            .prop_uint("linux,initrd-start")
            .ok_or_else(|| gf("linux,initrd-start missing"))?;
        let initrd_end = chosen
            .prop_uint("linux,initrd-end")
            .ok_or_else(|| gf("linux,initrd-end missing"))?;
        let bootargs = chosen
            .prop("bootargs")
            .ok_or_else(|| gf("/chosen/bootargs missing"))?;
        let initrd = initrd_end
            .checked_sub(initrd_start)
            .and_then(|len| mem.read(initrd_start, len))
            .ok_or_else(|| gf("initrd range not in guest memory"))?;

        // Step 1: locate the blob.
        let (blob_bytes, measured_initrd) = match (
            chosen.prop_uint("linux,esm-blob-start"),
            chosen.prop_uint("linux,esm-blob-end"),
        ) {
            (Some(s), Some(e)) => {
                let b = e
                    .checked_sub(s)
                    .and_then(|l| mem.read(s, l))
                    .ok_or_else(|| gf("esm-blob range not in memory"))?;
                (b, initrd)
            }
            _ => {
                let loc =
                    cpio::locate_esm(initrd).map_err(|e| fail(EsmFailure::BlobNotFound(e)))?;
                let b = initrd
                    .get(loc.blob_offset..loc.blob_offset.saturating_add(loc.blob_max_len))
                    .unwrap_or(&[]);
                (b, initrd.get(loc.measured_from..).unwrap_or(&[]))
            }
        };
        let (blob, _) = fdt::parse_prefix(blob_bytes)
            .map_err(|e| fail(EsmFailure::BlobUnreadable(e.to_string())))?;

        // Step 2: copy files-fdt (optional; errors ignored).
        let files_fdt = blob
            .lookup("/file")
            .and_then(|f| f.prop("files-fdt"))
            .filter(|f| f.len() <= MAX_FILES_FDT)
            .map(<[u8]>::to_vec);

        // Step 3: unwrap K from lockbox-1 only.
        let symkey = blob
            .lookup("/lockboxes")
            .and_then(|l| l.child(UV_LOCKBOX))
            .and_then(|l| l.prop("encrypted-symkey"))
            .ok_or_else(|| fail(EsmFailure::NoLockbox1))?;
        let key = self.tpm_unwrap(symkey).map_err(fail)?;

        // Step 4: decrypt the digests.
        let d = blob
            .lookup("/digest/digests-fdt")
            .ok_or_else(|| fail(EsmFailure::NoDigests))?;
        let (Some(iv), Some(mac), Some(ct)) = (d.prop("iv"), d.prop("mac"), d.prop("ciphertext"))
        else {
            return Err(fail(EsmFailure::NoDigests));
        };
        if ct.len() > MAX_DIGESTS_FDT {
            return Err(fail(EsmFailure::DigestsFdt(
                "digests FDT exceeds the 4 KiB buffer".into(),
            )));
        }
        let pt: Zeroizing<Vec<u8>> =
            gcm_open(&key, iv, mac, ct).ok_or_else(|| fail(EsmFailure::DigestsAuthentication))?;
        let expected =
            Digests::from_fdt(&pt).map_err(|e| fail(EsmFailure::DigestsFdt(e.to_string())))?;

        // Step 5: compare all four; collect every failure.
        let rtas_bytes = mem
            .read(rtas_base, slof_size)
            .ok_or_else(|| gf("RTAS range not in guest memory"))?;
        let kernel_digest = kernel_sha512(
            mem.tail(kbase).ok_or_else(|| gf("no memory at kbase"))?,
            expected.kernel_size,
        );
        let args = bootargs
            .split_last()
            .map(|(_, a)| a)
            .ok_or_else(|| gf("bootargs empty"))?;
        let checks = vec![
            check("rtas", sha512(rtas_bytes), expected.rtas),
            check("kernel", kernel_digest, expected.kernel),
            check("initrd", sha512(measured_initrd), expected.initrd),
            check("bootargs", sha512(args), expected.bootargs),
        ];
        let failed: Vec<&'static str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
        if failed.is_empty() {
            Ok((checks, key, files_fdt))
        } else {
            Err((checks, EsmFailure::DigestMismatch(failed)))
        }
    }
}

/// SHA-512 of `kernel_size` bytes of guest memory at kbase. The UV hashes
/// whatever that memory holds; past the loaded image it reads as zero
/// pages here. Zero padding is hashed in chunks (no allocation) up to 256 MiB;
/// beyond that the digest is taken over the image alone, which then cannot
/// match a digest over `kernel_size` bytes.
fn kernel_sha512(image: &[u8], kernel_size: u32) -> [u8; 64] {
    use sha2::{Digest, Sha512};
    const MAX_PAD: usize = 256 << 20;
    let want = usize::try_from(kernel_size).unwrap_or(usize::MAX);
    let have = image.get(..want.min(image.len())).unwrap_or(image);
    let pad = want.saturating_sub(have.len());
    let mut h = Sha512::new();
    h.update(have);
    if pad > MAX_PAD {
        return h.finalize().into();
    }
    let zeros = [0u8; 4096];
    let mut left = pad;
    while left > 0 {
        let n = left.min(zeros.len());
        h.update(zeros.get(..n).unwrap_or(&[]));
        left -= n;
    }
    h.finalize().into()
}

fn check(name: &'static str, actual: [u8; 64], expected: [u8; 64]) -> DigestCheck {
    DigestCheck {
        name,
        ok: bool::from(actual.ct_eq(&expected)),
        actual,
        expected,
    }
}
