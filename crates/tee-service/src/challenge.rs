//! Stateless challenges: a MAC over version, expiry and nonce under the
//! challenge key, so any replica holding the key checks any replica's
//! challenge; and the per-replica replay cache.
//!
//! Wire form (base64url, no padding) of the 73 bytes
//! `0x01 || u64_be(expires) || nonce[32] || HMAC-SHA256(key, "tee-sdk/challenge/v1" || 0x01 || u64_be(expires) || nonce)[0..32]`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Nonce length in bytes.
pub const NONCE_LEN: usize = 32;
const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
const RAW_LEN: usize = 1 + 8 + NONCE_LEN + TAG_LEN;
/// Longest challenge text accepted (anything longer is rejected unread).
pub const MAX_CHALLENGE_TEXT: usize = 128;
/// Shortest challenge key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 32;
/// Longest challenge key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
const DOMAIN: &[u8] = b"tee-sdk/challenge/v1";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Why a challenge was refused. Each is a distinct decision (and HTTP status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeError {
    /// Not a challenge this service format knows (length, encoding, version).
    Malformed(&'static str),
    /// The MAC does not verify under this service's challenge key.
    BadMac,
    /// The challenge's expiry has passed.
    Expired {
        /// Its expiry (Unix seconds).
        expires: u64,
        /// The time of the check.
        now: u64,
    },
    /// This replica already accepted the challenge.
    Replayed,
    /// The replay cache is full of unexpired challenges (fail closed).
    ReplayCacheFull {
        /// Seconds until an entry expires.
        retry_after: u64,
    },
}

/// The challenge key (HMAC-SHA256).
pub struct ChallengeKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(..)")
    }
}

/// A challenge as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The nonce the evidence's report data must bind.
    pub nonce: [u8; NONCE_LEN],
    /// Expiry (Unix seconds).
    pub expires: u64,
    /// The opaque text handed to the client.
    pub text: String,
}

impl ChallengeKey {
    /// A key from bytes ([`MIN_KEY_LEN`] to [`MAX_KEY_LEN`]).
    ///
    /// # Errors
    /// The length, when out of range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&bytes.len()) {
            return Err(format!(
                "challenge key: {} bytes (need {MIN_KEY_LEN} to {MAX_KEY_LEN})",
                bytes.len()
            ));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// A random 32-byte key.
    ///
    /// # Errors
    /// The OS random source failed.
    pub fn generate() -> Result<Self, String> {
        let mut k = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut k).map_err(|e| format!("random source: {e}"))?;
        Ok(Self(k))
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        // HMAC accepts keys of any length: this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return [0u8; TAG_LEN],
        };
        mac.update(DOMAIN);
        mac.update(body);
        let out = mac.finalize().into_bytes();
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(&out[..TAG_LEN]);
        t
    }

    /// Issue a challenge for `nonce` expiring at `expires`.
    pub fn issue(&self, nonce: [u8; NONCE_LEN], expires: u64) -> Challenge {
        let mut raw = Vec::with_capacity(RAW_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&expires.to_be_bytes());
        raw.extend_from_slice(&nonce);
        let tag = self.tag(&raw);
        raw.extend_from_slice(&tag);
        Challenge {
            nonce,
            expires,
            text: URL_SAFE_NO_PAD.encode(&raw),
        }
    }

    /// Check a challenge text: format, MAC (constant time), then expiry.
    ///
    /// # Errors
    /// [`ChallengeError::Malformed`], [`ChallengeError::BadMac`],
    /// [`ChallengeError::Expired`].
    pub fn check(&self, text: &str, now: u64) -> Result<Challenge, ChallengeError> {
        if text.len() > MAX_CHALLENGE_TEXT {
            return Err(ChallengeError::Malformed("too long"));
        }
        let raw = URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map_err(|_| ChallengeError::Malformed("not base64url"))?;
        if raw.len() != RAW_LEN {
            return Err(ChallengeError::Malformed("wrong length"));
        }
        if raw[0] != VERSION {
            return Err(ChallengeError::Malformed("unknown challenge version"));
        }
        let (body, tag) = raw.split_at(RAW_LEN - TAG_LEN);
        if !bool::from(self.tag(body).ct_eq(tag)) {
            return Err(ChallengeError::BadMac);
        }
        let mut e = [0u8; 8];
        e.copy_from_slice(&body[1..9]);
        let expires = u64::from_be_bytes(e);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&body[9..9 + NONCE_LEN]);
        if now >= expires {
            return Err(ChallengeError::Expired { expires, now });
        }
        Ok(Challenge {
            nonce,
            expires,
            text: text.to_owned(),
        })
    }
}

