//! Runtime measurement registers and their event log.
//!
//! Every register in the SDK is SHA-384 and is extended as
//! `new = SHA-384(old || digest)`, starting from all zeros. Every extension
//! is recorded as an [`Event`]; a verifier replays the [`EventLog`] with
//! [`EventLog::replay`] and compares the result with the registers the
//! evidence reports ([`EventLog::check_against`]).
//!
//! An event's description means something only if the digest covers it.
//! An event that carries its `data` is checked (`digest == SHA-384(data)`,
//! else the replay fails naming the event); a producer that checked the
//! data under its own format's rule (the TCG event log parser of a
//! backend) marks the event with [`Event::mark_data_verified`]; every other
//! event is listed in [`ReplayCheck::unverified_events`]: its description
//! is only what the log says was measured. Logs the SDK writes itself
//! record every event's data, and their verifiers require it
//! ([`EventLog::require_data`]).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha384};

use crate::bytes::HexBytes;
use crate::error::{Error, Result};

/// A SHA-384 register value or digest.
pub type Digest384 = [u8; 48];

/// Largest number of registers a log may address.
pub const MAX_REGISTERS: u32 = 32;

/// `SHA-384(old || digest)`.
pub fn extend_sha384(old: &Digest384, digest: &Digest384) -> Digest384 {
    let mut h = Sha384::new();
    h.update(old);
    h.update(digest);
    h.finalize().into()
}

/// The digest of event data: `SHA-384(data)`.
pub fn event_digest(data: &[u8]) -> Digest384 {
    Sha384::digest(data).into()
}

/// One recorded extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Event {
    /// Register index (platform numbering, e.g. RTMR index for TDX).
    pub register: u32,
    /// The 48-byte digest that was extended into the register.
    pub digest: HexBytes,
    /// A short human-readable description (event type, name).
    pub description: String,
    /// The measured data, when recorded. If present, `digest` must equal
    /// `SHA-384(data)`; firmware events that hash something else omit it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_b64")]
    pub data: Option<Vec<u8>>,
    /// Set in-process only by a producer that checked the (absent) data
    /// against the digest itself; never read from JSON, so evidence cannot
    /// claim it.
    #[serde(skip)]
    checked_by_producer: bool,
}

mod opt_b64 {
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => crate::bytes::base64::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "crate::bytes::base64")] Vec<u8>);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

impl Event {
    /// An event over `data` (digest = `SHA-384(data)`).
    pub fn new(register: u32, description: impl Into<String>, data: Vec<u8>) -> Self {
        Self {
            register,
            digest: HexBytes(event_digest(&data).to_vec()),
            description: description.into(),
            data: Some(data),
            checked_by_producer: false,
        }
    }

    /// An event known only by its digest.
    pub fn from_digest(register: u32, description: impl Into<String>, digest: Digest384) -> Self {
        Self {
            register,
            digest: HexBytes(digest.to_vec()),
            description: description.into(),
            data: None,
            checked_by_producer: false,
        }
    }

    /// Mark that the producer checked the event's data against its digest
    /// under the log format's own rule (e.g. a TCG event type whose digest
    /// is defined over the event data), although the data is not carried.
    #[must_use]
    pub fn mark_data_verified(mut self) -> Self {
        self.checked_by_producer = true;
        self
    }

    /// Whether the description is backed by data the digest covers: the
    /// event carries its data (checked by [`EventLog::replay`]) or was
    /// marked by its producer ([`Event::mark_data_verified`]).
    pub fn data_verified(&self) -> bool {
        self.data.is_some() || self.checked_by_producer
    }
}

/// A sequence of register extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EventLog {
    /// The events in the order they were extended.
    pub events: Vec<Event>,
}

impl EventLog {
    /// A log of `events`, in the order they were extended.
    pub fn new(events: Vec<Event>) -> Self {
        Self { events }
    }
}

impl From<Vec<Event>> for EventLog {
    fn from(events: Vec<Event>) -> Self {
        Self::new(events)
    }
}

/// The value of one register as reported by evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisterValue {
    /// Register index.
    pub index: u32,
    /// Register value.
    pub value: HexBytes,
}

