//! Rendering a step for execution: values quoted for where they land, and
//! secrets kept out of the script's text.
//!
//! A secret in a shell step becomes a reference to an environment variable
//! that only the step's process receives (`"${RUNWELL_SECRET_1}"`), so the
//! value never appears in the script, in `ps`, or in a shell trace. What is
//! shown and journaled is the same script with `********` where the value
//! goes. Where no variable can be referenced (a quoted here-document, a
//! comment) and in SQL, which is sent over a connection rather than a
//! command line, the value is inlined, quoted, and still masked in `shown`.

use minijinja::Value;

use super::{MASK, Quoting, RENDERING, Secrets, sql_literal, undeclared};
use crate::runbook::placeholder::{self, Found};
use crate::runbook::shell::{self, QuoteContext};

/// A step's text ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunText {
    /// What runs.
    pub script: String,
    /// What a person, a log or the journal may see: secrets masked.
    pub shown: String,
    /// Environment variables the step's process needs: secret values,
    /// referenced from `script`.
    pub env: Vec<(String, String)>,
}

/// Renders `text` to run with `secrets`. Fails naming what is missing: a
/// declared variable without a value (`--set name=…`), a secret that is not
/// set, or a name nothing declares — a step never runs with a placeholder
/// left in it.
pub fn render_for_run(text: &str, secrets: &Secrets, quoting: Quoting) -> Result<RunText, String> {
    let mut out = RunText { script: String::with_capacity(text.len()), shown: String::new(), env: Vec::new() };
    let mut last = 0;
    for (range, found) in placeholder::find(text, false) {
        let Found::Template(expr) = found else { continue };
        let between = &text[last..range.start];
        out.script.push_str(between);
        out.shown.push_str(between);
        last = range.end;
        let uses_secret = undeclared(expr, |name| !secrets.names.iter().any(|s| s == name))
            .map_err(|e| format!("`{{{{ {expr} }}}}` is not a valid expression: {e}"))?;
        let value = evaluate(expr, secrets)?;
        let context = match quoting {
            Quoting::Shell => Some(shell::quote_context(text, range.start)),
            Quoting::Sql | Quoting::None => None,
        };
        if uses_secret.is_empty() {
            let quoted = quote(&value, quoting, context);
            out.script.push_str(&quoted);
            out.shown.push_str(&quoted);
            continue;
        }
        out.shown.push_str(MASK);
        match context {
            Some(
                context @ (QuoteContext::Unquoted
                | QuoteContext::SingleQuoted
                | QuoteContext::DoubleQuoted
                | QuoteContext::HeredocExpanding),
            ) => {
                let name = format!("RUNWELL_SECRET_{}", out.env.len() + 1);
                out.script.push_str(&reference(&name, context));
                out.env.push((name, value));
            }
            _ => out.script.push_str(&quote(&value, quoting, context)),
        }
    }
    out.script.push_str(&text[last..]);
    out.shown.push_str(&text[last..]);
    Ok(out)
}

/// The value of `expr`, or why there is none.
fn evaluate(expr: &str, secrets: &Secrets) -> Result<String, String> {
    let value = RENDERING.compile_expression(expr).and_then(|e| e.eval(&secrets.context));
    match value {
        Ok(value) if !value.is_undefined() => Ok(display(&value)),
        _ => {
            let names = undeclared(expr, |name| secrets.context.get_attr(name).is_ok_and(|v| !v.is_undefined()))
                .unwrap_or_else(|_| vec![expr.to_owned()]);
            let name = names.first().map_or(expr, String::as_str);
            if let Some((_, why)) = secrets.unset.iter().find(|(n, _)| n == name) {
                Err(format!("secret `{name}` is not set ({why})"))
            } else if secrets.unset_vars.iter().any(|v| v == name) {
                Err(format!("`{name}` has no value; pass --set {name}=…"))
            } else {
                Err(format!("`{name}` is not declared: add it under `vars` in the front matter"))
            }
        }
    }
}

