//! RTMR reference values from a known-good event log: the firmware's CCEL
//! (RTMR0–2, sometimes RTMR3) and optionally the SDK's application log
//! (RTMR3), replayed from zero as `RTMR[i] := SHA-384(RTMR[i] || digest)`.
//!
//! Every extending event is listed with its register, position, type,
//! digest and a short description, so that a relying party whose appraisal
//! fails on `rtmrN` can diff the event lists and see which event changed.

use sha2::{Digest, Sha256};
use tee_core::bytes::HexBytes;
use tee_core::measurement::{Digest384, event_digest, extend_sha384};
use tee_core::platforms::TdxPolicy;
use tee_core::reference::{ReferenceValue, Transcript};
use tee_core::{Error, Result};

use crate::ccel::{self, EV_NO_ACTION};

/// Longest event description kept (characters).
const MAX_DESCRIPTION: usize = 96;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventSource {
    /// The firmware's CC event log (CCEL).
    Ccel,
    /// The SDK's application event log (JSON).
    AppLog,
}

/// One event that extended an RTMR.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RtmrEvent {
    /// The RTMR it extended (0..=3).
    pub rtmr: u32,
    /// The log it came from.
    pub source: EventSource,
    /// Its position in that log (CCEL: counting every record after the
    /// header, `EV_NO_ACTION` included; app log: from 0).
    pub index: usize,
    /// The TCG event type (CCEL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<u32>,
    /// The event type's name, or `application` for app-log events.
    pub type_name: String,
    /// The digest extended.
    pub digest: HexBytes,
    /// A short description (public values only).
    pub description: String,
    /// The register after this event.
    pub rtmr_after: HexBytes,
}

/// The expected RTMR0–3 and the events behind them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtmrReference {
    /// `tdx.rtmr0` .. `tdx.rtmr3`, each with the steps of its register.
    pub rtmrs: Vec<ReferenceValue>,
    /// Every extending event, in replay order.
    pub events: Vec<RtmrEvent>,
    /// `EV_NO_ACTION` records skipped.
    pub skipped: usize,
}

impl RtmrReference {
    /// The four register values.
    pub fn values(&self) -> [Digest384; 4] {
        let mut out = [[0u8; 48]; 4];
        for (slot, rv) in out.iter_mut().zip(&self.rtmrs) {
            if let Ok(v) = <[u8; 48]>::try_from(rv.value.0.as_slice()) {
                *slot = v;
            }
        }
        out
    }

    /// The events that extended RTMR `i`.
    pub fn events_for(&self, i: u32) -> impl Iterator<Item = &RtmrEvent> {
        self.events.iter().filter(move |e| e.rtmr == i)
    }

    /// `policy` with `allowed_rtmr0..3` set to exactly these values (all
    /// four: an RTMR nothing extended is pinned to zero, so an unexpected
    /// runtime extension fails the appraisal).
    pub fn apply_to(&self, policy: TdxPolicy) -> TdxPolicy {
        let [r0, r1, r2, r3] = self.values();
        let mut p = policy;
        p.allowed_rtmr0 = vec![HexBytes(r0.to_vec())];
        p.allowed_rtmr1 = vec![HexBytes(r1.to_vec())];
        p.allowed_rtmr2 = vec![HexBytes(r2.to_vec())];
        p.allowed_rtmr3 = vec![HexBytes(r3.to_vec())];
        p
    }
}

