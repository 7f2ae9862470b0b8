//! Alertmanager triggers: which procedures an incoming alert starts, and
//! why an alert starts nothing.
//!
//! Runbooks map alerts to procedures in their front matter (`alerts:`); a
//! [`Rule`] is one such mapping. [`Triggers::receive`] turns a webhook
//! payload into [`Decision`]s; the caller acts on them (starts the runs,
//! writes the journal) and reports back ([`Triggers::started`],
//! [`Triggers::start_failed`], [`Triggers::finished`]). Nothing here does
//! I/O or reads the clock: `now` comes in, so tests pass any time.
//!
//! What keeps an alert from starting runs it should not:
//!
//! - **One run per alert and runbook while it runs.** Alertmanager re-sends
//!   a firing alert every `repeat_interval` and retries deliveries that
//!   failed, so the same alert arrives again and again. Its fingerprint is
//!   reserved when the start is decided, under the same lock, so two
//!   deliveries racing each other start one run, not two.
//! - **A circuit breaker per runbook.** At most `max_runs_per_hour`
//!   automatic starts in any sliding hour; a start counts when it is
//!   decided, so concurrent webhooks cannot both slip under the cap. A
//!   start that failed gives its place back: nothing ran.
//! - **`allow`** is the lesser of the rule's and the server's: what the run
//!   may do without a person (the runner enforces it; this only decides it).
//! - A rule without matchers matches nothing: an empty `match:` is a
//!   mistake (the parser reports it), not "every alert".
//!
//! Everything kept is bounded: labels are cut to [`MAX_LABELS`] of at most
//! [`MAX_VALUE`] characters, the history to [`HISTORY`] alerts, finished
//! runs remembered for a later `resolved` to [`FINISHED_KEPT`].

mod payload;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

pub use payload::{AlertStatus, Labels, Payload, PayloadError, WebhookAlert};

use crate::journal::RunId;
use crate::runbook::Safety;
use crate::runbook::front_matter::Alert;
use crate::serve::config::AlertsConfig;

/// Received alerts kept for `GET /api/alerts`.
pub const HISTORY: usize = 500;
/// Labels kept per alert (the rest are dropped, by name order).
pub const MAX_LABELS: usize = 32;
/// Characters kept of a label's name.
pub const MAX_NAME: usize = 64;
/// Characters kept of a label's value or an annotation.
pub const MAX_VALUE: usize = 256;
/// Finished runs remembered so that a later `resolved` can be noted in them.
pub const FINISHED_KEPT: usize = 1000;
/// The breaker's window.
const WINDOW: SignedDuration = SignedDuration::from_hours(1);
/// A decided start the caller never confirmed nor gave up is forgotten
/// after this long, so a lost report cannot block an alert for ever.
const RESERVATION_TTL: SignedDuration = SignedDuration::from_mins(10);

/// One `alerts:` entry of one runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The runbook's name (its `runbook:` key or file stem).
    pub runbook: String,
    pub alert: Alert,
}

impl Rule {
    pub fn new(runbook: impl Into<String>, alert: Alert) -> Rule {
        Rule { runbook: runbook.into(), alert }
    }

    /// Whether every matcher's label is present with exactly that value;
    /// other labels do not matter. No matchers match nothing.
    pub fn matches(&self, labels: &Labels) -> bool {
        !self.alert.matchers.is_empty()
            && self.alert.matchers.iter().all(|(name, value)| labels.get(name) == Some(value))
    }
}

/// What to do about one alert, for one runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start `procedure` of `runbook`, then call [`Triggers::started`] with
    /// the new run, or [`Triggers::start_failed`] if it could not start.
    Start {
        fingerprint: String,
        runbook: String,
        procedure: String,
        env: Option<String>,
        /// The most the run may do without a person.
        allow: Safety,
        /// The values the rule takes from the alert's labels, or why they
        /// could not be taken (the run must not start then).
        values: Result<Vec<(String, String)>, String>,
        alert: AlertSummary,
    },
    /// A run for this alert and runbook is still going; `run` is `None`
    /// while its start is decided but not reported yet.
    AlreadyRunning { fingerprint: String, runbook: String, run: Option<RunId> },
    /// The runbook's breaker is open: `max_runs_per_hour` starts in the last
    /// hour. `until` is when the oldest of them leaves the window; `None`
    /// when `max_runs_per_hour` is 0 and no alert may start a run.
    Tripped { runbook: String, fingerprint: String, until: Option<Timestamp> },
    /// Firing, but no runbook has a rule for it.
    Unmatched { fingerprint: String, alertname: Option<String> },
    /// The alert resolved. `runs` are the runs started for it that have not
    /// been told yet, so the caller can note it in their journal.
    Resolved { fingerprint: String, runs: Vec<AlertRun> },
}

