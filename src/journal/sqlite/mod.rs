//! The `SQLite` journal: one file, opened in WAL mode, schema migrated on open.
//!
//! `SQLite` is compiled in (rusqlite's `bundled`): a fresh Debian machine has
//! no `libsqlite3-dev`, and the journal then relies on one known `SQLite`
//! (WAL, JSON functions) wherever runwell is built.
//!
//! Durability: `synchronous=NORMAL` in WAL mode commits by appending to the
//! WAL file without an fsync. A crashed or `kill -9`ed runwell loses nothing
//! that was committed — the data is in the OS's page cache, and `SQLite`
//! replays the WAL on the next open — and an unfinished transaction is
//! rolled back, so the file is never corrupt. Only a power loss or kernel
//! crash can lose the last commits (never corrupt the file); `FULL` would
//! pay an fsync per event for that, which the per-step budget cannot afford.

mod read;
mod schema;

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params};

use super::chain::{self, GENESIS, Hash};
use super::{Error, Event, NewRun, RunFilter, RunId, RunInfo, Status, Store, Stream};
use super::{ProcessIdentity, Record, Run, StepOutput, Verification};

/// How long a write waits for another runwell's transaction on the same
/// journal before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A journal in one `SQLite` file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the journal at `path`, creating it (mode 0600) and its directory
    /// (mode 0700) when missing, and migrating its schema.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let create = |source| Error::Create { path: path.to_owned(), source };
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(create)?;
        }
        // Created here rather than by `SQLite` so that it is private from the
        // start: runs record commands and output. `SQLite` gives its -wal and
        // -shm files the database file's mode.
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(create)?;

        let open = |source| Error::Open { path: path.to_owned(), source };
        let mut connection = Connection::open(path).map_err(open)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
        let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(open)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open(rusqlite::Error::InvalidParameterName(format!(
                "the journal cannot use write-ahead logging (journal mode `{mode}`)"
            ))));
        }
        connection.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(open)?;
        let found = schema::migrate(&mut connection).map_err(open)?;
        if found > schema::VERSION {
            return Err(Error::NewerSchema { path: path.to_owned(), found, known: schema::VERSION });
        }
        Ok(SqliteStore { connection, path: path.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for tests that play the attacker or check integrity.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    fn write_error(&self, source: rusqlite::Error) -> Error {
        let path = self.path.clone();
        if source.sqlite_error_code() == Some(ErrorCode::DiskFull) {
            Error::Full { path, source }
        } else {
            Error::Write { path, source }
        }
    }

    fn read_error(&self, source: rusqlite::Error) -> Error {
        Error::Read { path: self.path.clone(), source }
    }

    fn corrupt(&self, run: RunId, reason: String) -> Error {
        Error::Corrupt { path: self.path.clone(), run, reason }
    }

    /// Begins a write transaction that holds the write lock from the start,
    /// so reading the chain's end and appending to it cannot interleave with
    /// another writer.
    fn begin(&self) -> Result<Transaction<'_>, Error> {
        Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)
            .map_err(|source| self.write_error(source))
    }

    /// Appends `events` after the chain's end and records the new end; with
    /// `finish`, also sets the run's final status.
    fn append_in(&self, run: RunId, events: &[Event], finish: Option<Status>) -> Result<u64, Error> {
        let tx = self.begin()?;
        let result = append_tx(&tx, run, events, finish);
        let last = match result {
            Ok(Ok(last)) => last,
            Ok(Err(error)) => return Err(error),
            Err(source) => return Err(self.write_error(source)),
        };
        tx.commit().map_err(|source| self.write_error(source))?;
        Ok(last)
    }
}

