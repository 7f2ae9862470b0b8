//! Runs the server starts: for a person in the dashboard or the API, or for
//! an alert. Each run is the same [`Session`] `runwell run` drives, on a
//! thread of its own, journaled in the same `SQLite` file the CLI reads.
//!
//! Nobody sits at a terminal, so the run's questions — confirmations, typed
//! confirmations of destructive steps, choices, manual steps — wait in
//! [`LiveRun`] until someone allowed to answers through the API
//! ([`LiveRun::answer`]); every answer is journaled with who gave it.
//! Watchers learn of every journal write through [`LiveRun::changes`], so a
//! page shows output as the step prints it without polling the database.
//!
//! Stopping the server ([`Runs::drain`]) lets running steps finish for a
//! grace period, then stops them; either way the run ends `interrupted`
//! and can be resumed with `runwell run --from`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::journal::{self, Event, NewRun, Record, RunFilter, RunId, SqliteStore, Store};
use crate::procedure::Facts;
use crate::runbook::diagnostic::hint;
use crate::runbook::{Runbook, Safety};
use crate::runner::{self, Answered, Asking, Journal, Operator, Options, Question, Request, Session, Stop};
use crate::template::{self, Values};

/// A runbook the server can run: parsed once, with the exact text it was
/// parsed from (what the journal stores).
#[derive(Debug, Clone)]
pub struct Runnable {
    pub runbook: Arc<Runbook>,
    pub path: PathBuf,
    pub source: Arc<str>,
}

/// What to run, and for whom.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// The procedure's section id.
    pub procedure: String,
    pub env: Option<String>,
    /// Values for variables, as `--set` gives them.
    pub values: BTreeMap<String, String>,
    /// Alternatives to take, as `--option` names them; others are asked.
    pub options: Vec<String>,
    pub dry_run: bool,
    /// Who starts it, as the journal records it.
    pub by: String,
    /// The most a step may do before a person confirms it (alert runs).
    pub allow: Option<Safety>,
    /// What started it when nobody did by hand, for the journal.
    pub trigger: Option<String>,
}

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("runbook `{runbook}` has no procedure `{procedure}`{hint}")]
    UnknownProcedure { runbook: String, procedure: String, hint: String },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Values(#[from] template::Error),
    #[error("the journal: {0}")]
    Journal(#[from] journal::Error),
    #[error("runwell is stopping: it starts no new runs")]
    Draining,
}

impl From<runner::PrepareError> for StartError {
    fn from(error: runner::PrepareError) -> StartError {
        match error {
            runner::PrepareError::Refused(why) => StartError::Refused(why),
            runner::PrepareError::Journal(error) => StartError::Journal(error),
        }
    }
}

/// A run starting or ending, for notifications and alert triggers.
#[derive(Debug, Clone)]
pub enum RunNotice {
    Started { run: RunId, runbook: String, procedure: String, env: Option<String>, by: String, trigger: Option<String> },
    Finished { run: RunId, runbook: String, procedure: String, status: journal::Status, reason: Option<String> },
}

/// A question a run waits on, as the API shows it. Its `shown` text has
/// secrets masked already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asked {
    /// Answers name the question they answer: a stale page cannot answer
    /// a later one.
    pub id: u64,
    /// `confirm`, `destructive`, `choose` or `acknowledge`.
    pub kind: &'static str,
    pub step: Option<u32>,
    pub prompt: String,
    /// What the step will run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shown: Option<String>,
    /// What must be typed to confirm a destructive step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The alternatives of a choice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Alternative>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alternative {
    pub label: String,
    pub title: String,
}

/// An answer to an [`Asked`] question, as the API receives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The question's id.
    pub question: u64,
    /// Yes (confirm, acknowledge) or no (decline: the run stops).
    #[serde(default)]
    pub accepted: bool,
    /// What was typed to confirm a destructive step.
    #[serde(default)]
    pub typed: Option<String>,
    /// The index of the alternative chosen.
    #[serde(default)]
    pub choice: Option<usize>,
}

