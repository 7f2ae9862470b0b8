//! How `runwell check` prints outcomes: the text matrix, JSON, a Nagios
//! plugin line, Prometheus text exposition, and the live progress line.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use comfy_table::{Cell, Color};

use super::list::{table, write_table};
use crate::check::{Outcome, Status};

/// How many checks ended in each state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warning: usize,
    pub critical: usize,
    pub unknown: usize,
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Summary {
        let mut summary = Summary::default();
        for outcome in outcomes {
            match outcome.status {
                Status::Ok => summary.ok += 1,
                Status::Warning => summary.warning += 1,
                Status::Critical => summary.critical += 1,
                Status::Unknown => summary.unknown += 1,
            }
        }
        summary
    }

    /// `9 ok, 1 warning, 1 critical`: the states that occurred, worst last.
    fn words(self) -> String {
        let parts =
            [("ok", self.ok), ("warning", self.warning), ("critical", self.critical), ("unknown", self.unknown)];
        let words: Vec<String> = parts.iter().filter(|(_, n)| *n > 0).map(|(w, n)| format!("{n} {w}")).collect();
        words.join(", ")
    }
}

fn colour(status: Status) -> Color {
    match status {
        Status::Ok => Color::Green,
        Status::Warning => Color::Yellow,
        Status::Critical => Color::Red,
        Status::Unknown => Color::Magenta,
    }
}

/// `0.4 ms`, `12 ms`, `1.3 s`.
pub fn milliseconds(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// The matrix, one table per runbook, then the reasons for whatever is not ok.
pub fn text(out: &mut impl Write, outcomes: &[Outcome], elapsed: Duration) -> io::Result<()> {
    let bold = anstyle::Style::new().bold();
    let mut runbooks: Vec<&str> = Vec::new();
    for outcome in outcomes {
        if !runbooks.contains(&outcome.runbook.as_str()) {
            runbooks.push(&outcome.runbook);
        }
    }
    for (n, runbook) in runbooks.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        if runbooks.len() > 1 {
            writeln!(out, "{bold}{runbook}{bold:#}")?;
        }
        let mut matrix = table(&["Layer", "Check", "Expected", "Observed", "Status", "Time"]);
        matrix.enforce_styling();
        for outcome in outcomes.iter().filter(|o| o.runbook == *runbook) {
            let observed = if outcome.observed.is_empty() { &outcome.reason } else { &outcome.observed };
            matrix.add_row(vec![
                Cell::new(outcome.layer.as_deref().unwrap_or("")),
                Cell::new(&outcome.name),
                Cell::new(crate::check::one_line(&outcome.expected, 40)),
                Cell::new(crate::check::one_line(observed, 48)),
                Cell::new(outcome.status).fg(colour(outcome.status)),
                Cell::new(milliseconds(outcome.latency_ms)),
            ]);
        }
        write_table(out, &matrix)?;
    }
    let problems: Vec<&Outcome> = outcomes.iter().filter(|o| o.status != Status::Ok).collect();
    if !problems.is_empty() {
        writeln!(out)?;
        for outcome in problems {
            let style = anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(match outcome.status {
                Status::Warning => anstyle::AnsiColor::Yellow,
                Status::Unknown => anstyle::AnsiColor::Magenta,
                _ => anstyle::AnsiColor::Red,
            })));
            let retried =
                if outcome.attempts > 1 { format!(" (after {} attempts)", outcome.attempts) } else { String::new() };
            writeln!(out, "{style}{}{style:#} {}: {}{retried}", outcome.status, outcome.name, outcome.reason)?;
        }
    }
    let summary = Summary::of(outcomes);
    let checks = if outcomes.len() == 1 { "check" } else { "checks" };
    writeln!(
        out,
        "\n{bold}{} {checks}{bold:#} in {}: {}",
        outcomes.len(),
        milliseconds(elapsed.as_secs_f64() * 1000.0),
        summary.words()
    )
}

#[derive(serde::Serialize)]
struct Report<'a> {
    checks: &'a [Outcome],
    summary: Summary,
}

pub fn json(out: &mut impl Write, outcomes: &[Outcome]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &Report { checks: outcomes, summary: Summary::of(outcomes) })?;
    writeln!(out)
}

