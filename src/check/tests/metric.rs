//! The metric probe against a real nginx serving `/metrics` pages: a
//! normal one, an HTML login page, a page past the 16 MiB cap, an error.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::check::testing::{Nginx, params};
use crate::check::{Status, Verdict};

const TIMEOUT: Duration = Duration::from_secs(10);
const METRICS: &str = r#"# HELP queue_depth Jobs waiting.
# TYPE queue_depth gauge
queue_depth{queue="jobs",shard="a"} 12
queue_depth{queue="jobs",shard="b"} 30
queue_depth{queue="mail",shard="a"} 1
# TYPE build_info gauge
build_info{version="1.4.2"} 1
"#;

async fn nginx() -> Nginx {
    let mut huge = String::with_capacity(18 << 20);
    let mut i = 0;
    while huge.len() < 17 << 20 {
        writeln!(huge, "filler_series{{index=\"{i}\"}} {i}").unwrap();
        i += 1;
    }
    huge.push_str("after_the_cap 1\n");
    Nginx::start(
        "location = /broken { return 503; }",
        &[
            ("metrics", METRICS.as_bytes()),
            ("login.html", b"<!DOCTYPE html>\n<p>sign in</p>\n"),
            ("huge", huge.as_bytes()),
        ],
        None,
    )
    .await
}

async fn select(server: &Nginx, path: &str, series: &str) -> Result<Observation, Failure> {
    probe(&Clients::default(), &server.url(path), &params(json!({"series": series})), TIMEOUT).await
}

#[tokio::test]
async fn one_matching_series_is_ok_with_its_value() {
    let server = nginx().await;
    let seen = select(&server, "/metrics", r#"queue_depth{queue="jobs",shard="b"}"#).await.expect("a page");
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.fields["value"], 30.0);
    assert_eq!(seen.fields["count"], 1);
    assert_eq!(seen.fields["values"], json!([{"labels": {"queue": "jobs", "shard": "b"}, "value": 30.0}]));
    assert_eq!(seen.observed, "30");
}

#[tokio::test]
async fn several_matching_series_sum_up() {
    let server = nginx().await;
    let seen = select(&server, "/metrics", r#"queue_depth{queue=~"jobs|mail",shard!="b"}"#).await.expect("a page");
    assert_eq!(seen.fields["value"], 13.0);
    assert_eq!(seen.fields["count"], 2);
    assert_eq!(seen.observed, "13 (sum of 2 series)");
}

#[tokio::test]
async fn no_matching_series_is_critical_and_counts_the_page() {
    let server = nginx().await;
    let seen = select(&server, "/metrics", r#"queue_depth{queue="video"}"#).await.expect("a page");
    assert_eq!(
        seen.default,
        Verdict::critical(r#"no series matches queue_depth{queue="video"} (the page has 4 series)"#)
    );
    assert!(!seen.fields.contains_key("value"));
}

#[tokio::test]
async fn an_html_page_is_critical_with_the_line_that_failed() {
    let server = nginx().await;
    let failure = select(&server, "/login.html", "up").await.unwrap_err();
    assert_eq!(
        failure,
        Failure::critical("the page is not Prometheus text format: line 1: expected a metric name: `<!DOCTYPE html>`")
    );
}

#[tokio::test]
async fn a_page_past_16_mib_is_read_up_to_the_cap_and_says_so() {
    let server = nginx().await;
    let seen = select(&server, "/huge", r#"filler_series{index="0"}"#).await.expect("a page");
    assert_eq!(seen.default, Verdict::ok());
    assert!(seen.observed.ends_with("(page larger than 16 MiB, read the first 16 MiB)"), "{}", seen.observed);
    let beyond = select(&server, "/huge", "after_the_cap").await.expect("a page");
    assert_eq!(beyond.default.status, Status::Critical);
    assert!(beyond.default.reason.contains("read the first 16 MiB"), "{}", beyond.default.reason);
}

#[tokio::test]
async fn an_error_status_is_critical() {
    let server = nginx().await;
    let failure = select(&server, "/broken", "up").await.unwrap_err();
    assert_eq!(failure, Failure::critical("status 503, expected 2xx from the metrics page"));
}

#[tokio::test]
async fn a_missing_or_bad_selector_is_unknown() {
    let server = nginx().await;
    let none = probe(&Clients::default(), &server.url("/metrics"), &params(json!({})), TIMEOUT).await.unwrap_err();
    assert_eq!(none.0.status, Status::Unknown);
    let bad = select(&server, "/metrics", "up{job=api}").await.unwrap_err();
    assert_eq!(bad.0.status, Status::Unknown);
    assert!(bad.0.reason.starts_with("`series`: "), "{}", bad.0.reason);
}
