//! Health checks: one file per probe kind, and the engine that runs many of
//! them concurrently.
//!
//! A probe talks to one target and reports what it saw as an [`Observation`]:
//! result fields (`status`, `json`, `reply`, `rows`, `exit_code`, …) that a
//! check's `expect:` and `warn:` expressions read, a one-line summary for the
//! matrix, and the verdict to use when the check has no `expect:`. A probe
//! that cannot observe anything (connection refused, garbage on the wire,
//! nothing to read) returns a [`Failure`] with the state it implies and a
//! reason a person understands.
//!
//! Probes never print and never see secrets' names: the engine renders every
//! template first and redacts every secret value from what comes back.
//!
//! The wire code of `http`, `postgres` and `redis` (with `tcp` and `expect`)
//! is crate-visible: SQL, Redis and HTTP steps (`procedure`) connect, bound
//! their reads and judge `expect=` through it, exactly as the checks do.

mod cert;
mod command;
mod disk;
mod dns;
mod engine;
pub(crate) mod expect;
mod file;
mod gate;
pub(crate) mod http;
mod metric;
mod params;
mod pidfile;
pub(crate) mod postgres;
mod prometheus;
pub(crate) mod redis;
mod resolve;
mod systemd;
pub(crate) mod tcp;
#[cfg(test)]
pub(crate) mod testing;
mod tls;

use std::fmt;
use std::time::Duration;

pub use engine::{Context, Options, Prepared, Progress, human_duration, run, run_one};
pub use gate::{Gate, gate};
pub use params::Params;
pub use prometheus::format_value;
pub use resolve::{Resolved, hide_url_password, resolve};

/// Entry points for the fuzz targets in `fuzz/`: the parsers that read what
/// servers and plugins send back. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a Redis reply, as the redis probe reads one, and checks that
    /// the framer finds the reply's end where the decoder does.
    pub fn redis_reply(bytes: &[u8]) {
        use super::redis::resp::{Framer, decode};
        let decoded = decode(bytes, super::MAX_READ).map(|reply| reply.map(|(_, used)| used));
        let framed = Framer::default().advance(bytes, super::MAX_READ);
        assert_eq!(decoded, framed, "the framer and the decoder disagree");
    }

    /// Parses a Nagios plugin's output and performance data.
    pub fn plugin_output(text: &str) {
        let _ = super::command::perfdata::parse_output(text);
    }

    /// Parses a Prometheus text-format page, and the same text as a series
    /// selector, matching the selector against the page's samples.
    pub fn metrics_page(text: &str) {
        let samples = super::prometheus::parse(text).unwrap_or_default();
        if let Ok(selector) = super::prometheus::Selector::parse(text) {
            let _ = samples.iter().filter(|s| selector.matches(s)).count();
        }
    }
}

/// The state of a check, in Nagios's order: the exit status of a matrix is
/// its worst state's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    /// The Nagios plugin exit code: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result fields a probe exposes to `expect:` and `warn:`.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// What a probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Fields for expectations; `latency_ms` is added by the engine.
    pub fields: Fields,
    /// One line for the matrix's Observed column: `200, 1.2 kB JSON`, `PONG`.
    pub observed: String,
    /// The verdict when the check has no `expect:`.
    pub default: Verdict,
    /// Why a field the probe would normally offer is missing, for the reason
    /// given when an expectation needs it: `("json", "the body is not JSON: …")`.
    pub missing: Vec<(&'static str, String)>,
}

impl Observation {
    pub fn new(fields: Fields, observed: impl Into<String>, default: Verdict) -> Observation {
        Observation { fields, observed: observed.into(), default, missing: Vec::new() }
    }
}

/// A state and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Empty when ok; otherwise one line: `status 503, expected 2xx`.
    pub reason: String,
}

impl Verdict {
    pub fn ok() -> Verdict {
        Verdict { status: Status::Ok, reason: String::new() }
    }

    pub fn warning(reason: impl Into<String>) -> Verdict {
        Verdict { status: Status::Warning, reason: reason.into() }
    }

    pub fn critical(reason: impl Into<String>) -> Verdict {
        Verdict { status: Status::Critical, reason: reason.into() }
    }

    pub fn unknown(reason: impl Into<String>) -> Verdict {
        Verdict { status: Status::Unknown, reason: reason.into() }
    }
}

/// A probe that saw nothing to judge: the state that implies and why.
///
/// A target that refuses, times out or answers garbage is `critical` (the
/// thing checked is not working); a check that cannot be carried out here
/// (a bad URL, a missing tool, a malformed parameter) is `unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub Verdict);

impl Failure {
    pub fn critical(reason: impl Into<String>) -> Failure {
        Failure(Verdict::critical(reason))
    }

    pub fn unknown(reason: impl Into<String>) -> Failure {
        Failure(Verdict::unknown(reason))
    }
}

/// The outcome of one check, ready to print.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub runbook: String,
    pub name: String,
    pub layer: Option<String>,
    /// None for a check that could not be read.
    pub kind: Option<crate::runbook::ProbeKind>,
    /// The target as rendered, secrets masked.
    pub target: String,
    /// What the check expects: its `expect:` or the probe's default.
    #[serde(skip)]
    pub expected: String,
    pub status: Status,
    pub latency_ms: f64,
    pub observed: String,
    pub reason: String,
    /// Attempts made: 1 plus the retries used.
    #[serde(skip)]
    pub attempts: u32,
    /// Numbers worth exporting: Nagios perfdata, a metric's value.
    #[serde(skip)]
    pub values: Vec<(String, f64)>,
}

/// How long a check may take when neither it nor the command line says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a probe reads from any answer: enough for any health body,
/// bounded so a 1 GB answer cannot exhaust memory.
pub const MAX_READ: usize = 1 << 20;

/// Bytes as a person reads them: `512 B`, `1.2 kB`, `3.4 MB`.
pub fn human_bytes(bytes: usize) -> String {
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} kB", value / 1e3)
    } else {
        format!("{:.1} MB", value / 1e6)
    }
}

/// Text shortened to `max` characters for one line of a matrix.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
