//! Where a running step's output goes: the terminal as it comes, and the
//! journal, secrets masked in both.

use std::io::Write;

use crate::journal::{self, OutputCapture, SqliteStore, Stream};
use crate::procedure::{self, Recorder};
use crate::template;

/// Streams a step's output to the terminal and the journal. Writing the
/// journal cannot fail a running step; the first failure is kept and stops
/// the run before the next step.
pub(super) struct JournalRecorder<'a> {
    store: &'a mut SqliteStore,
    run: journal::RunId,
    /// Masks secret values a step prints. Per chunk: a value split across
    /// two chunks is not caught (noted for the next change).
    redactor: template::Redactor,
    stdout: OutputCapture,
    stderr: OutputCapture,
    failure: Option<journal::Error>,
}

impl<'a> JournalRecorder<'a> {
    pub(super) fn new(
        store: &'a mut SqliteStore,
        run: journal::RunId,
        step: u32,
        redactor: template::Redactor,
    ) -> Self {
        JournalRecorder {
            store,
            run,
            redactor,
            stdout: OutputCapture::new(step, Stream::Stdout, journal::DEFAULT_CAP),
            stderr: OutputCapture::new(step, Stream::Stderr, journal::DEFAULT_CAP),
            failure: None,
        }
    }

    pub(super) fn finish(self) -> Option<journal::Error> {
        let JournalRecorder { store, run, stdout, stderr, mut failure, .. } = self;
        for capture in [stdout, stderr] {
            if let Err(error) = capture.finish(store, run) {
                failure.get_or_insert(error);
            }
        }
        failure
    }
}

impl Recorder for JournalRecorder<'_> {
    fn output(&mut self, stream: procedure::Stream, bytes: &[u8]) {
        let masked;
        let bytes = if self.redactor.is_empty() {
            bytes
        } else {
            masked = self.redactor.redact(&String::from_utf8_lossy(bytes));
            masked.as_bytes()
        };
        let capture = match stream {
            procedure::Stream::Stdout => {
                let _ = std::io::stdout().write_all(bytes);
                &mut self.stdout
            }
            procedure::Stream::Stderr => {
                let _ = std::io::stderr().write_all(bytes);
                &mut self.stderr
            }
        };
        if self.failure.is_none()
            && let Err(error) = capture.push(self.store, self.run, bytes)
        {
            self.failure = Some(error);
        }
    }
}
