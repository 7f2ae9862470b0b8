//! `runwell start|stop|restart PATH [SERVICE]...`: the runbook's `services`
//! graph as one journaled run — the seeds' "recovery order" and "reverse
//! order for shutdowns".
//!
//! Start and restart go tier by tier in dependency order; the services of
//! a tier run side by side, and the next tier begins only when every
//! service of this one passes its checks. A failed command or gate stops
//! the sequence and names the service. Stop goes in reverse (dependants
//! first) and has no gate. A service's command is its `start:`/`stop:`/
//! `restart:` template, else `systemctl ACTION UNIT`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::run::{self, Terminal};
use super::{Error, files, indent};
use crate::check;
use crate::journal::{self, Event, NewRun, Store};
use crate::procedure::{self, Limits, ShellStep, run_shell};
use crate::runbook::front_matter::Service;
use crate::runbook::services::{start_order, stop_order};
use crate::runner::{self as runner, Journal, JournalRecorder, Operator, Options, Question, Stop};
use crate::template::{self, Quoting, Values};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}

/// One service's command, rendered.
struct Command<'a> {
    service: &'a Service,
    text: template::RunText,
}

pub(super) fn run(
    action: Action,
    path: &Path,
    names: &[String],
    options: &Options,
    wait: Duration,
) -> Result<ExitCode, Error> {
    let (parsed, content) = files::load_with_text(path)?;
    let runbook = &parsed.runbook;
    let services = &runbook.front_matter.services;
    if services.is_empty() {
        return Err(Error::Unsupported(format!(
            "`{}` declares no `services` in its front matter; docs/runbook-format.md shows how",
            path.display()
        )));
    }
    let order = if action == Action::Stop { stop_order(services, names) } else { start_order(services, names) };
    let order = order.map_err(|e| Error::Unsupported(e.to_string()))?;
    let values = Values::resolve(runbook, options.env.as_deref(), &options.sets)?;
    let secrets = values.with_secrets();
    // Render every command before anything runs: never half a sequence
    // for a value that was missing from the start.
    let mut tiers: Vec<Vec<Command<'_>>> = Vec::new();
    for tier in &order {
        let mut commands = Vec::new();
        for &service in tier {
            let template = match action {
                Action::Start => service.start.clone(),
                Action::Stop => service.stop.clone(),
                Action::Restart => service.restart.clone(),
            }
            .unwrap_or_else(|| format!("systemctl {} {}", action.as_str(), service.unit()));
            let text = template::render_for_run(&template, &secrets, Quoting::Shell)
                .map_err(|why| Error::Unsupported(format!("service `{}`: {why}", service.name)))?;
            commands.push(Command { service, text });
        }
        tiers.push(commands);
    }

    let mut store = run::open(options.db.as_ref())?;
    let operator = options.operator.clone().unwrap_or_else(run::operator);
    let procedure =
        if names.is_empty() { action.as_str().to_owned() } else { format!("{} {}", action.as_str(), names.join(" ")) };
    let run_id = store
        .start_run(&NewRun {
            runbook: runbook.name.clone(),
            runbook_path: path.display().to_string(),
            content,
            procedure: procedure.clone(),
            environment: options.env.clone(),
            operator: operator.clone(),
            host: journal::host_name(),
            process: journal::ProcessIdentity::current()
                .ok_or_else(|| Error::Unsupported("cannot identify this process in /proc".to_owned()))?,
            resumed_from: None,
        })
        .map_err(Error::Journal)?;
    let journal = Journal::new(store, run_id);
    let mut out = anstream::stdout();
    let bold = anstyle::Style::new().bold();
    writeln!(
        out,
        "{bold}run {run_id}{bold:#}: {} › {procedure}{}",
        runbook.name,
        if options.dry_run { " (dry run)" } else { "" }
    )?;
    for (n, tier) in tiers.iter().enumerate() {
        let names: Vec<&str> = tier.iter().map(|c| c.service.name.as_str()).collect();
        writeln!(out, "  tier {}: {}", n + 1, names.join(", "))?;
    }
    let abort = CancellationToken::new();
    let mut sequence = Sequence {
        action,
        runbook,
        secrets: &secrets,
        journal: &journal,
        options,
        operator,
        wait,
        abort: abort.clone(),
        number: 0,
    };
    let outcome = run::block_on(abort, sequence.tiers(&tiers))?;
    run::finish(&journal, outcome)
}

