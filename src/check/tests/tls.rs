//! The tls probe against rustls servers presenting certificates made here
//! (trusted, self-signed, expired, for another name, near expiry), a
//! plain-text port and a silent one.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::check::testing::{self, Ca, DAY, Pair, params};
use crate::check::{Status, Verdict};
use crate::runbook::ProbeKind;

const TIMEOUT: Duration = Duration::from_secs(5);

struct Trusted {
    ca: Ca,
    dir: tempfile::TempDir,
    bundle: String,
}

fn trusted() -> Trusted {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = testing::write(dir.path(), "ca.pem", &ca.pem);
    Trusted { ca, dir, bundle }
}

fn leaf(ca: &Ca, names: &[&str], days: i64) -> Pair {
    let now = testing::now();
    testing::certificate(names, now - 10 * DAY, now + days * DAY + 3600, Some(ca))
}

async fn check(pair: &Pair, with: serde_json::Value) -> Result<Observation, Failure> {
    let address = testing::tls_server(pair).await;
    probe(&Verifiers::default(), &format!("localhost:{}", address.port()), &params(with), TIMEOUT).await
}

#[tokio::test]
async fn a_trusted_certificate_for_the_name_is_ok_with_its_details() {
    let trust = trusted();
    let seen = check(&leaf(&trust.ca, &["localhost"], 90), json!({"ca": trust.bundle})).await.expect("a handshake");
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.fields["days_left"], 90);
    assert_eq!(seen.fields["hostname_ok"], true);
    assert_eq!(seen.fields["chain_ok"], true);
    assert_eq!(seen.fields["names"], json!(["localhost"]));
    assert_eq!(seen.fields["subject"], "CN=localhost");
    assert_eq!(seen.fields["issuer"], "CN=runwell test CA");
    assert_eq!(seen.fields["version"], "TLS 1.3");
    assert!(seen.fields["not_after"].as_str().unwrap().ends_with('Z'));
    assert_eq!(seen.observed, "TLS 1.3, 90 days left");
    drop(trust.dir);
}

#[tokio::test]
async fn fewer_than_14_days_left_is_a_warning() {
    let trust = trusted();
    let seen = check(&leaf(&trust.ca, &["localhost"], 5), json!({"ca": trust.bundle})).await.expect("a handshake");
    assert_eq!(seen.default.status, Status::Warning);
    assert!(seen.default.reason.starts_with("the certificate expires in 5 days ("), "{}", seen.default.reason);
}

#[tokio::test]
async fn an_expired_certificate_is_critical_and_says_when() {
    let trust = trusted();
    let now = testing::now();
    let pair = testing::certificate(&["localhost"], now - 100 * DAY, now - 3 * DAY - 3600, Some(&trust.ca));
    let seen = check(&pair, json!({"ca": trust.bundle})).await.expect("a handshake");
    assert_eq!(seen.default.status, Status::Critical);
    assert!(seen.default.reason.starts_with("the certificate expired on "), "{}", seen.default.reason);
    assert!(seen.default.reason.ends_with("(4 days ago)"), "{}", seen.default.reason);
    assert_eq!(seen.fields["days_left"], -4);
    // Expired, but otherwise issued by the trusted CA.
    assert_eq!(seen.fields["chain_ok"], true);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_critical() {
    let trust = trusted();
    let seen = check(&leaf(&trust.ca, &["api.example"], 90), json!({"ca": trust.bundle})).await.expect("a handshake");
    assert_eq!(seen.fields["hostname_ok"], false);
    assert_eq!(seen.fields["chain_ok"], true);
    assert_eq!(seen.default, Verdict::critical("the certificate is for `api.example`, not `localhost`"));

    let named = check(&leaf(&trust.ca, &["api.example"], 90), json!({"ca": trust.bundle, "servername": "api.example"}))
        .await
        .expect("a handshake");
    assert_eq!(named.default, Verdict::ok());
}

#[tokio::test]
async fn a_self_signed_certificate_is_critical_unless_insecure() {
    let now = testing::now();
    let pair = testing::certificate(&["localhost"], now - DAY, now + 60 * DAY, None);
    let seen = check(&pair, json!({})).await.expect("a handshake");
    assert_eq!(seen.fields["chain_ok"], false);
    assert_eq!(seen.fields["hostname_ok"], true);
    assert_eq!(
        seen.default,
        Verdict::critical("the certificate is self-signed (`CN=localhost`) and not trusted here; give its CA as `ca`")
    );
    let insecure = check(&pair, json!({"insecure": true})).await.expect("a handshake");
    assert_eq!(insecure.default, Verdict::ok());
    assert_eq!(insecure.fields["chain_ok"], false);
}

#[tokio::test]
async fn a_plain_text_port_is_critical_and_says_it_may_not_speak_tls() {
    let address = testing::garbage(b"220 smtp.example ESMTP ready\r\n").await;
    let failure = probe(&Verifiers::default(), &address.to_string(), &params(json!({})), TIMEOUT).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Critical);
    assert!(failure.0.reason.starts_with("TLS handshake failed: "), "{}", failure.0.reason);
    assert!(failure.0.reason.ends_with("(is this port speaking TLS?)"), "{}", failure.0.reason);
}

#[tokio::test]
async fn a_refused_connection_is_critical() {
    let port = testing::free_port();
    let failure =
        probe(&Verifiers::default(), &format!("127.0.0.1:{port}"), &params(json!({})), TIMEOUT).await.unwrap_err();
    assert_eq!(failure, Failure::critical(format!("connection refused by 127.0.0.1:{port}")));
}

#[tokio::test]
async fn silence_is_critical_once_the_timeout_passes() {
    let address = testing::fake_peer(testing::Peer::Silent).await;
    let check = crate::check::Resolved {
        timeout: Some(Duration::from_millis(300)),
        ..testing::resolved(ProbeKind::Tls, &address.to_string(), &json!({}))
    };
    let outcome = testing::run_one(check).await;
    assert_eq!(outcome.status, Status::Critical);
    assert_eq!(outcome.reason, "no answer within 300ms");
}

#[tokio::test]
async fn a_target_without_a_port_is_unknown() {
    let failure = probe(&Verifiers::default(), "localhost", &params(json!({})), TIMEOUT).await.unwrap_err();
    assert_eq!(failure, Failure::unknown("`localhost` is not host:port"));
}

#[tokio::test]
async fn an_empty_ca_means_the_system_roots_only() {
    // regression: the examples default `ca` to "" so production uses the
    // system's roots; "" was read as a file name and made the check unknown
    let trust = trusted();
    let seen = check(&leaf(&trust.ca, &["localhost"], 90), json!({"ca": ""})).await.expect("a handshake");
    assert_eq!(seen.default.status, Status::Critical);
    assert_eq!(seen.fields["chain_ok"], false);
}
