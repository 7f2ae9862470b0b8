//! What SQL, Redis and HTTP steps share: they talk to a server in-process
//! rather than run a program, so runwell itself writes their output (a
//! table, replies, a response), bounds the whole conversation by the step's
//! timeout and stops it when the operator aborts.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{CHUNK, Recorder, Status, StepOutcome, Stream};
use crate::check::human_duration;

/// A step's output on its way to the recorder: buffered, handed over in
/// order in chunks of at most [`CHUNK`] bytes, and counted.
pub(super) struct Output<'a> {
    recorder: &'a mut dyn Recorder,
    pending: Vec<u8>,
    /// The stream `pending` belongs to.
    stream: Stream,
    stdout: u64,
    stderr: u64,
    /// What the step is waiting for (`connecting to db:5432`), for the note
    /// written when it times out.
    pub doing: String,
}

impl<'a> Output<'a> {
    pub fn new(recorder: &'a mut dyn Recorder) -> Output<'a> {
        Output { recorder, pending: Vec::new(), stream: Stream::Stdout, stdout: 0, stderr: 0, doing: String::new() }
    }

    pub fn write(&mut self, stream: Stream, mut bytes: &[u8]) {
        if stream != self.stream {
            self.flush();
            self.stream = stream;
        }
        while !bytes.is_empty() {
            let take = (CHUNK - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == CHUNK {
                self.flush();
            }
        }
    }

    pub fn out(&mut self, text: &str) {
        self.write(Stream::Stdout, text.as_bytes());
    }

    pub fn err(&mut self, text: &str) {
        self.write(Stream::Stderr, text.as_bytes());
    }

    /// Hands what is buffered to the recorder: at a pause in the output, so
    /// that the terminal and the journal show it as it comes.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.stream {
            Stream::Stdout => self.stdout += self.pending.len() as u64,
            Stream::Stderr => self.stderr += self.pending.len() as u64,
        }
        self.recorder.output(self.stream, &self.pending);
        self.pending.clear();
    }
}

/// How a conversation bounded by [`bounded`] ended.
pub(super) enum Ending {
    Done(Status),
    TimedOut,
    Aborted,
}

impl Ending {
    /// The step's status; a timeout leaves its note on the step's stderr.
    pub fn status(self, output: &mut Output<'_>, timeout: Duration) -> Status {
        match self {
            Ending::Done(status) => status,
            Ending::TimedOut => {
                timed_out(output, timeout);
                Status::TimedOut
            }
            Ending::Aborted => Status::Aborted,
        }
    }
}

/// Runs `work` until it is done, `timeout` passes or `abort` is cancelled,
/// whichever comes first; `work` is dropped (its connection closed) in the
/// last two cases.
pub(super) async fn bounded(
    timeout: Duration,
    abort: &CancellationToken,
    work: impl Future<Output = Status>,
) -> Ending {
    tokio::select! {
        biased;
        () = abort.cancelled() => Ending::Aborted,
        status = work => Ending::Done(status),
        () = tokio::time::sleep(timeout) => Ending::TimedOut,
    }
}

/// `timed out after 2s connecting to db:5432`: the note a timed-out step
/// leaves on its stderr, naming what it was waiting for.
fn timed_out(output: &mut Output<'_>, timeout: Duration) {
    let doing = std::mem::take(&mut output.doing);
    let what = if doing.is_empty() { String::new() } else { format!(" {doing}") };
    output.err(&format!("timed out after {}{what}\n", human_duration(timeout)));
}

/// When a step started, on the wall clock and the monotonic one.
pub(super) struct Clock {
    started: jiff::Timestamp,
    at: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock { started: jiff::Timestamp::now(), at: Instant::now() }
    }

    /// The outcome of a step that ended now with `status`, its output
    /// flushed and counted.
    pub fn outcome(self, status: Status, mut output: Output<'_>) -> StepOutcome {
        output.flush();
        StepOutcome {
            status,
            started: self.started,
            finished: jiff::Timestamp::now(),
            duration: self.at.elapsed(),
            stdout_bytes: output.stdout,
            stderr_bytes: output.stderr,
            leftovers: Vec::new(),
            pipe_held_open: false,
        }
    }
}
