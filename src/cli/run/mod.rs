//! `runwell run PATH PROCEDURE`: run a procedure's steps in order, asking
//! where the runbook says to ask, and journal every step.
//!
//! This first slice runs shell steps, check gates and manual steps; a
//! procedure with SQL, Redis or HTTP steps is refused before anything runs
//! (never half a procedure). Exit status: 0 the run succeeded, 1 a step
//! failed or the operator declined, 2 the run could not start, 130 Ctrl-C.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::list::safety_name;
use super::prompt::{Answer, Prompter};
use super::{Error, files, indent};
use crate::check::{self, Options, Status as CheckStatus};
use crate::journal::{self, Event, NewRun, SqliteStore, Store};
use crate::procedure::{self, Limits, ShellStep, run_shell};
use crate::runbook::diagnostic::hint;
use crate::runbook::{Plan, Runbook, Safety, Step, StepKind};
use crate::template::{self, Quoting, Values};

mod recorder;

use recorder::JournalRecorder;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub procedure: String,
    pub env: Option<String>,
    pub sets: Vec<String>,
    /// Answers `confirm` prompts.
    pub yes: bool,
    /// Answers destructive prompts when it equals the name they ask for.
    pub confirm_destructive: Option<String>,
    /// Acknowledges manual steps.
    pub ack: bool,
    pub dry_run: bool,
    pub db: Option<PathBuf>,
    pub operator: Option<String>,
}

/// Why a run stopped early.
enum Stop {
    Failed(String),
    Declined(String),
    Aborted,
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
    let steps = steps(runbook, index)?;
    let sets = ask_missing(runbook, &steps, config)?;
    let values = Values::resolve(runbook, config.env.as_deref(), &sets)?;
    let secrets = values.with_secrets();
    if !config.dry_run
        && let Some(step) =
            steps.iter().find(|s| matches!(s.kind, StepKind::Sql(_) | StepKind::Redis(_) | StepKind::Http(_)))
    {
        return Err(Error::Unsupported(format!(
            "step `{}` is a {} step; this version runs shell steps, check gates and manual steps only — `--dry-run` shows the procedure",
            step.id,
            step.kind.name()
        )));
    }

    let db = match &config.db {
        Some(path) => path.clone(),
        None => journal::default_path().map_err(Error::Journal)?,
    };
    let mut store = SqliteStore::open(&db).map_err(Error::Journal)?;
    store.mark_interrupted(&journal::host_name()).map_err(Error::Journal)?;
    let operator = config.operator.clone().unwrap_or_else(operator);
    let run_id = store
        .start_run(&NewRun {
            runbook: runbook.name.clone(),
            runbook_path: config.path.display().to_string(),
            content,
            procedure: config.procedure.clone(),
            environment: config.env.clone(),
            operator: operator.clone(),
            host: journal::host_name(),
            process: journal::ProcessIdentity::current()
                .ok_or_else(|| Error::Unsupported("cannot identify this process in /proc".to_owned()))?,
            resumed_from: None,
        })
        .map_err(Error::Journal)?;

