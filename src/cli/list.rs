//! `runwell list PATH`: procedures, checks and services at a glance.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use comfy_table::{Table, presets};

use super::{Error, Format, files};
use crate::runbook::Runbook;

#[derive(Debug, serde::Serialize)]
struct Listing<'a> {
    runbook: &'a str,
    path: String,
    title: Option<&'a str>,
    procedures: Vec<Procedure<'a>>,
    checks: Vec<Check<'a>>,
    services: Vec<Service<'a>>,
}

#[derive(Debug, serde::Serialize)]
struct Procedure<'a> {
    id: &'a str,
    title: &'a str,
    line: u32,
    level: u8,
    steps: usize,
    safety: &'static str,
    /// Set when this procedure is one alternative of its parent ("A", "B").
    option: Option<&'a str>,
}

#[derive(Debug, serde::Serialize)]
struct Check<'a> {
    name: &'a str,
    kind: &'static str,
    target: &'a str,
    layer: Option<&'a str>,
    line: u32,
}

#[derive(Debug, serde::Serialize)]
struct Service<'a> {
    name: &'a str,
    after: Vec<&'a str>,
    checks: Vec<&'a str>,
}

pub(super) fn run(path: &Path, format: Format) -> Result<ExitCode, Error> {
    let parsed = files::load(path)?;
    let listing = listing(&parsed.runbook);
    let mut out = anstream::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &listing).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Text => write_text(&mut out, &listing)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn listing(runbook: &Runbook) -> Listing<'_> {
    let procedures = runbook
        .procedure_indices()
        .map(|i| (i, &runbook.sections[i]))
        .map(|(i, s)| Procedure {
            id: &s.id,
            title: &s.title,
            line: s.location.line,
            level: s.level,
            steps: s.all_steps.len(),
            safety: runbook.safety(i).as_str(),
            option: s.option.as_deref(),
        })
        .collect();
    let checks = runbook
        .checks
        .iter()
        .map(|c| Check {
            name: &c.name,
            kind: c.kind.as_str(),
            target: &c.target,
            layer: c.layer.as_deref(),
            line: c.location.line,
        })
        .collect();
    let services = runbook
        .front_matter
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            after: s.after.iter().map(|(a, _)| a.as_str()).collect(),
            checks: s.checks.iter().map(|(c, _)| c.as_str()).collect(),
        })
        .collect();
    Listing {
        runbook: &runbook.name,
        path: runbook.path.display().to_string(),
        title: runbook.title.as_deref(),
        procedures,
        checks,
        services,
    }
}

pub(super) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header(header.iter().map(|h| h.to_uppercase()));
    table
}

/// Writes a table without the trailing padding of its last column.
pub(super) fn write_table(out: &mut impl Write, table: &Table) -> std::io::Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_text(out: &mut impl Write, listing: &Listing<'_>) -> std::io::Result<()> {
    let bold = anstyle::Style::new().bold();
    write!(out, "{bold}{}{bold:#}  {}", listing.runbook, listing.path)?;
    if let Some(title) = listing.title {
        write!(out, "  — {title}")?;
    }
    writeln!(out)?;

    writeln!(out, "\n{bold}Procedures{bold:#}")?;
    if listing.procedures.is_empty() {
        writeln!(out, "  none: no heading has steps under it")?;
    } else {
        let top = listing.procedures.iter().map(|p| p.level).min().unwrap_or(1);
        let mut t = table(&["id", "title", "line", "steps", "safety"]);
        for p in &listing.procedures {
            let indent = "  ".repeat(usize::from(p.level - top));
            let title = match p.option {
                Some(_) => format!("{indent}↳ {}", p.title),
                None => format!("{indent}{}", p.title),
            };
            t.add_row([p.id.to_owned(), title, p.line.to_string(), p.steps.to_string(), p.safety.to_owned()]);
        }
        write_table(out, &t)?;
    }

    if !listing.checks.is_empty() {
        writeln!(out, "\n{bold}Checks{bold:#}")?;
        let mut t = table(&["name", "kind", "target", "layer"]);
        for c in &listing.checks {
            t.add_row([c.name, c.kind, c.target, c.layer.unwrap_or("")]);
        }
        write_table(out, &t)?;
    }

    if !listing.services.is_empty() {
        writeln!(out, "\n{bold}Services{bold:#}")?;
        let mut t = table(&["name", "after", "checks"]);
        for s in &listing.services {
            t.add_row([s.name.to_owned(), s.after.join(", "), s.checks.join(", ")]);
        }
        write_table(out, &t)?;
    }
    Ok(())
}
