//! A check's probe-specific parameters, rendered, with typed accessors whose
//! errors name the key and what it should hold.

use std::time::Duration;

use serde_json::Value;

use super::Failure;
use crate::runbook::front_matter::parse_duration;

/// Rendered parameters (`method`, `headers`, `command`, …) of one check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub serde_json::Map<String, Value>);

impl Params {
    /// A text parameter. Numbers and booleans written bare read as text.
    pub fn text(&self, key: &str) -> Result<Option<String>, Failure> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(Failure::unknown(format!("`{key}` takes text"))),
        }
    }

    /// A yes/no parameter: `true`, `false`, `yes`, `no`.
    pub fn flag(&self, key: &str) -> Result<bool, Failure> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" | "" => Ok(false),
                _ => Err(Failure::unknown(format!("`{key}` takes true or false, not `{s}`"))),
            },
            Some(_) => Err(Failure::unknown(format!("`{key}` takes true or false"))),
        }
    }

    /// A whole-number parameter.
    pub fn number(&self, key: &str) -> Result<Option<u64>, Failure> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                n.as_u64().map(Some).ok_or_else(|| Failure::unknown(format!("`{key}` takes a whole number")))
            }
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Failure::unknown(format!("`{key}` takes a whole number, not `{s}`"))),
            Some(_) => Err(Failure::unknown(format!("`{key}` takes a whole number"))),
        }
    }

    /// A duration parameter: `30s`, `5m`, `1d`.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, Failure> {
        match self.text(key)? {
            None => Ok(None),
            Some(text) => parse_duration(&text)
                .map(Some)
                .ok_or_else(|| Failure::unknown(format!("`{key}` takes a duration like `30s`, not `{text}`"))),
        }
    }

    /// A mapping of text to text, such as `headers`.
    pub fn map(&self, key: &str) -> Result<Vec<(String, String)>, Failure> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Number(n) => Ok((k.clone(), n.to_string())),
                    Value::Bool(b) => Ok((k.clone(), b.to_string())),
                    _ => Err(Failure::unknown(format!("`{key}.{k}` takes text"))),
                })
                .collect(),
            Some(_) => Err(Failure::unknown(format!("`{key}` takes a mapping of names to values"))),
        }
    }
}
