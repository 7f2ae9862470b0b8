//! Reading the `SQLite` journal back: runs, a run's events, a step's output,
//! and `verify`'s walk along every run's chain.

use std::fmt::Write;

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior};

use super::SqliteStore;
use crate::journal::chain::{Break, Problem, StoredEvent, Verification, Verifier};
use crate::journal::{Error, Event, ProcessIdentity, Record, Run, RunFilter, RunId, RunInfo, StepOutput, Stream};

const RUN_COLUMNS: &str = "id, runbook, runbook_path, runbook_sha256, procedure, environment, operator, host, \
     pid, process_start, started_at, resumed_from, status, finished_at";

/// A run row as stored; `Err` names the first field that cannot be read.
fn run_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Run, String>> {
    let started_at: String = row.get(10)?;
    let status: String = row.get(12)?;
    let finished_at: Option<String> = row.get(13)?;
    let parse_time = |text: &str, field: &str| {
        text.parse::<Timestamp>().map_err(|error| format!("`{field}` is not a time ({text}): {error}"))
    };
    let info = RunInfo {
        runbook: row.get(1)?,
        runbook_path: row.get(2)?,
        runbook_sha256: row.get(3)?,
        procedure: row.get(4)?,
        environment: row.get(5)?,
        operator: row.get(6)?,
        host: row.get(7)?,
        process: ProcessIdentity { pid: row.get(8)?, start_ticks: row.get(9)? },
        started_at: match parse_time(&started_at, "started_at") {
            Ok(time) => time,
            Err(reason) => return Ok(Err(reason)),
        },
        resumed_from: row.get(11)?,
    };
    let status = match status.parse() {
        Ok(status) => status,
        Err(reason) => return Ok(Err(reason)),
    };
    let finished_at = match finished_at.as_deref().map(|text| parse_time(text, "finished_at")).transpose() {
        Ok(time) => time,
        Err(reason) => return Ok(Err(reason)),
    };
    Ok(Ok(Run { id: row.get(0)?, info, status, finished_at }))
}

pub(super) fn runs(store: &SqliteStore, filter: &RunFilter) -> Result<Vec<Run>, Error> {
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs");
    if filter.status.is_some() {
        sql.push_str(" WHERE status = ?1");
    }
    sql.push_str(" ORDER BY id DESC");
    if let Some(limit) = filter.limit {
        let _ = write!(sql, " LIMIT {limit}");
    }
    let rows = (|| -> rusqlite::Result<Vec<Result<Run, String>>> {
        let mut statement = store.connection.prepare_cached(&sql)?;
        let status = filter.status.map(crate::journal::Status::as_str);
        let params: &[&dyn rusqlite::ToSql] = match &status {
            Some(status) => &[status],
            None => &[],
        };
        statement.query_map(params, run_from_row)?.collect()
    })()
    .map_err(|source| store.read_error(source))?;
    rows.into_iter().collect::<Result<_, _>>().map_err(|reason| store.corrupt(0, reason))
}

pub(super) fn run(store: &SqliteStore, run: RunId) -> Result<Run, Error> {
    let row = store
        .connection
        .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"))
        .and_then(|mut statement| statement.query_row([run], run_from_row).optional())
        .map_err(|source| store.read_error(source))?;
    match row {
        None => Err(Error::NoSuchRun { run }),
        Some(Ok(found)) => Ok(found),
        Some(Err(reason)) => Err(store.corrupt(run, reason)),
    }
}

pub(super) fn runbook_content(store: &SqliteStore, run: RunId) -> Result<String, Error> {
    store
        .connection
        .query_row("SELECT runbook_content FROM runs WHERE id = ?1", [run], |row| row.get(0))
        .optional()
        .map_err(|source| store.read_error(source))?
        .ok_or(Error::NoSuchRun { run })
}

/// An event from its stored payload and data.
fn decode(store: &SqliteStore, run: RunId, payload: &str, data: Vec<u8>) -> Result<Event, Error> {
    let mut event: Event = serde_json::from_str(payload).map_err(|error| store.corrupt(run, error.to_string()))?;
    if let Event::Output { bytes, .. } = &mut event {
        *bytes = data;
    }
    Ok(event)
}

/// An event row: seq, time, payload, data.
type RawEvent = (u64, String, String, Vec<u8>);

