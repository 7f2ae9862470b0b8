//! "The procedure as it ran": the procedure's Markdown from the runbook text
//! the run read, its headings moved under the report's, and beneath each
//! step's block (after its closing fence or checklist item) what became of
//! it, as `result.rs` words it.
//!
//! The text is copied, not re-rendered (`splice.rs`). Journal steps are
//! matched to the runbook by step id, rollbacks by `<id>.rollback`. This
//! is also where a step that did not run learns why: an alternative the run
//! did not take, a confirmation declined before it started, a run still
//! going. What the journal holds and the text has no place for is returned,
//! to be shown after it.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;

use super::Tally;
use super::history::{Answers, Execution, History};
use super::markdown::{code, fenced, prose};
use super::result::{
    Context, Fate, answer_paragraphs, execution_paragraphs, execution_word, fate_paragraphs, fate_word, info_for, quote,
};
use super::splice::{Edit, apply, heading_edit, insert_after, line_start};
use crate::journal::Status;
use crate::runbook::{Plan, Runbook, Step};

/// The level the procedure's heading gets: under the report's `##` sections.
const PROCEDURE_LEVEL: i32 = 3;

/// Executions by step id.
type ById<'h> = HashMap<&'h str, Vec<&'h Execution<'h>>>;

/// The procedure `index` of `runbook` (parsed from `source`) with results
/// beneath its steps. Executions it could not place are returned, for
/// [`recorded_steps`].
pub(super) fn section<'h>(
    cx: &Context<'h>,
    runbook: &'h Runbook,
    source: &str,
    index: usize,
    tally: &mut Tally,
) -> (String, Vec<Leftover<'h>>) {
    let history = cx.history;
    let mut by_id: ById<'h> = HashMap::new();
    for execution in &history.executions {
        by_id.entry(execution.id).or_default().push(execution);
    }
    let chosen = chosen_options(runbook, index, &by_id, &history.notes);
    let declined = declined_steps(cx, runbook, index, &chosen);
    let procedure = &runbook.sections[index];
    // The procedure's text runs to the next heading at its level or above.
    let next = (index + 1..runbook.sections.len()).find(|&j| runbook.sections[j].level <= procedure.level);
    let end = next.map_or(source.len(), |j| line_start(source, runbook.sections[j].heading.start));
    let range = line_start(source, procedure.heading.start)..end;
    let inside = |span: &Range<usize>| range.start <= span.start && span.end <= range.end;
    let shift = PROCEDURE_LEVEL - i32::from(procedure.level);

    let mut edits: Vec<Edit> = Vec::new();
    let mut placed: HashSet<&str> = HashSet::new();
    for k in index..next.unwrap_or(runbook.sections.len()) {
        let section = &runbook.sections[k];
        if !inside(&section.heading) {
            continue;
        }
        let level = (i32::from(section.level) + shift).clamp(1, 6);
        edits.push(heading_edit(source, section.heading.clone(), level));
        if section.option.is_some()
            && let Some(&taken) = section.parent.and_then(|parent| chosen.get(&parent))
        {
            let note = if taken == k {
                "*The run took this alternative.*".to_owned()
            } else {
                format!("*Not chosen: the run took “{}”.*", prose(&runbook.sections[taken].title))
            };
            edits.push(insert_after(source, section.heading.clone(), &quote(&[note])));
        }
    }
    for step in &runbook.steps[procedure.all_steps.clone()] {
        let fate = if let Some(executions) = by_id.get(step.id.as_str()) {
            placed.insert(step.id.as_str());
            Fate::Ran(executions)
        } else if let Some((_, answers)) = declined.get(step.id.as_str()) {
            Fate::Declined(answers)
        } else if let Some(taken) = not_chosen(runbook, step, index, &chosen) {
            Fate::NotChosen(&runbook.sections[taken].title)
        } else if cx.run.status == Status::Running {
            Fate::NotReached
        } else {
            Fate::NotRun
        };
        tally.add(fate_word(cx, &fate));
        let rollbacks = by_id.get(format!("{}.rollback", step.id).as_str());
        for execution in rollbacks.into_iter().flatten() {
            placed.insert(execution.id);
        }
        let mut paragraphs = fate_paragraphs(cx, &code(&step.id), step, &fate);
        let rollback_inside = step.rollback.as_ref().filter(|r| inside(&r.span));
        match (rollback_inside, rollbacks) {
            (Some(rollback), _) => {
                let title = format!("Rollback of {}", code(&step.id));
                // Without a run of its own, a rollback shares the fate of a
                // step that never ran; after one that ran, it was not run.
                let fate = match (rollbacks, &fate) {
                    (Some(rollbacks), _) => Fate::Ran(rollbacks.as_slice()),
                    (None, Fate::NotChosen(taken)) => Fate::NotChosen(taken),
                    (None, Fate::NotReached) => Fate::NotReached,
                    (None, _) => Fate::NotRun,
                };
                let text = quote(&fate_paragraphs(cx, &title, rollback, &fate));
                edits.push(insert_after(source, rollback.span.clone(), &text));
            }
            (None, Some(rollbacks)) => {
                let title = format!("Rollback of {}", code(&step.id));
                for execution in rollbacks {
                    paragraphs.extend(execution_paragraphs(cx, &title, execution, None));
                }
            }
            (None, None) => {}
        }
        if inside(&step.span) {
            edits.push(insert_after(source, step.span.clone(), &quote(&paragraphs)));
        }
    }

    let mut markdown = apply(source, range, edits);
    if !markdown.ends_with('\n') {
        markdown.push('\n');
    }
    let declined_numbers: HashSet<u32> = declined.values().map(|(number, _)| *number).collect();
    let mut leftovers: Vec<Leftover<'h>> =
        history.executions.iter().filter(|e| !placed.contains(e.id)).map(Leftover::Started).collect();
    leftovers.extend(
        history
            .unstarted
            .iter()
            .filter(|(number, _)| !declined_numbers.contains(number))
            .map(|(number, answers)| Leftover::Unstarted(*number, answers)),
    );
    (markdown, leftovers)
}

