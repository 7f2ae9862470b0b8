//! Finding places in the file: unknown keys (with a did-you-mean, and the
//! table a misplaced key belongs in), and the line and key behind an error
//! that toml reports as a byte span.
//!
//! toml's own `Display` for errors quotes the offending line; it is never
//! used, because that line may hold a secret.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::ConfigError;
use crate::runbook::diagnostic::hint;

/// What the file may hold at one level.
enum Shape {
    Value,
    Table(&'static [(&'static str, Shape)]),
    Tables(&'static [(&'static str, Shape)]),
}

const TOKEN: &[(&str, Shape)] = &[("name", Shape::Value), ("role", Shape::Value), ("sha256", Shape::Value)];
const LIMIT: &[(&str, Shape)] =
    &[("environment", Shape::Value), ("read", Shape::Value), ("write", Shape::Value), ("destructive", Shape::Value)];
const SCHEDULER: &[(&str, Shape)] = &[
    ("interval", Shape::Value),
    ("jitter", Shape::Value),
    ("fail_threshold", Shape::Value),
    ("success_threshold", Shape::Value),
    ("history", Shape::Value),
    ("concurrency", Shape::Value),
];
const ALERTS: &[(&str, Shape)] = &[("max_runs_per_hour", Shape::Value), ("allow", Shape::Value)];
const NOTIFY: &[(&str, Shape)] = &[("kind", Shape::Value), ("url", Shape::Value), ("events", Shape::Value)];
const TOP: &[(&str, Shape)] = &[
    ("listen", Shape::Value),
    ("runbooks", Shape::Value),
    ("database", Shape::Value),
    ("public_url", Shape::Value),
    ("tokens", Shape::Tables(TOKEN)),
    ("limits", Shape::Tables(LIMIT)),
    ("scheduler", Shape::Table(SCHEDULER)),
    ("alerts", Shape::Table(ALERTS)),
    ("notify", Shape::Tables(NOTIFY)),
    ("shutdown_timeout", Shape::Value),
    ("session_ttl", Shape::Value),
];

/// 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..end]).count() + 1
}

/// Syntax errors, then the first unknown key in the file.
pub(super) fn check_keys(text: &str, origin: &str) -> Result<(), ConfigError> {
    let table = DeTable::parse(text).map_err(|error| ConfigError::Syntax {
        origin: origin.to_string(),
        line: line_of(text, error.span().map_or(0, |span| span.start)),
        message: error.message().trim().replace('\n', "; "),
    })?;
    let mut unknown = Vec::new();
    walk(table.get_ref(), TOP, "", &mut unknown);
    let Some((span, key, name, known, level)) = unknown.into_iter().min_by_key(|found| found.0.start) else {
        return Ok(());
    };
    let mut hint = hint(name.as_str(), known.iter().map(|(key, _)| *key));
    if hint.is_empty()
        && let Some(table) = belongs_in(&name)
    {
        hint = format!(" (it belongs in {table})");
    }
    let keys = known.iter().map(|(key, _)| format!("`{key}`")).collect::<Vec<_>>().join(", ");
    Err(ConfigError::UnknownKey {
        origin: origin.to_string(),
        line: line_of(text, span.start),
        key,
        hint,
        known: format!("{level} knows {keys}"),
    })
}

type Unknown = (Range<usize>, String, String, &'static [(&'static str, Shape)], String);

fn walk(table: &DeTable<'_>, shape: &'static [(&'static str, Shape)], path: &str, unknown: &mut Vec<Unknown>) {
    let level = |path: &str| match path {
        "" => "the top level".to_string(),
        path => match path.split_once('[') {
            Some((array, _)) => format!("`[[{array}]]`"),
            None => format!("`[{path}]`"),
        },
    };
    for (key, value) in table {
        let name: &str = key.get_ref();
        let here = join(path, name);
        match shape.iter().find(|(known, _)| *known == name).map(|(_, shape)| shape) {
            None => unknown.push((key.span(), here, name.to_string(), shape, level(path))),
            Some(Shape::Value) => {}
            Some(Shape::Table(inner)) => {
                if let DeValue::Table(table) = value.get_ref() {
                    walk(table, inner, &here, unknown);
                }
            }
            Some(Shape::Tables(inner)) => {
                if let DeValue::Array(items) = value.get_ref() {
                    for (index, item) in items.iter().enumerate() {
                        if let DeValue::Table(table) = item.get_ref() {
                            walk(table, inner, &format!("{here}[{index}]"), unknown);
                        }
                    }
                }
            }
        }
    }
}

/// The table a key that is unknown where it stands would be known in.
fn belongs_in(name: &str) -> Option<String> {
    TOP.iter().find_map(|(table, shape)| match shape {
        Shape::Table(keys) if keys.iter().any(|(key, _)| *key == name) => Some(format!("`[{table}]`")),
        Shape::Tables(keys) if keys.iter().any(|(key, _)| *key == name) => Some(format!("`[[{table}]]`")),
        _ => None,
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// An error serde reported while reading values, placed at its line and key.
pub(super) fn value_error(text: &str, origin: &str, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |span| span.start);
    let key = DeTable::parse(text).ok().and_then(|table| key_at(table.get_ref(), offset, "")).unwrap_or_default();
    let message = error.message().trim();
    let (key, message) = if let Some(field) = quoted_after(message, "missing field ") {
        let key = join(&key, field);
        (key, format!("is missing: {}", example(field)))
    } else {
        (key, rephrase(message))
    };
    ConfigError::Invalid { origin: origin.to_string(), line: line_of(text, offset), key, message }
}

/// The deepest key whose name or value holds `offset`.
fn key_at(table: &DeTable<'_>, offset: usize, path: &str) -> Option<String> {
    for (key, value) in table {
        let here = join(path, key.get_ref());
        if key.span().contains(&offset) {
            return Some(here);
        }
        let deeper = match value.get_ref() {
            DeValue::Table(inner) => key_at(inner, offset, &here),
            DeValue::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                let at = format!("{here}[{index}]");
                match item.get_ref() {
                    DeValue::Table(inner) => {
                        key_at(inner, offset, &at).or_else(|| item.span().contains(&offset).then_some(at))
                    }
                    _ => item.span().contains(&offset).then_some(at),
                }
            }),
            _ => None,
        };
        if deeper.is_some() {
            return deeper;
        }
        if value.span().contains(&offset) {
            return Some(here);
        }
    }
    None
}

fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.strip_prefix('`')?.split('`').next()
}

/// serde's "invalid type: integer `5`, expected a string" as a predicate
/// on the key: "must be a string, not integer `5`".
fn rephrase(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, expected)) = message.strip_prefix(prefix).and_then(|rest| rest.split_once(", expected ")) {
            return format!("must be {expected}, not {found}");
        }
    }
    message.to_string()
}

/// What to write for a required key.
fn example(key: &str) -> &'static str {
    match key {
        "name" => "name who holds this token, like `name = \"ci-bot\"`",
        "role" => "write `role = \"viewer\"`, `\"operator\"` or `\"admin\"`",
        "sha256" => {
            "write the token's SHA-256, `sha256 = \"…\"` with the 64 hex characters that \
                     `printf %s \"$TOKEN\" | sha256sum` prints"
        }
        "kind" => "write `kind = \"webhook\"` or `kind = \"slack\"`",
        "url" => "write the receiver's URL, like `url = \"https://hooks.slack.com/services/…\"`",
        _ => "add it",
    }
}
