//! Judging an observation: a check's `expect:` and `warn:` expressions (or
//! the probe's default) over the probe's result fields.
//!
//! An expression that cannot be evaluated — a syntax error, a field the
//! probe could not provide, a name the result does not have — gives
//! `unknown` with the reason. It never passes silently.

use minijinja::Expression;

use super::{Fields, Observation, Status, Verdict, one_line};
use crate::template;

/// A compiled `expect:` or `warn:`, or why it does not compile.
#[derive(Debug)]
pub struct Compiled {
    source: String,
    expression: Result<Expression<'static, 'static>, String>,
    /// Dotted paths the expression reads (`status`, `json.status`), for reasons.
    paths: Vec<String>,
}

impl Compiled {
    pub fn new(source: &str) -> Compiled {
        let expression = template::compile_expression(source);
        let mut paths: Vec<String> =
            expression.as_ref().map(|e| e.undeclared_variables(true).into_iter().collect()).unwrap_or_default();
        paths.sort();
        Compiled { source: source.to_owned(), expression, paths }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// `Ok(true)` when it holds, or why it could not be evaluated.
    fn holds(&self, context: &minijinja::Value, observation: &Observation) -> Result<bool, String> {
        let expression =
            self.expression.as_ref().map_err(|e| format!("`{}` is not a valid expression: {e}", self.source))?;
        for path in &self.paths {
            let root = path.split('.').next().unwrap_or(path);
            if let Some((_, why)) = observation.missing.iter().find(|(name, _)| *name == root) {
                return Err(format!("cannot evaluate `{}`: {why}", self.source));
            }
        }
        match expression.eval(context) {
            Ok(value) => Ok(value.is_true()),
            Err(error) => {
                let why = match error.kind() {
                    minijinja::ErrorKind::UndefinedError => {
                        let absent: Vec<&str> = self
                            .paths
                            .iter()
                            .filter(|p| lookup(&observation.fields, p).is_none())
                            .map(String::as_str)
                            .collect();
                        if absent.is_empty() {
                            "a value it reads is undefined".to_owned()
                        } else {
                            format!("the result has no `{}`", absent.join("`, `"))
                        }
                    }
                    _ => error.detail().unwrap_or("evaluation failed").to_owned(),
                };
                Err(format!("cannot evaluate `{}`: {why}", self.source))
            }
        }
    }

    /// `status is 503, json.status is "degraded"`: what the expression read.
    fn evidence(&self, fields: &Fields) -> String {
        let shown: Vec<String> = self
            .paths
            .iter()
            .filter_map(|path| {
                let value = lookup(fields, path)?;
                Some(format!("{path} is {}", one_line(&value.to_string(), 60)))
            })
            .collect();
        shown.join(", ")
    }
}

fn lookup<'a>(fields: &'a Fields, path: &str) -> Option<&'a serde_json::Value> {
    let mut parts = path.split('.');
    let mut value = fields.get(parts.next()?)?;
    for part in parts {
        value = match value {
            serde_json::Value::Object(map) => map.get(part)?,
            serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// A JSON value as a template value.
pub(crate) fn to_value(value: &serde_json::Value) -> minijinja::Value {
    use serde_json::Value as Json;
    match value {
        Json::Null => minijinja::Value::from(()),
        Json::Bool(b) => minijinja::Value::from(*b),
        Json::Number(n) => n
            .as_i64()
            .map(minijinja::Value::from)
            .or_else(|| n.as_u64().map(minijinja::Value::from))
            .unwrap_or_else(|| minijinja::Value::from(n.as_f64().unwrap_or(f64::NAN))),
        Json::String(s) => minijinja::Value::from(s.as_str()),
        Json::Array(items) => minijinja::Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        Json::Object(entries) => minijinja::Value::from(
            entries.iter().map(|(k, v)| (k.clone(), to_value(v))).collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

/// The verdict for `observation` under `expect` (or the probe's default)
/// and `warn`.
pub fn judge(observation: &Observation, expect: Option<&Compiled>, warn: Option<&Compiled>) -> Verdict {
    let context = minijinja::Value::from(
        observation.fields.iter().map(|(k, v)| (k.clone(), to_value(v))).collect::<std::collections::BTreeMap<_, _>>(),
    );
    let verdict = match expect {
        None => observation.default.clone(),
        Some(expect) => match expect.holds(&context, observation) {
            Ok(true) => Verdict::ok(),
            Ok(false) => {
                let evidence = expect.evidence(&observation.fields);
                if evidence.is_empty() {
                    Verdict::critical(format!("expected {}", expect.source))
                } else {
                    Verdict::critical(format!("{evidence}; expected {}", expect.source))
                }
            }
            Err(why) => return Verdict::unknown(why),
        },
    };
    if verdict.status == Status::Ok {
        return verdict;
    }
    match warn.map(|warn| warn.holds(&context, observation)) {
        Some(Ok(true)) => Verdict { status: Status::Warning, reason: verdict.reason },
        _ => verdict,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn observation(fields: serde_json::Value) -> Observation {
        let serde_json::Value::Object(fields) = fields else { unreachable!() };
        Observation::new(fields, "", Verdict::ok())
    }

    #[test]
    fn a_false_expectation_is_critical_and_says_what_was_seen() {
        let seen = observation(json!({"status": 503, "json": {"status": "degraded"}}));
        let expect = Compiled::new(r#"status == 200 and json.status == "healthy""#);
        let verdict = judge(&seen, Some(&expect), None);
        assert_eq!(verdict.status, Status::Critical);
        assert_eq!(
            verdict.reason,
            r#"json.status is "degraded", status is 503; expected status == 200 and json.status == "healthy""#
        );
    }

    #[test]
    fn warn_turns_a_failed_expectation_into_a_warning() {
        let seen = observation(json!({"status": 200, "latency_ms": 2500}));
        let expect = Compiled::new("status == 200 and latency_ms < 500");
        let warn = Compiled::new("latency_ms < 3000");
        assert_eq!(judge(&seen, Some(&expect), Some(&warn)).status, Status::Warning);
        let slow = observation(json!({"status": 200, "latency_ms": 4000}));
        assert_eq!(judge(&slow, Some(&expect), Some(&warn)).status, Status::Critical);
    }

    #[test]
    fn an_expectation_on_a_missing_field_is_unknown_never_a_pass() {
        let seen = observation(json!({"status": 200, "json": {"state": "up"}}));
        let verdict = judge(&seen, Some(&Compiled::new("json.status == 'healthy'")), None);
        assert_eq!(verdict.status, Status::Unknown);
        assert!(verdict.reason.contains("json.status"), "{}", verdict.reason);

        let mut not_json = observation(json!({"status": 200}));
        not_json.missing.push(("json", "the body is not JSON: expected value at line 1 column 1".to_owned()));
        let verdict = judge(&not_json, Some(&Compiled::new("json.status == 'ok'")), None);
        assert_eq!(verdict.status, Status::Unknown);
        assert!(
            verdict.reason.ends_with("the body is not JSON: expected value at line 1 column 1"),
            "{}",
            verdict.reason
        );
    }

    #[test]
    fn a_broken_expression_is_unknown() {
        let seen = observation(json!({"status": 200}));
        let verdict = judge(&seen, Some(&Compiled::new("status ==")), None);
        assert_eq!(verdict.status, Status::Unknown);
        assert!(verdict.reason.contains("not a valid expression"), "{}", verdict.reason);
    }

    #[test]
    fn without_expect_the_probe_default_decides() {
        let mut seen = observation(json!({"status": 503}));
        seen.default = Verdict::critical("status 503, expected 2xx");
        assert_eq!(judge(&seen, None, None), Verdict::critical("status 503, expected 2xx"));
    }
}
