//! The JSON API's handlers. Each reads what it may from the catalog, the
//! scheduler or the journal, and checks the caller's right to act against
//! the policy before it changes anything.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, blocking};
use crate::check::Status;
use crate::journal::{self, RunFilter, RunId};
use crate::runbook::Safety;
use crate::serve::auth::{Action, AuthError, Authenticated, Caller, Require, at_least};
use crate::serve::catalog::Entry;
use crate::serve::runs::{Asked, Reply, Runnable, StartRequest, event_json};
use crate::serve::scheduler::{CheckKey, CheckState, Sample};

/// A runbook in `GET /api/runbooks`.
#[derive(Debug, Serialize)]
pub(super) struct RunbookSummary {
    pub name: String,
    pub path: String,
    pub title: Option<String>,
    pub checks: usize,
    pub procedures: usize,
    /// The worst confirmed state of its checks; `null` without checks.
    pub worst: Option<Status>,
}

pub(super) fn summaries(state: &AppState) -> Vec<RunbookSummary> {
    let snapshot = state.scheduler.snapshot();
    state
        .library
        .current()
        .entries
        .iter()
        .map(|entry| RunbookSummary {
            name: entry.name.clone(),
            path: entry.path.display().to_string(),
            title: entry.title.clone(),
            checks: entry.runbook.checks.len(),
            procedures: entry.runbook.procedure_indices().count(),
            worst: worst(&snapshot, &entry.name),
        })
        .collect()
}

/// The state a runbook's heading shows: its most severe check. A critical
/// check outranks one that is unknown (could not be judged), unlike in the
/// exit codes, where unknown is 3: a person must see what is known broken.
pub(super) fn worst(snapshot: &[Arc<CheckState>], runbook: &str) -> Option<Status> {
    let severity = |status: &Status| match status {
        Status::Ok => 0,
        Status::Warning => 1,
        Status::Unknown => 2,
        Status::Critical => 3,
    };
    snapshot.iter().filter(|state| state.key.runbook == runbook).map(|state| state.state).max_by_key(severity)
}

pub(super) async fn runbooks(_: Require<at_least::Viewer>, State(state): State<AppState>) -> Json<Vec<RunbookSummary>> {
    Json(summaries(&state))
}

/// A procedure as the API and the runbook page list it.
#[derive(Debug, Serialize)]
pub(super) struct Procedure {
    pub id: String,
    pub title: String,
    /// Its most dangerous step: `read`, `write` or `destructive`.
    pub safety: &'static str,
    pub steps: usize,
}

pub(super) fn procedures(entry: &Entry) -> Vec<Procedure> {
    let runbook = &entry.runbook;
    runbook
        .procedure_indices()
        .map(|index| {
            let section = &runbook.sections[index];
            Procedure {
                id: section.id.clone(),
                title: section.title.clone(),
                safety: runbook.safety(index).as_str(),
                steps: section.all_steps.len(),
            }
        })
        .collect()
}

pub(super) async fn runbook(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let catalog = state.library.current();
    let entry = catalog.entry(&name).ok_or_else(|| ApiError::UnknownRunbook(name.clone()))?;
    let snapshot = state.scheduler.snapshot();
    let checks: Vec<CheckView> =
        snapshot.iter().filter(|check| check.key.runbook == name).map(|check| CheckView::of(check)).collect();
    let environments: Vec<&str> =
        entry.runbook.front_matter.environments.iter().map(|environment| environment.name.as_str()).collect();
    Ok(Json(serde_json::json!({
        "name": entry.name,
        "path": entry.path.display().to_string(),
        "title": entry.title,
        "environments": environments,
        "procedures": procedures(entry),
        "checks": checks,
    })))
}

/// A check's state without its history: what the matrix shows.
#[derive(Debug, Serialize)]
pub(super) struct CheckView<'a> {
    pub runbook: &'a str,
    pub check: &'a str,
    pub layer: Option<&'a str>,
    pub target: &'a str,
    pub state: Status,
    pub since: Option<Timestamp>,
    pub last: Option<&'a Sample>,
    pub streak: u32,
}

impl<'a> CheckView<'a> {
    pub fn of(check: &'a CheckState) -> CheckView<'a> {
        CheckView {
            runbook: &check.key.runbook,
            check: &check.key.check,
            layer: check.layer.as_deref(),
            target: &check.target,
            state: check.state,
            since: check.since,
            last: check.last.as_ref(),
            streak: check.streak,
        }
    }
}

pub(super) async fn checks(_: Require<at_least::Viewer>, State(state): State<AppState>) -> Response {
    match checks_body(&state) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(error) => ApiError::Internal(format!("cannot write the checks as JSON: {error}")).into_response(),
    }
}