/// The Nagios plugin output: `RUNWELL CRITICAL - … | perfdata`, then one
/// line per check (the plugin's long text).
pub fn nagios(out: &mut impl Write, outcomes: &[Outcome]) -> io::Result<()> {
    let worst = outcomes.iter().map(|o| o.status).max().unwrap_or(Status::Unknown);
    let summary = Summary::of(outcomes);
    let mut first = format!("RUNWELL {} - {}", worst.as_str().to_uppercase(), summary.words());
    let failing: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status == worst && worst != Status::Ok)
        .map(|o| format!("{}: {}", o.name, o.reason))
        .collect();
    if !failing.is_empty() {
        let _ = write!(first, "; {}", crate::check::one_line(&failing.join("; "), 200));
    }
    let mut perfdata = Vec::new();
    for outcome in outcomes {
        perfdata.push(format!("{}={}ms", perf_label(&format!("{}_time", outcome.name)), outcome.latency_ms));
        for (label, value) in &outcome.values {
            perfdata.push(format!("{}={value}", perf_label(&format!("{}_{label}", outcome.name))));
        }
    }
    writeln!(out, "{} | {}", first.replace('|', "/"), perfdata.join(" "))?;
    for outcome in outcomes {
        let detail = if outcome.reason.is_empty() { &outcome.observed } else { &outcome.reason };
        writeln!(out, "[{}] {}: {}", outcome.status.as_str().to_uppercase(), outcome.name, detail.replace('|', "/"))?;
    }
    Ok(())
}

/// A perfdata label: quoted when it holds spaces or `=`, quotes doubled.
fn perf_label(label: &str) -> String {
    if label.contains([' ', '=', '\'']) { format!("'{}'", label.replace('\'', "''")) } else { label.to_owned() }
}

/// Prometheus text exposition format, one sample per check per metric.
pub fn prometheus(out: &mut impl Write, outcomes: &[Outcome]) -> io::Result<()> {
    let labels: Vec<String> = outcomes
        .iter()
        .map(|o| {
            format!(
                "runbook=\"{}\",check=\"{}\",layer=\"{}\",kind=\"{}\"",
                escape(&o.runbook),
                escape(&o.name),
                escape(o.layer.as_deref().unwrap_or("")),
                o.kind.map_or("", |k| k.as_str())
            )
        })
        .collect();
    writeln!(out, "# HELP runwell_check_status The check's state: 0 ok, 1 warning, 2 critical, 3 unknown.")?;
    writeln!(out, "# TYPE runwell_check_status gauge")?;
    for (outcome, labels) in outcomes.iter().zip(&labels) {
        writeln!(out, "runwell_check_status{{{labels}}} {}", outcome.status.code())?;
    }
    writeln!(out, "# HELP runwell_check_up 1 when the check is ok, else 0.")?;
    writeln!(out, "# TYPE runwell_check_up gauge")?;
    for (outcome, labels) in outcomes.iter().zip(&labels) {
        writeln!(out, "runwell_check_up{{{labels}}} {}", u8::from(outcome.status == Status::Ok))?;
    }
    writeln!(out, "# HELP runwell_check_latency_seconds How long the check's last attempt took.")?;
    writeln!(out, "# TYPE runwell_check_latency_seconds gauge")?;
    for (outcome, labels) in outcomes.iter().zip(&labels) {
        writeln!(out, "runwell_check_latency_seconds{{{labels}}} {}", outcome.latency_ms / 1000.0)?;
    }
    if outcomes.iter().any(|o| !o.values.is_empty()) {
        writeln!(out, "# HELP runwell_check_value A value the check observed: perfdata or a metric.")?;
        writeln!(out, "# TYPE runwell_check_value gauge")?;
        for (outcome, labels) in outcomes.iter().zip(&labels) {
            for (name, value) in &outcome.values {
                writeln!(
                    out,
                    "runwell_check_value{{{labels},name=\"{}\"}} {}",
                    escape(name),
                    crate::check::format_value(*value)
                )?;
            }
        }
    }
    Ok(())
}

/// A label value escaped as the exposition format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The live `checking 12/40` line on a terminal's stderr.
#[derive(Debug)]
pub struct ProgressLine {
    bar: indicatif::ProgressBar,
}

/// A progress line when stderr is a terminal and the output is the matrix.
pub fn progress_line(total: usize, text: bool) -> Option<ProgressLine> {
    if !text || !io::IsTerminal::is_terminal(&io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} checking {pos}/{len} {elapsed}")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(ProgressLine { bar })
}

impl ProgressLine {
    pub fn callback(&self) -> crate::check::Progress {
        let bar = Arc::new(self.bar.clone());
        Box::new(move |done| bar.set_position(done as u64))
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