    let mut out = anstream::stdout();
    let bold = anstyle::Style::new().bold();
    writeln!(
        out,
        "{bold}run {run_id}{bold:#}: {} › {}{}",
        runbook.name,
        config.procedure,
        if config.dry_run { " (dry run)" } else { "" }
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Output)?;
    let abort = CancellationToken::new();
    let mut session =
        Session { config, runbook, secrets: &secrets, store: &mut store, run_id, operator, abort: abort.clone() };
    let outcome = runtime.block_on(async {
        let ctrl_c = abort.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.cancel();
            }
        });
        session.steps(&steps).await
    });
    let (status, reason, code) = match outcome {
        Ok(()) => (journal::Status::Succeeded, None, 0),
        Err(Stop::Failed(why)) => (journal::Status::Failed, Some(why), 1),
        Err(Stop::Declined(why)) => (journal::Status::Aborted, Some(why), 1),
        Err(Stop::Aborted) => (journal::Status::Aborted, Some("interrupted by the operator (Ctrl-C)".to_owned()), 130),
    };
    let finished = store.finish_run(run_id, status, reason.as_deref());
    if let Some(why) = &reason {
        // Told even when the run's end cannot be recorded: the journal's error
        // then is often an echo of the one that stopped the run (after a
        // failed write, SQLite reports the next as "malformed").
        writeln!(out, "{bold}run {run_id} {}{bold:#}: {why}", status_word(status))?;
    }
    finished.map_err(Error::Journal)?;
    if reason.is_none() {
        writeln!(out, "{bold}run {run_id} succeeded{bold:#}")?;
    }
    Ok(ExitCode::from(code))
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
fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .or_else(|| nix::unistd::User::from_uid(nix::unistd::geteuid()).ok().flatten().map(|u| u.name))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `--set` plus a value for every variable the steps need and nothing
/// gives: asked on a terminal, else the run does not start.
fn ask_missing(runbook: &Runbook, steps: &[&Step], config: &Config) -> Result<Vec<String>, Error> {
    let values = Values::resolve(runbook, config.env.as_deref(), &config.sets)?;
    let mut missing: Vec<String> = Vec::new();
    for step in steps {
        if let Some(text) = step.runnable_text() {
            for name in template::render_display(&text, &values, Quoting::None).missing {
                if !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
    }
    let mut sets = config.sets.clone();
    if missing.is_empty() {
        return Ok(sets);
    }
    if !std::io::stdin().is_terminal() && !interactive_override() {
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

/// The procedure's steps in order. Alternatives need a choice, which this
/// slice does not offer yet: they are refused by name.
fn steps(runbook: &Runbook, index: usize) -> Result<Vec<&Step>, Error> {
    let mut steps = Vec::new();
    for item in runbook.plan(index) {
        match item {
            Plan::Step(id) => steps.extend(runbook.step(&id)),
            Plan::Choice(options) => {
                let titles: Vec<&str> = options.iter().map(|&i| runbook.sections[i].title.as_str()).collect();
                return Err(Error::Unsupported(format!(
                    "this procedure offers a choice ({}); choosing alternatives arrives with --option, run one option's own procedure meanwhile",
                    titles.join(" / ")
                )));
            }
        }
    }
    Ok(steps)
}

struct Session<'a> {
    config: &'a Config,
    runbook: &'a Runbook,
    secrets: &'a template::Secrets,
    store: &'a mut SqliteStore,
    run_id: journal::RunId,
    operator: String,
    abort: CancellationToken,
}

impl Session<'_> {
    async fn steps(&mut self, steps: &[&Step]) -> Result<(), Stop> {
        for (n, step) in steps.iter().enumerate() {
            if self.abort.is_cancelled() {
                return Err(Stop::Aborted);
            }
            let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
            self.step(number, step).await?;
        }
        Ok(())
    }

    fn record(&mut self, events: &[Event]) -> Result<(), Stop> {
        // A step never runs unrecorded: a journal that cannot be written stops the run.
        self.store
            .append(self.run_id, events)
            .map(|_| ())
            .map_err(|e| Stop::Failed(format!("the journal cannot be written: {e}")))
    }

    async fn step(&mut self, number: u32, step: &Step) -> Result<(), Stop> {
        let safety = step.safety();
        let mut out = anstream::stdout();
        let bold = anstyle::Style::new().bold();
        let title = format!("{number}. {} [{}, {}]", step.id, step.kind.name(), safety_name(safety));
        let _ = writeln!(out, "\n{bold}{title}{bold:#}");
        // A transcript runs its commands only (`Shell::script`), not the
        // blanked-out text lint keeps for offsets.
        let runnable = match &step.kind {
            StepKind::Shell(shell) => Some(std::borrow::Cow::Borrowed(shell.script.as_str())),
            _ => step.runnable_text(),
        };
        let text = match runnable {
            Some(text) => {
                let quoting = if matches!(step.kind, StepKind::Sql(_)) { Quoting::Sql } else { Quoting::Shell };
                Some(template::render_for_run(&text, self.secrets, quoting).map_err(Stop::Failed)?)
            }
            None => None,
        };
        let shown = text.as_ref().map_or_else(|| describe(step), |t| t.shown.clone());
        if self.config.dry_run && safety != Safety::Read && !matches!(step.kind, StepKind::Gate(_)) {
            let _ = writeln!(out, "{}", indent(&shown));
            let _ = writeln!(out, "(dry run: not run, it is a {} step)", safety_name(safety));
            self.record(&[
                started(number, step, safety, &shown),
                Event::StepFinished {
                    step: number,
                    outcome: journal::StepOutcome::DryRun,
                    exit_code: None,
                    duration: jiff::SignedDuration::ZERO,
                    reason: None,
                },
            ])?;
            return Ok(());
        }
        // Destructive steps are confirmed whether the author asked or runwell inferred it.
        if !self.config.dry_run && (step.confirms() || safety == Safety::Destructive) {
            self.confirm(number, step, safety, &shown)?;
        }
        self.record(&[started(number, step, safety, &shown)])?;
        let result = match &step.kind {
            StepKind::Shell(_) => {
                let text = text.expect("shell steps have text");
                let _ = writeln!(out, "{}", indent(&text.shown));
                self.shell(number, step, text).await
            }
            StepKind::Gate(gate) => self.gate(number, step, &gate.checks).await,
            StepKind::Manual(manual) => self.manual(number, &manual.text),
            StepKind::Sql(_) | StepKind::Redis(_) | StepKind::Http(_) => {
                Err(Stop::Failed("not supported yet".to_owned()))
            }
        };
        if let Err(Stop::Failed(why)) = &result
            && step.attributes.continue_on_error
        {
            let _ = writeln!(out, "step `{}` failed ({why}); going on: it has continue-on-error", step.id);
            return Ok(());
        }
        result
    }

    fn confirm(&mut self, number: u32, step: &Step, safety: Safety, shown: &str) -> Result<(), Stop> {
        let destructive = safety == Safety::Destructive;
        let name = self.config.env.clone().unwrap_or_else(|| self.runbook.name.clone());
        let prompt = if destructive {
            let what = step.assessment.findings.iter().find(|f| f.safety == Safety::Destructive);
            match what {
                Some(finding) => format!("step `{}` is destructive: it runs {}", step.id, finding.what),
                None => format!("step `{}` is marked destructive", step.id),
            }
        } else {
            format!("run step `{}`?", step.id)
        };
        self.record(&[Event::ConfirmationAsked { step: number, prompt: prompt.clone() }])?;
        let (answer, accepted) = if destructive {
            match &self.config.confirm_destructive {
                Some(given) => (format!("--confirm-destructive {given}"), *given == name),
                None => Self::ask(
                    |p| p.typed(&format!("{}\n{}", indent(shown), prompt), &name),
                    &format!("--confirm-destructive {name}"),
                )?,
            }
        } else if self.config.yes {
            ("--yes".to_owned(), true)
        } else {
            Self::ask(|p| p.confirm(&prompt), "--yes")?
        };
        self.record(&[Event::ConfirmationAnswered {
            step: number,
            answer: answer.clone(),
            accepted,
            by: self.operator.clone(),
        }])?;
        if accepted { Ok(()) } else { Err(Stop::Declined(format!("step `{}` was not confirmed ({answer})", step.id))) }
    }

    /// Asks on the terminal; without one, stops naming the flag that answers.
    fn ask(
        question: impl FnOnce(&mut Prompter<std::io::StdinLock<'static>, std::io::Stderr>) -> std::io::Result<Answer>,
        flag: &str,
    ) -> Result<(String, bool), Stop> {
        if !std::io::stdin().is_terminal() && !interactive_override() {
            return Err(Stop::Declined(format!("no terminal to ask on; pass {flag} to answer")));
        }
        let mut prompter = Prompter::new(std::io::stdin().lock(), std::io::stderr());
        match question(&mut prompter).map_err(|e| Stop::Failed(format!("cannot ask: {e}")))? {
            Answer::Given(answer) => Ok((answer, true)),
            Answer::Refused => Ok(("no".to_owned(), false)),
            Answer::Closed => Ok(("(input closed)".to_owned(), false)),
        }
    }

    async fn shell(&mut self, number: u32, step: &Step, text: template::RunText) -> Result<(), Stop> {
        let mut shell = ShellStep::new(&step.id, text.script);
        shell.env = text.env;
        shell.cwd = step.attributes.cwd.as_ref().map(PathBuf::from);
        shell.limits =
            Limits { timeout: step.attributes.timeout.unwrap_or(procedure::DEFAULT_TIMEOUT), ..Limits::default() };
        let mut recorder = JournalRecorder::new(self.store, self.run_id, number, self.secrets.redactor().clone());
        let outcome = run_shell(&shell, &mut recorder, &self.abort).await;
        let failure = recorder.finish();
        let outcome = outcome.map_err(|e| Stop::Failed(e.to_string()))?;
        let (journaled, reason) = match &outcome.status {
            procedure::Status::Succeeded => (journal::StepOutcome::Succeeded, None),
            procedure::Status::Aborted => (journal::StepOutcome::Aborted, Some("stopped by the operator".to_owned())),
            procedure::Status::TimedOut => {
                (journal::StepOutcome::TimedOut, Some(format!("timed out after {:?}", shell.limits.timeout)))
            }
            procedure::Status::Failed { exit_code } => {
                (journal::StepOutcome::Failed, Some(format!("exit status {exit_code}")))
            }
            other @ procedure::Status::Killed { .. } => (journal::StepOutcome::Failed, Some(other.as_str().to_owned())),
        };
        let exit_code = match outcome.status {
            procedure::Status::Failed { exit_code } => Some(exit_code),
            procedure::Status::Succeeded => Some(0),
            _ => None,
        };
        // What the step left running is told, on the terminal and in the
        // journal: the executor leaves it alone on purpose (`procedure::shell`).
        let mut events: Vec<Event> = left_behind(&step.id, &outcome, shell.limits.drain)
            .into_iter()
            .map(|text| {
                let _ = writeln!(anstream::stdout(), "note: {text}");
                Event::Note { text }
            })
            .collect();
        events.push(Event::StepFinished {
            step: number,
            outcome: journaled,
            exit_code,
            duration: jiff::SignedDuration::try_from(outcome.duration).unwrap_or(jiff::SignedDuration::ZERO),
            reason: reason.clone(),
        });
        self.record(&events)?;
        if let Some(error) = failure {
            return Err(Stop::Failed(format!("the journal cannot be written: {error}")));
        }
        match outcome.status {
            procedure::Status::Succeeded => Ok(()),
            procedure::Status::Aborted => Err(Stop::Aborted),
            _ => Err(Stop::Failed(format!("step `{}`: {}", step.id, reason.unwrap_or_default()))),
        }
    }

    async fn gate(&mut self, number: u32, step: &Step, names: &[String]) -> Result<(), Stop> {
        let checks: Vec<_> = names
            .iter()
            .filter_map(|name| self.runbook.check(name))
            .map(|spec| check::resolve(&self.runbook.name, spec, self.secrets))
            .collect();
        let options = Options { redactor: self.secrets.redactor().clone(), ..Options::default() };
        let wait = step.attributes.wait.unwrap_or_default();
        let interval = step.attributes.interval.unwrap_or(std::time::Duration::from_secs(2));
        let gate = check::gate(&checks, &options, wait, interval, |round, outcomes| {
            if round > 1 || outcomes.iter().all(|o| o.status == CheckStatus::Ok) {
                return;
            }
            let _ = writeln!(anstream::stdout(), "waiting up to {wait:?} for {}", names.join(", "));
        })
        .await;
        let mut events = Vec::new();
        for outcome in &gate.outcomes {
            let _ = writeln!(
                anstream::stdout(),
                "  {} {}: {}",
                outcome.status,
                outcome.name,
                if outcome.reason.is_empty() { &outcome.observed } else { &outcome.reason }
            );
            events.push(Event::CheckResult {
                step: Some(number),
                name: outcome.name.clone(),
                status: outcome.status.as_str().to_owned(),
                observed: outcome.observed.clone(),
                reason: (!outcome.reason.is_empty()).then(|| outcome.reason.clone()),
                latency: jiff::SignedDuration::try_from(std::time::Duration::from_secs_f64(
                    outcome.latency_ms / 1000.0,
                ))
                .ok(),
            });
        }
        let outcome = if gate.passed { journal::StepOutcome::Succeeded } else { journal::StepOutcome::Failed };
        events.push(Event::StepFinished {
            step: number,
            outcome,
            exit_code: None,
            duration: jiff::SignedDuration::try_from(gate.waited).unwrap_or(jiff::SignedDuration::ZERO),
            reason: (!gate.passed).then(|| "checks did not pass".to_owned()),
        });
        self.record(&events)?;
        if gate.passed {
            Ok(())
        } else {
            let failing: Vec<&str> =
                gate.outcomes.iter().filter(|o| o.status != CheckStatus::Ok).map(|o| o.name.as_str()).collect();
            Err(Stop::Failed(format!(
                "check gate `{}`: {} not ok after {} round(s)",
                step.id,
                failing.join(", "),
                gate.rounds
            )))
        }
    }

    fn manual(&mut self, number: u32, text: &str) -> Result<(), Stop> {
        let _ = writeln!(anstream::stdout(), "  [ ] {text}");
        let (answer, done) =
            if self.config.ack { ("--ack".to_owned(), true) } else { Self::ask(|p| p.confirm("done?"), "--ack")? };
        if !done {
            return Err(Stop::Declined(format!("manual step not acknowledged ({answer}): {text}")));
        }
        self.record(&[
            Event::Acknowledged { step: number, item: text.to_owned(), by: self.operator.clone() },
            Event::StepFinished {
                step: number,
                outcome: journal::StepOutcome::Succeeded,
                exit_code: None,
                duration: jiff::SignedDuration::ZERO,
                reason: None,
            },
        ])
    }
}

/// `RUNWELL_INTERACTIVE=1` lets tests answer prompts through a pipe.
fn interactive_override() -> bool {
    std::env::var_os("RUNWELL_INTERACTIVE").is_some_and(|v| v == "1")
}

fn started(number: u32, step: &Step, safety: Safety, shown: &str) -> Event {
    Event::StepStarted {
        step: number,
        id: step.id.clone(),
        step_kind: step.kind.name().to_owned(),
        safety: safety_name(safety).to_owned(),
        command: shown.to_owned(),
    }
}

/// What a finished shell step left behind, in words for the terminal and a
/// journal `Note`: processes still in its group, and a pipe one holds open.
fn left_behind(step: &str, outcome: &procedure::StepOutcome, drain: std::time::Duration) -> Vec<String> {
    let mut notes = Vec::new();
    if !outcome.leftovers.is_empty() {
        let pids: Vec<String> = outcome.leftovers.iter().map(u32::to_string).collect();
        let pids = pids.join(" ");
        notes.push(format!(
            "step `{step}` left {} running in the background (pid {pids}); runwell leaves it running — `kill {pids}` if it should not be",
            if outcome.leftovers.len() == 1 { "a process".to_owned() } else { format!("{} processes", outcome.leftovers.len()) },
        ));
    }
    if outcome.pipe_held_open {
        notes.push(format!(
            "a process started by step `{step}` still holds its output open; the step ended {drain:?} after its shell exited, and what that process writes is no longer shown or recorded"
        ));
    }
    notes
}

fn describe(step: &Step) -> String {
    match &step.kind {
        StepKind::Gate(gate) => format!("checks: {}", gate.checks.join(", ")),
        StepKind::Manual(manual) => manual.text.clone(),
        _ => step.body.clone(),
    }
}
