//! SQL and `psql` verdicts: statements that write or destroy (`DROP`,
//! `DELETE` without `WHERE`, functions that change the server) and
//! backslash meta-commands.

use super::Analysis;
use super::origin::Origin;
use super::verdict::{Verdict, code};
use crate::runbook::sql::statements;

impl Analysis<'_> {
    pub(super) fn sql(&mut self, text: &str, origin: &Origin) {
        for statement in statements(text) {
            self.record(sql_verdict(&statement.words), origin.map(&statement.range));
        }
    }

    /// SQL as `psql` reads it: backslash meta-commands on their own lines,
    /// SQL around them.
    pub(super) fn psql_script(&mut self, text: &str, origin: &Origin) {
        let mut sql = String::with_capacity(text.len());
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if trimmed.starts_with('\\') {
                let start = line_start + line.len() - trimmed.len();
                let meta = trimmed.trim_end();
                self.record(meta_command_verdict(meta), origin.map(&(start..start + meta.len())));
                // Blanked, not removed, so that offsets still match `text`.
                sql.push_str(&blank(line));
            } else {
                sql.push_str(line);
            }
            line_start += line.len();
        }
        self.sql(&sql, origin);
    }
}

/// `line` with every character but the newline replaced by spaces of the
/// same byte length.
fn blank(line: &str) -> String {
    line.chars().map(|c| if c == '\n' { "\n".to_owned() } else { " ".repeat(c.len_utf8()) }).collect()
}

pub(super) fn meta_command_verdict(meta: &str) -> Verdict {
    let name = meta.trim_start_matches('\\').split_whitespace().next().unwrap_or_default();
    let reads = (name.starts_with('d') && name != "drds")
        || (name.starts_with('l') && !name.starts_with("lo_"))
        || matches!(
            name,
            "x" | "timing"
                | "conninfo"
                | "echo"
                | "qecho"
                | "warn"
                | "pset"
                | "set"
                | "unset"
                | "c"
                | "connect"
                | "q"
                | "h"
                | "help"
                | "?"
                | "a"
                | "t"
                | "f"
                | "H"
                | "T"
                | "C"
                | "encoding"
                | "prompt"
                | "sf"
                | "sv"
                | "z"
                | "errverbose"
                | "p"
                | "r"
                | "getenv"
        );
    if reads { Verdict::Read } else { Verdict::Write(code(&format!("\\{name}"))) }
}

/// Functions that change the server's state from inside a `SELECT`.
pub(super) const SQL_WRITE_FUNCTIONS: &[&str] = &[
    "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND",
    "PG_RELOAD_CONF",
    "SET_CONFIG",
    "PG_ROTATE_LOGFILE",
    "PG_SWITCH_WAL",
    "PG_SWITCH_XLOG",
    "PG_CREATE_RESTORE_POINT",
    "PG_PROMOTE",
    "PG_WAL_REPLAY_PAUSE",
    "PG_WAL_REPLAY_RESUME",
    "PG_XLOG_REPLAY_PAUSE",
    "PG_XLOG_REPLAY_RESUME",
    "PG_DROP_REPLICATION_SLOT",
    "PG_CREATE_PHYSICAL_REPLICATION_SLOT",
    "PG_CREATE_LOGICAL_REPLICATION_SLOT",
    "PG_REPLICATION_SLOT_ADVANCE",
    "PG_LOGICAL_SLOT_GET_CHANGES",
    "PG_ADVISORY_LOCK",
    "PG_ADVISORY_XACT_LOCK",
    "PG_TRY_ADVISORY_LOCK",
    "PG_ADVISORY_UNLOCK",
    "PG_ADVISORY_UNLOCK_ALL",
    "NEXTVAL",
    "SETVAL",
    "LO_UNLINK",
    "LO_IMPORT",
    "LO_EXPORT",
    "LO_CREATE",
    "LO_FROM_BYTEA",
    "DBLINK_EXEC",
    "PG_FILE_WRITE",
    "PG_FILE_UNLINK",
    "PG_FILE_RENAME",
    "PG_STAT_RESET",
    "PG_STAT_RESET_SHARED",
    "PG_STAT_RESET_SINGLE_TABLE_COUNTERS",
    "PG_STAT_STATEMENTS_RESET",
    "PG_IMPORT_SYSTEM_COLLATIONS",
];

/// Keywords that make a query-looking statement (`WITH … DELETE`, `SELECT
/// … INTO`, `SELECT … FOR UPDATE`) more than a query. Keywords that only
/// start a statement (`VACUUM`, `COPY`, `DO` …) need no entry: a statement
/// is a query only when it starts as one.
pub(super) const SQL_WRITE_KEYWORDS: &[&str] =
    &["INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP", "ALTER", "CREATE", "GRANT", "REVOKE", "INTO"];

pub(super) fn sql_verdict(words: &[String]) -> Verdict {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(&first) = words.first() else { return Verdict::Write(code("SQL statement")) };
    let after = |i: usize| words.get(i + 1..).unwrap_or_default();
    let before = |i: usize| i.checked_sub(1).and_then(|p| words.get(p)).copied().unwrap_or_default();
    for (i, word) in words.iter().enumerate() {
        let verdict = match *word {
            "TRUNCATE" => Some(Verdict::Destructive(code("TRUNCATE"))),
            "DROP" => match words.get(i + 1) {
                Some(&("NOT" | "DEFAULT" | "EXPRESSION" | "IDENTITY")) => None,
                Some(object) => Some(Verdict::Destructive(code(&format!("DROP {object}")))),
                None => Some(Verdict::Destructive(code("DROP"))),
            },
            "DELETE" if words.get(i + 1) == Some(&"FROM") && before(i) != "ON" && !after(i).contains(&"WHERE") => {
                Some(Verdict::Destructive(format!("{} without {}", code("DELETE"), code("WHERE"))))
            }
            "UPDATE"
                if !matches!(before(i), "ON" | "FOR" | "KEY" | "GRANT" | "DO" | "OF" | "NO")
                    && after(i).contains(&"SET")
                    && !after(i).contains(&"WHERE") =>
            {
                Some(Verdict::Destructive(format!("{} without {}", code("UPDATE"), code("WHERE"))))
            }
            "PG_TERMINATE_BACKEND" => Some(Verdict::Destructive(code("pg_terminate_backend"))),
            _ => None,
        };
        if let Some(verdict) = verdict {
            return verdict;
        }
    }
    let reads_first = match first {
        "SELECT" | "SHOW" | "TABLE" | "VALUES" | "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT"
        | "SET" | "RESET" => true,
        "WITH" => words.contains(&"SELECT"),
        "EXPLAIN" => !words.contains(&"ANALYZE") && !words.contains(&"ANALYSE"),
        _ => false,
    };
    if let Some(function) = words.iter().find(|w| SQL_WRITE_FUNCTIONS.contains(w)) {
        return Verdict::Write(code(&function.to_ascii_lowercase()));
    }
    if let Some(keyword) = words.iter().find(|w| SQL_WRITE_KEYWORDS.contains(w))
        && reads_first
    {
        return Verdict::Write(code(keyword));
    }
    if reads_first {
        return Verdict::Read;
    }
    let what = match words.as_slice() {
        ["CREATE", "OR", "REPLACE", object, ..] => format!("CREATE OR REPLACE {object}"),
        ["CREATE" | "ALTER" | "COMMENT" | "REFRESH" | "EXPLAIN" | "SECURITY" | "IMPORT", second, ..] => {
            format!("{first} {second}")
        }
        _ => first.to_owned(),
    };
    Verdict::Write(code(&what))
}
