//! `checks` blocks: the health-check matrix written as YAML.
//!
//! ```yaml
//! - name: admin-api
//!   layer: Admin API
//!   http: "{{ admin_url }}/health"
//!   expect: status == 200 and json.status == "healthy"
//! - use: redis            # a check defined elsewhere in the runbook
//! ```
//!
//! This module only reads the specification; probing is the `check` module's job.

use std::fmt;
use std::time::Duration;

use super::diagnostic::{Diagnostic, Location, hint};
use super::front_matter::{get, parse_duration};
use super::yaml::{self, Node, Value};

/// What a check talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    Http,
    Tcp,
    Tls,
    Dns,
    Redis,
    Postgres,
    Command,
    Systemd,
    File,
    Disk,
    Pidfile,
    Metric,
}

impl ProbeKind {
    /// `(key, kind)`: the key that names a check's probe and its target.
    /// `https` is `http` with the scheme implied.
    pub const KEYS: &[(&str, ProbeKind)] = &[
        ("http", ProbeKind::Http),
        ("https", ProbeKind::Http),
        ("tcp", ProbeKind::Tcp),
        ("tls", ProbeKind::Tls),
        ("dns", ProbeKind::Dns),
        ("redis", ProbeKind::Redis),
        ("postgres", ProbeKind::Postgres),
        ("command", ProbeKind::Command),
        ("systemd", ProbeKind::Systemd),
        ("file", ProbeKind::File),
        ("disk", ProbeKind::Disk),
        ("pidfile", ProbeKind::Pidfile),
        ("metric", ProbeKind::Metric),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Http => "http",
            ProbeKind::Tcp => "tcp",
            ProbeKind::Tls => "tls",
            ProbeKind::Dns => "dns",
            ProbeKind::Redis => "redis",
            ProbeKind::Postgres => "postgres",
            ProbeKind::Command => "command",
            ProbeKind::Systemd => "systemd",
            ProbeKind::File => "file",
            ProbeKind::Disk => "disk",
            ProbeKind::Pidfile => "pidfile",
            ProbeKind::Metric => "metric",
        }
    }

    /// The probe-specific keys this kind accepts beside the common ones.
    pub fn parameters(self) -> &'static [&'static str] {
        match self {
            ProbeKind::Http => &["method", "headers", "body", "follow_redirects", "insecure", "ca"],
            ProbeKind::Tcp => &["send"],
            ProbeKind::Tls => &["servername", "insecure", "ca"],
            ProbeKind::Dns => &["record", "server"],
            // `command` for redis is the command to send; for `command` probes it is the key itself.
            ProbeKind::Redis => &["command", "password", "db"],
            ProbeKind::Postgres => &["query", "password", "pgbouncer"],
            ProbeKind::Command => &["nagios", "cwd"],
            ProbeKind::Systemd => &["enabled"],
            ProbeKind::File => &["mode", "max_age", "key"],
            ProbeKind::Disk => &[],
            ProbeKind::Pidfile => &["process"],
            ProbeKind::Metric => &["series"],
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Keys every check may have.
pub const COMMON_KEYS: &[&str] = &["name", "layer", "description", "expect", "warn", "timeout", "interval", "retries"];

/// A check definition.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    pub name: String,
    /// The matrix row it belongs to ("Admin API", "Redis").
    pub layer: Option<String>,
    pub description: Option<String>,
    pub kind: ProbeKind,
    /// The probe's target as written (a template): a URL, `host:port`, a
    /// path, a unit name, a command.
    pub target: String,
    /// Probe-specific parameters as written (templates inside strings).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// A minijinja expression that must hold for `ok`.
    pub expect: Option<String>,
    /// When `expect` fails but this holds, the state is `warning`, not `critical`.
    pub warn: Option<String>,
    pub timeout: Option<Duration>,
    pub interval: Option<Duration>,
    pub retries: Option<u32>,
    pub location: Location,
    /// Every string value of the check with its location, for placeholder lint.
    pub strings: Vec<(String, Location)>,
}

/// One entry of a `checks` block.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Define(Box<CheckSpec>),
    /// `- use: name`: a check defined elsewhere in the runbook.
    Use(String, Location),
}

/// Parses a `checks` block body whose first line is `first_line` of the
/// file, indented by `indent` columns.
pub fn parse(body: &str, first_line: u32, indent: u32, diagnostics: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let root = match yaml::load(body, first_line, indent) {
        Ok(Some(root)) => root,
        Ok(None) => return Vec::new(),
        Err(error) => {
            diagnostics.push(Diagnostic::error(
                "checks-syntax",
                error.location,
                format!("this `checks` block is not valid YAML: {}", error.message),
            ));
            return Vec::new();
        }
    };
    let items = match root.value {
        Value::Sequence(items) => items,
        Value::Mapping(_) => vec![root],
        _ => {
            diagnostics.push(Diagnostic::error(
                "checks-syntax",
                root.location,
                "a `checks` block is a YAML list of checks: `- name: …`".to_owned(),
            ));
            return Vec::new();
        }
    };
    items.iter().filter_map(|item| entry(item, diagnostics)).collect()
}

