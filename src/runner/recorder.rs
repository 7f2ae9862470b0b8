//! Where a running step's output goes: the terminal as it comes, and the
//! journal, secrets masked in both.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use super::Stop;
use crate::journal::{self, Event, OutputCapture, Store, Stream};
use crate::procedure::{self, Recorder};
use crate::template;

/// The journal of one run, shared by the steps running at once (a tier of
/// services): each append takes the lock for one transaction. Any `Store`
/// will do; the runner knows nothing of the database behind it.
pub struct Journal {
    store: Mutex<Box<dyn Store>>,
    pub run: journal::RunId,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("run", &self.run).finish_non_exhaustive()
    }
}

impl Journal {
    pub fn new(store: impl Store + 'static, run: journal::RunId) -> Journal {
        Journal { store: Mutex::new(Box::new(store)), run }
    }

    /// Appends `events`. A journal that cannot be written stops the run:
    /// a step never runs unrecorded.
    pub fn record(&self, events: &[Event]) -> Result<(), Stop> {
        self.store()
            .append(self.run, events)
            .map(|_| ())
            .map_err(|e| Stop::Failed(format!("the journal cannot be written: {e}")))
    }

    pub fn finish(&self, status: journal::Status, reason: Option<&str>) -> Result<(), journal::Error> {
        self.store().finish_run(self.run, status, reason)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
        // A panic while appending leaves nothing half-done in SQLite (each
        // append is one transaction), so the store is still usable.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Streams a step's output to the terminal and the journal. Writing the
/// journal cannot fail a running step; the first failure is kept and stops
/// the run before the next step.
pub struct JournalRecorder<'a> {
    journal: &'a Journal,
    /// Mask secret values a step prints, even split across chunks.
    masks: [template::StreamRedactor; 2],
    stdout: OutputCapture,
    stderr: OutputCapture,
    /// Put before each line on the terminal when steps run side by side.
    prefix: Option<String>,
    at_line_start: [bool; 2],
    /// Retries the step has: a failed attempt before the last is noted.
    retries: u32,
    /// Whether output is shown on this process's terminal too.
    echo: bool,
    /// On a terminal: the step's name and elapsed time while it runs.
    spinner: Option<indicatif::ProgressBar>,
    /// The first journal write that failed, as the run will report it.
    failure: Option<String>,
}

impl std::fmt::Debug for JournalRecorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalRecorder").field("run", &self.journal.run).finish_non_exhaustive()
    }
}

impl<'a> JournalRecorder<'a> {
    pub fn new(journal: &'a Journal, step: u32, redactor: &template::Redactor) -> Self {
        JournalRecorder {
            journal,
            masks: [redactor.stream(), redactor.stream()],
            stdout: OutputCapture::new(step, Stream::Stdout, journal::DEFAULT_CAP),
            stderr: OutputCapture::new(step, Stream::Stderr, journal::DEFAULT_CAP),
            prefix: None,
            at_line_start: [true; 2],
            retries: 0,
            echo: true,
            spinner: None,
            failure: None,
        }
    }

    /// Terminal lines start with `[prefix] `.
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.prefix = Some(format!("[{prefix}] "));
        self
    }

    /// Shows a spinner with `label` and the elapsed time while the step
    /// runs, when stdout is a terminal.
    #[must_use]
    pub fn spinning(mut self, label: &str) -> Self {
        if self.echo && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            let bar = indicatif::ProgressBar::new_spinner().with_message(label.to_owned());
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            self.spinner = Some(bar);
        }
        self
    }

    /// Shows the output on this process's terminal (the default) or not.
    #[must_use]
    pub fn echoing(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// The step runs again up to `count` times when it fails.
    #[must_use]
    pub fn retrying(mut self, count: u32) -> Self {
        self.retries = count;
        self
    }

    pub fn finish(mut self) -> Option<String> {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
        for stream in [procedure::Stream::Stdout, procedure::Stream::Stderr] {
            let held = self.masks[stream as usize].finish();
            self.write(stream, &held);
        }
        let JournalRecorder { journal, stdout, stderr, mut failure, .. } = self;
        let mut store = journal.store();
        for capture in [stdout, stderr] {
            if let Err(error) = capture.finish(&mut **store, journal.run) {
                failure.get_or_insert_with(|| format!("the journal cannot be written: {error}"));
            }
        }
        failure
    }

    /// Shows and journals bytes already masked.
    fn write(&mut self, stream: procedure::Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let capture = match stream {
            procedure::Stream::Stdout => &mut self.stdout,
            procedure::Stream::Stderr => &mut self.stderr,
        };
        if self.failure.is_none()
            && let Err(error) = capture.push(&mut **self.journal.store(), self.journal.run, bytes)
        {
            self.failure = Some(format!("the journal cannot be written: {error}"));
        }
        if !self.echo {
            return;
        }
        let shown = match &self.prefix {
            None => std::borrow::Cow::Borrowed(bytes),
            Some(prefix) => prefix_lines(bytes, prefix.as_bytes(), &mut self.at_line_start[stream as usize]).into(),
        };
        let show = || match stream {
            procedure::Stream::Stdout => std::io::stdout().write_all(&shown),
            procedure::Stream::Stderr => std::io::stderr().write_all(&shown),
        };
        let _ = match &self.spinner {
            Some(bar) => bar.suspend(show),
            None => show(),
        };
    }

    fn note(&mut self, text: String) {
        if self.echo {
            let _ = writeln!(anstream::stdout(), "  {text}");
        }
        if let Err(Stop::Failed(why)) = self.journal.record(&[Event::Note { text }]) {
            self.failure.get_or_insert(why);
        }
    }
}

impl Recorder for JournalRecorder<'_> {
    fn output(&mut self, stream: procedure::Stream, bytes: &[u8]) {
        let masked = self.masks[stream as usize].push(bytes);
        self.write(stream, &masked);
    }

    fn attempt_finished(&mut self, number: u32, outcome: &procedure::StepOutcome) {
        if number <= self.retries && !outcome.status.succeeded() && outcome.status != procedure::Status::Aborted {
            self.note(format!("attempt {number} {}; trying again", describe(&outcome.status)));
        }
    }
}

/// `bytes` with `prefix` at the start of every line; `at_line_start` carries
/// across chunks.
fn prefix_lines(bytes: &[u8], prefix: &[u8], at_line_start: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + prefix.len());
    for &byte in bytes {
        if *at_line_start {
            out.extend_from_slice(prefix);
        }
        out.push(byte);
        *at_line_start = byte == b'\n';
    }
    out
}

/// How a run of a step ended, in words: `failed (exit status 2)`.
pub fn describe(status: &procedure::Status) -> String {
    match status {
        procedure::Status::Succeeded => "succeeded".to_owned(),
        procedure::Status::Failed { exit_code } => format!("failed (exit status {exit_code})"),
        procedure::Status::TimedOut => "timed out".to_owned(),
        procedure::Status::Killed { signal } => format!("was killed by signal {signal}"),
        procedure::Status::Aborted => "was stopped by the operator".to_owned(),
        procedure::Status::Error { message } => format!("failed ({message})"),
    }
}
