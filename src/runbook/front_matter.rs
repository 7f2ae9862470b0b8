//! Front matter: the YAML block at the top of a runbook that declares its
//! name, variables, environments, secrets, services, connections and alerts.
//!
//! Keys written for other tools (Hugo's `title` and `weight`, GOV.UK's
//! `owner_slack`, …) are kept untouched and are not errors; only a key that
//! looks like a misspelling of one of ours earns a warning.

use std::time::Duration;

use super::diagnostic::{Diagnostic, Location, hint};
use super::safety::Safety;
use super::yaml::{self, Node, Value};

/// The runwell keys a front matter may hold.
pub const KEYS: &[&str] =
    &["runbook", "description", "vars", "environments", "secrets", "services", "connections", "alerts"];

const CONNECTION_KEYS: &[&str] = &["url", "username", "password"];
const SERVICE_KEYS: &[&str] = &["after", "check", "checks", "unit", "start", "stop", "restart", "description"];
const SECRET_KEYS: &[&str] = &["env", "file", "description"];
const VAR_KEYS: &[&str] = &["default", "description"];
const ALERT_KEYS: &[&str] = &["match", "run", "env", "allow", "option", "values"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    /// Where the block is, when there is one.
    pub location: Option<Location>,
    pub runbook: Option<String>,
    pub description: Option<String>,
    pub vars: Vec<Var>,
    pub environments: Vec<Environment>,
    pub secrets: Vec<Secret>,
    pub services: Vec<Service>,
    pub connections: Vec<Connection>,
    pub alerts: Vec<Alert>,
    /// `last_reviewed_on` + `review_in`, as GOV.UK-style runbooks write them.
    pub review: Option<Review>,
    /// Every other key, kept as written (as JSON), in document order.
    pub extra: Vec<(String, serde_json::Value)>,
}

/// A variable: `admin_url: http://127.0.0.1:8000`, or a mapping with
/// `default` and `description`. No default means the operator must give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub default: Option<String>,
    pub description: Option<String>,
    pub location: Location,
}

/// Variable values that replace the defaults under `--env NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub values: Vec<(String, String, Location)>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub source: SecretSource,
    pub location: Location,
}

/// Where a secret's value comes from. The value itself is never in a runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(String),
}

/// A node of the service graph: started after `after`, healthy when
/// `checks` pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub after: Vec<(String, Location)>,
    pub checks: Vec<(String, Location)>,
    /// The systemd unit, when it differs from the name.
    pub unit: Option<String>,
    pub start: Option<String>,
    pub stop: Option<String>,
    pub restart: Option<String>,
    pub location: Location,
}

impl Service {
    pub fn unit(&self) -> &str {
        self.unit.as_deref().unwrap_or(&self.name)
    }
}

/// A named database or Redis connection for `sql` and `redis` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub name: String,
    /// A URL template: `postgres://…` or `redis://…`.
    pub url: String,
    /// Templates for the credentials, when they are not in the URL (a
    /// secret kept out of a URL that checks and docs show).
    pub username: Option<String>,
    pub password: Option<String>,
    pub location: Location,
}

/// Alert labels that start a procedure when Alertmanager fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub matchers: Vec<(String, String)>,
    /// The procedure id to run.
    pub run: String,
    pub run_location: Location,
    pub env: Option<String>,
    /// The most a triggered run may do without a person: `read` by default.
    pub allow: Safety,
    /// Variable → template of the alert's labels (`"{{ labels.branch }}"`):
    /// the values the run gets from the alert.
    pub values: Vec<(String, String)>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub last_reviewed_on: jiff::civil::Date,
    /// The period as written (`6 months`).
    pub review_in: String,
    /// `last_reviewed_on` + `review_in`.
    pub due: jiff::civil::Date,
    pub location: Location,
}

/// Where the front matter ends and what kind it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML text between the delimiters (`None` for TOML front matter,
    /// which runwell keeps but does not read).
    pub yaml: Option<&'a str>,
    /// Byte offset where the Markdown body starts.
    pub body_start: usize,
}

