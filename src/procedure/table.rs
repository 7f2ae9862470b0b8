//! A result set printed as psql prints it (aligned, the default border):
//! centred headers, numbers to the right, `+` where a value goes on to
//! another line, `(N rows)` and a blank line at the end.
//!
//! Rows are printed in batches of at most [`BATCH_ROWS`] rows or
//! [`BATCH_BYTES`] of text, each as wide as its own widest values, as psql
//! does with `FETCH_COUNT` set: a query returning millions of rows costs
//! one batch of memory, and its first rows show before its last arrive. The
//! header is printed once, with the first batch.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

use super::network::Output;

/// Rows printed together.
pub const BATCH_ROWS: usize = 1000;
/// Text printed together, however few rows carry it.
pub const BATCH_BYTES: usize = 1 << 20;

/// Type OIDs psql aligns to the right: the numbers (`int2` … `numeric`,
/// `oid`, `xid`, `cid`, `xid8`, `money`).
const NUMERIC_TYPES: &[u32] = &[20, 21, 23, 26, 28, 29, 700, 701, 790, 1700, 5069];

/// One result set being printed.
#[derive(Debug)]
pub struct Table {
    /// Each column's name as display lines.
    names: Vec<Vec<Line>>,
    right: Vec<bool>,
    /// Rows not printed yet: each cell as display lines.
    batch: Vec<Vec<Vec<Line>>>,
    batch_bytes: usize,
    rows: u64,
    header_printed: bool,
}

/// A line of a value as shown, and how many columns it takes on a terminal.
#[derive(Debug)]
struct Line {
    text: String,
    width: usize,
}

impl Table {
    /// A result set with columns `names` whose type OIDs are `types` (empty
    /// when unknown: everything to the left).
    pub fn new(names: &[&str], types: &[u32]) -> Table {
        Table {
            names: names.iter().map(|name| lines(name)).collect(),
            right: (0..names.len()).map(|i| types.get(i).is_some_and(|oid| NUMERIC_TYPES.contains(oid))).collect(),
            batch: Vec::new(),
            batch_bytes: 0,
            rows: 0,
            header_printed: false,
        }
    }

    /// A row: a value per column, `None` for NULL (shown empty).
    pub fn push(&mut self, cells: &[Option<&str>], output: &mut Output<'_>) {
        self.batch_bytes += cells.iter().map(|c| c.map_or(0, str::len)).sum::<usize>();
        self.batch.push(cells.iter().map(|cell| lines(cell.unwrap_or_default())).collect());
        self.rows += 1;
        if self.batch.len() >= BATCH_ROWS || self.batch_bytes >= BATCH_BYTES {
            self.print_batch(output);
        }
    }

    /// The result set is complete: the rest of the rows and the footer.
    pub fn finish(mut self, output: &mut Output<'_>) {
        self.print_batch(output);
        let plural = if self.rows == 1 { "" } else { "s" };
        output.out(&format!("({} row{plural})\n\n", self.rows));
    }

    /// The query failed while rows were coming: print those received,
    /// without a footer (the count would not be the result's).
    pub fn abandon(mut self, output: &mut Output<'_>) {
        self.print_batch(output);
    }

    fn print_batch(&mut self, output: &mut Output<'_>) {
        let columns = self.names.len();
        let mut widths = vec![0; columns];
        for row in &self.batch {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = cell.iter().map(|l| l.width).fold(*width, usize::max);
            }
        }
        let mut text = String::new();
        if !self.header_printed {
            self.header_printed = true;
            for (width, name) in widths.iter_mut().zip(&self.names) {
                *width = name.iter().map(|l| l.width).fold(*width, usize::max);
            }
            header(&mut text, &self.names, &widths);
        }
        for row in self.batch.drain(..) {
            if columns > 0 {
                row_lines(&mut text, &row, &widths, &self.right);
            }
            if text.len() >= super::CHUNK {
                output.out(&text);
                text.clear();
            }
        }
        self.batch_bytes = 0;
        output.out(&text);
        output.flush();
    }
}

/// The centred names (over several lines when one has a line break) and
/// the rule under them.
fn header(text: &mut String, names: &[Vec<Line>], widths: &[usize]) {
    if names.is_empty() {
        // What psql prints for `SELECT;`.
        text.push_str("--\n");
        return;
    }
    let height = names.iter().map(Vec::len).max().unwrap_or(1);
    for index in 0..height {
        for (column, (name, &width)) in names.iter().zip(widths).enumerate() {
            text.push(' ');
            match name.get(index) {
                Some(line) => {
                    let spare = width - line.width;
                    pad(text, spare / 2);
                    text.push_str(&line.text);
                    pad(text, spare.div_ceil(2));
                }
                None => pad(text, width),
            }
            text.push(if index + 1 < name.len() { '+' } else { ' ' });
            if column + 1 < names.len() {
                text.push('|');
            }
        }
        text.push('\n');
    }
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    text.push_str(&rules.join("+"));
    text.push('\n');
}

