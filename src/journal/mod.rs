//! The journal: the append-only, hash-chained record of every run, behind a
//! [`Store`] trait that `SQLite` implements today and `PostgreSQL` can join.
//!
//! A run is a row with its immutable description ([`RunInfo`]), its status
//! and a log of [`Event`]s: step started (written before the step runs) and
//! finished, output chunks, confirmations, acknowledgements, check results,
//! notes, run finished. Events are never changed or removed; each is chained
//! to the one before by a hash (`chain.rs`), and `verify` walks the chains.
//! Output is capped per step and stream with bounded memory (`output.rs`).
//! When the journal cannot be written, every write returns an [`Error`] and
//! the executor stops before the next step rather than run unrecorded.

mod chain;
mod model;
mod output;
mod process;
mod sqlite;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use chain::{Break, Problem, Verification, content_sha256, hex};
pub use model::{Event, NewRun, Record, Run, RunFilter, RunId, RunInfo, Status, StepOutcome, StepOutput, Stream};
pub use output::{CHUNK, DEFAULT_CAP, OutputCapture};
pub use process::{ProcessIdentity, host_name};
pub use sqlite::SqliteStore;

/// Why the journal could not do what was asked. Any write error means the
/// run is no longer being recorded: the executor must stop.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot find a place for the journal: neither RUNWELL_DB, XDG_STATE_HOME nor HOME is set; pass --db PATH")]
    NoDefaultPath,
    #[error("cannot create the journal `{path}`: {source}; pass --db or set RUNWELL_DB to a writable place")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot open the journal `{path}`: {source}; pass --db or set RUNWELL_DB to a usable SQLite file")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the journal `{path}` was written by a newer runwell (schema {found}, this one knows up to {known}); upgrade runwell"
    )]
    NewerSchema { path: PathBuf, found: i64, known: i64 },
    #[error("the journal `{path}` is full: {source}; free space on its disk, then resume the run with `--from`")]
    Full { path: PathBuf, source: rusqlite::Error },
    #[error("cannot write the journal `{path}`: {source}; runwell stops rather than run steps unrecorded")]
    Write { path: PathBuf, source: rusqlite::Error },
    #[error("cannot read the journal `{path}`: {source}")]
    Read { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the journal `{path}` holds a record runwell cannot read (run {run}): {reason}; `runwell journal verify` checks it"
    )]
    Corrupt { path: PathBuf, run: RunId, reason: String },
    #[error("there is no run {run} in the journal; `runwell runs` lists them")]
    NoSuchRun { run: RunId },
    #[error("run {run} is already {status}: nothing more can be recorded for it")]
    Finished { run: RunId, status: Status },
    #[error("`{kind}` events are written by starting or finishing a run, not appended")]
    Reserved { kind: &'static str },
    #[error("cannot record an event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A journal: where runs are recorded and read back. Writes are durable
/// when they return `Ok` — against a crash of runwell, including `kill -9`.
pub trait Store: Send {
    /// Records a new run as `running`, with its `run_started` event.
    fn start_run(&mut self, run: &NewRun) -> Result<RunId, Error>;

    /// Appends events to a running run's log, in one transaction; returns the
    /// last one's sequence number. Use [`Store::finish_run`] to end a run.
    fn append(&mut self, run: RunId, events: &[Event]) -> Result<u64, Error>;

    /// Ends a running run: a `run_finished` event, then the status.
    fn finish_run(&mut self, run: RunId, status: Status, reason: Option<&str>) -> Result<(), Error>;

    /// Marks `interrupted` every run still `running` on `host` whose process
    /// is gone (a dead pid, or the pid now belongs to a later process).
    /// Runs of other hosts are left alone: their processes cannot be seen.
    fn mark_interrupted(&mut self, host: &str) -> Result<Vec<RunId>, Error>;

    /// Runs, newest first.
    fn runs(&self, filter: &RunFilter) -> Result<Vec<Run>, Error>;

    fn run(&self, run: RunId) -> Result<Run, Error>;

    /// The runbook's text as the run started with it.
    fn runbook_content(&self, run: RunId) -> Result<String, Error>;

    /// A run's events in order, output chunks included.
    fn events(&self, run: RunId) -> Result<Vec<Record>, Error>;

    /// A run's events after sequence number `after`, in order: what a
    /// watcher has not seen yet.
    fn events_after(&self, run: RunId, after: u64) -> Result<Vec<Record>, Error> {
        Ok(self.events(run)?.into_iter().filter(|record| record.seq > after).collect())
    }

    /// What a step wrote to one stream: head, dropped byte count, tail.
    fn step_output(&self, run: RunId, step: u32, stream: Stream) -> Result<StepOutput, Error>;

    /// Walks every run's hash chain; reports the first broken link of each.
    fn verify(&self) -> Result<Verification, Error>;
}

/// Where the journal lives unless `--db` says otherwise: `$RUNWELL_DB`, else
/// `$XDG_STATE_HOME/runwell/journal.db`, else `~/.local/state/runwell/journal.db`.
pub fn default_path() -> Result<PathBuf, Error> {
    path_from(|name| std::env::var_os(name))
}

fn path_from(var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, Error> {
    let set = |name| var(name).filter(|value| !value.is_empty());
    if let Some(db) = set("RUNWELL_DB") {
        return Ok(PathBuf::from(db));
    }
    // The XDG spec says a relative XDG_STATE_HOME is invalid and ignored.
    if let Some(state) = set("XDG_STATE_HOME").filter(|state| Path::new(state).is_absolute()) {
        return Ok(Path::new(&state).join("runwell/journal.db"));
    }
    match set("HOME") {
        Some(home) => Ok(Path::new(&home).join(".local/state/runwell/journal.db")),
        None => Err(Error::NoDefaultPath),
    }
}