/// Finds a `---` … `---` (YAML) or `+++` … `+++` (TOML) block at the very top.
pub fn split<'a>(source: &'a str, diagnostics: &mut Vec<Diagnostic>) -> Split<'a> {
    let none = Split { yaml: None, body_start: 0 };
    let (delimiter, is_yaml) = if source.starts_with("---") {
        ("---", true)
    } else if source.starts_with("+++") {
        ("+++", false)
    } else {
        return none;
    };
    let Some(first_end) = source.find('\n') else { return none };
    if source[..first_end].trim_end() != delimiter {
        return none;
    }
    let mut offset = first_end + 1;
    while offset < source.len() {
        let end = source[offset..].find('\n').map_or(source.len(), |i| offset + i);
        let line = source[offset..end].trim_end();
        if line == delimiter || (is_yaml && line == "...") {
            let body_start = (end + 1).min(source.len());
            let inner = &source[first_end + 1..offset];
            return Split { yaml: is_yaml.then_some(inner), body_start };
        }
        offset = end + 1;
    }
    diagnostics.push(Diagnostic::warning(
        "front-matter",
        Location::new(1, 1),
        format!("front matter opened by `{delimiter}` on line 1 is never closed, so it is read as Markdown; close it with a `{delimiter}` line"),
    ));
    none
}

/// Parses the YAML front matter (which starts on line 2 of the file).
pub(super) fn parse(yaml_text: &str, diagnostics: &mut Vec<Diagnostic>) -> FrontMatter {
    let mut front = FrontMatter { location: Some(Location::new(1, 1)), ..FrontMatter::default() };
    let root = match yaml::load(yaml_text, 2, 0) {
        Ok(Some(root)) => root,
        Ok(None) => return front,
        Err(error) => {
            diagnostics.push(Diagnostic::error(
                "front-matter",
                error.location,
                format!("front matter is not valid YAML: {}; runwell ignores it until this is fixed", error.message),
            ));
            return front;
        }
    };
    let Some(entries) = root.as_mapping() else {
        if !root.is_null() {
            diagnostics.push(Diagnostic::error(
                "front-matter",
                root.location,
                format!("front matter must be a mapping of keys, not {}", root.type_name()),
            ));
        }
        return front;
    };
    let mut reviewed: Option<&Node> = None;
    let mut review_in: Option<&Node> = None;
    for (key, value) in entries {
        let name = key.as_str().unwrap_or_default();
        let mut d = Reader { diagnostics };
        match name {
            "runbook" => front.runbook = d.string(value, "runbook"),
            "description" => front.description = d.string(value, "description"),
            "vars" => front.vars = d.map_entries(value, "vars", |r, n, v, l| Some(r.var(n, v, l))),
            "environments" => {
                front.environments = d.map_entries(value, "environments", |r, n, v, l| Some(r.environment(n, v, l)));
            }
            "secrets" => front.secrets = d.map_entries(value, "secrets", Reader::secret),
            "services" => front.services = d.map_entries(value, "services", |r, n, v, l| Some(r.service(n, v, l))),
            "connections" => front.connections = d.map_entries(value, "connections", Reader::connection),
            "alerts" => front.alerts = d.alerts(value),
            _ => {
                if name == "last_reviewed_on" {
                    reviewed = Some(value);
                } else if name == "review_in" {
                    review_in = Some(value);
                }
                let suggestion = hint(name, KEYS.iter().copied());
                if !suggestion.is_empty() {
                    diagnostics.push(Diagnostic::warning(
                        "unknown-key",
                        key.location,
                        format!("front-matter key `{name}` is not one runwell knows{suggestion}; other tools' keys are fine, but a misspelt runwell key is ignored"),
                    ));
                }
                front.extra.push((name.to_owned(), value.to_json()));
            }
        }
    }
    if let (Some(reviewed), Some(review_in)) = (reviewed, review_in) {
        front.review = parse_review(reviewed, review_in, diagnostics);
    }
    front
}