/// Why an answer was not taken. The question stays open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("run {run} is not waiting for an answer")]
    NothingAsked { run: RunId },
    #[error("question {given} was already answered or replaced: the run now asks question {current}")]
    Stale { given: u64, current: u64 },
    #[error("to confirm, type `{expected}` exactly")]
    Mistyped { expected: String },
    #[error("pick one of the {count} alternatives (0 to {})", count.saturating_sub(1))]
    NoSuchChoice { count: usize },
    #[error("run {run} is not running on this server")]
    NotLive { run: RunId },
}

/// A question waiting for its answer.
struct Pending {
    asked: Asked,
    reply: oneshot::Sender<Answered>,
}

/// A run this server is running.
pub struct LiveRun {
    pub id: RunId,
    pub runbook: String,
    pub procedure: String,
    pub environment: Option<String>,
    /// The most dangerous step the procedure has: answering its questions
    /// needs the role that may start it.
    pub safety: Safety,
    abort: CancellationToken,
    aborted_by: Mutex<Option<String>>,
    question: Mutex<Option<Pending>>,
    next_question: AtomicU64,
    /// Bumped on every journal write and question change.
    changes: Arc<watch::Sender<u64>>,
    journal: Arc<Journal>,
}

impl std::fmt::Debug for LiveRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRun").field("id", &self.id).field("procedure", &self.procedure).finish_non_exhaustive()
    }
}

impl LiveRun {
    /// The question the run waits on, if any.
    pub fn question(&self) -> Option<Asked> {
        self.pending().as_ref().map(|pending| pending.asked.clone())
    }

    /// Told whenever the run writes its journal or its question changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Answers the open question on behalf of `by`. A mistyped destructive
    /// confirmation is refused and the question stays open: at 3 AM a typo
    /// should not end the run.
    pub fn answer(&self, reply: &Reply, by: &str) -> Result<(), AnswerError> {
        let mut pending = self.pending();
        let Some(open) = pending.as_ref() else { return Err(AnswerError::NothingAsked { run: self.id }) };
        let asked = &open.asked;
        if asked.id != reply.question {
            return Err(AnswerError::Stale { given: reply.question, current: asked.id });
        }
        let (answer, accepted) = match asked.kind {
            "destructive" if reply.accepted => {
                let expected = asked.expected.clone().unwrap_or_default();
                if reply.typed.as_deref().map(str::trim) != Some(expected.as_str()) {
                    return Err(AnswerError::Mistyped { expected });
                }
                (expected, true)
            }
            "choose" if reply.accepted => match reply.choice {
                Some(n) if n < asked.options.len() => (n.to_string(), true),
                _ => return Err(AnswerError::NoSuchChoice { count: asked.options.len() }),
            },
            "acknowledge" if reply.accepted => ("done".to_owned(), true),
            _ if reply.accepted => ("yes".to_owned(), true),
            _ => ("declined".to_owned(), false),
        };
        let open = pending.take().expect("checked above");
        drop(pending);
        // The run may have ended meanwhile; then the answer changes nothing.
        let _ = open.reply.send(Answered { answer, accepted, by: by.to_owned() });
        self.bump();
        Ok(())
    }

    /// Stops the run: the running step's processes are stopped and the run
    /// ends `aborted`, saying who asked.
    pub fn abort(&self, by: &str) {
        let mut aborted_by = self.aborted_by.lock().unwrap_or_else(PoisonError::into_inner);
        if aborted_by.is_none() {
            *aborted_by = Some(by.to_owned());
            // Best effort: the run's end records who aborted it too.
            let _ = self.journal.record(&[Event::Note { text: format!("abort requested by {by}") }]);
        }
        self.abort.cancel();
    }

