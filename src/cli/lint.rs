//! `runwell lint [PATH|DIR]...`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use rayon::prelude::*;

use super::{Error, Format, files};
use crate::lint::{self, Context};
use crate::runbook::{Diagnostic, Severity};

/// One diagnostic with its file, as `--format json` prints it.
#[derive(Debug, serde::Serialize)]
struct Record<'a> {
    file: String,
    line: u32,
    column: u32,
    severity: Severity,
    rule: &'a str,
    message: &'a str,
}

pub(super) fn run(paths: &[PathBuf], format: Format) -> Result<ExitCode, Error> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let files = files::discover(paths)?;
    let context = Context { today: jiff::ZonedDateTime::now().date() };
    let results: Vec<(PathBuf, Vec<Diagnostic>)> = files
        .par_iter()
        .map(|path| files::load(path).map(|parsed| (path.clone(), lint::lint(&parsed, context))))
        .collect::<Result<_, _>>()?;

    let errors = results.iter().flat_map(|(_, d)| d).filter(|d| d.severity == Severity::Error).count();
    let warnings = results.iter().flat_map(|(_, d)| d).filter(|d| d.severity == Severity::Warning).count();
    let mut out = anstream::stdout().lock();
    match format {
        Format::Json => {
            let records: Vec<Record<'_>> = results
                .iter()
                .flat_map(|(path, diagnostics)| {
                    diagnostics.iter().map(move |d| Record {
                        file: path.display().to_string(),
                        line: d.location.line,
                        column: d.location.column,
                        severity: d.severity,
                        rule: d.rule,
                        message: &d.message,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &records).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Text => {
            let bold = Style::new().bold();
            for (path, diagnostics) in &results {
                for d in diagnostics {
                    let color = match d.severity {
                        Severity::Error => AnsiColor::Red.on_default().bold(),
                        Severity::Warning => AnsiColor::Yellow.on_default().bold(),
                    };
                    writeln!(
                        out,
                        "{bold}{}:{}:{}{bold:#}: {color}{}{color:#}[{}]: {}",
                        path.display(),
                        d.location.line,
                        d.location.column,
                        d.severity,
                        d.rule,
                        d.message
                    )?;
                }
            }
            let mut err = anstream::stderr().lock();
            writeln!(
                err,
                "{} {}, {} {} in {} {}",
                errors,
                plural(errors, "error"),
                warnings,
                plural(warnings, "warning"),
                files.len(),
                plural(files.len(), "file")
            )?;
        }
    }
    Ok(if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { word.to_owned() } else { format!("{word}s") }
}
