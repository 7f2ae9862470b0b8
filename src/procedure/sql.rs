//! `sql` steps: a block of statements run on a `PostgreSQL` connection and
//! printed as psql prints them.
//!
//! # One transaction
//!
//! The block goes to the server as one query over the simple protocol, so
//! the server runs its statements in one implicit transaction: the block is
//! all or nothing, and an error in its third statement undoes the first two
//! (their command tags, already printed, notwithstanding). A block that says
//! `BEGIN` / `COMMIT` itself takes over, as in psql. Statements that refuse
//! to run inside a transaction (`VACUUM`, `CREATE INDEX CONCURRENTLY`,
//! `ALTER SYSTEM`, `CREATE DATABASE`) must have a block of their own.
//!
//! # Output
//!
//! Result sets are printed as psql's aligned tables ([`super::table`]),
//! streamed in bounded batches; other statements print their command tag
//! (`UPDATE 3`, `CREATE TABLE`). Notices (`NOTICE:  … skipping`) and an
//! error go to stderr as psql prints them verbosely: the SQLSTATE, the line
//! the error points at, `DETAIL`, `HINT`, `CONTEXT`. An error fails the step
//! ([`Status::Error`] with the message and SQLSTATE).
//!
//! # Stopping
//!
//! On timeout or abort the connection is dropped *and* the server is sent a
//! cancel request, as psql does on Ctrl-C: a backend sleeping, or waiting
//! for a lock, does not notice that its client went away, and would finish
//! (and commit) the statement on its own.
//!
//! # Connecting
//!
//! Through the postgres check's session and socket guard: no message larger
//! than [`MAX_MESSAGE`], garbage refused by its first byte, but no total, so
//! that rows can stream. TLS (`sslmode=require`) is not supported yet. The
//! session is named `runwell/STEP` in `pg_stat_activity` unless the URL
//! sets `application_name`. Errors name the server's `host:port`, never the
//! URL (which may hold a password).

use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::{DbError, ErrorPosition};
use tokio_postgres::{CancelToken, Config, NoTls, SimpleQueryMessage};
use tokio_util::sync::CancellationToken;
use unicode_width::UnicodeWidthChar;

use super::network::{Clock, Output, bounded};
use super::table::Table;
use super::{Error, Recorder, Status, StepOutcome};
use crate::check::postgres::session::{Reading, Session, address, connect, password_missing};
use crate::check::postgres::wire::{Bounds, Seen, Tap, describe};
use crate::check::{one_line, tcp};

/// The largest single message (a row, an error) read from the server.
pub const MAX_MESSAGE: usize = 16 << 20;

/// How long sending the cancel request may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// Notices waiting to be printed while the connection goes on.
const NOTICES: usize = 64;

/// A rendered `sql` step, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlStep {
    pub id: String,
    /// The connection's URL (or conninfo string), password included: for
    /// connecting only, never shown.
    pub url: String,
    /// The block, templates already rendered.
    pub sql: String,
    pub timeout: Duration,
}

/// Runs `step`'s block in one transaction, printing results and tags to
/// stdout and notices and errors to stderr, until it ends, times out or
/// `abort` is cancelled (then the query is cancelled on the server too).
/// `Err` only when the URL cannot be used at all.
pub async fn run_sql(
    step: &SqlStep,
    recorder: &mut dyn Recorder,
    abort: &CancellationToken,
) -> Result<StepOutcome, Error> {
    let config = config(step)?;
    let address = address(&config);
    let clock = Clock::start();
    let mut output = Output::new(recorder);
    if abort.is_cancelled() {
        return Ok(clock.outcome(Status::Aborted, output));
    }
    let mut cancel = None;
    let ending = bounded(step.timeout, abort, converse(step, &config, &address, &mut output, &mut cancel)).await;
    let status = ending.status(&mut output, step.timeout);
    if matches!(status, Status::TimedOut | Status::Aborted)
        && let Some(token) = cancel
    {
        cancel_query(&token, &address, &mut output).await;
    }
    Ok(clock.outcome(status, output))
}

