//! The axum app of `runwell serve`: health and readiness probes, the JSON
//! API, Prometheus metrics, the live streams and the server-rendered pages.
//!
//! [`router`] takes an [`AppState`] and returns a `Router` that tests drive
//! with `oneshot`, no socket needed; the `serve` subcommand binds it. Serve
//! it with `into_make_service_with_connect_info::<SocketAddr>()`: without
//! tokens, only loopback peers get in, and the peer comes from `ConnectInfo`.
//! `docs/openapi.yaml` describes every API route; a test holds the two equal.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /healthz` | anyone | `ok` while the process serves |
//! | `GET /readyz` | anyone | 200 when the journal answers and runbooks are loaded, else 503 and why |
//! | `GET /metrics` | anyone | Prometheus text: check states and latencies, scheduler lag, runs |
//! | `GET /`, `/runbooks/{name}`, `/runs`, `/runs/{id}`, `/runs/{id}/report` | viewer | the dashboard's pages; the login form without a credential |
//! | `GET /api/runbooks`, `/api/runbooks/{name}` | viewer | the loaded runbooks, their procedures and checks |
//! | `GET /api/checks`, `/api/checks/{runbook}/{check}` | viewer | check states; one check with its history |
//! | `POST /api/checks/{runbook}/{check}/run` | operator | runs a check now |
//! | `GET /api/runs`, `/api/runs/{id}`, `/api/runs/{id}/events`, `/api/runs/{id}/report` | viewer | runs, by anyone, from the journal |
//! | `POST /api/runs` | per `[[limits]]` | starts a procedure: 202 and the run's id |
//! | `POST /api/runs/{id}/answer`, `/acknowledge` | the role that may start the run | answers the run's open question |
//! | `POST /api/runs/{id}/abort` | operator | stops a run |
//! | `GET /api/events`, `/api/runs/{id}/stream` | viewer | server-sent events: check changes and runs; one run's journal as it is written |
//! | `POST /hooks/alertmanager` | operator | Alertmanager's webhook: starts the runbooks' mapped procedures |
//! | `GET /api/alerts` | viewer | the alerts received lately and what each started |
//!
//! `/metrics` needs no credential, as scrapers rarely carry one: it says
//! only what the targets' states are, never a target or a reason. Secrets
//! never reach a response: the scheduler's states carry masked targets and
//! the journal holds masked commands and output.

mod api;
mod live;
mod pages;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use super::auth::{self, Access, AuthError};
use super::catalog::Catalog;
use super::runs::{AnswerError, Runs, StartError};
use super::scheduler::{CheckKey, Latencies, Scheduler};

/// The runbooks being served; a reload swaps in a new catalog while
/// requests in flight keep the one they started with.
#[derive(Debug, Clone, Default)]
pub struct Library(Arc<RwLock<Arc<Catalog>>>);

impl Library {
    pub fn new(catalog: Catalog) -> Library {
        Library(Arc::new(RwLock::new(Arc::new(catalog))))
    }

    pub fn current(&self) -> Arc<Catalog> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn replace(&self, catalog: Catalog) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
    }
}

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub access: Access,
    pub scheduler: Arc<Scheduler>,
    pub library: Library,
    pub runs: Arc<Runs>,
    /// Alertmanager's webhook; `None` answers 404.
    pub alerts: Option<Arc<dyn AlertHook>>,
    /// Cancelled when the server stops: live streams end with it.
    pub shutdown: CancellationToken,
    /// The last `GET /api/checks` body.
    pub checks_body: ChecksBody,
}

/// The last `GET /api/checks` body and the generation of the states it
/// shows. Serialising every state was half the server's CPU time under
/// `wrk` (docs/benchmarks.md), and states change far less often than
/// dashboards and scripts ask for them.
#[derive(Debug, Clone, Default)]
pub struct ChecksBody(
    pub(super) Arc<std::sync::Mutex<Option<(crate::serve::scheduler::Generation, axum::body::Bytes)>>>,
);

/// What receives Alertmanager's webhook: its body, and who sent it.
pub trait AlertHook: Send + Sync {
    /// Handles one delivery; the JSON answer says what was started.
    fn receive(&self, body: &[u8], by: &str) -> Result<serde_json::Value, String>;