fn parse_review(reviewed: &Node, review_in: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<Review> {
    let date_text = reviewed.as_scalar_string().unwrap_or_default();
    let Ok(date) = date_text.trim().parse::<jiff::civil::Date>() else {
        diagnostics.push(Diagnostic::warning(
            "stale-review",
            reviewed.location,
            format!("`last_reviewed_on: {date_text}` is not a date runwell understands; write it as YYYY-MM-DD"),
        ));
        return None;
    };
    let span_text = review_in.as_scalar_string().unwrap_or_default();
    let Some(due) = parse_span(&span_text).and_then(|span| date.checked_add(span).ok()) else {
        diagnostics.push(Diagnostic::warning(
            "stale-review",
            review_in.location,
            format!(
                "`review_in: {span_text}` is not a period runwell understands; write it like `6 months` or `2 weeks`"
            ),
        ));
        return None;
    };
    Some(Review { last_reviewed_on: date, review_in: span_text.trim().to_owned(), due, location: review_in.location })
}

/// A calendar period such as `6 months`, `1 year`, `2w`.
fn parse_span(text: &str) -> Option<jiff::Span> {
    text.trim().parse::<jiff::Span>().ok()
}

/// A duration such as `30s`, `5m`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let duration = text.parse::<jiff::SignedDuration>().ok().or_else(|| {
        // `5m` reads as five minutes; jiff's friendly format needs a span for that.
        text.parse::<jiff::Span>()
            .ok()
            .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).ok())
    })?;
    Duration::try_from(duration).ok()
}

