//! Tampering with the record, and `verify` naming the first broken link.

use super::*;
use crate::journal::{Break, Problem, Status};

/// A finished run and a second one, so that breaks are pinned to the right run.
fn two_runs() -> (tempfile::TempDir, SqliteStore, RunId) {
    let (dir, mut store) = journal();
    let run = recorded_run(&mut store);
    recorded_run(&mut store);
    assert!(store.verify().unwrap().is_intact());
    (dir, store, run)
}

fn only_break(store: &SqliteStore) -> Break {
    let verification = store.verify().unwrap();
    assert_eq!(verification.breaks.len(), 1, "{:?}", verification.breaks);
    verification.breaks.into_iter().next().unwrap()
}

#[test]
fn an_intact_journal_verifies() {
    let (_dir, store, _) = two_runs();
    let verification = store.verify().unwrap();
    assert_eq!((verification.runs, verification.events), (2, 12));
}

#[test]
fn the_triggers_refuse_to_change_or_remove_events_and_runs() {
    let (_dir, store, run) = two_runs();
    let refused = |sql: &str| {
        let error = store.connection().execute(sql, [run]).unwrap_err().to_string();
        assert!(error.contains("append-only") || error.contains("cannot"), "{sql}: {error}");
    };
    refused("UPDATE events SET payload = '{}' WHERE run_id = ?1");
    refused("DELETE FROM events WHERE run_id = ?1");
    refused("DELETE FROM runs WHERE id = ?1");
    refused("UPDATE runs SET operator = 'mallory' WHERE id = ?1");
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn an_edited_payload_is_found_at_its_event() {
    let (_dir, store, run) = two_runs();
    tamper(
        &store,
        &format!(
            "UPDATE events SET payload = replace(payload, 'restart tornado', 'restart nothing')
             WHERE run_id = {run} AND seq = 1"
        ),
    );
    assert_eq!(only_break(&store), Break { run, seq: Some(1), problem: Problem::Altered });
}

#[test]
fn edited_output_bytes_are_found() {
    let (_dir, store, run) = two_runs();
    tamper(&store, &format!("UPDATE events SET data = x'00' WHERE run_id = {run} AND seq = 2"));
    assert_eq!(only_break(&store), Break { run, seq: Some(2), problem: Problem::Altered });
}

#[test]
fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
    let (_dir, store, run) = two_runs();
    // The forger rehashes the edited event but not the ones after it.
    let (at, kind, payload, prev): (String, String, String, Vec<u8>) = store
        .connection()
        .query_row(
            "SELECT e.at, e.kind, replace(e.payload, 'restart tornado', 'restart nothing'), p.hash FROM events e
             JOIN events p ON p.run_id = e.run_id AND p.seq = 0 WHERE e.run_id = ?1 AND e.seq = 1",
            [run],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    let hash = crate::journal::chain::link(&prev.try_into().unwrap(), run, 1, &at, &kind, payload.as_bytes(), &[]);
    tamper(&store, "");
    store
        .connection()
        .execute("UPDATE events SET payload = ?2, hash = ?3 WHERE run_id = ?1 AND seq = 1", (run, payload, hash))
        .unwrap();
    assert_eq!(only_break(&store), Break { run, seq: Some(2), problem: Problem::Altered });
}

#[test]
fn a_deleted_event_is_found_where_it_is_missing() {
    let (_dir, store, run) = two_runs();
    tamper(&store, &format!("DELETE FROM events WHERE run_id = {run} AND seq = 2"));
    assert_eq!(only_break(&store), Break { run, seq: Some(2), problem: Problem::Missing { next_found: 3 } });
}

#[test]
fn reordered_events_are_found_at_the_first_moved_one() {
    let (_dir, store, run) = two_runs();
    tamper(
        &store,
        &format!(
            "UPDATE events SET seq = -1 WHERE run_id = {run} AND seq = 3;
             UPDATE events SET seq = 3 WHERE run_id = {run} AND seq = 4;
             UPDATE events SET seq = 4 WHERE run_id = {run} AND seq = -1;"
        ),
    );
    assert_eq!(only_break(&store), Break { run, seq: Some(3), problem: Problem::Altered });
}

#[test]
fn events_cut_off_the_end_are_found() {
    let (_dir, store, run) = two_runs();
    tamper(&store, &format!("DELETE FROM events WHERE run_id = {run} AND seq = 5"));
    let found = only_break(&store);
    assert_eq!(found, Break { run, seq: None, problem: Problem::Truncated { recorded_last: 5, found_last: Some(4) } });
    assert_eq!(
        found.to_string(),
        format!("run {run}: the run recorded events up to 5, the log ends at 4: events were cut off")
    );
}

#[test]
fn an_edited_run_field_is_named() {
    let (_dir, store, run) = two_runs();
    tamper(&store, &format!("UPDATE runs SET operator = 'mallory' WHERE id = {run}"));
    assert_eq!(only_break(&store), Break { run, seq: None, problem: Problem::RunFieldEdited { field: "operator" } });
}

#[test]
fn edited_runbook_content_is_found() {
    let (_dir, store, run) = two_runs();
    tamper(&store, &format!("UPDATE runs SET runbook_content = 'rm -rf /' WHERE id = {run}"));
    assert_eq!(only_break(&store), Break { run, seq: None, problem: Problem::ContentEdited });
}

#[test]
fn an_edited_status_disagrees_with_the_log() {
    let (_dir, store, run) = two_runs();
    store.connection().execute("UPDATE runs SET status = 'failed' WHERE id = ?1", [run]).unwrap();
    assert_eq!(
        only_break(&store),
        Break {
            run,
            seq: None,
            problem: Problem::StatusMismatch { row: Status::Failed, logged: Some(Status::Succeeded) }
        }
    );
}
