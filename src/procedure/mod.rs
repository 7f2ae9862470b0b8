//! Running one step safely: the step executor core.
//!
//! A shell step ([`run_shell`]) runs as `bash` in its own process group with
//! a timeout; on expiry, or when the operator aborts, the whole group gets
//! SIGTERM, a grace period, then SIGKILL, so nothing is left behind.
//!
//! SQL, Redis and HTTP steps ([`run_sql`], [`run_redis`], [`run_http`]) talk
//! to their server in-process, over the same connection code as the
//! postgres, redis and http checks, and print what comes back as psql,
//! redis-cli and an HTTP status line would. Every read is bounded; the
//! whole conversation is bounded by the step's timeout, and a timeout or an
//! abort also cancels a running SQL query on the server.
//!
//! Every executor has the same shape — the step, a [`Recorder`], the abort
//! token — and hands output to the recorder (the journal, the terminal
//! printer) chunk by chunk as it comes, at most [`CHUNK`] bytes at a time,
//! so memory stays bounded however much a step prints.
//!
//! What happened is data: a step that fails, times out, is killed or
//! aborted is a [`StepOutcome`] (a failure without an exit status, such as
//! an SQL error, is [`Status::Error`]); [`Error`] means it could not run at
//! all. Retries ([`with_retries`]) wrap any step kind, and `when=`
//! conditions ([`condition_holds`]) are judged over earlier results.
//!
//! Prompts, confirmations, the journal and the services graph are the
//! caller's business: this module runs what it is given, already rendered.

mod http;
mod network;
mod redis;
mod retry;
mod shell;
mod sql;
mod supervise;
mod table;
#[cfg(test)]
mod tests;
mod when;

use std::path::PathBuf;
use std::time::Duration;

pub use http::{HttpStep, run_http};
pub use redis::{MAX_REPLY, RedisStep, run_redis, split_command};
pub use retry::{Retries, with_retries};
pub use shell::{DEFAULT_TIMEOUT, Limits, MAX_SCRIPT, ShellStep, run_shell};
pub use sql::{MAX_MESSAGE, SqlStep, run_sql};
pub use supervise::CHUNK;
pub use when::{Facts, condition_holds};

/// Which of the step's output streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where a running step's output and progress go: the journal and the
/// terminal printer implement it (a tee of both is a recorder too).
///
/// Calls arrive on the task running the step, in the order things happen;
/// chunks are at most [`CHUNK`] bytes and are not retained by the executor,
/// so a recorder that keeps only a bounded tail keeps memory bounded.
///
/// The methods cannot fail on purpose: a step already running is not
/// stopped because its record could not be written (killing a half-done
/// write is worse than finishing it). A recorder that fails remembers it,
/// and the runner asks it before starting the next step.
pub trait Recorder: Send {
    /// A chunk of output, exactly as the step wrote it (not necessarily
    /// whole lines, not necessarily UTF-8).
    fn output(&mut self, stream: Stream, bytes: &[u8]);

    /// Attempt `number` (1-based) is about to start.
    fn attempt_started(&mut self, number: u32) {
        let _ = number;
    }

    /// Attempt `number` ended with `outcome`.
    fn attempt_finished(&mut self, number: u32, outcome: &StepOutcome) {
        let _ = (number, outcome);
    }
}

/// How one run of a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exit status 0; for SQL, Redis and HTTP steps, every statement,
    /// command or expectation passed.
    Succeeded,
    /// A non-zero exit status.
    Failed { exit_code: i32 },
    /// The step outlived its timeout; its process group was stopped.
    TimedOut,
    /// The step's shell died of a signal runwell did not send.
    Killed { signal: i32 },
    /// The operator aborted (Ctrl-C); the process group was stopped (a
    /// running SQL query cancelled).
    Aborted,
    /// A step without an exit status failed: an SQL error, a Redis error
    /// reply, an HTTP answer its expectation refused, a server that could
    /// not be reached. `message` says why in one line; it never holds a
    /// URL's password.
    Error { message: String },
}

impl Status {
    pub fn succeeded(&self) -> bool {
        matches!(self, Status::Succeeded)
    }

    /// The lower-case word the journal, reports and `when=` use.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed { .. } | Status::Error { .. } => "failed",
            Status::TimedOut => "timed-out",
            Status::Killed { .. } => "killed",
            Status::Aborted => "aborted",
        }
    }
}

/// What one run of a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub status: Status,
    /// Wall-clock start and end, UTC.
    pub started: jiff::Timestamp,
    pub finished: jiff::Timestamp,
    /// Measured on the monotonic clock, so a clock change cannot skew it.
    pub duration: Duration,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Processes still running in the step's process group after its shell
    /// exited (`cmd &`): reported, not killed (see `ShellStep`). Always empty
    /// for a step that timed out or was aborted: those are killed.
    pub leftovers: Vec<u32>,
    /// Output was still flowing when the drain after the shell's exit ran
    /// out: a leftover process holds the step's stdout or stderr open, and
    /// what it writes from then on is not recorded.
    pub pipe_held_open: bool,
}

/// Why a step could not be run at all. A step that ran and failed is a
/// [`StepOutcome`], never an `Error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start `{program}` for step `{step}`: {source}; check that it is installed and on PATH")]
    Spawn { step: String, program: &'static str, source: std::io::Error },
    #[error("step `{step}`: working directory `{}` is not a directory; fix its `cwd=`", path.display())]
    Cwd { step: String, path: PathBuf },
    #[error(
        "step `{step}`: the script is {len} bytes, over the {MAX_SCRIPT}-byte limit for a command line; move it into a script file and run that"
    )]
    ScriptTooLong { step: String, len: usize },
    #[error("step `{step}`: the script contains a NUL byte, which no shell can run; remove it")]
    NulInScript { step: String },
    #[error("step `{step}`: `{name}` cannot be an environment variable name; use letters, digits and `_`")]
    EnvName { step: String, name: String },
    #[error("step `{step}`: the value of environment variable `{name}` contains a NUL byte; remove it")]
    EnvValue { step: String, name: String },
    #[error("step `{step}`: lost track of its process: {source}")]
    Wait { step: String, source: std::io::Error },
    #[error("`when={expr}` cannot be evaluated: {reason}; fix the expression or the names it uses")]
    Condition { expr: String, reason: String },
    /// A SQL, Redis or HTTP step that cannot be sent as written: a
    /// connection URL that does not parse, a bad method or header, an
    /// `expect=` that is not an expression.
    #[error("step `{step}` cannot run: {reason}")]
    Invalid { step: String, reason: String },
}
