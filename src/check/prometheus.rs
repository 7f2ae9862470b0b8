//! The Prometheus text exposition format: samples out of a `/metrics` page,
//! and series selectors (`name{label="v",other=~"re"}`) to pick among them.
//!
//! Written here rather than taken from a crate: the one maintained parser
//! crate for the text format (`prometheus-parse`) splits labels with
//! regular expressions and mis-reads label values holding `=` or `,`
//! (an open issue), and a wrong parse here means a wrong verdict. The
//! format is small: `# HELP` / `# TYPE` and other comments, samples
//! `name{labels} value [timestamp]`, label values with `\\`, `\"`, `\n`
//! escapes, `+Inf` / `-Inf` / `NaN`. Histogram and summary series are
//! ordinary samples with suffixed names (`_bucket`, `_sum`, `_count`).
//! `OpenMetrics`' text is accepted too: `# EOF`, exemplars after ` # `, and
//! quoted UTF-8 metric names inside the braces.

use std::fmt;

use regex::Regex;

/// One sample of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of `label`; an absent label reads as empty, as in `PromQL`.
    fn label(&self, label: &str) -> &str {
        if label == "__name__" {
            return &self.name;
        }
        self.labels.iter().find(|(name, _)| name == label).map_or("", |(_, value)| value.as_str())
    }
}

/// A line that is not the text format, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    pub text: String,
    pub why: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: `{}`", self.line, self.why, super::one_line(&self.text, 60))
    }
}

/// Every sample of a page, or the first line that is not the text format.
/// A sample value as the exposition format writes it: `NaN`, `+Inf`,
/// `-Inf`, or the number.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() }
    } else {
        value.to_string()
    }
}

pub fn parse(page: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    for (index, line) in page.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let sample = Cursor { text: trimmed, at: 0 }.sample().map_err(|why| ParseError {
            line: index + 1,
            text: line.to_owned(),
            why,
        })?;
        samples.push(sample);
    }
    Ok(samples)
}

/// A position in one line (a sample, or a selector).
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        self.at > start
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (colons only when `colons`).
    fn name(&mut self, colons: bool) -> Option<String> {
        let start = self.at;
        while let Some(b) = self.peek() {
            let ok = b.is_ascii_alphabetic()
                || b == b'_'
                || (colons && b == b':')
                || (self.at > start && b.is_ascii_digit());
            if !ok {
                break;
            }
            self.at += 1;
        }
        (self.at > start).then(|| self.text[start..self.at].to_owned())
    }

    /// A quoted string with `\\`, `\"`, `\n` escapes (and `\'` in selectors).
    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek().filter(|q| matches!(q, b'"' | b'\'')) else {
            return Err("expected a quoted value".to_owned());
        };
        self.at += 1;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\'')) => value.push('\''),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => break,
                },
                c if c as u32 == u32::from(quote) => {
                    self.at += offset + 1;
                    return Ok(value);
                }
                c => value.push(c),
            }
        }
        Err("a quoted value is not closed".to_owned())
    }

    /// The token up to the next space.
    fn word(&mut self) -> &'a str {
        let start = self.at;
        while self.peek().is_some_and(|b| b != b' ' && b != b'\t') {
            self.at += 1;
        }
        &self.text[start..self.at]
    }

    fn sample(mut self) -> Result<Sample, String> {
        let mut name = self.name(true);
        if name.is_none() && self.peek() != Some(b'{') {
            return Err("expected a metric name".to_owned());
        }
        self.skip_space();
        let mut labels = Vec::new();
        if self.eat(b'{') {
            loop {
                self.skip_space();
                if self.eat(b'}') {
                    break;
                }
                let label = if self.peek() == Some(b'"') {
                    let quoted = self.quoted()?;
                    self.skip_space();
                    if self.peek() != Some(b'=') {
                        // OpenMetrics 2 / Prometheus 3: a quoted metric name.
                        if name.replace(quoted).is_some() {
                            return Err("the metric has two names".to_owned());
                        }
                        if self.after_label()? {
                            break;
                        }
                        continue;
                    }
                    quoted
                } else {
                    self.name(false).ok_or("expected a label name")?
                };
                self.skip_space();
                if !self.eat(b'=') {
                    return Err(format!("expected `=` after the label `{label}`"));
                }
                self.skip_space();
                if self.peek() != Some(b'"') {
                    return Err(format!("the label `{label}` needs a value in double quotes"));
                }
                labels.push((label, self.quoted()?));
                if self.after_label()? {
                    break;
                }
            }
        }
        let name = name.ok_or("expected a metric name")?;
        self.skip_space();
        let value = self.word();
        if value.is_empty() {
            return Err(format!("`{name}` has no value"));
        }
        let value = parse_value(value).ok_or_else(|| format!("`{value}` is not a number"))?;
        self.skip_space();
        let timestamp = self.word();
        if !timestamp.is_empty() && timestamp != "#" && timestamp.parse::<f64>().is_err() {
            return Err(format!("`{timestamp}` after the value is not a timestamp"));
        }
        self.skip_space();
        if !self.rest().is_empty() && !self.rest().starts_with('#') && timestamp != "#" {
            return Err("unexpected text after the timestamp".to_owned());
        }
        Ok(Sample { name, labels, value })
    }

    /// After a label: `,` then more (`false`), or `}` (`true`, closed).
    fn after_label(&mut self) -> Result<bool, String> {
        self.skip_space();
        if self.eat(b',') {
            self.skip_space();
            return Ok(self.eat(b'}'));
        }
        if self.eat(b'}') {
            return Ok(true);
        }
        Err("expected `,` or `}` after a label".to_owned())
    }
}