/// Something the journal recorded that the procedure's text has no place for.
pub(super) enum Leftover<'h> {
    Started(&'h Execution<'h>),
    /// A step number asked about that never started and could not be named.
    Unstarted(u32, &'h Answers<'h>),
}

/// Recorded steps shown on their own: when the stored runbook has no such
/// procedure, or for steps its text does not hold.
pub(super) fn recorded_steps(cx: &Context<'_>, leftovers: &[Leftover<'_>], tally: &mut Tally) -> String {
    let mut out = String::new();
    for leftover in leftovers {
        match leftover {
            Leftover::Started(execution) => {
                let title = code(execution.id);
                let _ = writeln!(
                    out,
                    "**Step {} {title}** ({}, {})\n",
                    execution.number,
                    prose(execution.kind),
                    prose(execution.safety)
                );
                if !execution.command.is_empty() {
                    out.push_str(&fenced(execution.command, info_for(execution.kind)));
                    out.push('\n');
                }
                tally.add(execution_word(cx, execution));
                out.push_str(&quote(&execution_paragraphs(cx, &title, execution, None)));
            }
            Leftover::Unstarted(number, answers) => {
                let _ = writeln!(out, "**Step {number}**, which did not start\n");
                out.push_str(&quote(&answer_paragraphs(answers)));
            }
        }
        out.push('\n');
    }
    out
}

/// Everything recorded, for a runbook text without the procedure.
pub(super) fn all_recorded<'h>(history: &'h History<'h>) -> Vec<Leftover<'h>> {
    let started = history.executions.iter().map(Leftover::Started);
    started.chain(history.unstarted.iter().map(|(number, answers)| Leftover::Unstarted(*number, answers))).collect()
}

