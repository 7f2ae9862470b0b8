//! `runwell runs`, `runwell log RUN` and `runwell journal verify`: reading
//! the journal back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comfy_table::Cell;

use super::list::{table, write_table};
use super::{Error, Format, indent};
use crate::journal::{self, Event, RunFilter, SqliteStore, Store};

/// The journal at `db`, else at the default place.
pub(super) fn open(db: Option<&Path>) -> Result<SqliteStore, Error> {
    let path = match db {
        Some(path) => path.to_owned(),
        None => journal::default_path().map_err(Error::Journal)?,
    };
    SqliteStore::open(&path).map_err(Error::Journal)
}

#[derive(Debug, serde::Serialize)]
struct Listed {
    id: journal::RunId,
    runbook: String,
    procedure: String,
    environment: Option<String>,
    operator: String,
    status: journal::Status,
    started: String,
    finished: Option<String>,
}

/// `runwell runs`: newest first.
pub(super) fn runs(db: Option<&PathBuf>, format: Format, limit: u32) -> Result<ExitCode, Error> {
    let mut store = open(db.map(PathBuf::as_path))?;
    store.mark_interrupted(&journal::host_name()).map_err(Error::Journal)?;
    let runs = store.runs(&RunFilter { status: None, limit: Some(limit) }).map_err(Error::Journal)?;
    let listed: Vec<Listed> = runs
        .into_iter()
        .map(|run| Listed {
            id: run.id,
            runbook: run.info.runbook,
            procedure: run.info.procedure,
            environment: run.info.environment,
            operator: run.info.operator,
            status: run.status,
            started: run.info.started_at.to_string(),
            finished: run.finished_at.map(|t| t.to_string()),
        })
        .collect();
    let mut out = anstream::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &listed).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Text => {
            let mut runs =
                table(&["Run", "Runbook", "Procedure", "Env", "Operator", "Status", "Started (UTC)", "Finished (UTC)"]);
            for run in &listed {
                runs.add_row(vec![
                    Cell::new(run.id),
                    Cell::new(&run.runbook),
                    Cell::new(&run.procedure),
                    Cell::new(run.environment.as_deref().unwrap_or("")),
                    Cell::new(&run.operator),
                    Cell::new(run.status),
                    Cell::new(short(&run.started)),
                    Cell::new(run.finished.as_deref().map(short).unwrap_or_default()),
                ]);
            }
            write_table(&mut out, &runs)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `2026-11-23T22:41:07.123456Z` → `2026-11-23 22:41:07`.
fn short(timestamp: &str) -> String {
    timestamp.replacen('T', " ", 1).chars().take(19).collect()
}

/// `runwell log RUN`: the run's timeline, one line per event, output inline.
pub(super) fn log(db: Option<&PathBuf>, run: journal::RunId) -> Result<ExitCode, Error> {
    let store = open(db.map(PathBuf::as_path))?;
    let info = store.run(run).map_err(Error::Journal)?;
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "run {run}: {} › {} — {} (operator {}, host {})",
        info.info.runbook, info.info.procedure, info.status, info.info.operator, info.info.host
    )?;
    for record in store.events(run).map_err(Error::Journal)? {
        let at = short(&record.at.to_string());
        let line = match &record.event {
            Event::RunStarted(_) => "run started".to_owned(),
            Event::StepStarted { step, id, step_kind, safety, command } => {
                format!("step {step} `{id}` started ({step_kind}, {safety}):\n{}", indent(command))
            }
            Event::StepFinished { step, outcome, exit_code, duration, reason } => {
                let code = exit_code.map(|c| format!(", exit {c}")).unwrap_or_default();
                let why = reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                format!("step {step} {}{code} after {}{why}", format!("{outcome:?}").to_lowercase(), human(*duration))
            }
            Event::Output { bytes, .. } => indent(String::from_utf8_lossy(bytes).trim_end()),
            Event::OutputTruncated { step, stream, dropped } => {
                format!("step {step}: {dropped} bytes of {stream:?} not kept (head and tail are)").to_lowercase()
            }
            Event::ConfirmationAsked { step, prompt } => format!("step {step} asked: {prompt}"),
            Event::ConfirmationAnswered { step, answer, accepted, by } => {
                format!("step {step} {} by {by} ({answer})", if *accepted { "confirmed" } else { "declined" })
            }
            Event::Acknowledged { step, item, by } => format!("step {step} acknowledged by {by}: {item}"),
            Event::CheckResult { name, status, observed, reason, .. } => {
                format!("check {name}: {status} — {}", reason.as_deref().unwrap_or(observed))
            }
            Event::Note { text } => format!("note: {text}"),
            Event::RunFinished { status, reason } => {
                format!("run {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())
            }
        };
        if matches!(record.event, Event::Output { .. }) {
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{at}  {line}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `12.3 ms`, `4.2 s`.
fn human(duration: jiff::SignedDuration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10_000.0 { format!("{ms:.1} ms") } else { format!("{:.1} s", ms / 1000.0) }
}

/// `runwell journal verify`: 0 when every run's chain holds, 1 when any breaks.
pub(super) fn verify(db: Option<&PathBuf>) -> Result<ExitCode, Error> {
    let store = open(db.map(PathBuf::as_path))?;
    let verification = store.verify().map_err(Error::Journal)?;
    let mut out = anstream::stdout().lock();
    for broken in &verification.breaks {
        writeln!(out, "{broken}")?;
    }
    writeln!(
        out,
        "{} runs, {} events: {}",
        verification.runs,
        verification.events,
        if verification.is_intact() { "intact" } else { "the journal has been altered" }
    )?;
    Ok(if verification.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
