//! What the scheduler knows about one check: its confirmed state after the
//! failure and success thresholds, the latest sample, and a bounded history.
//!
//! Pure: no clock, no I/O. The scheduler hands it each result as a
//! [`Sample`] and broadcasts the [`Change`] it returns.
//!
//! Thresholds, like a load balancer's unhealthy-threshold 3 and
//! healthy-threshold 2, keep one lost packet from paging anyone:
//!
//! - the first result sets the state directly (nothing is known before it);
//! - ok → not ok after `fail_threshold` consecutive results that are not ok,
//!   of any mix: the state becomes the latest one's (warning, critical,
//!   unknown);
//! - not ok → ok after `success_threshold` consecutive ok results;
//! - one state that is not ok → another (warning → critical, critical →
//!   unknown) after `fail_threshold` consecutive results of exactly the new
//!   state. A check flapping between warning and critical keeps the state it
//!   has instead of announcing a change at every result, and a lasting
//!   escalation is confirmed after as many results as it took to leave ok.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::Settings;
use crate::check::{Outcome, Status};

/// Which check: its runbook and its name, unique together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CheckKey {
    pub runbook: String,
    pub check: String,
}

impl CheckKey {
    pub fn new(runbook: impl Into<String>, check: impl Into<String>) -> CheckKey {
        CheckKey { runbook: runbook.into(), check: check.into() }
    }
}

impl fmt::Display for CheckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.runbook, self.check)
    }
}

/// One result of a check, secrets masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// When the result came in.
    pub at: Timestamp,
    pub status: Status,
    pub latency_ms: f64,
    /// Empty when ok; otherwise why not, in one line.
    pub reason: String,
    /// What the probe saw, for the matrix's Observed column.
    pub observed: String,
}

impl Sample {
    /// The sample of `outcome`, which the engine has already redacted.
    pub fn new(outcome: &Outcome, at: Timestamp) -> Sample {
        Sample {
            at,
            status: outcome.status,
            latency_ms: outcome.latency_ms,
            reason: outcome.reason.clone(),
            observed: outcome.observed.clone(),
        }
    }
}

/// A check as the dashboard and the JSON API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckState {
    pub key: CheckKey,
    pub layer: Option<String>,
    /// The target with secrets masked: never the one the probe uses.
    pub target: String,
    /// The confirmed state, after the thresholds: `unknown` until the first
    /// result.
    pub state: Status,
    /// When the confirmed state last changed (or was first set).
    pub since: Option<Timestamp>,
    pub last: Option<Sample>,
    /// Consecutive results with `last`'s status, `last` included.
    pub streak: u32,
    /// The latest samples, oldest first, at most `Settings::history`.
    pub history: VecDeque<Sample>,
    #[serde(rename = "interval_ms", serialize_with = "milliseconds")]
    pub interval: Duration,
    /// When the next scheduled run is due.
    pub next_at: Option<Timestamp>,
    /// Consecutive results on the same side of ok as `last` (ok, or any of
    /// the others): what the thresholds between ok and not ok count.
    #[serde(skip)]
    run: u32,
    /// Every result's latency since the server started, for `/metrics`.
    #[serde(skip)]
    pub latencies: Latencies,
}

/// A Prometheus histogram of check latencies: cumulative counts per bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latencies {
    /// Results at most `BUCKETS[i]` seconds long (not cumulative here).
    pub counts: [u64; Latencies::BUCKETS.len()],
    pub sum_seconds: f64,
    pub count: u64,
}

impl Latencies {
    /// Upper bounds in seconds: a probe on loopback answers in about a
    /// millisecond, a timed-out one after its timeout (10 s by default).
    pub const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0];

    pub fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = Self::BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.counts[bucket] += 1;
        }
        self.sum_seconds += seconds;
        self.count += 1;
    }
}

/// Sent when a check's confirmed state changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub key: CheckKey,
    pub from: Status,
    pub to: Status,
    pub at: Timestamp,
    /// The result that confirmed the change.
    pub sample: Sample,
    /// The check's first result: `from` is `unknown` because nothing was
    /// known yet, not because the check said so. A notifier may want to
    /// stay quiet about these after a restart.
    pub initial: bool,
}

/// Sent for every new result, for live views (latency, the last reason).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    pub key: CheckKey,
    /// The confirmed state after this result.
    pub state: Status,
    pub sample: Sample,
}

