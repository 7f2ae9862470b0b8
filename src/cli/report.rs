//! `runwell report RUN`: the post-incident record of a run, as Markdown, on
//! standard output or into `--output FILE`. The report itself is made by
//! the library (`crate::report`); this is where it is read and written.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Error;
use super::journal::open;
use crate::journal::{self, Store};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub run: journal::RunId,
    pub db: Option<PathBuf>,
    pub output: Option<PathBuf>,
}

pub(super) fn run(config: &Config) -> Result<ExitCode, Error> {
    let mut store = open(config.db.as_deref())?;
    // A run whose process died is reported as interrupted, not in progress.
    store.mark_interrupted(&journal::host_name()).map_err(Error::Journal)?;
    let report = crate::report::read(&store, config.run).map_err(Error::Journal)?;
    if let Some(path) = &config.output {
        std::fs::write(path, &report).map_err(|source| Error::Write { path: path.clone(), source })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(report.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
