//! Runs many checks concurrently under a bound, each with a timeout and
//! retries, and turns what the probes saw into outcomes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

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
    let expressions = Arc::new(compile(&checks));
    let context = Arc::new(Context::default());
    let limit = options.concurrency.max(1);
    let total = checks.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let mut done = 0;
    let mut finish = |joined: Result<(usize, Outcome), tokio::task::JoinError>| {
        let (index, mut outcome) = joined.expect("a probe panicked");
        outcome.observed = options.redactor.redact(&outcome.observed);
        outcome.reason = options.redactor.redact(&outcome.reason);
        outcomes[index] = Some(outcome);
        done += 1;
        if let Some(progress) = &progress {
            progress(done);
        }
    };
    // Spawn no more tasks than may run: a waiting task would hold its whole
    // future (every probe's state) in memory for nothing.
    let mut tasks = JoinSet::new();
    for (index, check) in checks.into_iter().enumerate() {
        if tasks.len() >= limit {
            finish(tasks.join_next().await.expect("the set is not empty"));
        }
        let (expressions, context) = (expressions.clone(), context.clone());
        let timeout = check.timeout.unwrap_or(options.timeout);
        tasks.spawn(async move { (index, one(&check, &context, &expressions, timeout).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        finish(joined);
    }
    outcomes.into_iter().map(|o| o.expect("every check reports once")).collect()
}

type Expressions = HashMap<String, Compiled>;

fn compile(checks: &[Resolved]) -> Expressions {
    let mut compiled = HashMap::new();
    for source in checks.iter().flat_map(|c| [c.expect.as_deref(), c.warn.as_deref()]).flatten() {
        compiled.entry(source.to_owned()).or_insert_with(|| Compiled::new(source));
    }
    compiled
}

/// One check: probe, judge, and retry with backoff while critical.
async fn one(check: &Resolved, context: &Context, expressions: &Expressions, timeout: Duration) -> Outcome {
    let expect = check.expect.as_deref().map(|e| &expressions[e]);
    let warn = check.warn.as_deref().map(|e| &expressions[e]);
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
            observed,
            reason: verdict.reason,
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
