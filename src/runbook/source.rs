//! Byte offsets to lines and columns, and the map from a code block's
//! de-indented body back to where each of its lines sits in the file.

use super::diagnostic::Location;

/// Line starts of a whole source file, for offset → line:column.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(line_ends(source).map(|i| i + 1));
        LineIndex { starts }
    }

    /// The location of byte `offset` in `source` (the same text given to
    /// `new`). Offsets past the end or inside a character are clamped.
    pub fn location(&self, source: &str, offset: usize) -> Location {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let line = self.starts.partition_point(|&start| start <= offset) - 1;
        let column = source[self.starts[line]..offset].chars().count() + 1;
        Location::new(to_u32(line + 1), to_u32(column))
    }
}

/// Offsets of line terminators as `CommonMark` (and YAML) count them: `\n`,
/// `\r\n` (once, at the `\n`) and a lone `\r`.
fn line_ends(source: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = source.as_bytes();
    memchr::memchr2_iter(b'\n', b'\r', bytes).filter(move |&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
}

/// The number of lines in `source`, counted as `LineIndex` counts them.
pub fn line_count(source: &str) -> usize {
    line_ends(source).count() + 1
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The largest char boundary at or below `offset`.
pub(crate) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where each line of a code block's body starts in the file.
///
/// A fence inside a list item or block quote has its indentation and `>`
/// markers stripped from the body; diagnostics inside the body must still
/// point at the right column of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    /// `(offset in body, location in file)` for the start of each body line.
    lines: Vec<(usize, Location)>,
}

impl SourceMap {
    pub fn push_line(&mut self, body_offset: usize, location: Location) {
        self.lines.push((body_offset, location));
    }

    /// The file location of byte `offset` of `body`.
    pub fn location(&self, body: &str, offset: usize) -> Location {
        let offset = floor_char_boundary(body, offset);
        let index = self.lines.partition_point(|&(start, _)| start <= offset);
        let Some(&(start, location)) = index.checked_sub(1).and_then(|i| self.lines.get(i)) else {
            return self.lines.first().map(|&(_, l)| l).unwrap_or_default();
        };
        let start = start.min(offset);
        let extra = body[start..offset].chars().count();
        Location::new(location.line, location.column + to_u32(extra))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let source = "ab\nçd\n";
        let index = LineIndex::new(source);
        assert_eq!(index.location(source, 0), Location::new(1, 1));
        assert_eq!(index.location(source, 3), Location::new(2, 1));
        assert_eq!(index.location(source, 5), Location::new(2, 2));
        // inside `ç`: clamped to its start
        assert_eq!(index.location(source, 4), Location::new(2, 1));
        assert_eq!(index.location(source, 100), Location::new(3, 1));
    }

    #[test]
    fn carriage_returns_end_lines_like_commonmark_says() {
        // regression (fuzz): YAML inside front matter counted a lone `\r` as a line break and we did not
        let source = "a\r\nb\rc\n";
        let index = LineIndex::new(source);
        assert_eq!(index.location(source, 3), Location::new(2, 1));
        assert_eq!(index.location(source, 5), Location::new(3, 1));
        assert_eq!(line_count(source), 4);
    }
}
