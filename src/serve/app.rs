//! The axum app of `runwell serve`: health and readiness probes, the JSON
//! API, Prometheus metrics and the server-rendered overview page.
//!
//! [`router`] takes an [`AppState`] and returns a `Router` that tests drive
//! with `oneshot`, no socket needed; the `serve` subcommand binds it. Serve
//! it with `into_make_service_with_connect_info::<SocketAddr>()`: without
//! tokens, only loopback peers get in, and the peer comes from `ConnectInfo`.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /healthz` | anyone | `ok` while the process serves |
//! | `GET /readyz` | anyone | 200 when the journal opens and runbooks are loaded, else 503 and why |
//! | `GET /metrics` | anyone | Prometheus text: check states and latencies, scheduler lag and runs |
//! | `GET /` | viewer | the overview page: every runbook's checks and their states; the login form without a credential |
//! | `GET /api/runbooks` | viewer | the loaded runbooks, their checks and worst state |
//! | `GET /api/checks` | viewer | every check's state, as the scheduler holds it |
//! | `POST /api/checks/{runbook}/{check}/run` | operator | runs a check now and returns its outcome |
//!
//! `/metrics` needs no credential, as scrapers rarely carry one: it says
//! only what the targets' states are, never a target or a reason. Secrets
//! never reach a response: the scheduler's states carry masked targets.

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::auth::{self, Access, Action, AuthError, Authenticated, Csrf, CsrfToken, Require, Via, at_least};
use super::scheduler::{CheckKey, CheckState, Scheduler};
use crate::check::Status;

/// A runbook the server loaded, as the API and the overview list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub name: String,
    pub path: PathBuf,
    pub title: Option<String>,
    /// Its checks' names, in the order the runbook defines them.
    pub checks: Vec<String>,
}

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub access: Access,
    pub scheduler: Arc<Scheduler>,
    pub runbooks: Arc<[Loaded]>,
    /// The journal's file, which `/readyz` opens.
    pub journal: PathBuf,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("runbooks", &self.runbooks.len())
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for Access {
    fn from_ref(state: &AppState) -> Access {
        state.access.clone()
    }
}

/// Every route of the server, `/login` and `/logout` included.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/runbooks", get(runbooks))
        .route("/api/checks", get(checks))
        .route("/api/checks/{runbook}/{check}/run", post(check_now))
        .merge(auth::routes())
        .with_state(state)
}

/// Why a request failed, as JSON `{"error": "..."}` with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no check `{check}` in runbook `{runbook}`: `GET /api/checks` lists them")]
    UnknownCheck { runbook: String, check: String },
    #[error("cannot render the overview page: {0}")]
    Render(#[from] minijinja::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::Auth(error) => return error.into_response(),
            ApiError::UnknownCheck { .. } => StatusCode::NOT_FOUND,
            ApiError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.runbooks.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: no runbooks are loaded\n").into_response();
    }
    let path = state.journal.clone();
    let opened = tokio::task::spawn_blocking(move || crate::journal::SqliteStore::open(&path).map(drop)).await;
    match opened {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(error)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: the journal: {error}\n")).into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: opening the journal failed: {error}\n"))
            .into_response(),
    }
}

/// A runbook in `GET /api/runbooks`.
#[derive(Debug, Serialize)]
struct RunbookSummary<'a> {
    name: &'a str,
    path: &'a std::path::Path,
    title: Option<&'a str>,
    checks: usize,
    /// The worst confirmed state of its checks; `null` without checks.
    worst: Option<Status>,
}

async fn runbooks(_: Require<at_least::Viewer>, State(state): State<AppState>) -> Response {
    let snapshot = state.scheduler.snapshot();
    let list: Vec<RunbookSummary<'_>> = state
        .runbooks
        .iter()
        .map(|runbook| RunbookSummary {
            name: &runbook.name,
            path: &runbook.path,
            title: runbook.title.as_deref(),
            checks: runbook.checks.len(),
            worst: worst(&snapshot, &runbook.name),
        })
        .collect();
    Json(list).into_response()
}

fn worst(snapshot: &[Arc<CheckState>], runbook: &str) -> Option<Status> {
    snapshot.iter().filter(|state| state.key.runbook == runbook).map(|state| state.state).max()
}

async fn checks(_: Require<at_least::Viewer>, State(state): State<AppState>) -> Json<Vec<Arc<CheckState>>> {
    Json(state.scheduler.snapshot())
}

