//! Lint: rules over a parsed runbook that find what would hurt at 3 AM.
//!
//! Each rule is a function over the `Runbook` that pushes diagnostics; the
//! parser's own diagnostics (unclosed fences, malformed YAML, unknown
//! attributes) come first. A rule never does I/O: "today" comes in through
//! `Context` so staleness is testable.

mod destructive;
mod placeholders;
mod references;
mod sleep;
mod stale;

use crate::runbook::{Diagnostic, Parsed, Runbook};

/// What rules may know beyond the runbook.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub today: jiff::civil::Date,
}

/// A lint rule: its id, what it finds, and the check itself.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    pub check: fn(&Runbook, Context, &mut Vec<Diagnostic>),
}

/// Every rule, in the order their findings are usually fixed.
pub const RULES: &[Rule] = &[
    Rule {
        id: "placeholder",
        summary: "`{{NAME}}` that is no declared variable, `<angle>` placeholders, `$VARS` a step uses but never sets",
        check: placeholders::check,
    },
    Rule { id: "destructive", summary: "destructive commands in steps without `confirm`", check: destructive::check },
    Rule {
        id: "sleep-then-check",
        summary: "`sleep N` followed by a check: use a waiting `checks` gate",
        check: sleep::check,
    },
    Rule {
        id: "references",
        summary: "duplicate names, `after:` cycles, references to unknown services, checks, procedures, connections",
        check: references::check,
    },
    Rule { id: "stale-review", summary: "`last_reviewed_on` + `review_in` lies in the past", check: stale::check },
];

/// The diagnostics ids the parser itself emits, for documentation.
pub const PARSER_DIAGNOSTICS: &[(&str, &str)] = &[
    ("unclosed-fence", "a code fence is never closed and swallows the rest of its container"),
    ("front-matter", "front matter that is not valid YAML or has malformed runwell keys"),
    ("unknown-key", "a key runwell does not know in its own front-matter entries or checks"),
    ("attribute", "a malformed attribute value in a fence's `{…}` group"),
    ("unknown-attribute", "an attribute runwell does not know in a fence's `{…}` group"),
    ("checks-syntax", "a `checks` block that is not a valid list of checks"),
    ("rollback", "a rollback block with no step to undo"),
];

/// All diagnostics for a parsed runbook, sorted by place.
pub fn lint(parsed: &Parsed, context: Context) -> Vec<Diagnostic> {
    let mut diagnostics = parsed.diagnostics.clone();
    for rule in RULES {
        (rule.check)(&parsed.runbook, context, &mut diagnostics);
    }
    diagnostics.sort_by(|a, b| a.location.cmp(&b.location).then(b.severity.cmp(&a.severity)));
    diagnostics.dedup();
    diagnostics
}
