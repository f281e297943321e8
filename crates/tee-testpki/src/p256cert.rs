//! ECDSA P-256 test certificates: deterministic keys and a v3 certificate
//! writer with exact control over the extensions (the GCE AK chains of the
//! `tee` and `teectl` tests). **NO SECURITY**: test support only.

use p256::ecdsa::{Signature, SigningKey, signature::Signer as _};
use sha2::{Digest as _, Sha256};

use crate::der::{bits, int, name, octets, oid, seq, seq_of, tlv, utc_text};

/// A deterministic P-256 key: the first valid scalar among
/// SHA-256(`domain` ‖ `label` ‖ counter).
///
/// # Panics
/// Never in practice (a SHA-256 output is a valid scalar with overwhelming
/// probability; the loop tries the next counter otherwise).
#[must_use]
pub fn key(domain: &str, label: &str) -> SigningKey {
    let mut ctr = 0u32;
    loop {
        let h = Sha256::new()
            .chain_update(domain.as_bytes())
            .chain_update(label)
            .chain_update(ctr.to_le_bytes())
            .finalize();
        if let Ok(k) = SigningKey::from_slice(&h) {
            return k;
        }
        ctr += 1;
    }
}

/// The SubjectPublicKeyInfo of `k` (id-ecPublicKey, prime256v1, uncompressed point).
#[must_use]
pub fn spki(k: &SigningKey) -> Vec<u8> {
    let pt = k.verifying_key().to_sec1_point(false);
    seq(&[
        &seq(&[&oid("1.2.840.10045.2.1"), &oid("1.2.840.10045.3.1.7")]),
        &bits(pt.as_bytes()),
    ])
}

/// A Name with one common name.
#[must_use]
pub fn cn(s: &str) -> Vec<u8> {
    name(&[("2.5.4.3", s)])
}

/// An ECDSA-SHA256 v3 certificate of `subject_key`, issued by `issuer`
/// (a common name) with `issuer_key`, valid from 2022-01-01 to `not_after`
/// (UTCTime text); `extra` extensions first, then basicConstraints
/// CA:TRUE (critical) when `ca`.
#[allow(clippy::too_many_arguments)]
#[must_use]
pub fn cert(
    serial: u64,
    issuer: &str,
    subject: &[u8],
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
    ca: bool,
    extra: Vec<Vec<u8>>,
    not_after: &str,
) -> Vec<u8> {
    let alg = seq(&[&oid("1.2.840.10045.4.3.2")]);
    let mut exts = extra;
    if ca {
        exts.push(seq(&[
            &oid("2.5.29.19"),
            &tlv(0x01, &[0xff]),
            &octets(&seq(&[&tlv(0x01, &[0xff])])),
        ]));
    }
    let tbs = seq(&[
        &tlv(0xa0, &int(2)),
        &int(serial),
        &alg,
        &cn(issuer),
        &seq(&[&utc_text("220101000000Z"), &utc_text(not_after)]),
        subject,
        &spki(subject_key),
        &tlv(0xa3, &seq_of(&exts)),
    ]);
    let sig: Signature = issuer_key.sign(&tbs);
    seq(&[&tbs, &alg, &bits(sig.to_der().as_bytes())])
}
