//! The journal's tests, on real `SQLite` files, real processes and real
//! file systems (a tmpfs mounted for one test: the tests run as root), and
//! the helpers they share.

mod chain;
mod crash;
mod faults;
mod output;
mod store;

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::SignedDuration;

use super::{Event, NewRun, ProcessIdentity, RunId, SqliteStore, StepOutcome, Store, Stream, host_name};

/// A journal in a fresh temporary directory, removed with the guard.
pub fn journal() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("journal.db")).expect("the journal opens");
    (dir, store)
}

/// A run owned by `process` on this host.
pub fn new_run(process: ProcessIdentity) -> NewRun {
    NewRun {
        runbook: "tornado-vpn".into(),
        runbook_path: "runbooks/tornado.md".into(),
        content: "# Tornado\n\n## Controlled restart\n\n```sh\nsystemctl restart tornado\n```\n".into(),
        procedure: "controlled-restart".into(),
        environment: Some("staging".into()),
        operator: "alice".into(),
        host: host_name(),
        process,
        resumed_from: None,
    }
}

/// A run by this process with a step, its output and a check, finished.
pub fn recorded_run(store: &mut SqliteStore) -> RunId {
    let me = ProcessIdentity::current().expect("this process");
    let run = store.start_run(&new_run(me)).expect("the run starts");
    store.append(run, &[step_started(0), output(0, 0, b"restarted\n")]).expect("events are recorded");
    store
        .append(
            run,
            &[
                Event::StepFinished {
                    step: 0,
                    outcome: StepOutcome::Succeeded,
                    exit_code: Some(0),
                    duration: SignedDuration::from_millis(120),
                    reason: None,
                },
                Event::CheckResult {
                    step: Some(1),
                    name: "admin-api".into(),
                    status: "ok".into(),
                    observed: "200".into(),
                    reason: None,
                    latency: Some(SignedDuration::from_millis(3)),
                },
            ],
        )
        .expect("events are recorded");
    store.finish_run(run, super::Status::Succeeded, None).expect("the run finishes");
    run
}

pub fn step_started(step: u32) -> Event {
    Event::StepStarted {
        step,
        id: format!("step-{step}"),
        step_kind: "shell".into(),
        safety: "write".into(),
        command: "systemctl restart tornado".into(),
    }
}

pub fn output(step: u32, offset: u64, bytes: &[u8]) -> Event {
    Event::Output { step, stream: Stream::Stdout, offset, bytes: bytes.to_vec() }
}

/// Runs SQL as someone who bypasses runwell: drops the append-only
/// triggers first.
pub fn tamper(store: &SqliteStore, sql: &str) {
    store
        .connection()
        .execute_batch(&format!(
            "DROP TRIGGER IF EXISTS events_are_append_only_update;
             DROP TRIGGER IF EXISTS events_are_append_only_delete;
             DROP TRIGGER IF EXISTS runs_keep_what_started;
             {sql}"
        ))
        .expect("the tampering SQL runs");
}

pub fn integrity(path: &Path) -> String {
    let connection = rusqlite::Connection::open(path).expect("the journal opens");
    connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("integrity_check runs")
}

/// A file system mounted for one test, unmounted when dropped.
pub struct Mount {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mount {
    /// A tmpfs of `size` (e.g. `1m`): a disk that really fills up.
    pub fn tmpfs(size: &str) -> Mount {
        let dir = tempfile::tempdir().expect("a temporary directory");
        mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], dir.path());
        Mount { path: dir.path().to_owned(), _dir: dir }
    }

    /// `source` seen through a read-only bind mount: writes fail with EROFS,
    /// whatever the permission bits (root ignores those).
    pub fn read_only_view(source: &Path) -> Mount {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let source = source.to_str().expect("a UTF-8 temporary path");
        mount(&["--bind", source], dir.path());
        mount(&["-o", "remount,ro,bind"], dir.path());
        Mount { path: dir.path().to_owned(), _dir: dir }
    }
}

fn mount(args: &[&str], target: &Path) {
    let status = Command::new("mount").args(args).arg(target).status().expect("`mount` runs");
    assert!(status.success(), "mount {args:?} failed: these tests run as root, which may mount");
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