/// The nonces this replica accepted and that have not expired yet.
///
/// Bounded: when full of unexpired entries a new challenge is refused
/// ([`ChallengeError::ReplayCacheFull`]) rather than an old one forgotten.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    seen: Mutex<HashMap<[u8; NONCE_LEN], u64>>,
}

impl ReplayCache {
    /// A cache of at most `capacity` unexpired nonces (0: replays are not
    /// tracked; every challenge is usable until it expires).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether replays are tracked.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Record `nonce` (valid until `expires`) as used.
    ///
    /// # Errors
    /// [`ChallengeError::Replayed`] when it is already recorded;
    /// [`ChallengeError::ReplayCacheFull`] when the cache is full.
    pub fn claim(
        &self,
        nonce: &[u8; NONCE_LEN],
        expires: u64,
        now: u64,
    ) -> Result<(), ChallengeError> {
        if self.capacity == 0 {
            return Ok(());
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&exp) = seen.get(nonce)
            && exp > now
        {
            return Err(ChallengeError::Replayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, exp| *exp > now);
            if seen.len() >= self.capacity {
                let soonest = seen.values().copied().min().unwrap_or(now + 1);
                return Err(ChallengeError::ReplayCacheFull {
                    retry_after: soonest.saturating_sub(now).max(1),
                });
            }
        }
        seen.insert(*nonce, expires);
        Ok(())
    }

    /// Forget `nonce` (its request ended without an answer the client can
    /// use, e.g. collateral unavailable: the same challenge may be retried).
    pub fn release(&self, nonce: &[u8; NONCE_LEN]) {
        if self.capacity == 0 {
            return;
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.remove(nonce);
    }

    /// Number of recorded nonces (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn key(b: u8) -> ChallengeKey {
        ChallengeKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_any_replica_with_the_key() {
        let c = key(1).issue([7; 32], 1000);
        let other_replica = key(1);
        let back = other_replica.check(&c.text, 999).unwrap();
        assert_eq!(back.nonce, [7; 32]);
        assert_eq!(back.expires, 1000);
    }

    #[test]
    fn refusals() {
        let k = key(1);
        let c = k.issue([7; 32], 1000);
        assert_eq!(
            k.check(&c.text, 1000),
            Err(ChallengeError::Expired {
                expires: 1000,
                now: 1000
            })
        );
        assert_eq!(key(2).check(&c.text, 10), Err(ChallengeError::BadMac));
        // Any flipped byte: bad MAC or malformed, never accepted.
        let raw = URL_SAFE_NO_PAD.decode(&c.text).unwrap();
        for i in 0..raw.len() {
            let mut r = raw.clone();
            r[i] ^= 1;
            let e = k.check(&URL_SAFE_NO_PAD.encode(&r), 10).unwrap_err();
            assert!(
                matches!(e, ChallengeError::BadMac | ChallengeError::Malformed(_)),
                "{i}: {e:?}"
            );
        }
        // A later expiry needs a new MAC.
        let mut r = raw.clone();
        r[1..9].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(
            k.check(&URL_SAFE_NO_PAD.encode(&r), 10),
            Err(ChallengeError::BadMac)
        );
        assert!(matches!(k.check("", 0), Err(ChallengeError::Malformed(_))));
        assert!(matches!(
            k.check("!!!", 0),
            Err(ChallengeError::Malformed(_))
        ));
        assert!(matches!(
            k.check(&"A".repeat(500), 0),
            Err(ChallengeError::Malformed("too long"))
        ));
        assert!(ChallengeKey::from_bytes(&[0; 31]).is_err());
        assert!(ChallengeKey::from_bytes(&[0; 1025]).is_err());
    }

    #[test]
    fn replay_cache_is_bounded_and_fails_closed() {
        let rc = ReplayCache::new(2);
        rc.claim(&[1; 32], 100, 0).unwrap();
        assert_eq!(rc.claim(&[1; 32], 100, 50), Err(ChallengeError::Replayed));
        rc.claim(&[2; 32], 120, 0).unwrap();
        assert_eq!(
            rc.claim(&[3; 32], 100, 10),
            Err(ChallengeError::ReplayCacheFull { retry_after: 90 })
        );
        // After the first expires, room again; the expired nonce is gone.
        rc.claim(&[3; 32], 200, 100).unwrap();
        rc.release(&[3; 32]);
        rc.claim(&[3; 32], 200, 101).unwrap();
        let off = ReplayCache::new(0);
        off.claim(&[1; 32], 100, 0).unwrap();
        off.claim(&[1; 32], 100, 0).unwrap();
        assert!(!off.enabled());
    }
}
