//! Opening, recording and querying: what the executor and the CLI rely on.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::*;
use crate::journal::{Error, Record, RunFilter, SqliteStore, Status, path_from};

#[test]
fn opening_creates_a_private_file_in_a_new_directory_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/runwell/journal.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    let connection = store.connection();
    let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let synchronous: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0)).unwrap();
    assert_eq!(synchronous, 1, "NORMAL");
    let version: i64 = connection.query_row("SELECT version FROM schema_version", [], |row| row.get(0)).unwrap();
    assert_eq!(version, 1);
}

#[test]
fn reopening_keeps_the_runs_and_a_newer_schema_is_refused() {
    let (dir, mut store) = journal();
    let run = recorded_run(&mut store);
    let path = store.path().to_owned();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.run(run).unwrap().status, Status::Succeeded);
    store.connection().execute("UPDATE schema_version SET version = 99", []).unwrap();
    drop(store);
    match SqliteStore::open(&path) {
        Err(Error::NewerSchema { found: 99, known: 1, .. }) => {}
        other => panic!("expected a newer-schema refusal, got {other:?}"),
    }
    drop(dir);
}

#[test]
fn a_run_keeps_what_it_started_with_and_its_events_in_order() {
    let (_dir, mut store) = journal();
    let run = recorded_run(&mut store);
    let found = store.run(run).unwrap();
    assert_eq!(found.info.procedure, "controlled-restart");
    assert_eq!(found.info.environment.as_deref(), Some("staging"));
    assert_eq!(found.info.process, ProcessIdentity::current().unwrap());
    assert_eq!(found.info.runbook_sha256.len(), 64);
    assert_eq!(found.status, Status::Succeeded);
    assert!(found.finished_at.unwrap() >= found.info.started_at);
    assert!(store.runbook_content(run).unwrap().contains("systemctl restart tornado"));

    let events = store.events(run).unwrap();
    let kinds: Vec<&str> = events.iter().map(|record| record.event.kind()).collect();
    assert_eq!(kinds, ["run_started", "step_started", "output", "step_finished", "check_result", "run_finished"]);
    assert!(events.iter().enumerate().all(|(i, record)| record.seq == i as u64 && record.run == run));
    assert!(events.windows(2).all(|pair| pair[0].at <= pair[1].at));
    let Record { event: Event::Output { bytes, .. }, .. } = &events[2] else { panic!("output expected") };
    assert_eq!(bytes, b"restarted\n");
}

#[test]
fn runs_are_listed_newest_first_and_filtered_by_status() {
    let (_dir, mut store) = journal();
    let first = recorded_run(&mut store);
    let me = ProcessIdentity::current().unwrap();
    let second = store.start_run(&NewRun { resumed_from: Some(first), ..new_run(me) }).unwrap();
    let third = recorded_run(&mut store);

    let ids = |filter: RunFilter| store.runs(&filter).unwrap().iter().map(|run| run.id).collect::<Vec<_>>();
    assert_eq!(ids(RunFilter::default()), [third, second, first]);
    assert_eq!(ids(RunFilter { limit: Some(2), ..RunFilter::default() }), [third, second]);
    assert_eq!(ids(RunFilter { status: Some(Status::Running), ..RunFilter::default() }), [second]);
    assert_eq!(store.run(second).unwrap().info.resumed_from, Some(first));
}

#[test]
fn nothing_is_recorded_after_a_run_finished_or_for_an_unknown_run() {
    let (_dir, mut store) = journal();
    let run = recorded_run(&mut store);
    assert!(matches!(store.append(run, &[step_started(1)]), Err(Error::Finished { status: Status::Succeeded, .. })));
    assert!(matches!(store.finish_run(run, Status::Failed, None), Err(Error::Finished { .. })));
    assert!(matches!(store.append(999, &[step_started(0)]), Err(Error::NoSuchRun { run: 999 })));
    assert!(matches!(store.run(999), Err(Error::NoSuchRun { run: 999 })));
    assert!(matches!(store.events(999), Err(Error::NoSuchRun { run: 999 })));
    let finished = Event::RunFinished { status: Status::Succeeded, reason: None };
    let me = ProcessIdentity::current().unwrap();
    let other = store.start_run(&new_run(me)).unwrap();
    assert!(matches!(store.append(other, &[finished]), Err(Error::Reserved { kind: "run_finished" })));
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn two_connections_append_to_their_own_runs_without_breaking_either_chain() {
    let (_dir, mut first) = journal();
    let mut second = SqliteStore::open(first.path()).unwrap();
    let me = ProcessIdentity::current().unwrap();
    let a = first.start_run(&new_run(me)).unwrap();
    let b = second.start_run(&new_run(me)).unwrap();
    for step in 0..20 {
        first.append(a, &[step_started(step)]).unwrap();
        second.append(b, &[step_started(step)]).unwrap();
    }
    let verification = first.verify().unwrap();
    assert!(verification.is_intact(), "{:?}", verification.breaks);
    assert_eq!((verification.runs, verification.events), (2, 42));
}

#[test]
fn the_default_path_prefers_runwell_db_then_xdg_state_home_then_home() {
    static ALL: [(&str, &str); 3] = [("RUNWELL_DB", "/db/j.db"), ("XDG_STATE_HOME", "/state"), ("HOME", "/home/al")];
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| OsString::from(value))
    };
    assert_eq!(path_from(env(&ALL)).unwrap(), PathBuf::from("/db/j.db"));
    assert_eq!(path_from(env(&ALL[1..])).unwrap(), PathBuf::from("/state/runwell/journal.db"));
    assert_eq!(
        path_from(env(&[("RUNWELL_DB", ""), ("XDG_STATE_HOME", "relative"), ("HOME", "/home/al")])).unwrap(),
        PathBuf::from("/home/al/.local/state/runwell/journal.db")
    );
    assert!(matches!(path_from(env(&[])), Err(Error::NoDefaultPath)));
}
