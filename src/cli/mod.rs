//! The command line: clap arguments, one module per subcommand, and the
//! mapping from outcomes to exit statuses.
//!
//! Exit statuses: `lint` exits 0 (no errors), 1 (errors found) or 2 (could
//! not run), and every other subcommand exits 2 on a usage error or an
//! unreadable file — except `check`, which follows the Nagios plugin
//! convention: 0 ok, 1 warning, 2 critical, 3 unknown, and 3 when it could
//! not run.

mod check;
pub(crate) mod files;
mod journal;
mod lint;
mod list;
mod matrix;
mod prompt;
mod report;
mod run;
mod serve;
mod services;
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
    /// Run the health-check matrix: every check the runbooks define, concurrently.
    ///
    /// Exit status, as for a Nagios plugin: 0 every check ok, 1 the worst is a warning,
    /// 2 the worst is critical, 3 the worst is unknown — and 3 when the checks could not be run
    /// at all (bad arguments, unreadable runbook, unknown environment or check).
    Check {
        /// Runbook files, or directories searched for `*.md`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run only this check (repeatable).
        #[arg(long, value_name = "NAME")]
        only: Vec<String>,
        #[command(flatten)]
        variables: Variables,
        #[arg(long, value_enum, default_value_t = check::CheckFormat::Text)]
        format: check::CheckFormat,
        /// At most this many checks in flight at once.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
        concurrency: u16,
        /// Timeout for checks that do not set their own (e.g. `5s`, `500ms`).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<std::time::Duration>,
    },
    /// Run a procedure: its steps in order, with confirmations, check gates and a journal.
    ///
    /// Exit status: 0 the run succeeded, 1 a step failed or was not confirmed, 2 the run could
    /// not start, 130 stopped with Ctrl-C.
    Run {
        path: PathBuf,
        /// The procedure id (its heading's slug, as `runwell list` shows).
        procedure: String,
        #[command(flatten)]
        flags: RunFlags,
        /// Take this alternative where the procedure offers a choice: its label (`A`, `2`) or
        /// section id (repeatable, one per choice).
        #[arg(long = "option", value_name = "OPTION")]
        choices: Vec<String>,
        /// Resume a run that did not succeed at this step (the steps before it are not run
        /// again); the new run is linked to the one it resumes.
        #[arg(long, value_name = "STEP")]
        from: Option<String>,
        /// The run `--from` resumes (default: the latest of this procedure that did not succeed).
        #[arg(long, value_name = "RUN", requires = "from")]
        resumes: Option<i64>,
    },
    /// Start services in dependency order, each tier gated on its checks.
    ///
    /// Without SERVICE, the whole `services` graph; with it, those services and what they need.
    /// Exit status as for `run`.
    Start {
        path: PathBuf,
        services: Vec<String>,
        #[command(flatten)]
        services_flags: ServicesFlags,
    },
    /// Stop services in reverse dependency order (what depends on a service stops first).
    Stop {
        path: PathBuf,
        services: Vec<String>,
        #[command(flatten)]
        services_flags: ServicesFlags,
    },
    /// Restart services in dependency order, each tier gated on its checks.
    Restart {
        path: PathBuf,
        services: Vec<String>,
        #[command(flatten)]
        services_flags: ServicesFlags,
    },
    /// List journaled runs, newest first.
    Runs {
        /// The journal file (default: `$RUNWELL_DB`, else under the XDG state directory).
        #[arg(long, env = "RUNWELL_DB")]
        db: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Show at most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A run's timeline: steps, output, answers and check results, in UTC.
    Log {
        /// The run's id, as `runwell runs` shows it.
        run: i64,
        #[arg(long, env = "RUNWELL_DB")]
        db: Option<PathBuf>,
    },
    /// A run's post-incident record, in Markdown.
    ///
    /// The procedure as it ran with each step's result and output beneath it, the checks
    /// before and after the change, a timeline (UTC), and sections for the review to fill in.
    /// Exit status: 0, or 2 for an unknown run or a journal that cannot be read.
    Report {
        /// The run's id, as `runwell runs` shows it.
        run: i64,
        /// The journal file (default: `$RUNWELL_DB`, else under the XDG state directory).
        #[arg(long, env = "RUNWELL_DB")]
        db: Option<PathBuf>,
        /// Write the report to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Work with the journal itself.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Serve the dashboard and JSON API, keeping every runbook's checks running on a schedule.
    ///
    /// Flags override the configuration file. Without any `[[tokens]]` configured, serve
    /// listens on this machine only and every local request acts as admin. Stops on Ctrl-C or
    /// SIGTERM; exits 2 when it cannot start.
    Serve {
        /// Runbook files, or directories searched for `*.md` (default: the configuration's
        /// `runbooks`, else the current directory).
        paths: Vec<PathBuf>,
        /// The configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen on this address (default: the configuration's `listen`, else 127.0.0.1:7070).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// The journal runs are recorded in (default: the configuration's `database`, else
        /// `$RUNWELL_DB`, else under the XDG state directory): `runwell runs --db` reads it.
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        #[command(flatten)]
        variables: Variables,
    },
    /// Show a procedure's steps exactly as they would run: variables substituted, secrets masked.
    Show {
        path: PathBuf,
        /// The procedure id (its heading's slug, as `runwell list` shows).
        procedure: String,
        #[command(flatten)]
        variables: Variables,
    },
}

/// Where a runbook's variables get their values, beside their defaults.
#[derive(Debug, clap::Args)]
struct Variables {
    /// Use this environment's variable values.
    #[arg(long)]
    env: Option<String>,
    /// Set a variable: `--set name=value` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Check every run's hash chain: exit 0 when intact, 1 when anything was altered.
    Verify {
        #[arg(long, env = "RUNWELL_DB")]
        db: Option<PathBuf>,
    },
}

/// The flags every command that changes things shares: how to answer its
/// questions, dry-run, and where the journal is.
#[derive(Debug, clap::Args)]
struct RunFlags {
    #[command(flatten)]
    variables: Variables,
    /// Answer yes to `confirm` steps (not to destructive ones).
    #[arg(long)]
    yes: bool,
    /// Confirm destructive steps without a terminal: NAME must be the environment (with
    /// `--env`) or the runbook's name, as a person would have typed it.
    #[arg(long, value_name = "NAME")]
    confirm_destructive: Option<String>,
    /// Acknowledge manual (checklist) steps without a terminal, as done by the operator.
    #[arg(long)]
    ack: bool,
    /// Run read-only steps and check gates; print write and destructive steps instead.
    #[arg(long)]
    dry_run: bool,
    /// The journal file (default: `$RUNWELL_DB`, else under the XDG state directory).
    #[arg(long, env = "RUNWELL_DB")]
    db: Option<PathBuf>,
    /// Who runs it, for the journal (default: `$SUDO_USER`, else `$USER`).
    #[arg(long)]
    operator: Option<String>,
}

impl From<RunFlags> for crate::runner::Options {
    fn from(flags: RunFlags) -> crate::runner::Options {
        let RunFlags { variables: Variables { env, sets }, yes, confirm_destructive, ack, dry_run, db, operator } =
            flags;
        crate::runner::Options { env, sets, yes, confirm_destructive, ack, dry_run, db, operator, allow: None }
    }
}

#[derive(Debug, clap::Args)]
struct ServicesFlags {
    #[command(flatten)]
    flags: RunFlags,
    /// How long each tier's checks may take to pass (e.g. `60s`).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    wait: std::time::Duration,
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
    #[error("no check is called `{name}`{hint}; `runwell list` shows a runbook's checks")]
    UnknownCheck { name: String, hint: String },
    #[error("{} defines no checks", paths.join(", "))]
    NoChecks { paths: Vec<String> },
    #[error("journal: {0}")]
    Journal(crate::journal::Error),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Template(#[from] crate::template::Error),
    #[error("cannot write `{path}`: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    ServeConfig(#[from] crate::serve::config::ConfigError),
    #[error("{0}")]
    Refused(String),
    #[error(
        "cannot listen on {address}: {source}; choose another address with --listen or `listen` in the configuration"
    )]
    Listen { address: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Parses the process arguments, runs the subcommand and returns its status.
pub fn main() -> ExitCode {
    // `check` may be run by a monitoring system, where 2 means critical:
    // its usage errors are unknown (3), as a Nagios plugin's are.
    let is_check = std::env::args_os().nth(1).is_some_and(|a| a == "check");
    let cannot_run = if is_check { check::CANNOT_RUN } else { 2 };
    let arguments = match Arguments::try_parse() {
        Ok(arguments) => arguments,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(cannot_run) } else { ExitCode::SUCCESS };
        }
    };
    match run(arguments) {
        Ok(code) => code,
        Err(error) => {
            let mut stderr = anstream::stderr();
            let style = anstyle::AnsiColor::Red.on_default().bold();
            let _ = writeln!(stderr, "{style}error{style:#}: {error}");
            ExitCode::from(cannot_run)
        }
    }
}

