//! AES-256-GCM decryption with any nonce length and any tag length from 4
//! to 16 bytes, as the ultravisor's mbedTLS (`mbedtls_gcm_auth_decrypt`)
//! accepts them (NIST SP 800-38D §7.2, built from the `aes` block cipher,
//! `ghash` and `ctr`; cross-checked against `aes-gcm` in the tests).
//!
//! The SDK's builder always writes a 16-byte nonce and a 16-byte tag
//! (what svm-tool writes); this is only for reading what another producer
//! wrote and the ultravisor would still take.

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Shortest tag mbedTLS's GCM accepts.
pub const MIN_TAG: usize = 4;
/// Longest tag (a full GHASH block).
pub const MAX_TAG: usize = 16;
/// Longest nonce the SDK reads. mbedTLS accepts up to 2^61 bytes; the
/// blob itself is bounded, and no producer writes more than 16.
pub const MAX_IV: usize = 4096;

fn len_block(a_bits: u64, c_bits: u64) -> ghash::Block {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&a_bits.to_be_bytes());
    b[8..].copy_from_slice(&c_bits.to_be_bytes());
    b.into()
}

fn bits(len: usize) -> Option<u64> {
    u64::try_from(len).ok()?.checked_mul(8)
}

/// GCM over `ciphertext` with `aad`: returns the plaintext and the full
/// 16-byte tag (not yet compared).
fn gcm_core(
    key: &[u8; 32],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<(Zeroizing<Vec<u8>>, [u8; 16])> {
    if iv.is_empty() || iv.len() > MAX_IV {
        return None;
    }
    // SP 800-38D: plaintext at most 2^39 - 256 bits.
    if bits(ciphertext.len())? > (1u64 << 39) - 256 {
        return None;
    }
    let aes = Aes256::new(key.into());
    let mut h = aes::Block::default();
    aes.encrypt_block(&mut h);
    let h: [u8; 16] = h.into();
    let j0: [u8; 16] = if iv.len() == 12 {
        let mut j = [0u8; 16];
        j[..12].copy_from_slice(iv);
        j[15] = 1;
        j
    } else {
        let mut g = GHash::new(&h.into());
        g.update_padded(iv);
        g.update(&[len_block(0, bits(iv.len())?)]);
        g.finalize().into()
    };
    let mut g = GHash::new(&h.into());
    g.update_padded(aad);
    g.update_padded(ciphertext);
    g.update(&[len_block(bits(aad.len())?, bits(ciphertext.len())?)]);
    let s: [u8; 16] = g.finalize().into();
    let mut ek = aes::Block::from(j0);
    aes.encrypt_block(&mut ek);
    let mut tag = [0u8; 16];
    for (t, (a, b)) in tag.iter_mut().zip(s.iter().zip(ek.iter())) {
        *t = a ^ b;
    }
    // CTR from inc32(J0).
    let mut ctr0 = j0;
    let c = u32::from_be_bytes([j0[12], j0[13], j0[14], j0[15]]).wrapping_add(1);
    ctr0[12..].copy_from_slice(&c.to_be_bytes());
    let mut pt = Zeroizing::new(ciphertext.to_vec());
    let mut stream = ctr::Ctr32BE::<Aes256>::new(key.into(), &ctr0.into());
    stream.apply_keystream(pt.as_mut_slice());
    Some((pt, tag))
}

/// Decrypt and authenticate (no AAD). `None` for a nonce of length 0 or
/// over [`MAX_IV`], a tag outside [`MIN_TAG`]`..=`[`MAX_TAG`], or a tag that
/// does not verify (compared in constant time over its length).
pub(crate) fn open(
    key: &[u8; 32],
    iv: &[u8],
    tag: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    open_aad(key, iv, &[], tag, ciphertext)
}

pub(crate) fn open_aad(
    key: &[u8; 32],
    iv: &[u8],
    aad: &[u8],
    tag: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if !(MIN_TAG..=MAX_TAG).contains(&tag.len()) {
        return None;
    }
    let (pt, full) = gcm_core(key, iv, aad, ciphertext)?;
    let ok: bool = full.get(..tag.len())?.ct_eq(tag).into();
    ok.then_some(pt)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInOut;
    use aes_gcm::aead::array::ArraySize;
    use aes_gcm::aead::consts::{U1, U8, U12, U13, U14, U15, U16, U60};
    use aes_gcm::{AesGcm, Nonce, TagSize};

    fn seal_ref<N: ArraySize, T: TagSize>(
        key: &[u8; 32],
        iv: &[u8],
        aad: &[u8],
        pt: &[u8],
    ) -> (Vec<u8>, Vec<u8>) {
        let c = AesGcm::<Aes256, N, T>::new_from_slice(key).unwrap();
        let mut buf = pt.to_vec();
        let tag = c
            .encrypt_inout_detached(
                &Nonce::<N>::try_from(iv).unwrap(),
                aad,
                buf.as_mut_slice().into(),
            )
            .unwrap();
        (buf, tag.to_vec())
    }

    fn both<N: ArraySize, T: TagSize>(n: usize, t: usize) {
        let key = [7u8; 32];
        let iv: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(31)).collect();
        for len in [0usize, 1, 15, 16, 17, 80, 1000] {
            let pt: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
            let aad = b"aad bytes";
            let (ct, tag) = seal_ref::<N, T>(&key, &iv, aad, &pt);
            assert_eq!(tag.len(), t);
            let got = open_aad(&key, &iv, aad, &tag, &ct).expect("opens");
            assert_eq!(got.as_slice(), &pt[..], "iv {n} tag {t} len {len}");
            let (ct2, tag2) = seal_ref::<N, T>(&key, &iv, &[], &pt);
            assert_eq!(open(&key, &iv, &tag2, &ct2).unwrap().as_slice(), &pt[..]);
            // Any flipped bit in ciphertext, tag or nonce is refused.
            let mut bad = tag2.clone();
            bad[t - 1] ^= 1;
            assert!(open(&key, &iv, &bad, &ct2).is_none());
            if !ct2.is_empty() {
                let mut c = ct2.clone();
                c[0] ^= 0x80;
                assert!(open(&key, &iv, &tag2, &c).is_none());
            }
            let mut iv2 = iv.clone();
            iv2[0] ^= 1;
            assert!(open(&key, &iv2, &tag2, &ct2).is_none());
            assert!(open(&[8u8; 32], &iv, &tag2, &ct2).is_none());
        }
    }

    #[test]
    fn agrees_with_aes_gcm_for_every_shape() {
        both::<U12, U16>(12, 16);
        both::<U16, U16>(16, 16);
        both::<U16, U12>(16, 12);
        both::<U12, U12>(12, 12);
        both::<U1, U13>(1, 13);
        both::<U8, U14>(8, 14);
        both::<U60, U15>(60, 15);
    }

    #[test]
    fn truncated_tags_down_to_four_bytes() {
        let key = [3u8; 32];
        let iv = [9u8; 16];
        let (ct, tag) = seal_ref::<U16, U16>(&key, &iv, &[], b"attachment");
        for t in MIN_TAG..=MAX_TAG {
            assert!(open(&key, &iv, &tag[..t], &ct).is_some(), "tag {t}");
        }
        assert!(open(&key, &iv, &tag[..3], &ct).is_none(), "3-byte tag");
        assert!(open(&key, &iv, &[], &ct).is_none());
        let mut long = tag.clone();
        long.push(0);
        assert!(open(&key, &iv, &long, &ct).is_none(), "17-byte tag");
        assert!(open(&key, &[], &tag, &ct).is_none(), "empty nonce");
        assert!(open(&key, &vec![0u8; MAX_IV + 1], &tag, &ct).is_none());
    }

    #[test]
    fn nist_gcm_test_case_16() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", Test Case 16
        // (AES-256, 96-bit IV, AAD) and 18 (60-byte IV).
        let key: [u8; 32] =
            hex::decode("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
                .unwrap()
                .try_into()
                .unwrap();
        let pt = hex::decode("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39").unwrap();
        let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
        let iv = hex::decode("cafebabefacedbaddecaf888").unwrap();
        let ct = hex::decode("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662").unwrap();
        let tag = hex::decode("76fc6ece0f4e1768cddf8853bb2d551b").unwrap();
        assert_eq!(
            open_aad(&key, &iv, &aad, &tag, &ct).unwrap().as_slice(),
            &pt[..]
        );
        let iv18 = hex::decode("9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b").unwrap();
        let ct18 = hex::decode("5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf40fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f").unwrap();
        let tag18 = hex::decode("a44a8266ee1c8eb0c8b5d4cf5ae9f19a").unwrap();
        assert_eq!(
            open_aad(&key, &iv18, &aad, &tag18, &ct18)
                .unwrap()
                .as_slice(),
            &pt[..]
        );
    }
}
