//! Writing Markdown that survives whatever the journal holds: escaped prose,
//! code spans and fences longer than any backtick run in their content,
//! table cells that cannot break their row, and recorded output made safe
//! to show (lossy UTF-8, no terminal escapes or control characters).

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

/// Text from the journal (names, answers, reasons) as inline Markdown that
/// reads as written: balanced `` `code` `` spans are kept — runwell's own
/// reasons name steps that way — and every other character Markdown would
/// act on is escaped. Newlines become spaces: a line of its own could
/// start a list or a heading.
pub(super) fn prose(text: &str) -> String {
    prose_lines(text).replace('\n', " ")
}

/// [`prose`] keeping its line breaks, for a table [`cell`], which shows
/// them as `<br>`.
pub(super) fn prose_lines(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            let run = rest.len() - rest.trim_start_matches('`').len();
            if let Some(close) = closing_backticks(&rest[run..], run) {
                let end = run + close + run;
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                continue;
            }
            for _ in 0..run {
                out.push_str("\\`");
            }
            rest = &rest[run..];
            continue;
        }
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '#' | '!') {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Where, in `text`, a run of exactly `len` backticks starts (the end of a
/// code span opened by `len` backticks).
fn closing_backticks(text: &str, len: usize) -> Option<usize> {
    let mut at = 0;
    while let Some(found) = text[at..].find('`') {
        let start = at + found;
        let run = text[start..].len() - text[start..].trim_start_matches('`').len();
        if run == len {
            return Some(start);
        }
        at = start + run;
    }
    None
}

/// `text` as a code span, whatever backticks it holds.
pub(super) fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    // A span that starts or ends with a backtick needs a space to pad it.
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// A backtick fence that no line of `text` can close: one longer than the
/// longest backtick run in it, and at least three.
pub(super) fn fence_for(text: &str) -> String {
    "`".repeat((longest_backtick_run(text) + 1).max(3))
}

/// `text` as a fenced block with the given info string.
pub(super) fn fenced(text: &str, info: &str) -> String {
    let fence = fence_for(text);
    let mut out = format!("{fence}{info}\n{text}");
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

/// Inline Markdown made safe for a GFM table cell: every `|` escaped (code
/// spans included, as GFM requires) and line breaks as `<br>`.
pub(super) fn cell(markdown: &str) -> String {
    let markdown = markdown.trim_end_matches(['\r', '\n']).replace("\r\n", "\n").replace('\r', "\n");
    markdown.replace('|', "\\|").replace('\n', "<br>")
}

/// A GFM table; cells are inline Markdown, escaped here with [`cell`].
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// Every line of `markdown` behind `prefix` (a block quote marker, a list
/// item's indentation); blank lines get the prefix without trailing spaces.
pub(super) fn prefixed(markdown: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + prefix.len() * 8);
    for line in markdown.lines() {
        if line.is_empty() {
            out.push_str(prefix.trim_end());
        } else {
            out.push_str(prefix);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Recorded output as text to show in a fence: invalid UTF-8 replaced,
/// terminal escape sequences removed, a carriage-return-rewritten line (a
/// progress bar) shown as its last state, other control characters dropped.
/// The journal keeps the bytes as they were.
pub(super) fn output_text(bytes: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(bytes);
    let plain: String = anstream::adapter::strip_str(&lossy).collect();
    let mut out = String::with_capacity(plain.len());
    for line in plain.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body.strip_suffix('\r').unwrap_or(body), true),
            None => (line, false),
        };
        let last = body.rsplit('\r').find(|part| !part.is_empty()).unwrap_or_default();
        out.extend(last.chars().filter(|&c| c == '\t' || !c.is_control()));
        if newline {
            out.push('\n');
        }
    }
    out
}

/// `2026-11-23 22:41:07`, in UTC.
pub(super) fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `412 ms`, `4.2 s`, `2 min 5 s`, `1 h 3 min`.
pub(super) fn duration(duration: SignedDuration) -> String {
    let sign = if duration.is_negative() { "-" } else { "" };
    let duration = duration.abs();
    let seconds = duration.as_secs();
    let text = if seconds < 1 {
        format!("{} ms", duration.as_millis())
    } else if seconds < 60 {
        format!("{:.1} s", duration.as_secs_f64())
    } else if seconds < 3600 {
        format!("{} min {} s", seconds / 60, seconds % 60)
    } else {
        format!("{} h {} min", seconds / 3600, seconds % 3600 / 60)
    };
    format!("{sign}{text}")
}

/// Time since the run started, for the timeline: `+02:05`, `+1:02:05`.
pub(super) fn elapsed(since: SignedDuration) -> String {
    let sign = if since.is_negative() { "-" } else { "+" };
    let seconds = since.abs().as_secs();
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 0 { format!("{sign}{h}:{m:02}:{s:02}") } else { format!("{sign}{m:02}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_keeps_code_spans_and_escapes_the_rest() {
        assert_eq!(prose("step `drop` failed: *all* <b>"), "step `drop` failed: \\*all\\* \\<b\\>");
        assert_eq!(prose("a ` alone and ``x`` kept"), "a \\` alone and ``x`` kept");
        assert_eq!(prose("two\nlines"), "two lines");
        assert_eq!(prose_lines("two\r\n*lines*"), "two\n\\*lines\\*");
    }

    #[test]
    fn code_spans_and_fences_outgrow_the_backticks_inside() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("```sh\n````\n"), "`````");
    }

    #[test]
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(cell("a | b\nc"), "a \\| b<br>c");
        assert_eq!(cell("`x|y`"), "`x\\|y`");
    }

    #[test]
    fn output_is_shown_as_a_terminal_would_leave_it() {
        assert_eq!(output_text(b"\x1b[31mred\x1b[0m\n"), "red\n");
        assert_eq!(output_text(b"10%\r50%\r100%\r\ndone\n"), "100%\ndone\n");
        assert_eq!(output_text(b"bad \xff byte\x07\n"), "bad \u{fffd} byte\n");
    }

    #[test]
    fn durations_read_at_human_scale() {
        assert_eq!(duration(SignedDuration::from_millis(412)), "412 ms");
        assert_eq!(duration(SignedDuration::from_millis(4_240)), "4.2 s");
        assert_eq!(duration(SignedDuration::from_secs(125)), "2 min 5 s");
        assert_eq!(duration(SignedDuration::from_secs(3_780)), "1 h 3 min");
        assert_eq!(elapsed(SignedDuration::from_secs(125)), "+02:05");
        assert_eq!(elapsed(SignedDuration::from_secs(3_725)), "+1:02:05");
    }
}
