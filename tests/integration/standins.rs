//! `runwell-standin`: each example's lab comes up, the example's health
//! matrix passes against it with `--env local`, and `down` leaves nothing
//! running. The labs use fixed ports (the examples' `local` environments
//! name them), so these tests take turns.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

use crate::labs::{Lab, live_members, standin, take_turn};

fn every_check_ok(example: &str) {
    let _turn = take_turn();
    let lab = Lab::up(example);
    let (status, report, stdout) = lab.check(example);
    let not_ok: Vec<String> = report["checks"].as_array().map_or_else(
        || vec![format!("no JSON report: {stdout}")],
        |checks| {
            checks
                .iter()
                .filter(|c| c["status"] != "ok")
                .map(|c| format!("{} {}: {}", c["status"], c["name"], c["reason"]))
                .collect()
        },
    );
    assert!(not_ok.is_empty() && status == 0, "{example} against its stand-in (exit {status}):\n{}", not_ok.join("\n"));
}

#[test]
fn tornado_vpn_matrix_passes_against_its_standin() {
    every_check_ok("tornado-vpn");
}

#[test]
fn push_gateway_matrix_passes_against_its_standin() {
    every_check_ok("push-gateway");
}

#[test]
fn axiomdb_matrix_passes_against_its_standin() {
    every_check_ok("axiomdb");
}

#[test]
fn sentinel_proxy_matrix_passes_against_its_standin() {
    every_check_ok("sentinel-proxy");
}

#[test]
fn service_template_matrix_passes_against_its_standin() {
    every_check_ok("service-template");
}

#[test]
fn down_stops_every_process_of_every_part() {
    let _turn = take_turn();
    // axiomdb has the most parts, and PostgreSQL and NGINX have children of their own.
    let lab = Lab::up("axiomdb");
    let groups = lab.groups();
    assert_eq!(groups.len(), 6, "one running process group per part");
    assert!(groups.iter().all(|&g| !live_members(g).is_empty()));
    let output = standin(&["down", "--dir", lab.path().to_str().unwrap()]);
    assert!(output.status.success());
    for group in groups {
        assert_eq!(live_members(group), Vec::<i32>::new(), "process group {group} still has live processes");
    }
    let status = standin(&["status", "--dir", lab.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&status.stdout).lines().all(|l| l.ends_with("stopped")));
}

#[test]
fn up_on_a_taken_port_fails_naming_the_port_and_starts_nothing() {
    let _turn = take_turn();
    let squatter = TcpListener::bind("127.0.0.1:17302").expect("the sentinel lab's metrics port is free");
    let dir = tempfile::tempdir().unwrap();
    let output = standin(&["up", "sentinel-proxy", "--dir", dir.path().to_str().unwrap()]);
    drop(squatter);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("port 17302 on 127.0.0.1 (for sentinel) is taken"), "{stderr}");
    assert!(TcpStream::connect("127.0.0.1:17301").is_err(), "nothing else started");
}

#[test]
fn up_without_a_tool_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_runwell-standin"))
        .args(["up", "push-gateway", "--dir", dir.path().to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not installed: run `scripts/setup`"), "{stderr}");
}

#[test]
fn fault_switch_makes_a_standin_answer_503_until_cleared() {
    let _turn = take_turn();
    let _lab = Lab::up("tornado-vpn");
    assert_eq!(http("GET", 17004, "/health", ""), 200);
    assert_eq!(http("POST", 17004, "/_standin/fault", r#"{"status":503}"#), 200);
    assert_eq!(http("GET", 17004, "/health", ""), 503);
    assert_eq!(http("GET", 17003, "/health", ""), 200, "the fault belongs to one listener");
    assert_eq!(http("DELETE", 17004, "/_standin/fault", ""), 204);
    assert_eq!(http("GET", 17004, "/health", ""), 200);
}

#[test]
fn systemctl_shim_reports_a_killed_part_failed_and_restarts_it() {
    let _turn = take_turn();
    let lab = Lab::up("sentinel-proxy");
    let systemctl = |args: &[&str]| Command::new(lab.path().join("bin/systemctl")).args(args).output().unwrap();
    let show = || String::from_utf8(systemctl(&["show", "sentinel", "--property=ActiveState,MainPID"]).stdout).unwrap();
    let pid: i32 = show().lines().find_map(|l| l.strip_prefix("MainPID=")?.parse().ok()).unwrap();
    assert_eq!(std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(), "sentinel-proxy\n");
    Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    crate::servers::wait_until("the shim to see sentinel gone", || show().contains("ActiveState=failed"));
    assert!(systemctl(&["restart", "sentinel"]).status.success());
    assert!(show().starts_with("ActiveState=active\n"), "{}", show());
    assert_eq!(http("GET", 17301, "/ready", ""), 200);
}

/// One HTTP/1.1 request on loopback; returns the status.
fn http(method: &str, port: u16, path: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}