/// The kept body while the states are those it shows, else a new one.
fn checks_body(state: &AppState) -> Result<Bytes, serde_json::Error> {
    // Read before the snapshot: a body is never older than the generation it is kept under.
    let generation = state.scheduler.generation();
    let mut kept = state.checks_body.0.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((of, body)) = kept.as_ref()
        && *of == generation
    {
        return Ok(body.clone());
    }
    let snapshot = state.scheduler.snapshot();
    let views: Vec<CheckView<'_>> = snapshot.iter().map(|check| CheckView::of(check)).collect();
    let body = Bytes::from(serde_json::to_vec(&views)?);
    *kept = Some((generation, body.clone()));
    Ok(body)
}

pub(super) async fn check(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Path((runbook, check)): Path<(String, String)>,
) -> Result<Json<Arc<CheckState>>, ApiError> {
    let key = CheckKey::new(runbook, check);
    state.scheduler.state(&key).map(Json).ok_or(ApiError::UnknownCheck { runbook: key.runbook, check: key.check })
}

pub(super) async fn check_now(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    Path((runbook, check)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.access.permits(&caller, &Action::CheckNow).map_err(AuthError::from)?;
    let key = CheckKey::new(runbook, check);
    tracing::info!(caller = %caller.name, runbook = %key.runbook, check = %key.check, "check run now");
    match state.scheduler.check_now(&key).await {
        Some(outcome) => Ok(Json(outcome).into_response()),
        None => Err(ApiError::UnknownCheck { runbook: key.runbook, check: key.check }),
    }
}

/// A run as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct RunView {
    pub id: RunId,
    pub runbook: String,
    pub procedure: String,
    pub environment: Option<String>,
    pub operator: String,
    pub host: String,
    pub status: journal::Status,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub resumed_from: Option<RunId>,
    /// Whether this server runs it (it can be answered and aborted here).
    pub live: bool,
    /// The question it waits on.
    pub question: Option<Asked>,
}

