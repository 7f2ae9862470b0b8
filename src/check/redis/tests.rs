//! The redis probe against real `redis-server`s started per test, and
//! against loopback peers that answer garbage, nothing, or without end.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::check::Status;
use crate::check::testing::{Peer, RedisServer, fake_peer, judge, params};

const TIMEOUT: Duration = Duration::from_secs(5);

async fn check(target: &str, given: serde_json::Value) -> Result<Observation, Failure> {
    probe(target, &params(given), TIMEOUT).await
}

#[tokio::test]
async fn ping_answers_pong_and_passes_by_default() {
    let server = RedisServer::start(None).await;
    let seen = check(&server.url(), json!({})).await.expect("an observation");
    assert_eq!(seen.observed, "PONG");
    assert_eq!(seen.fields["reply"], json!("PONG"));
    assert_eq!(seen.default, Verdict::ok());
}

#[tokio::test]
async fn reads_a_list_length_a_config_value_and_the_newest_stream_entry() {
    let server = RedisServer::start(None).await;
    server.run(&["RPUSH", "queue", "a", "b", "c"]).await;
    server.run(&["XADD", "events", "*", "kind", "deploy"]).await;

    let llen = check(&server.url(), json!({"command": "LLEN queue"})).await.expect("LLEN");
    assert_eq!(judge(&llen, "reply == 3"), Verdict::ok());
    assert_eq!(llen.observed, "3");

    let config = check(&server.url(), json!({"command": "CONFIG GET notify-keyspace-events"})).await.expect("CONFIG");
    assert_eq!(config.fields["reply"], json!(["notify-keyspace-events", ""]));

    let newest = check(&server.url(), json!({"command": "XREVRANGE events + - COUNT 1"})).await.expect("XREVRANGE");
    assert_eq!(judge(&newest, r#"reply[0][1][1] == "deploy""#), Verdict::ok());
}

#[tokio::test]
async fn info_lines_become_fields_with_numbers_parsed() {
    let server = RedisServer::start(None).await;
    let seen = check(&server.url(), json!({"command": "INFO replication"})).await.expect("INFO");
    assert_eq!(judge(&seen, r#"info.role == "master" and info.connected_slaves == 0"#), Verdict::ok());
    assert!(seen.observed.ends_with("role master"), "{}", seen.observed);
}

#[tokio::test]
async fn a_password_in_the_url_or_params_authenticates_and_a_wrong_one_is_critical() {
    let server = RedisServer::start(Some("s3cret")).await;
    let url = format!("redis://:s3cret@127.0.0.1:{}/2", server.port);
    assert_eq!(check(&url, json!({})).await.expect("PONG").observed, "PONG");
    assert!(check(&server.url(), json!({"password": "s3cret", "db": 1})).await.is_ok());

    let wrong = check(&server.url(), json!({"password": "wrong"})).await.unwrap_err();
    assert_eq!(wrong.0.status, Status::Critical);
    assert!(wrong.0.reason.starts_with("AUTH failed: WRONGPASS"), "{}", wrong.0.reason);
    assert!(!wrong.0.reason.contains("wrong\""), "the password stays out of the reason");

    let none = check(&server.url(), json!({})).await.unwrap_err();
    assert!(none.0.reason.starts_with("PING failed: NOAUTH"), "{}", none.0.reason);
}

#[tokio::test]
async fn a_false_expectation_fails_and_shows_the_reply() {
    let server = RedisServer::start(None).await;
    let seen = check(&server.url(), json!({"command": "LLEN missing"})).await.expect("LLEN");
    let verdict = judge(&seen, "reply > 0");
    assert_eq!(verdict.status, Status::Critical);
    assert_eq!(verdict.reason, "reply is 0; expected reply > 0");
}

#[tokio::test]
async fn a_stopped_server_is_refused() {
    let server = RedisServer::start(None).await;
    let url = server.url();
    let address = server.address();
    server.stop().await;
    let refused = check(&url, json!({})).await.unwrap_err();
    assert_eq!(refused, Failure::critical(format!("connection refused by {address}")));
}

#[tokio::test]
async fn a_command_that_writes_is_never_sent() {
    let server = RedisServer::start(None).await;
    server.run(&["SET", "kept", "1"]).await;
    let refused = check(&server.url(), json!({"command": "FLUSHALL"})).await.unwrap_err();
    assert_eq!(refused, Failure::unknown("`FLUSHALL` would change data; a check may only read"));
    assert_eq!(server.run(&["EXISTS", "kept"]).await, Reply::Integer(1));
}

#[tokio::test]
async fn a_value_past_the_read_limit_is_critical_not_read_whole() {
    let server = RedisServer::start(None).await;
    let big = "v".repeat(2 * 1024 * 1024);
    server.run(&["SET", "big", &big]).await;
    let failure = check(&server.url(), json!({"command": "GET big"})).await.unwrap_err();
    assert_eq!(failure, Failure::critical("reply larger than 1 MiB"));
}

#[tokio::test]
async fn an_http_server_is_not_resp() {
    let peer = fake_peer(Peer::Sends(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")).await;
    let failure = check(&format!("redis://{peer}"), json!({})).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Critical);
    assert!(
        failure.0.reason.starts_with("the reply is not RESP: got `HTTP/1.1 400 Bad Request"),
        "{}",
        failure.0.reason
    );
}

#[tokio::test]
async fn a_silent_server_is_critical_within_the_timeout() {
    let peer = fake_peer(Peer::Silent).await;
    let failure = probe(&format!("redis://{peer}"), &params(json!({})), Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(failure, Failure::critical(format!("no answer from {peer} within 300ms")));
}

#[tokio::test]
async fn endless_replies_stop_at_the_read_limit() {
    for start in [&b"+"[..], b"$99999999999\r\n", b"*3\r\n$5\r\nfirst\r\n+"] {
        let peer = fake_peer(Peer::Endless(start)).await;
        let failure = check(&format!("redis://{peer}"), json!({})).await.unwrap_err();
        assert_eq!(failure, Failure::critical("reply larger than 1 MiB"), "after {:?}", String::from_utf8_lossy(start));
    }
}

#[test]
fn targets_parse_with_credentials_port_and_database() {
    let parsed = Target::parse("redis://ops:p%40ss@cache.internal:6380/3").expect("a target");
    assert_eq!(
        parsed,
        Target {
            address: "cache.internal:6380".into(),
            username: Some("ops".into()),
            password: Some("p@ss".into()),
            db: Some(3),
        }
    );
    assert_eq!(Target::parse("localhost").expect("bare host").address, "localhost:6379");
    assert_eq!(Target::parse("redis://[::1]").expect("IPv6").address, "[::1]:6379");
    assert!(Target::parse("rediss://cache:6380").is_err());
    assert!(Target::parse("redis://cache/x").is_err());
}
