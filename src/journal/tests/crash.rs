//! Crashes: runs whose process died are marked `interrupted`, and a writer
//! killed with `kill -9` mid-transaction leaves an intact journal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::*;
use crate::journal::{CHUNK, Status};

/// A real process to own a run: `sleep`, killed by the test.
fn owner() -> (Child, ProcessIdentity) {
    let child = Command::new("sleep").arg("1000").spawn().expect("`sleep` starts");
    let identity = ProcessIdentity::of(child.id()).expect("the process is alive");
    (child, identity)
}

fn kill_9(mut child: Child) {
    child.kill().expect("SIGKILL is sent");
    // Reaped, so that its pid no longer shows in /proc even as a zombie.
    child.wait().expect("the child is reaped");
}

#[test]
fn a_run_whose_process_was_killed_is_marked_interrupted_and_a_live_ones_is_not() {
    let (_dir, mut store) = journal();
    let (dying, dying_identity) = owner();
    let (living, living_identity) = owner();
    let dead_run = store.start_run(&new_run(dying_identity)).unwrap();
    store.append(dead_run, &[step_started(0)]).unwrap();
    let live_run = store.start_run(&new_run(living_identity)).unwrap();

    assert_eq!(store.mark_interrupted(&host_name()).unwrap(), Vec::<RunId>::new());
    kill_9(dying);
    assert_eq!(store.mark_interrupted(&host_name()).unwrap(), [dead_run]);
    assert_eq!(store.mark_interrupted(&host_name()).unwrap(), Vec::<RunId>::new(), "marked once");

    assert_eq!(store.run(dead_run).unwrap().status, Status::Interrupted);
    assert!(store.run(dead_run).unwrap().finished_at.is_some());
    assert_eq!(store.run(live_run).unwrap().status, Status::Running);
    let last = store.events(dead_run).unwrap().pop().unwrap().event;
    assert!(
        matches!(&last, Event::RunFinished { status: Status::Interrupted, reason: Some(reason) }
            if reason.contains(&dying_identity.pid.to_string())),
        "{last:?}"
    );
    assert!(store.verify().unwrap().is_intact());
    kill_9(living);
}

#[test]
fn a_reused_pid_does_not_keep_a_dead_run_alive_and_other_hosts_are_left_alone() {
    let (_dir, mut store) = journal();
    let me = ProcessIdentity::current().unwrap();
    // Our pid, but an earlier start: the process that owned it is gone.
    let earlier = ProcessIdentity { start_ticks: me.start_ticks.saturating_sub(1), ..me };
    let reused = store.start_run(&new_run(earlier)).unwrap();
    let remote = store.start_run(&NewRun { host: "elsewhere.example".into(), ..new_run(earlier) }).unwrap();
    let mine = store.start_run(&new_run(me)).unwrap();

    assert_eq!(store.mark_interrupted(&host_name()).unwrap(), [reused]);
    assert_eq!(store.run(remote).unwrap().status, Status::Running);
    assert_eq!(store.run(mine).unwrap().status, Status::Running);
}

/// Set in the child process that writes to the journal until it is killed.
const WRITER: &str = "RUNWELL_TEST_JOURNAL_WRITER";

#[test]
fn kill_9_of_a_writer_mid_transaction_leaves_an_intact_journal_and_an_interrupted_run() {
    if let Some(path) = std::env::var_os(WRITER) {
        write_until_killed(std::path::Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    // This same test, in a child process, as the writer.
    let name = format!(
        "{}::{}",
        module_path!().split_once("::").unwrap().1,
        "kill_9_of_a_writer_mid_transaction_leaves_an_intact_journal_and_an_interrupted_run"
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(WRITER, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Readiness: the run is recorded, then several big transactions committed.
    let mut committed = 0;
    while committed < 5 {
        let line = lines.next().expect("the writer reports progress").unwrap();
        committed += usize::from(line.starts_with("committed"));
    }
    kill_9(child);

    assert_eq!(integrity(&path), "ok");
    let mut store = SqliteStore::open(&path).unwrap();
    let verification = store.verify().unwrap();
    assert!(verification.is_intact(), "{:?}", verification.breaks);
    assert!(verification.events > 5 * 16);
    let run = store.runs(&crate::journal::RunFilter::default()).unwrap()[0].id;
    assert_eq!(store.run(run).unwrap().status, Status::Running);

    assert_eq!(store.mark_interrupted(&host_name()).unwrap(), [run]);
    assert_eq!(store.run(run).unwrap().status, Status::Interrupted);
    assert!(store.verify().unwrap().is_intact());
    assert_eq!(integrity(&path), "ok");
}

/// The child's part: records a run as this process and appends batches of
/// output (1 MiB per transaction, so that most of the time a transaction is
/// open) until killed.
fn write_until_killed(path: &std::path::Path) -> ! {
    let mut store = SqliteStore::open(path).unwrap();
    let run = store.start_run(&new_run(ProcessIdentity::current().unwrap())).unwrap();
    store.append(run, &[step_started(0)]).unwrap();
    let chunk = vec![b'x'; CHUNK];
    let mut offset = 0;
    loop {
        let batch: Vec<Event> = (0..16).map(|i| output(0, offset + i * CHUNK as u64, &chunk)).collect();
        store.append(run, &batch).unwrap();
        offset += 16 * CHUNK as u64;
        println!("committed {offset}");
    }
}
