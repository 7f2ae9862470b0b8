//! `runwell-standin`: each example's lab comes up, the example's health
//! matrix passes against it with `--env local`, and `down` leaves nothing
//! running. The labs use fixed ports (the examples' `local` environments
//! name them), so these tests take turns.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use crate::test::{root, runwell};

static PORTS: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    PORTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn standin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runwell-standin")).args(args).output().expect("runwell-standin runs")
}

/// A lab that is taken down when the test ends, passed or not.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn up(example: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let output = standin(&["up", example, "--dir", dir.path().to_str().unwrap()]);
        assert!(output.status.success(), "up {example}: {}", String::from_utf8_lossy(&output.stderr));
        Lab { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `runwell check examples/EXAMPLE.md --env local` with the lab's env file and paths.
    fn check(&self, example: &str) -> (i32, serde_json::Value, String) {
        let runbook = root().join("examples").join(format!("{example}.md"));
        let mut command = runwell();
        command.args(["check", runbook.to_str().unwrap(), "--env", "local", "--format", "json"]);
        for line in std::fs::read_to_string(self.path().join("sets")).unwrap().lines() {
            command.args(["--set", line]);
        }
        let bin = self.path().join("bin");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        command.env("PATH", path);
        for (name, value) in secrets(self.path()) {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let report = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
        (output.status.code().unwrap_or(-1), report, stdout)
    }

    /// The process groups of the lab's parts, from their pid files.
    fn groups(&self) -> Vec<i32> {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.path().join("standin.json")).unwrap()).unwrap();
        state["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|part| std::fs::read_to_string(part["pidfile"].as_str()?).ok()?.trim().parse().ok())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        standin(&["down", "--dir", self.dir.path().to_str().unwrap()]);
    }
}

/// `export NAME=value` lines of the env file, except the PATH and shim lines.
fn secrets(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("env"))
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
        .filter(|(name, _)| *name != "PATH")
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// Live (not zombie) processes in a process group.
fn live_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return false };
            let fields: Vec<&str> = rest.split(' ').collect();
            fields.len() > 2 && !matches!(fields[0], "Z" | "X") && fields[2].parse() == Ok(pgid)
        })
        .collect()
}

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
