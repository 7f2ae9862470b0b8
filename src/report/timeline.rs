//! The timeline: one row per thing that happened, in UTC, with the time
//! since the run started — the table a post-incident review is built on.
//! Output chunks are left to the procedure section.

use std::fmt::Write as _;

use super::history::History;
use super::markdown::{code, duration, elapsed, prose, prose_lines, table, time};
use super::result::outcome_word;
use crate::journal::{Event, Record, Run};

pub(super) fn section(run: &Run, events: &[Record], history: &History<'_>) -> String {
    let step = |number: u32| match history.executions.iter().find(|e| e.number == number) {
        Some(execution) => format!("step {number} {}", code(execution.id)),
        None => format!("step {number}"),
    };
    let mut rows = Vec::new();
    for record in events {
        let what = match &record.event {
            Event::RunStarted(info) => {
                let mut text = format!("run started by **{}** on {}", prose(&info.operator), code(&info.host));
                if let Some(environment) = &info.environment {
                    let _ = write!(text, ", environment {}", code(environment));
                }
                if let Some(earlier) = info.resumed_from {
                    let _ = write!(text, ", resuming run {earlier}");
                }
                text
            }
            Event::StepStarted { step: number, step_kind, safety, .. } => {
                format!("{} started ({}, {})", step(*number), prose(step_kind), prose(safety))
            }
            Event::StepFinished { step: number, outcome, exit_code, duration: took, reason } => {
                let kind = history.executions.iter().find(|e| e.number == *number).map_or("", |e| e.kind);
                let mut text = format!("{} {}", step(*number), outcome_word(kind, *outcome));
                if let Some(reason) = reason {
                    let _ = write!(text, ": {}", prose(reason));
                }
                if let Some(exit) = exit_code {
                    let _ = write!(text, " (exit code {exit})");
                }
                if !took.is_zero() {
                    let _ = write!(text, " after {}", duration(*took));
                }
                text
            }
            Event::ConfirmationAsked { step: number, prompt } => {
                format!("{}: confirmation asked — “{}”", step(*number), prose(prompt))
            }
            Event::ConfirmationAnswered { step: number, answer, accepted, by } => {
                let verdict = if *accepted { "confirmed" } else { "declined" };
                format!("{} {verdict} by **{}** ({})", step(*number), prose(by), code(answer))
            }
            Event::Acknowledged { step: number, item, by } => {
                format!("{} acknowledged by **{}**: “{}”", step(*number), prose(by), prose(item))
            }
            Event::CheckResult { name, status, observed, reason, .. } => {
                let seen = reason.as_deref().unwrap_or(observed);
                if seen.is_empty() {
                    format!("check {}: {}", code(name), prose(status))
                } else {
                    format!("check {}: {} — {}", code(name), prose(status), prose_lines(seen))
                }
            }
            Event::Note { text } => format!("note: {}", prose_lines(text)),
            Event::RunFinished { status, reason } => match reason {
                Some(reason) => format!("run {status}: {}", prose(reason)),
                None => format!("run {status}"),
            },
            Event::Output { .. } | Event::OutputTruncated { .. } => continue,
        };
        let since = run.info.started_at.duration_until(record.at);
        rows.push(vec![time(record.at), elapsed(since), what]);
    }
    table(&["Time (UTC)", "Elapsed", "What happened"], &rows)
}
