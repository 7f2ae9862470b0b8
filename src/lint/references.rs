//! `references`: names that must resolve — services in `after:`, checks
//! named by services and gates, procedures named by alerts, connections
//! named by steps — and names that must be unique, and a service graph
//! without cycles.

use std::collections::{HashMap, HashSet};

use super::Context;
use super::destructive::all_steps;
use crate::runbook::diagnostic::hint;
use crate::runbook::step::StepKind;
use crate::runbook::{Diagnostic, Location, Runbook};
use crate::template;

const RULE: &str = "references";

pub(super) fn check(runbook: &Runbook, _: Context, out: &mut Vec<Diagnostic>) {
    duplicates(runbook, out);
    services(runbook, out);
    steps(runbook, out);
    alerts(runbook, out);
    environments(runbook, out);
    for check in &runbook.checks {
        for (key, expr) in [("expect", &check.expect), ("warn", &check.warn)] {
            invalid_expression(expr.as_deref(), check.location, &format!("check `{}` has an `{key}`", check.name), out);
        }
    }
}

/// Reports `expr` (a `when`, `expect` or `warn`) if minijinja cannot read it.
fn invalid_expression(expr: Option<&str>, location: Location, what: &str, out: &mut Vec<Diagnostic>) {
    if let Some(expr) = expr
        && let Err(error) = template::check_expression(expr)
    {
        out.push(Diagnostic::error(RULE, location, format!("{what} that is not a valid expression: {error}")));
    }
}

fn duplicates(runbook: &Runbook, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, Location> = HashMap::new();
    for step in all_steps(runbook) {
        let Some(name) = step.attributes.name.as_deref() else { continue };
        if let Some(first) = seen.insert(name, step.location) {
            out.push(Diagnostic::error(
                RULE,
                step.location,
                format!(
                    "step name `{name}` is already used on line {}; step names must be unique in a runbook",
                    first.line
                ),
            ));
        }
    }
    let mut seen: HashMap<&str, Location> = HashMap::new();
    for check in &runbook.checks {
        if let Some(first) = seen.insert(&check.name, check.location) {
            out.push(Diagnostic::error(
                RULE,
                check.location,
                format!(
                    "check `{}` is already defined on line {}; rename one, or write `- use: {}` to reuse it",
                    check.name, first.line, check.name
                ),
            ));
        }
    }
    let mut seen: HashMap<(Option<usize>, &str), Location> = HashMap::new();
    for procedure in runbook.procedures() {
        if let Some(first) = seen.insert((procedure.parent, &procedure.title), procedure.location) {
            out.push(Diagnostic::warning(
                RULE,
                procedure.location,
                format!(
                    "procedure \"{}\" repeats the heading on line {} under the same parent; its id is `{}`, which is easy to confuse — give it a distinct title",
                    procedure.title, first.line, procedure.id
                ),
            ));
        }
    }
}

