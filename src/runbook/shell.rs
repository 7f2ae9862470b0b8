//! A tolerant lexer for the shell snippets found in runbooks.
//!
//! Runbook snippets are often not valid shell (`<PID>`, `{{ NAME }}`, a
//! half-copied pipeline), so this never fails: it recovers at the next line.
//! It finds what lint, safety and quoting need — simple commands and their
//! words, redirections, here-documents, variable uses and assignments, and
//! the quoting context at any offset. It is not a shell.

use std::ops::Range;

/// A script split into what runwell needs to reason about it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Script {
    /// Simple commands in source order, including those inside `$( )`,
    /// backticks, `bash -c '…'` is NOT expanded here (see `safety`).
    pub commands: Vec<Command>,
    /// Every `$NAME` / `${NAME…}` expansion outside single quotes and
    /// quoted here-documents.
    pub var_uses: Vec<VarUse>,
    /// Every variable the script sets: `X=1`, `export X=1`, `read X`,
    /// `for X in`, `local X`, `declare X`, …
    pub assigned: Vec<Assigned>,
}

/// One simple command: `sudo systemctl restart tornado > /dev/null`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Command {
    /// Words after leading assignments and shell keywords (`if`, `then`,
    /// `do`, `!`, …), with quotes removed.
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    pub heredocs: Vec<Heredoc>,
    /// Byte range of the command in the script.
    pub range: Range<usize>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes removed and escapes resolved; expansions are kept
    /// as written (`$HOME`, `$(cat x)`).
    pub value: String,
    /// Byte range in the script, quotes included.
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// `>`, `>>`, `<`, `2>`, `&>`, `>&`, `<<<` …
    pub op: String,
    /// The target word, when there is one (`2>&1` has target `1`).
    pub target: Option<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Byte range of the body (the lines between the operator's line and the
    /// delimiter line, delimiter excluded).
    pub body: Range<usize>,
    /// False when the delimiter was quoted (`<<'EOF'`): no expansion happens.
    pub expands: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarUse {
    pub name: String,
    /// Byte range of the whole expansion (`$X`, `${X:-y}`).
    pub range: Range<usize>,
    /// `${X:-y}`, `${X-y}`, `${X:=y}`, `${X:?msg}`, `${X:+y}`: the author
    /// handled the unset case.
    pub has_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub name: String,
    pub range: Range<usize>,
}

/// Where an offset sits, for quoting a substituted value correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteContext {
    Unquoted,
    SingleQuoted,
    DoubleQuoted,
    Comment,
}

/// Lexes `script`. Never panics, never fails.
pub fn parse(script: &str) -> Script {
    let _ = script;
    Script::default()
}

/// The quoting context at byte `offset` of `script`.
pub fn quote_context(script: &str, offset: usize) -> QuoteContext {
    let _ = (script, offset);
    QuoteContext::Unquoted
}

/// Quotes `value` so that, inserted at a place with context `context`, the
/// shell reads it back as exactly `value`, one word, with no expansion.
pub fn quote(value: &str, context: QuoteContext) -> String {
    let _ = context;
    value.to_owned()
}
