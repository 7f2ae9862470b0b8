//! One run of a procedure: its steps in order, choices between
//! alternatives, `when=` conditions, retries, confirmations, and the
//! rollback of completed steps when a later one fails.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::recorder::{Journal, JournalRecorder};
use super::{Operator, Options, Question, Stop, indent};
use crate::check::{self, Status as CheckStatus};
use crate::journal::{self, Event};
use crate::procedure::{
    self, Facts, HttpStep, Limits, RedisStep, Retries, ShellStep, SqlStep, condition_holds, run_http, run_redis,
    run_shell, run_sql, split_command, with_retries,
};
use crate::runbook::placeholder;
use crate::runbook::step::parse_http;
use crate::runbook::{Plan, Runbook, Safety, Step, StepKind};
use crate::template::{self, Quoting};

pub struct Session<'a> {
    pub options: &'a Options,
    pub runbook: &'a Runbook,
    pub secrets: &'a template::Secrets,
    pub journal: &'a Journal,
    /// Who answers the run's questions.
    pub operator: &'a mut dyn Operator,
    pub abort: CancellationToken,
    /// Cancelled when runwell is stopping: the run stops before its next
    /// step, letting the current one finish.
    pub drain: CancellationToken,
    /// Whether progress and output are shown on this process's terminal
    /// (the server shows them from the journal instead).
    pub echo: bool,
    /// What `when=` conditions see: earlier results, check states, variables.
    pub facts: Facts,
    /// `--option` answers, for choices met on the way.
    pub choices: &'a [String],
    /// `--from STEP`: steps before it are not run.
    pub from: Option<String>,
    /// The last step number handed out.
    number: u32,
    /// Completed steps that have a rollback block, in the order they ran.
    undoable: Vec<&'a Step>,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("run", &self.journal.run).field("step", &self.number).finish_non_exhaustive()
    }
}

impl<'a> Session<'a> {
    pub fn new(
        options: &'a Options,
        runbook: &'a Runbook,
        secrets: &'a template::Secrets,
        journal: &'a Journal,
        operator: &'a mut dyn Operator,
        abort: CancellationToken,
    ) -> Self {
        Session {
            options,
            runbook,
            secrets,
            journal,
            operator,
            abort,
            drain: CancellationToken::new(),
            echo: true,
            facts: Facts::default(),
            choices: &[],
            from: None,
            number: 0,
            undoable: Vec::new(),
        }
    }

    /// Runs procedure `index`; when a step fails, rolls back the completed
    /// steps that say how, newest first.
    pub async fn procedure(&mut self, index: usize) -> Result<(), Stop> {
        let result = self.plan(index).await;
        if let Err(Stop::Failed(_)) = &result
            && !self.undoable.is_empty()
            && !self.options.dry_run
        {
            self.roll_back().await;
        }
        result
    }

    async fn plan(&mut self, index: usize) -> Result<(), Stop> {
        let mut queue: VecDeque<Plan> = self.runbook.plan(index).into();
        while let Some(item) = queue.pop_front() {
            if self.abort.is_cancelled() {
                return Err(Stop::Aborted);
            }
            if self.drain.is_cancelled() {
                return Err(Stop::Interrupted("runwell was stopping: the run ended between two steps".to_owned()));
            }
            match item {
                Plan::Step(id) => {
                    let Some(step) = self.runbook.step(&id) else { continue };
                    if self.from.as_ref().is_some_and(|from| *from != step.id) {
                        continue;
                    }
                    self.from = None;
                    self.step(step, &step.id).await?;
                }
                Plan::Choice(options) => {
                    let chosen = self.choose(&options).await?;
                    for (n, item) in self.runbook.plan(chosen).into_iter().enumerate() {
                        queue.insert(n, item);
                    }
                }
            }
        }
        Ok(())
    }

