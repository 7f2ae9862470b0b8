//! A Redis command line split into arguments exactly as `redis-cli` splits
//! what is typed at its prompt (`sdssplitargs`), and the inverse: an
//! argument quoted as `redis-cli` shows a bulk string (`sdscatrepr`).
//!
//! One splitter for everything that reads Redis commands: `redis` steps,
//! the redis check's `command`, and the safety classifier (which falls back
//! to whitespace when a line does not split). Pure, like the rest of
//! `runbook`.
//!
//! The rules, from `redis-cli`:
//!
//! - arguments are separated by blanks; `"…"` and `'…'` quote, and may
//!   start in the middle of an argument (`key"with space"` is one);
//! - inside `"…"`: `\n \r \t \b \a`, `\xHH` (a byte; two hex digits), and
//!   `\` before anything else stands for that character (`\"`, `\\`);
//! - inside `'…'`: only `\'` is an escape;
//! - a closing quote must be followed by a blank or the end of the line,
//!   and a quote that is never closed is an error;
//! - as in C, the line ends at a NUL byte.
//!
//! Arguments are text: a `\xHH` sequence that does not make UTF-8 is an
//! error rather than a silently mangled argument.

use std::fmt::Write as _;

/// Splits one line into arguments the way `redis-cli` does; `Err` says why
/// the line does not split (an unbalanced or misplaced quote).
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let bytes = line.as_bytes();
    let bytes = &bytes[..memchr::memchr(0, bytes).unwrap_or(bytes.len())];
    let mut arguments = Vec::new();
    let mut at = 0;
    loop {
        while bytes.get(at).is_some_and(|b| is_blank(*b)) {
            at += 1;
        }
        if at >= bytes.len() {
            return Ok(arguments);
        }
        let mut argument = Vec::new();
        loop {
            match bytes.get(at) {
                None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                Some(b'"') => at = double_quoted(bytes, at + 1, &mut argument, line)?,
                Some(b'\'') => at = single_quoted(bytes, at + 1, &mut argument, line)?,
                Some(&other) => {
                    argument.push(other);
                    at += 1;
                }
            }
        }
        let number = arguments.len() + 1;
        let argument = String::from_utf8(argument)
            .map_err(|_| format!("argument {number} of `{line}` is not UTF-8 text once its `\\x` escapes are read"))?;
        arguments.push(argument);
    }
}

/// Reads a `"…"` section whose text starts at `at`; returns where the
/// argument goes on.
fn double_quoted(bytes: &[u8], mut at: usize, argument: &mut Vec<u8>, line: &str) -> Result<usize, String> {
    loop {
        match bytes.get(at) {
            None => return Err(unbalanced(line)),
            Some(b'\\') => match bytes.get(at + 1) {
                Some(b'x') if hex_pair(bytes.get(at + 2..at + 4)).is_some() => {
                    argument.extend(hex_pair(bytes.get(at + 2..at + 4)));
                    at += 4;
                }
                Some(&escaped) => {
                    argument.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    at += 2;
                }
                // A backslash ending the line leaves the quote open.
                None => return Err(unbalanced(line)),
            },
            Some(b'"') => return closed(bytes, at + 1, line),
            Some(&other) => {
                argument.push(other);
                at += 1;
            }
        }
    }
}

/// Reads a `'…'` section whose text starts at `at`.
fn single_quoted(bytes: &[u8], mut at: usize, argument: &mut Vec<u8>, line: &str) -> Result<usize, String> {
    loop {
        match bytes.get(at) {
            None => return Err(unbalanced(line)),
            Some(b'\\') if bytes.get(at + 1) == Some(&b'\'') => {
                argument.push(b'\'');
                at += 2;
            }
            Some(b'\'') => return closed(bytes, at + 1, line),
            Some(&other) => {
                argument.push(other);
                at += 1;
            }
        }
    }
}

/// After a closing quote: a blank or the end, else the line is refused
/// (`"a"b` is not `ab` to `redis-cli`).
fn closed(bytes: &[u8], at: usize, line: &str) -> Result<usize, String> {
    match bytes.get(at) {
        Some(&next) if !is_blank(next) => {
            Err(format!("a closing quote must be followed by a space or the end of the line: `{line}`"))
        }
        _ => Ok(at),
    }
}

fn unbalanced(line: &str) -> String {
    format!("a quote is not closed: `{line}`")
}

