//! Before a run starts: everything that can be known up front is checked,
//! so a run is never left half done for a reason visible before its first
//! step — `--option` and `--from` names, choices nobody could make — and
//! the run `--from` resumes is found, with what it learnt.

use super::session::option_matches;
use crate::journal::{self, Event, RunFilter, Store};
use crate::procedure::{Facts, Status as StepStatus};
use crate::runbook::diagnostic::hint;
use crate::runbook::{Plan, Runbook, Step};
use crate::template::{self, Quoting, Values};

/// Why a run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Refused(String),
    #[error("journal: {0}")]
    Journal(#[from] journal::Error),
}

/// What a run was asked for, as far as preparing it goes.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The runbook's path as the operator gave it, for messages.
    pub path: &'a str,
    pub procedure: &'a str,
    /// `--option` answers.
    pub choices: &'a [String],
    /// `--from STEP`.
    pub from: Option<&'a str>,
    /// `--resumes RUN`.
    pub resumes: Option<journal::RunId>,
    pub dry_run: bool,
    /// Whether a choice can be put to someone during the run.
    pub can_ask: bool,
}

/// The steps this run may reach, checking before anything runs that every
/// `--option` names an alternative, that `--from` names a step, and that a
/// choice with no `--option` can be asked on a terminal.
pub fn reachable<'a>(runbook: &'a Runbook, index: usize, request: &Request<'_>) -> Result<Vec<&'a Step>, PrepareError> {
    let mut steps = Vec::new();
    let mut used = vec![false; request.choices.len()];
    let mut unanswered = Vec::new();
    let mut queue = runbook.plan(index);
    while !queue.is_empty() {
        match queue.remove(0) {
            Plan::Step(id) => steps.extend(runbook.step(&id)),
            Plan::Choice(options) => {
                let given = options.iter().copied().find(|&i| {
                    let hit = request.choices.iter().position(|c| option_matches(&runbook.sections[i], c));
                    hit.inspect(|&n| used[n] = true).is_some()
                });
                let holds_from = request.from.and_then(|from| {
                    let at = runbook.steps.iter().position(|s| s.id == from)?;
                    options.iter().copied().find(|&i| runbook.sections[i].all_steps.contains(&at))
                });
                if let Some(chosen) = given.or(holds_from) {
                    queue.splice(0..0, runbook.plan(chosen));
                } else {
                    unanswered.push(options.clone());
                    // Any of them may run: their steps may need values.
                    for option in options {
                        queue.extend(runbook.plan(option));
                    }
                }
            }
        }
    }
    if let Some(n) = used.iter().position(|u| !u) {
        let within = &runbook.sections[index].all_steps;
        let offered: Vec<String> = runbook
            .sections
            .iter()
            .filter(|s| s.option.is_some() && !s.all_steps.is_empty())
            .filter(|s| within.start <= s.all_steps.start && s.all_steps.end <= within.end)
            .map(|s| format!("`{}`", s.option.as_deref().unwrap_or_default()))
            .collect();
        return Err(PrepareError::Refused(format!(
            "`--option {}` names no alternative of this procedure{}",
            request.choices[n],
            if offered.is_empty() { String::new() } else { format!("; it offers {}", offered.join(", ")) }
        )));
    }
    if let Some(from) = request.from
        && !steps.iter().any(|s| s.id == from)
    {
        return Err(PrepareError::Refused(format!(
            "`--from {from}`: procedure `{}` has no step `{from}`{}; `runwell show {} {}` lists its steps",
            request.procedure,
            hint(from, steps.iter().map(|s| s.id.as_str())),
            request.path,
            request.procedure
        )));
    }
    if let Some(options) = unanswered.first()
        && !request.dry_run
        && !request.can_ask
    {
        let labels: Vec<String> = options
            .iter()
            .map(|&i| {
                format!(
                    "`--option {}` ({})",
                    runbook.sections[i].option.as_deref().unwrap_or("?"),
                    runbook.sections[i].title
                )
            })
            .collect();
        return Err(PrepareError::Refused(format!(
            "this procedure offers a choice and there is no terminal to ask on; pass {}",
            labels.join(" or ")
        )));
    }
    Ok(steps)
}

/// The run `--from` continues: `--resumes RUN`, else the latest run of the
/// same procedure that did not succeed.
pub fn resumed(
    store: &dyn Store,
    runbook: &Runbook,
    request: &Request<'_>,
    from: &str,
) -> Result<journal::Run, PrepareError> {
    let runs = store.runs(&RunFilter::default())?;
    let same = |run: &&journal::Run| run.info.runbook == runbook.name && run.info.procedure == request.procedure;
    let found = match request.resumes {
        Some(id) => runs.iter().find(|r| r.id == id).filter(same).ok_or_else(|| {
            PrepareError::Refused(format!(
                "run {id} is not a run of {} › {} in this journal; `runwell runs` lists them",
                runbook.name, request.procedure
            ))
        })?,
        None => runs.iter().filter(same).find(|r| r.status != journal::Status::Succeeded).ok_or_else(|| {
            PrepareError::Refused(format!(
                "`--from {from}` resumes a run that did not succeed, and the journal has none of {} › {}; run the procedure without `--from`",
                runbook.name, request.procedure
            ))
        })?,
    };
    if found.status == journal::Status::Running {
        return Err(PrepareError::Refused(format!("run {} is still running; it cannot be resumed", found.id)));
    }
    Ok(found.clone())
}

/// What the resumed run learnt before it stopped, so `when=` conditions on
/// steps that are not run again still see their results.
pub fn seed_facts(store: &dyn Store, run: journal::RunId, facts: &mut Facts) -> Result<(), PrepareError> {
    let mut ids = std::collections::HashMap::new();
    for record in store.events(run)? {
        match record.event {
            Event::StepStarted { step, id, .. } => {
                ids.insert(step, id);
            }
            Event::StepFinished { step, outcome, exit_code, .. } => {
                let status = match outcome {
                    journal::StepOutcome::Succeeded => StepStatus::Succeeded,
                    journal::StepOutcome::Failed => StepStatus::Failed { exit_code: exit_code.unwrap_or(1) },
                    journal::StepOutcome::TimedOut => StepStatus::TimedOut,
                    journal::StepOutcome::Aborted => StepStatus::Aborted,
                    journal::StepOutcome::Skipped | journal::StepOutcome::DryRun => continue,
                };
                if let Some(id) = ids.get(&step) {
                    facts.status(id, &status);
                }
            }
            Event::CheckResult { name, status, .. } => facts.check(&name, &status),
            _ => {}
        }
    }
    Ok(())
}

/// The variables `steps` (and their rollbacks) use that `values` leave
/// without a value, in the order the steps use them.
pub fn missing_values(steps: &[&Step], values: &Values) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for step in steps.iter().flat_map(|s| std::iter::once(*s).chain(s.rollback.as_deref())) {
        if let Some(text) = step.runnable_text() {
            for name in template::render_display(&text, values, Quoting::None).missing {
                if !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
    }
    missing
}
