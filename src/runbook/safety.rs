//! Step safety: is a step read-only, a write, or destructive?
//!
//! Lint uses this to demand `confirm` on destructive steps; `runwell list`
//! shows it; dry-run (later) runs only `Read` steps. The classification is
//! deliberately conservative: a step is `Read` only when every command in it
//! is known to be read-only.

use std::ops::Range;

/// Ordered: `Read < Write < Destructive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Safety {
    Read,
    Write,
    Destructive,
}

/// Why a step is not read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub safety: Safety,
    /// What it does, for messages: "`kill -9`", "`DROP TABLE`",
    /// "`systemctl stop tornado` (a declared service)".
    pub what: String,
    /// Byte range in the analysed text.
    pub range: Range<usize>,
}

/// The result of classifying one step's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The most severe class found (`Read` when there are no findings).
    pub safety: Safety,
    /// Every destructive finding, then the first write finding if any.
    pub findings: Vec<Finding>,
}

/// What the runbook declares that safety depends on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Context<'a> {
    /// Declared service names and their systemd unit names:
    /// `systemctl stop NAME` of one of them is destructive.
    pub services: &'a [&'a str],
}

pub fn assess_shell(script: &str, context: Context<'_>) -> Assessment {
    let _ = (script, context);
    Assessment { safety: Safety::Write, findings: Vec::new() }
}

pub fn assess_sql(sql: &str) -> Assessment {
    let _ = sql;
    Assessment { safety: Safety::Write, findings: Vec::new() }
}

/// `commands` is Redis commands, one per line (`LLEN queue`, `FLUSHALL`).
pub fn assess_redis(commands: &str) -> Assessment {
    let _ = commands;
    Assessment { safety: Safety::Write, findings: Vec::new() }
}
