//! The hash chain over each run's events, and `verify`'s walk along it.
//!
//! Each event's hash is SHA-256 over, in order: the previous event's hash
//! (32 zero bytes before the first), the run id (i64 big-endian), the
//! sequence number (u64 big-endian), then the time, kind, JSON payload and
//! raw data (output bytes), each preceded by its length (u64 big-endian) so
//! that no two different events hash the same bytes. The first event
//! (`run_started`) carries the run's immutable fields, so the chain covers
//! the run row too; the run row keeps the last sequence number and hash, so
//! cutting events off the end is caught as well.
//!
//! The database's triggers refuse UPDATE and DELETE on events, but anyone
//! with the file can drop them: the chain is what detects such tampering.
//! Without a secret key it cannot stop a forger who rewrites every hash from
//! the edit onwards and the run row too; it makes silent edits to a record
//! impossible for anyone who does not go that far.

use std::fmt;

use sha2::{Digest, Sha256};

use super::model::{Event, Run, RunId, Status};

pub type Hash = [u8; 32];

/// The "previous hash" of a run's first event.
pub const GENESIS: Hash = [0; 32];

/// One link: the hash of an event given the previous event's hash.
pub fn link(prev: &Hash, run: RunId, seq: u64, at: &str, kind: &str, payload: &[u8], data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(run.to_be_bytes());
    hasher.update(seq.to_be_bytes());
    for part in [at.as_bytes(), kind.as_bytes(), payload, data] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// SHA-256 of a runbook's content, lowercase hex.
pub fn content_sha256(content: &str) -> String {
    hex(&Sha256::digest(content.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// An event exactly as stored, for `verify` to rehash.
#[derive(Debug, Clone, Copy)]
pub struct StoredEvent<'a> {
    pub seq: u64,
    pub at: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
    pub data: &'a [u8],
    pub hash: &'a [u8],
}

/// The first broken link of a run's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub run: RunId,
    /// The event where the chain breaks; `None` when the run row itself is at fault.
    pub seq: Option<u64>,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The event does not hash to its stored hash: its content was edited,
    /// or it was moved here from another place.
    Altered,
    /// The sequence jumps: events in between were deleted.
    Missing { next_found: u64 },
    /// The first event is not `run_started`, or no event at all.
    NoStart,
    /// The payload is not a valid event of its kind.
    Unreadable { reason: String },
    /// A run row field differs from what the first event recorded.
    RunFieldEdited { field: &'static str },
    /// The stored runbook content no longer hashes to the recorded SHA-256.
    ContentEdited,
    /// The run row's last sequence number or hash is not the chain's end:
    /// events were cut off the end (or the row was edited).
    Truncated { recorded_last: u64, found_last: Option<u64> },
    /// The run row's status disagrees with the log's `run_finished` event.
    StatusMismatch { row: Status, logged: Option<Status> },
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "run {} event {seq}: {}", self.run, self.problem),
            None => write!(f, "run {}: {}", self.run, self.problem),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Altered => f.write_str("does not match its hash: it was edited, or moved from another place"),
            Problem::Missing { next_found } => {
                write!(f, "is missing (deleted): the next event recorded is {next_found}")
            }
            Problem::NoStart => f.write_str("the log does not begin with `run_started`"),
            Problem::Unreadable { reason } => write!(f, "cannot be read: {reason}"),
            Problem::RunFieldEdited { field } => {
                write!(f, "the run's `{field}` differs from what its first event recorded")
            }
            Problem::ContentEdited => f.write_str("the stored runbook content does not match its recorded SHA-256"),
            Problem::Truncated { recorded_last, found_last } => match found_last {
                Some(found) => write!(
                    f,
                    "the run recorded events up to {recorded_last}, the log ends at {found}: events were cut off"
                ),
                None => write!(f, "the run recorded events up to {recorded_last}, the log is empty"),
            },
            Problem::StatusMismatch { row, logged } => match logged {
                Some(logged) => write!(f, "the run is `{row}` but its log finished it as `{logged}`"),
                None => write!(f, "the run is `{row}` but its log never finished it"),
            },
        }
    }
}

/// Walks one run's events in sequence order and finds the first broken link.
#[derive(Debug)]
pub struct Verifier<'a> {
    run: &'a Run,
    content: &'a str,
    prev: Hash,
    next_seq: u64,
    finished: Option<Status>,
}

impl<'a> Verifier<'a> {
    pub fn new(run: &'a Run, content: &'a str) -> Self {
        Verifier { run, content, prev: GENESIS, next_seq: 0, finished: None }
    }

    fn broken(&self, seq: Option<u64>, problem: Problem) -> Break {
        Break { run: self.run.id, seq, problem }
    }

    /// Feeds the next stored event; the first problem found ends the walk.
    pub fn next(&mut self, event: &StoredEvent<'_>) -> Result<(), Break> {
        let expected = self.next_seq;
        if event.seq != expected {
            return Err(self.broken(Some(expected), Problem::Missing { next_found: event.seq }));
        }
        let at = Some(event.seq);
        let hash = link(&self.prev, self.run.id, event.seq, event.at, event.kind, event.payload.as_bytes(), event.data);
        if hash.as_slice() != event.hash {
            return Err(self.broken(at, Problem::Altered));
        }
        // The hash holds, so the content is what was written; decoding can
        // still fail for a record written by a newer runwell with new kinds.
        let decoded: Event = serde_json::from_str(event.payload)
            .map_err(|error| self.broken(at, Problem::Unreadable { reason: error.to_string() }))?;
        if decoded.kind() != event.kind {
            let reason = format!("kind column `{}`, payload `{}`", event.kind, decoded.kind());
            return Err(self.broken(at, Problem::Unreadable { reason }));
        }
        match (expected, &decoded) {
            (0, Event::RunStarted(info)) => {
                if let Some(field) = self.run.info.differing_field(info) {
                    return Err(self.broken(None, Problem::RunFieldEdited { field }));
                }
                if content_sha256(self.content) != info.runbook_sha256 {
                    return Err(self.broken(None, Problem::ContentEdited));
                }
            }
            (0, _) => return Err(self.broken(at, Problem::NoStart)),
            (_, Event::RunFinished { status, .. }) => self.finished = Some(*status),
            _ => {}
        }
        self.prev = hash;
        self.next_seq += 1;
        Ok(())
    }

    /// Ends the walk: the chain's end must be where the run row says, and
    /// the row's status must be the one the log finished the run with.
    pub fn finish(self, recorded_last: u64, recorded_hash: &[u8]) -> Result<(), Break> {
        if self.next_seq == 0 {
            return Err(self.broken(None, Problem::NoStart));
        }
        let found_last = self.next_seq - 1;
        if found_last != recorded_last || self.prev.as_slice() != recorded_hash {
            return Err(self.broken(None, Problem::Truncated { recorded_last, found_last: Some(found_last) }));
        }
        let row = self.run.status;
        let consistent = match self.finished {
            None => row == Status::Running,
            Some(logged) => logged == row,
        };
        if !consistent {
            return Err(self.broken(None, Problem::StatusMismatch { row, logged: self.finished }));
        }
        Ok(())
    }
}

/// What `verify` found over the whole journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub runs: u64,
    pub events: u64,
    /// The first broken link of each run that has one, by run id.
    pub breaks: Vec<Break>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.breaks.is_empty()
    }
}