impl CheckState {
    /// A check with no result yet.
    pub fn new(key: CheckKey, layer: Option<String>, target: String, interval: Duration) -> CheckState {
        CheckState {
            key,
            layer,
            target,
            state: Status::Unknown,
            since: None,
            last: None,
            streak: 0,
            history: VecDeque::new(),
            interval,
            next_at: None,
            run: 0,
            latencies: Latencies::default(),
        }
    }

    /// Takes in a result; returns the change it confirms, if any.
    pub fn record(&mut self, sample: Sample, settings: &Settings) -> Option<Change> {
        let previous = self.last.as_ref().map(|last| last.status);
        let status = sample.status;
        self.streak = if previous == Some(status) { self.streak.saturating_add(1) } else { 1 };
        let same_side = previous.is_some_and(|p| (p == Status::Ok) == (status == Status::Ok));
        self.run = if same_side { self.run.saturating_add(1) } else { 1 };
        let confirmed = match previous {
            None => Some(status),
            Some(_) => self.confirms(status, settings),
        };
        if settings.history > 0 {
            while self.history.len() >= settings.history {
                self.history.pop_front();
            }
            self.history.push_back(sample.clone());
        } else {
            self.history.clear();
        }
        self.latencies.observe(sample.latency_ms / 1000.0);
        self.last = Some(sample.clone());
        if previous.is_none() {
            self.since = Some(sample.at);
        }
        let to = confirmed.filter(|to| *to != self.state)?;
        let change =
            Change { key: self.key.clone(), from: self.state, to, at: sample.at, initial: previous.is_none(), sample };
        self.state = to;
        self.since = Some(change.at);
        Some(change)
    }

    /// The state the results so far confirm, when it differs from the one
    /// held (see the module's documentation).
    fn confirms(&self, status: Status, settings: &Settings) -> Option<Status> {
        let fail = settings.fail_threshold.max(1);
        let success = settings.success_threshold.max(1);
        match (self.state == Status::Ok, status == Status::Ok) {
            (true, true) => None,
            (false, true) => (self.run >= success).then_some(Status::Ok),
            (true, false) => (self.run >= fail).then_some(status),
            (false, false) => (status != self.state && self.streak >= fail).then_some(status),
        }
    }
}

