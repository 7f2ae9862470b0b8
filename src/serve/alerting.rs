//! What ties the server's parts together once it runs: Alertmanager
//! deliveries turned into runs ([`AlertRuns`]), and the events that go out
//! as notifications and logs ([`announce`]).

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::app::{AlertHook, Library};
use super::catalog::Catalog;
use super::notify::{Notice, Notifier};
use super::runs::{RunNotice, Runnable, Runs, StartRequest};
use super::scheduler::Scheduler;
use super::triggers::{Decision, Payload, Rule, Triggers};

/// The rules of every served runbook's `alerts:` front matter.
pub fn rules(catalog: &Catalog) -> Vec<Rule> {
    catalog
        .entries
        .iter()
        .flat_map(|entry| entry.runbook.front_matter.alerts.iter().map(|alert| Rule::new(&entry.name, alert.clone())))
        .collect()
}

/// Starts the runs Alertmanager's alerts map to.
pub struct AlertRuns {
    pub triggers: Arc<Triggers>,
    pub library: Library,
    pub runs: Arc<Runs>,
}

impl std::fmt::Debug for AlertRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertRuns").finish_non_exhaustive()
    }
}

impl AlertHook for AlertRuns {
    fn receive(&self, body: &[u8], by: &str) -> Result<serde_json::Value, String> {
        let payload = Payload::from_json(body).map_err(|error| error.to_string())?;
        let decisions = self.triggers.receive(&payload, jiff::Timestamp::now());
        let outcomes: Vec<serde_json::Value> = decisions.into_iter().map(|decision| self.act(decision, by)).collect();
        Ok(serde_json::json!({ "alerts": payload.alerts.len(), "outcomes": outcomes }))
    }

    fn history(&self) -> serde_json::Value {
        serde_json::to_value(self.triggers.history()).unwrap_or_else(|_| serde_json::json!([]))
    }
}

impl AlertRuns {
    fn act(&self, decision: Decision, by: &str) -> serde_json::Value {
        match decision {
            Decision::Start { fingerprint, runbook, procedure, env, allow, values, alert } => {
                let catalog = self.library.current();
                let started = match (catalog.entry(&runbook), values) {
                    (_, Err(why)) => Err(why),
                    (Some(entry), Ok(values)) => {
                        let runnable = Runnable {
                            runbook: Arc::clone(&entry.runbook),
                            path: entry.path.clone(),
                            source: Arc::clone(&entry.source),
                        };
                        let request = StartRequest {
                            procedure: procedure.clone(),
                            env,
                            values: values.into_iter().collect(),
                            by: by.to_owned(),
                            allow: Some(allow),
                            trigger: Some(format!("alert {alert} (fingerprint {fingerprint})")),
                            ..StartRequest::default()
                        };
                        self.runs.start(&runnable, request).map_err(|error| error.to_string())
                    }
                    (None, Ok(_)) => Err(format!("runbook `{runbook}` is no longer loaded")),
                };
                match started {
                    Ok(run) => {
                        self.triggers.started(&fingerprint, &runbook, run);
                        tracing::info!(run, %runbook, %procedure, %fingerprint, "alert started a run");
                        serde_json::json!({ "fingerprint": fingerprint, "started": run, "runbook": runbook, "procedure": procedure })
                    }
                    Err(why) => {
                        self.triggers.start_failed(&fingerprint, &runbook);
                        tracing::warn!(%runbook, %procedure, %fingerprint, error = %why, "an alert's run did not start");
                        serde_json::json!({ "fingerprint": fingerprint, "runbook": runbook, "procedure": procedure, "error": why })
                    }
                }
            }
            Decision::AlreadyRunning { fingerprint, runbook, run } => {
                serde_json::json!({ "fingerprint": fingerprint, "runbook": runbook, "already_running": run })
            }
            Decision::Tripped { runbook, fingerprint, until } => {
                tracing::warn!(%runbook, %fingerprint, "alert runs of this runbook are capped for the hour");
                serde_json::json!({ "fingerprint": fingerprint, "runbook": runbook, "tripped_until": until })
            }
            Decision::Unmatched { fingerprint, alertname } => {
                serde_json::json!({ "fingerprint": fingerprint, "unmatched": alertname })
            }
            Decision::Resolved { fingerprint, runs } => {
                for alert_run in &runs {
                    if let Some(live) = self.runs.live(alert_run.run) {
                        live.note(&format!("the alert that started this run resolved (fingerprint {fingerprint})"));
                    }
                }
                tracing::info!(%fingerprint, runs = runs.len(), "alert resolved");
                let ids: Vec<_> = runs.iter().map(|run| run.run).collect();
                serde_json::json!({ "fingerprint": fingerprint, "resolved": ids })
            }
        }
    }
}

/// Until `stop`: tells `notifier` and the log of check state changes and
/// runs starting and ending, and `triggers` of runs that ended.
pub async fn announce(
    scheduler: Arc<Scheduler>,
    runs: Arc<Runs>,
    notifier: Option<Arc<Notifier>>,
    triggers: Arc<Triggers>,
    stop: CancellationToken,
) {
    let mut changes = scheduler.subscribe();
    let mut notices = runs.subscribe();
    drop(scheduler);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            change = changes.recv() => match change {
                Ok(change) => {
                    if !change.initial {
                        tracing::info!(
                            runbook = %change.key.runbook, check = %change.key.check,
                            from = change.from.as_str(), to = change.to.as_str(), reason = %change.sample.reason,
                            "check state changed"
                        );
                    }
                    // A restart does not re-announce every state it learns.
                    if let (Some(notifier), false) = (&notifier, change.initial) {
                        notifier.send(Notice::from(&change));
                    }
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "state changes came faster than they could be announced"),
                Err(RecvError::Closed) => return,
            },
            notice = notices.recv() => match notice {
                Ok(RunNotice::Started { run, runbook, procedure, env, by, trigger }) => {
                    if let Some(notifier) = &notifier {
                        notifier.send(Notice::RunStarted { run, runbook, procedure, env, by, trigger });
                    }
                }
                Ok(RunNotice::Finished { run, runbook, procedure, status, reason }) => {
                    triggers.finished(run);
                    tracing::info!(run, %runbook, %procedure, status = status.as_str(), reason = reason.as_deref().unwrap_or(""), "run ended");
                    if let Some(notifier) = &notifier {
                        notifier.send(Notice::RunFinished { run, runbook, procedure, status, reason });
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "runs ended faster than they could be announced");
                    // The missed notices may have ended alert runs: free
                    // every alert whose run no longer runs, or it would
                    // never start another.
                    for run in triggers.running() {
                        if runs.live(run).is_none() {
                            triggers.finished(run);
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}
