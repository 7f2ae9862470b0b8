//! The http probe against a real nginx, and against servers that answer
//! garbage, nothing, or without end.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::check::testing::{self, Ca, DAY, Nginx, params};
use crate::check::{Status, Verdict};
use crate::runbook::ProbeKind;

const TIMEOUT: Duration = Duration::from_secs(5);
const HEALTH: &[u8] = br#"{"status":"healthy","version":"1.4.2"}"#;

async fn nginx() -> Nginx {
    let big = vec![b'a'; 3 << 20];
    Nginx::start(
        r#"location = /down { default_type text/plain; return 503 "down\n"; }
           location = /old { return 301 /health.json; }"#,
        &[("health.json", HEALTH), ("big.txt", &big), ("page.html", b"<!DOCTYPE html><p>hi</p>")],
        None,
    )
    .await
}

async fn get(clients: &Clients, url: &str, with: serde_json::Value) -> Result<Observation, Failure> {
    probe(clients, url, &params(with), TIMEOUT).await
}

#[tokio::test]
async fn a_2xx_json_answer_is_ok_with_status_headers_body_and_json() {
    let server = nginx().await;
    let seen = get(&Clients::default(), &server.url("/health.json"), json!({})).await.expect("an answer");
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.fields["status"], 200);
    assert_eq!(seen.fields["json"]["status"], "healthy");
    assert_eq!(seen.fields["headers"]["content-type"], "application/json");
    assert_eq!(seen.fields["body"], std::str::from_utf8(HEALTH).unwrap());
    assert_eq!(seen.observed, "200, 38 B JSON");
    assert!(seen.missing.iter().any(|(field, why)| *field == "days_left" && why.contains("not https")));
}

#[tokio::test]
async fn a_503_is_critical_and_says_the_status() {
    let server = nginx().await;
    let seen = get(&Clients::default(), &server.url("/down"), json!({})).await.expect("an answer");
    assert_eq!(seen.default, Verdict::critical("status 503, expected 2xx"));
    assert_eq!(seen.fields["body"], "down\n");
    let (_, why) = seen.missing.iter().find(|(field, _)| *field == "json").expect("json is missing");
    assert_eq!(why, "the body is not JSON: expected value at line 1 column 1");
}

#[tokio::test]
async fn a_redirect_is_critical_and_not_followed_unless_asked() {
    let server = nginx().await;
    let clients = Clients::default();
    let seen = get(&clients, &server.url("/old"), json!({})).await.expect("an answer");
    assert_eq!(seen.fields["status"], 301);
    let location = seen.fields["redirect"].as_str().expect("a redirect field");
    assert!(location.ends_with("/health.json"), "{location}");
    assert_eq!(seen.default.status, Status::Critical);
    assert!(seen.default.reason.starts_with("status 301, expected 2xx: it redirects to "), "{}", seen.default.reason);
    assert!(seen.default.reason.contains("`follow_redirects: true`"), "{}", seen.default.reason);

    let followed = get(&clients, &server.url("/old"), json!({"follow_redirects": true})).await.expect("an answer");
    assert_eq!(followed.default, Verdict::ok());
    assert_eq!(followed.fields["json"]["status"], "healthy");
}

#[tokio::test]
async fn method_headers_and_body_are_sent() {
    let server = Nginx::start(
        r#"location = /echo { default_type text/plain; return 200 "$request_method $http_x_token"; }"#,
        &[],
        None,
    )
    .await;
    let seen = get(
        &Clients::default(),
        &server.url("/echo"),
        json!({"method": "post", "headers": {"X-Token": "abc"}, "body": "{}"}),
    )
    .await
    .expect("an answer");
    assert_eq!(seen.fields["body"], "POST abc");
}

