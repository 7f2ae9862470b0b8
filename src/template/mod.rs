//! Templates: `{{ name }}` in steps, checks and service commands, rendered
//! with minijinja — the same expression language as `when=` and `expect:`.
//!
//! Values are quoted for the place they land in (a shell word, inside
//! double quotes, inside single quotes), so a value can never become code.
//! Secrets are masked whenever text is rendered for a person to read.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior, Value};

mod redact;
mod run;

pub use redact::{Redactor, StreamRedactor};
pub use run::{RunText, render_for_run};

use crate::runbook::front_matter::SecretSource;
use crate::runbook::placeholder::{self, Found};
use crate::runbook::shell;
use crate::runbook::{Runbook, diagnostic};

/// What a secret looks like in anything a person or a log can see.
pub const MASK: &str = "********";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("runbook `{runbook}` has no environment `{name}`{hint}; it declares: {known}")]
    UnknownEnvironment { runbook: String, name: String, hint: String, known: String },
    #[error("runbook `{runbook}` has no variable `{name}`{hint}; declare it under `vars` in the front matter")]
    UnknownVariable { runbook: String, name: String, hint: String },
    #[error("`--set {given}` must look like `NAME=VALUE`")]
    BadAssignment { given: String },
}

/// How a substituted value is made safe for where it lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// Shell-quote for the context at the placeholder (word, `"…"`, `'…'`).
    Shell,
    /// As an SQL literal: numbers as they are, text in single quotes.
    Sql,
    /// Insert as is (prose, manual steps).
    None,
}

/// The values templates can use: variables after environment overlays and
/// `--set`, plus which names are secrets.
#[derive(Debug, Clone, Default)]
pub struct Values {
    vars: BTreeMap<String, String>,
    /// Every declared variable, with a value or not.
    declared: Vec<String>,
    secrets: Vec<String>,
    /// Where each secret's value comes from; read only when a value is used.
    secret_sources: Vec<(String, SecretSource)>,
    env: Option<String>,
    runbook: String,
}

impl Values {
    /// Resolves the values for `runbook` under environment `env` with the
    /// operator's `--set name=value` assignments on top.
    pub fn resolve(runbook: &Runbook, env: Option<&str>, sets: &[String]) -> Result<Values, Error> {
        let front = &runbook.front_matter;
        let mut vars: BTreeMap<String, String> =
            front.vars.iter().filter_map(|v| Some((v.name.clone(), v.default.clone()?))).collect();
        if let Some(name) = env {
            let Some(environment) = front.environments.iter().find(|e| e.name == name) else {
                let names = front.environments.iter().map(|e| e.name.as_str());
                return Err(Error::UnknownEnvironment {
                    runbook: runbook.name.clone(),
                    name: name.to_owned(),
                    hint: diagnostic::hint(name, names.clone()),
                    known: if front.environments.is_empty() {
                        "none".to_owned()
                    } else {
                        names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    },
                });
            };
            for (name, value, _) in &environment.values {
                vars.insert(name.clone(), value.clone());
            }
        }
        for given in sets {
            let Some((name, value)) = given.split_once('=') else {
                return Err(Error::BadAssignment { given: given.clone() });
            };
            if !front.vars.iter().any(|v| v.name == name) {
                return Err(Error::UnknownVariable {
                    runbook: runbook.name.clone(),
                    name: name.to_owned(),
                    hint: diagnostic::hint(name, front.vars.iter().map(|v| v.name.as_str())),
                });
            }
            vars.insert(name.to_owned(), value.to_owned());
        }
        Ok(Values {
            vars,
            declared: front.vars.iter().map(|v| v.name.clone()).collect(),
            secrets: front.secrets.iter().map(|s| s.name.clone()).collect(),
            secret_sources: front.secrets.iter().map(|s| (s.name.clone(), s.source.clone())).collect(),
            env: env.map(str::to_owned),
            runbook: runbook.name.clone(),
        })
    }

    /// The variables with a value (never secrets), plus `env` and
    /// `runbook`: what `when=` conditions may read.
    pub fn variables(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(self.env.as_deref().map(|env| ("env", env)))
            .chain([("runbook", self.runbook.as_str())])
    }

    fn context(&self) -> Value {
        let mut map: BTreeMap<String, Value> =
            self.vars.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        for secret in &self.secrets {
            map.insert(secret.clone(), Value::from(MASK));
        }
        if let Some(env) = &self.env {
            map.insert("env".to_owned(), Value::from(env.as_str()));
        }
        map.insert("runbook".to_owned(), Value::from(self.runbook.as_str()));
        Value::from_object(map)
    }
}

/// Values with the real secrets, for use, never for display: what a probe
/// connects with. Text shown to anyone goes through [`Redactor`] first.
#[derive(Debug, Clone)]
pub struct Secrets {
    context: Value,
    /// Every declared secret's name, set or not.
    names: Vec<String>,
    /// Declared variables with no value yet: a run asks for them.
    unset_vars: Vec<String>,
    /// Secret names whose source gave nothing, with why.
    unset: Vec<(String, String)>,
    redactor: Redactor,
}

