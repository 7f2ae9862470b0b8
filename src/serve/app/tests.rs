//! The router as the server runs it, driven with `oneshot`: a scheduler
//! with one `tcp` check against a listener of the test's own.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use super::{AppState, Loaded, router};
use crate::check::{self, Options};
use crate::serve::auth::Access;
use crate::serve::config::Config;
use crate::serve::scheduler::{Scheduled, Scheduler, Settings};
use crate::template::Values;

const VIEWER: &str = "vera-token-Zk3mQ9zLx7vT3nB8fK2";
const OPERATOR: &str = "otto-token-Pq7rS2tUv4wX6yZ8aB0";

struct Fixture {
    state: AppState,
    _listener: TcpListener,
    _dir: tempfile::TempDir,
}

fn config(tokens: bool) -> Config {
    let mut text = String::from("database = \"journal.db\"\n");
    if tokens {
        for (name, role, token) in [("vera", "viewer", VIEWER), ("otto", "operator", OPERATOR)] {
            use sha2::{Digest as _, Sha256};
            use std::fmt::Write as _;
            let hex = Sha256::digest(token.as_bytes()).iter().fold(String::new(), |mut hex, byte| {
                write!(hex, "{byte:02x}").unwrap();
                hex
            });
            write!(text, "[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{hex}\"\n").unwrap();
        }
    }
    Config::from_str(&text, Path::new("runwell.toml")).expect("a valid configuration")
}

/// A runbook `demo` with one check, `up`, against a live listener.
fn fixture(tokens: bool) -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("its address").port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("demo.md");
    let text = format!(
        "---\nrunbook: demo\n---\n# Demo service\n\n```checks\n- name: up\n  layer: App\n  tcp: 127.0.0.1:{port}\n```\n"
    );
    let parsed = crate::runbook::parse(&path, &text);
    let runbook = &parsed.runbook;
    let secrets = Values::resolve(runbook, None, &[]).expect("values").with_secrets();
    let checks: Vec<Scheduled> =
        runbook.checks.iter().map(|spec| Scheduled::resolve(&runbook.name, spec, &secrets)).collect();
    let options = Options { concurrency: 4, timeout: check::DEFAULT_TIMEOUT, redactor: secrets.redactor().clone() };
    let settings = Settings { default_interval: std::time::Duration::from_secs(3600), ..Settings::default() };
    let scheduler = Scheduler::start(checks, options, settings);
    let loaded = Loaded {
        name: runbook.name.clone(),
        path: path.clone(),
        title: runbook.title.clone(),
        checks: runbook.checks.iter().map(|spec| spec.name.clone()).collect(),
    };
    let state = AppState {
        access: Access::new(&config(tokens)),
        scheduler: Arc::new(scheduler),
        runbooks: Arc::from(vec![loaded]),
        journal: dir.path().join("journal.db"),
    };
    Fixture { state, _listener: listener, _dir: dir }
}

async fn send(state: &AppState, method: Method, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).expect("a request");
    request.extensions_mut().insert(ConnectInfo("127.0.0.1:50000".parse::<SocketAddr>().expect("an address")));
    let response = router(state.clone()).oneshot(request).await.expect("the router answers");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

#[tokio::test]
async fn healthz_answers_ok() {
    let fixture = fixture(false);
    assert_eq!(send(&fixture.state, Method::GET, "/healthz", None).await, (StatusCode::OK, "ok".to_string()));
}