/// The body of an append transaction: outer `Err` is `SQLite`'s, inner `Err` is
/// a refusal (no such run, already finished).
fn append_tx(
    tx: &Transaction<'_>,
    run: RunId,
    events: &[Event],
    finish: Option<Status>,
) -> rusqlite::Result<Result<u64, Error>> {
    let end: Option<(String, u64, Vec<u8>)> = tx
        .prepare_cached("SELECT status, last_seq, last_hash FROM runs WHERE id = ?1")?
        .query_row([run], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((status, mut seq, last_hash)) = end else {
        return Ok(Err(Error::NoSuchRun { run }));
    };
    let status = status.parse().unwrap_or(Status::Interrupted);
    if status != Status::Running {
        return Ok(Err(Error::Finished { run, status }));
    }
    let mut prev: Hash = last_hash.try_into().unwrap_or(GENESIS);
    let mut at = String::new();
    for event in events {
        seq += 1;
        at = Timestamp::now().to_string();
        prev = match insert_event(tx, run, seq, &at, event, &prev)? {
            Ok(hash) => hash,
            Err(error) => return Ok(Err(error)),
        };
    }
    match finish {
        Some(status) => tx
            .prepare_cached(
                "UPDATE runs SET last_seq = ?2, last_hash = ?3, status = ?4, finished_at = ?5 WHERE id = ?1",
            )?
            .execute(params![run, seq, prev.as_slice(), status.as_str(), at])?,
        None => tx.prepare_cached("UPDATE runs SET last_seq = ?2, last_hash = ?3 WHERE id = ?1")?.execute(params![
            run,
            seq,
            prev.as_slice()
        ])?,
    };
    Ok(Ok(seq))
}

/// Inserts one event and returns its hash.
fn insert_event(
    tx: &Transaction<'_>,
    run: RunId,
    seq: u64,
    at: &str,
    event: &Event,
    prev: &Hash,
) -> rusqlite::Result<Result<Hash, Error>> {
    let payload = match serde_json::to_string(event) {
        Ok(payload) => payload,
        Err(error) => return Ok(Err(Error::Encode(error))),
    };
    let kind = event.kind();
    let data = event.data();
    let hash = chain::link(prev, run, seq, at, kind, payload.as_bytes(), data);
    tx.prepare_cached(
        "INSERT INTO events (run_id, seq, at, kind, payload, data, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![run, seq, at, kind, payload, data, hash.as_slice()])?;
    Ok(Ok(hash))
}

impl Store for SqliteStore {
    fn start_run(&mut self, new: &NewRun) -> Result<RunId, Error> {
        let info = RunInfo {
            runbook: new.runbook.clone(),
            runbook_path: new.runbook_path.clone(),
            runbook_sha256: chain::content_sha256(&new.content),
            procedure: new.procedure.clone(),
            environment: new.environment.clone(),
            operator: new.operator.clone(),
            host: new.host.clone(),
            process: new.process,
            started_at: Timestamp::now(),
            resumed_from: new.resumed_from,
        };
        let tx = self.begin()?;
        let inserted = (|| -> rusqlite::Result<Result<RunId, Error>> {
            tx.execute(
                "INSERT INTO runs (runbook, runbook_path, runbook_sha256, runbook_content, procedure, environment,
                     operator, host, pid, process_start, started_at, resumed_from, status, last_seq, last_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'running', 0, ?13)",
                params![
                    info.runbook,
                    info.runbook_path,
                    info.runbook_sha256,
                    new.content,
                    info.procedure,
                    info.environment,
                    info.operator,
                    info.host,
                    info.process.pid,
                    info.process.start_ticks,
                    info.started_at.to_string(),
                    info.resumed_from,
                    GENESIS.as_slice(),
                ],
            )?;
            let id = tx.last_insert_rowid();
            let at = info.started_at.to_string();
            let hash = match insert_event(&tx, id, 0, &at, &Event::RunStarted(info.clone()), &GENESIS)? {
                Ok(hash) => hash,
                Err(error) => return Ok(Err(error)),
            };
            tx.execute("UPDATE runs SET last_hash = ?2 WHERE id = ?1", params![id, hash.as_slice()])?;
            Ok(Ok(id))
        })();
        let id = match inserted {
            Ok(Ok(id)) => id,
            Ok(Err(error)) => return Err(error),
            Err(source) => return Err(self.write_error(source)),
        };
        tx.commit().map_err(|source| self.write_error(source))?;
        Ok(id)
    }

    fn append(&mut self, run: RunId, events: &[Event]) -> Result<u64, Error> {
        // A run's first and last events are written by start_run and
        // finish_run, which keep the run row in step with them.
        if let Some(event) = events.iter().find(|e| matches!(e, Event::RunStarted(_) | Event::RunFinished { .. })) {
            return Err(Error::Reserved { kind: event.kind() });
        }
        self.append_in(run, events, None)
    }

    fn finish_run(&mut self, run: RunId, status: Status, reason: Option<&str>) -> Result<(), Error> {
        let event = Event::RunFinished { status, reason: reason.map(str::to_owned) };
        self.append_in(run, &[event], Some(status)).map(drop)
    }

    fn mark_interrupted(&mut self, host: &str) -> Result<Vec<RunId>, Error> {
        let owners = (|| -> rusqlite::Result<Vec<(RunId, ProcessIdentity)>> {
            let mut statement = self.connection.prepare(
                "SELECT id, pid, process_start FROM runs WHERE status = 'running' AND host = ?1 ORDER BY id",
            )?;
            let rows = statement.query_map([host], |row| {
                Ok((row.get(0)?, ProcessIdentity { pid: row.get(1)?, start_ticks: row.get(2)? }))
            })?;
            rows.collect()
        })()
        .map_err(|source| self.read_error(source))?;
        let mut marked = Vec::new();
        for (run, owner) in owners {
            if owner.is_alive() {
                continue;
            }
            let reason = format!("its runwell process (pid {}) is gone", owner.pid);
            match self.finish_run(run, Status::Interrupted, Some(&reason)) {
                Ok(()) => marked.push(run),
                // Another runwell marked it in the meantime.
                Err(Error::Finished { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(marked)
    }

    fn runs(&self, filter: &RunFilter) -> Result<Vec<Run>, Error> {
        read::runs(self, filter)
    }

    fn run(&self, run: RunId) -> Result<Run, Error> {
        read::run(self, run)
    }

    fn runbook_content(&self, run: RunId) -> Result<String, Error> {
        read::runbook_content(self, run)
    }

    fn events(&self, run: RunId) -> Result<Vec<Record>, Error> {
        read::events(self, run, None)
    }

    fn events_after(&self, run: RunId, after: u64) -> Result<Vec<Record>, Error> {
        read::events(self, run, Some(after))
    }

    fn step_output(&self, run: RunId, step: u32, stream: Stream) -> Result<StepOutput, Error> {
        read::step_output(self, run, step, stream)
    }

    fn verify(&self) -> Result<Verification, Error> {
        read::verify(self)
    }
}