/// A sample value: a float, `+Inf`, `-Inf`, `NaN`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ if text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) => {
            text.parse().ok()
        }
        _ => None,
    }
}

/// A series selector: `name{label="v", other!="w", re=~"a|b", nre!~"x.*"}`.
#[derive(Debug)]
pub struct Selector {
    name: Option<String>,
    matchers: Vec<Matcher>,
}

#[derive(Debug)]
struct Matcher {
    label: String,
    op: Op,
    value: String,
    /// For `=~` and `!~`: anchored at both ends, as in `PromQL`.
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Matches,
    NotMatches,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut cursor = Cursor { text: text.trim(), at: 0 };
        let name = cursor.name(true);
        cursor.skip_space();
        let mut matchers = Vec::new();
        if cursor.eat(b'{') {
            loop {
                cursor.skip_space();
                if cursor.eat(b'}') {
                    break;
                }
                let label =
                    cursor.name(false).ok_or_else(|| format!("expected a label name at `{}`", cursor.rest()))?;
                cursor.skip_space();
                let op = if cursor.rest().starts_with("=~") {
                    Op::Matches
                } else if cursor.rest().starts_with("!~") {
                    Op::NotMatches
                } else if cursor.rest().starts_with("!=") {
                    Op::NotEqual
                } else if cursor.rest().starts_with('=') {
                    Op::Equal
                } else {
                    return Err(format!("expected `=`, `!=`, `=~` or `!~` after `{label}`"));
                };
                cursor.at += if op == Op::Equal { 1 } else { 2 };
                cursor.skip_space();
                let value = cursor.quoted().map_err(|why| format!("{why} for `{label}`"))?;
                let regex = match op {
                    Op::Matches | Op::NotMatches => Some(
                        Regex::new(&format!("^(?:{value})$"))
                            .map_err(|e| format!("`{value}` is not a regular expression: {e}"))?,
                    ),
                    _ => None,
                };
                matchers.push(Matcher { label, op, value, regex });
                if cursor.after_label()? {
                    break;
                }
            }
        }
        cursor.skip_space();
        if !cursor.rest().is_empty() {
            return Err(format!("unexpected `{}`", cursor.rest()));
        }
        if name.is_none() && matchers.is_empty() {
            return Err("a selector names a metric or a label to match, like `up{job=\"api\"}`".to_owned());
        }
        Ok(Selector { name, matchers })
    }

    pub fn matches(&self, sample: &Sample) -> bool {
        if self.name.as_ref().is_some_and(|name| *name != sample.name) {
            return false;
        }
        self.matchers.iter().all(|m| {
            let value = sample.label(&m.label);
            match (m.op, &m.regex) {
                (Op::Equal, _) => value == m.value,
                (Op::NotEqual, _) => value != m.value,
                (Op::Matches, Some(re)) => re.is_match(value),
                (Op::NotMatches, Some(re)) => !re.is_match(value),
                _ => false,
            }
        })
    }
}

#[cfg(test)]
#[path = "tests/prometheus.rs"]
mod tests;