impl Values {
    /// Reads every declared secret from its source (an environment variable
    /// or a file). A secret that cannot be read is not an error until a
    /// template uses it.
    pub fn with_secrets(&self) -> Secrets {
        let mut map: BTreeMap<String, Value> =
            self.vars.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        let mut unset = Vec::new();
        let mut redactor = Redactor::default();
        for (name, source) in &self.secret_sources {
            let value = match source {
                SecretSource::Env(var) => std::env::var(var).map_err(|_| format!("export {var}")),
                SecretSource::File(path) => std::fs::read_to_string(path)
                    .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
                    .map_err(|e| format!("cannot read {path}: {e}")),
            };
            match value {
                Ok(value) => {
                    redactor.add(&value);
                    map.insert(name.clone(), Value::from(value));
                }
                Err(why) => unset.push((name.clone(), why)),
            }
        }
        if let Some(env) = &self.env {
            map.insert("env".to_owned(), Value::from(env.as_str()));
        }
        map.insert("runbook".to_owned(), Value::from(self.runbook.as_str()));
        let names = self.secret_sources.iter().map(|(name, _)| name.clone()).collect();
        let unset_vars = self.declared.iter().filter(|name| !self.vars.contains_key(*name)).cloned().collect();
        Secrets { context: Value::from_object(map), names, unset_vars, unset, redactor }
    }
}

impl Secrets {
    /// Renders `text` with real values and no quoting: a URL, a host, a
    /// header. Fails on anything undefined, naming what is missing.
    pub fn render(&self, text: &str) -> Result<String, String> {
        if !text.contains("{{") {
            return Ok(text.to_owned());
        }
        RENDERING.render_str(text, &self.context).map_err(|error| {
            let defined = |name: &str| self.context.get_attr(name).is_ok_and(|v| !v.is_undefined());
            let mut names = Vec::new();
            for (_, found) in placeholder::find(text, false) {
                if let Found::Template(expr) = found {
                    names.extend(undeclared(expr, defined).unwrap_or_default());
                }
            }
            match names.first() {
                Some(name) => match self.unset.iter().find(|(n, _)| n == name) {
                    Some((_, why)) => format!("secret `{name}` is not set ({why})"),
                    None => format!("`{name}` has no value; pass --set {name}=…"),
                },
                None => format!("cannot render `{text}`: {error}"),
            }
        })
    }

    /// What masks this run's secrets in anything shown.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}

/// Text rendered for display, and the variables it still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// Declared variables with no value yet: a run would ask for them.
    pub missing: Vec<String>,
    /// Names no variable declares: left as written.
    pub undeclared: Vec<String>,
}

/// Renders `text` for a person to read: secrets masked, values quoted as
/// they would be when run, unresolved placeholders left as written.
pub fn render_display(text: &str, values: &Values, quoting: Quoting) -> Rendered {
    let env = &*RENDERING;
    let context = values.context();
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    let mut last = 0;
    for (range, found) in placeholder::find(text, false) {
        let Found::Template(expr) = found else { continue };
        out.push_str(&text[last..range.start]);
        last = range.end;
        let value = env.compile_expression(expr).and_then(|e| e.eval(&context));
        match value {
            Ok(value) if !value.is_undefined() => {
                let value = value.to_string();
                let masked = values.secrets.iter().any(|s| expr == s) || value == MASK;
                match quoting {
                    Quoting::Shell if !masked => {
                        out.push_str(&shell::quote(&value, shell::quote_context(text, range.start)));
                    }
                    Quoting::Sql if !masked => out.push_str(&sql_literal(&value)),
                    _ => out.push_str(&value),
                }
            }
            _ => {
                for name in
                    undeclared(expr, |name| values.vars.contains_key(name) || values.secrets.iter().any(|s| s == name))
                        .unwrap_or_else(|_| vec![expr.to_owned()])
                {
                    let bucket = if values.declared.contains(&name) { &mut missing } else { &mut unknown };
                    if !bucket.contains(&name) {
                        bucket.push(name);
                    }
                }
                out.push_str(&text[range]);
            }
        }
    }
    out.push_str(&text[last..]);
    Rendered { text: out, missing, undeclared: unknown }
}

/// `value` as an SQL literal: numbers bare, anything else single-quoted.
pub fn sql_literal(value: &str) -> String {
    if value.parse::<i64>().is_ok() || value.parse::<f64>().is_ok_and(f64::is_finite) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// The root variable names `expr` uses that `declared` does not know, or
/// the syntax error that stops it from being read.
pub fn undeclared(expr: &str, declared: impl Fn(&str) -> bool) -> Result<Vec<String>, String> {
    let expression = ANALYSIS.compile_expression(expr).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = expression.undeclared_variables(false).into_iter().filter(|n| !declared(n)).collect();
    names.sort();
    Ok(names)
}

/// Compiles `expr` (an `expect:` or `when=`) for evaluation: names it uses
/// that the context does not define are errors, never silently false.
pub fn compile_expression(expr: &str) -> Result<minijinja::Expression<'static, 'static>, String> {
    RENDERING.compile_expression_owned(expr.to_owned()).map_err(|e| e.to_string())
}

/// Checks that `expr` (a `when=` or `expect:`) is a valid expression.
pub fn check_expression(expr: &str) -> Result<(), String> {
    ANALYSIS.compile_expression(expr).map(|_| ()).map_err(|e| e.to_string())
}

/// One environment for analysing expressions: building one per placeholder
/// cost lint more than all the rest of its rules.
static ANALYSIS: std::sync::LazyLock<Environment<'static>> = std::sync::LazyLock::new(environment);

/// Rendering fails on an undefined name instead of printing nothing.
static RENDERING: std::sync::LazyLock<Environment<'static>> = std::sync::LazyLock::new(|| {
    let mut env = environment();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // `send: "PING\r\n"` must keep its line end.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default syntax is valid"),
    );
    env
});

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_recursion_limit(64);
    // Runbook templates hold values, not programs: without the global
    // functions a variable called `namespace` or `range` is just a variable.
    let globals: Vec<String> = env.globals().map(|(name, _)| name.to_owned()).collect();
    for name in globals {
        env.remove_global(&name);
    }
    env
}
