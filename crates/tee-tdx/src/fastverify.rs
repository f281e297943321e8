//! ECDSA P-256 / SHA-256 verification with precomputed fixed-base tables,
//! for keys the verified-collateral cache holds (the PCK key, the
//! attestation key seen when the entry was filled) and the generator.
//!
//! The math is textbook ECDSA verification (SEC 1 §4.1.4, as in
//! `ecdsa::hazmat::verify_prehashed`, which `p256`'s `VerifyingKey::verify`
//! runs): `e = SHA-256(m) mod n`, `w = s⁻¹`, `R = (e·w)·G + (r·w)·Q`,
//! reject the identity, accept iff `x(R) mod n == r`; `r` and `s` are
//! non-zero scalars below `n` (`Signature::from_slice` checks), and P-256
//! does not normalise `s`. Only the scalar multiplications differ: each is a
//! sum of at most 64 table points (4-bit windows, `j·16ⁱ·P` precomputed), so
//! no doublings. Everything here is public data (variable time is fine).
//! A property test checks it against `p256`'s verifier.

use std::sync::OnceLock;

use p256::ecdsa::Signature;
use p256::elliptic_curve::BatchNormalize;
use p256::elliptic_curve::group::Group;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};
use sha2::{Digest, Sha256};

const WINDOWS: usize = 64;
const PER_WINDOW: usize = 15;

/// `j·16ⁱ·P` for `i < 64`, `1 ≤ j ≤ 15`, affine.
#[derive(Clone)]
pub(crate) struct FixedBase {
    table: Vec<AffinePoint>,
}

impl core::fmt::Debug for FixedBase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FixedBase")
    }
}

impl FixedBase {
    /// The table for `p` (about a thousand point additions).
    pub(crate) fn new(p: &AffinePoint) -> Self {
        let mut pts = Vec::with_capacity(WINDOWS * PER_WINDOW);
        let mut base = ProjectivePoint::from(*p);
        for _ in 0..WINDOWS {
            let mut acc = base;
            pts.push(acc);
            for _ in 1..PER_WINDOW {
                acc += base;
                pts.push(acc);
            }
            base = acc + base;
        }
        let table =
            <ProjectivePoint as BatchNormalize<[ProjectivePoint]>>::batch_normalize(pts.as_slice());
        Self { table }
    }

    /// `k·P`.
    fn mul(&self, k: &Scalar) -> ProjectivePoint {
        let bytes = k.to_bytes(); // big-endian
        let mut acc = ProjectivePoint::IDENTITY;
        for (i, byte) in bytes.iter().rev().enumerate() {
            for (w, nib) in [(2 * i, byte & 0x0f), (2 * i + 1, byte >> 4)] {
                if nib != 0
                    && let Some(pt) = self.table.get(w * PER_WINDOW + usize::from(nib) - 1)
                {
                    acc += pt;
                }
            }
        }
        acc
    }
}

fn generator() -> &'static FixedBase {
    static G: OnceLock<FixedBase> = OnceLock::new();
    G.get_or_init(|| FixedBase::new(&AffinePoint::GENERATOR))
}

/// Verify `sig` over `msg` with the key whose table is `q`.
pub(crate) fn verify(q: &FixedBase, msg: &[u8], sig: &Signature) -> bool {
    let z: FieldBytes = Sha256::digest(msg);
    let e = <Scalar as Reduce<FieldBytes>>::reduce(&z);
    let (r, s) = sig.split_scalars();
    let Some(w) = Option::<Scalar>::from(s.invert_vartime()) else {
        return false;
    };
    let u1 = e * w;
    let u2 = *r * w;
    let big_r = generator().mul(&u1) + q.mul(&u2);
    if bool::from(big_r.is_identity()) {
        return false;
    }
    let x = big_r.to_affine().x();
    <Scalar as Reduce<FieldBytes>>::reduce(&x) == *r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{SigningKey, VerifyingKey};
    use proptest::prelude::*;

    fn check(sk: &SigningKey, msg: &[u8], tamper: Option<(usize, u8)>, other: &VerifyingKey) {
        let sig: Signature = sk.sign(msg);
        let mut sig_bytes = sig.to_bytes().to_vec();
        if let Some((i, m)) = tamper {
            let i = i % 64;
            sig_bytes[i] ^= m.max(1);
        }
        let Ok(sig) = Signature::from_slice(&sig_bytes) else {
            return;
        };
        let vk = sk.verifying_key();
        let t = FixedBase::new(vk.as_affine());
        assert_eq!(verify(&t, msg, &sig), vk.verify(msg, &sig).is_ok());
        let t2 = FixedBase::new(other.as_affine());
        assert_eq!(verify(&t2, msg, &sig), other.verify(msg, &sig).is_ok());
        let mut m2 = msg.to_vec();
        m2.push(1);
        assert_eq!(verify(&t, &m2, &sig), vk.verify(&m2, &sig).is_ok());
    }

    #[test]
    fn agrees_with_p256_on_valid_and_tampered_signatures() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let other = *SigningKey::from_slice(&[9u8; 32]).unwrap().verifying_key();
        let sig: Signature = sk.sign(b"hello");
        let t = FixedBase::new(sk.verifying_key().as_affine());
        assert!(verify(&t, b"hello", &sig));
        assert!(!verify(&t, b"hellp", &sig));
        check(&sk, b"hello", None, &other);
        check(&sk, b"hello", Some((3, 0x80)), &other);
        check(&sk, b"hello", Some((40, 0x01)), &other);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn agrees_with_p256(seed in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..200),
                            tamper in proptest::option::of((any::<usize>(), any::<u8>()))) {
            if let Ok(sk) = SigningKey::from_slice(&seed) {
                let other = *SigningKey::from_slice(&[5u8; 32]).unwrap().verifying_key();
                check(&sk, &msg, tamper, &other);
            }
        }
    }
}
