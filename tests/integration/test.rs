//! A builder that runs the real `runwell` binary in a temporary directory
//! and compares its output and exit status exactly.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    stdin: Option<String>,
    env: Vec<(String, String)>,
    stdout: Option<String>,
    stderr: Option<String>,
    status: i32,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Self {
        Test {
            dir: tempfile::tempdir().expect("temporary directory"),
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
            stdout: None,
            stderr: None,
            status: 0,
        }
    }

    /// Writes `contents` to `name` (parent directories created) in the test directory.
    pub fn file(self, name: &str, contents: &str) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    #[allow(dead_code)]
    pub fn stdin(mut self, stdin: &str) -> Self {
        self.stdin = Some(stdin.to_owned());
        self
    }

    pub fn stdout(mut self, stdout: &str) -> Self {
        self.stdout = Some(stdout.to_owned());
        self
    }

    pub fn stderr(mut self, stderr: &str) -> Self {
        self.stderr = Some(stderr.to_owned());
        self
    }

    pub fn status(mut self, status: i32) -> Self {
        self.status = status;
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the binary, accepting any exit status.
    pub fn run_any(mut self) -> Output {
        self.status = -1;
        self.run()
    }

    /// Runs the binary like [`Test::run`] and keeps the test directory for
    /// looking at what the run left there.
    #[allow(dead_code)]
    pub fn run_in_place(self) -> Finished {
        let output = self.execute();
        Finished { stdout: output.stdout, stderr: output.stderr, path: self.dir.path().to_owned(), _dir: self.dir }
    }

    /// Runs the binary and checks every expectation that was set.
    pub fn run(self) -> Output {
        self.execute()
    }

    fn execute(&self) -> Output {
        let mut child = runwell()
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runwell starts");
        let mut input = child.stdin.take().unwrap();
        input.write_all(self.stdin.as_deref().unwrap_or_default().as_bytes()).unwrap();
        drop(input);
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
        let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
        let status = output.status.code().expect("runwell exited, not killed");
        assert!(
            self.status == -1 || status == self.status,
            "exit status {status} of runwell {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            self.args
        );
        if let Some(expected) = &self.stdout {
            pretty_assert(expected, &stdout, "stdout");
        }
        if let Some(expected) = &self.stderr {
            pretty_assert(expected, &stderr, "stderr");
        }
        Output { stdout, stderr }
    }
}

/// A finished run whose directory is still there.
#[allow(dead_code)]
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Finished {
    /// The journal the run wrote to `journal.db` in the test directory.
    #[allow(dead_code)]
    pub fn journal(&self) -> runwell::journal::SqliteStore {
        runwell::journal::SqliteStore::open(&self.path.join("journal.db")).expect("the journal opens")
    }
}

/// A `runwell` command with a clean, colourless environment.
pub fn runwell() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runwell"));
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE").env_remove("RUST_LOG");
    command
}

fn pretty_assert(expected: &str, actual: &str, what: &str) {
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected, actual);
        let mut report = String::new();
        for change in diff.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => " ",
            };
            let _ = write!(report, "{sign}{change}");
        }
        panic!("{what} differs (- expected, + actual):\n{report}");
    }
}

/// The repository root, for reading examples and fixtures.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(id, outcome)` of every finished step of journaled run `run`, in order.
#[allow(dead_code)]
pub fn finished_steps(store: &runwell::journal::SqliteStore, run: i64) -> Vec<(String, runwell::journal::StepOutcome)> {
    use runwell::journal::{Event, Store};
    let mut ids = std::collections::HashMap::new();
    let mut done = Vec::new();
    for record in store.events(run).unwrap() {
        match record.event {
            Event::StepStarted { step, id, .. } => {
                ids.insert(step, id);
            }
            Event::StepFinished { step, outcome, .. } => done.push((ids[&step].clone(), outcome)),
            _ => {}
        }
    }
    done
}
