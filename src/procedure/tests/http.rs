//! HTTP steps against an axum app on a loopback port of its own, and
//! against peers that answer garbage, nothing, or without end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{any, get, post};
use tokio_util::sync::CancellationToken;

use super::Tape;
use crate::check::testing::{Peer, endless_http, fake_peer, free_port, garbage};
use crate::procedure::{Error, HttpStep, Recorder, Retries, Status, StepOutcome, run_http, with_retries};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The app's state: requests counted, and a token cancelled when `/hang`
/// is reached (the readiness signal of the abort test).
#[derive(Debug, Clone, Default)]
struct App {
    flaky: Arc<AtomicU32>,
    counted: Arc<AtomicU32>,
    hung: CancellationToken,
}

async fn serve(app: &App) -> SocketAddr {
    let (flaky, counted, hung) = (app.flaky.clone(), app.counted.clone(), app.hung.clone());
    let router = Router::new()
        .route(
            "/accepted",
            post(|| async { (StatusCode::ACCEPTED, axum::Json(serde_json::json!({"state": "queued"}))) }),
        )
        .route("/down", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down\n") }))
        .route("/plain", get(|| async { "no line end" }))
        .route(
            "/echo",
            any(|method: Method, headers: HeaderMap, body: String| async move {
                let token = headers.get("x-token").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
                format!("{method} {token} {body}\n")
            }),
        )
        .route(
            "/flaky",
            get(move || async move {
                if flaky.fetch_add(1, Ordering::SeqCst) < 2 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
            }),
        )
        .route(
            "/counted",
            post(move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                StatusCode::ACCEPTED
            }),
        )
        .route(
            "/hang",
            get(move || async move {
                hung.cancel();
                std::future::pending::<()>().await;
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the app");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

fn request(method: &str, url: String) -> HttpStep {
    HttpStep {
        id: "http-test".to_owned(),
        method: method.to_owned(),
        url,
        headers: Vec::new(),
        body: None,
        expect: None,
        timeout: TIMEOUT,
    }
}

fn expecting(expect: &str, step: HttpStep) -> HttpStep {
    HttpStep { expect: Some(expect.to_owned()), ..step }
}

async fn run(step: &HttpStep) -> (StepOutcome, Tape) {
    let mut tape = Tape::default();
    let outcome = run_http(step, &mut tape, &CancellationToken::new()).await.expect("the step runs");
    (outcome, tape)
}

fn error(message: &str) -> Status {
    Status::Error { message: message.to_owned() }
}

#[tokio::test]
async fn the_status_line_then_the_body_and_a_status_below_400_succeeds() {
    let at = serve(&App::default()).await;
    let (outcome, tape) = run(&request("POST", format!("http://{at}/accepted"))).await;
    assert_eq!(outcome.status, Status::Succeeded);
    // The body has no line end of its own: one is added for the terminal.
    assert_eq!(tape.stdout(), "HTTP/1.1 202 Accepted\n{\"state\":\"queued\"}\n");
    assert_eq!(tape.stderr(), "");
}

#[tokio::test]
async fn the_method_headers_and_body_are_sent() {
    let at = serve(&App::default()).await;
    let step = HttpStep {
        headers: vec![("X-Token".to_owned(), "t0k3n".to_owned())],
        body: Some("{\"a\": 1}".to_owned()),
        ..request("PUT", format!("http://{at}/echo"))
    };
    let (outcome, tape) = run(&step).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "HTTP/1.1 200 OK\nPUT t0k3n {\"a\": 1}\n");
}

#[tokio::test]
async fn without_expect_a_status_from_400_fails_the_step() {
    let at = serve(&App::default()).await;
    let (outcome, tape) = run(&request("GET", format!("http://{at}/down"))).await;
    assert_eq!(outcome.status, error("503 Service Unavailable; without `expect=` a step needs a status below 400"));
    assert_eq!(tape.stdout(), "HTTP/1.1 503 Service Unavailable\ndown\n");
}

#[tokio::test]
async fn expect_decides_with_the_fields_an_http_check_offers() {
    let at = serve(&App::default()).await;
    let accepted = || request("POST", format!("http://{at}/accepted"));

    let passes = expecting("status == 202 and json.state == 'queued' and latency_ms >= 0", accepted());
    assert_eq!(run(&passes).await.0.status, Status::Succeeded);

    let (outcome, tape) = run(&expecting("status == 200", accepted())).await;
    assert_eq!(outcome.status, error("status is 202; expected status == 200"));
    assert_eq!(tape.stdout(), "HTTP/1.1 202 Accepted\n{\"state\":\"queued\"}\n", "printed before it was judged");

    let down =
        expecting("status == 503 and headers['content-type'] is string", request("GET", format!("http://{at}/down")));
    assert_eq!(run(&down).await.0.status, Status::Succeeded, "expect, not the status, decides");
}

#[tokio::test]
async fn an_expectation_that_cannot_be_evaluated_fails_and_never_passes() {
    let at = serve(&App::default()).await;
    let step = expecting("json.state == 'queued'", request("GET", format!("http://{at}/plain")));
    let (outcome, tape) = run(&step).await;
    assert_eq!(
        outcome.status,
        error("cannot evaluate `json.state == 'queued'`: the body is not JSON: expected ident at line 1 column 2")
    );
    assert_eq!(tape.stdout(), "HTTP/1.1 200 OK\nno line end\n");

    let (outcome, _) =
        run(&expecting("json.missing.deeper == 1", request("POST", format!("http://{at}/accepted")))).await;
    assert!(
        matches!(&outcome.status, Status::Error { message } if message.starts_with("cannot evaluate")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_expectation_that_does_not_compile_is_refused_before_the_request_is_sent() {
    let app = App::default();
    let at = serve(&app).await;
    let step = expecting("status ==", request("POST", format!("http://{at}/counted")));
    let refused = run_http(&step, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(
        refused.to_string().starts_with("step `http-test` cannot run: `expect=status ==` is not an expression"),
        "{refused}"
    );
    assert_eq!(app.counted.load(Ordering::SeqCst), 0, "the POST was not sent");
    assert_eq!(run(&request("POST", format!("http://{at}/counted"))).await.0.status, Status::Succeeded);
    assert_eq!(app.counted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_huge_body_is_printed_up_to_the_cap_and_stderr_says_where_it_stopped() {
    let at = endless_http().await;
    let (outcome, tape) = run(&request("GET", format!("http://{at}/"))).await;
    assert_eq!(outcome.status, Status::Succeeded);
    let head = "HTTP/1.1 200 OK\n";
    assert_eq!(outcome.stdout_bytes, (head.len() + (1 << 20) + 1) as u64);
    assert!(tape.stdout().starts_with(&format!("{head}xxxx")));
    assert_eq!(tape.stderr(), "(the body goes on past 1 MiB; runwell stopped reading there)\n");
}

#[tokio::test]
async fn garbage_and_silence_fail_clearly_and_soon() {
    let at = garbage(b"SSH-2.0-OpenSSH_9.2\r\n").await;
    let (outcome, tape) = run(&request("GET", format!("http://{at}/"))).await;
    let Status::Error { message } = &outcome.status else { panic!("{outcome:?}") };
    assert!(message.starts_with(&format!("{at} ")), "{message}");
    assert_eq!(tape.stdout(), "");

    let at = fake_peer(Peer::Silent).await;
    let step = HttpStep { timeout: Duration::from_millis(300), ..request("GET", format!("http://{at}/")) };
    let (outcome, tape) = run(&step).await;
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(tape.stderr(), format!("timed out after 300ms waiting for {at} to answer\n"));
}

#[tokio::test]
async fn a_password_in_the_url_never_shows() {
    const SECRET: &str = "hunter2-zebra";
    let port = free_port();
    let (outcome, tape) = run(&request("GET", format!("http://ops:{SECRET}@127.0.0.1:{port}/x"))).await;
    assert_eq!(outcome.status, error(&format!("connection refused by 127.0.0.1:{port}")));
    tape.assert_never_shows(SECRET, &outcome);

    let step = request("GET", format!("http://ops:{SECRET}@127.0.0.1:99999/x"));
    let refused = run_http(&step, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(refused, Error::Invalid { .. }), "{refused:?}");
    assert!(!refused.to_string().contains(SECRET), "{refused}");
}

#[tokio::test]
async fn a_failing_request_is_retried_until_it_succeeds() {
    let at = serve(&App::default()).await;
    let step = request("GET", format!("http://{at}/flaky"));
    let abort = CancellationToken::new();
    let retries = Retries { count: 5, delay: Duration::ZERO };
    let outcomes = with_retries(retries, &mut Tape::default(), &abort, async |r: &mut dyn Recorder| {
        run_http(&step, r, &abort).await
    })
    .await
    .unwrap();
    let statuses: Vec<Status> = outcomes.into_iter().map(|o| o.status).collect();
    let down = error("503 Service Unavailable; without `expect=` a step needs a status below 400");
    assert_eq!(statuses, [down.clone(), down, Status::Succeeded]);
}

#[tokio::test]
async fn an_abort_while_waiting_for_the_answer_stops_the_step() {
    let app = App::default();
    let at = serve(&app).await;
    let outcome =
        run_http(&request("GET", format!("http://{at}/hang")), &mut Tape::default(), &app.hung).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
}

#[tokio::test]
async fn a_bad_method_or_header_is_refused_before_sending() {
    let port = free_port();
    let step = request("NOT A METHOD", format!("http://127.0.0.1:{port}/"));
    let refused = run_http(&step, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(refused.to_string().contains("`method` takes an HTTP method"), "{refused}");
    let step = HttpStep {
        headers: vec![("Bad Name".to_owned(), "v".to_owned())],
        ..request("GET", format!("http://127.0.0.1:{port}/"))
    };
    assert!(matches!(
        run_http(&step, &mut Tape::default(), &CancellationToken::new()).await,
        Err(Error::Invalid { .. })
    ));
}