use crate::runner::indent;

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::runbook::front_matter::parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration like `5s`"))
}

fn run(arguments: Arguments) -> Result<ExitCode, Error> {
    match arguments.command {
        Command::Lint { paths, format } => lint::run(&paths, format),
        Command::List { path, format } => list::run(&path, format),
        Command::Check { paths, only, variables: Variables { env, sets }, format, concurrency, timeout } => {
            check::run(&check::Config {
                paths,
                only,
                env,
                sets,
                format,
                concurrency: usize::from(concurrency),
                timeout,
            })
        }
        Command::Run { path, procedure, flags, choices, from, resumes } => {
            run::run(&run::Config { path, procedure, options: flags.into(), choices, from, resumes })
        }
        Command::Start { path, services: names, services_flags } => {
            services::run(services::Action::Start, &path, &names, &services_flags.flags.into(), services_flags.wait)
        }
        Command::Stop { path, services: names, services_flags } => {
            services::run(services::Action::Stop, &path, &names, &services_flags.flags.into(), services_flags.wait)
        }
        Command::Restart { path, services: names, services_flags } => {
            services::run(services::Action::Restart, &path, &names, &services_flags.flags.into(), services_flags.wait)
        }
        Command::Runs { db, format, limit } => journal::runs(db.as_ref(), format, limit),
        Command::Log { run, db } => journal::log(db.as_ref(), run),
        Command::Report { run, db, output } => report::run(&report::Config { run, db, output }),
        Command::Journal { command: JournalCommand::Verify { db } } => journal::verify(db.as_ref()),
        Command::Serve { paths, config, listen, db, variables: Variables { env, sets } } => {
            serve::run(&serve::Config { file: config, paths, listen, db, env, sets })
        }
        Command::Show { path, procedure, variables: Variables { env, sets } } => {
            show::run(&path, &procedure, env.as_deref(), &sets)
        }
    }
}
