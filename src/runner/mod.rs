//! Running a procedure: the plan walked step by step — choices, `when=`,
//! confirmations, dry-run, every step kind through its `procedure`
//! executor with retries, gates, manual steps, rollback of completed steps
//! in reverse — and journaled as it goes.
//!
//! The runner does not know who answers its questions: an [`Operator`]
//! does — the terminal with its flags (`runwell run`), or a person in the
//! browser (`runwell serve`). Nothing is ever assumed: an operator that
//! cannot ask declines, and the run stops saying how to answer.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::runbook::Safety;

mod prepare;
mod recorder;
mod session;

pub use prepare::{PrepareError, Request, missing_values, reachable, resumed, seed_facts};
pub use recorder::{Journal, JournalRecorder, describe};
pub use session::{Session, check_event, finished, gate_checks, humantime};

/// How a run may proceed: the flags `run`, `start`, `stop` and `restart` share.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub env: Option<String>,
    pub sets: Vec<String>,
    /// Answers `confirm` prompts.
    pub yes: bool,
    /// Answers destructive prompts when it equals the name they ask for.
    pub confirm_destructive: Option<String>,
    /// Acknowledges manual steps.
    pub ack: bool,
    pub dry_run: bool,
    pub db: Option<PathBuf>,
    pub operator: Option<String>,
    /// The most a step may do without a person confirming it first: set
    /// for runs nobody started by hand (an alert's). `None`: no limit.
    pub allow: Option<Safety>,
}

/// Why a run stopped early.
#[derive(Debug)]
pub enum Stop {
    Failed(String),
    Declined(String),
    Aborted,
    /// Stopped between steps because runwell itself is stopping (a server
    /// draining on SIGTERM): nothing failed, and the run can be resumed.
    Interrupted(String),
}

/// A question a run puts to the person running it.
#[derive(Debug, Clone, Copy)]
pub enum Question<'q> {
    /// y/N before a `confirm` step (or a services sequence).
    Confirm { step: u32, prompt: &'q str, shown: &'q str },
    /// Type `expected` (the environment or runbook name) before a
    /// destructive step.
    Destructive { step: u32, prompt: &'q str, shown: &'q str, expected: &'q str },
    /// Pick one alternative: `(label, title)` pairs; the answer is the index.
    Choose { options: &'q [(String, String)] },
    /// Say that a manual step is done.
    Acknowledge { step: u32, item: &'q str },
}

/// How a question was answered, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// What was typed or which flag answered (`--yes`), for the journal.
    pub answer: String,
    pub accepted: bool,
    pub by: String,
}

/// A boxed future, for [`Operator::ask`].
pub type Asking<'a> = Pin<Box<dyn Future<Output = Result<Answered, Stop>> + Send + 'a>>;

/// Whoever answers a run's questions.
pub trait Operator: Send {
    /// The person's name, for the journal.
    fn name(&self) -> &str;

    /// Puts `question` to them. `Err` when it cannot be asked (no terminal,
    /// nobody there): the run stops with that reason.
    fn ask<'a>(&'a mut self, question: Question<'a>) -> Asking<'a>;
}

/// `text` with every line indented by four spaces, for commands and output
/// shown under a step.
pub fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
