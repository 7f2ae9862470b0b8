//! Diagnostics: what the parser and the lint rules have to say about a
//! runbook, each with a place, a severity, a rule id and a message that tells
//! the operator what to do next.

use std::fmt;

/// How bad a finding is. `Error` makes `runwell lint` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl Location {
    pub const fn new(line: u32, column: u32) -> Self {
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub location: Location,
    pub severity: Severity,
    /// A stable, kebab-case rule id such as `unclosed-fence`.
    pub rule: &'static str,
    pub message: String,
}

impl Diagnostic {
    pub fn error(rule: &'static str, location: Location, message: impl Into<String>) -> Self {
        Diagnostic { location, severity: Severity::Error, rule, message: message.into() }
    }

    pub fn warning(rule: &'static str, location: Location, message: impl Into<String>) -> Self {
        Diagnostic { location, severity: Severity::Warning, rule, message: message.into() }
    }
}

/// Suggests the closest of `candidates` to a misspelt `name`, for
/// "did you mean" hints. Only close matches are offered: a key written for
/// another tool should not be "corrected" into one of ours.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&name, candidate), candidate))
        // at most two edits, and few for the word's length: `b` is no typo of `a`
        .filter(|&(distance, candidate)| distance > 0 && distance <= 2 && distance * 3 <= candidate.len())
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Formats " (did you mean `x`?)" or nothing.
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(name, candidates).map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_and_not_far_fetched() {
        assert_eq!(did_you_mean("confrim", ["confirm", "name"]), Some("confirm"));
        assert_eq!(did_you_mean("enviroments", ["environments"]), Some("environments"));
        assert_eq!(did_you_mean("b", ["a"]), None);
        assert_eq!(did_you_mean("title", ["runbook", "vars"]), None);
    }
}
