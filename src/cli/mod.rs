//! The command line: clap arguments, one module per subcommand, and the
//! mapping from outcomes to exit statuses.
//!
//! Exit statuses: `lint` exits 0 (no errors), 1 (errors found) or 2 (could
//! not run). Every subcommand exits 2 on a usage error or an unreadable file.

mod files;
mod lint;
mod list;
mod show;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Operations runbooks you can read, check, run and record.
#[derive(Debug, Parser)]
#[command(name = "runwell", version, about, max_term_width = 100)]
pub struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find what would hurt: unresolved placeholders, unconfirmed destructive steps, broken Markdown.
    ///
    /// Exit status: 0 when there are no errors (warnings allowed), 1 when errors were found,
    /// 2 when lint could not run (bad arguments, unreadable path).
    Lint {
        /// Runbook files, or directories searched for `*.md` (default: the current directory).
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List a runbook's procedures, checks and services.
    List {
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show a procedure's steps exactly as they would run: variables substituted, secrets masked.
    Show {
        path: PathBuf,
        /// The procedure id (its heading's slug, as `runwell list` shows).
        procedure: String,
        /// Use this environment's variable values.
        #[arg(long)]
        env: Option<String>,
        /// Set a variable: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Why a subcommand could not do its job. Each maps to exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot search `{path}`: {message}")]
    Walk { path: PathBuf, message: String },
    #[error("runbook `{runbook}` has no procedure `{procedure}`{hint}; `runwell list {path}` shows them")]
    UnknownProcedure { runbook: String, procedure: String, hint: String, path: String },
    #[error(transparent)]
    Template(#[from] crate::template::Error),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Parses the process arguments, runs the subcommand and returns its status.
pub fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match run(arguments) {
        Ok(code) => code,
        Err(error) => {
            let mut stderr = anstream::stderr();
            let style = anstyle::AnsiColor::Red.on_default().bold();
            let _ = writeln!(stderr, "{style}error{style:#}: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(arguments: Arguments) -> Result<ExitCode, Error> {
    match arguments.command {
        Command::Lint { paths, format } => lint::run(&paths, format),
        Command::List { path, format } => list::run(&path, format),
        Command::Show { path, procedure, env, sets } => show::run(&path, &procedure, env.as_deref(), &sets),
    }
}
