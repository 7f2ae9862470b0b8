//! `retries=N`: failures run again, each attempt recorded; aborts do not.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Tape, step};
use crate::procedure::{Recorder, Retries, Status, run_shell, with_retries};

const NOW: Retries = Retries { count: 0, delay: Duration::ZERO };

/// Fails until it has run `succeed_on` times, counting in `counter`.
fn flaky(counter: &std::path::Path, succeed_on: u32) -> String {
    let file = counter.display();
    format!("n=$(( $(cat {file} 2>/dev/null || echo 0) + 1 )); echo $n > {file}; echo try $n; [ $n -ge {succeed_on} ]")
}

#[tokio::test]
async fn a_failing_step_is_retried_until_it_succeeds_and_every_attempt_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let step = step(&flaky(&dir.path().join("n"), 3));
    let abort = CancellationToken::new();
    let mut tape = Tape::default();
    let outcomes = with_retries(Retries { count: 5, ..NOW }, &mut tape, &abort, async |recorder: &mut dyn Recorder| {
        run_shell(&step, recorder, &abort).await
    })
    .await
    .unwrap();
    let statuses: Vec<Status> = outcomes.into_iter().map(|o| o.status).collect();
    assert_eq!(statuses, [Status::Failed { exit_code: 1 }, Status::Failed { exit_code: 1 }, Status::Succeeded]);
    assert_eq!(tape.stdout(), "try 1\ntry 2\ntry 3\n");
    assert_eq!(
        tape.attempts,
        ["started 1", "finished 1 failed", "started 2", "finished 2 failed", "started 3", "finished 3 succeeded"]
    );
}

#[tokio::test]
async fn retries_run_out_with_the_last_failure() {
    let step = step("exit 7");
    let abort = CancellationToken::new();
    let outcomes =
        with_retries(Retries { count: 1, ..NOW }, &mut Tape::default(), &abort, async |recorder: &mut dyn Recorder| {
            run_shell(&step, recorder, &abort).await
        })
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[1].status, Status::Failed { exit_code: 7 });
}

#[tokio::test]
async fn a_step_that_succeeds_runs_once() {
    let step = step("true");
    let abort = CancellationToken::new();
    let outcomes =
        with_retries(Retries { count: 3, ..NOW }, &mut Tape::default(), &abort, async |recorder: &mut dyn Recorder| {
            run_shell(&step, recorder, &abort).await
        })
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
}

#[tokio::test]
async fn an_aborted_attempt_is_not_retried() {
    let step = step("echo ready; sleep 1000");
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_on("ready", &abort);
    let outcomes = with_retries(Retries { count: 3, ..NOW }, &mut tape, &abort, async |recorder: &mut dyn Recorder| {
        run_shell(&step, recorder, &abort).await
    })
    .await
    .unwrap();
    let statuses: Vec<Status> = outcomes.into_iter().map(|o| o.status).collect();
    assert_eq!(statuses, [Status::Aborted]);
}

#[tokio::test]
async fn an_abort_during_the_pause_between_attempts_ends_the_retries() {
    let step = step("exit 1");
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_after_attempt(&abort);
    let retries = Retries { count: 3, delay: Duration::from_secs(600) };
    let outcomes = with_retries(retries, &mut tape, &abort, async |recorder: &mut dyn Recorder| {
        run_shell(&step, recorder, &abort).await
    })
    .await
    .unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(tape.attempts, ["started 1", "finished 1 failed"]);
}