/// A run started for an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRun {
    pub runbook: String,
    pub run: RunId,
    /// Still running (its journal takes events), or finished since.
    pub running: bool,
}

/// An alert as runwell shows and records it: its name, its labels and its
/// `summary` (or `description`) annotation, each cut to a bounded length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertSummary {
    pub alertname: Option<String>,
    pub labels: Labels,
    pub summary: Option<String>,
}

impl AlertSummary {
    pub fn of(alert: &WebhookAlert) -> AlertSummary {
        let annotation = alert.annotations.get("summary").or_else(|| alert.annotations.get("description"));
        AlertSummary {
            alertname: alert.alertname().map(|name| shown(name, MAX_VALUE)),
            labels: bounded_labels(&alert.labels),
            summary: annotation.map(|text| shown(text, MAX_VALUE)),
        }
    }
}

impl fmt::Display for AlertSummary {
    /// `VpnClientsFailing {instance="vpn1", severity="critical"}: 12 clients failing`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alertname.as_deref().unwrap_or("(no alertname)"))?;
        let mut others = self.labels.iter().filter(|(name, _)| *name != "alertname").peekable();
        if others.peek().is_some() {
            f.write_str(" {")?;
            for (index, (name, value)) in others.enumerate() {
                let comma = if index == 0 { "" } else { ", " };
                write!(f, "{comma}{name}={value:?}")?;
            }
            f.write_str("}")?;
        }
        if let Some(summary) = &self.summary {
            write!(f, ": {summary}")?;
        }
        Ok(())
    }
}

/// A received alert, for `GET /api/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    pub fingerprint: String,
    pub status: AlertStatus,
    pub received_at: Timestamp,
    #[serde(flatten)]
    pub alert: AlertSummary,
    /// What came of it, one entry per runbook it concerned.
    pub outcomes: Vec<Outcome>,
}

/// What came of an alert for one runbook (or for none: `unmatched`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// The run started, already running, or told of the resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunId>,
    /// `tripped`: when the breaker lets a run start again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Started,
    StartFailed,
    AlreadyRunning,
    Tripped,
    Unmatched,
    Resolved,
}

impl Outcome {
    fn new(kind: OutcomeKind, runbook: Option<&str>) -> Outcome {
        Outcome { kind, runbook: runbook.map(str::to_owned), procedure: None, run: None, until: None }
    }
}

/// The server's alert triggers: rules, runs in progress per alert, the
/// breakers and the history. Shared by the webhook handler and the run
/// manager.
#[derive(Debug)]
pub struct Triggers {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rules: Vec<Rule>,
    config: AlertsConfig,
    /// Alerts with a run decided or going, by (runbook, fingerprint).
    active: HashMap<(String, String), Slot>,
    /// Each runbook's automatic starts within the breaker's window.
    starts: HashMap<String, Vec<Timestamp>>,
    /// Finished runs not yet told their alert resolved, oldest first.
    finished: VecDeque<Finished>,
    /// Oldest first.
    history: VecDeque<AlertRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Decided at `at` (which the breaker counted), not reported yet.
    Reserved { at: Timestamp },
    /// `resolved`: the caller was already told this alert resolved.
    Running { run: RunId, resolved: bool },
}

#[derive(Debug)]
struct Finished {
    fingerprint: String,
    runbook: String,
    run: RunId,
}

