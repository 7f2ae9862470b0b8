//! Output: streamed in bounded chunks however much there is, and a step
//! whose background process keeps the pipe open still ends.

use super::{kill, not_running, pids, run};
use crate::procedure::{CHUNK, Status};

#[tokio::test]
async fn a_gigabyte_of_output_streams_through_in_bounded_chunks() {
    const GIGABYTE: u64 = 1_000_000_000;
    let (outcome, tape) = run(&format!("head -c {GIGABYTE} /dev/zero; echo done >&2")).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.stdout_bytes, GIGABYTE);
    assert_eq!(tape.total, GIGABYTE + 5);
    assert_eq!(tape.stderr(), "done\n");
    // The executor holds no more than one chunk per stream: memory is
    // bounded by CHUNK, not by what the step prints.
    assert!(tape.largest_chunk <= CHUNK, "{}", tape.largest_chunk);
}

#[tokio::test]
async fn a_background_process_holding_stdout_does_not_hold_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let (outcome, tape) = run(&format!("sleep 1000 & echo $! > {}; echo started", pid_file.display())).await;
    let daemon = pids(&pid_file);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "started\n");
    assert!(outcome.pipe_held_open);
    // Reported, and left running: the operator may have meant it.
    assert_eq!(outcome.leftovers, daemon);
    assert!(!not_running(daemon[0]));
    kill(&daemon);
}

#[tokio::test]
async fn a_detached_daemon_is_reported_and_left_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!("nohup sleep 1000 >/dev/null 2>&1 & echo $! > {}; echo started", pid_file.display());
    let (outcome, _) = run(&script).await;
    let daemon = pids(&pid_file);
    assert_eq!(outcome.status, Status::Succeeded);
    assert!(!outcome.pipe_held_open);
    assert_eq!(outcome.leftovers, daemon);
    assert!(!not_running(daemon[0]));
    kill(&daemon);
}

#[tokio::test]
async fn output_a_leftover_writes_before_the_pipes_close_is_recorded() {
    // The background writer finishes on its own, closing the pipe: the drain
    // reads to the end rather than cutting at the shell's exit.
    let (outcome, tape) = run("(for i in 1 2 3; do echo \"line $i\"; done) & echo shell-done").await;
    assert_eq!(outcome.status, Status::Succeeded);
    let mut lines: Vec<&str> = tape.stdout.split(|b| *b == b'\n').map(|l| std::str::from_utf8(l).unwrap()).collect();
    lines.sort_unstable();
    assert_eq!(lines, ["", "line 1", "line 2", "line 3", "shell-done"]);
    assert!(!outcome.pipe_held_open);
}
