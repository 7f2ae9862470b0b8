//! The notifier against real receivers on loopback: small axum apps that
//! record what they are sent, a listener that never answers, a port that
//! refuses. Tests wait for arrivals on a channel, never for time.

use std::collections::VecDeque;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap as Headers, StatusCode as Status, Uri};
use axum::routing::post;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::timeout;

use super::*;
use crate::check::Status as CheckStatus;
use crate::journal::Status as RunStatus;

/// Long enough for anything on loopback; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// What a receiver was sent.
#[derive(Debug)]
struct Arrival {
    path: String,
    content_type: Option<String>,
    body: String,
}

impl Arrival {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// A webhook receiver on loopback: records each request, and answers each
/// with the next of its statuses, then 200.
struct Receiver {
    address: SocketAddr,
    arrivals: UnboundedReceiver<Arrival>,
}

#[derive(Clone)]
struct Recording {
    arrivals: UnboundedSender<Arrival>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn record(
    State(recording): State<Recording>,
    uri: Uri,
    headers: Headers,
    body: String,
) -> (Status, &'static str) {
    let content_type = headers.get("content-type").map(|value| value.to_str().expect("ascii").to_owned());
    let _ = recording.arrivals.send(Arrival { path: uri.path().to_owned(), content_type, body });
    let answer = recording.answers.lock().expect("answers").pop_front().unwrap_or(200);
    let said = if answer == 404 { "no_service" } else { "" };
    (Status::from_u16(answer).expect("a status"), said)
}

impl Receiver {
    async fn start(answers: &[u16]) -> Receiver {
        let (sender, arrivals) = unbounded_channel();
        let recording =
            Recording { arrivals: sender, answers: Arc::new(Mutex::new(answers.iter().copied().collect())) };
        let app = Router::new().route("/{*path}", post(record)).with_state(recording);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let address = listener.local_addr().expect("a bound address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { address, arrivals }
    }

    /// The receiver's URL, with a secret in its path as Slack's have.
    fn url(&self) -> String {
        format!("http://{}/services/T000/B000/s3cr3t", self.address)
    }

    async fn next(&mut self) -> Arrival {
        timeout(PATIENCE, self.arrivals.recv()).await.expect("a notice arrives").expect("the receiver runs")
    }
}

/// A listener that takes connections and never answers; says when one
/// comes in.
async fn silent_receiver() -> (String, UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a listener");
    let address = listener.local_addr().expect("a bound address");
    let (connected, connections) = unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = connected.send(());
            tokio::spawn(async move {
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    (format!("http://{address}/hook/s3cr3t"), connections)
}

fn receiver(kind: NotifyKind, url: &str, events: &[NotifyEvent]) -> NotifyConfig {
    NotifyConfig { kind, url: serde_json::from_value(json!(url)).expect("a URL"), events: events.to_vec() }
}

const BOTH: &[NotifyEvent] = &[NotifyEvent::Check, NotifyEvent::Run];

/// Quick retries; attempts that may wait long enough for a test to show
/// they do not hold anyone up.
fn quick() -> Delivery {
    Delivery { queue: 1024, timeout: Duration::from_secs(60), backoff: vec![Duration::from_millis(10); 2] }
}

/// A callback sending each error to a channel.
fn errors() -> (OnError, UnboundedReceiver<DeliveryError>) {
    let (sender, receiver) = unbounded_channel();
    let on_error: OnError = Arc::new(move |error: &DeliveryError| {
        let _ = sender.send(error.clone());
    });
    (on_error, receiver)
}

fn ignore_errors() -> OnError {
    Arc::new(|_: &DeliveryError| {})
}

fn check_changed() -> Notice {
    Notice::CheckChanged {
        runbook: "tornado-vpn".into(),
        check: "admin-api".into(),
        from: CheckStatus::Ok,
        to: CheckStatus::Critical,
        reason: "cannot connect to 127.0.0.1:8000: connection refused".into(),
        at: "2026-03-14T03:00:00Z".parse().expect("a time"),
    }
}

fn run_started() -> Notice {
    Notice::RunStarted {
        run: 42,
        runbook: "tornado-vpn".into(),
        procedure: "clients-cannot-connect".into(),
        env: Some("prod".into()),
        by: "alertmanager".into(),
        trigger: Some("VpnClientsFailing {severity=\"critical\"}".into()),
    }
}

fn run_finished() -> Notice {
    Notice::RunFinished {
        run: 42,
        runbook: "tornado-vpn".into(),
        procedure: "clients-cannot-connect".into(),
        status: RunStatus::Failed,
        reason: Some("step `restart` exited with status 1".into()),
    }
}

fn public_url() -> Url {
    Url::parse("https://runwell.example.com/ops/").expect("a URL")
}

#[tokio::test]
async fn webhook_receivers_get_runwells_json() {
    let mut hook = Receiver::start(&[]).await;
    let config = receiver(NotifyKind::Webhook, &hook.url(), BOTH);
    let notifier = Notifier::new(vec![config], Some(public_url()), ignore_errors());
    notifier.send(check_changed());
    notifier.send(run_started());
    notifier.send(run_finished());

    let first = hook.next().await;
    assert_eq!(first.path, "/services/T000/B000/s3cr3t");
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        first.json(),
        json!({
            "event": "check_changed",
            "runbook": "tornado-vpn",
            "check": "admin-api",
            "from": "ok",
            "to": "critical",
            "reason": "cannot connect to 127.0.0.1:8000: connection refused",
            "at": "2026-03-14T03:00:00Z",
            "url": "https://runwell.example.com/ops/runbooks/tornado-vpn",
        })
    );
    assert_eq!(
        hook.next().await.json(),
        json!({
            "event": "run_started",
            "run": 42,
            "runbook": "tornado-vpn",
            "procedure": "clients-cannot-connect",
            "env": "prod",
            "by": "alertmanager",
            "trigger": "VpnClientsFailing {severity=\"critical\"}",
            "url": "https://runwell.example.com/ops/runs/42",
        })
    );
    assert_eq!(
        hook.next().await.json(),
        json!({
            "event": "run_finished",
            "run": 42,
            "runbook": "tornado-vpn",
            "procedure": "clients-cannot-connect",
            "status": "failed",
            "reason": "step `restart` exited with status 1",
            "url": "https://runwell.example.com/ops/runs/42",
        })
    );
    let stats = notifier.shutdown(PATIENCE).await;
    assert_eq!(stats, Stats { sent: 3, failed: 0, dropped: 0, queued: 0 });
}

#[tokio::test]
async fn without_a_public_url_there_is_no_link() {
    let mut hook = Receiver::start(&[]).await;
    let notifier = Notifier::new(vec![receiver(NotifyKind::Webhook, &hook.url(), BOTH)], None, ignore_errors());
    notifier.send(run_started());
    let body = hook.next().await.json();
    assert_eq!(body["event"], "run_started");
    assert!(body.get("url").is_none(), "{body}");
}

#[tokio::test]
async fn slack_receivers_get_one_line_of_text() {
    let mut plain = Receiver::start(&[]).await;
    let mut linked = Receiver::start(&[]).await;
    let notifier = Notifier::new(vec![receiver(NotifyKind::Slack, &plain.url(), BOTH)], None, ignore_errors());
    let with_links =
        Notifier::new(vec![receiver(NotifyKind::Slack, &linked.url(), BOTH)], Some(public_url()), ignore_errors());
    let escaped = Notice::RunFinished {
        run: 7,
        runbook: "a<b>".into(),
        procedure: "x&y".into(),
        status: RunStatus::Succeeded,
        reason: None,
    };
    for notice in [check_changed(), run_started(), run_finished(), escaped] {
        notifier.send(notice.clone());
        with_links.send(notice);
    }

    let texts = [
        "runwell: tornado-vpn › admin-api is critical (was ok): cannot connect to 127.0.0.1:8000: connection refused",
        "runwell: run 42 of tornado-vpn › clients-cannot-connect started by alertmanager in prod for \
         VpnClientsFailing {severity=\"critical\"}",
        "runwell: run 42 of tornado-vpn › clients-cannot-connect failed: step `restart` exited with status 1",
        "runwell: run 7 of a&lt;b&gt; › x&amp;y succeeded",
    ];
    for text in texts {
        let arrival = plain.next().await;
        assert_eq!(arrival.content_type.as_deref(), Some("application/json"));
        assert_eq!(arrival.json(), json!({ "text": text }));
    }
    let texts = [
        "runwell: <https://runwell.example.com/ops/runbooks/tornado-vpn|tornado-vpn › admin-api> is \
         critical (was ok): cannot connect to 127.0.0.1:8000: connection refused",
        "runwell: <https://runwell.example.com/ops/runs/42|run 42> of tornado-vpn › clients-cannot-connect \
         started by alertmanager in prod for VpnClientsFailing {severity=\"critical\"}",
        "runwell: <https://runwell.example.com/ops/runs/42|run 42> of tornado-vpn › clients-cannot-connect \
         failed: step `restart` exited with status 1",
        "runwell: <https://runwell.example.com/ops/runs/7|run 7> of a&lt;b&gt; › x&amp;y succeeded",
    ];
    for text in texts {
        assert_eq!(linked.next().await.json(), json!({ "text": text }));
    }
}

#[tokio::test]
async fn each_receiver_gets_only_the_events_it_wants() {
    let mut checks = Receiver::start(&[]).await;
    let mut runs = Receiver::start(&[]).await;
    let notifier = Notifier::new(
        vec![
            receiver(NotifyKind::Webhook, &checks.url(), &[NotifyEvent::Check]),
            receiver(NotifyKind::Webhook, &runs.url(), &[NotifyEvent::Run]),
        ],
        None,
        ignore_errors(),
    );
    for notice in [run_started(), check_changed(), run_finished(), check_changed()] {
        notifier.send(notice);
    }
    // Each receiver gets its notices in order: had it been sent one it does
    // not want, that one would have arrived first.
    assert_eq!(checks.next().await.json()["event"], "check_changed");
    assert_eq!(checks.next().await.json()["event"], "check_changed");
    assert_eq!(runs.next().await.json()["event"], "run_started");
    assert_eq!(runs.next().await.json()["event"], "run_finished");
    let stats = notifier.shutdown(PATIENCE).await;
    assert_eq!(stats.sent, 4, "{stats:?}");
    assert!(checks.arrivals.try_recv().is_err() && runs.arrivals.try_recv().is_err(), "nothing else came");
}

#[tokio::test]
async fn a_server_error_is_tried_again() {
    let mut hook = Receiver::start(&[500, 503]).await;
    let (on_error, mut errors) = errors();
    let notifier =
        Notifier::with_delivery(vec![receiver(NotifyKind::Webhook, &hook.url(), BOTH)], None, on_error, quick());
    notifier.send(run_finished());
    let bodies = [hook.next().await.body, hook.next().await.body, hook.next().await.body];
    assert!(bodies.iter().all(|body| *body == bodies[0]), "the same notice, three times");
    let stats = notifier.shutdown(PATIENCE).await;
    assert_eq!(stats, Stats { sent: 1, failed: 0, dropped: 0, queued: 0 });
    assert!(errors.try_recv().is_err(), "delivered in the end: no error");
}

#[tokio::test]
async fn a_refusal_is_final_and_reported_without_the_secret() {
    let mut hook = Receiver::start(&[404]).await;
    let (on_error, mut errors) = errors();
    let notifier =
        Notifier::with_delivery(vec![receiver(NotifyKind::Slack, &hook.url(), BOTH)], None, on_error, quick());
    notifier.send(check_changed());
    hook.next().await;
    let error = timeout(PATIENCE, errors.recv()).await.expect("an error report").expect("the notifier runs");
    assert_eq!(
        error,
        DeliveryError {
            receiver: format!("http://127.0.0.1:{}/********", hook.address.port()),
            event: "check_changed",
            attempts: 1,
            reason: "answered 404 Not Found: no_service".into(),
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "could not notify http://127.0.0.1:{}/******** of check_changed (1 attempt): answered 404 Not Found: \
             no_service",
            hook.address.port()
        )
    );
    let stats = notifier.shutdown(PATIENCE).await;
    assert_eq!(stats, Stats { sent: 0, failed: 1, dropped: 0, queued: 0 });
    assert!(hook.arrivals.try_recv().is_err(), "not tried again");
}

#[tokio::test]
async fn an_unreachable_receiver_is_tried_three_times_then_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address").port()
    };
    let url = format!("http://127.0.0.1:{port}/services/T000/B000/s3cr3t");
    let (on_error, mut errors) = errors();
    let notifier = Notifier::with_delivery(vec![receiver(NotifyKind::Webhook, &url, BOTH)], None, on_error, quick());
    notifier.send(run_started());
    let error = timeout(PATIENCE, errors.recv()).await.expect("an error report").expect("the notifier runs");
    assert_eq!(error.attempts, 3);
    assert_eq!(error.event, "run_started");
    assert!(error.reason.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.reason.contains("refused"), "{error}");
    let shown = error.to_string();
    assert!(shown.contains(&format!("http://127.0.0.1:{port}/********")), "{shown}");
    assert!(!shown.contains("s3cr3t") && !shown.contains("services"), "{shown}");
    assert!(!format!("{notifier:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_no_one() {
    let (silent, mut connections) = silent_receiver().await;
    let mut hook = Receiver::start(&[]).await;
    let notifier = Notifier::with_delivery(
        vec![receiver(NotifyKind::Webhook, &silent, BOTH), receiver(NotifyKind::Webhook, &hook.url(), BOTH)],
        None,
        ignore_errors(),
        quick(),
    );
    notifier.send(run_started());
    notifier.send(run_finished());
    timeout(PATIENCE, connections.recv()).await.expect("the silent receiver is called").expect("it listens");
    assert_eq!(hook.next().await.json()["event"], "run_started");
    assert_eq!(hook.next().await.json()["event"], "run_finished");

    // The silent one still holds its first notice, the second queued
    // behind it: shutdown gives up on both when its deadline passes.
    let stats = notifier.shutdown(Duration::from_secs(2)).await;
    assert_eq!(stats, Stats { sent: 2, failed: 0, dropped: 2, queued: 0 });
}

#[tokio::test]
async fn a_full_queue_drops_the_newest_notice() {
    let (silent, mut connections) = silent_receiver().await;
    let delivery = Delivery { queue: 1, ..quick() };
    let notifier =
        Notifier::with_delivery(vec![receiver(NotifyKind::Webhook, &silent, BOTH)], None, ignore_errors(), delivery);
    notifier.send(run_started());
    timeout(PATIENCE, connections.recv()).await.expect("the first notice is under way").expect("it listens");
    notifier.send(run_finished());
    notifier.send(check_changed());
    assert_eq!(notifier.stats(), Stats { sent: 0, failed: 0, dropped: 1, queued: 2 });
}

#[tokio::test]
async fn shutdown_delivers_what_is_queued_and_later_notices_are_dropped() {
    let mut hook = Receiver::start(&[]).await;
    let notifier = Notifier::new(vec![receiver(NotifyKind::Webhook, &hook.url(), BOTH)], None, ignore_errors());
    for run in 1..=5 {
        notifier.send(Notice::RunFinished {
            run,
            runbook: "tornado-vpn".into(),
            procedure: "restart".into(),
            status: RunStatus::Succeeded,
            reason: None,
        });
    }
    let stats = notifier.shutdown(PATIENCE).await;
    assert_eq!(stats, Stats { sent: 5, failed: 0, dropped: 0, queued: 0 });
    for run in 1..=5 {
        assert_eq!(hook.next().await.json()["run"], run);
    }
    notifier.send(run_started());
    assert_eq!(notifier.stats(), Stats { sent: 5, failed: 0, dropped: 1, queued: 0 });
}

#[test]
fn a_schedulers_change_is_a_notice() {
    use crate::serve::scheduler::{Change, CheckKey, Sample};
    let at: jiff::Timestamp = "2026-03-14T03:00:00Z".parse().expect("a time");
    let sample = Sample {
        at,
        status: CheckStatus::Critical,
        latency_ms: 1.5,
        reason: "cannot connect to 127.0.0.1:8000: connection refused".into(),
        observed: String::new(),
    };
    let change = Change {
        key: CheckKey::new("tornado-vpn", "admin-api"),
        from: CheckStatus::Ok,
        to: CheckStatus::Critical,
        at,
        sample,
        initial: false,
    };
    assert_eq!(Notice::from(&change), check_changed());
}

#[test]
fn the_notifier_can_be_shared_between_tasks() {
    fn shared<T: Send + Sync>() {}
    shared::<Notifier>();
}
