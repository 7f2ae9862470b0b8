//! YAML with positions: front matter and `checks` blocks are loaded into a
//! small owned tree whose every node knows its line and column in the file,
//! so that a misspelt key is reported where it is written.

use saphyr::Scalar;
use saphyr_parser::{Event, Span, SpannedEventReceiver};

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
    let mut builder = Builder { at: &at, stack: Vec::new(), root: None };
    match parser.load(&mut builder, false) {
        Ok(()) => Ok(builder.root),
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

/// Builds [`Node`]s straight from the parser's events. (Loading saphyr's own
/// tree first and converting it held two trees in memory at once: a matrix
/// of 10,000 checks peaked at twice the memory.)
struct Builder<'a, F> {
    at: &'a F,
    stack: Vec<Open>,
    root: Option<Node>,
}

/// A collection whose end event has not come yet.
enum Open {
    Sequence(Location, Vec<Node>),
    Mapping(Location, Vec<(Node, Node)>, Option<Node>),
}

impl<F: Fn(usize, usize) -> Location> Builder<'_, F> {
    fn add(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                self.root.get_or_insert(node);
            }
            Some(Open::Sequence(_, items)) => items.push(node),
            Some(Open::Mapping(_, entries, key)) => {
                if let Some(key) = key.take() {
                    entries.push((key, node));
                } else {
                    let mut node = node;
                    if let Some(text) = node.as_scalar_string() {
                        node.value = Value::String(text);
                    }
                    *key = Some(node);
                }
            }
        }
    }
}

impl<'input, F: Fn(usize, usize) -> Location> SpannedEventReceiver<'input> for Builder<'_, F> {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        let location = (self.at)(span.start.line(), span.start.col());
        match event {
            Event::Scalar(text, style, _, tag) => {
                let value = match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref()) {
                    Some(scalar) => scalar_value(scalar),
                    None => Value::String(text.into_owned()),
                };
                self.add(Node { location, value });
            }
            // Aliases are not expanded: expanding them lets a few lines of
            // YAML demand gigabytes ("billion laughs").
            Event::Alias(_) => self.add(Node { location, value: Value::Null }),
            Event::SequenceStart(..) => self.stack.push(Open::Sequence(location, Vec::new())),
            Event::MappingStart(..) => self.stack.push(Open::Mapping(location, Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Open::Sequence(location, items)) => Node { location, value: Value::Sequence(items) },
                    Some(Open::Mapping(location, entries, _)) => Node { location, value: Value::Mapping(entries) },
                    None => return,
                };
                self.add(node);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
        }
    }
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