struct Sequence<'a> {
    action: Action,
    runbook: &'a crate::runbook::Runbook,
    secrets: &'a template::Secrets,
    journal: &'a Journal,
    options: &'a Options,
    operator: String,
    wait: Duration,
    abort: CancellationToken,
    number: u32,
}

impl Sequence<'_> {
    async fn tiers(&mut self, tiers: &[Vec<Command<'_>>]) -> Result<(), Stop> {
        self.confirm(tiers).await?;
        for tier in tiers {
            if self.abort.is_cancelled() {
                return Err(Stop::Aborted);
            }
            self.commands(tier).await?;
            if self.action != Action::Stop && !self.options.dry_run {
                self.gate(tier).await?;
            }
        }
        Ok(())
    }

    /// One question for the whole sequence: stopping services is
    /// destructive (type the name), starting and restarting them asks y/N.
    async fn confirm(&mut self, tiers: &[Vec<Command<'_>>]) -> Result<(), Stop> {
        if self.options.dry_run {
            return Ok(());
        }
        let shown: Vec<String> = tiers.iter().flatten().map(|c| c.text.shown.clone()).collect();
        let shown = shown.join("\n");
        let prompt = if self.action == Action::Stop {
            format!("stopping services is destructive: stop {} service(s)?", tiers.iter().flatten().count())
        } else {
            format!("{} {} service(s)?", self.action.as_str(), tiers.iter().flatten().count())
        };
        self.journal.record(&[Event::ConfirmationAsked { step: 1, prompt: prompt.clone() }])?;
        let name = self.options.env.clone().unwrap_or_else(|| self.runbook.name.clone());
        let mut terminal = Terminal::new(self.options, self.operator.clone());
        let question = if self.action == Action::Stop {
            Question::Destructive { step: 1, prompt: &prompt, shown: &shown, expected: &name }
        } else {
            Question::Confirm { step: 1, prompt: &prompt, shown: &shown }
        };
        let answered = terminal.ask(question).await?;
        let accepted = answered.accepted;
        self.journal.record(&[Event::ConfirmationAnswered {
            step: 1,
            answer: answered.answer.clone(),
            accepted,
            by: answered.by,
        }])?;
        if accepted { Ok(()) } else { Err(Stop::Declined(format!("not confirmed ({})", answered.answer))) }
    }

    /// Runs a tier's commands side by side; a failure stops the sequence
    /// once the others of the tier have ended.
    async fn commands(&mut self, tier: &[Command<'_>]) -> Result<(), Stop> {
        let safety = if self.action == Action::Stop { "destructive" } else { "write" };
        let mut steps = Vec::new();
        for command in tier {
            self.number += 1;
            let id = format!("{}-{}", self.action.as_str(), command.service.name);
            let _ = writeln!(anstream::stdout(), "\n{}. {id}\n{}", self.number, indent(&command.text.shown));
            self.journal.record(&[Event::StepStarted {
                step: self.number,
                id: id.clone(),
                step_kind: "shell".to_owned(),
                safety: safety.to_owned(),
                command: command.text.shown.clone(),
            }])?;
            steps.push((self.number, id, command));
        }
        if self.options.dry_run {
            for (number, _, _) in &steps {
                self.journal.record(&[runner::finished(
                    *number,
                    journal::StepOutcome::DryRun,
                    None,
                    Duration::ZERO,
                    None,
                )])?;
            }
            let _ = writeln!(anstream::stdout(), "(dry run: not run)");
            return Ok(());
        }
        let journal = self.journal;
        let redactor = self.secrets.redactor();
        let abort = &self.abort;
        let runs = steps.iter().map(|(number, id, command)| async move {
            let mut shell = ShellStep::new(id, command.text.script.clone());
            shell.env.clone_from(&command.text.env);
            shell.limits = Limits { timeout: procedure::DEFAULT_TIMEOUT, ..Limits::default() };
            let mut recorder = JournalRecorder::new(journal, *number, redactor).prefixed(&command.service.name);
            let outcome = run_shell(&shell, &mut recorder, abort).await;
            (recorder.finish(), outcome)
        });
        let results = join_all(runs).await;
        let mut failed = None;
        for ((number, id, command), (journal_failure, outcome)) in steps.iter().zip(results) {
            let outcome = outcome.map_err(|e| Stop::Failed(e.to_string()))?;
            let (journaled, reason) = match &outcome.status {
                procedure::Status::Succeeded => (journal::StepOutcome::Succeeded, None),
                procedure::Status::Aborted => {
                    (journal::StepOutcome::Aborted, Some("stopped by the operator".to_owned()))
                }
                procedure::Status::TimedOut => (journal::StepOutcome::TimedOut, Some("timed out".to_owned())),
                status => (journal::StepOutcome::Failed, Some(status.as_str().to_owned())),
            };
            let exit_code = match outcome.status {
                procedure::Status::Failed { exit_code } => Some(exit_code),
                procedure::Status::Succeeded => Some(0),
                _ => None,
            };
            self.journal.record(&[runner::finished(*number, journaled, exit_code, outcome.duration, reason)])?;
            if let Some(error) = journal_failure {
                return Err(Stop::Failed(error));
            }
            match outcome.status {
                procedure::Status::Succeeded => {}
                procedure::Status::Aborted => return Err(Stop::Aborted),
                ref status => {
                    failed.get_or_insert(format!("`{id}` (service {}) {}", command.service.name, describe(status)));
                }
            }
        }
        match failed {
            Some(why) => Err(Stop::Failed(why)),
            None => Ok(()),
        }
    }

    /// Waits until every service of the tier passes its checks; names the
    /// services that did not.
    async fn gate(&mut self, tier: &[Command<'_>]) -> Result<(), Stop> {
        let mut owners = Vec::new();
        let mut checks = Vec::new();
        for command in tier {
            for (name, _) in &command.service.checks {
                if let Some(spec) = self.runbook.check(name) {
                    checks.push(check::resolve(&self.runbook.name, spec, self.secrets));
                    owners.push(command.service.name.as_str());
                }
            }
        }
        if checks.is_empty() {
            return Ok(());
        }
        self.number += 1;
        let number = self.number;
        let services: Vec<&str> = tier.iter().map(|c| c.service.name.as_str()).collect();
        let id = format!("healthy-{}", services.join("-"));
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(anstream::stdout(), "\n{number}. {id} [checks]");
        self.journal.record(&[Event::StepStarted {
            step: number,
            id: id.clone(),
            step_kind: "checks".to_owned(),
            safety: "read".to_owned(),
            command: format!("checks: {}", names.join(", ")),
        }])?;
        let gate =
            runner::gate_checks(&checks, self.secrets, self.wait, Duration::from_secs(1), &self.abort, true).await?;
        let mut events: Vec<Event> = gate.outcomes.iter().map(|o| runner::check_event(Some(number), o)).collect();
        events.push(runner::finished(
            number,
            if gate.passed { journal::StepOutcome::Succeeded } else { journal::StepOutcome::Failed },
            None,
            gate.waited,
            (!gate.passed).then(|| "checks did not pass".to_owned()),
        ));
        self.journal.record(&events)?;
        if gate.passed {
            return Ok(());
        }
        let mut unhealthy: Vec<String> = Vec::new();
        for (outcome, owner) in gate.outcomes.iter().zip(&owners) {
            if outcome.status != check::Status::Ok {
                let why = if outcome.reason.is_empty() { &outcome.observed } else { &outcome.reason };
                unhealthy.push(format!("{owner} (check `{}` {}: {why})", outcome.name, outcome.status));
            }
        }
        Err(Stop::Failed(format!(
            "not healthy after {}: {}; the services after it were not {}ed",
            runner::humantime(self.wait),
            unhealthy.join(", "),
            self.action.as_str()
        )))
    }
}

fn describe(status: &procedure::Status) -> String {
    match status {
        procedure::Status::Failed { exit_code } => format!("failed (exit status {exit_code})"),
        other => other.as_str().replace('-', " "),
    }
}