#[tokio::test]
async fn a_large_file_is_read_only_up_to_max_read() {
    let server = nginx().await;
    let seen = get(&Clients::default(), &server.url("/big.txt"), json!({})).await.expect("an answer");
    assert_eq!(seen.fields["body"].as_str().map(str::len), Some(MAX_READ));
    assert!(seen.observed.ends_with("(body larger than 1 MiB, read the first 1 MiB)"), "{}", seen.observed);
    assert_eq!(seen.default, Verdict::ok());
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_max_read() {
    let address = testing::endless_http().await;
    let seen = get(&Clients::default(), &format!("http://{address}/"), json!({})).await.expect("an answer");
    assert_eq!(seen.fields["body"].as_str().map(str::len), Some(MAX_READ));
    assert!(seen.observed.contains("read the first 1 MiB"), "{}", seen.observed);
}

#[tokio::test]
async fn a_refused_connection_is_critical() {
    let port = testing::free_port();
    let failure = get(&Clients::default(), &format!("http://127.0.0.1:{port}/"), json!({})).await.unwrap_err();
    assert_eq!(failure, Failure::critical(format!("connection refused by 127.0.0.1:{port}")));
}

#[tokio::test]
async fn garbage_instead_of_http_is_critical() {
    let address = testing::garbage(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let failure = get(&Clients::default(), &format!("http://{address}/"), json!({})).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Critical);
    assert!(failure.0.reason.starts_with(&format!("{address} did not answer HTTP: ")), "{}", failure.0.reason);
}

#[tokio::test]
async fn silence_is_critical_once_the_timeout_passes() {
    let address = testing::fake_peer(testing::Peer::Silent).await;
    let check = crate::check::Resolved {
        timeout: Some(Duration::from_millis(300)),
        ..testing::resolved(ProbeKind::Http, &format!("http://{address}/"), &json!({}))
    };
    let outcome = testing::run_one(check).await;
    assert_eq!(outcome.status, Status::Critical);
    assert_eq!(outcome.reason, "no answer within 300ms");
}

#[tokio::test]
async fn https_with_the_ca_given_is_ok_and_reports_days_left() {
    let ca = Ca::new();
    let now = testing::now();
    let pair = testing::certificate(&["localhost", "127.0.0.1"], now - DAY, now + 30 * DAY + 3600, Some(&ca));
    let server = Nginx::start("", &[("health.json", HEALTH)], Some((&pair.cert, &pair.key))).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = testing::write(dir.path(), "ca.pem", &ca.pem);
    let url = format!("https://localhost:{}/health.json", server.port);
    let clients = Clients::default();

    let seen = get(&clients, &url, json!({"ca": bundle})).await.expect("an answer");
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.fields["days_left"], 30);

    let untrusted = get(&clients, &url, json!({})).await.unwrap_err();
    assert_eq!(untrusted.0.status, Status::Critical);
    assert!(untrusted.0.reason.starts_with("TLS handshake with localhost:"), "{}", untrusted.0.reason);

    let insecure = get(&clients, &url, json!({"insecure": true})).await.expect("an answer");
    assert_eq!(insecure.default, Verdict::ok());
}

#[tokio::test]
async fn https_to_a_plain_text_port_says_so() {
    let server = nginx().await;
    let failure =
        get(&Clients::default(), &format!("https://127.0.0.1:{}/", server.port), json!({})).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Critical);
    assert!(failure.0.reason.ends_with("(is this port speaking TLS?)"), "{}", failure.0.reason);
}

#[tokio::test]
async fn checks_with_the_same_settings_share_one_client() {
    let server = nginx().await;
    let clients = Clients::default();
    for _ in 0..3 {
        get(&clients, &server.url("/health.json"), json!({})).await.expect("an answer");
    }
    get(&clients, &server.url("/old"), json!({"follow_redirects": true})).await.expect("an answer");
    assert_eq!(clients.0.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_malformed_url_or_parameter_is_unknown_not_critical() {
    let clients = Clients::default();
    let bad_url = get(&clients, "http://exa mple/", json!({})).await.unwrap_err();
    assert_eq!(bad_url.0.status, Status::Unknown);
    let bad_method = get(&clients, "http://127.0.0.1:1/", json!({"method": "GE T"})).await.unwrap_err();
    assert_eq!(bad_method.0.status, Status::Unknown);
    let no_ca = get(&clients, "https://127.0.0.1:1/", json!({"ca": "/nonexistent/ca.pem"})).await.unwrap_err();
    assert_eq!(no_ca.0.status, Status::Unknown);
    assert!(no_ca.0.reason.starts_with("cannot read the CA bundle `/nonexistent/ca.pem`"), "{}", no_ca.0.reason);
}

#[tokio::test]
async fn an_empty_ca_means_the_system_roots_only() {
    // regression: an empty `ca` was read as a file name and made the check unknown
    let nginx = Nginx::start("location = /health { return 200 'ok'; }", &[], None).await;
    let seen = probe(
        &Clients::default(),
        &format!("http://127.0.0.1:{}/health", nginx.port),
        &params(json!({"ca": ""})),
        Duration::from_secs(5),
    )
    .await
    .expect("an answer");
    assert_eq!(seen.fields["status"], 200);
}
