//! The router as the server runs it, driven with `oneshot`: a scheduler
//! with one `tcp` check against a listener of the test's own.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use super::{AppState, Library, router};
use crate::check::{self, Options};
use crate::serve::auth::Access;
use crate::serve::catalog::Catalog;
use crate::serve::config::Config;
use crate::serve::runs::{Defaults, Runs};
use crate::serve::scheduler::{Scheduler, Settings};

const VIEWER: &str = "vera-token-Zk3mQ9zLx7vT3nB8fK2";
const OPERATOR: &str = "otto-token-Pq7rS2tUv4wX6yZ8aB0";
const ADMIN: &str = "ada-token-Wc5vB1nM3kL9jH7gF6d";

struct Fixture {
    state: AppState,
    _listener: TcpListener,
    dir: tempfile::TempDir,
}

fn config(tokens: bool) -> Config {
    let mut text = String::from("database = \"journal.db\"\n");
    if tokens {
        for (name, role, token) in [("vera", "viewer", VIEWER), ("otto", "operator", OPERATOR), ("ada", "admin", ADMIN)]
        {
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

/// A runbook `demo` with one check, `up`, against a live listener, and
/// procedures to run.
fn fixture(tokens: bool) -> Fixture {
    fixture_with(tokens, "", Defaults::default())
}

/// [`fixture`] with `front` added to the runbook's front matter and
/// `runwell serve --env/--set` defaults for its runs.
fn fixture_with(tokens: bool, front: &str, defaults: Defaults) -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("its address").port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("demo.md");
    let text = format!(
        "---\nrunbook: demo\n{front}---\n# Demo service\n\n```checks\n- name: up\n  layer: App\n  tcp: 127.0.0.1:{port}\n```\n\n{PROCEDURES}"
    );
    std::fs::write(&path, &text).expect("the runbook is written");
    let catalog =
        Catalog::load(std::slice::from_ref(&path), defaults.env.as_deref(), &defaults.sets).expect("the runbook loads");
    let options = Options { concurrency: 4, timeout: check::DEFAULT_TIMEOUT, redactor: catalog.redactor() };
    let settings = Settings { default_interval: std::time::Duration::from_secs(3600), ..Settings::default() };
    let scheduler = Scheduler::start(catalog.checks(), options, settings);
    let runs = Runs::open(dir.path().join("journal.db")).expect("a journal").with_defaults(defaults);
    let state = AppState {
        access: Access::new(&config(tokens)),
        scheduler: Arc::new(scheduler),
        library: Library::new(catalog),
        runs: Arc::new(runs),
        alerts: None,
        shutdown: tokio_util::sync::CancellationToken::new(),
        checks_body: super::ChecksBody::default(),
    };
    Fixture { state, _listener: listener, dir }
}

/// What the fixture's runbook can run: a read-only check-up, a restart
/// that asks first, and a wipe that is destructive.
const PROCEDURES: &str = "## Look around\n\n```sh\necho looking\n```\n\n\
## Restart\n\n```sh {confirm=\"restart it?\"}\necho restarted\n```\n\n\
## Wipe\n\n```sh\nrm -rf /nonexistent/runwell-test-wipe\n```\n\n\
## Greet\n\n```sh\necho {{ greeting }} {{ who }}\n```\n";

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
    let fixture = fixture(false);
    assert_eq!(send(&fixture.state, Method::GET, "/readyz", None).await.0, StatusCode::OK);

    // The journal's file replaced by something that is not a database.
    let journal = fixture.dir.path().join("journal.db");
    std::fs::remove_file(&journal).unwrap();
    std::fs::create_dir(&journal).unwrap();
    let (status, body) = send(&fixture.state, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("journal"), "{body}");

    let fixture = self::fixture(false);
    fixture.state.library.replace(Catalog::default());
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
    assert_eq!((&checks[0]["runbook"], &checks[0]["check"]), (&serde_json::json!("demo"), &serde_json::json!("up")));
    assert!(checks[0].get("history").is_none(), "the matrix leaves history to the check's own route: {body}");
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

/// `GET /api/checks` keeps its body between changes: a result recorded
/// since is served at once, and two servers in one process (one body is
/// kept for the process) each list their own checks, even when both have
/// made as many changes.
#[tokio::test]
async fn the_check_list_shows_each_new_result_and_only_its_own_servers_checks() {
    let (fixture, other) = (fixture(false), fixture(false));
    let listed = |body: &str| {
        let checks: serde_json::Value = serde_json::from_str(body).expect("JSON");
        let field = |name: &str| checks[0][name].as_str().expect("a string field").to_owned();
        (field("target"), field("state"))
    };
    let target = |fixture: &Fixture| fixture.state.scheduler.snapshot()[0].target.clone();
    let (status, body) = send(&fixture.state, Method::GET, "/api/checks", None).await;
    assert_eq!((status, listed(&body)), (StatusCode::OK, (target(&fixture), "unknown".to_owned())));
    let (_, body) = send(&other.state, Method::GET, "/api/checks", None).await;
    assert_eq!(listed(&body), (target(&other), "unknown".to_owned()), "the other server's own check");

    let (status, ran) = send(&fixture.state, Method::POST, "/api/checks/demo/up/run", None).await;
    assert_eq!(status, StatusCode::OK, "{ran}");
    let (_, body) = send(&fixture.state, Method::GET, "/api/checks", None).await;
    assert_eq!(listed(&body), (target(&fixture), "ok".to_owned()), "the new result");
    let (_, body) = send(&other.state, Method::GET, "/api/checks", None).await;
    assert_eq!(listed(&body), (target(&other), "unknown".to_owned()), "the other server's check has not run");
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
        "runwell_check_latency_seconds_bucket{runbook=\"demo\",check=\"up\",le=\"+Inf\"} 1\n",
        "runwell_check_latency_seconds_count{runbook=\"demo\",check=\"up\"} 1\n",
        "runwell_runs_started_total 0\n",
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
    assert!(body.contains("<span class=\"state unknown\" data-field=\"state\">unknown</span>"), "{body}");
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
    let template = super::pages::TEMPLATES.get_template("overview.html").unwrap();
    let context = serde_json::json!({
        "runbooks": [{"name": "x", "title": "<script>alert(1)</script>", "path": "x.md", "worst": null, "checks": []}],
        "caller": "local",
        "role": "admin",
    });
    let page = template.render(crate::check::expect::to_value(&context)).unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
}

async fn send_json(
    state: &AppState,
    uri: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::builder().method(Method::POST).uri(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let mut request = request.body(Body::from(body.to_string())).expect("a request");
    request.extensions_mut().insert(ConnectInfo("127.0.0.1:50000".parse::<SocketAddr>().expect("an address")));
    let response = router(state.clone()).oneshot(request).await.expect("the router answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// Waits, on the run's own change signal, until `ready` holds for its API
/// view; the timeout only guards against a hang.
async fn until(state: &AppState, id: i64, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let wait = async {
        loop {
            let changes = state.runs.live(id).map(|live| live.changes());
            let (status, body) = send(state, Method::GET, &format!("/api/runs/{id}"), Some(VIEWER)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let view: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            if ready(&view) {
                return view;
            }
            match changes {
                Some(mut changes) => {
                    let _ = changes.changed().await;
                }
                None => panic!("run {id} ended without reaching the state waited for: {view}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), wait).await.expect("the run got there")
}

fn ended(view: &serde_json::Value) -> bool {
    view["status"] != "running"
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_a_run_needs_a_token_and_the_role_its_environment_asks() {
    let fixture = fixture(true);
    let state = &fixture.state;
    let body = serde_json::json!({"runbook": "demo", "procedure": "look-around"});
    assert_eq!(send_json(state, "/api/runs", None, &body).await.0, StatusCode::UNAUTHORIZED);
    let (status, answer) = send_json(state, "/api/runs", Some(VIEWER), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

    // Destructive procedures need admin by default; a dry run of one only reads.
    let wipe = serde_json::json!({"runbook": "demo", "procedure": "wipe"});
    let (status, answer) = send_json(state, "/api/runs", Some(OPERATOR), &wipe).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("destructive"), "{answer}");
    let dry = serde_json::json!({"runbook": "demo", "procedure": "wipe", "dry_run": true});
    let (status, answer) = send_json(state, "/api/runs", Some(OPERATOR), &dry).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let view = until(state, answer["id"].as_i64().unwrap(), ended).await;
    assert_eq!(view["status"], "succeeded", "{view}");

    let (status, answer) = send_json(state, "/api/runs", Some(OPERATOR), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["id"].as_i64().expect("a run id");
    assert_eq!(answer["url"], format!("/api/runs/{id}"));
    let view = until(state, id, ended).await;
    assert_eq!((view["status"].as_str(), view["operator"].as_str()), (Some("succeeded"), Some("otto")), "{view}");

    // Its output is in the journal the CLI reads.
    let (status, events) = send(state, Method::GET, &format!("/api/runs/{id}/events"), Some(VIEWER)).await;
    assert_eq!(status, StatusCode::OK);
    let events: serde_json::Value = serde_json::from_str(&events).unwrap();
    let output: String = events.as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(output, "looking\n");
}

/// Regression: runs started by the API or an alert used the runbook's
/// default values even when `runwell serve --env lab` checked the lab, so
/// a triggered incident run looked at production.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_without_an_environment_runs_in_the_servers() {
    let front = "vars:\n  greeting: hello\n  who: world\nenvironments:\n  lab: { greeting: lab-hello }\n";
    let defaults = Defaults { env: Some("lab".into()), sets: vec!["who=drill".into()] };
    let fixture = fixture_with(true, front, defaults);
    let state = &fixture.state;
    let output = async |body: serde_json::Value| {
        let (status, answer) = send_json(state, "/api/runs", Some(OPERATOR), &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        let id = answer["id"].as_i64().expect("a run id");
        let view = until(state, id, ended).await;
        assert_eq!(view["status"], "succeeded", "{view}");
        let (_, events) = send(state, Method::GET, &format!("/api/runs/{id}/events"), Some(VIEWER)).await;
        let events: serde_json::Value = serde_json::from_str(&events).unwrap();
        let text: String = events.as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
        (view["environment"].clone(), text)
    };
    let greet = serde_json::json!({"runbook": "demo", "procedure": "greet"});
    assert_eq!(output(greet).await, (serde_json::json!("lab"), "lab-hello drill\n".to_owned()));
    // The run's own values win over the server's `--set`.
    let greet = serde_json::json!({"runbook": "demo", "procedure": "greet", "values": {"who": "otto"}});
    assert_eq!(output(greet).await, (serde_json::json!("lab"), "lab-hello otto\n".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_cannot_start_says_why() {
    let fixture = fixture(true);
    let state = &fixture.state;
    let cases = [
        (serde_json::json!({"runbook": "nope", "procedure": "x"}), StatusCode::NOT_FOUND, "no runbook `nope`"),
        (
            serde_json::json!({"runbook": "demo", "procedure": "restrat"}),
            StatusCode::NOT_FOUND,
            "did you mean `restart`",
        ),
        (
            serde_json::json!({"runbook": "demo", "procedure": "restart", "env": "prod"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no environment `prod`",
        ),
        (
            serde_json::json!({"runbook": "demo", "procedure": "restart", "bogus": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `bogus`",
        ),
    ];
    for (body, expected, says) in cases {
        let (status, answer) = send_json(state, "/api/runs", Some(ADMIN), &body).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["error"].as_str().unwrap_or_default().contains(says), "{body}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_waits_for_someone_allowed_to_answer_it() {
    let fixture = fixture(true);
    let state = &fixture.state;
    let body = serde_json::json!({"runbook": "demo", "procedure": "restart"});
    let (status, answer) = send_json(state, "/api/runs", Some(OPERATOR), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["id"].as_i64().unwrap();
    let view = until(state, id, |view| !view["question"].is_null()).await;
    let question = &view["question"];
    assert_eq!((question["kind"].as_str(), question["prompt"].as_str()), (Some("confirm"), Some("restart it?")));
    assert_eq!(question["shown"], "echo restarted\n");
    let number = question["id"].as_u64().unwrap();

    let url = format!("/api/runs/{id}/answer");
    let yes = serde_json::json!({"question": number, "accepted": true});
    assert_eq!(send_json(state, &url, Some(VIEWER), &yes).await.0, StatusCode::FORBIDDEN);
    let outdated = serde_json::json!({"question": number + 1, "accepted": true});
    assert_eq!(send_json(state, &url, Some(OPERATOR), &outdated).await.0, StatusCode::CONFLICT);
    // `acknowledge` answers manual steps only.
    let (status, _) = send_json(state, &format!("/api/runs/{id}/acknowledge"), Some(OPERATOR), &yes).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(send_json(state, &url, Some(OPERATOR), &yes).await.0, StatusCode::NO_CONTENT);

    let view = until(state, id, ended).await;
    assert_eq!(view["status"], "succeeded", "{view}");
    let (_, events) = send(state, Method::GET, &format!("/api/runs/{id}/events"), Some(VIEWER)).await;
    let events: serde_json::Value = serde_json::from_str(&events).unwrap();
    let answered = events.as_array().unwrap().iter().find(|e| e["kind"] == "confirmation_answered").expect("answered");
    assert_eq!((answered["by"].as_str(), answered["accepted"].as_bool()), (Some("otto"), Some(true)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destructive_step_needs_its_name_typed_by_an_admin() {
    let fixture = fixture(true);
    let state = &fixture.state;
    let body = serde_json::json!({"runbook": "demo", "procedure": "wipe"});
    let (status, answer) = send_json(state, "/api/runs", Some(ADMIN), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["id"].as_i64().unwrap();
    let view = until(state, id, |view| !view["question"].is_null()).await;
    let question = &view["question"];
    assert_eq!((question["kind"].as_str(), question["expected"].as_str()), (Some("destructive"), Some("demo")));
    let number = question["id"].as_u64().unwrap();
    let url = format!("/api/runs/{id}/answer");

    // An operator may not answer in an admin-only run.
    let typed = serde_json::json!({"question": number, "accepted": true, "typed": "demo"});
    assert_eq!(send_json(state, &url, Some(OPERATOR), &typed).await.0, StatusCode::FORBIDDEN);
    // A typo is refused and the question stays open.
    let typo = serde_json::json!({"question": number, "accepted": true, "typed": "dmeo"});
    let (status, answer) = send_json(state, &url, Some(ADMIN), &typo).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"], "to confirm, type `demo` exactly");
    assert_eq!(send_json(state, &url, Some(ADMIN), &typed).await.0, StatusCode::NO_CONTENT);
    assert_eq!(until(state, id, ended).await["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aborted_run_says_who_aborted_it() {
    let fixture = fixture(true);
    let state = &fixture.state;
    let body = serde_json::json!({"runbook": "demo", "procedure": "restart"});
    let (_, answer) = send_json(state, "/api/runs", Some(OPERATOR), &body).await;
    let id = answer["id"].as_i64().unwrap();
    until(state, id, |view| !view["question"].is_null()).await;
    let url = format!("/api/runs/{id}/abort");
    assert_eq!(send_json(state, &url, Some(VIEWER), &serde_json::json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(send_json(state, &url, Some(OPERATOR), &serde_json::json!({})).await.0, StatusCode::ACCEPTED);
    let view = until(state, id, ended).await;
    assert_eq!(view["status"], "aborted", "{view}");
    let run = state.runs.run(id).unwrap();
    assert_eq!(run.status, crate::journal::Status::Aborted);
    let (_, events) = send(state, Method::GET, &format!("/api/runs/{id}/events"), Some(VIEWER)).await;
    assert!(events.contains("abort requested by otto"), "{events}");
    assert!(events.contains("aborted by otto"), "{events}");
    // Once it has ended there is nothing left to abort here.
    assert_eq!(send_json(state, &url, Some(OPERATOR), &serde_json::json!({})).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_runs_stream_replays_its_journal_then_ends() {
    let fixture = fixture(false);
    let state = &fixture.state;
    let (_, answer) =
        send_json(state, "/api/runs", None, &serde_json::json!({"runbook": "demo", "procedure": "look-around"})).await;
    let id = answer["id"].as_i64().unwrap();
    until(state, id, ended).await;
    let (status, body) = send(state, Method::GET, &format!("/api/runs/{id}/stream"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("event: journal\nid: 0\n"), "{body}");
    assert!(body.contains("\"kind\":\"run_started\""), "{body}");
    assert!(body.contains("\"text\":\"looking\\n\""), "{body}");
    assert!(body.trim_end().ends_with("\"status\":\"succeeded\"}"), "{body}");
    // A reconnecting browser resumes after the last event it saw.
    let (_, body) = send(state, Method::GET, &format!("/api/runs/{id}/stream?after=2"), None).await;
    assert!(!body.contains("id: 2\n") && body.contains("id: 3\n"), "{body}");
}

/// One request through the whole router with extra headers; status, the
/// headers and the body.
async fn exchange(state: &AppState, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = request;
    request.extensions_mut().insert(ConnectInfo("127.0.0.1:50000".parse::<SocketAddr>().expect("an address")));
    let response = router(state.clone()).oneshot(request).await.expect("the router answers");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("a body");
    (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_session_starts_runs_only_with_its_csrf_token() {
    let fixture = fixture(true);
    let state = &fixture.state;
    let login = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={OPERATOR}&next=/runbooks/demo")))
        .unwrap();
    let (status, headers, _) = exchange(state, login).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/runbooks/demo");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();

    // The page hands its scripts the session's CSRF token.
    let page = Request::get("/runbooks/demo").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let (status, _, html) = exchange(state, page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let csrf = html.split("<meta name=\"csrf-token\" content=\"").nth(1).and_then(|rest| rest.split('"').next());
    let csrf = csrf.expect("the page carries the CSRF token").to_owned();

    let start = |csrf: Option<&str>| {
        let mut request =
            Request::post("/api/runs").header(header::COOKIE, &cookie).header(header::CONTENT_TYPE, "application/json");
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.body(Body::from(r#"{"runbook":"demo","procedure":"look-around"}"#)).unwrap()
    };
    let (status, _, body) = exchange(state, start(None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    let (status, _, body) = exchange(state, start(Some("forged-token"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = exchange(state, start(Some(&csrf))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_i64().unwrap();
    assert_eq!(until(state, id, ended).await["operator"], "otto");
}

#[tokio::test]
async fn every_page_says_where_scripts_may_come_from() {
    let fixture = fixture(false);
    for path in ["/", "/runs", "/runbooks/demo", "/api/checks"] {
        let (status, headers, body) = exchange(&fixture.state, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    }
}

/// `docs/openapi.yaml` describes exactly the API the router serves: every
/// `/api` and `/hooks` route and method, no more, no less.
#[test]
fn the_openapi_file_describes_every_api_route() {
    use crate::runbook::yaml::{self, Value};
    use std::collections::BTreeSet;

    let text = include_str!("../../../docs/openapi.yaml");
    let root = yaml::load(text, 1, 0).expect("valid YAML").expect("a document");
    let Value::Mapping(top) = &root.value else { panic!("a mapping") };
    let (_, paths) = top.iter().find(|(key, _)| key.as_scalar_string().as_deref() == Some("paths")).expect("paths");
    let Value::Mapping(paths) = &paths.value else { panic!("paths is a mapping") };
    let mut documented = BTreeSet::new();
    for (path, operations) in paths {
        let Value::Mapping(operations) = &operations.value else { panic!("operations") };
        for (method, _) in operations {
            documented.insert(format!("{} {}", method.as_scalar_string().unwrap(), path.as_scalar_string().unwrap()));
        }
    }

    // The router's own table, read from its source.
    let router = include_str!("../app.rs");
    let mut served = BTreeSet::new();
    for line in router.lines().map(str::trim).filter(|line| line.starts_with(".route(\"")) {
        let path = line.split('"').nth(1).unwrap();
        if !(path.starts_with("/api") || path.starts_with("/hooks")) {
            continue;
        }
        for method in ["get", "post"] {
            if line.contains(&format!("{method}(")) || line.contains(&format!(".{method}(")) {
                served.insert(format!("{method} {path}"));
            }
        }
    }
    assert!(served.len() > 10, "the router's routes were not found: {served:?}");
    assert_eq!(documented, served, "docs/openapi.yaml and the router disagree");
}

/// Regression: a runbook with one critical and one unknown check showed
/// "unknown" on the overview (the exit-code order), hiding what is known
/// broken.
#[test]
fn a_runbooks_heading_shows_critical_over_unknown() {
    use crate::check::Status;
    use crate::serve::scheduler::{CheckKey, CheckState};
    let state = |check: &str, status: Status| {
        let mut state =
            CheckState::new(CheckKey::new("demo", check), None, String::new(), std::time::Duration::from_secs(1));
        state.state = status;
        Arc::new(state)
    };
    let snapshot = [state("a", Status::Unknown), state("b", Status::Critical), state("c", Status::Ok)];
    assert_eq!(super::api::worst(&snapshot, "demo"), Some(Status::Critical));
    let snapshot = [state("a", Status::Warning), state("b", Status::Unknown)];
    assert_eq!(super::api::worst(&snapshot, "demo"), Some(Status::Unknown));
    assert_eq!(super::api::worst(&snapshot, "other"), None);
}
