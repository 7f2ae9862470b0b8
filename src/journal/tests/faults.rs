//! A journal that cannot be written: every write is an `Err` the executor
//! acts on (it stops before the next step), and what was recorded stays intact.

use super::*;
use crate::journal::{DEFAULT_CAP, Error, OutputCapture, Status};

#[test]
fn a_journal_path_that_is_a_directory_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let error = SqliteStore::open(dir.path()).unwrap_err();
    assert!(matches!(error, Error::Create { .. }), "{error:?}");
    assert!(error.to_string().contains("RUNWELL_DB"), "says what to do: {error}");
}

#[test]
fn a_journal_on_a_read_only_file_system_cannot_be_opened_new_or_existing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("journal.db")).unwrap();
    recorded_run(&mut store);
    drop(store);
    let view = Mount::read_only_view(dir.path());
    for name in ["new.db", "journal.db"] {
        let error = SqliteStore::open(&view.path.join(name)).unwrap_err();
        assert!(matches!(&error, Error::Create { source, .. } if source.raw_os_error() == Some(30)), "{error:?}");
    }
}

#[test]
fn a_full_disk_fails_the_write_and_keeps_the_record_intact() {
    let disk = Mount::tmpfs("1m");
    let path = disk.path.join("journal.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let run = store.start_run(&new_run(ProcessIdentity::current().unwrap())).unwrap();
    store.append(run, &[step_started(0)]).unwrap();

    // A step printing more than the disk holds, within the head that is
    // written as it streams.
    let mut capture = OutputCapture::new(0, Stream::Stdout, DEFAULT_CAP);
    let block = vec![b'y'; 256 << 10];
    let error = (0..16).find_map(|_| capture.push(&mut store, run, &block).err()).expect("the disk fills up");
    assert!(matches!(error, Error::Full { .. }), "{error:?}");
    assert!(error.to_string().contains("is full"), "{error}");

    let verification = store.verify().unwrap();
    assert!(verification.is_intact(), "{:?}", verification.breaks);
    assert_eq!(store.run(run).unwrap().status, Status::Running);
    drop(store);
    assert_eq!(integrity(&path), "ok");
}