    /// Picks one of the alternatives `options` (section indices): the one
    /// holding the `--from` step, else `--option`, else the operator's pick.
    async fn choose(&mut self, options: &[usize]) -> Result<usize, Stop> {
        let sections = &self.runbook.sections;
        let labelled: Vec<(String, String)> = options
            .iter()
            .map(|&i| (sections[i].option.clone().unwrap_or_default(), sections[i].title.clone()))
            .collect();
        let from = self.from.as_deref().and_then(|from| {
            let at = self.runbook.steps.iter().position(|s| s.id == from)?;
            options.iter().copied().find(|&i| sections[i].all_steps.contains(&at))
        });
        let given = options.iter().copied().find(|&i| self.choices.iter().any(|c| option_matches(&sections[i], c)));
        let (chosen, how) = match (from, given) {
            (Some(i), _) => (i, "it holds the --from step".to_owned()),
            (None, Some(i)) => (i, "--option".to_owned()),
            (None, None) => {
                let answered = self.operator.ask(Question::Choose { options: &labelled }).await?;
                match answered.answer.parse::<usize>() {
                    Ok(n) if answered.accepted && n < options.len() => {
                        (options[n], format!("chosen by {}", answered.by))
                    }
                    _ => {
                        let titles: Vec<&str> = labelled.iter().map(|(_, t)| t.as_str()).collect();
                        return Err(Stop::Declined(format!(
                            "no option chosen among {} ({})",
                            titles.join(" / "),
                            answered.answer
                        )));
                    }
                }
            }
        };
        let text = format!("option: {} ({how})", sections[chosen].title);
        let _ = writeln!(self.out(), "\n{text}");
        self.journal.record(&[Event::Note { text }])?;
        Ok(chosen)
    }