/// C's `isspace`.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The byte two hex digits stand for.
fn hex_pair(digits: Option<&[u8]>) -> Option<u8> {
    let text = std::str::from_utf8(digits?).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(text, 16).ok()
}

/// `bytes` as `redis-cli` shows a bulk string: in double quotes, with `\`
/// and `"` escaped, `\n \r \t \a \b`, and `\xHH` for anything else that is
/// not printable ASCII. [`split_command`] reads it back to the same bytes.
pub fn quote(bytes: &[u8]) -> String {
    let mut quoted = String::with_capacity(bytes.len() + 2);
    quoted.push('"');
    for &byte in bytes {
        match byte {
            b'\\' => quoted.push_str("\\\\"),
            b'"' => quoted.push_str("\\\""),
            b'\n' => quoted.push_str("\\n"),
            b'\r' => quoted.push_str("\\r"),
            b'\t' => quoted.push_str("\\t"),
            0x07 => quoted.push_str("\\a"),
            0x08 => quoted.push_str("\\b"),
            0x20..=0x7e => quoted.push(byte as char),
            other => {
                let _ = write!(quoted, "\\x{other:02x}");
            }
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        split_command(line).unwrap_or_else(|why| panic!("`{line}` does not split: {why}"))
    }

    #[test]
    fn blanks_separate_arguments() {
        assert_eq!(split("  SCARD   tornado:ipam:pool \t"), ["SCARD", "tornado:ipam:pool"]);
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split(" \t "), Vec::<String>::new());
    }

    #[test]
    fn double_quotes_read_escapes() {
        assert_eq!(split(r#"SET "my key" "a\"b\\c\n\r\t""#), ["SET", "my key", "a\"b\\c\n\r\t"]);
        assert_eq!(split(r#"ECHO "\x41\x62" "\a\b""#), ["ECHO", "Ab", "\u{7}\u{8}"]);
        // `\x` without two hex digits is the letter x, as in redis-cli.
        assert_eq!(split(r#"ECHO "\x4g" "\q""#), ["ECHO", "x4g", "q"]);
        // UTF-8 written as bytes makes text again.
        assert_eq!(split(r#"ECHO "\xc3\xa9t\xc3\xa9""#), ["ECHO", "été"]);
        assert_eq!(split(r#"ECHO """#), ["ECHO", ""]);
    }

    #[test]
    fn single_quotes_are_literal_but_for_an_escaped_quote() {
        assert_eq!(split(r"GET 'a\nb' 'it\'s'"), ["GET", "a\\nb", "it's"]);
        assert_eq!(split("GET ''"), ["GET", ""]);
    }

    #[test]
    fn a_quote_may_start_inside_an_argument() {
        assert_eq!(split(r#"SET key"with space" v"#), ["SET", "keywith space", "v"]);
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert_eq!(split_command(r#"GET "key"#).unwrap_err(), r#"a quote is not closed: `GET "key`"#);
        assert!(split_command("GET 'key").is_err());
        assert!(split_command(r#"GET "key\"#).is_err(), "a trailing backslash escapes nothing");
        assert!(split_command(r"GET 'key\'").is_err(), "an escaped quote does not close");
    }

    #[test]
    fn a_closing_quote_glued_to_more_text_is_an_error() {
        let why = split_command(r#"GET "a"b"#).unwrap_err();
        assert_eq!(why, r#"a closing quote must be followed by a space or the end of the line: `GET "a"b`"#);
        assert!(split_command("GET 'a''b'").is_err(), "not SQL's doubled quote");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        let why = split_command(r#"SET k "\xff""#).unwrap_err();
        assert_eq!(why, r#"argument 3 of `SET k "\xff"` is not UTF-8 text once its `\x` escapes are read"#);
    }

    #[test]
    fn the_line_ends_at_a_nul_as_in_c() {
        assert_eq!(split("GET a\0b c"), ["GET", "a"]);
    }

    #[test]
    fn quote_shows_bytes_as_redis_cli_and_splits_back() {
        assert_eq!(quote(b"plain"), r#""plain""#);
        assert_eq!(quote(b"a\"b\\c\n\t\x07\x00\xff"), r#""a\"b\\c\n\t\a\x00\xff""#);
        assert_eq!(quote("é".as_bytes()), r#""\xc3\xa9""#);
        for argument in ["", "x y", "it's \"quoted\"\n", "naïve ☃", "\u{1}\u{7f}"] {
            assert_eq!(split(&quote(argument.as_bytes())), [argument]);
        }
    }
}
