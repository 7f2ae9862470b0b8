//! "Checks before and after": what the checks saw before the run changed
//! anything and after its last change — the first thing a review compares.
//!
//! A change is a write or destructive step that ran (not only printed). A
//! run that changed nothing compares its first gate with its last.

use std::fmt::Write as _;

use super::history::{Check, Execution, History};
use super::markdown::{code, prose, prose_lines, table as markdown_table, time};

/// Check results as a table: check, state, observed / reason.
pub(super) fn table(checks: &[Check<'_>]) -> String {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|check| {
            let state = if check.status == "ok" { prose(check.status) } else { format!("**{}**", prose(check.status)) };
            let seen = match (check.observed.trim(), check.reason.map(str::trim)) {
                (observed, Some(reason)) if !observed.is_empty() && observed != reason => {
                    format!("{} — {}", prose_lines(observed), prose_lines(reason))
                }
                (_, Some(reason)) => prose_lines(reason),
                (observed, None) => prose_lines(observed),
            };
            vec![code(check.name), state, seen]
        })
        .collect();
    markdown_table(&["Check", "State", "Observed / reason"], &rows)
}

/// The section's body.
pub(super) fn section(history: &History<'_>) -> String {
    if history.checks.is_empty() {
        return "*No checks were recorded in this run.*\n".to_owned();
    }
    let changes: Vec<&Execution<'_>> = history.executions.iter().filter(|e| e.changes()).collect();
    let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
        return unchanged(history);
    };
    let mut out = String::new();
    let before = latest(history.checks.iter().filter(|c| c.seq < first.seq));
    let _ = writeln!(
        out,
        "**Before** the first change, step {} {} (started {} UTC):\n",
        first.number,
        code(first.id),
        time(first.at)
    );
    out.push_str(&or_none(&before, "*No check ran before it.*"));
    out.push('\n');
    match &last.finish {
        Some(finish) => {
            let after = latest(history.checks.iter().filter(|c| c.seq > finish.seq));
            let _ = writeln!(
                out,
                "**After** the last change, step {} {} (finished {} UTC):\n",
                last.number,
                code(last.id),
                time(finish.at)
            );
            out.push_str(&or_none(&after, "*No check ran after it.*"));
        }
        None => {
            let _ = writeln!(
                out,
                "**After** the last change: step {} {} did not finish, so no check ran after it.",
                last.number,
                code(last.id)
            );
        }
    }
    out
}

/// A run without changes: its first gate and its last.
fn unchanged(history: &History<'_>) -> String {
    // Gates as runs of results from the same step.
    let mut gates: Vec<Vec<Check<'_>>> = Vec::new();
    for check in &history.checks {
        match gates.last_mut() {
            Some(gate) if gate[0].step == check.step => gate.push(*check),
            _ => gates.push(vec![*check]),
        }
    }
    let name = |gate: &[Check<'_>]| match gate[0].step {
        Some(number) => match history.executions.iter().find(|e| e.number == number) {
            Some(execution) => format!("step {number} {}", code(execution.id)),
            None => format!("step {number}"),
        },
        None => "checks run outside a gate".to_owned(),
    };
    let mut out =
        "The run changed nothing (no write or destructive step ran): its first and last gates.\n\n".to_owned();
    match gates.as_slice() {
        [only] => {
            let _ = writeln!(out, "**The only gate**, {}:\n", name(only));
            out.push_str(&table(&latest(only.iter())));
        }
        [first, .., last] => {
            let _ = writeln!(out, "**First gate**, {}:\n", name(first));
            out.push_str(&table(&latest(first.iter())));
            let _ = writeln!(out, "\n**Last gate**, {}:\n", name(last));
            out.push_str(&table(&latest(last.iter())));
        }
        [] => {}
    }
    out
}

/// Each check's latest result, in the order the checks first appear.
fn latest<'c, 'a: 'c>(checks: impl Iterator<Item = &'c Check<'a>>) -> Vec<Check<'a>> {
    let mut out: Vec<Check<'a>> = Vec::new();
    for check in checks {
        match out.iter_mut().find(|c| c.name == check.name) {
            Some(seen) => *seen = *check,
            None => out.push(*check),
        }
    }
    out
}

fn or_none(checks: &[Check<'_>], none: &str) -> String {
    if checks.is_empty() { format!("{none}\n") } else { table(checks) }
}