fn milliseconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(fail: u32, success: u32, history: usize) -> Settings {
        Settings { fail_threshold: fail, success_threshold: success, history, ..Settings::default() }
    }

    fn sample(status: Status, n: u32) -> Sample {
        let at = Timestamp::from_second(1_700_000_000 + i64::from(n)).expect("a valid timestamp");
        Sample { at, status, latency_ms: 1.0, reason: String::new(), observed: n.to_string() }
    }

    fn check() -> CheckState {
        CheckState::new(CheckKey::new("db", "primary"), None, "127.0.0.1:5432".to_owned(), Duration::from_secs(10))
    }

    /// Feeds `results` (o k w c u) and returns the confirmed state after each
    /// and the changes, as `from>to` with a `*` for the initial one.
    fn feed(results: &str, settings: &Settings) -> (String, Vec<String>) {
        let mut state = check();
        let mut confirmed = String::new();
        let mut changes = Vec::new();
        for (n, letter) in results.chars().enumerate() {
            let status = match letter {
                'o' => Status::Ok,
                'w' => Status::Warning,
                'c' => Status::Critical,
                'u' => Status::Unknown,
                other => panic!("no status `{other}`"),
            };
            if let Some(change) = state.record(sample(status, n as u32), settings) {
                assert_eq!((change.key.clone(), change.to), (state.key.clone(), state.state));
                assert_eq!(state.since, Some(change.at));
                let star = if change.initial { "*" } else { "" };
                changes.push(format!("{star}{}>{}", &change.from.as_str()[..1], &change.to.as_str()[..1]));
            }
            confirmed.push(state.state.as_str().chars().next().expect("a name"));
        }
        (confirmed, changes)
    }

    #[test]
    fn the_first_result_sets_the_state_directly() {
        let settings = settings(3, 2, 10);
        assert_eq!(feed("c", &settings), ("c".to_owned(), vec!["*u>c".to_owned()]));
        assert_eq!(feed("o", &settings), ("o".to_owned(), vec!["*u>o".to_owned()]));
        assert_eq!(feed("w", &settings), ("w".to_owned(), vec!["*u>w".to_owned()]));
        // Unknown as a first result is a state, not a change.
        assert_eq!(feed("u", &settings), ("u".to_owned(), vec![]));
        let mut state = check();
        state.record(sample(Status::Unknown, 0), &settings);
        assert_eq!(state.since, Some(sample(Status::Unknown, 0).at), "the state is known from the first result on");
    }

    #[test]
    fn ok_turns_bad_only_after_the_failure_threshold_and_back_after_the_success_threshold() {
        let settings = settings(3, 2, 10);
        assert_eq!(feed("occcoocc", &settings).0, "oooccooo");
        assert_eq!(feed("occcoocc", &settings).1, ["*u>o", "o>c", "c>o"]);
        // A single good result in a bad run starts the count again.
        assert_eq!(feed("occocccoo", &settings).0, "oooooocco");
        assert_eq!(feed("occocccoo", &settings).1, ["*u>o", "o>c", "c>o"]);
    }

    #[test]
    fn leaving_ok_counts_any_mix_of_bad_results_and_takes_the_latest() {
        let settings = settings(3, 2, 10);
        assert_eq!(feed("owcu", &settings), ("ooou".to_owned(), vec!["*u>o".to_owned(), "o>u".to_owned()]));
        assert_eq!(feed("owwc", &settings), ("oooc".to_owned(), vec!["*u>o".to_owned(), "o>c".to_owned()]));
    }

    #[test]
    fn between_bad_states_a_change_needs_the_failure_threshold_of_the_new_state() {
        let settings = settings(3, 2, 10);
        // Flapping between warning and critical keeps the confirmed state.
        let (states, changes) = feed("wcwcwc", &settings);
        assert_eq!((states.as_str(), changes), ("wwwwww", vec!["*u>w".to_owned()]));
        // Three criticals in a row escalate.
        let (states, changes) = feed("wccc", &settings);
        assert_eq!((states.as_str(), changes), ("wwwc", vec!["*u>w".to_owned(), "w>c".to_owned()]));
    }

    #[test]
    fn thresholds_of_one_follow_every_result_and_zero_means_one() {
        for n in [0, 1] {
            let (states, changes) = feed("ocowo", &settings(n, n, 10));
            assert_eq!(states, "ocowo");
            assert_eq!(changes, ["*u>o", "o>c", "c>o", "o>w", "w>o"]);
        }
    }

    #[test]
    fn the_streak_counts_results_agreeing_with_the_last() {
        let settings = settings(3, 2, 10);
        let mut state = check();
        let streaks: Vec<u32> = "oowwwc"
            .chars()
            .enumerate()
            .map(|(n, c)| {
                let status = if c == 'o' {
                    Status::Ok
                } else if c == 'w' {
                    Status::Warning
                } else {
                    Status::Critical
                };
                state.record(sample(status, n as u32), &settings);
                state.streak
            })
            .collect();
        assert_eq!(streaks, [1, 2, 1, 2, 3, 1]);
    }

    #[test]
    fn history_keeps_the_newest_samples_oldest_first() {
        let mut state = check();
        for n in 0..12 {
            state.record(sample(Status::Ok, n), &settings(3, 2, 5));
        }
        let kept: Vec<&str> = state.history.iter().map(|s| s.observed.as_str()).collect();
        assert_eq!(kept, ["7", "8", "9", "10", "11"]);
        assert_eq!(state.last.as_ref().map(|s| s.observed.as_str()), Some("11"));
        state.record(sample(Status::Ok, 12), &settings(3, 2, 0));
        assert!(state.history.is_empty(), "no history kept when asked for none");
        assert_eq!(state.last.as_ref().map(|s| s.observed.as_str()), Some("12"));
    }

    #[test]
    fn the_json_shape_names_units_and_hides_the_counters() {
        let mut state = check();
        state.record(sample(Status::Ok, 0), &settings(3, 2, 5));
        let json = serde_json::to_value(&state).expect("serializable");
        assert_eq!(json["interval_ms"], 10_000);
        assert_eq!(json["state"], "ok");
        assert_eq!(json["key"], serde_json::json!({"runbook": "db", "check": "primary"}));
        assert_eq!(json["history"][0]["at"], "2023-11-14T22:13:20Z");
        assert!(json.get("run").is_none());
    }
}
