//! `runwell run PATH PROCEDURE`: run a procedure's steps in order, asking
//! where the runbook says to ask, and journal every step.
//!
//! Everything that can be known before the first step is checked before
//! the run starts — the procedure, `--option` and `--from` names, missing
//! values, choices nobody could make without a terminal — so a run is never
//! left half done for a reason visible up front. Exit status: 0 the run
//! succeeded, 1 a step failed or the operator declined, 2 the run could not
//! start, 130 Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::prompt::{Answer, Prompter};
use super::{Error, files};
use crate::journal::{self, Event, NewRun, SqliteStore, Store};
use crate::procedure::Facts;
use crate::runbook::diagnostic::hint;
use crate::runbook::{Runbook, Step};
use crate::runner::{Journal, Options, PrepareError, Request, Session, Stop, reachable, resumed, seed_facts};
use crate::template::Values;

mod terminal;

pub(in crate::cli) use terminal::{Terminal, can_ask};

impl From<PrepareError> for Error {
    fn from(error: PrepareError) -> Error {
        match error {
            PrepareError::Refused(why) => Error::Unsupported(why),
            PrepareError::Journal(error) => Error::Journal(error),
        }
    }
}

/// What `runwell run` was asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub procedure: String,
    pub options: Options,
    /// `--option`: which alternative to take at each choice.
    pub choices: Vec<String>,
    /// `--from STEP`: resume at this step.
    pub from: Option<String>,
    /// `--resumes RUN`: the run `--from` continues (default: the latest
    /// unfinished run of the same procedure).
    pub resumes: Option<journal::RunId>,
}

pub(super) fn run(config: &Config) -> Result<ExitCode, Error> {
    // Read once: the journal records exactly the text that was parsed.
    let (parsed, content) = files::load_with_text(&config.path)?;
    let runbook = &parsed.runbook;
    let Some(index) = runbook.procedure_indices().find(|&i| runbook.sections[i].id == config.procedure) else {
        return Err(Error::UnknownProcedure {
            runbook: runbook.name.clone(),
            procedure: config.procedure.clone(),
            hint: hint(&config.procedure, runbook.procedures().map(|p| p.id.as_str())),
            path: config.path.display().to_string(),
        });
    };
    let path = config.path.display().to_string();
    let request = Request {
        path: &path,
        procedure: &config.procedure,
        choices: &config.choices,
        from: config.from.as_deref(),
        resumes: config.resumes,
        dry_run: config.options.dry_run,
        can_ask: can_ask(),
    };
    let steps = reachable(runbook, index, &request)?;
    let mut store = open(config.options.db.as_ref())?;
    let original = match &config.from {
        Some(from) => Some(resumed(&store, runbook, &request, from)?),
        None => None,
    };
    let mut options = config.options.clone();
    if let Some(original) = &original {
        // A resumed run continues in the environment it started in.
        match (&options.env, &original.info.environment) {
            (None, env) => options.env.clone_from(env),
            (Some(given), Some(was)) if given != was => {
                return Err(Error::Unsupported(format!(
                    "run {} ran in `{was}`; resuming it in `{given}` would mix two environments",
                    original.id
                )));
            }
            _ => {}
        }
    }
    options.sets = ask_missing(runbook, &steps, &options)?;
    let values = Values::resolve(runbook, options.env.as_deref(), &options.sets)?;
    let secrets = values.with_secrets();

    let new = NewRun {
        runbook: runbook.name.clone(),
        runbook_path: config.path.display().to_string(),
        content,
        procedure: config.procedure.clone(),
        environment: options.env.clone(),
        operator: options.operator.clone().unwrap_or_else(operator),
        host: journal::host_name(),
        process: journal::ProcessIdentity::current()
            .ok_or_else(|| Error::Unsupported("cannot identify this process in /proc".to_owned()))?,
        resumed_from: original.as_ref().map(|r| r.id),
    };
    let mut facts = Facts::default();
    for (name, value) in values.variables() {
        facts.var(name, value);
    }
    if let Some(original) = &original {
        seed_facts(&store, original.id, &mut facts)?;
    }
    let run_id = store.start_run(&new).map_err(Error::Journal)?;
    let journal = Journal::new(store, run_id);
    let mut out = anstream::stdout();
    let bold = anstyle::Style::new().bold();
    writeln!(
        out,
        "{bold}run {run_id}{bold:#}: {} › {}{}",
        runbook.name,
        config.procedure,
        if options.dry_run { " (dry run)" } else { "" }
    )?;
    let abort = CancellationToken::new();
    let mut terminal = Terminal::new(&options, new.operator.clone());
    let mut session = Session::new(&options, runbook, &secrets, &journal, &mut terminal, abort.clone());
    session.choices = &config.choices;
    session.facts = facts;
    if let (Some(original), Some(from)) = (&original, &config.from) {
        let text = format!("resumes run {} at step `{from}`; the steps before it are not run again", original.id);
        writeln!(out, "{text}")?;
        if original.info.runbook_sha256 != journal::content_sha256(&new.content) {
            writeln!(out, "note: the runbook has changed since run {}", original.id)?;
        }
        journal.record(&[Event::Note { text }]).map_err(stop_error)?;
        session.from = Some(from.clone());
    }
    let outcome = block_on(abort, session.procedure(index))?;
    finish(&journal, outcome)
}