fn services(runbook: &Runbook, out: &mut Vec<Diagnostic>) {
    let services = &runbook.front_matter.services;
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    for service in services {
        for (after, location) in &service.after {
            if !names.contains(&after.as_str()) {
                out.push(Diagnostic::error(
                    RULE,
                    *location,
                    format!(
                        "service `{}` starts after `{after}`, which is not a declared service{}",
                        service.name,
                        hint(after, names.iter().copied())
                    ),
                ));
            }
        }
        for (check, location) in &service.checks {
            if runbook.check(check).is_none() {
                out.push(Diagnostic::error(
                    RULE,
                    *location,
                    format!(
                        "service `{}` is gated on check `{check}`, which no `checks` block defines{}",
                        service.name,
                        hint(check, runbook.checks.iter().map(|c| c.name.as_str()))
                    ),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(runbook) {
        let first = services.iter().find(|s| s.name == cycle[0]).map_or(Location::new(1, 1), |s| s.location);
        out.push(Diagnostic::error(
            RULE,
            first,
            format!(
                "services depend on each other in a cycle ({}), so no start order exists; remove one `after:`",
                cycle.join(" → ")
            ),
        ));
    }
}

/// A cycle in the `after:` graph, as names from start back to start.
fn find_cycle(runbook: &Runbook) -> Option<Vec<String>> {
    let services = &runbook.front_matter.services;
    let edges: HashMap<&str, Vec<&str>> =
        services.iter().map(|s| (s.name.as_str(), s.after.iter().map(|(a, _)| a.as_str()).collect())).collect();
    let mut done: HashSet<&str> = HashSet::new();
    for service in services {
        let mut path: Vec<&str> = Vec::new();
        if let Some(cycle) = visit(&service.name, &edges, &mut path, &mut done) {
            return Some(cycle);
        }
    }
    None
}

fn visit<'a>(
    node: &'a str,
    edges: &HashMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut HashSet<&'a str>,
) -> Option<Vec<String>> {
    if let Some(start) = path.iter().position(|&n| n == node) {
        let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
        cycle.push(node.to_owned());
        return Some(cycle);
    }
    if !done.insert(node) {
        return None;
    }
    path.push(node);
    for &next in edges.get(node).into_iter().flatten() {
        if let Some(cycle) = visit(next, edges, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    None
}

fn steps(runbook: &Runbook, out: &mut Vec<Diagnostic>) {
    let connections = &runbook.front_matter.connections;
    for step in all_steps(runbook) {
        match &step.kind {
            StepKind::Gate(gate) => {
                for name in &gate.checks {
                    if runbook.check(name).is_none() {
                        out.push(Diagnostic::error(
                            RULE,
                            step.location,
                            format!(
                                "`use: {name}` names no check defined in this runbook{}",
                                hint(name, runbook.checks.iter().map(|c| c.name.as_str()))
                            ),
                        ));
                    }
                }
            }
            StepKind::Sql(_) | StepKind::Redis(_) => {
                if let Some(conn) = &step.attributes.conn
                    && !connections.iter().any(|c| c.name == *conn)
                {
                    out.push(Diagnostic::error(
                        RULE,
                        step.location,
                        format!(
                            "step `{}` uses connection `{conn}`, which the front matter's `connections` does not declare{}",
                            step.id,
                            hint(conn, connections.iter().map(|c| c.name.as_str()))
                        ),
                    ));
                }
            }
            _ => {}
        }
        let attributes = &step.attributes;
        for (key, expr) in [("when", &attributes.when), ("expect", &attributes.expect)] {
            invalid_expression(expr.as_deref(), step.location, &format!("step `{}` has a `{key}`", step.id), out);
        }
    }
}

fn alerts(runbook: &Runbook, out: &mut Vec<Diagnostic>) {
    for alert in &runbook.front_matter.alerts {
        unstartable(runbook, alert, out);
        if runbook.procedures().all(|p| p.id != alert.run) {
            out.push(Diagnostic::error(
                RULE,
                alert.run_location,
                format!(
                    "alert runs `{}`, which is no procedure in this runbook{}; procedure ids are heading slugs (`runwell list` shows them)",
                    alert.run,
                    hint(&alert.run, runbook.procedures().map(|p| p.id.as_str()))
                ),
            ));
        }
        for (name, template) in &alert.values {
            if runbook.front_matter.vars.iter().all(|v| v.name != *name) {
                out.push(Diagnostic::error(
                    RULE,
                    alert.location,
                    format!(
                        "alert sets `{name}`, which is not declared under `vars`{}",
                        hint(name, runbook.front_matter.vars.iter().map(|v| v.name.as_str()))
                    ),
                ));
            }
            if let Err(error) = minijinja::Environment::new().template_from_str(template) {
                out.push(Diagnostic::error(
                    RULE,
                    alert.location,
                    format!("alert value `{name}` is no valid template: {error}"),
                ));
            }
        }
        if let Some(env) = &alert.env
            && !runbook.front_matter.environments.iter().any(|e| e.name == *env)
        {
            out.push(Diagnostic::error(
                RULE,
                alert.location,
                format!("alert uses environment `{env}`, which is not declared under `environments`"),
            ));
        }
    }
}

/// Warns when the alert's procedure uses a variable that has no default,
/// no value in the rule's environment (or in any, when the rule names
/// none: the server's `--env` may give it) and no `values` entry in the
/// rule: every run the alert tried to start would be refused.
fn unstartable(runbook: &Runbook, alert: &crate::runbook::front_matter::Alert, out: &mut Vec<Diagnostic>) {
    let Some(index) = runbook.procedure_indices().find(|&i| runbook.sections[i].id == alert.run) else { return };
    let front = &runbook.front_matter;
    let given: Vec<String> = alert.values.iter().map(|(name, _)| format!("{name}=x")).collect();
    let env = alert.env.as_deref().filter(|env| front.environments.iter().any(|e| e.name == *env));
    let Ok(values) = template::Values::resolve(runbook, env, &given) else { return };
    let steps: Vec<_> = runbook.steps[runbook.sections[index].all_steps.clone()].iter().collect();
    let in_some_environment =
        |name: &str| front.environments.iter().any(|e| e.values.iter().any(|(n, _, _)| n == name));
    let missing: Vec<String> = crate::runner::missing_values(&steps, &values)
        .into_iter()
        .filter(|name| front.vars.iter().any(|v| v.name == *name))
        .filter(|name| alert.env.is_some() || !in_some_environment(name))
        .map(|name| format!("`{name}`"))
        .collect();
    if !missing.is_empty() {
        out.push(Diagnostic::warning(
            RULE,
            alert.location,
            format!(
                "alert starts `{}`, which needs {} that nothing gives an alert's run (no default, no environment \
                 value, no `values` entry): every run it tried to start would be refused; take them from the \
                 alert's labels with `values: {{ NAME: \"{{{{ labels.LABEL }}}}\" }}` or give them a default",
                alert.run,
                missing.join(", ")
            ),
        ));
    }
}

fn environments(runbook: &Runbook, out: &mut Vec<Diagnostic>) {
    let vars: Vec<&str> = runbook.front_matter.vars.iter().map(|v| v.name.as_str()).collect();
    for environment in &runbook.front_matter.environments {
        for (name, _, location) in &environment.values {
            if !vars.contains(&name.as_str()) {
                out.push(Diagnostic::warning(
                    RULE,
                    *location,
                    format!(
                        "environment `{}` sets `{name}`, which is not a declared variable{}; declare it under `vars` so it has a default",
                        environment.name,
                        hint(name, vars.iter().copied())
                    ),
                ));
            }
        }
    }
}