impl RegisterValue {
    /// Register `index` holding `value`.
    pub fn new(index: u32, value: impl Into<HexBytes>) -> Self {
        Self {
            index,
            value: value.into(),
        }
    }
}

/// Result of comparing a replayed log with reported registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayCheck {
    /// Register index.
    pub index: u32,
    /// Number of events that extended it.
    pub events: usize,
    /// The value the replay produced.
    pub replayed: HexBytes,
    /// The value the evidence reports.
    pub reported: HexBytes,
    /// Whether they are equal.
    pub matches: bool,
    /// The events extending this register whose description is not backed
    /// by data the digest covers (`"event N: description"`, N the index in
    /// the log): what they say was measured is unverified.
    #[serde(default)]
    pub unverified_events: Vec<String>,
}

impl EventLog {
    /// Replay into `register_count` registers starting from zero.
    ///
    /// # Errors
    /// [`Error::Malformed`] if an event names a register `>= register_count`,
    /// a digest is not 48 bytes, or recorded data does not hash to its digest.
    pub fn replay(&self, register_count: u32) -> Result<Vec<Digest384>> {
        let n = register_count.min(MAX_REGISTERS) as usize;
        let mut regs = alloc::vec![[0u8; 48]; n];
        for (i, ev) in self.events.iter().enumerate() {
            let slot = regs.get_mut(ev.register as usize).ok_or_else(|| {
                Error::bad_field(
                    "event log",
                    "register",
                    format_args!("event {i} names register {} of {n}", ev.register),
                )
            })?;
            let d: Digest384 = <[u8; 48]>::try_from(&ev.digest.0[..]).map_err(|_| {
                Error::bad_field(
                    "event log",
                    "digest",
                    format_args!("event {i} digest is {} bytes, expected 48", ev.digest.len()),
                )
            })?;
            if let Some(data) = &ev.data
                && event_digest(data) != d
            {
                return Err(Error::bad_field(
                    "event log",
                    "digest",
                    format_args!("event {i} data does not hash to its digest"),
                ));
            }
            *slot = extend_sha384(slot, &d);
        }
        Ok(regs)
    }

    /// Require every event to carry its data (so [`EventLog::replay`]
    /// checks it): for logs the SDK writes itself, where every digest is
    /// `SHA-384(data)` and an event without data can only be one whose data
    /// was removed.
    ///
    /// # Errors
    /// [`Error::Malformed`] (field `data`) naming the first event without data.
    pub fn require_data(&self) -> Result<()> {
        match self.events.iter().position(|e| e.data.is_none()) {
            Some(i) => Err(Error::bad_field(
                "event log",
                "data",
                format_args!(
                    "event {i} has no data (every event of this log records the data it measured)"
                ),
            )),
            None => Ok(()),
        }
    }

