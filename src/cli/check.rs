//! `runwell check PATH...`: run the health-check matrix and report it.
//!
//! Exit status follows the Nagios plugin convention, so the command can be a
//! monitoring system's plugin as it is: 0 every check ok, 1 the worst is a
//! warning, 2 the worst is critical, 3 the worst is unknown. When `check`
//! cannot run at all (bad arguments, an unreadable runbook, an unknown
//! environment or check name, no checks to run) it exits 3 too: nothing was
//! verified, which is exactly what unknown means to a monitoring system.
//! Ctrl-C stops every check (and what `command` checks started) and exits
//! 130.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{Error, files, matrix};
use crate::check::{self, Options, Outcome, Status};
use crate::runbook::Severity;
use crate::runbook::diagnostic::hint;
use crate::template::{Redactor, Values};

/// The exit status of `check` when it could not run.
pub const CANNOT_RUN: u8 = 3;

/// The exit status after Ctrl-C: 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// A matrix like the runbook's own table, coloured on a terminal.
    Text,
    /// `{"checks": [...], "summary": {...}}`.
    Json,
    /// One Nagios plugin line with perfdata, then one line per check.
    Nagios,
    /// Prometheus text exposition: state, latency and values per check.
    Prometheus,
}

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    pub only: Vec<String>,
    pub env: Option<String>,
    pub sets: Vec<String>,
    pub format: CheckFormat,
    pub concurrency: usize,
    pub timeout: Option<Duration>,
}

pub(super) fn run(config: &Config) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let mut checks = Vec::new();
    let mut broken = Vec::new();
    let mut redactor = Redactor::default();
    let mut known = Vec::new();
    for path in files::discover(&config.paths)? {
        let parsed = files::load(&path)?;
        let runbook = &parsed.runbook;
        let values = Values::resolve(runbook, config.env.as_deref(), &config.sets)?;
        let secrets = values.with_secrets();
        redactor.extend(secrets.redactor());
        for diagnostic in &parsed.diagnostics {
            // A check that could not be read must not vanish from the matrix.
            if diagnostic.rule == "checks-syntax" && diagnostic.severity == Severity::Error {
                broken.push(unreadable(&runbook.name, &path, diagnostic));
            }
        }
        for spec in &runbook.checks {
            known.push(spec.name.clone());
            if config.only.is_empty() || config.only.contains(&spec.name) {
                checks.push(check::resolve(&runbook.name, spec, &secrets));
            }
        }
    }
    for name in &config.only {
        if !known.contains(name) {
            return Err(Error::UnknownCheck { name: name.clone(), hint: hint(name, known.iter().map(String::as_str)) });
        }
    }
    if !config.only.is_empty() {
        broken.clear();
    }
    if checks.is_empty() && broken.is_empty() {
        return Err(Error::NoChecks { paths: config.paths.iter().map(|p| p.display().to_string()).collect() });
    }

    let options = Options {
        concurrency: config.concurrency,
        timeout: config.timeout.unwrap_or(check::DEFAULT_TIMEOUT),
        redactor: redactor.clone(),
    };
    let total = checks.len();
    let progress = matrix::progress_line(total, config.format == CheckFormat::Text);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Error::Output)?;
    let run = check::run(checks, &options, progress.as_ref().map(matrix::ProgressLine::callback));
    // Ctrl-C drops the run: each probe's guard then kills what it started
    // (a `command` check's whole process group), which the terminal's
    // SIGINT would not reach, being sent to our process group only.
    let outcomes = runtime.block_on(async {
        tokio::select! {
            outcomes = run => Some(outcomes),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    if let Some(progress) = progress {
        progress.finish();
    }
    drop(runtime);
    let Some(mut outcomes) = outcomes else {
        let mut err = anstream::stderr().lock();
        writeln!(err, "interrupted: no result")?;
        return Ok(ExitCode::from(INTERRUPTED));
    };
    outcomes.extend(broken);
    let elapsed = started.elapsed();

    // Thousands of rows: buffer them rather than write each piece.
    let mut out = std::io::BufWriter::new(anstream::stdout().lock());
    match config.format {
        CheckFormat::Text => matrix::text(&mut out, &outcomes, elapsed)?,
        CheckFormat::Json => matrix::json(&mut out, &outcomes)?,
        CheckFormat::Nagios => matrix::nagios(&mut out, &outcomes)?,
        CheckFormat::Prometheus => matrix::prometheus(&mut out, &outcomes)?,
    }
    out.flush()?;
    let worst = outcomes.iter().map(|o| o.status).max().unwrap_or(Status::Unknown);
    Ok(ExitCode::from(worst.code()))
}

/// A `checks` entry that could not be read, as an `unknown` row.
fn unreadable(runbook: &str, path: &std::path::Path, diagnostic: &crate::runbook::Diagnostic) -> Outcome {
    Outcome {
        runbook: runbook.to_owned(),
        name: format!("line {}", diagnostic.location.line),
        layer: None,
        kind: None,
        target: String::new(),
        expected: String::new(),
        status: Status::Unknown,
        latency_ms: 0.0,
        observed: String::new(),
        reason: format!(
            "{}:{}: {} (`runwell lint {}` shows it)",
            path.display(),
            diagnostic.location.line,
            diagnostic.message,
            path.display()
        ),
        attempts: 0,
        values: Vec::new(),
    }
}
