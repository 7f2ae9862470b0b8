//! The executor against real processes (bash, sleep, head, yes) and real
//! servers (`PostgreSQL`, Redis, an axum app on loopback). Helpers here; the
//! behaviours in one file per concern or step kind.

mod http;
mod output;
mod redis;
mod retry;
mod shell;
mod sql;
mod stop;
mod when;

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Limits, Recorder, ShellStep, StepOutcome, Stream, run_shell};

pub(super) use crate::check::testing::{not_running, wait_until};

/// What a test keeps of the output: at most this much per stream.
const KEEP: usize = 1 << 20;
/// And this much of the end of stdout.
const TAIL: usize = 64 * 1024;

/// A recorder that keeps the first [`KEEP`] bytes of each stream and the
/// last [`TAIL`] of stdout, counts everything, and can cancel a token when a marker appears on stdout —
/// the readiness signal tests use instead of sleeping.
#[derive(Debug, Default)]
pub(super) struct Tape {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The last [`TAIL`] bytes (or a little more) of stdout.
    pub tail: Vec<u8>,
    pub total: u64,
    pub largest_chunk: usize,
    pub chunks: u64,
    /// `started N` / `finished N status` per attempt, in order.
    pub attempts: Vec<String>,
    trigger: Option<(String, CancellationToken)>,
    /// Cancelled when an attempt finishes.
    after_attempt: Option<CancellationToken>,
}

impl Tape {
    /// Cancels `token` as soon as stdout contains `marker`.
    pub fn cancelling_on(marker: &str, token: &CancellationToken) -> Tape {
        Tape { trigger: Some((marker.to_owned(), token.clone())), ..Tape::default() }
    }

    /// Cancels `token` as soon as an attempt has finished.
    pub fn cancelling_after_attempt(token: &CancellationToken) -> Tape {
        Tape { after_attempt: Some(token.clone()), ..Tape::default() }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn stdout_tail(&self) -> String {
        String::from_utf8_lossy(&self.tail).into_owned()
    }

    /// Panics if `secret` shows anywhere in what was recorded or in `outcome`.
    pub fn assert_never_shows(&self, secret: &str, outcome: &StepOutcome) {
        for (what, text) in [("stdout", self.stdout()), ("stderr", self.stderr()), ("outcome", format!("{outcome:?}"))]
        {
            assert!(!text.contains(secret), "the secret shows in {what}: {text}");
        }
    }
}

impl Recorder for Tape {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        self.chunks += 1;
        self.largest_chunk = self.largest_chunk.max(bytes.len());
        let kept = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        let room = KEEP.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if stream == Stream::Stdout {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * TAIL {
                self.tail.drain(..self.tail.len() - TAIL);
            }
        }
        if let Some((marker, token)) = &self.trigger
            && stream == Stream::Stdout
            && self.stdout().contains(marker.as_str())
        {
            token.cancel();
        }
    }

    fn attempt_started(&mut self, number: u32) {
        self.attempts.push(format!("started {number}"));
    }

    fn attempt_finished(&mut self, number: u32, outcome: &StepOutcome) {
        self.attempts.push(format!("finished {number} {}", outcome.status.as_str()));
        if let Some(token) = &self.after_attempt {
            token.cancel();
        }
    }
}

/// Limits for tests: nothing here should take long, and a leftover holding
/// the pipe should not keep a test waiting the default 2 s.
pub(super) fn limits() -> Limits {
    Limits { timeout: Duration::from_secs(30), grace: Duration::from_secs(5), drain: Duration::from_millis(300) }
}

pub(super) fn step(script: &str) -> ShellStep {
    ShellStep { limits: limits(), ..ShellStep::new("test-step", script) }
}

/// Runs `script` to its end with nobody aborting.
pub(super) async fn run(script: &str) -> (StepOutcome, Tape) {
    run_step(&step(script)).await
}

pub(super) async fn run_step(step: &ShellStep) -> (StepOutcome, Tape) {
    let mut tape = Tape::default();
    let outcome = run_shell(step, &mut tape, &CancellationToken::new()).await.expect("bash runs");
    (outcome, tape)
}

/// Why `step` could not run; panics if it ran.
pub(super) async fn refused(step: &ShellStep) -> super::Error {
    match run_shell(step, &mut Tape::default(), &CancellationToken::new()).await {
        Ok(outcome) => panic!("the step ran: {outcome:?}"),
        Err(error) => error,
    }
}

/// The pids a test script wrote to `path`, one a line.
pub(super) fn pids(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path).unwrap_or_default().split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

/// Waits until every pid is gone (zombies count as gone).
pub(super) async fn all_gone(pids: &[u32]) {
    for &pid in pids {
        wait_until(&format!("pid {pid} is gone"), || async move { not_running(pid) }).await;
    }
}

/// Kills what a test deliberately left running.
pub(super) fn kill(pids: &[u32]) {
    for &pid in pids {
        if let Some(pid) = rustix::process::Pid::from_raw(pid.cast_signed()) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}
