//! `redis` steps: commands sent one at a time on one connection, each reply
//! printed as `redis-cli` prints it at a terminal: `OK`, `(integer) 5`,
//! `"value"`, `(nil)`, `1) "a"`, `(empty array)`.
//!
//! The first error reply is printed (`(error) ERR …`, on stderr) and fails
//! the step; the commands after it are not sent. Every command is sent as
//! written: what a step may do is decided before it runs (safety classes,
//! confirmations), not by the check's read-only list.
//!
//! The connection is the redis check's: `redis://[user:password@]host:port[/db]`,
//! `AUTH` and `SELECT` as the URL says, replies decoded by its bounded RESP2
//! decoder, here up to [`MAX_REPLY`]. Failures name `host:port`, never the
//! password.
//!
//! [`split_command`] turns a line of the block into the arguments of one
//! command, as `redis-cli` would; templates are rendered per argument after
//! splitting, so a substituted value stays one argument.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::network::{Clock, Output, bounded};
use super::{Error, Recorder, Status, StepOutcome};
use crate::check::redis::resp::Reply;
use crate::check::redis::{Connection, Target};
use crate::runbook::redis::quote;
pub use crate::runbook::redis::split_command;

/// The largest reply read: a `SMEMBERS` of a big set fits, a runaway
/// `KEYS *` on a large instance does not.
pub const MAX_REPLY: usize = 16 << 20;

/// A rendered `redis` step, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStep {
    pub id: String,
    /// The connection's URL, password included: for connecting only.
    pub url: String,
    /// Each command's arguments, rendered.
    pub commands: Vec<Vec<String>>,
    pub timeout: Duration,
}

/// Sends `step`'s commands in order, printing each reply, until one fails,
/// the step times out or `abort` is cancelled. `Err` when the URL cannot be
/// used or a command is empty.
pub async fn run_redis(
    step: &RedisStep,
    recorder: &mut dyn Recorder,
    abort: &CancellationToken,
) -> Result<StepOutcome, Error> {
    let invalid = |reason: String| Error::Invalid { step: step.id.clone(), reason };
    let target = Target::parse(&step.url).map_err(|failure| invalid(failure.0.reason))?;
    if let Some(empty) = step.commands.iter().position(Vec::is_empty) {
        return Err(invalid(format!("command {} has no words", empty + 1)));
    }
    let clock = Clock::start();
    let mut output = Output::new(recorder);
    if abort.is_cancelled() {
        return Ok(clock.outcome(Status::Aborted, output));
    }
    let status =
        bounded(step.timeout, abort, converse(step, &target, &mut output)).await.status(&mut output, step.timeout);
    Ok(clock.outcome(status, output))
}

async fn converse(step: &RedisStep, target: &Target, output: &mut Output<'_>) -> Status {
    let address = &target.address;
    output.doing = format!("connecting to {address}");
    let mut connection = match Connection::connect(address, MAX_REPLY).await {
        Ok(connection) => connection,
        Err(failure) => return Status::Error { message: failure.0.reason },
    };
    if let Err(failure) = connection.login(target).await {
        return Status::Error { message: format!("{address}: {}", failure.0.reason) };
    }
    for (number, words) in step.commands.iter().enumerate() {
        // The command's name only: its arguments may be secrets.
        let name = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
        output.doing = format!("waiting for {address} to answer `{name}`");
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match connection.send(&words).await {
            Err(failure) => return Status::Error { message: format!("{address}: {}", failure.0.reason) },
            Ok(Reply::Error(error)) => {
                output.err(&format!("(error) {error}\n"));
                let left = step.commands.len() - number - 1;
                let unsent = match left {
                    0 => String::new(),
                    1 => "; the command after it was not sent".to_owned(),
                    n => format!("; the {n} commands after it were not sent"),
                };
                return Status::Error { message: format!("`{name}` failed: {error}{unsent}") };
            }
            Ok(reply) => {
                print(&reply, "", output);
                output.flush();
            }
        }
    }
    Status::Succeeded
}

/// `reply` as `redis-cli` shows it at a terminal; `prefix` indents the
/// lines after the first of a nested array.
fn print(reply: &Reply, prefix: &str, output: &mut Output<'_>) {
    match reply {
        Reply::Simple(text) => output.out(&format!("{text}\n")),
        Reply::Error(text) => output.out(&format!("(error) {text}\n")),
        Reply::Integer(n) => output.out(&format!("(integer) {n}\n")),
        Reply::Nil => output.out("(nil)\n"),
        Reply::Bulk(bytes) => output.out(&format!("{}\n", quote(bytes))),
        Reply::Array(items) if items.is_empty() => output.out("(empty array)\n"),
        Reply::Array(items) => {
            let digits = items.len().to_string().len();
            let inner = format!("{prefix}{}", " ".repeat(digits + 2));
            for (index, item) in items.iter().enumerate() {
                // The first item goes on the line its parent's index began.
                let indent = if index == 0 { "" } else { prefix };
                output.out(&format!("{indent}{:>digits$}) ", index + 1));
                print(item, &inner, output);
            }
        }
    }
}
