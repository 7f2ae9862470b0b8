//! Copying a stretch of Markdown with changes: headings given another
//! level, and blocks inserted after a line, behind the prefix of the
//! container (list item, block quote) the line sits in — so the copy parses
//! as the original did, plus what was inserted.

use std::fmt::Write as _;
use std::ops::Range;

use super::markdown::prefixed;

/// A change to the copied text: `range` replaced by `text` (an insertion
/// when the range is empty).
#[derive(Debug)]
pub(super) struct Edit {
    range: Range<usize>,
    text: String,
}

/// `source[range]` with the edits made.
pub(super) fn apply(source: &str, range: Range<usize>, mut edits: Vec<Edit>) -> String {
    edits.retain(|e| range.start <= e.range.start && e.range.end <= range.end);
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(range.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = range.start;
    for edit in edits {
        if edit.range.start < at {
            continue; // overlapping: cannot happen with spans from one parse
        }
        out.push_str(&source[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&source[at..range.end]);
    out
}

/// A heading rewritten at `level`: an ATX heading's `#`s changed, a setext
/// heading (underlined) turned into an ATX one.
pub(super) fn heading_edit(source: &str, heading: Range<usize>, level: i32) -> Edit {
    let hashes = "#".repeat(usize::try_from(level).unwrap_or(1));
    let text = &source[heading.clone()];
    let trimmed = text.trim_start_matches([' ', '\t', '>']);
    if trimmed.starts_with('#') {
        let at = heading.start + (text.len() - trimmed.len());
        let run = trimmed.len() - trimmed.trim_start_matches('#').len();
        return Edit { range: at..at + run, text: hashes };
    }
    let lines: Vec<&str> = text.lines().collect();
    let title_lines = &lines[..lines.len().saturating_sub(1).max(1)];
    let title: Vec<&str> = title_lines.iter().map(|l| l.trim_start_matches([' ', '\t', '>']).trim()).collect();
    let newline = if text.ends_with('\n') { "\n" } else { "" };
    Edit { range: heading, text: format!("{hashes} {}{newline}", title.join(" ")) }
}

/// Inserts `markdown` on its own lines after the line where `span` ends,
/// behind the prefix of the container the span sits in.
pub(super) fn insert_after(source: &str, span: Range<usize>, markdown: &str) -> Edit {
    let prefix = container_prefix(source, span.start);
    let at = if span.end > 0 && source.as_bytes()[span.end - 1] == b'\n' {
        span.end
    } else {
        source[span.end..].find('\n').map_or(source.len(), |i| span.end + i + 1)
    };
    let mut text = String::new();
    if at == source.len() && !source.ends_with('\n') {
        text.push('\n');
    }
    let blank = prefix.trim_end();
    let _ = writeln!(text, "{blank}");
    text.push_str(&prefixed(markdown, &prefix));
    // A blank line ends the quote, unless the text goes on with one.
    let next = source[at..].lines().next();
    if next.is_some_and(|line| !line.trim_start_matches([' ', '\t', '>']).is_empty()) {
        let _ = writeln!(text, "{blank}");
    }
    Edit { range: at..at, text }
}

/// What goes before a line to keep it in the container of the block at
/// `at`: the text before the block on its line with list markers turned to
/// spaces and `>` kept. An indented code block's own indentation is not
/// the container's: only its `>`s are kept.
fn container_prefix(source: &str, at: usize) -> String {
    let before = &source[line_start(source, at)..at];
    if source[at..].starts_with(['`', '~', '[']) {
        before.chars().map(|c| if matches!(c, '>' | '\t') { c } else { ' ' }).collect()
    } else {
        before.chars().filter(|&c| c == '>').map(|_| "> ").collect()
    }
}

pub(super) fn line_start(source: &str, at: usize) -> usize {
    source[..at].rfind('\n').map_or(0, |i| i + 1)
}