/// The step's URL as a connection configuration.
fn config(step: &SqlStep) -> Result<Config, Error> {
    let invalid = |reason: String| Error::Invalid { step: step.id.clone(), reason };
    // The parser's message never repeats the password it read.
    let mut config = Config::from_str(&step.url)
        .map_err(|e| invalid(format!("the connection is not a PostgreSQL URL or conninfo string: {}", describe(&e))))?;
    if config.get_ssl_mode() == SslMode::Require {
        return Err(invalid("`sslmode=require` is not supported yet; connect through a local socket or tunnel".into()));
    }
    if config.get_application_name().is_none() {
        config.application_name(format!("runwell/{}", step.id));
    }
    Ok(config)
}

/// Connects and runs the block; `cancel` is set once there is a query to
/// cancel.
async fn converse(
    step: &SqlStep,
    config: &Config,
    address: &str,
    output: &mut Output<'_>,
    cancel: &mut Option<CancelToken>,
) -> Status {
    output.doing = format!("connecting to {address}");
    let tap = Tap::default();
    let reading =
        Reading { bounds: Bounds { message: MAX_MESSAGE, total: None }, tap: Some(tap.clone()), notices: NOTICES };
    let mut session = match connect(config, address, &reading).await {
        Err(failure) => return Status::Error { message: failure.0.reason },
        Ok(Err(error)) => return Status::Error { message: refused(&error, address) },
        Ok(Ok(session)) => session,
    };
    *cancel = Some(session.client.cancel_token());
    output.doing = format!("waiting for {address} to answer");
    query(&mut session, &tap, &step.sql, address, output).await
}

/// Why the server would not start a session, naming it.
fn refused(error: &tokio_postgres::Error, address: &str) -> String {
    match error.as_db_error() {
        Some(db) => format!("{address} refused the connection: {} (SQLSTATE {})", db.message(), db.code().code()),
        None if password_missing(error) => {
            format!("{address} asks for a password; put it in the connection's URL (`postgres://user:PASSWORD@…`)")
        }
        None => format!("{address}: {}", describe(error)),
    }
}

/// Sends the block and prints what comes back as it comes.
async fn query(session: &mut Session, tap: &Tap, sql: &str, address: &str, output: &mut Output<'_>) -> Status {
    tap.clear();
    let mut notices = session.notices.take();
    let stream = match session.client.simple_query_raw(sql).await {
        Ok(stream) => stream,
        Err(error) => return failed(session, &error, sql, address, output),
    };
    let mut stream = std::pin::pin!(stream);
    let mut table: Option<Table> = None;
    loop {
        let message = tokio::select! {
            // A notice sent before a message is printed before it.
            biased;
            Some(notice) = next_notice(&mut notices) => {
                // Shown as it comes: a notice often reports progress.
                output.err(&report(&notice, None));
                output.flush();
                continue;
            }
            message = stream.next() => message,
        };
        match message {
            None => break,
            Some(Err(error)) => {
                if let Some(table) = table.take() {
                    table.abandon(output);
                }
                print_waiting_notices(&mut notices, output);
                return failed(session, &error, sql, address, output);
            }
            Some(Ok(SimpleQueryMessage::RowDescription(columns))) => {
                output.doing = format!("reading rows from {address}");
                let types = match tap.next() {
                    Some(Seen::Columns(types)) => types,
                    _ => Vec::new(),
                };
                let names: Vec<&str> = columns.iter().map(tokio_postgres::SimpleColumn::name).collect();
                table = Some(Table::new(&names, &types));
            }
            Some(Ok(SimpleQueryMessage::Row(row))) => {
                if let Some(table) = &mut table {
                    let cells: Vec<Option<&str>> = (0..row.len()).map(|i| row.try_get(i).ok().flatten()).collect();
                    table.push(&cells, output);
                }
            }
            Some(Ok(SimpleQueryMessage::CommandComplete(count))) => {
                let seen = tap.next();
                match (table.take(), seen) {
                    (Some(table), _) => table.finish(output),
                    (None, Some(Seen::Tag(tag))) => output.out(&format!("{tag}\n")),
                    (None, Some(Seen::Empty)) => {}
                    // The tap always sees the tag first; should it not, the count.
                    (None, _) => output.out(&format!("{count} rows\n")),
                }
                output.flush();
                output.doing = format!("waiting for {address} to answer");
            }
            Some(Ok(_)) => {}
        }
    }
    print_waiting_notices(&mut notices, output);
    Status::Succeeded
}

