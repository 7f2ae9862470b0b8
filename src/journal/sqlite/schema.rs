//! The `SQLite` journal's schema and its migrations, applied on open.
//!
//! ```text
//! schema_version(version)          one row: the last migration applied
//! runs(
//!   id INTEGER PRIMARY KEY,         the run id users type
//!   runbook, runbook_path,          ┐
//!   runbook_sha256,                 │ immutable (a trigger refuses updates);
//!   runbook_content,                │ hashed into the run's first event
//!   procedure, environment,         │ (content through its SHA-256)
//!   operator, host,                 │
//!   pid, process_start,             │ the owning runwell process
//!   started_at,                     │ RFC 3339 UTC
//!   resumed_from,                   ┘ the run this one resumes
//!   status,                         running → succeeded|failed|aborted|interrupted
//!   finished_at,                    the run_finished event's time
//!   last_seq, last_hash)            the chain's end, to catch events cut off
//! events(
//!   run_id, seq,                    unique; seq counts from 0 per run
//!   at,                             RFC 3339 UTC, as hashed
//!   kind,                           the payload's `kind` tag, for queries
//!   payload,                        the event as JSON text
//!   data,                           raw output bytes (kind = 'output'), else empty
//!   hash)                           chain.rs: SHA-256 over the previous hash and this event
//! ```
//!
//! Triggers refuse UPDATE and DELETE on events, DELETE on runs and updates
//! of a run's immutable columns. They guard against mistakes; `verify`
//! detects tampering by anyone who drops them.

use rusqlite::{Connection, OptionalExtension};

/// Each migration moves the schema up one version; never edit a published one.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    runbook         TEXT NOT NULL,
    runbook_path    TEXT NOT NULL,
    runbook_sha256  TEXT NOT NULL,
    runbook_content TEXT NOT NULL,
    procedure       TEXT NOT NULL,
    environment     TEXT,
    operator        TEXT NOT NULL,
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    process_start   INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    resumed_from    INTEGER REFERENCES runs(id),
    status          TEXT NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'interrupted')),
    finished_at     TEXT,
    last_seq        INTEGER NOT NULL,
    last_hash       BLOB NOT NULL
);
CREATE INDEX runs_by_status ON runs(status, id);

CREATE TABLE events (
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    seq     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    data    BLOB NOT NULL,
    hash    BLOB NOT NULL,
    UNIQUE (run_id, seq)
);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER runs_are_kept BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'journal runs cannot be deleted'); END;
CREATE TRIGGER runs_keep_what_started BEFORE UPDATE OF
    id, runbook, runbook_path, runbook_sha256, runbook_content, procedure, environment,
    operator, host, pid, process_start, started_at, resumed_from ON runs
BEGIN SELECT RAISE(ABORT, 'a run''s recorded start cannot change'); END;
"];

/// The schema version this runwell writes.
#[allow(clippy::cast_possible_wrap, reason = "a handful of migrations")]
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The version found, after applying the migrations it lacked; a version
/// newer than [`VERSION`] is returned untouched for the caller to refuse.
pub fn migrate(connection: &mut Connection) -> rusqlite::Result<i64> {
    // IMMEDIATE: two runwells opening a new journal at once must not both migrate.
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", [])?;
    let found: i64 = tx.query_row("SELECT version FROM schema_version", [], |row| row.get(0)).optional()?.unwrap_or(0);
    if found >= VERSION {
        return Ok(found);
    }
    for migration in &MIGRATIONS[usize::try_from(found).unwrap_or(0)..] {
        tx.execute_batch(migration)?;
    }
    tx.execute("DELETE FROM schema_version", [])?;
    tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [VERSION])?;
    tx.commit()?;
    Ok(VERSION)
}
