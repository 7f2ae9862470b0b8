//! What the probes' tests share: checks built by hand, the engine run on
//! one of them, and waiting on conditions instead of sleeping.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use super::{Options, Outcome, Params, Resolved, run};
use crate::runbook::ProbeKind;

/// A check of `kind` on `target` with `params` (a JSON object).
pub fn resolved(kind: ProbeKind, target: &str, params: &Value) -> Resolved {
    Resolved {
        runbook: "test".to_owned(),
        name: "under-test".to_owned(),
        layer: None,
        kind,
        target: target.to_owned(),
        shown_target: target.to_owned(),
        params: params_of(params),
        expect: None,
        warn: None,
        timeout: None,
        retries: 0,
        error: None,
    }
}

/// Parameters from a JSON object literal.
pub fn params_of(params: &Value) -> Params {
    Params(params.as_object().cloned().unwrap_or_default())
}

/// Runs one check through the engine, as `runwell check` would.
pub async fn run_one(check: Resolved) -> Outcome {
    run(vec![check], &Options::default(), None).await.remove(0)
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after a
/// generous bound so a broken test fails instead of hanging.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `pid` no longer runs: gone, or a zombie nobody reaped yet (this
/// container's init does not reap orphans).
pub fn not_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S …`: the state follows the last `)`.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}
