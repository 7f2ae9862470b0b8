//! YAML with positions: front matter and `checks` blocks are loaded into a
//! small owned tree whose every node knows its line and column in the file,
//! so that a misspelt key is reported where it is written.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::diagnostic::Location;
use super::source::to_u32;

/// A YAML value with its location in the runbook file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub location: Location,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Sequence(Vec<Node>),
    /// Keys in document order; non-string keys are stringified.
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// The value as text, for scalars: `8000` and `"8000"` both give `8000`.
    pub fn as_scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Sequence(_) | Value::Mapping(_) => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }

    /// The value converted to JSON, keeping no positions.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Value::String(s) => s.clone().into(),
            Value::Sequence(items) => items.iter().map(Node::to_json).collect(),
            Value::Mapping(entries) => entries
                .iter()
                .map(|(k, v)| (k.as_scalar_string().unwrap_or_default(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

/// A YAML syntax error, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub location: Location,
    pub message: String,
}

/// Loads the first YAML document of `text`, which starts at `first_line` of
/// the runbook file (at column 1) and whose lines are all indented by
/// `indent` columns in the file.
pub fn load(text: &str, first_line: u32, indent: u32) -> Result<Option<Node>, SyntaxError> {
    let at =
        |line: usize, col: usize| Location::new(first_line + to_u32(line.saturating_sub(1)), indent + to_u32(col) + 1);
    // `new_from_str` reads the &str directly; `load_from_str` goes through a
    // char iterator and a lookahead buffer, which costs twice the time.
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    match MarkedYaml::load_from_parser(&mut parser) {
        Ok(documents) => Ok(documents.into_iter().next().map(|doc| convert(doc, &at))),
        Err(error) => {
            let marker = error.marker();
            // An error "at the end of input" sits on the line after the last
            // one; point at the last line the text really has.
            let last_line = super::source::line_count(text.trim_end_matches(['\n', '\r']));
            let (line, col) = if marker.line() > last_line { (last_line, 0) } else { (marker.line(), marker.col()) };
            Err(SyntaxError { location: at(line, col), message: error.info().to_owned() })
        }
    }
}

fn convert(yaml: MarkedYaml<'_>, at: &impl Fn(usize, usize) -> Location) -> Node {
    let location = at(yaml.span.start.line(), yaml.span.start.col());
    let value = match yaml.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, _, _) => Value::String(text.into_owned()),
        YamlData::Sequence(items) => Value::Sequence(items.into_iter().map(|item| convert(item, at)).collect()),
        YamlData::Mapping(entries) => Value::Mapping(
            entries
                .into_iter()
                .map(|(key, value)| {
                    let mut key = convert(key, at);
                    if let Some(text) = key.as_scalar_string() {
                        key.value = Value::String(text);
                    }
                    (key, convert(value, at))
                })
                .collect(),
        ),
        YamlData::Tagged(_, inner) => return convert(*inner, at),
        YamlData::Alias(_) | YamlData::BadValue => Value::Null,
    };
    Node { location, value }
}

fn scalar_value(scalar: Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Int(i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::String(s.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_file_positions() {
        let node = load("a: 1\nb:\n  - x\n", 10, 0).unwrap().unwrap();
        let entries = node.as_mapping().unwrap();
        assert_eq!(entries[1].0.location, Location::new(11, 1));
        let Value::Sequence(items) = &entries[1].1.value else { panic!("not a sequence") };
        assert_eq!(items[0].location, Location::new(12, 5));
    }

    #[test]
    fn errors_at_the_end_of_input_stay_inside_the_text() {
        // regression (fuzz): an unclosed `checks` fence at the end of a file put the error past its last line
        let error = load("- use: a \\\n  b: [\n", 150, 0).unwrap_err();
        assert!(error.location.line <= 151, "{error:?}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let error = load("a: [1, 2\n", 3, 0).unwrap_err();
        assert_eq!(error.location.line, 3);
    }
}