fn display(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn quote(value: &str, quoting: Quoting, context: Option<QuoteContext>) -> String {
    match (quoting, context) {
        (Quoting::Shell, Some(context)) => shell::quote(value, context),
        (Quoting::Sql, _) => sql_literal(value),
        _ => value.to_owned(),
    }
}

/// A reference to environment variable `name` that reads back as its exact
/// value, one word, at a place with `context`.
fn reference(name: &str, context: QuoteContext) -> String {
    match context {
        QuoteContext::Unquoted => format!("\"${{{name}}}\""),
        // close the single quotes, expand in double quotes, reopen
        QuoteContext::SingleQuoted => format!("'\"${{{name}}}\"'"),
        _ => format!("${{{name}}}"),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::runbook;
    use crate::template::Values;

    fn secrets(sets: &[&str]) -> Secrets {
        secrets_with_token(sets, "/nonexistent/runwell-token")
    }

    /// The `token` secret is read from the file at `token_file`.
    fn secrets_with_token(sets: &[&str], token_file: &str) -> Secrets {
        let source = format!(
            "---\nrunbook: t\nvars:\n  label: x\n  pid:\n    description: a backend\nsecrets:\n  token: {{ file: {token_file} }}\n---\n# T\n"
        );
        let parsed = runbook::parse(std::path::Path::new("t.md"), &source);
        let sets: Vec<String> = sets.iter().map(|s| (*s).to_owned()).collect();
        Values::resolve(&parsed.runbook, None, &sets).unwrap().with_secrets()
    }

    /// Runs `script` with bash and `env`, returning stdout.
    fn bash(run: &RunText) -> String {
        let output = Command::new("bash").arg("-c").arg(&run.script).envs(run.env.iter().cloned()).output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn a_hostile_value_stays_one_argument_and_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pwned");
        let value = format!("x; touch {} $(touch {}) `touch {}`", marker.display(), marker.display(), marker.display());
        let set = format!("label={value}");
        let secrets = secrets(&[&set]);
        for text in ["printf '%s\\n' {{ label }}", "printf '%s\\n' \"{{ label }}\"", "printf '%s\\n' 'a {{ label }}'"] {
            let run = render_for_run(text, &secrets, Quoting::Shell).unwrap();
            let printed = bash(&run);
            assert!(printed.trim_end().ends_with(&value), "{text}: printed {printed:?}");
            assert_eq!(printed.lines().count(), 1, "{text}: {printed:?}");
        }
        assert!(!marker.exists(), "a substituted value ran as code");
    }

    #[test]
    fn secrets_reach_the_process_by_environment_never_the_script_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cr3t 'quoted' $HOME\n").unwrap();
        let secrets = secrets_with_token(&[], &file.display().to_string());
        for text in
            ["printf '%s' {{ token }}", "printf '%s' \"Bearer {{ token }}\"", "printf '%s' 'Bearer {{ token }}'"]
        {
            let run = render_for_run(text, &secrets, Quoting::Shell).unwrap();
            assert!(!run.script.contains("s3cr3t"), "{}", run.script);
            assert!(!run.shown.contains("s3cr3t"), "{}", run.shown);
            assert!(run.shown.contains(MASK));
            assert!(bash(&run).ends_with("s3cr3t 'quoted' $HOME"), "{text}");
        }
    }

    #[test]
    fn a_missing_value_is_an_error_naming_how_to_give_it() {
        let secrets = secrets(&[]);
        let error = render_for_run("kill {{ pid }}", &secrets, Quoting::Shell).unwrap_err();
        assert_eq!(error, "`pid` has no value; pass --set pid=…");
        let error = render_for_run("echo {{ nope }}", &secrets, Quoting::Shell).unwrap_err();
        assert_eq!(error, "`nope` is not declared: add it under `vars` in the front matter");
    }

    #[test]
    fn sql_values_are_literals() {
        let secrets = secrets(&["pid=42", "label=it's"]);
        let run =
            render_for_run("SELECT pg_terminate_backend({{ pid }}), {{ label }}", &secrets, Quoting::Sql).unwrap();
        assert_eq!(run.script, "SELECT pg_terminate_backend(42), 'it''s'");
    }
}
