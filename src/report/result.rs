//! What became of a step, in words beneath it: the headline (outcome, exit
//! code, duration, UTC start), the command as run when it differs from the
//! text, who confirmed or acknowledged it, a gate's checks, and the output
//! of each stream in a fence its text cannot close.

use std::fmt::Write as _;

use super::Outputs;
use super::history::{Answers, Execution, History};
use super::markdown::{code, duration, fenced, output_text, prefixed, prose, time};
use crate::journal::{Run, Status, StepOutcome, Stream};
use crate::runbook::{Step, StepKind};

/// What the section renderer reads besides the runbook.
pub(super) struct Context<'a> {
    pub run: &'a Run,
    pub history: &'a History<'a>,
    pub outputs: &'a Outputs,
}

/// What became of one step of the procedure.
pub(super) enum Fate<'h> {
    Ran(&'h [&'h Execution<'h>]),
    /// Asked and not confirmed: it never started.
    Declined(&'h Answers<'h>),
    /// In an alternative the run did not take; the title of the one it took.
    NotChosen(&'h str),
    /// The run is still going.
    NotReached,
    NotRun,
}

/// The word the summary counts a step under.
pub(super) fn fate_word(cx: &Context<'_>, fate: &Fate<'_>) -> &'static str {
    match fate {
        Fate::Ran(executions) => executions.last().map_or("not run", |e| execution_word(cx, e)),
        Fate::Declined(_) => "not confirmed",
        Fate::NotChosen(_) => "not chosen",
        Fate::NotReached => "not reached yet",
        Fate::NotRun => "not run",
    }
}

pub(super) fn execution_word(cx: &Context<'_>, execution: &Execution<'_>) -> &'static str {
    match &execution.finish {
        Some(finish) => outcome_word(execution.kind, finish.outcome),
        None if cx.run.status == Status::Running => "running",
        None => "did not finish",
    }
}

/// How a step of `kind` ended, in a word or three: a checklist item is
/// done, a gate passed.
pub(super) fn outcome_word(kind: &str, outcome: StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Succeeded if kind == "manual" => "done",
        StepOutcome::Succeeded if kind == "checks" => "passed",
        StepOutcome::Succeeded => "succeeded",
        StepOutcome::Failed => "failed",
        StepOutcome::TimedOut => "timed out",
        StepOutcome::Skipped => "skipped",
        StepOutcome::Aborted => "aborted",
        StepOutcome::DryRun => "printed, not run (dry run)",
    }
}

/// The paragraphs beneath a step of the runbook (`written`), titled `title`.
pub(super) fn fate_paragraphs(cx: &Context<'_>, title: &str, written: &Step, fate: &Fate<'_>) -> Vec<String> {
    match fate {
        Fate::Ran(executions) => {
            executions.iter().flat_map(|e| execution_paragraphs(cx, title, e, Some(written))).collect()
        }
        Fate::Declined(answers) => {
            let mut paragraphs = vec![format!("**{title} not run**: it was not confirmed.")];
            paragraphs.extend(answer_paragraphs(answers));
            paragraphs
        }
        Fate::NotChosen(taken) => vec![format!("**{title} not chosen**: the run took “{}”.", prose(taken))],
        Fate::NotReached => vec![format!("**{title} not reached yet**: the run is in progress.")],
        Fate::NotRun => vec![format!("**{title} not run**")],
    }
}

