//! What the journal records: runs, the events of a run's append-only log, and
//! the shapes queries return. Store-agnostic: nothing here knows SQL.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::process::ProcessIdentity;

/// A run's id: a small integer, printed as-is (`runwell log 42`).
pub type RunId = i64;

/// Where a run stands. Only `Running` changes, exactly once, to one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    /// Stopped by the operator (Ctrl-C, a declined confirmation).
    Aborted,
    /// Its runwell process died without finishing it (crash, `kill -9`, reboot).
    Interrupted,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Running, Status::Succeeded, Status::Failed, Status::Aborted, Status::Interrupted];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
            Status::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| format!("unknown run status `{s}`"))
    }
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a step ended. A failed step is data, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Succeeded,
    Failed,
    TimedOut,
    /// Not run: its `when=` was false, or the operator skipped it.
    Skipped,
    /// Stopped by the operator (Ctrl-C).
    Aborted,
    /// Printed, not run (`--dry-run` on a write or destructive step).
    DryRun,
}

/// What the caller knows when a run starts; the store adds the id, the
/// content hash and the start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// The runbook's name (front matter `runbook:`, else the file stem).
    pub runbook: String,
    pub runbook_path: String,
    /// The runbook's text as it was read for this run: a report shows the
    /// runbook as it ran even if the file changes later.
    pub content: String,
    pub procedure: String,
    pub environment: Option<String>,
    pub operator: String,
    pub host: String,
    /// The runwell process that owns the run, to tell later whether it died.
    pub process: ProcessIdentity,
    pub resumed_from: Option<RunId>,
}

/// A run's fields that never change once it started. They are hashed into
/// the run's first event ([`Event::RunStarted`]), so editing them in the run
/// row is caught by `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub runbook: String,
    pub runbook_path: String,
    /// SHA-256 of `content`, lowercase hex.
    pub runbook_sha256: String,
    pub procedure: String,
    pub environment: Option<String>,
    pub operator: String,
    pub host: String,
    pub process: ProcessIdentity,
    pub started_at: Timestamp,
    pub resumed_from: Option<RunId>,
}

impl RunInfo {
    /// The first field that differs from `other`, by name, for `verify`.
    pub(crate) fn differing_field(&self, other: &RunInfo) -> Option<&'static str> {
        let fields: [(&'static str, bool); 10] = [
            ("runbook", self.runbook == other.runbook),
            ("runbook_path", self.runbook_path == other.runbook_path),
            ("runbook_sha256", self.runbook_sha256 == other.runbook_sha256),
            ("procedure", self.procedure == other.procedure),
            ("environment", self.environment == other.environment),
            ("operator", self.operator == other.operator),
            ("host", self.host == other.host),
            ("pid", self.process == other.process),
            ("started_at", self.started_at == other.started_at),
            ("resumed_from", self.resumed_from == other.resumed_from),
        ];
        fields.into_iter().find(|(_, same)| !same).map(|(name, _)| name)
    }
}

/// A run as a query returns it (without the runbook content, which
/// [`Store::runbook_content`](super::Store::runbook_content) reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: RunId,
    #[serde(flatten)]
    pub info: RunInfo,
    pub status: Status,
    pub finished_at: Option<Timestamp>,
}

/// One entry of a run's append-only log. New kinds are new variants: the
/// payload is stored as JSON, tagged with `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Always a run's first event, written by `start_run`: the run's
    /// immutable fields, so the hash chain covers them.
    RunStarted(RunInfo),
    /// Recorded before the step's process starts.
    StepStarted {
        step: u32,
        id: String,
        /// shell, sql, redis, http, checks (a gate), manual.
        step_kind: String,
        /// read, write or destructive.
        safety: String,
        /// The command as rendered, secrets already masked by the caller.
        command: String,
    },
    StepFinished {
        step: u32,
        outcome: StepOutcome,
        exit_code: Option<i32>,
        duration: SignedDuration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Bytes a step wrote, at `offset` in its stream. The bytes are kept
    /// beside the JSON payload (not inside it) and are covered by the hash.
    Output {
        step: u32,
        stream: Stream,
        offset: u64,
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The stream passed its cap: `dropped` bytes between the kept head and
    /// the kept tail were not recorded.
    OutputTruncated {
        step: u32,
        stream: Stream,
        dropped: u64,
    },
    ConfirmationAsked {
        step: u32,
        prompt: String,
    },
    ConfirmationAnswered {
        step: u32,
        /// What was typed (or `--yes`).
        answer: String,
        accepted: bool,
        by: String,
    },
    /// A manual step's item, acknowledged by a named operator.
    Acknowledged {
        step: u32,
        item: String,
        by: String,
    },
    CheckResult {
        /// The gate step that ran it, if any.
        step: Option<u32>,
        name: String,
        /// ok, warning, critical, unknown.
        status: String,
        observed: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        latency: Option<SignedDuration>,
    },
    Note {
        text: String,
    },
    /// Always a finished run's last event; its status matches the run row's.
    RunFinished {
        status: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Event {
    /// The `kind` tag, also stored in its own column for queries.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStarted(_) => "run_started",
            Event::StepStarted { .. } => "step_started",
            Event::StepFinished { .. } => "step_finished",
            Event::Output { .. } => "output",
            Event::OutputTruncated { .. } => "output_truncated",
            Event::ConfirmationAsked { .. } => "confirmation_asked",
            Event::ConfirmationAnswered { .. } => "confirmation_answered",
            Event::Acknowledged { .. } => "acknowledged",
            Event::CheckResult { .. } => "check_result",
            Event::Note { .. } => "note",
            Event::RunFinished { .. } => "run_finished",
        }
    }

    /// The raw bytes stored beside the payload: an output chunk's.
    pub fn data(&self) -> &[u8] {
        match self {
            Event::Output { bytes, .. } => bytes,
            _ => &[],
        }
    }
}

/// An event as recorded: its place in the run's chain and when it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub run: RunId,
    pub seq: u64,
    pub at: Timestamp,
    pub event: Event,
}

/// Filters for listing runs, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub status: Option<Status>,
    pub limit: Option<u32>,
}

/// A step's recorded output on one stream: everything when it fit under the
/// cap; otherwise the head, how many bytes were dropped, and the tail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOutput {
    pub head: Vec<u8>,
    pub dropped: u64,
    pub tail: Vec<u8>,
}

impl StepOutput {
    /// How many bytes the step wrote in all, dropped ones included.
    pub fn total(&self) -> u64 {
        self.head.len() as u64 + self.dropped + self.tail.len() as u64
    }
}
