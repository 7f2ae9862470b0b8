//! A tolerant lexer for the shell snippets found in runbooks.
//!
//! Runbook snippets are often not valid shell (`<PID>`, `{{ NAME }}`, a
//! half-copied pipeline), so this never fails: it recovers at the next line.
//! It finds what lint, safety and quoting need — simple commands and their
//! words, redirections, here-documents, variable uses and assignments, and
//! the quoting context at any offset. It is not a shell.
//!
//! This file holds the model, quoting, and the lexer's state and cursor;
//! `commands` splits the text into simple commands and words, and
//! `expansions` reads quotes, expansions and here-document bodies.

mod commands;
mod expansions;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::mem;
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
    /// After `#`, to the end of the line.
    Comment,
    /// The body of an expanding here-document (`<<EOF`): `\`, `$` and
    /// `` ` `` are special there, quotes are not.
    HeredocExpanding,
    /// The body of a quoted here-document (`<<'EOF'`): nothing is special
    /// but the line that ends it.
    HeredocLiteral,
}

/// Lexes `script`. Never panics, never fails.
pub fn parse(script: &str) -> Script {
    Lexer::new(script).run().0
}

/// The quoting context at byte `offset` of `script`.
///
/// An offset is an insertion point: the opening quote itself is still
/// outside the quotes, the closing quote is inside. Inside `$( )` and
/// backticks the context starts afresh, as it does for the shell. The body
/// of a here-document is `HeredocExpanding` or `HeredocLiteral`, after how
/// its delimiter was written.
///
/// Inside backticks the shell removes one level of backslashes before
/// reading the command, so a value containing `` ` `` or `\` cannot be quoted
/// for them with these contexts; prefer `$( )` in runbooks.
pub fn quote_context(script: &str, offset: usize) -> QuoteContext {
    let (_, spans) = Lexer::new(script).run();
    // Spans nest, so the narrowest one holding the offset is the innermost;
    // `rev` makes the later (inner, when equal) span win a tie.
    spans
        .iter()
        .rev()
        .filter(|span| span.lo <= offset && offset <= span.hi)
        .min_by_key(|span| span.hi - span.lo)
        .map_or(QuoteContext::Unquoted, |span| span.context)
}

/// Quotes `value` so that, inserted at a place with context `context`, the
/// shell reads it back as exactly `value`, one word, with no expansion (in a
/// comment, nothing is read back).
///
/// In a comment and in a here-document body the value cannot contain a line
/// break: a newline would end the comment and run the rest, and a line equal
/// to the delimiter would end the here-document and run what follows. There
/// each CR and LF becomes a space, and the value reads back on one line.
/// What `quote` cannot see is the line around the value: a value that
/// completes a body line into the delimiter (`EOF` for a placeholder alone on
/// its line) still ends the here-document, so delimiters should be words no
/// value will be (`RUNWELL_EOF`, not `EOF`).
pub fn quote(value: &str, context: QuoteContext) -> String {
    match context {
        QuoteContext::Unquoted if !value.is_empty() && value.chars().all(is_safe_unquoted) => value.to_owned(),
        QuoteContext::Unquoted => format!("'{}'", value.replace('\'', r"'\''")),
        QuoteContext::SingleQuoted => value.replace('\'', r"'\''"),
        QuoteContext::DoubleQuoted => backslashed(value, &['\\', '"', '$', '`']),
        // A backslash does not escape `"` in a here-document: it would stay.
        QuoteContext::HeredocExpanding => backslashed(&one_line(value), &['\\', '$', '`']),
        QuoteContext::Comment | QuoteContext::HeredocLiteral => one_line(value),
    }
}

/// `value` with a backslash before each of `special`.
fn backslashed(value: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `value` with each CR and LF replaced by a space.
fn one_line(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

/// Characters no shell treats specially anywhere in a word.
fn is_safe_unquoted(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
}

/// Nesting of `$( )`, backticks, `${ }` and `$(( ))` beyond which text is
/// skipped rather than lexed, so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A region with one quoting context; `lo..=hi` are the offsets inside it.
#[derive(Debug, Clone, Copy)]
struct Span {
    lo: usize,
    hi: usize,
    context: QuoteContext,
}

/// A here-document whose operator was seen and whose body is still ahead.
#[derive(Debug)]
struct PendingHeredoc {
    delimiter: String,
    strip_tabs: bool,
    expands: bool,
    owner: usize,
}

#[derive(Debug)]
struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Where lexing stops: the end of the script, or of a backtick body.
    end: usize,
    depth: usize,
    script: Script,
    /// The builder each entry of `script.commands` came from.
    command_owners: Vec<usize>,
    pending: Vec<PendingHeredoc>,
    heredocs: Vec<(usize, Heredoc)>,
    spans: Vec<Span>,
    next_builder: usize,
    /// Expansions inside nested constructs are recorded, not kept as text.
    scratch: String,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            end: src.len(),
            depth: 0,
            script: Script::default(),
            command_owners: Vec::new(),
            pending: Vec::new(),
            heredocs: Vec::new(),
            spans: Vec::new(),
            next_builder: 0,
            scratch: String::new(),
        }
    }

    fn run(mut self) -> (Script, Vec<Span>) {
        self.list(false);
        // Here-documents cut off by the end of the script have empty bodies.
        for pending in mem::take(&mut self.pending) {
            let body = self.src.len()..self.src.len();
            self.heredocs.push((pending.owner, Heredoc { body, expands: pending.expands }));
        }
        let index_of: HashMap<usize, usize> =
            self.command_owners.iter().enumerate().map(|(i, &owner)| (owner, i)).collect();
        for (owner, heredoc) in mem::take(&mut self.heredocs) {
            if let Some(&index) = index_of.get(&owner)
                && let Some(command) = self.script.commands.get_mut(index)
            {
                command.heredocs.push(heredoc);
            }
        }
        let mut script = self.script;
        script.commands.sort_by_key(|c| c.range.start);
        script.var_uses.sort_by_key(|v| v.range.start);
        script.assigned.sort_by_key(|a| a.range.start);
        (script, self.spans)
    }

    // ---- low-level cursor -------------------------------------------------

    fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        let i = self.pos.checked_add(n)?;
        if i < self.end { self.bytes.get(i).copied() } else { None }
    }

    fn text(&self, range: Range<usize>) -> &'a str {
        self.src.get(range).unwrap_or_default()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.text(self.pos..self.end).starts_with(s)
    }

    /// Moves past one character, never into the middle of one, nor past the
    /// end.
    fn bump(&mut self) {
        if self.pos < self.end {
            let len = self.text(self.pos..self.end).chars().next().map_or(1, char::len_utf8);
            self.pos = (self.pos + len).min(self.end);
        }
    }

    fn take_char(&mut self, value: &mut String) {
        if let Some(c) = self.text(self.pos..self.end).chars().next() {
            value.push(c);
        }
        self.bump();
    }

    fn line_end(&self, from: usize) -> usize {
        self.bytes
            .get(from..self.end)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(self.end, |i| from + i)
    }

    fn skip_blanks(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                // The last is a continuation with nothing after it (a
                // snippet cut short).
                (Some(b' ' | b'\t'), _) | (Some(b'\r'), Some(b'\n')) | (Some(b'\\'), None) => self.pos += 1,
                (Some(b'\\'), Some(b'\n')) => self.pos += 2,
                _ => break,
            }
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

fn is_name(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|&b| b == b'_' || b.is_ascii_alphabetic()) && s.bytes().all(is_name_byte)
}
