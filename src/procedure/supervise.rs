//! Watching one step's process from spawn to end: output pumped to the
//! recorder as it arrives, the timeout and the abort signal enforced on the
//! whole process group (SIGTERM, grace, SIGKILL), and what was left behind
//! found afterwards.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::{Error, Limits, Recorder, Status, StepOutcome, Stream};
use crate::process::{GroupGuard, group_members, signal_group};

/// The most output handed to the recorder in one call, and the size of
/// each stream's read buffer: all the output memory a step costs.
pub const CHUNK: usize = 64 * 1024;

/// How often a stopping group is looked at for processes still running.
const STOP_POLL: Duration = Duration::from_millis(20);

/// Why runwell stopped a step.
#[derive(Debug, Clone, Copy)]
enum Stop {
    TimedOut,
    Aborted,
}

/// How the step's shell ended.
enum Ending {
    Exited(ExitStatus),
    Stopped(Stop),
}

#[derive(Debug, Default)]
struct Counts {
    stdout: u64,
    stderr: u64,
}

pub(super) async fn supervise(
    mut command: Command,
    step: &str,
    limits: Limits,
    recorder: &mut dyn Recorder,
    abort: &CancellationToken,
) -> Result<StepOutcome, Error> {
    let wait_error = |source| Error::Wait { step: step.to_owned(), source };
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    if abort.is_cancelled() {
        // Ctrl-C between steps: the next one does not start at all.
        return Ok(StepOutcome {
            status: Status::Aborted,
            started,
            finished: started,
            duration: Duration::ZERO,
            stdout_bytes: 0,
            stderr_bytes: 0,
            leftovers: Vec::new(),
            pipe_held_open: false,
        });
    }
    let mut child =
        command.spawn().map_err(|source| Error::Spawn { step: step.to_owned(), program: "bash", source })?;
    // Declared after `child` so it drops first: the group is killed while
    // the leader is still unreaped, so its pid cannot have been reused.
    let mut guard = GroupGuard::new(child.id());
    let group = guard.group().ok_or_else(|| wait_error(std::io::Error::other("the step exited before it started")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(wait_error(std::io::Error::other("the step's output pipes are missing")));
    };
    let mut counts = Counts::default();
    let (ending, pipe_held_open) = {
        let pump = pump(stdout, stderr, recorder, &mut counts);
        tokio::pin!(pump);
        let control = control(&mut child, group, limits, abort);
        tokio::pin!(control);
        tokio::select! {
            ending = &mut control => {
                let ending = ending.map_err(wait_error)?;
                // Output still buffered in the pipes, or from a leftover
                // that holds them open: read it, but not forever.
                (ending, timeout(limits.drain, &mut pump).await.is_err())
            }
            () = &mut pump => (control.await.map_err(wait_error)?, false),
        }
    };
    // A stopped group is empty or was sent SIGKILL; what an exited step left
    // running stays, on purpose (see `shell`). Either way the guard stands
    // down so that the group's id, once free, is never signalled.
    guard.disarm();
    let (status, leftovers) = match ending {
        Ending::Exited(exit) => (status_of(exit), group_members(group)),
        Ending::Stopped(Stop::TimedOut) => (Status::TimedOut, Vec::new()),
        Ending::Stopped(Stop::Aborted) => (Status::Aborted, Vec::new()),
    };
    Ok(StepOutcome {
        status,
        started,
        finished: jiff::Timestamp::now(),
        duration: clock.elapsed(),
        stdout_bytes: counts.stdout,
        stderr_bytes: counts.stderr,
        leftovers,
        pipe_held_open,
    })
}

/// Waits for the shell to exit, or stops the whole group when the timeout
/// passes or `abort` is cancelled: SIGTERM, then until the group is empty
/// or the grace is over, then SIGKILL to whatever is left.
async fn control(child: &mut Child, group: Pid, limits: Limits, abort: &CancellationToken) -> std::io::Result<Ending> {
    let stop = tokio::select! {
        biased;
        exit = child.wait() => return Ok(Ending::Exited(exit?)),
        () = abort.cancelled() => Stop::Aborted,
        () = sleep(limits.timeout) => Stop::TimedOut,
    };
    signal_group(group, Signal::TERM);
    let kill_at = Instant::now() + limits.grace;
    let reaped = tokio::select! {
        exit = child.wait() => { exit?; true }
        () = sleep_until(kill_at) => false,
    };
    // The shell is gone or out of time; its children may still be cleaning up.
    while !group_members(group).is_empty() {
        if Instant::now() >= kill_at {
            signal_group(group, Signal::KILL);
            break;
        }
        sleep(STOP_POLL.min(kill_at.saturating_duration_since(Instant::now()))).await;
    }
    if !reaped {
        // The shell outlived the grace: it was killed with its group above;
        // killed again here in case /proc could not be read, safe because
        // the unreaped leader keeps the group's id from being reused.
        signal_group(group, Signal::KILL);
        child.wait().await?;
    }
    Ok(Ending::Stopped(stop))
}

/// Reads both streams until each reaches its end, handing every chunk to
/// `recorder` as it arrives. Memory: one [`CHUNK`] buffer per stream.
async fn pump(
    mut stdout: impl AsyncRead + Unpin,
    mut stderr: impl AsyncRead + Unpin,
    recorder: &mut dyn Recorder,
    counts: &mut Counts,
) {
    let mut out_buffer = vec![0u8; CHUNK];
    let mut err_buffer = vec![0u8; CHUNK];
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        // Both reads are cancel-safe: the one not chosen has read nothing.
        tokio::select! {
            read = stdout.read(&mut out_buffer), if out_open => match read {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => {
                    counts.stdout += n as u64;
                    recorder.output(Stream::Stdout, &out_buffer[..n]);
                }
            },
            read = stderr.read(&mut err_buffer), if err_open => match read {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => {
                    counts.stderr += n as u64;
                    recorder.output(Stream::Stderr, &err_buffer[..n]);
                }
            },
        }
    }
}

fn status_of(exit: ExitStatus) -> Status {
    match (exit.code(), exit.signal()) {
        (Some(0), _) => Status::Succeeded,
        (Some(exit_code), _) => Status::Failed { exit_code },
        (None, Some(signal)) => Status::Killed { signal },
        // Neither a code nor a signal cannot happen for a waited-for child.
        (None, None) => Status::Failed { exit_code: -1 },
    }
}