/// Opens the journal and marks this host's runs whose process is gone.
pub(in crate::cli) fn open(db: Option<&PathBuf>) -> Result<SqliteStore, Error> {
    let path = match db {
        Some(path) => path.clone(),
        None => journal::default_path().map_err(Error::Journal)?,
    };
    let mut store = SqliteStore::open(&path).map_err(Error::Journal)?;
    store.mark_interrupted(&journal::host_name()).map_err(Error::Journal)?;
    Ok(store)
}

/// Runs `work` on a runtime where Ctrl-C cancels `abort`.
pub(in crate::cli) fn block_on<T>(abort: CancellationToken, work: impl Future<Output = T>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Output)?;
    Ok(runtime.block_on(async {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                abort.cancel();
            }
        });
        work.await
    }))
}

/// Records how the run ended and says so; the exit status.
pub(in crate::cli) fn finish(journal: &Journal, outcome: Result<(), Stop>) -> Result<ExitCode, Error> {
    let (status, reason, code) = match outcome {
        Ok(()) => (journal::Status::Succeeded, None, 0),
        Err(Stop::Failed(why)) => (journal::Status::Failed, Some(why), 1),
        Err(Stop::Declined(why)) => (journal::Status::Aborted, Some(why), 1),
        Err(Stop::Aborted) => (journal::Status::Aborted, Some("interrupted by the operator (Ctrl-C)".to_owned()), 130),
        Err(Stop::Interrupted(why)) => (journal::Status::Interrupted, Some(why), 1),
    };
    let mut out = anstream::stdout();
    let bold = anstyle::Style::new().bold();
    let run = journal.run;
    let finished = journal.finish(status, reason.as_deref());
    if let Some(why) = &reason {
        // Told even when the run's end cannot be recorded: the journal's error
        // then is often an echo of the one that stopped the run (after a
        // failed write, SQLite reports the next as "malformed").
        writeln!(out, "{bold}run {run} {}{bold:#}: {why}", status_word(status))?;
    }
    finished.map_err(Error::Journal)?;
    if reason.is_none() {
        writeln!(out, "{bold}run {run} succeeded{bold:#}")?;
    }
    Ok(ExitCode::from(code))
}

fn stop_error(stop: Stop) -> Error {
    match stop {
        Stop::Failed(why) | Stop::Declined(why) | Stop::Interrupted(why) => Error::Unsupported(why),
        Stop::Aborted => Error::Unsupported("interrupted".to_owned()),
    }
}

fn status_word(status: journal::Status) -> &'static str {
    match status {
        journal::Status::Succeeded => "succeeded",
        journal::Status::Failed => "failed",
        journal::Status::Aborted => "stopped",
        journal::Status::Running => "running",
        journal::Status::Interrupted => "interrupted",
    }
}

/// The operator's name: `SUDO_USER` (the person behind sudo), else `USER`,
/// else the name of the account runwell runs as.
pub(in crate::cli) fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .or_else(|| nix::unistd::User::from_uid(nix::unistd::geteuid()).ok().flatten().map(|u| u.name))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `--set` plus a value for every variable the steps need and nothing
/// gives: asked on a terminal, else the run does not start.
fn ask_missing(runbook: &Runbook, steps: &[&Step], options: &Options) -> Result<Vec<String>, Error> {
    let values = Values::resolve(runbook, options.env.as_deref(), &options.sets)?;
    let missing = crate::runner::missing_values(steps, &values);
    let mut sets = options.sets.clone();
    if missing.is_empty() {
        return Ok(sets);
    }
    if !can_ask() {
        let flags: Vec<String> = missing.iter().map(|m| format!("--set {m}=…")).collect();
        return Err(Error::Unsupported(format!(
            "the procedure needs values for {}; pass {}",
            missing.join(", "),
            flags.join(" ")
        )));
    }
    let mut prompter = Prompter::new(std::io::stdin().lock(), std::io::stderr());
    for name in missing {
        let description =
            runbook.front_matter.vars.iter().find(|v| v.name == name).and_then(|v| v.description.as_deref());
        match prompter.value(&name, description)? {
            Answer::Given(value) => sets.push(format!("{name}={value}")),
            Answer::Refused | Answer::Closed => {
                return Err(Error::Unsupported(format!("no value for `{name}`; the run did not start")));
            }
        }
    }
    Ok(sets)
}
