//! The dashboard's server-rendered pages and their two assets. Pages are
//! minijinja templates compiled into the binary; their `.html` names turn
//! on HTML escaping, so runbook and journal text never becomes markup.
//! What changes while a page is open comes over the streams in `live.rs`,
//! read by `assets/app.js`.

use std::sync::LazyLock;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::api::{RunView, procedures, summaries};
use super::{ApiError, AppState};
use crate::journal::{RunFilter, RunId};
use crate::serve::auth::{Action, Authenticated, Caller, Csrf, CsrfToken, Via};

pub(super) static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut environment = minijinja::Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("overview.html", include_str!("../templates/overview.html")),
        ("runbook.html", include_str!("../templates/runbook.html")),
        ("runs.html", include_str!("../templates/runs.html")),
        ("run.html", include_str!("../templates/run.html")),
        ("report.html", include_str!("../templates/report.html")),
    ] {
        environment.add_template(name, text).expect("the embedded templates are valid (unit tests render each)");
    }
    environment
});

/// What every page's frame shows: who is signed in, the CSRF token its
/// scripts send, and runbooks that did not load cleanly.
#[derive(Debug, Serialize)]
struct Frame<'a> {
    caller: &'a str,
    role: &'static str,
    csrf: Option<&'a str>,
    problems: Vec<serde_json::Value>,
}

fn frame<'a>(state: &AppState, visitor: &'a Visitor) -> Frame<'a> {
    let Visitor { caller, csrf } = visitor;
    let problems = state
        .library
        .current()
        .problems
        .iter()
        .map(|problem| {
            serde_json::json!({
                "path": problem.path.display().to_string(),
                "message": problem.message,
                "kept_previous": problem.kept_previous,
            })
        })
        .collect();
    Frame {
        caller: &caller.name,
        role: caller.role.as_str(),
        // Only a session needs it: bearer and local callers carry no cookie to forge.
        csrf: csrf.as_ref().filter(|_| caller.via == Via::Session).map(CsrfToken::expose),
        problems,
    }
}

/// The signed-in caller of a dashboard page and the CSRF token its scripts
/// send. A browser without a credential is answered with the login form
/// (401), which brings it back to the page it asked for.
pub(super) struct Visitor {
    caller: Caller,
    csrf: Option<CsrfToken>,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Csrf(csrf) = match Csrf::from_request_parts(parts, state).await {
            Ok(csrf) => csrf,
            Err(never) => match never {},
        };
        match <Authenticated as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(Some(Authenticated(caller))) => Ok(Visitor { caller, csrf }),
            Ok(None) => Err(login(parts.uri.path()).into_response()),
            Err(error) => Err(error.into_response()),
        }
    }
}

fn render(name: &str, frame: &Frame<'_>, page: serde_json::Value) -> Result<Response, ApiError> {
    let mut context = serde_json::to_value(frame).map_err(|error| ApiError::Internal(error.to_string()))?;
    if let (serde_json::Value::Object(context), serde_json::Value::Object(page)) = (&mut context, page) {
        context.extend(page);
    }
    let html = TEMPLATES.get_template(name)?.render(crate::check::expect::to_value(&context))?;
    Ok(Html(html).into_response())
}

/// The login form, for a browser without a session: 401, and back to
/// `next` once signed in.
fn login(next: &str) -> Result<Response, ApiError> {
    let context = serde_json::json!({ "next": next });
    let html = TEMPLATES.get_template("login.html")?.render(crate::check::expect::to_value(&context))?;
    Ok((StatusCode::UNAUTHORIZED, Html(html)).into_response())
}

pub(super) async fn overview(visitor: Visitor, State(state): State<AppState>) -> Result<Response, ApiError> {
    let snapshot = state.scheduler.snapshot();
    let runbooks: Vec<serde_json::Value> = summaries(&state)
        .into_iter()
        .map(|runbook| {
            let rows: Vec<serde_json::Value> = snapshot
                .iter()
                .filter(|check| check.key.runbook == runbook.name)
                .map(|check| {
                    serde_json::json!({
                        "name": check.key.check,
                        "layer": check.layer,
                        "target": check.target,
                        "state": check.state.as_str(),
                        "reason": check.last.as_ref().map_or("", |last| last.reason.as_str()),
                        "latency_ms": check.last.as_ref().map(|last| last.latency_ms),
                    })
                })
                .collect();
            serde_json::json!({
                "name": runbook.name,
                "title": runbook.title,
                "path": runbook.path,
                "worst": runbook.worst.map(crate::check::Status::as_str),
                "checks": rows,
            })
        })
        .collect();
    render("overview.html", &frame(&state, &visitor), serde_json::json!({ "runbooks": runbooks }))
}

pub(super) async fn runbook(
    visitor: Visitor,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let catalog = state.library.current();
    let entry = catalog.entry(&name).ok_or_else(|| ApiError::UnknownRunbook(name.clone()))?;
    let snapshot = state.scheduler.snapshot();
    let checks: Vec<serde_json::Value> = snapshot
        .iter()
        .filter(|check| check.key.runbook == name)
        .map(|check| serde_json::json!({ "name": check.key.check, "state": check.state.as_str() }))
        .collect();
    let front = &entry.runbook.front_matter;
    let vars: Vec<serde_json::Value> = front
        .vars
        .iter()
        .map(|var| serde_json::json!({ "name": var.name, "default": var.default, "description": var.description }))
        .collect();
    let page = serde_json::json!({
        "name": entry.name,
        "title": entry.title.clone().unwrap_or_else(|| entry.name.clone()),
        "path": entry.path.display().to_string(),
        "html": entry.html,
        "checks": checks,
        "procedures": procedures(entry),
        "environments": front.environments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "vars": vars,
        "may_check": state.access.permits(&visitor.caller, &Action::CheckNow).is_ok(),
    });
    render("runbook.html", &frame(&state, &visitor), page)
}

pub(super) async fn runs(visitor: Visitor, State(state): State<AppState>) -> Result<Response, ApiError> {
    let list = state.journal(move |runs| runs.list(&RunFilter { status: None, limit: Some(200) })).await?;
    let views: Vec<RunView> = list.into_iter().map(|run| RunView::of(run, &state)).collect();
    render("runs.html", &frame(&state, &visitor), serde_json::json!({ "runs": views }))
}

pub(super) async fn run(
    visitor: Visitor,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
) -> Result<Response, ApiError> {
    let run = state.journal(move |runs| runs.run(id)).await?;
    let view = RunView::of(run, &state);
    let page = serde_json::json!({
        "run": view,
        "may_abort": state.access.permits(&visitor.caller, &Action::Abort).is_ok(),
    });
    render("run.html", &frame(&state, &visitor), page)
}

pub(super) async fn report(
    visitor: Visitor,
    State(state): State<AppState>,
    Path(id): Path<RunId>,
) -> Result<Response, ApiError> {
    let text = state.journal(move |runs| runs.report(id)).await?;
    // The report is Markdown too: shown through the runbook renderer, so it
    // gets the same escaping, link rules and step figures.
    let parsed = crate::runbook::parse(std::path::Path::new("report.md"), &text);
    let html = crate::serve::render::render(&parsed.runbook, &text);
    render("report.html", &frame(&state, &visitor), serde_json::json!({ "id": id, "html": html }))
}

/// The stylesheet and the script, compiled in.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (include_str!("../assets/app.css"), "text/css; charset=utf-8"),
        "app.js" => (include_str!("../assets/app.js"), "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}