async fn check_now(
    Authenticated(caller): Authenticated,
    State(state): State<AppState>,
    Path((runbook, check)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.access.permits(&caller, &Action::CheckNow).map_err(AuthError::from)?;
    let key = CheckKey::new(runbook, check);
    match state.scheduler.check_now(&key).await {
        Some(outcome) => Ok(Json(outcome).into_response()),
        None => Err(ApiError::UnknownCheck { runbook: key.runbook, check: key.check }),
    }
}

/// Prometheus text exposition, format 0.0.4.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    let snapshot = state.scheduler.snapshot();
    text.push_str("# HELP runwell_check_state The confirmed state: 0 ok, 1 warning, 2 critical, 3 unknown.\n");
    text.push_str("# TYPE runwell_check_state gauge\n");
    for check in &snapshot {
        let _ = writeln!(text, "runwell_check_state{{{}}} {}", labels(&check.key), check.state.code());
    }
    text.push_str("# HELP runwell_check_latency_seconds The latency of the check's last run.\n");
    text.push_str("# TYPE runwell_check_latency_seconds gauge\n");
    for check in &snapshot {
        if let Some(last) = &check.last {
            let _ =
                writeln!(text, "runwell_check_latency_seconds{{{}}} {}", labels(&check.key), last.latency_ms / 1000.0);
        }
    }
    let runs_and_lag = state.scheduler.stats();
    text.push_str("# HELP runwell_scheduler_lag_seconds How late runs start after they were due.\n");
    text.push_str("# TYPE runwell_scheduler_lag_seconds summary\n");
    let _ = writeln!(text, "runwell_scheduler_lag_seconds{{quantile=\"0.5\"}} {}", runs_and_lag.lag.p50.as_secs_f64());
    let _ = writeln!(text, "runwell_scheduler_lag_seconds{{quantile=\"0.99\"}} {}", runs_and_lag.lag.p99.as_secs_f64());
    text.push_str("# HELP runwell_scheduler_runs_total Check runs started, scheduled and manual.\n");
    text.push_str("# TYPE runwell_scheduler_runs_total counter\n");
    let _ = writeln!(text, "runwell_scheduler_runs_total {}", runs_and_lag.runs + runs_and_lag.manual_runs);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

fn labels(key: &CheckKey) -> String {
    format!("runbook=\"{}\",check=\"{}\"", escape_label(&key.runbook), escape_label(&key.check))
}

/// A label value as the exposition format writes it.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The overview template, compiled once. Its `.html` name turns on
/// minijinja's HTML escaping: runbook text never becomes markup.
static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut environment = minijinja::Environment::new();
    environment
        .add_template("overview.html", include_str!("templates/overview.html"))
        .expect("the embedded overview template is valid (a unit test renders it)");
    environment
});

/// A check's row on the overview.
#[derive(Debug, Serialize)]
struct Row<'a> {
    name: &'a str,
    layer: Option<&'a str>,
    target: &'a str,
    state: &'static str,
    reason: &'a str,
    latency_ms: Option<f64>,
}

/// The overview for a known caller; for a browser without a session, 401
/// and the login form (runwell has no passwords: the caller pastes a token).
async fn overview(
    caller: Option<Authenticated>,
    Csrf(csrf): Csrf,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let template = TEMPLATES.get_template("overview.html")?;
    let Some(Authenticated(caller)) = caller else {
        let page = template.render(crate::check::expect::to_value(&serde_json::json!({ "login": true })))?;
        return Ok((StatusCode::UNAUTHORIZED, Html(page)).into_response());
    };
    let snapshot = state.scheduler.snapshot();
    let runbooks: Vec<serde_json::Value> = state
        .runbooks
        .iter()
        .map(|runbook| {
            let rows: Vec<Row<'_>> = snapshot
                .iter()
                .filter(|check| check.key.runbook == runbook.name)
                .map(|check| Row {
                    name: &check.key.check,
                    layer: check.layer.as_deref(),
                    target: &check.target,
                    state: check.state.as_str(),
                    reason: check.last.as_ref().map_or("", |last| last.reason.as_str()),
                    latency_ms: check.last.as_ref().map(|last| last.latency_ms),
                })
                .collect();
            serde_json::json!({
                "name": runbook.name,
                "title": runbook.title,
                "path": runbook.path.display().to_string(),
                "worst": worst(&snapshot, &runbook.name).map(Status::as_str),
                "checks": rows,
            })
        })
        .collect();
    let context = serde_json::json!({
        "runbooks": runbooks,
        "caller": caller.name,
        "role": caller.role.as_str(),
        // Only a session can log out; its forms carry the CSRF token.
        "csrf": csrf.as_ref().filter(|_| caller.via == Via::Session).map(CsrfToken::expose),
    });
    let page = template.render(crate::check::expect::to_value(&context))?;
    Ok(Html(page).into_response())
}