    /// Adds a note to the run's journal (best effort: a run whose journal
    /// fails stops by itself).
    pub fn note(&self, text: &str) {
        let _ = self.journal.record(&[Event::Note { text: text.to_owned() }]);
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Option<Pending>> {
        self.question.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Every run this server started and is still running, and the journal.
pub struct Runs {
    journal: PathBuf,
    /// For reading runs back; writers have connections of their own.
    reader: Mutex<SqliteStore>,
    live: Mutex<HashMap<RunId, Arc<LiveRun>>>,
    /// Cancelled on SIGTERM: runs stop before their next step.
    draining: CancellationToken,
    /// Set once the grace period is over and running steps were stopped.
    stopping: AtomicBool,
    /// How many runs are live, for [`Runs::drain`].
    count: watch::Sender<usize>,
    /// Runs started, and ended by status, for `/metrics`.
    started: AtomicU64,
    finished: Mutex<BTreeMap<&'static str, u64>>,
    notices: broadcast::Sender<RunNotice>,
    /// What `runwell serve --env … --set …` gives runs that do not say.
    defaults: Defaults,
}

/// The environment and `--set` values of `runwell serve`, which its checks
/// use: a run started without an environment (every alert-triggered run
/// whose rule names none) runs in the same one, so the dashboard's checks
/// and its runs look at the same systems. A run's own `values` win over
/// the `--set` ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    pub env: Option<String>,
    pub sets: Vec<String>,
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs").field("journal", &self.journal).finish_non_exhaustive()
    }
}

impl Runs {
    /// Opens the journal at `path` and marks `interrupted` the runs an
    /// earlier process on this host left `running` when it died.
    pub fn open(path: PathBuf) -> Result<Runs, journal::Error> {
        let mut reader = SqliteStore::open(&path)?;
        reader.mark_interrupted(&journal::host_name())?;
        Ok(Runs {
            journal: path,
            reader: Mutex::new(reader),
            live: Mutex::new(HashMap::new()),
            draining: CancellationToken::new(),
            stopping: AtomicBool::new(false),
            count: watch::Sender::new(0),
            started: AtomicU64::new(0),
            finished: Mutex::new(BTreeMap::new()),
            notices: broadcast::Sender::new(256),
            defaults: Defaults::default(),
        })
    }

    /// Runs that name no environment run in `defaults.env`, with
    /// `defaults.sets` under their own values.
    #[must_use]
    pub fn with_defaults(mut self, defaults: Defaults) -> Runs {
        self.defaults = defaults;
        self
    }

    /// The environment a run asking for `requested` runs in.
    pub fn environment(&self, requested: Option<String>) -> Option<String> {
        requested.or_else(|| self.defaults.env.clone())
    }

    /// The journal's file.
    pub fn path(&self) -> &std::path::Path {
        &self.journal
    }

    /// Runs starting and ending, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RunNotice> {
        self.notices.subscribe()
    }

    /// A run this server is running.
    pub fn live(&self, run: RunId) -> Option<Arc<LiveRun>> {
        self.live_runs().get(&run).cloned()
    }