    /// The alerts received lately and what each did, newest first.
    fn history(&self) -> serde_json::Value;
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("runs", &self.runs).finish_non_exhaustive()
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
        .route("/", get(pages::overview))
        .route("/runbooks/{name}", get(pages::runbook))
        .route("/runs", get(pages::runs))
        .route("/runs/{id}", get(pages::run))
        .route("/runs/{id}/report", get(pages::report))
        .route("/assets/{file}", get(pages::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/runbooks", get(api::runbooks))
        .route("/api/runbooks/{name}", get(api::runbook))
        .route("/api/checks", get(api::checks))
        .route("/api/checks/{runbook}/{check}", get(api::check))
        .route("/api/checks/{runbook}/{check}/run", post(api::check_now))
        .route("/api/runs", get(api::runs).post(api::start))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/runs/{id}/events", get(api::events))
        .route("/api/runs/{id}/report", get(api::report))
        .route("/api/runs/{id}/answer", post(api::answer))
        .route("/api/runs/{id}/acknowledge", post(api::acknowledge))
        .route("/api/runs/{id}/abort", post(api::abort))
        .route("/api/runs/{id}/stream", get(live::run_stream))
        .route("/api/events", get(live::events))
        .route("/hooks/alertmanager", post(api::alertmanager))
        .route("/api/alerts", get(api::alerts))
        .merge(auth::routes())
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(state)
}

/// Headers every answer carries: pages load scripts and styles from
/// runwell only, and no other site may frame them.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// Why a request failed, as JSON `{"error": "..."}` with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no check `{check}` in runbook `{runbook}`: `GET /api/checks` lists them")]
    UnknownCheck { runbook: String, check: String },
    #[error("no runbook `{0}` is loaded: `GET /api/runbooks` lists them")]
    UnknownRunbook(String),
    #[error("cannot render the page: {0}")]
    Render(#[from] minijinja::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error(transparent)]
    Journal(#[from] crate::journal::Error),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the server could not finish the request: {0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use crate::journal::Error as JournalError;
        let status = match &self {
            ApiError::Auth(_) => {
                let ApiError::Auth(error) = self else { unreachable!() };
                return error.into_response();
            }
            ApiError::UnknownCheck { .. }
            | ApiError::UnknownRunbook(_)
            | ApiError::NotFound(_)
            | ApiError::Journal(JournalError::NoSuchRun { .. })
            | ApiError::Start(StartError::UnknownProcedure { .. })
            | ApiError::Answer(AnswerError::NotLive { .. }) => StatusCode::NOT_FOUND,
            ApiError::Start(StartError::Refused(_) | StartError::Values(_))
            | ApiError::BadRequest(_)
            | ApiError::Answer(AnswerError::Mistyped { .. } | AnswerError::NoSuchChoice { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Answer(AnswerError::NothingAsked { .. } | AnswerError::Stale { .. }) => StatusCode::CONFLICT,
            ApiError::Start(StartError::Draining) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Render(_)
            | ApiError::Journal(_)
            | ApiError::Start(StartError::Journal(_))
            | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

impl AppState {
    /// Reads the journal off the async threads.
    async fn journal<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Runs) -> Result<T, crate::journal::Error> + Send + 'static,
    ) -> Result<T, ApiError> {
        let runs = Arc::clone(&self.runs);
        blocking(move || read(&runs).map_err(ApiError::from)).await
    }
}

/// Runs blocking journal work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| ApiError::Internal(error.to_string()))?
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.library.current().entries.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: no runbooks are loaded\n").into_response();
    }
    // A connection of its own: the file must still be there and readable.
    let path = state.runs.path().to_owned();
    let answered = tokio::task::spawn_blocking(move || crate::journal::SqliteStore::open(&path).map(drop)).await;
    match answered {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(error)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: the journal: {error}\n")).into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: reading the journal failed: {error}\n"))
            .into_response(),
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
    text.push_str("# HELP runwell_check_latency_seconds How long the check's runs took.\n");
    text.push_str("# TYPE runwell_check_latency_seconds histogram\n");
    for check in &snapshot {
        let labels = labels(&check.key);
        let latencies = &check.latencies;
        let mut cumulative = 0;
        for (bound, count) in Latencies::BUCKETS.iter().zip(latencies.counts) {
            cumulative += count;
            let _ = writeln!(text, "runwell_check_latency_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(text, "runwell_check_latency_seconds_bucket{{{labels},le=\"+Inf\"}} {}", latencies.count);
        let _ = writeln!(text, "runwell_check_latency_seconds_sum{{{labels}}} {}", latencies.sum_seconds);
        let _ = writeln!(text, "runwell_check_latency_seconds_count{{{labels}}} {}", latencies.count);
    }
    let scheduler = state.scheduler.stats();
    text.push_str("# HELP runwell_scheduler_lag_seconds How late runs start after they were due.\n");
    text.push_str("# TYPE runwell_scheduler_lag_seconds summary\n");
    let _ = writeln!(text, "runwell_scheduler_lag_seconds{{quantile=\"0.5\"}} {}", scheduler.lag.p50.as_secs_f64());
    let _ = writeln!(text, "runwell_scheduler_lag_seconds{{quantile=\"0.99\"}} {}", scheduler.lag.p99.as_secs_f64());
    text.push_str("# HELP runwell_scheduler_runs_total Check runs started, scheduled and manual.\n");
    text.push_str("# TYPE runwell_scheduler_runs_total counter\n");
    let _ = writeln!(text, "runwell_scheduler_runs_total {}", scheduler.runs + scheduler.manual_runs);
    let tally = state.runs.tally();
    text.push_str("# HELP runwell_runs_started_total Procedure runs this server started.\n");
    text.push_str("# TYPE runwell_runs_started_total counter\n");
    let _ = writeln!(text, "runwell_runs_started_total {}", tally.started);
    text.push_str("# HELP runwell_runs_running Procedure runs of this server still running.\n");
    text.push_str("# TYPE runwell_runs_running gauge\n");
    let _ = writeln!(text, "runwell_runs_running {}", tally.running);
    text.push_str("# HELP runwell_runs_finished_total Procedure runs this server started that ended, by status.\n");
    text.push_str("# TYPE runwell_runs_finished_total counter\n");
    for (status, count) in tally.finished {
        let _ = writeln!(text, "runwell_runs_finished_total{{status=\"{status}\"}} {count}");
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

fn labels(key: &CheckKey) -> String {
    format!("runbook=\"{}\",check=\"{}\"", escape_label(&key.runbook), escape_label(&key.check))
}

/// A label value as the exposition format writes it.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
