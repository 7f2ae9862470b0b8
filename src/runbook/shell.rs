//! A tolerant lexer for the shell snippets found in runbooks.
//!
//! Runbook snippets are often not valid shell (`<PID>`, `{{ NAME }}`, a
//! half-copied pipeline), so this never fails: it recovers at the next line.
//! It finds what lint, safety and quoting need — simple commands and their
//! words, redirections, here-documents, variable uses and assignments, and
//! the quoting context at any offset. It is not a shell.

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
    Comment,
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
/// of an expanding here-document reads as `DoubleQuoted` (`$`, `` ` `` and
/// `\` are special there; a `"` gains a visible backslash, which is the price
/// of never expanding a value); a quoted here-document's body is taken
/// literally, like a comment.
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
/// shell reads it back as exactly `value`, one word, with no expansion.
///
/// In a comment nothing is read back, so the value is inserted as is.
pub fn quote(value: &str, context: QuoteContext) -> String {
    match context {
        QuoteContext::Unquoted if !value.is_empty() && value.chars().all(is_safe_unquoted) => value.to_owned(),
        QuoteContext::Unquoted => format!("'{}'", value.replace('\'', r"'\''")),
        QuoteContext::SingleQuoted => value.replace('\'', r"'\''"),
        QuoteContext::DoubleQuoted => {
            let mut out = String::with_capacity(value.len());
            for c in value.chars() {
                if matches!(c, '\\' | '"' | '$' | '`') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
        QuoteContext::Comment => value.to_owned(),
    }
}

/// Characters no shell treats specially anywhere in a word.
fn is_safe_unquoted(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
}

/// Nesting of `$( )`, backticks, `${ }` and `$(( ))` beyond which text is
/// skipped rather than lexed, so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// Words that are shell syntax, not commands, at the start of a command.
const KEYWORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "for", "case", "esac", "in", "function",
    "select", "time", "!", "{", "}", "coproc",
];

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

/// What the next word of a command means.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The command name, or a keyword or assignment before it.
    #[default]
    Command,
    Argument,
    /// The variable of `for`/`select`.
    LoopName,
    /// The rest of a `for`/`select` header (`in a b c`).
    LoopRest,
    FunctionName,
    CaseSubject,
    CaseIn,
}

/// A simple command being collected.
#[derive(Debug, Default)]
struct Builder {
    id: usize,
    words: Vec<Word>,
    redirects: Vec<Redirect>,
    range: Option<Range<usize>>,
    expect: Expect,
    /// Inside `[[ … ]]`, where `<`, `>`, `&&`, `(` are operands.
    double_bracket: bool,
    /// After `time`, whose `-p` is not a command.
    after_time: bool,
    /// After `function NAME`, where `()` may follow.
    after_function: bool,
}

impl Builder {
    fn at_start(&self) -> bool {
        self.words.is_empty() && self.expect == Expect::Command
    }

    fn cover(&mut self, range: &Range<usize>) {
        self.range = Some(match self.range.take() {
            Some(r) => r.start.min(range.start)..r.end.max(range.end),
            None => range.clone(),
        });
    }
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

    fn new_builder(&mut self) -> Builder {
        self.next_builder += 1;
        Builder { id: self.next_builder, ..Builder::default() }
    }

    // ---- commands ---------------------------------------------------------

