//! The fence info string: `` ```sh {name=drain confirm timeout=30s} ``.
//!
//! The first word is the language, matched case-insensitively. runwell's
//! attributes live in one `{…}` group after it, so other renderers show the
//! block as ordinary `sh`. Text after the language that is not in braces
//! (`title="x"` for a docs site) belongs to other tools and is ignored.

use std::time::Duration;

use super::diagnostic::{Diagnostic, Location, hint};
use super::front_matter::parse_duration;
use super::safety::Safety;

/// Every attribute runwell reads, for did-you-mean hints.
pub const NAMES: &[&str] = &[
    "name",
    "confirm",
    "destructive",
    "safety",
    "timeout",
    "retries",
    "when",
    "continue-on-error",
    "rollback",
    "wait",
    "interval",
    "conn",
    "expect",
    "cwd",
    "norun",
];

/// What the info string says about a step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub name: Option<String>,
    /// Ask y/N before running; `Some(text)` when the author wrote the question.
    pub confirm: Option<Option<String>>,
    /// Explicit safety (`destructive`, `safety=read`); inferred when absent.
    pub safety: Option<Safety>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    /// A minijinja condition over earlier results; the step is skipped when false.
    pub when: Option<String>,
    pub continue_on_error: bool,
    /// This block undoes a step: the previous one (`Some(None)`) or the named
    /// one (`Some(Some(name))`).
    pub rollback: Option<Option<String>>,
    /// For a `checks` gate: poll until the checks pass or this much time passes.
    pub wait: Option<Duration>,
    /// For a `checks` gate: time between polls.
    pub interval: Option<Duration>,
    /// For `sql` and `redis` steps: the connection name from front matter.
    pub conn: Option<String>,
    /// For `http` steps: the expectation over the response.
    pub expect: Option<String>,
    /// Working directory for shell steps.
    pub cwd: Option<String>,
    /// A shell block shown as an example only: not a step.
    pub norun: bool,
}

/// A parsed info string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoString {
    /// Lower-cased first word, `""` for an untagged fence.
    pub language: String,
    pub attributes: Attributes,
    /// True when a `{…}` group was present: the author is writing for runwell.
    pub annotated: bool,
}

/// Parses `info` (the text after the fence characters) at `location`.
pub fn parse(info: &str, location: Location, diagnostics: &mut Vec<Diagnostic>) -> InfoString {
    let info = info.trim();
    let (language, rest) = match info.find(|c: char| c.is_whitespace() || c == '{') {
        Some(i) => (&info[..i], info[i..].trim_start()),
        None => (info, ""),
    };
    let mut parsed = InfoString { language: language.to_ascii_lowercase(), ..InfoString::default() };
    let Some(group) = rest.strip_prefix('{') else { return parsed };
    parsed.annotated = true;
    let Some(end) = group.rfind('}') else {
        diagnostics.push(Diagnostic::error(
            "attribute",
            location,
            "the attribute group `{` in this fence's info string is never closed with `}`".to_owned(),
        ));
        return parsed;
    };
    for (key, value) in tokens(&group[..end]) {
        apply(&mut parsed.attributes, &key, value, location, diagnostics);
    }
    parsed
}

/// Splits `a=1 b="two words",c` into pairs.
fn tokens(group: &str) -> Vec<(String, Option<String>)> {
    let mut pairs = Vec::new();
    let mut chars = group.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != ',' && *c != '=') {
            key.push(c);
        }
        if key.is_empty() && chars.peek().is_none() {
            return pairs;
        }
        let value = if chars.next_if_eq(&'=').is_some() {
            let mut value = String::new();
            match chars.peek().copied() {
                Some(quote @ ('"' | '\'')) => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' if quote == '"' => value.extend(chars.next()),
                            c if c == quote => break,
                            c => value.push(c),
                        }
                    }
                }
                _ => {
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != ',') {
                        value.push(c);
                    }
                }
            }
            Some(value)
        } else {
            None
        };
        if !key.is_empty() {
            pairs.push((key, value));
        }
    }
}