/// What one execution of a step did: the headline, the command as run when
/// it differs from the text above, confirmations, acknowledgements, the
/// gate's checks and the output.
pub(super) fn execution_paragraphs(
    cx: &Context<'_>,
    title: &str,
    execution: &Execution<'_>,
    written: Option<&Step>,
) -> Vec<String> {
    let mut headline = match &execution.finish {
        None if cx.run.status == Status::Running => format!("**{title} running**: in progress as this report was made"),
        None => format!("**{title} did not finish**: no result was recorded before the run ended"),
        Some(finish) => {
            let mut line = format!("**{title} {}**", outcome_word(execution.kind, finish.outcome));
            let exit_status = finish.exit_code.map(|c| format!("exit status {c}"));
            if let Some(reason) = finish.reason.filter(|r| Some(*r) != exit_status.as_deref()) {
                let _ = write!(line, ": {}", prose(reason));
            }
            if let Some(exit) = finish.exit_code {
                let _ = write!(line, " · exit code {exit}");
            }
            if !finish.duration.is_zero() {
                let _ = write!(line, " · took {}", duration(finish.duration));
            }
            line
        }
    };
    let _ = write!(headline, " · started {} UTC", time(execution.at));
    let mut paragraphs = vec![headline];
    if let Some(written) = written
        && let Some(text) = runnable(written)
        && !matches!(execution.kind, "manual" | "checks")
        && text.trim() != execution.command.trim()
    {
        let printed = execution.finish.as_ref().is_some_and(|f| f.outcome == StepOutcome::DryRun);
        let label = if printed { "Printed as:" } else { "Run as:" };
        paragraphs.push(format!("{label}\n\n{}", fenced(execution.command, info_for(execution.kind)).trim_end()));
    }
    paragraphs.extend(answer_paragraphs(&execution.answers));
    paragraphs.extend(output_paragraphs(cx, execution));
    paragraphs
}

/// Confirmations, acknowledgements and check results.
pub(super) fn answer_paragraphs(answers: &Answers<'_>) -> Vec<String> {
    let mut paragraphs = Vec::new();
    for confirmation in &answers.confirmations {
        let answer = match &confirmation.answer {
            Some(answer) => format!(
                "{} by **{}** ({}) at {} UTC.",
                if answer.accepted { "confirmed" } else { "declined" },
                prose(answer.by),
                code(answer.typed),
                time(answer.at)
            ),
            None => "no answer was recorded.".to_owned(),
        };
        paragraphs.push(match confirmation.prompt {
            Some(prompt) => format!("Asked: “{}” — {answer}", prose(prompt)),
            None => capitalized(&answer),
        });
    }
    for acknowledgement in &answers.acknowledgements {
        paragraphs.push(format!(
            "Acknowledged by **{}** at {} UTC.",
            prose(acknowledgement.by),
            time(acknowledgement.at)
        ));
    }
    if !answers.checks.is_empty() {
        paragraphs.push(super::checks::table(&answers.checks).trim_end().to_owned());
    }
    paragraphs
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Each stream the step wrote to, labelled, in a fence its text cannot close.
fn output_paragraphs(cx: &Context<'_>, execution: &Execution<'_>) -> Vec<String> {
    let mut paragraphs = Vec::new();
    for stream in [Stream::Stdout, Stream::Stderr] {
        let Some(output) = cx.outputs.get(execution.number, stream).filter(|o| o.total() > 0) else { continue };
        let name = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        let mut text = output_text(&output.head);
        let label = if output.dropped > 0 {
            let note = format!("{} bytes not recorded between head and tail", output.dropped);
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            let _ = writeln!(text, "[… {note} …]");
            format!("{name} ({note}):")
        } else {
            format!("{name}:")
        };
        text.push_str(&output_text(&output.tail));
        paragraphs.push(label);
        paragraphs.push(fenced(&text, "text").trim_end().to_owned());
    }
    let runs_text = !matches!(execution.kind, "manual" | "checks");
    let printed = execution.finish.as_ref().is_some_and(|f| f.outcome == StepOutcome::DryRun);
    if paragraphs.is_empty() && runs_text && !printed && execution.finish.is_some() {
        paragraphs.push("No output.".to_owned());
    }
    paragraphs
}

/// The text of a step that runs, as written.
fn runnable(step: &Step) -> Option<&str> {
    match &step.kind {
        StepKind::Shell(shell) => Some(&shell.script),
        StepKind::Sql(_) | StepKind::Redis(_) | StepKind::Http(_) => Some(&step.body),
        StepKind::Gate(_) | StepKind::Manual(_) => None,
    }
}

/// The fence info string for a recorded command of `kind`.
pub(super) fn info_for(kind: &str) -> &'static str {
    match kind {
        "shell" => "sh",
        "sql" => "sql",
        "redis" => "redis",
        "http" => "http",
        _ => "text",
    }
}

/// Paragraphs as a block quote.
pub(super) fn quote(paragraphs: &[String]) -> String {
    prefixed(&paragraphs.join("\n\n"), "> ")
}
