//! `runwell run` under faults, driving the real binary: a step that floods
//! its output, one that never ends, one that leaves a daemon holding its
//! pipe, a journal whose disk fills up or fails mid-run, and a runbook
//! edited while it runs. `kill -9` of runwell itself is in `run.rs`.
//!
//! The disk faults mount file systems (a tmpfs, an ext4 image on a loop
//! device): these tests run as root, and say so when mounting is refused.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use runwell::journal::{DEFAULT_CAP, Event, ProcessIdentity, SqliteStore, Status, StepOutcome, Store, Stream};

/// A runbook `demo` whose procedure `fix-it` is `body`.
fn runbook(body: &str) -> String {
    format!("---\nrunbook: demo\n---\n# Demo\n\n## Fix it\n\n{body}")
}

/// A fresh directory holding `demo.md`.
fn workspace(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("demo.md"), runbook(body)).unwrap();
    dir
}

/// `runwell ARGS` in `dir`, to its end.
fn runwell(dir: &Path, args: &[&str]) -> Output {
    crate::test::runwell().args(args).current_dir(dir).output().expect("runwell starts")
}

/// Polls until `ready` holds; `limit` only bounds a failing test.
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(10)); // poll interval, not a wait for readiness
    }
}

/// `runwell run demo.md fix-it --db DB` started in the background with its
/// output in `stdout.txt` and `stderr.txt` (or thrown away), killed if the
/// test ends before it does.
struct Background {
    child: Child,
    dir: PathBuf,
}

impl Background {
    fn start(dir: &Path, db: &str, keep_output: bool) -> Background {
        let sink = |name: &str| {
            if keep_output { Stdio::from(std::fs::File::create(dir.join(name)).unwrap()) } else { Stdio::null() }
        };
        let child = crate::test::runwell()
            .args(["run", "demo.md", "fix-it", "--db", db])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(sink("stdout.txt"))
            .stderr(sink("stderr.txt"))
            .spawn()
            .expect("runwell starts");
        Background { child, dir: dir.to_owned() }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|status| status.is_some())
    }

    /// Waits for runwell to exit; fails the test if it is still running after `limit`.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let mut status = None;
        wait_for("runwell to exit", limit, || {
            status = self.child.try_wait().expect("runwell can be waited for");
            status.is_some()
        });
        status.expect("runwell exited")
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.txt")).unwrap()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process a step started, known by pid and start time so that a later
/// process reusing the pid is not mistaken for it.
struct Started {
    pid: u32,
    identity: Option<ProcessIdentity>,
}

impl Started {
    /// Pids written one a line to `file`.
    fn read(file: &Path) -> Vec<Started> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .map(|line| line.trim().parse().unwrap_or_else(|_| panic!("a pid in {}: `{line}`", file.display())))
            .map(|pid| Started { pid, identity: ProcessIdentity::of(pid) })
            .collect()
    }

    /// Still running (a zombie counts as gone: it has exited).
    fn running(&self) -> bool {
        match self.identity {
            Some(identity) => identity.is_alive(),
            // Already gone when first looked at.
            None => runwell::process::is_alive(self.pid),
        }
    }
}

/// Kills the processes in it when dropped, whether the test passed or not:
/// a daemon a step started must not outlive the test.
struct Reaper(Vec<Started>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for started in self.0.iter().filter(|s| s.running()) {
            let pid = nix::unistd::Pid::from_raw(started.pid.cast_signed());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// A file system mounted for one test, unmounted when dropped.
struct Disk {
    path: PathBuf,
    /// The ext4 image behind a loop mount, if this is one.
    image: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Disk {
    /// A tmpfs of `size` (`1m`): a disk that really fills up.
    fn tmpfs(size: &str) -> Disk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], &path);
        Disk { path, image: None, _dir: dir }
    }

    /// A small ext4 file system in an image file, on a loop device.
    fn ext4() -> Disk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let image = dir.path().join("disk.img");
        std::fs::File::create(&image).unwrap().set_len(32 << 20).unwrap();
        let made = Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status().expect("`mkfs.ext4` runs");
        assert!(made.success(), "mkfs.ext4 failed (scripts/setup installs e2fsprogs)");
        let disk = Disk { path, image: Some(image), _dir: dir };
        disk.mount_image();
        disk
    }

    fn mount_image(&self) {
        let image = self.image.as_ref().expect("an ext4 disk").to_str().expect("a UTF-8 temporary path");
        mount(&["-o", "loop", image], &self.path);
    }

    /// Unmounts and mounts the image again, as after a reboot.
    fn remount_image(&self) {
        let status = Command::new("umount").arg(&self.path).status().expect("`umount` runs");
        assert!(status.success(), "umount {} failed", self.path.display());
        self.mount_image();
    }

    /// Grows a tmpfs to `size`: frees space without touching its files.
    fn grow(&self, size: &str) {
        mount(&["-o", &format!("remount,size={size}")], &self.path);
    }
}

