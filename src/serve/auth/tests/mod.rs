//! Access control as the server will use it: a real axum `Router` with the
//! extractors in an app state of its own, driven with `oneshot` (no socket:
//! nothing here needs one). Tokens, session ids and CSRF tokens are checked
//! to stay out of every `Debug` and every error body.
//!
//! `mod.rs` holds the app and its helpers; the tests are grouped by how the
//! caller proves who they are.

mod bearer;
mod local;
mod secrets;
mod sessions;

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::runbook::Safety;
use crate::serve::config::{Config, LimitConfig};

const VIEWER: &str = "vera-token-Zk3mQ9zLx7vT3nB8fK2";
const OPERATOR: &str = "otto-token-Pq7rS2tUv4wX6yZ8aB0";
const ADMIN: &str = "ada-token-Cd1eF3gH5iJ7kL9mN0p";

fn sha256_hex(token: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(token.as_bytes()).iter().fold(String::new(), |mut hex, byte| {
        use std::fmt::Write as _;
        write!(hex, "{byte:02x}").unwrap();
        hex
    })
}

/// Three callers; `prod` keeps writes for admins, `staging` lets operators
/// run destructive procedures, every other environment has the defaults.
fn config(extra: &str) -> Config {
    use std::fmt::Write as _;
    let mut text = String::from(extra);
    for (name, role, token) in [("vera", "viewer", VIEWER), ("otto", "operator", OPERATOR), ("ada", "admin", ADMIN)] {
        let sha256 = sha256_hex(token);
        writeln!(text, "\n[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{sha256}\"").unwrap();
    }
    text.push_str("\n[[limits]]\nenvironment = \"prod\"\nwrite = \"admin\"\n");
    text.push_str("\n[[limits]]\nenvironment = \"staging\"\ndestructive = \"operator\"\n");
    Config::from_str(&text, Path::new("runwell.toml")).expect("a valid configuration")
}

/// The server's own state, holding `Access` among other things.
#[derive(Clone)]
struct AppState {
    access: Access,
}

impl FromRef<AppState> for Access {
    fn from_ref(state: &AppState) -> Access {
        state.access.clone()
    }
}

#[derive(serde::Deserialize)]
struct RunRequest {
    environment: Option<String>,
    safety: String,
}

fn safety(name: &str) -> Safety {
    match name {
        "read" => Safety::Read,
        "write" => Safety::Write,
        _ => Safety::Destructive,
    }
}

async fn status(Authenticated(caller): Authenticated) -> Json<Caller> {
    Json(caller)
}

async fn start_run(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Json(request): Json<RunRequest>,
) -> Result<Json<Value>, AuthError> {
    let action = Action::StartRun { environment: request.environment, safety: safety(&request.safety) };
    state.access.permits(&caller, &action)?;
    Ok(Json(json!({ "started_by": caller.name })))
}

#[derive(serde::Deserialize)]
struct RunForm {
    procedure: String,
}

async fn start_from_form(AuthenticatedForm(caller, form): AuthenticatedForm<RunForm>) -> Json<Value> {
    Json(json!({ "started_by": caller.name, "procedure": form.procedure }))
}

async fn reload(admin: Require<at_least::Admin>) -> Json<Value> {
    Json(json!({ "reloaded_by": admin.caller.name }))
}

/// A dashboard page: who is there, and the CSRF token for its forms.
async fn page(caller: Option<Authenticated>, Csrf(csrf): Csrf) -> Json<Value> {
    Json(json!({
        "caller": caller.map(|Authenticated(caller)| caller.name),
        "csrf": csrf.as_ref().map(CsrfToken::expose),
    }))
}

fn app(access: &Access) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/runs", post(start_run))
        .route("/runs/form", post(start_from_form))
        .route("/api/reload", post(reload))
        .route("/page", get(page))
        .merge(routes())
        .with_state(AppState { access: access.clone() })
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("a JSON body, not {:?}", self.body))
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).map_or("", |value| value.to_str().unwrap())
    }
}

async fn send(access: &Access, request: Request<Body>) -> Answer {
    let response = app(access).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

fn build(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path).header(header::HOST, "runwell.test")
}

fn run_request() -> axum::http::request::Builder {
    build(Method::POST, "/api/runs").header(header::CONTENT_TYPE, "application/json")
}

fn run_body(environment: Option<&str>, safety: &str) -> Body {
    Body::from(json!({ "environment": environment, "safety": safety }).to_string())
}

async fn start_as(access: &Access, token: &str, environment: Option<&str>, safety: &str) -> Answer {
    let request = run_request()
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(run_body(environment, safety))
        .unwrap();
    send(access, request).await
}

/// Logs in with `token`; the cookie to send back and the session's CSRF token.
async fn log_in(access: &Access, token: &str) -> (String, String) {
    let request = build(Method::POST, "/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .unwrap();
    let answer = send(access, request).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let cookie = answer.header(header::SET_COOKIE).split(';').next().unwrap().to_string();
    let page = send(access, request_with_cookie(Method::GET, "/page", &cookie).body(Body::empty()).unwrap()).await;
    let csrf = page.json()["csrf"].as_str().expect("a session has a CSRF token").to_string();
    (cookie, csrf)
}

fn request_with_cookie(method: Method, path: &str, cookie: &str) -> axum::http::request::Builder {
    build(method, path).header(header::COOKIE, cookie)
}
fn login_request() -> axum::http::request::Builder {
    build(Method::POST, "/login").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}
