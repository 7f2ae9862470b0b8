//! Just enough SQL lexing to reason about safety: statements split at `;`,
//! keywords outside string literals, quoted identifiers and comments.
//!
//! The dialect is that of Postgres (`E'…'`, `$tag$…$tag$`, nested `/* */`),
//! which also covers what runbooks write for other databases. Like the shell
//! lexer it never fails: an unterminated literal or comment runs to the end.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Upper-cased bare words (keywords and identifiers) outside literals and
    /// comments, in order: `DELETE FROM t WHERE x = 'DROP'` gives
    /// `["DELETE", "FROM", "T", "WHERE", "X"]`.
    pub words: Vec<String>,
    /// Byte range of the statement in the input.
    pub range: Range<usize>,
}

/// Splits `sql` into statements. Never panics, never fails.
///
/// A statement's range runs from its first token to the end of its last,
/// leaving out surrounding whitespace, comments and the `;`. Statements with
/// no tokens (`;;`, a lone comment) are skipped.
pub fn statements(sql: &str) -> Vec<Statement> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut words = Vec::new();
    let mut range: Option<Range<usize>> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        match b {
            b';' => {
                if let Some(range) = range.take() {
                    out.push(Statement { words: std::mem::take(&mut words), range });
                }
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find_byte(bytes, i, b'\n').unwrap_or(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i);
                continue;
            }
            b'\'' => i = quoted_end(bytes, i, b'\'', false),
            b'"' => i = quoted_end(bytes, i, b'"', false),
            b'$' => i = dollar_end(sql, i),
            b if b == b'_' || b.is_ascii_alphabetic() => {
                while bytes.get(i).is_some_and(|&b| b == b'_' || b == b'$' || b.is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = sql.get(start..i).unwrap_or_default();
                match (word, bytes.get(i)) {
                    // `E'…'`: a string with C-style escapes.
                    ("E" | "e", Some(b'\'')) => i = quoted_end(bytes, i, b'\'', true),
                    // `B'…'`, `X'…'`, `N'…'`, `U&'…'`: literals, not words.
                    ("B" | "b" | "X" | "x" | "N" | "n", Some(b'\'')) => i = quoted_end(bytes, i, b'\'', false),
                    ("U" | "u", Some(b'&')) if bytes.get(i + 1) == Some(&b'\'') => {
                        i = quoted_end(bytes, i + 1, b'\'', false);
                    }
                    _ => words.push(word.to_ascii_uppercase()),
                }
            }
            b if b.is_ascii_digit() => {
                // A number, including `1e5` and `0x1F`: none of it is a word.
                while bytes.get(i).is_some_and(|&b| b == b'.' || b == b'_' || b.is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => i += sql.get(i..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8),
        }
        let end = i.min(sql.len());
        range = Some(range.map_or(start..end, |r| r.start..end));
    }
    if let Some(range) = range {
        out.push(Statement { words, range });
    }
    out
}

fn find_byte(bytes: &[u8], from: usize, wanted: u8) -> Option<usize> {
    bytes.get(from..)?.iter().position(|&b| b == wanted).map(|i| from + i)
}

/// The end of the literal opening at `open`; a doubled quote is an escaped
/// one, and with `backslash` so is `\'`.
fn quoted_end(bytes: &[u8], open: usize, quote: u8, backslash: bool) -> usize {
    let mut i = open + 1;
    while let Some(&b) = bytes.get(i) {
        if backslash && b == b'\\' {
            i += 2;
        } else if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The end of the (nesting) block comment opening at `open`.
fn block_comment_end(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        if bytes.get(i..i + 2) == Some(b"/*") {
            depth += 1;
            i += 2;
        } else if bytes.get(i..i + 2) == Some(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// At `$`: the end of a dollar-quoted string (`$$…$$`, `$tag$…$tag$`), or
/// just past the `$` of a parameter (`$1`) or stray dollar.
fn dollar_end(sql: &str, open: usize) -> usize {
    let bytes = sql.as_bytes();
    let mut i = open + 1;
    if bytes.get(i).is_some_and(|&b| b == b'_' || b.is_ascii_alphabetic()) {
        while bytes.get(i).is_some_and(|&b| b == b'_' || b.is_ascii_alphanumeric()) {
            i += 1;
        }
    }
    if bytes.get(i) != Some(&b'$') {
        // `$1`: a parameter; its digits are a number.
        return open + 1;
    }
    let tag = sql.get(open..=i).unwrap_or("$$");
    sql.get(i + 1..).and_then(|rest| rest.find(tag)).map_or(sql.len(), |at| i + 1 + at + tag.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Vec<(Vec<String>, &str)> {
        statements(sql).into_iter().map(|s| (s.words, &sql[s.range])).collect()
    }

    fn words(sql: &str) -> Vec<Vec<String>> {
        statements(sql).into_iter().map(|s| s.words).collect()
    }

    #[test]
    fn splits_at_semicolons_and_skips_empty_statements() {
        let sql = "  SELECT 1;\n\n; -- nothing\nselect a from b ;;  /* c */ ";
        assert_eq!(
            split(sql),
            [
                (vec!["SELECT".to_owned()], "SELECT 1"),
                (vec!["SELECT".into(), "A".into(), "FROM".into(), "B".into()], "select a from b"),
            ]
        );
        assert_eq!(split("VACUUM"), [(vec!["VACUUM".to_owned()], "VACUUM")]);
        assert!(statements("").is_empty());
        assert!(statements("-- DROP TABLE x;\n/* DROP; */").is_empty());
    }

    #[test]
    fn literals_and_comments_hide_words_and_semicolons() {
        assert_eq!(words("DELETE FROM t WHERE x = 'DROP'"), [["DELETE", "FROM", "T", "WHERE", "X"]]);
        assert_eq!(
            words("SELECT 'a;''b' ; SELECT E'c\\';d' ; SELECT \"x;y\" , 2"),
            [vec!["SELECT"], vec!["SELECT"], vec!["SELECT"]]
        );
        assert_eq!(
            words("DO $$ BEGIN DROP TABLE x; END $$; DO $f$ a $$ ; $f$ LANGUAGE plpgsql"),
            [vec!["DO"], vec!["DO", "LANGUAGE", "PLPGSQL"]]
        );
        assert_eq!(words("SELECT /* a /* nested; */ still; */ 1 -- x; y\n FROM t"), [["SELECT", "FROM", "T"]]);
        assert_eq!(words("SELECT X'1F', B'01', U&'d\\0061t', e'x', 1e5, 0x1F, $1"), [["SELECT"]]);
    }

    #[test]
    fn function_names_are_words() {
        assert_eq!(
            words("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle';"),
            [["SELECT", "PG_TERMINATE_BACKEND", "PID", "FROM", "PG_STAT_ACTIVITY", "WHERE", "STATE"]]
        );
        assert_eq!(words("SELECT a$b, _x"), [["SELECT", "A$B", "_X"]]);
    }

    #[test]
    fn ranges_point_into_the_input() {
        let sql = "SELECT 'é;' ;\n  DROP TABLE \"ü\"  ";
        let found = statements(sql);
        assert_eq!(&sql[found[0].range.clone()], "SELECT 'é;'");
        assert_eq!(&sql[found[1].range.clone()], "DROP TABLE \"ü\"");
    }

    #[test]
    fn never_panics_on_unterminated_input() {
        for sql in ["'", "E'\\", "\"", "$$", "$a$ x", "/* /*", "--", "$", "é'", "/*/", "*/", "E", "U&"] {
            for range in statements(sql).iter().map(|s| s.range.clone()) {
                assert!(sql.get(range).is_some(), "{sql}");
            }
        }
        assert_eq!(words("SELECT 1; 'unterminated; DROP"), [vec!["SELECT"], vec![]]);
    }
}