/// Replay a CCEL log area (`/sys/firmware/acpi/tables/data/CCEL`, parsed
/// with [`ccel::EventLog::parse`]) and then the application log, if any.
///
/// # Errors
/// [`Error::Malformed`] from the CCEL parser; an event naming MR index 0
/// (MRTD cannot be extended) or above 4; an app-log event naming a
/// register above 3, with a digest that is not 48 bytes, or whose recorded
/// data does not hash to its digest.
pub fn rtmr_reference(
    ccel_log: &[u8],
    app_log: Option<&tee_core::EventLog>,
) -> Result<RtmrReference> {
    let log = ccel::EventLog::parse(ccel_log)?;
    let mut regs = [[0u8; 48]; 4];
    let mut transcripts: [Transcript; 4] = Default::default();
    let ccel_input = format!(
        "{} bytes ({} parsed), sha256 {}, {} records",
        ccel_log.len(),
        log.len,
        hex::encode(Sha256::digest(ccel_log)),
        log.events.len()
    );
    let app_input = app_log.map(|l| format!("{} events", l.events.len()));
    for t in &mut transcripts {
        t.input("ccel", ccel_input.clone());
        if let Some(a) = &app_input {
            t.input("app_log", a.clone());
        }
    }
    let mut events = Vec::new();
    let mut skipped = 0;
    for (index, ev) in log.events.iter().enumerate() {
        if ev.event_type == EV_NO_ACTION {
            skipped += 1;
            continue;
        }
        let (Some(rtmr), Some(digest)) = (ev.rtmr(), ev.digest) else {
            return Err(Error::bad_field(
                "TCG2 event log",
                "mr_index",
                format_args!(
                    "event {index} names MR index {} (only 1..=4 are RTMRs; firmware never extends MRTD)",
                    ev.mr_index
                ),
            ));
        };
        let type_name = ccel::event_type_name(ev.event_type);
        let description = short(&ccel::describe_data(ev.event_type, &ev.data));
        push(
            &mut regs,
            &mut transcripts,
            &mut events,
            RtmrEvent {
                rtmr,
                source: EventSource::Ccel,
                index,
                event_type: Some(ev.event_type),
                type_name,
                digest: HexBytes(digest.to_vec()),
                description,
                rtmr_after: HexBytes::default(),
            },
            &digest,
        );
    }
    if let Some(app) = app_log {
        for (index, ev) in app.events.iter().enumerate() {
            let bad =
                |detail: String| Err(Error::bad_field("application event log", "events", detail));
            if ev.register > 3 {
                return bad(format!(
                    "event {index} names register {} (TDX has RTMR0..3)",
                    ev.register
                ));
            }
            let Ok(digest) = <[u8; 48]>::try_from(ev.digest.0.as_slice()) else {
                return bad(format!(
                    "event {index}: digest is {} bytes, not 48",
                    ev.digest.len()
                ));
            };
            if let Some(d) = &ev.data
                && event_digest(d) != digest
            {
                return bad(format!(
                    "event {index}: recorded data does not hash to its digest"
                ));
            }
            push(
                &mut regs,
                &mut transcripts,
                &mut events,
                RtmrEvent {
                    rtmr: ev.register,
                    source: EventSource::AppLog,
                    index,
                    event_type: None,
                    type_name: "application".into(),
                    digest: HexBytes(digest.to_vec()),
                    description: short(&ev.description),
                    rtmr_after: HexBytes::default(),
                },
                &digest,
            );
        }
    }
    let rtmrs = transcripts
        .into_iter()
        .zip(regs)
        .enumerate()
        .map(|(i, (mut t, v))| {
            let n = events.iter().filter(|e| e.rtmr as usize == i).count();
            t.step(
                "RTMR",
                None,
                format!("RTMR{i} after {n} events"),
                Some(HexBytes(v.to_vec())),
            );
            ReferenceValue::new(format!("tdx.rtmr{i}"), v, t)
        })
        .collect();
    Ok(RtmrReference {
        rtmrs,
        events,
        skipped,
    })
}

fn push(
    regs: &mut [Digest384; 4],
    transcripts: &mut [Transcript; 4],
    events: &mut Vec<RtmrEvent>,
    mut e: RtmrEvent,
    digest: &Digest384,
) {
    let i = e.rtmr as usize;
    let (Some(reg), Some(t)) = (regs.get_mut(i), transcripts.get_mut(i)) else {
        return;
    };
    *reg = extend_sha384(reg, digest);
    e.rtmr_after = HexBytes(reg.to_vec());
    let source = match e.source {
        EventSource::Ccel => "ccel",
        EventSource::AppLog => "app",
    };
    t.step(
        format!("EXTEND({})", e.type_name),
        None,
        format!(
            "{source} #{}: digest {} — {}",
            e.index, e.digest, e.description
        ),
        Some(e.rtmr_after.clone()),
    );
    events.push(e);
}

/// At most [`MAX_DESCRIPTION`] characters, on one line.
fn short(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one.chars().count() <= MAX_DESCRIPTION {
        return one;
    }
    let mut out: String = one.chars().take(MAX_DESCRIPTION - 1).collect();
    out.push('…');
    out
}
