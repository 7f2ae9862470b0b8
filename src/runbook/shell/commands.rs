//! The command splitter: simple commands, their words and redirections,
//! the shell syntax around them (keywords, `case`, functions, `[[ ]]`),
//! and the variables that assignments and builtins set.

use std::mem;
use std::ops::Range;

use super::{
    Assigned, Command, Lexer, MAX_DEPTH, PendingHeredoc, QuoteContext, Redirect, Span, Word, is_name, is_name_byte,
};

/// Words that are shell syntax, not commands, at the start of a command.
const KEYWORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "for", "case", "esac", "in", "function",
    "select", "time", "!", "{", "}", "coproc",
];

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

impl Lexer<'_> {
    fn new_builder(&mut self) -> Builder {
        self.next_builder += 1;
        Builder { id: self.next_builder, ..Builder::default() }
    }

    /// Lexes commands until the end, or until an unmatched `)` when
    /// `in_parens` (the body of `$( )`). Returns whether that `)` was found.
    pub(super) fn list(&mut self, in_parens: bool) -> bool {
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
    pub(super) fn template_len(&self, at: usize) -> Option<usize> {
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
