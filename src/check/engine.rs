//! Runs many checks concurrently under a bound, each with a timeout and
//! retries, and turns what the probes saw into outcomes. [`run_one`] runs a
//! single prepared check, for callers that keep their own schedule (the
//! server's scheduler); [`run`] is built on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::expect::{Compiled, judge};
use super::{
    DEFAULT_TIMEOUT, Failure, Observation, Outcome, Resolved, Status, command, disk, dns, file, http, metric, pidfile,
    postgres, redis, systemd, tcp, tls,
};
use crate::runbook::ProbeKind;
use crate::template::Redactor;

/// How a matrix runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// At most this many checks in flight.
    pub concurrency: usize,
    /// For checks without their own `timeout:`.
    pub timeout: Duration,
    /// Masks secret values in everything an outcome carries.
    pub redactor: Redactor,
}

impl Default for Options {
    fn default() -> Options {
        Options { concurrency: 64, timeout: DEFAULT_TIMEOUT, redactor: Redactor::default() }
    }
}

/// Called as each check finishes, with the number finished so far.
pub type Progress = Box<dyn Fn(usize) + Send + Sync>;

/// What probes share across one run: connection pools and clients.
#[derive(Debug)]
pub struct Context {
    /// HTTP clients (and their connection pools) for `http` and `metric`.
    pub http: http::Clients,
    /// Certificate verifiers for `tls`, by extra CA bundle.
    pub tls: tls::Verifiers,
    /// The program `systemd` checks run: `systemctl` from `PATH`. A field
    /// rather than a constant so tests can run a stand-in where systemd is
    /// not PID 1.
    pub systemctl: String,
}

impl Default for Context {
    fn default() -> Context {
        Context { http: http::Clients::default(), tls: tls::Verifiers::default(), systemctl: "systemctl".to_owned() }
    }
}