/// Reads the typed parts of the front matter, reporting what is malformed.
struct Reader<'d> {
    diagnostics: &'d mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        let text = node.as_scalar_string();
        if text.is_none() && !node.is_null() {
            self.error(node.location, format!("`{what}` must be text, not {}", node.type_name()));
        }
        text
    }

    fn error(&mut self, location: Location, message: String) {
        self.diagnostics.push(Diagnostic::error("front-matter", location, message));
    }

    fn unknown_keys(&mut self, node: &Node, known: &[&str], what: &str) {
        for (key, _) in node.as_mapping().unwrap_or_default() {
            let name = key.as_str().unwrap_or_default();
            if !known.contains(&name) {
                let suggestion = hint(name, known.iter().copied());
                self.diagnostics.push(Diagnostic::error(
                    "unknown-key",
                    key.location,
                    format!("{what} has no key `{name}`{suggestion}; known keys: {}", known.join(", ")),
                ));
            }
        }
    }

    fn map_entries<T>(
        &mut self,
        node: &Node,
        what: &str,
        mut read: impl FnMut(&mut Self, &str, &Node, Location) -> Option<T>,
    ) -> Vec<T> {
        match &node.value {
            Value::Mapping(entries) => entries
                .iter()
                .filter_map(|(key, value)| {
                    let name = key.as_scalar_string().unwrap_or_default();
                    read(self, &name, value, key.location)
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.error(node.location, format!("`{what}` must be a mapping of names, not {}", node.type_name()));
                Vec::new()
            }
        }
    }

    fn var(&mut self, name: &str, node: &Node, location: Location) -> Var {
        let mut var = Var { name: name.to_owned(), default: None, description: None, location };
        match &node.value {
            Value::Mapping(_) => {
                self.unknown_keys(node, VAR_KEYS, &format!("variable `{name}`"));
                var.default = get(node, "default").and_then(Node::as_scalar_string);
                var.description = get(node, "description").and_then(Node::as_scalar_string);
            }
            Value::Sequence(_) => {
                self.error(
                    node.location,
                    format!("variable `{name}` must be a value or a mapping with `default`, not a list"),
                );
            }
            _ => var.default = node.as_scalar_string(),
        }
        var
    }

    fn environment(&mut self, name: &str, node: &Node, location: Location) -> Environment {
        let mut environment = Environment { name: name.to_owned(), values: Vec::new(), location };
        match &node.value {
            Value::Mapping(entries) => {
                for (key, value) in entries {
                    let var = key.as_scalar_string().unwrap_or_default();
                    match value.as_scalar_string() {
                        Some(text) => environment.values.push((var, text, key.location)),
                        None => self.error(
                            value.location,
                            format!("environment `{name}` sets `{var}` to {}; give it a value", value.type_name()),
                        ),
                    }
                }
            }
            Value::Null => {}
            _ => self.error(node.location, format!("environment `{name}` must map variable names to values")),
        }
        environment
    }

    fn secret(&mut self, name: &str, node: &Node, location: Location) -> Option<Secret> {
        if node.as_mapping().is_none() {
            self.error(
                node.location,
                format!("secret `{name}` must say where its value comes from: `{{ env: VARIABLE }}` or `{{ file: PATH }}`; never write the value itself in a runbook"),
            );
            return None;
        }
        self.unknown_keys(node, SECRET_KEYS, &format!("secret `{name}`"));
        let source = match (
            get(node, "env").and_then(Node::as_scalar_string),
            get(node, "file").and_then(Node::as_scalar_string),
        ) {
            (Some(env), None) => SecretSource::Env(env),
            (None, Some(file)) => SecretSource::File(file),
            _ => {
                self.error(node.location, format!("secret `{name}` needs exactly one of `env` or `file`"));
                return None;
            }
        };
        Some(Secret { name: name.to_owned(), source, location })
    }

    fn service(&mut self, name: &str, node: &Node, location: Location) -> Service {
        let mut service = Service {
            name: name.to_owned(),
            after: Vec::new(),
            checks: Vec::new(),
            unit: None,
            start: None,
            stop: None,
            restart: None,
            location,
        };
        if node.is_null() {
            return service;
        }
        if node.as_mapping().is_none() {
            self.error(node.location, format!("service `{name}` must be a mapping (`after`, `check`, `start`, …)"));
            return service;
        }
        self.unknown_keys(node, SERVICE_KEYS, &format!("service `{name}`"));
        service.after = self.names(get(node, "after"), "after");
        service.checks = self.names(get(node, "check"), "check");
        service.checks.extend(self.names(get(node, "checks"), "checks"));
        service.unit = get(node, "unit").and_then(Node::as_scalar_string);
        service.start = get(node, "start").and_then(Node::as_scalar_string);
        service.stop = get(node, "stop").and_then(Node::as_scalar_string);
        service.restart = get(node, "restart").and_then(Node::as_scalar_string);
        service
    }

    /// A name or a list of names.
    fn names(&mut self, node: Option<&Node>, what: &str) -> Vec<(String, Location)> {
        let Some(node) = node else { return Vec::new() };
        match &node.value {
            Value::Sequence(items) => items
                .iter()
                .filter_map(|item| {
                    let name = item.as_scalar_string();
                    if name.is_none() {
                        self.error(item.location, format!("`{what}` lists names, not {}", item.type_name()));
                    }
                    name.map(|n| (n, item.location))
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => node.as_scalar_string().map_or_else(
                || {
                    self.error(node.location, format!("`{what}` must be a name or a list of names"));
                    Vec::new()
                },
                |n| vec![(n, node.location)],
            ),
        }
    }

    fn connection(&mut self, name: &str, node: &Node, location: Location) -> Option<Connection> {
        let shape = "must be a URL such as `postgres://user@127.0.0.1:5432/db` or `redis://127.0.0.1:6379`, or `{ url: URL, password: \"{{ secret }}\" }`";
        if let Some(url) = node.as_scalar_string() {
            return Some(Connection { name: name.to_owned(), url, username: None, password: None, location });
        }
        if node.as_mapping().is_none() {
            self.error(node.location, format!("connection `{name}` {shape}"));
            return None;
        }
        self.unknown_keys(node, CONNECTION_KEYS, &format!("connection `{name}`"));
        let Some(url) = get(node, "url").and_then(Node::as_scalar_string) else {
            self.error(node.location, format!("connection `{name}` {shape}"));
            return None;
        };
        Some(Connection {
            name: name.to_owned(),
            url,
            username: get(node, "username").and_then(Node::as_scalar_string),
            password: get(node, "password").and_then(Node::as_scalar_string),
            location,
        })
    }

    fn alerts(&mut self, node: &Node) -> Vec<Alert> {
        let items = match &node.value {
            Value::Sequence(items) => items.as_slice(),
            Value::Null => return Vec::new(),
            _ => {
                self.error(
                    node.location,
                    "`alerts` must be a list of `{ match: {labels}, run: procedure }`".to_owned(),
                );
                return Vec::new();
            }
        };
        items.iter().filter_map(|item| self.alert(item)).collect()
    }

    fn alert(&mut self, node: &Node) -> Option<Alert> {
        if node.as_mapping().is_none() {
            self.error(node.location, "an alert must be a mapping with `match` and `run`".to_owned());
            return None;
        }
        self.unknown_keys(node, ALERT_KEYS, "an alert");
        let Some(run_node) = get(node, "run") else {
            self.error(node.location, "this alert has no `run`: name the procedure it starts".to_owned());
            return None;
        };
        let matchers = get(node, "match")
            .and_then(Node::as_mapping)
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, v)| Some((k.as_scalar_string()?, v.as_scalar_string()?)))
            .collect::<Vec<_>>();
        if matchers.is_empty() {
            self.error(node.location, "this alert has no `match` labels, so it would match every alert".to_owned());
        }
        let allow = match get(node, "allow").and_then(Node::as_scalar_string).as_deref() {
            None | Some("read") => Safety::Read,
            Some("write") => Safety::Write,
            Some("destructive") => Safety::Destructive,
            Some(other) => {
                self.error(node.location, format!("`allow: {other}` must be `read`, `write` or `destructive`"));
                Safety::Read
            }
        };
        let values = match get(node, "values") {
            None => Vec::new(),
            Some(values) => {
                if let Some(pairs) = values.as_mapping() {
                    pairs.iter().filter_map(|(k, v)| Some((k.as_scalar_string()?, v.as_scalar_string()?))).collect()
                } else {
                    self.error(
                        values.location,
                        "`values` must map variables to templates of the alert's labels: \
                         `{ branch: \"{{ labels.branch }}\" }`"
                            .to_owned(),
                    );
                    Vec::new()
                }
            }
        };
        Some(Alert {
            matchers,
            run: run_node.as_scalar_string().unwrap_or_default(),
            run_location: run_node.location,
            env: get(node, "env").and_then(Node::as_scalar_string),
            allow,
            values,
            location: node.location,
        })
    }
}

/// The value under `key` of a mapping node.
pub(super) fn get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.as_mapping()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_an_operator_writes_them() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_mins(5)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_mins(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-5s"), None);
    }

    #[test]
    fn a_connection_is_a_url_or_a_url_with_credentials_kept_apart() {
        let source = "---\nrunbook: t\nsecrets:\n  pw: { env: PW }\nconnections:\n  plain: redis://127.0.0.1:6379\n  guarded: { url: \"redis://127.0.0.1:6379\", password: \"{{ pw }}\" }\n  typo: { url: redis://x, pasword: y }\n---\n# T\n";
        let parsed = crate::runbook::parse(std::path::Path::new("t.md"), source);
        let connections = &parsed.runbook.front_matter.connections;
        assert_eq!(connections[0].password, None);
        assert_eq!(connections[1].password.as_deref(), Some("{{ pw }}"));
        assert_eq!(connections[1].url, "redis://127.0.0.1:6379");
        let messages: Vec<&str> = parsed.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("pasword")), "{messages:?}");
    }

    #[test]
    fn review_periods_read_like_govuk_writes_them() {
        for text in ["6 months", "1 year", "2 weeks", "3w", "1y"] {
            assert!(parse_span(text).is_some(), "{text}");
        }
    }
}