fn mount(args: &[&str], target: &Path) {
    let status = Command::new("mount").args(args).arg(target).status().expect("`mount` runs");
    assert!(
        status.success(),
        "mount {args:?} {} failed: these tests must run as root, on a machine that lets them mount (tmpfs, loop devices)",
        target.display()
    );
}

impl Drop for Disk {
    fn drop(&mut self) {
        // Not lazy when it can be helped: a lazy unmount keeps the loop device busy.
        let done = Command::new("umount").arg(&self.path).status().is_ok_and(|s| s.success());
        if !done {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// The journal at `db` once the run is over: opens, verifies intact, and the
/// run's status as `runwell runs` shows it (which marks a run whose process
/// died `interrupted`).
fn after_the_fault(dir: &Path, db: &str) -> String {
    SqliteStore::open(&dir.join(db)).expect("the journal opens after the fault");
    let verify = runwell(dir, &["journal", "verify", "--db", db]);
    assert!(verify.status.success(), "journal verify: {}", String::from_utf8_lossy(&verify.stdout));
    let runs = runwell(dir, &["runs", "--db", db, "--format", "json"]);
    assert!(runs.status.success(), "{}", String::from_utf8_lossy(&runs.stderr));
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    runs[0]["status"].as_str().expect("a status").to_owned()
}

fn everything(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn step_outcomes(store: &SqliteStore) -> Vec<(u32, StepOutcome)> {
    store
        .events(1)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::StepFinished { step, outcome, .. } => Some((step, outcome)),
            _ => None,
        })
        .collect()
}

/// The most memory `pid` has held so far (`VmHWM`, the peak resident set).
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_step_printing_a_gigabyte_keeps_memory_bounded_and_the_journal_keeps_head_and_tail() {
    const FLOOD: u64 = 1_000_000_000;
    // Measured 2026-11-23: 43 MB peak for the debug binary (28 MB for a run
    // that prints one line: the binary, the runtime, SQLite), the rest the
    // capture's head chunk, its 4 MiB tail ring written out at the step's
    // end, and SQLite's page cache; 29 MB for the release binary. Keeping
    // the output would need 1 GB.
    const BOUND: u64 = 64 << 20;
    // Step 2 holds the run open on a FIFO until the peak is read, so the
    // reading comes after all of step 1's capture, its final write included.
    let dir = workspace(&format!(
        "```sh {{name=flood}}\nprintf HEAD; head -c {FLOOD} /dev/zero; printf TAIL\n```\n\n\
         ```sh {{name=hold}}\nmkfifo release\ntouch holding\nread -r _ < release\n```\n"
    ));
    let mut runwell = Background::start(dir.path(), "journal.db", false);
    let mut peak = 0;
    wait_for("step 1 to finish", Duration::from_secs(300), || {
        peak = peak_memory(runwell.pid()).unwrap_or(0).max(peak);
        dir.path().join("holding").exists()
    });
    peak = peak_memory(runwell.pid()).expect("runwell is still running").max(peak);
    std::fs::write(dir.path().join("release"), "go\n").unwrap();
    assert!(runwell.wait(Duration::from_secs(60)).success(), "the run succeeds");
    assert!(peak < BOUND, "runwell's peak memory was {} MiB, over {} MiB", peak >> 20, BOUND >> 20);

    let store = SqliteStore::open(&dir.path().join("journal.db")).unwrap();
    assert_eq!(store.run(1).unwrap().status, Status::Succeeded);
    let output = store.step_output(1, 1, Stream::Stdout).unwrap();
    let total = FLOOD + 8;
    assert_eq!(output.total(), total, "every byte is accounted for");
    assert_eq!(output.head.len(), DEFAULT_CAP / 2);
    assert_eq!(output.tail.len(), DEFAULT_CAP - DEFAULT_CAP / 2);
    assert!(output.head.starts_with(b"HEAD\0\0"), "the head is the beginning");
    assert!(output.tail.ends_with(b"\0\0TAIL"), "the tail is the end");
    let dropped: Vec<u64> = store
        .events(1)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::OutputTruncated { step: 1, stream: Stream::Stdout, dropped } => Some(dropped),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [total - DEFAULT_CAP as u64], "one `output_truncated` event accounts for the rest");
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn a_step_that_never_ends_times_out_and_nothing_it_started_is_left() {
    // The shell, a background child, one that ignores SIGTERM (it needs the
    // SIGKILL after the grace period), a nested shell and its child.
    let dir = workspace(
        "```sh {name=hangs timeout=1s}\n\
         echo $$ >> pids\n\
         sleep 1000 & echo $! >> pids\n\
         ( trap '' TERM; exec sleep 1000 ) & echo $! >> pids\n\
         bash -c 'sleep 1000 & echo $! >> pids; wait' & echo $! >> pids\n\
         wait\n\
         ```\n\n\
         ```sh {name=never}\ntouch never-ran\n```\n",
    );
    let mut runwell = Background::start(dir.path(), "journal.db", true);
    let pids = dir.path().join("pids");
    // All five, unless a very slow machine reached the timeout first.
    wait_for("the step to start its processes", Duration::from_secs(60), || {
        std::fs::read_to_string(&pids).is_ok_and(|text| text.lines().count() == 5) || runwell.exited()
    });
    let started = Reaper(Started::read(&pids));
    assert_eq!(runwell.wait(Duration::from_secs(120)).code(), Some(1), "{}", runwell.stdout());

    let left: Vec<u32> = started.0.iter().filter(|s| s.running()).map(|s| s.pid).collect();
    assert!(left.is_empty(), "processes the timed-out step started are still running: {left:?}");
    assert!(runwell.stdout().ends_with("run 1 failed: step `hangs`: timed out after 1s\n"), "{}", runwell.stdout());
    assert!(!dir.path().join("never-ran").exists(), "the next step ran");
    let store = SqliteStore::open(&dir.path().join("journal.db")).unwrap();
    assert_eq!(store.run(1).unwrap().status, Status::Failed);
    assert_eq!(step_outcomes(&store), [(1, StepOutcome::TimedOut)]);
}

#[test]
fn a_daemon_holding_the_output_pipe_does_not_hang_the_run_and_is_reported() {
    // One daemon stays in the step's process group, one leaves it (setsid);
    // both inherit the step's stdout and keep it open.
    let dir = workspace(
        "```sh {name=in-group}\nsleep 1000 & echo $! > in-group.pid\necho started\n```\n\n\
         ```sh {name=own-session}\nsetsid sleep 1000 & echo $! > own-session.pid\n```\n\n\
         ```sh {name=next}\ntouch next-ran\n```\n",
    );
    let mut runwell = Background::start(dir.path(), "journal.db", true);
    let mut daemons = Reaper(Vec::new());
    for name in ["in-group.pid", "own-session.pid"] {
        let file = dir.path().join(name);
        wait_for(name, Duration::from_secs(60), || std::fs::read_to_string(&file).is_ok_and(|t| t.ends_with('\n')));
        daemons.0.extend(Started::read(&file));
    }
    // Without the drain limit this would wait for the daemons: 1000 s.
    assert!(runwell.wait(Duration::from_secs(120)).success(), "{}", runwell.stdout());
    assert!(dir.path().join("next-ran").exists(), "the step after the daemons ran");
    assert!(daemons.0.iter().all(Started::running), "runwell leaves a step's background processes running");

    let in_group = daemons.0[0].pid;
    let left = format!(
        "step `in-group` left a process running in the background (pid {in_group}); runwell leaves it running — `kill {in_group}` if it should not be"
    );
    let held = |step: &str| {
        format!(
            "a process started by step `{step}` still holds its output open; the step ended 2s after its shell exited, and what that process writes is no longer shown or recorded"
        )
    };
    let stdout = runwell.stdout();
    for note in [&left, &held("in-group"), &held("own-session")] {
        assert!(stdout.contains(&format!("note: {note}\n")), "`{note}` is not on the terminal:\n{stdout}");
    }
    let store = SqliteStore::open(&dir.path().join("journal.db")).unwrap();
    let notes: Vec<String> = store
        .events(1)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Note { text } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(notes, [left, held("in-group"), held("own-session")]);
    assert_eq!(store.run(1).unwrap().status, Status::Succeeded);
}

#[test]
fn a_step_filling_the_journals_disk_with_output_stops_the_run_before_the_next_step() {
    let disk = Disk::tmpfs("1m");
    let dir =
        workspace("```sh {name=floods}\nhead -c 8000000 /dev/zero\n```\n\n```sh {name=marks}\ntouch marker\n```\n");
    let db = disk.path.join("journal.db");
    let db = db.to_str().unwrap();
    let output = runwell(dir.path(), &["run", "demo.md", "fix-it", "--db", db]);
    assert!(!output.status.success());
    assert!(!dir.path().join("marker").exists(), "step 2 ran with its journal full");
    let said = everything(&output);
    assert!(said.contains(&format!("the journal `{db}` is full")), "{}", said.replace('\0', ""));

    disk.grow("16m");
    let status = after_the_fault(dir.path(), db);
    assert_ne!(status, "succeeded");
}

#[test]
fn a_journal_disk_filled_by_a_step_leaves_the_run_interrupted_never_succeeded() {
    let disk = Disk::tmpfs("1m");
    let dir = workspace(&format!(
        "```sh {{name=fills}}\ncat /dev/zero > {}/filler || true\n```\n\n```sh {{name=marks}}\ntouch marker\n```\n",
        disk.path.display()
    ));
    let db = disk.path.join("journal.db");
    let db = db.to_str().unwrap();
    let output = runwell(dir.path(), &["run", "demo.md", "fix-it", "--db", db]);
    // Not even the run's end can be written: runwell cannot finish the run.
    assert_eq!(output.status.code(), Some(2), "{}", everything(&output));
    assert!(!dir.path().join("marker").exists(), "step 2 ran with its journal full");
    let full = format!(
        "the journal `{db}` is full: database or disk is full; free space on its disk, then resume the run with `--from`"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.ends_with(&format!("run 1 failed: the journal cannot be written: {full}\n")), "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("cat: write error: No space left on device\nerror: journal: {full}\n")
    );

    std::fs::remove_file(disk.path.join("filler")).unwrap();
    assert_eq!(after_the_fault(dir.path(), db), "interrupted");
}

/// Why not `mount -o remount,ro`: Linux refuses to make a file system
/// read-only while a file on it is open for writing (EBUSY), and runwell
/// holds its journal open, so a step's remount fails and the journal stays
/// writable. An ext4 shutdown (`EXT4_IOC_SHUTDOWN`, as `xfs_io -c shutdown`
/// does; flag 0 flushes what was written first) makes every later write
/// fail with EIO: a disk that went away. The step issues the ioctl with
/// perl (Debian's `perl-base`, always installed).
///
/// Regression: the terminal showed only the error of finishing the run,
/// which `SQLite` reports, after the failed write, as "database disk image is
/// malformed"; the I/O error that stopped the run was never shown.
#[test]
fn a_journal_whose_disk_fails_mid_run_stops_the_run_and_shows_the_write_error_that_stopped_it() {
    let disk = Disk::ext4();
    let shutdown = format!(
        "perl -e 'open(my $fs, \"<\", $ARGV[0]) or die \"$!\"; my $flags = pack(\"L\", 0); ioctl($fs, 0x8004587d, $flags) or die \"shutdown: $!\"' {}",
        disk.path.display()
    );
    let dir = workspace(&format!(
        "```sh {{name=breaks-the-disk}}\n{shutdown}\n```\n\n```sh {{name=marks}}\ntouch marker\n```\n"
    ));
    let db = disk.path.join("journal.db");
    let db = db.to_str().unwrap();
    let output = runwell(dir.path(), &["run", "demo.md", "fix-it", "--db", db]);
    assert_eq!(output.status.code(), Some(2), "{}", everything(&output));
    assert!(!dir.path().join("marker").exists(), "step 2 ran with its journal unwritable");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.ends_with(&format!(
            "run 1 failed: the journal cannot be written: cannot write the journal `{db}`: disk I/O error; runwell stops rather than run steps unrecorded\n"
        )),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: journal: cannot write the journal `{db}`: ")), "{stderr}");

    disk.remount_image();
    assert_eq!(after_the_fault(dir.path(), db), "interrupted");
    let store = SqliteStore::open(Path::new(db)).unwrap();
    let kinds: Vec<&str> = store.events(1).unwrap().iter().map(|r| r.event.kind()).collect();
    assert!(
        kinds.starts_with(&["run_started", "step_started"]),
        "what was written before the fault is kept: {kinds:?}"
    );
}

#[test]
fn a_runbook_edited_during_the_run_runs_and_records_the_text_it_started_with() {
    let body = "```sh {name=edits}\ncp edited.md demo.md\n```\n\n```sh {name=second}\ntouch original\n```\n";
    let dir = workspace(body);
    let original = runbook(body);
    let edited = original.replace("touch original", "touch hacked");
    std::fs::write(dir.path().join("edited.md"), &edited).unwrap();
    let output = runwell(dir.path(), &["run", "demo.md", "fix-it", "--db", "journal.db"]);
    assert!(output.status.success(), "{}", everything(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("demo.md")).unwrap(), edited, "step 1 edited the runbook");
    assert!(dir.path().join("original").exists(), "the original step 2 ran");
    assert!(!dir.path().join("hacked").exists(), "the edited step 2 ran");
    let store = SqliteStore::open(&dir.path().join("journal.db")).unwrap();
    assert_eq!(store.runbook_content(1).unwrap(), original);
}
