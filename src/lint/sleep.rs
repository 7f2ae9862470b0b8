//! `sleep-then-check`: `sleep 5` before a health check guesses how long
//! recovery takes — too short and the check fails on a healthy service, too
//! long and the outage is longer. A `checks` gate with `wait=` polls until
//! the checks pass and fails clearly at the deadline.

use super::Context;
use crate::runbook::shell::{self, Command};
use crate::runbook::step::StepKind;
use crate::runbook::{Diagnostic, Runbook};

pub(super) fn check(runbook: &Runbook, _: Context, out: &mut Vec<Diagnostic>) {
    for (index, step) in runbook.steps.iter().enumerate() {
        let (StepKind::Shell(_), Some(text)) = (&step.kind, step.runnable_text()) else { continue };
        if !text.contains("sleep") {
            continue; // most steps: no need to lex them
        }
        let script = shell::parse(&text);
        let Some(position) = script.commands.iter().position(is_sleep) else { continue };
        let sleep = &script.commands[position];
        let checked_after = script.commands[position + 1..].iter().any(is_check);
        let next_checks = position + 1 == script.commands.len()
            && runbook.steps.get(index + 1).is_some_and(|next| {
                next.section == step.section
                    && match &next.kind {
                        StepKind::Gate(_) => true,
                        StepKind::Shell(_) => next
                            .runnable_text()
                            .is_some_and(|t| shell::parse(&t).commands.first().is_some_and(is_check)),
                        _ => false,
                    }
            });
        if checked_after || next_checks {
            let seconds = sleep.words.get(1).map_or("N", |w| w.value.as_str());
            out.push(Diagnostic::warning(
                "sleep-then-check",
                step.location_of(sleep.range.start),
                format!(
                    "`sleep {seconds}` then a check guesses how long recovery takes; use a waiting gate instead — a ```` ```checks {{wait=30s}} ```` block polls until the checks pass and fails clearly at the deadline"
                ),
            ));
        }
    }
}

/// The command's words after `sudo` and its options.
fn words(command: &Command) -> impl Iterator<Item = &str> {
    command.words.iter().map(|w| w.value.as_str()).skip_while(|w| *w == "sudo" || w.starts_with('-'))
}

fn is_sleep(command: &Command) -> bool {
    words(command).next().is_some_and(|w| w.rsplit('/').next() == Some("sleep"))
}

/// Whether a command verifies health rather than changing anything.
fn is_check(command: &Command) -> bool {
    let mut words = words(command);
    let Some(program) = words.next().and_then(|w| w.rsplit('/').next()) else { return false };
    let mut rest = words.filter(|w| !w.starts_with('-'));
    match program {
        "curl" | "wget" | "nc" | "pg_isready" | "redis-cli" | "psql" | "wg" | "ss" | "pgrep" | "http" | "grpcurl"
        | "dig" | "nslookup" | "ping" => true,
        "systemctl" => {
            rest.next().is_some_and(|sub| matches!(sub, "status" | "is-active" | "is-failed" | "is-enabled"))
        }
        "kubectl" => rest.next().is_some_and(|sub| matches!(sub, "get" | "rollout" | "describe" | "wait")),
        "docker" => rest.next().is_some_and(|sub| matches!(sub, "ps" | "inspect")),
        _ => false,
    }
}
