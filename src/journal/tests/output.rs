//! Output capture: coalesced chunks, the cap keeping head and tail, and
//! memory that stays bounded whatever a step prints.

use super::*;
use crate::journal::{CHUNK, OutputCapture, Status};

/// Bytes whose value says where they are: byte `i` of the stream is `i % 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn started(store: &mut SqliteStore) -> RunId {
    let run = store.start_run(&new_run(ProcessIdentity::current().unwrap())).unwrap();
    store.append(run, &[step_started(0)]).unwrap();
    run
}

fn output_rows(store: &SqliteStore, run: RunId) -> Vec<usize> {
    let mut statement =
        store.connection().prepare("SELECT length(data) FROM events WHERE run_id = ?1 AND kind = 'output'").unwrap();
    statement.query_map([run], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn output_under_the_cap_is_kept_whole_in_coalesced_chunks() {
    let (_dir, mut store) = journal();
    let run = started(&mut store);
    let bytes = pattern(300_000);
    let mut capture = OutputCapture::new(0, Stream::Stdout, 1 << 20);
    // Small writes, as a process prints lines.
    for line in bytes.chunks(100) {
        capture.push(&mut store, run, line).unwrap();
    }
    assert_eq!(capture.finish(&mut store, run).unwrap(), 0);

    let output = store.step_output(run, 0, Stream::Stdout).unwrap();
    assert_eq!((output.head.len(), output.dropped, output.tail.len()), (300_000, 0, 0));
    assert!(output.head == bytes);
    let rows = output_rows(&store, run);
    assert!(rows.iter().all(|&len| len <= CHUNK), "{rows:?}");
    assert!(rows.len() <= 300_000 / CHUNK + 2, "3000 writes coalesced into few rows, got {}", rows.len());
    assert_eq!(store.step_output(run, 0, Stream::Stderr).unwrap().total(), 0);
}

#[test]
fn a_gigabyte_of_output_keeps_the_head_and_the_tail_in_bounded_memory() {
    const CAP: usize = 1 << 20;
    const TOTAL: u64 = 1 << 30;
    const WRITE: usize = 1 << 20;
    let (_dir, mut store) = journal();
    let run = started(&mut store);
    // One buffer, sliced at the stream offset's place in the pattern, so
    // the gigabyte is made without a gigabyte of work.
    let source = pattern(WRITE + 251);
    let mut capture = OutputCapture::new(0, Stream::Stderr, CAP);
    let mut offset = 0u64;
    let mut most_memory = 0;
    while offset < TOTAL {
        let start = (offset % 251) as usize;
        capture.push(&mut store, run, &source[start..start + WRITE]).unwrap();
        offset += WRITE as u64;
        most_memory = most_memory.max(capture.memory());
    }
    assert_eq!(capture.total(), TOTAL);
    assert!(most_memory <= CHUNK + CAP / 2, "held {most_memory} bytes");
    let dropped = capture.finish(&mut store, run).unwrap();
    assert_eq!(dropped, TOTAL - CAP as u64);

    let output = store.step_output(run, 0, Stream::Stderr).unwrap();
    assert_eq!((output.head.len(), output.dropped, output.tail.len()), (CAP / 2, TOTAL - CAP as u64, CAP / 2));
    assert_eq!(output.total(), TOTAL);
    assert!(output.head == pattern(CAP / 2));
    let tail_start = TOTAL - (CAP / 2) as u64;
    assert!(output.tail.iter().enumerate().all(|(i, &b)| u64::from(b) == (tail_start + i as u64) % 251));
    store.finish_run(run, Status::Failed, None).unwrap();
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn output_just_past_the_head_is_kept_whole_without_a_truncation() {
    let (_dir, mut store) = journal();
    let run = started(&mut store);
    let bytes = pattern(1500);
    let mut capture = OutputCapture::new(0, Stream::Stdout, 2000);
    capture.push(&mut store, run, &bytes).unwrap();
    assert_eq!(capture.finish(&mut store, run).unwrap(), 0);
    let output = store.step_output(run, 0, Stream::Stdout).unwrap();
    assert_eq!(output.dropped, 0);
    assert!(output.head == bytes, "head and tail are contiguous, read back as one");
    let kinds: Vec<_> = store.events(run).unwrap().iter().map(|r| r.event.kind()).collect();
    assert!(!kinds.contains(&"output_truncated"));
}