#[tokio::test]
async fn readyz_needs_a_journal_that_opens_and_runbooks() {
    let mut fixture = fixture(false);
    assert_eq!(send(&fixture.state, Method::GET, "/readyz", None).await.0, StatusCode::OK);

    fixture.state.journal = Path::new("/dev/null/journal.db").to_path_buf();
    let (status, body) = send(&fixture.state, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("journal"), "{body}");

    let mut fixture = self::fixture(false);
    fixture.state.runbooks = Arc::from(Vec::new());
    let (status, body) = send(&fixture.state, Method::GET, "/readyz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "not ready: no runbooks are loaded\n"));
}

#[tokio::test]
async fn checks_need_a_token_when_tokens_are_configured() {
    let fixture = fixture(true);
    assert_eq!(send(&fixture.state, Method::GET, "/api/checks", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&fixture.state, Method::GET, "/api/checks", Some("wrong")).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = send(&fixture.state, Method::GET, "/api/checks", Some(VIEWER)).await;
    assert_eq!(status, StatusCode::OK);
    let checks: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(checks[0]["key"], serde_json::json!({"runbook": "demo", "check": "up"}));
    assert_eq!(checks[0]["state"], "unknown");
}

#[tokio::test]
async fn local_callers_see_checks_without_tokens() {
    let fixture = fixture(false);
    let (status, body) = send(&fixture.state, Method::GET, "/api/runbooks", None).await;
    assert_eq!(status, StatusCode::OK);
    let runbooks: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(runbooks[0]["name"], "demo");
    assert_eq!(runbooks[0]["title"], "Demo service");
    assert_eq!(runbooks[0]["checks"], 1);
    assert_eq!(runbooks[0]["worst"], "unknown");
}

#[tokio::test]
async fn a_viewer_may_not_run_a_check_now_and_an_operator_may() {
    let fixture = fixture(true);
    let (status, body) = send(&fixture.state, Method::POST, "/api/checks/demo/up/run", Some(VIEWER)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = send(&fixture.state, Method::POST, "/api/checks/demo/up/run", Some(OPERATOR)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(outcome["status"], "ok", "{body}");

    let (status, body) = send(&fixture.state, Method::POST, "/api/checks/demo/nope/run", Some(OPERATOR)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no check `nope` in runbook `demo`"), "{body}");
}

#[tokio::test]
async fn metrics_expose_states_latency_and_the_scheduler() {
    let fixture = fixture(true);
    send(&fixture.state, Method::POST, "/api/checks/demo/up/run", Some(OPERATOR)).await;
    let (status, body) = send(&fixture.state, Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    for series in [
        "runwell_check_state{runbook=\"demo\",check=\"up\"} ",
        "runwell_check_latency_seconds{runbook=\"demo\",check=\"up\"} ",
        "runwell_scheduler_lag_seconds{quantile=\"0.5\"} ",
        "runwell_scheduler_lag_seconds{quantile=\"0.99\"} ",
        "runwell_scheduler_runs_total 1\n",
    ] {
        assert!(body.contains(series), "no `{series}` in:\n{body}");
    }
}

#[tokio::test]
async fn the_overview_lists_each_runbooks_checks_with_their_state_in_words() {
    let fixture = fixture(false);
    let (status, body) = send(&fixture.state, Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<meta name=\"viewport\""), "{body}");
    assert!(body.contains("Demo service"), "{body}");
    assert!(body.contains("<td>App · up</td>"), "{body}");
    assert!(body.contains("<span class=\"state unknown\">unknown</span>"), "{body}");
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(super::escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

#[tokio::test]
async fn the_overview_offers_the_login_form_to_a_browser_without_a_session() {
    let fixture = fixture(true);
    let (status, body) = send(&fixture.state, Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("<form method=\"post\" action=\"/login\""), "{body}");
    assert!(!body.contains("Demo service"), "{body}");

    let (status, body) = send(&fixture.state, Method::GET, "/", Some(VIEWER)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("signed in as vera (viewer)"), "{body}");
    assert!(!body.contains("/logout"), "a bearer caller has no session to end: {body}");
}

#[test]
fn the_overview_escapes_what_runbooks_say() {
    let template = super::TEMPLATES.get_template("overview.html").unwrap();
    let context = serde_json::json!({
        "runbooks": [{"name": "x", "title": "<script>alert(1)</script>", "path": "x.md", "worst": null, "checks": []}],
        "caller": "local",
        "role": "admin",
    });
    let page = template.render(crate::check::expect::to_value(&context)).unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
}
