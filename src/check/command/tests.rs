//! The command probe against real programs: the monitoring-plugins, shells
//! that flood, fail, get killed or never end.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::probe;
use crate::check::testing::{not_running, params_of, resolved, run_one, wait_until};
use crate::check::{MAX_READ, Status};
use crate::runbook::ProbeKind;

const PLUGINS: &str = "/usr/lib/nagios/plugins";
const TIMEOUT: Duration = Duration::from_secs(10);

fn nagios() -> crate::check::Params {
    params_of(&json!({"nagios": true}))
}

#[tokio::test]
async fn check_tcp_on_a_listening_socket_is_ok_with_time_perfdata() {
    // The kernel completes the handshake from the backlog: no accept loop needed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = probe(&format!("{PLUGINS}/check_tcp -H 127.0.0.1 -p {port}"), &nagios(), TIMEOUT).await.unwrap();
    assert_eq!(seen.default.status, Status::Ok, "{seen:?}");
    assert_eq!(seen.fields["exit_code"], json!(0));
    assert!(seen.observed.starts_with("TCP OK"), "{}", seen.observed);
    assert_eq!(seen.fields["perfdata"]["time"]["unit"], json!("s"));
    assert!(seen.fields["perfdata"]["time"]["value"].is_f64());
}

#[tokio::test]
async fn check_tcp_on_a_closed_port_is_critical_with_the_plugins_words() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let seen = probe(&format!("{PLUGINS}/check_tcp -H 127.0.0.1 -p {port}"), &nagios(), TIMEOUT).await.unwrap();
    assert_eq!(seen.default.status, Status::Critical);
    assert!(seen.default.reason.contains("Connection refused"), "{}", seen.default.reason);
}

#[tokio::test]
async fn check_http_against_a_server_of_ours_is_ok_with_time_and_size() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0u8; 4096];
            let _ = stream.read(&mut request).await;
            let body = "healthy\n";
            let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    let seen =
        probe(&format!("{PLUGINS}/check_http -H 127.0.0.1 -p {port} -u /health"), &nagios(), TIMEOUT).await.unwrap();
    assert_eq!(seen.default.status, Status::Ok, "{seen:?}");
    assert!(seen.observed.starts_with("HTTP OK"), "{}", seen.observed);
    assert!(seen.fields["perfdata"]["time"]["value"].is_f64());
    assert_eq!(seen.fields["perfdata"]["size"]["unit"], json!("B"));
}

#[tokio::test]
async fn nagios_exit_3_is_unknown_with_the_plugins_text() {
    let seen = probe("echo 'UNKNOWN - no idea | x=1'; exit 3", &nagios(), TIMEOUT).await.unwrap();
    assert_eq!(seen.default.status, Status::Unknown);
    assert_eq!(seen.default.reason, "UNKNOWN - no idea");
    assert_eq!(seen.fields["output"], json!("UNKNOWN - no idea"));
}

#[tokio::test]
async fn nagios_exit_1_is_a_warning() {
    let seen = probe("echo 'LOAD WARNING - 7.1'; exit 1", &nagios(), TIMEOUT).await.unwrap();
    assert_eq!(seen.default, crate::check::Verdict::warning("LOAD WARNING - 7.1"));
}

#[tokio::test]
async fn a_plain_failure_names_the_status_and_the_first_error_line() {
    let seen = probe("echo fine; echo 'boom: disk gone' >&2; echo more >&2; exit 3", &params_of(&json!({})), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(seen.default, crate::check::Verdict::critical("exit status 3: boom: disk gone"));
    assert_eq!(seen.fields["exit_code"], json!(3));
    assert_eq!(seen.fields["stdout"], json!("fine\n"));
    assert_eq!(seen.observed, "fine");
}

#[tokio::test]
async fn exit_0_is_ok_and_cwd_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let params = params_of(&json!({"cwd": dir.path().to_str().unwrap()}));
    let seen = probe("pwd", &params, TIMEOUT).await.unwrap();
    assert_eq!(seen.default.status, Status::Ok);
    assert_eq!(seen.fields["stdout"].as_str().unwrap().trim(), dir.path().canonicalize().unwrap().to_str().unwrap());
}

#[tokio::test]
async fn a_missing_program_is_unknown_not_critical() {
    let failure = probe("check_foo -H x", &params_of(&json!({})), TIMEOUT).await.unwrap_err();
    assert_eq!(failure, crate::check::Failure::unknown("`check_foo`: command not found"));
}

#[tokio::test]
async fn a_command_killed_by_a_signal_is_critical_naming_it() {
    let seen = probe("kill -TERM $$", &params_of(&json!({})), TIMEOUT).await.unwrap();
    assert_eq!(seen.default, crate::check::Verdict::critical("killed by SIGTERM"));
    assert_eq!(seen.fields["exit_code"], Value::Null);
}

#[tokio::test]
async fn a_hundred_megabytes_of_output_are_read_up_to_the_cap() {
    let seen = probe(
        "head -c 100000000 /dev/zero | tr '\\0' x; head -c 5000000 /dev/zero | tr '\\0' y >&2",
        &params_of(&json!({})),
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(seen.default.status, Status::Ok);
    assert_eq!(seen.fields["stdout"].as_str().unwrap().len(), MAX_READ);
    assert_eq!(seen.fields["stderr"].as_str().unwrap().len(), MAX_READ);
    assert!(seen.observed.contains("stdout larger than 1 MiB"), "{}", seen.observed);
}

/// The pids a test command wrote: the shell's and its background child's.
async fn pids(path: &std::path::Path) -> Vec<u32> {
    tokio::fs::read_to_string(path)
        .await
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn endless(pid_file: &std::path::Path) -> String {
    format!("sleep 1000 & echo $! >> {0}; echo $$ >> {0}; sleep 1000", pid_file.display())
}

#[tokio::test]
async fn a_dropped_probe_kills_the_command_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let command = endless(&pid_file);
    let running = tokio::spawn(async move { probe(&command, &params_of(&json!({})), TIMEOUT).await });
    wait_until("both pids are written", || async { pids(&pid_file).await.len() == 2 }).await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    for pid in pids(&pid_file).await {
        wait_until(&format!("pid {pid} is gone"), || async move { not_running(pid) }).await;
    }
}

#[tokio::test]
async fn a_timed_out_command_is_critical_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let mut check = resolved(ProbeKind::Command, &endless(&pid_file), &json!({}));
    check.timeout = Some(Duration::from_secs(2));
    let outcome = run_one(check).await;
    assert_eq!(outcome.status, Status::Critical);
    assert_eq!(outcome.reason, "no answer within 2s");
    let pids = pids(&pid_file).await;
    assert_eq!(pids.len(), 2, "the command did not start within the timeout");
    for pid in pids {
        wait_until(&format!("pid {pid} is gone"), || async move { not_running(pid) }).await;
    }
}

#[tokio::test]
async fn background_leftovers_of_a_finished_command_are_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let seen =
        probe(&format!("sleep 1000 & echo $! > {}; echo started", pid_file.display()), &params_of(&json!({})), TIMEOUT)
            .await
            .unwrap();
    assert_eq!(seen.observed, "started");
    let pid = pids(&pid_file).await[0];
    wait_until(&format!("pid {pid} is gone"), || async move { not_running(pid) }).await;
}