impl Triggers {
    pub fn new(rules: Vec<Rule>, config: AlertsConfig) -> Triggers {
        Triggers {
            state: Mutex::new(State {
                rules,
                config,
                active: HashMap::new(),
                starts: HashMap::new(),
                finished: VecDeque::new(),
                history: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change below leaves the state whole before anything that
        // could panic, so a poisoned lock holds a usable state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides, for each alert of `payload`, what to start. Starts are
    /// reserved and counted against the breaker before this returns.
    pub fn receive(&self, payload: &Payload, now: Timestamp) -> Vec<Decision> {
        let mut state = self.lock();
        state.forget_stale(now);
        let mut decisions = Vec::new();
        for alert in &payload.alerts {
            let fingerprint = fingerprint(alert);
            let mut record = AlertRecord {
                fingerprint: fingerprint.clone(),
                status: alert.status,
                received_at: now,
                alert: AlertSummary::of(alert),
                outcomes: Vec::new(),
            };
            let first = decisions.len();
            match alert.status {
                AlertStatus::Firing => state.fire(&fingerprint, alert, &record.alert, now, &mut decisions),
                AlertStatus::Resolved => decisions.push(state.resolve(&fingerprint)),
            }
            record.outcomes = decisions[first..].iter().flat_map(outcomes).collect();
            state.remember(record);
        }
        decisions
    }

    /// The run for a [`Decision::Start`] exists: it holds the alert's slot
    /// until [`Triggers::finished`].
    pub fn started(&self, fingerprint: &str, runbook: &str, run: RunId) {
        let mut state = self.lock();
        state.active.insert((runbook.to_owned(), fingerprint.to_owned()), Slot::Running { run, resolved: false });
        if let Some(outcome) = state.pending_outcome(fingerprint, runbook) {
            outcome.run = Some(run);
        }
    }

    /// The run for a [`Decision::Start`] could not start: the alert may
    /// start one again, and the breaker gets its place back.
    pub fn start_failed(&self, fingerprint: &str, runbook: &str) {
        let mut state = self.lock();
        let key = (runbook.to_owned(), fingerprint.to_owned());
        let Some(Slot::Reserved { at }) = state.active.get(&key).copied() else { return };
        state.active.remove(&key);
        if let Some(starts) = state.starts.get_mut(runbook)
            && let Some(index) = starts.iter().position(|start| *start == at)
        {
            starts.swap_remove(index);
        }
        if let Some(outcome) = state.pending_outcome(fingerprint, runbook) {
            outcome.kind = OutcomeKind::StartFailed;
        }
    }

    /// The runs alerts started that have not been reported finished.
    pub fn running(&self) -> Vec<RunId> {
        let state = self.lock();
        let mut runs: Vec<RunId> = state
            .active
            .values()
            .filter_map(|slot| match slot {
                Slot::Running { run, .. } => Some(*run),
                Slot::Reserved { .. } => None,
            })
            .collect();
        runs.sort_unstable();
        runs
    }

    /// `run` ended: its alert may start another.
    pub fn finished(&self, run: RunId) {
        let mut state = self.lock();
        let found = state.active.iter().find_map(|(key, slot)| match slot {
            Slot::Running { run: r, resolved } if *r == run => Some((key.clone(), *resolved)),
            _ => None,
        });
        let Some(((runbook, fingerprint), resolved)) = found else { return };
        state.active.remove(&(runbook.clone(), fingerprint.clone()));
        if !resolved {
            if state.finished.len() == FINISHED_KEPT {
                state.finished.pop_front();
            }
            state.finished.push_back(Finished { fingerprint, runbook, run });
        }
    }

    /// Reloaded runbooks: new rules; runs in progress and breakers stay.
    pub fn replace_rules(&self, rules: Vec<Rule>) {
        self.lock().rules = rules;
    }

    /// A reloaded `[alerts]`: takes effect from the next alert; the starts
    /// already counted stay counted.
    pub fn set_config(&self, config: AlertsConfig) {
        self.lock().config = config;
    }

    /// The alerts received, newest first.
    pub fn history(&self) -> Vec<AlertRecord> {
        self.lock().history.iter().rev().cloned().collect()
    }
}

/// The longest value a label may give a run.
const MAX_LABEL_VALUE: usize = 256;

/// Renders each `values` template of a rule with the alert's labels
/// (`{{ labels.branch }}`). A label the template names but the alert lacks
/// is an error, and so is a value with characters beyond letters, digits
/// and `._:/@-`: labels come from outside, and a value lands in commands,
/// queries and URLs. Quoting protects a shell step; this also keeps a label
/// from reshaping a connection URL or a SQL identifier.
fn values_from(templates: &[(String, String)], labels: &Labels) -> Result<Vec<(String, String)>, String> {
    let mut environment = minijinja::Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let context = minijinja::context! { labels => labels };
    templates
        .iter()
        .map(|(name, template)| {
            let value = environment
                .render_str(template, &context)
                .map_err(|error| format!("the alert gives no value for `{name}` ({template}): {error}"))?;
            let allowed = |c: char| c.is_ascii_alphanumeric() || "._:/@-".contains(c);
            if value.is_empty() || value.len() > MAX_LABEL_VALUE || !value.chars().all(allowed) {
                return Err(format!(
                    "the alert's value for `{name}` is {value:?}: a value taken from a label must be 1 to \
                     {MAX_LABEL_VALUE} letters, digits or `._:/@-`"
                ));
            }
            Ok((name.clone(), value))
        })
        .collect()
}

impl State {
    /// Drops reservations never reported and starts out of the window.
    fn forget_stale(&mut self, now: Timestamp) {
        let expired = now.checked_sub(RESERVATION_TTL).unwrap_or(Timestamp::MIN);
        self.active.retain(|_, slot| !matches!(slot, Slot::Reserved { at } if *at <= expired));
        let cutoff = now.checked_sub(WINDOW).unwrap_or(Timestamp::MIN);
        self.starts.retain(|_, starts| {
            starts.retain(|start| *start > cutoff);
            !starts.is_empty()
        });
    }

    fn fire(
        &mut self,
        fingerprint: &str,
        alert: &WebhookAlert,
        summary: &AlertSummary,
        now: Timestamp,
        decisions: &mut Vec<Decision>,
    ) {
        let mut seen = HashSet::new();
        let matched: Vec<Rule> = self
            .rules
            .iter()
            .filter(|rule| rule.matches(&alert.labels) && seen.insert(rule.runbook.as_str()))
            .cloned()
            .collect();
        if matched.is_empty() {
            let alertname = summary.alertname.clone();
            decisions.push(Decision::Unmatched { fingerprint: fingerprint.to_owned(), alertname });
            return;
        }
        for rule in matched {
            let key = (rule.runbook.clone(), fingerprint.to_owned());
            if let Some(slot) = self.active.get(&key) {
                let run = match slot {
                    Slot::Reserved { .. } => None,
                    Slot::Running { run, .. } => Some(*run),
                };
                decisions.push(Decision::AlreadyRunning { fingerprint: key.1, runbook: key.0, run });
                continue;
            }
            let cap = self.config.max_runs_per_hour as usize;
            let starts = self.starts.entry(rule.runbook.clone()).or_default();
            if starts.len() >= cap {
                let until = starts.iter().min().map(|oldest| oldest.checked_add(WINDOW).unwrap_or(Timestamp::MAX));
                decisions.push(Decision::Tripped { runbook: key.0, fingerprint: key.1, until });
                continue;
            }
            starts.push(now);
            self.active.insert(key, Slot::Reserved { at: now });
            decisions.push(Decision::Start {
                fingerprint: fingerprint.to_owned(),
                runbook: rule.runbook,
                procedure: rule.alert.run,
                env: rule.alert.env,
                allow: rule.alert.allow.min(self.config.allow),
                values: values_from(&rule.alert.values, &alert.labels),
                alert: summary.clone(),
            });
        }
    }

    /// The runs to tell that `fingerprint` resolved; each is told once.
    fn resolve(&mut self, fingerprint: &str) -> Decision {
        let mut runs = Vec::new();
        for ((runbook, candidate), slot) in &mut self.active {
            if let Slot::Running { run, resolved } = slot
                && candidate == fingerprint
                && !*resolved
            {
                *resolved = true;
                runs.push(AlertRun { runbook: runbook.clone(), run: *run, running: true });
            }
        }
        self.finished.retain(|finished| {
            let this = finished.fingerprint == fingerprint;
            if this {
                runs.push(AlertRun { runbook: finished.runbook.clone(), run: finished.run, running: false });
            }
            !this
        });
        runs.sort_by(|a, b| (&a.runbook, a.run).cmp(&(&b.runbook, b.run)));
        Decision::Resolved { fingerprint: fingerprint.to_owned(), runs }
    }

    fn remember(&mut self, record: AlertRecord) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(record);
    }

    /// The newest `started` outcome of `fingerprint` for `runbook` that has
    /// no run yet.
    fn pending_outcome(&mut self, fingerprint: &str, runbook: &str) -> Option<&mut Outcome> {
        self.history.iter_mut().rev().filter(|record| record.fingerprint == fingerprint).find_map(|record| {
            record.outcomes.iter_mut().find(|outcome| {
                outcome.kind == OutcomeKind::Started
                    && outcome.run.is_none()
                    && outcome.runbook.as_deref() == Some(runbook)
            })
        })
    }
}

/// The history entries a decision makes.
fn outcomes(decision: &Decision) -> Vec<Outcome> {
    match decision {
        Decision::Start { runbook, procedure, .. } => {
            vec![Outcome { procedure: Some(procedure.clone()), ..Outcome::new(OutcomeKind::Started, Some(runbook)) }]
        }
        Decision::AlreadyRunning { runbook, run, .. } => {
            vec![Outcome { run: *run, ..Outcome::new(OutcomeKind::AlreadyRunning, Some(runbook)) }]
        }
        Decision::Tripped { runbook, until, .. } => {
            vec![Outcome { until: *until, ..Outcome::new(OutcomeKind::Tripped, Some(runbook)) }]
        }
        Decision::Unmatched { .. } => vec![Outcome::new(OutcomeKind::Unmatched, None)],
        Decision::Resolved { runs, .. } if runs.is_empty() => vec![Outcome::new(OutcomeKind::Resolved, None)],
        Decision::Resolved { runs, .. } => runs
            .iter()
            .map(|run| Outcome { run: Some(run.run), ..Outcome::new(OutcomeKind::Resolved, Some(&run.runbook)) })
            .collect(),
    }
}

/// The alert's identity across re-sends: Alertmanager's fingerprint when it
/// is a short plain token (it is 16 hex digits), else a hash of it, or of
/// the labels when there is none — so what is kept and shown is always
/// short and printable, and a sender without fingerprints still dedupes.
pub fn fingerprint(alert: &WebhookAlert) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let given = &alert.fingerprint;
    if !given.is_empty()
        && given.len() <= MAX_NAME
        && given.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return given.clone();
    }
    let mut hash = Sha256::new();
    if given.is_empty() {
        for (name, value) in &alert.labels {
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(value.as_bytes());
            hash.update([0]);
        }
    } else {
        hash.update(given.as_bytes());
    }
    hash.finalize()[..8].iter().fold(String::with_capacity(16), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The entry point of the `alertmanager` fuzz target in `fuzz/`. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{Alert, AlertsConfig, Decision, MAX_LABELS, MAX_NAME, MAX_VALUE, Payload, Rule, Triggers, payload};
    use crate::runbook::{Location, Safety};
    use jiff::Timestamp;

    /// Reads `body` as a webhook payload; if it reads, decides on it twice
    /// (starting, finishing and resolving runs in between) and checks that
    /// what is kept is bounded and that errors stay short.
    pub fn webhook(body: &[u8]) {
        let payload = match Payload::from_json(body) {
            Ok(payload) => payload,
            Err(error) => {
                assert!(error.reason.chars().count() <= 2 * payload::REASON, "{error}");
                return;
            }
        };
        let rule = |runbook: &str, matchers: &[(&str, &str)]| {
            let matchers = matchers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
            let (run, env, location) = ("fix".to_owned(), None, Location::default());
            // Every rule takes a value from the labels, so the fuzzer feeds the renderer too.
            let values = vec![("target".to_owned(), "{{ labels.instance }}-{{ labels.alertname }}".to_owned())];
            Rule::new(
                runbook,
                Alert { matchers, run, run_location: location, env, allow: Safety::Write, values, location },
            )
        };
        let rules = vec![rule("a", &[("alertname", "A")]), rule("b", &[("severity", "critical")])];
        let triggers = Triggers::new(rules, AlertsConfig { max_runs_per_hour: 3, allow: Safety::Read });
        let now = Timestamp::UNIX_EPOCH;
        let mut run = 0;
        for decision in triggers.receive(&payload, now) {
            if let Decision::Start { fingerprint, runbook, allow, .. } = decision {
                assert_eq!(allow, Safety::Read);
                run += 1;
                if run % 2 == 0 {
                    triggers.start_failed(&fingerprint, &runbook);
                } else {
                    triggers.started(&fingerprint, &runbook, run);
                }
            }
        }
        triggers.finished(1);
        let _ = triggers.receive(&payload, now);
        for record in triggers.history() {
            assert!(record.fingerprint.len() <= MAX_NAME, "{}", record.fingerprint);
            assert!(record.alert.labels.len() <= MAX_LABELS);
            for (name, value) in &record.alert.labels {
                assert!(name.chars().count() <= MAX_NAME + 1 && value.chars().count() <= MAX_VALUE + 1);
            }
            assert!(serde_json::to_string(&record).is_ok());
            let _ = record.alert.to_string();
        }
    }
}

/// At most [`MAX_LABELS`] labels, names and values cut to length.
fn bounded_labels(labels: &Labels) -> Labels {
    labels.iter().take(MAX_LABELS).map(|(name, value)| (shown(name, MAX_NAME), shown(value, MAX_VALUE))).collect()
}

/// `text` as runwell keeps and shows it: at most `max` characters, with `…`
/// where it was cut, and control characters (line breaks) as spaces so it
/// stays on its line.
fn shown(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(max).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}