impl RunView {
    pub fn of(run: journal::Run, state: &AppState) -> RunView {
        let live = state.runs.live(run.id);
        RunView {
            id: run.id,
            runbook: run.info.runbook,
            procedure: run.info.procedure,
            environment: run.info.environment,
            operator: run.info.operator,
            host: run.info.host,
            status: run.status,
            started_at: run.info.started_at,
            finished_at: run.finished_at,
            resumed_from: run.info.resumed_from,
            question: live.as_ref().and_then(|live| live.question()),
            live: live.is_some(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunsQuery {
    limit: Option<u32>,
    status: Option<String>,
}

pub(super) async fn runs(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Query(query): Query<RunsQuery>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let status = match query.status.as_deref() {
        Some(text) => Some(text.parse::<journal::Status>().map_err(ApiError::BadRequest)?),
        None => None,
    };
    let filter = RunFilter { status, limit: Some(query.limit.unwrap_or(100).min(1000)) };
    let list = state.journal(move |runs| runs.list(&filter)).await?;
    Ok(Json(list.into_iter().map(|run| RunView::of(run, &state)).collect()))
}

pub(super) async fn run(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
) -> Result<Json<RunView>, ApiError> {
    let run = state.journal(move |runs| runs.run(id)).await?;
    Ok(Json(RunView::of(run, &state)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    /// Only events after this sequence number (the first is 0).
    after: Option<u64>,
}

pub(super) async fn events(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let (_, records) = state.journal(move |runs| runs.events_after(id, query.after)).await?;
    Ok(Json(records.iter().map(event_json).collect()))
}

pub(super) async fn report(
    _: Require<at_least::Viewer>,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
) -> Result<Response, ApiError> {
    let text = state.journal(move |runs| runs.report(id)).await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text).into_response())
}

/// `POST /api/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StartBody {
    /// The front matter's `runbook` name, else the file's stem.
    pub runbook: String,
    /// The procedure's section id.
    pub procedure: String,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Alternatives to take, by label (`A`) or section id.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub dry_run: bool,
}

pub(super) async fn start(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    body: Result<Json<StartBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let id = start_run(&state, &caller, body).await?;
    let location = format!("/api/runs/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location.clone())],
        Json(serde_json::json!({ "id": id, "url": location, "page": format!("/runs/{id}") })),
    )
        .into_response())
}

/// Starts `body` for `caller` if the policy lets them: a dry run needs only
/// what a read-only run needs, since it runs nothing that writes.
pub(super) async fn start_run(state: &AppState, caller: &Caller, mut body: StartBody) -> Result<RunId, ApiError> {
    body.env = state.runs.environment(body.env.take());
    let catalog = state.library.current();
    let entry = catalog.entry(&body.runbook).ok_or_else(|| ApiError::UnknownRunbook(body.runbook.clone()))?;
    if let Some(env) = &body.env
        && !entry.runbook.front_matter.environments.iter().any(|e| &e.name == env)
    {
        let known: Vec<String> =
            entry.runbook.front_matter.environments.iter().map(|e| format!("`{}`", e.name)).collect();
        return Err(ApiError::BadRequest(format!(
            "runbook `{}` has no environment `{env}`{}",
            entry.name,
            if known.is_empty() { String::new() } else { format!("; it has {}", known.join(", ")) }
        )));
    }
    let runbook = &entry.runbook;
    let safety = runbook
        .procedure_indices()
        .find(|&i| runbook.sections[i].id == body.procedure)
        .map_or(Safety::Read, |index| runbook.safety(index));
    let safety = if body.dry_run { Safety::Read } else { safety };
    state
        .access
        .permits(caller, &Action::StartRun { environment: body.env.clone(), safety })
        .map_err(AuthError::from)?;
    let runnable =
        Runnable { runbook: Arc::clone(&entry.runbook), path: entry.path.clone(), source: Arc::clone(&entry.source) };
    let request = StartRequest {
        procedure: body.procedure,
        env: body.env,
        values: body.values,
        options: body.options,
        dry_run: body.dry_run,
        by: caller.name.clone(),
        allow: None,
        trigger: None,
    };
    let runs = Arc::clone(&state.runs);
    let (runbook, procedure) = (entry.name.clone(), request.procedure.clone());
    let id = blocking(move || runs.start(&runnable, request).map_err(ApiError::from)).await?;
    tracing::info!(run = id, caller = %caller.name, %runbook, %procedure, "run started");
    Ok(id)
}

pub(super) async fn answer(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
    body: Result<Json<Reply>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(reply) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    answer_with(&state, &caller, id, &reply, None)
}

/// `acknowledge` is `answer` for a manual step: it refuses to answer
/// anything else, so a script cannot confirm a step by mistake.
pub(super) async fn acknowledge(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
    body: Result<Json<Reply>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut reply) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    reply.accepted = true;
    answer_with(&state, &caller, id, &reply, Some("acknowledge"))
}

fn answer_with(
    state: &AppState,
    caller: &Caller,
    id: RunId,
    reply: &Reply,
    only: Option<&str>,
) -> Result<Response, ApiError> {
    let live = state.runs.live(id).ok_or(crate::serve::runs::AnswerError::NotLive { run: id })?;
    let action = Action::Answer { environment: live.environment.clone(), safety: live.safety };
    state.access.permits(caller, &action).map_err(AuthError::from)?;
    if let (Some(kind), Some(asked)) = (only, live.question())
        && asked.kind != kind
    {
        return Err(ApiError::BadRequest(format!(
            "run {id} asks a `{}` question, not `{kind}`: answer it with `POST /api/runs/{id}/answer`",
            asked.kind
        )));
    }
    live.answer(reply, &caller.name)?;
    tracing::info!(run = id, caller = %caller.name, question = reply.question, accepted = reply.accepted, "run question answered");
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn abort(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
) -> Result<Response, ApiError> {
    state.access.permits(&caller, &Action::Abort).map_err(AuthError::from)?;
    let live = state.runs.live(id).ok_or(crate::serve::runs::AnswerError::NotLive { run: id })?;
    let by = caller.name.clone();
    blocking(move || {
        live.abort(&by);
        Ok(())
    })
    .await?;
    tracing::info!(run = id, caller = %caller.name, "run abort requested");
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /hooks/alertmanager`: Alertmanager's webhook, authenticated like
/// the API; the sender needs `operator`, as what it starts runs here.
pub(super) async fn alertmanager(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.access.permits(&caller, &Action::Trigger).map_err(AuthError::from)?;
    let Some(hook) = state.alerts.clone() else {
        return Err(ApiError::NotFound("alert triggers are not set up on this server".to_owned()));
    };
    let by = caller.name.clone();
    let answer = blocking(move || hook.receive(&body, &by).map_err(ApiError::BadRequest)).await?;
    Ok(Json(answer).into_response())
}

/// `GET /api/alerts`: the alerts received lately, newest first, and what
/// each started.
pub(super) async fn alerts(_: Require<at_least::Viewer>, State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.alerts.as_ref().map_or_else(|| serde_json::json!([]), |hook| hook.history()))
}