async fn next_notice(notices: &mut Option<mpsc::Receiver<DbError>>) -> Option<DbError> {
    match notices {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Notices already queued when the answer ended.
fn print_waiting_notices(notices: &mut Option<mpsc::Receiver<DbError>>, output: &mut Output<'_>) {
    if let Some(receiver) = notices {
        while let Ok(notice) = receiver.try_recv() {
            output.err(&report(&notice, None));
        }
    }
}

/// The block failed: the server's error in full on stderr, one line in the
/// status; or the connection broke.
fn failed(
    session: &Session,
    error: &tokio_postgres::Error,
    sql: &str,
    address: &str,
    output: &mut Output<'_>,
) -> Status {
    match error.as_db_error() {
        Some(db) => {
            output.err(&report(db, Some(sql)));
            Status::Error { message: format!("{} (SQLSTATE {})", one_line(db.message(), 300), db.code().code()) }
        }
        None => Status::Error { message: format!("{address}: {}", session.why(error)) },
    }
}

/// An error (with the `sql` it came from) or a notice, as psql prints them,
/// with an error's SQLSTATE as `VERBOSITY verbose` shows it:
///
/// ```text
/// ERROR:  42P01: relation "nope" does not exist
/// LINE 2: select * from nope
///                       ^
/// ```
fn report(db: &DbError, sql: Option<&str>) -> String {
    let mut text = format!("{}:  ", db.severity());
    if sql.is_some() {
        text.push_str(db.code().code());
        text.push_str(": ");
    }
    text.push_str(db.message());
    text.push('\n');
    if let (Some(sql), Some(ErrorPosition::Original(position))) = (sql, db.position()) {
        text.push_str(&pointer(sql, *position as usize));
    }
    // psql shows where a notice was raised only when asked (`SHOW_CONTEXT`).
    let context = if sql.is_some() { db.where_() } else { None };
    for (label, value) in [("DETAIL", db.detail()), ("HINT", db.hint()), ("CONTEXT", context)] {
        if let Some(value) = value {
            let _ = writeln!(text, "{label}:  {value}");
        }
    }
    text
}

/// `LINE 3: …` and a caret under the character at `position` (1-based, in
/// characters, as the server counts).
fn pointer(sql: &str, position: usize) -> String {
    let mut before = position.saturating_sub(1);
    for (number, line) in sql.split('\n').enumerate() {
        let length = line.chars().count();
        if before <= length {
            let prefix = format!("LINE {}: ", number + 1);
            let line = line.trim_end_matches('\r');
            let offset: usize = line.chars().take(before).map(|c| c.width().unwrap_or(0)).sum();
            return format!("{prefix}{line}\n{}^\n", " ".repeat(prefix.len() + offset));
        }
        before -= length + 1;
    }
    String::new()
}

/// Asks the server to cancel what the session runs, over a connection of
/// its own, and says on stderr whether it could.
async fn cancel_query(token: &CancelToken, address: &str, output: &mut Output<'_>) {
    let sent = tokio::time::timeout(CANCEL_TIMEOUT, async {
        if address.starts_with('/') {
            let stream = tokio::net::UnixStream::connect(address).await.map_err(|e| tcp::connect_error(address, &e))?;
            token.cancel_query_raw(stream, NoTls).await.map_err(|e| describe(&e))
        } else {
            let stream = tcp::connect(address).await.map_err(|failure| failure.0.reason)?;
            token.cancel_query_raw(stream, NoTls).await.map_err(|e| describe(&e))
        }
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {}s", CANCEL_TIMEOUT.as_secs())));
    match sent {
        Ok(()) => output.err(&format!("asked {address} to cancel the query\n")),
        Err(why) => output.err(&format!(
            "could not ask {address} to cancel the query ({why}); it may still be running there: look for it in pg_stat_activity\n"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::pointer;

    #[test]
    fn the_pointer_marks_the_character_on_its_line() {
        let sql = "select 1;\nselect * from nope";
        // Position 25 is the `n` of `nope` (1-based, counting the line break).
        assert_eq!(pointer(sql, 25), "LINE 2: select * from nope\n                      ^\n");
        assert_eq!(pointer("sélect x", 8), "LINE 1: sélect x\n               ^\n");
        assert_eq!(pointer("x", 99), "");
    }
}
