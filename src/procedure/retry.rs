//! `retries=N`: running a step again when it fails, every attempt recorded.
//!
//! Written over any attempt (an async closure), so shell, SQL, Redis and
//! HTTP steps share one retry policy.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Error, Recorder, Status, StepOutcome};

/// How often to try again, and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// Runs after the first: `retries=2` means up to three attempts.
    pub count: u32,
    /// Pause before each retry, so a service that is still coming up gets
    /// a moment.
    pub delay: Duration,
}

impl Retries {
    /// `count` retries with the default one-second pause.
    pub fn new(count: u32) -> Retries {
        Retries { count, delay: Duration::from_secs(1) }
    }
}

impl Default for Retries {
    fn default() -> Retries {
        Retries::new(0)
    }
}

/// Runs `attempt` until it succeeds or `retries` are used up, telling
/// `recorder` when each attempt starts and how it ended, and returns every
/// attempt's outcome in order (the last one is the step's).
///
/// Failures, timeouts and deaths by signal are retried; an abort is not,
/// nor an attempt that could not run at all (`Err`, returned at once).
/// An abort during the pause ends the step with the outcomes so far.
pub async fn with_retries(
    retries: Retries,
    recorder: &mut dyn Recorder,
    abort: &CancellationToken,
    mut attempt: impl AsyncFnMut(&mut dyn Recorder) -> Result<StepOutcome, Error>,
) -> Result<Vec<StepOutcome>, Error> {
    let mut outcomes = Vec::new();
    for number in 1..=retries.count.saturating_add(1) {
        if number > 1 {
            tokio::select! {
                () = abort.cancelled() => break,
                () = tokio::time::sleep(retries.delay) => {}
            }
        }
        recorder.attempt_started(number);
        let outcome = attempt(&mut *recorder).await?;
        recorder.attempt_finished(number, &outcome);
        let again = !matches!(outcome.status, Status::Succeeded | Status::Aborted);
        outcomes.push(outcome);
        if !again {
            break;
        }
    }
    Ok(outcomes)
}