    /// Replay and compare with every reported register.
    ///
    /// # Errors
    /// As [`EventLog::replay`].
    pub fn check_against(&self, reported: &[RegisterValue]) -> Result<Vec<ReplayCheck>> {
        let count = reported.iter().map(|r| r.index + 1).max().unwrap_or(0);
        let regs = self.replay(count)?;
        Ok(reported
            .iter()
            .map(|r| {
                let replayed = regs.get(r.index as usize).copied().unwrap_or([0; 48]);
                ReplayCheck {
                    index: r.index,
                    events: self.events.iter().filter(|e| e.register == r.index).count(),
                    replayed: HexBytes(replayed.to_vec()),
                    matches: r.value.0 == replayed,
                    reported: r.value.clone(),
                    unverified_events: self
                        .events
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.register == r.index && !e.data_verified())
                        .map(|(i, e)| alloc::format!("event {i}: {}", e.description))
                        .collect(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_definition() {
        let mut h = Sha384::new();
        h.update([0u8; 48]);
        h.update([1u8; 48]);
        let want: Digest384 = h.finalize().into();
        assert_eq!(extend_sha384(&[0; 48], &[1; 48]), want);
    }

    #[test]
    fn replay_and_check() {
        let log = EventLog {
            events: vec![
                Event::new(0, "a", b"x".to_vec()),
                Event::new(2, "b", b"y".to_vec()),
            ],
        };
        let regs = log.replay(4).unwrap();
        assert_eq!(regs[0], extend_sha384(&[0; 48], &event_digest(b"x")));
        assert_eq!(regs[1], [0; 48]);
        let reported: Vec<_> = regs
            .iter()
            .enumerate()
            .map(|(i, r)| RegisterValue {
                index: i as u32,
                value: HexBytes(r.to_vec()),
            })
            .collect();
        assert!(
            log.check_against(&reported)
                .unwrap()
                .iter()
                .all(|c| c.matches)
        );
        let mut bad = reported.clone();
        bad[2].value.0[0] ^= 1;
        let checks = log.check_against(&bad).unwrap();
        assert!(!checks[2].matches && checks[0].matches);
    }

    #[test]
    fn replay_rejects_bad_events() {
        let mut ev = Event::new(0, "a", b"x".to_vec());
        ev.data = Some(b"other".to_vec());
        assert!(EventLog { events: vec![ev] }.replay(4).is_err());
        assert!(
            EventLog {
                events: vec![Event::new(9, "a", vec![])]
            }
            .replay(4)
            .is_err()
        );
        let short = Event {
            register: 0,
            digest: HexBytes(vec![0; 47]),
            description: String::new(),
            data: None,
            checked_by_producer: false,
        };
        assert!(
            EventLog {
                events: vec![short]
            }
            .replay(4)
            .is_err()
        );
    }

    fn log_of(events: Vec<Event>) -> EventLog {
        EventLog::new(events)
    }

    fn reported(log: &EventLog, n: u32) -> Vec<RegisterValue> {
        log.replay(n)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, r)| RegisterValue::new(i as u32, r.to_vec()))
            .collect()
    }

    #[test]
    fn finding6_events_without_data_are_listed_unverified() {
        let log = log_of(vec![
            Event::new(0, "with data", b"x".to_vec()),
            Event::from_digest(0, "digest only", [7; 48]),
            Event::from_digest(1, "checked by its producer", [8; 48]).mark_data_verified(),
        ]);
        let checks = log.check_against(&reported(&log, 2)).unwrap();
        assert!(checks.iter().all(|c| c.matches));
        assert_eq!(checks[0].unverified_events, ["event 1: digest only"]);
        assert!(checks[1].unverified_events.is_empty());
        assert!(!log.events[1].data_verified() && log.events[2].data_verified());
    }

    #[test]
    fn finding6_data_verified_is_never_read_from_json() {
        let ev = Event::from_digest(0, "claimed", [7; 48]).mark_data_verified();
        let json = serde_json::to_string(&ev).unwrap();
        assert!(!json.contains("checked"), "{json}");
        let back: Event = serde_json::from_str(&json).unwrap();
        assert!(!back.data_verified());
        // And JSON that tries to set it is refused (unknown field).
        let forged = json.replacen('{', "{\"checked_by_producer\":true,", 1);
        assert!(serde_json::from_str::<Event>(&forged).is_err());
    }

    #[test]
    fn finding6_changed_data_fails_the_replay_with_its_index() {
        let mut log = log_of(vec![
            Event::new(0, "a", b"x".to_vec()),
            Event::new(1, "cmdline", b"security=apparmor".to_vec()),
        ]);
        log.events[1].data = Some(b"security=none".to_vec());
        match log.replay(2) {
            Err(Error::Malformed(m)) => match m.kind {
                crate::MalformedKind::BadField { field, detail } => {
                    assert_eq!(field, "digest");
                    assert!(detail.starts_with("event 1 "), "{detail}");
                }
                k => panic!("{k:?}"),
            },
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn finding6_require_data_names_the_event_without_data() {
        let mut log = log_of(vec![
            Event::new(0, "a", b"x".to_vec()),
            Event::new(0, "b", b"y".to_vec()),
        ]);
        assert_eq!(log.require_data().map_err(|e| e.to_string()), Ok(()));
        log.events[1].data = None;
        match log.require_data() {
            Err(Error::Malformed(m)) => match m.kind {
                crate::MalformedKind::BadField { field, detail } => {
                    assert_eq!(field, "data");
                    assert!(detail.starts_with("event 1 "), "{detail}");
                }
                k => panic!("{k:?}"),
            },
            r => panic!("{r:?}"),
        }
    }
}