    /// Runs `step`, journaled as `id` (a rollback block runs as `ID.rollback`).
    async fn step(&mut self, step: &'a Step, id: &str) -> Result<(), Stop> {
        self.number += 1;
        let number = self.number;
        let safety = step.safety();
        let mut out = self.out();
        let bold = anstyle::Style::new().bold();
        let _ = writeln!(out, "\n{bold}{number}. {id} [{}, {}]{bold:#}", step.kind.name(), safety.as_str());
        if let Some(expr) = &step.attributes.when {
            let holds = condition_holds(expr, &self.facts).map_err(|e| Stop::Failed(format!("step `{id}`: {e}")))?;
            if !holds {
                let reason = format!("when={expr} is false");
                let _ = writeln!(out, "skipped: {reason}");
                self.journal.record(&[
                    started(number, id, step, safety, &describe_step(step)),
                    finished(number, journal::StepOutcome::Skipped, None, std::time::Duration::ZERO, Some(reason)),
                ])?;
                return Ok(());
            }
        }
        let text = self.render(step)?;
        let shown = match &step.kind {
            // What was sent, argument by argument, as redis-cli would quote it.
            StepKind::Redis(redis) => {
                let commands = self.redis_commands(step, &redis.commands)?;
                let lines: Vec<String> = commands
                    .iter()
                    .map(|args| args.iter().map(|a| redis_quote(a)).collect::<Vec<_>>().join(" "))
                    .collect();
                self.secrets.redactor().redact(&lines.join("\n"))
            }
            _ => text.as_ref().map_or_else(|| describe_step(step), |t| t.shown.clone()),
        };
        if self.options.dry_run && safety != Safety::Read && !matches!(step.kind, StepKind::Gate(_)) {
            let _ = writeln!(out, "{}", indent(&shown));
            let _ = writeln!(out, "(dry run: not run, it is a {} step)", safety.as_str());
            self.journal.record(&[
                started(number, id, step, safety, &shown),
                finished(number, journal::StepOutcome::DryRun, None, std::time::Duration::ZERO, None),
            ])?;
            return Ok(());
        }
        // Destructive steps are confirmed whether the author asked or runwell inferred it.
        let beyond_allowed = self.options.allow.is_some_and(|allow| safety > allow);
        if !self.options.dry_run && (step.confirms() || safety == Safety::Destructive || beyond_allowed) {
            self.confirm(number, id, step, safety, &shown).await?;
        }
        self.journal.record(&[started(number, id, step, safety, &shown)])?;
        let result = match &step.kind {
            StepKind::Gate(gate) => self.gate(number, id, step, &gate.checks).await,
            StepKind::Manual(manual) => self.manual(number, &manual.text).await,
            _ => {
                let text = text.expect("steps that run text have it");
                let _ = writeln!(out, "{}", indent(&shown));
                self.process(number, id, step, text).await
            }
        };
        if matches!(step.kind, StepKind::Gate(_) | StepKind::Manual(_)) {
            // Steps that run something recorded their exact result already.
            let status = match &result {
                Ok(()) => procedure::Status::Succeeded,
                Err(Stop::Aborted) => procedure::Status::Aborted,
                Err(_) => procedure::Status::Failed { exit_code: 1 },
            };
            self.facts.status(id, &status);
        }
        match result {
            Err(Stop::Failed(why)) if step.attributes.continue_on_error => {
                let _ = writeln!(out, "step `{id}` failed ({why}); going on: it has continue-on-error");
                Ok(())
            }
            Ok(()) => {
                if step.rollback.is_some() {
                    self.undoable.push(step);
                }
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// The text a step runs, rendered with values quoted for where they
    /// land; `None` for gates and manual steps.
    fn render(&self, step: &Step) -> Result<Option<template::RunText>, Stop> {
        // A transcript runs its commands only (`Shell::script`), not the
        // blanked-out text lint keeps for offsets.
        let runnable = match &step.kind {
            StepKind::Shell(shell) => Some(std::borrow::Cow::Borrowed(shell.script.as_str())),
            _ => step.runnable_text(),
        };
        let Some(text) = runnable else { return Ok(None) };
        let quoting = match step.kind {
            StepKind::Shell(_) => Quoting::Shell,
            StepKind::Sql(_) => Quoting::Sql,
            // Rendered per argument / field when run; shown as written.
            _ => Quoting::None,
        };
        template::render_for_run(&text, self.secrets, quoting)
            .map(Some)
            .map_err(|why| Stop::Failed(format!("step `{}`: {why}", step.id)))
    }

    /// Runs the rollback blocks of completed steps, newest first. A
    /// rollback that fails stops the rest: they may depend on it.
    async fn roll_back(&mut self) {
        let mut out = self.out();
        let _ = writeln!(out, "\nrolling back {} completed step(s), newest first", self.undoable.len());
        while let Some(step) = self.undoable.pop() {
            let Some(rollback) = step.rollback.as_deref() else { continue };
            let id = format!("{}.rollback", step.id);
            if let Err(stop) = Box::pin(self.step(rollback, &id)).await {
                let left: Vec<&str> = self.undoable.iter().rev().map(|s| s.id.as_str()).collect();
                let why = match stop {
                    Stop::Failed(why) | Stop::Declined(why) | Stop::Interrupted(why) => why,
                    Stop::Aborted => "stopped by the operator".to_owned(),
                };
                let text = if left.is_empty() {
                    format!("rollback `{id}` did not complete ({why})")
                } else {
                    format!("rollback `{id}` did not complete ({why}); not rolled back: {}", left.join(", "))
                };
                let _ = writeln!(out, "{text}");
                let _ = self.journal.record(&[Event::Note { text }]);
                return;
            }
        }
    }

    async fn confirm(&mut self, number: u32, id: &str, step: &Step, safety: Safety, shown: &str) -> Result<(), Stop> {
        let destructive = safety == Safety::Destructive;
        let name = self.options.env.clone().unwrap_or_else(|| self.runbook.name.clone());
        let allowed = self.options.allow.filter(|&allow| safety > allow);
        let prompt = if let Some(allow) = allowed {
            format!(
                "step `{id}` is a {} step and this run may do only `{}` steps by itself: a person must confirm it",
                safety.as_str(),
                allow.as_str()
            )
        } else if destructive {
            let what = step.assessment.findings.iter().find(|f| f.safety == Safety::Destructive);
            match what {
                Some(finding) => format!("step `{id}` is destructive: it runs {}", finding.what),
                None => format!("step `{id}` is marked destructive"),
            }
        } else {
            match &step.attributes.confirm {
                Some(Some(question)) => question.clone(),
                _ => format!("run step `{id}`?"),
            }
        };
        self.journal.record(&[Event::ConfirmationAsked { step: number, prompt: prompt.clone() }])?;
        let question = if destructive {
            Question::Destructive { step: number, prompt: &prompt, shown, expected: &name }
        } else {
            Question::Confirm { step: number, prompt: &prompt, shown }
        };
        let answered = self.operator.ask(question).await?;
        let (answer, accepted) = (answered.answer, answered.accepted);
        self.journal.record(&[Event::ConfirmationAnswered {
            step: number,
            answer: answer.clone(),
            accepted,
            by: answered.by,
        }])?;
        if accepted { Ok(()) } else { Err(Stop::Declined(format!("step `{id}` was not confirmed ({answer})"))) }
    }

    /// Runs a step that runs something (shell, SQL, Redis, HTTP) with its
    /// timeout and retries, streaming its output.
    async fn process(&mut self, number: u32, id: &str, step: &Step, text: template::RunText) -> Result<(), Stop> {
        let timeout = step.attributes.timeout.unwrap_or(procedure::DEFAULT_TIMEOUT);
        let mut shell = ShellStep::new(id, text.script);
        shell.env = text.env;
        shell.cwd = step.attributes.cwd.as_ref().map(PathBuf::from);
        shell.limits = Limits { timeout, ..Limits::default() };
        let retries = Retries::new(step.attributes.retries.unwrap_or(0));
        let mut recorder = JournalRecorder::new(self.journal, number, self.secrets.redactor())
            .echoing(self.echo)
            .retrying(retries.count)
            .spinning(id);
        let abort = self.abort.clone();
        let outcomes = match &step.kind {
            StepKind::Shell(_) => {
                with_retries(retries, &mut recorder, &abort, async |r| run_shell(&shell, r, &abort).await).await
            }
            StepKind::Sql(_) => {
                let sql =
                    SqlStep { id: id.to_owned(), url: self.connection(step)?, sql: shell.script.clone(), timeout };
                with_retries(retries, &mut recorder, &abort, async |r| run_sql(&sql, r, &abort).await).await
            }
            StepKind::Redis(redis) => {
                let commands = self.redis_commands(step, &redis.commands)?;
                let redis = RedisStep { id: id.to_owned(), url: self.connection(step)?, commands, timeout };
                with_retries(retries, &mut recorder, &abort, async |r| run_redis(&redis, r, &abort).await).await
            }
            StepKind::Http(_) => {
                let http = self.http_request(id, step, timeout)?;
                with_retries(retries, &mut recorder, &abort, async |r| run_http(&http, r, &abort).await).await
            }
            StepKind::Gate(_) | StepKind::Manual(_) => unreachable!("gates and manual steps run no process"),
        };
        let failure = recorder.finish();
        let outcome = outcomes.map_err(|e| Stop::Failed(e.to_string()))?.pop().ok_or(Stop::Aborted)?;
        let reason = self.finished(number, id, &outcome, timeout)?;
        let took = humantime_precise(outcome.duration);
        let _ = match &reason {
            None => writeln!(self.out(), "  ✓ {id} succeeded in {took}"),
            Some(why) => writeln!(self.out(), "  ✗ {id}: {why}, after {took}"),
        };
        if let Some(error) = failure {
            return Err(Stop::Failed(error));
        }
        match outcome.status {
            procedure::Status::Succeeded => Ok(()),
            procedure::Status::Aborted => Err(Stop::Aborted),
            _ => Err(Stop::Failed(format!("step `{id}`: {}", reason.unwrap_or_default()))),
        }
    }

    /// The real URL of the connection a `sql` or `redis` step names with
    /// `conn=`, secrets included (for connecting only).
    fn connection(&self, step: &Step) -> Result<String, Stop> {
        let connections = &self.runbook.front_matter.connections;
        let name = match &step.attributes.conn {
            Some(name) => name.as_str(),
            None if connections.len() == 1 => connections[0].name.as_str(),
            None => {
                return Err(Stop::Failed(format!(
                    "step `{}` names no connection; add `conn=NAME` (the runbook's `connections`)",
                    step.id
                )));
            }
        };
        let connection = connections.iter().find(|c| c.name == name).ok_or_else(|| {
            Stop::Failed(format!(
                "step `{}`: no connection is called `{name}`{}",
                step.id,
                crate::runbook::diagnostic::hint(name, connections.iter().map(|c| c.name.as_str()))
            ))
        })?;
        let fail = |why: String| Stop::Failed(format!("connection `{name}`: {why}"));
        let url = self.secrets.render(&connection.url).map_err(fail)?;
        if connection.username.is_none() && connection.password.is_none() {
            return Ok(url);
        }
        let mut parsed = reqwest::Url::parse(&url)
            .map_err(|e| fail(format!("`{}` is not a URL: {e}", crate::check::hide_url_password(&url))))?;
        if let Some(username) = &connection.username {
            let username = self.secrets.render(username).map_err(fail)?;
            parsed.set_username(&username).map_err(|()| fail("the URL cannot hold a user name".to_owned()))?;
        }
        if let Some(password) = &connection.password {
            let password = self.secrets.render(password).map_err(fail)?;
            parsed.set_password(Some(&password)).map_err(|()| fail("the URL cannot hold a password".to_owned()))?;
        }
        Ok(parsed.into())
    }

    /// A `redis` step's commands: each line split into arguments the way
    /// `redis-cli` does, templates kept whole, then each argument rendered
    /// on its own, so a substituted value is always exactly one argument.
    fn redis_commands(&self, step: &Step, lines: &[String]) -> Result<Vec<Vec<String>>, Stop> {
        let fail = |why: String| Stop::Failed(format!("step `{}`: {why}", step.id));
        let mut commands = Vec::new();
        for line in lines {
            // Stand a space-free token in for each template while splitting.
            let templates = placeholder::find(line, false);
            let mut masked = String::with_capacity(line.len());
            let mut last = 0;
            for (n, (range, _)) in templates.iter().enumerate() {
                masked.push_str(&line[last..range.start]);
                let _ = write!(masked, "\u{e000}{n}\u{e001}");
                last = range.end;
            }
            masked.push_str(&line[last..]);
            let words = split_command(&masked).map_err(|why| fail(format!("`{line}`: {why}")))?;
            let mut command = Vec::new();
            for word in words {
                let mut text = word;
                for (n, (range, _)) in templates.iter().enumerate() {
                    text = text.replace(&format!("\u{e000}{n}\u{e001}"), &line[range.clone()]);
                }
                command.push(self.secrets.render(&text).map_err(fail)?);
            }
            commands.push(command);
        }
        Ok(commands)
    }

    /// An `http` step's request with its URL, headers and body rendered.
    fn http_request(&self, id: &str, step: &Step, timeout: std::time::Duration) -> Result<HttpStep, Stop> {
        let fail = |why: String| Stop::Failed(format!("step `{id}`: {why}"));
        let request =
            parse_http(&step.body).ok_or_else(|| fail("the block holds no request: write `METHOD URL`".to_owned()))?;
        let render = |text: &str| self.secrets.render(text).map_err(fail);
        Ok(HttpStep {
            id: id.to_owned(),
            method: request.method,
            url: render(&request.url)?,
            headers: request
                .headers
                .iter()
                .map(|(name, value)| Ok((name.clone(), render(value)?)))
                .collect::<Result<_, Stop>>()?,
            body: request.body.as_deref().map(render).transpose()?,
            expect: step.attributes.expect.clone(),
            timeout,
        })
    }

    /// Journals how a step's last attempt ended, and what it left behind;
    /// why it failed, if it did.
    fn finished(
        &mut self,
        number: u32,
        id: &str,
        outcome: &procedure::StepOutcome,
        timeout: std::time::Duration,
    ) -> Result<Option<String>, Stop> {
        self.facts.step(id, outcome);
        let (journaled, reason) = match &outcome.status {
            procedure::Status::Succeeded => (journal::StepOutcome::Succeeded, None),
            procedure::Status::Aborted => (journal::StepOutcome::Aborted, Some("stopped by the operator".to_owned())),
            procedure::Status::TimedOut => {
                (journal::StepOutcome::TimedOut, Some(format!("timed out after {}", humantime(timeout))))
            }
            procedure::Status::Failed { exit_code } => {
                (journal::StepOutcome::Failed, Some(format!("exit status {exit_code}")))
            }
            procedure::Status::Killed { signal } => {
                (journal::StepOutcome::Failed, Some(format!("killed by signal {signal}")))
            }
            procedure::Status::Error { message } => (journal::StepOutcome::Failed, Some(message.clone())),
        };
        let exit_code = match outcome.status {
            procedure::Status::Failed { exit_code } => Some(exit_code),
            procedure::Status::Succeeded => Some(0),
            _ => None,
        };
        // What the step left running is told, on the terminal and in the
        // journal: the executor leaves it alone on purpose (`procedure::shell`).
        let mut events: Vec<Event> = left_behind(id, outcome, Limits::default().drain)
            .into_iter()
            .map(|text| {
                let _ = writeln!(self.out(), "note: {text}");
                Event::Note { text }
            })
            .collect();
        events.push(finished(number, journaled, exit_code, outcome.duration, reason.clone()));
        self.journal.record(&events)?;
        Ok(reason)
    }

    async fn gate(&mut self, number: u32, id: &str, step: &Step, names: &[String]) -> Result<(), Stop> {
        let checks: Vec<_> = names
            .iter()
            .filter_map(|name| self.runbook.check(name))
            .map(|spec| check::resolve(&self.runbook.name, spec, self.secrets))
            .collect();
        let wait = step.attributes.wait.unwrap_or_default();
        let interval = step.attributes.interval.unwrap_or(std::time::Duration::from_secs(2));
        let gate = gate_checks(&checks, self.secrets, wait, interval, &self.abort, self.echo).await?;
        let mut events = Vec::new();
        for outcome in &gate.outcomes {
            self.facts.check(&outcome.name, outcome.status.as_str());
            events.push(check_event(Some(number), outcome));
        }
        let passed = gate.passed;
        events.push(finished(
            number,
            if passed { journal::StepOutcome::Succeeded } else { journal::StepOutcome::Failed },
            None,
            gate.waited,
            (!passed).then(|| "checks did not pass".to_owned()),
        ));
        self.journal.record(&events)?;
        if passed {
            Ok(())
        } else {
            let failing: Vec<&str> =
                gate.outcomes.iter().filter(|o| o.status != CheckStatus::Ok).map(|o| o.name.as_str()).collect();
            Err(Stop::Failed(format!(
                "check gate `{id}`: {} not ok after {} round(s)",
                failing.join(", "),
                gate.rounds
            )))
        }
    }

    async fn manual(&mut self, number: u32, text: &str) -> Result<(), Stop> {
        let _ = writeln!(self.out(), "  [ ] {text}");
        let answered = self.operator.ask(Question::Acknowledge { step: number, item: text }).await?;
        if !answered.accepted {
            return Err(Stop::Declined(format!("manual step not acknowledged ({}): {text}", answered.answer)));
        }
        self.journal.record(&[
            Event::Acknowledged { step: number, item: text.to_owned(), by: answered.by },
            finished(number, journal::StepOutcome::Succeeded, None, std::time::Duration::ZERO, None),
        ])
    }

    /// Where progress goes: the terminal, or nowhere.
    fn out(&self) -> Box<dyn Write> {
        if self.echo { Box::new(anstream::stdout()) } else { Box::new(std::io::sink()) }
    }
}

/// Runs `checks` until they all pass or `wait` is over, printing each
/// state; Ctrl-C stops the wait.
pub async fn gate_checks(
    checks: &[check::Resolved],
    secrets: &template::Secrets,
    wait: std::time::Duration,
    interval: std::time::Duration,
    abort: &CancellationToken,
    echo: bool,
) -> Result<check::Gate, Stop> {
    let out = || -> Box<dyn Write> { if echo { Box::new(anstream::stdout()) } else { Box::new(std::io::sink()) } };
    let options = check::Options { redactor: secrets.redactor().clone(), ..check::Options::default() };
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    let gate = check::gate(checks, &options, wait, interval, |round, outcomes| {
        if round > 1 || outcomes.iter().all(|o| o.status == CheckStatus::Ok) {
            return;
        }
        let _ = writeln!(out(), "waiting up to {} for {}", humantime(wait), names.join(", "));
    });
    let gate = tokio::select! {
        gate = gate => gate,
        () = abort.cancelled() => return Err(Stop::Aborted),
    };
    for outcome in &gate.outcomes {
        let _ = writeln!(
            out(),
            "  {} {}: {}",
            outcome.status,
            outcome.name,
            if outcome.reason.is_empty() { &outcome.observed } else { &outcome.reason }
        );
    }
    Ok(gate)
}

pub fn check_event(step: Option<u32>, outcome: &check::Outcome) -> Event {
    Event::CheckResult {
        step,
        name: outcome.name.clone(),
        status: outcome.status.as_str().to_owned(),
        observed: outcome.observed.clone(),
        reason: (!outcome.reason.is_empty()).then(|| outcome.reason.clone()),
        latency: jiff::SignedDuration::try_from(std::time::Duration::from_secs_f64(outcome.latency_ms / 1000.0)).ok(),
    }
}

/// Whether `--option given` names alternative `section`: its label (`A`,
/// `2`), its id, or the start of its id (`option-a`).
pub(super) fn option_matches(section: &crate::runbook::Section, given: &str) -> bool {
    let given = given.trim();
    section.option.as_deref().is_some_and(|label| label.eq_ignore_ascii_case(given))
        || section.id == given
        || (given.len() > 1 && section.id.starts_with(&given.to_ascii_lowercase()))
}

pub(super) fn started(number: u32, id: &str, step: &Step, safety: Safety, shown: &str) -> Event {
    Event::StepStarted {
        step: number,
        id: id.to_owned(),
        step_kind: step.kind.name().to_owned(),
        safety: safety.as_str().to_owned(),
        command: shown.to_owned(),
    }
}

pub fn finished(
    step: u32,
    outcome: journal::StepOutcome,
    exit_code: Option<i32>,
    duration: std::time::Duration,
    reason: Option<String>,
) -> Event {
    Event::StepFinished {
        step,
        outcome,
        exit_code,
        duration: jiff::SignedDuration::try_from(duration).unwrap_or(jiff::SignedDuration::ZERO),
        reason,
    }
}

/// What a finished shell step left behind, in words for the terminal and a
/// journal `Note`: processes still in its group, and a pipe one holds open.
fn left_behind(step: &str, outcome: &procedure::StepOutcome, drain: std::time::Duration) -> Vec<String> {
    let mut notes = Vec::new();
    if !outcome.leftovers.is_empty() {
        let pids: Vec<String> = outcome.leftovers.iter().map(u32::to_string).collect();
        let pids = pids.join(" ");
        let what = match outcome.leftovers.len() {
            1 => "a process".to_owned(),
            n => format!("{n} processes"),
        };
        notes.push(format!(
            "step `{step}` left {what} running in the background (pid {pids}); runwell leaves it running — `kill {pids}` if it should not be"
        ));
    }
    if outcome.pipe_held_open {
        notes.push(format!(
            "a process started by step `{step}` still holds its output open; the step ended {drain:?} after its shell exited, and what that process writes is no longer shown or recorded"
        ));
    }
    notes
}

/// A Redis argument as `redis-cli` would read it back: bare when it can
/// be, else double-quoted with escapes.
fn redis_quote(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\'));
    if plain {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn describe_step(step: &Step) -> String {
    match &step.kind {
        StepKind::Gate(gate) => format!("checks: {}", gate.checks.join(", ")),
        StepKind::Manual(manual) => manual.text.clone(),
        _ => step.body.clone(),
    }
}

/// `0.42s`, `12.3s`, `2m05s`: how long a step took.
fn humantime_precise(duration: std::time::Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", duration.as_secs() / 60, duration.as_secs() % 60)
    }
}

/// `30s`, `1m30s`, `250ms`: a duration as runbooks write it.
pub fn humantime(duration: std::time::Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = duration.as_secs();
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}