    /// Starts `request` on `runnable` and returns its id once the run is in
    /// the journal; the steps go on in the background. Everything knowable
    /// before the first step is checked first: the procedure, options,
    /// values every step needs. Blocks on the journal: call it from
    /// `spawn_blocking`.
    pub fn start(self: &Arc<Self>, runnable: &Runnable, mut request: StartRequest) -> Result<RunId, StartError> {
        request.env = self.environment(request.env.take());
        if self.draining.is_cancelled() {
            return Err(StartError::Draining);
        }
        let runbook = &runnable.runbook;
        let Some(index) = runbook.procedure_indices().find(|&i| runbook.sections[i].id == request.procedure) else {
            return Err(StartError::UnknownProcedure {
                runbook: runbook.name.clone(),
                procedure: request.procedure.clone(),
                hint: hint(&request.procedure, runbook.procedures().map(|p| p.id.as_str())),
            });
        };
        let path = runnable.path.display().to_string();
        let prepare = Request {
            path: &path,
            procedure: &request.procedure,
            choices: &request.options,
            from: None,
            resumes: None,
            dry_run: request.dry_run,
            can_ask: true,
        };
        let steps = runner::reachable(runbook, index, &prepare)?;
        let own = request.values.iter().map(|(name, value)| format!("{name}={value}"));
        let sets: Vec<String> = self.defaults.sets.iter().cloned().chain(own).collect();
        let values = Values::resolve(runbook, request.env.as_deref(), &sets)?;
        let missing = runner::missing_values(&steps, &values);
        if !missing.is_empty() {
            return Err(StartError::Refused(format!(
                "the procedure needs values for {}: give them in `values`",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        let secrets = values.with_secrets();
        let mut facts = Facts::default();
        for (name, value) in values.variables() {
            facts.var(name, value);
        }
        let mut store = SqliteStore::open(&self.journal)?;
        let new = NewRun {
            runbook: runbook.name.clone(),
            runbook_path: path,
            content: runnable.source.to_string(),
            procedure: request.procedure.clone(),
            environment: request.env.clone(),
            operator: request.by.clone(),
            host: journal::host_name(),
            process: journal::ProcessIdentity::current()
                .ok_or_else(|| StartError::Refused("cannot identify this process in /proc".to_owned()))?,
            resumed_from: None,
        };
        let id = store.start_run(&new)?;
        let changes = Arc::new(watch::Sender::new(0));
        let journal = Arc::new(Journal::new(Announcing { inner: store, changes: Arc::clone(&changes) }, id));
        if let Some(trigger) = &request.trigger {
            let text = format!("started by {trigger}");
            if let Err(Stop::Failed(why) | Stop::Declined(why) | Stop::Interrupted(why)) =
                journal.record(&[Event::Note { text }])
            {
                let _ = journal.finish(journal::Status::Failed, Some(&why));
                return Err(StartError::Refused(why));
            }
        }
        let live = Arc::new(LiveRun {
            id,
            runbook: runbook.name.clone(),
            procedure: request.procedure.clone(),
            environment: request.env.clone(),
            safety: runbook.safety(index),
            abort: CancellationToken::new(),
            aborted_by: Mutex::new(None),
            question: Mutex::new(None),
            next_question: AtomicU64::new(1),
            changes,
            journal: Arc::clone(&journal),
        });
        self.live_runs().insert(id, Arc::clone(&live));
        self.count.send_modify(|n| *n += 1);
        self.started.fetch_add(1, Ordering::Relaxed);
        let options = Options {
            env: request.env.clone(),
            sets,
            dry_run: request.dry_run,
            operator: Some(request.by.clone()),
            allow: request.allow,
            ..Options::default()
        };
        let work = Work { runbook: Arc::clone(runbook), index, options, secrets, facts, choices: request.options };
        let runs = Arc::clone(self);
        let spawned = std::thread::Builder::new().name(format!("run-{id}")).spawn({
            let live = Arc::clone(&live);
            move || runs.drive(&live, work)
        });
        if let Err(error) = spawned {
            let why = format!("cannot start a thread for the run: {error}");
            let _ = journal.finish(journal::Status::Failed, Some(&why));
            self.forget(id);
            return Err(StartError::Refused(why));
        }
        let _ = self.notices.send(RunNotice::Started {
            run: id,
            runbook: runbook.name.clone(),
            procedure: request.procedure,
            env: request.env,
            by: request.by,
            trigger: request.trigger,
        });
        Ok(id)
    }

    /// Runs one run to its end on this thread, then records how it ended.
    fn drive(&self, live: &Arc<LiveRun>, work: Work) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let outcome = match runtime {
            Ok(runtime) => runtime.block_on(async {
                let mut operator = WebOperator {
                    live: Arc::clone(live),
                    name: work.options.operator.clone().unwrap_or_default(),
                    drain: self.draining.clone(),
                };
                let mut session = Session::new(
                    &work.options,
                    &work.runbook,
                    &work.secrets,
                    &live.journal,
                    &mut operator,
                    live.abort.clone(),
                );
                session.echo = false;
                session.choices = &work.choices;
                session.facts = work.facts;
                session.drain = self.draining.clone();
                session.procedure(work.index).await
            }),
            Err(error) => Err(Stop::Failed(format!("cannot start the run's runtime: {error}"))),
        };
        let (status, reason) = match outcome {
            Ok(()) => (journal::Status::Succeeded, None),
            Err(Stop::Failed(why)) => (journal::Status::Failed, Some(why)),
            Err(Stop::Declined(why)) => (journal::Status::Aborted, Some(why)),
            Err(Stop::Aborted) if self.stopping.load(Ordering::SeqCst) => (
                journal::Status::Interrupted,
                Some("runwell stopped: the step still running after the shutdown timeout was stopped".to_owned()),
            ),
            Err(Stop::Aborted) => {
                let by = live.aborted_by.lock().unwrap_or_else(PoisonError::into_inner).clone();
                (journal::Status::Aborted, Some(format!("aborted by {}", by.as_deref().unwrap_or("runwell"))))
            }
            Err(Stop::Interrupted(why)) => (journal::Status::Interrupted, Some(why)),
        };
        // If the end cannot be recorded, the next start marks the run interrupted.
        let _ = live.journal.finish(status, reason.as_deref());
        *live.pending() = None;
        live.bump();
        self.forget(live.id);
        *self.finished.lock().unwrap_or_else(PoisonError::into_inner).entry(status.as_str()).or_default() += 1;
        let _ = self.notices.send(RunNotice::Finished {
            run: live.id,
            runbook: live.runbook.clone(),
            procedure: live.procedure.clone(),
            status,
            reason,
        });
    }

    fn forget(&self, run: RunId) {
        if self.live_runs().remove(&run).is_some() {
            self.count.send_modify(|n| *n = n.saturating_sub(1));
        }
    }

    /// Stops starting runs and lets running steps finish for `grace`; then
    /// stops the steps still running. Every run still going ends
    /// `interrupted`. Returns how many runs were stopped after the grace.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.draining.cancel();
        let mut count = self.count.subscribe();
        if tokio::time::timeout(grace, count.wait_for(|n| *n == 0)).await.is_ok() {
            return 0;
        }
        self.stopping.store(true, Ordering::SeqCst);
        let left: Vec<Arc<LiveRun>> = self.live_runs().values().cloned().collect();
        for live in &left {
            live.abort.cancel();
        }
        // Stopping a step takes its grace (SIGTERM, then SIGKILL after 5 s).
        let _ = tokio::time::timeout(Duration::from_secs(10), count.wait_for(|n| *n == 0)).await;
        left.len()
    }

    /// What `/metrics` says about runs.
    pub fn tally(&self) -> Tally {
        Tally {
            started: self.started.load(Ordering::Relaxed),
            running: *self.count.borrow(),
            finished: self.finished.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    /// Runs in the journal, newest first, by anyone (the CLI's too).
    pub fn list(&self, filter: &RunFilter) -> Result<Vec<journal::Run>, journal::Error> {
        self.read().runs(filter)
    }

    pub fn run(&self, run: RunId) -> Result<journal::Run, journal::Error> {
        self.read().run(run)
    }

    /// A run's events after sequence number `after` (all of them for
    /// `None`), and the run as it is now.
    pub fn events_after(&self, run: RunId, after: Option<u64>) -> Result<(journal::Run, Vec<Record>), journal::Error> {
        let reader = self.read();
        let events = match after {
            Some(after) => reader.events_after(run, after)?,
            None => reader.events(run)?,
        };
        Ok((reader.run(run)?, events))
    }

    /// The run's post-incident report, in Markdown.
    pub fn report(&self, run: RunId) -> Result<String, journal::Error> {
        crate::report::read(&*self.read(), run)
    }

    fn read(&self) -> std::sync::MutexGuard<'_, SqliteStore> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live_runs(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, Arc<LiveRun>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs started, running and ended by status, since the server started.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub started: u64,
    pub running: usize,
    pub finished: BTreeMap<&'static str, u64>,
}

/// What a run's thread needs, owned.
struct Work {
    runbook: Arc<Runbook>,
    index: usize,
    options: Options,
    secrets: template::Secrets,
    facts: Facts,
    choices: Vec<String>,
}

/// Puts a run's questions to whoever opens the run in the dashboard or
/// the API, and waits for the answer.
struct WebOperator {
    live: Arc<LiveRun>,
    name: String,
    drain: CancellationToken,
}

impl Operator for WebOperator {
    fn name(&self) -> &str {
        &self.name
    }

    fn ask<'a>(&'a mut self, question: Question<'a>) -> Asking<'a> {
        Box::pin(async move {
            let live = &self.live;
            let id = live.next_question.fetch_add(1, Ordering::SeqCst);
            let asked = asked(id, question);
            let (reply, answered) = oneshot::channel();
            *live.pending() = Some(Pending { asked, reply });
            live.bump();
            let outcome = tokio::select! {
                answered = answered => answered.map_err(|_| Stop::Aborted),
                () = live.abort.cancelled() => Err(Stop::Aborted),
                () = self.drain.cancelled() => Err(Stop::Interrupted(
                    "runwell was stopping while the run waited for an answer".to_owned(),
                )),
            };
            if outcome.is_err() {
                *live.pending() = None;
                live.bump();
            }
            outcome
        })
    }
}

fn asked(id: u64, question: Question<'_>) -> Asked {
    let base = |kind, step, prompt: &str| Asked {
        id,
        kind,
        step,
        prompt: prompt.to_owned(),
        shown: None,
        expected: None,
        options: Vec::new(),
    };
    match question {
        Question::Confirm { step, prompt, shown } => {
            Asked { shown: Some(shown.to_owned()), ..base("confirm", Some(step), prompt) }
        }
        Question::Destructive { step, prompt, shown, expected } => Asked {
            shown: Some(shown.to_owned()),
            expected: Some(expected.to_owned()),
            ..base("destructive", Some(step), prompt)
        },
        Question::Choose { options } => Asked {
            options: options
                .iter()
                .map(|(label, title)| Alternative { label: label.clone(), title: title.clone() })
                .collect(),
            ..base("choose", None, "which alternative?")
        },
        Question::Acknowledge { step, item } => base("acknowledge", Some(step), item),
    }
}

/// A store that tells a run's watchers of every write.
struct Announcing {
    inner: SqliteStore,
    changes: Arc<watch::Sender<u64>>,
}

impl Announcing {
    fn announce<T>(&self, result: Result<T, journal::Error>) -> Result<T, journal::Error> {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        result
    }
}

impl Store for Announcing {
    fn start_run(&mut self, run: &NewRun) -> Result<RunId, journal::Error> {
        self.inner.start_run(run)
    }

    fn append(&mut self, run: RunId, events: &[Event]) -> Result<u64, journal::Error> {
        let result = self.inner.append(run, events);
        self.announce(result)
    }

    fn finish_run(&mut self, run: RunId, status: journal::Status, reason: Option<&str>) -> Result<(), journal::Error> {
        let result = self.inner.finish_run(run, status, reason);
        self.announce(result)
    }

    fn mark_interrupted(&mut self, host: &str) -> Result<Vec<RunId>, journal::Error> {
        self.inner.mark_interrupted(host)
    }

    fn runs(&self, filter: &RunFilter) -> Result<Vec<journal::Run>, journal::Error> {
        self.inner.runs(filter)
    }

    fn run(&self, run: RunId) -> Result<journal::Run, journal::Error> {
        self.inner.run(run)
    }

    fn runbook_content(&self, run: RunId) -> Result<String, journal::Error> {
        self.inner.runbook_content(run)
    }

    fn events(&self, run: RunId) -> Result<Vec<Record>, journal::Error> {
        self.inner.events(run)
    }

    fn step_output(
        &self,
        run: RunId,
        step: u32,
        stream: journal::Stream,
    ) -> Result<journal::StepOutput, journal::Error> {
        self.inner.step_output(run, step, stream)
    }

    fn verify(&self) -> Result<journal::Verification, journal::Error> {
        self.inner.verify()
    }
}

/// A journal record as the API shows it: the event's own fields, its
/// sequence number and time, and an output chunk's bytes as text.
pub fn event_json(record: &Record) -> serde_json::Value {
    let mut value = serde_json::to_value(&record.event).unwrap_or_else(|_| serde_json::json!({}));
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("seq".into(), record.seq.into());
        map.insert("at".into(), record.at.to_string().into());
        if let Event::Output { bytes, .. } = &record.event {
            map.insert("text".into(), String::from_utf8_lossy(bytes).into_owned().into());
        }
    }
    value
}
