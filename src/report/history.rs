//! A run's events gathered per step: when each step started and how it
//! ended, who confirmed or acknowledged it, what its gate's checks said.
//!
//! Steps are numbered by the run (`StepStarted.step`). A confirmation is
//! asked before its step starts, so a declined one belongs to a number that
//! never started; those are kept apart in [`History::unstarted`].

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};

use crate::journal::{Event, Record, StepOutcome};

#[derive(Debug, Default)]
pub(super) struct History<'a> {
    /// Steps that started, in the order they started.
    pub executions: Vec<Execution<'a>>,
    /// What was recorded for step numbers that never started.
    pub unstarted: BTreeMap<u32, Answers<'a>>,
    /// Every check result, in order.
    pub checks: Vec<Check<'a>>,
    pub notes: Vec<&'a str>,
    /// Why the run ended, as its `run_finished` event says.
    pub reason: Option<&'a str>,
    /// When the last event was written.
    pub last_at: Option<Timestamp>,
}

/// One step as it ran.
#[derive(Debug)]
pub(super) struct Execution<'a> {
    pub number: u32,
    pub id: &'a str,
    /// shell, sql, redis, http, checks, manual.
    pub kind: &'a str,
    /// read, write or destructive.
    pub safety: &'a str,
    /// As rendered for the run, secrets masked.
    pub command: &'a str,
    pub seq: u64,
    pub at: Timestamp,
    pub finish: Option<Finish<'a>>,
    pub answers: Answers<'a>,
}

impl Execution<'_> {
    /// Whether the step may have changed something: a write or destructive
    /// step that was not only printed or skipped. Checklist items are not
    /// counted: "tell the incident channel" is as common as a change by hand,
    /// and a runbook cannot say which.
    pub fn changes(&self) -> bool {
        matches!(self.safety, "write" | "destructive")
            && self.kind != "manual"
            && !self.finish.as_ref().is_some_and(|f| matches!(f.outcome, StepOutcome::DryRun | StepOutcome::Skipped))
    }
}

#[derive(Debug)]
pub(super) struct Finish<'a> {
    pub seq: u64,
    pub at: Timestamp,
    pub outcome: StepOutcome,
    pub exit_code: Option<i32>,
    pub duration: SignedDuration,
    pub reason: Option<&'a str>,
}

/// What people and checks said about one step.
#[derive(Debug, Default)]
pub(super) struct Answers<'a> {
    pub confirmations: Vec<Confirmation<'a>>,
    pub acknowledgements: Vec<Acknowledgement<'a>>,
    pub checks: Vec<Check<'a>>,
}

#[derive(Debug, Default)]
pub(super) struct Confirmation<'a> {
    pub prompt: Option<&'a str>,
    pub answer: Option<Answer<'a>>,
}

#[derive(Debug)]
pub(super) struct Answer<'a> {
    /// What was typed (or the flag that answered).
    pub typed: &'a str,
    pub accepted: bool,
    pub by: &'a str,
    pub at: Timestamp,
}

#[derive(Debug)]
pub(super) struct Acknowledgement<'a> {
    pub by: &'a str,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Check<'a> {
    pub seq: u64,
    pub step: Option<u32>,
    pub name: &'a str,
    pub status: &'a str,
    pub observed: &'a str,
    pub reason: Option<&'a str>,
}

impl<'a> History<'a> {
    pub fn gather(events: &'a [Record]) -> Self {
        let mut history = History::default();
        // The latest execution of each step number.
        let mut current: HashMap<u32, usize> = HashMap::new();
        for record in events {
            history.last_at = Some(record.at);
            if let Event::StepStarted { step, id, step_kind, safety, command } = &record.event {
                current.insert(*step, history.executions.len());
                history.executions.push(Execution {
                    number: *step,
                    id,
                    kind: step_kind,
                    safety,
                    command,
                    seq: record.seq,
                    at: record.at,
                    finish: None,
                    answers: history.unstarted.remove(step).unwrap_or_default(),
                });
                continue;
            }
            if let Event::StepFinished { step, outcome, exit_code, duration, reason } = &record.event {
                if let Some(&i) = current.get(step) {
                    history.executions[i].finish = Some(Finish {
                        seq: record.seq,
                        at: record.at,
                        outcome: *outcome,
                        exit_code: *exit_code,
                        duration: *duration,
                        reason: reason.as_deref(),
                    });
                }
                continue;
            }
            match &record.event {
                Event::ConfirmationAsked { step, prompt } => {
                    answers_for(&mut history.executions, &mut history.unstarted, &current, *step)
                        .confirmations
                        .push(Confirmation { prompt: Some(prompt), answer: None });
                }
                Event::ConfirmationAnswered { step, answer, accepted, by } => {
                    let answer = Answer { typed: answer, accepted: *accepted, by, at: record.at };
                    let confirmations =
                        &mut answers_for(&mut history.executions, &mut history.unstarted, &current, *step)
                            .confirmations;
                    match confirmations.last_mut().filter(|c| c.answer.is_none()) {
                        Some(asked) => asked.answer = Some(answer),
                        None => confirmations.push(Confirmation { prompt: None, answer: Some(answer) }),
                    }
                }
                Event::Acknowledged { step, by, .. } => {
                    answers_for(&mut history.executions, &mut history.unstarted, &current, *step)
                        .acknowledgements
                        .push(Acknowledgement { by, at: record.at });
                }
                Event::CheckResult { step, name, status, observed, reason, .. } => {
                    let check =
                        Check { seq: record.seq, step: *step, name, status, observed, reason: reason.as_deref() };
                    if let Some(step) = step {
                        answers_for(&mut history.executions, &mut history.unstarted, &current, *step)
                            .checks
                            .push(check);
                    }
                    history.checks.push(check);
                }
                Event::Note { text } => history.notes.push(text),
                Event::RunFinished { reason, .. } => history.reason = reason.as_deref(),
                _ => {}
            }
        }
        history
    }
}

/// Where what is said about step `step` goes: its latest execution, or the
/// step numbers still waiting to start.
fn answers_for<'h, 'a>(
    executions: &'h mut [Execution<'a>],
    unstarted: &'h mut BTreeMap<u32, Answers<'a>>,
    current: &HashMap<u32, usize>,
    step: u32,
) -> &'h mut Answers<'a> {
    match current.get(&step) {
        Some(&i) => &mut executions[i].answers,
        None => unstarted.entry(step).or_default(),
    }
}