    /// Lexes commands until the end, or until an unmatched `)` when
    /// `in_parens` (the body of `$( )`). Returns whether that `)` was found.
    fn list(&mut self, in_parens: bool) -> bool {
        let mut cmd = self.new_builder();
        let mut parens = 0usize;
        // One entry per open `case`: true while a pattern is expected.
        let mut cases: Vec<bool> = Vec::new();
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            if cmd.double_bracket && self.double_bracket_operand(&mut cmd) {
                continue;
            }
            if cmd.at_start() && cases.last() == Some(&true) && !matches!(c, b'\n' | b';' | b'#') {
                if self.word_is("esac") {
                    cases.pop();
                    self.pos += 4;
                } else {
                    self.case_pattern();
                    if let Some(top) = cases.last_mut() {
                        *top = false;
                    }
                }
                continue;
            }
            match c {
                b'#' => self.comment(),
                b'\n' => {
                    self.finish(&mut cmd);
                    self.pos += 1;
                    self.heredoc_bodies();
                }
                b';' => {
                    self.finish(&mut cmd);
                    let len = if self.starts_with(";;&") {
                        3
                    } else if self.starts_with(";;") || self.starts_with(";&") {
                        2
                    } else {
                        1
                    };
                    if len > 1
                        && let Some(top) = cases.last_mut()
                    {
                        *top = true;
                    }
                    self.pos += len;
                }
                b'&' if self.peek_at(1) == Some(b'>') => self.redirect(&mut cmd),
                b'&' | b'|' => {
                    self.finish(&mut cmd);
                    let next = self.peek_at(1);
                    self.pos += if next == Some(c) || (c == b'|' && next == Some(b'&')) { 2 } else { 1 };
                }
                b'(' => {
                    if (cmd.at_start() || cmd.expect == Expect::LoopName) && self.peek_at(1) == Some(b'(') {
                        // `(( i++ ))` and `for (( … ))`: arithmetic, not a command.
                        self.pos += 2;
                        self.arithmetic();
                        if cmd.expect == Expect::LoopName {
                            cmd.expect = Expect::LoopRest;
                        }
                    } else if (cmd.after_function || (cmd.words.len() == 1 && cmd.redirects.is_empty()))
                        && self.empty_parens()
                    {
                        // `name() {` or `function name() {`: a definition, not a call.
                        cmd = self.new_builder();
                    } else {
                        self.finish(&mut cmd);
                        parens += 1;
                        self.pos += 1;
                    }
                }
                b')' => {
                    self.finish(&mut cmd);
                    self.pos += 1;
                    if parens > 0 {
                        parens -= 1;
                    } else if in_parens {
                        return true;
                    }
                }
                b'<' | b'>' if self.peek_at(1) != Some(b'(') && self.angle_placeholder().is_none() => {
                    self.redirect(&mut cmd);
                }
                b'0'..=b'9' if self.is_fd_redirect() => self.redirect(&mut cmd),
                _ => self.word(&mut cmd, &mut cases),
            }
        }
        self.finish(&mut cmd);
        false
    }

    /// At `(`: consumes `( )` if that is all there is, as in `name() {`.
    fn empty_parens(&mut self) -> bool {
        let mut i = self.pos + 1;
        while matches!(self.bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if i < self.end && self.bytes.get(i) == Some(&b')') {
            self.pos = i + 1;
            true
        } else {
            false
        }
    }

    /// The length of a `{{ expression }}` template placeholder at `at`. It is
    /// replaced by one quoted word before the shell runs, so whatever it
    /// holds (spaces, quotes) is opaque here.
    fn template_len(&self, at: usize) -> Option<usize> {
        let rest = self.bytes.get(at..self.end)?;
        if !rest.starts_with(b"{{") {
            return None;
        }
        let line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
        line.windows(2).skip(2).position(|w| w == b"}}").map(|i| i + 4)
    }

    /// The length of a `<NAME>` placeholder at the cursor. Runbooks write
    /// `kill -9 <PID>` and `/branches/<id>/run` meaning "fill this in", never
    /// the redirections the shell would read there.
    fn angle_placeholder(&self) -> Option<usize> {
        if self.peek() != Some(b'<') {
            return None;
        }
        let rest = self.bytes.get(self.pos + 1..self.end)?;
        let len =
            rest.iter().take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')).count();
        let starts_with_letter = rest.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        (starts_with_letter && rest.get(len) == Some(&b'>')).then_some(len + 2)
    }

    fn is_fd_redirect(&self) -> bool {
        let mut i = self.pos;
        while i < self.end && self.bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i < self.end && matches!(self.bytes.get(i), Some(b'<' | b'>')) && self.bytes.get(i + 1) != Some(&b'(')
    }

    /// Whether the unquoted word at the cursor is exactly `word`.
    fn word_is(&self, word: &str) -> bool {
        self.starts_with(word)
            && self
                .peek_at(word.len())
                .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b')'))
    }

    /// Inside `[[ … ]]`, takes an operator as an operand word.
    fn double_bracket_operand(&mut self, cmd: &mut Builder) -> bool {
        let len = match (self.peek(), self.peek_at(1)) {
            (Some(b'&'), Some(b'&')) | (Some(b'|'), Some(b'|')) => 2,
            (Some(b'<' | b'>' | b'(' | b')' | b'|' | b'&'), _) => 1,
            _ => return false,
        };
        let range = self.pos..self.pos + len;
        self.pos += len;
        cmd.cover(&range);
        cmd.words.push(Word { value: self.text(range.clone()).to_owned(), range });
        true
    }

    /// Skips a `case` pattern up to and including its `)`.
    fn case_pattern(&mut self) {
        let mut scratch = String::new();
        while let Some(c) = self.peek() {
            match c {
                b')' => {
                    self.pos += 1;
                    return;
                }
                b'\n' => return,
                b'\'' => self.single_quoted(&mut scratch),
                b'"' => self.double_quoted(&mut scratch),
                b'$' => self.dollar(&mut scratch, false),
                b'`' => self.backtick(&mut scratch),
                b'\\' => {
                    self.pos += 1;
                    self.bump();
                }
                _ => self.bump(),
            }
        }
    }

    fn comment(&mut self) {
        let end = self.line_end(self.pos);
        self.spans.push(Span { lo: self.pos + 1, hi: end, context: QuoteContext::Comment });
        self.pos = end;
    }

    fn word(&mut self, cmd: &mut Builder, cases: &mut Vec<bool>) {
        let start = self.pos;
        let (value, quoted) = self.word_text(start);
        if self.pos == start {
            // Nothing this lexer understands; move on rather than loop.
            self.bump();
            return;
        }
        let range = start..self.pos;
        let raw = self.text(range.clone());
        let word = Word { value, range: range.clone() };
        let keyword = !quoted && KEYWORDS.contains(&word.value.as_str());
        match cmd.expect {
            Expect::Command => {
                if cmd.after_time && word.value == "-p" {
                    cmd.after_time = false;
                } else if keyword {
                    cmd.after_time = word.value == "time";
                    match word.value.as_str() {
                        "for" | "select" => cmd.expect = Expect::LoopName,
                        "case" => cmd.expect = Expect::CaseSubject,
                        "function" => cmd.expect = Expect::FunctionName,
                        "esac" => {
                            cases.pop();
                        }
                        _ => {}
                    }
                } else if let Some(name) = assignment_name(raw) {
                    self.script.assigned.push(Assigned { name: name.to_owned(), range: start..start + name.len() });
                    cmd.cover(&range);
                } else {
                    cmd.after_time = false;
                    cmd.double_bracket = word.value == "[[";
                    cmd.cover(&range);
                    cmd.words.push(word);
                    cmd.expect = Expect::Argument;
                }
            }
            Expect::Argument => {
                if cmd.double_bracket && word.value == "]]" {
                    cmd.double_bracket = false;
                }
                cmd.cover(&range);
                cmd.words.push(word);
            }
            Expect::LoopName => {
                if is_name(&word.value) {
                    self.script.assigned.push(Assigned { name: word.value, range });
                }
                cmd.expect = Expect::LoopRest;
            }
            Expect::LoopRest => {}
            Expect::FunctionName => {
                cmd.expect = Expect::Command;
                cmd.after_function = true;
            }
            Expect::CaseSubject => cmd.expect = Expect::CaseIn,
            Expect::CaseIn => {
                if word.value == "in" {
                    cases.push(true);
                    *cmd = self.new_builder();
                }
            }
        }
    }

    /// Reads one word's text from the cursor: quotes removed, escapes
    /// resolved, expansions kept as written (and recorded). Returns the value
    /// and whether any part of it was quoted or escaped.
    fn word_text(&mut self, start: usize) -> (String, bool) {
        let mut value = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b')' => break,
                b'\r' if self.peek_at(1) == Some(b'\n') => break,
                b'<' if let Some(len) = self.angle_placeholder() => {
                    value.push_str(self.text(self.pos..self.pos + len));
                    self.pos += len;
                }
                b'<' | b'>' => {
                    if self.peek_at(1) != Some(b'(') {
                        break;
                    }
                    // Process substitution: `<(cmd)`.
                    value.push(char::from(c));
                    self.pos += 1;
                    self.substitution(&mut value);
                }
                b'(' => {
                    let so_far = self.text(start..self.pos);
                    if !(so_far.ends_with('=') && assignment_name(so_far).is_some()) {
                        break;
                    }
                    self.array(&mut value);
                }
                b'\\' => {
                    quoted = true;
                    if self.peek_at(1) == Some(b'\n') {
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        self.take_char(&mut value);
                    }
                }
                b'\'' => {
                    quoted = true;
                    self.single_quoted(&mut value);
                }
                b'"' => {
                    quoted = true;
                    self.double_quoted(&mut value);
                }
                b'`' => self.backtick(&mut value),
                b'{' if let Some(len) = self.template_len(self.pos) => {
                    // Substituted before the shell runs, and quoted as one word.
                    quoted = true;
                    value.push_str(self.text(self.pos..self.pos + len));
                    self.pos += len;
                }
                b'$' => match self.peek_at(1) {
                    Some(b'\'') => {
                        quoted = true;
                        self.ansi_c_quoted(&mut value);
                    }
                    Some(b'"') => {
                        quoted = true;
                        self.pos += 1;
                        self.double_quoted(&mut value);
                    }
                    _ => self.dollar(&mut value, false),
                },
                _ => self.take_char(&mut value),
            }
        }
        (value, quoted)
    }

    /// `X=(a b c)`: the words of an array assignment.
    fn array(&mut self, value: &mut String) {
        let start = self.pos;
        self.pos += 1;
        if self.depth >= MAX_DEPTH {
            self.skip_balanced(b'(', b')');
        } else {
            self.depth += 1;
            loop {
                self.skip_blanks();
                match self.peek() {
                    None => break,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(') => self.pos += 1,
                    Some(b'#') => self.comment(),
                    Some(_) => {
                        let before = self.pos;
                        self.word_text(before);
                        if self.pos == before {
                            self.bump();
                        }
                    }
                }
            }
            self.depth -= 1;
        }
        value.push_str(self.text(start..self.pos));
    }

    fn redirect(&mut self, cmd: &mut Builder) {
        // Longest first.
        const OPERATORS: &[&str] = &["<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">|", ">&", ">", "&>>", "&>"];
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let len = OPERATORS.iter().find(|op| self.starts_with(op)).map_or(1, |op| op.len());
        self.pos += len;
        let op = self.text(start..self.pos).to_owned();
        cmd.cover(&(start..self.pos));
        let operator = op.trim_start_matches(|c: char| c.is_ascii_digit());
        let heredoc = operator == "<<" || operator == "<<-";
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let has_target = match self.peek() {
            Some(b'<') => self.angle_placeholder().is_some(),
            Some(b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'>') | None => false,
            Some(_) => true,
        };
        let target = if has_target {
            {
                let target_start = self.pos;
                let (value, quoted) = self.word_text(target_start);
                let range = target_start..self.pos;
                if heredoc {
                    self.pending.push(PendingHeredoc {
                        delimiter: value.clone(),
                        strip_tabs: operator == "<<-",
                        expands: !quoted,
                        owner: cmd.id,
                    });
                }
                cmd.cover(&range);
                Some(Word { value, range })
            }
        } else {
            None
        };
        cmd.redirects.push(Redirect { op, target });
    }

    /// Ends the command being built: records it (and what its builtins
    /// assign) unless it is empty, and starts a new one.
    fn finish(&mut self, cmd: &mut Builder) {
        let done = mem::replace(cmd, self.new_builder());
        let Some(range) = done.range else { return };
        if done.words.is_empty() && done.redirects.is_empty() {
            return;
        }
        builtin_assignments(self.src, &done.words, &mut self.script.assigned);
        self.command_owners.push(done.id);
        self.script.commands.push(Command {
            words: done.words,
            redirects: done.redirects,
            heredocs: Vec::new(),
            range,
        });
    }

    /// After a newline: reads the bodies of the here-documents started on
    /// the line just ended.
    fn heredoc_bodies(&mut self) {
        for pending in mem::take(&mut self.pending) {
            let body_start = self.pos;
            let mut body_end = self.end;
            let mut next = self.end;
            let mut line_start = self.pos;
            while line_start < self.end {
                let line_end = self.line_end(line_start);
                let mut line = self.text(line_start..line_end);
                line = line.strip_suffix('\r').unwrap_or(line);
                if pending.strip_tabs {
                    line = line.trim_start_matches('\t');
                }
                if line == pending.delimiter {
                    body_end = line_start;
                    next = (line_end + 1).min(self.end);
                    break;
                }
                line_start = line_end + 1;
            }
            if pending.expands {
                let saved = (self.pos, self.end);
                self.pos = body_start;
                self.end = body_end;
                self.expansions_only();
                (self.pos, self.end) = saved;
            }
            self.pos = next;
            let context = if pending.expands { QuoteContext::DoubleQuoted } else { QuoteContext::Comment };
            self.spans.push(Span { lo: body_start, hi: body_end, context });
            self.heredocs.push((pending.owner, Heredoc { body: body_start..body_end, expands: pending.expands }));
        }
    }

    /// Records the expansions in an expanding here-document body, where
    /// quotes are plain characters.
    fn expansions_only(&mut self) {
        let mut scratch = mem::take(&mut self.scratch);
        while let Some(c) = self.peek() {
            match c {
                b'\\' => {
                    self.pos += 1;
                    self.bump();
                }
                b'$' => self.dollar(&mut scratch, true),
                b'`' => self.backtick(&mut scratch),
                _ => self.bump(),
            }
            scratch.clear();
        }
        self.scratch = scratch;
    }

    // ---- quotes and expansions -------------------------------------------

    fn single_quoted(&mut self, value: &mut String) {
        let open = self.pos;
        let mut close = None;
        let mut i = open + 1;
        while i < self.end {
            match self.bytes.get(i) {
                Some(b'\'') => {
                    close = Some(i);
                    break;
                }
                Some(b'{') => i += self.template_len(i).unwrap_or(1),
                _ => i += 1,
            }
        }
        let content_end = close.unwrap_or(self.end);
        value.push_str(self.text(open + 1..content_end));
        self.spans.push(Span { lo: open + 1, hi: content_end, context: QuoteContext::SingleQuoted });
        self.pos = close.map_or(self.end, |c| c + 1);
    }

    /// `$'…'`, with C-style escapes.
    fn ansi_c_quoted(&mut self, value: &mut String) {
        let open = self.pos;
        self.pos += 2;
        while let Some(c) = self.peek() {
            match c {
                b'\'' => break,
                b'\\' => {
                    self.pos += 1;
                    self.ansi_c_escape(value);
                }
                _ => self.take_char(value),
            }
        }
        self.spans.push(Span { lo: open + 2, hi: self.pos, context: QuoteContext::SingleQuoted });
        if self.peek() == Some(b'\'') {
            self.pos += 1;
        }
    }

    fn ansi_c_escape(&mut self, value: &mut String) {
        let Some(c) = self.peek() else {
            value.push('\\');
            return;
        };
        let simple = match c {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'a' => Some('\u{7}'),
            b'b' => Some('\u{8}'),
            b'e' | b'E' => Some('\u{1b}'),
            b'f' => Some('\u{c}'),
            b'v' => Some('\u{b}'),
            b'\\' | b'\'' | b'"' | b'?' => Some(char::from(c)),
            _ => None,
        };
        if let Some(ch) = simple {
            value.push(ch);
            self.pos += 1;
            return;
        }
        let (radix, max, skip) = match c {
            b'x' => (16, 2, 1),
            b'u' => (16, 4, 1),
            b'U' => (16, 8, 1),
            b'0'..=b'7' => (8, 3, 0),
            _ => {
                value.push('\\');
                return;
            }
        };
        let digits_start = self.pos + skip;
        let mut end = digits_start;
        while end < self.end
            && end - digits_start < max
            && self.bytes.get(end).is_some_and(|b| char::from(*b).is_digit(radix))
        {
            end += 1;
        }
        match u32::from_str_radix(self.text(digits_start..end), radix).ok().and_then(char::from_u32) {
            Some(ch) if end > digits_start => {
                value.push(ch);
                self.pos = end;
            }
            _ => {
                value.push('\\');
            }
        }
    }

    fn double_quoted(&mut self, value: &mut String) {
        let open = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek() {
            match c {
                b'"' => break,
                b'{' if let Some(len) = self.template_len(self.pos) => {
                    value.push_str(self.text(self.pos..self.pos + len));
                    self.pos += len;
                }
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(b'$' | b'`' | b'"' | b'\\') => {
                        self.pos += 1;
                        self.take_char(value);
                    }
                    _ => {
                        value.push('\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.dollar(value, true),
                b'`' => self.backtick(value),
                _ => self.take_char(value),
            }
        }
        self.spans.push(Span { lo: open + 1, hi: self.pos, context: QuoteContext::DoubleQuoted });
        if self.peek() == Some(b'"') {
            self.pos += 1;
        }
    }

    /// At `$`: an expansion (recorded and kept as written) or a plain `$`.
    fn dollar(&mut self, value: &mut String, in_double_quotes: bool) {
        let start = self.pos;
        match self.peek_at(1) {
            Some(b'(') if self.peek_at(2) == Some(b'(') => {
                self.pos += 3;
                self.arithmetic();
            }
            Some(b'(') => {
                self.pos += 1;
                self.substitution(&mut String::new());
            }
            Some(b'{') => self.parameter(in_double_quotes),
            Some(b) if b == b'_' || b.is_ascii_alphabetic() => {
                self.pos += 1;
                let name_start = self.pos;
                while self.peek().is_some_and(is_name_byte) {
                    self.pos += 1;
                }
                self.use_var(self.text(name_start..self.pos), start, false);
            }
            Some(b) if b.is_ascii_digit() || matches!(b, b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => {
                self.pos += 2;
                self.use_var(self.text(start + 1..self.pos), start, false);
            }
            _ => {
                self.pos += 1;
            }
        }
        value.push_str(self.text(start..self.pos));
    }

    fn use_var(&mut self, name: &str, start: usize, has_default: bool) {
        if !name.is_empty() {
            self.script.var_uses.push(VarUse { name: name.to_owned(), range: start..self.pos, has_default });
        }
    }

    /// At `(` of `$(` or `<(`: the commands inside, up to the matching `)`.
    fn substitution(&mut self, value: &mut String) {
        let start = self.pos;
        self.pos += 1;
        if self.depth >= MAX_DEPTH {
            self.pos = start;
            self.skip_balanced(b'(', b')');
        } else {
            self.depth += 1;
            let closed = self.list(true);
            self.depth -= 1;
            let hi = if closed { self.pos - 1 } else { self.pos };
            self.spans.push(Span { lo: start + 1, hi, context: QuoteContext::Unquoted });
        }
        value.push_str(self.text(start..self.pos));
    }

    fn backtick(&mut self, value: &mut String) {
        let open = self.pos;
        let mut close = None;
        let mut i = open + 1;
        while i < self.end {
            match self.bytes.get(i) {
                Some(b'\\') => i += 2,
                Some(b'`') => {
                    close = Some(i);
                    break;
                }
                _ => i += 1,
            }
        }
        let inner_end = close.unwrap_or(self.end);
        if self.depth < MAX_DEPTH {
            let saved_end = self.end;
            self.end = inner_end;
            self.pos = open + 1;
            self.depth += 1;
            self.list(false);
            self.depth -= 1;
            self.end = saved_end;
            self.spans.push(Span { lo: open + 1, hi: inner_end, context: QuoteContext::Unquoted });
        }
        self.pos = close.map_or(self.end, |c| c + 1);
        value.push_str(self.text(open..self.pos));
    }

    /// At `$` of `${`.
    fn parameter(&mut self, in_double_quotes: bool) {
        let start = self.pos;
        self.pos += 2;
        if self.depth >= MAX_DEPTH {
            self.pos = start + 1;
            self.skip_balanced(b'{', b'}');
            return;
        }
        // `${#X}` (length) and `${!X}` (indirection) name X; `${#}` is `$#`.
        if matches!(self.peek(), Some(b'#' | b'!')) && self.peek_at(1).is_some_and(|b| b != b'}') {
            self.pos += 1;
        }
        let name_start = self.pos;
        match self.peek() {
            Some(b) if b == b'_' || b.is_ascii_alphabetic() => {
                while self.peek().is_some_and(is_name_byte) {
                    self.pos += 1;
                }
            }
            Some(b) if b.is_ascii_digit() => {
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
            Some(b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => self.pos += 1,
            _ => {}
        }
        let name = self.text(name_start..self.pos);
        self.depth += 1;
        let mut scratch = String::new();
        if self.peek() == Some(b'[') {
            while let Some(c) = self.peek() {
                match c {
                    b']' => {
                        self.pos += 1;
                        break;
                    }
                    b'}' | b'\n' => break,
                    b'$' => self.dollar(&mut scratch, true),
                    _ => self.bump(),
                }
            }
        }
        let operator = self.text(self.pos..self.end);
        let has_default = [":-", ":=", ":?", ":+", "-", "=", "?", "+"].iter().any(|op| operator.starts_with(op));
        while let Some(c) = self.peek() {
            match c {
                b'}' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    self.bump();
                }
                b'\'' if !in_double_quotes => self.single_quoted(&mut scratch),
                b'"' => self.double_quoted(&mut scratch),
                b'$' => self.dollar(&mut scratch, in_double_quotes),
                b'`' => self.backtick(&mut scratch),
                _ => self.bump(),
            }
        }
        self.depth -= 1;
        self.use_var(name, start, has_default);
    }

    /// After `((` or `$((`: variables in arithmetic are used (and, before
    /// `=`, `+=`, `++` …, assigned) without a `$`.
    fn arithmetic(&mut self) {
        if self.depth >= MAX_DEPTH {
            self.pos = self.pos.saturating_sub(1);
            self.skip_balanced(b'(', b')');
            return;
        }
        self.depth += 1;
        let mut parens = 0usize;
        let mut scratch = String::new();
        while let Some(c) = self.peek() {
            match c {
                b'(' => {
                    parens += 1;
                    self.pos += 1;
                }
                b')' => {
                    self.pos += 1;
                    if parens == 0 {
                        if self.peek() == Some(b')') {
                            self.pos += 1;
                        }
                        break;
                    }
                    parens -= 1;
                }
                b'$' => self.dollar(&mut scratch, false),
                b'`' => self.backtick(&mut scratch),
                b'\'' => self.single_quoted(&mut scratch),
                b'"' => self.double_quoted(&mut scratch),
                b if (b == b'_' || b.is_ascii_alphabetic())
                    && !self.pos.checked_sub(1).and_then(|i| self.bytes.get(i)).is_some_and(|&p| is_name_byte(p)) =>
                {
                    let start = self.pos;
                    while self.peek().is_some_and(is_name_byte) {
                        self.pos += 1;
                    }
                    let name = self.text(start..self.pos);
                    self.use_var(name, start, false);
                    if self.arithmetic_assigns(start) {
                        self.script.assigned.push(Assigned { name: name.to_owned(), range: start..self.pos });
                    }
                }
                _ => self.bump(),
            }
            scratch.clear();
        }
        self.depth -= 1;
    }

    /// Whether the arithmetic variable ending at the cursor (starting at
    /// `start`) is assigned: `i=`, `i+=`, `i++`, `--i` …
    fn arithmetic_assigns(&self, start: usize) -> bool {
        let after = self.text(self.pos..self.end).trim_start();
        let mut i = start;
        while i > 0 && matches!(self.bytes.get(i - 1), Some(b' ' | b'\t')) {
            i -= 1;
        }
        let before = self.bytes.get(i.saturating_sub(2)..i).unwrap_or_default();
        let assigns_after = after.starts_with("++")
            || after.starts_with("--")
            || ["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]
                .iter()
                .any(|op| after.starts_with(op) && !after.starts_with("=="));
        assigns_after || before == b"++" || before == b"--"
    }

    /// Skips from `open` to its matching `close` without lexing, for text
    /// nested too deep to lex.
    fn skip_balanced(&mut self, open: u8, close: u8) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.bump();
            if c == open {
                depth += 1;
            } else if c == close {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
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

/// `NAME=`, `NAME+=`, `NAME[i]=` at the start of a raw word: the name.
fn assignment_name(raw: &str) -> Option<&str> {
    let name_len = raw.bytes().take_while(|&b| is_name_byte(b)).count();
    let name = raw.get(..name_len).filter(|n| is_name(n))?;
    let mut rest = raw.get(name_len..)?;
    if rest.starts_with('[') {
        rest = rest.get(rest.find(']')? + 1..)?;
    }
    (rest.starts_with('=') || rest.starts_with("+=")).then_some(name)
}

/// Variables that builtins assign: `read A B`, `export A=1`, `mapfile ARR` …
fn builtin_assignments(src: &str, words: &[Word], assigned: &mut Vec<Assigned>) {
    let Some((first, args)) = words.split_first() else { return };
    let mut assign = |word: &Word, name: &str| {
        if is_name(name) {
            let raw = src.get(word.range.clone()).unwrap_or_default();
            let range = if raw.starts_with(name) {
                word.range.start..word.range.start + name.len()
            } else {
                word.range.clone()
            };
            assigned.push(Assigned { name: name.to_owned(), range });
        }
    };
    match first.value.as_str() {
        "read" => {
            let names = options(args, "adinNptu", |option, value| {
                if option == 'a' {
                    assign(value, &value.value);
                }
            });
            for word in names {
                assign(word, &word.value);
            }
        }
        "mapfile" | "readarray" => {
            if let Some(word) = options(args, "dnOsuCc", |_, _| {}).first() {
                assign(word, &word.value);
            }
        }
        "printf" => {
            options(args, "v", |option, value| {
                if option == 'v' {
                    assign(value, &value.value);
                }
            });
        }
        "getopts" => {
            if let Some(word) = args.get(1) {
                assign(word, &word.value);
            }
        }
        "export" | "local" | "declare" | "typeset" | "readonly" => {
            for word in args.iter().filter(|w| !w.value.starts_with(['-', '+'])) {
                let end = word.value.find(['=', '[', '+']).unwrap_or(word.value.len());
                assign(word, word.value.get(..end).unwrap_or_default());
            }
        }
        _ => {}
    }
}

/// Walks `getopts`-style options in `args`, calling `on_value` for each
/// option in `with_value` and its value; returns the operands after them.
fn options<'w>(args: &'w [Word], with_value: &str, mut on_value: impl FnMut(char, &Word)) -> &'w [Word] {
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let value = word.value.as_str();
        if value == "--" {
            return args.get(i + 1..).unwrap_or_default();
        }
        if !value.starts_with('-') || value == "-" {
            break;
        }
        i += 1;
        for (at, option) in value.char_indices().skip(1) {
            if with_value.contains(option) {
                let rest = value.get(at + option.len_utf8()..).unwrap_or_default();
                if rest.is_empty() {
                    if let Some(next) = args.get(i) {
                        on_value(option, next);
                    }
                    i += 1;
                } else {
                    on_value(option, &Word { value: rest.to_owned(), range: word.range.clone() });
                }
                break;
            }
        }
    }
    args.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(command: &Command) -> Vec<&str> {
        command.words.iter().map(|w| w.value.as_str()).collect()
    }

    fn commands(script: &str) -> Vec<Vec<String>> {
        parse(script).commands.iter().map(|c| words(c).into_iter().map(str::to_owned).collect()).collect()
    }

    fn uses(script: &str) -> Vec<(String, bool)> {
        parse(script).var_uses.into_iter().map(|v| (v.name, v.has_default)).collect()
    }

    fn assigned(script: &str) -> Vec<String> {
        parse(script).assigned.into_iter().map(|a| a.name).collect()
    }

    #[test]
    fn splits_commands_at_operators_and_newlines() {
        assert_eq!(
            commands("a 1 | b 2 || c && d; e & f |& g\nh ;; i"),
            [["a", "1"].as_slice(), &["b", "2"], &["c"], &["d"], &["e"], &["f"], &["g"], &["h"], &["i"]]
        );
    }

    #[test]
    fn removes_quotes_and_resolves_escapes() {
        assert_eq!(
            commands(r#"echo 'a b' "c \"d\" \$e \x" f\ g $'h\ti\'' $"j""#),
            [["echo", "a b", r#"c "d" $e \x"#, "f g", "h\ti'", "j"]]
        );
    }

    #[test]
    fn word_ranges_include_quotes() {
        let script = parse("echo 'a b' c");
        assert_eq!(script.commands[0].words[1].range, 5..10);
        assert_eq!(script.commands[0].range, 0..12);
    }

    #[test]
    fn comments_only_at_word_start() {
        assert_eq!(commands("echo a#b # c d\n# e\nf"), [vec!["echo", "a#b"], vec!["f"]]);
    }

    #[test]
    fn line_continuation_joins_lines() {
        assert_eq!(commands("curl \\\n  -sS \\\n  http://x"), [["curl", "-sS", "http://x"]]);
        assert_eq!(commands("ec\\\nho"), [["echo"]]);
    }

    #[test]
    fn command_substitution_commands_are_listed_in_source_order() {
        let script = parse("kill -9 $(cat /var/run/sentinel.pid)");
        assert_eq!(script.commands.len(), 2);
        assert_eq!(words(&script.commands[0]), ["kill", "-9", "$(cat /var/run/sentinel.pid)"]);
        assert_eq!(words(&script.commands[1]), ["cat", "/var/run/sentinel.pid"]);
        assert_eq!(script.commands[1].range, 10..35);
        assert_eq!(
            commands("echo `date +%s` \"$(uname -r | tr a b)\""),
            [
                vec!["echo", "`date +%s`", "$(uname -r | tr a b)"],
                vec!["date", "+%s"],
                vec!["uname", "-r"],
                vec!["tr", "a", "b"]
            ]
        );
        assert_eq!(
            commands("diff <(ls a) <(ls b)"),
            [vec!["diff", "<(ls a)", "<(ls b)"], vec!["ls", "a"], vec!["ls", "b"]]
        );
    }

    #[test]
    fn variables_uses_and_defaults() {
        assert_eq!(
            uses(r#"echo $A ${B} ${C:-x} ${D-x} ${E:=x} ${F:?no} ${G:+y} ${#H} ${I%.*} ${J/a/b} "$K" '$L'"#),
            [
                ("A", false),
                ("B", false),
                ("C", true),
                ("D", true),
                ("E", true),
                ("F", true),
                ("G", true),
                ("H", false),
                ("I", false),
                ("J", false),
                ("K", false)
            ]
            .map(|(n, d)| (n.to_owned(), d))
        );
        assert_eq!(
            uses("echo $1 $@ $? $$ $# ${10}").into_iter().map(|u| u.0).collect::<Vec<_>>(),
            ["1", "@", "?", "$", "#", "10"]
        );
        assert_eq!(uses("echo ${A:-$B} $(echo $C) `echo $D` $((E + $F * 2))").len(), 6);
        let script = parse("echo ${NAME:-x}y");
        assert_eq!(script.var_uses[0].range, 5..15);
        assert_eq!(uses("echo \\$A \"\\$B\" $ x$"), []);
    }

    #[test]
    fn assignments() {
        let script = parse("X=1 Y=\"a b\" env\nZ=2");
        assert_eq!(commands("X=1 Y=\"a b\" env\nZ=2"), [["env"]]);
        assert_eq!(
            script.assigned.iter().map(|a| (a.name.as_str(), a.range.clone())).collect::<Vec<_>>(),
            [("X", 0..1), ("Y", 4..5), ("Z", 16..17)]
        );
        assert_eq!(script.commands[0].range, 0..15);
        assert_eq!(assigned("for H in a b; do echo $H; done"), ["H"]);
        assert_eq!(commands("for H in a b; do echo $H; done"), [["echo", "$H"]]);
        assert_eq!(assigned("select S in a b; do :; done"), ["S"]);
        assert_eq!(assigned("read -r -p 'Name: ' A B"), ["A", "B"]);
        assert_eq!(assigned("read -rp prompt A"), ["A"]);
        assert_eq!(assigned("read -a ARR"), ["ARR"]);
        assert_eq!(
            assigned("export A=1 B; local -r C=2; declare -A D; typeset E; readonly F=3"),
            ["A", "B", "C", "D", "E", "F"]
        );
        assert_eq!(assigned("mapfile -t LINES < f; readarray ARR"), ["LINES", "ARR"]);
        assert_eq!(assigned("getopts ab: OPT"), ["OPT"]);
        assert_eq!(assigned("printf -v OUT %s x"), ["OUT"]);
        assert_eq!(assigned("A+=x B[1]=y C=(a b $D)"), ["A", "B", "C"]);
        assert_eq!(assigned("for ((i = 0; i < 3; i++)); do :; done"), ["i", "i"]);
        assert_eq!(assigned("echo X=1"), Vec::<String>::new());
    }

    #[test]
    fn keywords_are_stripped() {
        assert_eq!(
            commands("if ! grep -q x f; then echo y; elif true; then :; else exit 1; fi"),
            [vec!["grep", "-q", "x", "f"], vec!["echo", "y"], vec!["true"], vec![":"], vec!["exit", "1"]]
        );
        // The loop's redirection is kept, on a command without words.
        assert_eq!(
            commands("while read -r l; do echo \"$l\"; done < f"),
            [vec!["read", "-r", "l"], vec!["echo", "$l"], vec![]]
        );
        assert_eq!(
            commands("time -p sleep 1; { a; }; until b; do c; done"),
            [vec!["sleep", "1"], vec!["a"], vec!["b"], vec!["c"]]
        );
        assert_eq!(commands("echo if then"), [["echo", "if", "then"]]);
        assert_eq!(commands("'if' x"), [["if", "x"]]);
    }

    #[test]
    fn case_patterns_are_not_commands() {
        assert_eq!(
            commands("case $1 in\n  start|stop) systemctl $1 x ;;\n  (*) echo no;;\nesac\nafter"),
            [vec!["systemctl", "$1", "x"], vec!["echo", "no"], vec!["after"]]
        );
        assert_eq!(commands("case x in a) b;; esac; c"), [["b"], ["c"]]);
    }

    #[test]
    fn functions_are_not_calls() {
        assert_eq!(
            commands("f() { rm x; }\nfunction g { ls; }\nfunction h() { pwd; }\nf"),
            [vec!["rm", "x"], vec!["ls"], vec!["pwd"], vec!["f"]]
        );
    }

    #[test]
    fn grouping() {
        assert_eq!(commands("(cd /x && make) | tee log"), [vec!["cd", "/x"], vec!["make"], vec!["tee", "log"]]);
        assert_eq!(
            commands("[[ $a > $b && ( -n $c ) ]] && echo y"),
            [vec!["[[", "$a", ">", "$b", "&&", "(", "-n", "$c", ")", "]]"], vec!["echo", "y"]]
        );
        assert_eq!(commands("(( n > 3 )) && echo big"), [["echo", "big"]]);
    }

    #[test]
    fn redirections() {
        let script = parse("cmd a > out 2>&1 >>app 2> err &>all <in <<<'s' >|f 3<&0 >&2 9>&-");
        let ops: Vec<(&str, Option<&str>)> = script.commands[0]
            .redirects
            .iter()
            .map(|r| (r.op.as_str(), r.target.as_ref().map(|t| t.value.as_str())))
            .collect();
        assert_eq!(
            ops,
            [
                (">", Some("out")),
                ("2>&", Some("1")),
                (">>", Some("app")),
                ("2>", Some("err")),
                ("&>", Some("all")),
                ("<", Some("in")),
                ("<<<", Some("s")),
                (">|", Some("f")),
                ("3<&", Some("0")),
                (">&", Some("2")),
                ("9>&", Some("-")),
            ]
        );
        assert_eq!(words(&script.commands[0]), ["cmd", "a"]);
        assert_eq!(parse("> /tmp/x").commands[0].redirects.len(), 1);
        assert_eq!(parse("ls >").commands[0].redirects[0].target, None);
        // `<NAME>` is a placeholder, not two redirections.
        assert_eq!(
            commands("kill -9 <PID> && curl http://x/b/<branch_id>/run > <out-file>"),
            [vec!["kill", "-9", "<PID>"], vec!["curl", "http://x/b/<branch_id>/run"]]
        );
        assert_eq!(parse("cat > <out-file>").commands[0].redirects[0].target.as_ref().unwrap().value, "<out-file>");
        assert_eq!(commands("sort <in >out"), [["sort"]]);
        assert_eq!(commands("echo a \\"), [["echo", "a"]]);
    }

    #[test]
    fn template_placeholders_are_opaque_words() {
        assert_eq!(
            commands("kubectl -n {{ ns }} get deploy/{{ name | default('x y') }} --stanza={{ s }}"),
            [["kubectl", "-n", "{{ ns }}", "get", "deploy/{{ name | default('x y') }}", "--stanza={{ s }}"]]
        );
        assert_eq!(
            commands("echo \"a {{ x | default(\"b\") }} c\" 'd {{ y | default('e') }} f' {{ if }}"),
            [["echo", "a {{ x | default(\"b\") }} c", "d {{ y | default('e') }} f", "{{ if }}"]]
        );
        assert_eq!(assigned("X={{ value }} cmd"), ["X"]);
        assert_eq!(commands("echo {{ unterminated\necho }}"), [vec!["echo", "{{", "unterminated"], vec!["echo", "}}"]]);
    }

    #[test]
    fn heredocs() {
        let text = "psql <<SQL\nDROP TABLE $T;\nSQL\ncat <<-'EOF' | grep x\n\tno $EXPANSION\n\tEOF\necho done\n";
        let script = parse(text);
        assert_eq!(
            script.commands.iter().map(|c| c.words[0].value.as_str()).collect::<Vec<_>>(),
            ["psql", "cat", "grep", "echo"]
        );
        let psql = &script.commands[0].heredocs[0];
        assert_eq!(&text[psql.body.clone()], "DROP TABLE $T;\n");
        assert!(psql.expands);
        let cat = &script.commands[1].heredocs[0];
        assert_eq!(&text[cat.body.clone()], "\tno $EXPANSION\n");
        assert!(!cat.expands);
        assert_eq!(script.var_uses.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["T"]);
        for quoted in ["<<\"EOF\"", "<<\\EOF", "<< 'EOF'"] {
            let script = parse(&format!("cat {quoted}\n$X\nEOF\n"));
            assert!(!script.commands[0].heredocs[0].expands, "{quoted}");
            assert!(script.var_uses.is_empty());
        }
        // Unterminated: the body runs to the end.
        let script = parse("cat <<EOF\nrm -rf /\n");
        assert_eq!(script.commands.len(), 1);
        assert_eq!(script.commands[0].heredocs[0].body, 10..19);
        // Two on one line, bodies in order.
        let text = "cat <<A <<B\na\nA\nb\nB\n";
        let bodies: Vec<&str> = parse(text).commands[0].heredocs.iter().map(|h| &text[h.body.clone()]).collect();
        assert_eq!(bodies, ["a\n", "b\n"]);
        // Inside a command substitution.
        let text = "x=$(cat <<EOF\nhello\nEOF\n)\necho $x";
        let script = parse(text);
        assert_eq!(commands(text), [vec!["cat"], vec!["echo", "$x"]]);
        assert_eq!(&text[script.commands[0].heredocs[0].body.clone()], "hello\n");
    }

    #[test]
    fn quote_contexts() {
        let s = "echo a 'b c' \"d $(e 'f') g\" # h\ncat <<'X'\ni\nX\ncat <<Y\nj\nY\n";
        let at = |needle: &str| quote_context(s, s.find(needle).unwrap());
        assert_eq!(at("a "), QuoteContext::Unquoted);
        assert_eq!(at("'b"), QuoteContext::Unquoted);
        assert_eq!(at("b c"), QuoteContext::SingleQuoted);
        assert_eq!(at("' \"d"), QuoteContext::SingleQuoted);
        assert_eq!(at("d $"), QuoteContext::DoubleQuoted);
        assert_eq!(at("e '"), QuoteContext::Unquoted);
        assert_eq!(at("f'"), QuoteContext::SingleQuoted);
        assert_eq!(at(" g"), QuoteContext::DoubleQuoted);
        assert_eq!(at(" h"), QuoteContext::Comment);
        assert_eq!(at("i\n"), QuoteContext::Comment);
        assert_eq!(at("j\n"), QuoteContext::DoubleQuoted);
        assert_eq!(quote_context("echo {{ x }}", 5), QuoteContext::Unquoted);
        assert_eq!(quote_context("echo \"{{ x }}\"", 6), QuoteContext::DoubleQuoted);
        assert_eq!(quote_context("echo '{{ x }}'", 6), QuoteContext::SingleQuoted);
        assert_eq!(quote_context("echo `{{ x }}`", 6), QuoteContext::Unquoted);
        assert_eq!(quote_context("x", 1000), QuoteContext::Unquoted);
    }

    #[test]
    fn quote_rules() {
        assert_eq!(quote("abc-1.2/x:y@z%,+=_", QuoteContext::Unquoted), "abc-1.2/x:y@z%,+=_");
        assert_eq!(quote("", QuoteContext::Unquoted), "''");
        assert_eq!(quote("it's", QuoteContext::Unquoted), r"'it'\''s'");
        assert_eq!(quote("it's", QuoteContext::SingleQuoted), r"it'\''s");
        assert_eq!(quote(r#"a"$`\b"#, QuoteContext::DoubleQuoted), r#"a\"\$\`\\b"#);
        assert_eq!(quote("$x 'y'", QuoteContext::Comment), "$x 'y'");
    }

    const NASTY: &[&str] = &[
        "",
        "plain",
        "two words",
        "  leading and trailing  ",
        "it's",
        "'",
        "''",
        "\"",
        "a\"b'c",
        "$(touch /tmp/runwell-quote-pwned)",
        "`touch /tmp/runwell-quote-pwned`",
        "${HOME}",
        "$HOME",
        "\\",
        "back\\slash\\",
        "new\nline",
        "\n",
        "a;b",
        "; rm -rf /tmp/runwell-never",
        "*",
        "?",
        "[a]",
        "~",
        "~root",
        "!",
        "!!",
        "a && b || c | d & e",
        "#not a comment",
        "{a,b}",
        "x=1",
        "-n",
        "tab\there",
        "unicode: ünïcødé ✓ 日本",
        "emoji 🚀",
        "<in >out",
        "%s %d",
    ];

    /// Runs `bash -c` on a script that prints its first argument's words.
    fn bash_words(script: &str) -> Vec<String> {
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .env_remove("BASH_ENV")
            .output()
            .expect("bash runs");
        assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").split('\0').map(str::to_owned).collect()
    }

    #[test]
    fn quoted_values_read_back_exactly_in_bash() {
        for value in NASTY {
            let cases = [
                format!("printf '%s\\0' {}; printf END", quote(value, QuoteContext::Unquoted)),
                format!("printf '%s\\0' '{}'; printf END", quote(value, QuoteContext::SingleQuoted)),
                format!("printf '%s\\0' \"{}\"; printf END", quote(value, QuoteContext::DoubleQuoted)),
                format!("printf '%s\\0' x{}y; printf END", quote(value, QuoteContext::Unquoted)),
            ];
            for (i, script) in cases.iter().enumerate() {
                let expected = if i == 3 { format!("x{value}y") } else { (*value).to_owned() };
                assert_eq!(bash_words(script), [expected, "END".to_owned()], "script: {script}");
            }
        }
        assert!(!std::path::Path::new("/tmp/runwell-quote-pwned").exists());
    }

    #[test]
    fn quote_uses_the_context_of_the_placeholder() {
        // (template, what bash should print around the value)
        let templates = [
            ("{}", "", ""),
            ("'{}'", "", ""),
            ("\"{}\"", "", ""),
            ("pre{}post", "pre", "post"),
            ("\"a $(printf %s '{}')\"", "a ", ""),
            ("\"a `printf %s {}`\"", "a ", ""),
        ];
        for value in NASTY {
            for (template, prefix, suffix) in templates {
                if template.contains("printf %s") && value.ends_with('\n') {
                    // Command substitution strips trailing newlines, by design.
                    continue;
                }
                if template.contains('`') && value.contains(['`', '\\']) {
                    // The documented limit of backticks: see `quote_context`.
                    continue;
                }
                let script = format!("printf '%s\\0' {template}; printf END");
                let offset = script.find("{}").unwrap();
                let quoted = quote(value, quote_context(&script, offset));
                let script = script.replace("{}", &quoted);
                assert_eq!(
                    bash_words(&script),
                    [format!("{prefix}{value}{suffix}"), "END".to_owned()],
                    "script: {script}"
                );
            }
        }
    }

    #[test]
    fn never_panics_on_hostile_input() {
        let pieces = [
            "$(", ")", "`", "'", "\"", "${", "}", "$((", "))", "<<", "EOF", "\n", "\\", "#", "é", "日", "🚀", "|",
            ";;", "case", "in", "esac", "for", "x=(", "[[", "<(", "$'", "\\\n", "{", "(", "&>", "2>&", "<<-", "$", "a",
            " ",
        ];
        // A small deterministic generator: no dependency needed.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..3000 {
            let mut script = String::new();
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                script.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let parsed = parse(&script);
            for command in &parsed.commands {
                assert!(script.get(command.range.clone()).is_some(), "{script:?}");
                for word in &command.words {
                    assert!(script.get(word.range.clone()).is_some(), "{script:?}");
                }
                for heredoc in &command.heredocs {
                    assert!(script.get(heredoc.body.clone()).is_some(), "{script:?}");
                }
            }
            for offset in 0..=script.len() {
                quote_context(&script, offset);
            }
        }
        // Found by fuzzing: a backslash at the very end.
        for script in ["\n\np\\", "0\u{fffd}\\", "\\", "'\\", "\"\\", "${\\", "$(\\", "`\\"] {
            let parsed = parse(script);
            for command in &parsed.commands {
                assert!(command.range.end <= script.len(), "{script:?}");
                assert!(command.words.iter().all(|w| w.range.end <= script.len()), "{script:?}");
            }
        }
        let deep = "$(".repeat(10_000) + &"`".repeat(1000) + &"${".repeat(10_000) + &"$((".repeat(10_000);
        parse(&deep);
        let deep = "\"$(".repeat(5000);
        parse(&deep);
        let deep = "x=(".repeat(5000);
        parse(&deep);
    }
}
