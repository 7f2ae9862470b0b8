//! Stopping a step: the timeout and the operator's abort both stop the
//! whole process group — SIGTERM first, SIGKILL after the grace — and
//! leave nothing running.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Tape, all_gone, pids, step};
use crate::procedure::{Limits, ShellStep, Status, run_shell};

/// A script that records its own pid, a background child's and a
/// grandchild's in `pid_file`, says `ready`, and then never ends.
fn family(pid_file: &std::path::Path) -> String {
    let file = pid_file.display();
    format!(
        "echo $$ >> {file}\n\
         sleep 1000 & echo $! >> {file}\n\
         bash -c 'sleep 1000 & echo $! >> {file}; wait' &\n\
         echo $! >> {file}\n\
         while [ \"$(wc -l < {file})\" -lt 4 ]; do sleep 0.01; done\n\
         echo ready\n\
         sleep 1000\n"
    )
}

#[tokio::test]
async fn a_step_past_its_timeout_is_timed_out_and_its_children_and_grandchildren_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let step =
        ShellStep { limits: Limits { timeout: Duration::from_secs(3), ..super::limits() }, ..step(&family(&pid_file)) };
    let mut tape = Tape::default();
    let outcome = run_shell(&step, &mut tape, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(tape.stdout(), "ready\n", "the script did not get going within the timeout");
    let pids = pids(&pid_file);
    assert_eq!(pids.len(), 4, "{pids:?}");
    all_gone(&pids).await;
    assert!(outcome.leftovers.is_empty());
}

#[tokio::test]
async fn an_aborted_step_is_aborted_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_on("ready", &abort);
    let outcome = run_shell(&step(&family(&pid_file)), &mut tape, &abort).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
    let pids = pids(&pid_file);
    assert_eq!(pids.len(), 4, "{pids:?}");
    all_gone(&pids).await;
}

#[tokio::test]
async fn a_stopped_step_gets_sigterm_first_and_can_clean_up() {
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_on("ready", &abort);
    let script = "trap 'echo cleaning up; exit 3' TERM\nsleep 1000 &\necho ready\nwait\n";
    let outcome = run_shell(&step(script), &mut tape, &abort).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
    assert_eq!(tape.stdout(), "ready\ncleaning up\n");
}

#[tokio::test]
async fn processes_that_ignore_sigterm_are_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let file = pid_file.display();
    // Ignored signals stay ignored across exec: this `sleep` shrugs off TERM.
    let script = format!(
        "trap '' TERM\n\
         bash -c \"trap '' TERM; exec sleep 1000\" &\n\
         echo $! >> {file}; echo $$ >> {file}\n\
         echo ready\n\
         wait\n"
    );
    let step = ShellStep { limits: Limits { grace: Duration::from_millis(300), ..super::limits() }, ..step(&script) };
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_on("ready", &abort);
    let outcome = run_shell(&step, &mut tape, &abort).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
    let pids = pids(&pid_file);
    assert_eq!(pids.len(), 2, "{pids:?}");
    all_gone(&pids).await;
}

#[tokio::test]
async fn dropping_a_running_step_kills_its_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let ready = CancellationToken::new();
    let mut tape = Tape::cancelling_on("ready", &ready);
    let step = step(&family(&pid_file));
    let running = tokio::spawn(async move { run_shell(&step, &mut tape, &CancellationToken::new()).await });
    ready.cancelled().await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    let pids = pids(&pid_file);
    assert_eq!(pids.len(), 4, "{pids:?}");
    all_gone(&pids).await;
}

#[tokio::test]
async fn a_step_asked_to_run_after_the_abort_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let abort = CancellationToken::new();
    abort.cancel();
    let step = step(&format!("touch {}", marker.display()));
    let outcome = run_shell(&step, &mut Tape::default(), &abort).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
    assert!(!marker.exists());
}
