//! From a check as written (templates) to a check ready to probe: every
//! string rendered with the run's values and real secrets.

use std::time::Duration;

use serde_json::Value;

use super::Params;
use crate::runbook::{CheckSpec, ProbeKind};
use crate::template::Secrets;

/// A check with its templates rendered. `Debug` leaves out the rendered
/// target and parameters, which may hold secrets.
#[derive(Clone, PartialEq)]
pub struct Resolved {
    pub runbook: String,
    pub name: String,
    pub layer: Option<String>,
    pub kind: ProbeKind,
    /// The rendered target, secrets included: for the probe only.
    pub target: String,
    /// The target as anyone may see it: secrets masked, passwords in URLs too.
    pub shown_target: String,
    pub params: Params,
    pub expect: Option<String>,
    pub warn: Option<String>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    /// Why the check cannot run as written (a value or secret missing).
    pub error: Option<String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("runbook", &self.runbook)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("shown_target", &self.shown_target)
            .field("expect", &self.expect)
            .field("warn", &self.warn)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Renders `spec` for `runbook` with `secrets`. A template that cannot be
/// rendered is kept as the check's error, to report as `unknown`.
pub fn resolve(runbook: &str, spec: &CheckSpec, secrets: &Secrets) -> Resolved {
    let mut error = None;
    let mut render = |text: &str| match secrets.render(text) {
        Ok(rendered) => rendered,
        Err(why) => {
            error.get_or_insert(why);
            text.to_owned()
        }
    };
    let target = render(&spec.target);
    let params = spec.params.iter().map(|(key, value)| (key.clone(), render_value(value, &mut render))).collect();
    let shown_target = secrets.redactor().redact(&hide_url_password(&target));
    Resolved {
        runbook: runbook.to_owned(),
        name: spec.name.clone(),
        layer: spec.layer.clone(),
        kind: spec.kind,
        target,
        shown_target,
        params: Params(params),
        expect: spec.expect.clone(),
        warn: spec.warn.clone(),
        timeout: spec.timeout,
        retries: spec.retries.unwrap_or(0),
        error,
    }
}

fn render_value(value: &Value, render: &mut impl FnMut(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(render(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_value(v, render)).collect()),
        Value::Object(entries) => {
            Value::Object(entries.iter().map(|(k, v)| (k.clone(), render_value(v, render))).collect())
        }
        other => other.clone(),
    }
}

/// `scheme://user:password@host` shown as `scheme://user:********@host`:
/// a password written into a URL is a secret even when not declared as one.
pub fn hide_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_owned() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    let Some(colon) = rest[..at].find(':') else { return url.to_owned() };
    format!("{}{}{}{}", &url[..scheme_end + 3], &rest[..=colon], crate::template::MASK, &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::hide_url_password;

    /// Regression: `Resolved` derived `Debug`, so a `{:?}` anywhere would
    /// have printed a check's rendered password.
    #[test]
    fn debug_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "hunter2-Zq9\n").unwrap();
        let source = format!(
            "---\nsecrets:\n  pw: {{ file: {} }}\n---\n# R\n\n```checks\n- name: db\n  \
             redis: \"redis://:{{{{ pw }}}}@127.0.0.1:6379\"\n  password: \"{{{{ pw }}}}\"\n```\n",
            file.display()
        );
        let runbook = crate::runbook::parse(std::path::Path::new("r.md"), &source).runbook;
        let secrets = crate::template::Values::resolve(&runbook, None, &[]).unwrap().with_secrets();
        let resolved = super::resolve(&runbook.name, runbook.check("db").unwrap(), &secrets);
        assert!(resolved.target.contains("hunter2-Zq9"), "the probe gets the secret: {}", resolved.shown_target);
        let shown = format!("{resolved:?}");
        assert!(!shown.contains("hunter2-Zq9") && shown.contains("********"), "{shown}");
        let redactor = format!("{:?}", secrets.redactor());
        assert_eq!(redactor, "Redactor { secrets: 1 }");
    }

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        assert_eq!(hide_url_password("redis://:s3cret@127.0.0.1:6379/0"), "redis://:********@127.0.0.1:6379/0");
        assert_eq!(
            hide_url_password("postgres://app:pw@db:5432/x?sslmode=disable"),
            "postgres://app:********@db:5432/x?sslmode=disable"
        );
        assert_eq!(hide_url_password("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(hide_url_password("http://h/p?u=a:b@c"), "http://h/p?u=a:b@c");
        assert_eq!(hide_url_password("not a url"), "not a url");
    }
}