fn entry(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<Entry> {
    let mut report =
        |rule: &'static str, location, message: String| diagnostics.push(Diagnostic::error(rule, location, message));
    let Some(entries) = node.as_mapping() else {
        report(
            "checks-syntax",
            node.location,
            format!("each check is a mapping with a `name` and a probe, not {}", node.type_name()),
        );
        return None;
    };
    if let Some(used) = get(node, "use") {
        if entries.len() > 1 {
            report(
                "checks-syntax",
                node.location,
                "`use` refers to a check defined elsewhere; it takes no other keys".to_owned(),
            );
        }
        let Some(name) = used.as_scalar_string() else {
            report("checks-syntax", used.location, "`use` takes the name of a check".to_owned());
            return None;
        };
        return Some(Entry::Use(name, used.location));
    }
    let mut probes: Vec<_> = entries
        .iter()
        .filter_map(|(key, value)| {
            let key = key.as_str()?;
            ProbeKind::KEYS.iter().find(|(k, _)| *k == key).map(|&(k, kind)| (k, kind, value))
        })
        .collect();
    // `redis` with `command:` is the redis probe's own parameter, not a second probe.
    if probes.iter().any(|(_, kind, _)| *kind == ProbeKind::Redis) {
        probes.retain(|(_, kind, _)| *kind != ProbeKind::Command);
    }
    let name = get(node, "name").and_then(Node::as_scalar_string);
    let label = name.as_deref().map_or_else(|| "this check".to_owned(), |n| format!("check `{n}`"));
    let (probe_key, kind, target) = match probes.as_slice() {
        [one] => *one,
        [] => {
            let all: Vec<_> = ProbeKind::KEYS.iter().map(|(k, _)| *k).collect();
            report("checks-syntax", node.location, format!("{label} names no probe; give one of: {}", all.join(", ")));
            return None;
        }
        [first, second, ..] => {
            report(
                "checks-syntax",
                node.location,
                format!("{label} names two probes (`{}` and `{}`); split it into two checks", first.0, second.0),
            );
            return None;
        }
    };
    let Some(name) = name else {
        report(
            "checks-syntax",
            node.location,
            "this check has no `name`; every check needs one so it can be run, used and reported".to_owned(),
        );
        return None;
    };
    let Some(mut target_text) = target.as_scalar_string() else {
        report(
            "checks-syntax",
            target.location,
            format!("`{probe_key}` takes the probe's target as text, not {}", target.type_name()),
        );
        return None;
    };
    if probe_key == "https" && !target_text.contains("://") {
        target_text = format!("https://{target_text}");
    }
    let mut spec = CheckSpec {
        name,
        layer: get(node, "layer").and_then(Node::as_scalar_string),
        description: get(node, "description").and_then(Node::as_scalar_string),
        kind,
        target: target_text,
        params: serde_json::Map::new(),
        expect: get(node, "expect").and_then(Node::as_scalar_string),
        warn: get(node, "warn").and_then(Node::as_scalar_string),
        timeout: None,
        interval: None,
        retries: None,
        location: node.location,
        strings: Vec::new(),
    };
    collect_strings(node, &mut spec.strings);
    for (key, value) in entries {
        let key_name = key.as_str().unwrap_or_default();
        match key_name {
            "timeout" | "interval" => {
                let text = value.as_scalar_string().unwrap_or_default();
                let duration = parse_duration(&text);
                if duration.is_none() {
                    report(
                        "checks-syntax",
                        value.location,
                        format!("`{key_name}` needs a duration like `5s`, not `{text}`"),
                    );
                }
                if key_name == "timeout" {
                    spec.timeout = duration;
                } else {
                    spec.interval = duration;
                }
            }
            "retries" => {
                spec.retries = value.as_scalar_string().and_then(|t| t.parse().ok());
                if spec.retries.is_none() {
                    report("checks-syntax", value.location, "`retries` needs a whole number".to_owned());
                }
            }
            k if k == probe_key || COMMON_KEYS.contains(&k) => {}
            k if kind.parameters().contains(&k) => {
                spec.params.insert(k.to_owned(), value.to_json());
            }
            k => {
                let known = COMMON_KEYS.iter().chain(kind.parameters()).copied();
                let suggestion = hint(k, known);
                report(
                    "unknown-key",
                    key.location,
                    format!(
                        "check `{}` has no key `{k}`{suggestion}; a {kind} check takes: {}",
                        spec.name,
                        kind.parameters().join(", ")
                    ),
                );
            }
        }
    }
    Some(Entry::Define(Box::new(spec)))
}

fn collect_strings(node: &Node, out: &mut Vec<(String, Location)>) {
    match &node.value {
        Value::String(s) => out.push((s.clone(), node.location)),
        Value::Sequence(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Mapping(entries) => entries.iter().for_each(|(key, value)| {
            // expectations are expressions over probe results, not templates
            if !matches!(key.as_str(), Some("expect" | "warn")) {
                collect_strings(value, out);
            }
        }),
        _ => {}
    }
}
