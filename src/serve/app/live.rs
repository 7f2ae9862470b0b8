//! Server-sent event streams: what the dashboard's pages listen to.
//!
//! `GET /api/events` tells every check state change (`check`) and every
//! run starting or ending (`run`); a client that fell behind gets `resync`
//! and reloads. `GET /api/runs/{id}/stream` replays a run's journal from
//! `Last-Event-ID` (or `?after=`), then follows it as it is written:
//! `journal` events carry each record (their SSE id is its sequence
//! number, so a reconnecting browser resumes where it was), `question` the
//! question the run waits on (or `null`), and `end` how the run ended.
//! Runs of this server are followed as they write; runs of a `runwell run`
//! elsewhere on the host by reading the journal every second.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt as _};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::{ApiError, AppState};
use crate::journal::{self, RunId};
use crate::serve::auth::{Require, at_least};
use crate::serve::runs::{RunNotice, event_json};
use crate::serve::scheduler::Change;

pub(super) async fn events(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let checks = state.scheduler.subscribe();
    let runs = state.runs.subscribe();
    let stream = futures_util::stream::unfold((checks, runs), |(mut checks, mut runs)| async move {
        let event = tokio::select! {
            change = checks.recv() => match change {
                Ok(change) => check_event(&change),
                Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                Err(RecvError::Closed) => return None,
            },
            notice = runs.recv() => match notice {
                Ok(notice) => run_event(&notice),
                Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                Err(RecvError::Closed) => return None,
            },
        };
        Some((Ok(event), (checks, runs)))
    });
    Sse::new(stream.take_until(state.shutdown.cancelled_owned())).keep_alive(KeepAlive::default())
}

fn check_event(change: &Change) -> Event {
    let data = serde_json::json!({
        "runbook": change.key.runbook,
        "check": change.key.check,
        "from": change.from,
        "state": change.to,
        "at": change.at,
        "reason": change.sample.reason,
        "observed": change.sample.observed,
        "latency_ms": change.sample.latency_ms,
    });
    Event::default().event("check").data(data.to_string())
}

fn run_event(notice: &RunNotice) -> Event {
    let data = match notice {
        RunNotice::Started { run, runbook, procedure, env, by, trigger } => serde_json::json!({
            "id": run, "runbook": runbook, "procedure": procedure, "environment": env,
            "operator": by, "trigger": trigger, "status": "running",
        }),
        RunNotice::Finished { run, runbook, procedure, status, reason } => serde_json::json!({
            "id": run, "runbook": runbook, "procedure": procedure, "status": status, "reason": reason,
        }),
    };
    Event::default().event("run").data(data.to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamQuery {
    #[serde(default)]
    after: Option<u64>,
}

/// Where a run's stream is.
struct Following {
    state: AppState,
    run: RunId,
    /// The last sequence number sent; `None` before the first.
    after: Option<u64>,
    /// Told of the run's writes while this server runs it.
    changes: Option<watch::Receiver<u64>>,
    question: Option<u64>,
    queued: VecDeque<Event>,
    ended: bool,
}

pub(super) async fn run_stream(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Path(run): Path<RunId>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resumed = headers.get("last-event-id").and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let after = resumed.or(query.after);
    // Before the first read, so no write between the two goes unnoticed.
    let changes = state.runs.live(run).map(|live| live.changes());
    state.journal(move |runs| runs.run(run)).await?;
    let shutdown = state.shutdown.clone().cancelled_owned();
    let following = Following { state, run, after, changes, question: None, queued: VecDeque::new(), ended: false };
    let stream = futures_util::stream::unfold(following, |mut following| async move {
        loop {
            if let Some(event) = following.queued.pop_front() {
                return Some((Ok(event), following));
            }
            if following.ended {
                return None;
            }
            following.catch_up().await;
            if following.queued.is_empty() && !following.ended {
                following.wait().await;
            }
        }
    });
    Ok(Sse::new(stream.take_until(shutdown)).keep_alive(KeepAlive::default()))
}

impl Following {
    /// Queues what the journal holds past `after`, the question if it
    /// changed, and the end once the run has ended.
    async fn catch_up(&mut self) {
        let (run, after) = (self.run, self.after);
        let read = self.state.journal(move |runs| runs.events_after(run, after)).await;
        let (record, events) = match read {
            Ok(read) => read,
            Err(error) => {
                let data = serde_json::json!({ "error": error.to_string() });
                self.queued.push_back(Event::default().event("failure").data(data.to_string()));
                self.ended = true;
                return;
            }
        };
        for event in &events {
            self.after = Some(event.seq);
            let data = event_json(event).to_string();
            self.queued.push_back(Event::default().event("journal").id(event.seq.to_string()).data(data));
        }
        let question = self.state.runs.live(run).and_then(|live| live.question());
        if question.as_ref().map(|asked| asked.id) != self.question {
            self.question = question.as_ref().map(|asked| asked.id);
            let data = serde_json::to_string(&question).unwrap_or_else(|_| "null".to_owned());
            self.queued.push_back(Event::default().event("question").data(data));
        }
        if record.status != journal::Status::Running {
            let data = serde_json::json!({ "status": record.status, "finished_at": record.finished_at });
            self.queued.push_back(Event::default().event("end").data(data.to_string()));
            self.ended = true;
        }
    }

    async fn wait(&mut self) {
        match &mut self.changes {
            Some(changes) => {
                if changes.changed().await.is_err() {
                    // The run ended here: the next read sees its end.
                    self.changes = None;
                }
            }
            // A run of another process: read again in a second.
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}
