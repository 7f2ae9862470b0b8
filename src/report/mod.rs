//! The post-incident record of a run, as Markdown: a summary, the checks
//! before and after the change, a timeline, empty sections for the review
//! to fill in, and the procedure as it ran — the runbook's own text, as the
//! run read it, with each step's outcome, exit code, duration, start time,
//! answers and output written beneath it.
//!
//! [`render`] is pure: the run, its events, its outputs and the stored
//! runbook text in, a `String` out — no clock, no environment, no I/O, so
//! the CLI and a future server render the same report. [`read`] gathers
//! its inputs from a [`Store`]. Secrets were masked before they reached the
//! journal; the report shows nothing else.
//!
//! The sections people write in come before the procedure: a step's output
//! can run long, and what the review adds should not sit below it.

mod checks;
mod history;
mod markdown;
mod procedure;
mod result;
mod splice;
mod timeline;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::journal::{self, Event, Record, Run, RunId, Status, StepOutput, Store, Stream};
use history::History;
use markdown::{code, duration, prose, time};

/// The sections a post-incident review fills in, each with its prompt.
const REVIEW: [(&str, &str); 4] = [
    ("Cause", "What went wrong, and how it was found."),
    ("Contributing factors", "What made it likelier or worse: conditions, missing alerts, gaps in this runbook."),
    ("Fixes", "What was changed to resolve it: this run's steps and anything done outside it."),
    ("Follow-up tickets", "Work that keeps it from happening again: ticket, owner, due date."),
];

/// Each step's recorded output, by the run's step number and stream.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    by_step: HashMap<(u32, Stream), StepOutput>,
}

impl Outputs {
    /// Reads the output of every step that started in `events`.
    pub fn read(store: &(impl Store + ?Sized), run: RunId, events: &[Record]) -> Result<Self, journal::Error> {
        let mut outputs = Outputs::default();
        for record in events {
            if let Event::StepStarted { step, .. } = record.event {
                for stream in [Stream::Stdout, Stream::Stderr] {
                    if !outputs.by_step.contains_key(&(step, stream)) {
                        outputs.insert(step, stream, store.step_output(run, step, stream)?);
                    }
                }
            }
        }
        Ok(outputs)
    }

    pub fn insert(&mut self, step: u32, stream: Stream, output: StepOutput) {
        self.by_step.insert((step, stream), output);
    }

    pub fn get(&self, step: u32, stream: Stream) -> Option<&StepOutput> {
        self.by_step.get(&(step, stream))
    }
}

/// The report of run `run`, read from `store`.
pub fn read(store: &(impl Store + ?Sized), run: RunId) -> Result<String, journal::Error> {
    let info = store.run(run)?;
    let events = store.events(run)?;
    let outputs = Outputs::read(store, run, &events)?;
    let runbook = store.runbook_content(run)?;
    Ok(render(&info, &events, &outputs, &runbook))
}

/// The report: `events` and `outputs` as the journal holds them for `run`,
/// `runbook` the text the run read.
pub fn render(run: &Run, events: &[Record], outputs: &Outputs, runbook: &str) -> String {
    let history = History::gather(events);
    let parsed = crate::runbook::parse(Path::new(&run.info.runbook_path), runbook);
    let book = &parsed.runbook;
    let cx = result::Context { run, history: &history, outputs };
    let mut tally = Tally::default();
    let index = book.procedure_indices().find(|&i| book.sections[i].id == run.info.procedure);
    let (procedure, leftovers) = match index {
        Some(index) => procedure::section(&cx, book, runbook, index, &mut tally),
        None => (String::new(), procedure::all_recorded(&history)),
    };
    let recorded = procedure::recorded_steps(&cx, &leftovers, &mut tally);

    let mut out = String::new();
    let _ = writeln!(out, "# {} › {} — run {}\n", prose(&run.info.runbook), prose(&run.info.procedure), run.id);
    out.push_str(&summary(run, &history, &tally));
    let _ = writeln!(out, "\n## Checks before and after\n\n{}", checks::section(&history));
    let _ = writeln!(out, "## Timeline\n\n{}", timeline::section(run, events, &history));
    for (title, prompt) in REVIEW {
        let _ = writeln!(out, "## {title}\n\n*{prompt}*\n");
    }
    let _ = writeln!(out, "## The procedure as it ran\n");
    let _ = writeln!(
        out,
        "*{} as the run read it; beneath each step, what became of it. Times are UTC.*\n",
        code(&run.info.runbook_path)
    );
    match index {
        Some(_) => out.push_str(&procedure),
        None => {
            let _ = writeln!(
                out,
                "*The stored runbook has no procedure {}; the steps as the journal recorded them:*\n",
                code(&run.info.procedure)
            );
        }
    }
    if !leftovers.is_empty() {
        if index.is_some() {
            let _ = writeln!(out, "\n### Recorded steps not in the procedure's text\n");
        }
        out.push_str(&recorded);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The bullet list under the title.
fn summary(run: &Run, history: &History<'_>, tally: &Tally) -> String {
    let info = &run.info;
    let mut out = String::new();
    let status = match (run.status, history.reason) {
        (Status::Running, _) => format!(
            "running — in progress: this report shows what was recorded until {} UTC",
            time(history.last_at.unwrap_or(info.started_at))
        ),
        (status, Some(reason)) => format!("{status} — {}", prose(reason)),
        (status, None) => status.to_string(),
    };
    let _ = writeln!(out, "- **Status:** {status}");
    if !tally.is_empty() {
        let _ = writeln!(out, "- **Steps:** {tally}");
    }
    let environment = info.environment.as_deref().map_or_else(|| "none (the runbook's defaults)".to_owned(), code);
    let _ = writeln!(out, "- **Environment:** {environment}");
    let _ = writeln!(out, "- **Operator:** {} on host {}", prose(&info.operator), code(&info.host));
    let _ = writeln!(out, "- **Started:** {} UTC", time(info.started_at));
    match run.finished_at {
        Some(finished) => {
            let _ = writeln!(
                out,
                "- **Finished:** {} UTC, after {}",
                time(finished),
                duration(info.started_at.duration_until(finished))
            );
        }
        None => {
            let _ = writeln!(out, "- **Finished:** not yet");
        }
    }
    let _ = writeln!(out, "- **Runbook:** {}, SHA-256 {}", code(&info.runbook_path), code(&info.runbook_sha256));
    if let Some(earlier) = info.resumed_from {
        let _ = writeln!(out, "- **Resumes:** run {earlier}");
    }
    out
}

/// How many steps ended which way.
#[derive(Debug, Default)]
struct Tally(Vec<(&'static str, usize)>);

impl Tally {
    /// The order the summary counts in: what ran, what went wrong, what did not run.
    const ORDER: [&'static str; 14] = [
        "succeeded",
        "passed",
        "done",
        "failed",
        "timed out",
        "aborted",
        "skipped",
        "printed, not run (dry run)",
        "running",
        "did not finish",
        "not confirmed",
        "not run",
        "not reached yet",
        "not chosen",
    ];

    fn add(&mut self, word: &'static str) {
        if let Some((_, count)) = self.0.iter_mut().find(|(w, _)| *w == word) {
            *count += 1;
            return;
        }
        self.0.push((word, 1));
        let rank = |word: &str| Self::ORDER.iter().position(|w| *w == word).unwrap_or(Self::ORDER.len());
        self.0.sort_by_key(|(word, _)| rank(word));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(word, count)| format!("{count} {word}")).collect();
        f.write_str(&parts.join(" · "))
    }
}
