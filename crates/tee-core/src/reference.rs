//! Reference values: what a relying party should expect a workload's
//! evidence to carry, with the transcript of how it was computed.
//!
//! Each backend computes its own values (`tee_sev::reference`,
//! `tee_tdx::reference`, ...) from typed inputs; this module holds only the
//! shared result types, so that every backend explains its computation the
//! same way and two parties can diff their transcripts line by line.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::bytes::HexBytes;

/// One named input of a reference-value computation (a file's SHA-256, a
/// vCPU count, a VMM type, ...), public values only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptInput {
    /// Input name, e.g. `ovmf`, `vcpus`, `vmm_type`.
    pub name: String,
    /// The value as given or derived (for files: path, size and SHA-256).
    pub value: String,
}

/// One step of the replay (a page update, an MR extend, an event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptStep {
    /// Position in the replay, from 0.
    pub index: usize,
    /// The operation, e.g. `PAGE_UPDATE(NORMAL)`, `MEM.PAGE.ADD`, `MR.EXTEND`.
    pub op: String,
    /// Guest physical address the step applies to, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpa: Option<u64>,
    /// What was measured (public values only).
    pub detail: String,
    /// The running digest after this step, where the format has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_after: Option<HexBytes>,
}

/// Every input and every step of a computation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transcript {
    /// The inputs, in the order they were taken.
    pub inputs: Vec<TranscriptInput>,
    /// The steps, in replay order.
    pub steps: Vec<TranscriptStep>,
}

impl Transcript {
    /// Record an input.
    pub fn input(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.inputs.push(TranscriptInput {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Record a step; its index is its position.
    pub fn step(
        &mut self,
        op: impl Into<String>,
        gpa: Option<u64>,
        detail: impl Into<String>,
        digest_after: Option<HexBytes>,
    ) {
        self.steps.push(TranscriptStep {
            index: self.steps.len(),
            op: op.into(),
            gpa,
            detail: detail.into(),
            digest_after,
        });
    }
}

/// A computed reference value with its transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReferenceValue {
    /// What the value is, e.g. `sev-snp.measurement`, `tdx.mr_td`, `tdx.rtmr1`.
    pub name: String,
    /// The value as the evidence carries it.
    pub value: HexBytes,
    /// How it was computed.
    pub transcript: Transcript,
}

impl ReferenceValue {
    /// A reference value.
    pub fn new(
        name: impl Into<String>,
        value: impl Into<HexBytes>,
        transcript: Transcript,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            transcript,
        }
    }
}