/// One row, over as many lines as its tallest value.
fn row_lines(text: &mut String, row: &[Vec<Line>], widths: &[usize], right: &[bool]) {
    let height = row.iter().map(Vec::len).max().unwrap_or(1);
    let last = row.len() - 1;
    for index in 0..height {
        for (column, cell) in row.iter().enumerate() {
            let width = widths[column];
            text.push(' ');
            let more = index + 1 < cell.len();
            match cell.get(index) {
                // Past this value's lines: blank, and nothing at all at the
                // end of the line.
                None if column < last => pad(text, width),
                None => {}
                Some(line) if right[column] => {
                    pad(text, width - line.width);
                    text.push_str(&line.text);
                }
                Some(line) => {
                    text.push_str(&line.text);
                    if column < last || more {
                        pad(text, width - line.width);
                    }
                }
            }
            if more {
                text.push('+');
            } else if column < last {
                text.push(' ');
            }
            if column < last {
                text.push('|');
            }
        }
        text.push('\n');
    }
}

fn pad(text: &mut String, n: usize) {
    text.extend(std::iter::repeat_n(' ', n));
}

/// A value as psql shows it: split at line breaks, tabs expanded to the
/// next multiple of eight, other control characters as `\r`, `\x01`.
fn lines(value: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line = Line { text: String::new(), width: 0 };
    for c in value.chars() {
        match c {
            '\n' => lines.push(std::mem::replace(&mut line, Line { text: String::new(), width: 0 })),
            '\t' => {
                let spaces = 8 - line.width % 8;
                pad(&mut line.text, spaces);
                line.width += spaces;
            }
            '\r' => {
                line.text.push_str("\\r");
                line.width += 2;
            }
            c if c.is_ascii_control() => {
                let _ = write!(line.text, "\\x{:02X}", c as u32);
                line.width += 4;
            }
            c => {
                line.text.push(c);
                line.width += c.width().unwrap_or(0);
            }
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::tests::Tape;

    fn printed(names: &[&str], types: &[u32], rows: &[&[Option<&str>]]) -> String {
        let mut tape = Tape::default();
        let mut output = Output::new(&mut tape);
        let mut table = Table::new(names, types);
        for row in rows {
            table.push(row, &mut output);
        }
        table.finish(&mut output);
        output.flush();
        tape.stdout()
    }

    #[test]
    fn numbers_go_right_text_left_and_null_is_empty() {
        let shown = printed(
            &["a_very_long_name", "t", "n"],
            &[23, 25, 23],
            &[&[Some("1"), Some("x"), None], &[Some("22"), Some("yy\nzzz"), Some("3")]],
        );
        assert_eq!(
            shown,
            " a_very_long_name |  t  | n \n\
             ------------------+-----+---\n\
             \x20               1 | x   |  \n\
             \x20              22 | yy +| 3\n\
             \x20                 | zzz | \n\
             (2 rows)\n\n"
        );
    }

    #[test]
    fn control_characters_tabs_and_wide_characters_are_shown_as_psql_shows_them() {
        let shown = printed(
            &["cr", "ctl", "tabs", "e"],
            &[25, 25, 25, 25],
            &[&[Some("a\rb"), Some("x\u{1}y"), Some("ab\tc\td"), Some("日本")]],
        );
        assert_eq!(
            shown,
            "  cr  |  ctl   |       tabs        |  e   \n\
             ------+--------+-------------------+------\n\
             \x20a\\rb | x\\x01y | ab      c       d | 日本\n\
             (1 row)\n\n"
        );
    }

    #[test]
    fn a_header_with_a_line_break_and_a_table_without_columns() {
        assert_eq!(printed(&["multi\nline"], &[], &[&[Some("x")]]), " multi+\n line  \n-------\n x\n(1 row)\n\n");
        assert_eq!(printed(&[], &[], &[&[]]), "--\n(1 row)\n\n");
        assert_eq!(printed(&["n"], &[23], &[]), " n \n---\n(0 rows)\n\n");
    }

    #[test]
    fn each_batch_is_as_wide_as_its_own_values_and_the_header_comes_once() {
        let wide = "w".repeat(12);
        let mut rows: Vec<[Option<&str>; 1]> = vec![[Some("a")]; BATCH_ROWS];
        rows.push([Some(wide.as_str())]);
        let rows: Vec<&[Option<&str>]> = rows.iter().map(|r| &r[..]).collect();
        let shown = printed(&["v"], &[25], &rows);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(&lines[..3], [" v ", "---", " a"]);
        assert_eq!(lines[BATCH_ROWS + 2], format!(" {wide}"));
        assert_eq!(lines[BATCH_ROWS + 3], "(1001 rows)");
        assert_eq!(shown.matches(" v ").count(), 1);
    }
}