/// For each parent section offering alternatives, the one the run took:
/// the alternative with a step that started, else one a note names.
fn chosen_options(runbook: &Runbook, index: usize, by_id: &ById<'_>, notes: &[&str]) -> HashMap<usize, usize> {
    let level = runbook.sections[index].level;
    let mut chosen = HashMap::new();
    for k in index + 1..runbook.sections.len() {
        let section = &runbook.sections[k];
        if section.level <= level {
            break;
        }
        let Some(parent) = section.parent.filter(|_| section.option.is_some()) else { continue };
        let ran = runbook.steps[section.all_steps.clone()].iter().any(|s| by_id.contains_key(s.id.as_str()));
        if ran {
            chosen.insert(parent, k);
        } else if notes.iter().any(|note| names_option(note, section)) {
            chosen.entry(parent).or_insert(k);
        }
    }
    chosen
}

/// Whether a note names the alternative: its title, its id, or "option A".
fn names_option(note: &str, section: &crate::runbook::Section) -> bool {
    let note = note.to_lowercase();
    if note.contains(&section.title.to_lowercase()) || note.contains(&section.id) {
        return true;
    }
    let Some(label) = &section.option else { return false };
    let word = format!("option {}", label.to_lowercase());
    note.match_indices(&word).any(|(at, _)| {
        let after = note[at + word.len()..].chars().next();
        let before = note[..at].chars().next_back();
        !after.is_some_and(char::is_alphanumeric) && !before.is_some_and(char::is_alphanumeric)
    })
}

/// The alternative taken instead of the one `step` is in, if any.
fn not_chosen(runbook: &Runbook, step: &Step, procedure: usize, chosen: &HashMap<usize, usize>) -> Option<usize> {
    let mut at = Some(step.section);
    while let Some(k) = at.filter(|&k| k != procedure) {
        let section = &runbook.sections[k];
        if section.option.is_some()
            && let Some(&taken) = section.parent.and_then(|parent| chosen.get(&parent))
            && taken != k
        {
            return Some(taken);
        }
        at = section.parent;
    }
    None
}

/// Steps asked about that never started (a declined confirmation), named
/// by their place in the procedure's plan — only when every started step
/// sits at its planned number and the run did not fail (rollbacks, which
/// run after a failure, are numbered outside the plan).
fn declined_steps<'h>(
    cx: &Context<'h>,
    runbook: &'h Runbook,
    index: usize,
    chosen: &HashMap<usize, usize>,
) -> HashMap<&'h str, (u32, &'h Answers<'h>)> {
    let mut declined = HashMap::new();
    if cx.run.status == Status::Failed || cx.history.unstarted.is_empty() {
        return declined;
    }
    let plan = planned(runbook, index, chosen);
    let at = |number: u32| number.checked_sub(1).and_then(|i| plan.get(i as usize));
    let consistent = cx.history.executions.iter().all(|e| at(e.number).is_some_and(|s| s.id == e.id));
    if !consistent {
        return declined;
    }
    for (&number, answers) in &cx.history.unstarted {
        if let Some(step) = at(number) {
            declined.insert(step.id.as_str(), (number, answers));
        }
    }
    declined
}

/// The steps of a procedure in the order a run numbers them, alternatives
/// resolved to the one taken; it ends at a choice no one made.
fn planned<'r>(runbook: &'r Runbook, index: usize, chosen: &HashMap<usize, usize>) -> Vec<&'r Step> {
    let mut steps = Vec::new();
    for item in runbook.plan(index) {
        match item {
            Plan::Step(id) => steps.extend(runbook.step(&id)),
            Plan::Choice(options) => {
                let parent = options.first().and_then(|&o| runbook.sections[o].parent);
                match parent.and_then(|p| chosen.get(&p)).filter(|taken| options.contains(taken)) {
                    Some(&taken) => steps.extend(planned(runbook, taken, chosen)),
                    None => break,
                }
            }
        }
    }
    steps
}
