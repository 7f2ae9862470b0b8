//! The dns probe against a real dnsmasq on a loopback port, and against UDP
//! servers that answer garbage or nothing.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::check::testing::{Dnsmasq, params};
use crate::check::{Status, Verdict};

const TIMEOUT: Duration = Duration::from_secs(5);

async fn dnsmasq() -> Dnsmasq {
    Dnsmasq::start(&[
        "--local=/example/",
        "--address=/api.example/10.0.0.5",
        "--address=/gone.example/",
        "--host-record=web.example,10.0.0.7,fd00::7",
        "--cname=www.example,web.example",
        "--txt-record=web.example,v=spf1 -all",
        "--mx-host=web.example,mail.web.example,10",
    ])
    .await
}

async fn ask(server: &Dnsmasq, name: &str, record: &str) -> Result<Observation, Failure> {
    probe(name, &params(json!({"record": record, "server": server.server()})), TIMEOUT).await
}

#[tokio::test]
async fn an_a_record_is_ok_with_its_addresses() {
    let server = dnsmasq().await;
    let seen = probe("api.example", &params(json!({"server": server.server()})), TIMEOUT).await.expect("an answer");
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.fields["answers"], json!(["10.0.0.5"]));
    assert_eq!(seen.fields["count"], 1);
    assert_eq!(seen.fields["rcode"], "NOERROR");
    assert_eq!(seen.observed, "10.0.0.5");
}

#[tokio::test]
async fn other_record_types_answer_as_text() {
    let server = dnsmasq().await;
    let aaaa = ask(&server, "web.example", "AAAA").await.expect("an answer");
    assert_eq!(aaaa.fields["answers"], json!(["fd00::7"]));
    let txt = ask(&server, "web.example", "txt").await.expect("an answer");
    assert_eq!(txt.fields["answers"], json!(["v=spf1 -all"]));
    let mx = ask(&server, "web.example", "MX").await.expect("an answer");
    assert_eq!(mx.fields["answers"], json!(["10 mail.web.example"]));
    let cname = ask(&server, "www.example", "CNAME").await.expect("an answer");
    assert_eq!(cname.fields["answers"], json!(["web.example"]));
}

#[tokio::test]
async fn nxdomain_is_critical_and_names_the_record() {
    let server = dnsmasq().await;
    let seen = ask(&server, "gone.example", "A").await.expect("an answer");
    assert_eq!(seen.fields["rcode"], "NXDOMAIN");
    assert_eq!(seen.fields["count"], 0);
    assert_eq!(seen.default, Verdict::critical("no A record for gone.example: the name does not exist (NXDOMAIN)"));
}

#[tokio::test]
async fn a_name_without_that_record_type_is_critical() {
    let server = dnsmasq().await;
    let seen = ask(&server, "web.example", "NS").await.expect("an answer");
    assert_eq!(seen.fields["count"], 0);
    assert_eq!(seen.fields["rcode"], "NOERROR");
    assert_eq!(seen.default, Verdict::critical("no NS record for web.example"));
}

#[tokio::test]
async fn garbage_from_the_server_is_critical() {
    // hickory drops replies it cannot decode and waits on, so garbage ends
    // like silence: critical when the time is up, never a hang.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        while let Ok((_, from)) = socket.recv_from(&mut buffer).await {
            let _ = socket.send_to(b"\x00\x01garbage, not DNS", from).await;
        }
    });
    let failure = probe("api.example", &params(json!({"server": address.to_string()})), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(failure.0.status, Status::Critical);
    assert!(failure.0.reason.contains(&address.to_string()), "{}", failure.0.reason);
}

#[tokio::test]
async fn a_server_that_never_answers_is_critical_within_the_timeout() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    let started = std::time::Instant::now();
    let failure = probe("api.example", &params(json!({"server": address.to_string()})), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "the probe hung");
    assert_eq!(failure, Failure::critical(format!("no answer from {address} within 1s")));
    drop(socket);
}

#[tokio::test]
async fn a_bad_record_type_or_server_is_unknown() {
    let bad_record = probe("a.example", &params(json!({"record": "SOAP"})), TIMEOUT).await.unwrap_err();
    assert_eq!(bad_record.0.status, Status::Unknown);
    let bad_server = probe("a.example", &params(json!({"server": "dns.example"})), TIMEOUT).await.unwrap_err();
    assert_eq!(bad_server, Failure::unknown("`server` takes an IP address or ip:port, not `dns.example`"));
}