pub(super) fn events(store: &SqliteStore, run: RunId, after: Option<u64>) -> Result<Vec<Record>, Error> {
    // Distinguishes "no such run" from "no events", in one read snapshot.
    let tx = Transaction::new_unchecked(&store.connection, TransactionBehavior::Deferred)
        .map_err(|source| store.read_error(source))?;
    self::run(store, run)?;
    let rows = (|| -> rusqlite::Result<Vec<RawEvent>> {
        let mut statement = tx.prepare_cached(
            "SELECT seq, at, payload, data FROM events WHERE run_id = ?1 AND (?2 IS NULL OR seq > ?2) ORDER BY seq",
        )?;
        statement
            .query_map(rusqlite::params![run, after], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
            .collect()
    })()
    .map_err(|source| store.read_error(source))?;
    rows.into_iter()
        .map(|(seq, at, payload, data)| {
            let at = at.parse().map_err(|error| store.corrupt(run, format!("event {seq} time `{at}`: {error}")))?;
            Ok(Record { run, seq, at, event: decode(store, run, &payload, data)? })
        })
        .collect()
}

pub(super) fn step_output(store: &SqliteStore, run: RunId, step: u32, stream: Stream) -> Result<StepOutput, Error> {
    self::run(store, run)?;
    let stream_name = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    let mut output = StepOutput::default();
    let mut truncated = false;
    (|| -> rusqlite::Result<()> {
        let mut statement = store.connection.prepare_cached(
            "SELECT kind, payload, data FROM events
             WHERE run_id = ?1 AND kind IN ('output', 'output_truncated')
               AND json_extract(payload, '$.step') = ?2 AND json_extract(payload, '$.stream') = ?3
             ORDER BY seq",
        )?;
        let mut rows = statement.query(rusqlite::params![run, step, stream_name])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            if kind == "output_truncated" {
                let payload: String = row.get(1)?;
                if let Ok(Event::OutputTruncated { dropped, .. }) = serde_json::from_str(&payload) {
                    output.dropped += dropped;
                }
                truncated = true;
            } else {
                let data = row.get_ref(2)?.as_blob()?;
                if truncated { &mut output.tail } else { &mut output.head }.extend_from_slice(data);
            }
        }
        Ok(())
    })()
    .map_err(|source| store.read_error(source))?;
    Ok(output)
}

pub(super) fn verify(store: &SqliteStore) -> Result<Verification, Error> {
    // One read snapshot: runs being written meanwhile are seen as they were.
    let tx = Transaction::new_unchecked(&store.connection, TransactionBehavior::Deferred)
        .map_err(|source| store.read_error(source))?;
    let read = |source| store.read_error(source);
    let mut verification = Verification::default();
    let mut runs = tx
        .prepare(&format!("SELECT {RUN_COLUMNS}, runbook_content, last_seq, last_hash FROM runs ORDER BY id"))
        .map_err(read)?;
    let mut events = tx
        .prepare("SELECT seq, at, kind, payload, data, hash FROM events WHERE run_id = ?1 ORDER BY seq")
        .map_err(read)?;
    let mut rows = runs.query([]).map_err(read)?;
    while let Some(row) = rows.next().map_err(read)? {
        verification.runs += 1;
        let id: RunId = row.get(0).map_err(read)?;
        let run = match run_from_row(row).map_err(read)? {
            Ok(run) => run,
            Err(reason) => {
                verification.breaks.push(Break { run: id, seq: None, problem: Problem::Unreadable { reason } });
                continue;
            }
        };
        let content: String = row.get(14).map_err(read)?;
        let last_seq: u64 = row.get(15).map_err(read)?;
        let last_hash: Vec<u8> = row.get(16).map_err(read)?;
        let mut verifier = Verifier::new(&run, &content);
        let mut event_rows = events.query([id]).map_err(read)?;
        let mut broken = None;
        while let Some(event) = event_rows.next().map_err(read)? {
            verification.events += 1;
            let stored = StoredEvent {
                seq: event.get(0).map_err(read)?,
                at: event.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(read)?,
                kind: event.get_ref(2).and_then(|v| Ok(v.as_str()?)).map_err(read)?,
                payload: event.get_ref(3).and_then(|v| Ok(v.as_str()?)).map_err(read)?,
                data: event.get_ref(4).and_then(|v| Ok(v.as_blob()?)).map_err(read)?,
                hash: event.get_ref(5).and_then(|v| Ok(v.as_blob()?)).map_err(read)?,
            };
            if let Err(found) = verifier.next(&stored) {
                broken = Some(found);
                break;
            }
        }
        let result = match broken {
            Some(found) => Err(found),
            None => verifier.finish(last_seq, &last_hash),
        };
        if let Err(found) = result {
            verification.breaks.push(found);
        }
    }
    Ok(verification)
}
