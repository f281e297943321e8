//! Page-out encryption (model §5.4) and page sharing.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::abi::*;

use super::{Caller, SimUltravisor, SvmState};

/// Page-out encryption (model §5.4): AES-128-GCM under a per-SVM key,
/// 12-byte IV = 4 random bytes ‖ 64-bit counter (NIST SP 800-38D
/// deterministic construction), 16-byte tag, **no AAD** (as the
/// ultravisor's `core/page_encrypt.c`). Key, IV and tag stay in the UV,
/// kept per guest frame; the hypervisor only ever holds the ciphertext, so
/// a page moved to another frame fails that frame's tag without any AAD.
pub(super) struct PageCrypt {
    pub(super) key: Zeroizing<[u8; 16]>,
    fixed: [u8; 4],
    counter: u64,
    /// gfn → (iv, tag) of the page currently paged out.
    out: BTreeMap<u64, ([u8; 12], [u8; 16])>,
}

impl core::fmt::Debug for PageCrypt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PageCrypt")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl PageCrypt {
    pub(super) fn new() -> Option<Self> {
        let mut key = Zeroizing::new([0u8; 16]);
        let mut fixed = [0u8; 4];
        crate::crypto::random_fill(key.as_mut()).ok()?;
        crate::crypto::random_fill(&mut fixed).ok()?;
        Some(Self {
            key,
            fixed,
            counter: 0,
            out: BTreeMap::new(),
        })
    }

    fn next_iv(&mut self) -> Option<[u8; 12]> {
        if self.counter == u64::MAX {
            // Counter wrap: re-randomise the fixed part.
            crate::crypto::random_fill(&mut self.fixed).ok()?;
            self.counter = 0;
        }
        let mut iv = [0u8; 12];
        iv[..4].copy_from_slice(&self.fixed);
        iv[4..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        Some(iv)
    }
}

impl SimUltravisor {
    /// `UV_PAGE_OUT` as the hypervisor sees it: the UV evicts a secure
    /// page and hands back only AES-128-GCM ciphertext.
    /// `None` for an SVM that is not secure.
    pub fn hv_page_out(&mut self, lpid: u64, gfn: u64, page: &[u8]) -> Option<Vec<u8>> {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let svm = self
            .svms
            .get_mut(&lpid)
            .filter(|s| s.state == SvmState::Secure)?;
        let pc = svm.pages.as_mut()?;
        let iv = pc.next_iv()?;
        let cipher = aes_gcm::Aes128Gcm::new_from_slice(pc.key.as_ref()).ok()?;
        let mut buf = page.to_vec();
        let tag = cipher
            .encrypt_inout_detached(&aes_gcm::Nonce::from(iv), &[], buf.as_mut_slice().into())
            .ok()?;
        pc.out.insert(gfn, (iv, tag.into()));
        self.hcall_log.push((lpid, H_SVM_PAGE_OUT));
        Some(buf)
    }

    /// `UV_PAGE_IN` of a page previously paged out: the UV decrypts and
    /// authenticates it (`None` if the hypervisor modified or replayed it).
    pub fn hv_page_in(&mut self, lpid: u64, gfn: u64, ciphertext: &[u8]) -> Option<Vec<u8>> {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let svm = self
            .svms
            .get_mut(&lpid)
            .filter(|s| s.state == SvmState::Secure)?;
        let pc = svm.pages.as_mut()?;
        let (iv, tag) = pc.out.remove(&gfn)?;
        let cipher = aes_gcm::Aes128Gcm::new_from_slice(pc.key.as_ref()).ok()?;
        let mut buf = ciphertext.to_vec();
        cipher
            .decrypt_inout_detached(
                &aes_gcm::Nonce::from(iv),
                &[],
                buf.as_mut_slice().into(),
                &aes_gcm::Tag::from(tag),
            )
            .ok()?;
        Some(buf)
    }

    pub(super) fn uv_share_page(
        &mut self,
        caller: Caller,
        gfn: u64,
        npages: u64,
        share: bool,
    ) -> i64 {
        if !caller.is_supervisor() || caller.msr & MSR_S == 0 {
            return U_PERMISSION;
        }
        let Some(svm) = self
            .svms
            .get_mut(&caller.lpid)
            .filter(|s| s.state == SvmState::Secure)
        else {
            return U_PERMISSION;
        };
        if npages == 0 || gfn.checked_add(npages).is_none() {
            return U_PARAMETER;
        }
        for g in gfn..gfn + npages.min(1 << 20) {
            if share {
                svm.shared.insert(g);
            } else {
                svm.shared.remove(&g);
            }
        }
        U_SUCCESS
    }

    pub(super) fn uv_unshare_all(&mut self, caller: Caller) -> i64 {
        if !caller.is_supervisor() || caller.msr & MSR_S == 0 {
            return U_PERMISSION;
        }
        match self
            .svms
            .get_mut(&caller.lpid)
            .filter(|s| s.state == SvmState::Secure)
        {
            Some(svm) => {
                svm.shared.clear();
                U_SUCCESS
            }
            None => U_PERMISSION,
        }
    }
}
