//! Quotes, expansions and here-document bodies: what a word's quoted
//! parts hold, the `$NAME`, `${ }`, `$( )`, backtick and arithmetic
//! expansions in them, and the quoting context of each region.

use std::mem;

use super::{Assigned, Heredoc, Lexer, MAX_DEPTH, QuoteContext, Span, VarUse, is_name_byte};

impl Lexer<'_> {
    /// After a newline: reads the bodies of the here-documents started on
    /// the line just ended.
    pub(super) fn heredoc_bodies(&mut self) {
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
            let context = if pending.expands { QuoteContext::HeredocExpanding } else { QuoteContext::HeredocLiteral };
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

    pub(super) fn single_quoted(&mut self, value: &mut String) {
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
    pub(super) fn ansi_c_quoted(&mut self, value: &mut String) {
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

    pub(super) fn double_quoted(&mut self, value: &mut String) {
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
    pub(super) fn dollar(&mut self, value: &mut String, in_double_quotes: bool) {
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
    pub(super) fn substitution(&mut self, value: &mut String) {
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

    pub(super) fn backtick(&mut self, value: &mut String) {
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
    pub(super) fn arithmetic(&mut self) {
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
    pub(super) fn skip_balanced(&mut self, open: u8, close: u8) {
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
