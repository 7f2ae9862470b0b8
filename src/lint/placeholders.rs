//! `placeholder`: text that was meant to be filled in and was not.
//!
//! Inside a step it is an error — the step would run it literally. In
//! headings, prose and example blocks it is a warning: a reader has to
//! guess. Three kinds are found: `{{NAME}}` templates naming no declared
//! variable, `<angle>` placeholders, and `$UPPER_CASE` shell variables a
//! step uses but neither it nor an earlier step sets.

use std::collections::HashSet;

use super::Context;
use super::destructive::all_steps;
use crate::runbook::placeholder::{self, Found};
use crate::runbook::shell;
use crate::runbook::step::StepKind;
use crate::runbook::{Diagnostic, MentionContext, Placeholder, Runbook, Severity};
use crate::template;

const RULE: &str = "placeholder";

pub(super) fn check(runbook: &Runbook, _: Context, out: &mut Vec<Diagnostic>) {
    let declared: HashSet<&str> = runbook.declared_names().collect();
    let is_declared = |name: &str| declared.contains(name);

    for mention in &runbook.mentions {
        let (severity, place) = match mention.context {
            MentionContext::Heading => (Severity::Warning, "heading"),
            MentionContext::Prose => (Severity::Warning, "text"),
            MentionContext::Example => (Severity::Warning, "example block"),
            MentionContext::Manual => (Severity::Error, "checklist step"),
        };
        let message = match &mention.placeholder {
            Placeholder::Template(expr) => template_message(expr, &is_declared, place),
            Placeholder::Angle(name) => Some(angle_message(name, place)),
        };
        if let Some(message) = message {
            out.push(Diagnostic { location: mention.location, severity, rule: RULE, message });
        }
    }

    let mut set_earlier: HashSet<String> = HashSet::new();
    let secret_envs: Vec<&str> = runbook
        .front_matter
        .secrets
        .iter()
        .filter_map(|s| match &s.source {
            crate::runbook::front_matter::SecretSource::Env(name) => Some(name.as_str()),
            crate::runbook::front_matter::SecretSource::File(_) => None,
        })
        .collect();
    for step in all_steps(runbook) {
        let Some(text) = step.runnable_text() else { continue };
        for (range, found) in placeholder::find(&text, true) {
            let message = match found {
                Found::Template(expr) => template_message(expr, &is_declared, "step"),
                Found::Angle(name) => Some(angle_message(name, "step")),
            };
            if let Some(message) = message {
                out.push(Diagnostic::error(RULE, step.location_of(range.start), message));
            }
        }
        if matches!(step.kind, StepKind::Shell(_)) {
            let script = shell::parse(&text);
            let mut reported = HashSet::new();
            for var in &script.var_uses {
                let name = var.name.as_str();
                let set_here = script.assigned.iter().any(|a| a.name == name && a.range.start < var.range.start);
                if var.has_default
                    || !is_upper_case(name)
                    || set_here
                    || set_earlier.contains(name)
                    || is_environment(name)
                    || secret_envs.contains(&name)
                    || declared.iter().any(|d| d.eq_ignore_ascii_case(name))
                    || !reported.insert(name)
                {
                    continue;
                }
                out.push(Diagnostic::error(
                    RULE,
                    step.location_of(var.range.start),
                    format!(
                        "step `{}` uses `${name}`, which neither it nor an earlier step sets, so it would run empty; set it first, declare a runwell variable and write `{{{{ {} }}}}`, or write `${{{name}:?set {name} first}}`",
                        step.id,
                        name.to_ascii_lowercase()
                    ),
                ));
            }
            set_earlier.extend(script.assigned.into_iter().map(|a| a.name));
        }
    }

    for check in &runbook.checks {
        for (text, location) in &check.strings {
            for (_, found) in placeholder::find(text, false) {
                if let Found::Template(expr) = found
                    && let Some(message) = template_message(expr, &is_declared, "check")
                {
                    out.push(Diagnostic::error(RULE, *location, message));
                }
            }
        }
    }

    let front = &runbook.front_matter;
    let templated = front
        .services
        .iter()
        .flat_map(|s| {
            [&s.start, &s.stop, &s.restart]
                .into_iter()
                .flatten()
                .map(move |t| (t.as_str(), s.location, "service command"))
        })
        .chain(front.connections.iter().flat_map(|c| {
            [Some(&c.url), c.username.as_ref(), c.password.as_ref()]
                .into_iter()
                .flatten()
                .map(move |t| (t.as_str(), c.location, "connection"))
        }))
        .chain(front.vars.iter().filter_map(|v| Some((v.default.as_deref()?, v.location, "variable"))));
    for (text, location, place) in templated {
        for (_, found) in placeholder::find(text, false) {
            if let Found::Template(expr) = found
                && let Some(message) = template_message(expr, &is_declared, place)
            {
                out.push(Diagnostic::error(RULE, location, message));
            }
        }
    }
}

fn template_message(expr: &str, is_declared: &impl Fn(&str) -> bool, place: &str) -> Option<String> {
    match template::undeclared(expr, is_declared) {
        Ok(names) if names.is_empty() => None,
        Ok(names) => {
            let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            Some(format!(
                "unresolved placeholder `{{{{{expr}}}}}` in {place}: {list} {} no declared variable; declare it under `vars` in the front matter or replace the placeholder",
                if names.len() == 1 { "is" } else { "are" }
            ))
        }
        Err(_) => Some(format!(
            "unresolved placeholder `{{{{{expr}}}}}` in {place}: it is not a variable name; replace it, or declare a variable and write `{{{{ name }}}}`"
        )),
    }
}

fn angle_message(name: &str, place: &str) -> String {
    if place == "step" {
        format!(
            "unresolved placeholder `<{name}>` in step: it would run literally; declare a variable (`vars:`) and write `{{{{ {} }}}}`",
            variable_name(name)
        )
    } else {
        format!("placeholder `<{name}>` in {place}: the reader must fill it in by hand; consider a variable")
    }
}

fn variable_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

fn is_upper_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Variables an operator's shell or tools provide, which a step may use unset.
fn is_environment(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "HOME",
        "PATH",
        "USER",
        "LOGNAME",
        "SHELL",
        "PWD",
        "OLDPWD",
        "HOSTNAME",
        "HOSTTYPE",
        "OSTYPE",
        "MACHTYPE",
        "TERM",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "UID",
        "EUID",
        "GID",
        "PPID",
        "RANDOM",
        "SECONDS",
        "LINENO",
        "BASHPID",
        "BASH",
        "BASH_VERSION",
        "BASH_SOURCE",
        "BASH_REMATCH",
        "FUNCNAME",
        "PIPESTATUS",
        "IFS",
        "PS1",
        "PS2",
        "PS4",
        "SHLVL",
        "DISPLAY",
        "MAIL",
        "COLUMNS",
        "LINES",
        "OPTARG",
        "OPTIND",
        "REPLY",
        "HISTFILE",
        "SUDO_USER",
        "SUDO_UID",
        "KUBECONFIG",
        "DOCKER_HOST",
        "GOPATH",
        "GOROOT",
        "JAVA_HOME",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "NODE_ENV",
        "CI",
        "RUST_LOG",
        "RUST_BACKTRACE",
        "NO_COLOR",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ];
    const PREFIXES: &[&str] = &["LC_", "XDG_", "SSH_", "AWS_", "RUNWELL_", "CLOUDSDK_", "GITHUB_", "CI_", "BASH_"];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}