/// Runs `checks` and returns their outcomes in the same order.
pub async fn run(checks: Vec<Resolved>, options: &Options, progress: Option<Progress>) -> Vec<Outcome> {
    let context = Arc::new(Context::default());
    let shared_options = Arc::new(options.clone());
    let limit = options.concurrency.max(1);
    let total = checks.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let mut done = 0;
    let mut finish = |joined: Result<(usize, Outcome), tokio::task::JoinError>| {
        let (index, outcome) = joined.expect("a probe panicked");
        outcomes[index] = Some(outcome);
        done += 1;
        if let Some(progress) = &progress {
            progress(done);
        }
    };
    // Spawn no more tasks than may run: a waiting task would hold its whole
    // future (every probe's state) in memory for nothing.
    let mut tasks = JoinSet::new();
    for (index, check) in Prepared::all(checks).into_iter().enumerate() {
        if tasks.len() >= limit {
            finish(tasks.join_next().await.expect("the set is not empty"));
        }
        let (context, options) = (context.clone(), shared_options.clone());
        tasks.spawn(async move { (index, run_one(&check, &context, &options).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        finish(joined);
    }
    outcomes.into_iter().map(|o| o.expect("every check reports once")).collect()
}

/// A check ready to run again and again: its `expect:` and `warn:`
/// compiled once, shared with every other check written the same way.
#[derive(Debug)]
pub struct Prepared {
    check: Resolved,
    expect: Option<Arc<Compiled>>,
    warn: Option<Arc<Compiled>>,
}

impl Prepared {
    pub fn new(check: Resolved) -> Prepared {
        Prepared::all(vec![check]).remove(0)
    }

    /// Prepares `checks`, compiling each distinct expression once: a matrix
    /// repeats the same `expect:` over many checks.
    pub fn all(checks: Vec<Resolved>) -> Vec<Prepared> {
        let mut compiled: HashMap<String, Arc<Compiled>> = HashMap::new();
        let mut compile = |source: Option<&str>| {
            source.map(|s| compiled.entry(s.to_owned()).or_insert_with(|| Arc::new(Compiled::new(s))).clone())
        };
        checks
            .into_iter()
            .map(|check| {
                let (expect, warn) = (compile(check.expect.as_deref()), compile(check.warn.as_deref()));
                Prepared { check, expect, warn }
            })
            .collect()
    }

    /// The check as resolved.
    pub fn check(&self) -> &Resolved {
        &self.check
    }
}

/// Runs one check: probe under its timeout (its own `timeout:` or the
/// options'), judge, and retry with backoff while critical. What the outcome
/// says is redacted with the options' redactor.
pub async fn run_one(prepared: &Prepared, context: &Context, options: &Options) -> Outcome {
    let check = &prepared.check;
    let (expect, warn) = (prepared.expect.as_deref(), prepared.warn.as_deref());
    let timeout = check.timeout.unwrap_or(options.timeout);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let started = Instant::now();
        let seen = match &check.error {
            Some(error) => Err(Failure::unknown(error.clone())),
            None => match tokio::time::timeout(timeout, probe(check, context, timeout)).await {
                Ok(seen) => seen,
                Err(_) => Err(Failure::critical(format!("no answer within {}", human_duration(timeout)))),
            },
        };
        let latency = started.elapsed();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        let (verdict, observed, values) = match seen {
            Ok(mut observation) => {
                observation.fields.insert("latency_ms".to_owned(), serde_json::json!(round_ms(latency_ms)));
                let verdict = judge(&observation, expect, warn);
                let values = numbers(&observation);
                (verdict, observation.observed, values)
            }
            Err(Failure(verdict)) => (verdict, String::new(), Vec::new()),
        };
        if verdict.status == Status::Critical && attempts <= check.retries {
            tokio::time::sleep(backoff(attempts)).await;
            continue;
        }
        return Outcome {
            runbook: check.runbook.clone(),
            name: check.name.clone(),
            layer: check.layer.clone(),
            kind: Some(check.kind),
            target: check.shown_target.clone(),
            expected: expect.map_or_else(|| default_expectation(check.kind).to_owned(), |e| e.source().to_owned()),
            status: verdict.status,
            latency_ms: round_ms(latency_ms),
            observed: options.redactor.redact(&observed),
            reason: options.redactor.redact(&verdict.reason),
            attempts,
            values,
        };
    }
}

/// Calls the probe for the check's kind.
async fn probe(check: &Resolved, context: &Context, timeout: Duration) -> Result<Observation, Failure> {
    let (target, params) = (&check.target, &check.params);
    match check.kind {
        ProbeKind::Tcp => tcp::probe(target, params, timeout).await,
        ProbeKind::Redis => redis::probe(target, params, timeout).await,
        ProbeKind::Postgres => postgres::probe(target, params, timeout).await,
        ProbeKind::Command => command::probe(target, params, timeout).await,
        ProbeKind::Systemd => systemd::probe(target, params, timeout, &context.systemctl).await,
        ProbeKind::File => file::probe(target, params, timeout).await,
        ProbeKind::Disk => disk::probe(target, params, timeout).await,
        ProbeKind::Pidfile => pidfile::probe(target, params, timeout).await,
        ProbeKind::Http => http::probe(&context.http, target, params, timeout).await,
        ProbeKind::Tls => tls::probe(&context.tls, target, params, timeout).await,
        ProbeKind::Dns => dns::probe(target, params, timeout).await,
        ProbeKind::Metric => metric::probe(&context.http, target, params, timeout).await,
    }
}

/// What a probe expects when the check does not say.
fn default_expectation(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Http => "2xx",
        ProbeKind::Tcp => "connects",
        ProbeKind::Tls => "valid, 14+ days left",
        ProbeKind::Dns => "an answer",
        ProbeKind::Redis => "PONG",
        ProbeKind::Postgres => "accepting connections",
        ProbeKind::Command => "exit 0",
        ProbeKind::Systemd => "active",
        ProbeKind::File => "exists, readable",
        ProbeKind::Disk => "10 %+ free space and inodes",
        ProbeKind::Pidfile => "process alive",
        ProbeKind::Metric => "series present",
    }
}

/// Numeric values worth exporting: Nagios perfdata and a metric's value.
fn numbers(observation: &Observation) -> Vec<(String, f64)> {
    let mut values = Vec::new();
    if let Some(serde_json::Value::Object(perf)) = observation.fields.get("perfdata") {
        for (label, data) in perf {
            if let Some(value) = data.get("value").and_then(serde_json::Value::as_f64) {
                values.push((label.clone(), value));
            }
        }
    }
    if let Some(value) = observation.fields.get("value").and_then(serde_json::Value::as_f64) {
        values.push(("value".to_owned(), value));
    }
    values
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(5) - 1)).min(Duration::from_secs(5))
}

fn round_ms(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// `500ms`, `5s`, `1m30s`.
pub fn human_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = duration.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}