fn apply(
    attributes: &mut Attributes,
    key: &str,
    value: Option<String>,
    location: Location,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut error = |message: String| diagnostics.push(Diagnostic::error("attribute", location, message));
    let flag = |value: &Option<String>, error: &mut dyn FnMut(String)| match value.as_deref() {
        None | Some("true" | "yes") => true,
        Some("false" | "no") => false,
        Some(other) => {
            error(format!("attribute `{key}` is a flag: write `{key}` alone, not `{key}={other}`"));
            false
        }
    };
    let duration = |value: &Option<String>, error: &mut dyn FnMut(String)| {
        let text = value.as_deref().unwrap_or_default();
        let parsed = parse_duration(text);
        if parsed.is_none() {
            error(format!("attribute `{key}` needs a duration like `30s`, `5m` or `1h30m`, not `{text}`"));
        }
        parsed
    };
    let text = |value: Option<String>, error: &mut dyn FnMut(String)| {
        if value.as_deref().is_none_or(str::is_empty) {
            error(format!("attribute `{key}` needs a value: `{key}=…`"));
        }
        value.filter(|v| !v.is_empty())
    };
    match key {
        "name" => {
            attributes.name = text(value, &mut error);
            if let Some(name) = &attributes.name
                && !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                error(format!("step name `{name}` may hold only letters, digits, `-` and `_`"));
            }
        }
        "confirm" => {
            attributes.confirm = match value.as_deref() {
                None | Some("true" | "yes") => Some(None),
                Some("false" | "no") => None,
                Some(_) => Some(value),
            }
        }
        "destructive" => {
            if flag(&value, &mut error) {
                attributes.safety = Some(Safety::Destructive);
            }
        }
        "safety" => {
            attributes.safety = match value.as_deref() {
                Some("read") => Some(Safety::Read),
                Some("write") => Some(Safety::Write),
                Some("destructive") => Some(Safety::Destructive),
                other => {
                    error(format!(
                        "`safety` must be `read`, `write` or `destructive`, not `{}`",
                        other.unwrap_or_default()
                    ));
                    None
                }
            }
        }
        "timeout" => attributes.timeout = duration(&value, &mut error),
        "wait" => attributes.wait = duration(&value, &mut error),
        "interval" => attributes.interval = duration(&value, &mut error),
        "retries" => {
            attributes.retries = value.as_deref().and_then(|v| v.parse().ok());
            if attributes.retries.is_none() {
                error(format!("attribute `retries` needs a whole number, not `{}`", value.unwrap_or_default()));
            }
        }
        "when" => attributes.when = text(value, &mut error),
        "expect" => attributes.expect = text(value, &mut error),
        "conn" => attributes.conn = text(value, &mut error),
        "cwd" => attributes.cwd = text(value, &mut error),
        "continue-on-error" => attributes.continue_on_error = flag(&value, &mut error),
        "norun" => attributes.norun = flag(&value, &mut error),
        "rollback" => attributes.rollback = Some(value.filter(|v| !v.is_empty())),
        _ => {
            let suggestion = hint(key, NAMES.iter().copied());
            diagnostics.push(Diagnostic::error(
                "unknown-attribute",
                location,
                format!("unknown attribute `{key}`{suggestion}; runwell reads: {}", NAMES.join(", ")),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(info: &str) -> InfoString {
        let mut diagnostics = Vec::new();
        let parsed = parse(info, Location::new(1, 1), &mut diagnostics);
        assert_eq!(diagnostics, [], "{info}");
        parsed
    }

    #[test]
    fn language_is_case_insensitive_and_attributes_optional() {
        assert_eq!(parse_ok("Bash").language, "bash");
        assert_eq!(parse_ok("SQL").language, "sql");
        assert_eq!(parse_ok("").language, "");
        assert!(!parse_ok("bash title=\"restart.sh\"").annotated);
    }

    #[test]
    fn attributes_are_read() {
        let info = parse_ok(r#"sh {name=drain confirm timeout=30s retries=2 when="steps.check.ok" continue-on-error}"#);
        let a = info.attributes;
        assert_eq!(a.name.as_deref(), Some("drain"));
        assert_eq!(a.confirm, Some(None));
        assert_eq!(a.timeout, Some(Duration::from_secs(30)));
        assert_eq!(a.retries, Some(2));
        assert_eq!(a.when.as_deref(), Some("steps.check.ok"));
        assert!(a.continue_on_error);
        let gate = parse_ok("checks{wait=30s}");
        assert_eq!(gate.language, "checks");
        assert_eq!(gate.attributes.wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn unknown_attributes_get_a_suggestion() {
        let mut diagnostics = Vec::new();
        parse("sh {confrim timout=3s}", Location::new(4, 1), &mut diagnostics);
        let messages: Vec<_> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(messages[0].starts_with("unknown attribute `confrim` (did you mean `confirm`?)"), "{messages:?}");
        assert!(messages[1].starts_with("unknown attribute `timout` (did you mean `timeout`?)"), "{messages:?}");
    }

    #[test]
    fn bad_values_are_reported() {
        let mut diagnostics = Vec::new();
        parse("sh {timeout=soon retries=x safety=maybe confirm=", Location::new(1, 1), &mut diagnostics);
        assert_eq!(diagnostics.len(), 1, "unclosed group reported once: {diagnostics:?}");
        diagnostics.clear();
        parse("sh {timeout=soon retries=x safety=maybe}", Location::new(1, 1), &mut diagnostics);
        assert_eq!(diagnostics.len(), 3, "{diagnostics:?}");
    }
}
