//! Shell steps: how a rendered script becomes a `bash` process.
//!
//! # Error semantics
//!
//! The script runs as `bash -o errexit -o nounset -o pipefail -O
//! inherit_errexit -c SCRIPT STEP`: the classic `set -euo pipefail`, given
//! on the command line rather than prepended to the text, so bash's line
//! numbers in errors are the script's own (`drain: line 3: HOST: unbound
//! variable` — the step's name stands in for `$0`). `inherit_errexit` makes
//! a failure inside `$( … )` fail the step too. The one surprise operators
//! meet is `pipefail` with a reader that stops early: `yes | head -1` fails,
//! because `yes` dies of SIGPIPE; write `… | head -1 || true` when meant.
//!
//! A `console` block runs its `$ ` commands (the step model's
//! `Shell::script`) as one script, under the same rules: a failing command
//! stops the block, as it would stop a careful operator.
//!
//! # Why `bash -c`, not a temporary file or stdin
//!
//! - stdin is taken: the step's stdin is `/dev/null` (runwell owns the
//!   terminal for its prompts; a step that asks for input fails fast
//!   instead of hanging), and a script fed on stdin would be eaten by the
//!   first command that reads it (`ssh`, `read`).
//! - a file would put the rendered text on disk and outlive a `kill -9` of
//!   runwell; `-c` leaves nothing to clean up, and what runs is exactly the
//!   text the journal records.
//! - the cost: a command line is readable by every local user through
//!   `/proc/PID/cmdline`, and is limited to [`MAX_SCRIPT`] bytes. So
//!   secrets belong in [`ShellStep::env`], which only the same user and root
//!   can read, and the script refers to them as `"$NAME"`; a rendered
//!   script longer than a command line is refused with a clear error.
//!
//! The environment is runwell's own (PATH, KUBECONFIG … as the operator
//! would have typing by hand) plus the step's `env`, minus `BASH_ENV`: a
//! file sourced before every step would make the runbook behave differently
//! on different machines.
//!
//! # Background processes
//!
//! A step ends when its shell exits. A process it left in the background
//! (`nohup daemon &`) is usually a mistake (the runbooks start services with
//! `systemctl`), but killing one the operator started on purpose would
//! surprise worse; so it is left running and reported in
//! [`StepOutcome::leftovers`](super::StepOutcome). Output it still sends
//! through the step's pipes is read for [`Limits::drain`] at most, then the
//! step is over ([`StepOutcome::pipe_held_open`](super::StepOutcome)). On
//! timeout or abort, by contrast, the whole group is stopped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::supervise::supervise;
use super::{Error, Recorder, StepOutcome};

/// A step's timeout when its block gives none: long enough for a slow
/// `pg_dump` or rolling restart, short enough that a hung step does not
/// hold an incident for an hour.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The longest script a single command-line argument may hold on Linux
/// (`MAX_ARG_STRLEN`, 32 pages), less the terminating NUL.
pub const MAX_SCRIPT: usize = 32 * 4096 - 1;

const BASH: &str = "bash";

/// A rendered shell step, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellStep {
    /// The step's id: `$0` in the script, so bash's errors name the step.
    pub name: String,
    /// The final text: variables already substituted and quoted.
    pub script: String,
    /// The `cwd=` attribute; runwell's own directory when `None`.
    pub cwd: Option<PathBuf>,
    /// Variables added to the inherited environment. Secrets go here, not
    /// into the script text (see the module documentation).
    pub env: Vec<(String, String)>,
    pub limits: Limits,
}

impl ShellStep {
    /// A step running `script` with default limits, no `cwd`, no extra env.
    pub fn new(name: impl Into<String>, script: impl Into<String>) -> ShellStep {
        ShellStep { name: name.into(), script: script.into(), cwd: None, env: Vec::new(), limits: Limits::default() }
    }
}

/// How long a step may take, and how it is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From start to SIGTERM (the `timeout=` attribute).
    pub timeout: Duration,
    /// From SIGTERM to SIGKILL, for the step's processes to clean up.
    pub grace: Duration,
    /// How long output is still read after the shell exited, when something
    /// it left behind keeps a pipe open.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { timeout: DEFAULT_TIMEOUT, grace: Duration::from_secs(5), drain: Duration::from_secs(2) }
    }
}

/// Runs `step` to its end, streaming its output to `recorder`, and stops it
/// (SIGTERM to its process group, [`Limits::grace`], SIGKILL) when it times
/// out or `abort` is cancelled. `Err` only when it could not be started.
///
/// Dropping the returned future kills the step's whole process group.
pub async fn run_shell(
    step: &ShellStep,
    recorder: &mut dyn Recorder,
    abort: &CancellationToken,
) -> Result<StepOutcome, Error> {
    let command = command(step)?;
    supervise(command, &step.name, step.limits, recorder, abort).await
}

/// The `bash` command for `step`, after checking what would make spawning
/// fail with a confusing message (a missing `cwd` reads as "bash: not found").
fn command(step: &ShellStep) -> Result<Command, Error> {
    let name = || step.name.clone();
    if step.script.len() > MAX_SCRIPT {
        return Err(Error::ScriptTooLong { step: name(), len: step.script.len() });
    }
    if step.script.contains('\0') {
        return Err(Error::NulInScript { step: name() });
    }
    let mut command = Command::new(BASH);
    command
        .args(["-o", "errexit", "-o", "nounset", "-o", "pipefail", "-O", "inherit_errexit", "-c"])
        .arg(&step.script)
        .arg(&step.name)
        .env_remove("BASH_ENV")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, not its own session: the step stays off the
        // terminal's foreground group, so Ctrl-C reaches runwell alone,
        // which then stops the step cleanly.
        .process_group(0)
        .kill_on_drop(true);
    for (key, value) in &step.env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(Error::EnvName { step: name(), name: key.clone() });
        }
        if value.contains('\0') {
            return Err(Error::EnvValue { step: name(), name: key.clone() });
        }
        command.env(key, value);
    }
    if let Some(cwd) = &step.cwd {
        if !cwd.is_dir() {
            return Err(Error::Cwd { step: name(), path: cwd.clone() });
        }
        command.current_dir(cwd);
    }
    Ok(command)
}
